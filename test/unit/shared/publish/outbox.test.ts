import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Outbox, type OutboxMessage } from '../../../../shared/publish/outbox';
import { PublishConfigError } from '../../../../shared/publish/errors';

const msg = (stream: string, seq: number, bytes = 10): OutboxMessage => ({ stream, seq, topic: 't/' + stream, payload: Buffer.alloc(bytes) });
/** Publishes (peek + ack) everything left and returns the order it came out in. */
const ids = (o: Outbox): string[] => {
  const out: string[] = [];
  for (let m = o.peek(); m !== undefined; m = o.peek()) {
    out.push(`${m.stream}${m.seq}`);
    o.ack();
  }
  return out;
};

test('FIFO: peek returns the same message until it is acked, then the next one', () => {
  const o = new Outbox({ maxMessages: 10 });
  o.push(msg('rms', 0), 1000);
  o.push(msg('deadband', 0), 1001);
  o.push(msg('rms', 1), 1002);
  assert.equal(o.peek()?.seq, 0);
  // A retryable failure: the caller publishes the same message again, nothing is reordered.
  assert.equal(o.peek()?.stream, 'rms');
  assert.equal(o.peek()?.seq, 0);
  assert.deepEqual([o.messages, o.bytes], [3, 30]);
  assert.equal(o.ack()?.enqueuedMs, 1000);
  assert.deepEqual(ids(o), ['deadband0', 'rms1']);
  assert.equal(o.ack(), undefined);
  assert.deepEqual([o.messages, o.bytes], [0, 0]);
  assert.deepEqual(o.counters(), { enqueued: 3, acked: 3, dropped: {}, droppedBytes: 0, rejected: {}, messages: 0, bytes: 0 });
});

test('full: the oldest waiting message is dropped, reported and counted by stream', () => {
  const o = new Outbox({ maxMessages: 3 });
  assert.deepEqual(o.push(msg('rms', 0), 0), []);
  o.push(msg('deadband', 0), 100);
  o.push(msg('rms', 1), 200);
  assert.deepEqual(o.push(msg('rms', 2), 1000), [{ stream: 'rms', seq: 0, bytes: 10, ageMs: 1000 }]);
  assert.deepEqual(o.push(msg('change', 0), 1100), [{ stream: 'deadband', seq: 0, bytes: 10, ageMs: 1000 }]);
  assert.deepEqual(o.counters(), { enqueued: 5, acked: 0, dropped: { rms: 1, deadband: 1 }, droppedBytes: 20, rejected: {}, messages: 3, bytes: 30 });
  assert.deepEqual(ids(o), ['rms1', 'rms2', 'change0']);
});

test('the in-flight message is never dropped: eviction takes the oldest waiting one', () => {
  const o = new Outbox({ maxMessages: 2 });
  o.push(msg('rms', 0), 0);
  assert.equal(o.peek()?.seq, 0); // being published
  o.push(msg('rms', 1), 10);
  assert.deepEqual(o.push(msg('rms', 2), 20), [{ stream: 'rms', seq: 1, bytes: 10, ageMs: 10 }]);
  assert.equal(o.peek()?.seq, 0);
  assert.equal(o.ack()?.seq, 0);
  assert.deepEqual(ids(o), ['rms2']);
});

test('with one slot and a message in flight, the new message is the one dropped', () => {
  const o = new Outbox({ maxMessages: 1 });
  o.push(msg('rms', 0), 0);
  o.peek();
  assert.deepEqual(o.push(msg('rms', 1), 5), [{ stream: 'rms', seq: 1, bytes: 10, ageMs: 0 }]);
  assert.deepEqual(ids(o), ['rms0']);
});

test('a byte limit drops as many of the oldest as needed', () => {
  const o = new Outbox({ maxMessages: 100, maxBytes: 100 });
  o.push(msg('a', 0, 40), 0);
  o.push(msg('a', 1, 40), 0);
  assert.deepEqual(o.push(msg('b', 0, 90), 7).map((d) => `${d.stream}${d.seq}`), ['a0', 'a1']);
  assert.deepEqual([o.messages, o.bytes], [1, 90]);
  // A payload larger than the limit by itself cannot be held: it is dropped at once, and reported.
  assert.deepEqual(o.push(msg('b', 1, 101), 8).map((d) => `${d.stream}${d.seq}`), ['b0', 'b1']);
  assert.deepEqual(o.counters().dropped, { a: 2, b: 2 });
});

test('discard removes the in-flight message for good and counts it as rejected', () => {
  const o = new Outbox({ maxMessages: 5 });
  o.push(msg('rms', 0, 7), 0);
  o.push(msg('rms', 1, 7), 0);
  assert.equal(o.discard(), undefined); // nothing in flight yet
  o.peek();
  assert.equal(o.discard()?.seq, 0);
  assert.deepEqual(o.counters().rejected, { rms: 1 });
  assert.deepEqual([o.messages, o.bytes], [1, 7]);
  assert.deepEqual(ids(o), ['rms1']);
});

test('oldest age counts from the push of the oldest message held', () => {
  const o = new Outbox({ maxMessages: 5 });
  assert.equal(o.oldestAgeMs(500), 0);
  o.push(msg('rms', 0), 100);
  o.push(msg('rms', 1), 300);
  assert.equal(o.oldestAgeMs(500), 400);
  o.peek();
  assert.equal(o.oldestAgeMs(600), 500); // the in-flight one is the oldest
  o.ack();
  assert.equal(o.oldestAgeMs(600), 300);
});

test('long runs keep order and counts (the waiting array is compacted)', () => {
  const o = new Outbox({ maxMessages: 1500 });
  let next = 0;
  const seen: number[] = [];
  for (let round = 0; round < 20; round++) {
    for (let i = 0; i < 500; i++) o.push(msg('rms', next++, 1), round);
    for (let i = 0; i < 400; i++) {
      seen.push(o.peek()!.seq);
      o.ack();
    }
  }
  for (let m = o.peek(); m !== undefined; m = o.peek()) {
    seen.push(m.seq);
    o.ack();
  }
  const dropped = o.counters().dropped.rms ?? 0;
  assert.ok(dropped > 0, 'the run must overflow');
  assert.equal(seen.length + dropped, next);
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! > seen[i - 1]!, 'order');
});

test('a bad limit is a configuration error', () => {
  assert.throws(() => new Outbox({ maxMessages: 0 }), PublishConfigError);
  assert.throws(() => new Outbox({ maxMessages: 1.5 }), PublishConfigError);
  assert.throws(() => new Outbox({ maxMessages: 1, maxBytes: 0 }), PublishConfigError);
});
