// SinkRuntime: the send loop wakes for new records, metrics go out every interval (a refused one is
// reported, a retryable failure skipped), and stop() lets the call in flight finish within the
// deadline or abandons it, leaving its records in the spool for the next run. A live update pauses the
// loop at a step boundary (the same deadline logic), swaps the sender and resumes, and may restart the
// metrics timer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff } from '../../../../shared/backoff';
import { PublishRejectedError } from '../../../../shared/edge/greengrass-ipc';
import { parseSinkConfig } from '../../../../components/firehose-sink/src/config';
import { FirehoseSpool } from '../../../../components/firehose-sink/src/spool';
import { FirehoseSender } from '../../../../components/firehose-sink/src/sender';
import { SinkIntake } from '../../../../components/firehose-sink/src/intake';
import { LOOP_END_WAIT_MS, SinkRuntime } from '../../../../components/firehose-sink/src/runtime';
import { SendError } from '../../../../components/firehose-sink/src/errors';
import type { RecordBatchPutter } from '../../../../components/firehose-sink/src/ports';
import { encodePut } from '../../../../shared/handoff/protocol';
import { CapturedLog, rec, tempDir } from './helpers';

type Publish = (topic: string, payload: Buffer) => Promise<void>;

function setup(t: { after(fn: () => unknown): void }, putter: RecordBatchPutter, publish: Publish = async () => undefined) {
  const { dir, remove } = tempDir();
  t.after(remove);
  const log = new CapturedLog();
  const config = parseSinkConfig({ deliveryStreamName: 'ds', send: { lingerMs: 0, initialBackoffMs: 10, maxBackoffMs: 100 }, metrics: { intervalSec: 1 } }, { defaultRegion: 'eu-central-1' });
  const spool = FirehoseSpool.open({ dir, maxBytes: config.spool.maxBytes, segmentBytes: config.spool.segmentBytes, logger: log });
  const sender = new FirehoseSender({ spool, client: putter, backoff: new Backoff({ initialDelayMs: 10, maxDelayMs: 100 }, Math.random), logger: log, maxRecordBytes: 1_024_000, lingerMs: 0, maxBackoffMs: 100, now: Date.now });
  const intake = new SinkIntake({ spool, pubsub: { publishToTopic: async () => undefined }, ackTopic: 'ack', logger: log, now: Date.now });
  const published: { topic: string; body: Record<string, any> }[] = [];
  const runtime = new SinkRuntime({
    config,
    thingName: 'gw-1',
    runId: 'run',
    spool,
    intake,
    sender,
    publisher: {
      publish: async (topic, payload) => {
        await publish(topic, payload);
        published.push({ topic, body: JSON.parse(payload.toString()) });
      },
    },
    logger: log,
  });
  // Whatever a test did, no timer or spool file outlives it.
  t.after(() => runtime.stop(Date.now() + 200));
  return { dir, spool, intake, runtime, log, published, config };
}

/** A sender over `spool` sending with `putter`, as a live update builds one. */
function senderFor(spool: FirehoseSpool, putter: RecordBatchPutter, log: CapturedLog): FirehoseSender {
  return new FirehoseSender({ spool, client: putter, backoff: new Backoff({ initialDelayMs: 10, maxDelayMs: 100 }, Math.random), logger: log, maxRecordBytes: 1_024_000, lingerMs: 0, maxBackoffMs: 100, now: Date.now });
}

const idsOf = (records: Buffer[]) => records.flatMap((r) => r.toString().split('\n').slice(0, -1)).map((l) => JSON.parse(l).id as string);

async function until(what: string, ms: number, pred: () => boolean): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('records put while idle are sent at once; metrics carry the counters on the metrics topic', async (t) => {
  const sent: string[] = [];
  const { intake, runtime, published } = setup(t, {
    putRecordBatch: async (records) => {
      sent.push(...records.flatMap((r) => r.toString().split('\n').slice(0, -1)));
      return { failed: [] };
    },
  });
  runtime.start();
  intake.onMessage(encodePut('p', [rec('a'), rec('b')]));
  await until('delivery', 2000, () => sent.length === 2);
  intake.onMessage(encodePut('p', [rec('a'), rec('c')]));
  await until('delivery', 2000, () => sent.length === 3);
  await until('a metrics message', 3000, () => published.length > 0);
  const m = published.at(-1)!;
  assert.equal(m.topic, 'conduit/gw-1/sink/metrics');
  assert.equal(m.body.type, 'sink-metrics');
  assert.deepEqual(m.body.sent, { records: 3, firehoseRecords: 2, calls: 2, bytes: sent.reduce((n, l) => n + l.length + 1, 0) });
  assert.equal(m.body.duplicates, 1);
  assert.deepEqual(m.body.received, { messages: 2, records: 4 });
  assert.deepEqual(m.body.spool, { bytes: m.body.spool.bytes, maxBytes: 256 * 1024 * 1024, records: 0, segments: 1, oldestAgeMs: null, holding: 0 });
  const r = await runtime.stop(Date.now() + 1000);
  assert.deepEqual(r, { abandonedCall: false, abandonedRecords: 0, acksNotOut: 0, loopEnded: true, spooled: 0, synced: true });
});

test('stop lets the call in flight finish within the deadline', async (t) => {
  let release!: () => void;
  const { intake, runtime } = setup(t, {
    putRecordBatch: () => new Promise((resolve) => (release = () => resolve({ failed: [] }))),
  });
  runtime.start();
  intake.onMessage(encodePut('p', [rec('slow')]));
  await until('the call', 2000, () => release !== undefined);
  setTimeout(() => release(), 100);
  assert.deepEqual(await runtime.stop(Date.now() + 2000), { abandonedCall: false, abandonedRecords: 0, acksNotOut: 0, loopEnded: true, spooled: 0, synced: true });
});

test('a call still unanswered at the deadline is abandoned; its records stay for the next run', async (t) => {
  let aborted = false;
  const { dir, intake, runtime } = setup(t, {
    putRecordBatch: (_records, options) =>
      new Promise((_, reject) =>
        options?.abortSignal?.addEventListener('abort', () => {
          aborted = true;
          reject(new SendError('Aborted', 'abandoned at shutdown', true));
        }),
      ),
  });
  runtime.start();
  intake.onMessage(encodePut('p', [rec('stuck-1'), rec('stuck-2')]));
  await new Promise((r) => setTimeout(r, 50));
  const started = Date.now();
  assert.deepEqual(await runtime.stop(Date.now() + 300), { abandonedCall: true, abandonedRecords: 2, acksNotOut: 0, loopEnded: true, spooled: 2, synced: true }, 'the abandoned call is counted: both of its records');
  assert.ok(Date.now() - started < 1500);
  assert.equal(aborted, true);
  const next = FirehoseSpool.open({ dir, maxBytes: 1 << 20, segmentBytes: 64 << 10, logger: new CapturedLog() });
  assert.deepEqual([...next.unclaimed()].map((e) => e.id), ['stuck-1', 'stuck-2']);
  next.close();
});

test('a call that ignores its abort does not hold the stop: it ends by the deadline, and says the loop had not ended', async (t) => {
  const { intake, runtime, spool } = setup(t, { putRecordBatch: () => new Promise(() => undefined) });
  runtime.start();
  intake.onMessage(encodePut('p', [rec('hung')]));
  await new Promise((r) => setTimeout(r, 50));
  const started = Date.now();
  const report = await runtime.stop(Date.now() + 300);
  assert.deepEqual(report, { abandonedCall: true, abandonedRecords: 1, acksNotOut: 0, loopEnded: false, spooled: 1, synced: true });
  // The stop's own bound (deadline + LOOP_END_WAIT_MS), with room for a slow machine: it did not wait for the call.
  assert.ok(Date.now() - started < 300 + LOOP_END_WAIT_MS + 1000);
  assert.equal(spool.isOpen, false, 'the spool is closed all the same');
});

test('a metrics message the nucleus refuses is reported with the fix; a retryable failure is skipped', async (t) => {
  let answer: unknown = new PublishRejectedError('Not Authorized', true);
  const { runtime, log } = setup(t, { putRecordBatch: async () => ({ failed: [] }) }, async () => {
    if (answer) throw answer;
  });
  runtime.start();
  await until('the refusal', 3000, () => log.at('error').length > 0);
  assert.match(String(log.at('error')[0]!.fields.fix), /PublishToIoTCore on conduit\/gw-1\/sink\/metrics/);
  answer = { retryable: true, reason: 'Message spool is full.' };
  await until('the skip', 3000, () => log.at('warn').some((l) => l.msg.startsWith('metrics message skipped')));
  answer = undefined;
  await runtime.stop(Date.now() + 500);
});

test('a pause lets the call in flight finish, sends nothing until resumed, and the new sender takes what was put meanwhile', async (t) => {
  const toA: string[] = [];
  let release: (() => void) | undefined;
  const { intake, runtime, spool, log } = setup(t, {
    putRecordBatch: (records) =>
      new Promise((resolve) => {
        release = () => {
          toA.push(...idsOf(records));
          resolve({ failed: [] });
        };
      }),
  });
  runtime.start();
  intake.onMessage(encodePut('p', [rec('a1'), rec('a2')]));
  await until('the call to A', 2000, () => release !== undefined);
  const paused = runtime.pauseSending(Date.now() + 2000);
  setTimeout(() => release!(), 100);
  assert.deepEqual(await paused, { abandonedCall: false });
  assert.deepEqual(toA, ['a1', 'a2'], 'the call in flight finished into A');
  intake.onMessage(encodePut('p', [rec('b1')]));
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(spool.stats(Date.now()).records, 1, 'nothing is sent while paused; the record waits in the spool');
  const toB: string[] = [];
  runtime.resumeSending(senderFor(spool, { putRecordBatch: async (records) => (toB.push(...idsOf(records)), { failed: [] }) }, log));
  await until('delivery to B', 2000, () => toB.length === 1);
  assert.deepEqual(toB, ['b1']);
  intake.onMessage(encodePut('p', [rec('b2')]));
  await until('delivery to B', 2000, () => toB.length === 2);
  assert.deepEqual(toA, ['a1', 'a2'], 'nothing went to A after the swap');
});

test('a call still unanswered at the pause deadline is abandoned; the new sender sends its records again', async (t) => {
  const { intake, runtime, spool, log } = setup(t, {
    putRecordBatch: (_records, options) => new Promise((_, reject) => options?.abortSignal?.addEventListener('abort', () => reject(new SendError('Aborted', 'abandoned', true)))),
  });
  runtime.start();
  intake.onMessage(encodePut('p', [rec('s1'), rec('s2')]));
  await new Promise((r) => setTimeout(r, 50));
  const started = Date.now();
  assert.deepEqual(await runtime.pauseSending(Date.now() + 200), { abandonedCall: true });
  assert.ok(Date.now() - started < 1000);
  const toB: string[] = [];
  runtime.resumeSending(senderFor(spool, { putRecordBatch: async (records) => (toB.push(...idsOf(records)), { failed: [] }) }, log));
  await until('the abandoned records in B', 2000, () => toB.length === 2);
  assert.deepEqual(toB, ['s1', 's2']);
  assert.equal(spool.stats(Date.now()).records, 0);
});

test('a pause during a backoff ends it at once; a stop while paused does not resume sending', async (t) => {
  let calls = 0;
  const { intake, runtime, spool, log } = setup(t, {
    putRecordBatch: async () => {
      calls++;
      throw new SendError('ResourceNotFoundException', 'no such stream', false, 'create it');
    },
  });
  runtime.start();
  intake.onMessage(encodePut('p', [rec('w1')]));
  await until('the refused call', 2000, () => calls === 1);
  const started = Date.now();
  assert.deepEqual(await runtime.pauseSending(Date.now() + 2000), { abandonedCall: false });
  assert.ok(Date.now() - started < 50, 'the backoff sleep did not hold the pause');
  assert.deepEqual(await runtime.stop(Date.now() + 500), { abandonedCall: false, abandonedRecords: 0, acksNotOut: 0, loopEnded: true, spooled: 1, synced: true });
  let sent = 0;
  runtime.resumeSending(senderFor(spool, { putRecordBatch: async () => (sent++, { failed: [] }) }, log));
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(sent, 0, 'a stopped runtime stays stopped');
});

test('a new metrics interval restarts the timer; a new topic is used from the next message on', async (t) => {
  const { runtime, published, config } = setup(t, { putRecordBatch: async () => ({ failed: [] }) });
  runtime.start();
  await until('a first metrics message', 3000, () => published.length === 1);
  runtime.useConfig({ ...config, metrics: { topic: 'plant/{thingName}/sink', intervalSec: 2 } });
  const changedAt = Date.now();
  assert.equal(runtime.metricsTopic, 'plant/gw-1/sink');
  await until('a metrics message on the new topic', 3000, () => published.length === 2);
  const gap = Date.now() - changedAt;
  assert.ok(gap >= 1900 && gap < 2600, `the next message one new interval later (${gap} ms)`);
  assert.equal(published[1]!.topic, 'plant/gw-1/sink');
  assert.equal(published[1]!.body.intervalSec, 2);
});
