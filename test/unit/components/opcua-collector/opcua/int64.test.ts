// 64-bit integers from node-opcua's [high, low] pairs: exact numbers within ±2^53, the pair left
// as it is (dropped downstream as wrongType) beyond; the dispatcher converts only Int64/UInt64.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DataValue, StatusCodes, VariantArrayType } from 'node-opcua-client';
import { int64ToNumber } from '../../../../../components/opcua-collector/src/opcua/int64';
import { SampleDispatcher } from '../../../../../components/opcua-collector/src/opcua/subscription';

const pair = (n: bigint): [number, number] => {
  const u = BigInt.asUintN(64, n);
  return [Number(u >> 32n), Number(u & 0xffff_ffffn)];
};

test('UInt64 and Int64 pairs become the exact number within ±2^53', () => {
  for (const n of [0n, 1n, 4_294_967_295n, 4_294_967_296n, 123_456_789_012n, 2n ** 53n - 1n]) {
    assert.equal(int64ToNumber(pair(n), false), Number(n), `UInt64 ${n}`);
    assert.equal(int64ToNumber(pair(n), true), Number(n), `Int64 ${n}`);
  }
  for (const n of [-1n, -2n, -4_294_967_296n, -4_294_967_297n, -987_654_321_098n, -(2n ** 53n)]) {
    assert.equal(int64ToNumber(pair(n), true), Number(n), `Int64 ${n}`);
  }
});

test('beyond 2^53, or not a pair of numbers: unchanged', () => {
  const big = pair(2n ** 53n);
  assert.equal(int64ToNumber(big, false), big);
  const negBig = pair(-(2n ** 53n) - 1n);
  assert.equal(int64ToNumber(negBig, true), negBig);
  // The same bits read as UInt64 are a huge positive number: not exact either.
  const minusOne = pair(-1n);
  assert.equal(int64ToNumber(minusOne, false), minusOne);
  for (const v of [7, 'x', [1], [1, 2, 3], ['1', 2], null, undefined]) assert.equal(int64ToNumber(v, true), v);
});

test('the dispatcher hands 64-bit integers to the sink as numbers, and everything else untouched', () => {
  const got: unknown[] = [];
  const counters = { notifications: 0, overflowLost: 0, reconnects: 0, connectFailures: 0, identityRejected: 0, certificateRejected: 0, clientCertificateRejected: 0, tagsWithoutSourceTimestamp: 0, tagsWithoutTimestamp: 0, samplesTimedByServer: 0, samplesTimedByArrival: 0, watchdogResets: 0, monitoredItemsFailed: 0 };
  const d = new SampleDispatcher((_tag, _ms, value) => got.push(value), counters, 1, 0);
  const dv = (dataType: string, value: unknown) =>
    new DataValue({ value: { dataType, arrayType: VariantArrayType.Scalar, value }, statusCode: StatusCodes.Good, sourceTimestamp: new Date(1_000) });
  d.deliver(0, dv('UInt64', pair(5_000_000_000n)));
  d.deliver(0, dv('Int64', pair(-42n)));
  d.deliver(0, dv('Double', 1.5));
  d.deliver(0, dv('String', 'run'));
  assert.deepEqual(got, [5_000_000_000, -42, 1.5, 'run']);
});
