// The one subscription of a connection: monitored items created in bulk, in chunks that respect
// the server's MaxMonitoredItemsPerCall (one CreateMonitoredItems request per chunk — one request per
// item is what took Node-RED 35 s for 1,000 tags), and every DataValue handed to the sink.
//
// Every Publish response is also a sign of life: one with data changes, or a keep-alive (no
// notifications: the server had nothing to report). The dispatcher records both for the watchdog,
// and the time up to which "no notification" means "no change" for the keep-alives of deadband
// and change tags (SampleDispatcher.aliveAsOfMs).
//
// Read-only: CreateSubscription, CreateMonitoredItems, DeleteMonitoredItems (a live mapping change),
// Publish (node-opcua's publish engine) and DeleteSubscriptions (on close) only. See session.ts.
import {
  type ClientMonitoredItemBase,
  type ClientSession,
  type ClientSessionRawSubscriptionService,
  type ClientSubscription,
  type DataValue,
  AttributeIds,
  DataType,
  type NotificationMessage,
  type NodeId,
  TimestampsToReturn,
} from 'node-opcua-client';
import type { CollectorConfig } from '../config-types';
import type { Logger, SampleSink, SourceCounters } from '../ports';
import { messageOf } from './session';
import { toNodeId } from './node-ids';
import { int64ToNumber } from './int64';
import { SampleClock, TIME_ARRIVAL, TIME_SERVER, presentMs } from './sample-time';

/** Tags whose server sends no source timestamp, reported once per connection (session). */
export interface TimestampReport {
  /** Tag indices whose samples carry no source timestamp (timed by the server timestamp or the arrival rule). */
  withoutSource: number[];
  /** Of those, the tags whose samples carry no timestamp at all (arrival rule). */
  withoutAny: number[];
}

/**
 * The server's overflow flag on a DataValue (Part 4, 7.39.1): InfoType = DataValue (bit 10) plus the
 * Overflow bit (bit 7). Set when the monitored item's queue was full and the server discarded a value.
 */
export const OVERFLOW_BITS = 0x0480;
/** Chunk size when the server states no MaxMonitoredItemsPerCall: keeps each request well under message limits. */
export const DEFAULT_ITEMS_PER_CALL = 1_000;
/** The server should send a keep-alive at least this often, ms (and at least 3 per watchdog timeout). */
const KEEPALIVE_TARGET_MS = 5_000;
/** The subscription outlives this many missed keep-alives of KEEPALIVE_TARGET_MS (the spec asks for at least 3). */
const LIFETIME_KEEPALIVES = 6;
/** node-opcua's client raises a requestedMaxKeepAliveCount below 3 to 3 (client_subscription_impl). */
const MIN_KEEPALIVE_COUNT = 3;

/**
 * requestedMaxKeepAliveCount and requestedLifetimeCount for a subscription. A keep-alive comes at
 * least every KEEPALIVE_TARGET_MS and, where the publishing interval allows (never below 3 of them,
 * see MIN_KEEPALIVE_COUNT), three times per watchdog timeout, so a quiet session whose keep-alives
 * count as liveness is not reset for one late keep-alive. The lifetime stays LIFETIME_KEEPALIVES x
 * KEEPALIVE_TARGET_MS (and >= 3 keep-alives): a short watchdog must not make the server drop the
 * subscription after a brief client stall.
 */
export function subscriptionTiming(publishingIntervalMs: number, noDataTimeoutMs: number): { maxKeepAliveCount: number; lifetimeCount: number } {
  const targetMs = Math.min(KEEPALIVE_TARGET_MS, Math.floor(noDataTimeoutMs / 3));
  const maxKeepAliveCount = Math.max(MIN_KEEPALIVE_COUNT, Math.floor(targetMs / publishingIntervalMs));
  const lifetimeCount = Math.max(3 * maxKeepAliveCount, Math.ceil(KEEPALIVE_TARGET_MS / publishingIntervalMs) * LIFETIME_KEEPALIVES);
  return { maxKeepAliveCount, lifetimeCount };
}

/** The part of node-opcua's NotificationMessage the dispatcher reads. */
export interface PublishMessage {
  publishTime?: Date | null;
  notificationData?: readonly (object | null)[] | null;
}

/**
 * Hands DataValues to the sink and records the connection's signs of life; no per-sample state but
 * the counters, one byte per tag and one running minimum. `open` is cleared by the source before
 * stop() resolves, so a Publish response that is still being processed reaches nothing.
 */
export class SampleDispatcher {
  open = true;
  /** Date.now() of the last Publish response carrying data changes (keep-alives do not count). */
  lastDataAtMs = 0;
  /** Date.now() of the last Publish response of either kind: data changes or a keep-alive. */
  lastAliveAtMs = 0;
  /** 1 per tag that delivered a sample on this connection. */
  private reported: Uint8Array;
  private reportedCount = 0;
  /** Accepted monitored items, once subscribeTags knows them; -1 before. */
  private expectedItems = -1;
  /** Date.now() when the response being processed arrived: its samples are delivered just after onPublish. */
  private receivedAtMs = 0;
  /** Date.now() of the newest response that vouches for every tag (see aliveAsOfMs); 0 before. */
  private vouchedAtMs = 0;
  /**
   * The smallest (arrival - source time) of this connection's samples, and (arrival - publishTime)
   * of its responses where the server sets a publishTime (node-opcua's server does not): the
   * gateway's clock minus the source's, plus the shortest delivery delay seen.
   */
  private minDelayMs = Infinity;
  /** The timestamp rule (sample-time.ts) and its per-tag state. */
  private readonly clock: SampleClock;
  /** Per tag: the item's revised sampling interval, ms (the arrival rule's spacing). */
  private intervals: Float64Array;
  /**
   * For the values of the response being processed that carry no timestamp at all: how many values
   * of the same monitored item follow each one in the response. Keyed by the DataValue object, which
   * node-opcua hands on unchanged from the response to the item's 'changed' event.
   */
  private later: Map<object, number> | undefined;
  /** A response had a sample without source timestamp; reported at the next response (all its items delivered by then). */
  private reportPending = false;
  private reportDone = false;

  constructor(
    private sink: SampleSink,
    private readonly counters: SourceCounters,
    tagCount = 0,
    /** The subscription's maxNotificationsPerPublish; 0 = no limit. */
    private readonly maxNotificationsPerPublish = 0,
    private readonly timing: { intervalMs?: number; onTimestampsMissing?: (r: TimestampReport) => void } = {},
  ) {
    this.reported = new Uint8Array(tagCount);
    this.clock = new SampleClock(tagCount);
    this.intervals = new Float64Array(tagCount).fill(timing.intervalMs ?? 100);
  }

  /** The server's revised sampling interval of a tag's item. */
  setInterval(tag: number, intervalMs: number): void {
    if (tag >= 0 && tag < this.intervals.length && intervalMs > 0) this.intervals[tag] = intervalMs;
  }

  /**
   * A live mapping change: samples go to `sink` from now on, numbered by the new tag list. Called in
   * the same turn of the event loop as the remapping of the items' tag numbers (retargetItems), so no
   * sample is delivered under one numbering to the other's sink. Tags kept across the change keep
   * their "reported" mark (under their new number); new tags must report their initial value before
   * the server's keep-alives vouch for every tag again.
   */
  retarget(sink: SampleSink, tagCount: number, renumber: ReadonlyMap<number, number>): void {
    const reported = new Uint8Array(tagCount);
    let count = 0;
    for (const [from, to] of renumber) {
      if (this.reported[from] === 1 && to >= 0 && to < tagCount) {
        reported[to] = 1;
        count++;
      }
    }
    this.reported = reported;
    this.reportedCount = count;
    const intervals = new Float64Array(tagCount).fill(this.timing.intervalMs ?? 100);
    for (const [from, to] of renumber) if (to >= 0 && to < tagCount && from < this.intervals.length) intervals[to] = this.intervals[from]!;
    this.intervals = intervals;
    this.clock.renumber(tagCount, renumber);
    this.sink = sink;
  }

  /**
   * Up to when, in the clock of the samples' source times, the server has vouched that every tag
   * had no change it did not deliver; NaN until it has.
   *
   * A Publish response, data or keep-alive, holds every change the server had queued: a tag with
   * no notification in it had none. That holds for every tag only once every accepted item has
   * reported on this connection (its initial value, which OPC UA always sends; after a reconnect a
   * value may have changed while we were away), and not for a response as long as
   * maxNotificationsPerPublish (more may follow) or one with a status change (the subscription's
   * end). The response arrived at a gateway time; keep-alive points sit among points stamped with
   * source times, and the source's clock may be minutes off the gateway's, so that time is moved
   * into the source's clock by the smallest delay seen (minDelayMs): it becomes the source time of
   * the freshest evidence plus the gateway time elapsed since. Never later than the server's own
   * time of the response, by the shortest delivery delay; a stale clue (an old initial value) only
   * makes it earlier. Without any clue but old values it lags, so keep-alives come late, not wrong.
   */
  get aliveAsOfMs(): number {
    return this.vouchedAtMs > 0 && this.minDelayMs < Infinity ? this.vouchedAtMs - this.minDelayMs : NaN;
  }

  /** The number of monitored items the server accepted, once all chunks are created. */
  expectItems(n: number): void {
    this.expectedItems = n;
  }

  /**
   * One Publish response of the subscription, data or keep-alive. node-opcua calls it before the
   * response's DataValues reach `deliver`; they follow within the same turn of the event loop (a
   * promise chain that only waits on I/O for ExtensionObject values), so no timer, and so no tick
   * of the runtime, runs between the two.
   */
  onPublish(message: PublishMessage, nowMs: number): void {
    if (!this.open) return;
    this.receivedAtMs = nowMs;
    if (this.reportPending && !this.reportDone) this.reportTimestamps();
    this.later = undefined;
    let changes = 0;
    let data = false;
    let other = false;
    for (const n of message.notificationData ?? []) {
      // DataChangeNotification is the only kind with monitoredItems; a StatusChange does not count as data.
      if (n && 'monitoredItems' in n) {
        data = true;
        const items = n.monitoredItems as readonly MonitoredItemNotificationLike[] | null;
        changes += items?.length ?? 0;
        if (items) this.countUntimed(items);
      } else other = true;
    }
    const publishTimeMs = message.publishTime?.getTime();
    // Servers that send none send 1601-01-01 (OPC UA's null DateTime), i.e. a negative number.
    if (publishTimeMs !== undefined && publishTimeMs > 0 && nowMs - publishTimeMs < this.minDelayMs) this.minDelayMs = nowMs - publishTimeMs;
    if (data) this.lastDataAtMs = nowMs;
    if (other && !data) return;
    this.lastAliveAtMs = nowMs;
    if (other) return;
    if (!(this.expectedItems >= 0 && this.reportedCount >= this.expectedItems)) return;
    if (this.maxNotificationsPerPublish > 0 && changes >= this.maxNotificationsPerPublish) return;
    this.vouchedAtMs = nowMs;
  }

  deliver(tag: number, dv: DataValue): void {
    // tag -1: an item removed by a live mapping change, whose deletion the server has not confirmed yet.
    if (!this.open || tag < 0) return;
    if (this.reported[tag] === 0) {
      this.reported[tag] = 1;
      this.reportedCount++;
    }
    const status = dv.statusCode.value;
    // One flagged value means at least one value of this item was discarded by the server, possibly
    // more: overflowLost is a lower bound of the samples lost to full queues.
    if ((status & OVERFLOW_BITS) === OVERFLOW_BITS) this.counters.overflowLost++;
    // Source time, else server time, else the arrival rule (sample-time.ts): never one time for a whole publish.
    const sourceMs = presentMs(dv.sourceTimestamp);
    let sourceTimeMs: number;
    if (sourceMs > 0) sourceTimeMs = sourceMs;
    else {
      const arrivalMs = this.receivedAtMs > 0 ? this.receivedAtMs : Date.now();
      sourceTimeMs = this.clock.timeOf(tag, NaN, presentMs(dv.serverTimestamp), arrivalMs, this.later?.get(dv) ?? 0, this.intervals[tag] ?? 100);
      if (this.clock.origin === TIME_SERVER) this.counters.samplesTimedByServer++;
      else if (this.clock.origin === TIME_ARRIVAL) this.counters.samplesTimedByArrival++;
      this.counters.tagsWithoutSourceTimestamp = this.clock.tagsWithoutSource;
      this.counters.tagsWithoutTimestamp = this.clock.tagsWithoutAny;
      this.reportPending = true;
    }
    // Arrival-rule times say nothing about the source's clock.
    if (this.clock.origin !== TIME_ARRIVAL || sourceMs > 0) {
      if (this.receivedAtMs - sourceTimeMs < this.minDelayMs && this.receivedAtMs > 0) this.minDelayMs = this.receivedAtMs - sourceTimeMs;
    }
    this.counters.notifications++;
    const variant = dv.value;
    const type = variant.dataType;
    // A compare per sample; only 64-bit integers (delivered as [high, low]) are converted.
    const value = type === DataType.Int64 || type === DataType.UInt64 ? int64ToNumber(variant.value, type === DataType.Int64) : variant.value;
    this.sink(tag, sourceTimeMs, value, status);
  }

  /**
   * Counts, per monitored item (clientHandle), the values of this response that carry no timestamp
   * at all, and records for each how many of its item follow it (the arrival rule's spread). Costs
   * one check per value when the server sends timestamps.
   */
  private countUntimed(items: readonly MonitoredItemNotificationLike[]): void {
    let perHandle: Map<number, number> | undefined;
    for (const it of items) {
      const v = it.value;
      if (!v || presentMs(v.sourceTimestamp) > 0 || presentMs(v.serverTimestamp) > 0) continue;
      perHandle ??= new Map();
      perHandle.set(it.clientHandle, (perHandle.get(it.clientHandle) ?? 0) + 1);
    }
    if (!perHandle) return;
    this.later ??= new Map();
    for (const it of items) {
      const v = it.value;
      const left = v ? perHandle.get(it.clientHandle) : undefined;
      if (!v || left === undefined || presentMs(v.sourceTimestamp) > 0 || presentMs(v.serverTimestamp) > 0) continue;
      perHandle.set(it.clientHandle, left - 1);
      this.later.set(v, left - 1);
    }
  }

  /** The tags whose samples so far lacked a source timestamp (and any timestamp): check-mapping reports them. */
  timestampsLacking(): TimestampReport {
    return this.clock.tagsLacking();
  }

  /** Once per connection: the tags without source timestamps, for the one warning line. */
  private reportTimestamps(): void {
    this.reportDone = true;
    this.timing.onTimestampsMissing?.(this.clock.tagsLacking());
  }
}

/** The part of a MonitoredItemNotification the dispatcher reads. */
interface MonitoredItemNotificationLike {
  clientHandle: number;
  value?: { sourceTimestamp?: Date | null; serverTimestamp?: Date | null } | null;
}

/**
 * Date.now() of the last sign of life the watchdog accepts from a connection made at
 * `connectedAtMs`. Before the first data change, the connection time: every item sends its initial
 * value, so a session whose items deliver nothing at all is reset whatever its keep-alives say.
 * Then, when data is expected (rms tags), the last data change only; otherwise the last Publish
 * response of either kind, keep-alives included.
 */
export function watchdogLastSignMs(d: { readonly lastDataAtMs: number; readonly lastAliveAtMs: number }, connectedAtMs: number, dataExpected: boolean): number {
  if (!(d.lastDataAtMs > 0)) return connectedAtMs;
  return dataExpected ? d.lastDataAtMs : Math.max(d.lastDataAtMs, d.lastAliveAtMs);
}

export interface ItemFailure {
  tag: number;
  nodeId: string;
  status: string;
}

/**
 * One accepted monitored item and where its tag number lives: `tags[index]` is read by the item
 * group's change handler for every sample, so rewriting it renumbers the item in place.
 */
export interface MonitoredSlot {
  /** The NodeId as node-opcua prints it (canonical): how a live update recognises an unchanged item. */
  nodeId: string;
  monitoredItemId: number;
  tags: number[];
  index: number;
}

export interface SubscribeResult {
  subscription: TagSubscription;
  /** Items the server accepted, with their tag slots (for live mapping changes). */
  items: MonitoredSlot[];
  /** Items the server accepted. */
  monitored: number;
  failures: ItemFailure[];
  /** CreateMonitoredItems requests sent. */
  calls: number;
  itemsPerCall: number;
  /** Longest gap between two Publish responses of a quiet subscription, ms, as the server revised it. */
  keepAliveMs: number;
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
  /** The server's NamespaceArray, for `nsu=` NodeIds (empty when no tag uses them). */
  namespaces?: readonly string[];
}

/** Creates the subscription and all monitored items. Throws if the subscription itself cannot be created. */
export async function subscribeTags(o: SubscribeOptions): Promise<SubscribeResult> {
  const { sampling } = o.config;
  const timing = subscriptionTiming(sampling.publishingIntervalMs, o.config.watchdog.noDataTimeoutMs);
  const subscription = await o.session.createSubscription2({
    requestedPublishingInterval: sampling.publishingIntervalMs,
    requestedMaxKeepAliveCount: timing.maxKeepAliveCount,
    requestedLifetimeCount: timing.lifetimeCount,
    maxNotificationsPerPublish: sampling.maxNotificationsPerPublish,
    publishingEnabled: true,
    priority: 1,
  });
  const dispatcher = o.dispatcher;
  // Every response, keep-alives included (node-opcua also emits 'keepalive' for those, without the message).
  subscription.on('raw_notification', (m: NotificationMessage) => dispatcher.onPublish(m, Date.now()));
  const tagSubscription = new TagSubscription(subscription, o.onLost);

  const created = await createItems(subscription, o.config, o.config.tags.map((t, tag) => ({ tag, nodeId: t.nodeId })), o.maxItemsPerCall, dispatcher, o.logger, o.namespaces ?? []);
  const { failures, calls, itemsPerCall, items } = created;
  const monitored = items.length;
  failures.sort((a, b) => a.tag - b.tag);
  dispatcher.expectItems(monitored);
  // As the server revised them: what the watchdog can expect of keep-alives.
  const keepAliveMs = subscription.publishingInterval * subscription.maxKeepAliveCount;
  return { subscription: tagSubscription, items, monitored, failures, calls, itemsPerCall, keepAliveMs };
}

/**
 * Creates monitored items for `entries` in chunks the server accepts (halving a chunk it refuses as
 * too large), each handing its samples to the dispatcher under the entry's tag number.
 */
async function createItems(
  subscription: ClientSubscription,
  config: CollectorConfig,
  entries: readonly { tag: number; nodeId: string }[],
  maxItemsPerCall: number,
  dispatcher: SampleDispatcher,
  logger: Logger,
  namespaces: readonly string[],
): Promise<{ items: MonitoredSlot[]; failures: ItemFailure[]; calls: number; itemsPerCall: number }> {
  // Parse NodeIds first: a malformed one would make node-opcua throw for its whole chunk.
  const valid: { tag: number; nodeId: NodeId }[] = [];
  const failures: ItemFailure[] = [];
  for (const e of entries) {
    try {
      valid.push({ tag: e.tag, nodeId: toNodeId(e.nodeId, namespaces) });
    } catch (err) {
      failures.push({ tag: e.tag, nodeId: e.nodeId, status: `BadNodeIdInvalid (${messageOf(err)})` });
    }
  }
  let itemsPerCall = maxItemsPerCall > 0 ? Math.min(maxItemsPerCall, DEFAULT_ITEMS_PER_CALL) : DEFAULT_ITEMS_PER_CALL;
  let calls = 0;
  const items: MonitoredSlot[] = [];
  const parameters = { samplingInterval: config.sampling.intervalMs, queueSize: config.sampling.queueSize, discardOldest: true };
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
        // Both: a server that keeps no source timestamp still stamps its own (see sample-time.ts).
        TimestampsToReturn.Both,
      );
    } catch (err) {
      // A server that understates (or does not state) its limit: halve the chunk and try again.
      if (/BadTooManyOperations/.test(messageOf(err)) && itemsPerCall > 1) {
        itemsPerCall = Math.max(1, Math.floor(itemsPerCall / 2));
        logger.warn({ itemsPerCall }, 'the server refused a CreateMonitoredItems chunk as too large; retrying with smaller chunks');
        continue;
      }
      throw err;
    }
    group.on('changed', (_item: ClientMonitoredItemBase, dv: DataValue, index: number) => {
      dispatcher.deliver(tags[index] ?? -1, dv);
    });
    for (const [i, item] of group.monitoredItems.entries()) {
      if (item.statusCode.isGood()) dispatcher.setInterval(tags[i] ?? -1, (item.monitoringParameters as { samplingInterval?: number } | undefined)?.samplingInterval ?? 0);
      if (item.statusCode.isGood()) items.push({ nodeId: chunk[i]!.nodeId.toString(), monitoredItemId: item.monitoredItemId as number, tags, index: i });
      else failures.push({ tag: tags[i] ?? -1, nodeId: chunk[i]?.nodeId.toString() ?? '?', status: item.statusCode.toString() });
    }
    start += chunk.length;
  }
  failures.sort((a, b) => a.tag - b.tag);
  return { items, failures, calls, itemsPerCall };
}

export interface RetargetResult {
  kept: number;
  added: number;
  removed: number;
  failures: ItemFailure[];
}

/**
 * A live mapping change on the existing session and subscription: items whose node is still
 * mapped are renumbered in place (no sample of theirs is lost), items no longer mapped are deleted,
 * new nodes get new items. The renumbering and the dispatcher's new sink take effect together,
 * synchronously, before any request goes out; samples of a removed item that arrive before the
 * server confirms its deletion are ignored (tag -1).
 */
export async function retargetItems(o: {
  session: ClientSession;
  subscription: ClientSubscription;
  items: MonitoredSlot[];
  config: CollectorConfig;
  sink: SampleSink;
  dispatcher: SampleDispatcher;
  maxItemsPerCall: number;
  logger: Logger;
  namespaces: readonly string[];
}): Promise<RetargetResult> {
  const wanted = new Map<string, number>();
  const unparsable: { tag: number; nodeId: string }[] = [];
  for (const [tag, t] of o.config.tags.entries()) {
    try {
      wanted.set(toNodeId(t.nodeId, o.namespaces).toString(), tag);
    } catch {
      unparsable.push({ tag, nodeId: t.nodeId });
    }
  }
  const renumber = new Map<number, number>();
  const kept: MonitoredSlot[] = [];
  const removed: MonitoredSlot[] = [];
  const present = new Set<string>();
  for (const slot of o.items) {
    const from = slot.tags[slot.index]!;
    const to = wanted.get(slot.nodeId);
    if (to === undefined) {
      slot.tags[slot.index] = -1;
      removed.push(slot);
    } else {
      slot.tags[slot.index] = to;
      renumber.set(from, to);
      kept.push(slot);
      present.add(slot.nodeId);
    }
  }
  o.dispatcher.retarget(o.sink, o.config.tags.length, renumber);
  o.items.length = 0;
  o.items.push(...kept);

  const perCall = o.maxItemsPerCall > 0 ? Math.min(o.maxItemsPerCall, DEFAULT_ITEMS_PER_CALL) : DEFAULT_ITEMS_PER_CALL;
  for (let i = 0; i < removed.length; i += perCall) {
    const ids = removed.slice(i, i + perCall).map((s) => s.monitoredItemId);
    // The session implements the raw subscription service; node-opcua's ClientSession type leaves it out.
    await (o.session as ClientSession & ClientSessionRawSubscriptionService).deleteMonitoredItems({ subscriptionId: o.subscription.subscriptionId, monitoredItemIds: ids });
  }
  const toAdd = [
    ...[...wanted].filter(([nodeId]) => !present.has(nodeId)).map(([, tag]) => ({ tag, nodeId: o.config.tags[tag]!.nodeId })),
    ...unparsable,
  ].sort((a, b) => a.tag - b.tag);
  const created = await createItems(o.subscription, o.config, toAdd, o.maxItemsPerCall, o.dispatcher, o.logger, o.namespaces);
  o.items.push(...created.items);
  o.dispatcher.expectItems(o.items.length);
  return { kept: kept.length, added: created.items.length, removed: removed.length, failures: created.failures };
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
