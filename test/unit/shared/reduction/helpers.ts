// Test helpers for the reduction stages: collecting reused output records, a reference RMS over
// plain arrays, and a relative-error comparison.
import assert from 'node:assert/strict';

/** Calls `flush` and returns copies of every record it emitted (stages reuse one record object). */
export function drain<R extends object>(stage: { flush(nowMs: number, emit: (r: Readonly<R>) => void): void }, nowMs: number): R[] {
  const out: R[] = [];
  stage.flush(nowMs, (r) => out.push({ ...r }));
  return out;
}

/** |actual - expected| <= tol * |expected| (or exact equality for 0 and null). */
export function assertClose(actual: number | null, expected: number | null, tol: number, what: string): void {
  if (expected === null || actual === null || expected === 0) {
    assert.equal(actual, expected, what);
    return;
  }
  const rel = Math.abs(actual - expected) / Math.abs(expected);
  assert.ok(rel <= tol, `${what}: ${actual} vs ${expected} (relative error ${rel})`);
}

export interface ReferenceWindow {
  windowStartMs: number;
  count: number;
  badCount: number;
  rms: number | null;
  mean: number | null;
  min: number | null;
  max: number | null;
  peak: number | null;
}

/**
 * The straightforward implementation: group Good values of one tag by window with Math.floor, then
 * compute each statistic over the array of values.
 */
export function referenceWindows(samples: readonly { t: number; v: number; good: boolean }[], windowMs: number): ReferenceWindow[] {
  const groups = new Map<number, { values: number[]; bad: number }>();
  for (const s of samples) {
    const start = Math.floor(s.t / windowMs) * windowMs;
    let g = groups.get(start);
    if (!g) groups.set(start, (g = { values: [], bad: 0 }));
    if (s.good) g.values.push(s.v);
    else g.bad++;
  }
  return [...groups.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([start, { values, bad }]) => {
      const n = values.length;
      if (n === 0) return { windowStartMs: start, count: 0, badCount: bad, rms: null, mean: null, min: null, max: null, peak: null };
      return {
        windowStartMs: start,
        count: n,
        badCount: bad,
        rms: Math.sqrt(values.map((x) => x * x).reduce((a, b) => a + b, 0) / n),
        mean: values.reduce((a, b) => a + b, 0) / n,
        min: Math.min(...values),
        max: Math.max(...values),
        peak: Math.max(...values.map(Math.abs)),
      };
    });
}
