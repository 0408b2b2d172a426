// The nucleus's IPC rules in the local core, driven with the real aws-iot-device-sdk-v2 client over a
// real Unix socket: one validation listener per component, PublishToIoTCore's check order and IoT
// Core's topic rules, case-insensitive configuration keys, and the core's several MQTT connections.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { cancel } from 'aws-crt';
import { greengrasscoreipc } from 'aws-iot-device-sdk-v2';
import type { JsonObject } from '../harness/contracts';
import { LocalIpcServer } from '../harness/ipc/server';

type IpcClient = greengrasscoreipc.Client;
const QOS = greengrasscoreipc.model.QOS;
const TEST = { timeout: 20_000 };
const THING = 'gw-rules';
const COMPONENT = 'com.example.Rules';
const SVCUID = 'svcuid-rules';

const configuration: JsonObject = {
  site: { line: 'L1', cellId: 7 },
  publishIntervalMs: 1000,
  accessControl: {
    'aws.greengrass.ipc.mqttproxy': {
      'com.example.Rules:mqttproxy:1': {
        operations: ['aws.greengrass#PublishToIoTCore', 'aws.greengrass#SubscribeToIoTCore'],
        resources: ['plant/#', '$aws/rules/ingest/#', 'commands/#'],
      },
    },
    'aws.greengrass.ipc.pubsub': {
      'com.example.Rules:pubsub:1': { operations: ['aws.greengrass#SubscribeToTopic'], resources: ['local/x'] },
    },
  },
};

function options(ms = 5000): { cancelController: cancel.CancelController } {
  const cancelController = new cancel.CancelController();
  setTimeout(() => cancelController.cancel(), ms).unref();
  return { cancelController };
}

async function failure(p: Promise<unknown>): Promise<{ type: number; description: string; serviceError?: Record<string, unknown> }> {
  return p.then(
    (v) => assert.fail(`expected a rejection, got ${JSON.stringify(v)}`),
    (e: unknown) => e as { type: number; description: string; serviceError?: Record<string, unknown> },
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

describe('the nucleus\'s rules, with the real SDK client', () => {
  let dir: string;
  let server: LocalIpcServer;
  const clients: IpcClient[] = [];

  async function connect(): Promise<IpcClient> {
    process.env['AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT'] = server.socketPath;
    process.env['SVCUID'] = SVCUID;
    const client = greengrasscoreipc.createClient();
    clients.push(client);
    await client.connect();
    return client;
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gg-'));
    server = new LocalIpcServer({ socketPath: join(dir, 'ipc.sock'), thingName: THING });
    server.addComponent(COMPONENT, { svcuid: SVCUID, configuration });
    await server.listen();
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close().catch(() => undefined);
    server.setIotCorePolicy(undefined);
    await until('the closed streams reached the server', () => !server.hasValidationListener(COMPONENT));
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A validate stream that answers ACCEPTED and records the deployment ids it saw. */
  async function validator(client: IpcClient, seen: string[]) {
    const op = client.subscribeToValidateConfigurationUpdates({}, options());
    op.on('message', (m) => {
      const id = m.validateConfigurationUpdateEvent!.deploymentId;
      seen.push(id);
      const report = { deploymentId: id, status: greengrasscoreipc.model.ConfigurationValidityStatus.ACCEPTED };
      void client.sendConfigurationValidityReport({ configurationValidityReport: report }, options()).catch(() => undefined);
    });
    await op.activate();
    return op;
  }

  test('one validation listener per component: the first stream wins, and the close of any validate stream removes it', TEST, async () => {
    const a = await connect();
    const first: string[] = [];
    const second: string[] = [];
    const other: string[] = [];
    await validator(a, first);
    const op2 = await validator(a, second);
    const b = await connect(); // the same component on a second connection
    await validator(b, other);
    assert.deepEqual(await server.validateConfiguration(COMPONENT, 'd-1', { x: 1 }, 3000), { status: 'ACCEPTED' });
    await sleep(200); // a bound for events that must not come
    assert.deepEqual([first, second, other], [['d-1'], [], []], 'only the first stream hears of it');

    // Closing a stream of another operation changes nothing.
    const pubsub = a.subscribeToTopic({ topic: 'local/x' }, options());
    await pubsub.activate();
    await pubsub.close();
    assert.deepEqual(await server.validateConfiguration(COMPONENT, 'd-2', { x: 2 }, 3000), { status: 'ACCEPTED' });

    // Closing the ignored second stream removes the listener although the first is still open.
    await op2.close();
    await until('the listener is removed', () => !server.hasValidationListener(COMPONENT));
    assert.deepEqual(await server.validateConfiguration(COMPONENT, 'd-3', { x: 3 }, 500), { status: 'NO_SUBSCRIBER' });
    assert.deepEqual(first, ['d-1', 'd-2']);

    // A new subscription after that is the listener again (computeIfAbsent).
    const again: string[] = [];
    await validator(b, again);
    assert.deepEqual(await server.validateConfiguration(COMPONENT, 'd-4', { x: 4 }, 3000), { status: 'ACCEPTED' });
    assert.deepEqual(again, ['d-4']);
  });

  test('a dropped connection removes the listener; subscribing on the new connection restores it', TEST, async () => {
    const a = await connect();
    await validator(a, []);
    assert.equal(server.dropConnections(COMPONENT), 1);
    await until('the listener is removed', () => !server.hasValidationListener(COMPONENT));
    const b = await connect();
    const seen: string[] = [];
    await validator(b, seen);
    assert.deepEqual(await server.validateConfiguration(COMPONENT, 'd-5', {}, 3000), { status: 'ACCEPTED' });
    assert.deepEqual(seen, ['d-5']);
  });

  test('PublishToIoTCore checks in the nucleus\'s order: topic given, authorization, payload, QoS, size, topic rules', TEST, async () => {
    const c = await connect();
    const big = Buffer.alloc(128 * 1024 + 1);
    // Authorization comes before the payload and its size, and before the topic rules.
    for (const request of [
      { topicName: 'other/t', qos: QOS.AT_LEAST_ONCE },
      { topicName: 'other/t', qos: QOS.AT_LEAST_ONCE, payload: big },
      { topicName: '', qos: QOS.AT_LEAST_ONCE, payload: 'x' },
      { topicName: 'other/a/b/c/d/e/f/g/h', qos: '2' as greengrasscoreipc.model.QOS, payload: 'x' },
    ]) {
      const e = await failure(c.publishToIoTCore(request, options()));
      assert.equal(e.serviceError?.['_errorCode'], 'UnauthorizedError', JSON.stringify(request.topicName));
      assert.equal(e.serviceError?.['message'], 'Not Authorized');
    }
    // Payload and QoS (InvalidArgumentsError, a shape PublishToIoTCore does not model) before the size.
    for (const request of [
      { topicName: 'plant/t', qos: QOS.AT_LEAST_ONCE },
      { topicName: 'plant/t', qos: '2' as greengrasscoreipc.model.QOS, payload: big },
    ]) {
      const e = await failure(c.publishToIoTCore(request, options()));
      assert.equal(e.description, "Unexpected response shape received: 'aws.greengrass#InvalidArgumentsError'");
    }
    // The size before the topic rules.
    const tooBig = await failure(c.publishToIoTCore({ topicName: 'plant/a/b/c/d/e/f/g/h', qos: QOS.AT_LEAST_ONCE, payload: big }, options()));
    assert.equal(tooBig.serviceError?.['message'], 'Publish to topic plant/a/b/c/d/e/f/g/h failed: The publishing message size 131073 bytes exceeds the configured limit of 131072 bytes');
    assert.equal(server.iotCore.length, 0);
  });

  test('PublishToIoTCore enforces IoT Core\'s topic rules: at most 7 slashes and 256 characters, no wildcards', TEST, async () => {
    const c = await connect();
    const publish = (topicName: string) => c.publishToIoTCore({ topicName, qos: QOS.AT_MOST_ONCE, payload: 'x' }, options());
    const refused = async (topicName: string, reason: string) => {
      const e = await failure(publish(topicName));
      assert.equal(e.serviceError?.['_errorCode'], 'ServiceError');
      assert.equal(e.serviceError?.['message'], `Publish to topic ${topicName} failed: ${reason}`);
    };
    await publish('plant/a/b/c/d/e/f/g'); // 7 slashes
    await refused('plant/a/b/c/d/e/f/g/h', 'The request topic must have no more than 7 forward slashes (/)');
    const long = `plant/${'x'.repeat(250)}`; // 256 characters
    await publish(long);
    await refused(`${long}y`, 'The topic size of request must be no larger than 256 bytes of UTF-8 encoded characters. This excludes the first 3 mandatory segments for Basic Ingest topics ($AWS/rules/rule-name/)');
    await refused('plant/+/t', "Publish topics must not contain wildcard characters of '#' or '+'");
    // Basic Ingest: the rules apply to what follows $aws/rules/<rule>/.
    await publish('$aws/rules/ingest/a/b/c/d/e/f/g');
    assert.deepEqual(server.iotCore.map((r) => r.topicName), ['plant/a/b/c/d/e/f/g', long, '$aws/rules/ingest/a/b/c/d/e/f/g']);
    // The nucleus counts characters (Java's String.length) where IoT Core counts UTF-8 bytes: a topic of
    // 200 'é' passes the nucleus and is then refused by IoT Core, after PublishToIoTCore succeeded.
    const accented = `plant/${'é'.repeat(200)}`;
    await publish(accented);
    assert.deepEqual(server.iotCoreDropped.map((r) => r.topicName), [accented]);
    const sub = await failure(c.subscribeToIoTCore({ topicName: 'commands/a/b/c/d/e/f/g/h', qos: QOS.AT_LEAST_ONCE }, options()).activate());
    assert.match(String(sub.serviceError?.['message']), /^Subscribe to topic commands\/a\/b\/c\/d\/e\/f\/g\/h failed with error .*no more than 7 forward slashes/);
  });

  test('configuration keys are case-insensitive; the stored spelling comes back', TEST, async () => {
    const c = await connect();
    const leaf = await c.getConfiguration({ keyPath: ['SITE', 'LINE'] }, options());
    assert.deepEqual(leaf.value, { line: 'L1' });
    const node = await c.getConfiguration({ keyPath: ['Site'] }, options());
    assert.deepEqual(node.value, { line: 'L1', cellId: 7 });
    const events: string[][] = [];
    const op = c.subscribeToConfigurationUpdate({ keyPath: ['PUBLISHINTERVALMS'] }, options());
    op.on('message', (m) => events.push(m.configurationUpdateEvent!.keyPath));
    await op.activate();
    // A deployment that spells a key differently updates the node that is there.
    server.setConfiguration(COMPONENT, { ...configuration, PublishIntervalMS: 2000, SITE: { Line: 'L2', cellid: 7 } } as JsonObject);
    await until('the update event', () => events.length > 0);
    assert.deepEqual(events, [['publishIntervalMs']]);
    const all = (await c.getConfiguration({ keyPath: [] }, options())).value as JsonObject;
    assert.deepEqual([all['publishIntervalMs'], all['site']], [2000, { line: 'L2', cellId: 7 }]);
    assert.equal(Object.keys(all).some((k) => k === 'PublishIntervalMS' || k === 'SITE'), false);
    server.setConfiguration(COMPONENT, configuration);
  });

  test('several MQTT connections: a new one per 50 subscriptions, client ids <thing>#n, publishes round-robin; a policy hook drops some', TEST, async () => {
    const c = await connect();
    const release = server.holdCloudSubscriptions(Array.from({ length: 49 }, (_, i) => `held/${i}`));
    assert.deepEqual(server.mqttClientIds, [THING]);
    const s1 = c.subscribeToIoTCore({ topicName: 'commands/one', qos: QOS.AT_LEAST_ONCE }, options());
    await s1.activate();
    assert.deepEqual(server.mqttClientIds, [THING], '50 on the first connection');
    const s2 = c.subscribeToIoTCore({ topicName: 'commands/two', qos: QOS.AT_LEAST_ONCE }, options());
    await s2.activate();
    assert.deepEqual(server.mqttClientIds, [THING, `${THING}#2`], 'the 51st opens the second');
    const publish = (i: number) => c.publishToIoTCore({ topicName: `plant/m${i}`, qos: QOS.AT_LEAST_ONCE, payload: String(i) }, options());
    const from = server.iotCore.length;
    for (let i = 0; i < 4; i++) await publish(i);
    // Round-robin (the counter is the core's, so which connection comes first depends on earlier publishes).
    const ids = server.iotCore.slice(from).map((r) => r.clientId);
    assert.deepEqual([...new Set(ids)].sort(), [THING, `${THING}#2`]);
    assert.ok(ids.every((id, i) => i === 0 || id !== ids[i - 1]), `alternating: ${ids.join(', ')}`);

    // IoT Core refuses what a policy does not allow for a client id: PublishToIoTCore still succeeds.
    server.setIotCorePolicy((clientId) => clientId === THING);
    for (let i = 4; i < 8; i++) await publish(i);
    const delivered = server.iotCore.slice(from + 4);
    const dropped = server.iotCoreDropped.filter((r) => r.topicName.startsWith('plant/m'));
    assert.deepEqual([delivered.length, dropped.length], [2, 2]);
    assert.ok(delivered.every((r) => r.clientId === THING) && dropped.every((r) => r.clientId === `${THING}#2`));
    assert.deepEqual([...delivered, ...dropped].map((r) => r.topicName).sort(), ['plant/m4', 'plant/m5', 'plant/m6', 'plant/m7']);
    server.setIotCorePolicy(undefined);

    // With room on both connections again, the one without subscriptions is closed (MqttClient.getConnection).
    await s2.close();
    release();
    const before = server.iotCore.length;
    await publish(8);
    await publish(9);
    assert.deepEqual(server.iotCore.slice(before).map((r) => r.clientId), [THING, THING]);
    assert.deepEqual(server.mqttClientIds, [THING]);
    await s1.close();
  });
});
