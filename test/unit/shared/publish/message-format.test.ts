// docs/message-format.md quotes real messages: this test rebuilds them with the real stages and
// encoder (examples.ts) and fails when the document no longer quotes them exactly.
// To update the document: npx tsx test/unit/shared/publish/examples.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildExamples } from './examples';
import { decode } from './helpers';

const DOC = readFileSync(join(__dirname, '../../../../docs/message-format.md'), 'utf8');

test('the document quotes the encoder output verbatim', () => {
  for (const [kind, payload] of Object.entries(buildExamples())) {
    assert.ok(DOC.includes('\n' + payload + '\n'), `docs/message-format.md does not quote the current ${kind} example`);
  }
});

test('the examples show what the document says they show', () => {
  const ex = buildExamples();
  const rms = decode(Buffer.from(ex.rms)).rows;
  // Vib02's second window had only Bad samples; Vib03's gap record covers the 2 windows it missed.
  assert.deepEqual(rms.filter((r) => r.status !== 0).map((r) => [r.tag, r.dt, r.status, r.count, r.bad, r.missed, r.rms]), [
    [1, 1000, 1, 0, 10, 0, null],
    [2, 1000, 2, 0, 0, 2, null],
  ]);
  const db = decode(Buffer.from(ex.deadband)).rows;
  assert.deepEqual(db.filter((r) => r.value === null).map((r) => [r.tag, r.dt, r.status]), [[3, 1500, 0x80000000]]);
});
