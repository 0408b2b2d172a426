import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReductionConfigError } from '../../../../shared/reduction/errors';
import { Gate, SampleGate, passes } from '../../../../shared/reduction/sample-gate';
import { STATUS_BAD, STATUS_GOOD, STATUS_UNCERTAIN } from '../../../../shared/reduction/status';

const T0 = 1_700_000_000_050;
const NO_DROPS = { unknownTag: 0, invalidStatus: 0, invalidTimestamp: 0, outOfOrder: 0, duplicate: 0, wrongType: 0, nan: 0, infinite: 0 };

test('good samples of the expected kind pass as VALUE', () => {
  const gate = new SampleGate({ kinds: ['numeric', 'boolean', 'string', 'any'] });
  assert.equal(gate.check(0, T0, 1.5, STATUS_GOOD), Gate.VALUE);
  assert.equal(gate.check(0, T0 + 100, -0, STATUS_GOOD), Gate.VALUE);
  assert.equal(gate.check(1, T0, false, STATUS_GOOD), Gate.VALUE);
  assert.equal(gate.check(2, T0, '', STATUS_GOOD), Gate.VALUE);
  assert.equal(gate.check(3, T0, { any: 'object' }, STATUS_GOOD), Gate.VALUE);
  assert.equal(gate.check(3, T0 + 1, null, STATUS_GOOD), Gate.VALUE);
  assert.deepEqual(gate.counters(), { received: 6, emitted: 6, dropped: NO_DROPS, statusOnly: { bad: 0, uncertain: 0 } });
});

test('every kind of bad input is dropped and counted by reason, never thrown', () => {
  const gate = new SampleGate({ kinds: ['numeric', 'boolean', 'string', 'any'] });
  const results: number[] = [];
  const check = (tag: unknown, t: unknown, v: unknown, s: unknown) => results.push(gate.check(tag as number, t as number, v, s as number));
  // wrong types for a numeric tag, each at a fresh timestamp so order is not what fails
  let t = T0;
  for (const v of [undefined, null, '12', true, { value: 12 }, [12], 12n]) check(0, (t += 100), v, STATUS_GOOD);
  check(0, (t += 100), NaN, STATUS_GOOD);
  check(0, (t += 100), Infinity, STATUS_GOOD);
  check(0, (t += 100), -Infinity, STATUS_GOOD);
  check(1, T0, 1, STATUS_GOOD); // number for a boolean tag
  check(1, T0 + 1, 'true', STATUS_GOOD);
  check(2, T0, 42, STATUS_GOOD); // number for a string tag
  check(2, T0 + 1, undefined, STATUS_GOOD);
  check(3, T0, undefined, STATUS_GOOD); // `any` still needs a value
  check(3, T0 + 1, NaN, STATUS_GOOD);
  check(3, T0 + 2, Infinity, STATUS_GOOD);
  // timestamps
  for (const bad of [NaN, Infinity, -Infinity, undefined, '1700000000000', null]) check(0, bad, 1, STATUS_GOOD);
  // tags
  for (const bad of [-1, 4, 1.5, NaN, undefined, '0', 2 ** 32]) check(bad, T0, 1, STATUS_GOOD);
  // status codes
  for (const bad of [-1, 2 ** 32, 0.5, NaN, undefined, '0']) check(0, T0, 1, bad);

  assert.ok(results.every((r) => !passes(r as never)), 'nothing passed');
  assert.deepEqual(gate.counters(), {
    received: results.length,
    emitted: 0,
    dropped: { unknownTag: 7, invalidStatus: 6, invalidTimestamp: 6, outOfOrder: 0, duplicate: 0, wrongType: 12, nan: 2, infinite: 3 },
    statusOnly: { bad: 0, uncertain: 0 },
  });
});

test('out-of-order and duplicate timestamps are dropped; the last accepted time only moves on a pass', () => {
  const gate = new SampleGate({ kinds: ['numeric', 'numeric'] });
  assert.equal(gate.check(0, T0, 1, STATUS_GOOD), Gate.VALUE);
  assert.equal(gate.check(0, T0, 2, STATUS_GOOD), Gate.DUPLICATE);
  assert.equal(gate.check(0, T0 - 100, 3, STATUS_GOOD), Gate.OUT_OF_ORDER);
  assert.equal(gate.check(0, T0 + 100, NaN, STATUS_GOOD), Gate.NAN);
  assert.equal(gate.lastAcceptedTime(0), T0, 'a dropped NaN does not advance the clock');
  assert.equal(gate.check(0, T0 + 100, 4, STATUS_GOOD), Gate.VALUE, 'so the same timestamp with a valid value passes');
  assert.equal(gate.check(1, T0 - 100, 5, STATUS_GOOD), Gate.VALUE, 'each tag has its own clock');
  assert.equal(gate.lastAcceptedTime(7), -Infinity);
  assert.deepEqual(gate.counters().dropped, { ...NO_DROPS, outOfOrder: 1, duplicate: 1, nan: 1 });
});

test('Bad and Uncertain samples pass as STATUS_ONLY whatever their value, but still keep order', () => {
  const gate = new SampleGate({ kinds: ['numeric'] });
  assert.equal(gate.check(0, T0, undefined, STATUS_BAD), Gate.STATUS_ONLY);
  assert.equal(gate.check(0, T0 + 100, NaN, 0x80310000), Gate.STATUS_ONLY);
  assert.equal(gate.check(0, T0 + 200, 3.5, STATUS_UNCERTAIN), Gate.STATUS_ONLY);
  assert.equal(gate.check(0, T0 + 300, 'x', 0xc0000000), Gate.STATUS_ONLY, 'the reserved severity counts as Bad');
  assert.equal(gate.check(0, T0 + 300, 1, STATUS_BAD), Gate.DUPLICATE);
  assert.equal(gate.check(0, T0 + 250, 1, STATUS_GOOD), Gate.OUT_OF_ORDER);
  assert.deepEqual(gate.counters(), {
    received: 6,
    emitted: 4,
    dropped: { ...NO_DROPS, outOfOrder: 1, duplicate: 1 },
    statusOnly: { bad: 3, uncertain: 1 },
  });
});

test('resetTag lets a tag whose source clock jumped back pass again', () => {
  const gate = new SampleGate({ kinds: ['numeric'] });
  gate.check(0, T0, 1, STATUS_GOOD);
  assert.equal(gate.check(0, T0 - 60_000, 1, STATUS_GOOD), Gate.OUT_OF_ORDER);
  gate.resetTag(0);
  gate.resetTag(99); // unknown tag: ignored
  assert.equal(gate.check(0, T0 - 60_000, 1, STATUS_GOOD), Gate.VALUE);
});

test('counters() is a snapshot, not a live view', () => {
  const gate = new SampleGate({ kinds: ['numeric'] });
  const before = gate.counters();
  gate.check(0, T0, 1, STATUS_GOOD);
  assert.equal(before.received, 0);
  assert.equal(gate.counters().received, 1);
});

test('an invalid configuration is a ReductionConfigError naming the tag', () => {
  assert.throws(() => new SampleGate({ kinds: ['numeric', 'float' as never] }), (e: unknown) => {
    assert.ok(e instanceof ReductionConfigError);
    assert.equal(e.name, 'ReductionConfigError');
    assert.equal(e.tag, 1);
    assert.match(e.message, /^tag 1: kind must be one of numeric, boolean, string, any, got float$/);
    return true;
  });
  assert.throws(() => new SampleGate({} as never), ReductionConfigError);
});
