// conduit.OpcUaCollector end to end: the built artifact, launched from its recipe by the local
// Greengrass, reading the simulated plant through the real node-opcua client with credentials from
// the local Secrets Manager, publishing through the real Greengrass IPC client.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildCollector, deployCollectorSecret, type BuiltFixture } from '../harness/fixtures';
import { LocalGreengrass } from '../harness/launcher/local-greengrass';
import type { LaunchedComponent } from '../harness/launcher/component';
import { SimulatedPlant } from '../harness/plant/plant';
import { rows, telemetryMessages, type Row } from '../harness/telemetry';
import type { JsonObject } from '../harness/contracts';

const THING = 'gw-e2e';
const SECRET = 'conduit/opcua-collector';
const PASSWORD = 'first-Pa55word-e2e';
const WRONG_PASSWORD = 'wrong-password-e2e';
const ROTATED_PASSWORD = 'rotated-Pa55word-e2e';
const DEADBAND = 0.05;
const T = { timeout: 90_000 };

let outDir: string;
let built: BuiltFixture;
let plant: SimulatedPlant;
/** Every line every collector printed in this file, for the secret scan at the end. */
const allOutput: string[] = [];
/** Write/Call/HistoryUpdate counts of plant processes that were restarted (a new process counts from 0). */
const earlierPlantRequests = { write: 0, call: 0, historyUpdate: 0 };

before(async () => {
  built = await buildCollector();
  outDir = built.outDir;
  plant = await SimulatedPlant.start({ pkiDir: join(outDir, 'plant-pki'), users: [{ username: 'conduit', password: PASSWORD }] });
});

after(async () => {
  await plant?.close();
  rmSync(outDir, { recursive: true, force: true });
});

function tagsFor(p: SimulatedPlant): unknown[] {
  return p.tags.map((t) =>
    t.kind === 'vibration'
      ? { name: t.name, nodeId: t.nodeId, mode: 'rms', unit: t.unit }
      : t.kind === 'temperature' || t.kind === 'pressure'
        ? { name: t.name, nodeId: t.nodeId, mode: 'deadband', deadband: { absolute: DEADBAND }, unit: t.unit }
        : { name: t.name, nodeId: t.nodeId, mode: 'change' },
  );
}

function collectorConfig(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    endpointUrl: plant.endpointUrl,
    serverTrust: { thumbprints: [plant.certificateThumbprint] },
    credentialsSecretId: SECRET,
    tags: tagsFor(plant),
    metrics: { intervalSec: 2 },
    watchdog: { noDataTimeoutMs: 5000 },
    reconnect: { initialDelayMs: 200, maxDelayMs: 2000 },
    ...extra,
  };
}

async function withCollector(
  opts: { config?: Record<string, unknown>; password?: string; accessControl?: unknown },
  fn: (gg: LocalGreengrass, c: LaunchedComponent) => Promise<void>,
): Promise<void> {
  const gg = await LocalGreengrass.start({ thingName: THING, interpolateComponentConfiguration: true });
  let c: LaunchedComponent | undefined;
  try {
    gg.aws.secretsManager.createSecret(SECRET, { username: 'conduit', password: opts.password ?? PASSWORD });
    // As docs/templates/deployment.json: the secret in SecretManager's cloudSecrets, its ARN in accessControl.
    const accessControl = { ...deployCollectorSecret(gg, SECRET), ...(opts.accessControl as object | undefined) };
    const merge = { ...collectorConfig(opts.config), accessControl } as JsonObject;
    c = await gg.deploy({ recipePath: built.recipePath, artifactDir: join(outDir, 'artifacts'), configurationUpdate: { merge } });
    await fn(gg, c);
  } finally {
    if (c) allOutput.push(...c.output.map((l) => l.text), readFileSync(c.logPath, 'utf8'));
    await gg.close();
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

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Metrics = { opcua?: { problem?: string | null } | null } & Record<string, any>;
function metricsOf(gg: LocalGreengrass): Metrics[] {
  return gg.iotCore.filter((r) => r.topicName === `conduit/${THING}/metrics`).map((r) => JSON.parse(r.payload.toString()) as Metrics);
}

function relErr(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);
}

test('RMS windows and deadband points equal what the plant\'s known signal gives; messages fit and sequences are contiguous', T, () =>
  withCollector({}, async (gg, c) => {
    await c.waitForOutput(logLine('connected to the OPC UA server and subscribed'), 30_000);
    await sleep(6_000);
    const stop = await c.stop();
    assert.deepEqual([stop.code, stop.killed], [0, false], 'SIGTERM: flushed and exited 0 in time');
    await c.waitForOutput(logLine('stopped cleanly'), 1_000);

    const telemetry = telemetryMessages(gg.iotCore, `conduit/${THING}/telemetry`);
    assert.ok(telemetry.length > 5, `telemetry published (${telemetry.length} messages)`);
    for (const r of gg.iotCore) assert.ok(r.payload.length <= 131_072, `${r.topicName}: ${r.payload.length} bytes`);
    for (const type of ['rms', 'deadband', 'change'] as const) {
      const seqs = telemetry.filter((m) => m.type === type).map((m) => m.seq);
      assert.deepEqual(seqs, seqs.map((_, i) => i), `${type}: contiguous sequence numbers from 0`);
    }
    for (const m of telemetry) {
      assert.equal(m.mappingVersion, '2024-06-01.1');
      assert.equal(m.thingName, THING);
      assert.equal(m.runId, telemetry[0]!.runId);
    }
    const mapping = gg.iotCore.filter((r) => r.topicName === `conduit/${THING}/mapping`).map((r) => JSON.parse(r.payload.toString()));
    assert.equal(mapping.length, 1);
    assert.equal(gg.iotCore.find((r) => r.topicName === `conduit/${THING}/mapping`)!.retain, true, 'a one-part mapping is retained');
    assert.deepEqual(mapping[0].tags.map((t: { name: string }) => t.name), plant.tags.map((t) => t.name));

    const all = rows(telemetry);
    // RMS: every complete window (10 samples) equals the plant's signal over its 10 ticks.
    const rms = all.filter((r) => r.type === 'rms' && r.status === 0);
    const full = rms.filter((r) => r.count === 10);
    assert.ok(full.length >= 6, `complete windows: ${full.length} of ${rms.length}`);
    for (const r of full) {
      const name = plant.tags[r.tag]!.name;
      const xs = Array.from({ length: 10 }, (_, k) => plant.expectedValue(name, r.t / 100 + k) as number);
      const expectedRms = Math.sqrt(xs.reduce((s, x) => s + x * x, 0) / xs.length);
      const expectedPeak = Math.max(...xs.map(Math.abs));
      assert.ok(relErr(r.rms as number, expectedRms) <= 1e-9, `${name} @${r.t}: rms ${r.rms} vs ${expectedRms}`);
      assert.ok(relErr(r.peak as number, expectedPeak) <= 1e-9, `${name} @${r.t}: peak ${r.peak} vs ${expectedPeak}`);
      assert.equal(r.t % 1000, 0, 'windows are aligned to whole seconds of source time');
    }
    // Deadband: every point is the plant's value at its source time, and each one after the first
    // moved beyond the deadband from the previous one (or is a heartbeat, not due in this short run).
    const byTag = new Map<number, Row[]>();
    for (const r of all.filter((x) => x.type === 'deadband')) byTag.set(r.tag, [...(byTag.get(r.tag) ?? []), r]);
    assert.equal(byTag.size, 2, 'temperature and pressure both reported');
    for (const [tag, points] of byTag) {
      const name = plant.tags[tag]!.name;
      points.forEach((p, i) => {
        assert.ok(relErr(p.value as number, plant.expectedValue(name, p.t / 100) as number) <= 1e-9, `${name} @${p.t}`);
        assert.equal(p.deadband, DEADBAND);
        if (i > 0) assert.ok(Math.abs((p.value as number) - (points[i - 1]!.value as number)) > DEADBAND * (1 - 1e-9), `${name}: a point inside the deadband`);
      });
    }
    // Change tags: the Boolean flips every 5 s; every point is a change.
    const running = all.filter((r) => r.type === 'change' && plant.tags[r.tag]!.kind === 'boolean');
    assert.ok(running.length >= 1);
    running.forEach((p, i) => {
      assert.equal(p.value, plant.expectedValue(plant.tags[p.tag]!.name, p.t / 100));
      if (i > 0) assert.notEqual(p.value, running[i - 1]!.value);
    });
    // Metrics: what an operator alarms on.
    const metrics = gg.iotCore.filter((r) => r.topicName === `conduit/${THING}/metrics`).map((r) => JSON.parse(r.payload.toString()));
    const last = metrics.at(-1);
    assert.ok(last.samplesReceived > 0 && last.pointsPublished > 0 && last.reductionRatio > 1, JSON.stringify(last));
    assert.equal(last.opcua.overflowLost, 0);
    assert.deepEqual(last.lost, { queueFull: 0, rejectedByNucleus: 0, serverOverflow: 0, stages: 0, encoder: 0, captureRecords: 0 });
  }),
);

test('an untrusted server certificate is refused, with its thumbprint in the log', T, () =>
  withCollector({ config: { serverTrust: { thumbprints: ['ab'.repeat(20)] } } }, async (gg, c) => {
    const before = await plant.requestCounts();
    const line = await c.waitForOutput((l) => l.text.includes(plant.certificateThumbprint) && l.text.includes('"level":"error"'), 30_000);
    assert.match(line.text, /certificate/i);
    await sleep(1_000);
    const afterCounts = await plant.requestCounts();
    assert.equal(afterCounts.createSession, before.createSession, 'no session was created on the plant');
    assert.equal(telemetryMessages(gg.iotCore, `conduit/${THING}/telemetry`).length, 0);
    // An operator must pin the certificate: ERRORED once, then RUNNING and retrying (never BROKEN).
    const reporting = await c.waitForOutput(logLine('the component needs an operator: reporting ERRORED'), 10_000);
    assert.match(reporting.text, new RegExp(`add thumbprint ${plant.certificateThumbprint}`));
    await waitUntil('the restarted collector', () => c.errorCount === 1 && c.state === 'RUNNING', 20_000);
    await c.waitForOutput(logLine('the component needs an operator; it stays RUNNING'), 20_000);
    assert.equal(c.errorCount, 1);
  }),
);

test("a server that does not trust the gateway's certificate (socket closed in the handshake): ERRORED once, one ERROR line with thumbprint, subject and fix; data once trusted", T, async () => {
  const strict = await SimulatedPlant.start({
    pkiDir: join(outDir, 'strict-plant-pki'),
    users: [{ username: 'conduit', password: PASSWORD }],
    trustClientCertificates: 'explicit',
    untrustedClient: 'close-socket',
  });
  const refusal = (l: { text: string }) => l.text.includes("does not trust the gateway's certificate") && l.text.includes('"level":"error"');
  try {
    await withCollector({ config: { endpointUrl: strict.endpointUrl, serverTrust: { thumbprints: [strict.certificateThumbprint] }, tags: tagsFor(strict) } }, async (gg, c) => {
      const firstPid = c.pid;
      const refused = await c.waitForOutput(refusal, 30_000);
      const fields = JSON.parse(refused.text) as { thumbprint: string; subject: string; certificateFile: string; msg: string };
      const pem = readFileSync(fields.certificateFile, 'utf8');
      const cert = new X509Certificate(pem);
      assert.equal(fields.thumbprint, createHash('sha1').update(cert.raw).digest('hex'), 'SHA-1 of the DER');
      assert.equal(fields.subject, cert.subject.replace(/\n/g, ', '));
      assert.ok(fields.msg.includes(`thumbprint ${fields.thumbprint}, subject ${fields.subject}); trust this certificate on the server`), fields.msg);
      const reporting = await c.waitForOutput(logLine('the component needs an operator: reporting ERRORED'), 20_000);
      assert.match(reporting.text, /"problem":"client-certificate"/);
      await waitUntil('the nucleus restarted the ERRORED component', () => c.errorCount === 1 && c.state === 'RUNNING' && c.pid !== firstPid, 20_000);
      // The restarted process: the same refusal, one ERROR line for it, RUNNING (no second ERRORED).
      const from = c.output.indexOf(reporting) + 1;
      await c.waitForOutput(logLine('the component needs an operator; it stays RUNNING'), 30_000, from);
      const secondPid = c.pid;
      await waitUntil('a metrics message naming the problem', () => metricsOf(gg).some((m) => m.opcua?.problem === 'client-certificate'), 10_000);
      await sleep(3_000);
      assert.equal(c.output.slice(from).filter(refusal).length, 1, 'one ERROR line for the refusal in the restarted process, whatever the attempts');
      assert.deepEqual([c.errorCount, c.state, c.pid], [1, 'RUNNING', secondPid], 'no further ERRORED, no restart');

      // The OT admin trusts the certificate: the collector recovers by itself.
      await strict.trustClientCertificate(pem);
      await c.waitForOutput(logLine('connected to the OPC UA server and subscribed'), 30_000, from);
      await c.waitForOutput(logLine('recovered: the problem that needed an operator is fixed'), 5_000, from);
      await waitUntil('data after the fix', () => telemetryMessages(gg.iotCore, `conduit/${THING}/telemetry`).length > 0, 15_000);
      await waitUntil('a metrics message without the problem', () => metricsOf(gg).at(-1)?.opcua?.problem === null, 10_000);
      assert.deepEqual([c.errorCount, c.state, c.pid], [1, 'RUNNING', secondPid], 'recovered in the running process');
    });
  } finally {
    await strict.close();
  }
});

test('a wrong password gives ERRORED and a clear log line, and recovers once the secret is fixed', T, () =>
  withCollector({ password: WRONG_PASSWORD }, async (gg, c) => {
    const line = await c.waitForOutput((l) => /BadUserAccessDenied|BadIdentityTokenRejected/.test(l.text), 30_000);
    assert.match(line.text, /"level":"error"/);
    assert.match(line.text, new RegExp(SECRET.replace('/', '\\/')), 'the log names the secret to fix');
    // The second rejection (from the secret read afresh) needs an operator: ERRORED, so the console shows it.
    const firstPid = c.pid;
    const reporting = await c.waitForOutput(logLine('the component needs an operator: reporting ERRORED'), 30_000);
    assert.match(reporting.text, /"problem":"identity"/);
    await waitUntil('the nucleus restarted the ERRORED component', () => c.errorCount === 1 && c.state === 'RUNNING' && c.pid !== firstPid, 20_000);
    // The restarted process fails the same way but stays RUNNING: a third ERRORED within the
    // nucleus's hour would make it BROKEN, and then only a deployment would bring it back.
    const from = c.output.length;
    await c.waitForOutput(logLine('the component needs an operator; it stays RUNNING'), 30_000, from);
    const secondPid = c.pid;
    const rejectedBefore = c.output.slice(from).filter((l) => /BadUserAccessDenied|BadIdentityTokenRejected/.test(l.text)).length;
    await waitUntil('more rejections in the restarted process', () => c.output.slice(from).filter((l) => /BadUserAccessDenied|BadIdentityTokenRejected/.test(l.text)).length > rejectedBefore + 1, 20_000);
    await waitUntil('a metrics message naming the problem', () => metricsOf(gg).some((m) => m.opcua?.problem === 'identity'), 10_000);
    assert.deepEqual([c.errorCount, c.state, c.pid], [1, 'RUNNING', secondPid], 'no further ERRORED, no restart');

    gg.aws.secretsManager.rotateSecret(SECRET, { username: 'conduit', password: PASSWORD });
    await c.waitForOutput(logLine('connected to the OPC UA server and subscribed'), 30_000, from);
    await c.waitForOutput(logLine('recovered: the problem that needed an operator is fixed'), 5_000, from);
    await waitUntil('data after the fix', () => telemetryMessages(gg.iotCore, `conduit/${THING}/telemetry`).length > 0, 15_000);
    await waitUntil('a metrics message without the problem', () => metricsOf(gg).at(-1)?.opcua?.problem === null, 10_000);
    assert.deepEqual([c.errorCount, c.state, c.pid], [1, 'RUNNING', secondPid], 'recovered in the running process');
  }),
);

test('a rotated password is picked up by reading the secret again: no restart, no ERRORED', T, () =>
  withCollector({}, async (gg, c) => {
    await c.waitForOutput(logLine('connected to the OPC UA server and subscribed'), 30_000);
    const pid = c.pid;
    const counts = await plant.requestCounts();
    for (const k of ['write', 'call', 'historyUpdate'] as const) earlierPlantRequests[k] += counts[k];
    // A rotation: the secret first, then the server; the open session outlives it, so restart the plant.
    gg.aws.secretsManager.rotateSecret(SECRET, { username: 'conduit', password: ROTATED_PASSWORD });
    await plant.setPassword('conduit', ROTATED_PASSWORD);
    try {
      await plant.restart();
      const reconnected = await c.waitForOutput((l) => l.text.includes('"msg":"connected to the OPC UA server and subscribed"') && l.text.includes('"reconnects":1'), 30_000);
      assert.ok(reconnected);
      const rejections = c.output.filter((l) => /rejected the user identity/.test(l.text));
      assert.equal(rejections.length, 1, 'the cached password was refused once, then the secret was read again');
      assert.ok(!c.output.some((l) => l.text.includes('needs an operator')), 'a rotation is not an operator problem');
      assert.deepEqual([c.errorCount, c.state, c.pid], [0, 'RUNNING', pid]);
    } finally {
      await plant.setPassword('conduit', PASSWORD);
    }
  }),
);

test('a recipe without the mqttproxy permission fails with a clear error', T, () =>
  withCollector(
    {
      accessControl: {
        'aws.greengrass.ipc.mqttproxy': {
          'conduit.OpcUaCollector:mqttproxy:1': { operations: ['aws.greengrass#PublishToIoTCore'], resources: ['some/other/topic'] },
        },
      },
    },
    async (gg, c) => {
      const line = await c.waitForOutput(logLine('the nucleus refused to publish: this component is not authorized'), 30_000);
      assert.match(line.text, /accessControl/);
      await c.waitForState(['ERRORED', 'BROKEN'], 20_000);
      assert.equal(gg.iotCore.length, 0);
    },
  ),
);

test('a collector with alarms but without the pub/sub permission says so at start, not at the first alarm', T, () => {
  const tags = tagsFor(plant).map((t) => ((t as { mode: string }).mode === 'rms' ? { ...(t as object), alarm: { on: 'rms', raiseAt: 1000, clearBelow: 900 } } : t));
  return withCollector(
    {
      config: { tags },
      accessControl: {
        'aws.greengrass.ipc.pubsub': {
          'conduit.OpcUaCollector:pubsub:2': { operations: ['aws.greengrass#SubscribeToTopic'], resources: ['some/other/topic'] },
        },
      },
    },
    async (gg, c) => {
      const line = await c.waitForOutput(logLine('captures cannot be handed over to conduit.FirehoseSink'), 30_000);
      assert.match(line.text, /"level":"error"/);
      assert.match(line.text, /SubscribeToTopic on conduit\/firehose-sink\/ack/);
      await waitUntil('metrics saying so', () => metricsOf(gg).some((m) => m.burst?.handoff?.ackSubscriptionRefused === true), 10_000);
      assert.equal(metricsOf(gg).flatMap((m) => (m.burst?.alarms?.raised ? [m] : [])).length, 0, 'no alarm was needed to find out');
      assert.equal(c.state, 'RUNNING', 'telemetry goes on');
    },
  );
});

test('a plant restart is followed by data resuming', T, () =>
  withCollector({}, async (gg, c) => {
    await c.waitForOutput(logLine('connected to the OPC UA server and subscribed'), 30_000);
    const counts = await plant.requestCounts();
    for (const k of ['write', 'call', 'historyUpdate'] as const) earlierPlantRequests[k] += counts[k];
    await plant.restart();
    const restartedAt = Date.now();
    await c.waitForOutput((l) => l.text.includes('"msg":"connected to the OPC UA server and subscribed"') && l.text.includes('"reconnects":1'), 30_000);
    // A window that starts after the restart closes a second later plus the allowed lateness (2.5 s).
    const fresh = () => rows(telemetryMessages(gg.iotCore, `conduit/${THING}/telemetry`)).filter((r) => r.type === 'rms' && r.t > restartedAt && r.count === 10);
    const deadline = Date.now() + 15_000;
    while (fresh().length === 0 && Date.now() < deadline) await sleep(200);
    assert.ok(fresh().length > 0, 'complete RMS windows after the restart');
  }),
);

test('a percent deadband without a range takes the node\'s EURange; a node without one is logged, counted and gets deadband 0', T, () => {
  // Temperature -20…150 and pressure 0…10 are AnalogItems; the Boolean node has no EURange at all.
  const percent = { temperature: 1, pressure: 0.5 } as Record<string, number>;
  const noRange = plant.tags.find((t) => t.kind === 'boolean')!;
  const expected = new Map<number, number>();
  const tags = plant.tags.map((t, i) => {
    const p = percent[t.kind];
    if (p === undefined) return t === noRange ? { name: t.name, nodeId: t.nodeId, mode: 'deadband', deadband: { percent: 1 } } : { name: t.name, nodeId: t.nodeId, mode: 'rms' };
    expected.set(i, (p * (t.range!.high - t.range!.low)) / 100);
    return { name: t.name, nodeId: t.nodeId, mode: 'deadband', deadband: { percent: p } };
  });
  return withCollector({ config: { tags } }, async (gg, c) => {
    await c.waitForOutput(logLine('percent deadbands resolved from the EURange read from the server'), 30_000);
    const missing = await c.waitForOutput((l) => l.text.includes('no usable EURange') && l.text.includes(noRange.name), 1_000);
    assert.match(missing.text, /"level":"error"/);
    assert.match(missing.text, /deadband\.rangeMin and deadband\.rangeMax/, 'the log names the fix');
    await sleep(3_500);
    await c.stop();

    const deadbandRows = rows(telemetryMessages(gg.iotCore, `conduit/${THING}/telemetry`)).filter((r) => r.type === 'deadband');
    assert.deepEqual(new Set(deadbandRows.map((r) => r.tag)), new Set(expected.keys()), 'temperature and pressure reported');
    // Until the EURange answer arrives (usually before the first data) a point says deadband 0, its
    // true error bound; from the first point with the resolved deadband on, every point carries it.
    for (const [tag, deadband] of expected) {
      const seen = deadbandRows.filter((r) => r.tag === tag).map((r) => r.deadband);
      const first = seen.indexOf(deadband);
      assert.ok(first >= 0, `${plant.tags[tag]!.name}: no point with the resolved deadband ${deadband}: ${seen.join(',')}`);
      assert.ok(seen.slice(0, first).every((d) => d === 0), `${plant.tags[tag]!.name}: before resolution only 0: ${seen.join(',')}`);
      assert.ok(seen.slice(first).every((d) => d === deadband), `${plant.tags[tag]!.name}: after resolution only ${deadband}: ${seen.join(',')}`);
    }
    const mapping = gg.iotCore.filter((r) => r.topicName === `conduit/${THING}/mapping`).map((r) => JSON.parse(r.payload.toString()));
    assert.equal(mapping.length, 2, 'queued at start, published again once the ranges were read');
    const resolved = (m: { tags: { resolvedDeadband: number | null }[] }) => m.tags.map((t) => t.resolvedDeadband);
    const tagOf = (name: string) => plant.tags.findIndex((t) => t.name === name);
    assert.deepEqual(resolved(mapping[0]).filter((x: number | null) => x !== null), []);
    const last = resolved(mapping[1]);
    for (const [tag, deadband] of expected) assert.equal(last[tag], deadband);
    assert.equal(last[tagOf(noRange.name)], 0, 'no EURange: deadband 0');
    const metrics = gg.iotCore.filter((r) => r.topicName === `conduit/${THING}/metrics`).map((r) => JSON.parse(r.payload.toString()));
    assert.deepEqual(metrics.at(-1).deadbandRange, { pending: 0, missing: 1 });
  });
});

test('over the whole file the plant received no Write, Call or HistoryUpdate, and no secret reached a log', async () => {
  const counts = await plant.requestCounts();
  const total = (k: 'write' | 'call' | 'historyUpdate') => counts[k] + earlierPlantRequests[k];
  assert.deepEqual([total('write'), total('call'), total('historyUpdate')], [0, 0, 0]);
  const text = allOutput.join('\n');
  assert.ok(text.length > 1000, 'the logs were collected');
  for (const secret of [PASSWORD, WRONG_PASSWORD, ROTATED_PASSWORD]) assert.ok(!text.includes(secret), 'a secret value appears in a log');
  // node-opcua's own console output is carried inside JSON lines, so every log line can be parsed.
  const stray = allOutput.flatMap((chunk) => chunk.split('\n')).filter((l) => /NODE-OPCUA-|client_base_impl/.test(l) && !l.includes('"source":"node-opcua"'));
  assert.deepEqual(stray, []);
});
