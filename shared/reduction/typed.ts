// Helpers for the struct-of-arrays queues the stages keep between flushes.

type NumericArray = Float64Array | Uint32Array | Int32Array | Uint8Array;

/** A copy of `a` with room for `capacity` elements; used only when a queue outgrows its arrays. */
export function grown<T extends NumericArray>(a: T, capacity: number): T {
  const next = new (a.constructor as new (length: number) => T)(capacity);
  (next as Float64Array).set(a as Float64Array);
  return next;
}

/** The next capacity for a queue that is full at `capacity`, or `capacity` itself at the limit. */
export function nextCapacity(capacity: number, limit: number): number {
  return Math.min(limit, Math.max(16, capacity * 2));
}
