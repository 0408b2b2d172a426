// The collector's OPC UA identity through aws.greengrass.SecretManager (the default credentialsSource)
// and through the direct Secrets Manager client, end to end: the built artifact on the local core,
// the real IPC client against the emulated SecretManager (its cloudSecrets, its copy on the device,
// refresh), and the local Secrets Manager made unreachable as an uplink outage makes it (connections
// refused). "Published" here means accepted by the nucleus (PublishToIoTCore), which spools it while
// the WAN is down.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildCollector, COLLECTOR_SECRET_POLICY, deployCollectorSecret, type BuiltFixture } from '../harness/fixtures';
import { LocalGreengrass } from '../harness/launcher/local-greengrass';
import type { LaunchedComponent } from '../harness/launcher/component';
import { SimulatedPlant } from '../harness/plant/plant';
import type { JsonObject } from '../harness/contracts';

const THING = 'gw-secrets';
const SECRET = 'conduit/opcua-secrets-e2e';
const PASSWORD = 'first-Pa55word-secrets';
const ROTATED_PASSWORD = 'rotated-Pa55word-secrets';
const T = { timeout: 150_000 };
const TELEMETRY = `conduit/${THING}/telemetry`;

let built: BuiltFixture;
let plant: SimulatedPlant;
/** Every line every collector printed, and its whole log file, for the secret scan at the end. */
const allOutput: string[] = [];

before(async () => {
  built = await buildCollector();
  plant = await SimulatedPlant.start({ pkiDir: join(built.outDir, 'plant-pki'), users: [{ username: 'conduit', password: PASSWORD }] });
});

after(async () => {
  await plant?.close();
  rmSync(built.outDir, { recursive: true, force: true });
});

function collectorConfig(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    endpointUrl: plant.endpointUrl,
    serverTrust: { thumbprints: [plant.certificateThumbprint] },
    credentialsSecretId: SECRET,
    tags: plant.tags.map((t) => (t.kind === 'vibration' ? { name: t.name, nodeId: t.nodeId, mode: 'rms', unit: t.unit } : { name: t.name, nodeId: t.nodeId, mode: 'change' })),
    metrics: { intervalSec: 2 },
    watchdog: { noDataTimeoutMs: 5000 },
    reconnect: { initialDelayMs: 200, maxDelayMs: 2000 },
    ...extra,
  };
}

/**
 * A fresh core with the secret in the cloud. `secretManager: true` (default) deploys it as the
 * template does (cloudSecrets + accessControl); false leaves SecretManager and accessControl alone.
 */
async function withCollector(
  opts: { config?: Record<string, unknown>; secretManager?: boolean; accessControl?: (arn: string) => JsonObject },
  fn: (gg: LocalGreengrass, c: LaunchedComponent) => Promise<void>,
): Promise<void> {
  const gg = await LocalGreengrass.start({ thingName: THING, interpolateComponentConfiguration: true });
  let c: LaunchedComponent | undefined;
  try {
    const { arn } = gg.aws.secretsManager.createSecret(SECRET, { username: 'conduit', password: PASSWORD });
    const accessControl = opts.secretManager === false ? opts.accessControl?.(arn) : deployCollectorSecret(gg, SECRET);
    const merge = { ...collectorConfig(opts.config), ...(accessControl ? { accessControl } : {}) } as JsonObject;
    c = await gg.deploy({ recipePath: built.recipePath, artifactDir: built.artifactDir, configurationUpdate: { merge } });
    await fn(gg, c);
  } finally {
    if (c) allOutput.push(...c.output.map((l) => l.text), readFileSync(c.logPath, 'utf8'));
    await gg.close();
    await plant.setPassword('conduit', PASSWORD).catch(() => undefined);
  }
}

const logLine = (msg: string) => (l: { text: string }) => l.text.includes(`"msg":"${msg}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for: ${what}`);
    await sleep(100);
  }
}

const telemetrySince = (gg: LocalGreengrass, at: number) => gg.iotCore.filter((r) => r.topicName === TELEMETRY && r.at >= at);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const metrics = (gg: LocalGreengrass): any[] => gg.iotCore.filter((r) => r.topicName === `conduit/${THING}/metrics`).map((r) => JSON.parse(r.payload.toString()));

/** Restarts the component and returns when the restarted process reported RUNNING. */
async function restart(c: LaunchedComponent): Promise<{ runningAt: number; from: number }> {
  const from = c.output.length;
  await c.restart();
  await c.waitForState('RUNNING', 20_000);
  return { runningAt: Date.now(), from };
}

test('a restart while Secrets Manager is unreachable logs in from the device copy and publishes within 10 s of RUNNING', T, () =>
  withCollector({}, async (gg, c) => {
    await c.waitForOutput(logLine('connected to the OPC UA server and subscribed'), 30_000);
    await waitUntil('telemetry before the outage', () => telemetrySince(gg, 0).length > 0, 15_000);
    const firstPid = c.pid;
    await gg.setCloudReachable(false);
    const requestsBefore = gg.aws.secretsManager.requests;

    const { runningAt, from } = await restart(c);
    assert.notEqual(c.pid, firstPid, 'a new process');
    await waitUntil('telemetry from the restarted collector within 10 s of RUNNING', () => telemetrySince(gg, runningAt).length > 0, 10_000);
    assert.ok(c.output.slice(from).some(logLine('connected to the OPC UA server and subscribed')));
    assert.ok(!c.output.slice(from).some(logLine('cannot read the OPC UA credentials')), 'the secret was served at the first read');
    assert.equal(gg.aws.secretsManager.requests, requestsBefore, 'nothing reached the cloud: the device copy served it');
    assert.deepEqual([c.errorCount, c.state], [0, 'RUNNING']);
  }),
);

test('a rotation recovers in the same process through refresh: true, and the refreshed copy serves the next offline restart', T, () =>
  withCollector({}, async (gg, c) => {
    await c.waitForOutput(logLine('connected to the OPC UA server and subscribed'), 30_000);
    const pid = c.pid;
    const fetchesBefore = gg.ipc.secretManager.fetches;
    // The secret first, then the server; the open session outlives it, so restart the plant.
    const rotated = gg.aws.secretsManager.rotateSecret(SECRET, { username: 'conduit', password: ROTATED_PASSWORD });
    await plant.setPassword('conduit', ROTATED_PASSWORD);
    await plant.restart();
    await c.waitForOutput((l) => l.text.includes('"msg":"connected to the OPC UA server and subscribed"') && l.text.includes('"reconnects":1'), 30_000);
    assert.equal(c.output.filter((l) => /rejected the user identity/.test(l.text)).length, 1, 'the device copy was refused once, then refreshed');
    assert.ok(gg.ipc.secretManager.fetches > fetchesBefore, 'the refresh fetched from the cloud');
    assert.ok(!c.output.some((l) => l.text.includes('needs an operator')), 'a rotation is not an operator problem');
    assert.deepEqual([c.errorCount, c.state, c.pid], [0, 'RUNNING', pid], 'recovered in the same process');

    // The refresh updated the device copy: a restart with the WAN down logs in with the new password.
    await gg.setCloudReachable(false);
    const { runningAt, from } = await restart(c);
    await waitUntil('telemetry after the offline restart', () => telemetrySince(gg, runningAt).length > 0, 10_000);
    assert.ok(!c.output.slice(from).some((l) => /rejected the user identity/.test(l.text)), `the copy holds version ${rotated.versionId}`);
  }),
);

test('a secret outside SecretManager\'s cloudSecrets is an operator problem that names the fix, and recovers once it is deployed', T, () =>
  // The accessControl is right; only cloudSecrets lacks the secret.
  withCollector({ secretManager: false, accessControl: (arn) => ({ 'aws.greengrass.SecretManager': { [COLLECTOR_SECRET_POLICY]: { resources: [arn] } } }) }, async (gg, c) => {
    const arn = gg.aws.secretsManager.resolve(SECRET)!.arn;
    const line = await c.waitForOutput(logLine('cannot read the OPC UA credentials'), 30_000);
    assert.match(line.text, /not in aws\.greengrass\.SecretManager's cloudSecrets/);
    assert.match(line.text, /add \{\\"arn\\": \\"<the secret's ARN>\\"\} to cloudSecrets/);
    const firstPid = c.pid;
    const reporting = await c.waitForOutput(logLine('the component needs an operator: reporting ERRORED'), 30_000);
    assert.match(reporting.text, /"problem":"credentials"/);
    await waitUntil('the nucleus restarted the ERRORED collector', () => c.errorCount === 1 && c.state === 'RUNNING' && c.pid !== firstPid, 20_000);
    // The restarted process fails the same way, but stays RUNNING (ERRORED at most once per 65 min).
    const from = c.output.length;
    await c.waitForOutput(logLine('the component needs an operator; it stays RUNNING'), 30_000, from);
    await waitUntil('a metrics message naming the problem', () => metrics(gg).some((m) => m.opcua?.problem === 'credentials'), 15_000);
    assert.equal(telemetrySince(gg, 0).length, 0);

    gg.configureSecretManager({ cloudSecrets: [arn] });
    await c.waitForOutput(logLine('connected to the OPC UA server and subscribed'), 30_000, from);
    await c.waitForOutput(logLine('recovered: the problem that needed an operator is fixed'), 5_000, from);
    assert.equal(c.errorCount, 1, 'ERRORED once');
  }),
);

test('an accessControl without the secret\'s ARN (the recipe\'s placeholder) is an operator problem that names the accessControl', T, () =>
  withCollector({ secretManager: false }, async (gg, c) => {
    gg.configureSecretManager({ cloudSecrets: [gg.aws.secretsManager.resolve(SECRET)!.arn] });
    const line = await c.waitForOutput(logLine('cannot read the OPC UA credentials'), 30_000);
    assert.match(line.text, /UnauthorizedError/);
    assert.match(line.text, /allow aws\.greengrass#GetSecretValue on exactly the secret's ARN in conduit\.OpcUaCollector's accessControl/);
    const firstPid = c.pid;
    const reporting = await c.waitForOutput(logLine('the component needs an operator: reporting ERRORED'), 30_000);
    assert.match(reporting.text, /"problem":"credentials"/);
    await waitUntil('the nucleus restarted the ERRORED collector', () => c.errorCount === 1 && c.state === 'RUNNING' && c.pid !== firstPid, 20_000);
    assert.equal(telemetrySince(gg, 0).length, 0);
  }),
);

test('credentialsSource secretsmanager reads the cloud directly: a restart while it is unreachable collects nothing until it answers', T, () =>
  withCollector({ secretManager: false, config: { credentialsSource: 'secretsmanager' } }, async (gg, c) => {
    await c.waitForOutput(logLine('connected to the OPC UA server and subscribed'), 30_000);
    assert.ok(gg.aws.secretsManager.requests > 0, 'the collector read the cloud itself');
    assert.equal(gg.ipc.secretManager.cloudSecrets.length, 0, 'no SecretManager involved');
    await gg.setCloudReachable(false);
    const { runningAt, from } = await restart(c);
    // The documented weakness: every attempt fails to read the secret (retryable: no ERRORED).
    await waitUntil('three failed reads', () => c.output.slice(from).filter(logLine('cannot read the OPC UA credentials')).length >= 3, 30_000);
    const failed = c.output.slice(from).find(logLine('cannot read the OPC UA credentials'))!;
    assert.match(failed.text, /ECONNREFUSED/);
    assert.match(failed.text, /credentialsSource \\"secretsmanager\\" needs Secrets Manager at every start/);
    assert.equal(telemetrySince(gg, runningAt).length, 0, 'no telemetry while the secret cannot be read');
    assert.deepEqual([c.errorCount, c.state], [0, 'RUNNING']);

    await gg.setCloudReachable(true);
    await c.waitForOutput(logLine('connected to the OPC UA server and subscribed'), 30_000, from);
    await waitUntil('telemetry once the cloud answers', () => telemetrySince(gg, runningAt).length > 0, 15_000);
    assert.equal(c.errorCount, 0);
  }),
);

test('credentialsSource secretsmanager with an uplink that drops packets: each read gives up (a timeout), it never hangs', T, () =>
  withCollector({ secretManager: false, config: { credentialsSource: 'secretsmanager' } }, async (gg, c) => {
    await c.waitForOutput(logLine('connected to the OPC UA server and subscribed'), 30_000);
    await gg.setCloudReachable(false, { how: 'timeout' });
    const { from } = await restart(c);
    // Without client timeouts the first read would wait for ever and no attempt would follow it.
    await waitUntil('two reads that timed out', () => c.output.slice(from).filter(logLine('cannot read the OPC UA credentials')).length >= 2, 90_000);
    const failed = c.output.slice(from).find(logLine('cannot read the OPC UA credentials'))!;
    assert.match(failed.text, /TimeoutError|timed out|requestTimeout/);
    assert.deepEqual([c.errorCount, c.state], [0, 'RUNNING']);
    await gg.setCloudReachable(true);
    await c.waitForOutput(logLine('connected to the OPC UA server and subscribed'), 60_000, from);
  }),
);

test('a live update from secretsmanager to greengrass takes effect in the running process, even with the cloud unreachable', T, () =>
  withCollector({ secretManager: false, config: { credentialsSource: 'secretsmanager' } }, async (gg, c) => {
    await c.waitForOutput(logLine('connected to the OPC UA server and subscribed'), 30_000);
    const pid = c.pid;
    // The deployment that switches: SecretManager gets the secret (fetched now), the collector the ARN.
    const accessControl = deployCollectorSecret(gg, SECRET);
    await gg.setCloudReachable(false);
    const from = c.output.length;
    const update = await gg.updateConfiguration(c.name, { merge: { credentialsSource: 'greengrass', accessControl } });
    assert.equal(update.applied, true, JSON.stringify(update.validation));
    // A new identity source means a new session, which must read the secret: only the device copy can answer.
    await c.waitForOutput((l) => l.text.includes('"msg":"connected to the OPC UA server and subscribed"') && l.text.includes('"reconnects":1'), 30_000, from);
    assert.ok(!c.output.slice(from).some(logLine('cannot read the OPC UA credentials')), 'read from the SecretManager, not the cloud');
    assert.deepEqual([c.errorCount, c.pid], [0, pid]);
  }),
);

test('over the whole file no password reached a collector log', () => {
  const text = allOutput.join('\n');
  assert.ok(text.length > 1000, 'the logs were collected');
  for (const secret of [PASSWORD, ROTATED_PASSWORD]) assert.ok(!text.includes(secret), 'a secret value appears in a log');
});
