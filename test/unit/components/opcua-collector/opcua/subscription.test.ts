// The subscription's signs of life, without a server: SampleDispatcher.onPublish (what a Publish
// response, data or keep-alive, tells the watchdog and the keep-alive points), the watchdog's rule,
// the keep-alive timing asked of the server, and subscribeTags wired to a stand-in session.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { type ClientSession, DataValue, StatusCodes } from 'node-opcua-client';
import { parseCollectorConfig } from '../../../../../components/opcua-collector/src/config';
import type { SourceCounters } from '../../../../../components/opcua-collector/src/ports';
import {
  type PublishMessage,
  SampleDispatcher,
  subscribeTags,
  subscriptionTiming,
  watchdogLastSignMs,
} from '../../../../../components/opcua-collector/src/opcua/subscription';
import { CapturedLog } from '../../../../harness/captured-log';
import { BASE_CONFIG } from '../config-fixture';

const NOW = 1_718_000_000_000;
/** The source's clock: 90 s behind the gateway's, so a mix-up between the two shows. */
const SERVER = NOW - 90_000;

function counters(): SourceCounters {
  return { notifications: 0, overflowLost: 0, reconnects: 0, connectFailures: 0, identityRejected: 0, certificateRejected: 0, clientCertificateRejected: 0, tagsWithoutSourceTimestamp: 0, tagsWithoutTimestamp: 0, samplesTimedByServer: 0, samplesTimedByArrival: 0, watchdogResets: 0, monitoredItemsFailed: 0 };
}

const keepAlive = (publishTimeMs: number): PublishMessage => ({ publishTime: new Date(publishTimeMs), notificationData: [] });
const dataChange = (publishTimeMs: number, items: number): PublishMessage => ({
  publishTime: new Date(publishTimeMs),
  notificationData: [{ monitoredItems: Array.from({ length: items }, (_, i) => ({ clientHandle: i })) }],
});
const good = (value: number, sourceTimeMs = SERVER): DataValue =>
  new DataValue({ value: { dataType: 'Double', value }, statusCode: StatusCodes.Good, sourceTimestamp: new Date(sourceTimeMs) });

function dispatcher(tags: number, maxNotificationsPerPublish = 0): { d: SampleDispatcher; samples: number[] } {
  const samples: number[] = [];
  const d = new SampleDispatcher((tag) => samples.push(tag), counters(), tags, maxNotificationsPerPublish);
  return { d, samples };
}

test('onPublish: data and keep-alives are signs of life in the gateway clock; a status change alone is not', () => {
  const { d } = dispatcher(1);
  d.onPublish(keepAlive(SERVER), NOW);
  assert.deepEqual([d.lastDataAtMs, d.lastAliveAtMs], [0, NOW]);
  d.onPublish(dataChange(SERVER + 500, 1), NOW + 500);
  assert.deepEqual([d.lastDataAtMs, d.lastAliveAtMs], [NOW + 500, NOW + 500]);
  d.onPublish({ publishTime: new Date(SERVER + 1_000), notificationData: [{ status: StatusCodes.BadTimeout }] }, NOW + 1_000);
  assert.deepEqual([d.lastDataAtMs, d.lastAliveAtMs], [NOW + 500, NOW + 500]);
  d.open = false; // stop(): nothing is recorded any more
  d.onPublish(keepAlive(SERVER + 1_500), NOW + 1_500);
  assert.equal(d.lastAliveAtMs, NOW + 500);
});

test('aliveAsOfMs: the arrival of the newest response, once every accepted item has reported, in the source clock', () => {
  const { d, samples } = dispatcher(3);
  // Items not all created yet (subscribeTags still running): a keep-alive vouches for nothing.
  d.onPublish(dataChange(0, 1), NOW);
  d.deliver(0, good(1, SERVER - 200)); // delivered 90.2 s after its source time: the clocks differ
  d.onPublish(keepAlive(0), NOW + 500);
  assert.ok(Number.isNaN(d.aliveAsOfMs));
  d.expectItems(2); // tag 2 was refused by the server: it never reports
  d.onPublish(keepAlive(0), NOW + 1_000);
  assert.ok(Number.isNaN(d.aliveAsOfMs), 'tag 1 has not reported its initial value');
  // The response carrying tag 1's initial value is processed before its values are delivered:
  // it does not vouch for them yet. The value is an hour old: a stale clue to the clock, not used.
  d.onPublish(dataChange(0, 1), NOW + 1_500);
  d.deliver(1, good(2, SERVER - 3_600_000));
  assert.ok(Number.isNaN(d.aliveAsOfMs));
  d.onPublish(keepAlive(0), NOW + 2_000);
  // The freshest clue: tag 0's sample, stamped SERVER - 200 and received at NOW.
  assert.equal(d.aliveAsOfMs, SERVER - 200 + 2_000);
  // A fresher one (50 ms delay) moves it forward at once.
  d.onPublish(dataChange(0, 1), NOW + 2_500);
  d.deliver(0, good(3, SERVER + 2_450));
  assert.equal(d.aliveAsOfMs, SERVER + 2_450);
  d.onPublish(keepAlive(0), NOW + 3_000);
  assert.equal(d.aliveAsOfMs, SERVER + 2_950);
  assert.deepEqual(samples, [0, 1, 0]);
});

test('aliveAsOfMs uses a publishTime when the server sends one, and a source clock ahead of the gateway\'s', () => {
  const { d } = dispatcher(1);
  d.expectItems(1);
  d.onPublish(dataChange(SERVER + 100, 1), NOW + 110);
  d.deliver(0, good(1, SERVER - 60_000)); // the last change was a minute ago
  d.onPublish(keepAlive(SERVER + 1_000), NOW + 1_010);
  assert.equal(d.aliveAsOfMs, SERVER + 1_000, 'publishTime, 10 ms before it arrived');
  d.onPublish(keepAlive(0), NOW + 2_010); // no publishTime this time: the gateway time elapsed counts
  assert.equal(d.aliveAsOfMs, SERVER + 2_000);
  // A PLC stamping in local time, 2 h ahead: the keep-alives follow its clock, the clock of its points.
  const plc = dispatcher(1).d;
  plc.expectItems(1);
  plc.onPublish(dataChange(0, 1), NOW);
  plc.deliver(0, good(1, NOW + 7_200_000 - 30));
  plc.onPublish(keepAlive(0), NOW + 1_000);
  assert.equal(plc.aliveAsOfMs, NOW + 7_200_000 + 970);
});

test('aliveAsOfMs ignores a possibly truncated response, a status change and a null publishTime', () => {
  const { d } = dispatcher(1, 4);
  d.expectItems(1);
  d.onPublish(dataChange(0, 1), NOW);
  d.deliver(0, good(1, SERVER - 100));
  d.onPublish(keepAlive(0), NOW + 500);
  assert.equal(d.aliveAsOfMs, SERVER + 400);
  // As long as maxNotificationsPerPublish: more may follow in the next response.
  d.onPublish(dataChange(0, 4), NOW + 1_000);
  assert.equal(d.aliveAsOfMs, SERVER + 400);
  assert.equal(d.lastDataAtMs, NOW + 1_000);
  d.onPublish(dataChange(0, 3), NOW + 1_100);
  assert.equal(d.aliveAsOfMs, SERVER + 1_000);
  d.onPublish({ publishTime: null, notificationData: [{ monitoredItems: [] }, { status: StatusCodes.GoodSubscriptionTransferred }] }, NOW + 1_200);
  assert.equal(d.aliveAsOfMs, SERVER + 1_000);
  // OPC UA's null DateTime (1601), none, or not a date: no clue, the samples' still holds.
  for (const publishTime of [new Date(Date.UTC(1601, 0, 1)), new Date(0), null, undefined, new Date(NaN)]) {
    d.onPublish({ publishTime, notificationData: [] }, NOW + 1_300);
    assert.equal(d.aliveAsOfMs, SERVER + 1_200, String(publishTime));
  }
  assert.equal(d.lastAliveAtMs, NOW + 1_300);
});

test('watchdogLastSignMs: data first; then keep-alives count only where no data is expected', () => {
  const connectedAt = NOW;
  // Keep-alives but no data yet: the items have not delivered their initial values.
  assert.equal(watchdogLastSignMs({ lastDataAtMs: 0, lastAliveAtMs: NOW + 9_000 }, connectedAt, false), NOW);
  assert.equal(watchdogLastSignMs({ lastDataAtMs: 0, lastAliveAtMs: NOW + 9_000 }, connectedAt, true), NOW);
  // rms tags: a keep-alive does not make up for missing data.
  assert.equal(watchdogLastSignMs({ lastDataAtMs: NOW + 1_000, lastAliveAtMs: NOW + 30_000 }, connectedAt, true), NOW + 1_000);
  // Only deadband and change tags: a quiet plant is alive as long as keep-alives come.
  assert.equal(watchdogLastSignMs({ lastDataAtMs: NOW + 1_000, lastAliveAtMs: NOW + 30_000 }, connectedAt, false), NOW + 30_000);
  assert.equal(watchdogLastSignMs({ lastDataAtMs: NOW + 1_000, lastAliveAtMs: NOW + 1_000 }, connectedAt, false), NOW + 1_000);
});

test('subscriptionTiming: a keep-alive at least every 5 s and 3 times per watchdog timeout (never below 3 intervals); the lifetime stays about 30 s', () => {
  assert.deepEqual(subscriptionTiming(500, 15_000), { maxKeepAliveCount: 10, lifetimeCount: 60 });
  assert.deepEqual(subscriptionTiming(1_000, 15_000), { maxKeepAliveCount: 5, lifetimeCount: 30 });
  assert.deepEqual(subscriptionTiming(700, 15_000), { maxKeepAliveCount: 7, lifetimeCount: 48 });
  assert.deepEqual(subscriptionTiming(500, 6_000), { maxKeepAliveCount: 4, lifetimeCount: 60 });
  assert.deepEqual(subscriptionTiming(500, 4_500), { maxKeepAliveCount: 3, lifetimeCount: 60 });
  // The shortest timeout the config allows (2 publishing intervals): node-opcua's floor of 3
  // intervals; the source warns that keep-alives cannot satisfy it.
  assert.deepEqual(subscriptionTiming(500, 1_000), { maxKeepAliveCount: 3, lifetimeCount: 60 });
  assert.deepEqual(subscriptionTiming(10_000, 20_000), { maxKeepAliveCount: 3, lifetimeCount: 9 });
});

/** A session whose server accepts every item but those named in `refuse`; keeps what it was asked. */
class FakeSession {
  readonly subscription = Object.assign(new EventEmitter(), {
    publishingInterval: 500,
    maxKeepAliveCount: 0,
    requested: [] as unknown[],
    monitorItems: async (items: { nodeId: { toString(): string } }[]) => {
      const group = Object.assign(new EventEmitter(), {
        monitoredItems: items.map((it) => ({ statusCode: this.refuse.has(it.nodeId.toString()) ? StatusCodes.BadNodeIdUnknown : StatusCodes.Good })),
      });
      this.groups.push(group);
      return group;
    },
  });
  readonly groups: EventEmitter[] = [];
  constructor(private readonly refuse: Set<string>) {}
  async createSubscription2(options: { requestedMaxKeepAliveCount: number }): Promise<unknown> {
    this.subscription.requested.push(options);
    this.subscription.maxKeepAliveCount = options.requestedMaxKeepAliveCount * 2; // the server revises it
    return this.subscription;
  }
}

test('subscribeTags: asks for the keep-alive timing, reports the revised period, and wires Publish responses to the dispatcher', async () => {
  const config = parseCollectorConfig({
    ...structuredClone(BASE_CONFIG),
    tags: [
      { name: 'Temp01', nodeId: 'ns=3;s=Temp01', mode: 'deadband', deadband: { absolute: 0.5 } },
      { name: 'Run01', nodeId: 'ns=3;s=Run01', mode: 'change' },
      { name: 'Gone', nodeId: 'ns=3;s=Gone', mode: 'change' },
    ],
    sampling: { publishingIntervalMs: 500 },
    watchdog: { noDataTimeoutMs: 6_000 },
  });
  const session = new FakeSession(new Set(['ns=3;s=Gone']));
  const { d, samples } = dispatcher(3);
  const r = await subscribeTags({ session: session as unknown as ClientSession, config, maxItemsPerCall: 0, dispatcher: d, logger: new CapturedLog(), onLost: () => {} });
  assert.equal(r.monitored, 2);
  assert.deepEqual(r.failures.map((f) => f.tag), [2]);
  assert.deepEqual(session.subscription.requested, [
    {
      requestedPublishingInterval: 500,
      requestedMaxKeepAliveCount: 4,
      requestedLifetimeCount: 60,
      maxNotificationsPerPublish: 1_000,
      publishingEnabled: true,
      priority: 1,
    },
  ]);
  assert.equal(r.keepAliveMs, 500 * 8, 'as the server revised it');
  // Initial values of the two accepted items, then a keep-alive that vouches for both.
  const group = session.groups[0]!;
  session.subscription.emit('raw_notification', dataChange(0, 2));
  group.emit('changed', {}, good(20), 0);
  group.emit('changed', {}, good(1), 1);
  assert.ok(Number.isNaN(d.aliveAsOfMs));
  session.subscription.emit('raw_notification', keepAlive(Date.now() - 5));
  assert.deepEqual(samples, [0, 1]);
  assert.ok(d.lastDataAtMs > 0 && d.lastAliveAtMs >= d.lastDataAtMs);
  assert.ok(Math.abs(d.aliveAsOfMs - Date.now()) < 1_000, 'the publishTime, shifted by the time since it arrived');
});
