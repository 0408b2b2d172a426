// SampleBuffer: a growable struct of arrays (source time, value, status) for the samples of one
// capture. Capacity doubles when full, so pushing n samples costs O(n) with about log2(n) copies;
// a capture sized from its duration and sampling interval normally never grows at all.

import { BurstConfigError } from './errors';

/** Capacity when the caller does not give one: a few seconds at 100 ms. */
export const DEFAULT_SAMPLE_BUFFER_CAPACITY = 64;
/** Bytes one sample occupies: float64 time + float64 value + uint32 status. */
export const BYTES_PER_SAMPLE = 8 + 8 + 4;

export class SampleBuffer {
  private t: Float64Array;
  private v: Float64Array;
  private s: Uint32Array;
  private len = 0;

  constructor(initialCapacity: number = DEFAULT_SAMPLE_BUFFER_CAPACITY) {
    if (!Number.isInteger(initialCapacity) || initialCapacity < 0) {
      throw new BurstConfigError(`must be an integer >= 0, got ${initialCapacity}`, { field: 'initialCapacity' });
    }
    this.t = new Float64Array(initialCapacity);
    this.v = new Float64Array(initialCapacity);
    this.s = new Uint32Array(initialCapacity);
  }

  push(tMs: number, value: number, status: number): void {
    const i = this.len;
    if (i === this.t.length) this.reserve(i + 1);
    this.t[i] = tMs;
    this.v[i] = value;
    this.s[i] = status;
    this.len = i + 1;
  }

  /**
   * Appends entries [from, to) of three parallel source arrays in one copy per array: how the ring
   * hands over its window without a call per sample.
   */
  pushRange(times: Float64Array, values: Float64Array, status: Uint32Array, from: number, to: number): void {
    const n = to - from;
    if (n <= 0) return;
    const at = this.len;
    this.reserve(at + n);
    this.t.set(times.subarray(from, to), at);
    this.v.set(values.subarray(from, to), at);
    this.s.set(status.subarray(from, to), at);
    this.len = at + n;
  }

  /** Makes room for `capacity` entries without further growth (doubling, so repeated calls stay O(n)). */
  reserve(capacity: number): void {
    const cap = this.t.length;
    if (capacity <= cap) return;
    const next = Math.max(capacity, cap * 2, 16);
    const t = new Float64Array(next);
    const v = new Float64Array(next);
    const s = new Uint32Array(next);
    t.set(this.t.subarray(0, this.len));
    v.set(this.v.subarray(0, this.len));
    s.set(this.s.subarray(0, this.len));
    this.t = t;
    this.v = v;
    this.s = s;
  }

  get length(): number {
    return this.len;
  }

  get capacity(): number {
    return this.t.length;
  }

  /** Views (subarray) of the first `length` entries; valid until the next push. */
  times(): Float64Array {
    return this.t.subarray(0, this.len);
  }

  values(): Float64Array {
    return this.v.subarray(0, this.len);
  }

  status(): Uint32Array {
    return this.s.subarray(0, this.len);
  }

  /** Bytes allocated (capacity, not length). */
  get bytes(): number {
    return this.t.length * BYTES_PER_SAMPLE;
  }

  /** Forgets the entries and keeps the allocation, for reuse. */
  clear(): void {
    this.len = 0;
  }
}
