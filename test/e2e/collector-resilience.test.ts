// conduit.OpcUaCollector when the nucleus misbehaves: the built artifact, launched from its recipe by the
// local Greengrass, reading the simulated plant, publishing through the real Greengrass IPC client while
// the local nucleus refuses publishes (spool full) or drops the IPC socket. What the cloud receives is
// checked as a cloud reader would: contiguous sequence numbers per stream, RMS windows that tile time.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildCollector, deployCollectorSecret, type BuiltFixture } from '../harness/fixtures';
import { LocalGreengrass } from '../harness/launcher/local-greengrass';
import type { LaunchedComponent } from '../harness/launcher/component';
import { SimulatedPlant } from '../harness/plant/plant';
import { rows, telemetryMessages, type TelemetryMessage } from '../harness/telemetry';
import type { JsonObject } from '../harness/contracts';

const COMPONENT = 'conduit.OpcUaCollector';
const THING = 'gw-resilience';
const SECRET = 'conduit/opcua-collector';
const PASSWORD = 'resilience-Pa55word-e2e';
const TELEMETRY = `conduit/${THING}/telemetry`;
const METRICS = `conduit/${THING}/metrics`;
const SPOOL_FULL = 'Message spool is full. Message could not be added.';
const T = { timeout: 60_000 };

let outDir: string;
let built: BuiltFixture;
let plant: SimulatedPlant;

before(async () => {
  built = await buildCollector();
  outDir = built.outDir;
  plant = await SimulatedPlant.start({ pkiDir: join(outDir, 'plant-pki'), users: [{ username: 'conduit', password: PASSWORD }] });
});

after(async () => {
  await plant?.close();
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

function collectorConfig(publish: Record<string, unknown> = {}): JsonObject {
  return {
    endpointUrl: plant.endpointUrl,
    serverTrust: { thumbprints: [plant.certificateThumbprint] },
    credentialsSecretId: SECRET,
    tags: plant.tags.map((t) =>
      t.kind === 'vibration'
        ? { name: t.name, nodeId: t.nodeId, mode: 'rms', unit: t.unit }
        : t.kind === 'temperature' || t.kind === 'pressure'
          ? { name: t.name, nodeId: t.nodeId, mode: 'deadband', deadband: { absolute: 0.05 }, unit: t.unit }
          : { name: t.name, nodeId: t.nodeId, mode: 'change' },
    ),
    publish: publish as JsonObject,
    metrics: { intervalSec: 2 },
    watchdog: { noDataTimeoutMs: 5000 },
    reconnect: { initialDelayMs: 200, maxDelayMs: 2000 },
  } as JsonObject;
}

/** A fresh local Greengrass with the collector deployed and delivering telemetry; closed whatever happens. */
async function withCollector(publish: Record<string, unknown>, fn: (gg: LocalGreengrass, c: LaunchedComponent) => Promise<void>): Promise<void> {
  const gg = await LocalGreengrass.start({ thingName: THING, interpolateComponentConfiguration: true });
  try {
    gg.aws.secretsManager.createSecret(SECRET, { username: 'conduit', password: PASSWORD });
    const c = await gg.deploy({
      recipePath: built.recipePath,
      artifactDir: join(outDir, 'artifacts'),
      configurationUpdate: { merge: { ...collectorConfig(publish), accessControl: deployCollectorSecret(gg, SECRET) } },
    });
    await c.waitForOutput(logLine('connected to the OPC UA server and subscribed'), 30_000);
    await waitUntil(() => telemetry(gg).some((m) => m.type === 'rms'), 10_000, 'the first RMS telemetry');
    await fn(gg, c);
  } finally {
    gg.ipc.setIotCorePublishFault(undefined);
    await gg.close();
  }
}

const logLine = (msg: string) => (l: { text: string }) => l.text.includes(`"msg":"${msg}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

function telemetry(gg: LocalGreengrass): TelemetryMessage[] {
  return telemetryMessages(gg.iotCore, TELEMETRY);
}

function metricsMessages(gg: LocalGreengrass): Array<Record<string, any>> {
  return gg.iotCore.filter((r) => r.topicName === METRICS).map((r) => JSON.parse(r.payload.toString()));
}

function logs(c: LaunchedComponent, level: string, msgStart: string): Array<Record<string, any>> {
  return c.jsonLines().filter((l) => l.level === level && String(l.msg).startsWith(msgStart));
}

/** SIGTERM: the collector flushes its windows and queue and exits 0 within the Shutdown timeout. */
async function stopCleanly(c: LaunchedComponent): Promise<void> {
  const stop = await c.stop();
  assert.deepEqual([stop.code, stop.killed], [0, false], 'SIGTERM: flushed and exited 0 in time');
  await c.waitForOutput(logLine('stopped cleanly'), 1_000);
}

/** The sequence numbers of each stream as received, in order of arrival. */
function seqsByStream(gg: LocalGreengrass): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const m of telemetry(gg)) out.set(m.type, [...(out.get(m.type) ?? []), m.seq]);
  out.set('metrics', metricsMessages(gg).map((m) => m.seq as number));
  return out;
}

/** Source time of the newest sample the collector can have seen at a given wall-clock time, at most this far behind. */
const DELIVERY_LAG_MS = 2_500;

/** No message lost or duplicated: every stream's seq is 0, 1, 2, … in arrival order. */
function assertContiguous(gg: LocalGreengrass): void {
  for (const [stream, seqs] of seqsByStream(gg)) {
    assert.deepEqual(seqs, seqs.map((_, i) => i), `${stream}: contiguous sequence numbers from 0`);
  }
}

/**
 * Every RMS window of every vibration tag arrived: a tag's rows tile source time (each starts where
 * the previous one ended), every one a window with Good data, across [fromMs, untilMs].
 */
function assertWindowsComplete(gg: LocalGreengrass, fromMs: number, untilMs: number): void {
  const all = rows(telemetry(gg)).filter((r) => r.type === 'rms');
  const vibration = plant.tags.map((t, i) => [t, i] as const).filter(([t]) => t.kind === 'vibration');
  assert.ok(vibration.length > 0);
  for (const [tag, index] of vibration) {
    const windows = all.filter((r) => r.tag === index).sort((a, b) => a.t - b.t);
    assert.ok(windows.length > 0, `${tag.name}: windows`);
    for (let i = 1; i < windows.length; i++) {
      assert.equal(windows[i]!.t - windows[i - 1]!.t, 1000, `${tag.name}: the window after ${windows[i - 1]!.t} is missing`);
    }
    for (const w of windows) assert.equal(w.status, 0, `${tag.name} @${w.t}: status ${w.status} (count ${w.count}, missed ${w.missed})`);
    // Samples reach the collector one subscription publish (1 s) after their source time, and a loaded
    // machine adds scheduling delay: the newest closed window may end that much before untilMs.
    assert.ok(windows[0]!.t <= fromMs && windows.at(-1)!.t + 1000 >= untilMs - DELIVERY_LAG_MS, `${tag.name}: windows cover ${fromMs}..${untilMs} (last starts ${windows.at(-1)!.t})`);
  }
}

test('nucleus spool full for a few seconds: the collector holds and retries, and nothing is lost', T, () =>
  withCollector({}, async (gg, c) => {
    const faultFrom = Date.now();
    gg.ipc.setIotCorePublishFault(() => SPOOL_FULL);
    await c.waitForOutput(logLine('publish held for retry'), 5_000);
    const acceptedBefore = gg.iotCore.length;
    await sleep(4_000);
    assert.equal(gg.iotCore.length, acceptedBefore, 'the nucleus accepted nothing during the fault');
    gg.ipc.setIotCorePublishFault(undefined);
    const faultUntil = Date.now();
    await sleep(3_000);
    await stopCleanly(c);

    const held = logs(c, 'warn', 'publish held for retry');
    assert.ok(held.length > 0);
    for (const l of held) assert.match(l.reason, /Message spool is full/);
    assert.deepEqual(c.jsonLines().filter((l) => l.level === 'error'), [], 'no ERROR line: nothing was lost');

    assertContiguous(gg);
    assertWindowsComplete(gg, faultFrom, faultUntil);
    const last = metricsMessages(gg).at(-1)!;
    assert.ok(last.ipc.publishRetries > 0, JSON.stringify(last.ipc));
    assert.equal(last.lost.queueFull, 0);
    assert.deepEqual(last.lost, { queueFull: 0, rejectedByNucleus: 0, serverOverflow: 0, stages: 0, encoder: 0, captureRecords: 0 });
  }),
);

test('IPC socket dropped, idle and with a publish in flight: the collector reconnects and nothing is lost', T, () =>
  withCollector({}, async (gg, c) => {
    const from = Date.now();
    assert.equal(gg.ipc.dropConnections(COMPONENT), 1);
    await c.waitForOutput((l) => logLine('connected to the Greengrass nucleus over IPC')(l) && l.text.includes('"reconnects":1'), 10_000);
    await sleep(1_500);

    // The nucleus goes away while a PublishToIoTCore is being handled: the request is never answered.
    let dropped = 0;
    gg.ipc.setIotCorePublishFault(() => {
      if (dropped++ > 0) return undefined;
      gg.ipc.dropConnections(COMPONENT);
      return SPOOL_FULL; // never reaches the collector: its socket is gone
    });
    await c.waitForOutput((l) => logLine('connected to the Greengrass nucleus over IPC')(l) && l.text.includes('"reconnects":2'), 10_000);
    const reconnectedAt = Date.now();
    assert.ok(dropped > 0, 'a publish was in flight when the socket went');
    // The call in flight on the lost socket is abandoned with it, not waited out (10 s call timeout).
    await waitUntil(() => gg.iotCore.some((r) => r.at > reconnectedAt), 5_000, 'a publish accepted on the new connection (well before the 10 s call timeout)');
    await sleep(2_000);
    const until = Date.now();
    await stopCleanly(c);

    assert.equal(logs(c, 'warn', 'IPC connection to the Greengrass nucleus lost').length, 2);
    assert.deepEqual(logs(c, 'warn', 'IPC call timed out'), []);
    assert.deepEqual(c.jsonLines().filter((l) => l.level === 'error'), [], 'no ERROR line: nothing was lost');
    assertContiguous(gg);
    assertWindowsComplete(gg, from, until);
    const last = metricsMessages(gg).at(-1)!;
    assert.ok(last.ipc.reconnects >= 2, JSON.stringify(last.ipc));
    assert.deepEqual(last.lost, { queueFull: 0, rejectedByNucleus: 0, serverOverflow: 0, stages: 0, encoder: 0, captureRecords: 0 });
  }),
);

test('a bounded queue drops its oldest messages while the spool is full, says so at ERROR, and the cloud sees exactly those gaps', T, () =>
  withCollector({ queueMaxMessages: 3 }, async (gg, c) => {
    gg.ipc.setIotCorePublishFault(() => SPOOL_FULL);
    await c.waitForOutput((l) => l.text.includes('"level":"error"') && logLine('publish queue full')(l), 10_000);
    await sleep(4_000);
    gg.ipc.setIotCorePublishFault(undefined);
    const clearedAt = Date.now();
    // A window that starts after clearedAt closes a second later plus the allowed lateness (2.5 s).
    await sleep(5_000);
    assert.equal(c.state, 'RUNNING', 'the collector kept running');
    await stopCleanly(c);

    const drops = logs(c, 'error', 'publish queue full: dropped the oldest message (data lost)');
    assert.ok(drops.length > 0);
    const droppedSeqs = new Map<string, number[]>();
    for (const d of drops) droppedSeqs.set(d.stream, [...(droppedSeqs.get(d.stream) ?? []), d.seq]);
    for (const [stream, seqs] of seqsByStream(gg)) {
      const received = new Set(seqs);
      assert.equal(received.size, seqs.length, `${stream}: no duplicates`);
      const newest = Math.max(-1, ...seqs);
      const missing = Array.from({ length: newest + 1 }, (_, i) => i).filter((i) => !received.has(i));
      const dropped = (droppedSeqs.get(stream) ?? []).sort((a, b) => a - b);
      // A drop after the newest message a stream ever delivered is a gap the cloud sees only with
      // that stream's next message; it must still never have arrived.
      assert.deepEqual(missing, dropped.filter((q) => q < newest), `${stream}: the gaps the cloud sees are exactly the dropped messages`);
      for (const q of dropped) assert.ok(!received.has(q), `${stream}: dropped seq ${q} was also delivered`);
      assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), `${stream}: in order`);
    }
    assert.ok(!droppedSeqs.has('mapping'), 'the mapping went out before the fault');

    const last = metricsMessages(gg).at(-1)!;
    assert.equal(last.lost.queueFull, drops.length);
    assert.ok(last.lost.queueFull > 0);
    assert.ok(
      rows(telemetry(gg)).some((r) => r.type === 'rms' && r.t > clearedAt),
      'windows closed after the fault cleared were published',
    );
  }),
);
