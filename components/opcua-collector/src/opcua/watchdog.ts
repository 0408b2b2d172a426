// The watchdog of one OPC UA connection: it notices a session that stays "connected" while nothing
// arrives (the failure every OPC UA edge publisher's users report most) and ends the connection, so
// that the source connects again. What counts as arriving depends on the tags: rms tags change at
// every 100 ms sample, so with any of them only data counts (a server can keep a subscription alive
// with keep-alives while its items deliver nothing); with only deadband and change tags a quiet
// plant sends no data for as long as nothing changes, so keep-alives count too (watchdogLastSignMs).
import type { CollectorConfig } from '../config-types';
import type { Logger } from '../ports';
import { type SampleDispatcher, type SubscribeResult, watchdogLastSignMs } from './subscription';

/** Longest gap between two watchdog checks, ms. */
const WATCHDOG_MAX_PERIOD_MS = 1_000;

export interface WatchOptions {
  /** The configuration in force now (a live update may replace it while the connection lasts). */
  config: () => CollectorConfig;
  dispatcher: SampleDispatcher;
  subscribed: SubscribeResult;
  /** Date.now() when the subscription was made. */
  connectedAt: number;
  /** Resolves with the reason the connection ended (lost, stopped, or this watchdog). */
  ended: Promise<string>;
  /** Ends the connection. */
  end: (reason: string) => void;
  /** The connection delivered: the reconnect backoff starts over. */
  onHealthy: () => void;
  /** The watchdog ended a silent connection (counted as watchdogResets). */
  onReset: () => void;
  /** Receives what to call after a live mapping change, which may change what the watchdog expects. */
  setOnRetarget: (fn: () => void) => void;
  logger: Logger;
}

/**
 * True when the session must deliver data, not only keep-alives: an rms tag the server accepted
 * samples every 100 ms and its value moves (noise at least), so a server that reports changes sends
 * it several times per second.
 */
export function expectsData(config: CollectorConfig, subscribed: SubscribeResult): boolean {
  const refused = new Set(subscribed.failures.map((f) => f.tag));
  return config.tags.some((t, tag) => t.mode === 'rms' && !refused.has(tag));
}

/** Runs the watchdog until the connection ends; resolves with the reason. */
export async function watchConnection(o: WatchOptions): Promise<string> {
  const { dispatcher, subscribed, connectedAt } = o;
  const timeoutMs = o.config().watchdog.noDataTimeoutMs;
  let dataExpected = expectsData(o.config(), subscribed);
  o.setOnRetarget(() => (dataExpected = expectsData(o.config(), subscribed)));
  // Until the first data change the watchdog counts from the moment the items exist.
  let healthy = false;
  const check = (): void => {
    // Success is data, not a session: a server that accepts sessions but never delivers keeps
    // backing off. Every item sends its initial value, so this holds for quiet plants too.
    if (!healthy && (dispatcher.lastDataAtMs > 0 || subscribed.monitored === 0)) {
      healthy = true;
      o.onHealthy();
    }
    if (subscribed.monitored === 0) return;
    const silentMs = Date.now() - watchdogLastSignMs(dispatcher, connectedAt, dataExpected);
    if (silentMs < timeoutMs) return;
    o.onReset();
    o.logger.warn(
      { endpoint: o.config().endpointUrl, silentMs, noDataTimeoutMs: timeoutMs, monitored: subscribed.monitored, keepAlivesCount: !dataExpected },
      dataExpected ? 'watchdog: the session is up but no data arrived; reconnecting' : 'watchdog: the session is up but neither data nor keep-alives arrived; reconnecting',
    );
    o.end(dataExpected ? `watchdog: no data for ${silentMs} ms` : `watchdog: no data or keep-alive for ${silentMs} ms`);
  };
  const timer = setInterval(check, Math.max(10, Math.min(WATCHDOG_MAX_PERIOD_MS, Math.floor(timeoutMs / 4))));
  try {
    return await o.ended;
  } finally {
    clearInterval(timer);
    check(); // a connection that delivered data before it dropped still counts as a success
  }
}
