// The local IPC server driven by the real aws-iot-device-sdk-v2 client over a real Unix domain socket.
// Every SDK call carries a cancel timeout: a request can hang forever if a connection drops.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { cancel } from 'aws-crt';
import { greengrasscoreipc } from 'aws-iot-device-sdk-v2';
import type { IotCoreRecord, JsonObject, SecretStore, SecretVersion } from '../harness/contracts';
import { type Frame, FrameCodec, FrameReader, MessageType, type OutgoingFrame } from '../harness/ipc/frames';
import { LocalIpcServer } from '../harness/ipc/server';

type IpcClient = greengrasscoreipc.Client;
const QOS = greengrasscoreipc.model.QOS;

const CALL_TIMEOUT_MS = 5000;
const TEST = { timeout: 20000 };

const SENSOR = 'com.example.Sensor';
const SINK = 'com.example.Sink';
const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:plant/opcua-AbCdEf';
const OTHER_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:plant/other-XyZ123';
const UNCONFIGURED_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:plant/unlisted-QqQqQq';

const sensorConfiguration: JsonObject = {
  site: { line: 'L1', cell: { id: 7 } },
  publishIntervalMs: 1000,
  accessControl: {
    'aws.greengrass.ipc.mqttproxy': {
      'com.example.Sensor:mqttproxy:1': {
        operations: ['aws.greengrass#PublishToIoTCore'],
        resources: ['plant/+/telemetry', 'alarms/#', 'exact/topic'],
      },
      'com.example.Sensor:mqttproxy:2': { operations: ['*'], resources: ['commands/${*}/x'] },
    },
    'aws.greengrass.ipc.pubsub': {
      'com.example.Sensor:pubsub:1': {
        operations: ['aws.greengrass#PublishToTopic', 'aws.greengrass#SubscribeToTopic'],
        resources: ['local/*'],
      },
    },
    'aws.greengrass.SecretManager': {
      'com.example.Sensor:secrets:1': { operations: ['aws.greengrass#GetSecretValue'], resources: [SECRET_ARN] },
    },
  },
};

const sinkConfiguration: JsonObject = {
  accessControl: {
    'aws.greengrass.ipc.pubsub': {
      'com.example.Sink:pubsub:1': {
        operations: ['aws.greengrass#SubscribeToTopic'],
        resources: ['local/readings', 'local/+'],
      },
    },
  },
};

function secretVersion(arn: string, name: string, value: Partial<SecretVersion>): SecretVersion {
  return { arn, name, versionId: `v-${name}`, versionStages: ['AWSCURRENT'], createdDate: new Date(0), ...value };
}

/** What "the cloud" holds for plant/opcua, and whether the emulated SecretManager can reach it. */
const cloud = { value: '{"user":"u","password":"p"}', versionId: 'v-plant/opcua', reachable: true };

/** A two-secret store: names and ARNs both resolve; versions are ignored (one version each). */
const secrets: SecretStore = {
  fetchFromCloud(secretId) {
    if (!cloud.reachable) throw new Error('connect ECONNREFUSED');
    const v = this.resolve(secretId);
    if (!v) throw new Error("Secrets Manager can't find the specified secret.");
    return v;
  },
  resolve(secretId) {
    const all = [
      secretVersion(SECRET_ARN, 'plant/opcua', { secretString: cloud.value, versionId: cloud.versionId }),
      secretVersion(OTHER_SECRET_ARN, 'plant/other', { secretBinary: Buffer.from([1, 2, 3]) }),
      secretVersion(UNCONFIGURED_ARN, 'plant/unlisted', { secretString: 'x' }),
    ];
    return all.find((s) => s.arn === secretId || s.name === secretId);
  },
};

/** Runs one SDK call with a cancel controller that fires after `ms`. */
async function withDeadline<T>(call: (options: { cancelController: cancel.CancelController }) => Promise<T>, ms = CALL_TIMEOUT_MS): Promise<T> {
  const cancelController = new cancel.CancelController();
  const timer = setTimeout(() => cancelController.cancel(), ms);
  try {
    return await call({ cancelController });
  } finally {
    clearTimeout(timer);
  }
}

/** connect() has no cancel option and may never settle; race it against a timer. */
async function connectWithin<T>(promise: Promise<T>, ms = CALL_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ConnectAck within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves with the first `count` values `subscribe` produces, or rejects after `ms`. */
function collect<T>(count: number, subscribe: (push: (value: T) => void) => void, ms = CALL_TIMEOUT_MS): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const got: T[] = [];
    const timer = setTimeout(() => reject(new Error(`got ${got.length} of ${count} within ${ms} ms`)), ms);
    subscribe((value) => {
      got.push(value);
      if (got.length === count) {
        clearTimeout(timer);
        resolve(got);
      }
    });
  });
}

/** An RpcError's parts as the tests look at them. */
function rpcError(e: unknown): { type: number; description: string; serviceError?: Record<string, unknown> } {
  assert.ok(e instanceof Error, `expected an RpcError, got ${String(e)}`);
  return e as unknown as { type: number; description: string; serviceError?: Record<string, unknown> };
}

/** Creates a streaming operation and activates it within the deadline. */
async function activated<Op extends { activate(): Promise<unknown> }>(
  make: (options: { cancelController: cancel.CancelController }) => Op,
): Promise<Op> {
  let op: Op | undefined;
  await withDeadline(async (options) => {
    op = make(options);
    await op.activate();
  });
  return op!;
}

/** The rejection of `promise`, failing if it resolves. */
async function rejection(promise: Promise<unknown>): Promise<ReturnType<typeof rpcError>> {
  return rpcError(await promise.then((v) => assert.fail(`expected a rejection, got ${JSON.stringify(v)}`), (e: unknown) => e));
}

const ServiceErrorType = 8;

describe('local Greengrass IPC server with the real SDK client', () => {
  let dir: string;
  let socketPath: string;
  let server: LocalIpcServer;
  const clients: IpcClient[] = [];

  /** A client made the way a component makes it: from the environment the nucleus sets. */
  async function connectAs(svcuid: string): Promise<IpcClient> {
    process.env['AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT'] = socketPath;
    process.env['SVCUID'] = svcuid;
    const client = greengrasscoreipc.createClient();
    clients.push(client);
    await connectWithin(client.connect());
    return client;
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gg-'));
    socketPath = join(dir, 'ipc.sock');
    server = new LocalIpcServer({ socketPath, secrets });
    server.addComponent(SENSOR, { svcuid: 'svcuid-sensor', configuration: sensorConfiguration });
    server.addComponent(SINK, { svcuid: 'svcuid-sink', configuration: sinkConfiguration });
    server.setCloudSecrets([SECRET_ARN, OTHER_SECRET_ARN]);
    await server.listen();
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) await client.close().catch(() => undefined);
    server.setIotCorePublishFault(undefined);
  });

  after(async () => {
    await server.close();
    assert.equal(existsSync(socketPath), false, 'close() removes the socket file');
    rmSync(dir, { recursive: true, force: true });
    delete process.env['AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT'];
    delete process.env['SVCUID'];
  });

  test('a component connects with its SVCUID and the server reports it', TEST, async () => {
    const connected = new Promise<string>((resolve) => server.once('connect', resolve));
    await connectAs('svcuid-sensor');
    assert.equal(await connected, SENSOR);
  });

  test('a wrong SVCUID is refused', TEST, async () => {
    process.env['AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT'] = socketPath;
    process.env['SVCUID'] = 'not-a-token';
    const client = greengrasscoreipc.createClient();
    clients.push(client);
    const e = rpcError(await connectWithin(client.connect()).then(() => assert.fail('connected'), (err: unknown) => err));
    // The server closes right after the rejecting ConnectAck, so the client may see either (reference §3.3).
    assert.ok(e.type === 2 || e.type === 5, `RpcError type ${e.type}: ${e.description}`);
  });

  test('PublishToIoTCore is recorded with topic, payload bytes and QoS', TEST, async () => {
    const client = await connectAs('svcuid-sensor');
    const announced = new Promise<IotCoreRecord>((resolve) => server.once('iotCorePublish', resolve));
    const payload = Buffer.from([0x00, 0xff, 0x7b, 0x22, 0x80]);
    const before = server.iotCore.length;
    await withDeadline((o) => client.publishToIoTCore({ topicName: 'plant/L1/telemetry', qos: QOS.AT_LEAST_ONCE, payload, retain: true }, o));
    await withDeadline((o) => client.publishToIoTCore({ topicName: 'exact/topic', qos: QOS.AT_MOST_ONCE, payload: 'text' }, o));
    const [first, second] = server.iotCore.slice(before);
    assert.equal(first!.component, SENSOR);
    assert.equal(first!.topicName, 'plant/L1/telemetry');
    assert.equal(first!.qos, '1');
    assert.equal(first!.retain, true);
    assert.deepEqual(first!.payload, payload);
    assert.equal((await announced).topicName, 'plant/L1/telemetry');
    assert.deepEqual({ topic: second!.topicName, qos: second!.qos, text: second!.payload.toString() }, { topic: 'exact/topic', qos: '0', text: 'text' });
  });

  test('PublishToIoTCore outside the policy is refused as the nucleus refuses it', TEST, async () => {
    const client = await connectAs('svcuid-sensor');
    const e = await rejection(withDeadline((o) => client.publishToIoTCore({ topicName: 'plant/L1/other', qos: QOS.AT_LEAST_ONCE, payload: 'x' }, o)));
    assert.equal(e.type, ServiceErrorType);
    assert.equal(e.serviceError?.['_errorCode'], 'UnauthorizedError');
    assert.equal(e.serviceError?.['message'], 'Not Authorized');
    // A component without any mqttproxy policy is refused too.
    const sink = await connectAs('svcuid-sink');
    const e2 = await rejection(withDeadline((o) => sink.publishToIoTCore({ topicName: 'exact/topic', qos: QOS.AT_MOST_ONCE, payload: 'x' }, o)));
    assert.equal(e2.serviceError?.['_errorCode'], 'UnauthorizedError');
  });

  test('mqttproxy policies match + as one level, # as a subtree and its parent, ${*} as a literal *', TEST, async () => {
    const client = await connectAs('svcuid-sensor');
    const attempt = (topicName: string) =>
      withDeadline((o) => client.publishToIoTCore({ topicName, qos: QOS.AT_MOST_ONCE, payload: 'x' }, o)).then(
        () => 'allowed',
        (e: unknown) => String(rpcError(e).serviceError?.['_errorCode']),
      );
    const outcomes: Record<string, string> = {};
    for (const topic of ['plant/L2/telemetry', 'plant/L2/x/telemetry', 'alarms', 'alarms/a/b', 'alarmsX', 'commands/*/x', 'commands/a/x']) {
      outcomes[topic] = await attempt(topic);
    }
    assert.deepEqual(outcomes, {
      'plant/L2/telemetry': 'allowed',
      'plant/L2/x/telemetry': 'UnauthorizedError',
      alarms: 'allowed',
      'alarms/a/b': 'allowed',
      alarmsX: 'UnauthorizedError',
      'commands/*/x': 'allowed',
      'commands/a/x': 'UnauthorizedError',
    });
  });

  test('a payload over 128 KB gets the nucleus ServiceError; exactly 128 KB passes', TEST, async () => {
    const client = await connectAs('svcuid-sensor');
    await withDeadline((o) => client.publishToIoTCore({ topicName: 'exact/topic', qos: QOS.AT_LEAST_ONCE, payload: Buffer.alloc(131072, 1) }, o));
    const e = await rejection(
      withDeadline((o) => client.publishToIoTCore({ topicName: 'exact/topic', qos: QOS.AT_LEAST_ONCE, payload: Buffer.alloc(131073, 1) }, o)),
    );
    assert.equal(e.type, ServiceErrorType);
    assert.equal(e.serviceError?.['_errorCode'], 'ServiceError');
    assert.equal(
      e.serviceError?.['message'],
      'Publish to topic exact/topic failed: The publishing message size 131073 bytes exceeds the configured limit of 131072 bytes',
    );
  });

  test('an injected publish fault fails that publish with the nucleus wording', TEST, async () => {
    const client = await connectAs('svcuid-sensor');
    const seen: string[] = [];
    server.setIotCorePublishFault((topic, payload) => {
      seen.push(`${topic}:${payload.toString()}`);
      return payload.toString() === 'full' ? 'Message spool is full. Message could not be added.' : undefined;
    });
    const before = server.iotCore.length;
    const e = await rejection(withDeadline((o) => client.publishToIoTCore({ topicName: 'exact/topic', qos: QOS.AT_LEAST_ONCE, payload: 'full' }, o)));
    assert.equal(e.serviceError?.['_errorCode'], 'ServiceError');
    assert.equal(e.serviceError?.['message'], 'Publish to topic exact/topic failed: Message spool is full. Message could not be added.');
    await withDeadline((o) => client.publishToIoTCore({ topicName: 'exact/topic', qos: QOS.AT_LEAST_ONCE, payload: 'fine' }, o));
    assert.deepEqual(seen, ['exact/topic:full', 'exact/topic:fine']);
    assert.deepEqual(server.iotCore.slice(before).map((r) => r.payload.toString()), ['fine']);
  });

  test('SubscribeToIoTCore receives what the cloud delivers to a matching filter', TEST, async () => {
    const client = await connectAs('svcuid-sensor');
    const op = await activated((o) => client.subscribeToIoTCore({ topicName: 'commands/*/x', qos: QOS.AT_LEAST_ONCE }, o));
    const got = collect<greengrasscoreipc.model.IoTCoreMessage>(1, (push) => op.on('message', push));
    assert.equal(server.deliverFromIotCore('commands/other/x', Buffer.from('no')), 0);
    assert.equal(server.deliverFromIotCore('commands/*/x', Buffer.from([9, 8, 7])), 1);
    const [message] = await got;
    assert.equal(message!.message?.topicName, 'commands/*/x');
    assert.deepEqual(message!.message?.payload, Buffer.from([9, 8, 7]));
    const e = await rejection(withDeadline((o) => client.subscribeToIoTCore({ topicName: 'plant/#', qos: QOS.AT_MOST_ONCE }, o).activate()));
    assert.equal(e.serviceError?.['_errorCode'], 'UnauthorizedError');
  });

  test('PublishToTopic reaches another component with json and binary messages', TEST, async () => {
    const sensor = await connectAs('svcuid-sensor');
    const sink = await connectAs('svcuid-sink');
    const exact = await activated((o) => sink.subscribeToTopic({ topic: 'local/readings' }, o));
    const wildcard = await activated((o) => sink.subscribeToTopic({ topic: 'local/+' }, o));
    const own = await activated((o) =>
      sensor.subscribeToTopic({ topic: 'local/readings', receiveMode: greengrasscoreipc.model.ReceiveMode.RECEIVE_MESSAGES_FROM_OTHERS }, o),
    );
    const ownMessages: unknown[] = [];
    own.on('message', (m) => ownMessages.push(m));
    const exactMessages = collect<greengrasscoreipc.model.SubscriptionResponseMessage>(2, (push) => exact.on('message', push));
    const wildcardMessages = collect<greengrasscoreipc.model.SubscriptionResponseMessage>(2, (push) => wildcard.on('message', push));

    await withDeadline((o) => sensor.publishToTopic({ topic: 'local/readings', publishMessage: { jsonMessage: { message: { v: 1.5, tag: 'T1' } } } }, o));
    await withDeadline((o) => sensor.publishToTopic({ topic: 'local/readings', publishMessage: { binaryMessage: { message: Buffer.from([1, 2, 3]) } } }, o));

    const [json, binary] = await exactMessages;
    assert.deepEqual(json!.jsonMessage?.message, { v: 1.5, tag: 'T1' });
    assert.equal(json!.jsonMessage?.context?.topic, 'local/readings');
    assert.deepEqual(binary!.binaryMessage?.message, Buffer.from([1, 2, 3]));
    assert.equal(binary!.binaryMessage?.context?.topic, 'local/readings');
    const viaWildcard = await wildcardMessages;
    assert.equal(viaWildcard[0]!.jsonMessage?.context?.topic, 'local/readings', 'context.topic is the published topic');
    assert.deepEqual(ownMessages, [], 'RECEIVE_MESSAGES_FROM_OTHERS skips the publisher itself');
  });

  test('pubsub authorization is STANDARD: only * is a wildcard, and the nucleus text comes back', TEST, async () => {
    const sensor = await connectAs('svcuid-sensor');
    const sink = await connectAs('svcuid-sink');
    const e = await rejection(withDeadline((o) => sensor.publishToTopic({ topic: 'remote/x', publishMessage: { jsonMessage: { message: {} } } }, o)));
    assert.equal(e.type, ServiceErrorType);
    assert.equal(e.serviceError?.['_errorCode'], 'UnauthorizedError');
    assert.equal(
      e.serviceError?.['message'],
      'Principal com.example.Sensor is not authorized to perform aws.greengrass.ipc.pubsub:aws.greengrass#PublishToTopic on resource remote/x',
    );
    // The Sink's policy lists `local/+` literally: that filter is allowed, `local/#` is not, and it may not publish.
    const e2 = await rejection(withDeadline((o) => sink.subscribeToTopic({ topic: 'local/#' }, o).activate()));
    assert.equal(e2.serviceError?.['_errorCode'], 'UnauthorizedError');
    const e3 = await rejection(withDeadline((o) => sink.publishToTopic({ topic: 'local/readings', publishMessage: { jsonMessage: { message: {} } } }, o)));
    assert.match(String(e3.serviceError?.['message']), /^Principal com\.example\.Sink is not authorized/);
  });

  test('GetConfiguration returns the whole, an interior node, a wrapped leaf, or Key not found', TEST, async () => {
    const client = await connectAs('svcuid-sensor');
    const get = (keyPath: string[], componentName?: string) =>
      withDeadline((o) => client.getConfiguration(componentName === undefined ? { keyPath } : { keyPath, componentName }, o));
    const whole = await get([]);
    assert.equal(whole.componentName, SENSOR);
    assert.deepEqual(whole.value, sensorConfiguration);
    assert.deepEqual((await get(['site'])).value, { line: 'L1', cell: { id: 7 } });
    assert.deepEqual((await get(['site', 'cell', 'id'])).value, { id: 7 });
    assert.deepEqual((await get([], SINK)).value, sinkConfiguration, "another component's configuration is readable");
    const e = await rejection(get(['site', 'nope']));
    assert.equal(e.type, ServiceErrorType);
    assert.equal(e.serviceError?.['_errorCode'], 'ResourceNotFoundError');
    assert.equal(e.serviceError?.['message'], 'Key not found');
  });

  test('SubscribeToConfigurationUpdate hears one event per changed node under its key path', TEST, async () => {
    const client = await connectAs('svcuid-sensor');
    const op = await activated((o) => client.subscribeToConfigurationUpdate({ keyPath: ['site'] }, o));
    const events = collect<greengrasscoreipc.model.ConfigurationUpdateEvents>(2, (push) => op.on('message', push));
    const updated = structuredClone(sensorConfiguration) as { site: { line: string; cell: JsonObject }; publishIntervalMs: number };
    updated.site.line = 'L2';
    updated.site.cell['name'] = 'press';
    updated.publishIntervalMs = 500;
    try {
      server.setConfiguration(SENSOR, updated as unknown as JsonObject);
      const got = (await events).map((e) => e.configurationUpdateEvent);
      assert.deepEqual(
        got.map((e) => ({ componentName: e?.componentName, keyPath: e?.keyPath })).sort((a, b) => String(a.keyPath).localeCompare(String(b.keyPath))),
        [
          { componentName: SENSOR, keyPath: ['site', 'cell', 'name'] },
          { componentName: SENSOR, keyPath: ['site', 'line'] },
        ],
      );
      const now = await withDeadline((o) => client.getConfiguration({ keyPath: ['site', 'line'] }, o));
      assert.deepEqual(now.value, { line: 'L2' });
    } finally {
      server.setConfiguration(SENSOR, sensorConfiguration);
    }
  });

  test('validation round trip: ACCEPTED, REJECTED with a message, TIMEOUT, NO_SUBSCRIBER', TEST, async () => {
    const client = await connectAs('svcuid-sensor');
    const op = await activated((o) => client.subscribeToValidateConfigurationUpdates({}, o));
    const answers: Record<string, { status: 'ACCEPTED' | 'REJECTED'; message?: string } | undefined> = {
      'd-ok': { status: 'ACCEPTED' },
      'd-bad': { status: 'REJECTED', message: 'publishIntervalMs must be >= 100' },
      'd-silent': undefined,
    };
    const seen: JsonObject[] = [];
    op.on('message', (event) => {
      const e = event.validateConfigurationUpdateEvent!;
      seen.push(e.configuration as JsonObject);
      const answer = answers[e.deploymentId];
      if (answer === undefined) return;
      const report = { deploymentId: e.deploymentId, status: answer.status as greengrasscoreipc.model.ConfigurationValidityStatus, ...(answer.message ? { message: answer.message } : {}) };
      void withDeadline((o) => client.sendConfigurationValidityReport({ configurationValidityReport: report }, o));
    });
    assert.deepEqual(await server.validateConfiguration(SENSOR, 'd-ok', { publishIntervalMs: 200 }, 5000), { status: 'ACCEPTED' });
    assert.deepEqual(await server.validateConfiguration(SENSOR, 'd-bad', { publishIntervalMs: 5 }, 5000), {
      status: 'REJECTED',
      message: 'publishIntervalMs must be >= 100',
    });
    assert.deepEqual(await server.validateConfiguration(SENSOR, 'd-silent', {}, 200), { status: 'TIMEOUT' });
    assert.deepEqual(await server.validateConfiguration(SINK, 'd-x', {}, 200), { status: 'NO_SUBSCRIBER' });
    assert.deepEqual(seen[0], { publishIntervalMs: 200 });
    const e = await rejection(
      withDeadline((o) =>
        client.sendConfigurationValidityReport({ configurationValidityReport: { deploymentId: 'd-silent', status: greengrasscoreipc.model.ConfigurationValidityStatus.ACCEPTED } }, o),
      ),
    );
    assert.equal(e.serviceError?.['_errorCode'], 'InvalidArgumentsError');
    assert.equal(e.serviceError?.['message'], 'Validation request either timed out or was never made');
  });

  test('UpdateState is reported as stateChange', TEST, async () => {
    const client = await connectAs('svcuid-sensor');
    const changed = new Promise<[string, string]>((resolve) => server.once('stateChange', (c: string, s: string) => resolve([c, s])));
    await withDeadline((o) => client.updateState({ state: greengrasscoreipc.model.ReportedLifecycleState.ERRORED }, o));
    assert.deepEqual(await changed, [SENSOR, 'ERRORED']);
  });

  test('GetSecretValue: found by name, not configured, not authorized, version and stage together', TEST, async () => {
    const client = await connectAs('svcuid-sensor');
    const found = await withDeadline((o) => client.getSecretValue({ secretId: 'plant/opcua' }, o));
    assert.equal(found.secretId, SECRET_ARN);
    assert.equal(found.versionId, 'v-plant/opcua');
    assert.deepEqual(found.versionStage, ['AWSCURRENT']);
    assert.deepEqual(found.secretValue, { secretString: '{"user":"u","password":"p"}' });

    const notConfigured = await rejection(withDeadline((o) => client.getSecretValue({ secretId: UNCONFIGURED_ARN }, o)));
    assert.equal(notConfigured.serviceError?.['_errorCode'], 'ResourceNotFoundError');
    assert.equal(notConfigured.serviceError?.['message'], `Secret not configured ${UNCONFIGURED_ARN}`);

    const denied = await rejection(withDeadline((o) => client.getSecretValue({ secretId: 'plant/other' }, o)));
    assert.equal(denied.serviceError?.['_errorCode'], 'UnauthorizedError');
    assert.equal(
      denied.serviceError?.['message'],
      `Principal com.example.Sensor is not authorized to perform aws.greengrass.SecretManager:aws.greengrass#GetSecretValue on resource ${OTHER_SECRET_ARN}`,
    );

    const both = await rejection(withDeadline((o) => client.getSecretValue({ secretId: SECRET_ARN, versionId: 'v', versionStage: 'AWSCURRENT' }, o)));
    assert.equal(both.serviceError?.['_errorCode'], 'ServiceError');
    assert.equal(both.serviceError?.['message'], 'Both versionId and Stage are set in the request');
  });

  test('GetSecretValue answers from the device copy; refresh: true fetches the latest, and falls back to the copy offline', TEST, async () => {
    const client = await connectAs('svcuid-sensor');
    const read = async (refresh?: boolean) =>
      (await withDeadline((o) => client.getSecretValue({ secretId: 'plant/opcua', ...(refresh === undefined ? {} : { refresh }) }, o))).secretValue?.secretString;
    const original = { ...cloud };
    try {
      Object.assign(cloud, { value: '{"user":"u","password":"rotated"}', versionId: 'v-2' });
      assert.equal(await read(), original.value, 'the copy taken when cloudSecrets was deployed');
      assert.equal(await read(false), original.value);
      cloud.reachable = false;
      assert.equal(await read(true), original.value, 'a refresh that cannot reach the cloud answers from the copy');
      cloud.reachable = true;
      assert.equal(await read(true), cloud.value, 'refresh: the latest');
      assert.equal(await read(), cloud.value, 'and the copy was updated');
    } finally {
      Object.assign(cloud, original);
      server.setCloudSecrets([SECRET_ARN, OTHER_SECRET_ARN]);
    }
    assert.equal(await read(), original.value);
  });

  test('dropConnections makes the client see a disconnection', TEST, async () => {
    const client = await connectAs('svcuid-sink');
    const disconnected = new Promise<void>((resolve) => client.on('disconnection', () => resolve()));
    const serverSaw = new Promise<string>((resolve) => server.once('disconnect', resolve));
    assert.equal(server.dropConnections(SINK), 1);
    await connectWithin(disconnected);
    assert.equal(await serverSaw, SINK);
    const e = await rejection(withDeadline((o) => client.getConfiguration({ keyPath: [] }, o)));
    assert.equal(e.type, 4, 'ClientStateError: no new streams after a disconnection');
  });

  test('a QoS the nucleus does not know comes back as its InvalidArgumentsError', TEST, async () => {
    const client = await connectAs('svcuid-sensor');
    const e = await rejection(withDeadline((o) => client.publishToIoTCore({ topicName: 'exact/topic', qos: '2' as never, payload: 'x' }, o)));
    // InvalidArgumentsError is not among PublishToIoTCore's error shapes, so the client reports the shape itself.
    assert.equal(e.type, 3);
    assert.match(e.description, /Unexpected response shape received: 'aws\.greengrass#InvalidArgumentsError'/);
  });

  test('raw protocol: handshake, Ping, unknown operation, stream-id rules', TEST, async () => {
    const codec = new FrameCodec();
    const socket = createConnection(socketPath);
    const reader = new FrameReader();
    const frames: Frame[] = [];
    let wake: (() => void) | undefined;
    socket.on('data', (chunk: Buffer) => {
      for (const bytes of reader.push(chunk)) frames.push(codec.decode(bytes));
      wake?.();
    });
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    const next = async (): Promise<Frame> => {
      const deadline = Date.now() + CALL_TIMEOUT_MS;
      while (frames.length === 0) {
        if (Date.now() > deadline) throw new Error('no frame');
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 50);
        });
      }
      return frames.shift()!;
    };
    const send = (frame: OutgoingFrame) => socket.write(codec.encode(frame));
    try {
      send({ type: MessageType.Connect, flags: 0, streamId: 0, headers: { ':version': '0.1.0' }, payload: '{"authToken":"svcuid-sink"}' });
      const ack = await next();
      assert.deepEqual([ack.type, ack.flags, ack.streamId, ack.payload.length], [MessageType.ConnectAck, 1, 0, 0]);

      send({ type: MessageType.Ping, flags: 0, streamId: 0, headers: { echo: 'me' }, payload: 'hi' });
      const pong = await next();
      assert.equal(pong.type, MessageType.PingResponse);
      assert.equal(pong.headers.get('echo')?.value, 'me');
      assert.equal(pong.payload.toString(), 'hi');

      send({ type: MessageType.ApplicationMessage, flags: 0, streamId: 1, headers: { operation: 'aws.greengrass#Nope' }, payload: '{}' });
      const unsupported = await next();
      assert.deepEqual([unsupported.type, unsupported.flags, unsupported.streamId], [MessageType.ApplicationError, 2, 1]);
      assert.deepEqual(JSON.parse(unsupported.payload.toString()), {
        error: 'Unsupported Operation',
        message: 'aws.greengrass#Nope is an unsupported operation.',
      });

      send({ type: MessageType.ApplicationMessage, flags: 0, streamId: 2, headers: { operation: 'aws.greengrass#GetConfiguration' }, payload: '{"keyPath":[]}' });
      const response = await next();
      assert.equal(response.headers.get('service-model-type')?.value, 'aws.greengrass#GetConfigurationResponse');
      assert.equal(response.flags, 2);

      send({ type: MessageType.ApplicationMessage, flags: 0, streamId: 4, headers: { operation: 'aws.greengrass#GetConfiguration' }, payload: '{}' });
      const protocolError = await next();
      assert.equal(protocolError.type, MessageType.ProtocolError);
      assert.match(protocolError.payload.toString(), /incremented by more than 1/);
      await closed;
    } finally {
      socket.destroy();
    }
  });
});
