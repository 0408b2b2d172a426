// How long the source waits before its next connection attempt, from how the last one ended. Pure:
// the random number and the attempt's duration are passed in; nothing here reads the clock.
//
// Why a class per failure rather than one exponential backoff for all: after a plant restart the
// endpoint refuses TCP for the whole outage, and an exponential backoff grown during that outage
// made the collector sleep up to ~30 s after the server was back (data lost for good). A refused or
// unreachable TCP connect costs the server nothing (no socket, no session, no crypto), so those are
// retried every 0.5-2 s for as long as they last. A server that answers and says it is overloaded
// (BadTooManySessions, BadTcpServerTooBusy, ...) gets the configured exponential backoff
// (reconnect.initialDelayMs doubling up to reconnect.maxDelayMs): a fleet of gateways hammering a
// busy server would keep it busy. Operator problems (identity, certificate, credentials) keep the
// exponential backoff they always had; anything else that is not known to be free is treated the same
// way, so only what is known to be harmless is retried fast. Every delay is jittered so that a fleet
// restarted with its plant does not reconnect in step.
import type { ConnectFailureKind } from './session';

/** How the last attempt ended, as far as the retry pace is concerned. */
export type RetryClass =
  /** Nothing listened: refused, unreachable, or the TCP connect timed out. Free for the server. */
  | 'unreachable'
  /** The server answered that it is overloaded or halted. */
  | 'overload'
  /** The server refused our identity or we refused its certificate, or the secret is unusable. */
  | 'operator'
  /** Anything else, including a connection that was lost after it was up. */
  | 'other';

/** The longest pause between two attempts while the endpoint refuses TCP, ms. */
export const UNREACHABLE_MAX_DELAY_MS = 2_000;
/** The shortest, as a fraction of the longest: never a tight loop, even with an unlucky draw. */
const UNREACHABLE_MIN_FRACTION = 0.25;

// Socket errors that mean no server process accepted the connection (node-opcua puts them in its
// message: "... Err = (connect ECONNREFUSED 127.0.0.1:4840)"). ENOTFOUND is not here: a name that
// does not resolve is a configuration problem more often than an outage, and each try asks the DNS.
const UNREACHABLE = /\b(ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|EHOSTDOWN|ENETDOWN|ETIMEDOUT|EAI_AGAIN)\b/;
// Status codes (OPC UA Part 4 / Part 6) with which a server that is up says "not now".
const OVERLOAD =
  /\b(BadTooManySessions|BadServerHalted|BadResourceUnavailable|BadTcpServerTooBusy|BadTooManySubscriptions|BadTooManyOperations|BadMaxConnectionsReached|BadTooManyPublishRequests)\b/;

export interface AttemptEnd {
  /** ConnectFailure.kind of a failed connect; 'credentials' for an unreadable secret; 'lost' for a connection that was up. */
  kind: ConnectFailureKind | 'credentials' | 'lost' | 'subscribe';
  /** The error message (or the reason the connection ended); may hold a socket error code or a status name. */
  message: string;
  /** A Node socket error code (err.code) when there was one, e.g. 'ECONNREFUSED'. */
  code?: string | undefined;
  /** True when our own TCP connect deadline fired before the socket connected. */
  tcpConnectTimedOut?: boolean;
}

/** Classifies how an attempt ended. Overload wins over unreachable: a server that spoke is up. */
export function classifyAttemptEnd(e: AttemptEnd): RetryClass {
  // Every ConnectFailure kind but 'other' names something an operator must fix (identity,
  // certificate, and whatever kind is added later), and keeps the exponential backoff.
  if (e.kind !== 'other' && e.kind !== 'lost' && e.kind !== 'subscribe') return 'operator';
  if (OVERLOAD.test(e.message)) return 'overload';
  if (e.kind === 'lost') return 'other';
  if (e.tcpConnectTimedOut || (e.code !== undefined && UNREACHABLE.test(e.code)) || UNREACHABLE.test(e.message)) return 'unreachable';
  return 'other';
}

/**
 * The pause before the next attempt of an unreachable endpoint, ms: uniform in
 * [0.25, 1) x min(UNREACHABLE_MAX_DELAY_MS, maxDelayMs), less what the failed attempt itself took
 * (a connect that timed out after 3 s has waited enough), never below 0.
 */
export function unreachableDelayMs(random: number, attemptMs: number, maxDelayMs: number): number {
  const cap = Math.min(UNREACHABLE_MAX_DELAY_MS, maxDelayMs);
  const u = random >= 0 && random < 1 ? random : 0;
  const target = cap * (UNREACHABLE_MIN_FRACTION + (1 - UNREACHABLE_MIN_FRACTION) * u);
  const elapsed = Number.isFinite(attemptMs) && attemptMs > 0 ? attemptMs : 0;
  return Math.max(0, Math.floor(target - elapsed));
}
