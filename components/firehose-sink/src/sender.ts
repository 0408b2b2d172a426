// FirehoseSender: moves spooled records into Firehose, one PutRecordBatch call at a time. Each call is
// packed from the oldest waiting records (packer.ts); what Firehose accepted is marked done in the
// spool, and only the records of the failed entries are held and sent again, by index: the others are
// never repeated. Whole-call failures keep the call's records and retry them with capped exponential
// backoff and full jitter; errors only a configuration change can fix retry at the longest backoff.
//
// The sender never reads a timer: `step()` does one thing and says how long to wait before the next
// (runtime.ts owns the timers), so every retry and linger decision is testable with exact numbers.
import type { Backoff } from '../../../shared/backoff';
import { SendError } from './errors';
import { CallPacker, MAX_CALL_BYTES, MAX_RECORDS_PER_CALL, packLines, recordBodies } from './packer';
import type { Logger, RecordBatchPutter } from './ports';
import type { FirehoseSpool, SpoolEntry } from './spool';

const NEWLINE = Buffer.from('\n');

export type SenderStep =
  /** A call was answered and everything in it accepted: go on at once. */
  | { kind: 'sent' }
  /** Nothing waits: sleep until the spool takes new records. */
  | { kind: 'idle' }
  /** Records wait to fill records; send them after waitMs at the latest (sooner if more arrive). */
  | { kind: 'linger'; waitMs: number }
  /** Something failed: the held records go again after waitMs, whatever arrives meanwhile. */
  | { kind: 'backoff'; waitMs: number };

export interface SenderOptions {
  spool: Pick<FirehoseSpool, 'unclaimed' | 'unclaimedBytes' | 'readData' | 'claim' | 'release' | 'markDone'>;
  client: RecordBatchPutter;
  backoff: Backoff;
  logger: Logger;
  maxRecordBytes: number;
  lingerMs: number;
  maxBackoffMs: number;
  now: () => number;
  /**
   * Told of a failure only an operator can fix (a stream that does not exist, a role that may not
   * write it), and with undefined after every call Firehose answered: the entry point reports
   * ERRORED for the first and "recovered" for the second (shared/edge/errored-report.ts).
   */
  onProblem?: (problem: { kind: string; fix: string } | undefined) => void;
}

export interface SenderCounters {
  /** Calls Firehose answered (HTTP 200, including those with failed records). */
  calls: number;
  /** Spooled records (lines) Firehose accepted. */
  records: number;
  /** Firehose records accepted (several lines each) and their bytes. */
  firehoseRecords: number;
  bytes: number;
  /** Calls that re-sent held records, and the lines they carried. */
  retriedCalls: number;
  retriedRecords: number;
  /** Calls that failed as a whole, by reason (AWS error name, NetworkError, Timeout). */
  failedCalls: Record<string, number>;
  /** Firehose records refused inside answered calls, by error code. */
  failedRecords: Record<string, number>;
  /** Records accepted by Firehose after a full spool had already evicted them (they were in flight). */
  deliveredAfterEviction: number;
}

/** A call's worth of records: entries in spool order and their lines (data + newline). */
interface Batch {
  entries: SpoolEntry[];
  lines: Buffer[];
}

export class FirehoseSender {
  private held: Batch | undefined;
  private currentProblem: string | null = null;
  private controller: AbortController | undefined;
  /** Lines in the PutRecordBatch call on its way (0 between calls). */
  private inFlightLines = 0;
  private readonly c: SenderCounters = {
    calls: 0,
    records: 0,
    firehoseRecords: 0,
    bytes: 0,
    retriedCalls: 0,
    retriedRecords: 0,
    failedCalls: {},
    failedRecords: {},
    deliveredAfterEviction: 0,
  };

  constructor(private readonly o: SenderOptions) {}

  /** Sends one call if one is due; `flush` sends a partial call without waiting for the linger. */
  async step(flush = false): Promise<SenderStep> {
    if (this.held) {
      const batch = this.held;
      this.held = undefined;
      return this.send(batch, true);
    }
    const waiting = this.o.spool.unclaimedBytes;
    if (waiting === 0) return { kind: 'idle' };
    const oldest = this.o.spool.unclaimed().next();
    if (oldest.done) return { kind: 'idle' };
    // A full call's worth is waiting: lingering would not make the records any fuller.
    const full = waiting >= MAX_CALL_BYTES || waiting >= this.o.maxRecordBytes * MAX_RECORDS_PER_CALL;
    const age = this.o.now() - oldest.value.at;
    if (!full && !flush && age < this.o.lingerMs) return { kind: 'linger', waitMs: this.o.lingerMs - age };
    return this.send(this.take(), false);
  }

  /** What an operator must fix before delivery resumes (`firehose:<error>`), or null. */
  get problem(): string | null {
    return this.currentProblem;
  }

  /** Whether records are held for a retry (they are in the spool, claimed by the sender). */
  get holding(): number {
    return this.held?.entries.length ?? 0;
  }

  /** Lines of the call on its way to Firehose: what a stop abandons if it cannot wait for the answer. */
  get inFlight(): number {
    return this.inFlightLines;
  }

  /** Gives up on the call in flight (shutdown, or a sender being replaced): its records stay in the spool. */
  abort(): void {
    this.controller?.abort();
  }

  /**
   * Gives the records held for a retry back to the spool, where whatever sends next takes them first
   * (they are the oldest). Only between steps: a sender being replaced calls it once its last step ended.
   */
  release(): void {
    if (!this.held) return;
    this.o.spool.release(this.held.entries);
    this.held = undefined;
  }

  /**
   * Adds the totals of the sender this one replaces (a live configuration update), taken once that
   * one's last step ended: metrics count per run, not per sender.
   */
  continueFrom(previous: FirehoseSender): void {
    const p = previous.counters();
    const c = this.c;
    c.calls += p.calls;
    c.records += p.records;
    c.firehoseRecords += p.firehoseRecords;
    c.bytes += p.bytes;
    c.retriedCalls += p.retriedCalls;
    c.retriedRecords += p.retriedRecords;
    c.deliveredAfterEviction += p.deliveredAfterEviction;
    for (const [k, n] of Object.entries(p.failedCalls)) c.failedCalls[k] = (c.failedCalls[k] ?? 0) + n;
    for (const [k, n] of Object.entries(p.failedRecords)) c.failedRecords[k] = (c.failedRecords[k] ?? 0) + n;
  }

  counters(): SenderCounters {
    return { ...this.c, failedCalls: { ...this.c.failedCalls }, failedRecords: { ...this.c.failedRecords } };
  }

  /** The oldest waiting records that fit one call, read back from the spool and claimed. */
  private take(): Batch {
    const packer = new CallPacker(this.o.maxRecordBytes);
    const entries: SpoolEntry[] = [];
    for (const e of this.o.spool.unclaimed()) {
      if (!packer.add(e.dataBytes + 1)) break;
      entries.push(e);
    }
    // Read before claiming: a read error leaves the records waiting rather than held by nobody.
    const lines = entries.map((e) => Buffer.concat([this.o.spool.readData(e), NEWLINE], e.dataBytes + 1));
    this.o.spool.claim(entries);
    return { entries, lines };
  }

  private async send(batch: Batch, retry: boolean): Promise<SenderStep> {
    // A full spool may have evicted held records meanwhile (counted there): they are not sent.
    const keep = batch.entries.map((e) => e.state !== 'gone');
    const entries = batch.entries.filter((_, i) => keep[i]);
    const lines = batch.lines.filter((_, i) => keep[i]);
    if (entries.length === 0) return { kind: 'sent' };
    const packed = packLines(
      lines.map((l) => l.length),
      this.o.maxRecordBytes,
    );
    if (packed.lines !== lines.length) throw new Error(`internal: a held batch of ${lines.length} lines packs into only ${packed.lines}`);
    const bodies = recordBodies(packed.records, lines);
    if (retry) {
      this.c.retriedCalls++;
      this.c.retriedRecords += entries.length;
    }
    this.controller = new AbortController();
    this.inFlightLines = entries.length;
    let failed: Map<number, string>;
    try {
      const result = await this.o.client.putRecordBatch(bodies, { abortSignal: this.controller.signal });
      failed = new Map(result.failed.filter((f) => f.index >= 0 && f.index < bodies.length).map((f) => [f.index, f.code]));
    } catch (e) {
      return this.callFailed({ entries, lines }, e);
    } finally {
      this.controller = undefined;
      this.inFlightLines = 0;
    }

    this.c.calls++;
    this.currentProblem = null;
    this.o.onProblem?.(undefined);
    const accepted: SpoolEntry[] = [];
    const again: Batch = { entries: [], lines: [] };
    packed.records.forEach((r, index) => {
      const code = failed.get(index);
      const span = entries.slice(r.first, r.first + r.count);
      if (code === undefined) {
        accepted.push(...span);
        this.c.firehoseRecords++;
        this.c.bytes += r.bytes;
        return;
      }
      this.c.failedRecords[code] = (this.c.failedRecords[code] ?? 0) + 1;
      again.entries.push(...span);
      again.lines.push(...lines.slice(r.first, r.first + r.count));
    });
    this.c.records += accepted.length;
    const { notLive } = this.o.spool.markDone(accepted);
    if (notLive > 0) {
      this.c.deliveredAfterEviction += notLive;
      this.o.logger.warn({ records: notLive }, 'Firehose accepted records that a full spool had evicted while they were in flight: they arrived after all');
    }
    if (again.entries.length === 0) {
      this.o.backoff.reset();
      return { kind: 'sent' };
    }
    this.held = again;
    const waitMs = this.o.backoff.next();
    const codes = [...new Set(failed.values())];
    this.o.logger.warn(
      { failedRecords: failed.size, ofRecords: packed.records.length, lines: again.entries.length, codes, retryInMs: waitMs },
      'Firehose refused some records of a call; retrying only those',
    );
    return { kind: 'backoff', waitMs };
  }

  private callFailed(batch: Batch, e: unknown): SenderStep {
    const err = e instanceof SendError ? e : new SendError('UnexpectedError', e instanceof Error ? e.message : String(e), true, undefined, { cause: e });
    this.c.failedCalls[err.reason] = (this.c.failedCalls[err.reason] ?? 0) + 1;
    this.held = batch;
    const fields = { reason: err.reason, error: err.message, records: batch.entries.length };
    if (err.retryable) {
      const waitMs = this.o.backoff.next();
      this.o.logger.warn({ ...fields, retryInMs: waitMs, attempt: this.o.backoff.attempts }, 'PutRecordBatch failed; the records stay in the spool and are retried');
      return { kind: 'backoff', waitMs };
    }
    const waitMs = this.o.maxBackoffMs;
    // Delivery has stopped until someone acts: ERROR, with what to do.
    this.o.logger.error({ ...fields, fix: err.fix, retryInMs: waitMs }, 'Firehose refused the call in a way retrying cannot fix; the records stay in the spool and delivery is stopped until the cause is fixed');
    this.currentProblem = `firehose:${err.reason}`;
    this.o.onProblem?.({ kind: this.currentProblem, fix: err.fix ?? `see the error: ${err.message}` });
    return { kind: 'backoff', waitMs };
  }
}
