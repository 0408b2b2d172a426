// SinkLiveConfig: an applied configuration update is read back, diffed, logged and applied in the running
// process, one update at a time; an applied configuration that does not parse is not used. First against
// plain objects that record what was done to them and in which order, then with the real runtime,
// spool, intake and senders (only PutRecordBatch is a fake), checking that no record is lost across a
// change of stream.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff } from '../../../../shared/backoff';
import { encodePut } from '../../../../shared/handoff/protocol';
import { parseSinkConfig, type SinkConfig } from '../../../../components/firehose-sink/src/config';
import { SinkIntake } from '../../../../components/firehose-sink/src/intake';
import { SinkLiveConfig, type LiveSinkParts, type SendPath } from '../../../../components/firehose-sink/src/live-config';
import type { RecordBatchPutter } from '../../../../components/firehose-sink/src/ports';
import { SinkRuntime } from '../../../../components/firehose-sink/src/runtime';
import { FirehoseSender } from '../../../../components/firehose-sink/src/sender';
import { FirehoseSpool } from '../../../../components/firehose-sink/src/spool';
import { CapturedLog, rec, tempDir } from './helpers';

const parse = (raw: unknown) => parseSinkConfig(raw, { defaultRegion: 'eu-central-1' });
const BASE_RAW = { deliveryStreamName: 'stream-a', metrics: { intervalSec: 1 } };
const SETTLE = { settleMs: 5 };

/** The running parts as plain objects: each call is recorded as one line, in order. */
function rig(
  opts: {
    pause?: () => Promise<{ abandonedCall: boolean }>;
    build?: (c: SinkConfig) => void;
    /** Put topics the nucleus refuses to subscribe to. */
    refused?: Set<string>;
    /** What the spool holds now. */
    held?: { bytes: number; records: number };
  } = {},
) {
  const calls: string[] = [];
  const log = new CapturedLog();
  let raw: unknown = BASE_RAW;
  let reads = 0;
  const path = (name: string): SendPath => ({ sender: { name } as unknown as FirehoseSender, close: () => calls.push(`close ${name}`) });
  const parts: LiveSinkParts = {
    setLogLevel: (level) => calls.push(`logLevel ${level}`),
    runtime: {
      pauseSending: async (deadline) => {
        calls.push(`pause ${deadline > Date.now() ? 'with a deadline' : 'without time'}`);
        const r = (await opts.pause?.()) ?? { abandonedCall: false };
        calls.push('paused');
        return r;
      },
      resumeSending: (next) => calls.push(`resume ${(next as unknown as { name: string }).name}`),
      useConfig: (c) => calls.push(`useConfig ${c.deliveryStreamName} ${c.metrics.intervalSec}s`),
    },
    intake: { setAckTopic: (t) => calls.push(`ack ${t}`) },
    spool: {
      setLimits: (l) => calls.push(`limits ${l.maxBytes}/${l.segmentBytes}`),
      stats: () => ({ bytes: 0, records: 0, segments: 1, oldestAgeMs: null, ...opts.held }),
    },
    subscribePut: (topic) => {
      calls.push(`subscribe ${topic}`);
      return { close: async () => void calls.push(`unsubscribe ${topic}`), activated: Promise.resolve(!opts.refused?.has(topic)) };
    },
    buildSendPath: (c) => {
      opts.build?.(c);
      const name = `sender-${c.deliveryStreamName}`;
      calls.push(`build ${name}`);
      return path(name);
    },
  };
  const live = new SinkLiveConfig({
    logger: log,
    initial: parse(BASE_RAW),
    sendPath: path('sender-stream-a'),
    put: { close: async () => void calls.push('unsubscribe conduit/firehose-sink/put'), activated: Promise.resolve(true) },
    parts,
    read: async () => {
      reads++;
      return raw;
    },
    parse,
    ...SETTLE,
  });
  return {
    live,
    calls,
    log,
    reads: () => reads,
    /** The nucleus applies `next` (merged over the base) and notifies. */
    apply(next: Record<string, unknown>) {
      raw = { ...BASE_RAW, ...next };
      live.changed();
    },
  };
}

test('a new stream and metrics interval: the sender is built first, the loop pauses, the new sender resumes, the old client is closed', async () => {
  const r = rig();
  r.apply({ deliveryStreamName: 'stream-b', metrics: { intervalSec: 3 }, logLevel: 'debug' });
  await r.live.settled();
  assert.deepEqual(r.calls, [
    'build sender-stream-b',
    'logLevel debug',
    'pause with a deadline',
    'paused',
    'useConfig stream-b 3s',
    'resume sender-stream-b',
    'close sender-stream-a',
  ]);
  assert.equal(r.live.current.deliveryStreamName, 'stream-b');
  assert.equal((r.live.sendPath.sender as unknown as { name: string }).name, 'sender-stream-b');
  const applying = r.log.lines.find((l) => l.msg === 'applying a configuration update')!;
  assert.equal(applying.level, 'info');
  assert.deepEqual(applying.fields.changes, [
    { key: 'deliveryStreamName', from: 'stream-a', to: 'stream-b' },
    { key: 'logLevel', from: 'info', to: 'debug' },
    { key: 'metrics.intervalSec', from: 1, to: 3 },
  ]);
  const applied = r.log.lines.find((l) => l.msg.startsWith('configuration update applied'))!;
  assert.deepEqual(applied.fields.keys, ['deliveryStreamName', 'logLevel', 'metrics.intervalSec']);
  assert.equal(applied.fields.abandonedCall, false);
  assert.deepEqual(r.live.counts, { validated: 0, rejected: 0, applied: 1, refused: 0, unchanged: 0 });
});

test('keys that do not touch the sender never pause it: topics, spool limits, metrics, log level', async () => {
  const r = rig();
  const metrics = { topic: 'plant/{thingName}/m', intervalSec: 1 };
  r.apply({ putTopic: 'plant/put', ackTopic: 'plant/ack', spool: { maxBytes: 8388608, segmentBytes: 1048576 }, metrics });
  await r.live.settled();
  // The new put subscription exists (and was accepted) before the old one is closed.
  assert.deepEqual(r.calls, ['subscribe plant/put', 'unsubscribe conduit/firehose-sink/put', 'ack plant/ack', 'limits 8388608/1048576', 'useConfig stream-a 1s']);
  r.calls.length = 0;
  r.apply({ putTopic: 'plant/put2', ackTopic: 'plant/ack', spool: { maxBytes: 8388608, segmentBytes: 1048576 }, metrics });
  await r.live.settled();
  assert.deepEqual(r.calls, ['subscribe plant/put2', 'unsubscribe plant/put', 'useConfig stream-a 1s'], 'the subscription made by the first update is the one closed');
});

test('an applied configuration that does not parse is NOT used: ERROR with every problem, nothing touched, the next update diffs against the old one', async () => {
  const r = rig();
  r.apply({ deliveryStreamName: 'not a name', spool: { maxBytes: 10 } });
  await r.live.settled();
  assert.deepEqual(r.calls, []);
  const err = r.log.at('error')[0]!;
  assert.match(err.msg, /^the applied configuration is invalid; it is NOT used/);
  assert.deepEqual(
    (err.fields.issues as { path: string }[]).map((i) => i.path),
    ['/deliveryStreamName', '/spool/maxBytes'],
  );
  assert.equal(r.live.current.deliveryStreamName, 'stream-a');
  r.apply({ logLevel: 'warn' });
  await r.live.settled();
  assert.deepEqual(r.calls, ['logLevel warn', 'useConfig stream-a 1s']);
  assert.deepEqual(r.live.counts, { validated: 0, rejected: 0, applied: 1, refused: 1, unchanged: 0 });
});

test('an update that changes nothing does nothing; the events of one deployment are read back once', async () => {
  const r = rig();
  r.live.changed();
  r.live.changed();
  r.live.changed();
  await r.live.settled();
  assert.equal(r.reads(), 1);
  assert.deepEqual(r.calls, []);
  assert.equal(r.live.counts.unchanged, 1);
});

test('a second update arriving while one is applied waits for it, and is applied after it', async () => {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const r = rig({ pause: async () => (await held, { abandonedCall: false }) });
  r.apply({ deliveryStreamName: 'stream-b' });
  await new Promise((res) => setTimeout(res, 30));
  assert.deepEqual(r.calls.at(-1), 'pause with a deadline', 'the first update waits for the call in flight');
  r.apply({ deliveryStreamName: 'stream-c' });
  await new Promise((res) => setTimeout(res, 30));
  assert.equal(r.reads(), 1, 'the second is not even read while the first is applied');
  release();
  await r.live.settled();
  assert.deepEqual(r.calls, [
    'build sender-stream-b',
    'pause with a deadline',
    'paused',
    'useConfig stream-b 1s',
    'resume sender-stream-b',
    'close sender-stream-a',
    'build sender-stream-c',
    'pause with a deadline',
    'paused',
    'useConfig stream-c 1s',
    'resume sender-stream-c',
    'close sender-stream-b',
  ]);
});

test('a call abandoned at the pause deadline is reported; a sender that cannot be built changes nothing', async () => {
  const r = rig({
    pause: async () => ({ abandonedCall: true }),
    build: (c) => {
      if (c.deliveryStreamName === 'stream-x') throw new Error('cannot build');
    },
  });
  r.apply({ deliveryStreamName: 'stream-b' });
  await r.live.settled();
  assert.ok(r.log.at('warn').some((l) => /abandoned; its records are sent again/.test(l.msg)));
  assert.equal(r.log.lines.find((l) => l.msg.startsWith('configuration update applied'))!.fields.abandonedCall, true);
  r.calls.length = 0;
  r.apply({ deliveryStreamName: 'stream-x', logLevel: 'debug' });
  await r.live.settled();
  assert.deepEqual(r.calls, [], 'not even the log level');
  assert.match(r.log.at('error').at(-1)!.msg, /applying the configuration update failed/);
  assert.equal(r.live.current.deliveryStreamName, 'stream-b');
});

test('validation answers with the same parser: REJECTED lists every problem with its path and fix', () => {
  const r = rig();
  assert.deepEqual(r.live.validate('d-1', { deliveryStreamName: 'stream-b' }), { status: 'ACCEPTED' });
  const bad = r.live.validate('d-2', { deliveryStreamName: 'stream-b', putTopic: 'same', ackTopic: 'same', spool: { maxBytes: 10 } });
  assert.equal(bad.status, 'REJECTED');
  assert.match(bad.status === 'REJECTED' ? bad.message : '', /^\/ackTopic: .*Fix: .* \| \/spool\/maxBytes: .*Fix: /);
  assert.equal(r.log.at('warn')[0]!.msg, 'configuration update validated: REJECTED; the running configuration stays');
  assert.deepEqual(r.live.counts, { validated: 2, rejected: 1, applied: 0, refused: 0, unchanged: 0 });
});

test('a configuration that cannot be read back is read again later; after stop nothing is applied', async () => {
  const log = new CapturedLog();
  let fail = true;
  let reads = 0;
  const live = new SinkLiveConfig({
    logger: log,
    initial: parse(BASE_RAW),
    sendPath: { sender: {} as FirehoseSender, close: () => undefined },
    put: { close: async () => undefined, activated: Promise.resolve(true) },
    parts: {} as LiveSinkParts,
    read: async () => {
      reads++;
      if (fail) throw { retryable: true, reason: 'not connected to the Greengrass nucleus' };
      return BASE_RAW;
    },
    parse,
    ...SETTLE,
  });
  live.changed();
  await live.settled();
  assert.equal(reads, 1);
  assert.deepEqual(log.at('warn').map((l) => [l.msg, l.fields.error]), [['cannot read the applied configuration; trying again', 'not connected to the Greengrass nucleus']]);
  // The retry comes RETRY_READ_MS (5 s) later; a new event reads at once.
  fail = false;
  live.changed();
  await live.settled();
  assert.equal(reads, 2);
  assert.equal(live.counts.unchanged, 1);
  live.stop();
  live.changed();
  await live.settled();
  assert.equal(reads, 2);
});

test('a put topic the nucleus refuses: the sink keeps the old subscription, says so, and a later deployment can try again', async () => {
  const r = rig({ refused: new Set(['plant/put']) });
  r.apply({ putTopic: 'plant/put', logLevel: 'debug' });
  await r.live.settled();
  assert.deepEqual(r.calls, ['logLevel debug', 'subscribe plant/put', 'unsubscribe plant/put', 'useConfig stream-a 1s']);
  assert.equal(r.live.current.putTopic, 'conduit/firehose-sink/put', 'what runs is what the sink listens on');
  assert.equal(r.live.current.logLevel, 'debug', 'the rest of the update applies');
  const refused = r.log.at('error').find((l) => /refused the subscription to the new putTopic/.test(l.msg))!;
  assert.equal(refused.fields.keptPutTopic, 'conduit/firehose-sink/put');
  assert.match(String(refused.fields.fix), /SubscribeToTopic on plant\/put/);
  // The accessControl is fixed and the same configuration deployed again: the change is still pending.
  r.calls.length = 0;
  r.apply({ putTopic: 'plant/put2', logLevel: 'debug' });
  await r.live.settled();
  assert.deepEqual(r.calls, ['subscribe plant/put2', 'unsubscribe conduit/firehose-sink/put', 'useConfig stream-a 1s']);
  assert.equal(r.live.current.putTopic, 'plant/put2');
});

test('a spool.maxBytes below what the spool holds is REJECTED at validation: nothing is evicted by a deployment', () => {
  const held = { bytes: 50_000_000, records: 1_200 };
  const r = rig({ held });
  const verdict = r.live.validate('d-3', { ...BASE_RAW, spool: { maxBytes: 16_777_216, segmentBytes: 1_048_576 } });
  assert.equal(verdict.status, 'REJECTED');
  assert.equal(
    verdict.status === 'REJECTED' ? verdict.message : '',
    '/spool/maxBytes: is 16777216, below the 50000000 bytes the spool holds now (1200 records not yet delivered to Firehose): applying it would evict them. Fix: set it to at least 50000000, or lower it once the spool has drained (metrics spool.bytes)',
  );
  // At or above what it holds, or an empty spool: accepted.
  assert.equal(r.live.validate('d-4', { ...BASE_RAW, spool: { maxBytes: 50_000_000, segmentBytes: 1_048_576 } }).status, 'ACCEPTED');
  assert.equal(rig({ held: { bytes: 50_000_000, records: 0 } }).live.validate('d-5', { ...BASE_RAW, spool: { maxBytes: 16_777_216, segmentBytes: 1_048_576 } }).status, 'ACCEPTED');
});

// ---- with the real runtime, spool, intake and senders --------------------------------------------

/** A PutRecordBatch into one named stream of `streams`, keeping every line's id. */
function firehose(streams: Map<string, string[]>, name: string, delayMs = 0): RecordBatchPutter {
  streams.set(name, []);
  return {
    putRecordBatch: async (records) => {
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      for (const r of records) streams.get(name)!.push(...r.toString().split('\n').slice(0, -1).map((l) => JSON.parse(l).id as string));
      return { failed: [] };
    },
  };
}

test('real parts: records put before, during and after a change of stream all arrive, and none put after it goes to the old stream', async (t) => {
  const { dir, remove } = tempDir();
  t.after(remove);
  const log = new CapturedLog();
  const config = parse({ ...BASE_RAW, send: { lingerMs: 0, initialBackoffMs: 10, maxBackoffMs: 100 } });
  const spool = FirehoseSpool.open({ dir, maxBytes: config.spool.maxBytes, segmentBytes: config.spool.segmentBytes, logger: log });
  const streams = new Map<string, string[]>();
  const closed: string[] = [];
  const build = (c: SinkConfig): SendPath => ({
    sender: new FirehoseSender({
      spool,
      // Slow enough that a call is often in flight when the update pauses the loop.
      client: firehose(streams, c.deliveryStreamName, 20),
      backoff: new Backoff({ initialDelayMs: c.send.initialBackoffMs, maxDelayMs: c.send.maxBackoffMs }, Math.random),
      logger: log,
      maxRecordBytes: c.send.maxRecordBytes,
      lingerMs: c.send.lingerMs,
      maxBackoffMs: c.send.maxBackoffMs,
      now: Date.now,
    }),
    close: () => closed.push(c.deliveryStreamName),
  });
  const initial = build(config);
  const intake = new SinkIntake({ spool, pubsub: { publishToTopic: async () => undefined }, ackTopic: config.ackTopic, logger: log, now: Date.now });
  const published: Record<string, any>[] = [];
  const runtime = new SinkRuntime({ config, thingName: 'gw-1', runId: 'run', spool, intake, sender: initial.sender, publisher: { publish: async (_t, p) => void published.push(JSON.parse(p.toString())) }, logger: log });
  t.after(() => runtime.stop(Date.now() + 500));
  let raw: unknown = { ...BASE_RAW, send: { lingerMs: 0, initialBackoffMs: 10, maxBackoffMs: 100 } };
  const live = new SinkLiveConfig({
    logger: log,
    initial: config,
    sendPath: initial,
    put: { close: async () => undefined, activated: Promise.resolve(true) },
    parts: {
      setLogLevel: () => undefined,
      runtime,
      intake,
      spool,
      subscribePut: () => ({ close: async () => undefined, activated: Promise.resolve(true) }),
      buildSendPath: build,
    },
    read: async () => raw,
    parse,
    ...SETTLE,
  });
  runtime.start();

  // Records keep coming while the update is applied.
  const put: string[] = [];
  let n = 0;
  const producer = setInterval(() => {
    const batch = [rec(`r${n++}`), rec(`r${n++}`)];
    put.push(...batch.map((b) => b.id));
    intake.onMessage(encodePut('p', batch));
  }, 5);
  t.after(() => clearInterval(producer));
  await new Promise((r) => setTimeout(r, 150));
  raw = { ...(raw as object), deliveryStreamName: 'stream-b' };
  live.changed();
  await live.settled();
  const putBeforeApplied = put.length;
  await new Promise((r) => setTimeout(r, 150));
  clearInterval(producer);
  const deadline = Date.now() + 3000;
  while (spool.stats(Date.now()).records > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));

  const a = streams.get('stream-a')!;
  const b = streams.get('stream-b')!;
  assert.ok(a.length > 0 && b.length > 0, `both streams got records (${a.length} in A, ${b.length} in B)`);
  assert.deepEqual([...new Set([...a, ...b])].sort(), [...put].sort(), 'every record arrived');
  const after = new Set(put.slice(putBeforeApplied));
  assert.deepEqual(a.filter((id) => after.has(id)), [], 'nothing put after the update went to A');
  assert.deepEqual(closed, ['stream-a'], 'the old client is closed, the new one is in use');
  assert.equal(spool.stats(Date.now()).records, 0);
  // The metrics totals continue across the swap: every line accepted by either stream is counted.
  const m = runtime.metricsBody() as { sent: { records: number }; deliveryStreamName: string };
  assert.equal(m.sent.records, a.length + b.length);
  assert.equal(m.deliveryStreamName, 'stream-b');
});
