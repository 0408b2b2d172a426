import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReductionConfigError } from '../../../../shared/reduction/errors';
import { RmsWindow, type RmsWindowRecord } from '../../../../shared/reduction/rms-window';
import { STATUS_BAD, STATUS_GOOD, STATUS_UNCERTAIN } from '../../../../shared/reduction/status';
import { assertClose, drain, referenceWindows } from './helpers';

const T0 = 1_700_000_000_000; // a multiple of every window length used here
const NO_DROPS = { unknownTag: 0, invalidStatus: 0, invalidTimestamp: 0, invalidValue: 0, late: 0 };

/** A deterministic pseudo-random sequence (LCG), so failures reproduce. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

test('matches a reference implementation over arrays to 1e-12, for offset timestamps and bad samples', () => {
  const tags = 5;
  const rms = new RmsWindow({ tags: Array.from({ length: tags }, () => ({})) });
  const rnd = lcg(42);
  const perTag: { t: number; v: number; good: boolean }[][] = Array.from({ length: tags }, () => []);
  const out: RmsWindowRecord[] = [];
  for (let tick = 0; tick < 100; tick++) {
    const t = T0 + 50 + tick * 100; // 1700000000050, ...: samples sit 50 ms into each slot
    for (let tag = 0; tag < tags; tag++) {
      const good = rnd() > 0.1;
      // offsets and magnitudes that make naive variance formulas fail: 1e6 + noise, and tiny values
      const v = tag === 0 ? 1e6 + rnd() : tag === 1 ? (rnd() - 0.5) * 1e-9 : (rnd() - 0.5) * 200 * tag;
      perTag[tag]!.push({ t, v, good });
      rms.add(tag, t, good ? v : NaN, good ? STATUS_GOOD : tag % 2 ? STATUS_BAD : STATUS_UNCERTAIN);
    }
    out.push(...drain<RmsWindowRecord>(rms, t - 200));
  }
  out.push(...drain<RmsWindowRecord>(rms, T0 + 10_000));
  for (let tag = 0; tag < tags; tag++) {
    const mine = out.filter((r) => r.tag === tag);
    const ref = referenceWindows(perTag[tag]!, 1000);
    assert.equal(mine.length, 10);
    assert.equal(ref.length, 10);
    for (let i = 0; i < ref.length; i++) {
      const m = mine[i]!;
      const r = ref[i]!;
      assert.equal(m.windowStartMs, r.windowStartMs);
      assert.equal(m.windowEndMs, r.windowStartMs + 1000);
      assert.equal(m.count, r.count);
      assert.equal(m.badCount, r.badCount);
      assert.equal(m.coverage, r.count / 10);
      for (const k of ['rms', 'mean', 'min', 'max', 'peak'] as const) assertClose(m[k], r[k], 1e-12, `tag ${tag} window ${i} ${k}`);
    }
  }
});

test('exact numbers for one window: 3, -4, 0, 12 and one Bad sample', () => {
  const rms = new RmsWindow({ tags: [{}] });
  const t = 1_700_000_000_050;
  [3, -4, 0, 12].forEach((v, i) => rms.add(0, t + i * 100, v, STATUS_GOOD));
  rms.add(0, t + 400, NaN, STATUS_BAD);
  assert.deepEqual(drain(rms, t + 949), [], 'the window [..000, ..1000) is still open at watermark ...0999');
  assert.deepEqual(drain(rms, T0 + 1000), [
    {
      tag: 0,
      windowStartMs: 1_700_000_000_000,
      windowEndMs: 1_700_000_001_000,
      windowsMissed: 0,
      status: 'ok',
      count: 4,
      badCount: 1,
      coverage: 0.4,
      rms: Math.sqrt((9 + 16 + 0 + 144) / 4), // 6.5
      mean: 11 / 4,
      min: -4,
      max: 12,
      peak: 12,
    },
  ]);
});

test('windows align to multiples of their length in source time, not to the first sample', () => {
  const rms = new RmsWindow({ tags: [{ windowMs: 250, samplingIntervalMs: 50 }, { windowMs: 60_000, expectedSamples: 600 }] });
  for (const t of [1_700_000_000_050, 1_700_000_000_249, 1_700_000_000_250, 1_700_000_000_499.5, 1_700_000_000_500]) rms.add(0, t, 1, STATUS_GOOD);
  rms.add(1, 1_700_000_140_123, 2, STATUS_GOOD); // 1700000140123 % 60000 = 40123: its minute began at ...100000
  const records = drain<RmsWindowRecord>(rms, 1_700_000_000_750);
  assert.deepEqual(
    records.map((r) => [r.tag, r.windowStartMs, r.windowEndMs, r.count, r.coverage]),
    [
      [0, 1_700_000_000_000, 1_700_000_000_250, 2, 0.4],
      [0, 1_700_000_000_250, 1_700_000_000_500, 2, 0.4],
      [0, 1_700_000_000_500, 1_700_000_000_750, 1, 0.2],
    ],
  );
  const minute = drain<RmsWindowRecord>(rms, 1_700_000_160_000).filter((r) => r.tag === 1);
  assert.deepEqual(
    minute.map((r) => [r.windowStartMs, r.windowEndMs, r.count, r.coverage]),
    [[1_700_000_100_000, 1_700_000_160_000, 1, 1 / 600]],
  );
});

test('coverage is count / expectedSamples, unclamped, and Bad samples do not count', () => {
  const rms = new RmsWindow({ tags: [{}, {}, { expectedSamples: 4 }] });
  for (let i = 0; i < 10; i++) rms.add(0, T0 + i * 100, i, i < 7 ? STATUS_GOOD : STATUS_BAD);
  for (let i = 0; i < 12; i++) rms.add(1, T0 + i * 80, i, STATUS_GOOD);
  for (let i = 0; i < 2; i++) rms.add(2, T0 + i * 100, i, STATUS_GOOD);
  const byTag = new Map(drain<RmsWindowRecord>(rms, T0 + 1000).map((r) => [r.tag, r]));
  assert.equal(byTag.get(0)!.coverage, 0.7);
  assert.equal(byTag.get(0)!.badCount, 3);
  assert.equal(byTag.get(1)!.coverage, 1.2);
  assert.equal(byTag.get(2)!.coverage, 0.5);
});

test('a window with no Good samples reports noGoodData with nulls, never a fake 0', () => {
  const rms = new RmsWindow({ tags: [{}] });
  rms.add(0, T0 + 10, NaN, STATUS_BAD);
  rms.add(0, T0 + 110, 5, STATUS_UNCERTAIN);
  assert.deepEqual(drain(rms, T0 + 1000), [
    { tag: 0, windowStartMs: T0, windowEndMs: T0 + 1000, windowsMissed: 0, status: 'noGoodData', count: 0, badCount: 2, coverage: 0, rms: null, mean: null, min: null, max: null, peak: null },
  ]);
});

test('a sample for a later window closes the open one; it waits in the queue for flush', () => {
  const rms = new RmsWindow({ tags: [{}] });
  rms.add(0, T0 + 900, 2, STATUS_GOOD);
  rms.add(0, T0 + 1000, 4, STATUS_GOOD);
  const r = drain<RmsWindowRecord>(rms, -Infinity); // no watermark: only windows closed by samples
  assert.deepEqual(r.map((x) => [x.windowStartMs - T0, x.count, x.mean]), [[0, 1, 2]]);
  assert.deepEqual(drain(rms, NaN), []);
});

test('late samples are counted, never merged: before the open window, or in a window the watermark closed', () => {
  const rms = new RmsWindow({ tags: [{}] });
  rms.add(0, T0 + 1500, 1, STATUS_GOOD);
  rms.add(0, T0 + 999, 100, STATUS_GOOD); // earlier than the open window [1000, 2000)
  assert.deepEqual(drain<RmsWindowRecord>(rms, T0 + 2000).map((x) => [x.windowStartMs - T0, x.count, x.max]), [[1000, 1, 1]]);
  rms.add(0, T0 + 1999, 100, STATUS_GOOD); // its window was closed by the watermark
  rms.add(0, T0 + 1999, NaN, STATUS_BAD); // late Bad samples are late too
  assert.deepEqual(rms.counters(), { received: 4, emitted: 1, dropped: { ...NO_DROPS, late: 3 }, windowsLost: 0 });
  assert.deepEqual(drain(rms, T0 + 2500), []);
});

test('gaps: one noData record per empty window when flushed every tick, one record for several when flushed late', () => {
  const rms = new RmsWindow({ tags: [{}, {}] });
  assert.deepEqual(drain(rms, T0 + 50_000), [], 'no record for a tag that never had a sample');
  rms.add(0, T0 + 50_000, 1, STATUS_GOOD);
  rms.add(1, T0 + 50_000, 1, STATUS_GOOD);
  const seen: RmsWindowRecord[] = [];
  for (let now = T0 + 50_100; now <= T0 + 53_000; now += 100) seen.push(...drain<RmsWindowRecord>(rms, now));
  const summary = (r: RmsWindowRecord) => [r.tag, r.windowStartMs - T0, r.windowEndMs - T0, r.windowsMissed, r.status];
  assert.deepEqual(seen.map(summary), [
    [0, 50_000, 51_000, 0, 'ok'],
    [1, 50_000, 51_000, 0, 'ok'],
    [0, 51_000, 52_000, 1, 'noData'],
    [1, 51_000, 52_000, 1, 'noData'],
    [0, 52_000, 53_000, 1, 'noData'],
    [1, 52_000, 53_000, 1, 'noData'],
  ]);
  assert.deepEqual(drain<RmsWindowRecord>(rms, T0 + 60_500).map(summary), [
    [0, 53_000, 60_000, 7, 'noData'],
    [1, 53_000, 60_000, 7, 'noData'],
  ]);
  const gap = seen[2]!;
  assert.equal(gap.count, 0);
  assert.equal(gap.coverage, 0);
  assert.equal(gap.rms, null);
});

test('a sample after a gap queues one record for the windows it skipped; records tile time', () => {
  const rms = new RmsWindow({ tags: [{}] });
  rms.add(0, T0 + 100, 1, STATUS_GOOD);
  rms.add(0, T0 + 4_200, 2, STATUS_GOOD); // skips windows [1000, 4000)
  rms.add(0, T0 + 5_300, 3, STATUS_GOOD);
  const records = drain<RmsWindowRecord>(rms, T0 + 6_000);
  assert.deepEqual(
    records.map((r) => [r.windowStartMs - T0, r.windowEndMs - T0, r.windowsMissed, r.status, r.count]),
    [
      [0, 1000, 0, 'ok', 1],
      [1000, 4000, 3, 'noData', 0],
      [4000, 5000, 0, 'ok', 1],
      [5000, 6000, 0, 'ok', 1],
    ],
  );
  for (let i = 1; i < records.length; i++) assert.equal(records[i]!.windowStartMs, records[i - 1]!.windowEndMs);
});

test('bad input is dropped and counted by reason, never thrown', () => {
  const rms = new RmsWindow({ tags: [{}, null] });
  const add = (tag: unknown, t: unknown, v: unknown, s: unknown) => rms.add(tag as number, t as number, v as number, s as number);
  add(1, T0, 1, STATUS_GOOD); // configured as null: not an RMS tag
  add(2, T0, 1, STATUS_GOOD);
  add(-1, T0, 1, STATUS_GOOD);
  add(undefined, T0, 1, STATUS_GOOD);
  add(0, T0, 1, -5);
  add(0, T0, 1, undefined);
  add(0, NaN, 1, STATUS_GOOD);
  add(0, undefined, 1, STATUS_GOOD);
  add(0, T0, NaN, STATUS_GOOD);
  add(0, T0, '12', STATUS_GOOD);
  add(0, T0, undefined, STATUS_GOOD);
  add(0, T0, { v: 1 }, STATUS_GOOD);
  add(0, T0, Infinity, STATUS_GOOD);
  add(0, T0, undefined, STATUS_BAD); // a Bad sample needs no value
  assert.deepEqual(rms.counters(), {
    received: 14,
    emitted: 0,
    dropped: { unknownTag: 4, invalidStatus: 2, invalidTimestamp: 2, invalidValue: 5, late: 0 },
    windowsLost: 0,
  });
  const [r] = drain<RmsWindowRecord>(rms, T0 + 1000);
  assert.equal(r!.badCount, 1);
  assert.equal(rms.counters().emitted, 1);
});

test('one record object is reused for every emit: callers must copy', () => {
  const rms = new RmsWindow({ tags: [{}, {}] });
  rms.add(0, T0, 1, STATUS_GOOD);
  rms.add(1, T0, 2, STATUS_GOOD);
  const seen: RmsWindowRecord[] = [];
  rms.flush(T0 + 1000, (r) => seen.push(r as RmsWindowRecord));
  assert.equal(seen.length, 2);
  assert.equal(seen[0], seen[1]);
});

test('a full queue loses windows and counts them; growth up to the limit loses nothing', () => {
  const rms = new RmsWindow({ tags: [{ windowMs: 100, expectedSamples: 1 }], maxPendingWindows: 20 });
  for (let i = 0; i < 25; i++) rms.add(0, T0 + i * 100, i, STATUS_GOOD); // closes 24 windows
  const records = drain<RmsWindowRecord>(rms, -Infinity);
  assert.equal(records.length, 20);
  assert.deepEqual(records.map((r) => r.mean), Array.from({ length: 20 }, (_, i) => i));
  assert.equal(rms.counters().windowsLost, 4);
  for (let i = 25; i < 40; i++) rms.add(0, T0 + i * 100, i, STATUS_GOOD);
  assert.equal(drain(rms, -Infinity).length, 15, 'the queue is reusable after a flush');
});

test('if emit throws, the rest of the records come with the next flush', () => {
  const rms = new RmsWindow({ tags: [{}] });
  for (let i = 0; i < 4; i++) rms.add(0, T0 + i * 1000, i, STATUS_GOOD);
  let calls = 0;
  assert.throws(() =>
    rms.flush(-Infinity, () => {
      if (++calls === 2) throw new Error('publisher down');
    }),
  );
  assert.deepEqual(drain<RmsWindowRecord>(rms, -Infinity).map((r) => r.mean), [2]);
});

test('invalid configuration is rejected at construction with the tag number', () => {
  for (const bad of [{ windowMs: 0 }, { windowMs: 1.5 }, { windowMs: -1000 }, { windowMs: 86_400_001 }, { samplingIntervalMs: 0 }, { samplingIntervalMs: 2000 }, { expectedSamples: 0 }, { expectedSamples: NaN }]) {
    assert.throws(() => new RmsWindow({ tags: [{}, bad] }), (e: unknown) => e instanceof ReductionConfigError && e.tag === 1, JSON.stringify(bad));
  }
  assert.throws(() => new RmsWindow({ tags: [], maxPendingWindows: 0 }), ReductionConfigError);
  assert.throws(() => new RmsWindow(undefined as never), ReductionConfigError);
});
