// DeadbandEncoder: report-by-exception for numeric tags. A point is sent when the value moves more
// than the deadband away from the last *sent* value, when the status changes, or when the tag has
// been silent for its heartbeat. Comparing with the last sent value (not the last received one)
// means a slow drift is still sent once it adds up, so a cloud that holds each point's value until
// the next point reconstructs every Good sample to within `deadband` engineering units.
//
// Heartbeats are decided on samples, which a server reporting only changes never sends for a value
// that stays put. `keepAlive(asOfMs)` covers that case: on the caller's word that the source was
// alive and reporting changes up to `asOfMs`, a tag whose heartbeat is due repeats its last point.

import { type Emit, droppedSnapshot } from './contracts';
import { ReductionConfigError } from './errors';
import {
  DEFAULT_MAX_PENDING_POINTS,
  ENCODER_DROP_REASONS,
  type EncoderCounters,
  POINT_REASONS,
  type PointReason,
  PointQueue,
  REASON_CHANGE,
  REASON_DEADBAND,
  REASON_FIRST,
  REASON_HEARTBEAT,
  REASON_KEEP_ALIVE,
  REASON_STATUS,
} from './point-queue';

/**
 * Per tag: an absolute deadband in engineering units, or a percent of the tag's range
 * (percent * (rangeMax - rangeMin) / 100). `heartbeatMs` is the longest silence: a sample at or
 * after lastSentTime + heartbeatMs is sent even inside the deadband, and `keepAlive(asOfMs)` repeats
 * the last point once asOfMs reaches lastSentTime + heartbeatMs. Omitted or 0: no heartbeat.
 */
export type DeadbandTagConfig =
  | { mode: 'absolute'; deadband: number; heartbeatMs?: number }
  | { mode: 'percent'; percent: number; rangeMin: number; rangeMax: number; heartbeatMs?: number };

export interface DeadbandEncoderConfig {
  /** Indexed by tag number; null/undefined for tags this stage does not handle. */
  tags: readonly (DeadbandTagConfig | null | undefined)[];
  /** Cap on points queued between flushes; see DEFAULT_MAX_PENDING_POINTS. */
  maxPendingPoints?: number;
}

/** One point to publish. */
export interface DeadbandPoint {
  tag: number;
  sourceTimeMs: number;
  /** The Good value; null for a status-only point (Bad or Uncertain status). */
  value: number | null;
  statusCode: number;
  /** Samples of this tag received since the previous point and not sent. */
  suppressed: number;
  /** The tag's deadband in engineering units: the error bound of the reconstructed series. */
  deadband: number;
  reason: PointReason;
}

const UNKNOWN_TAG = 0;
const INVALID_STATUS = 1;
const INVALID_TIMESTAMP = 2;
const INVALID_VALUE = 3;

/** Marks "nothing sent yet" in the per-tag status key (a real key is 0..0xFFFF). */
const NOTHING_SENT = -1;
/** Marks "the deadband changed since the last point" in the per-tag status key: the next sample is sent. */
const DEADBAND_CHANGED = -2;

export class DeadbandEncoder {
  readonly tagCount: number;
  private readonly configured: Uint8Array;
  private readonly deadband: Float64Array;
  /** Heartbeat per tag, ms; Infinity when none, so the heartbeat test needs no branch. */
  private readonly heartbeat: Float64Array;
  private readonly sentValue: Float64Array;
  private readonly sentTime: Float64Array;
  /**
   * Top 16 bits (severity and sub-code) of the last sent status. The low 16 bits (info type,
   * limit and overflow bits) are left out: they can flip on every sample and are not a change of
   * the tag's condition worth a point of its own.
   */
  private readonly sentKey: Int32Array;
  /** The whole status code and the deadband of the last point: what a keep-alive repeats. */
  private readonly sentStatus: Uint32Array;
  private readonly sentDeadband: Float64Array;
  private readonly pendingSuppressed: Float64Array;
  private readonly queue: PointQueue;

  // Float64 counters: a uint32 would wrap after ~12 h at 100,000 samples/s.
  private readonly dropCounts = new Float64Array(ENCODER_DROP_REASONS.length);
  private received = 0;
  private emitted = 0;
  private suppressedTotal = 0;
  private pointsLost = 0;
  private keepAlives = 0;

  /** The one record passed to every `emit` call; the callee copies what it keeps. */
  private readonly out: DeadbandPoint = { tag: 0, sourceTimeMs: 0, value: null, statusCode: 0, suppressed: 0, deadband: 0, reason: 'first' };

  constructor(config: DeadbandEncoderConfig) {
    const tags = config?.tags;
    if (!Array.isArray(tags)) throw new ReductionConfigError('tags must be an array indexed by tag number');
    const n = tags.length;
    const limit = config.maxPendingPoints ?? DEFAULT_MAX_PENDING_POINTS;
    if (!Number.isInteger(limit) || limit < 1) throw new ReductionConfigError(`maxPendingPoints must be a positive integer, got ${limit}`);
    this.tagCount = n;
    this.configured = new Uint8Array(n);
    this.deadband = new Float64Array(n);
    this.heartbeat = new Float64Array(n).fill(Infinity);
    for (let tag = 0; tag < n; tag++) {
      const c = tags[tag];
      if (c === null || c === undefined) continue;
      this.deadband[tag] = absoluteDeadband(c, tag);
      const hb = c.heartbeatMs ?? 0;
      if (!(hb >= 0 && Number.isFinite(hb))) throw new ReductionConfigError(`heartbeatMs must be >= 0, got ${hb}`, { tag });
      if (hb > 0) this.heartbeat[tag] = hb;
      this.configured[tag] = 1;
    }
    this.sentValue = new Float64Array(n).fill(NaN);
    this.sentTime = new Float64Array(n).fill(NaN);
    this.sentKey = new Int32Array(n).fill(NOTHING_SENT);
    this.sentStatus = new Uint32Array(n);
    this.sentDeadband = new Float64Array(n);
    this.pendingSuppressed = new Float64Array(n);
    this.queue = new PointQueue(n, limit, false);
  }

  /** The deadband of `tag` in engineering units, or NaN for a tag this stage does not handle. */
  deadbandOf(tag: number): number {
    return tag >>> 0 === tag && tag < this.tagCount && this.configured[tag] === 1 ? this.deadband[tag]! : NaN;
  }

  /**
   * Changes the deadband of a tag this stage handles (engineering units, finite, >= 0): for a percent
   * deadband whose range is only known once the server's EURange has been read. Not for the hot
   * path; never called concurrently with `add` or `flush`.
   *
   * If the tag has sent a point, the next sample is sent too (reason `deadband`). Every point's
   * `deadband` is the bound on the samples it stands for, i.e. those up to the next point; without
   * this, samples judged under the new deadband would be held against a point that promised the
   * old one. Points already queued keep the deadband they were decided with. Setting the current
   * value changes nothing.
   */
  setDeadband(tag: number, deadband: number): void {
    if (!(tag >>> 0 === tag && tag < this.tagCount && this.configured[tag] === 1)) {
      throw new ReductionConfigError('setDeadband: not a tag of this stage', { tag });
    }
    if (!(deadband >= 0 && Number.isFinite(deadband))) throw new ReductionConfigError(`deadband must be a finite number >= 0, got ${deadband}`, { tag });
    if (deadband === this.deadband[tag]) return;
    this.deadband[tag] = deadband;
    if (this.sentKey[tag] !== NOTHING_SENT) this.sentKey[tag] = DEADBAND_CHANGED;
  }

  /**
   * Decides whether one sample (already through the `SampleGate`) is sent. For a Bad or Uncertain
   * status the value is ignored (pass NaN): Good -> Bad/Uncertain sends one status-only point, and
   * further samples with the same status are suppressed; Bad -> Good sends the Good value at once.
   */
  add(tag: number, sourceTimeMs: number, value: number, statusCode: number): void {
    this.received++;
    // Fast path, most samples: a Good value inside the deadband, same status, heartbeat not due.
    // Kept small so V8 inlines it into the runtime's loop; `decide` handles everything else.
    // sentKey is negative for unconfigured tags, tags with nothing sent and tags whose deadband just
    // changed, so they never match.
    if (
      tag >>> 0 === tag &&
      tag < this.tagCount &&
      statusCode >>> 0 === statusCode &&
      statusCode >>> 16 === this.sentKey[tag] &&
      statusCode < 0x40000000 &&
      Number.isFinite(value) &&
      Number.isFinite(sourceTimeMs) &&
      !(Math.abs(value - this.sentValue[tag]!) > this.deadband[tag]!) &&
      sourceTimeMs < this.sentTime[tag]! + this.heartbeat[tag]!
    ) {
      this.pendingSuppressed[tag]++;
      this.suppressedTotal++;
      return;
    }
    this.decide(tag, sourceTimeMs, value, statusCode);
  }

  private decide(tag: number, sourceTimeMs: number, value: number, statusCode: number): void {
    if (tag >>> 0 !== tag || tag >= this.tagCount || this.configured[tag] === 0) {
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
    const key = statusCode >>> 16;
    const sentKey = this.sentKey[tag]!;
    let reason: number;
    if (sentKey === NOTHING_SENT) reason = REASON_FIRST;
    else if (sentKey === DEADBAND_CHANGED) reason = REASON_DEADBAND;
    else if (key !== sentKey) reason = REASON_STATUS;
    // A deadband of 0 sends every change; equal values are still suppressed (0 > 0 is false).
    else if (good && Math.abs(value - this.sentValue[tag]!) > this.deadband[tag]!) reason = REASON_CHANGE;
    else if (sourceTimeMs >= this.sentTime[tag]! + this.heartbeat[tag]!) reason = REASON_HEARTBEAT;
    else {
      this.pendingSuppressed[tag]++;
      this.suppressedTotal++;
      return;
    }
    const q = this.queue;
    const i = q.reserve();
    if (i < 0) {
      // State stays as it was, so the next sample is compared with what the cloud really has.
      this.pointsLost++;
      this.pendingSuppressed[tag]++;
      return;
    }
    q.tag[i] = tag;
    q.time[i] = sourceTimeMs;
    q.num[i] = good ? value : NaN;
    q.status[i] = statusCode;
    q.suppressed[i] = this.pendingSuppressed[tag]!;
    q.reason[i] = reason;
    q.deadband[i] = this.deadband[tag]!;
    this.pendingSuppressed[tag] = 0;
    this.sentKey[tag] = key;
    this.sentStatus[tag] = statusCode;
    this.sentDeadband[tag] = this.deadband[tag]!;
    this.sentTime[tag] = sourceTimeMs;
    if (good) this.sentValue[tag] = value;
  }

  /**
   * Queues a keep-alive point for every tag whose heartbeat is due at `asOfMs` (asOfMs >=
   * lastSentTime + heartbeatMs); the next `flush` emits them after the points already queued.
   *
   * The caller vouches that the source was alive up to `asOfMs` and would have delivered any change
   * of value or status before it (for OPC UA: a Publish response, data or keep-alive, received once
   * every monitored item had reported its initial value). "No sample" then means "no change", so
   * the point repeats the tag's last point as it was sent: its value (null for a status-only point:
   * a Bad or Uncertain tag is repeated as still Bad, which asserts no value), its status code and
   * the deadband it was decided with, which still bounds the current value even if `setDeadband`
   * changed the deadband since (the tag then stays marked: its next sample is sent with reason
   * `deadband`). The point's time is `asOfMs`, which must be in the clock of the samples' source
   * times (see README). `suppressed` carries the samples suppressed since the previous point. Tags
   * with no heartbeat or nothing sent yet (no value to repeat) get none; a tag gets at most one per
   * call, so a late call never makes a burst. Scans every tag: once per tick, not per sample. A
   * non-finite `asOfMs` does nothing.
   */
  keepAlive(asOfMs: number): void {
    if (!Number.isFinite(asOfMs)) return;
    const q = this.queue;
    let made = 0;
    let lost = 0;
    for (let tag = 0; tag < this.tagCount; tag++) {
      // NaN (nothing sent, or a tag of no stage) and Infinity (no heartbeat) both fail the test.
      if (!(asOfMs >= this.sentTime[tag]! + this.heartbeat[tag]!)) continue;
      const i = q.reserve();
      if (i < 0) {
        // As for a sample: the state stays, and the next call tries again.
        lost++;
        continue;
      }
      const status = this.sentStatus[tag]!;
      q.tag[i] = tag;
      q.time[i] = asOfMs;
      q.num[i] = status >>> 30 === 0 ? this.sentValue[tag]! : NaN;
      q.status[i] = status;
      q.suppressed[i] = this.pendingSuppressed[tag]!;
      q.reason[i] = REASON_KEEP_ALIVE;
      q.deadband[i] = this.sentDeadband[tag]!;
      this.pendingSuppressed[tag] = 0;
      this.sentTime[tag] = asOfMs;
      made++;
    }
    this.keepAlives += made;
    this.pointsLost += lost;
  }

  /**
   * Emits the points queued since the last flush, in the order they were decided. `nowMs` is part
   * of the common stage contract and unused: heartbeats are decided on source time, by samples or
   * by `keepAlive`, never by the gateway's clock, so a tag is never given a point that no sample and
   * no word of the source's liveness stands behind.
   */
  flush(_nowMs: number, emit: Emit<DeadbandPoint>): void {
    const q = this.queue;
    const r = this.out;
    while (q.head < q.length) {
      const i = q.head++;
      const tag = q.tag[i]!;
      r.tag = tag;
      r.sourceTimeMs = q.time[i]!;
      r.statusCode = q.status[i]!;
      r.value = r.statusCode >>> 30 === 0 ? q.num[i]! : null;
      r.suppressed = q.suppressed[i]!;
      r.deadband = q.deadband[i]!;
      r.reason = POINT_REASONS[q.reason[i]!]!;
      this.emitted++;
      emit(r);
    }
    q.clear();
  }

  counters(): EncoderCounters {
    return {
      received: this.received,
      emitted: this.emitted,
      dropped: droppedSnapshot(ENCODER_DROP_REASONS, this.dropCounts),
      suppressed: this.suppressedTotal,
      pointsLost: this.pointsLost,
      keepAlives: this.keepAlives,
    };
  }
}

function absoluteDeadband(c: DeadbandTagConfig, tag: number): number {
  if (c.mode === 'absolute') {
    if (!(c.deadband >= 0 && Number.isFinite(c.deadband))) throw new ReductionConfigError(`deadband must be a finite number >= 0, got ${c.deadband}`, { tag });
    return c.deadband;
  }
  if (c.mode === 'percent') {
    if (!(c.percent >= 0 && c.percent <= 100)) throw new ReductionConfigError(`percent must be in 0..100, got ${c.percent}`, { tag });
    if (!(Number.isFinite(c.rangeMin) && Number.isFinite(c.rangeMax) && c.rangeMax > c.rangeMin)) {
      throw new ReductionConfigError(`rangeMax must be greater than rangeMin, both finite, got ${c.rangeMin}..${c.rangeMax}`, { tag });
    }
    return (c.percent * (c.rangeMax - c.rangeMin)) / 100;
  }
  throw new ReductionConfigError(`mode must be 'absolute' or 'percent', got ${String((c as { mode?: unknown }).mode)}`, { tag });
}
