// Burst mode end to end: the built conduit.OpcUaCollector and conduit.FirehoseSink, launched from their
// recipes by the local Greengrass, the simulated plant stepping a vibration tag, the real Greengrass
// IPC clients handing the capture over local pub/sub, and the real Firehose client delivering it to
// the local Firehose. What arrives is compared with the plant's known signal, sample by sample.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildCollector, buildSink, deployCollectorSecret, type BuiltFixture } from '../harness/fixtures';
import { LocalGreengrass } from '../harness/launcher/local-greengrass';
import type { LaunchedComponent } from '../harness/launcher/component';
import { SimulatedPlant } from '../harness/plant/plant';
import type { JsonObject } from '../harness/contracts';

const THING = 'gw-burst';
const SECRET = 'conduit/opcua-collector';
const PASSWORD = 'burst-Pa55word';
const STREAM = 'conduit-bursts';
const VIB = 'Line1.Vib01';
/** The plant's vibration amplitude is 2 (RMS about 1.4); the step takes it to 12 (RMS about 8.5). */
const ALARM = { on: 'rms', raiseAt: 5, clearBelow: 3, minDurationMs: 2000 };

let collector: BuiltFixture;
let sink: BuiltFixture;
let plant: SimulatedPlant;

before(async () => {
  collector = await buildCollector();
  sink = await buildSink();
  plant = await SimulatedPlant.start({ pkiDir: join(collector.outDir, 'plant-pki'), users: [{ username: 'conduit', password: PASSWORD }] });
});

after(async () => {
  await plant?.close();
  for (const b of [collector, sink]) if (b) rmSync(b.outDir, { recursive: true, force: true });
});

interface CapturePart {
  type: 'capture';
  captureId: string;
  part: number;
  parts: number;
  tag: string;
  alarmIds: string[];
  triggerMs: number;
  startMs: number;
  endMs: number;
  intervalMs: number;
  complete: boolean;
  incomplete: string[];
  count: number;
  total: number;
  first: number;
  preTriggerCount: number;
  t0: number;
  dt: number[];
  v: (number | null)[];
  mappingVersion: string;
}

/** Every JSON line of every record the local Firehose accepted into the stream. */
function firehoseLines(gg: LocalGreengrass): Record<string, unknown>[] {
  return gg.aws.firehose
    .records(STREAM)
    .flatMap((b) => b.toString('utf8').split('\n'))
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The samples of one capture, reassembled from its parts (duplicates of a part are dropped). */
function captureSamples(parts: CapturePart[]): { t: number; v: number | null }[] {
  const byPart = new Map(parts.map((p) => [p.part, p]));
  const out: { t: number; v: number | null }[] = [];
  for (const p of [...byPart.values()].sort((a, b) => a.part - b.part)) {
    let t = p.t0;
    p.dt.forEach((d, i) => {
      t += d;
      out.push({ t, v: p.v[i]! });
    });
  }
  return out;
}

function alarmEvents(gg: LocalGreengrass): Record<string, any>[] {
  return gg.iotCore.filter((r) => r.topicName === `conduit/${THING}/alarms`).map((r) => JSON.parse(r.payload.toString()));
}

async function until<T>(what: string, timeoutMs: number, probe: () => T | undefined | false): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function withBurst(
  burst: Record<string, unknown>,
  fn: (gg: LocalGreengrass, c: LaunchedComponent, s: LaunchedComponent) => Promise<void>,
): Promise<void> {
  const gg = await LocalGreengrass.start({ thingName: THING, interpolateComponentConfiguration: true });
  try {
    gg.aws.secretsManager.createSecret(SECRET, { username: 'conduit', password: PASSWORD });
    const secretAccess = deployCollectorSecret(gg, SECRET);
    gg.aws.firehose.createDeliveryStream(STREAM);
    const s = await gg.deploy({
      recipePath: sink.recipePath,
      artifactDir: sink.artifactDir,
      configurationUpdate: { merge: { deliveryStreamName: STREAM, send: { lingerMs: 200, initialBackoffMs: 100, maxBackoffMs: 1000 }, metrics: { intervalSec: 2 } } },
    });
    await s.waitForState('RUNNING', 20_000);
    const tags = plant.tags.map((t) =>
      t.name === VIB ? { name: t.name, nodeId: t.nodeId, mode: 'rms', unit: t.unit, alarm: ALARM } : { name: t.name, nodeId: t.nodeId, mode: 'change' },
    );
    const merge = {
      endpointUrl: plant.endpointUrl,
      serverTrust: { thumbprints: [plant.certificateThumbprint] },
      credentialsSecretId: SECRET,
      tags,
      burst: { ackTimeoutMs: 2000, ...burst },
      metrics: { intervalSec: 2 },
      reconnect: { initialDelayMs: 200, maxDelayMs: 2000 },
      accessControl: secretAccess,
    } as JsonObject;
    const c = await gg.deploy({ recipePath: collector.recipePath, artifactDir: collector.artifactDir, configurationUpdate: { merge } });
    await c.waitForOutput((l) => l.text.includes('"msg":"connected to the OPC UA server and subscribed'), 30_000);
    await fn(gg, c, s);
  } finally {
    await plant.stepAmplitude(VIB, 2).catch(() => undefined);
    await gg.close();
  }
}

test('a vibration step raises one alarm and one capture holding the 60 s before it and 10 s after, equal to the plant signal; the clear follows', { timeout: 180_000 }, () =>
  withBurst({}, async (gg, c) => {
    // The ring must hold the whole pre-trigger minute before the step.
    await new Promise((r) => setTimeout(r, 63_000));
    // Firehose misbehaves at first: the capture must still arrive, once.
    gg.aws.firehose.enqueueFaults({ fault: { kind: 'internal-failure' } }, { fault: { kind: 'throttling' } }, { fault: { kind: 'record-failures', indices: [0] } });
    await plant.stepAmplitude(VIB, 12);
    const raise = await until('the alarm raise event', 20_000, () => alarmEvents(gg).find((e) => e.event === 'raise'));
    assert.equal(raise.tag, VIB);
    assert.equal(raise.raiseAt, 5);
    assert.ok(raise.value >= 5, `raised by an RMS of ${raise.value}`);
    assert.equal(typeof raise.captureId, 'string');
    assert.equal(raise.mappingVersion, '2024-06-01.1');

    const parts = await until('the capture in Firehose', 40_000, () => {
      const ps = firehoseLines(gg).filter((l) => l.type === 'capture') as unknown as CapturePart[];
      return ps.length > 0 && new Set(ps.map((p) => p.part)).size === ps[0]!.parts ? ps : undefined;
    });
    await plant.stepAmplitude(VIB, 2);
    const clear = await until('the alarm clear event', 20_000, () => alarmEvents(gg).find((e) => e.event === 'clear'));
    assert.equal(clear.alarmId, raise.alarmId);
    assert.equal(clear.captureId, raise.captureId);
    assert.ok(clear.value < 3);

    // One alarm, one capture: every part carries the alarm's capture id.
    assert.equal(alarmEvents(gg).filter((e) => e.event === 'raise').length, 1);
    assert.deepEqual([...new Set(parts.map((p) => p.captureId))], [raise.captureId]);
    const p0 = parts[0]!;
    assert.deepEqual(p0.alarmIds, [raise.alarmId]);
    assert.equal(p0.tag, VIB);
    assert.equal(p0.triggerMs, raise.at);
    assert.equal(p0.startMs, raise.at - 60_000);
    assert.equal(p0.endMs, raise.at + 10_000);

    // The server samples its 100 ms values every 100 ms: the two beat, and about 1-2 % of the
    // values are never sampled (counted as samplingGaps by the collector). The capture must span
    // its whole window at 100 ms, say exactly which samples are missing, and call itself complete
    // only when none is.
    const samples = captureSamples(parts);
    assert.equal(samples.length, p0.total);
    const pre = samples.filter((s) => s.t < raise.at);
    const post = samples.filter((s) => s.t >= raise.at);
    assert.equal(pre.length, p0.preTriggerCount);
    assert.ok(samples[0]!.t >= p0.startMs && samples[0]!.t <= p0.startMs + 100, 'the capture starts at the start of its window');
    assert.ok(samples.at(-1)!.t < p0.endMs && samples.at(-1)!.t >= p0.endMs - 200, 'and ends at its end');
    let missing = 0;
    for (let i = 1; i < samples.length; i++) {
      const dt = samples[i]!.t - samples[i - 1]!.t;
      assert.ok(dt > 0 && dt % 100 === 0, `samples on the 100 ms grid, in order (${dt} ms at ${samples[i]!.t})`);
      missing += dt / 100 - 1;
    }
    assert.ok(pre.length >= 582 && pre.length <= 600, `pre-trigger: ${pre.length} of the 600 samples of the minute before the alarm`);
    assert.ok(post.length >= 97 && post.length <= 100, `post-trigger: ${post.length} of 100 samples`);
    assert.equal((p0 as unknown as { gaps: { missingSamples: number } }).gaps.missingSamples, missing, 'the capture counts exactly the missing samples');
    assert.deepEqual(p0.incomplete, missing === 0 ? [] : ['gaps'], 'nothing else is incomplete');
    assert.equal(p0.complete, missing === 0);
    for (const s of samples) {
      const expected = plant.expectedValue(VIB, s.t / 100) as number;
      assert.ok(s.v !== null && Math.abs(s.v - expected) <= 1e-9 * Math.max(1, Math.abs(expected)), `t=${s.t}: ${s.v} vs ${expected}`);
    }
    // The step is inside the capture: the raw samples show it.
    assert.ok(Math.max(...post.map((s) => Math.abs(s.v!))) > 8, 'post-trigger samples carry the stepped amplitude');
    const stop = await c.stop();
    assert.equal(stop.code, 0);
  }),
);

test('a collector stopped during a capture closes it early, marks it truncated and hands it over before exiting; after the restart the still-high vibration raises a new alarm', { timeout: 120_000 }, () =>
  withBurst({ preTriggerSec: 5, postTriggerSec: 60, cooldownSec: 0 }, async (gg, c) => {
    await new Promise((r) => setTimeout(r, 7_000));
    await plant.stepAmplitude(VIB, 12);
    const raise = await until('the alarm raise event', 20_000, () => alarmEvents(gg).find((e) => e.event === 'raise'));
    const stop = await c.stop();
    assert.equal(stop.code, 0, 'SIGTERM: exited 0');
    const parts = (await until('the truncated capture in Firehose', 20_000, () => {
      const ps = firehoseLines(gg).filter((l) => l.type === 'capture' && l.captureId === raise.captureId);
      return ps.length > 0 ? ps : undefined;
    })) as unknown as CapturePart[];
    assert.equal(parts[0]!.complete, false);
    assert.ok(parts[0]!.incomplete.includes('truncated'), `incomplete: ${parts[0]!.incomplete}`);
    assert.deepEqual(parts[0]!.incomplete.filter((r) => r !== 'truncated' && r !== 'gaps'), [], 'truncated (and perhaps gaps), nothing else');
    assert.ok(captureSamples(parts).length >= 50, 'the pre-trigger part and what followed until the stop');

    // The stop closed the alarm itself (the cloud is not left with a raise and no clear).
    const closed = alarmEvents(gg).filter((e) => e.event === 'clear' && e.alarmId === raise.alarmId);
    assert.equal(closed.length, 1, 'one clear for the alarm');
    assert.equal(closed[0]!.reason, 'stop');
    assert.equal(closed[0]!.captureId, raise.captureId);
    assert.equal(closed[0]!.runId, raise.runId);

    await c.restart();
    const second = await until('a new alarm after the restart', 40_000, () => alarmEvents(gg).find((e) => e.event === 'raise' && e.runId !== raise.runId));
    assert.notEqual(second.alarmId, raise.alarmId);
    assert.notEqual(second.captureId, raise.captureId);
    // The stop left nothing open, so the next run has nothing to close.
    assert.deepEqual(alarmEvents(gg).filter((e) => e.reason === 'restart' || e.event === 'captureLost'), []);
  }),
);

test('a collector killed (kill -9) during a capture: the next run closes the alarm with reason restart and says its capture was lost; an alarm whose capture the sink had stored is closed as not lost; new alarms work', { timeout: 240_000 }, () =>
  withBurst({ preTriggerSec: 5, postTriggerSec: 15, cooldownSec: 0 }, async (gg, c) => {
    await new Promise((r) => setTimeout(r, 7_000));
    await plant.stepAmplitude(VIB, 12);
    const raise = await until('the alarm raise event', 20_000, () => alarmEvents(gg).find((e) => e.event === 'raise'));
    const firstPid = c.pid;
    c.kill('SIGKILL'); // mid-capture: the capture runs 15 s past the raise
    // The local core restarts a crashed component, as the nucleus does.
    const close = await until('the restart close of the first alarm', 40_000, () =>
      alarmEvents(gg).find((e) => e.event === 'clear' && e.alarmId === raise.alarmId),
    );
    assert.notEqual(c.pid, firstPid, 'a new process');
    assert.equal(close.reason, 'restart');
    assert.equal(close.captureId, raise.captureId);
    assert.equal(close.captureLost, true, 'the capture was lost with the killed process');
    assert.equal(close.raisedRunId, raise.runId);
    assert.notEqual(close.runId, raise.runId, 'published by the new run');
    assert.equal(close.raisedAt, raise.at);
    assert.equal(close.v, raise.v);

    // The vibration is still high: the new run raises its own alarm; its capture reaches the sink.
    const second = await until('the new run raises again', 40_000, () => alarmEvents(gg).find((e) => e.event === 'raise' && e.runId === close.runId));
    assert.equal(typeof second.captureId, 'string');
    await until('the second capture in Firehose', 60_000, () => firehoseLines(gg).some((l) => l.type === 'capture' && l.captureId === second.captureId));
    await until('the sink acknowledged it', 15_000, () => {
      const m = gg.iotCore.filter((r) => r.topicName === `conduit/${THING}/metrics` && JSON.parse(r.payload.toString()).runId === close.runId).map((r) => JSON.parse(r.payload.toString())).at(-1);
      return m?.burst?.handoff?.acked > 0 && m.burst.handoff.pending === 0;
    });
    assert.ok(!firehoseLines(gg).some((l) => l.captureId === raise.captureId), 'the killed run\'s capture never arrived: it was lost, as said');

    // Killed again while this alarm is raised: its capture was stored, so it is closed as not lost.
    c.kill('SIGKILL');
    const close2 = await until('the restart close of the second alarm', 40_000, () =>
      alarmEvents(gg).find((e) => e.event === 'clear' && e.alarmId === second.alarmId),
    );
    assert.equal(close2.reason, 'restart');
    assert.equal(close2.captureLost, false, 'the sink had acknowledged the whole capture');
    assert.equal(alarmEvents(gg).filter((e) => e.event === 'clear' && e.alarmId === raise.alarmId).length, 1, 'the first alarm was closed once');

    // After the restarts, alarms work as before: raised, then cleared by the value.
    const third = await until('the third run raises', 40_000, () => alarmEvents(gg).find((e) => e.event === 'raise' && e.runId === close2.runId));
    await plant.stepAmplitude(VIB, 2);
    const clear = await until('the clear by value', 30_000, () => alarmEvents(gg).find((e) => e.event === 'clear' && e.alarmId === third.alarmId));
    assert.equal(clear.reason, 'value');
    assert.ok(clear.value < 3);
    // Per run, alarm seqs are contiguous from 0: the closes are ordinary events of the run that publishes them.
    for (const runId of new Set(alarmEvents(gg).map((e) => e.runId))) {
      const seqs = alarmEvents(gg).filter((e) => e.runId === runId).map((e) => e.seq);
      assert.deepEqual(seqs, seqs.map((_, i) => i), `run ${runId}: alarm seqs`);
    }
    const stop = await c.stop();
    assert.deepEqual([stop.code, stop.killed], [0, false]);
    assert.deepEqual(c.jsonLines().filter((l) => l.level === 'error').map((l) => l.msg), [], 'the last run lost nothing');
  }),
);

test('the sink is away while the collector stops, then while it is killed: finished captures are kept on disk, the next run hands them over, and their alarms are closed as not lost', { timeout: 240_000 }, () =>
  withBurst({ preTriggerSec: 3, postTriggerSec: 2, cooldownSec: 0 }, async (gg, c, s) => {
    await s.stop(); // e.g. a deployment that restarts both components
    await new Promise((r) => setTimeout(r, 4_000));
    await plant.stepAmplitude(VIB, 12);
    const raise1 = await until('the first raise', 20_000, () => alarmEvents(gg).find((e) => e.event === 'raise'));
    await c.waitForOutput((l) => l.text.includes('"msg":"capture finished; handing it to conduit.FirehoseSink') && l.text.includes(raise1.captureId), 20_000);
    const stop = await c.stop();
    assert.deepEqual([stop.code, stop.killed], [0, false]);
    const line = c.jsonLines().find((l) => String(l.msg).startsWith('stopped')) as Record<string, any>;
    assert.equal(line.level, 'warn', `not lost, so not ERROR: ${JSON.stringify(line)}`);
    assert.ok(line.unackedRecords > 0 && line.recordsLost === 0, JSON.stringify(line));
    assert.equal(alarmEvents(gg).find((e) => e.event === 'clear' && e.alarmId === raise1.alarmId)?.reason, 'stop');
    assert.ok(readdirSync(join(c.workPath, 'captures')).length > 0, 'the capture is on disk');

    // The next run (the sink still away) takes the capture over, raises its own alarm, and is killed
    // once that capture too is finished and waiting for the sink.
    const from = c.output.length;
    await c.start();
    await c.waitForOutput((l) => l.text.includes('"msg":"handing over the capture records an earlier run kept on disk') && l.text.includes(raise1.captureId), 20_000, from);
    const raise2 = await until('the second run raises', 40_000, () => alarmEvents(gg).find((e) => e.event === 'raise' && e.runId !== raise1.runId));
    await c.waitForOutput((l) => l.text.includes('"msg":"capture finished; handing it to conduit.FirehoseSink') && l.text.includes(raise2.captureId), 30_000, from);
    c.kill('SIGKILL');
    const close2 = await until('the restart close of the second alarm', 40_000, () => alarmEvents(gg).find((e) => e.event === 'clear' && e.alarmId === raise2.alarmId));
    assert.equal(close2.reason, 'restart');
    assert.equal(close2.captureLost, false, 'its capture was on disk: the third run hands it over');

    // The sink is back: both captures arrive, once each, and leave the collector's disk.
    await s.start();
    await s.waitForState('RUNNING', 20_000);
    for (const id of [raise1.captureId, raise2.captureId]) {
      await until(`capture ${id} in Firehose`, 60_000, () => firehoseLines(gg).some((l) => l.type === 'capture' && l.captureId === id));
    }
    await until('the capture files removed once the sink had them', 20_000, () => !existsSync(join(c.workPath, 'captures')) || readdirSync(join(c.workPath, 'captures')).length === 0);
    assert.deepEqual(alarmEvents(gg).filter((e) => e.event === 'captureLost' || e.captureLost === true), [], 'nothing was lost');
    const byPart = new Map<string, number>();
    for (const l of firehoseLines(gg)) if (l.type === 'capture') byPart.set(`${l.captureId}/${l.part}`, (byPart.get(`${l.captureId}/${l.part}`) ?? 0) + 1);
    assert.deepEqual([...byPart.values()].filter((n) => n > 1), [], 'each part delivered once');
    await plant.stepAmplitude(VIB, 2);
    const final = await c.stop();
    assert.deepEqual([final.code, final.killed], [0, false]);
  }),
);

test('moving the hand-off topics, one configuration update per component, while both run: the next capture goes through the new topics', { timeout: 120_000 }, () =>
  withBurst({ preTriggerSec: 3, postTriggerSec: 2, cooldownSec: 0 }, async (gg, c, s) => {
    const put = 'plant/captures/put';
    const ack = 'plant/captures/ack';
    const sinkUpdate = await gg.updateConfiguration('conduit.FirehoseSink', {
      merge: {
        putTopic: put,
        ackTopic: ack,
        accessControl: {
          'aws.greengrass.ipc.pubsub': {
            'conduit.FirehoseSink:pubsub:1': { operations: ['aws.greengrass#SubscribeToTopic'], resources: [put] },
            'conduit.FirehoseSink:pubsub:2': { operations: ['aws.greengrass#PublishToTopic'], resources: [ack] },
          },
        },
      },
    });
    assert.equal(sinkUpdate.applied, true);
    const collectorUpdate = await gg.updateConfiguration('conduit.OpcUaCollector', {
      merge: {
        burst: { sinkTopic: put, sinkAckTopic: ack },
        accessControl: {
          'aws.greengrass.ipc.pubsub': {
            'conduit.OpcUaCollector:pubsub:1': { operations: ['aws.greengrass#PublishToTopic'], resources: [put] },
            'conduit.OpcUaCollector:pubsub:2': { operations: ['aws.greengrass#SubscribeToTopic'], resources: [ack] },
          },
        },
      },
    });
    assert.equal(collectorUpdate.applied, true);
    await s.waitForOutput((l) => l.text.includes('"msg":"configuration update applied'), 10_000);
    await c.waitForOutput((l) => l.text.includes('"msg":"configuration update applied'), 10_000);
    const sinkPid = s.pid;
    const collectorPid = c.pid;
    // Let the ring hold the pre-trigger seconds, then raise the alarm.
    await new Promise((r) => setTimeout(r, 4_000));
    await plant.stepAmplitude(VIB, 12);
    const raise = await until('the alarm raise event', 20_000, () => alarmEvents(gg).find((e) => e.event === 'raise'));
    await until('the capture in Firehose', 30_000, () => firehoseLines(gg).some((l) => l.type === 'capture' && l.captureId === raise.captureId));
    // Acknowledged on the new ack topic: nothing waits in the collector.
    await until('the hand-off acknowledged', 15_000, () => {
      const m = gg.iotCore.filter((r) => r.topicName === `conduit/${THING}/metrics`).map((r) => JSON.parse(r.payload.toString())).at(-1);
      return m?.burst?.handoff?.acked > 0 && m.burst.handoff.pending === 0 && m.burst.handoff.ackSubscriptionRefused === false;
    });
    for (const comp of [c, s]) {
      const errors = comp.jsonLines().filter((l) => l.level === 'error');
      assert.deepEqual(errors.map((l) => l.msg), [], `${comp.name}: no ERROR`);
    }
    assert.deepEqual([s.pid, c.pid, s.errorCount, c.errorCount], [sinkPid, collectorPid, 0, 0], 'no restart');
  }),
);
