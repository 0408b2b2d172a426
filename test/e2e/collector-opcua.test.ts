// NodeOpcUaSource against the simulated plant, through the real node-opcua client and the real AWS
// SDK (local Secrets Manager behind the local token exchange service): pinned server certificates,
// identity rejection and secret rotation, chunked monitored items, plant restart, the no-data
// watchdog (and the keep-alives that satisfy it on a quiet plant), refused tags, and the read-only proof.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SecretsManagerCredentialSource } from '../../components/opcua-collector/src/credentials';
import type { CollectorConfig, ServerTrust, TagConfig } from '../../components/opcua-collector/src/config-types';
import { NodeOpcUaSource } from '../../components/opcua-collector/src/opcua';
import { CollectorPipeline } from '../../components/opcua-collector/src/pipeline';
import type { CredentialSource, OperatorProblem, SampleSink } from '../../components/opcua-collector/src/ports';
import { decode } from '../unit/shared/publish/helpers';
import { LocalAws } from '../harness/aws/local-aws';
import { SimulatedPlant } from '../harness/plant/plant';
import { TICK_MS, tickOf } from '../harness/plant/signals';
import { TestLogger, plantTags, sleep, sourceConfig, useEnv, waitUntil, type LogLine, type Sample } from './source-rig';

const USER = 'operator';
const PASSWORD = 'right-horse-battery-staple';
const WRONG_PASSWORD = 'wrong-password-do-not-log';
const TOKEN = 'svcuid-conduit-collector-opcua-test';
const SECRET_ID = 'conduit/opcua/plant-e2e';

const workDir = mkdtempSync(join(tmpdir(), 'conduit-collector-opcua-'));
/** One server PKI for every plant of this file: certificate creation is the slow part of a plant start. */
const serverPki = join(workDir, 'server-pki');
/** The collector's work folder; its client certificate is created there once. */
const collectorDir = join(workDir, 'collector');

const plants = new Set<SimulatedPlant>();
const sources = new Set<NodeOpcUaSource>();
const allLogs: LogLine[] = [];
/** Every password this file ever used: none may appear in any log line. */
const passwords = [PASSWORD, WRONG_PASSWORD];
let aws: LocalAws;
let restoreEnv: () => void;
let credentials: SecretsManagerCredentialSource;
let plant: SimulatedPlant;

async function startPlant(opts: Parameters<typeof SimulatedPlant.start>[0] = {}): Promise<SimulatedPlant> {
  const p = await SimulatedPlant.start({ pkiDir: serverPki, users: [{ username: USER, password: PASSWORD }], ...opts });
  plants.add(p);
  return p;
}

function tagsOf(p: SimulatedPlant, extra: TagConfig[] = []): TagConfig[] {
  return [...plantTags(p), ...extra];
}

function configFor(p: SimulatedPlant, o: { trust?: Partial<ServerTrust>; tags?: TagConfig[]; noDataTimeoutMs?: number } = {}): CollectorConfig {
  return sourceConfig(p, {
    credentialsSecretId: SECRET_ID,
    serverTrust: { thumbprints: [], certificates: [], ...o.trust },
    tags: o.tags ?? tagsOf(p),
    sampling: { intervalMs: 100, publishingIntervalMs: 500, queueSize: 20, maxNotificationsPerPublish: 1_000 },
    watchdog: { noDataTimeoutMs: o.noDataTimeoutMs ?? 10_000 },
    reconnect: { initialDelayMs: 200, maxDelayMs: 1_000 },
  });
}

interface Running {
  source: NodeOpcUaSource;
  logger: TestLogger;
  samples: Sample[];
  /** Every onProblem call, with the identity rejections counted when it was made. */
  problems: { problem: OperatorProblem | undefined; identityRejected: number }[];
}

async function startSource(config: CollectorConfig, creds: CredentialSource = credentials, alsoTo?: SampleSink): Promise<Running> {
  const logger = new TestLogger(allLogs);
  const samples: Sample[] = [];
  const problems: Running['problems'] = [];
  const source: NodeOpcUaSource = new NodeOpcUaSource({
    config,
    credentials: creds,
    sink: (tag, ms, value, status) => {
      samples.push({ tag, ms, value, status });
      alsoTo?.(tag, ms, value, status);
    },
    logger,
    workDir: collectorDir,
    random: () => 0.5,
    onProblem: (problem) => problems.push({ problem, identityRejected: source.counters().identityRejected }),
  });
  sources.add(source);
  await source.start();
  return { source, logger, samples, problems };
}

async function stopSource(r: Running): Promise<void> {
  await r.source.stop();
  sources.delete(r.source);
}

/** Every sample of `tags` has the value the plant's oracle predicts for its source timestamp. */
function assertExactValues(p: SimulatedPlant, config: CollectorConfig, samples: readonly Sample[]): void {
  for (const s of samples) {
    const tag = config.tags[s.tag];
    assert.ok(tag, `sample for unknown tag ${s.tag}`);
    assert.equal(s.status, 0, `${tag.name} status`);
    assert.equal(s.ms % TICK_MS, 0, `${tag.name} source timestamp on a tick`);
    assert.equal(s.value, p.expectedValue(tag.name, tickOf(s.ms)), `${tag.name} at tick ${tickOf(s.ms)}`);
  }
}

function tagsWithData(samples: readonly Sample[], after = 0): Set<number> {
  return new Set(samples.filter((s) => s.ms >= after).map((s) => s.tag));
}

async function assertReadOnly(p: SimulatedPlant): Promise<void> {
  const counts = await p.requestCounts();
  assert.equal(counts.write, 0, 'Write requests');
  assert.equal(counts.call, 0, 'Call requests');
  assert.equal(counts.historyUpdate, 0, 'HistoryUpdate requests');
}

before(async () => {
  aws = await LocalAws.start();
  aws.tes.addToken(TOKEN);
  aws.secretsManager.createSecret(SECRET_ID, { username: USER, password: PASSWORD });
  restoreEnv = useEnv(aws.clientEnv(TOKEN));
  credentials = new SecretsManagerCredentialSource({ secretId: SECRET_ID });
  plant = await startPlant();
});

after(async () => {
  for (const s of [...sources]) await s.stop();
  for (const p of plants) await p.close();
  credentials?.close();
  restoreEnv?.();
  await aws?.close();
  rmSync(workDir, { recursive: true, force: true });
  // Over the whole file: no log line ever held a password.
  for (const line of allLogs) for (const pw of passwords) assert.ok(!line.text.includes(pw), `a log line holds a password: ${line.msg}`);
});

describe('NodeOpcUaSource against the simulated plant', () => {
  test('pinned thumbprint: secure session, exact values; the client certificate is created once', { timeout: 60_000 }, async (t) => {
    const config = configFor(plant, { trust: { thumbprints: [plant.certificateThumbprint.toUpperCase().match(/../g)?.join(':') ?? ''] } });
    const r = await startSource(config);
    try {
      const certFile = join(collectorDir, 'pki', 'own', 'certs', 'client_certificate.pem');
      const thumbprint = r.source.clientCertificateThumbprint;
      assert.match(thumbprint ?? '', /^[0-9a-f]{40}$/);
      const certLine = r.logger.find(/client certificate/, 'info')[0];
      assert.equal(certLine?.fields.thumbprint, thumbprint);
      assert.equal(certLine?.fields.created, true);
      const connectMs = await waitUntil('samples of every tag', () => tagsWithData(r.samples).size === config.tags.length, 20_000);
      t.diagnostic(`first samples of all ${config.tags.length} tags after ${connectMs} ms`);
      assert.equal(r.source.state, 'connected');
      await sleep(1_500);
      assertExactValues(plant, config, r.samples);
      const c = r.source.counters();
      assert.equal(c.notifications, r.samples.length);
      assert.equal(c.certificateRejected, 0);
      assert.equal(c.monitoredItemsFailed, 0);
      assert.ok(r.logger.find(/connected to the OPC UA server/, 'info').length === 1);
      assert.ok((r.source.lastDataReceivedAtMs ?? 0) > Date.now() - 2_000);

      // A second source with the same workDir reuses the certificate, as a restarted component does.
      const mtime = statSync(certFile).mtimeMs;
      await stopSource(r);
      const countAfterStop = r.samples.length;
      const again = await startSource(configFor(plant, { trust: { certificates: [plant.certificatePem] } }));
      try {
        assert.equal(again.source.clientCertificateThumbprint, thumbprint);
        assert.equal(again.logger.find(/client certificate/, 'info')[0]?.fields.created, false);
        assert.equal(statSync(certFile).mtimeMs, mtime);
        assert.equal(new X509Certificate(readFileSync(certFile)).fingerprint.replace(/:/g, '').toLowerCase(), thumbprint);
        // Pinned by PEM certificate this time.
        await waitUntil('samples with a PEM-pinned server', () => again.samples.length > 10, 20_000);
        assertExactValues(plant, config, again.samples);
        assert.equal(r.samples.length, countAfterStop, 'samples reached the sink after stop()');
      } finally {
        await stopSource(again);
      }
      await assertReadOnly(plant);
    } finally {
      await stopSource(r);
    }
  });

  test('a wrong pin refuses the server before any session, and logs its thumbprint and subject', { timeout: 30_000 }, async () => {
    const before = await plant.requestCounts();
    const r = await startSource(configFor(plant, { trust: { thumbprints: ['00'.repeat(20)] } }));
    try {
      await waitUntil('two refusals', () => r.source.counters().certificateRejected >= 2, 10_000);
      const refused = r.logger.find(/server certificate refused/, 'error');
      assert.ok(refused.length >= 2);
      assert.equal(refused[0]?.fields.thumbprint, plant.certificateThumbprint);
      assert.ok(refused[0]?.text.includes(plant.certificateThumbprint));
      assert.match(String(refused[0]?.fields.subject), /CN=/);
      assert.equal(refused[0]?.fields.endpoint, plant.endpointUrl);
      assert.notEqual(r.source.state, 'connected');
      assert.equal(r.samples.length, 0);
      const after = await plant.requestCounts();
      assert.equal(after.createSession, before.createSession, 'CreateSession requests');
      assert.equal(after.activateSession, before.activateSession, 'ActivateSession requests');
      assert.ok(r.source.counters().connectFailures >= 2);
      // Needs an operator from the first refusal, reported once however often it repeats.
      assert.equal(r.problems.length, 1);
      assert.equal(r.problems[0]!.problem?.kind, 'certificate');
      assert.ok(r.problems[0]!.problem?.fix.includes(plant.certificateThumbprint), r.problems[0]!.problem?.fix);
      assert.equal(r.source.problem?.kind, 'certificate');
    } finally {
      await stopSource(r);
    }
  });

  test('a rejected password is counted and the rotated secret is picked up without a restart', { timeout: 60_000 }, async (t) => {
    aws.secretsManager.rotateSecret(SECRET_ID, { username: USER, password: WRONG_PASSWORD });
    // A fresh source of credentials: the file's shared one has the right password cached.
    const creds = new SecretsManagerCredentialSource({ secretId: SECRET_ID });
    const config = configFor(plant, { trust: { thumbprints: [plant.certificateThumbprint] } });
    const r = await startSource(config, creds);
    try {
      await waitUntil('two identity rejections', () => r.source.counters().identityRejected >= 2, 15_000);
      const rejected = r.logger.find(/rejected the user identity/, 'error');
      assert.ok(rejected.length >= 2);
      assert.equal(rejected[0]?.fields.username, USER);
      assert.match(String(rejected[0]?.fields.err), /BadUserAccessDenied|BadIdentityTokenRejected/);
      const requestsBefore = aws.secretsManager.requests;
      aws.secretsManager.rotateSecret(SECRET_ID, { username: USER, password: PASSWORD });
      const rotatedAt = Date.now();
      const recoveryMs = await waitUntil('data after the rotation', () => r.samples.length > 0, 20_000);
      t.diagnostic(`data ${recoveryMs} ms after the secret was rotated`);
      assert.ok(aws.secretsManager.requests > requestsBefore, 'the secret was read again');
      assert.ok(Date.now() - rotatedAt < 20_000);
      assertExactValues(plant, config, r.samples);
      for (const line of r.logger.lines) for (const pw of passwords) assert.ok(!line.text.includes(pw), line.text);
      // The first rejection may be a missed rotation: only the second, from a secret read afresh,
      // needs an operator. Connecting again ends the problem.
      assert.equal(r.problems[0]?.problem?.kind, 'identity');
      assert.equal(r.problems[0]?.identityRejected, 2);
      assert.match(r.problems[0]!.problem!.fix, new RegExp(`secret ${SECRET_ID}`));
      assert.deepEqual(r.problems.slice(1), [{ problem: undefined, identityRejected: r.source.counters().identityRejected }]);
      assert.equal(r.source.problem, undefined);
    } finally {
      await stopSource(r);
      creds.close();
    }
  });

  test('a tag the server refuses is counted and logged once; the other tags deliver', { timeout: 30_000 }, async () => {
    const config = configFor(plant, {
      trust: { thumbprints: [plant.certificateThumbprint] },
      tags: tagsOf(plant, [
        { name: 'Missing', nodeId: 'ns=1;s=Line1.DoesNotExist', mode: 'change', windowMs: 1_000 },
        { name: 'Garbage', nodeId: 'not a node id', mode: 'change', windowMs: 1_000 },
      ]),
    });
    const r = await startSource(config);
    try {
      const good = plant.tags.length;
      await waitUntil('samples of every good tag', () => tagsWithData(r.samples).size === good, 20_000);
      assert.equal(r.source.counters().monitoredItemsFailed, 2);
      // One line for the set, with counts by reason and the tags as examples: never one per tag.
      const refused = r.logger.find(/refused to monitor 2 tags/, 'warn');
      assert.equal(refused.length, 1);
      const f = refused[0]!.fields as { count: number; byReason: Record<string, number>; examples: { tag: string; nodeId: string; status: string }[] };
      assert.equal(f.count, 2);
      assert.equal(f.byReason.BadNodeIdUnknown, 1);
      assert.equal(Object.values(f.byReason).reduce((a, b) => a + b, 0), 2);
      assert.deepEqual(f.examples.map((e) => [e.tag, e.nodeId]), [['Missing', 'ns=1;s=Line1.DoesNotExist'], ['Garbage', 'not a node id']]);
      assert.match(f.examples[0]!.status, /BadNodeIdUnknown/);
      assert.deepEqual(r.source.counters().monitoredItemsFailedByReason, f.byReason);
      assert.ok(r.samples.every((s) => s.tag < good));
      assertExactValues(plant, config, r.samples);
    } finally {
      await stopSource(r);
    }
  });

  test('nsu= NodeIds are resolved through the server NamespaceArray; an unknown namespace URI is refused, the rest deliver', { timeout: 30_000 }, async () => {
    // The plant's own namespace is its application URI (node-opcua registers it as namespace 1).
    const config = configFor(plant, {
      trust: { thumbprints: [plant.certificateThumbprint] },
      tags: [
        { name: 'Line1.Vib01', nodeId: 'nsu=urn:conduit:test:simulated-plant;s=Line1.Vib01', mode: 'change', windowMs: 1_000 },
        { name: 'Elsewhere', nodeId: 'nsu=urn:not:on:this:server;s=Line1.Vib01', mode: 'change', windowMs: 1_000 },
      ],
    });
    const r = await startSource(config);
    try {
      await waitUntil('samples of the nsu= tag', () => tagsWithData(r.samples).has(0), 20_000);
      assert.equal(r.source.counters().monitoredItemsFailed, 1);
      const refused = r.logger.find(/refused to monitor 1 tag;/, 'warn');
      assert.equal(refused.length, 1);
      const examples = (refused[0]!.fields as { examples: { status: string }[] }).examples;
      assert.match(examples[0]!.status, /the server has no namespace urn:not:on:this:server/);
      assert.ok(r.samples.every((s) => s.tag === 0));
      assertExactValues(plant, config, r.samples);
    } finally {
      await stopSource(r);
    }
  });

  test('UInt64 counters above 2^32 arrive as exact numbers (node-opcua hands them over as [high, low])', { timeout: 60_000 }, async () => {
    const counting = await startPlant({ tags: { vibration: 0, temperature: 0, pressure: 0, booleans: 0, strings: 0, counters: 2 } });
    const config = configFor(counting, { trust: { thumbprints: [counting.certificateThumbprint] } });
    const r = await startSource(config);
    try {
      await waitUntil('samples of both counters', () => tagsWithData(r.samples).size === 2 && r.samples.length >= 10, 20_000);
      for (const s of r.samples) {
        assert.equal(typeof s.value, 'number', JSON.stringify(s.value));
        assert.ok((s.value as number) > 2 ** 32, `${s.value} uses the high half`);
      }
      assertExactValues(counting, config, r.samples);
      // Through the pipeline, a counter is an ordinary change tag: nothing dropped as wrongType.
      const pipeline = new CollectorPipeline(config, { thingName: 'gw', runId: 'r' });
      for (const s of r.samples) pipeline.onSample(s.tag, s.ms, s.value, s.status);
      assert.deepEqual(pipeline.counters().gateDropped, {});
    } finally {
      await stopSource(r);
    }
  });

  test('monitored items are created in chunks of MaxMonitoredItemsPerCall', { timeout: 60_000 }, async (t) => {
    const limited = await startPlant({ operationLimits: { maxMonitoredItemsPerCall: 3 }, tags: { vibration: 10, temperature: 0, pressure: 0, booleans: 0, strings: 0 } });
    const config = configFor(limited, { trust: { thumbprints: [limited.certificateThumbprint] } });
    const before = await limited.requestCounts();
    const r = await startSource(config);
    try {
      await waitUntil('samples of all 10 tags', () => tagsWithData(r.samples).size === 10, 20_000);
      const after = await limited.requestCounts();
      t.diagnostic(`CreateMonitoredItems requests: ${after.createMonitoredItems - before.createMonitoredItems}`);
      assert.equal(after.createMonitoredItems - before.createMonitoredItems, 4); // 3 + 3 + 3 + 1
      const connected = r.logger.find(/connected to the OPC UA server/, 'info')[0];
      assert.equal(connected?.fields.createMonitoredItemsCalls, 4);
      assert.equal(connected?.fields.itemsPerCall, 3);
      assert.equal(connected?.fields.monitored, 10);
      assert.equal(r.source.counters().monitoredItemsFailed, 0);
      assertExactValues(limited, config, r.samples);
      await assertReadOnly(limited);
    } finally {
      await stopSource(r);
    }
  });

  test('a plant restart: the subscription is re-created and data resumes', { timeout: 90_000 }, async (t) => {
    await assertReadOnly(plant); // before the restart resets the plant's counters
    const config = configFor(plant, { trust: { thumbprints: [plant.certificateThumbprint] } });
    const r = await startSource(config);
    try {
      await waitUntil('first samples', () => tagsWithData(r.samples).size === config.tags.length, 20_000);
      await plant.restart();
      const restartedAt = Date.now();
      const resumeMs = await waitUntil('samples of every tag after the restart', () => tagsWithData(r.samples, restartedAt).size === config.tags.length, 30_000);
      t.diagnostic(`data of every tag ${resumeMs} ms after the restarted plant was up`);
      const c = r.source.counters();
      assert.ok(c.reconnects >= 1, `reconnects ${c.reconnects}`);
      assert.equal(c.watchdogResets, 0);
      assert.ok(r.logger.find(/disconnected from the OPC UA server/, 'warn').length >= 1);
      assertExactValues(plant, config, r.samples);
      const counts = await plant.requestCounts();
      assert.ok(counts.createSubscription >= 1);
      await assertReadOnly(plant);
    } finally {
      await stopSource(r);
    }
  });

  test('a paused plant (session up, no data) trips the watchdog, which reconnects, when rms tags expect data', { timeout: 60_000 }, async (t) => {
    // The vibration tags as rms tags: they must deliver, so keep-alives alone do not satisfy the watchdog.
    const tags = tagsOf(plant).map((tag): TagConfig => (/\.Vib/.test(tag.name) ? { ...tag, mode: 'rms' } : tag));
    assert.ok(tags.some((tag) => tag.mode === 'rms'));
    const config = configFor(plant, { trust: { thumbprints: [plant.certificateThumbprint] }, noDataTimeoutMs: 1_500, tags });
    const r = await startSource(config);
    try {
      await waitUntil('first samples', () => r.samples.length > 0, 20_000);
      const sessionsBefore = (await plant.requestCounts()).createSession;
      await plant.pause();
      const pausedAt = Date.now();
      const tripMs = await waitUntil('a watchdog reset', () => r.source.counters().watchdogResets >= 1, 10_000);
      t.diagnostic(`watchdog reset ${tripMs} ms after the pause (noDataTimeoutMs ${config.watchdog.noDataTimeoutMs})`);
      assert.ok(r.logger.find(/watchdog/, 'warn').length >= 1);
      await waitUntil('a new session', async () => (await plant.requestCounts()).createSession > sessionsBefore, 10_000);
      await plant.resume();
      const resumedAt = Date.now();
      const resumeMs = await waitUntil('data after the resume', () => r.samples.some((s) => s.ms >= resumedAt - TICK_MS), 20_000);
      t.diagnostic(`data ${resumeMs} ms after resume; paused ${resumedAt - pausedAt} ms`);
      assert.equal(r.source.state, 'connected');
      assertExactValues(plant, config, r.samples);
    } finally {
      await stopSource(r);
    }
  });

  test('a paused plant with only deadband and change tags: keep-alives keep the session, and every tag repeats its last value as of the last keep-alive', { timeout: 60_000 }, async (t) => {
    const tags = tagsOf(plant).map((tag): TagConfig => (/\.(Temp|Press)/.test(tag.name) ? { ...tag, mode: 'deadband', deadband: { kind: 'absolute', value: 0.5 }, heartbeatMs: 2_000 } : { ...tag, heartbeatMs: 2_000 }));
    // A keep-alive every 1.5 s (3 publishing intervals, a third of the timeout): a late one does not trip it.
    const config = configFor(plant, { trust: { thumbprints: [plant.certificateThumbprint] }, noDataTimeoutMs: 4_500, tags });
    const pipeline = new CollectorPipeline(config, { thingName: 'gw-e2e', runId: 'run-keepalive' });
    const r = await startSource(config, credentials, pipeline.onSample);
    try {
      await waitUntil('samples of every tag', () => tagsWithData(r.samples).size === config.tags.length, 20_000);
      await waitUntil('a vouched-for time', () => r.source.aliveAsOfMs !== undefined, 10_000);
      assert.equal(r.logger.find(/subscription keep-alive/, 'warn').length, 0);
      const sessionsBefore = (await plant.requestCounts()).createSession;
      const frozenMs = (await plant.pause()) * TICK_MS;
      const pausedAt = Date.now();
      await sleep(7_000);
      const asOf = r.source.aliveAsOfMs ?? NaN;
      t.diagnostic(`paused 7 s: aliveAsOfMs ${asOf - frozenMs} ms after the frozen tick, last sign of life ${Date.now() - (r.source.lastAliveAtMs ?? 0)} ms ago`);
      assert.equal(r.source.counters().watchdogResets, 0);
      assert.equal(r.source.state, 'connected');
      assert.equal((await plant.requestCounts()).createSession, sessionsBefore, 'no new session');
      assert.ok((r.source.lastAliveAtMs ?? 0) > pausedAt + 4_000, 'keep-alives arrived during the pause');
      assert.ok((r.source.lastDataReceivedAtMs ?? Infinity) < pausedAt + 1_500, 'no data during the pause');
      // In the source times' clock (the same host's here): well past the frozen tick, not in the future.
      assert.ok(asOf > frozenMs + 4_000 && asOf <= Date.now() + 1_000, `aliveAsOfMs ${asOf}, frozen at ${frozenMs}`);
      assert.ok(r.samples.every((s) => s.ms <= frozenMs));

      // The pipeline, as the runtime drives it: every tag repeats its last value at aliveAsOfMs.
      const rows = pipeline
        .tick(Date.now(), false, asOf)
        .filter((m) => m.stream === 'deadband' || m.stream === 'change')
        .flatMap((m) => decode(m.payload).rows);
      const keepAlives = rows.filter((row) => row.time === asOf).map((row) => ({ tag: row.tag as number, value: row.value }));
      assert.ok(rows.length > keepAlives.length, 'the points before the pause come first');
      assert.deepEqual(
        keepAlives.map((k) => k.tag).sort((a, b) => a - b),
        config.tags.map((_, i) => i),
        'one keep-alive row per tag',
      );
      for (const k of keepAlives) {
        const last = r.samples.filter((s) => s.tag === k.tag).at(-1);
        const tag = config.tags[k.tag]!;
        // Deadband tags repeat the last sent value, within the deadband of the last sample.
        if (tag.mode === 'deadband') assert.ok(Math.abs((k.value as number) - (last?.value as number)) <= 0.5, `${tag.name}: ${k.value} vs ${last?.value}`);
        // Numbers are published to 10 significant digits.
        else if (typeof last?.value === 'number') assert.ok(Math.abs((k.value as number) - last.value) <= 1e-9 * Math.abs(last.value), `${tag.name}: ${k.value} vs ${last.value}`);
        else assert.equal(k.value, last?.value, tag.name);
      }
      await plant.resume();
    } finally {
      await stopSource(r);
    }
  });

  test('stop() is bounded when the server hangs, and nothing reaches the sink afterwards', { timeout: 60_000 }, async (t) => {
    const config = configFor(plant, { trust: { thumbprints: [plant.certificateThumbprint] } });
    const r = await startSource(config);
    await waitUntil('first samples', () => r.samples.length > 0, 20_000);
    const pid = plant.pid ?? -1;
    // A frozen server: the TCP connection stays open, nothing answers (CloseSession included).
    process.kill(pid, 'SIGSTOP');
    try {
      const started = Date.now();
      await stopSource(r);
      const tookMs = Date.now() - started;
      t.diagnostic(`stop() took ${tookMs} ms with the plant frozen`);
      assert.ok(tookMs < 6_000, `stop took ${tookMs} ms`);
      assert.equal(r.source.state, 'stopped');
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    const count = r.samples.length;
    await sleep(1_500);
    assert.equal(r.samples.length, count, 'samples reached the sink after stop()');
    await assertReadOnly(plant);
  });

  test('a missing secret needs an operator; creating it ends the problem without a restart', { timeout: 30_000 }, async () => {
    const id = 'conduit/opcua/created-later';
    const creds = new SecretsManagerCredentialSource({ secretId: id });
    const r = await startSource(configFor(plant, { trust: { thumbprints: [plant.certificateThumbprint] } }), creds);
    try {
      await waitUntil('the credentials problem', () => r.source.problem !== undefined, 10_000);
      assert.equal(r.source.problem?.kind, 'credentials');
      assert.match(r.source.problem!.fix, /conduit\/opcua\/created-later/);
      aws.secretsManager.createSecret(id, { username: USER, password: PASSWORD });
      await waitUntil('data once the secret exists', () => r.samples.length > 0, 20_000);
      assert.deepEqual(r.problems.map((p) => p.problem?.kind), ['credentials', undefined]);
    } finally {
      await stopSource(r);
      creds.close();
    }
  });

  test('credential errors name the secret and the expected shape, never the value', { timeout: 20_000 }, async () => {
    aws.secretsManager.createSecret('conduit/not-json', 'hunter2-is-not-json');
    aws.secretsManager.createSecret('conduit/no-password', { username: USER, pass: 'hunter3' });
    const cases: [string, RegExp][] = [
      ['conduit/does-not-exist', /secret "conduit\/does-not-exist" was not found.*\{"username"/],
      ['conduit/not-json', /secret "conduit\/not-json" is not JSON; store \{"username"/],
      ['conduit/no-password', /secret "conduit\/no-password": "password" is missing; store \{"username"/],
    ];
    for (const [id, pattern] of cases) {
      const source = new SecretsManagerCredentialSource({ secretId: id });
      try {
        const err = await source.get({ refresh: false }).then(
          () => assert.fail(`${id} should fail`),
          (e: unknown) => e as Error & { cause?: unknown },
        );
        assert.equal(err.name, 'CredentialsError');
        assert.match(err.message, pattern);
        const everything = `${err.message} ${String(err.cause)} ${JSON.stringify(err)}`;
        assert.ok(!/hunter/.test(everything), everything);
      } finally {
        source.close();
      }
    }
  });
});
