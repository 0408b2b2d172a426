import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChangeEncoder, type ChangePoint } from '../../../../shared/reduction/change-encoder';
import { ReductionConfigError } from '../../../../shared/reduction/errors';
import { STATUS_BAD, STATUS_GOOD, STATUS_UNCERTAIN } from '../../../../shared/reduction/status';
import { drain } from './helpers';

const T0 = 1_700_000_000_050;
const rows = (points: ChangePoint[]) => points.map((p) => [p.tag, p.sourceTimeMs - T0, p.value, p.reason, p.suppressed]);

test('strings and booleans publish on change only, compared by value', () => {
  const enc = new ChangeEncoder({ tags: [{}, {}] });
  // Strings built at run time are distinct objects with equal content: they must compare equal.
  const states = ['RUN', 'RU' + 'N', ['R', 'U', 'N'].join(''), 'STOP', 'STOP', 'RUN'];
  states.forEach((v, i) => enc.add(0, T0 + i * 100, v, STATUS_GOOD));
  [false, false, true, true, true, false].forEach((v, i) => enc.add(1, T0 + i * 100, v, STATUS_GOOD));
  assert.deepEqual(rows(drain(enc, 0)), [
    // in the order they were decided: all of tag 0's samples were added first
    [0, 0, 'RUN', 'first', 0],
    [0, 300, 'STOP', 'change', 2],
    [0, 500, 'RUN', 'change', 1],
    [1, 0, false, 'first', 0],
    [1, 200, true, 'change', 1],
    [1, 500, false, 'change', 2],
  ]);
  assert.deepEqual(enc.counters(), {
    received: 12,
    emitted: 6,
    dropped: { unknownTag: 0, invalidStatus: 0, invalidTimestamp: 0, invalidValue: 0 },
    suppressed: 6,
    pointsLost: 0,
    keepAlives: 0,
  });
});

test('type matters: "1", 1 and true are different values', () => {
  const enc = new ChangeEncoder({ tags: [{}] });
  ['1', 1, true, true].forEach((v, i) => enc.add(0, T0 + i * 100, v, STATUS_GOOD));
  assert.deepEqual(drain<ChangePoint>(enc, 0).map((p) => p.value), ['1', 1, true]);
});

test('status changes publish once; Bad -> Good publishes the value even if unchanged', () => {
  const enc = new ChangeEncoder({ tags: [{}] });
  const steps: [unknown, number][] = [
    ['A', STATUS_GOOD],
    [null, STATUS_BAD],
    [null, STATUS_BAD],
    ['A', STATUS_UNCERTAIN],
    ['A', STATUS_GOOD],
    ['A', STATUS_GOOD],
  ];
  steps.forEach(([v, s], i) => enc.add(0, T0 + i * 100, v, s));
  assert.deepEqual(
    drain<ChangePoint>(enc, 0).map((p) => [p.sourceTimeMs - T0, p.value, p.statusCode, p.reason, p.suppressed]),
    [
      [0, 'A', STATUS_GOOD, 'first', 0],
      [100, null, STATUS_BAD, 'status', 0],
      [300, null, STATUS_UNCERTAIN, 'status', 1],
      [400, 'A', STATUS_GOOD, 'status', 0],
    ],
  );
});

test('optional heartbeat re-sends an unchanged value after the silence', () => {
  const enc = new ChangeEncoder({ tags: [{ heartbeatMs: 60_000 }, {}] });
  for (let i = 0; i <= 1300; i++) {
    enc.add(0, T0 + i * 100, 'IDLE', STATUS_GOOD);
    enc.add(1, T0 + i * 100, 'IDLE', STATUS_GOOD);
  }
  assert.deepEqual(rows(drain(enc, 0)), [
    [0, 0, 'IDLE', 'first', 0],
    [1, 0, 'IDLE', 'first', 0],
    [0, 60_000, 'IDLE', 'heartbeat', 599],
    [0, 120_000, 'IDLE', 'heartbeat', 599],
  ]);
});

test('non-primitive and non-finite values are dropped, never thrown and never compared by identity', () => {
  const enc = new ChangeEncoder({ tags: [{}] });
  [{ text: 'A' }, ['A'], undefined, null, NaN, Infinity, 1n].forEach((v, i) => enc.add(0, T0 + i * 100, v, STATUS_GOOD));
  enc.add(3, T0, 'A', STATUS_GOOD);
  enc.add(0, NaN, 'A', STATUS_GOOD);
  enc.add(0, T0, 'A', 0.5);
  assert.deepEqual(enc.counters().dropped, { unknownTag: 1, invalidStatus: 1, invalidTimestamp: 1, invalidValue: 7 });
  assert.deepEqual(drain(enc, 0), []);
});

test('invalid configuration is rejected at construction', () => {
  assert.throws(() => new ChangeEncoder({ tags: [{ heartbeatMs: -5 }] }), (e: unknown) => e instanceof ReductionConfigError && e.tag === 0);
  assert.throws(() => new ChangeEncoder({ tags: [], maxPendingPoints: 1.5 }), ReductionConfigError);
});

test('keepAlive: a quiet tag repeats its last value at asOf once its heartbeat is due; tags without heartbeat or sample get none', () => {
  const enc = new ChangeEncoder({ tags: [{ heartbeatMs: 300_000 }, { heartbeatMs: 300_000 }, {}, { heartbeatMs: 300_000 }] });
  enc.add(0, T0, 'RUNNING', STATUS_GOOD);
  enc.add(0, T0 + 100, 'RUNNING', STATUS_GOOD); // a server that samples: suppressed
  enc.add(1, T0 + 1_000, false, STATUS_GOOD);
  enc.add(2, T0, 'IDLE', STATUS_GOOD);
  // tag 3 never had a sample: there is no value to repeat
  drain(enc, 0);
  enc.keepAlive(T0 + 300_500);
  assert.deepEqual(rows(drain(enc, 0)), [[0, 300_500, 'RUNNING', 'keepAlive', 1]]);
  enc.keepAlive(T0 + 301_000);
  assert.deepEqual(rows(drain(enc, 0)), [[1, 301_000, false, 'keepAlive', 0]]);
  enc.add(0, T0 + 400_000, 'STOPPED', STATUS_GOOD);
  enc.keepAlive(T0 + 601_000); // tag 0 changed at 400_000: not due; tag 1 is (its keep-alive restarted the heartbeat)
  assert.deepEqual(rows(drain(enc, 0)), [
    [0, 400_000, 'STOPPED', 'change', 0],
    [1, 601_000, false, 'keepAlive', 0],
  ]);
  enc.keepAlive(NaN);
  assert.deepEqual(drain(enc, 0), []);
  assert.deepEqual(enc.counters(), {
    received: 5,
    emitted: 7, // three first points, three keep-alives, one change
    dropped: { unknownTag: 0, invalidStatus: 0, invalidTimestamp: 0, invalidValue: 0 },
    suppressed: 1,
    pointsLost: 0,
    keepAlives: 3,
  });
});

test('keepAlive after a status-only point repeats the status with no value', () => {
  const enc = new ChangeEncoder({ tags: [{ heartbeatMs: 1_000 }] });
  enc.add(0, T0, true, STATUS_GOOD);
  enc.add(0, T0 + 100, null, STATUS_UNCERTAIN);
  enc.keepAlive(T0 + 1_100);
  enc.add(0, T0 + 1_200, true, STATUS_GOOD);
  assert.deepEqual(
    drain<ChangePoint>(enc, 0).map((p) => [p.sourceTimeMs - T0, p.value, p.statusCode, p.reason]),
    [
      [0, true, STATUS_GOOD, 'first'],
      [100, null, STATUS_UNCERTAIN, 'status'],
      [1_100, null, STATUS_UNCERTAIN, 'keepAlive'],
      [1_200, true, STATUS_GOOD, 'status'],
    ],
  );
});
