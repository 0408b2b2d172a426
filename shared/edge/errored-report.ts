// When a conduit component tells the nucleus it is ERRORED, and when it deliberately does not.
//
// Some failures no retry can fix: the OPC UA server refuses the user from a freshly read secret,
// its certificate is not trusted, the Firehose stream does not exist or the role may not write it.
// Someone must act, and the Greengrass console should show it, so the component reports ERRORED
// through UpdateState. But the nucleus answers ERRORED by restarting the component, and marks it
// BROKEN at the third ERRORED of its RUNNING state unless an hour (errorResetTime) passed since the
// previous one; a BROKEN component is not restarted until the next deployment. A password rotated
// half an hour late would then need a redeploy. So ERRORED is reported at most once per
// ERRORED_REPORT_MIN_GAP_MS (a little more than the nucleus's hour, so every report starts a fresh
// error count), and in between the component stays RUNNING, keeps retrying with backoff and logs
// each failure at ERROR: it recovers by itself as soon as the cause is fixed.
//
// The time of the last report must survive the restart that the report itself causes, so it is kept
// in a small file in the component's work folder, written (and fsync'd) before the report is sent.
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from './ports';

/** A failure only an operator can fix. `kind` names it for logs and metrics; `fix` says what to do (never a secret). */
export interface OperatorProblem {
  kind: string;
  fix: string;
}

/** The nucleus's default errorResetTime (1 h) plus a margin for clock steps and slow restarts. */
export const ERRORED_REPORT_MIN_GAP_MS = 65 * 60_000;

/** File name in the work folder. */
export const ERRORED_REPORT_FILE = 'errored-report.json';

export interface ErroredReportRecord {
  /** Date.now() of the last ERRORED this component reported. */
  lastReportAtMs: number;
  kind: string;
}

/** Pure: may a new ERRORED be reported now, given the last one? */
export function mayReportErrored(last: ErroredReportRecord | undefined, nowMs: number, minGapMs = ERRORED_REPORT_MIN_GAP_MS): boolean {
  if (!last) return true;
  // A last report "in the future" means the clock was stepped back: trust the gap, not the sign.
  return Math.abs(nowMs - last.lastReportAtMs) >= minGapMs;
}

export interface ErroredReporterOptions {
  /** Absolute path of the record file (normally `<work>/errored-report.json`). */
  file: string;
  /** Sends UpdateState(ERRORED) to the nucleus. */
  report: () => Promise<void>;
  logger: Logger;
  now?: () => number;
  minGapMs?: number;
}

export class ErroredReporter {
  private readonly now: () => number;
  private readonly minGapMs: number;
  /** The problem of this process's current failure episode, once handled. */
  private episode: string | undefined;
  private busy: Promise<void> = Promise.resolve();
  /** ERRORED reports sent by this process (for tests and the log). */
  reported = 0;

  constructor(private readonly o: ErroredReporterOptions) {
    this.now = o.now ?? Date.now;
    this.minGapMs = o.minGapMs ?? ERRORED_REPORT_MIN_GAP_MS;
  }

  /**
   * A problem an operator must fix. Reports ERRORED once per episode if the last
   * report is old enough; otherwise logs why the component stays RUNNING. Never throws.
   */
  problem(p: OperatorProblem): Promise<void> {
    this.busy = this.busy.then(() => this.handle(p)).catch((err: unknown) => {
      this.o.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not report the ERRORED state');
    });
    return this.busy;
  }

  /** What failed works again: the episode is over (logged once; a no-op outside an episode). */
  recovered(): void {
    if (!this.episode) return;
    this.o.logger.info({ problem: this.episode }, 'recovered: the problem that needed an operator is fixed');
    this.episode = undefined;
  }

  private async handle(p: OperatorProblem): Promise<void> {
    if (this.episode === p.kind) return;
    this.episode = p.kind;
    const nowMs = this.now();
    const last = await this.read();
    if (!mayReportErrored(last, nowMs, this.minGapMs)) {
      const next = new Date(last!.lastReportAtMs + this.minGapMs).toISOString();
      this.o.logger.error(
        { problem: p.kind, fix: p.fix, lastErroredAt: new Date(last!.lastReportAtMs).toISOString(), nextErroredNotBefore: next },
        'the component needs an operator; it stays RUNNING and keeps retrying, because another ERRORED this soon could make the nucleus mark it BROKEN (then only a deployment restarts it)',
      );
      return;
    }
    await this.write({ lastReportAtMs: nowMs, kind: p.kind });
    this.o.logger.error(
      { problem: p.kind, fix: p.fix },
      'the component needs an operator: reporting ERRORED (the nucleus restarts it; it keeps retrying and recovers by itself once this is fixed)',
    );
    this.reported++;
    await this.o.report();
  }

  private async read(): Promise<ErroredReportRecord | undefined> {
    let text: string;
    try {
      text = await readFile(this.o.file, 'utf8');
    } catch {
      return undefined;
    }
    try {
      const r = JSON.parse(text) as Partial<ErroredReportRecord>;
      return typeof r.lastReportAtMs === 'number' && Number.isFinite(r.lastReportAtMs) ? (r as ErroredReportRecord) : undefined;
    } catch {
      // A torn or foreign file: reporting once too often is the safe side of losing it.
      return undefined;
    }
  }

  /** Written to a temporary file, fsync'd, renamed: a crash leaves the old record or the new one. */
  private async write(r: ErroredReportRecord): Promise<void> {
    await mkdir(dirname(this.o.file), { recursive: true });
    const tmp = `${this.o.file}.tmp`;
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(`${JSON.stringify(r)}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.o.file);
  }
}
