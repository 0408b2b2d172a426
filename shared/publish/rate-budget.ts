// RateBudget: a token bucket that keeps this component's publishes under its share of the 100
// publishes per second AWS IoT Core allows one connection (all components of a core share it).
// In any interval of T seconds it grants at most `burst + perSecond * T` publishes.
//
// The runtime passes `nowMs`; it should come from a monotonic clock (performance.now()), but a
// clock that steps back is tolerated: the step counts as no time, so the bucket never stalls.
// Credit is kept in thousandths of a token, so integer rates and integer ms are exact.

import { PublishConfigError } from './errors';

/** AWS IoT Core's publish rate per connection, not adjustable (docs.aws.amazon.com/general/latest/gr/iot-core.html). */
export const IOT_CORE_PUBLISHES_PER_SECOND = 100;

export interface RateBudgetConfig {
  /** Sustained publishes per second, > 0 (the collector's publish.maxPublishesPerSecond). */
  perSecond: number;
  /** Publishes that may go back to back after a quiet spell; default a tenth of a second's worth, at least 1. */
  burst?: number;
}

/** Credit per token: credit grows by `perSecond` per ms, so a token takes 1000 / perSecond ms. */
const TOKEN = 1_000;

export class RateBudget {
  readonly perSecond: number;
  readonly burst: number;
  private credit: number;
  /** Time of the last refill; NaN until the first call, when the bucket starts full. */
  private lastMs = NaN;

  constructor(config: RateBudgetConfig) {
    const rate = config?.perSecond;
    if (!(Number.isFinite(rate) && rate > 0)) throw new PublishConfigError(`must be a number > 0, got ${rate}`, { field: 'maxPublishesPerSecond' });
    const burst = config.burst ?? Math.max(1, Math.floor(rate / 10));
    if (!Number.isInteger(burst) || burst < 1) throw new PublishConfigError(`must be an integer >= 1, got ${burst}`, { field: 'burst' });
    this.perSecond = rate;
    this.burst = burst;
    this.credit = burst * TOKEN;
  }

  /** Takes one publish if one is available now. */
  take(nowMs: number): boolean {
    this.refill(nowMs);
    if (this.credit < TOKEN) return false;
    this.credit -= TOKEN;
    return true;
  }

  /** The earliest time `take` will succeed: `nowMs` itself if it would now. Does not take. */
  nextAvailableMs(nowMs: number): number {
    this.refill(nowMs);
    if (this.credit >= TOKEN) return nowMs;
    return nowMs + Math.ceil((TOKEN - this.credit) / this.perSecond);
  }

  /** Whole publishes available now. */
  available(nowMs: number): number {
    this.refill(nowMs);
    return Math.floor(this.credit / TOKEN);
  }

  private refill(nowMs: number): void {
    const elapsed = nowMs - this.lastMs;
    if (elapsed > 0) {
      this.credit = Math.min(this.burst * TOKEN, this.credit + elapsed * this.perSecond);
      this.lastMs = nowMs;
    } else if (elapsed < 0 || Number.isNaN(this.lastMs)) {
      // The first call (the bucket starts full) or a clock that stepped back: no time has passed.
      this.lastMs = nowMs;
    }
  }
}
