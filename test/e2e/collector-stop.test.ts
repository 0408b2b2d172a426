// conduit.OpcUaCollector stopped under the nucleus's rule: SIGKILL 5 s after SIGTERM, whatever the
// recipe says (the local core copies it, test/harness/launcher/component.ts). The built artifact,
// launched from its recipe, with data in flight (a queue the nucleus could not take for a while), a
// plant that stopped answering, a plant that is gone, and a few thousand tags: each time the
// collector must exit by itself well inside the 5 s, what it closed at the stop must reach the cloud,
// and the next start must begin a new run (new runId, sequences from 0) as docs/message-format.md says.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildCollector, deployCollectorSecret, type BuiltFixture } from '../harness/fixtures';
import { LocalGreengrass } from '../harness/launcher/local-greengrass';
import type { LaunchedComponent, StopResult } from '../harness/launcher/component';
import { SimulatedPlant } from '../harness/plant/plant';
import { rows, telemetryMessages, type TelemetryMessage } from '../harness/telemetry';
import type { JsonObject } from '../harness/contracts';

const THING = 'gw-stop';
const SECRET = 'conduit/opcua-collector';
const PASSWORD = 'stop-Pa55word-e2e';
const TELEMETRY = `conduit/${THING}/telemetry`;
const METRICS = `conduit/${THING}/metrics`;
const SPOOL_FULL = 'Message spool is full. Message could not be added.';
/** The collector plans 3 s; the bound leaves room for a loaded machine, and stays clear of the 5 s kill. */
const EXIT_BOUND_MS = 4_200;

let built: BuiltFixture;
let plant: SimulatedPlant;

before(async () => {
  built = await buildCollector();
  plant = await SimulatedPlant.start({ pkiDir: join(built.outDir, 'plant-pki'), users: [{ username: 'conduit', password: PASSWORD }] });
});

after(async () => {
  await plant?.close();
  if (built) rmSync(built.outDir, { recursive: true, force: true });
});

function config(p: SimulatedPlant, extra: Record<string, unknown> = {}): JsonObject {
  return {
    endpointUrl: p.endpointUrl,
    serverTrust: { thumbprints: [p.certificateThumbprint] },
    credentialsSecretId: SECRET,
    tags: p.tags.map((t) =>
      t.kind === 'vibration'
        ? { name: t.name, nodeId: t.nodeId, mode: 'rms', unit: t.unit }
        : t.kind === 'temperature' || t.kind === 'pressure'
          ? { name: t.name, nodeId: t.nodeId, mode: 'deadband', deadband: { absolute: 0.05 }, unit: t.unit }
          : { name: t.name, nodeId: t.nodeId, mode: 'change' },
    ),
    metrics: { intervalSec: 2 },
    reconnect: { initialDelayMs: 200, maxDelayMs: 2000 },
    ...extra,
  } as JsonObject;
}

async function withCollector(p: SimulatedPlant, extra: Record<string, unknown>, fn: (gg: LocalGreengrass, c: LaunchedComponent) => Promise<void>): Promise<void> {
  const gg = await LocalGreengrass.start({ thingName: THING, interpolateComponentConfiguration: true });
  try {
    gg.aws.secretsManager.createSecret(SECRET, { username: 'conduit', password: PASSWORD });
    // As docs/templates/deployment.json does: the secret in aws.greengrass.SecretManager, the ARN in accessControl.
    const merge = { ...config(p, extra), accessControl: deployCollectorSecret(gg, SECRET) } as JsonObject;
    const c = await gg.deploy({ recipePath: built.recipePath, artifactDir: built.artifactDir, configurationUpdate: { merge } });
    await c.waitForOutput(logLine('connected to the OPC UA server and subscribed'), 60_000);
    await waitUntil(() => telemetry(gg).some((m) => m.type === 'rms'), 20_000, 'the first RMS telemetry');
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

function metrics(gg: LocalGreengrass): Array<Record<string, any>> {
  return gg.iotCore.filter((r) => r.topicName === METRICS).map((r) => JSON.parse(r.payload.toString()));
}

/** The collector's one stop line (INFO, WARN or ERROR). */
function stopLine(c: LaunchedComponent): Record<string, any> {
  const lines = c.jsonLines().filter((l) => /^stopped/.test(String(l.msg)));
  assert.equal(lines.length, 1, `one stop line: ${JSON.stringify(lines)}`);
  return lines[0]!;
}

function assertExitedByItself(stop: StopResult): void {
  assert.deepEqual([stop.code, stop.killed], [0, false], 'exited 0 by itself, not killed');
  assert.ok(stop.afterSigtermMs !== undefined && stop.afterSigtermMs < EXIT_BOUND_MS, `exited ${stop.afterSigtermMs} ms after SIGTERM`);
}

/** Per stream, the seqs of one run in arrival order must be 0, 1, 2, …: nothing lost, nothing twice. */
function assertContiguous(gg: LocalGreengrass, runId: string): void {
  const byStream = new Map<string, number[]>();
  for (const m of telemetry(gg).filter((m) => m.runId === runId)) byStream.set(m.type, [...(byStream.get(m.type) ?? []), m.seq]);
  byStream.set('metrics', metrics(gg).filter((m) => m.runId === runId).map((m) => m.seq as number));
  for (const [stream, seqs] of byStream) assert.deepEqual(seqs, seqs.map((_, i) => i), `${runId} ${stream}: contiguous from 0`);
}

/**
 * The RMS windows of each vibration tag of one run tile time up to the stop: the window the stop cut
 * short was closed and published too (its start is within a window of the stop's source time).
 */
function assertWindowsUpToStop(gg: LocalGreengrass, p: SimulatedPlant, runId: string, stoppedAtMs: number): void {
  const runSeqs = new Set(telemetry(gg).filter((m) => m.runId === runId && m.type === 'rms').map((m) => m.seq));
  const all = rows(telemetry(gg).filter((m) => m.runId === runId)).filter((r) => r.type === 'rms' && runSeqs.has(r.seq));
  const vibration = p.tags.map((t, i) => [t, i] as const).filter(([t]) => t.kind === 'vibration');
  assert.ok(vibration.length > 0);
  for (const [tag, index] of vibration) {
    const windows = all.filter((r) => r.tag === index).sort((a, b) => a.t - b.t);
    assert.ok(windows.length > 0, `${tag.name}: windows`);
    for (let i = 1; i < windows.length; i++) assert.equal(windows[i]!.t - windows[i - 1]!.t, 1000, `${tag.name}: the window after ${windows[i - 1]!.t} is missing`);
    // Samples reach the collector up to a publishing interval (1 s) after their source time, plus scheduling delay.
    assert.ok(windows.at(-1)!.t >= stoppedAtMs - 3_000, `${tag.name}: the last window (${windows.at(-1)!.t}) is the one the stop closed (${stoppedAtMs})`);
  }
}

test('data in flight at SIGTERM: the queue the nucleus held back and the windows the stop closed reach the cloud, the collector exits by itself well inside 5 s, and the next start is a new run', { timeout: 120_000 }, () =>
  withCollector(plant, {}, async (gg, c) => {
    const firstRun = (telemetry(gg)[0]!).runId;
    // The nucleus takes nothing for 3 s: windows queue up in the collector.
    gg.ipc.setIotCorePublishFault(() => SPOOL_FULL);
    await c.waitForOutput(logLine('publish held for retry'), 5_000);
    await sleep(3_000);
    gg.ipc.setIotCorePublishFault(undefined);
    const stoppedAt = Date.now();
    const stop = await c.stop();
    assertExitedByItself(stop);
    const line = stopLine(c);
    assert.equal(line.msg, 'stopped cleanly');
    assert.deepEqual([line.unsent, line.unackedRecords, line.alarmsLeftOpen, line.sessionClosed, line.ranOut], [0, 0, 0, true, false]);
    assert.equal(line.budgetMs, 3000);
    assert.deepEqual(c.jsonLines().filter((l) => l.level === 'error'), [], 'no ERROR: nothing was lost');
    assertContiguous(gg, firstRun);
    assertWindowsUpToStop(gg, plant, firstRun, stoppedAt);
    // The final metrics come after the data: nothing was waiting behind them.
    assert.equal(gg.iotCore.filter((r) => r.topicName !== `conduit/${THING}/alarms`).at(-1)!.topicName, METRICS);

    // The next start: a new run, sequences from 0, the mapping first.
    const before = gg.iotCore.length;
    await c.start();
    await waitUntil(() => telemetry(gg).some((m) => m.runId !== firstRun && m.type === 'rms'), 30_000, 'RMS telemetry of the next run');
    const next = gg.iotCore.slice(before).map((r) => ({ topic: r.topicName, body: JSON.parse(r.payload.toString()) }));
    assert.equal(next[0]!.topic, `conduit/${THING}/mapping`, 'the new run publishes its mapping first');
    const secondRun = next[0]!.body.runId as string;
    assert.notEqual(secondRun, firstRun);
    await sleep(2_500);
    const stop2 = await c.stop();
    assertExitedByItself(stop2);
    assertContiguous(gg, secondRun);
    const lastOld = Math.max(...rows(telemetry(gg).filter((m) => m.runId === firstRun)).filter((r) => r.type === 'rms').map((r) => r.t));
    const firstNew = Math.min(...rows(telemetry(gg).filter((m) => m.runId === secondRun)).filter((r) => r.type === 'rms').map((r) => r.t));
    assert.ok(firstNew >= lastOld, `the new run's windows start where the old run's ended (old ${lastOld}, new ${firstNew})`);
  }),
);

test('the nucleus takes nothing at SIGTERM (spool full for good): the stop gives up at its budget, counts what it could not send in one ERROR line, and exits by itself', { timeout: 120_000 }, () =>
  withCollector(plant, {}, async (gg, c) => {
    gg.ipc.setIotCorePublishFault(() => SPOOL_FULL);
    await c.waitForOutput(logLine('publish held for retry'), 5_000);
    const stop = await c.stop();
    assertExitedByItself(stop);
    const line = stopLine(c);
    assert.equal(line.level, 'error', 'data is lost with the process: ERROR');
    assert.match(String(line.msg), /^stopped with data lost/);
    assert.ok(line.unsent >= 2 && line.unsentBytes > 0, `the closed windows and the final metrics are counted: ${JSON.stringify(line)}`);
    assert.equal(line.sessionClosed, true);
    assert.ok(line.tookMs >= 2_400, `it kept trying until the drain deadline (2.5 s): ${line.tookMs} ms`);
  }),
);

test('a plant that stopped answering (process frozen) at SIGTERM: the session close is abandoned at its share, the data still goes, the collector exits in time', { timeout: 120_000 }, () =>
  withCollector(plant, { watchdog: { noDataTimeoutMs: 30_000 } }, async (gg, c) => {
    const run = telemetry(gg)[0]!.runId;
    const pid = plant.pid!;
    process.kill(pid, 'SIGSTOP');
    try {
      await sleep(1_500);
      const stoppedAt = Date.now();
      const stop = await c.stop();
      assertExitedByItself(stop);
      const line = stopLine(c);
      assert.equal(line.sessionClosed, false, 'CloseSession was never answered: the session was left behind');
      assert.deepEqual([line.unsent, line.unackedRecords, line.ranOut], [0, 0, false]);
      assert.ok(c.jsonLines().some((l) => String(l.msg).startsWith('the OPC UA connection did not close in time')));
      assertContiguous(gg, run);
      assertWindowsUpToStop(gg, plant, run, stoppedAt - 1_500);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
  }),
);

test('a plant that is gone at SIGTERM (the collector is in its reconnect backoff): no timer or connect attempt holds the stop', { timeout: 120_000 }, () =>
  withCollector(plant, { reconnect: { initialDelayMs: 20_000, maxDelayMs: 30_000 } }, async (gg, c) => {
    const run = telemetry(gg)[0]!.runId;
    await plant.kill();
    try {
      await c.waitForOutput(logLine('reconnecting to the OPC UA server after a delay'), 20_000);
      const stop = await c.stop();
      assertExitedByItself(stop);
      const line = stopLine(c);
      assert.deepEqual([line.unsent, line.unackedRecords, line.ranOut], [0, 0, false]);
      assertContiguous(gg, run);
    } finally {
      await plant.restart();
    }
  }),
);

test('3,000 tags: the stop closes 500 RMS windows at once and publishes them, and exits by itself well inside 5 s', { timeout: 180_000 }, async () => {
  const big = await SimulatedPlant.start({
    pkiDir: join(built.outDir, 'big-plant-pki'),
    users: [{ username: 'conduit', password: PASSWORD }],
    // 500 RMS tags at 100 ms (5,000 samples/s, what one plant process can serve) and 2,500 quiet ones.
    tags: { vibration: 500, temperature: 0, pressure: 0, booleans: 2_500, strings: 0, counters: 0 },
  });
  try {
    assert.equal(big.tags.length, 3_000);
    await withCollector(big, {}, async (gg, c) => {
      const run = telemetry(gg)[0]!.runId;
      await sleep(3_000);
      const stoppedAt = Date.now();
      const stop = await c.stop();
      assertExitedByItself(stop);
      const line = stopLine(c);
      assert.deepEqual([line.unsent, line.unackedRecords, line.ranOut], [0, 0, false]);
      assertContiguous(gg, run);
      // Every RMS tag's cut window arrived (the plant may miss samples under this load: counts vary, windows do not).
      const last = new Map<number, number>();
      for (const r of rows(telemetry(gg))) if (r.type === 'rms') last.set(r.tag, Math.max(last.get(r.tag) ?? -Infinity, r.t));
      const vib = big.tags.map((t, i) => [t, i] as const).filter(([t]) => t.kind === 'vibration');
      assert.equal(vib.length, 500);
      for (const [t, i] of vib) assert.ok((last.get(i) ?? -Infinity) >= stoppedAt - 3_000, `${t.name}: last window ${last.get(i)} vs stop ${stoppedAt}`);
    });
  } finally {
    await big.close();
  }
});
