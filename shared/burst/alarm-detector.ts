// AlarmDetector: threshold alarms with hysteresis and a minimum duration, one rule per tag.
//
// It sees "observations": a value that held over a span of source time [fromMs, atMs]. An RMS window
// is one observation (its start and end); a raw sample is one with fromMs = atMs = t. The alarm
// raises only once the value has been seen at or above `raiseAt` for `minDurationMs` without a hole,
// and clears only below `clearBelow`, so a value hovering at the threshold does not flap.
//
// State lives in typed arrays indexed by tag; `observe` allocates only the event of a transition.

import { BurstConfigError, checkDuration } from './errors';

export interface AlarmRule {
  raiseAt: number;
  /** <= raiseAt; equal means no hysteresis. */
  clearBelow: number;
  minDurationMs: number;
  /**
   * Largest hole between one observation's end (atMs) and the next one's start (fromMs) that still
   * continues a pending run. Default 0: right for RMS windows passed as [windowStartMs, windowEndMs],
   * which touch. Raw samples (fromMs = atMs) need about 1.5 x the sampling interval, or a rule with
   * minDurationMs > 0 on raw samples can never raise.
   */
  maxGapMs?: number;
}

export interface AlarmEvent {
  kind: 'raise' | 'clear';
  tag: number;
  /** `${idPrefix}-a${n}`, n = 1, 2, … per detector instance. */
  alarmId: string;
  /** When the transition happened (the observation's atMs). */
  atMs: number;
  /** The observed value that caused it. */
  value: number;
  /** For raise: = atMs; for clear: when it was raised. */
  raisedAtMs: number;
  /** Highest value observed while raised (for raise: the raising value). */
  peak: number;
  rule: Readonly<AlarmRule>;
}

export interface AlarmDetectorConfig {
  rules: readonly (AlarmRule | null | undefined)[];
  idPrefix: string;
}

export interface AlarmCounters {
  raised: number;
  cleared: number;
  active: number;
}

export class AlarmDetector {
  readonly tagCount: number;
  private readonly idPrefix: string;
  /** Frozen copies: events hand them out, and a caller mutating its config must not change a rule. */
  private readonly rules: (Readonly<AlarmRule> | undefined)[];
  private readonly raiseAt: Float64Array;
  private readonly clearBelow: Float64Array;
  private readonly minDuration: Float64Array;
  private readonly maxGap: Float64Array;
  /** Start of the pending run of values >= raiseAt; NaN when there is none. */
  private readonly runStart: Float64Array;
  /** atMs of the last observation of the pending run. */
  private readonly runLast: Float64Array;
  private readonly raisedAt: Float64Array;
  private readonly peak: Float64Array;
  /** The active alarm's id, undefined when the tag is not raised. */
  private readonly ids: (string | undefined)[];
  private nextId = 1;
  private raised = 0;
  private cleared = 0;
  private active = 0;

  constructor(config: AlarmDetectorConfig) {
    const rules = config?.rules;
    if (!Array.isArray(rules)) throw new BurstConfigError('must be an array indexed by tag number', { field: 'rules' });
    if (typeof config.idPrefix !== 'string' || config.idPrefix.length === 0) {
      throw new BurstConfigError(`must be a non-empty string, got ${String(config.idPrefix)}`, { field: 'idPrefix' });
    }
    const n = rules.length;
    this.tagCount = n;
    this.idPrefix = config.idPrefix;
    this.rules = new Array<Readonly<AlarmRule> | undefined>(n).fill(undefined);
    this.raiseAt = new Float64Array(n);
    this.clearBelow = new Float64Array(n);
    this.minDuration = new Float64Array(n);
    this.maxGap = new Float64Array(n);
    for (let tag = 0; tag < n; tag++) {
      const r = rules[tag];
      if (r === null || r === undefined) continue;
      if (typeof r.raiseAt !== 'number' || !Number.isFinite(r.raiseAt)) {
        throw new BurstConfigError(`must be a finite number, got ${String(r.raiseAt)}`, { tag, field: 'raiseAt' });
      }
      if (typeof r.clearBelow !== 'number' || !Number.isFinite(r.clearBelow) || r.clearBelow > r.raiseAt) {
        throw new BurstConfigError(`must be a finite number <= raiseAt (${r.raiseAt}), got ${String(r.clearBelow)}`, { tag, field: 'clearBelow' });
      }
      checkDuration(r.minDurationMs, 'minDurationMs', tag);
      const maxGapMs = checkDuration(r.maxGapMs ?? 0, 'maxGapMs', tag);
      const copy: AlarmRule = { raiseAt: r.raiseAt, clearBelow: r.clearBelow, minDurationMs: r.minDurationMs };
      if (r.maxGapMs !== undefined) copy.maxGapMs = maxGapMs;
      this.rules[tag] = Object.freeze(copy);
      this.raiseAt[tag] = r.raiseAt;
      this.clearBelow[tag] = r.clearBelow;
      this.minDuration[tag] = r.minDurationMs;
      this.maxGap[tag] = maxGapMs;
    }
    this.runStart = new Float64Array(n).fill(NaN);
    this.runLast = new Float64Array(n).fill(NaN);
    this.raisedAt = new Float64Array(n).fill(NaN);
    this.peak = new Float64Array(n).fill(NaN);
    this.ids = new Array<string | undefined>(n).fill(undefined);
  }

  /**
   * One observation of a tag's value over [fromMs, atMs]. NaN (no good data), a NaN time or
   * atMs < fromMs: no transition, and a pending run ends (the value was not seen to stay above for
   * the whole duration); an active alarm stays active. Tags without a rule are ignored.
   * Observations of a tag come in source-time order. `emit` is called synchronously.
   */
  observe(tag: number, fromMs: number, atMs: number, value: number, emit: (e: AlarmEvent) => void): void {
    if (tag >>> 0 !== tag || tag >= this.tagCount) return;
    const rule = this.rules[tag];
    if (rule === undefined) return;
    // `!(a >= b)` is also true when either is NaN.
    if (value !== value || !(atMs >= fromMs)) {
      this.runStart[tag] = NaN;
      return;
    }
    const id = this.ids[tag];
    if (id !== undefined) {
      if (value < this.clearBelow[tag]!) {
        this.ids[tag] = undefined;
        this.runStart[tag] = NaN; // value < clearBelow <= raiseAt: no run can be pending
        this.cleared++;
        this.active--;
        emit({ kind: 'clear', tag, alarmId: id, atMs, value, raisedAtMs: this.raisedAt[tag]!, peak: this.peak[tag]!, rule });
      } else if (value > this.peak[tag]!) {
        this.peak[tag] = value;
      }
      return;
    }
    if (!(value >= this.raiseAt[tag]!)) {
      this.runStart[tag] = NaN;
      return;
    }
    const start = this.runStart[tag]!;
    // A NaN start (no run) also fails this test and starts a new run.
    if (!(fromMs <= this.runLast[tag]! + this.maxGap[tag]! && start === start)) this.runStart[tag] = fromMs;
    this.runLast[tag] = atMs;
    if (atMs - this.runStart[tag]! < this.minDuration[tag]!) return;
    const alarmId = `${this.idPrefix}-a${this.nextId++}`;
    this.ids[tag] = alarmId;
    this.runStart[tag] = NaN;
    this.raisedAt[tag] = atMs;
    this.peak[tag] = value;
    this.raised++;
    this.active++;
    emit({ kind: 'raise', tag, alarmId, atMs, value, raisedAtMs: atMs, peak: value, rule });
  }

  isActive(tag: number): boolean {
    return this.activeId(tag) !== undefined;
  }

  /** The id of the tag's active alarm, or undefined. */
  activeId(tag: number): string | undefined {
    return tag >>> 0 === tag && tag < this.tagCount ? this.ids[tag] : undefined;
  }

  counters(): AlarmCounters {
    return { raised: this.raised, cleared: this.cleared, active: this.active };
  }
}
