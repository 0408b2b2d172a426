// ChangeEncoder: publish-on-change for boolean and string tags (and `any` tags with primitive
// values). A point is sent on the first sample, when the value or the status changes, and,
// optionally, when the tag has been silent for its heartbeat. Values are compared with `===`, so
// strings compare by content. The last sent values cannot live in a typed array; they are kept in
// one plain array indexed by tag, which stores references and allocates nothing per sample.
// `keepAlive(asOfMs)` repeats a tag's last point when its heartbeat is due and the caller vouches
// that the source was alive (see DeadbandEncoder.keepAlive: the same rules).

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
  REASON_FIRST,
  REASON_HEARTBEAT,
  REASON_KEEP_ALIVE,
  REASON_STATUS,
} from './point-queue';

/** The values a change-only tag carries. */
export type ChangeValue = boolean | string | number;

export interface ChangeTagConfig {
  /**
   * Longest silence, ms: a sample at or after lastSentTime + heartbeatMs is sent unchanged, and
   * `keepAlive(asOfMs)` repeats the last point once asOfMs reaches it. 0 or omitted: none.
   */
  heartbeatMs?: number;
}

export interface ChangeEncoderConfig {
  /** Indexed by tag number; null/undefined for tags this stage does not handle. */
  tags: readonly (ChangeTagConfig | null | undefined)[];
  /** Cap on points queued between flushes; see DEFAULT_MAX_PENDING_POINTS. */
  maxPendingPoints?: number;
}

/** One point to publish. */
export interface ChangePoint {
  tag: number;
  sourceTimeMs: number;
  /** The Good value; null for a status-only point (Bad or Uncertain status). */
  value: ChangeValue | null;
  statusCode: number;
  /** Samples of this tag received since the previous point and not sent. */
  suppressed: number;
  reason: PointReason;
}

const UNKNOWN_TAG = 0;
const INVALID_STATUS = 1;
const INVALID_TIMESTAMP = 2;
const INVALID_VALUE = 3;
/** Marks "nothing sent yet" in the per-tag status key (a real key is 0..0xFFFF). */
const NOTHING_SENT = -1;

export class ChangeEncoder {
  readonly tagCount: number;
  private readonly configured: Uint8Array;
  /** Heartbeat per tag, ms; Infinity when none. */
  private readonly heartbeat: Float64Array;
  private readonly sentValue: unknown[];
  private readonly sentTime: Float64Array;
  /** Severity and sub-code of the last sent status; info bits ignored, as in DeadbandEncoder. */
  private readonly sentKey: Int32Array;
  /** The whole status code of the last point: what a keep-alive repeats. */
  private readonly sentStatus: Uint32Array;
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
  private readonly out: ChangePoint = { tag: 0, sourceTimeMs: 0, value: null, statusCode: 0, suppressed: 0, reason: 'first' };

  constructor(config: ChangeEncoderConfig) {
    const tags = config?.tags;
    if (!Array.isArray(tags)) throw new ReductionConfigError('tags must be an array indexed by tag number');
    const n = tags.length;
    const limit = config.maxPendingPoints ?? DEFAULT_MAX_PENDING_POINTS;
    if (!Number.isInteger(limit) || limit < 1) throw new ReductionConfigError(`maxPendingPoints must be a positive integer, got ${limit}`);
    this.tagCount = n;
    this.configured = new Uint8Array(n);
    this.heartbeat = new Float64Array(n).fill(Infinity);
    for (let tag = 0; tag < n; tag++) {
      const c = tags[tag];
      if (c === null || c === undefined) continue;
      const hb = c.heartbeatMs ?? 0;
      if (!(hb >= 0 && Number.isFinite(hb))) throw new ReductionConfigError(`heartbeatMs must be >= 0, got ${hb}`, { tag });
      if (hb > 0) this.heartbeat[tag] = hb;
      this.configured[tag] = 1;
    }
    this.sentValue = new Array<unknown>(n).fill(null);
    this.sentTime = new Float64Array(n).fill(NaN);
    this.sentKey = new Int32Array(n).fill(NOTHING_SENT);
    this.sentStatus = new Uint32Array(n);
    this.pendingSuppressed = new Float64Array(n);
    this.queue = new PointQueue(n, limit, true);
  }

  /**
   * Decides whether one sample (already through the `SampleGate`) is sent. For a Bad or Uncertain
   * status the value is ignored (pass null). A Good value must be a boolean, a string or a finite
   * number; anything else (objects, arrays, undefined) is dropped as `invalidValue`, since
   * comparing it by identity would report a change on every sample.
   */
  add(tag: number, sourceTimeMs: number, value: unknown, statusCode: number): void {
    this.received++;
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
    if (good && !(typeof value === 'boolean' || typeof value === 'string' || Number.isFinite(value))) {
      this.dropCounts[INVALID_VALUE]++;
      return;
    }
    const key = statusCode >>> 16;
    const sentKey = this.sentKey[tag]!;
    let reason: number;
    if (sentKey === NOTHING_SENT) reason = REASON_FIRST;
    else if (key !== sentKey) reason = REASON_STATUS;
    else if (good && value !== this.sentValue[tag]) reason = REASON_CHANGE;
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
    q.values[i] = good ? value : null;
    q.status[i] = statusCode;
    q.suppressed[i] = this.pendingSuppressed[tag]!;
    q.reason[i] = reason;
    this.pendingSuppressed[tag] = 0;
    this.sentKey[tag] = key;
    this.sentStatus[tag] = statusCode;
    this.sentTime[tag] = sourceTimeMs;
    if (good) this.sentValue[tag] = value;
  }

  /**
   * Queues a keep-alive point (reason `keepAlive`, time `asOfMs`) for every tag whose heartbeat is
   * due at `asOfMs`, repeating its last point's value (null after a status-only point) and status
   * code; the next `flush` emits them. Same contract as DeadbandEncoder.keepAlive: the caller
   * vouches that the source would have reported any change before `asOfMs`; tags with no heartbeat
   * or nothing sent get none; at most one per tag and call.
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
        lost++;
        continue;
      }
      const status = this.sentStatus[tag]!;
      q.tag[i] = tag;
      q.time[i] = asOfMs;
      q.values[i] = status >>> 30 === 0 ? this.sentValue[tag] : null;
      q.status[i] = status;
      q.suppressed[i] = this.pendingSuppressed[tag]!;
      q.reason[i] = REASON_KEEP_ALIVE;
      this.pendingSuppressed[tag] = 0;
      this.sentTime[tag] = asOfMs;
      made++;
    }
    this.keepAlives += made;
    this.pointsLost += lost;
  }

  /** Emits the points queued since the last flush, in order. `nowMs` is unused, as in DeadbandEncoder. */
  flush(_nowMs: number, emit: Emit<ChangePoint>): void {
    const q = this.queue;
    const r = this.out;
    while (q.head < q.length) {
      const i = q.head++;
      r.tag = q.tag[i]!;
      r.sourceTimeMs = q.time[i]!;
      r.statusCode = q.status[i]!;
      r.value = q.values[i] as ChangeValue | null;
      r.suppressed = q.suppressed[i]!;
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
