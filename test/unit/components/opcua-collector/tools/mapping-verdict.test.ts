// check-mapping's verdict on one tag, from facts as the probe would gather them: one row per case,
// the facts, and the findings expected (level and the start of what they say).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseCollectorConfig } from '../../../../../components/opcua-collector/src/config';
import type { TagConfig } from '../../../../../components/opcua-collector/src/config-types';
import { baseDataType, checkTag, shapeOf, type TagFacts } from '../../../../../components/opcua-collector/src/tools/mapping-verdict';
import { BASE_CONFIG } from '../config-fixture';

const CONFIG = parseCollectorConfig({
  ...BASE_CONFIG,
  tags: [
    { name: 'Vib', nodeId: 'ns=3;s=Vib', mode: 'rms', windowMs: 1000 },
    { name: 'Temp', nodeId: 'ns=3;s=Temp', mode: 'deadband', deadband: { percent: 1 } },
    { name: 'Run', nodeId: 'ns=3;s=Run', mode: 'change' },
    { name: 'Level', nodeId: 'ns=3;s=Level', mode: 'rms', alarm: { on: 'raw', raiseAt: 9, clearBelow: 8, minDurationMs: 0 } },
  ],
});
const [RMS, DEADBAND, CHANGE, RMS_ALARM] = CONFIG.tags as [TagConfig, TagConfig, TagConfig, TagConfig];

const DOUBLE = { id: 'ns=0;i=11', name: 'Double', kind: 'numeric' } as const;
/** A readable Double variable, monitored at 100 ms, whose first sample was a number. */
const GOOD: TagFacts = {
  exists: true,
  nodeClass: 'Variable',
  accessLevel: 1,
  userAccessLevel: 1,
  valueRank: -1,
  dataType: DOUBLE,
  value: { status: 'Good', good: true, shape: 'number', from: 'subscription' },
  monitored: { ok: true, revisedSamplingMs: 100 },
};

const CASES: { name: string; tag: TagConfig; facts: TagFacts; expect: [level: string, what: RegExp][] }[] = [
  { name: 'a readable Double in rms mode', tag: RMS, facts: GOOD, expect: [] },
  { name: 'a Boolean in change mode', tag: CHANGE, facts: { ...GOOD, dataType: { id: 'i=1', name: 'Boolean', kind: 'boolean' }, value: { ...GOOD.value!, shape: 'boolean' } }, expect: [] },
  { name: 'an enumeration in change mode', tag: CHANGE, facts: { ...GOOD, dataType: { id: 'ns=2;i=3001', name: 'MotorState (a Enumeration)', kind: 'enumeration' } }, expect: [] },
  { name: 'a missing node', tag: RMS, facts: { exists: false, existsStatus: 'BadNodeIdUnknown', monitored: { ok: false, status: 'BadNodeIdUnknown' } }, expect: [['problem', /^the server has no node ns=3;s=Vib \(BadNodeIdUnknown\)/]] },
  { name: 'a node that could not be asked', tag: RMS, facts: { existsStatus: 'BadTimeout' }, expect: [['problem', /^could not be checked \(BadTimeout\)/]] },
  { name: 'an Object', tag: RMS, facts: { exists: true, nodeClass: 'Object' }, expect: [['problem', /^is an Object, not a Variable/]] },
  { name: 'an nsu= NodeId whose namespace the server lacks', tag: RMS, facts: { nodeIdProblem: { what: 'uses a namespace URI (nsu=) the server does not have: urn:x', fix: 'check the URI' } }, expect: [['problem', /^uses a namespace URI/]] },
  { name: 'not readable at all', tag: RMS, facts: { ...GOOD, accessLevel: 2 }, expect: [['problem', /^the server does not allow reading it/]] },
  { name: 'not readable by this user', tag: RMS, facts: { ...GOOD, userAccessLevel: 0 }, expect: [['problem', /^the OPC UA user may not read it/]] },
  { name: 'a value read denied', tag: RMS, facts: { ...GOOD, value: { status: 'BadUserAccessDenied', good: false, shape: 'none', from: 'read' } }, expect: [['problem', /^reading its value fails \(BadUserAccessDenied\)/]] },
  { name: 'a Bad value now', tag: RMS, facts: { ...GOOD, value: { status: 'BadSensorFailure', good: false, shape: 'none', from: 'subscription' } }, expect: [['warning', /^its value has status BadSensorFailure now/]] },
  { name: 'a String in rms mode', tag: RMS, facts: { ...GOOD, dataType: { id: 'i=12', name: 'String', kind: 'string' }, value: { ...GOOD.value!, shape: 'string' } }, expect: [['problem', /^is String, not numeric: mode rms needs numbers/]] },
  { name: 'a Boolean in an rms tag with an alarm', tag: RMS_ALARM, facts: { ...GOOD, dataType: { id: 'i=1', name: 'Boolean', kind: 'boolean' } }, expect: [['problem', /^is Boolean, not numeric: mode rms with an alarm needs numbers/]] },
  // node-opcua's [high, low] pair is one value: converted to a number while exact, so only a warning.
  { name: 'an Int64 in deadband mode', tag: DEADBAND, facts: { ...GOOD, dataType: { id: 'i=8', name: 'Int64', kind: 'int64' }, value: { ...GOOD.value!, shape: 'array' } }, expect: [['warning', /^is Int64: values are exact up to ±2\^53/]] },
  { name: 'a UInt64 in change mode', tag: CHANGE, facts: { ...GOOD, dataType: { id: 'i=9', name: 'UInt64', kind: 'int64' } }, expect: [['warning', /^is UInt64: values are exact/]] },
  { name: 'an Int64 array', tag: DEADBAND, facts: { ...GOOD, valueRank: 1, dataType: { id: 'i=8', name: 'Int64', kind: 'int64' }, value: { ...GOOD.value!, shape: 'array' } }, expect: [['warning', /^is Int64/], ['problem', /^holds an array \(ValueRank 1\)/]] },
  { name: 'a DateTime in change mode', tag: CHANGE, facts: { ...GOOD, dataType: { id: 'i=294', name: 'UtcTime (a DateTime)', kind: 'other' }, value: { ...GOOD.value!, shape: 'object' } }, expect: [['problem', /^is UtcTime \(a DateTime\): the collector drops such values/]] },
  { name: 'an array', tag: RMS, facts: { ...GOOD, valueRank: 1 }, expect: [['problem', /^holds an array \(ValueRank 1\), not one value/]] },
  { name: 'BaseDataType holding numbers', tag: RMS, facts: { ...GOOD, dataType: { id: 'i=24', name: 'BaseDataType', kind: 'any' } }, expect: [] },
  { name: 'BaseDataType holding objects', tag: CHANGE, facts: { ...GOOD, dataType: { id: 'i=24', name: 'BaseDataType', kind: 'any' }, value: { ...GOOD.value!, shape: 'object' } }, expect: [['problem', /^holds object values, which mode change cannot use/]] },
  { name: 'BaseDataType and no value seen', tag: RMS, facts: { ...GOOD, dataType: { id: 'i=24', name: 'BaseDataType', kind: 'any' }, value: undefined }, expect: [['warning', /^its data type \(BaseDataType\) does not say/]] },
  { name: 'monitoring refused', tag: RMS, facts: { ...GOOD, monitored: { ok: false, status: 'BadNotSupported' } }, expect: [['problem', /^the server refused to monitor it \(BadNotSupported\)/]] },
  { name: 'sampled slower than asked', tag: DEADBAND, facts: { ...GOOD, monitored: { ok: true, revisedSamplingMs: 500 } }, expect: [['warning', /^the server samples it every 500 ms, not every 100 ms/]] },
  { name: 'sampled slower than its rms window', tag: RMS, facts: { ...GOOD, monitored: { ok: true, revisedSamplingMs: 2000 } }, expect: [['problem', /^the server samples it every 2000 ms, longer than its 1000 ms window/]] },
  { name: 'no first sample', tag: RMS, facts: { ...GOOD, noSampleWithinMs: 4000 }, expect: [['warning', /^no sample arrived within 4000 ms/]] },
  { name: 'a percent deadband without EURange', tag: DEADBAND, facts: { ...GOOD, euRange: { problem: 'the node has no EURange property' } }, expect: [['problem', /^deadband\.percent needs a range, and the node has no EURange property/]] },
  { name: 'a percent deadband with EURange', tag: DEADBAND, facts: { ...GOOD, euRange: { low: 0, high: 150 } }, expect: [] },
];

describe('checkTag', () => {
  for (const c of CASES) {
    test(c.name, () => {
      const r = checkTag(c.tag, 0, c.facts, 100);
      assert.deepEqual(
        r.findings.map((f) => f.level),
        c.expect.map(([level]) => level),
        JSON.stringify(r.findings),
      );
      r.findings.forEach((f, i) => {
        assert.match(f.what, c.expect[i]![1]);
        assert.ok(f.fix.length > 10, `a fix for: ${f.what}`);
      });
      const verdict = c.expect.some(([l]) => l === 'problem') ? 'FAIL' : c.expect.length > 0 ? 'warn' : 'ok';
      assert.equal(r.verdict, verdict);
    });
  }
});

test('baseDataType and shapeOf', () => {
  assert.deepEqual(baseDataType('ns=0;i=11'), { name: 'Double', kind: 'numeric' });
  assert.deepEqual(baseDataType('i=8'), { name: 'Int64', kind: 'int64' });
  assert.equal(baseDataType('ns=2;i=11'), undefined);
  assert.equal(baseDataType('ns=0;i=290'), undefined); // Duration: found by browsing its supertype
  assert.deepEqual([1.5, true, 'x', [0, 1], new Float64Array(2), new Date(0), null].map(shapeOf), ['number', 'boolean', 'string', 'array', 'array', 'object', 'none']);
});
