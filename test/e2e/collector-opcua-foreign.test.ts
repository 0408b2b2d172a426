// NodeOpcUaSource against the simulated plant playing foreign servers, through the real node-opcua
// client and the real AWS SDK (local Secrets Manager): tags without source timestamps and without
// any timestamp (every sample kept, exact values, increasing times, full RMS windows, one warning),
// and a server that refuses the gateway's certificate in node-opcua's way (BadSecurityChecksFailed)
// and in open62541's (the socket closed during the handshake): one operator problem, one ERROR line
// with the thumbprint, subject and fix, and recovery once the certificate is trusted.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SecretsManagerCredentialSource } from '../../components/opcua-collector/src/credentials';
import type { CollectorConfig, TagConfig } from '../../components/opcua-collector/src/config-types';
import { NodeOpcUaSource } from '../../components/opcua-collector/src/opcua';
import { CollectorPipeline } from '../../components/opcua-collector/src/pipeline';
import type { OperatorProblem, SampleSink } from '../../components/opcua-collector/src/ports';
import { decode } from '../unit/shared/publish/helpers';
import { LocalAws } from '../harness/aws/local-aws';
import { SimulatedPlant } from '../harness/plant/plant';
import { tickOf } from '../harness/plant/signals';
import { TestLogger, sleep, sourceConfig, useEnv, waitUntil, type Sample } from './source-rig';

const USER = 'operator';
const PASSWORD = 'foreign-plant-password';
const TOKEN = 'svcuid-conduit-collector-foreign-test';
const SECRET_ID = 'conduit/opcua/foreign-e2e';

const workDir = mkdtempSync(join(tmpdir(), 'conduit-collector-foreign-'));
const collectorDir = join(workDir, 'collector');
const clientCertificateFile = join(collectorDir, 'pki', 'own', 'certs', 'client_certificate.pem');

const plants = new Set<SimulatedPlant>();
const sources = new Set<NodeOpcUaSource>();
let aws: LocalAws;
let restoreEnv: () => void;
let credentials: SecretsManagerCredentialSource;

async function startPlant(opts: Parameters<typeof SimulatedPlant.start>[0]): Promise<SimulatedPlant> {
  const p = await SimulatedPlant.start({ users: [{ username: USER, password: PASSWORD }], ...opts });
  plants.add(p);
  return p;
}

function configFor(p: SimulatedPlant, tags: TagConfig[]): CollectorConfig {
  return sourceConfig(p, {
    credentialsSecretId: SECRET_ID,
    serverTrust: { thumbprints: [p.certificateThumbprint], certificates: [] },
    tags,
    sampling: { intervalMs: 100, publishingIntervalMs: 500, queueSize: 20, maxNotificationsPerPublish: 1_000 },
    watchdog: { noDataTimeoutMs: 10_000 },
    reconnect: { initialDelayMs: 200, maxDelayMs: 1_000 },
  });
}

interface Running {
  source: NodeOpcUaSource;
  logger: TestLogger;
  samples: Sample[];
  problems: (OperatorProblem | undefined)[];
}

async function startSource(config: CollectorConfig, alsoTo?: SampleSink): Promise<Running> {
  const logger = new TestLogger();
  const samples: Sample[] = [];
  const problems: Running['problems'] = [];
  const source = new NodeOpcUaSource({
    config,
    credentials,
    sink: (tag, ms, value, status) => {
      samples.push({ tag, ms, value, status });
      alsoTo?.(tag, ms, value, status);
    },
    logger,
    workDir: collectorDir,
    random: () => 0.5,
    onProblem: (problem) => problems.push(problem),
  });
  sources.add(source);
  await source.start();
  return { source, logger, samples, problems };
}

async function stopSource(r: Running): Promise<void> {
  await r.source.stop();
  sources.delete(r.source);
}

before(async () => {
  aws = await LocalAws.start();
  aws.tes.addToken(TOKEN);
  aws.secretsManager.createSecret(SECRET_ID, { username: USER, password: PASSWORD });
  restoreEnv = useEnv(aws.clientEnv(TOKEN));
  credentials = new SecretsManagerCredentialSource({ secretId: SECRET_ID });
});

after(async () => {
  for (const s of [...sources]) await s.stop();
  for (const p of plants) await p.close();
  credentials?.close();
  restoreEnv?.();
  await aws?.close();
  rmSync(workDir, { recursive: true, force: true });
});

describe('a server without timestamps', () => {
  test('no source timestamp: server time; no timestamp at all: the arrival rule; every sample kept with exact values, full RMS windows, one warning', { timeout: 90_000 }, async (t) => {
    const plant = await startPlant({
      pkiDir: join(workDir, 'ts-pki'),
      tags: { vibration: 3, temperature: 0, pressure: 0, booleans: 0, strings: 0 },
      timestamps: { withoutSource: ['Line1.Vib01'], withoutAny: ['Line1.Vib02'] },
    });
    const tags = plant.tags.map((tag): TagConfig => ({ name: tag.name, nodeId: tag.nodeId, mode: 'rms', windowMs: 1_000 }));
    const config = configFor(plant, tags);
    const pipeline = new CollectorPipeline(config, { thingName: 'gw-e2e', runId: 'run-timestamps' });
    const r = await startSource(config, pipeline.onSample);
    try {
      await waitUntil('samples of every tag', () => new Set(r.samples.map((s) => s.tag)).size === 3, 20_000);
      const from = Date.now();
      await sleep(8_000);
      const rows = pipeline
        .tick(Date.now() + 5_000, true)
        .filter((m) => m.stream === 'rms')
        .flatMap((m) => decode(m.payload).rows);
      const c = r.source.counters();
      t.diagnostic(`counters: ${JSON.stringify(c)}; gate dropped ${JSON.stringify(pipeline.counters().gateDropped)}`);

      // No sample dropped: not one duplicate, not one out of order.
      assert.deepEqual(pipeline.counters().gateDropped, {});
      assert.equal(c.tagsWithoutSourceTimestamp, 2);
      assert.equal(c.tagsWithoutTimestamp, 1);
      const perTag = [0, 1, 2].map((tag) => r.samples.filter((s) => s.tag === tag));
      assert.equal(c.samplesTimedByServer, perTag[0]!.length);
      assert.equal(c.samplesTimedByArrival, perTag[1]!.length);
      for (const [tag, samples] of perTag.entries()) {
        for (let i = 1; i < samples.length; i++) assert.ok(samples[i]!.ms > samples[i - 1]!.ms, `${tags[tag]!.name}: times strictly increase`);
        // About 10 samples a second, like the tag with source timestamps: none lost.
        const recent = samples.filter((s) => s.ms >= from && s.ms < from + 7_000).length;
        t.diagnostic(`${tags[tag]!.name}: ${samples.length} samples, ${recent} in 7 s`);
        assert.ok(recent >= 60, `${tags[tag]!.name}: ${recent} samples in 7 s`);
      }
      // Source and server timestamps: the value of the tick the time falls in (the plant stamps its server time when it samples).
      for (const tag of [0, 2]) for (const s of perTag[tag]!) assert.equal(s.value, plant.expectedValue(tags[tag]!.name, tickOf(s.ms)), `${tags[tag]!.name} at ${s.ms}`);
      // The arrival rule: each value is the plant's value of a tick shortly before its time, ticks in order.
      let lastTick = -Infinity;
      for (const s of perTag[1]!) {
        const around = tickOf(s.ms);
        let found = NaN;
        for (let k = around + 2; k >= around - 40; k--) {
          if (plant.expectedValue('Line1.Vib02', k) === s.value) {
            found = k;
            break;
          }
        }
        assert.ok(Number.isFinite(found), `Line1.Vib02: ${String(s.value)} at ${s.ms} is no value the plant served shortly before`);
        assert.ok(found > lastTick, 'Line1.Vib02: values in the order served');
        lastTick = found;
      }
      // RMS windows get their 10 samples (the plant's timer misses a tick now and then, see its README).
      for (const [tag, tc] of tags.entries()) {
        const windows = rows.filter((row) => row.tag === tag && (row.time as number) >= from && (row.time as number) < from + 6_000);
        const full = windows.filter((row) => row.count === 10).length;
        t.diagnostic(`${tc.name}: window counts ${windows.map((w) => w.count).join(',')}`);
        assert.ok(windows.length >= 5 && full >= windows.length - 2, `${tc.name}: ${full} of ${windows.length} windows with 10 samples`);
      }
      // One warning line for the session, naming both tags.
      const warned = r.logger.find(/no source timestamp/, 'warn');
      assert.equal(warned.length, 1, warned.map((w) => w.text).join('\n'));
      assert.equal(warned[0]?.fields.tagsWithoutSourceTimestamp, 2);
      assert.equal(warned[0]?.fields.tagsWithoutTimestamp, 1);
      assert.deepEqual(warned[0]?.fields.examples, ['Line1.Vib01', 'Line1.Vib02']);
    } finally {
      await stopSource(r);
    }
  });
});

describe("a server that does not trust the gateway's certificate", () => {
  for (const mode of ['status', 'close-socket'] as const) {
    test(`refused by ${mode === 'status' ? "node-opcua's BadSecurityChecksFailed" : 'a socket closed during the handshake (open62541)'}: one problem, one ERROR line with thumbprint, subject and fix; recovery once trusted`, { timeout: 90_000 }, async (t) => {
      // A PKI of its own: nobody has trusted the collector's certificate there.
      const plant = await startPlant({ pkiDir: join(workDir, `strict-${mode}`), trustClientCertificates: 'explicit', untrustedClient: mode });
      const tags = plant.tags.map((tag): TagConfig => ({ name: tag.name, nodeId: tag.nodeId, mode: 'change', windowMs: 1_000 }));
      const config = configFor(plant, tags);
      const r = await startSource(config);
      try {
        await waitUntil('the client-certificate problem', () => r.source.problem?.kind === 'client-certificate', 30_000);
        // More refused attempts: still one problem, one ERROR line.
        await waitUntil('three more refusals', () => r.source.counters().clientCertificateRejected >= 5, 30_000);
        const c = r.source.counters();
        t.diagnostic(`counters: ${JSON.stringify(c)}`);
        assert.equal(r.source.state === 'connected', false);
        assert.equal(r.samples.length, 0);
        assert.deepEqual(r.problems.map((p) => p?.kind), ['client-certificate']);
        const pem = readFileSync(clientCertificateFile, 'utf8');
        const cert = new X509Certificate(pem);
        const thumbprint = r.source.clientCertificateThumbprint ?? '';
        assert.equal(cert.fingerprint.replace(/:/g, '').toLowerCase(), thumbprint, 'SHA-1 of the DER');
        const subject = cert.subject.replace(/\n/g, ', ');
        const errors = r.logger.find(/gateway's certificate/, 'error');
        assert.equal(errors.length, 1, errors.map((e) => e.text).join('\n'));
        assert.equal(errors[0]?.fields.thumbprint, thumbprint);
        assert.equal(errors[0]?.fields.subject, subject);
        assert.match(errors[0]?.msg ?? '', new RegExp(`thumbprint ${thumbprint}.*trust this certificate on the server`));
        assert.match(r.source.problem?.fix ?? '', /trust this certificate on the server/);
        if (mode === 'status') assert.match(errors[0]?.msg ?? '', /BadSecurityChecksFailed/);
        else assert.match(errors[0]?.msg ?? '', /closed the connection during the secure-channel handshake/);

        // The OT admin trusts it: the source's next attempt connects, the problem ends by itself.
        await plant.trustClientCertificate(pem);
        const recoveredMs = await waitUntil('data after the certificate is trusted', () => r.samples.length > 0, 30_000);
        t.diagnostic(`data ${recoveredMs} ms after the certificate was trusted`);
        assert.equal(r.source.state, 'connected');
        assert.equal(r.source.problem, undefined);
        assert.deepEqual(r.problems.map((p) => p?.kind), ['client-certificate', undefined]);
        assert.equal(r.logger.find(/gateway's certificate/, 'error').length, 1);
      } finally {
        await stopSource(r);
      }
    });
  }
});
