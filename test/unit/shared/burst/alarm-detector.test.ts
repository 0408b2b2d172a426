import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AlarmDetector, type AlarmEvent, type AlarmRule } from '../../../../shared/burst/alarm-detector';
import { BurstConfigError } from '../../../../shared/burst/errors';

const T0 = 1_700_000_000_000;

/** Feeds observations [tag, fromMs, atMs, value] and returns the events, each tagged with the index of the observation that caused it. */
function run(d: AlarmDetector, obs: [number, number, number, number][]): (AlarmEvent & { at: number })[] {
  const out: (AlarmEvent & { at: number })[] = [];
  obs.forEach(([tag, from, at, v], i) => d.observe(tag, from, at, v, (e) => out.push({ ...e, at: i })));
  return out;
}

/** RMS windows of 1 s for tag 0 starting at T0, one value each (NaN allowed). */
function windows(values: number[], tag = 0): [number, number, number, number][] {
  return values.map((v, k) => [tag, T0 + k * 1000, T0 + (k + 1) * 1000, v]);
}

test('raise and clear with hysteresis: exact events, peak while raised, ids numbered per instance', () => {
  const rule: AlarmRule = { raiseAt: 10, clearBelow: 8, minDurationMs: 0 };
  const d = new AlarmDetector({ rules: [rule], idPrefix: 'run1' });
  const events = run(d, windows([9.99, 10, 12, 8, 11, 7.9, 9, 10]));
  assert.deepEqual(events, [
    { at: 1, kind: 'raise', tag: 0, alarmId: 'run1-a1', atMs: T0 + 2000, value: 10, raisedAtMs: T0 + 2000, peak: 10, rule },
    { at: 5, kind: 'clear', tag: 0, alarmId: 'run1-a1', atMs: T0 + 6000, value: 7.9, raisedAtMs: T0 + 2000, peak: 12, rule },
    { at: 7, kind: 'raise', tag: 0, alarmId: 'run1-a2', atMs: T0 + 8000, value: 10, raisedAtMs: T0 + 8000, peak: 10, rule },
  ]);
  assert.equal(d.isActive(0), true);
  assert.equal(d.activeId(0), 'run1-a2');
  assert.deepEqual(d.counters(), { raised: 2, cleared: 1, active: 1 });
});

test('clearBelow equal to raiseAt: clears as soon as the value drops below it', () => {
  const d = new AlarmDetector({ rules: [{ raiseAt: 5, clearBelow: 5, minDurationMs: 0 }], idPrefix: 'p' });
  const events = run(d, windows([5, 5, 4.999]));
  assert.deepEqual(events.map((e) => [e.kind, e.at]), [['raise', 0], ['clear', 2]]);
});

test('minDurationMs: raises when atMs - runStart >= minDurationMs over touching RMS windows', () => {
  const d = new AlarmDetector({ rules: [{ raiseAt: 5, clearBelow: 3, minDurationMs: 2000 }], idPrefix: 'p' });
  const events = run(d, windows([6, 6, 6, 2]));
  assert.deepEqual(
    events.map((e) => [e.kind, e.at, e.atMs, e.raisedAtMs, e.peak]),
    [
      ['raise', 1, T0 + 2000, T0 + 2000, 6],
      ['clear', 3, T0 + 4000, T0 + 2000, 6],
    ],
  );
  // 1999 ms is not enough
  const short = new AlarmDetector({ rules: [{ raiseAt: 5, clearBelow: 3, minDurationMs: 2000 }], idPrefix: 'p' });
  assert.deepEqual(run(short, [[0, T0, T0 + 1000, 6], [0, T0 + 1000, T0 + 1999, 6]]), []);
});

test('a value below raiseAt (even above clearBelow) ends a pending run; the next run starts over', () => {
  const d = new AlarmDetector({ rules: [{ raiseAt: 5, clearBelow: 3, minDurationMs: 2000 }], idPrefix: 'p' });
  const events = run(d, windows([6, 4, 6, 6, 6]));
  assert.deepEqual(events.map((e) => [e.at, e.atMs]), [[3, T0 + 4000]], 'run restarted at T0+2000, raised at T0+4000');
});

test('NaN breaks a pending run and never raises or clears; an active alarm survives NaN', () => {
  const d = new AlarmDetector({ rules: [{ raiseAt: 5, clearBelow: 3, minDurationMs: 1000 }], idPrefix: 'p' });
  const events = run(d, windows([6, NaN, 6, 6, NaN, NaN, 2]));
  // One 1 s window meets minDurationMs 1000 on its own; the NaN windows neither clear nor re-raise.
  assert.deepEqual(events.map((e) => [e.kind, e.at]), [['raise', 0], ['clear', 6]]);
  const d2 = new AlarmDetector({ rules: [{ raiseAt: 5, clearBelow: 3, minDurationMs: 1500 }], idPrefix: 'p' });
  const e2 = run(d2, windows([6, NaN, 6, 6]));
  assert.deepEqual(e2.map((e) => [e.kind, e.atMs]), [['raise', T0 + 4000]], 'the run restarted after the NaN window at T0+2000');
  // NaN times and reversed spans count as no good data too
  const d3 = new AlarmDetector({ rules: [{ raiseAt: 5, clearBelow: 3, minDurationMs: 1500 }], idPrefix: 'p' });
  assert.deepEqual(run(d3, [[0, T0, T0 + 1000, 6], [0, NaN, T0 + 2000, 6], [0, T0 + 2000, T0 + 3000, 6], [0, T0 + 3000, T0 + 2999, 6]]), []);
});

test('contiguity: a missed RMS window breaks the run (maxGapMs 0); maxGapMs bridges holes up to its size', () => {
  const obs: [number, number, number, number][] = [
    [0, T0, T0 + 1000, 6],
    [0, T0 + 2000, T0 + 3000, 6], // [T0+1000, T0+2000) missing
    [0, T0 + 3000, T0 + 4000, 6],
  ];
  const strict = new AlarmDetector({ rules: [{ raiseAt: 5, clearBelow: 3, minDurationMs: 2000 }], idPrefix: 'p' });
  assert.deepEqual(run(strict, obs).map((e) => e.atMs), [T0 + 4000]);
  const loose = new AlarmDetector({ rules: [{ raiseAt: 5, clearBelow: 3, minDurationMs: 2000, maxGapMs: 1000 }], idPrefix: 'p' });
  assert.deepEqual(run(loose, obs).map((e) => e.atMs), [T0 + 3000]);
});

test('raw samples (fromMs = atMs): with maxGapMs 1.5 x interval the 11th sample at 100 ms completes 1 s; a missing sample restarts', () => {
  const rule = { raiseAt: 5, clearBelow: 3, minDurationMs: 1000, maxGapMs: 150 };
  const raw = (ts: number[]): [number, number, number, number][] => ts.map((t) => [0, T0 + t, T0 + t, 7]);
  const every100 = Array.from({ length: 12 }, (_, k) => k * 100);
  const d = new AlarmDetector({ rules: [rule], idPrefix: 'p' });
  assert.deepEqual(run(d, raw(every100)).map((e) => [e.at, e.atMs]), [[10, T0 + 1000]]);
  const jitter = new AlarmDetector({ rules: [rule], idPrefix: 'p' });
  assert.deepEqual(run(jitter, raw([0, 100, 240, 300, 400, 500, 600, 700, 800, 900, 1000])).map((e) => e.atMs), [T0 + 1000], '140 ms is jitter, not a hole');
  const hole = new AlarmDetector({ rules: [rule], idPrefix: 'p' });
  assert.deepEqual(run(hole, raw([0, 100, 300, 400, 500, 600, 700, 800, 900, 1000, 1100, 1200, 1300])).map((e) => e.atMs), [T0 + 1300], '200 ms apart: the run restarts at 300');
  // Without maxGapMs, raw samples never form a run longer than 0 ms: only minDurationMs 0 raises.
  const noGap = new AlarmDetector({ rules: [{ raiseAt: 5, clearBelow: 3, minDurationMs: 1000 }, { raiseAt: 5, clearBelow: 3, minDurationMs: 0 }], idPrefix: 'p' });
  assert.deepEqual(run(noGap, raw(every100)), []);
  assert.deepEqual(run(noGap, [[1, T0, T0, 7]]).map((e) => e.kind), ['raise'], 'minDurationMs 0 raises on the first observation');
});

test('tags without a rule or out of range are ignored; each tag has its own state', () => {
  const d = new AlarmDetector({ rules: [null, { raiseAt: 1, clearBelow: 0, minDurationMs: 0 }, undefined], idPrefix: 'x' });
  const events = run(d, [
    [0, T0, T0, 100],
    [2, T0, T0, 100],
    [3, T0, T0, 100],
    [-1, T0, T0, 100],
    [1, T0, T0, 1],
  ]);
  assert.deepEqual(events.map((e) => [e.tag, e.alarmId]), [[1, 'x-a1']]);
  assert.equal(d.isActive(0), false);
  assert.equal(d.activeId(0), undefined);
  assert.equal(d.activeId(99), undefined);
  assert.equal(d.isActive(1), true);
});

test('the event carries a frozen copy of the rule: changing the config afterwards changes nothing', () => {
  const rules = [{ raiseAt: 5, clearBelow: 3, minDurationMs: 0 }];
  const d = new AlarmDetector({ rules, idPrefix: 'p' });
  rules[0]!.raiseAt = 100;
  const events = run(d, windows([6]));
  assert.equal(events.length, 1);
  assert.deepEqual(events[0]!.rule, { raiseAt: 5, clearBelow: 3, minDurationMs: 0 });
  assert.ok(Object.isFrozen(events[0]!.rule));
});

test('invalid rules throw BurstConfigError from the constructor', () => {
  const bad: [string, unknown][] = [
    ['clearBelow > raiseAt', { raiseAt: 5, clearBelow: 6, minDurationMs: 0 }],
    ['negative minDurationMs', { raiseAt: 5, clearBelow: 3, minDurationMs: -1 }],
    ['NaN raiseAt', { raiseAt: NaN, clearBelow: 3, minDurationMs: 0 }],
    ['infinite minDurationMs', { raiseAt: 5, clearBelow: 3, minDurationMs: Infinity }],
    ['negative maxGapMs', { raiseAt: 5, clearBelow: 3, minDurationMs: 0, maxGapMs: -5 }],
    ['missing clearBelow', { raiseAt: 5, minDurationMs: 0 }],
  ];
  for (const [what, rule] of bad) {
    assert.throws(() => new AlarmDetector({ rules: [null, rule as AlarmRule], idPrefix: 'p' }), (e: unknown) => e instanceof BurstConfigError && e.tag === 1, what);
  }
  assert.throws(() => new AlarmDetector({ rules: [], idPrefix: '' }), BurstConfigError);
  assert.throws(() => new AlarmDetector({ rules: {} as never, idPrefix: 'p' }), BurstConfigError);
});
