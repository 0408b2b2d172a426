// Capped exponential backoff with full jitter ("Exponential Backoff And Jitter", AWS Architecture
// Blog): the delay before retry n is uniform in [0, min(maxDelay, initialDelay * 2^n)). Full jitter
// spreads the retries of many clients (collectors reconnecting after a plant restart) so they do not
// arrive at the server in waves. Pure: the random source is injected and nothing reads the clock.

export interface BackoffPolicy {
  /** Upper bound of the first delay, ms (> 0). */
  initialDelayMs: number;
  /** Upper bound of every delay, ms (>= initialDelayMs). */
  maxDelayMs: number;
}

/** Past 2^52 a double can no longer hold the product exactly; the cap has long been reached by then. */
const MAX_DOUBLING = 52;

export class Backoff {
  private failures = 0;

  /** @param random a uniform source in [0, 1), e.g. `Math.random`; tests pass a fixed sequence. */
  constructor(
    private readonly policy: BackoffPolicy,
    private readonly random: () => number,
  ) {
    const { initialDelayMs, maxDelayMs } = policy;
    if (!Number.isFinite(initialDelayMs) || initialDelayMs <= 0) {
      throw new RangeError(`backoff initialDelayMs must be a positive number of ms (got ${initialDelayMs})`);
    }
    if (!Number.isFinite(maxDelayMs) || maxDelayMs < initialDelayMs) {
      throw new RangeError(`backoff maxDelayMs must be at least initialDelayMs = ${initialDelayMs} (got ${maxDelayMs})`);
    }
  }

  /** The upper bound of the delay before retry `attempt` (0-based), before jitter. */
  ceiling(attempt: number): number {
    const doublings = Math.min(Math.max(0, Math.floor(attempt)), MAX_DOUBLING);
    return Math.min(this.policy.maxDelayMs, this.policy.initialDelayMs * 2 ** doublings);
  }

  /** The delay before retry `attempt` (0-based), whole ms in [0, ceiling(attempt)). Draws one random number. */
  nextDelay(attempt: number): number {
    const r = this.random();
    // A source that returns 1 (or garbage) must not push the delay past the cap.
    const u = r >= 0 && r < 1 ? r : 0;
    return Math.floor(u * this.ceiling(attempt));
  }

  /** The delay before the next retry; counts a failure. */
  next(): number {
    const delay = this.nextDelay(this.failures);
    this.failures++;
    return delay;
  }

  /** Call on success: the next failure starts from the initial delay again. */
  reset(): void {
    this.failures = 0;
  }

  /** Failures counted since the last reset. */
  get attempts(): number {
    return this.failures;
  }
}
