import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeadbandEncoder, type DeadbandPoint } from '../../../../shared/reduction/deadband-encoder';
import { ReductionConfigError } from '../../../../shared/reduction/errors';
import { STATUS_BAD, STATUS_GOOD, STATUS_UNCERTAIN } from '../../../../shared/reduction/status';
import { drain } from './helpers';

const T0 = 1_700_000_000_050;
const NO_DROPS = { unknownTag: 0, invalidStatus: 0, invalidTimestamp: 0, invalidValue: 0 };
type Row = [dt: number, value: number | null, reason: string, suppressed: number];
const rows = (points: DeadbandPoint[]): Row[] => points.map((p) => [p.sourceTimeMs - T0, p.value, p.reason, p.suppressed]);

function feed(enc: DeadbandEncoder, tag: number, values: readonly number[], status = STATUS_GOOD, start = 0): void {
  values.forEach((v, i) => enc.add(tag, T0 + (start + i) * 100, v, status));
}

test('sends the first sample, then only moves beyond the deadband from the last sent value', () => {
  const enc = new DeadbandEncoder({ tags: [{ mode: 'absolute', deadband: 1 }] });
  feed(enc, 0, [10, 10.6, 11.2, 10.5, 10.3, 12.25, 11.25]);
  // 10.6 and then 11.2 are each within 1 of their predecessor, but 11.2 is 1.2 from the sent 10:
  // comparing with the last *sent* value is what bounds the reconstruction error.
  // 11.25 is exactly 1 (in binary too) from the sent 12.25: not beyond the deadband.
  assert.deepEqual(rows(drain(enc, 0)), [
    [0, 10, 'first', 0],
    [200, 11.2, 'change', 1],
    [500, 12.25, 'change', 2],
  ]);
  assert.deepEqual(enc.counters(), { received: 7, emitted: 3, dropped: NO_DROPS, suppressed: 4, pointsLost: 0, keepAlives: 0 });
});

test('a change of exactly the deadband is not sent; the deadband travels with every point', () => {
  const enc = new DeadbandEncoder({ tags: [{ mode: 'absolute', deadband: 0.5 }] });
  feed(enc, 0, [1, 1.5, 0.5, 1.5000001]);
  const points = drain<DeadbandPoint>(enc, 0);
  assert.deepEqual(rows(points), [
    [0, 1, 'first', 0],
    [300, 1.5000001, 'change', 2],
  ]);
  assert.ok(points.every((p) => p.deadband === 0.5 && p.tag === 0 && p.statusCode === STATUS_GOOD));
});

test('the reconstructed series stays within the deadband of every Good sample', () => {
  const db = 0.25;
  const enc = new DeadbandEncoder({ tags: [{ mode: 'absolute', deadband: db }] });
  let s = 12345;
  let x = 0;
  const xs: number[] = [];
  for (let i = 0; i < 5000; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x += (s / 2 ** 32 - 0.5) * 0.2; // slow random walk: most steps are inside the deadband
    xs.push(x);
  }
  feed(enc, 0, xs);
  const points = drain<DeadbandPoint>(enc, 0);
  assert.ok(points.length < xs.length / 5, `reduces: ${points.length} points for ${xs.length} samples`);
  let p = 0;
  let held = NaN;
  for (let i = 0; i < xs.length; i++) {
    if (p < points.length && points[p]!.sourceTimeMs === T0 + i * 100) held = points[p++]!.value!;
    assert.ok(Math.abs(xs[i]! - held) <= db, `sample ${i}: ${xs[i]} vs held ${held}`);
  }
  assert.equal(points.length + enc.counters().suppressed, xs.length, 'every sample is either sent or counted as suppressed');
});

test('a deadband of 0 sends every change and suppresses identical values', () => {
  const enc = new DeadbandEncoder({ tags: [{ mode: 'absolute', deadband: 0 }] });
  feed(enc, 0, [1, 1, 1, 2, 2, 1e-300, 0, -0]);
  assert.deepEqual(rows(drain(enc, 0)), [
    [0, 1, 'first', 0],
    [300, 2, 'change', 2],
    [500, 1e-300, 'change', 1],
    [600, 0, 'change', 0],
  ]);
});

test('percent deadband is percent * (rangeMax - rangeMin) / 100', () => {
  const enc = new DeadbandEncoder({ tags: [{ mode: 'percent', percent: 2, rangeMin: -50, rangeMax: 150 }, { mode: 'absolute', deadband: 3 }] });
  assert.equal(enc.deadbandOf(0), 4);
  assert.equal(enc.deadbandOf(1), 3);
  assert.ok(Number.isNaN(enc.deadbandOf(2)));
  feed(enc, 0, [20, 23.9, 24.1]);
  assert.deepEqual(drain<DeadbandPoint>(enc, 0).map((p) => [p.value, p.deadband]), [
    [20, 4],
    [24.1, 4],
  ]);
});

test('heartbeat: a sample at lastSentTime + heartbeat is sent even inside the deadband', () => {
  const enc = new DeadbandEncoder({ tags: [{ mode: 'absolute', deadband: 10, heartbeatMs: 1000 }] });
  feed(enc, 0, Array.from({ length: 25 }, () => 5));
  assert.deepEqual(rows(drain(enc, 0)), [
    [0, 5, 'first', 0],
    [1000, 5, 'heartbeat', 9],
    [2000, 5, 'heartbeat', 9],
  ]);
  // a change resets the heartbeat clock
  enc.add(0, T0 + 2500, 50, STATUS_GOOD);
  enc.add(0, T0 + 3400, 50, STATUS_GOOD);
  enc.add(0, T0 + 3500, 50, STATUS_GOOD);
  assert.deepEqual(rows(drain(enc, 0)), [
    [2500, 50, 'change', 4],
    [3500, 50, 'heartbeat', 1],
  ]);
});

test('status transitions: Good -> Bad once, status changes while Bad, Bad -> Good at once', () => {
  const enc = new DeadbandEncoder({ tags: [{ mode: 'absolute', deadband: 100 }] });
  const steps: [number, number][] = [
    [1, STATUS_GOOD],
    [NaN, STATUS_BAD], // status-only point, value null
    [NaN, STATUS_BAD], // same status: suppressed
    [NaN, 0x80310000], // another Bad sub-code (Bad_NoCommunication): a status change
    [7, STATUS_UNCERTAIN], // Uncertain: status-only too, its value is not used
    [2, STATUS_GOOD], // back to Good: the value at once, inside the deadband
    [3, STATUS_GOOD],
    [3, 0x00000400], // Good with only info bits set: not a change
  ];
  steps.forEach(([v, s], i) => enc.add(0, T0 + i * 100, v, s));
  const points = drain<DeadbandPoint>(enc, 0);
  assert.deepEqual(
    points.map((p) => [p.sourceTimeMs - T0, p.value, p.statusCode, p.reason, p.suppressed]),
    [
      [0, 1, STATUS_GOOD, 'first', 0],
      [100, null, STATUS_BAD, 'status', 0],
      [300, null, 0x80310000, 'status', 1],
      [400, null, STATUS_UNCERTAIN, 'status', 0],
      [500, 2, STATUS_GOOD, 'status', 0],
    ],
  );
});

test('a first sample that is Bad is sent as a status-only point', () => {
  const enc = new DeadbandEncoder({ tags: [{ mode: 'absolute', deadband: 1, heartbeatMs: 500 }] });
  enc.add(0, T0, NaN, STATUS_BAD);
  enc.add(0, T0 + 100, NaN, STATUS_BAD);
  enc.add(0, T0 + 500, NaN, STATUS_BAD); // heartbeat applies to status-only points too
  assert.deepEqual(rows(drain(enc, 0)), [
    [0, null, 'first', 0],
    [500, null, 'heartbeat', 1],
  ]);
});

test('bad input is dropped and counted by reason, never thrown', () => {
  const enc = new DeadbandEncoder({ tags: [{ mode: 'absolute', deadband: 1 }, null] });
  const add = (tag: unknown, t: unknown, v: unknown, s: unknown) => enc.add(tag as number, t as number, v as number, s as number);
  add(1, T0, 1, STATUS_GOOD);
  add(5, T0, 1, STATUS_GOOD);
  add('0', T0, 1, STATUS_GOOD);
  add(0, T0, 1, 0x1_0000_0000);
  add(0, Infinity, 1, STATUS_GOOD);
  add(0, T0, '12', STATUS_GOOD);
  add(0, T0, undefined, STATUS_GOOD);
  add(0, T0, NaN, STATUS_GOOD);
  add(0, T0, { v: 1 }, STATUS_GOOD);
  assert.deepEqual(enc.counters(), {
    received: 9,
    emitted: 0,
    dropped: { unknownTag: 3, invalidStatus: 1, invalidTimestamp: 1, invalidValue: 4 },
    suppressed: 0,
    pointsLost: 0,
    keepAlives: 0,
  });
  assert.deepEqual(drain(enc, 0), []);
});

test('a full queue counts lost points and keeps state, so the next sample retries', () => {
  const enc = new DeadbandEncoder({ tags: [{ mode: 'absolute', deadband: 0 }], maxPendingPoints: 16 });
  feed(enc, 0, Array.from({ length: 20 }, (_, i) => i));
  assert.equal(enc.counters().pointsLost, 4);
  enc.flush(0, () => {});
  enc.add(0, T0 + 2000, 19, STATUS_GOOD); // the cloud last got 15, so 19 is still a change
  const [p] = drain<DeadbandPoint>(enc, 0);
  assert.deepEqual([p!.value, p!.suppressed], [19, 4]);
});

test('invalid configuration is rejected at construction with the tag number', () => {
  const bad = [
    { mode: 'absolute', deadband: -1 },
    { mode: 'absolute', deadband: NaN },
    { mode: 'percent', percent: 101, rangeMin: 0, rangeMax: 1 },
    { mode: 'percent', percent: 1, rangeMin: 5, rangeMax: 5 },
    { mode: 'percent', percent: 1, rangeMin: 0 },
    { mode: 'absolute', deadband: 1, heartbeatMs: -1 },
    { mode: 'relative', deadband: 1 },
  ];
  for (const c of bad) {
    assert.throws(() => new DeadbandEncoder({ tags: [null, c as never] }), (e: unknown) => e instanceof ReductionConfigError && e.tag === 1, JSON.stringify(c));
  }
});

type DbRow = [dt: number, value: number | null, reason: string, suppressed: number, deadband: number];
const dbRows = (points: DeadbandPoint[]): DbRow[] => points.map((p) => [p.sourceTimeMs - T0, p.value, p.reason, p.suppressed, p.deadband]);

test('setDeadband: the next sample is sent under the new deadband; points already queued keep theirs', () => {
  // Deadband 0 while a percent deadband's EURange is being read: every change is sent.
  const enc = new DeadbandEncoder({ tags: [{ mode: 'absolute', deadband: 0 }] });
  feed(enc, 0, [10, 10.5, 10.5]);
  enc.setDeadband(0, 2);
  assert.equal(enc.deadbandOf(0), 2);
  // 11 is sent although within 2 of 10.5: the point at 10.5 promised deadband 0 for what follows it.
  // 13 is exactly 2 from 11 (not beyond); 13.5 is.
  feed(enc, 0, [11, 11.5, 13, 13.5], STATUS_GOOD, 3);
  assert.deepEqual(dbRows(drain(enc, 0)), [
    [0, 10, 'first', 0, 0],
    [100, 10.5, 'change', 0, 0],
    [300, 11, 'deadband', 1, 2],
    [600, 13.5, 'change', 2, 2],
  ]);
  assert.deepEqual(enc.counters(), { received: 7, emitted: 4, dropped: NO_DROPS, suppressed: 3, pointsLost: 0, keepAlives: 0 });
});

test('setDeadband before any sample, or to the value in force, sends nothing extra', () => {
  const enc = new DeadbandEncoder({ tags: [{ mode: 'absolute', deadband: 0 }, { mode: 'absolute', deadband: 0.5 }] });
  enc.setDeadband(0, 1.7);
  feed(enc, 0, [60, 61, 61.75]);
  feed(enc, 1, [4, 4.25]);
  enc.setDeadband(1, 0.5);
  feed(enc, 1, [4.5, 4.6], STATUS_GOOD, 2);
  assert.deepEqual(dbRows(drain(enc, 0)), [
    [0, 60, 'first', 0, 1.7],
    [200, 61.75, 'change', 1, 1.7],
    [0, 4, 'first', 0, 0.5],
    [300, 4.6, 'change', 2, 0.5],
  ]);
});

test('setDeadband after a status-only point: the next sample is sent as a deadband point', () => {
  const enc = new DeadbandEncoder({ tags: [{ mode: 'absolute', deadband: 0 }] });
  enc.add(0, T0, NaN, STATUS_BAD);
  enc.setDeadband(0, 3);
  enc.add(0, T0 + 100, NaN, STATUS_BAD);
  enc.add(0, T0 + 200, NaN, STATUS_BAD);
  assert.deepEqual(dbRows(drain(enc, 0)), [
    [0, null, 'first', 0, 0],
    [100, null, 'deadband', 0, 3],
  ]);
});

test('setDeadband rejects an unknown tag and a deadband that is negative or not finite, changing nothing', () => {
  const enc = new DeadbandEncoder({ tags: [{ mode: 'absolute', deadband: 1 }, null] });
  for (const [tag, value] of [[1, 1], [2, 1], [-1, 1], [0.5, 1], [0, -0.1], [0, NaN], [0, Infinity]] as const) {
    assert.throws(() => enc.setDeadband(tag, value), (e: Error) => e instanceof ReductionConfigError, `setDeadband(${tag}, ${value})`);
  }
  assert.equal(enc.deadbandOf(0), 1);
  feed(enc, 0, [5, 5.5]);
  assert.deepEqual(dbRows(drain(enc, 0)), [[0, 5, 'first', 0, 1]]);
});

test('across deadband changes, every Good sample is within its held point\'s deadband', () => {
  const enc = new DeadbandEncoder({ tags: [{ mode: 'absolute', deadband: 0 }] });
  let s = 777;
  let x = 0;
  const xs: number[] = [];
  for (let i = 0; i < 3000; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x += (s / 2 ** 32 - 0.5) * 0.2;
    xs.push(x);
    if (i === 500) enc.setDeadband(0, 0.4);
    if (i === 1500) enc.setDeadband(0, 0.1);
    if (i === 2200) enc.setDeadband(0, 0.6);
    enc.add(0, T0 + i * 100, x, STATUS_GOOD);
  }
  const points = drain<DeadbandPoint>(enc, 0);
  let p = 0;
  let held: DeadbandPoint | undefined;
  for (let i = 0; i < xs.length; i++) {
    if (p < points.length && points[p]!.sourceTimeMs === T0 + i * 100) held = points[p++]!;
    assert.ok(held && Math.abs(xs[i]! - held.value!) <= held.deadband, `sample ${i}: ${xs[i]} vs held ${held?.value} ± ${held?.deadband}`);
  }
  assert.equal(points.filter((q) => q.reason === 'deadband').length, 3);
});

// keepAlive: a server that reports only changes sends no sample for a value that stays put; on the
// caller's word that the source was alive up to asOfMs, a due heartbeat repeats the last point.

const keepAliveRows = (points: DeadbandPoint[]) => points.map((p) => [p.tag, p.sourceTimeMs - T0, p.value, p.statusCode, p.reason, p.suppressed, p.deadband]);

test('keepAlive: repeats the last point once asOf reaches lastSentTime + heartbeat, at asOf, one per call', () => {
  const enc = new DeadbandEncoder({ tags: [{ mode: 'absolute', deadband: 1, heartbeatMs: 60_000 }] });
  feed(enc, 0, [5, 5.25, 5.5]); // the last two inside the deadband: suppressed
  enc.keepAlive(T0 + 59_999);
  assert.deepEqual(rows(drain(enc, 0)), [[0, 5, 'first', 0]]);
  enc.keepAlive(T0 + 60_000);
  // The last *sent* value (5, not 5.5): the point continues the step the cloud holds, with its bound.
  assert.deepEqual(keepAliveRows(drain(enc, 0)), [[0, 60_000, 5, STATUS_GOOD, 'keepAlive', 2, 1]]);
  enc.keepAlive(T0 + 119_999);
  enc.keepAlive(T0 + 100_000); // an older asOf is simply not due
  assert.deepEqual(drain(enc, 0), []);
  // A long silence of the caller gives one point, not one per missed heartbeat.
  enc.keepAlive(T0 + 600_000);
  assert.deepEqual(keepAliveRows(drain(enc, 0)), [[0, 600_000, 5, STATUS_GOOD, 'keepAlive', 0, 1]]);
  assert.deepEqual(enc.counters(), { received: 3, emitted: 3, dropped: NO_DROPS, suppressed: 2, pointsLost: 0, keepAlives: 2 });
});

test('keepAlive restarts the heartbeat like a point; samples after it are judged as before', () => {
  const enc = new DeadbandEncoder({ tags: [{ mode: 'absolute', deadband: 1, heartbeatMs: 1_000 }] });
  enc.add(0, T0, 5, STATUS_GOOD);
  enc.keepAlive(T0 + 1_500);
  enc.add(0, T0 + 2_000, 5.5, STATUS_GOOD); // inside the deadband of 5, heartbeat not due until 2_500
  enc.add(0, T0 + 2_500, 5.5, STATUS_GOOD); // the sample heartbeat, from the keep-alive's time
  enc.add(0, T0 + 2_600, 7, STATUS_GOOD); // 1.5 from 5.5
  assert.deepEqual(keepAliveRows(drain(enc, 0)), [
    [0, 0, 5, STATUS_GOOD, 'first', 0, 1],
    [0, 1_500, 5, STATUS_GOOD, 'keepAlive', 0, 1],
    [0, 2_500, 5.5, STATUS_GOOD, 'heartbeat', 1, 1],
    [0, 2_600, 7, STATUS_GOOD, 'change', 0, 1],
  ]);
});

test('keepAlive: nothing for a tag without heartbeat, without a sample, of no stage, or for a non-finite asOf', () => {
  const enc = new DeadbandEncoder({
    tags: [{ mode: 'absolute', deadband: 1 }, { mode: 'absolute', deadband: 1, heartbeatMs: 0 }, { mode: 'absolute', deadband: 1, heartbeatMs: 10 }, null],
  });
  enc.add(0, T0, 1, STATUS_GOOD);
  enc.add(1, T0, 1, STATUS_GOOD);
  enc.add(3, T0, 1, STATUS_GOOD); // of no stage: dropped, never sent
  drain(enc, 0);
  for (const asOf of [T0 + 1e9, NaN, Infinity, -Infinity]) enc.keepAlive(asOf);
  assert.deepEqual(drain(enc, 0), []);
  assert.equal(enc.counters().keepAlives, 0);
});

test('keepAlive after a status-only point repeats it as still Bad, with no value; Bad -> Good is sent at once', () => {
  const enc = new DeadbandEncoder({ tags: [{ mode: 'absolute', deadband: 1, heartbeatMs: 1_000 }] });
  enc.add(0, T0, 3, STATUS_GOOD);
  enc.add(0, T0 + 100, NaN, 0x80310000);
  enc.keepAlive(T0 + 1_100);
  enc.add(0, T0 + 1_200, 3, STATUS_GOOD);
  assert.deepEqual(keepAliveRows(drain(enc, 0)), [
    [0, 0, 3, STATUS_GOOD, 'first', 0, 1],
    [0, 100, null, 0x80310000, 'status', 0, 1],
    [0, 1_100, null, 0x80310000, 'keepAlive', 0, 1],
    [0, 1_200, 3, STATUS_GOOD, 'status', 0, 1],
  ]);
});

test('keepAlive repeats the whole status code of the last point, info bits included', () => {
  const enc = new DeadbandEncoder({ tags: [{ mode: 'absolute', deadband: 1, heartbeatMs: 1_000 }] });
  enc.add(0, T0, 3, 0x00000400 | 0x100);
  enc.add(0, T0 + 100, 3, STATUS_GOOD); // same severity and sub-code: suppressed
  enc.keepAlive(T0 + 1_000);
  assert.deepEqual(keepAliveRows(drain(enc, 0)).map((r) => [r[3], r[4]]), [
    [0x500, 'first'],
    [0x500, 'keepAlive'],
  ]);
});

test('keepAlive after setDeadband carries the deadband of the point it repeats; the next sample is still a deadband point', () => {
  // A percent deadband: deadband 0 until the EURange is read, so the held value is exact.
  const enc = new DeadbandEncoder({ tags: [{ mode: 'absolute', deadband: 0, heartbeatMs: 1_000 }] });
  enc.add(0, T0, 10, STATUS_GOOD);
  enc.setDeadband(0, 2);
  enc.keepAlive(T0 + 1_000);
  enc.keepAlive(T0 + 2_000);
  enc.add(0, T0 + 2_100, 10.5, STATUS_GOOD);
  enc.add(0, T0 + 2_200, 11, STATUS_GOOD);
  assert.deepEqual(dbRows(drain(enc, 0)), [
    [0, 10, 'first', 0, 0],
    [1_000, 10, 'keepAlive', 0, 0],
    [2_000, 10, 'keepAlive', 0, 0],
    [2_100, 10.5, 'deadband', 0, 2],
  ]);
});

test('keepAlive with a full queue counts the lost points and keeps their tags due for the next call', () => {
  const n = 20;
  const enc = new DeadbandEncoder({ tags: Array.from({ length: n }, () => ({ mode: 'absolute' as const, deadband: 1, heartbeatMs: 1_000 })), maxPendingPoints: 16 });
  for (let tag = 0; tag < n; tag++) enc.add(tag, T0, tag, STATUS_GOOD);
  assert.equal(enc.counters().pointsLost, 4);
  enc.flush(0, () => {});
  for (let tag = 16; tag < n; tag++) enc.add(tag, T0 + 100, tag, STATUS_GOOD); // their first points, at last
  drain(enc, 0);
  enc.keepAlive(T0 + 1_000); // tags 0..15 are due; 16..19 sent at T0 + 100 are not
  assert.deepEqual(drain<DeadbandPoint>(enc, 0).map((p) => p.tag), Array.from({ length: 16 }, (_, i) => i));
  for (let tag = 0; tag < 16; tag++) enc.add(tag, T0 + 1_050, tag + 5, STATUS_GOOD); // 16 changes fill the queue
  enc.keepAlive(T0 + 1_100); // 16..19 are due, the queue is full
  assert.equal(enc.counters().pointsLost, 8);
  enc.flush(0, () => {});
  enc.keepAlive(T0 + 1_200);
  assert.deepEqual(keepAliveRows(drain(enc, 0)).map((r) => [r[0], r[1], r[2], r[4]]), [
    [16, 1_200, 16, 'keepAlive'],
    [17, 1_200, 17, 'keepAlive'],
    [18, 1_200, 18, 'keepAlive'],
    [19, 1_200, 19, 'keepAlive'],
  ]);
  assert.equal(enc.counters().keepAlives, 20);
});

test('with keep-alives, every Good sample is still within its held point\'s deadband, and a tag\'s points stay in time order', () => {
  const enc = new DeadbandEncoder({ tags: [{ mode: 'absolute', deadband: 0.5, heartbeatMs: 5_000 }] });
  // An on-change server: a sample only when the value moves, long quiet stretches in between.
  let s = 4242;
  let x = 0;
  const samples: [number, number][] = [];
  for (let t = 0; t < 600_000; t += 100) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    if (s / 2 ** 32 < 0.02) {
      x += (s / 2 ** 32) * 50 - 0.5;
      samples.push([t, x]);
    }
  }
  let k = 0;
  const points: DeadbandPoint[] = [];
  for (let tick = 1_000; tick <= 600_000; tick += 1_000) {
    while (k < samples.length && samples[k]![0] < tick) enc.add(0, T0 + samples[k]![0], samples[k]![1], STATUS_GOOD), k++;
    enc.keepAlive(T0 + tick - 500); // the source vouched up to half a tick ago
    enc.flush(0, (p) => points.push({ ...p }));
  }
  assert.ok(points.some((p) => p.reason === 'keepAlive'));
  for (let i = 1; i < points.length; i++) assert.ok(points[i]!.sourceTimeMs > points[i - 1]!.sourceTimeMs, `point ${i} in time order`);
  // The vouched time advances by a tick (1 s) and lags the samples by 500 ms: a heartbeat is at most that late.
  for (let i = 1; i < points.length; i++) assert.ok(points[i]!.sourceTimeMs - points[i - 1]!.sourceTimeMs <= 5_000 + 1_500, `point ${i}: silence bounded by heartbeat + tick + lag`);
  let p = 0;
  for (const [t, v] of samples) {
    while (p + 1 < points.length && points[p + 1]!.sourceTimeMs <= T0 + t) p++;
    assert.ok(Math.abs(v - points[p]!.value!) <= 0.5, `sample at ${t}: ${v} vs held ${points[p]!.value}`);
  }
  const c = enc.counters();
  assert.equal(points.length - c.keepAlives + c.suppressed, samples.length, 'each sample is a non-keep-alive point or suppressed');
});
