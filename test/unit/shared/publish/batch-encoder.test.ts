import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchEncoder, type BatchEncoderConfig, type EncodedMessage } from '../../../../shared/publish/batch-encoder';
import { PublishConfigError } from '../../../../shared/publish/errors';
import type { ChangePoint, DeadbandPoint, RmsWindowRecord } from '../../../../shared/reduction';
import { decode } from './helpers';

const T0 = 1_700_000_000_000;
const ID = { thingName: 'gw-1', site: 'plant-a', area: 'line-1', mappingVersion: 'm7', runId: 'r1' };
const NO_DROPS = { invalidRow: 0, overflow: 0, tooLarge: 0 };

const enc = (over: Partial<BatchEncoderConfig> = {}) => new BatchEncoder({ ...ID, maxMessageBytes: 131_072, ...over });

function rmsRecord(tag: number, over: Partial<RmsWindowRecord> = {}): RmsWindowRecord {
  return { tag, windowStartMs: T0, windowEndMs: T0 + 1000, windowsMissed: 0, status: 'ok', count: 10, badCount: 0, coverage: 1, rms: 2, mean: 0.5, min: -1, max: 3, peak: 3, ...over };
}
function dbPoint(tag: number, dt: number, value: number | null, over: Partial<DeadbandPoint> = {}): DeadbandPoint {
  return { tag, sourceTimeMs: T0 + dt, value, statusCode: value === null ? 0x80000000 : 0, suppressed: 0, deadband: 0.5, reason: 'change', ...over };
}
function changePoint(tag: number, dt: number, value: ChangePoint['value']): ChangePoint {
  return { tag, sourceTimeMs: T0 + dt, value, statusCode: value === null ? 0x80000000 : 0, suppressed: 1, reason: 'change' };
}

test('an rms message, byte for byte: columns against tag indices, times from t0, null for missing statistics', () => {
  const e = enc({ rmsFields: ['rms', 'max'] });
  e.addRms(rmsRecord(0, { rms: 1 / 3, max: 0.75 }));
  e.addRms(rmsRecord(7, { status: 'noGoodData', count: 0, badCount: 10, coverage: 0, rms: null, mean: null, min: null, max: null, peak: null }));
  e.addRms(rmsRecord(9, { windowStartMs: T0 - 3000, windowEndMs: T0, windowsMissed: 3, status: 'noData', count: 0, coverage: 0, rms: null, mean: null, min: null, max: null, peak: null }));
  const [m, ...rest] = e.drain(T0 + 1500);
  assert.equal(rest.length, 0);
  assert.equal(
    m!.payload.toString(),
    '{"v":1,"type":"rms","thingName":"gw-1","site":"plant-a","area":"line-1","mappingVersion":"m7","runId":"r1",' +
      '"statusNames":["ok","noGoodData","noData"],"seq":0,"t0":1700000000000,"at":1700000001500,' +
      '"cols":{"tag":[0,7,9],"dt":[0,0,-3000],"status":[0,1,2],"count":[10,0,0],"bad":[0,10,0],"missed":[0,0,3],"rms":[0.3333333333,null,null],"max":[0.75,null,null]}}',
  );
  assert.deepEqual({ stream: m!.stream, seq: m!.seq, rows: m!.rows }, { stream: 'rms', seq: 0, rows: 3 });
});

test('deadband and change messages carry value, status code, suppressed (and the deadband)', () => {
  const e = enc();
  e.addDeadband(dbPoint(3, 250, 20.125, { suppressed: 4 }));
  e.addDeadband(dbPoint(4, 100, null, { deadband: 0.25 }));
  e.addChange(changePoint(5, 0, true));
  e.addChange(changePoint(6, 900, 'Störung "A"'));
  e.addChange(changePoint(6, 950, null));
  e.addChange(changePoint(8, 1000, 42.5));
  const [db, ch] = e.drain(T0 + 2000);
  assert.equal(db!.payload.toString().slice(db!.payload.toString().indexOf('"seq"')), '"seq":0,"t0":1700000000250,"at":1700000002000,"cols":{"tag":[3,4],"dt":[0,-150],"value":[20.125,null],"status":[0,2147483648],"suppressed":[4,0],"deadband":[0.5,0.25]}}');
  assert.deepEqual(
    decode(ch!.payload).rows.map((r) => [r.tag, r.time, r.value, r.status, r.suppressed]),
    [
      [5, T0, true, 0, 1],
      [6, T0 + 900, 'Störung "A"', 0, 1],
      [6, T0 + 950, null, 0x80000000, 1],
      [8, T0 + 1000, 42.5, 0, 1],
    ],
  );
  assert.equal(decode(ch!.payload).header.type, 'change');
});

test('numbers: significant digits, integers in full, shortest form, fractional times to the microsecond', () => {
  const e = enc({ significantDigits: 4, rmsFields: ['rms', 'mean', 'min', 'max', 'peak'] });
  e.addRms(rmsRecord(1, { windowStartMs: T0 + 0.123046875 /* exact in float64 at this magnitude */, rms: 0.1 + 0.2, mean: -1.23456e-9, min: 123456.7, max: 2 ** 40, peak: 9.99951 }));
  const { rows } = decode(e.drain(T0)[0]!.payload);
  // t0 is the floor of the first row's time, so offsets are small and non-negative within a window.
  assert.deepEqual(rows[0], { tag: 1, dt: 0.123, status: 0, count: 10, bad: 0, missed: 0, rms: 0.3, mean: -1.235e-9, min: 123500, max: 2 ** 40, peak: 10, time: T0 + 0.123 });
});

test('ten significant digits keep the relative error under 1e-9 for every magnitude', () => {
  const e = enc({ rmsFields: ['rms'] });
  const xs: number[] = [];
  let s = 12345;
  for (let i = 0; i < 2000; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const x = (s / 2 ** 32 - 0.5) * 10 ** ((i % 40) - 20);
    xs.push(x);
    e.addRms(rmsRecord(i, { rms: x }));
  }
  const got = e.drain(T0).flatMap((m) => decode(m.payload).rows.map((r) => r.rms as number));
  assert.equal(got.length, xs.length);
  got.forEach((g, i) => assert.ok(Math.abs(g - xs[i]!) <= 5e-10 * Math.abs(xs[i]!), `${xs[i]} written as ${g}`));
});

test('a stream splits across messages without splitting a row; seq is contiguous per stream across drains', () => {
  const e = enc({ maxMessageBytes: 1024, rmsFields: ['rms'] });
  const all: EncodedMessage[] = [];
  for (let tick = 0; tick < 3; tick++) {
    for (let tag = 0; tag < 100; tag++) e.addRms(rmsRecord(tag, { windowStartMs: T0 + tick * 1000, rms: tag + 0.5 }));
    for (let tag = 0; tag < 30; tag++) e.addDeadband(dbPoint(tag, tick * 1000 + tag, tag * 1.5));
    all.push(...e.drain(T0 + (tick + 1) * 1000));
  }
  for (const m of all) assert.ok(m.payload.length <= 1024, `${m.stream} ${m.seq}: ${m.payload.length} bytes`);
  const seqs = (stream: string) => all.filter((m) => m.stream === stream).map((m) => m.seq);
  assert.deepEqual(seqs('rms'), [...seqs('rms').keys()]);
  assert.deepEqual(seqs('deadband'), [...seqs('deadband').keys()]);
  assert.ok(seqs('rms').length > 3 && seqs('deadband').length >= 3, 'the input must need several messages per drain');
  // Every row arrives exactly once, in order.
  const rmsRows = all.filter((m) => m.stream === 'rms').flatMap((m) => decode(m.payload).rows.map((r) => [r.time, r.tag, r.rms]));
  const expected = [0, 1, 2].flatMap((tick) => Array.from({ length: 100 }, (_, tag) => [T0 + tick * 1000, tag, tag + 0.5]));
  assert.deepEqual(rmsRows, expected);
  const c = e.counters();
  assert.deepEqual([c.received, c.emitted, c.dropped], [390, 390, NO_DROPS]);
  assert.equal(c.payloadBytes, all.reduce((a, m) => a + m.payload.length, 0));
  assert.equal(c.streams.rms.nextSeq, seqs('rms').length);
  assert.equal(c.streams.change.nextSeq, 0);
});

test('a message is filled to the byte: the next row would not have fitted', () => {
  const e = enc({ maxMessageBytes: 600, rmsFields: ['rms'] });
  for (let tag = 0; tag < 50; tag++) e.addRms(rmsRecord(tag, { rms: 1.25 }));
  const msgs = e.drain(T0);
  // Rows here cost 23 or 24 bytes with their commas: each full message is within a row of the limit.
  for (const m of msgs.slice(0, -1)) assert.ok(m.payload.length > 600 - 24 && m.payload.length <= 600, String(m.payload.length));
});

test('a row that fits no message is dropped and counted, and does not use up a seq', () => {
  const e = enc({ maxMessageBytes: 512 });
  e.addChange(changePoint(1, 0, 'x'.repeat(600)));
  e.addChange(changePoint(2, 10, 'ok'));
  const msgs = e.drain(T0);
  assert.deepEqual(msgs.map((m) => [m.stream, m.seq, m.rows]), [['change', 0, 1]]);
  assert.deepEqual(decode(msgs[0]!.payload).rows.map((r) => [r.tag, r.dt]), [[2, 0]]);
  assert.deepEqual(e.counters().dropped, { invalidRow: 0, overflow: 0, tooLarge: 1 });
});

test('records are copied: the stages reuse one object per emit call', () => {
  const e = enc({ rmsFields: ['rms'] });
  const r = rmsRecord(0, { rms: 1 });
  e.addRms(r);
  r.tag = 1;
  r.rms = 2;
  e.addRms(r);
  r.tag = 99;
  r.rms = 99;
  assert.deepEqual(decode(e.drain(T0)[0]!.payload).rows.map((x) => [x.tag, x.rms]), [[0, 1], [1, 2]]);
});

test('invalid rows and rows beyond maxPendingRows are dropped and counted, never thrown', () => {
  const e = enc({ maxPendingRows: 2 });
  e.addDeadband(dbPoint(-1, 0, 1));
  e.addDeadband(dbPoint(1.5, 0, 1));
  e.addDeadband(dbPoint(1, NaN, 1));
  e.addChange(changePoint(1, 0, { obj: 1 } as unknown as string));
  e.addRms(rmsRecord(1, { status: 'bogus' as 'ok' }));
  for (let i = 0; i < 3; i++) e.addDeadband(dbPoint(i, i, i));
  assert.equal(e.pendingRows, 2);
  assert.equal(e.drain(T0)[0]!.rows, 2);
  const c = e.counters();
  assert.deepEqual([c.received, c.emitted, c.dropped], [8, 2, { invalidRow: 5, overflow: 1, tooLarge: 0 }]);
  assert.deepEqual(e.drain(T0), []);
});

test('bytes per row are reported per stream and in total', () => {
  const e = enc();
  for (let i = 0; i < 10; i++) e.addDeadband(dbPoint(i, i, i + 0.5));
  const [m] = e.drain(T0);
  const c = e.counters();
  assert.equal(c.streams.deadband.payloadBytes, m!.payload.length);
  assert.equal(c.streams.deadband.bytesPerRow, m!.payload.length / 10);
  assert.equal(c.bytesPerRow, m!.payload.length / 10);
  assert.deepEqual([c.messages, c.streams.deadband.messages, c.streams.deadband.rows], [1, 1, 10]);
});

test('configuration errors throw PublishConfigError from the constructor only', () => {
  const bad: Partial<BatchEncoderConfig>[] = [
    { maxMessageBytes: 511 },
    { maxMessageBytes: 131_073 },
    { maxMessageBytes: 1000.5 },
    { significantDigits: 0 },
    { significantDigits: 18 },
    { rmsFields: ['rms', 'rms'] },
    { rmsFields: ['median' as 'rms'] },
    { maxPendingRows: 0 },
    { thingName: '' },
    { maxMessageBytes: 512, site: 'x'.repeat(400) },
  ];
  for (const over of bad) assert.throws(() => enc(over), PublishConfigError, JSON.stringify(over).slice(0, 80));
  const err = (() => {
    try {
      enc({ maxMessageBytes: 100 });
    } catch (e) {
      return e as PublishConfigError;
    }
  })();
  assert.equal(err?.name, 'PublishConfigError');
  assert.equal(err?.field, 'maxMessageBytes');
});
