// conduit.FirehoseSink end to end: the built artifact, launched from its recipe by the local Greengrass,
// fed by a producer that is a real aws-iot-device-sdk-v2 Greengrass IPC client (registered as a
// component with its own exact pubsub policies), delivering with the real Firehose client to the local
// Firehose while it fails, throttles and stalls, while the sink is killed mid-upload, and while the
// spool overflows, and while a configuration update moves it to another stream without a restart.
// What arrives is checked record id by record id.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { buildSink, type BuiltFixture } from '../harness/fixtures';
import { LocalGreengrass } from '../harness/launcher/local-greengrass';
import type { LaunchedComponent } from '../harness/launcher/component';
import type { JsonObject } from '../harness/contracts';
import { SinkProducer, records, until } from './sink-producer';

const THING = 'gw-sink';
const STREAM = 'conduit-sink-e2e';
const STREAM_B = 'conduit-sink-e2e-b';
const PRODUCER = 'test.SinkProducer';
const METRICS = `conduit/${THING}/sink/metrics`;
const T = { timeout: 90_000 };

let built: BuiltFixture;

before(async () => {
  built = await buildSink();
});

after(() => {
  if (built) rmSync(built.outDir, { recursive: true, force: true });
});

/** Every line the local Firehose accepted into a stream, as parsed JSON (records hold several newline-terminated lines), with when. */
function delivered(gg: LocalGreengrass, stream = STREAM): { id: string; line: string; at: number }[] {
  return gg.aws.firehose.entries(stream).flatMap((r) => {
    const text = r.data.toString('utf8');
    assert.ok(text.endsWith('\n'), 'every Firehose record ends with a newline');
    return text
      .slice(0, -1)
      .split('\n')
      .map((line) => ({ id: JSON.parse(line).id as string, line, at: r.at }));
  });
}

function metrics(gg: LocalGreengrass): Record<string, any>[] {
  return gg.iotCore.filter((r) => r.topicName === METRICS).map((r) => JSON.parse(r.payload.toString()));
}

const logLine = (msg: string) => (l: { text: string }) => l.text.includes(`"msg":"${msg}`);
const errors = (c: LaunchedComponent) => c.jsonLines().filter((l) => l.level === 'error');

async function withSink(config: JsonObject, fn: (gg: LocalGreengrass, c: LaunchedComponent, p: SinkProducer) => Promise<void>): Promise<void> {
  const gg = await LocalGreengrass.start({ thingName: THING, interpolateComponentConfiguration: true });
  let producer: SinkProducer | undefined;
  try {
    gg.aws.firehose.createDeliveryStream(STREAM);
    const c = await gg.deploy({
      recipePath: built.recipePath,
      artifactDir: built.artifactDir,
      configurationUpdate: {
        merge: {
          deliveryStreamName: STREAM,
          metrics: { intervalSec: 1 },
          ...config,
          send: { lingerMs: 100, initialBackoffMs: 50, maxBackoffMs: 500, ...((config.send as JsonObject) ?? {}) },
        },
      },
    });
    await c.waitForOutput(logLine('running'), 20_000);
    producer = await SinkProducer.connect(gg, PRODUCER);
    await fn(gg, c, producer);
  } finally {
    gg.aws.firehose.clearFaults();
    await producer?.close();
    await gg.close();
  }
}

test('Firehose fails, throttles, refuses records and stalls: every record arrives, exactly once', T, () =>
  withSink({ send: { maxRecordBytes: 8192 } }, async (gg, c, producer) => {
    gg.aws.firehose.enqueueFaults(
      { fault: { kind: 'internal-failure' } },
      { fault: { kind: 'service-unavailable' } },
      { fault: { kind: 'throttling' } },
      { fault: { kind: 'record-failures', indices: [0, 2] } },
      { delayMs: 800 },
    );
    const recs = records('fault', 200, 2000);
    await producer.deliver(recs, 10);
    await until('every record in Firehose', 30_000, () => new Set(delivered(gg).map((d) => d.id)).size === recs.length);
    const got = delivered(gg).map((d) => d.id);
    assert.deepEqual([...got].sort(), recs.map((r) => r.id), 'each id once, none missing');
    assert.ok(gg.aws.firehose.records(STREAM).length < recs.length, 'several lines per Firehose record');
    const last = await until('metrics with every record sent', 10_000, () => metrics(gg).find((m) => m.sent.records === recs.length));
    assert.equal(last.failedCalls.InternalFailure, 1);
    assert.equal(last.failedCalls.ServiceUnavailableException, 1);
    assert.equal(last.failedCalls.ThrottlingException, 1);
    assert.deepEqual(last.failedRecords, { ServiceUnavailableException: 2 });
    assert.deepEqual(last.lost, { evicted: 0, rejected: 0, corruptBytes: 0 });
    assert.deepEqual(errors(c), [], 'nothing lost: no ERROR line');
  }),
);

test('kill -9 in the middle of an upload: after the restart everything is delivered; a duplicate is the same record', T, () =>
  withSink({}, async (gg, c, producer) => {
    let held = 0;
    gg.aws.firehose.setFaultPolicy(() => (held++ === 0 ? { delayMs: 3000 } : undefined));
    const recs = records('kill', 60, 1000);
    await producer.deliver(recs, 20);
    await until('a call held in flight', 10_000, () => held > 0);
    const from = c.output.length;
    c.kill('SIGKILL');
    await c.waitForOutput(logLine('spool opened'), 20_000, from);
    const reopened = c.jsonLines().filter((l) => l.msg === 'spool opened; records not yet delivered are sent first').at(-1)!;
    assert.ok((reopened.records as number) > 0, `records recovered from the spool: ${JSON.stringify(reopened)}`);
    await c.waitForOutput(logLine('running'), 20_000, from);
    await until('every record in Firehose', 30_000, () => new Set(delivered(gg).map((d) => d.id)).size === recs.length);
    // The stalled call of the killed run still completes on the Firehose side: its records were never
    // journaled as delivered, so the new run sent them too. At least once, never lost.
    await until('the stalled call landing too', 10_000, () => delivered(gg).length > recs.length);
    const lines = delivered(gg);
    const byId = new Map<string, Set<string>>();
    for (const d of lines) byId.set(d.id, (byId.get(d.id) ?? new Set()).add(d.line));
    assert.deepEqual([...byId.keys()].sort(), recs.map((r) => r.id));
    for (const [id, variants] of byId) assert.equal(variants.size, 1, `${id}: every copy is the same record`);
    assert.equal(c.state, 'RUNNING');
  }),
);

test('SIGTERM with a call stalled in Firehose: the sink exits by itself well inside the nucleus\'s 5 s kill, counts what it left, and the next start delivers every record', T, () =>
  withSink({}, async (gg, c, producer) => {
    // The first call stalls far past the stop budget; the next run's calls are answered at once.
    let calls = 0;
    gg.aws.firehose.setFaultPolicy(() => (calls++ === 0 ? { delayMs: 8_000 } : undefined));
    const recs = records('term', 60, 1000);
    await producer.deliver(recs, 20);
    await until('a call stalled in flight', 10_000, () => calls > 0);
    const from = c.output.length;
    const stop = await c.stop();
    // The local core kills 5 s after SIGTERM, as the nucleus does: the sink must not need that.
    assert.equal(stop.killed, false, 'the sink exited by itself, not by the SIGKILL');
    assert.equal(stop.code, 0);
    assert.ok(stop.afterSigtermMs !== undefined && stop.afterSigtermMs < 4_500, `exited ${stop.afterSigtermMs} ms after SIGTERM: within its 3 s budget, well before the kill`);
    const line = JSON.parse((await c.waitForOutput(logLine('stopped within the budget; what could not finish is counted here'), 1_000, from)).text);
    assert.equal(line.abandonedCall, true, 'the stalled call was abandoned');
    assert.ok(line.abandonedRecords > 0 && line.abandonedRecords <= recs.length, `its records are counted: ${line.abandonedRecords}`);
    assert.equal(line.spooled, recs.length, 'nothing was delivered; every record stays in the spool');
    assert.equal(line.synced, true);
    assert.ok(line.tookMs <= line.budgetMs + 500, `stopped in ${line.tookMs} ms of a ${line.budgetMs} ms budget`);

    const restart = c.output.length;
    await c.start();
    await c.waitForOutput(logLine('running'), 20_000, restart);
    const reopened = c.jsonLines().filter((l) => l.msg === 'spool opened; records not yet delivered are sent first').at(-1)!;
    assert.equal(reopened.records, recs.length, 'the next start finds every record in the spool');
    await until('every record in Firehose', 30_000, () => new Set(delivered(gg).map((d) => d.id)).size === recs.length);
    // The abandoned call still lands on the Firehose side after its stall: those records arrive twice.
    await until('the stalled call landing too', 15_000, () => delivered(gg).length > recs.length);
    const byId = new Map<string, Set<string>>();
    for (const d of delivered(gg)) byId.set(d.id, (byId.get(d.id) ?? new Set()).add(d.line));
    assert.deepEqual([...byId.keys()].sort(), recs.map((r) => r.id), 'every id arrived, and nothing else');
    for (const [id, variants] of byId) assert.equal(variants.size, 1, `${id}: every copy is the same record`);
    assert.equal(c.state, 'RUNNING');
    assert.equal(c.errorCount, 0);
  }),
);

test('a full spool evicts the oldest records (counted, at ERROR), keeps running, and delivers later ones once Firehose recovers', T, () =>
  withSink({ spool: { maxBytes: 1_048_576, segmentBytes: 262_144 } }, async (gg, c, producer) => {
    gg.aws.firehose.setFaultPolicy(() => ({ fault: { kind: 'internal-failure' } }));
    const early = records('early', 100, 20_000);
    await producer.deliver(early, 5);
    await c.waitForOutput((l) => l.text.includes('"level":"error"') && logLine('spool full: evicted the oldest records')(l), 10_000);
    const evictedInMetrics = await until('metrics counting evictions', 10_000, () => metrics(gg).find((m) => m.evicted.records > 0));
    assert.equal(c.state, 'RUNNING');
    gg.aws.firehose.clearFaults();
    const later = records('later', 10, 1000);
    await producer.deliver(later, 5);
    await until('the later records in Firehose', 30_000, () => later.every((r) => delivered(gg).some((d) => d.id === r.id)));
    const final = await until('metrics with nothing left to send', 10_000, () => metrics(gg).find((m) => m.spool.records === 0 && m.seq > evictedInMetrics.seq));
    const evicted = final.evicted.records as number;
    const logged = errors(c).filter((l) => String(l.msg).startsWith('spool full'));
    assert.equal(logged.reduce((n, l) => n + (l.records as number), 0), evicted, 'every eviction is logged with its count');
    assert.ok(logged.every((l) => l.msg === 'spool full: evicted the oldest records to make room (data lost)'));
    assert.equal(final.lost.evicted, evicted);
    // The evicted records are exactly the oldest ones; all the others arrived, once.
    const got = delivered(gg).map((d) => d.id);
    assert.deepEqual([...got].sort(), [...early.slice(evicted), ...later].map((r) => r.id).sort());
    assert.ok(evicted > 0 && evicted < early.length);
  }),
);

test('an update that would shrink the spool below what it holds is REJECTED: nothing is evicted, everything arrives', T, () =>
  withSink({ spool: { maxBytes: 8_388_608, segmentBytes: 262_144 } }, async (gg, c, producer) => {
    gg.aws.firehose.setFaultPolicy(() => ({ fault: { kind: 'internal-failure' } }));
    const held = records('held', 100, 20_000); // about 2 MB waiting in the spool
    await producer.deliver(held, 5);
    const shrink = await gg.updateConfiguration('conduit.FirehoseSink', { merge: { spool: { maxBytes: 1_048_576 } } });
    assert.equal(shrink.applied, false);
    assert.equal(shrink.validation.status, 'REJECTED');
    assert.match(shrink.validation.status === 'REJECTED' ? (shrink.validation.message ?? '') : '', /^\/spool\/maxBytes: is 1048576, below the \d+ bytes the spool holds now \(100 records not yet delivered to Firehose\).*Fix: set it to at least \d+, or lower it once the spool has drained/);
    // Enough room for what it holds: accepted and applied in the running sink.
    const grow = await gg.updateConfiguration('conduit.FirehoseSink', { merge: { spool: { maxBytes: 16_777_216 } } });
    assert.equal(grow.applied, true);
    await c.waitForOutput(logLine('configuration update applied'), 10_000);
    gg.aws.firehose.clearFaults();
    await until('every held record in Firehose', 30_000, () => held.every((r) => delivered(gg).some((d) => d.id === r.id)));
    assert.deepEqual(errors(c).filter((l) => /evicted/.test(String(l.msg))), [], 'nothing evicted');
    assert.equal(c.state, 'RUNNING');
  }),
);

test('a stream that does not exist: ERRORED once for the console, then RUNNING and retrying; creating the stream delivers everything without a restart', T, () =>
  withSink({ deliveryStreamName: 'created-later' }, async (gg, c, producer) => {
    const early = records('early', 10);
    await producer.deliver(early, 5);
    const reporting = await c.waitForOutput(logLine('the component needs an operator: reporting ERRORED'), 20_000);
    assert.match(reporting.text, /"problem":"firehose:ResourceNotFoundException"/);
    assert.match(reporting.text, /create the Firehose stream created-later/);
    await until('the restarted sink', 20_000, () => c.errorCount === 1 && c.state === 'RUNNING' && c.output.some(logLine('the component needs an operator; it stays RUNNING')));
    const pid = c.pid;
    await until('metrics naming the problem', 10_000, () => metrics(gg).some((m) => m.problem === 'firehose:ResourceNotFoundException'));
    gg.aws.firehose.createDeliveryStream('created-later');
    await until('every record in the new stream', 30_000, () => early.every((r) => delivered(gg, 'created-later').some((d) => d.id === r.id)));
    await c.waitForOutput(logLine('recovered: the problem that needed an operator is fixed'), 5_000);
    await until('metrics without the problem', 10_000, () => metrics(gg).at(-1)?.problem === null);
    assert.deepEqual([c.errorCount, c.state, c.pid], [1, 'RUNNING', pid], 'recovered in the running process, never BROKEN');
  }),
);

test('a record re-sent after its ack, or while still spooled, is acknowledged again and stored once', T, () =>
  withSink({}, async (gg, c, producer) => {
    const [once] = records('once', 1);
    await producer.deliver([once!], 1);
    await until('the first delivery', 10_000, () => delivered(gg).some((d) => d.id === once!.id));
    // The ack got lost, say: the producer sends it again.
    const acksBefore = producer.ackMessages.length;
    await producer.put([once!]);
    await until('the second ack', 5_000, () => producer.ackMessages.slice(acksBefore).some((a) => a.stored.includes(once!.id)));
    // Held in Firehose for a moment, a record is re-sent while it is still in the spool.
    gg.aws.firehose.setFaultPolicy(() => ({ delayMs: 1000 }));
    const [live] = records('live', 1);
    await producer.deliver([live!], 1);
    await producer.put([live!]);
    await until('the third ack', 5_000, () => producer.ackMessages.filter((a) => a.stored.includes(live!.id)).length === 2);
    gg.aws.firehose.clearFaults();
    // Records are sent in spool order: once the marker is there, any second copy would be too.
    const [marker] = records('marker', 1);
    await producer.deliver([marker!], 1);
    await until('the marker', 15_000, () => delivered(gg).some((d) => d.id === marker!.id));
    const got = delivered(gg).map((d) => d.id);
    assert.deepEqual(got.sort(), [live!.id, marker!.id, once!.id]);
    const m = await until('metrics counting the duplicates', 5_000, () => metrics(gg).find((x) => x.duplicates === 2));
    assert.equal(m.stored, 3);
    assert.deepEqual(errors(c), []);
    // SIGTERM: nothing in flight, so it stops at once, cleanly, well before the nucleus's 5 s kill.
    const stop = await c.stop();
    assert.deepEqual([stop.code, stop.killed], [0, false]);
    await c.waitForOutput(logLine('stopped cleanly'), 1_000);
  }),
);

test('a configuration update is validated before it applies: an invalid one is REJECTED with its paths and the running configuration stays', T, () =>
  withSink({}, async (gg, c) => {
    const before = gg.configuration('conduit.FirehoseSink');
    const bad = await gg.updateConfiguration('conduit.FirehoseSink', { merge: { spool: { maxBytes: 1000 } } });
    assert.equal(bad.applied, false);
    assert.equal(bad.validation.status, 'REJECTED');
    assert.match(bad.validation.status === 'REJECTED' ? (bad.validation.message ?? '') : '', /\/spool\/maxBytes: .*Fix: /);
    assert.deepEqual(gg.configuration('conduit.FirehoseSink'), before);
    assert.ok(!c.output.some(logLine('applying a configuration update')), 'nothing of a rejected update is applied');
    const good = await gg.updateConfiguration('conduit.FirehoseSink', { merge: { logLevel: 'debug' } });
    assert.equal(good.validation.status, 'ACCEPTED');
    assert.equal(good.applied, true);
    const applied = await c.waitForOutput(logLine('configuration update applied'), 10_000);
    assert.deepEqual(JSON.parse(applied.text).keys, ['logLevel']);
    assert.equal(c.state, 'RUNNING');
  }),
);

test('after IPC reconnections the sink still validates updates: the nucleus keeps one listener per component and drops it with the old connection', T, () =>
  withSink({}, async (gg, c) => {
    for (let drop = 1; drop <= 2; drop++) {
      assert.equal(gg.ipc.dropConnections('conduit.FirehoseSink'), 1);
      await until(`reconnection ${drop}`, 20_000, () => c.output.some((l) => l.text.includes('connected to the Greengrass nucleus over IPC') && l.text.includes(`"reconnects":${drop}`)));
      await until('the validation listener of the new connection', 10_000, () => gg.ipc.hasValidationListener('conduit.FirehoseSink'));
      const bad = await gg.updateConfiguration('conduit.FirehoseSink', { merge: { spool: { maxBytes: 1000 } } });
      assert.equal(bad.validation.status, 'REJECTED', `after reconnection ${drop}: the update was validated, not applied unseen`);
      assert.equal(bad.applied, false);
    }
    const good = await gg.updateConfiguration('conduit.FirehoseSink', { merge: { logLevel: 'debug' } });
    assert.deepEqual([good.validation.status, good.applied], ['ACCEPTED', true]);
  }),
);

test('a configuration update moves delivery to another stream and metrics to a new interval in the running process: nothing lost, nothing after it in the old stream', T, () =>
  withSink({}, async (gg, c, producer) => {
    gg.aws.firehose.createDeliveryStream(STREAM_B);
    let holdA = false;
    let callsToA = 0;
    gg.aws.firehose.setFaultPolicy((call) => {
      if (call.streamName !== STREAM) return undefined;
      callsToA++;
      return holdA ? { delayMs: 3_000 } : undefined;
    });
    const pid = c.pid;
    const { runId } = await until('a first metrics message', 5_000, () => metrics(gg)[0]);
    const before = records('before', 30);
    await producer.deliver(before, 5);
    await until('the first records in stream A', 15_000, () => before.every((r) => delivered(gg).some((d) => d.id === r.id)));

    // A call to stream A is held in flight, and more records wait in the spool behind it when the update comes.
    holdA = true;
    const calls = callsToA;
    const flight = records('flight', 15);
    await producer.deliver(flight, 5);
    await until('a call to stream A in flight', 5_000, () => callsToA > calls);
    const waiting = records('waiting', 15);
    await producer.deliver(waiting, 5);
    // And records keep coming while the update is validated and applied.
    const during = records('during', 30);
    const putting = producer.deliver(during, 3);
    const from = c.output.length;
    const update = await gg.updateConfiguration('conduit.FirehoseSink', { merge: { deliveryStreamName: STREAM_B, metrics: { intervalSec: 2 } } });
    assert.deepEqual([update.validation.status, update.applied], ['ACCEPTED', true]);
    const appliedLine = await c.waitForOutput(logLine('configuration update applied'), 15_000, from);
    const applied = JSON.parse(appliedLine.text) as { time: string; keys: string[] };
    assert.deepEqual(applied.keys, ['deliveryStreamName', 'metrics.intervalSec']);
    const appliedAt = Date.parse(applied.time);
    await putting;
    const after = records('after', 30);
    await producer.deliver(after, 5);

    const all = [...before, ...flight, ...waiting, ...during, ...after].map((r) => r.id);
    const arrived = () => new Set([...delivered(gg), ...delivered(gg, STREAM_B)].map((d) => d.id));
    await until('every record in stream A or B', 20_000, () => all.every((id) => arrived().has(id)));
    const inA = delivered(gg);
    const inB = delivered(gg, STREAM_B);
    assert.deepEqual([...arrived()].sort(), [...all].sort(), 'every id put arrived, and nothing else');
    assert.deepEqual(
      inA.filter((d) => d.at > appliedAt).map((d) => d.id),
      [],
      'nothing reached stream A once the update was applied',
    );
    const onlyInB = (r: { id: string }) => inB.some((d) => d.id === r.id) && !inA.some((d) => d.id === r.id);
    assert.ok(after.every(onlyInB), 'records put after the update are in stream B only');
    // The update waited for the call in flight (3 s) rather than abandoning it; what waited behind it
    // in the spool was the new sender's.
    assert.ok(flight.every((r) => inA.some((d) => d.id === r.id)), 'the call in flight finished into stream A');
    assert.ok(waiting.every(onlyInB), 'records waiting in the spool at the update went to stream B');
    // A call abandoned by the update would be sent again: a duplicate is the same record, byte for byte.
    const variants = new Map<string, Set<string>>();
    for (const d of [...inA, ...inB]) variants.set(d.id, (variants.get(d.id) ?? new Set()).add(d.line));
    for (const [id, lines] of variants) assert.equal(lines.size, 1, `${id}: every copy is the same record`);

    // The same process throughout: no restart, no second start, the same run in the metrics.
    assert.equal(c.pid, pid);
    assert.equal(c.state, 'RUNNING');
    assert.equal(c.output.filter(logLine('starting')).length, 1);
    const next = await until('three metrics messages at the new interval', 10_000, () => {
      const m = metrics(gg).filter((x) => x.intervalSec === 2);
      return m.length >= 3 && m;
    });
    assert.ok(next.every((m) => m.runId === runId && m.deliveryStreamName === STREAM_B));
    const gaps = next.slice(1).map((m, i) => m.at - next[i]!.at);
    assert.ok(gaps.every((g) => g >= 1_800 && g <= 2_400), `metrics every 2 s now: ${gaps.join(', ')} ms`);
    const last = next.at(-1)!;
    assert.ok(last.sent.records >= all.length, 'the totals carry on across the new sender');
    assert.deepEqual(last.lost, { evicted: 0, rejected: 0, corruptBytes: 0 });
    assert.deepEqual(errors(c), [], 'nothing lost: no ERROR line');
  }),
);
