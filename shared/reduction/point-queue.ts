// PointQueue: the points an encoder decided to send, held as a struct of arrays between `add` and
// `flush` so that deciding to send allocates nothing. Shared by DeadbandEncoder and ChangeEncoder.

import type { StageCounters } from './contracts';
import { grown, nextCapacity } from './typed';

/** Points held between two flushes before further ones are refused (and counted by the encoder). */
export const DEFAULT_MAX_PENDING_POINTS = 1_048_576;

/**
 * Why a point was sent. `first`: the tag's first sample. `change`: the value moved beyond the
 * deadband (or, for ChangeEncoder, changed). `status`: the status changed. `heartbeat`: a sample
 * arrived after the tag had been silent for its heartbeat interval. `deadband`: the first sample
 * after the tag's deadband was changed (DeadbandEncoder.setDeadband). `keepAlive`: no sample, but
 * the caller vouched that the source was alive and reporting changes up to the point's time
 * (`keepAlive(asOfMs)`), so the previous point is repeated: it stands for no sample of its own.
 */
export type PointReason = 'first' | 'change' | 'status' | 'heartbeat' | 'deadband' | 'keepAlive';
export const POINT_REASONS: readonly PointReason[] = ['first', 'change', 'status', 'heartbeat', 'deadband', 'keepAlive'];
export const REASON_FIRST = 0;
export const REASON_CHANGE = 1;
export const REASON_STATUS = 2;
export const REASON_HEARTBEAT = 3;
export const REASON_DEADBAND = 4;
export const REASON_KEEP_ALIVE = 5;

/** Why an encoder dropped a sample. */
export type EncoderDropReason = 'unknownTag' | 'invalidStatus' | 'invalidTimestamp' | 'invalidValue';
export const ENCODER_DROP_REASONS: readonly EncoderDropReason[] = ['unknownTag', 'invalidStatus', 'invalidTimestamp', 'invalidValue'];

/** The counters both encoders report. */
export interface EncoderCounters extends StageCounters<EncoderDropReason> {
  /** Valid samples deliberately not sent (inside the deadband or unchanged). */
  suppressed: number;
  /** Points that could not be queued because the queue was full; the tag retries on its next sample (or keep-alive). */
  pointsLost: number;
  /** Points made by `keepAlive` (reason `keepAlive`): repeats, not samples. */
  keepAlives: number;
}

/** The struct-of-arrays queue itself; encoders write slots they `reserve` and read them back in `flush`. */
export class PointQueue {
  private readonly limit: number;
  private readonly withValues: boolean;
  private cap: number;
  /** [head, length) are pending; head moves as points are delivered. */
  head = 0;
  length = 0;
  tag: Int32Array;
  reason: Uint8Array;
  status: Uint32Array;
  suppressed: Float64Array;
  time: Float64Array;
  /** Numeric value (DeadbandEncoder). */
  num: Float64Array;
  /** The deadband in force when the point was decided (DeadbandEncoder): it may change before the flush. */
  deadband: Float64Array;
  /** Any primitive value (ChangeEncoder); empty unless built `withValues`. */
  values: unknown[];

  constructor(initialCapacity: number, limit: number, withValues: boolean) {
    this.limit = limit;
    this.withValues = withValues;
    this.cap = Math.min(limit, Math.max(16, initialCapacity));
    this.tag = new Int32Array(this.cap);
    this.reason = new Uint8Array(this.cap);
    this.status = new Uint32Array(this.cap);
    this.suppressed = new Float64Array(this.cap);
    this.time = new Float64Array(this.cap);
    this.num = new Float64Array(withValues ? 0 : this.cap);
    this.deadband = new Float64Array(withValues ? 0 : this.cap);
    this.values = withValues ? new Array<unknown>(this.cap).fill(null) : [];
  }

  /** Index of a free slot for one more point, or -1 when the queue is at its limit. */
  reserve(): number {
    if (this.length === this.cap && !this.makeRoom()) return -1;
    return this.length++;
  }

  /** Marks everything delivered; called after a flush has emitted all pending points. */
  clear(): void {
    if (this.withValues) this.values.fill(null, 0, this.length); // let the strings be collected
    this.head = 0;
    this.length = 0;
  }

  private makeRoom(): boolean {
    if (this.head > 0) {
      // A previous flush stopped early (its emit threw): discard what it delivered.
      const h = this.head;
      for (const a of [this.tag, this.reason, this.status, this.suppressed, this.time, this.num, this.deadband]) a.copyWithin(0, h, this.length);
      if (this.withValues) this.values.copyWithin(0, h, this.length);
      this.length -= h;
      this.head = 0;
      return true;
    }
    const cap = nextCapacity(this.cap, this.limit);
    if (cap === this.cap) return false;
    this.cap = cap;
    this.tag = grown(this.tag, cap);
    this.reason = grown(this.reason, cap);
    this.status = grown(this.status, cap);
    this.suppressed = grown(this.suppressed, cap);
    this.time = grown(this.time, cap);
    if (this.withValues) {
      for (let i = this.values.length; i < cap; i++) this.values.push(null);
    } else {
      this.num = grown(this.num, cap);
      this.deadband = grown(this.deadband, cap);
    }
    return true;
  }
}
