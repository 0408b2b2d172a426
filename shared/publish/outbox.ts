// Outbox: the messages ready to publish, oldest first, bounded in count (and optionally bytes).
//
// The publisher loop is: `peek()` the head, publish it, then `ack()` once the nucleus accepted it,
// or on a retryable failure leave it and `peek()` the same message again later (hold and retry:
// never reordered, never skipped). `peek()` moves the head into an in-flight slot that eviction
// never touches, so a message being published cannot be dropped (and counted as lost) under the
// publisher's feet. When the outbox is full the oldest *waiting* message is dropped: every drop is
// returned to the caller and counted by stream, so the runtime logs it at ERROR. Loss is never silent.

import { PublishConfigError } from './errors';

/** A message to publish. `stream` and `seq` identify it in drop reports; `seq` is per stream. */
export interface OutboxMessage {
  stream: string;
  seq: number;
  topic: string;
  payload: Buffer;
}

export interface QueuedMessage extends OutboxMessage {
  /** `nowMs` of the push. */
  readonly enqueuedMs: number;
}

/** A message dropped because the outbox was full: what the ERROR log line should name. */
export interface DroppedMessage {
  stream: string;
  seq: number;
  bytes: number;
  /** How long it had waited, ms. */
  ageMs: number;
}

export interface OutboxConfig {
  /** Messages held, the in-flight one included (the collector's publish.queueMaxMessages). */
  maxMessages: number;
  /** Payload bytes held; default no limit beyond maxMessages. */
  maxBytes?: number;
}

export interface OutboxCounters {
  /** Messages pushed. */
  enqueued: number;
  /** Messages acknowledged: accepted by the publisher. */
  acked: number;
  /** Messages dropped because the outbox was full, by stream. */
  dropped: Record<string, number>;
  droppedBytes: number;
  /** Messages the publisher refused for good (`discard`), by stream. */
  rejected: Record<string, number>;
  /** Held now, the in-flight one included. */
  messages: number;
  bytes: number;
}

/** Returned by `push` when nothing was dropped, so the common case allocates nothing. */
const NONE: readonly DroppedMessage[] = Object.freeze([]);
/** Consumed slots at the front of the waiting array before it is compacted. */
const COMPACT_AFTER = 1_024;

export class Outbox {
  readonly maxMessages: number;
  readonly maxBytes: number;
  /** Waiting messages are waiting[head..]; slots before head were consumed. */
  private waiting: (QueuedMessage | undefined)[] = [];
  private head = 0;
  private inFlight: QueuedMessage | undefined;
  private heldBytes = 0;

  private enqueued = 0;
  private acked = 0;
  private droppedBytes = 0;
  private readonly droppedByStream = new Map<string, number>();
  private readonly rejectedByStream = new Map<string, number>();

  constructor(config: OutboxConfig) {
    const max = config?.maxMessages;
    if (!Number.isInteger(max) || max < 1) throw new PublishConfigError(`must be a positive integer, got ${max}`, { field: 'queueMaxMessages' });
    const maxBytes = config.maxBytes ?? Infinity;
    if (!(maxBytes >= 1)) throw new PublishConfigError(`must be a positive number of bytes, got ${maxBytes}`, { field: 'maxBytes' });
    this.maxMessages = max;
    this.maxBytes = maxBytes;
  }

  /** Messages held, the in-flight one included. */
  get messages(): number {
    return this.waiting.length - this.head + (this.inFlight === undefined ? 0 : 1);
  }

  /** Payload bytes held, the in-flight message included. */
  get bytes(): number {
    return this.heldBytes;
  }

  /**
   * Appends a message. Returns the messages dropped to make room, oldest first (possibly this one,
   * when the in-flight message alone fills the outbox or the payload exceeds maxBytes); empty
   * when none was. Never throws.
   */
  push(msg: OutboxMessage, nowMs: number): readonly DroppedMessage[] {
    this.waiting.push({ stream: msg.stream, seq: msg.seq, topic: msg.topic, payload: msg.payload, enqueuedMs: nowMs });
    this.heldBytes += msg.payload.length;
    this.enqueued++;
    let dropped: DroppedMessage[] | undefined;
    while ((this.messages > this.maxMessages || this.heldBytes > this.maxBytes) && this.head < this.waiting.length) {
      const m = this.takeWaiting();
      this.droppedBytes += m.payload.length;
      this.droppedByStream.set(m.stream, (this.droppedByStream.get(m.stream) ?? 0) + 1);
      (dropped ??= []).push({ stream: m.stream, seq: m.seq, bytes: m.payload.length, ageMs: nowMs - m.enqueuedMs });
    }
    return dropped ?? NONE;
  }

  /**
   * The message to publish next: the in-flight one if there is one (it is being retried), else
   * the oldest waiting one, which becomes in flight. Undefined when empty.
   */
  peek(): QueuedMessage | undefined {
    if (this.inFlight === undefined && this.head < this.waiting.length) this.inFlight = this.takeWaiting(false);
    return this.inFlight;
  }

  /** The in-flight message was accepted: it leaves. Returns it, or undefined when none was in flight. */
  ack(): QueuedMessage | undefined {
    const m = this.release();
    if (m !== undefined) this.acked++;
    return m;
  }

  /**
   * The publisher refused the in-flight message for good (not retryable): it leaves and is
   * counted as rejected, by stream. Returns it so the caller can log it at ERROR.
   */
  discard(): QueuedMessage | undefined {
    const m = this.release();
    if (m !== undefined) this.rejectedByStream.set(m.stream, (this.rejectedByStream.get(m.stream) ?? 0) + 1);
    return m;
  }

  /** Age of the oldest message held (in flight or waiting), ms; 0 when empty. */
  oldestAgeMs(nowMs: number): number {
    const oldest = this.inFlight ?? this.waiting[this.head];
    return oldest === undefined ? 0 : nowMs - oldest.enqueuedMs;
  }

  counters(): OutboxCounters {
    return {
      enqueued: this.enqueued,
      acked: this.acked,
      dropped: Object.fromEntries(this.droppedByStream),
      droppedBytes: this.droppedBytes,
      rejected: Object.fromEntries(this.rejectedByStream),
      messages: this.messages,
      bytes: this.heldBytes,
    };
  }

  private release(): QueuedMessage | undefined {
    const m = this.inFlight;
    if (m === undefined) return undefined;
    this.inFlight = undefined;
    this.heldBytes -= m.payload.length;
    return m;
  }

  /** Removes the oldest waiting message; `leaves` false keeps its bytes counted (it goes in flight). */
  private takeWaiting(leaves = true): QueuedMessage {
    const m = this.waiting[this.head]!;
    this.waiting[this.head++] = undefined;
    if (leaves) this.heldBytes -= m.payload.length;
    if (this.head >= COMPACT_AFTER && this.head * 2 >= this.waiting.length) {
      this.waiting = this.waiting.slice(this.head);
      this.head = 0;
    }
    return m;
  }
}
