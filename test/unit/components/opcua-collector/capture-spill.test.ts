import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CAPTURE_SPILL_DIR, CaptureSpill } from '../../../../components/opcua-collector/src/capture-spill';
import { CapturedLog } from '../../../harness/captured-log';

const records = (captureId: string, parts: number) => Array.from({ length: parts }, (_, i) => ({ id: `${captureId}/${i + 1}`, data: `{"part":${i + 1}}` }));

test('a capture stays on disk until every record is settled, and the next run finds what was left', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spill-'));
  try {
    const log = new CapturedLog();
    const spill = new CaptureSpill(dir, log);
    assert.deepEqual(spill.load(), [], 'nothing yet');
    spill.save('run1-c1', records('run1-c1', 2));
    spill.save('run1-c2', records('run1-c2', 1));
    assert.deepEqual(readdirSync(join(dir, CAPTURE_SPILL_DIR)).sort(), ['run1-c1.json', 'run1-c2.json'], 'no temporary file left');
    spill.settled(['run1-c1/1', 'run1-c2/1']);
    assert.deepEqual(readdirSync(join(dir, CAPTURE_SPILL_DIR)), ['run1-c1.json'], 'c2 is delivered; c1 still owes a part');
    assert.equal(spill.holds('run1-c1/2'), true);
    assert.equal(spill.holds('run1-c1/1'), false);

    // The next run: the whole capture is handed over again (the sink stores an id once).
    const next = new CaptureSpill(dir, log);
    writeFileSync(join(dir, CAPTURE_SPILL_DIR, 'torn.json'), '{"v":1,"captureId":');
    assert.deepEqual(next.load(), records('run1-c1', 2));
    assert.ok(log.lines.some((l) => l.level === 'warn' && /ignored a capture file/.test(l.msg)), 'a torn file is ignored with a warning');
    next.settled(['run1-c1/1', 'run1-c1/2']);
    assert.deepEqual(readdirSync(join(dir, CAPTURE_SPILL_DIR)), ['torn.json']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
