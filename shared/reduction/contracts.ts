// What every reduction stage promises, and what the component runtime promises in return.
//
// The runtime guarantees:
// - `add`, `flush` and `counters` (and the encoders' `keepAlive`) of one stage instance are never
//   called concurrently (they are not re-entrant either: `emit` must not call back into the stage
//   that called it).
// - It owns the clock: stages never read `Date.now()` or set timers. The runtime calls `add` per
//   sample and `flush(nowMs, emit)` on its ticks; all window and heartbeat decisions use the
//   sample's source time or the `nowMs` it passes, so they are reproducible with exact numbers.
// - Per tag, samples reach the windowing and encoding stages in source-time order. `SampleGate`
//   is the stage that establishes this; a stage after it counts what still violates it.
//
// The stages guarantee:
// - `add` never throws and never allocates: bad input is dropped and counted by reason.
// - Tags are numbered 0..N-1 across all stages of a component, so a tag number indexes every
//   stage's typed arrays directly; a tag a stage was not configured for is dropped as `unknownTag`.
// - `counters()` returns a fresh snapshot of cumulative totals since construction.

/**
 * Receives one output record from `flush`. Stages reuse a single record object for every call:
 * the callee must copy whatever it keeps (`{ ...record }` is enough, all fields are primitives).
 */
export type Emit<R> = (record: Readonly<R>) => void;

/** The counters every stage reports. Totals are cumulative; the runtime computes rates from deltas. */
export interface StageCounters<DropReason extends string> {
  /** Every call to `add` (or `check`), whatever became of it. */
  received: number;
  /** Records handed to `emit` (for `SampleGate`: samples passed on). */
  emitted: number;
  /** Samples discarded because they were unusable, by reason. */
  dropped: Record<DropReason, number>;
}

/** Builds the `dropped` object of a counters snapshot from a counts array indexed like `reasons`. */
export function droppedSnapshot<R extends string>(reasons: readonly R[], counts: Float64Array): Record<R, number> {
  const out = {} as Record<R, number>;
  for (let i = 0; i < reasons.length; i++) out[reasons[i]!] = counts[i]!;
  return out;
}
