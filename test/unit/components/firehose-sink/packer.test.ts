// Packing lines into Firehose records and calls: whole lines only, in order, within the service
// limits (500 records, 4 MiB per call, 1,000 KiB per record), and the billing gain it is for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BILLING_UNIT_BYTES, CallPacker, MAX_CALL_BYTES, MAX_RECORD_BYTES, MAX_RECORDS_PER_CALL, billedBytes, packLines, recordBodies } from '../../../../components/firehose-sink/src/packer';

test('the limits are the documented Firehose ones', () => {
  assert.equal(MAX_RECORDS_PER_CALL, 500);
  assert.equal(MAX_CALL_BYTES, 4 * 1024 * 1024);
  assert.equal(MAX_RECORD_BYTES, 1000 * 1024);
  assert.equal(BILLING_UNIT_BYTES, 5 * 1024);
});

test('whole lines fill a record up to the target, then the next record starts', () => {
  const { records, lines } = packLines([400, 400, 300, 100, 700, 1000], 1000);
  assert.equal(lines, 6);
  assert.deepEqual(records, [
    { first: 0, count: 2, bytes: 800 },
    { first: 2, count: 2, bytes: 400 },
    { first: 4, count: 1, bytes: 700 },
    { first: 5, count: 1, bytes: 1000 },
  ]);
  const bodies = recordBodies(records, [400, 400, 300, 100, 700, 1000].map((n, i) => Buffer.alloc(n, 97 + i)));
  assert.deepEqual(bodies.map((b) => b.length), [800, 400, 700, 1000]);
  assert.equal(bodies[1]!.toString(), 'c'.repeat(300) + 'd'.repeat(100), 'lines are concatenated in order, never split');
});

test('a line longer than the target still gets a record of its own (up to the Firehose limit)', () => {
  const { records } = packLines([100, 50_000, 100], 10_000);
  assert.deepEqual(records.map((r) => [r.count, r.bytes]), [[1, 100], [1, 50_000], [1, 100]]);
  assert.throws(() => new CallPacker(10_000).add(MAX_RECORD_BYTES + 1), RangeError);
  assert.equal(packLines([MAX_RECORD_BYTES], MAX_RECORD_BYTES).lines, 1);
});

test('a call holds at most 500 records', () => {
  const small = Array.from({ length: 2000 }, () => 100);
  const { records, lines } = packLines(small, 100);
  assert.equal(records.length, MAX_RECORDS_PER_CALL);
  assert.equal(lines, 500);
  // With a larger target, the same lines pack 10 to a record: all of them fit one call.
  const packed = packLines(small, 1000);
  assert.equal(packed.lines, 2000);
  assert.equal(packed.records.length, 200);
});

test('a call holds at most 4 MiB, and the line that would pass it starts the next call', () => {
  const line = 300_000;
  const { records, lines } = packLines(Array.from({ length: 20 }, () => line), MAX_RECORD_BYTES);
  assert.equal(lines, Math.floor(MAX_CALL_BYTES / line)); // 13 lines = 3.9 MB
  assert.ok(records.reduce((n, r) => n + r.bytes, 0) <= MAX_CALL_BYTES);
  assert.ok(records.every((r) => r.bytes <= MAX_RECORD_BYTES));
  // Exactly 4 MiB fits.
  const exact = packLines([MAX_RECORD_BYTES, MAX_RECORD_BYTES, MAX_RECORD_BYTES, MAX_RECORD_BYTES, MAX_CALL_BYTES - 4 * MAX_RECORD_BYTES, 1], MAX_RECORD_BYTES);
  assert.equal(exact.lines, 5);
  assert.equal(exact.records.reduce((n, r) => n + r.bytes, 0), MAX_CALL_BYTES);
});

test('order is kept: a small line never jumps ahead of one that did not fit', () => {
  const p = new CallPacker(MAX_RECORD_BYTES);
  for (let i = 0; i < 4; i++) assert.equal(p.add(1_000_000), true);
  assert.equal(p.add(1_000_000), false);
  assert.equal(p.lineCount, 4);
  assert.equal(p.bytes, 4_000_000);
});

test('packed, 1 KB lines are billed about 5 times less than one record per line', () => {
  const lines = Array.from({ length: 1000 }, () => 1024);
  const oneEach = billedBytes(lines);
  const packed = packLines(lines, MAX_RECORD_BYTES).records.map((r) => r.bytes);
  assert.equal(oneEach, 1000 * BILLING_UNIT_BYTES);
  assert.ok(billedBytes(packed) < 1024 * 1000 + packed.length * BILLING_UNIT_BYTES);
  assert.ok(oneEach / billedBytes(packed) > 4.5, `${oneEach} vs ${billedBytes(packed)}`);
});
