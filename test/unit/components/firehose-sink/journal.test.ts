// The delivery journal's pieces: delivered seqs as ranges, the recent-id window, and a journal with a
// torn last frame (power lost mid-append) replaying everything before it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DoneJournal, JOURNAL_FILE, RangeSet, RecentIds } from '../../../../components/firehose-sink/src/journal';
import { tempDir } from './helpers';

test('RangeSet merges touching and overlapping ranges, in any order', () => {
  const r = new RangeSet();
  for (const [a, b] of [[5, 7], [1, 2], [10, 10], [3, 3], [8, 9], [20, 25], [22, 30], [12, 12]] as const) r.add(a, b);
  assert.deepEqual(r.toJSON(), [[1, 3], [5, 10], [12, 12], [20, 30]]);
  assert.deepEqual([0, 1, 4, 10, 11, 12, 19, 30, 31].map((n) => r.has(n)), [false, true, false, true, false, true, false, true, false]);
  assert.equal(r.max, 30);
  r.add(4);
  r.add(11);
  assert.deepEqual(r.toJSON(), [[1, 12], [20, 30]]);
});

test('RecentIds keeps at least the newest capacity ids and forgets the oldest', () => {
  const r = new RecentIds(4);
  for (const id of ['a', 'b', 'a', 'c', 'd', 'e', 'f', 'g']) r.add(id);
  assert.deepEqual(r.list(), ['d', 'e', 'f', 'g']);
  assert.equal(r.has('g') && r.has('d'), true);
  assert.equal(r.has('a'), false);
});

test('a journal with a torn last frame replays the frames before it and cuts the tail', (t) => {
  const { dir, remove } = tempDir();
  t.after(remove);
  const { journal } = DoneJournal.open(dir);
  const seqs = new RangeSet();
  seqs.add(0, 4);
  journal.appendDone(seqs, ['a', 'b', 'c', 'd', 'e']);
  const seqs2 = new RangeSet();
  seqs2.add(7);
  journal.appendDone(seqs2, ['h']);
  journal.close();
  const good = statSync(join(dir, JOURNAL_FILE)).size;
  appendFileSync(join(dir, JOURNAL_FILE), Buffer.from([0, 0, 1, 0, 0xde, 0xad]));
  const { journal: j2, replay } = DoneJournal.open(dir);
  j2.close();
  assert.equal(replay.truncatedBytes, 6);
  assert.equal(statSync(join(dir, JOURNAL_FILE)).size, good);
  assert.deepEqual(replay.done.toJSON(), [[0, 4], [7, 7]]);
  assert.equal(replay.nextSeq, 8);
  assert.deepEqual(replay.recent.list(), ['a', 'b', 'c', 'd', 'e', 'h']);
});
