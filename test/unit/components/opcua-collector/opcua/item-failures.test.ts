// Thousands of refused monitored items give one summary: counts by reason and the first tags.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ITEM_FAILURE_EXAMPLES, failureReason, summarizeItemFailures } from '../../../../../components/opcua-collector/src/opcua/item-failures';

test('27,000 refusals of three kinds: one summary with exact counts and the first five tags', () => {
  const failures = Array.from({ length: 27_000 }, (_, i) => ({
    tag: 27_000 - i,
    nodeId: `ns=2;i=${i}`,
    status: i % 3 === 0 ? 'BadNodeIdUnknown (0x80340000)' : i % 3 === 1 ? 'BadNotReadable (0x803a0000)' : 'the server has no namespace urn:plant:x',
  }));
  const s = summarizeItemFailures(failures, (t) => `T${t}`);
  assert.equal(s.count, 27_000);
  assert.deepEqual(s.byReason, { BadNodeIdUnknown: 9_000, BadNotReadable: 9_000, 'the server has no namespace': 9_000 });
  assert.equal(s.examples.length, ITEM_FAILURE_EXAMPLES);
  assert.deepEqual(s.examples.map((e) => e.tag), ['T1', 'T2', 'T3', 'T4', 'T5']);
  assert.ok(JSON.stringify(s).length < 2_000, 'one short line');
});

test('a reason is the status code name when there is one', () => {
  assert.equal(failureReason('BadNodeIdInvalid (0x80330000) "ns=1;s=x"'), 'BadNodeIdInvalid');
  assert.equal(failureReason('not a NodeId: "garbage"'), 'not a NodeId: ""');
  assert.deepEqual(summarizeItemFailures([], () => undefined), { count: 0, byReason: {}, examples: [] });
});
