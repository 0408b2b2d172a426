// A spool disk that is full, read-only or missing: the spool can start unopened and open later in
// place, SpoolGuard turns each failure into one problem per episode (`spool:<errno>`), stores and
// acknowledges nothing meanwhile (the producer keeps its records), retries with capped backoff (no
// disk I/O before the next attempt is due), and ends the episode at the first success, without a
// restart. Real spool folders throughout; a failing disk is a mocked fs call with its real errno.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Backoff } from '../../../../shared/backoff';
import { decodeAck, encodePut, type AckMessage } from '../../../../shared/handoff/protocol';
import type { OperatorProblem } from '../../../../shared/edge/errored-report';
import { FirehoseSpool } from '../../../../components/firehose-sink/src/spool';
import { SpoolGuard, spoolFix } from '../../../../components/firehose-sink/src/spool-guard';
import { SinkIntake } from '../../../../components/firehose-sink/src/intake';
import { SpoolWriteError } from '../../../../components/firehose-sink/src/errors';
import { CapturedLog, rec, tempDir } from './helpers';

const T0 = 1_750_000_000_000;

/** A guard over a real spool in `<tmp>/spool`, with a clock and timers the test moves by hand. */
function rig(t: { after(fn: () => void): void }, opts: { blockDir?: boolean } = {}) {
  const { dir: root, remove } = tempDir();
  const dir = join(root, 'spool');
  if (opts.blockDir) writeFileSync(dir, 'not a folder');
  const log = new CapturedLog();
  const spool = FirehoseSpool.unopened({ dir, maxBytes: 1 << 20, segmentBytes: 64 << 10, logger: log });
  let now = T0;
  const timers: { at: number; fn: () => void; cancelled: boolean }[] = [];
  const problems: (OperatorProblem | undefined)[] = [];
  // random() = 0.5: every backoff delay is half its ceiling (1 s initial, 8 s cap).
  const guard = new SpoolGuard({
    spool,
    backoff: new Backoff({ initialDelayMs: 1000, maxDelayMs: 8000 }, () => 0.5),
    logger: log,
    now: () => now,
    onProblem: (p) => problems.push(p),
    setTimer: (fn, ms) => {
      const timer = { at: now + ms, fn, cancelled: false };
      timers.push(timer);
      return () => (timer.cancelled = true);
    },
  });
  const acks: AckMessage[] = [];
  const intake = new SinkIntake({
    spool: guard,
    pubsub: {
      publishToTopic: async (_topic, payload) => {
        const d = decodeAck(payload);
        assert.ok(d.ok);
        acks.push(d.message);
      },
    },
    ackTopic: 'ack',
    logger: log,
    now: () => now,
  });
  t.after(() => {
    guard.stop();
    spool.close();
    remove();
  });
  /** Moves the clock and runs the timers that are due. */
  const advance = (ms: number) => {
    now += ms;
    for (const timer of timers.splice(0)) {
      if (timer.cancelled) continue;
      if (timer.at <= now) timer.fn();
      else timers.push(timer);
    }
  };
  const pendingTimers = () => timers.filter((x) => !x.cancelled).length;
  return { root, dir, spool, guard, intake, acks, log, problems, advance, pendingTimers, now: () => now };
}

const settle = () => new Promise((r) => setImmediate(r));

test('an unopened spool holds and takes nothing; recover() opens it in place with what a previous run left', (t) => {
  const { dir, remove } = tempDir();
  t.after(remove);
  const before = FirehoseSpool.open({ dir, maxBytes: 1 << 20, segmentBytes: 64 << 10, logger: new CapturedLog() });
  before.append([rec('left-1'), rec('left-2')], T0);
  assert.equal(before.close(), true, 'close fsyncs and reports it did');
  assert.throws(() => before.append([rec('late')], T0), (e: unknown) => e instanceof SpoolWriteError && e.code === 'ENOTOPEN');

  const s = FirehoseSpool.unopened({ dir, maxBytes: 1 << 20, segmentBytes: 64 << 10, logger: new CapturedLog() });
  let woken = 0;
  s.onAppend = () => woken++;
  assert.equal(s.isOpen, false);
  assert.deepEqual(s.stats(T0), { bytes: 0, records: 0, segments: 0, oldestAgeMs: null });
  assert.throws(() => s.append([rec('x')], T0), (e: unknown) => e instanceof SpoolWriteError && e.code === 'ENOTOPEN');
  s.recover();
  assert.equal(s.isOpen, true);
  assert.deepEqual([...s.unclaimed()].map((e) => e.id), ['left-1', 'left-2']);
  assert.equal(s.recovery.records, 2);
  assert.equal(woken, 1, 'the sender is woken for the recovered records');
  s.close();
});

test('a failed open leaves the spool closed and holds no file open; a later recover() succeeds', (t) => {
  const { dir, remove } = tempDir();
  t.after(remove);
  const first = FirehoseSpool.open({ dir, maxBytes: 1 << 20, segmentBytes: 64 << 10, logger: new CapturedLog() });
  first.append([rec('kept')], T0);
  first.close();
  const s = FirehoseSpool.unopened({ dir, maxBytes: 1 << 20, segmentBytes: 64 << 10, logger: new CapturedLog() });
  const real = fs.openSync;
  const opened: number[] = [];
  const closedFds: number[] = [];
  const realClose = fs.closeSync;
  // The journal opens, then the segment cannot be opened for writing (a read-only remount, say).
  const mockOpen = t.mock.method(fs, 'openSync', (path: fs.PathLike, flags?: fs.OpenMode, mode?: fs.Mode) => {
    if (String(path).includes('segment-') && flags === 'r+') throw Object.assign(new Error(`EROFS: read-only file system, open '${String(path)}'`), { code: 'EROFS' });
    const fd = (real as (...a: unknown[]) => number)(path, flags, mode);
    opened.push(fd);
    return fd;
  });
  const mockClose = t.mock.method(fs, 'closeSync', (fd: number) => {
    closedFds.push(fd);
    return realClose(fd);
  });
  assert.throws(() => s.recover(), (e: unknown) => (e as { code?: string }).code === 'EROFS');
  mockOpen.mock.restore();
  mockClose.mock.restore();
  assert.equal(s.isOpen, false);
  assert.deepEqual(opened.filter((fd) => !closedFds.includes(fd)), [], 'every file the failed open opened is closed again');
  s.recover();
  assert.deepEqual([...s.unclaimed()].map((e) => e.id), ['kept']);
  s.close();
});

test('a spool that opens on a full disk: compaction is skipped (a warning), the records are there to deliver', (t) => {
  const { dir, remove } = tempDir();
  t.after(remove);
  const first = FirehoseSpool.open({ dir, maxBytes: 1 << 20, segmentBytes: 64 << 10, logger: new CapturedLog() });
  first.append([rec('queued')], T0);
  first.close();
  const log = new CapturedLog();
  const mocked = t.mock.method(fs, 'writeSync', () => {
    throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  });
  const s = FirehoseSpool.open({ dir, maxBytes: 1 << 20, segmentBytes: 64 << 10, logger: log });
  mocked.mock.restore();
  assert.deepEqual([...s.unclaimed()].map((e) => e.id), ['queued']);
  assert.ok(log.at('warn').some((l) => /cannot compact the spool journal at open/.test(l.msg)));
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'no half-written snapshot left taking room');
  s.close();
});

test('a spool folder that cannot be created: RUNNING without a spool, one problem, nothing acknowledged; fixed, it opens on the next retry and stores', async (t) => {
  const r = rig(t, { blockDir: true });
  assert.equal(r.guard.start(), false);
  const code = r.guard.problem!.slice('spool:'.length);
  assert.ok(['EEXIST', 'ENOTDIR'].includes(code), `an errno from mkdir: ${code}`);
  assert.deepEqual(r.problems, [{ kind: `spool:${code}`, fix: spoolFix(code, r.dir) }]);
  assert.match(r.problems[0]!.fix, /must be a folder/);
  assert.equal(r.log.at('error').filter((l) => /cannot open the spool/.test(l.msg)).length, 1);
  assert.equal(r.pendingTimers(), 1, 'a retry is scheduled');

  r.intake.onMessage(encodePut('p', [rec('held-1')]));
  await settle();
  assert.equal(r.acks.length, 0, 'nothing acknowledged: the producer keeps the record');
  assert.equal(r.intake.counters().notStored, 1);

  // The retry comes after half the first ceiling (500 ms) and fails again: still one problem, and
  // the next wait doubles (ceiling 2 s, so 1 s).
  r.advance(499);
  assert.equal(r.pendingTimers(), 1);
  r.advance(1);
  assert.equal(r.guard.problem, `spool:${code}`);
  assert.equal(r.problems.length, 1, 'one problem per episode');
  assert.equal(r.log.at('error').filter((l) => /cannot open the spool/.test(l.msg)).length, 1, 'the retries log at debug');

  // Fixed by the operator: the next retry opens it.
  rmSync(r.dir);
  mkdirSync(r.dir);
  r.advance(1000);
  assert.equal(r.spool.isOpen, true);
  assert.equal(r.guard.problem, null);
  assert.deepEqual(r.problems, [{ kind: `spool:${code}`, fix: spoolFix(code, r.dir) }, undefined], 'the episode ends');
  assert.ok(r.log.lines.some((l) => l.msg === 'spool opened; records not yet delivered are sent first'));
  assert.ok(r.log.lines.some((l) => l.msg === 'the spool stores records again' && l.fields.refusedPuts === 1));
  assert.equal(r.pendingTimers(), 0);

  r.intake.onMessage(encodePut('p', [rec('held-1'), rec('new-1')]));
  await settle();
  assert.deepEqual(r.acks.map((a) => a.stored), [['held-1', 'new-1']]);
  assert.deepEqual([...r.spool.unclaimed()].map((e) => e.id), ['held-1', 'new-1']);
});

test('the retry timer opens the spool once its folder can be created; stop cancels a pending retry', (t) => {
  const r = rig(t, { blockDir: true });
  r.guard.start();
  rmSync(r.dir);
  r.advance(600); // the timer's retry runs: the folder can be created now
  assert.equal(r.spool.isOpen, true);
  assert.equal(r.guard.problem, null);
  r.spool.close();
  const blocked = rig(t, { blockDir: true });
  blocked.guard.start();
  assert.equal(blocked.pendingTimers(), 1);
  blocked.guard.stop();
  assert.equal(blocked.pendingTimers(), 0, 'stop cancels the retry timer');
  blocked.advance(60_000);
  assert.equal(blocked.spool.isOpen, false, 'and nothing retries after it');
});

test('a full disk while running: one problem, no ack, no disk I/O until the backoff passed, then stored and the episode ends', async (t) => {
  const r = rig(t);
  assert.equal(r.guard.start(), true);
  r.intake.onMessage(encodePut('p', [rec('ok-1')]));
  await settle();
  assert.deepEqual(r.acks.map((a) => a.stored), [['ok-1']]);

  let writes = 0;
  const mocked = t.mock.method(fs, 'writeSync', () => {
    writes++;
    throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  });
  r.intake.onMessage(encodePut('p', [rec('full-1'), rec('full-2')]));
  await settle();
  assert.equal(r.guard.problem, 'spool:ENOSPC');
  assert.deepEqual(r.problems, [{ kind: 'spool:ENOSPC', fix: spoolFix('ENOSPC', r.dir) }]);
  assert.match(r.problems[0]!.fix, /free space on the disk/);
  const triedOnce = writes;
  assert.ok(triedOnce >= 1);

  // Within the backoff (500 ms): refused at once, without touching the disk, and no new ERROR line.
  const errorsBefore = r.log.at('error').length;
  r.advance(200);
  r.intake.onMessage(encodePut('p', [rec('full-1'), rec('full-2'), rec('full-3')]));
  await settle();
  assert.equal(writes, triedOnce, 'no write while the backoff runs');
  assert.equal(r.log.at('error').length, errorsBefore, 'one ERROR line per episode, not one per put');

  // Past it: tried again, still full: the same episode, a longer wait.
  r.advance(400);
  r.intake.onMessage(encodePut('p', [rec('full-1')]));
  await settle();
  assert.ok(writes > triedOnce);
  assert.equal(r.problems.length, 1);
  assert.deepEqual(r.acks.map((a) => a.stored), [['ok-1']], 'nothing of the failed puts acknowledged');
  assert.equal(r.intake.counters().notStored, 2 + 3 + 1);
  assert.deepEqual([...r.spool.unclaimed()].map((e) => e.id), ['ok-1'], 'nothing half-stored');

  // Space freed: the next put after the wait is stored, acknowledged, and ends the episode.
  mocked.mock.restore();
  r.advance(1000);
  r.intake.onMessage(encodePut('p', [rec('full-1'), rec('full-2'), rec('full-3')]));
  await settle();
  assert.deepEqual(r.acks.at(-1)!.stored, ['full-1', 'full-2', 'full-3']);
  assert.equal(r.guard.problem, null);
  assert.deepEqual(r.problems.at(-1), undefined);
  assert.equal(r.problems.length, 2);
  assert.deepEqual([...r.spool.unclaimed()].map((e) => e.id), ['ok-1', 'full-1', 'full-2', 'full-3']);
  // A second episode later is a new problem (the ERRORED reporter decides whether it may report it).
  t.mock.method(fs, 'fsyncSync', () => {
    throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
  });
  r.intake.onMessage(encodePut('p', [rec('io-1')]));
  await settle();
  assert.equal(r.guard.problem, 'spool:EIO');
  assert.equal(r.problems.length, 3);
});

test('the fix names what to do for each errno', () => {
  assert.match(spoolFix('ENOSPC', '/w/spool'), /free space on the disk that holds \/w\/spool/);
  assert.match(spoolFix('EROFS', '/w/spool'), /read-only: remount it read-write/);
  assert.match(spoolFix('EACCES', '/w/spool'), /let the component's user .* write \/w\/spool/);
  assert.match(spoolFix('ENOENT', '/w/spool'), /must be a folder/);
  assert.match(spoolFix('EXDEV', '/w/spool'), /check the disk .*EXDEV/);
});
