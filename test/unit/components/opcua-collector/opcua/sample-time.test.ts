// The timestamp rule (sample-time.ts) and the dispatcher using it: source time when present, else
// server time, else the arrival rule; every sample kept with strictly increasing times per tag, so
// the sample gate never drops one as a duplicate because the server sends no timestamps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataValue, StatusCodes } from 'node-opcua-client';
import type { SourceCounters } from '../../../../../components/opcua-collector/src/ports';
import { SampleClock, TIME_ARRIVAL, TIME_SERVER, TIME_SOURCE, presentMs } from '../../../../../components/opcua-collector/src/opcua/sample-time';
import { type PublishMessage, SampleDispatcher, type TimestampReport } from '../../../../../components/opcua-collector/src/opcua/subscription';
import { Gate, SampleGate } from '../../../../../shared/reduction/sample-gate';

const T = 1_718_000_000_000;

test('the source timestamp is used unaltered, duplicates included', () => {
  const c = new SampleClock(1);
  assert.equal(c.timeOf(0, T, T + 5, T + 50, 0, 100), T);
  assert.equal(c.origin, TIME_SOURCE);
  assert.equal(c.timeOf(0, T, T + 6, T + 60, 0, 100), T, 'a real duplicate stays a duplicate');
  assert.equal(c.tagsWithoutSource, 0);
});

test('without a source timestamp the server timestamp is used, forced strictly increasing per tag', () => {
  const c = new SampleClock(2);
  assert.equal(c.timeOf(0, NaN, T + 5, T + 50, 0, 100), T + 5);
  assert.equal(c.origin, TIME_SERVER);
  // A server that stamps a whole publish with one server time.
  assert.equal(c.timeOf(0, NaN, T + 5, T + 50, 0, 100), T + 6);
  assert.equal(c.timeOf(0, NaN, T + 5, T + 50, 0, 100), T + 7);
  assert.equal(c.timeOf(0, NaN, T + 105, T + 150, 0, 100), T + 105);
  assert.equal(c.timeOf(1, NaN, T + 5, T + 50, 0, 100), T + 5, 'per tag');
  assert.deepEqual([c.tagsWithoutSource, c.tagsWithoutAny, c.timedByServer, c.timedByArrival], [2, 0, 5, 0]);
});

test('without any timestamp, the values of one item in one response are spread backwards from the arrival by its interval', () => {
  const c = new SampleClock(1);
  const arrival = T + 1_000;
  const times = [9, 8, 7, 6, 5, 4, 3, 2, 1, 0].map((later) => c.timeOf(0, NaN, NaN, arrival, later, 100));
  assert.equal(c.origin, TIME_ARRIVAL);
  assert.deepEqual(times, [100, 200, 300, 400, 500, 600, 700, 800, 900, 1_000].map((d) => T + d));
  // The next response arrives early (a jittered publish): its spread reaches behind the last time.
  const next = [2, 1, 0].map((later) => c.timeOf(0, NaN, NaN, arrival + 150, later, 100));
  assert.deepEqual(next, [T + 1_001, T + 1_050, T + 1_150]);
  assert.deepEqual([c.tagsWithoutSource, c.tagsWithoutAny, c.timedByArrival], [1, 1, 13]);
  assert.deepEqual(c.tagsLacking(), { withoutSource: [0], withoutAny: [0] });
});

test('OPC UA null DateTime (1601) and null count as absent', () => {
  assert.ok(Number.isNaN(presentMs(null)));
  assert.ok(Number.isNaN(presentMs(new Date(Date.UTC(1601, 0, 1)))));
  assert.equal(presentMs(new Date(T)), T);
});

function counters(): SourceCounters {
  return { notifications: 0, overflowLost: 0, reconnects: 0, connectFailures: 0, identityRejected: 0, certificateRejected: 0, clientCertificateRejected: 0, tagsWithoutSourceTimestamp: 0, tagsWithoutTimestamp: 0, samplesTimedByServer: 0, samplesTimedByArrival: 0, watchdogResets: 0, monitoredItemsFailed: 0 };
}

/** One Publish response with `perItem` values of each of `items` monitored items (clientHandle = item), no timestamps. */
function untimedResponse(items: number, perItem: number, value: (item: number, k: number) => number): { message: PublishMessage; values: { item: number; dv: DataValue }[] } {
  const values: { item: number; dv: DataValue }[] = [];
  const monitoredItems = [];
  // Interleaved, as a server may send them: the arrival rule counts per item, not per position.
  for (let k = 0; k < perItem; k++) {
    for (let item = 0; item < items; item++) {
      const dv = new DataValue({ value: { dataType: 'Double', value: value(item, k) }, statusCode: StatusCodes.Good });
      values.push({ item, dv });
      monitoredItems.push({ clientHandle: 100 + item, value: dv });
    }
  }
  return { message: { notificationData: [{ monitoredItems }] }, values };
}

test('the dispatcher keeps every sample of a server without timestamps: no duplicate in the sample gate, one report per connection', () => {
  const gate = new SampleGate({ kinds: ['numeric', 'numeric'] });
  const got: { tag: number; t: number; v: unknown; code: number }[] = [];
  const c = counters();
  const reports: TimestampReport[] = [];
  const d = new SampleDispatcher((tag, t, v, s) => got.push({ tag, t, v, code: gate.check(tag, t, v, s) }), c, 2, 0, {
    intervalMs: 100,
    onTimestampsMissing: (r) => reports.push(r),
  });
  d.setInterval(1, 200);
  for (let publish = 0; publish < 3; publish++) {
    const { message, values } = untimedResponse(2, 10, (item, k) => publish * 100 + item * 10 + k);
    const arrival = T + (publish + 1) * 2_000;
    d.onPublish(message, arrival);
    for (const { item, dv } of values) d.deliver(item, dv);
  }
  assert.equal(got.length, 60);
  assert.equal(gate.counters().emitted, 60, 'no sample dropped');
  assert.ok(got.every((g) => g.code === Gate.VALUE));
  for (const tag of [0, 1]) {
    const mine = got.filter((g) => g.tag === tag);
    assert.equal(mine.length, 30);
    for (let i = 1; i < mine.length; i++) assert.ok(mine[i]!.t > mine[i - 1]!.t, `tag ${tag}: times strictly increase`);
    // Exact values, in order.
    assert.deepEqual(mine.map((g) => g.v), [0, 1, 2].flatMap((p) => Array.from({ length: 10 }, (_, k) => p * 100 + tag * 10 + k)));
    // The newest of each response is its arrival; the others are spread back by the item's interval.
    const step = tag === 0 ? 100 : 200;
    assert.equal(mine[9]!.t, T + 2_000);
    assert.equal(mine[0]!.t, T + 2_000 - 9 * step);
  }
  assert.deepEqual([c.tagsWithoutSourceTimestamp, c.tagsWithoutTimestamp, c.samplesTimedByArrival, c.samplesTimedByServer], [2, 2, 60, 0]);
  assert.deepEqual(reports, [{ withoutSource: [0, 1], withoutAny: [0, 1] }], 'reported once, at the response after the first');
});

test('the dispatcher uses the source timestamp when present, else the server timestamp', () => {
  const got: number[] = [];
  const c = counters();
  const d = new SampleDispatcher((_tag, t) => got.push(t), c, 2);
  d.onPublish({ notificationData: [{ monitoredItems: [] }] }, T + 500);
  d.deliver(0, new DataValue({ value: { dataType: 'Double', value: 1 }, sourceTimestamp: new Date(T), serverTimestamp: new Date(T + 7) }));
  d.deliver(1, new DataValue({ value: { dataType: 'Double', value: 1 }, serverTimestamp: new Date(T + 7) }));
  assert.deepEqual(got, [T, T + 7]);
  assert.deepEqual([c.tagsWithoutSourceTimestamp, c.tagsWithoutTimestamp, c.samplesTimedByServer], [1, 0, 1]);
});

test('a live mapping change: a kept tag keeps its last time (still strictly increasing), a removed tag is forgotten', () => {
  const c = new SampleClock(2);
  c.timeOf(0, NaN, T + 100, T + 150, 0, 100);
  c.timeOf(1, NaN, NaN, T + 150, 0, 100);
  // Tag 1 becomes tag 0; tag 0 is removed; a new tag 1 appears.
  c.renumber(2, new Map([[1, 0]]));
  assert.deepEqual([c.tagsWithoutSource, c.tagsWithoutAny], [1, 1]);
  assert.equal(c.timeOf(0, NaN, NaN, T + 100, 0, 100), T + 151, 'after the kept tag’s last time');
  assert.equal(c.timeOf(1, NaN, T + 50, T + 150, 0, 100), T + 50, 'the new tag starts afresh');
});
