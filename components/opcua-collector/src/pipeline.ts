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
import { type EuRange, type EuRangeReading, needsEuRange } from './eu-range';
import { CollectorBurst } from './burst';

const RMS = 0;
const DEADBAND = 1;
const CHANGE = 2;

/** Where a tag's deadband range comes from. */
const RANGE_CONFIGURED = 0; // absolute, configured rangeMin/rangeMax, or not a deadband tag
const RANGE_PENDING = 1; // the EURange is to be read: deadband 0 meanwhile
const RANGE_FROM_SERVER = 2;
const RANGE_MISSING = 3; // the server had no usable EURange: deadband 0

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
  return (d.percent * (high - low)) / 100;
}

/** Why `range` cannot give a deadband, or undefined when it can. */
export function euRangeProblem(range: EuRange): string | undefined {
  const { low, high } = range;
  if (!Number.isFinite(low) || !Number.isFinite(high)) return `the EURange is not finite (low ${low}, high ${high})`;
  if (!(high > low)) return `the EURange is empty or inverted (low ${low}, high ${high}: high must be above low)`;
  return undefined;
}

/** What applying one session's EURange readings changed for one tag (unchanged tags are left out). */
export type EuRangeOutcome =
  /** The tag's deadband is now percent × (high − low) / 100. */
  | { tag: number; kind: 'set'; range: EuRange; deadband: number }
  /** No usable range and none before: the tag's points go out with every change (deadband 0). */
  | { tag: number; kind: 'noRange'; problem: string }
  /** No usable range this session: the deadband from an earlier session's range stays. */
  | { tag: number; kind: 'kept'; problem: string; deadband: number };

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
  /** Percent deadband tags whose range is the server's EURange: still to be read, or none usable (both sent with deadband 0). */
  deadbandRange: { pending: number; missing: number };
}

export class CollectorPipeline {
  private readonly gate: SampleGate;
  private readonly rms: RmsWindow;
  private readonly deadband: DeadbandEncoder;
  private readonly change: ChangeEncoder;
  readonly encoder: BatchEncoder;
  /** Alarms and raw captures of the tags that have an alarm. */
  readonly burst: CollectorBurst;
  private readonly ringed: Uint8Array;
  private readonly mode: Uint8Array;
  /** RANGE_* per tag. */
  private readonly rangeState: Uint8Array;
  private revision = 0;
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
    if (this.ringed[r.tag] === 1) this.burst.onRmsWindow(r.tag, r.windowStartMs, r.windowEndMs, r.rms ?? NaN);
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
    this.rangeState = Uint8Array.from(tags, (t, i) => (!needsEuRange(t) ? RANGE_CONFIGURED : euRanges.has(i) ? RANGE_FROM_SERVER : RANGE_PENDING));
    this.expected = Float64Array.from(tags, (t) => (t.mode === 'rms' ? t.windowMs / interval : 0));
    this.windowSeen = new Uint8Array(tags.length);
    const kinds: SampleKind[] = tags.map((t) => (t.mode === 'change' ? 'any' : 'numeric'));
    this.gate = new SampleGate({ kinds });
    this.rms = new RmsWindow({
      tags: tags.map((t): RmsTagConfig | null => (t.mode === 'rms' ? { windowMs: t.windowMs, samplingIntervalMs: interval } : null)),
    });
    // A tag whose range is still to be read sends every change (deadband 0) rather than nothing:
    // no sample is lost while the EURange is read, and each point says it was sent with deadband 0.
    this.deadband = new DeadbandEncoder({
      tags: tags.map((t, i): DeadbandTagConfig | null =>
        t.mode !== 'deadband'
          ? null
          : { mode: 'absolute', deadband: this.rangeState[i] === RANGE_PENDING ? 0 : resolveDeadband(t, euRanges.get(i)), heartbeatMs: t.heartbeatMs },
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
    this.burst = new CollectorBurst(config, identity.runId);
    this.ringed = this.burst.ringed;
    // Samples of a window arrive with the subscription's next publish; allow one more interval.
    this.latenessMs = 2 * config.sampling.publishingIntervalMs + 500;
  }

  /** The SampleSink: called per sample on the hot path; allocates nothing and never throws. */
  readonly onSample = (tag: number, sourceTimeMs: number, value: unknown, statusCode: number): void => {
    const code = this.gate.check(tag, sourceTimeMs, value, statusCode);
    if (code !== Gate.VALUE && code !== Gate.STATUS_ONLY) return;
    if (sourceTimeMs > this.maxSourceTimeMs) this.maxSourceTimeMs = sourceTimeMs;
    const good = code === Gate.VALUE;
    if (this.ringed[tag] === 1) this.burst.onSample(tag, sourceTimeMs, good ? (value as number) : NaN, statusCode);
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
   * Applies the EURange readings of one OPC UA session to the tags whose percent deadband has no
   * configured range (readings for other tags are ignored). A usable range sets the deadband; a
   * tag without one keeps the range of an earlier session if it had one, else stays at deadband 0.
   * Returns what changed, for the log.
   */
  applyEuRanges(readings: readonly EuRangeReading[]): EuRangeOutcome[] {
    const out: EuRangeOutcome[] = [];
    for (const r of readings) {
      const tag = r.tag;
      const state = this.rangeState[tag];
      if (state === undefined || state === RANGE_CONFIGURED) continue;
      const problem = 'problem' in r ? r.problem : euRangeProblem(r.range);
      if (problem === undefined && 'range' in r) {
        const deadband = resolveDeadband(this.config.tags[tag]!, r.range);
        if (state === RANGE_FROM_SERVER && deadband === this.deadband.deadbandOf(tag)) continue;
        this.deadband.setDeadband(tag, deadband);
        this.rangeState[tag] = RANGE_FROM_SERVER;
        this.revision++;
        out.push({ tag, kind: 'set', range: { low: r.range.low, high: r.range.high }, deadband });
      } else if (state === RANGE_PENDING) {
        this.rangeState[tag] = RANGE_MISSING;
        this.revision++;
        out.push({ tag, kind: 'noRange', problem: problem ?? 'no range' });
      } else if (state === RANGE_FROM_SERVER) {
        out.push({ tag, kind: 'kept', problem: problem ?? 'no range', deadband: this.deadband.deadbandOf(tag) });
      }
    }
    return out;
  }

  /**
   * The deadband of a deadband tag in engineering units, as the mapping message publishes it;
   * undefined for other tags and while the tag's EURange is still to be read.
   */
  resolvedDeadband(tag: number): number | undefined {
    if (this.mode[tag] !== DEADBAND || this.rangeState[tag] === RANGE_PENDING) return undefined;
    return this.deadband.deadbandOf(tag);
  }

  /** Changes whenever a resolved deadband changes: the mapping message is then out of date. */
  get deadbandRevision(): number {
    return this.revision;
  }

  /**
   * Flushes what the event-time watermark has closed and returns the messages ready to publish.
   * `final` (at shutdown) also closes the windows still open, as partial windows.
   *
   * `aliveAsOfMs`: the source's word that it delivered every change up to that time, in the clock
   * of the samples' source times (NodeOpcUaSource.aliveAsOfMs); deadband and change tags whose
   * heartbeat is due then repeat their last point (reason `keepAlive`).
   * Undefined: no keep-alive, heartbeats only come with samples.
   */
  tick(nowMs: number, final = false, aliveAsOfMs?: number): EncodedMessage[] {
    if (Number.isFinite(this.maxSourceTimeMs)) {
      // Windows that later samples closed since the last tick are complete: their missing samples
      // are gaps even at shutdown, so they are drained (a non-finite watermark) before closingAll.
      if (final) this.rms.flush(NaN, this.emitRms);
      this.closingAll = final;
      this.rms.flush(final ? this.closingWatermark() : this.maxSourceTimeMs - this.latenessMs, this.emitRms);
      this.closingAll = false;
    }
    // After the windows: an alarm raised by one of them has started its capture by now.
    if (final) this.burst.closeAll();
    else if (Number.isFinite(this.maxSourceTimeMs)) this.burst.flush(this.maxSourceTimeMs - this.latenessMs);
    // Queued before the flushes, so keep-alives leave in this tick's messages, after the tag's real points.
    if (aliveAsOfMs !== undefined) {
      this.deadband.keepAlive(aliveAsOfMs);
      this.change.keepAlive(aliveAsOfMs);
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
      deadbandRange: { pending: this.rangeState.filter((s) => s === RANGE_PENDING).length, missing: this.rangeState.filter((s) => s === RANGE_MISSING).length },
    };
  }
}
