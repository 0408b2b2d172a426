// CaptureHandoff against a fake local pub/sub: records stay until acknowledged, are re-sent when the
// ack does not come, are forgotten on an ack or a rejection, and memory stays bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CaptureHandoff } from '../../../../components/opcua-collector/src/capture-handoff';
import { decodePut, encodeAck, type PutMessage } from '../../../../shared/handoff/protocol';
import type { LocalPubSub, PublishFailure } from '../../../../components/opcua-collector/src/ports';
import type { LocalSubscription } from '../../../../shared/edge/ports';
import { CapturedLog } from '../../../harness/captured-log';

class FakePubSub implements LocalPubSub {
  readonly puts: PutMessage[] = [];
  /** The topic of each put, in order. */
  readonly putTopics: string[] = [];
  readonly handlers = new Map<string, (p: Buffer) => void>();
  fail: PublishFailure | undefined;
  async publishToTopic(topic: string, payload: Buffer): Promise<void> {
    if (this.fail) throw this.fail;
    this.putTopics.push(topic);
    const d = decodePut(payload);
    assert.ok(d.ok);
    this.puts.push(d.message);
  }
  /** What the nucleus answers to a subscription: accepted unless told otherwise. */
  accept = true;
  readonly refused = new Set<string>();
  subscribeToTopic(topic: string, onMessage: (p: Buffer) => void): LocalSubscription {
    const ok = this.accept && !this.refused.has(topic);
    if (ok) this.handlers.set(topic, onMessage);
    return { close: async () => void (ok && this.handlers.delete(topic)), activated: Promise.resolve(ok) };
  }
  ack(stored: string[], rejected: { id: string; reason: string }[] = [], producer = 'conduit.OpcUaCollector', topic = 'sink/ack'): void {
    this.handlers.get(topic)?.(encodeAck({ producer, stored, rejected }));
  }
  sentIds(): string[] {
    return this.puts.flatMap((p) => p.records.map((r) => r.id));
  }
}

function setup(o: { maxPendingBytes?: number; refuseAcks?: boolean } = {}) {
  const clock = { now: 1_000_000 };
  const pubsub = new FakePubSub();
  pubsub.accept = !o.refuseAcks;
  const log = new CapturedLog();
  const h = new CaptureHandoff({
    pubsub,
    logger: log,
    producer: 'conduit.OpcUaCollector',
    putTopic: 'sink/put',
    ackTopic: 'sink/ack',
    ackTimeoutMs: 5_000,
    maxPendingBytes: o.maxPendingBytes ?? 1_000_000,
    now: () => clock.now,
  });
  h.start();
  return { clock, pubsub, log, h };
}

const settle = () => new Promise((r) => setImmediate(r));
/** The hand-off checks on a timer; drive it without waiting for it. */
async function check(h: CaptureHandoff): Promise<void> {
  (h as unknown as { kick(): void }).kick();
  await settle();
  await settle();
}

test('records are sent at once, kept until acknowledged, and acks of other producers are ignored', async () => {
  const { pubsub, h } = setup();
  try {
    h.submit([{ id: 'c1/1', data: '{"a":1}' }, { id: 'c1/2', data: '{"a":2}' }]);
    await settle();
    assert.deepEqual(pubsub.sentIds(), ['c1/1', 'c1/2']);
    assert.equal(pubsub.puts[0]!.producer, 'conduit.OpcUaCollector');
    pubsub.ack(['c1/1', 'c1/2'], [], 'someone.Else');
    assert.equal(h.counters().pending, 2);
    pubsub.ack(['c1/1']);
    assert.deepEqual({ pending: h.counters().pending, acked: h.counters().acked }, { pending: 1, acked: 1 });
  } finally {
    h.stop();
  }
});

test('an unacknowledged record is sent again after ackTimeoutMs, backing off while the sink stays silent', async () => {
  const { clock, pubsub, h } = setup();
  try {
    h.submit([{ id: 'c1/1', data: 'x' }]);
    await settle();
    clock.now += 4_999;
    await check(h);
    assert.equal(pubsub.puts.length, 1, 'not before the ack timeout');
    clock.now += 1;
    await check(h);
    assert.equal(pubsub.puts.length, 2, 're-sent after 5 s');
    clock.now += 5_000;
    await check(h);
    assert.equal(pubsub.puts.length, 2, 'second re-send waits 2 x ackTimeoutMs');
    clock.now += 5_000;
    await check(h);
    assert.equal(pubsub.puts.length, 3);
    assert.equal(h.counters().resent, 2);
  } finally {
    h.stop();
  }
});

test('any ack from the sink makes overdue records due at once', async () => {
  const { clock, pubsub, h } = setup();
  try {
    h.submit([{ id: 'a', data: 'x' }]);
    await settle();
    clock.now += 5_000;
    await check(h); // re-sent: attempt 2, next only after 10 s
    h.submit([{ id: 'b', data: 'y' }]);
    await settle();
    clock.now += 6_000;
    pubsub.ack(['b']);
    await settle();
    await settle();
    assert.deepEqual(pubsub.sentIds(), ['a', 'a', 'b', 'a']);
  } finally {
    h.stop();
  }
});

test('a failed publish keeps the records for the next check; a rejection forgets them with an ERROR', async () => {
  const { pubsub, log, h } = setup();
  try {
    pubsub.fail = { retryable: true, reason: 'not connected to the Greengrass nucleus' };
    h.submit([{ id: 'r1', data: 'x' }]);
    await settle();
    assert.equal(h.counters().sendFailures, 1);
    pubsub.fail = undefined;
    await check(h);
    assert.deepEqual(pubsub.sentIds(), ['r1']);
    pubsub.ack([], [{ id: 'r1', reason: 'too large' }]);
    assert.deepEqual({ pending: h.counters().pending, rejected: h.counters().rejected }, { pending: 0, rejected: 1 });
    assert.ok(log.lines.some((e) => e.level === 'error' && e.fields.recordId === 'r1' && e.fields.reason === 'too large'));
  } finally {
    h.stop();
  }
});

test('past maxPendingBytes the oldest records are dropped, counted and logged at ERROR', async () => {
  const { log, h } = setup({ maxPendingBytes: 250 });
  try {
    const data = 'x'.repeat(96); // 100 bytes with a 4-character id
    h.submit([{ id: 'r1/1', data }, { id: 'r2/1', data }]);
    h.submit([{ id: 'r3/1', data }]);
    assert.deepEqual({ pending: h.counters().pending, bytes: h.counters().pendingBytes, evicted: h.counters().evicted }, { pending: 2, bytes: 200, evicted: 1 });
    const e = log.lines.find((x) => x.level === 'error');
    assert.equal(e?.fields.recordId, 'r1/1');
  } finally {
    h.stop();
  }
});

test('the same id submitted twice is kept once', () => {
  const { h } = setup();
  try {
    h.submit([{ id: 'c/1', data: 'x' }]);
    h.submit([{ id: 'c/1', data: 'x' }]);
    assert.equal(h.counters().pending, 1);
    assert.equal(h.counters().submitted, 1);
  } finally {
    h.stop();
  }
});

test('a refused subscription to the acks is reported at start, at ERROR with the fix and in the counters', async () => {
  const { h, log } = setup({ refuseAcks: true });
  await settle();
  assert.equal(h.counters().ackSubscriptionRefused, true);
  const line = log.at('error').find((l) => /subscription to its acknowledgements was refused/.test(l.msg))!;
  assert.equal(line.fields.ackTopic, 'sink/ack');
  assert.match(String(line.fields.fix), /SubscribeToTopic on sink\/ack and aws\.greengrass#PublishToTopic on sink\/put/);
  h.stop();
  const accepted = setup();
  await settle();
  assert.equal(accepted.h.counters().ackSubscriptionRefused, false);
  assert.equal(accepted.log.at('error').length, 0);
  accepted.h.stop();
});

test('settings change live: waiting records go to the new put topic, the ack subscription moves, a lower memory bound drops nothing at once', async () => {
  const { pubsub, h, clock } = setup();
  try {
    h.submit([{ id: 'c1/1', data: 'x'.repeat(100) }, { id: 'c1/2', data: 'y'.repeat(100) }]);
    await settle();
    assert.deepEqual(pubsub.putTopics, ['sink/put']);
    await h.configure({ putTopic: 'plant/put', ackTopic: 'plant/ack', ackTimeoutMs: 1_000, maxPendingBytes: 150 });
    assert.deepEqual([...pubsub.handlers.keys()], ['plant/ack'], 'the old ack subscription is closed once the new one is accepted');
    assert.equal(h.counters().pending, 2, 'a lower maxPendingBytes drops nothing by itself');
    // Re-sent on the new topic after the new (shorter) ack timeout.
    clock.now += 1_000;
    await check(h);
    assert.deepEqual(pubsub.putTopics, ['sink/put', 'plant/put']);
    pubsub.ack(['c1/1'], [], 'conduit.OpcUaCollector', 'plant/ack');
    assert.equal(h.counters().pending, 1);
    // The next capture brings the bound into force: the oldest waiting record goes first.
    h.submit([{ id: 'c2/1', data: 'z'.repeat(100) }]);
    assert.deepEqual([h.counters().pending, h.counters().evicted], [1, 1]);
  } finally {
    h.stop();
  }
});

test('a new ack topic the nucleus refuses keeps the old subscription and says so', async () => {
  const { pubsub, h, log } = setup();
  try {
    await settle();
    pubsub.refused.add('plant/ack');
    await h.configure({ putTopic: 'sink/put', ackTopic: 'plant/ack', ackTimeoutMs: 5_000, maxPendingBytes: 1_000_000 });
    await settle();
    assert.deepEqual([...pubsub.handlers.keys()], ['sink/ack']);
    assert.equal(h.counters().ackSubscriptionRefused, true);
    assert.match(String(log.at('error').at(-1)!.fields.fix), /SubscribeToTopic on plant\/ack/);
    h.submit([{ id: 'c1/1', data: 'x' }]);
    await settle();
    pubsub.ack(['c1/1']);
    assert.equal(h.counters().acked, 1, 'acks on the old topic still count');
  } finally {
    h.stop();
  }
});
