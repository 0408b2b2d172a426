// Burst mode inside the collector's pipeline: alarm detection and raw captures, wired from the pure
// stages in shared/burst. Only tags with an `alarm` take part (they alone keep a raw ring). Like the
// pipeline, this never reads the clock or does I/O: alarm events and finished captures queue up here
// and the runtime drains them on its tick (alarms to IoT Core, captures to conduit.FirehoseSink).
import { AlarmDetector, BurstRecorder, type AlarmEvent, type AlarmRule, type Capture, type TriggerOutcome } from '../../../shared/burst';
import type { CollectorConfig } from './config-types';

/** An alarm transition with what happened to its capture. */
export interface AlarmNotice {
  event: AlarmEvent;
  /** The capture that holds this alarm's raw samples, if one was made or extended. */
  captureId: string | null;
  /** Why no capture was made for a raise (cooldown, hourly budget…). */
  captureSkipped?: string;
}

export interface BurstCounters {
  alarms: { raised: number; cleared: number; active: number };
  captures: ReturnType<BurstRecorder['counters']>;
}

export class CollectorBurst {
  /** True when at least one tag has an alarm. */
  readonly enabled: boolean;
  /** 1 for tags whose raw samples go to the ring. */
  readonly ringed: Uint8Array;
  /** 1 for tags whose alarm watches raw samples (0: the RMS of each window). */
  private readonly onRaw: Uint8Array;
  private readonly detector: AlarmDetector;
  private readonly recorder: BurstRecorder;
  private alarms: AlarmNotice[] = [];
  private captures: Capture[] = [];
  /** Alarm id → the capture it went into, so the clear event names it too. */
  private readonly captureOf = new Map<string, string>();
  private readonly keep = (c: Capture): void => {
    this.captures.push(c);
  };
  private readonly onAlarm = (e: AlarmEvent): void => {
    if (e.kind === 'raise') {
      const outcome: TriggerOutcome = this.recorder.trigger(e.tag, e.atMs, e.alarmId);
      if (outcome.kind === 'skipped') {
        this.alarms.push({ event: e, captureId: null, captureSkipped: outcome.reason });
      } else {
        this.captureOf.set(e.alarmId, outcome.captureId);
        this.alarms.push({ event: e, captureId: outcome.captureId });
      }
    } else {
      const captureId = this.captureOf.get(e.alarmId) ?? null;
      this.captureOf.delete(e.alarmId);
      this.alarms.push({ event: e, captureId });
    }
  };

  constructor(config: CollectorConfig, runId: string) {
    const tags = config.tags;
    const b = config.burst;
    this.ringed = Uint8Array.from(tags, (t) => (t.alarm ? 1 : 0));
    this.onRaw = Uint8Array.from(tags, (t) => (t.alarm?.on === 'raw' ? 1 : 0));
    this.enabled = this.ringed.some((x) => x === 1);
    this.detector = new AlarmDetector({
      // Raw samples are one sampling interval apart: a run continues across that (and a little jitter),
      // but a missing sample ends it. RMS windows touch: a missing window ends the run.
      rules: tags.map((t): AlarmRule | null =>
        t.alarm
          ? { raiseAt: t.alarm.raiseAt, clearBelow: t.alarm.clearBelow, minDurationMs: t.alarm.minDurationMs, maxGapMs: t.alarm.on === 'raw' ? 1.5 * config.sampling.intervalMs : 0 }
          : null,
      ),
      idPrefix: runId,
    });
    this.recorder = new BurstRecorder({
      tags: tags.map((t) => (t.alarm ? { preTriggerMs: b.preTriggerSec * 1000, postTriggerMs: b.postTriggerSec * 1000, samplingIntervalMs: config.sampling.intervalMs } : null)),
      cooldownMs: b.cooldownSec * 1000,
      maxCapturesPerHour: b.maxCapturesPerHour,
      maxCaptureMs: b.maxCaptureSec * 1000,
      idPrefix: runId,
    });
  }

  /** A gated sample of a ringed tag; `value` is NaN unless the sample is Good. */
  onSample(tag: number, sourceTimeMs: number, value: number, statusCode: number): void {
    this.recorder.add(tag, sourceTimeMs, value, statusCode);
    if (this.onRaw[tag] === 1 && value === value) this.detector.observe(tag, sourceTimeMs, sourceTimeMs, value, this.onAlarm);
  }

  /** A closed RMS window of a ringed tag (NaN when it had no good sample: no alarm decision). */
  onRmsWindow(tag: number, startMs: number, endMs: number, rms: number): void {
    if (this.onRaw[tag] === 0) this.detector.observe(tag, startMs, endMs, rms, this.onAlarm);
  }

  /** Closes the captures the event-time watermark has passed. */
  flush(watermarkMs: number): void {
    this.recorder.flush(watermarkMs, this.keep);
  }

  /** Shutdown: every open capture is closed now (marked truncated when it had not reached its end). */
  closeAll(): void {
    this.recorder.closeAll(this.keep);
  }

  /** Alarm transitions and finished captures since the last call. */
  drain(): { alarms: AlarmNotice[]; captures: Capture[] } {
    const out = { alarms: this.alarms, captures: this.captures };
    this.alarms = [];
    this.captures = [];
    return out;
  }

  counters(): BurstCounters {
    return { alarms: this.detector.counters(), captures: this.recorder.counters() };
  }
}
