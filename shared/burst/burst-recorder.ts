// BurstRecorder: keeps the recent raw samples of every alarmed tag (a RawRing) and, when an alarm
// raises, turns them into a capture: the pre-trigger window [T - pre, T) plus the post-trigger
// window [T, T + post), in the tag's full 100 ms resolution.
//
// The alarm that triggers a capture is decided late (an RMS window closes after its last sample),
// so the ring keeps `slackMs` more than the pre-trigger, and a trigger copies every sample the ring
// already holds from T - pre on, including those after T. From then on `add` appends to the open
// capture until a sample at or after its end arrives, or the flush watermark passes the end.
//
// Captures are expensive downstream (a Firehose record each), so they are rationed: a cooldown per
// tag and a budget per device per sliding hour of source time. Every skip is counted by reason.
//
// Pure: times are source timestamps passed by the caller; no clock, no timers, no I/O.

import { BurstConfigError, checkDuration } from './errors';
import { RawRing } from './raw-ring';
import { SampleBuffer } from './sample-buffer';

/** How much longer than the pre-trigger the ring reaches back when the config does not say, ms. */
export const DEFAULT_SLACK_MS = 10_000;
/** The budget's window: captures started in any sliding hour of source time. */
export const BUDGET_WINDOW_MS = 3_600_000;
/** Largest maxCapturesPerHour accepted: the budget keeps one start time per allowed capture. */
export const MAX_CAPTURES_PER_HOUR = 100_000;
/** Samples further apart than this many sampling intervals are a gap; less is jitter. */
export const GAP_FACTOR = 1.5;

export interface BurstTagConfig {
  preTriggerMs: number;
  postTriggerMs: number;
  samplingIntervalMs: number;
}

export interface BurstRecorderConfig {
  /** Indexed by tag number; null: tag not ringed. */
  tags: readonly (BurstTagConfig | null | undefined)[];
  /** A new capture on a tag less than this after its previous capture ended is skipped (counted). */
  cooldownMs: number;
  /** Per device (all tags): captures started in any sliding hour of source time; beyond it triggers are skipped (counted). 0 disables captures. */
  maxCapturesPerHour: number;
  /** A capture never spans more than this (merges stop extending it), ms. At least preTriggerMs + postTriggerMs of every tag. */
  maxCaptureMs: number;
  /** The ring holds preTriggerMs + slackMs: the alarm is decided up to a few seconds after its trigger time (RMS windows close late). Default 10_000. */
  slackMs?: number;
  /** Capture ids are `${idPrefix}-c${n}`. */
  idPrefix: string;
}

export type TriggerOutcome = { kind: 'started' | 'merged'; captureId: string } | { kind: 'skipped'; reason: 'cooldown' | 'budget' | 'notRinged' };
export type IncompleteReason = 'ringShort' | 'gaps' | 'endShort' | 'truncated';

export interface Capture {
  captureId: string;
  tag: number;
  /** Every alarm that started or merged into it, in order. */
  alarmIds: string[];
  /** The first trigger's time. */
  triggerMs: number;
  /** triggerMs - preTriggerMs. */
  startMs: number;
  /** (last merged trigger) + postTriggerMs, capped at startMs + maxCaptureMs. */
  endMs: number;
  /** Exactly `count` long, owned by the capture, t in [startMs, endMs), time order. */
  times: Float64Array;
  values: Float64Array;
  status: Uint32Array;
  count: number;
  /** Samples with t < triggerMs. */
  preTriggerCount: number;
  /** Samples whose status is not Good (status code's top two bits != 0); their value is NaN. */
  badCount: number;
  /** incomplete.length === 0. */
  complete: boolean;
  incomplete: IncompleteReason[];
  /** A gap = consecutive samples more than 1.5 × samplingInterval apart; missing = round(dt / interval) - 1 summed. */
  gaps: { count: number; missingSamples: number };
}

export interface BurstRecorderCounters {
  ringBytes: number;
  openCaptureBytes: number;
  open: number;
  /** Closed captures waiting for flush (they hold their samples until emitted). */
  pending: number;
  started: number;
  merged: number;
  skipped: { cooldown: number; budget: number; notRinged: number };
  completed: number;
  incomplete: number;
}

interface OpenCapture {
  seq: number;
  captureId: string;
  tag: number;
  alarmIds: string[];
  triggerMs: number;
  startMs: number;
  endMs: number;
  samples: SampleBuffer;
}

/** Why a capture closed: its end was reached (a later sample or the watermark), or shutdown. */
type CloseCause = 'end' | 'shutdown';

export class BurstRecorder {
  readonly tagCount: number;
  private readonly idPrefix: string;
  private readonly cooldownMs: number;
  private readonly maxCaptureMs: number;
  private readonly pre: Float64Array;
  private readonly post: Float64Array;
  /** Sampling interval per tag; 0 = tag not ringed. */
  private readonly interval: Float64Array;
  /** End of the tag's last closed capture, for the cooldown; NaN before the first. */
  private readonly lastEnd: Float64Array;
  private readonly ring: RawRing;
  /** The tag's open capture; at most one per tag. */
  private readonly open: (OpenCapture | undefined)[];
  private openCount = 0;
  private readonly closed: { seq: number; capture: Capture }[] = [];

  // The budget: start times of the most recent captures, a ring of maxCapturesPerHour entries.
  private readonly budgetStarts: Float64Array;
  private budgetNext = 0;

  private nextSeq = 1;
  private started = 0;
  private merged = 0;
  private skippedCooldown = 0;
  private skippedBudget = 0;
  private skippedNotRinged = 0;
  private completed = 0;
  private incompleteCount = 0;

  constructor(config: BurstRecorderConfig) {
    const tags = config?.tags;
    if (!Array.isArray(tags)) throw new BurstConfigError('must be an array indexed by tag number', { field: 'tags' });
    if (typeof config.idPrefix !== 'string' || config.idPrefix.length === 0) {
      throw new BurstConfigError(`must be a non-empty string, got ${String(config.idPrefix)}`, { field: 'idPrefix' });
    }
    this.idPrefix = config.idPrefix;
    this.cooldownMs = checkDuration(config.cooldownMs, 'cooldownMs');
    this.maxCaptureMs = checkDuration(config.maxCaptureMs, 'maxCaptureMs');
    const slackMs = checkDuration(config.slackMs ?? DEFAULT_SLACK_MS, 'slackMs');
    const perHour = config.maxCapturesPerHour;
    if (!Number.isInteger(perHour) || perHour < 0 || perHour > MAX_CAPTURES_PER_HOUR) {
      throw new BurstConfigError(`must be an integer in 0..${MAX_CAPTURES_PER_HOUR}, got ${String(perHour)}`, { field: 'maxCapturesPerHour' });
    }
    this.budgetStarts = new Float64Array(perHour).fill(NaN);

    const n = tags.length;
    this.tagCount = n;
    this.pre = new Float64Array(n);
    this.post = new Float64Array(n);
    this.interval = new Float64Array(n);
    const capacities = new Array<number>(n).fill(0);
    for (let tag = 0; tag < n; tag++) {
      const c = tags[tag];
      if (c === null || c === undefined) continue;
      const pre = checkDuration(c.preTriggerMs, 'preTriggerMs', tag);
      const post = checkDuration(c.postTriggerMs, 'postTriggerMs', tag);
      const interval = c.samplingIntervalMs;
      if (typeof interval !== 'number' || !Number.isFinite(interval) || interval <= 0) {
        throw new BurstConfigError(`must be a finite number of ms > 0, got ${String(interval)}`, { tag, field: 'samplingIntervalMs' });
      }
      if (pre + post > this.maxCaptureMs) {
        // Otherwise every capture of this tag would lose the end of its post-trigger window.
        throw new BurstConfigError(`maxCaptureMs (${this.maxCaptureMs}) must be at least preTriggerMs + postTriggerMs (${pre + post})`, { tag, field: 'maxCaptureMs' });
      }
      this.pre[tag] = pre;
      this.post[tag] = post;
      this.interval[tag] = interval;
      // (pre + slack) / interval samples span the window; +1 because a closed span holds one more
      // sample than it has intervals, +1 spare for a source whose timestamps jitter.
      capacities[tag] = Math.ceil((pre + slackMs) / interval) + 2;
    }
    this.ring = new RawRing({ capacities });
    this.lastEnd = new Float64Array(n).fill(NaN);
    this.open = new Array<OpenCapture | undefined>(n).fill(undefined);
  }

  /**
   * Every sample of a ringed tag, after the caller's quality gate (time order per tag; bad status
   * samples come with value NaN, and are stored as NaN whatever value they carry). Allocates nothing
   * except when an open capture's buffer grows. A sample with t >= an open capture's endMs closes it
   * (queued for flush) and is not part of it.
   */
  add(tag: number, tMs: number, value: number, status: number): void {
    if (status >>> 30 !== 0) value = NaN;
    this.ring.add(tag, tMs, value, status);
    if (this.openCount === 0) return; // nearly always: captures are rare
    if (tag >>> 0 !== tag || tag >= this.tagCount) return;
    const c = this.open[tag];
    if (c === undefined) return;
    if (tMs >= c.endMs) this.close(c, 'end');
    else if (tMs >= c.startMs) c.samples.push(tMs, value, status);
  }

  /**
   * An alarm raised on `tag` at `atMs`: merges into the tag's open capture (extending endMs), or
   * starts a capture from the ring's samples with t >= atMs - pre (those after atMs already received
   * included), or is skipped: `notRinged` (also for a non-finite atMs: nothing can be captured),
   * `cooldown` (atMs less than cooldownMs after the end of the tag's previous capture, or before it),
   * `budget`. A merge uses no budget.
   */
  trigger(tag: number, atMs: number, alarmId: string): TriggerOutcome {
    if (!this.ring.has(tag) || !Number.isFinite(atMs)) {
      this.skippedNotRinged++;
      return { kind: 'skipped', reason: 'notRinged' };
    }
    const openCapture = this.open[tag];
    if (openCapture !== undefined) {
      const end = Math.min(atMs + this.post[tag]!, openCapture.startMs + this.maxCaptureMs);
      if (end > openCapture.endMs) openCapture.endMs = end;
      openCapture.alarmIds.push(alarmId);
      this.merged++;
      return { kind: 'merged', captureId: openCapture.captureId };
    }
    // NaN (no previous capture) fails the comparison.
    if (atMs - this.lastEnd[tag]! < this.cooldownMs) {
      this.skippedCooldown++;
      return { kind: 'skipped', reason: 'cooldown' };
    }
    if (!this.takeBudget(atMs)) {
      this.skippedBudget++;
      return { kind: 'skipped', reason: 'budget' };
    }
    const startMs = atMs - this.pre[tag]!;
    const endMs = Math.min(atMs + this.post[tag]!, startMs + this.maxCaptureMs);
    // Sized for the whole capture (plus jitter), so `add` normally never grows it.
    const samples = new SampleBuffer(Math.ceil((endMs - startMs) / this.interval[tag]!) + 8);
    this.ring.copyRange(tag, startMs, endMs, samples);
    const seq = this.nextSeq++;
    const c: OpenCapture = { seq, captureId: `${this.idPrefix}-c${seq}`, tag, alarmIds: [alarmId], triggerMs: atMs, startMs, endMs, samples };
    this.open[tag] = c;
    this.openCount++;
    this.started++;
    // Decided so late that the sample which would have closed it has already arrived.
    if (this.ring.newestMs(tag) >= endMs) this.close(c, 'end');
    return { kind: 'started', captureId: c.captureId };
  }

  /** Closes open captures whose endMs <= watermarkMs (a tag that stopped delivering), then emits every closed capture, oldest first. */
  flush(watermarkMs: number, emit: (c: Capture) => void): void {
    if (this.openCount > 0 && Number.isFinite(watermarkMs)) {
      for (let tag = 0; tag < this.tagCount; tag++) {
        const c = this.open[tag];
        if (c !== undefined && c.endMs <= watermarkMs) this.close(c, 'end');
      }
    }
    this.emitClosed(emit);
  }

  /** Shutdown: closes every open capture now, marked 'truncated' if it had not reached endMs, and emits all. */
  closeAll(emit: (c: Capture) => void): void {
    for (let tag = 0; tag < this.tagCount && this.openCount > 0; tag++) {
      const c = this.open[tag];
      if (c !== undefined) this.close(c, 'shutdown');
    }
    this.emitClosed(emit);
  }

  counters(): BurstRecorderCounters {
    let openCaptureBytes = 0;
    for (let tag = 0; tag < this.tagCount && this.openCount > 0; tag++) openCaptureBytes += this.open[tag]?.samples.bytes ?? 0;
    return {
      ringBytes: this.ring.bytes,
      openCaptureBytes,
      open: this.openCount,
      pending: this.closed.length,
      started: this.started,
      merged: this.merged,
      skipped: { cooldown: this.skippedCooldown, budget: this.skippedBudget, notRinged: this.skippedNotRinged },
      completed: this.completed,
      incomplete: this.incompleteCount,
    };
  }

  /** Samples the tag's ring holds, its capacity and whether it has wrapped: for health reports. */
  ringState(tag: number): { size: number; capacity: number; wrapped: boolean; oldestMs: number; newestMs: number } {
    return { size: this.ring.size(tag), capacity: this.ring.capacity(tag), wrapped: this.ring.wrapped(tag), oldestMs: this.ring.oldestMs(tag), newestMs: this.ring.newestMs(tag) };
  }

  /**
   * True, recording the start, when fewer than maxCapturesPerHour captures started within an hour
   * of atMs. Within an hour on either side: the triggers of different tags need not arrive in
   * source-time order, and the conservative test keeps every sliding hour within the budget.
   */
  private takeBudget(atMs: number): boolean {
    const starts = this.budgetStarts;
    const max = starts.length;
    if (max === 0) return false;
    let inWindow = 0;
    for (let i = 0; i < max; i++) if (Math.abs(atMs - starts[i]!) < BUDGET_WINDOW_MS) inWindow++;
    if (inWindow >= max) return false;
    // Overwrite the oldest recorded start; the ring keeps the last `max`, all the test can need.
    starts[this.budgetNext] = atMs;
    this.budgetNext = this.budgetNext + 1 === max ? 0 : this.budgetNext + 1;
    return true;
  }

  private close(c: OpenCapture, cause: CloseCause): void {
    this.open[c.tag] = undefined;
    this.openCount--;
    this.lastEnd[c.tag] = c.endMs;
    const capture = this.summarize(c, cause);
    if (capture.complete) this.completed++;
    else this.incompleteCount++;
    this.closed.push({ seq: c.seq, capture });
  }

  /** The finished capture: owned copies of the samples, and what is missing from them. */
  private summarize(c: OpenCapture, cause: CloseCause): Capture {
    const interval = this.interval[c.tag]!;
    const times = c.samples.times().slice();
    const values = c.samples.values().slice();
    const status = c.samples.status().slice();
    const count = times.length;
    let preTriggerCount = 0;
    let badCount = 0;
    let gapCount = 0;
    let missingSamples = 0;
    const gapAbove = GAP_FACTOR * interval;
    for (let i = 0; i < count; i++) {
      const t = times[i]!;
      if (t < c.triggerMs) preTriggerCount++;
      if (status[i]! >>> 30 !== 0) badCount++;
      if (i > 0) {
        const dt = t - times[i - 1]!;
        if (dt > gapAbove) {
          gapCount++;
          missingSamples += Math.round(dt / interval) - 1;
        }
      }
    }
    const incomplete: IncompleteReason[] = [];
    // With no sample at all, both ends are missing.
    if (count === 0 || times[0]! > c.startMs + gapAbove) incomplete.push('ringShort');
    if (gapCount > 0) incomplete.push('gaps');
    if (count === 0 || times[count - 1]! < c.endMs - gapAbove) incomplete.push(cause === 'shutdown' ? 'truncated' : 'endShort');
    return {
      captureId: c.captureId,
      tag: c.tag,
      alarmIds: c.alarmIds,
      triggerMs: c.triggerMs,
      startMs: c.startMs,
      endMs: c.endMs,
      times,
      values,
      status,
      count,
      preTriggerCount,
      badCount,
      complete: incomplete.length === 0,
      incomplete,
      gaps: { count: gapCount, missingSamples },
    };
  }

  /** Emits queued captures in the order they started. If `emit` throws, the rest wait for the next call. */
  private emitClosed(emit: (c: Capture) => void): void {
    const q = this.closed;
    if (q.length === 0) return;
    q.sort((a, b) => a.seq - b.seq);
    let i = 0;
    try {
      while (i < q.length) emit(q[i++]!.capture);
    } finally {
      q.splice(0, i);
    }
  }
}
