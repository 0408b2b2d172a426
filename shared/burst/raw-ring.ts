// RawRing: the last N raw samples of every tag that has an alarm, so that a capture can include what
// happened *before* the alarm was decided.
//
// All rings share one ArrayBuffer, cut into three views (times, values, status); tag k owns slots
// [base[k], base[k] + cap[k]) of each. One allocation at start-up means the memory cost is known and
// fixed before the first sample (it is reported in `bytes`), and `add` is a few typed-array stores.
//
// The caller guarantees source-time order per tag (the SampleGate establishes it); `copySince`
// relies on it to binary-search the ring.

import { BurstConfigError } from './errors';
import type { SampleBuffer } from './sample-buffer';
import { BYTES_PER_SAMPLE } from './sample-buffer';

/** Largest total ring allocation accepted: 2 GiB, far beyond what a gateway should hold in rings. */
export const MAX_RING_BYTES = 2 ** 31;

export interface RawRingConfig {
  /** capacities[tag] = samples kept for that tag; null/undefined/0 = the tag has no ring. */
  capacities: readonly (number | null | undefined)[];
}

export class RawRing {
  readonly tagCount: number;
  /** Total bytes allocated (times Float64 + values Float64 + status Uint32 per slot). */
  readonly bytes: number;
  private readonly t: Float64Array;
  private readonly v: Float64Array;
  private readonly s: Uint32Array;
  private readonly base: Uint32Array;
  /** Slots per tag; 0 = no ring. */
  private readonly cap: Uint32Array;
  /** Next slot to write, relative to base; when the ring is full it is also the oldest sample. */
  private readonly head: Uint32Array;
  private readonly count: Uint32Array;
  /** 1 once the ring has overwritten a sample. */
  private readonly overwritten: Uint8Array;

  constructor(config: RawRingConfig) {
    const caps = config?.capacities;
    if (!Array.isArray(caps)) throw new BurstConfigError('must be an array indexed by tag number', { field: 'capacities' });
    const n = caps.length;
    this.tagCount = n;
    this.base = new Uint32Array(n);
    this.cap = new Uint32Array(n);
    this.head = new Uint32Array(n);
    this.count = new Uint32Array(n);
    this.overwritten = new Uint8Array(n);
    let slots = 0;
    for (let tag = 0; tag < n; tag++) {
      const c = caps[tag];
      if (c === null || c === undefined || c === 0) continue;
      if (typeof c !== 'number' || !Number.isInteger(c) || c < 0) {
        throw new BurstConfigError(`ring capacity must be a whole number of samples >= 0, got ${String(c)}`, { tag, field: 'capacities' });
      }
      this.base[tag] = slots;
      this.cap[tag] = c;
      slots += c;
      if (slots * BYTES_PER_SAMPLE > MAX_RING_BYTES) {
        throw new BurstConfigError(`rings would need more than ${MAX_RING_BYTES} bytes (${slots} samples so far)`, { tag, field: 'capacities' });
      }
    }
    this.bytes = slots * BYTES_PER_SAMPLE;
    // Float64 views first, so both start on an 8-byte boundary; the Uint32 view goes last.
    const buffer = new ArrayBuffer(this.bytes);
    this.t = new Float64Array(buffer, 0, slots);
    this.v = new Float64Array(buffer, slots * 8, slots);
    this.s = new Uint32Array(buffer, slots * 16, slots);
  }

  /** O(1), allocates nothing; overwrites the oldest sample when full. Ignores tags without a ring. */
  add(tag: number, tMs: number, value: number, status: number): void {
    if (tag >>> 0 !== tag || tag >= this.tagCount) return;
    const cap = this.cap[tag]!;
    if (cap === 0) return;
    const h = this.head[tag]!;
    const i = this.base[tag]! + h;
    this.t[i] = tMs;
    this.v[i] = value;
    this.s[i] = status;
    this.head[tag] = h + 1 === cap ? 0 : h + 1;
    if (this.count[tag] === cap) this.overwritten[tag] = 1;
    else this.count[tag]++;
  }

  has(tag: number): boolean {
    return tag >>> 0 === tag && tag < this.tagCount && this.cap[tag] !== 0;
  }

  /** Samples the tag's ring can hold (0 without a ring). */
  capacity(tag: number): number {
    return this.has(tag) ? this.cap[tag]! : 0;
  }

  size(tag: number): number {
    return this.has(tag) ? this.count[tag]! : 0;
  }

  /** Source time of the oldest sample held, NaN when empty. */
  oldestMs(tag: number): number {
    return this.size(tag) === 0 ? NaN : this.t[this.slot(tag, 0)]!;
  }

  /** Source time of the newest sample held, NaN when empty. */
  newestMs(tag: number): number {
    const n = this.size(tag);
    return n === 0 ? NaN : this.t[this.slot(tag, n - 1)]!;
  }

  /**
   * True once the ring has overwritten samples (it is full): tells "ring shorter than the
   * pre-trigger because the collector just started" from "ring full".
   */
  wrapped(tag: number): boolean {
    return this.has(tag) && this.overwritten[tag] === 1;
  }

  /** Appends to `out`, oldest first, every held sample with t >= fromMs; returns how many. */
  copySince(tag: number, fromMs: number, out: SampleBuffer): number {
    return this.copyRange(tag, fromMs, Infinity, out);
  }

  /** Appends to `out`, oldest first, every held sample with fromMs <= t < toMs; returns how many. */
  copyRange(tag: number, fromMs: number, toMs: number, out: SampleBuffer): number {
    const n = this.size(tag);
    if (n === 0) return 0;
    const lo = this.lowerBound(tag, n, fromMs);
    const hi = toMs === Infinity ? n : this.lowerBound(tag, n, toMs);
    if (hi <= lo) return 0;
    // At most two contiguous stretches: up to the end of the tag's slots, then from its start.
    const base = this.base[tag]!;
    const first = this.slot(tag, lo);
    const last = this.slot(tag, hi - 1);
    if (first <= last) {
      out.pushRange(this.t, this.v, this.s, first, last + 1);
    } else {
      out.pushRange(this.t, this.v, this.s, first, base + this.cap[tag]!);
      out.pushRange(this.t, this.v, this.s, base, last + 1);
    }
    return hi - lo;
  }

  /** Physical slot of the k-th oldest sample (0 = oldest) of a tag holding at least k + 1. */
  private slot(tag: number, k: number): number {
    const cap = this.cap[tag]!;
    const oldest = this.count[tag] === cap ? this.head[tag]! : 0;
    const r = oldest + k;
    return this.base[tag]! + (r >= cap ? r - cap : r);
  }

  /** The first k in [0, n) whose time is >= x, or n: binary search over the time-ordered ring. */
  private lowerBound(tag: number, n: number, x: number): number {
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.t[this.slot(tag, mid)]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
