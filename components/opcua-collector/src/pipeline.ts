// The collector's processing, wired from the pure stages in shared/: every sample goes through the
// SampleGate, then to the stage its tag's mode names (RmsWindow, DeadbandEncoder, ChangeEncoder);
// on each tick the stages flush into the BatchEncoder, which cuts the publishable messages. Like the
// stages, this file never reads the clock, sets a timer or does I/O: the runtime passes `nowMs`.
import {
  ChangeEncoder,
  DeadbandEncoder,
  Gate,
  RmsWindow,
  SampleGate,
  type ChangeTagConfig,
  type DeadbandTagConfig,
  type RmsTagConfig,
  type RmsWindowRecord,
  type SampleKind,
} from '../../../shared/reduction';
import { BatchEncoder, type EncodedMessage } from '../../../shared/publish';
import type { CollectorConfig, TagConfig } from './config-types';

const RMS = 0;
const DEADBAND = 1;
const CHANGE = 2;

export interface PipelineIdentity {
  thingName: string;
  runId: string;
}

/** A deadband tag's setting in engineering units, resolved from a percent of its range. */
export function resolveDeadband(tag: TagConfig, euRange?: { low: number; high: number }): number {
  const d = tag.deadband;
  if (!d) throw new Error(`tag ${tag.name}: mode deadband needs a deadband`);
  if (d.kind === 'absolute') return d.value;
  const low = d.rangeMin ?? euRange?.low;
  const high = d.rangeMax ?? euRange?.high;
  if (low === undefined || high === undefined || !(high > low)) {
    throw new Error(`tag ${tag.name}: a percent deadband needs a range: set deadband.rangeMin and deadband.rangeMax`);
  }
  return (d.percent / 100) * (high - low);
}

export interface PipelineCounters {
  samples: number;
  /** Samples dropped before any stage by the gate, by reason. */
  gateDropped: Record<string, number>;
  /** Bad or Uncertain samples (passed on as status only, not as values). */
  statusOnly: { bad: number; uncertain: number };
  /** Samples the stages dropped (late for a closed window…), by stage and reason. */
  stageDropped: Record<string, number>;
  /** Points (rows) handed to the encoder: what the cloud receives. */
  points: number;
  /** Deadband and change samples deliberately not sent. */
  suppressed: number;
  /** Samples missing from RMS windows that closed (expected minus received): sampling gaps. */
  samplingGaps: number;
  /** Rows the encoder could not place (never expected). */
  encoderDropped: number;
  bytesPerPoint: number;
}

export class CollectorPipeline {
  private readonly gate: SampleGate;
  private readonly rms: RmsWindow;
  private readonly deadband: DeadbandEncoder;
  private readonly change: ChangeEncoder;
  readonly encoder: BatchEncoder;
  private readonly mode: Uint8Array;
  private readonly expected: Float64Array;
  /** The newest source time seen: the event-time clock that closes windows (PLC and gateway clocks may disagree). */
  private maxSourceTimeMs = -Infinity;
  private samplingGaps = 0;
  private points = 0;
  /** How far behind the newest source time a window may still receive samples. */
  private readonly latenessMs: number;
  /** 1 once a tag's first window closed: that one began mid-window when the collector started. */
  private readonly windowSeen: Uint8Array;
  /** True during the shutdown flush, whose windows end early on purpose. */
  private closingAll = false;
  private readonly emitRms = (r: Readonly<RmsWindowRecord>): void => {
    if (r.status === 'noData') this.samplingGaps += this.expected[r.tag]! * r.windowsMissed;
    else if (this.windowSeen[r.tag] === 1 && !this.closingAll) this.samplingGaps += Math.max(0, this.expected[r.tag]! - r.count - r.badCount);
    this.windowSeen[r.tag] = 1;
    this.encoder.addRms(r);
    this.points++;
  };

  constructor(
    readonly config: CollectorConfig,
    identity: PipelineIdentity,
    euRanges: ReadonlyMap<number, { low: number; high: number }> = new Map(),
  ) {
    const tags = config.tags;
    const interval = config.sampling.intervalMs;
    this.mode = Uint8Array.from(tags, (t) => (t.mode === 'rms' ? RMS : t.mode === 'deadband' ? DEADBAND : CHANGE));
    this.expected = Float64Array.from(tags, (t) => (t.mode === 'rms' ? t.windowMs / interval : 0));
    this.windowSeen = new Uint8Array(tags.length);
    const kinds: SampleKind[] = tags.map((t) => (t.mode === 'change' ? 'any' : 'numeric'));
    this.gate = new SampleGate({ kinds });
    this.rms = new RmsWindow({
      tags: tags.map((t): RmsTagConfig | null => (t.mode === 'rms' ? { windowMs: t.windowMs, samplingIntervalMs: interval } : null)),
    });
    this.deadband = new DeadbandEncoder({
      tags: tags.map((t, i): DeadbandTagConfig | null =>
        t.mode === 'deadband' ? { mode: 'absolute', deadband: resolveDeadband(t, euRanges.get(i)), heartbeatMs: t.heartbeatMs } : null,
      ),
    });
    this.change = new ChangeEncoder({
      tags: tags.map((t): ChangeTagConfig | null => (t.mode === 'change' ? { heartbeatMs: t.heartbeatMs } : null)),
    });
    this.encoder = new BatchEncoder({
      thingName: identity.thingName,
      site: config.site,
      area: config.area,
      mappingVersion: config.mappingVersion,
      runId: identity.runId,
      maxMessageBytes: config.publish.maxMessageBytes,
      significantDigits: config.publish.significantDigits,
      rmsFields: config.publish.rmsFields,
    });
    // Samples of a window arrive with the subscription's next publish; allow one more interval.
    this.latenessMs = 2 * config.sampling.publishingIntervalMs + 500;
  }

  /** The SampleSink: called per sample on the hot path; allocates nothing and never throws. */
  readonly onSample = (tag: number, sourceTimeMs: number, value: unknown, statusCode: number): void => {
    const code = this.gate.check(tag, sourceTimeMs, value, statusCode);
    if (code !== Gate.VALUE && code !== Gate.STATUS_ONLY) return;
    if (sourceTimeMs > this.maxSourceTimeMs) this.maxSourceTimeMs = sourceTimeMs;
    const good = code === Gate.VALUE;
    switch (this.mode[tag]) {
      case RMS:
        this.rms.add(tag, sourceTimeMs, good ? (value as number) : NaN, statusCode);
        break;
      case DEADBAND:
        this.deadband.add(tag, sourceTimeMs, good ? (value as number) : NaN, statusCode);
        break;
      default:
        this.change.add(tag, sourceTimeMs, good ? value : null, statusCode);
    }
  };

  /**
   * Flushes what the event-time watermark has closed and returns the messages ready to publish.
   * `final` (at shutdown) also closes the windows still open, as partial windows.
   */
  tick(nowMs: number, final = false): EncodedMessage[] {
    if (Number.isFinite(this.maxSourceTimeMs)) {
      const watermark = final ? this.maxSourceTimeMs + 1 : this.maxSourceTimeMs - this.latenessMs;
      this.closingAll = final;
      this.rms.flush(final ? this.closingWatermark() : watermark, this.emitRms);
      this.closingAll = false;
    }
    this.deadband.flush(nowMs, (p) => {
      this.encoder.addDeadband(p);
      this.points++;
    });
    this.change.flush(nowMs, (p) => {
      this.encoder.addChange(p);
      this.points++;
    });
    return this.encoder.drain(nowMs);
  }

  /** The end of the newest open window: closes every open window, and invents no empty ones after it. */
  private closingWatermark(): number {
    let end = this.maxSourceTimeMs + 1;
    for (const t of this.config.tags) if (t.mode === 'rms') end = Math.max(end, Math.ceil((this.maxSourceTimeMs + 1) / t.windowMs) * t.windowMs);
    return end;
  }

  counters(): PipelineCounters {
    const g = this.gate.counters();
    const r = this.rms.counters();
    const d = this.deadband.counters();
    const c = this.change.counters();
    const e = this.encoder.counters();
    const stageDropped: Record<string, number> = {};
    for (const [stage, counts] of [['rms', r.dropped], ['deadband', d.dropped], ['change', c.dropped]] as const) {
      for (const [reason, n] of Object.entries(counts)) if (n > 0) stageDropped[`${stage}.${reason}`] = n;
    }
    if (r.windowsLost > 0) stageDropped['rms.windowsLost'] = r.windowsLost;
    if (d.pointsLost + c.pointsLost > 0) stageDropped['encoders.pointsLost'] = d.pointsLost + c.pointsLost;
    const gateDropped: Record<string, number> = {};
    for (const [reason, n] of Object.entries(g.dropped)) if (n > 0) gateDropped[reason] = n;
    return {
      samples: g.received,
      gateDropped,
      statusOnly: { ...g.statusOnly },
      stageDropped,
      points: this.points,
      suppressed: d.suppressed + c.suppressed,
      samplingGaps: this.samplingGaps,
      encoderDropped: Object.values(e.dropped).reduce((a, b) => a + b, 0),
      bytesPerPoint: e.bytesPerRow,
    };
  }
}
