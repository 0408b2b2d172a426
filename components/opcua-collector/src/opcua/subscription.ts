// The one subscription of a connection: monitored items created in bulk, in chunks that respect
// the server's MaxMonitoredItemsPerCall (one CreateMonitoredItems request per chunk — one request per
// item is what took Node-RED 35 s for 1,000 tags), and every DataValue handed to the sink.
//
// Read-only: CreateSubscription, CreateMonitoredItems, Publish (node-opcua's publish engine) and
// DeleteSubscriptions (on close) only. See session.ts.
import {
  type ClientMonitoredItemBase,
  type ClientSession,
  type ClientSubscription,
  type DataValue,
  AttributeIds,
  type NotificationMessage,
  type NodeId,
  resolveNodeId,
  TimestampsToReturn,
} from 'node-opcua-client';
import type { CollectorConfig } from '../config-types';
import type { Logger, SampleSink, SourceCounters } from '../ports';
import { messageOf } from './session';

/**
 * The server's overflow flag on a DataValue (Part 4, 7.39.1): InfoType = DataValue (bit 10) plus the
 * Overflow bit (bit 7). Set when the monitored item's queue was full and the server discarded a value.
 */
export const OVERFLOW_BITS = 0x0480;
/** Chunk size when the server states no MaxMonitoredItemsPerCall: keeps each request well under message limits. */
export const DEFAULT_ITEMS_PER_CALL = 1_000;
/** The server should send a keep-alive at least this often, ms. */
const KEEPALIVE_TARGET_MS = 5_000;
/** The subscription outlives this many missed keep-alives (the spec asks for at least 3). */
const LIFETIME_KEEPALIVES = 6;

/**
 * Hands DataValues to the sink; holds no per-sample state but the counters. `open` is cleared by the
 * source before stop() resolves, so a Publish response that is still being processed reaches nothing.
 */
export class SampleDispatcher {
  open = true;
  /** Date.now() of the last Publish response carrying data changes (keep-alives do not count). */
  lastDataAtMs = 0;

  constructor(
    private readonly sink: SampleSink,
    private readonly counters: SourceCounters,
  ) {}

  deliver(tag: number, dv: DataValue): void {
    if (!this.open) return;
    const status = dv.statusCode.value;
    // One flagged value means at least one value of this item was discarded by the server, possibly
    // more: overflowLost is a lower bound of the samples lost to full queues.
    if ((status & OVERFLOW_BITS) === OVERFLOW_BITS) this.counters.overflowLost++;
    // Source time is the sample's time. A server that omits it gets its own timestamp used instead
    // (only present if it sends one unasked), and failing both, the time we received it.
    const ts = dv.sourceTimestamp ?? dv.serverTimestamp;
    this.counters.notifications++;
    this.sink(tag, ts ? ts.getTime() : Date.now(), dv.value.value, status);
  }
}

export interface ItemFailure {
  tag: number;
  nodeId: string;
  status: string;
}

export interface SubscribeResult {
  subscription: TagSubscription;
  /** Items the server accepted. */
  monitored: number;
  failures: ItemFailure[];
  /** CreateMonitoredItems requests sent. */
  calls: number;
  itemsPerCall: number;
}

export interface SubscribeOptions {
  session: ClientSession;
  config: CollectorConfig;
  /** MaxMonitoredItemsPerCall of the server; 0 = no limit. */
  maxItemsPerCall: number;
  dispatcher: SampleDispatcher;
  logger: Logger;
  /** The server ended the subscription (BadTimeout, terminated) without us asking. */
  onLost: (reason: string) => void;
}

/** Creates the subscription and all monitored items. Throws if the subscription itself cannot be created. */
export async function subscribeTags(o: SubscribeOptions): Promise<SubscribeResult> {
  const { sampling } = o.config;
  const keepAliveCount = Math.max(1, Math.ceil(KEEPALIVE_TARGET_MS / sampling.publishingIntervalMs));
  const subscription = await o.session.createSubscription2({
    requestedPublishingInterval: sampling.publishingIntervalMs,
    requestedMaxKeepAliveCount: keepAliveCount,
    requestedLifetimeCount: keepAliveCount * LIFETIME_KEEPALIVES,
    maxNotificationsPerPublish: sampling.maxNotificationsPerPublish,
    publishingEnabled: true,
    priority: 1,
  });
  const dispatcher = o.dispatcher;
  subscription.on('received_notifications', (m: NotificationMessage) => {
    for (const n of m.notificationData ?? []) {
      // DataChangeNotification is the only kind with monitoredItems; StatusChange does not count as data.
      if (n && 'monitoredItems' in n) {
        dispatcher.lastDataAtMs = Date.now();
        return;
      }
    }
  });
  const tagSubscription = new TagSubscription(subscription, o.onLost);

  // Parse NodeIds first: a malformed one would make node-opcua throw for its whole chunk.
  const valid: { tag: number; nodeId: NodeId }[] = [];
  const failures: ItemFailure[] = [];
  for (const [tag, t] of o.config.tags.entries()) {
    try {
      valid.push({ tag, nodeId: resolveNodeId(t.nodeId) });
    } catch {
      failures.push({ tag, nodeId: t.nodeId, status: 'BadNodeIdInvalid (not a valid NodeId string)' });
    }
  }

  let itemsPerCall = o.maxItemsPerCall > 0 ? Math.min(o.maxItemsPerCall, DEFAULT_ITEMS_PER_CALL) : DEFAULT_ITEMS_PER_CALL;
  let calls = 0;
  let monitored = 0;
  const parameters = { samplingInterval: sampling.intervalMs, queueSize: sampling.queueSize, discardOldest: true };
  for (let start = 0; start < valid.length; ) {
    const chunk = valid.slice(start, start + itemsPerCall);
    // Chunk-local tag numbers: the handler maps the group's index to the configuration's tag index.
    const tags = chunk.map((c) => c.tag);
    calls++;
    let group;
    try {
      group = await subscription.monitorItems(
        chunk.map((c) => ({ nodeId: c.nodeId, attributeId: AttributeIds.Value })),
        parameters,
        TimestampsToReturn.Source,
      );
    } catch (err) {
      // A server that understates (or does not state) its limit: halve the chunk and try again.
      if (/BadTooManyOperations/.test(messageOf(err)) && itemsPerCall > 1) {
        itemsPerCall = Math.max(1, Math.floor(itemsPerCall / 2));
        o.logger.warn({ itemsPerCall }, 'the server refused a CreateMonitoredItems chunk as too large; retrying with smaller chunks');
        continue;
      }
      throw err;
    }
    group.on('changed', (_item: ClientMonitoredItemBase, dv: DataValue, index: number) => {
      dispatcher.deliver(tags[index] ?? -1, dv);
    });
    for (const [i, item] of group.monitoredItems.entries()) {
      if (item.statusCode.isGood()) monitored++;
      else failures.push({ tag: tags[i] ?? -1, nodeId: chunk[i]?.nodeId.toString() ?? '?', status: item.statusCode.toString() });
    }
    start += chunk.length;
  }
  failures.sort((a, b) => a.tag - b.tag);
  return { subscription: tagSubscription, monitored, failures, calls, itemsPerCall };
}

/** A created subscription; tells a termination by the server from our own close. */
export class TagSubscription {
  private closing = false;

  constructor(
    readonly subscription: ClientSubscription,
    onLost: (reason: string) => void,
  ) {
    subscription.on('terminated', () => {
      if (!this.closing) onLost('the server ended the subscription');
    });
    subscription.on('internal_error', (err: Error) => {
      if (!this.closing) onLost(`subscription error: ${err.message}`);
    });
    subscription.on('error', (err: Error) => {
      if (!this.closing) onLost(`subscription error: ${err.message}`);
    });
  }

  /**
   * Marks the subscription as ours to end. No request of its own: the connection's CloseSession
   * (deleteSubscriptions = true) deletes it on the server, one round trip instead of two, which
   * keeps stop() short when the server is slow to answer.
   */
  detach(): void {
    this.closing = true;
  }
}
