// `npm run demo [-- --duration N]`: conduit's ground, live. A simulated plant (a real OPC UA server,
// SignAndEncrypt), a local Greengrass core (IPC server, token exchange service, Secrets Manager,
// Firehose) and a component deployed from its recipe and zipped artifact. An OPC UA client samples
// every tag at 100 ms with credentials read from the local Secrets Manager, and once a second the
// demo prints what it sees. The collector component replaces that client once it lands.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SecretsManagerClient, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { OPCUACertificateManager } from 'node-opcua-certificate-manager';
import {
  AttributeIds,
  ClientMonitoredItemGroup,
  MessageSecurityMode,
  OPCUAClient,
  SecurityPolicy,
  TimestampsToReturn,
  UserTokenType,
  type ClientSession,
  type DataValue,
} from 'node-opcua-client';
import { SimulatedPlant } from '../test/harness/plant/plant';
import { LocalGreengrass } from '../test/harness/launcher/local-greengrass';
import { buildComponent, REPO_ROOT } from './build';

const SECRET_NAME = 'conduit/plant-opcua';
const DELIVERY_STREAM = 'conduit-burst';
const STEP_AFTER_S = 20;

function parseDuration(argv: string[]): number | undefined {
  const i = argv.indexOf('--duration');
  if (i < 0) return undefined;
  const n = Number(argv[i + 1]);
  if (!Number.isFinite(n) || n <= 0) {
    console.error('--duration takes a number of seconds, e.g. --duration 30');
    process.exit(2);
  }
  return n;
}

interface TagView {
  name: string;
  unit: string;
  last: unknown;
  samples: number;
  window: number[];
}

function fmt(v: unknown): string {
  if (typeof v === 'number') return v.toFixed(3);
  return v === undefined ? '-' : String(v);
}

async function main(): Promise<void> {
  const duration = parseDuration(process.argv.slice(2));
  const scratch = mkdtempSync(join(tmpdir(), 'conduit-demo-'));
  const cleanups: Array<() => Promise<unknown>> = [];
  const cleanup = async (): Promise<void> => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    rmSync(scratch, { recursive: true, force: true });
  };
  let stopping = false;
  const stop = (why: string): void => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${why}: stopping…`);
    void cleanup().then(() => process.exit(0));
  };
  process.on('SIGINT', () => stop('Ctrl-C'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  console.log('starting the simulated plant (node-opcua, SignAndEncrypt/Basic256Sha256)…');
  const password = 'demo-' + Math.random().toString(36).slice(2, 10);
  const plant = await SimulatedPlant.start({ pkiDir: join(scratch, 'plant-pki'), users: [{ username: 'conduit', password }] });
  cleanups.push(() => plant.close());
  console.log(`  ${plant.endpointUrl}  server certificate thumbprint ${plant.certificateThumbprint}`);

  console.log('starting the local Greengrass core and AWS endpoints…');
  const gg = await LocalGreengrass.start({ thingName: 'demo-gateway' });
  cleanups.push(() => gg.close());
  gg.aws.secretsManager.createSecret(SECRET_NAME, { username: 'conduit', password });
  gg.aws.firehose.createDeliveryStream(DELIVERY_STREAM);
  console.log(`  IPC socket ${gg.ipc.socketPath}`);
  console.log(`  token exchange ${gg.aws.tes.url}`);

  console.log('building and deploying the probe component from its recipe…');
  const outDir = join(scratch, 'build');
  const [built] = await buildComponent({
    recipePath: join(REPO_ROOT, 'test/fixtures/probe/recipe.yaml'),
    componentsRoot: join(REPO_ROOT, 'test/fixtures'),
    outDir,
  });
  const probe = await gg.deploy({
    recipePath: built!.recipePath,
    artifactDir: join(outDir, 'artifacts'),
    configurationUpdate: { merge: { secretId: SECRET_NAME, deliveryStream: DELIVERY_STREAM, greeting: 'hello from the DMZ' } },
  });
  await probe.waitForOutput((l) => l.text.includes('"event":"ready"'), 30_000);
  console.log(`  ${probe.name} is ${probe.state}; log ${probe.logPath}`);

  // The demo's own client reaches Secrets Manager as a component would: through the token exchange service.
  const token = 'demo-client';
  gg.aws.tes.addToken(token);
  Object.assign(process.env, gg.aws.clientEnv(token).set);
  const secret = await new SecretsManagerClient({}).send(new GetSecretValueCommand({ SecretId: SECRET_NAME }));
  const creds = JSON.parse(secret.SecretString ?? '{}') as { username: string; password: string };

  const pki = new OPCUACertificateManager({ rootFolder: join(scratch, 'client-pki'), automaticallyAcceptUnknownCertificate: false });
  await pki.initialize();
  await pki.trustCertificate(plant.certificateDer);
  const client = OPCUAClient.create({
    applicationName: 'conduit-demo',
    applicationUri: 'urn:conduit:demo',
    clientCertificateManager: pki,
    securityMode: MessageSecurityMode.SignAndEncrypt,
    securityPolicy: SecurityPolicy.Basic256Sha256,
    endpointMustExist: false,
    connectionStrategy: { maxRetry: 3, initialDelay: 500, maxDelay: 2_000 },
  });
  await client.connect(plant.endpointUrl);
  cleanups.push(() => client.disconnect());
  const session: ClientSession = await client.createSession({ type: UserTokenType.UserName, userName: creds.username, password: creds.password });
  const subscription = await session.createSubscription2({
    requestedPublishingInterval: 500,
    requestedMaxKeepAliveCount: 20,
    requestedLifetimeCount: 200,
    maxNotificationsPerPublish: 1000,
    publishingEnabled: true,
    priority: 1,
  });
  const views: TagView[] = plant.tags.map((t) => ({ name: t.name, unit: t.unit ?? '', last: undefined, samples: 0, window: [] }));
  const group = ClientMonitoredItemGroup.create(
    subscription,
    plant.tags.map((t) => ({ nodeId: t.nodeId, attributeId: AttributeIds.Value })),
    { samplingInterval: 100, queueSize: 20, discardOldest: true },
    TimestampsToReturn.Source,
  );
  group.on("changed", (_item, dv: DataValue, index: number) => {
    const v = views[index]!;
    v.last = dv.value.value;
    v.samples++;
    if (typeof dv.value.value === 'number') v.window.push(dv.value.value);
  });

  const started = Date.now();
  let stepped = false;
  const tick = setInterval(async () => {
    const elapsed = Math.round((Date.now() - started) / 1000);
    if (!stepped && elapsed >= STEP_AFTER_S) {
      stepped = true;
      await plant.stepAmplitude(plant.tags.find((t) => t.kind === 'vibration')!.name, 12);
    }
    const counts = await plant.requestCounts();
    const lines = [
      `conduit demo — ${elapsed} s${duration ? ` of ${duration}` : ' (Ctrl-C to stop)'}   plant ${plant.endpointUrl}`,
      '',
      `${'tag'.padEnd(16)}${'last'.padStart(14)}${'1 s RMS'.padStart(12)}${'samples'.padStart(10)}  unit`,
      ...views.map((v) => {
        const rms = v.window.length ? Math.sqrt(v.window.reduce((s, x) => s + x * x, 0) / v.window.length) : undefined;
        const line = `${v.name.padEnd(16)}${fmt(v.last).padStart(14)}${fmt(rms).padStart(12)}${String(v.samples).padStart(10)}  ${v.unit}`;
        v.window = [];
        return line;
      }),
      '',
      `greengrass: ${probe.name} ${probe.state}; IoT Core messages ${gg.iotCore.length}; Firehose records ${gg.aws.firehose.records(DELIVERY_STREAM).length}; token exchange requests ${gg.aws.tes.requests}`,
      `read-only proof: the plant received ${counts.write} Write, ${counts.call} Call, ${counts.historyUpdate} HistoryUpdate requests`,
      stepped ? `vibration amplitude stepped to 12 mm/s at ${STEP_AFTER_S} s (the burst capture will fire on this)` : `vibration amplitude steps up at ${STEP_AFTER_S} s`,
    ];
    if (process.stdout.isTTY) process.stdout.write('\x1b[2J\x1b[H');
    console.log(lines.join('\n'));
    if (duration !== undefined && elapsed >= duration) {
      clearInterval(tick);
      stop(`${duration} s elapsed`);
    }
  }, 1000);
  cleanups.push(async () => clearInterval(tick));
}

main().catch((e) => {
  console.error(`demo failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
  process.exit(1);
});
