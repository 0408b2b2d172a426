// The collector's side of the hand-off to conduit.FirehoseSink (protocol: shared/handoff/protocol.ts).
// Local pub/sub is not durable, so every record stays here until the sink acknowledges it (the sink
// does so only once the record is fsync'd in its spool) and is sent again while it is not: a sink
// restart or a lost message costs a re-send, never the capture. The sink drops duplicates by id.
// Memory is bounded: past `maxPendingBytes` the oldest records are dropped, counted and logged at ERROR.
// Every setting can change live (configure): records waiting go to the new put topic, and the ack
// subscription moves once the nucleus accepted the new one.
import {
  MAX_PUT_MESSAGE_BYTES,
  decodeAck,
  encodePut,
  type HandoffRecord,
} from '../../../shared/handoff/protocol';
import type { LocalSubscription } from '../../../shared/edge/ports';
import type { LocalPubSub, Logger, PublishFailure } from './ports';

/** How often the hand-off looks for records to (re-)send, ms. */
const SEND_CHECK_MS = 500;
/** Re-sends back off up to this multiple of ackTimeoutMs while the sink stays silent. */
const MAX_RESEND_FACTOR = 6;

/** What a live configuration update may change (the collector's burst.sinkTopic, sinkAckTopic, ackTimeoutMs, maxPendingBytes). */
export interface HandoffSettings {
  putTopic: string;
  ackTopic: string;
  ackTimeoutMs: number;
  maxPendingBytes: number;
}

export interface CaptureHandoffOptions extends HandoffSettings {
  pubsub: LocalPubSub;
  logger: Logger;
  /** This component's name: the sink answers with it, and acks for other producers are ignored. */
  producer: string;
  now?: () => number;
}

export interface HandoffCounters {
  /** Records waiting for the sink's acknowledgement, and their bytes. */
  pending: number;
  pendingBytes: number;
  submitted: number;
  /** Put messages sent, and records sent again after an ack did not come. */
  messagesSent: number;
  resent: number;
  acked: number;
  /** Records the sink refused for good (logged at ERROR: lost). */
  rejected: number;
  /** Records dropped unacknowledged because maxPendingBytes was reached (logged at ERROR: lost). */
  evicted: number;
  sendFailures: number;
  /** The nucleus refused the subscription to the sink's acks (accessControl): no capture can be handed over. */
  ackSubscriptionRefused: boolean;
}

interface Pending {
  record: HandoffRecord;
  bytes: number;
  /** Time of the last send; NaN until first sent. */
  sentAtMs: number;
  attempts: number;
}

export class CaptureHandoff {
  /** Insertion order is age order: eviction takes the first entries. */
  private readonly pending = new Map<string, Pending>();
  private pendingBytes = 0;
  private readonly c: HandoffCounters = { pending: 0, pendingBytes: 0, submitted: 0, messagesSent: 0, resent: 0, acked: 0, rejected: 0, evicted: 0, sendFailures: 0, ackSubscriptionRefused: false };
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> | undefined;
  private readonly now: () => number;
  private started = false;

  private settings: HandoffSettings;
  private acks: LocalSubscription | undefined;
  /** Told the ids of records that nothing waits for any more (stored, refused or evicted). */
  private settledListener: ((ids: string[]) => void) | undefined;

  constructor(private readonly o: CaptureHandoffOptions) {
    this.now = o.now ?? Date.now;
    this.settings = { putTopic: o.putTopic, ackTopic: o.ackTopic, ackTimeoutMs: o.ackTimeoutMs, maxPendingBytes: o.maxPendingBytes };
  }

  /** One listener (the runtime's alarm ledger): the ids of records that nothing waits for any more. */
  onSettled(listener: (ids: string[]) => void): void {
    this.settledListener = listener;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.acks = this.subscribeAcks(this.settings.ackTopic);
    this.timer = setInterval(() => this.kick(), SEND_CHECK_MS);
  }

  /**
   * A live configuration update. Waiting records go to the new put topic at their next send; a lower
   * maxPendingBytes takes effect at the next capture (nothing is dropped by the update itself). A new
   * ack topic is subscribed first and the old subscription closed once the nucleus accepted it; if
   * it refuses, the old one stays (acks the sink sends on the new topic are then missed, and the
   * records re-sent until the accessControl is fixed).
   */
  async configure(next: HandoffSettings): Promise<void> {
    const ackMoved = next.ackTopic !== this.settings.ackTopic;
    this.settings = { ...next };
    if (!ackMoved || !this.started) return;
    const fresh = this.subscribeAcks(next.ackTopic);
    if (!(await fresh.activated)) {
      await fresh.close();
      return;
    }
    const old = this.acks;
    this.acks = fresh;
    await old?.close();
  }

  /** Without acks every capture is re-sent until it is dropped: a refusal is said at once, not at the first alarm. */
  private subscribeAcks(topic: string): LocalSubscription {
    const sub = this.o.pubsub.subscribeToTopic(topic, (payload) => this.onAck(payload));
    void sub.activated.then((ok) => {
      if (!this.started) return;
      this.c.ackSubscriptionRefused = !ok;
      if (ok) return;
      this.o.logger.error(
        {
          ackTopic: topic,
          fix: `allow aws.greengrass#SubscribeToTopic on ${topic} and aws.greengrass#PublishToTopic on ${this.settings.putTopic} in the collector's accessControl (aws.greengrass.ipc.pubsub), then deploy again`,
        },
        'captures cannot be handed over to conduit.FirehoseSink: the subscription to its acknowledgements was refused',
      );
    });
    return sub;
  }

  /**
   * Takes records (e.g. the parts of one capture); they are sent at the next check, or now. Starts
   * the hand-off if the collector has not already (it does once an alarm is configured), so a
   * collector without alarms never touches the sink's topics (an ack that beats the subscription
   * only costs a re-send).
   */
  submit(records: readonly HandoffRecord[]): void {
    this.start();
    for (const record of records) {
      if (this.pending.has(record.id)) continue;
      const bytes = Buffer.byteLength(record.data) + record.id.length;
      this.pending.set(record.id, { record, bytes, sentAtMs: NaN, attempts: 0 });
      this.pendingBytes += bytes;
      this.c.submitted++;
    }
    this.evictOverLimit();
    this.kick();
  }

  private evictOverLimit(): void {
    const evicted: string[] = [];
    for (const [id, p] of this.pending) {
      if (this.pendingBytes <= this.settings.maxPendingBytes) break;
      this.forget(id, p);
      evicted.push(id);
      this.c.evicted++;
      this.o.logger.error(
        { recordId: id, bytes: p.bytes, attempts: p.attempts, maxPendingBytes: this.settings.maxPendingBytes },
        'capture record dropped before the sink acknowledged it (data lost): conduit.FirehoseSink has not answered; check that it is deployed and RUNNING',
      );
    }
    if (evicted.length > 0) this.settledListener?.(evicted);
  }

  private forget(id: string, p: Pending): void {
    this.pending.delete(id);
    this.pendingBytes -= p.bytes;
  }

  /** An ack from the sink; acks meant for other producers and malformed messages are ignored. */
  onAck(payload: Buffer): void {
    const d = decodeAck(payload);
    if (!d.ok) {
      this.o.logger.warn({ topic: this.settings.ackTopic, error: d.error }, 'ignored a malformed message on the sink ack topic');
      return;
    }
    if (d.message.producer !== this.o.producer) return;
    const settled: string[] = [];
    for (const id of d.message.stored) {
      const p = this.pending.get(id);
      if (!p) continue;
      this.forget(id, p);
      this.c.acked++;
      settled.push(id);
    }
    for (const r of d.message.rejected) {
      const p = this.pending.get(r.id);
      if (!p) continue;
      this.forget(r.id, p);
      this.c.rejected++;
      settled.push(r.id);
      this.o.logger.error({ recordId: r.id, bytes: p.bytes, reason: r.reason }, 'conduit.FirehoseSink refused a capture record for good (data lost)');
    }
    if (settled.length > 0) this.settledListener?.(settled);
    // The sink is alive: what it has not acknowledged in time is re-sent now rather than after a long backoff.
    const nowMs = this.now();
    for (const p of this.pending.values()) if (nowMs - p.sentAtMs >= this.settings.ackTimeoutMs) p.sentAtMs = -Infinity;
    this.kick();
  }

  private due(p: Pending, nowMs: number): boolean {
    if (Number.isNaN(p.sentAtMs)) return true;
    const factor = Math.min(2 ** Math.max(0, p.attempts - 1), MAX_RESEND_FACTOR);
    return nowMs - p.sentAtMs >= this.settings.ackTimeoutMs * factor;
  }

  private kick(): void {
    if (this.sending || this.pending.size === 0 || !this.started) return;
    this.sending = this.sendDue().finally(() => (this.sending = undefined));
  }

  /** Sends every due record, several per put message up to the message limit. */
  private async sendDue(): Promise<void> {
    const nowMs = this.now();
    let batch: Pending[] = [];
    let bytes = 0;
    const flush = async (): Promise<boolean> => {
      if (batch.length === 0) return true;
      const sent = batch;
      batch = [];
      bytes = 0;
      try {
        await this.o.pubsub.publishToTopic(this.settings.putTopic, encodePut(this.o.producer, sent.map((p) => p.record)));
      } catch (e) {
        this.c.sendFailures++;
        this.o.logger.warn({ topic: this.settings.putTopic, records: sent.length, reason: (e as PublishFailure)?.reason ?? String(e) }, 'cannot hand captures to the sink yet; will retry');
        return false;
      }
      this.c.messagesSent++;
      const at = this.now();
      for (const p of sent) {
        if (p.attempts > 0) this.c.resent++;
        p.attempts++;
        p.sentAtMs = at;
      }
      return true;
    };
    for (const p of [...this.pending.values()]) {
      if (!this.due(p, nowMs) || !this.pending.has(p.record.id)) continue;
      // JSON overhead per record: quotes, keys and escapes; the message limit is far above one record.
      const size = p.bytes + 64;
      if (bytes + size > MAX_PUT_MESSAGE_BYTES && !(await flush())) return;
      batch.push(p);
      bytes += size;
    }
    await flush();
  }

  /** Ids of the records waiting for the sink's acknowledgement. */
  pendingIds(): string[] {
    return [...this.pending.keys()];
  }

  counters(): HandoffCounters {
    return { ...this.c, pending: this.pending.size, pendingBytes: this.pendingBytes };
  }

  /** Shutdown: sends what is due and waits for acks until `deadlineMs`; returns the ids still unacknowledged. */
  async drain(deadlineMs: number): Promise<string[]> {
    while (this.pending.size > 0 && this.now() < deadlineMs) {
      this.kick();
      await new Promise((r) => setTimeout(r, 100));
    }
    return [...this.pending.keys()];
  }

  stop(): void {
    clearInterval(this.timer);
    this.started = false;
    void this.acks?.close();
  }
}
