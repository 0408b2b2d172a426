import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BurstRecorder, type BurstRecorderConfig, type BurstTagConfig, type Capture } from '../../../../shared/burst/burst-recorder';
import { BurstConfigError } from '../../../../shared/burst/errors';

const T0 = 1_700_000_000_000;
const TAG: BurstTagConfig = { preTriggerMs: 60_000, postTriggerMs: 10_000, samplingIntervalMs: 100 };
/** Sample k of the tests' signal is at T0 + k * 100 ms with value k: a sample's value says when it was taken. */
const tOf = (k: number) => T0 + k * 100;
/** The trigger time of most tests: k = 900, when the ring holds 90 s (more than it can keep). */
const T = tOf(900);
const BAD = 0x80000000;
const UNCERTAIN = 0x40000000;

function recorder(over: Partial<BurstRecorderConfig> = {}): BurstRecorder {
  return new BurstRecorder({ tags: [TAG], cooldownMs: 0, maxCapturesPerHour: 100, maxCaptureMs: 300_000, idPrefix: 'run1', ...over });
}

/** Samples k = from..to (inclusive) of `tag`, except those in `skip`. */
function feed(r: BurstRecorder, from: number, to: number, opts: { tag?: number; skip?: Set<number>; status?: (k: number) => number } = {}): void {
  for (let k = from; k <= to; k++) {
    if (opts.skip?.has(k)) continue;
    r.add(opts.tag ?? 0, tOf(k), k, opts.status?.(k) ?? 0);
  }
}

function flushed(r: BurstRecorder, watermarkMs: number): Capture[] {
  const out: Capture[] = [];
  r.flush(watermarkMs, (c) => out.push(c));
  return out;
}

function closedAll(r: BurstRecorder): Capture[] {
  const out: Capture[] = [];
  r.closeAll((c) => out.push(c));
  return out;
}

/** The indices k of a capture's samples (value = k), checked against their times. */
function ks(c: Capture): number[] {
  const out = [...c.values].map((v, i) => (Number.isNaN(v) ? Math.round((c.times[i]! - T0) / 100) : v));
  out.forEach((k, i) => assert.equal(c.times[i], tOf(k)));
  return out;
}

const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

test('a full ring gives exactly 600 pre-trigger samples: t = trigger - 60000 included, t = trigger in the post part', () => {
  const r = recorder();
  feed(r, 0, 930); // the RMS alarm is decided 3 s after its trigger time
  assert.equal(r.ringState(0).wrapped, true);
  assert.deepEqual(r.trigger(0, T, 'run1-a1'), { kind: 'started', captureId: 'run1-c1' });
  feed(r, 931, 999);
  assert.deepEqual(flushed(r, tOf(999)), [], 'open until a sample at or after T + 10 s arrives');
  feed(r, 1000, 1000);
  const [c, ...rest] = flushed(r, tOf(1000));
  assert.equal(rest.length, 0);
  assert.equal(c!.captureId, 'run1-c1');
  assert.deepEqual(c!.alarmIds, ['run1-a1']);
  assert.deepEqual([c!.triggerMs, c!.startMs, c!.endMs], [T, T - 60_000, T + 10_000]);
  assert.equal(c!.count, 700);
  assert.equal(c!.preTriggerCount, 600);
  assert.deepEqual(ks(c!), range(300, 999));
  assert.equal(c!.times[0], T - 60_000);
  assert.equal(c!.times[599], T - 100);
  assert.equal(c!.times[600], T);
  assert.equal(c!.times.length, 700, 'arrays are exactly count long');
  assert.equal(c!.values.length, 700);
  assert.equal(c!.status.length, 700);
  assert.deepEqual([c!.complete, c!.incomplete, c!.gaps, c!.badCount], [true, [], { count: 0, missingSamples: 0 }, 0]);
  assert.deepEqual(
    r.counters(),
    { ringBytes: 702 * 20, openCaptureBytes: 0, open: 0, pending: 0, started: 1, merged: 0, skipped: { cooldown: 0, budget: 0, notRinged: 0 }, completed: 1, incomplete: 0 },
  );
});

test('a trigger decided at its own time, or as late as the slack allows, yields the same 700 samples', () => {
  const early = recorder();
  feed(early, 0, 899); // the sample at T has not arrived yet
  early.trigger(0, T, 'a');
  feed(early, 900, 1000);
  const late = recorder();
  feed(late, 0, 1000); // decided 10 s late: the sample closing it is already in the ring
  assert.equal(late.trigger(0, T, 'a').kind, 'started');
  assert.equal(late.counters().open, 0, 'closed at once');
  for (const r of [early, late]) {
    const [c] = flushed(r, -Infinity);
    assert.deepEqual(ks(c!), range(300, 999));
    assert.equal(c!.complete, true);
  }
});

test('a trigger later than the slack finds the ring short of the pre-trigger start: ringShort', () => {
  const r = recorder();
  feed(r, 0, 1010);
  r.trigger(0, T, 'a');
  const [c] = flushed(r, -Infinity);
  // the ring holds 702 samples ending at k = 1010: k = 309..1010, of which 309..999 are in the capture
  assert.deepEqual([c!.count, c!.preTriggerCount, c!.incomplete], [691, 591, ['ringShort']]);
});

test('ringShort when the collector started less than 60 s before the alarm', () => {
  const r = recorder();
  feed(r, 600, 920); // first sample 30 s before T
  assert.equal(r.ringState(0).wrapped, false);
  r.trigger(0, T, 'a');
  feed(r, 921, 1000);
  const [c] = flushed(r, -Infinity);
  assert.deepEqual([c!.count, c!.preTriggerCount, c!.complete, c!.incomplete], [400, 300, false, ['ringShort']]);
  assert.equal(r.counters().incomplete, 1);
  // the first sample within 1.5 intervals of the start is not short
  const r2 = recorder();
  feed(r2, 301, 1000, {}); // first sample at startMs + 100
  r2.trigger(0, T, 'a');
  assert.deepEqual(flushed(r2, -Infinity)[0]!.incomplete, []);
});

test('a trigger on the open capture merges: alarm ids in order, the end extended to the last trigger + post', () => {
  const r = recorder();
  feed(r, 0, 900);
  r.trigger(0, T, 'a1');
  feed(r, 901, 950);
  assert.deepEqual(r.trigger(0, tOf(950), 'a2'), { kind: 'merged', captureId: 'run1-c1' });
  assert.deepEqual(r.trigger(0, tOf(920), 'a3'), { kind: 'merged', captureId: 'run1-c1' }, 'an earlier trigger merges but does not shorten');
  feed(r, 951, 1049);
  assert.equal(r.counters().open, 1, 'T + 10 s no longer closes it');
  feed(r, 1050, 1060);
  const [c] = flushed(r, -Infinity);
  assert.deepEqual(c!.alarmIds, ['a1', 'a2', 'a3']);
  assert.deepEqual([c!.triggerMs, c!.startMs, c!.endMs], [T, T - 60_000, tOf(1050)]);
  assert.deepEqual([c!.count, c!.preTriggerCount, c!.complete], [750, 600, true]);
  assert.deepEqual([r.counters().started, r.counters().merged], [1, 2]);
});

test('maxCaptureMs caps the end: merges stop extending it', () => {
  const r = recorder({ maxCaptureMs: 80_000 });
  feed(r, 0, 900);
  r.trigger(0, T, 'a1');
  feed(r, 901, 980);
  r.trigger(0, tOf(980), 'a2'); // min(T + 18 s, start + 80 s = T + 20 s)
  feed(r, 981, 1070);
  r.trigger(0, tOf(1070), 'a3'); // capped at T + 20 s
  feed(r, 1071, 1150);
  const [c] = flushed(r, -Infinity);
  assert.deepEqual([c!.endMs, c!.count, c!.endMs - c!.startMs], [T + 20_000, 800, 80_000]);
  assert.deepEqual(ks(c!), range(300, 1099));
  assert.deepEqual(c!.alarmIds, ['a1', 'a2', 'a3']);
});

test('cooldown: a trigger less than cooldownMs after the previous capture ended is skipped and counted', () => {
  const r = recorder({ cooldownMs: 30_000 });
  feed(r, 0, 900);
  r.trigger(0, T, 'a1');
  feed(r, 901, 1000); // closes at T + 10 s
  assert.equal(flushed(r, -Infinity).length, 1);
  feed(r, 1001, 1300);
  assert.deepEqual(r.trigger(0, T + 39_999, 'a2'), { kind: 'skipped', reason: 'cooldown' });
  assert.deepEqual(r.trigger(0, T + 5_000, 'a3'), { kind: 'skipped', reason: 'cooldown' }, 'inside the previous capture');
  assert.deepEqual(r.trigger(0, T + 40_000, 'a4'), { kind: 'started', captureId: 'run1-c2' });
  assert.deepEqual(r.counters().skipped, { cooldown: 2, budget: 0, notRinged: 0 });
});

test('hourly budget per device over a sliding hour of source time; merges use none; 0 disables captures', () => {
  const r = new BurstRecorder({ tags: [TAG, TAG, TAG, TAG], cooldownMs: 0, maxCapturesPerHour: 2, maxCaptureMs: 300_000, idPrefix: 'g' });
  assert.equal(r.trigger(0, T, 'a1').kind, 'started');
  assert.equal(r.trigger(0, T + 500, 'a1b').kind, 'merged');
  assert.equal(r.trigger(1, T + 1000, 'a2').kind, 'started');
  assert.deepEqual(r.trigger(2, T + 2000, 'a3'), { kind: 'skipped', reason: 'budget' });
  assert.deepEqual(r.trigger(2, T + 3_599_999, 'a4'), { kind: 'skipped', reason: 'budget' }, 'T is still within the hour');
  assert.deepEqual(r.trigger(2, T + 3_600_000, 'a5'), { kind: 'started', captureId: 'g-c3' }, 'T has left the hour');
  assert.deepEqual(r.trigger(3, T + 3_600_500, 'a6'), { kind: 'skipped', reason: 'budget' }, 'T + 1000 and T + 3600000 are within the hour');
  assert.equal(r.trigger(3, T + 3_601_000, 'a7').kind, 'started');
  assert.deepEqual(r.counters().skipped, { cooldown: 0, budget: 3, notRinged: 0 });
  assert.equal(r.counters().started, 4);

  const off = recorder({ maxCapturesPerHour: 0 });
  feed(off, 0, 900);
  assert.deepEqual(off.trigger(0, T, 'a'), { kind: 'skipped', reason: 'budget' });
});

test('notRinged: a tag without burst config, out of range, or a non-finite trigger time', () => {
  const r = new BurstRecorder({ tags: [null, TAG], cooldownMs: 0, maxCapturesPerHour: 10, maxCaptureMs: 300_000, idPrefix: 'p' });
  for (const [tag, at] of [[0, T], [2, T], [-1, T], [1, NaN], [1, Infinity]] as const) {
    assert.deepEqual(r.trigger(tag, at, 'a'), { kind: 'skipped', reason: 'notRinged' });
  }
  r.add(0, T, 1, 0); // ignored, no throw
  r.add(5, T, 1, 0);
  assert.deepEqual(r.counters().skipped, { cooldown: 0, budget: 0, notRinged: 5 });
  assert.equal(r.counters().ringBytes, 702 * 20, 'only tag 1 has a ring');
});

test('gaps: consecutive samples more than 1.5 intervals apart, missing = round(dt / interval) - 1; jitter is not a gap', () => {
  const r = recorder();
  // k = 400..402 missing (dt 400 ms: 3 missing), k = 950 missing (dt 200 ms: 1 missing),
  // k = 700 taken 40 ms late (dt 140 ms then 60 ms: jitter)
  for (let k = 0; k <= 1000; k++) {
    if (k === 400 || k === 401 || k === 402 || k === 950) continue;
    r.add(0, k === 700 ? tOf(700) + 40 : tOf(k), k, 0);
  }
  r.trigger(0, T, 'a');
  const [c] = flushed(r, -Infinity);
  assert.deepEqual([c!.count, c!.gaps, c!.incomplete, c!.complete], [696, { count: 2, missingSamples: 4 }, ['gaps'], false]);
});

test('endShort: a tag that stops delivering is closed by the watermark once it passes endMs', () => {
  const r = recorder();
  feed(r, 0, 949); // stops at T + 4.9 s
  r.trigger(0, T, 'a');
  assert.deepEqual(flushed(r, T + 9_999), []);
  assert.equal(r.counters().open, 1);
  assert.equal(r.counters().openCaptureBytes, (700 + 8) * 20, 'sized for the whole capture up front');
  const [c] = flushed(r, T + 10_000);
  assert.deepEqual([c!.count, c!.preTriggerCount, c!.incomplete], [650, 600, ['endShort']]);
  assert.equal(r.counters().open, 0);
  // a last sample within 1.5 intervals of the end is not short
  const r2 = recorder();
  feed(r2, 0, 999);
  r2.trigger(0, T, 'a');
  assert.deepEqual(flushed(r2, T + 10_000)[0]!.incomplete, []);
});

test('closeAll: captures short of their end are truncated; nearly finished ones are complete', () => {
  const r = new BurstRecorder({ tags: [TAG, TAG], cooldownMs: 0, maxCapturesPerHour: 10, maxCaptureMs: 300_000, idPrefix: 'p' });
  feed(r, 0, 950);
  feed(r, 0, 999, { tag: 1 });
  r.trigger(0, T, 'a');
  r.trigger(1, T, 'b');
  const all = closedAll(r);
  assert.deepEqual(
    all.map((c) => [c.tag, c.count, c.incomplete]),
    [
      [0, 651, ['truncated']],
      [1, 700, []],
    ],
  );
  assert.deepEqual([r.counters().open, r.counters().completed, r.counters().incomplete], [0, 1, 1]);
  assert.deepEqual(closedAll(r), [], 'nothing left');
});

test('bad and uncertain samples are counted, kept with value NaN, and do not make a capture incomplete', () => {
  const r = recorder();
  const status = (k: number) => (k === 500 ? BAD : k === 950 ? UNCERTAIN : k === 960 ? 0xc0000000 : 0);
  feed(r, 0, 1000, { status });
  r.trigger(0, T, 'a');
  const [c] = flushed(r, -Infinity);
  assert.deepEqual([c!.count, c!.badCount, c!.complete], [700, 3, true]);
  const i = (k: number) => k - 300;
  assert.ok(Number.isNaN(c!.values[i(500)]!), 'a Bad sample carrying a value is stored as NaN');
  assert.deepEqual([c!.status[i(500)], c!.status[i(950)], c!.status[i(960)]], [BAD, UNCERTAIN, 0xc0000000]);
  assert.equal(c!.values[i(501)], 501);
});

test('flush emits closed captures in the order they started; a throwing emit loses nothing', () => {
  const r = new BurstRecorder({ tags: [TAG, TAG], cooldownMs: 0, maxCapturesPerHour: 10, maxCaptureMs: 300_000, idPrefix: 'p' });
  feed(r, 0, 900, { tag: 1 });
  feed(r, 0, 910, { tag: 0 });
  r.trigger(1, T, 'first'); // tag 1 then stops delivering
  r.trigger(0, tOf(910), 'second');
  feed(r, 911, 1010, { tag: 0 }); // closes tag 0's capture before tag 1's
  let calls = 0;
  assert.throws(() =>
    r.flush(T + 10_000, () => {
      calls++;
      throw new Error('downstream full');
    }),
  );
  assert.equal(calls, 1);
  assert.equal(r.counters().pending, 1);
  const [c2] = flushed(r, T + 10_000);
  assert.equal(c2!.captureId, 'p-c2', 'the first was delivered before the throw, the second waited');
  const r2 = new BurstRecorder({ tags: [TAG, TAG], cooldownMs: 0, maxCapturesPerHour: 10, maxCaptureMs: 300_000, idPrefix: 'p' });
  feed(r2, 0, 900, { tag: 1 });
  feed(r2, 0, 910, { tag: 0 });
  r2.trigger(1, T, 'first');
  r2.trigger(0, tOf(910), 'second');
  feed(r2, 911, 1010, { tag: 0 });
  assert.deepEqual(flushed(r2, T + 10_000).map((c) => [c.captureId, c.tag, c.incomplete]), [
    ['p-c1', 1, ['endShort']],
    ['p-c2', 0, []],
  ]);
});

test('a capture with no sample at all is marked short at both ends', () => {
  const r = recorder();
  r.trigger(0, T, 'a');
  const [c] = flushed(r, T + 10_000);
  assert.deepEqual([c!.count, c!.preTriggerCount, c!.incomplete, c!.times.length], [0, 0, ['ringShort', 'endShort'], 0]);
});

test('invalid configuration throws BurstConfigError', () => {
  const ok: BurstRecorderConfig = { tags: [TAG], cooldownMs: 0, maxCapturesPerHour: 1, maxCaptureMs: 70_000, idPrefix: 'p' };
  assert.doesNotThrow(() => new BurstRecorder(ok));
  const bad: [string, Partial<BurstRecorderConfig>][] = [
    ['negative preTriggerMs', { tags: [{ ...TAG, preTriggerMs: -1 }] }],
    ['NaN postTriggerMs', { tags: [{ ...TAG, postTriggerMs: NaN }] }],
    ['zero samplingIntervalMs', { tags: [{ ...TAG, samplingIntervalMs: 0 }] }],
    ['maxCaptureMs < pre + post', { maxCaptureMs: 69_999 }],
    ['negative cooldownMs', { cooldownMs: -1 }],
    ['fractional maxCapturesPerHour', { maxCapturesPerHour: 1.5 }],
    ['negative slackMs', { slackMs: -1 }],
    ['infinite slackMs', { slackMs: Infinity }],
    ['empty idPrefix', { idPrefix: '' }],
  ];
  for (const [what, over] of bad) {
    assert.throws(() => new BurstRecorder({ ...ok, ...over }), (e: unknown) => e instanceof BurstConfigError && e.name === 'BurstConfigError', what);
  }
  assert.equal(new BurstRecorder({ ...ok, slackMs: 0 }).counters().ringBytes, 602 * 20, 'the ring holds pre + slack');
});
