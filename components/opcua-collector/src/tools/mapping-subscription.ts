// The test subscription of check-mapping: made by the collector's own subscribeTags (same publishing
// interval, keep-alive and lifetime, same sampling interval, queue size and chunking by
// MaxMonitoredItemsPerCall), so the sampling intervals the server grants here are the ones the
// collector would get. It waits, bounded, for the first sample of each tag (what the collector's
// pipeline would receive), then deletes the subscription with DeleteSubscriptions.
import { StatusCodes, resolveNodeId } from 'node-opcua-client';
import type { CollectorConfig } from '../config-types';
import type { Logger, SourceCounters } from '../ports';
import { messageOf, withTimeout } from '../opcua/session';
import { SampleDispatcher, subscribeTags } from '../opcua/subscription';
import { shapeOf, type TagFacts } from './mapping-verdict';

/** DeleteSubscriptions may take this long before the session is closed anyway (which deletes it too). */
const DELETE_TIMEOUT_MS = 5_000;

export interface SubscriptionProbe {
  /** Per tag: whether the server monitors it, at which interval, and its first sample. */
  perTag: { monitored?: TagFacts['monitored']; firstValue?: NonNullable<TagFacts['value']> }[];
  /** CreateMonitoredItems requests sent, and the items per request. */
  calls: number;
  itemsPerCall: number;
  /** The subscription could not be created at all. */
  error?: string;
  /** What subscribeTags logged (e.g. a chunk halved after BadTooManyOperations). */
  notes: string[];
  /** DeleteSubscriptions answered. */
  deleted: boolean;
}

/** Subscribes every tag as the collector would, waits up to `waitMs` for first samples, deletes it. */
export async function probeSubscription(
  session: Parameters<typeof subscribeTags>[0]['session'],
  config: CollectorConfig,
  maxItemsPerCall: number,
  waitMs: number,
): Promise<SubscriptionProbe> {
  const n = config.tags.length;
  const perTag: SubscriptionProbe['perTag'] = config.tags.map(() => ({}));
  const notes: string[] = [];
  let seen = 0;
  /** Tags whose first sample ends the wait: all of them until the server says which it accepted. */
  let expected = n;
  let allSeen: () => void = () => undefined;
  const everyTag = new Promise<void>((resolve) => (allSeen = resolve));
  const sink = (tag: number, _ms: number, value: unknown, status: number): void => {
    const t = perTag[tag];
    if (!t || t.firstValue) return;
    const good = status >>> 30 === 0;
    t.firstValue = { status: statusName(status), good, shape: good ? shapeOf(value) : 'none', from: 'subscription' };
    if (++seen >= expected) allSeen();
  };
  const counters: SourceCounters = { notifications: 0, overflowLost: 0, reconnects: 0, connectFailures: 0, identityRejected: 0, certificateRejected: 0, clientCertificateRejected: 0, tagsWithoutSourceTimestamp: 0, tagsWithoutTimestamp: 0, samplesTimedByServer: 0, samplesTimedByArrival: 0, watchdogResets: 0, monitoredItemsFailed: 0 };
  const dispatcher = new SampleDispatcher(sink, counters, n, config.sampling.maxNotificationsPerPublish);
  const logger = collectingLogger(notes);
  let result;
  try {
    result = await subscribeTags({ session, config, maxItemsPerCall, dispatcher, logger, onLost: (reason) => notes.push(reason) });
  } catch (err) {
    dispatcher.open = false;
    return { perTag, calls: 0, itemsPerCall: 0, error: messageOf(err), notes, deleted: false };
  }
  const refused = new Map(result.failures.map((f) => [f.tag, f.status]));
  // Accepted items by NodeId: the configuration rules make every tag's node unique.
  const granted = new Map<string, number>();
  for (const item of Object.values(result.subscription.subscription.monitoredItems)) {
    if (item.statusCode.isGood()) granted.set(item.itemToMonitor.nodeId.toString(), item.monitoringParameters.samplingInterval);
  }
  config.tags.forEach((t, tag) => {
    const status = refused.get(tag);
    if (status !== undefined) return void (perTag[tag]!.monitored = { ok: false, status });
    const ms = granted.get(safeNodeId(t.nodeId));
    if (ms !== undefined) perTag[tag]!.monitored = { ok: true, revisedSamplingMs: ms };
  });
  expected = result.monitored;
  if (seen >= expected) allSeen();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([everyTag, new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]);
  clearTimeout(timer);
  dispatcher.open = false;
  // How the server timestamps each tag's samples (the collector's own rule, opcua/sample-time.ts).
  const lacking = dispatcher.timestampsLacking();
  const withoutAny = new Set(lacking.withoutAny);
  const withoutSource = new Set(lacking.withoutSource);
  perTag.forEach((t, tag) => {
    if (t.firstValue?.from === 'subscription') t.firstValue.timestamps = withoutAny.has(tag) ? 'none' : withoutSource.has(tag) ? 'server' : 'source';
  });
  result.subscription.detach();
  const deleted = await withTimeout(result.subscription.subscription.terminate(), DELETE_TIMEOUT_MS).then(
    () => true,
    (err: unknown) => (notes.push(`DeleteSubscriptions: ${messageOf(err)}`), false),
  );
  return { perTag, calls: result.calls, itemsPerCall: result.itemsPerCall, notes, deleted };
}

function safeNodeId(text: string): string {
  try {
    return resolveNodeId(text).toString();
  } catch {
    return text;
  }
}

let statusNames: Map<number, string> | undefined;

/** The name of a status code (`BadNodeIdUnknown`), its severity bits and info bits ignored. */
function statusName(status: number): string {
  statusNames ??= new Map(Object.values(StatusCodes).map((s) => [s.value, s.name]));
  const code = (status & 0xffff0000) >>> 0;
  return statusNames.get(code) ?? `0x${code.toString(16).padStart(8, '0')}`;
}

function collectingLogger(notes: string[]): Logger {
  const keep = (fields: Record<string, unknown>, msg: string): void => void notes.push(`${msg} ${JSON.stringify(fields)}`);
  return { debug: () => undefined, info: keep, warn: keep, error: keep };
}
