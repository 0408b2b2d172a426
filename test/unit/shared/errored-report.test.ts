// ErroredReporter: ERRORED at most once per failure episode and never again within the gap that
// keeps the nucleus from marking the component BROKEN, across the restart that ERRORED causes.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ERRORED_REPORT_MIN_GAP_MS, ErroredReporter, mayReportErrored } from '../../../shared/edge/errored-report';
import { CapturedLog } from '../../harness/captured-log';

const dir = mkdtempSync(join(tmpdir(), 'conduit-errored-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

function reporter(o: { file?: string; now: () => number }): { r: ErroredReporter; log: CapturedLog; reports: () => number; file: string } {
  const file = o.file ?? join(dir, `r${n++}`, 'errored-report.json');
  const log = new CapturedLog();
  let reports = 0;
  const r = new ErroredReporter({
    file,
    logger: log,
    now: o.now,
    report: async () => {
      reports++;
    },
  });
  return { r, log, reports: () => reports, file };
}

const IDENTITY = { kind: 'identity' as const, fix: 'put the right password in secret plant/opcua' };
const CERT = { kind: 'certificate' as const, fix: 'pin ab…' };

describe('mayReportErrored', () => {
  test('first report, then only after the gap (the nucleus resets its error count after an hour)', () => {
    assert.equal(mayReportErrored(undefined, 0), true);
    const last = { lastReportAtMs: 1_000_000, kind: 'identity' as const };
    assert.equal(mayReportErrored(last, 1_000_000), false);
    assert.equal(mayReportErrored(last, 1_000_000 + ERRORED_REPORT_MIN_GAP_MS - 1), false);
    assert.equal(mayReportErrored(last, 1_000_000 + ERRORED_REPORT_MIN_GAP_MS), true);
    assert.ok(ERRORED_REPORT_MIN_GAP_MS > 3_600_000, 'longer than the nucleus default errorResetTime');
  });

  test('a clock stepped back does not silence the reports for ever', () => {
    const last = { lastReportAtMs: 10 * ERRORED_REPORT_MIN_GAP_MS, kind: 'identity' as const };
    assert.equal(mayReportErrored(last, 10 * ERRORED_REPORT_MIN_GAP_MS - 1_000), false);
    assert.equal(mayReportErrored(last, 8 * ERRORED_REPORT_MIN_GAP_MS), true);
  });
});

describe('ErroredReporter', () => {
  test('reports once per episode, records the time before reporting, and logs the fix', async () => {
    let now = 5_000_000;
    const { r, log, reports, file } = reporter({ now: () => now });
    await r.problem(IDENTITY);
    assert.equal(reports(), 1);
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { lastReportAtMs: 5_000_000, kind: 'identity' });
    const line = log.at('error').at(-1)!;
    assert.match(line.msg, /reporting ERRORED/);
    assert.equal(line.fields.fix, IDENTITY.fix);
    // The same problem again in this episode: nothing more.
    now += 10_000;
    await r.problem(IDENTITY);
    assert.equal(reports(), 1);
    assert.equal(log.at('error').length, 1);
  });

  test('the restarted process (same file) stays RUNNING within the gap and says why; reports again after it', async () => {
    let now = 7_000_000;
    const first = reporter({ now: () => now });
    await first.r.problem(IDENTITY);
    assert.equal(first.reports(), 1);

    now += 5_000; // the nucleus restarted the component
    const second = reporter({ file: first.file, now: () => now });
    await second.r.problem(IDENTITY);
    assert.equal(second.reports(), 0, 'a second ERRORED this soon could lead to BROKEN');
    const why = second.log.at('error').at(-1)!;
    assert.match(why.msg, /stays RUNNING/);
    assert.equal(why.fields.lastErroredAt, new Date(7_000_000).toISOString());
    assert.equal(why.fields.nextErroredNotBefore, new Date(7_000_000 + ERRORED_REPORT_MIN_GAP_MS).toISOString());

    // Recovered, then a new episode an hour and more later: reported again.
    second.r.recovered();
    assert.match(second.log.at('info').at(-1)!.msg, /recovered/);
    now = 7_000_000 + ERRORED_REPORT_MIN_GAP_MS;
    await second.r.problem(CERT);
    assert.equal(second.reports(), 1);
    assert.equal(JSON.parse(readFileSync(first.file, 'utf8')).kind, 'certificate');
  });

  test('a changed problem is a new episode; recovered() without a problem logs nothing', async () => {
    const { r, log, reports } = reporter({ now: () => 1 });
    r.recovered();
    assert.equal(log.lines.length, 0);
    await r.problem(IDENTITY);
    await r.problem(CERT);
    assert.equal(reports(), 1, 'the certificate problem comes within the gap: logged, not reported');
    assert.equal(log.at('error').length, 2);
  });

  test('an unreadable record is treated as none; a failing report is logged, never thrown', async () => {
    const file = join(dir, 'garbage.json');
    writeFileSync(file, '{not json');
    const log = new CapturedLog();
    const r = new ErroredReporter({
      file,
      logger: log,
      now: () => 42,
      report: async () => {
        throw new Error('IPC closed');
      },
    });
    await r.problem(IDENTITY);
    assert.equal(JSON.parse(readFileSync(file, 'utf8')).lastReportAtMs, 42, 'recorded before the report was attempted');
    assert.match(log.at('warn').at(-1)!.msg, /could not report the ERRORED state/);
    assert.equal(log.at('warn').at(-1)!.fields.err, 'IPC closed');
  });
});
