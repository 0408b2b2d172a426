// RmsWindow: tumbling windows per numeric tag, aligned in source time to [k*w, (k+1)*w), reducing
// ~10 samples to one record with rms, min, max, mean, peak, count, coverage and badCount.
//
// All RMS tags live in one instance; their state is a set of typed arrays indexed by tag number,
// so `add` touches a few array slots and allocates nothing. A window closes when a sample of a
// later window arrives (it is queued until `flush`) or when the runtime's watermark passes its end.

import { type Emit, type StageCounters, droppedSnapshot } from './contracts';
import { ReductionConfigError } from './errors';
import { grown, nextCapacity } from './typed';

/** Window length when a tag does not set one, ms. */
export const DEFAULT_WINDOW_MS = 1_000;
/** Sampling interval assumed when a tag sets neither it nor `expectedSamples`, ms. */
export const DEFAULT_SAMPLING_INTERVAL_MS = 100;
/** Longest window accepted, ms (one day); longer windows belong in the cloud. */
export const MAX_WINDOW_MS = 86_400_000;
/** Closed windows held between two flushes before further ones are lost (and counted). */
export const DEFAULT_MAX_PENDING_WINDOWS = 262_144;

export interface RmsTagConfig {
  /** Window length, a whole number of ms; windows are [k*w, (k+1)*w) in source time. */
  windowMs?: number;
  /** The source's sampling interval, used only to derive `expectedSamples`. */
  samplingIntervalMs?: number;
  /** Good samples a complete window holds; defaults to windowMs / samplingIntervalMs. */
  expectedSamples?: number;
}

export interface RmsWindowConfig {
  /** Indexed by tag number; null/undefined for tags this stage does not handle. */
  tags: readonly (RmsTagConfig | null | undefined)[];
  /** Cap on closed windows queued between flushes; see DEFAULT_MAX_PENDING_WINDOWS. */
  maxPendingWindows?: number;
}

/**
 * `ok`: at least one Good sample. `noGoodData`: samples arrived, all Bad or Uncertain.
 * `noData`: a gap record: nothing at all arrived for `windowsMissed` consecutive windows.
 */
export type RmsWindowStatus = 'ok' | 'noGoodData' | 'noData';

/**
 * One window (or, for `noData`, a run of empty windows). Statistics cover Good samples only and are
 * null when there were none: a window without data never reports a fake 0.
 */
export interface RmsWindowRecord {
  tag: number;
  /** Inclusive start, source time, a multiple of the window length. */
  windowStartMs: number;
  /** Exclusive end. For a gap record, the end of the last missed window. */
  windowEndMs: number;
  /** 0 for a window that received samples; for `noData`, the number of empty windows covered. */
  windowsMissed: number;
  status: RmsWindowStatus;
  /** Good samples in the window. */
  count: number;
  /** Bad and Uncertain samples in the window. */
  badCount: number;
  /** count / expectedSamples; not clamped, so a source sampling faster than configured shows > 1. */
  coverage: number;
  /** sqrt(sum(x^2) / count). */
  rms: number | null;
  mean: number | null;
  min: number | null;
  max: number | null;
  /** max |x|. */
  peak: number | null;
}

export type RmsDropReason = 'unknownTag' | 'invalidStatus' | 'invalidTimestamp' | 'invalidValue' | 'late';
const DROP_REASONS: readonly RmsDropReason[] = ['unknownTag', 'invalidStatus', 'invalidTimestamp', 'invalidValue', 'late'];
const UNKNOWN_TAG = 0;
const INVALID_STATUS = 1;
const INVALID_TIMESTAMP = 2;
const INVALID_VALUE = 3;
const LATE = 4;

export interface RmsWindowCounters extends StageCounters<RmsDropReason> {
  /** Closed windows discarded because the queue was full (the runtime did not flush in time). */
  windowsLost: number;
}

export class RmsWindow {
  readonly tagCount: number;
  private readonly maxPending: number;
  // Per-tag configuration; windowMs 0 marks a tag this stage does not handle.
  private readonly windowMs: Float64Array;
  private readonly expected: Float64Array;
  // Per-tag open window: start is NaN when none is open, so the range test in `add` fails.
  private readonly openStart: Float64Array;
  private readonly openEnd: Float64Array;
  /** End of the last window reported or queued; NaN before the tag's first sample. */
  private readonly coveredUntil: Float64Array;
  // Accumulators of the open window. Plain float64 sums are sound here: sum(x^2) has only
  // non-negative terms, so its relative error is at most n*2^-53 (~1e-15 for n = 10, ~1e-13 for
  // a 600-sample minute window), and we never form sum(x^2)/n - mean^2, the cancellation-prone
  // variance formula. Kahan summation would cost time on every sample for no visible gain.
  private readonly count: Uint32Array;
  private readonly bad: Uint32Array;
  private readonly sum: Float64Array;
  private readonly sumSq: Float64Array;
  private readonly min: Float64Array;
  private readonly max: Float64Array;

  // Windows closed by `add`, waiting for `flush`, as a struct of arrays; [head, len) is pending.
  private qCap: number;
  private qHead = 0;
  private qLen = 0;
  private qTag: Int32Array;
  private qMissed: Uint32Array;
  private qCount: Uint32Array;
  private qBad: Uint32Array;
  private qStart: Float64Array;
  private qEnd: Float64Array;
  private qSum: Float64Array;
  private qSumSq: Float64Array;
  private qMin: Float64Array;
  private qMax: Float64Array;

  // Float64 counters: a uint32 would wrap after ~12 h at 100,000 samples/s.
  private readonly dropCounts = new Float64Array(DROP_REASONS.length);
  private received = 0;
  private emitted = 0;
  private windowsLost = 0;

  /** The one record passed to every `emit` call; the callee copies what it keeps. */
  private readonly out: RmsWindowRecord = {
    tag: 0,
    windowStartMs: 0,
    windowEndMs: 0,
    windowsMissed: 0,
    status: 'ok',
    count: 0,
    badCount: 0,
    coverage: 0,
    rms: null,
    mean: null,
    min: null,
    max: null,
    peak: null,
  };

  constructor(config: RmsWindowConfig) {
    const tags = config?.tags;
    if (!Array.isArray(tags)) throw new ReductionConfigError('tags must be an array indexed by tag number');
    const n = tags.length;
    this.tagCount = n;
    this.maxPending = config.maxPendingWindows ?? DEFAULT_MAX_PENDING_WINDOWS;
    if (!Number.isInteger(this.maxPending) || this.maxPending < 1) {
      throw new ReductionConfigError(`maxPendingWindows must be a positive integer, got ${config.maxPendingWindows}`);
    }
    this.windowMs = new Float64Array(n);
    this.expected = new Float64Array(n);
    for (let tag = 0; tag < n; tag++) {
      const c = tags[tag];
      if (c === null || c === undefined) continue;
      const w = c.windowMs ?? DEFAULT_WINDOW_MS;
      if (!Number.isInteger(w) || w < 1 || w > MAX_WINDOW_MS) {
        throw new ReductionConfigError(`windowMs must be a whole number of ms in 1..${MAX_WINDOW_MS}, got ${w}`, { tag });
      }
      const interval = c.samplingIntervalMs ?? DEFAULT_SAMPLING_INTERVAL_MS;
      if (!(interval > 0 && interval <= w)) {
        throw new ReductionConfigError(`samplingIntervalMs must be in (0, windowMs], got ${interval}`, { tag });
      }
      const expected = c.expectedSamples ?? w / interval;
      if (!(expected > 0 && Number.isFinite(expected))) {
        throw new ReductionConfigError(`expectedSamples must be a positive number, got ${expected}`, { tag });
      }
      this.windowMs[tag] = w;
      this.expected[tag] = expected;
    }
    this.openStart = new Float64Array(n).fill(NaN);
    this.openEnd = new Float64Array(n).fill(NaN);
    this.coveredUntil = new Float64Array(n).fill(NaN);
    this.count = new Uint32Array(n);
    this.bad = new Uint32Array(n);
    this.sum = new Float64Array(n);
    this.sumSq = new Float64Array(n);
    this.min = new Float64Array(n);
    this.max = new Float64Array(n);

    // One closed window per tag between flushes is the normal case (flush every tick, windows of
    // ten ticks), so start there and grow only if the runtime flushes less often.
    this.qCap = Math.min(this.maxPending, Math.max(16, n));
    this.qTag = new Int32Array(this.qCap);
    this.qMissed = new Uint32Array(this.qCap);
    this.qCount = new Uint32Array(this.qCap);
    this.qBad = new Uint32Array(this.qCap);
    this.qStart = new Float64Array(this.qCap);
    this.qEnd = new Float64Array(this.qCap);
    this.qSum = new Float64Array(this.qCap);
    this.qSumSq = new Float64Array(this.qCap);
    this.qMin = new Float64Array(this.qCap);
    this.qMax = new Float64Array(this.qCap);
  }

  /**
   * Adds one sample that passed the `SampleGate`. For a Bad or Uncertain status the value is
   * ignored (pass NaN) and the sample only counts in `badCount`.
   */
  add(tag: number, sourceTimeMs: number, value: number, statusCode: number): void {
    this.received++;
    // Fast path, 9 samples in 10 at default settings: a Good finite value inside the open window.
    // An open window implies a configured tag and a finite time. Kept small so V8 inlines it into
    // the runtime's loop (a call that is not inlined boxes its double arguments, per sample).
    if (
      tag >>> 0 === tag &&
      tag < this.tagCount &&
      typeof sourceTimeMs === 'number' && // `>=` would coerce a numeric string
      sourceTimeMs >= this.openStart[tag]! &&
      sourceTimeMs < this.openEnd[tag]! &&
      statusCode >>> 0 === statusCode &&
      statusCode < 0x40000000 && // severity Good
      Number.isFinite(value) // false for NaN, +-Infinity and non-numbers that slipped past the types
    ) {
      this.count[tag]++;
      this.sum[tag] += value;
      this.sumSq[tag] += value * value;
      if (value < this.min[tag]!) this.min[tag] = value;
      if (value > this.max[tag]!) this.max[tag] = value;
      return;
    }
    this.addSlow(tag, sourceTimeMs, value, statusCode);
  }

  /** Everything but the fast path: validation, Bad samples, moving to another window. */
  private addSlow(tag: number, sourceTimeMs: number, value: number, statusCode: number): void {
    if (tag >>> 0 !== tag || tag >= this.tagCount || this.windowMs[tag] === 0) {
      this.dropCounts[UNKNOWN_TAG]++;
      return;
    }
    if (statusCode >>> 0 !== statusCode) {
      this.dropCounts[INVALID_STATUS]++;
      return;
    }
    if (!Number.isFinite(sourceTimeMs)) {
      this.dropCounts[INVALID_TIMESTAMP]++;
      return;
    }
    const good = statusCode >>> 30 === 0;
    if (good && !Number.isFinite(value)) {
      this.dropCounts[INVALID_VALUE]++;
      return;
    }
    if (!(sourceTimeMs >= this.openStart[tag]! && sourceTimeMs < this.openEnd[tag]!) && !this.openWindowAt(tag, sourceTimeMs)) {
      this.dropCounts[LATE]++;
      return;
    }
    if (!good) {
      this.bad[tag]++;
      return;
    }
    this.count[tag]++;
    this.sum[tag] += value;
    this.sumSq[tag] += value * value;
    if (value < this.min[tag]!) this.min[tag] = value;
    if (value > this.max[tag]!) this.max[tag] = value;
  }

  /**
   * Makes the window containing `t` the open one, closing (queueing) the previous window and
   * queueing one gap record for any empty windows in between. Returns false, changing nothing,
   * when `t` belongs to a window that is already closed: late samples are never merged.
   */
  private openWindowAt(tag: number, t: number): boolean {
    const open = this.openStart[tag]!;
    if (open === open) {
      if (t < open) return false;
      this.enqueue(tag, open, this.openEnd[tag]!, 0, this.count[tag]!, this.bad[tag]!, this.sum[tag]!, this.sumSq[tag]!, this.min[tag]!, this.max[tag]!);
      this.coveredUntil[tag] = this.openEnd[tag]!;
    }
    const covered = this.coveredUntil[tag]!;
    if (t < covered) return false;
    const w = this.windowMs[tag]!;
    // fmod is exact, so t - r is exactly the multiple of w at or below t, even for fractional or
    // 1.7e12-sized timestamps; floor(t / w) * w can round. Only runs once per window.
    let r = t % w;
    if (r < 0) r += w;
    const start = t - r;
    if (start > covered) this.enqueue(tag, covered, start, Math.round((start - covered) / w), 0, 0, 0, 0, NaN, NaN);
    this.openStart[tag] = start;
    this.openEnd[tag] = start + w;
    this.count[tag] = 0;
    this.bad[tag] = 0;
    this.sum[tag] = 0;
    this.sumSq[tag] = 0;
    this.min[tag] = Infinity;
    this.max[tag] = -Infinity;
    return true;
  }

  private enqueue(tag: number, start: number, end: number, missed: number, count: number, bad: number, sum: number, sumSq: number, min: number, max: number): void {
    if (this.qLen === this.qCap && !this.makeRoom()) {
      this.windowsLost++;
      return;
    }
    const i = this.qLen++;
    this.qTag[i] = tag;
    this.qStart[i] = start;
    this.qEnd[i] = end;
    this.qMissed[i] = missed;
    this.qCount[i] = count;
    this.qBad[i] = bad;
    this.qSum[i] = sum;
    this.qSumSq[i] = sumSq;
    this.qMin[i] = min;
    this.qMax[i] = max;
  }

  /** Frees queue space by dropping delivered entries or growing; false at `maxPendingWindows`. */
  private makeRoom(): boolean {
    if (this.qHead > 0) {
      const h = this.qHead;
      for (const a of [this.qTag, this.qMissed, this.qCount, this.qBad, this.qStart, this.qEnd, this.qSum, this.qSumSq, this.qMin, this.qMax]) {
        a.copyWithin(0, h, this.qLen);
      }
      this.qLen -= h;
      this.qHead = 0;
      return true;
    }
    const cap = nextCapacity(this.qCap, this.maxPending);
    if (cap === this.qCap) return false;
    this.qCap = cap;
    this.qTag = grown(this.qTag, cap);
    this.qMissed = grown(this.qMissed, cap);
    this.qCount = grown(this.qCount, cap);
    this.qBad = grown(this.qBad, cap);
    this.qStart = grown(this.qStart, cap);
    this.qEnd = grown(this.qEnd, cap);
    this.qSum = grown(this.qSum, cap);
    this.qSumSq = grown(this.qSumSq, cap);
    this.qMin = grown(this.qMin, cap);
    this.qMax = grown(this.qMax, cap);
    return true;
  }

  /**
   * Emits every window closed by `add`, in the order they closed, then closes each open window whose
   * end is <= `watermarkMs` (the runtime passes now minus the allowed lateness) and reports empty
   * windows the watermark has passed.
   *
   * Gaps: a tag that has had its first sample and then receives nothing gets at most one `noData`
   * record per flush, covering every whole window the watermark passed since its last record
   * (`windowsMissed` says how many). Flushing every tick therefore yields one per empty window;
   * a late flush after a long silence yields one record, never a burst. A sample arriving after a
   * gap queues the same kind of record for the windows it skipped. Consecutive records of a tag
   * thus tile source time without holes or overlaps.
   *
   * A non-finite watermark only drains the queue. If `emit` throws, the exception propagates; the
   * record being emitted counts as delivered and the rest are emitted by the next flush.
   */
  flush(watermarkMs: number, emit: Emit<RmsWindowRecord>): void {
    while (this.qHead < this.qLen) {
      const i = this.qHead++;
      this.emitRecord(emit, this.qTag[i]!, this.qStart[i]!, this.qEnd[i]!, this.qMissed[i]!, this.qCount[i]!, this.qBad[i]!, this.qSum[i]!, this.qSumSq[i]!, this.qMin[i]!, this.qMax[i]!);
    }
    this.qHead = 0;
    this.qLen = 0;
    if (!Number.isFinite(watermarkMs)) return;
    for (let tag = 0; tag < this.tagCount; tag++) {
      const end = this.openEnd[tag]!;
      if (end <= watermarkMs) {
        this.openStart[tag] = NaN;
        this.openEnd[tag] = NaN;
        this.coveredUntil[tag] = end;
        this.emitRecord(emit, tag, end - this.windowMs[tag]!, end, 0, this.count[tag]!, this.bad[tag]!, this.sum[tag]!, this.sumSq[tag]!, this.min[tag]!, this.max[tag]!);
      }
      const covered = this.coveredUntil[tag]!;
      // A tag with an open window has openEnd > watermark and coveredUntil <= openStart, so only
      // tags without one can report a gap; NaN (no first sample yet) fails the comparison.
      if (this.openStart[tag] !== this.openStart[tag] && covered + this.windowMs[tag]! <= watermarkMs) {
        const w = this.windowMs[tag]!;
        const missed = Math.floor((watermarkMs - covered) / w);
        const until = covered + missed * w;
        this.coveredUntil[tag] = until;
        this.emitRecord(emit, tag, covered, until, missed, 0, 0, 0, 0, NaN, NaN);
      }
    }
  }

  private emitRecord(emit: Emit<RmsWindowRecord>, tag: number, start: number, end: number, missed: number, count: number, bad: number, sum: number, sumSq: number, min: number, max: number): void {
    const r = this.out;
    r.tag = tag;
    r.windowStartMs = start;
    r.windowEndMs = end;
    r.windowsMissed = missed;
    r.count = count;
    r.badCount = bad;
    if (count > 0) {
      r.status = 'ok';
      r.coverage = count / this.expected[tag]!;
      r.rms = Math.sqrt(sumSq / count);
      r.mean = sum / count;
      r.min = min;
      r.max = max;
      r.peak = Math.max(Math.abs(min), Math.abs(max));
    } else {
      r.status = missed > 0 ? 'noData' : 'noGoodData';
      r.coverage = 0;
      r.rms = null;
      r.mean = null;
      r.min = null;
      r.max = null;
      r.peak = null;
    }
    this.emitted++;
    emit(r);
  }

  counters(): RmsWindowCounters {
    return {
      received: this.received,
      emitted: this.emitted,
      dropped: droppedSnapshot(DROP_REASONS, this.dropCounts),
      windowsLost: this.windowsLost,
    };
  }
}
