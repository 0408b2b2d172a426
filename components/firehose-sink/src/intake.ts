// SinkIntake: the producer side of the hand-off (shared/handoff/protocol.ts). Each put message is
// decoded, each record checked, the good ones appended to the spool with one fsync, and then ONE
// ack goes back naming every stored id (duplicates included: they are safe too) and every rejected
// one with its reason. Nothing is acknowledged before it is durable: on a spool write error the
// records are simply not acknowledged, and the producer, which keeps them, sends them again (the
// spool guard, spool-guard.ts, reports the disk problem and decides when to try the disk again).
import { decodePut, encodeAck, recordProblem, type HandoffRecord } from '../../../shared/handoff/protocol';
import { SpoolWriteError, errnoCode } from './errors';
import type { LocalPubSub, Logger, PublishFailure } from './ports';
import type { AppendOutcome } from './spool';

export interface IntakeCounters {
  /** Put messages received (well-formed or not). */
  messages: number;
  /** Messages that were not a put message at all (not JSON, wrong version...); nothing in them is acknowledged. */
  malformed: number;
  /** Records in well-formed put messages. */
  received: number;
  /** Records refused for good (bad id, not one line, too large): reported to the producer and logged at ERROR. */
  rejected: number;
  /** Records not acknowledged because the spool could not write them (the producer re-sends). */
  notStored: number;
  /** Acks the nucleus did not take (the producer re-sends, and gets the ack then). */
  ackFailures: number;
}

export interface IntakeOptions {
  spool: { append(records: readonly HandoffRecord[], nowMs: number): AppendOutcome };
  pubsub: Pick<LocalPubSub, 'publishToTopic'>;
  ackTopic: string;
  logger: Logger;
  now: () => number;
}

export class SinkIntake {
  private accepting = true;
  private readonly c: IntakeCounters = { messages: 0, malformed: 0, received: 0, rejected: 0, notStored: 0, ackFailures: 0 };
  /** Acks being published, so a stop can wait for them. */
  private readonly pendingAcks = new Set<Promise<void>>();
  /** From the options; a live configuration update may move it (setAckTopic). */
  private ackTopic: string;
  /** The errno of the last put the spool could not store, until one is stored again. */
  private failingCode: string | undefined;

  constructor(private readonly o: IntakeOptions) {
    this.ackTopic = o.ackTopic;
  }

  /** Acks from now on go to `topic`; those already on their way keep theirs. */
  setAckTopic(topic: string): void {
    this.ackTopic = topic;
  }

  /** One put message from the local topic. Never throws: a log call and counters are all a bad message gets. */
  onMessage(payload: Buffer): void {
    if (!this.accepting) return; // stopping: not acknowledged, so the producer sends it again to the next run
    this.c.messages++;
    const decoded = decodePut(payload);
    if (!decoded.ok) {
      this.c.malformed++;
      this.o.logger.warn({ error: decoded.error, bytes: payload.length }, 'ignored a malformed put message (nothing in it is acknowledged)');
      return;
    }
    const { producer, records } = decoded.message;
    this.c.received += records.length;
    const good: HandoffRecord[] = [];
    const rejected: { id: string; reason: string }[] = [];
    for (const r of records) {
      const problem = recordProblem(r);
      if (problem === undefined) good.push(r);
      else rejected.push({ id: typeof r.id === 'string' ? r.id.slice(0, 200) : String(r.id), reason: problem });
    }
    let stored: string[] = [];
    if (good.length > 0) {
      try {
        const out = this.o.spool.append(good, this.o.now());
        stored = out.stored;
        rejected.push(...out.rejected);
        this.failingCode = undefined;
      } catch (e) {
        this.c.notStored += good.length;
        const reason = e instanceof SpoolWriteError ? e.message : String(e);
        const code = errnoCode(e);
        // Once per run of failures with the same cause: a full disk must not cost an ERROR line per put.
        const log = code === this.failingCode ? this.o.logger.debug : this.o.logger.error;
        this.failingCode = code;
        log.call(
          this.o.logger,
          { producer, records: good.length, reason, fix: "free disk space in the component's work folder, or check the disk: nothing can be stored until writes succeed" },
          'cannot store records in the spool; they are not acknowledged and the producer keeps them',
        );
      }
    }
    if (rejected.length > 0) {
      this.c.rejected += rejected.length;
      // The producer drops what is rejected: for the cloud these records are lost.
      this.o.logger.error({ producer, rejected }, 'rejected records (data lost): the producer sent records the sink can never deliver');
    }
    if (stored.length === 0 && rejected.length === 0) return;
    this.publishAck(producer, stored, rejected);
  }

  private publishAck(producer: string, stored: string[], rejected: { id: string; reason: string }[]): void {
    const p = this.o.pubsub
      .publishToTopic(this.ackTopic, encodeAck({ producer, stored, rejected }))
      .catch((e: PublishFailure) => {
        this.c.ackFailures++;
        this.o.logger.warn({ producer, records: stored.length, reason: e?.reason ?? String(e) }, 'cannot publish an ack; the producer re-sends and is acknowledged then');
      })
      .finally(() => this.pendingAcks.delete(p));
    this.pendingAcks.add(p);
  }

  /** Acks being published now (a stop that cannot wait for them counts them). */
  get pendingAckCount(): number {
    return this.pendingAcks.size;
  }

  /** Stops taking put messages; resolves once the acks already on their way are out (or failed). */
  async stop(): Promise<void> {
    this.accepting = false;
    await Promise.all([...this.pendingAcks]);
  }

  counters(): IntakeCounters {
    return { ...this.c };
  }
}
