// SpoolGuard: the intake's way into the spool while its disk may be full, read-only or missing.
//
// A disk an operator must fix is never a reason to stop: the sink stays RUNNING, stores nothing it
// cannot fsync (so it acknowledges nothing: the producer keeps every record and re-sends it), and
// keeps delivering what the spool already holds. The guard turns each failure into one problem per
// episode (`spool:<errno>`, for the metrics' `problem` and one ERRORED through errored-report.ts),
// retries with capped backoff (an append is not even tried before the next attempt is due, so a
// full disk costs no I/O and no log line per put), and ends the episode at the first success:
//   - a spool that cannot be opened (at start, or after a failed open) is retried on a timer until
//     it opens; its recovered records then go to Firehose;
//   - a write or fsync that fails in an open spool is retried with the next put message that comes
//     once the backoff has passed (the producer re-sends what was not acknowledged).
import type { Backoff } from '../../../shared/backoff';
import type { OperatorProblem } from '../../../shared/edge/errored-report';
import type { HandoffRecord } from '../../../shared/handoff/protocol';
import { SpoolWriteError, errnoCode } from './errors';
import type { Logger } from './ports';
import type { AppendOutcome, FirehoseSpool } from './spool';

export interface SpoolGuardOptions {
  spool: Pick<FirehoseSpool, 'dir' | 'isOpen' | 'recover' | 'append' | 'recovery' | 'stats'>;
  backoff: Backoff;
  logger: Logger;
  now: () => number;
  /** Told the problem at the start of an episode, and undefined at its end (the entry point reports ERRORED / recovered). */
  onProblem?: (problem: OperatorProblem | undefined) => void;
  /** Runs `fn` after `ms`; returns a cancel function (setTimeout unless a test gives its own). */
  setTimer?: (fn: () => void, ms: number) => () => void;
}

interface Episode {
  kind: string;
  code: string;
  /** When it started (unix ms). */
  since: number;
  /** No attempt before this (unix ms). */
  nextTryAt: number;
  /** Put messages refused in this episode. */
  refused: number;
}

/** What an operator does about each errno (the spool folder named). */
export function spoolFix(code: string, dir: string): string {
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return `free space on the disk that holds ${dir} (the spool needs room for what Firehose has not yet accepted; spool.maxBytes should fit the free space)`;
    case 'EROFS':
      return `the filesystem of ${dir} is read-only: remount it read-write (a kernel remounts read-only after disk errors: check the disk first)`;
    case 'EACCES':
    case 'EPERM':
      return `let the component's user (the recipe's RunWith, ggc_user by default) create and write ${dir}`;
    case 'ENOENT':
    case 'ENOTDIR':
    case 'EEXIST':
      return `${dir} must be a folder (or a path that can be created as one) in the component's work folder; remove whatever is in its way`;
    default:
      return `check the disk that holds ${dir}: ${code}`;
  }
}

export class SpoolGuard {
  private episode: Episode | undefined;
  private cancelTimer: (() => void) | undefined;
  private stopped = false;
  private readonly setTimer: (fn: () => void, ms: number) => () => void;

  constructor(private readonly o: SpoolGuardOptions) {
    this.setTimer =
      o.setTimer ??
      ((fn, ms) => {
        const t = setTimeout(fn, ms);
        return () => clearTimeout(t);
      });
  }

  /** What keeps the spool from storing records (`spool:ENOSPC`...), or null. */
  get problem(): string | null {
    return this.episode?.kind ?? null;
  }

  /** Opens the spool if it can; if not, the sink runs without one and tries again on a timer. Returns whether it is open. */
  start(): boolean {
    return this.tryOpen();
  }

  /** No more timers (a stop). */
  stop(): void {
    this.stopped = true;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
  }

  /** The intake's append: throws a SpoolWriteError (nothing stored, nothing to acknowledge) while the spool cannot store. */
  append(records: readonly HandoffRecord[], nowMs: number): AppendOutcome {
    const ep = this.episode;
    if (ep && nowMs < ep.nextTryAt) {
      ep.refused++;
      throw new SpoolWriteError(`the spool in ${this.o.spool.dir} cannot store records (${ep.kind} since ${new Date(ep.since).toISOString()}); next attempt in ${ep.nextTryAt - nowMs} ms`, { code: ep.code });
    }
    if (!this.o.spool.isOpen && !this.tryOpen()) {
      this.episode!.refused++;
      throw new SpoolWriteError(`the spool in ${this.o.spool.dir} is not open (${this.episode!.kind})`, { code: this.episode!.code });
    }
    let out: AppendOutcome;
    try {
      out = this.o.spool.append(records, nowMs);
    } catch (e) {
      this.failed(e, 'write');
      this.episode!.refused++;
      throw e instanceof SpoolWriteError ? e : new SpoolWriteError(String(e), { cause: e });
    }
    this.succeeded('write');
    return out;
  }

  private tryOpen(): boolean {
    if (this.o.spool.isOpen) return true;
    try {
      this.o.spool.recover();
    } catch (e) {
      this.failed(e, 'open');
      this.scheduleOpen();
      return false;
    }
    const stats = this.o.spool.stats(this.o.now());
    this.o.logger.info({ dir: this.o.spool.dir, ...this.o.spool.recovery, bytes: stats.bytes, oldestAgeMs: stats.oldestAgeMs }, 'spool opened; records not yet delivered are sent first');
    this.succeeded('open');
    return true;
  }

  private scheduleOpen(): void {
    if (this.stopped || this.cancelTimer) return;
    const waitMs = Math.max(0, this.episode!.nextTryAt - this.o.now());
    this.cancelTimer = this.setTimer(() => {
      this.cancelTimer = undefined;
      if (!this.stopped) this.tryOpen();
    }, waitMs);
  }

  private failed(e: unknown, what: 'open' | 'write'): void {
    const code = errnoCode(e);
    const kind = `spool:${code}`;
    const nowMs = this.o.now();
    const waitMs = this.o.backoff.next();
    const ep = this.episode;
    if (ep && ep.kind === kind) {
      ep.nextTryAt = nowMs + waitMs;
      this.o.logger.debug({ problem: kind, error: String(e), retryInMs: waitMs }, `the spool still cannot ${what}`);
      return;
    }
    this.episode = { kind, code, since: ep?.since ?? nowMs, nextTryAt: nowMs + waitMs, refused: ep?.refused ?? 0 };
    const fix = spoolFix(code, this.o.spool.dir);
    this.o.logger.error(
      { problem: kind, dir: this.o.spool.dir, error: e instanceof Error ? e.message : String(e), fix, retryInMs: waitMs },
      what === 'open'
        ? 'cannot open the spool: the sink stays RUNNING without one and accepts no records (the producer keeps them) until it can'
        : 'cannot store records in the spool: the sink stays RUNNING, acknowledges nothing it cannot store (the producer keeps it) and retries',
    );
    this.o.onProblem?.({ kind, fix });
  }

  private succeeded(what: 'open' | 'write'): void {
    this.o.backoff.reset();
    const ep = this.episode;
    if (!ep) return;
    this.episode = undefined;
    this.o.logger.info({ problem: ep.kind, forMs: this.o.now() - ep.since, refusedPuts: ep.refused, after: what }, 'the spool stores records again');
    this.o.onProblem?.(undefined);
  }
}
