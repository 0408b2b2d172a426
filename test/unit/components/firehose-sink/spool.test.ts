// FirehoseSpool on a real folder: what append() acknowledges survives a crash (a second spool opened
// on the same folder without closing the first), one fsync per put message, a torn or damaged tail
// is cut off and reported, deliveries are journaled and not replayed, a full spool evicts its oldest
// records (counted, at ERROR), ids are de-duplicated across restarts, its limits can change while it
// runs (a lower maxBytes evicts at once), and records a replaced sender held go back in line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { appendFileSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FirehoseSpool, type SpoolEntry } from '../../../../components/firehose-sink/src/spool';
import { SpoolWriteError } from '../../../../components/firehose-sink/src/errors';
import { recordFrameBytes } from '../../../../components/firehose-sink/src/frames';
import { CapturedLog, rec, tempDir } from './helpers';

const T0 = 1_750_000_000_000;

function open(dir: string, log = new CapturedLog(), maxBytes = 1 << 20, segmentBytes = 64 << 10): FirehoseSpool {
  return FirehoseSpool.open({ dir, maxBytes, segmentBytes, logger: log });
}

const live = (s: FirehoseSpool): SpoolEntry[] => [...s.unclaimed()];
const ids = (s: FirehoseSpool): string[] => live(s).map((e) => e.id);
const segmentFiles = (dir: string) => readdirSync(dir).filter((f) => f.startsWith('segment-')).sort();

test('appended records survive a crash, data byte for byte, in order', (t) => {
  const { dir, remove } = tempDir();
  t.after(remove);
  const a = open(dir);
  const out = a.append([rec('r1'), { id: 'r2', data: '{"é":"ü","n":[1,2]}' }, rec('r3', 3000)], T0);
  assert.deepEqual(out, { stored: ['r1', 'r2', 'r3'], duplicates: 0, rejected: [] });
  // No close(): the process "dies" here.
  const b = open(dir);
  assert.deepEqual(ids(b), ['r1', 'r2', 'r3']);
  assert.equal(b.readData(live(b)[1]!).toString(), '{"é":"ü","n":[1,2]}');
  assert.equal(b.readData(live(b)[2]!).toString(), rec('r3', 3000).data);
  assert.equal(b.recovery.records, 3);
  assert.equal(b.stats(T0 + 500).oldestAgeMs, 500);
  // New records get new seqs after the recovered ones.
  b.append([rec('r4')], T0 + 1);
  assert.ok(live(b)[3]!.seq > live(b)[2]!.seq);
  a.close();
  b.close();
});

test('one fsync of the segment per put message, and it happens before append returns', (t) => {
  const { dir, remove } = tempDir();
  t.after(remove);
  const s = open(dir);
  s.append([rec('warm-up')], T0); // creates the segment (file and folder synced)
  const fsyncs = t.mock.method(fs, 'fsyncSync');
  s.append([rec('a'), rec('b'), rec('c'), rec('d')], T0);
  assert.equal(fsyncs.mock.callCount(), 1);
  s.append([rec('e')], T0);
  assert.equal(fsyncs.mock.callCount(), 2);
  s.close();
});

test('a torn tail of the last segment is cut off, counted and logged; the records before it are kept', (t) => {
  const { dir, remove } = tempDir();
  t.after(remove);
  const a = open(dir);
  a.append([rec('k1'), rec('k2')], T0);
  a.close();
  const [seg] = segmentFiles(dir);
  const before = statSync(join(dir, seg!)).size;
  // Half a frame: a length claiming 200 bytes, then only 5 of them.
  appendFileSync(join(dir, seg!), Buffer.from([0, 0, 0, 200, 1, 2, 3, 4, 9, 9, 9, 9, 9]));
  const log = new CapturedLog();
  const b = open(dir, log);
  assert.deepEqual(ids(b), ['k1', 'k2']);
  assert.equal(b.recovery.truncatedBytes, 13);
  assert.equal(b.recovery.corruptBytes, 0);
  assert.equal(statSync(join(dir, seg!)).size, before, 'the file is cut back');
  assert.equal(log.at('warn').filter((l) => l.msg.startsWith('spool recovery: cut off a damaged tail')).length, 1);
  assert.equal(log.at('error').length, 0, 'a torn tail was never acknowledged: no data lost');
  b.append([rec('k3')], T0);
  b.close();
  assert.deepEqual(ids(open(dir)), ['k1', 'k2', 'k3']);
});

test('a record with a bad CRC in the last segment cuts the segment there', (t) => {
  const { dir, remove } = tempDir();
  t.after(remove);
  const a = open(dir);
  a.append([rec('c1', 100), rec('c2', 100), rec('c3', 100)], T0);
  a.close();
  const path = join(dir, segmentFiles(dir)[0]!);
  const buf = readFileSync(path);
  const frame = recordFrameBytes('c1', rec('c1', 100).data);
  buf[frame + 40]! ^= 0x20; // a flipped bit inside c2's data
  writeFileSync(path, buf);
  const log = new CapturedLog();
  const b = open(dir, log);
  assert.deepEqual(ids(b), ['c1']);
  assert.equal(b.recovery.truncatedBytes, buf.length - frame);
  assert.equal(statSync(path).size, frame);
  assert.equal(log.at('warn')[0]!.fields.why, 'corrupt');
  b.close();
});

test('damage inside an older segment loses the records after it: ERROR and corruptBytes', (t) => {
  const { dir, remove } = tempDir();
  t.after(remove);
  const a = open(dir, new CapturedLog(), 1 << 20, 1024);
  for (let i = 0; i < 12; i++) a.append([rec(`d${i}`, 300)], T0);
  a.close();
  const files = segmentFiles(dir);
  assert.ok(files.length >= 3, `several segments (${files.length})`);
  const path = join(dir, files[0]!);
  const buf = readFileSync(path);
  const frame = recordFrameBytes('d0', rec('d0', 300).data);
  buf[frame + 30]! ^= 0xff;
  writeFileSync(path, buf);
  const log = new CapturedLog();
  const b = open(dir, log);
  assert.ok(!ids(b).includes('d1') && ids(b).includes('d0') && ids(b).includes('d11'));
  assert.equal(b.recovery.corruptBytes, buf.length - frame);
  assert.equal(log.at('error').length, 1);
  assert.match(log.at('error')[0]!.msg, /data lost/);
  b.close();
});

test('delivered records are journaled: not replayed after a restart, and their ids are duplicates', (t) => {
  const { dir, remove } = tempDir();
  t.after(remove);
  const a = open(dir);
  a.append([rec('j1'), rec('j2'), rec('j3'), rec('j4'), rec('j5')], T0);
  const [e1, , e3] = live(a);
  a.claim([e1!, e3!]);
  assert.deepEqual(a.markDone([e1!, e3!]), { notLive: 0 });
  assert.deepEqual(ids(a), ['j2', 'j4', 'j5']);
  const b = open(dir); // crash after the journal write
  assert.deepEqual(ids(b), ['j2', 'j4', 'j5']);
  const again = b.append([rec('j1'), rec('j2'), rec('j6')], T0);
  assert.deepEqual(again, { stored: ['j1', 'j2', 'j6'], duplicates: 2, rejected: [] });
  assert.deepEqual(ids(b), ['j2', 'j4', 'j5', 'j6']);
  assert.equal(b.counters().duplicates, 2);
  b.close();
});

test('a segment whose records are all delivered is deleted, except the one being written', (t) => {
  const { dir, remove } = tempDir();
  t.after(remove);
  const s = open(dir, new CapturedLog(), 1 << 20, 1024);
  for (let i = 0; i < 8; i++) s.append([rec(`s${i}`, 400)], T0);
  const segments = segmentFiles(dir).length;
  assert.ok(segments >= 3);
  const all = live(s);
  s.claim(all);
  s.markDone(all.slice(0, -1));
  assert.equal(segmentFiles(dir).length, 1, 'only the active segment is left');
  assert.equal(s.stats(T0).records, 1);
  s.markDone(all.slice(-1));
  assert.equal(s.stats(T0).records, 0);
  s.close();
  const r = open(dir);
  assert.equal(r.recovery.records, 0);
  assert.equal(segmentFiles(dir).length, 0, 'an empty segment is removed at start');
  r.close();
});

test('the journal is compacted: a big one shrinks to a snapshot and still replays the same state', (t) => {
  const { dir, remove } = tempDir();
  t.after(remove);
  const opts = { dir, maxBytes: 64 << 20, segmentBytes: 4 << 20, logger: new CapturedLog(), journalCompactMinBytes: 32 * 1024 };
  const s = FirehoseSpool.open(opts);
  const id = (i: number) => `capture-${i}`;
  let compactions = 0;
  let largest = 0;
  for (let round = 0; round < 150; round++) {
    s.append(Array.from({ length: 100 }, (_, k) => rec(id(round * 100 + k))), T0);
    const entries = live(s);
    s.claim(entries);
    // Two deliveries per round, out of order, so the done seqs are not one range.
    for (const part of [entries.filter((_, i) => i % 2 === 1), entries.filter((_, i) => i % 2 === 0)]) {
      const before = statSync(join(dir, 'journal.log')).size;
      s.markDone(part);
      const after = statSync(join(dir, 'journal.log')).size;
      largest = Math.max(largest, before);
      if (after < before) compactions++;
    }
  }
  assert.ok(compactions > 0, `compacted (journal reached ${largest} bytes)`);
  s.append([rec('tail-1'), rec('tail-2')], T0);
  s.close();
  const r = FirehoseSpool.open(opts);
  assert.deepEqual(ids(r), ['tail-1', 'tail-2']);
  // At least the last 10,000 delivered ids are remembered (up to a quarter more between trims);
  // much older ones are forgotten.
  const out = r.append([rec(id(14_999)), rec(id(5_000)), rec(id(1_000))], T0);
  assert.equal(out.duplicates, 2);
  assert.deepEqual(ids(r), ['tail-1', 'tail-2', id(1_000)]);
  r.close();
});

test('a full spool evicts its oldest records, whole segments at a time, counted and logged at ERROR', (t) => {
  const { dir, remove } = tempDir();
  t.after(remove);
  const log = new CapturedLog();
  const maxBytes = 16 * 1024;
  const s = open(dir, log, maxBytes, 4 * 1024);
  const frame = recordFrameBytes('e00', rec('e00', 1000).data);
  for (let i = 0; i < 40; i++) {
    s.append([rec(`e${String(i).padStart(2, '0')}`, 1000)], T0 + i);
    assert.ok(s.stats(T0).bytes <= maxBytes, `within maxBytes after record ${i}`);
    const onDisk = segmentFiles(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
    assert.equal(onDisk, s.stats(T0).bytes, 'the accounting is the disk usage');
  }
  const kept = ids(s);
  const evicted = s.counters().evictedRecords;
  assert.equal(kept.length + evicted, 40);
  // The survivors are exactly the newest ones, in order.
  assert.deepEqual(kept, Array.from({ length: kept.length }, (_, k) => `e${String(40 - kept.length + k).padStart(2, '0')}`));
  const perSegment = Math.floor((4 * 1024) / frame);
  const errors = log.at('error');
  assert.equal(errors.length, evicted / perSegment, 'one ERROR line per evicted segment');
  assert.equal(errors.reduce((n, l) => n + (l.fields.records as number), 0), evicted);
  assert.equal(errors[0]!.fields.firstId, 'e00');
  assert.ok((errors[0]!.fields.oldestAgeMs as number) > 0, 'the age of the oldest evicted record is reported');
  assert.match(errors[0]!.msg, /spool full: evicted the oldest records .*data lost/);
  assert.equal(s.counters().evictedBytes, evicted * 1000);
  s.close();
  assert.deepEqual(ids(open(dir, new CapturedLog(), maxBytes, 4 * 1024)), kept, 'evicted records do not come back after a restart');
});

test('a record in flight when it is evicted is reported as not live when Firehose accepts it', (t) => {
  const { dir, remove } = tempDir();
  t.after(remove);
  const s = open(dir, new CapturedLog(), 8 * 1024, 2 * 1024);
  s.append([rec('f0', 900), rec('f1', 900)], T0);
  const inFlight = live(s);
  s.claim(inFlight);
  for (let i = 2; i < 12; i++) s.append([rec(`f${i}`, 900)], T0);
  assert.ok(inFlight.every((e) => e.state === 'gone'));
  assert.deepEqual(s.markDone(inFlight), { notLive: 2 });
  s.close();
});

test('a record larger than the whole spool is rejected; the others of the message are stored', (t) => {
  const { dir, remove } = tempDir();
  t.after(remove);
  const s = open(dir, new CapturedLog(), 4096, 1024);
  const out = s.append([rec('small'), rec('huge', 5000), rec('small-2')], T0);
  assert.deepEqual(out.stored, ['small', 'small-2']);
  assert.equal(out.rejected.length, 1);
  assert.equal(out.rejected[0]!.id, 'huge');
  assert.match(out.rejected[0]!.reason, /more than the whole spool/);
  s.close();
});

test('ids are de-duplicated within a message, against live records, and across a restart', (t) => {
  const { dir, remove } = tempDir();
  t.after(remove);
  const a = open(dir);
  assert.deepEqual(a.append([rec('x'), rec('x'), rec('y')], T0), { stored: ['x', 'x', 'y'], duplicates: 1, rejected: [] });
  assert.equal(a.append([rec('y')], T0).duplicates, 1);
  const b = open(dir); // crash
  assert.equal(b.append([rec('x'), rec('y'), rec('z')], T0).duplicates, 2);
  assert.deepEqual(ids(b), ['x', 'y', 'z']);
  a.close();
  b.close();
});

test('a failed write acknowledges nothing of the message and leaves the spool as it was', (t) => {
  const { dir, remove } = tempDir();
  t.after(remove);
  const s = open(dir);
  s.append([rec('before')], T0);
  const real = fs.writeSync;
  let calls = 0;
  const mocked = t.mock.method(fs, 'writeSync', (...args: Parameters<typeof fs.writeSync>) => {
    if (++calls === 2) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    return (real as (...a: unknown[]) => number)(...args);
  });
  assert.throws(() => s.append([rec('w1'), rec('w2'), rec('w3')], T0), (e: unknown) => e instanceof SpoolWriteError && /ENOSPC/.test(e.message));
  mocked.mock.restore();
  assert.deepEqual(ids(s), ['before']);
  s.append([rec('after')], T0);
  s.close();
  assert.deepEqual(ids(open(dir)), ['before', 'after']);
});

test('lowering maxBytes at run time evicts the oldest segments at once until the files fit, at ERROR; raising it keeps everything', (t) => {
  const { dir, remove } = tempDir();
  t.after(remove);
  const log = new CapturedLog();
  const s = open(dir, log, 64 * 1024, 4 * 1024);
  for (let i = 0; i < 20; i++) s.append([rec(`m${String(i).padStart(2, '0')}`, 1000)], T0 + i);
  const before = s.stats(T0);
  s.setLimits({ maxBytes: 128 * 1024, segmentBytes: 4 * 1024 }, T0 + 100);
  assert.deepEqual(s.stats(T0), before, 'a larger limit changes nothing on disk');
  assert.equal(log.at('error').length, 0);

  s.setLimits({ maxBytes: 8 * 1024, segmentBytes: 2 * 1024 }, T0 + 100);
  const after = s.stats(T0);
  assert.ok(after.bytes <= 8 * 1024, `within the new maxBytes (${after.bytes})`);
  const onDisk = segmentFiles(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
  assert.equal(onDisk, after.bytes, 'the accounting is the disk usage');
  const evicted = s.counters().evictedRecords;
  assert.equal(ids(s).length + evicted, 20);
  assert.deepEqual(ids(s), Array.from({ length: 20 - evicted }, (_, k) => `m${String(evicted + k).padStart(2, '0')}`), 'the newest are kept, in order');
  const errors = log.at('error');
  assert.ok(errors.length > 0 && errors.every((l) => l.msg === 'spool.maxBytes lowered: evicted the oldest records to fit (data lost)'));
  assert.equal(errors.reduce((n, l) => n + (l.fields.records as number), 0), evicted);
  assert.equal(errors[0]!.fields.maxBytes, 8 * 1024);

  // The new segment size applies from the next segment on; the limits hold for new records too.
  for (let i = 20; i < 40; i++) {
    s.append([rec(`m${i}`, 1000)], T0 + i);
    assert.ok(s.stats(T0).bytes <= 8 * 1024);
  }
  const sizes = segmentFiles(dir).map((f) => statSync(join(dir, f)).size);
  assert.ok(sizes.every((b) => b <= 2 * 1024), `segments of at most the new segmentBytes: ${sizes.join(', ')}`);
  s.close();
});

test('released records wait again, first in line, and count as unclaimed bytes again', (t) => {
  const { dir, remove } = tempDir();
  t.after(remove);
  const s = open(dir);
  s.append([rec('a'), rec('b'), rec('c')], T0);
  const waiting = s.unclaimedBytes;
  const held = live(s).slice(0, 2);
  s.claim(held);
  assert.deepEqual(ids(s), ['c']);
  s.release(held);
  assert.deepEqual(ids(s), ['a', 'b', 'c']);
  assert.equal(s.unclaimedBytes, waiting);
  // Releasing again, or releasing a record no longer there, changes nothing.
  s.release(held);
  assert.equal(s.unclaimedBytes, waiting);
  s.claim(held);
  s.markDone(held);
  s.release(held);
  assert.deepEqual(ids(s), ['c']);
  s.close();
});
