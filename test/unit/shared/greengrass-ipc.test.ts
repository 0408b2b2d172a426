// GreengrassIpc against a fake SDK client: reconnection counting, what happens to a call in flight when
// the connection is lost, which PublishToIoTCore answers are retryable, and closing one local
// subscription. No socket, no nucleus.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { greengrasscoreipc } from 'aws-iot-device-sdk-v2';
import type { cancel } from 'aws-crt';
import { GreengrassIpc, PublishRejectedError } from '../../../shared/edge/greengrass-ipc';
import type { Logger, PublishFailure } from '../../../shared/edge/ports';

const quiet: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/**
 * What the SDK client does that matters here: connect, emit 'disconnection', and a PublishToIoTCore
 * that settles only as `answer` says, or (the default) never, like a call on a dropped socket; a
 * cancelled call rejects with a plain string, as the SDK's does.
 */
class FakeClient extends EventEmitter {
  answer: (() => Promise<unknown>) | undefined;
  async connect(): Promise<void> {}
  async close(): Promise<void> {}
  publishToIoTCore(_request: unknown, options: { cancelController: cancel.CancelController }): Promise<unknown> {
    return new Promise((resolve, reject) => {
      options.cancelController.addListener(() => reject('Eventstream execute() cancelled by user request'));
      this.answer?.().then(resolve, reject);
    });
  }
  drop(): void {
    this.emit('disconnection', { reason: 'aws-c-io: AWS_IO_SOCKET_CLOSED, socket is closed.' });
  }
  readonly topicOps: FakeSubscription[] = [];
  subscribeToTopic(request: { topic: string }): FakeSubscription {
    const op = new FakeSubscription(request.topic);
    this.topicOps.push(op);
    return op;
  }
}

/** A SubscribeToTopic operation: activates when told to, and records whether it was closed. */
class FakeSubscription extends EventEmitter {
  closed = false;
  activated = false;
  private activateNow: (() => void) | undefined;
  private refuseNow: ((e: unknown) => void) | undefined;
  constructor(readonly topic: string) {
    super();
  }
  activate(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.activateNow = () => ((this.activated = true), resolve());
      this.refuseNow = reject;
    });
  }
  refuseActivation(description: string): void {
    this.refuseNow?.({ description });
  }
  finishActivation(): void {
    this.activateNow?.();
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  deliver(text: string): void {
    // The SDK emits messages on a later tick, as here.
    setImmediate(() => this.emit('message', { binaryMessage: { message: Buffer.from(text) } }));
  }
}

function rig(logger: Logger = quiet) {
  const clients: FakeClient[] = [];
  const ipc = new GreengrassIpc({
    logger,
    backoff: { next: () => 1, reset: () => {} },
    callTimeoutMs: 5_000,
    createClient: () => {
      const c = new FakeClient();
      clients.push(c);
      return c as unknown as greengrasscoreipc.Client;
    },
  });
  return { ipc, clients };
}

async function until(pred: () => boolean): Promise<void> {
  for (let i = 0; !pred(); i++) {
    if (i > 200) assert.fail('condition not reached within 1 s');
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('each reconnection after a lost connection is counted, with a new client each time', async () => {
  const { ipc, clients } = rig();
  try {
    await ipc.connect();
    assert.equal(ipc.reconnects, 0);
    for (const n of [1, 2]) {
      clients.at(-1)!.drop();
      assert.equal(ipc.connected, false);
      await until(() => ipc.connected);
      assert.equal(ipc.reconnects, n);
      assert.equal(clients.length, n + 1);
    }
  } finally {
    await ipc.close();
  }
});

test('a publish in flight when the connection is lost fails at once as retryable, not at its timeout', async () => {
  const { ipc, clients } = rig();
  try {
    await ipc.connect();
    const started = Date.now();
    const inFlight = ipc.publish('conduit/gw/telemetry', Buffer.from('x'), 1);
    clients[0]!.drop();
    await assert.rejects(inFlight, (e: PublishFailure) => e.retryable === true && /connection was lost/.test(e.reason));
    assert.ok(Date.now() - started < 1_000, `rejected after ${Date.now() - started} ms`);
    await until(() => ipc.connected);
    clients[1]!.answer = async () => ({});
    await ipc.publish('conduit/gw/telemetry', Buffer.from('x'), 1);
  } finally {
    await ipc.close();
  }
});

test("the nucleus's answers: spool full is retryable, unauthorized is fatal, anything else is a permanent rejection", async () => {
  const { ipc, clients } = rig();
  const serviceError = (message: string, code = 'ServiceError') => async () => {
    throw { serviceError: { message, _errorCode: code } };
  };
  try {
    await ipc.connect();
    const client = clients[0]!;
    client.answer = serviceError('Publish to topic t failed: Message spool is full. Message could not be added.');
    await assert.rejects(ipc.publish('t', Buffer.from('x'), 1), (e: PublishFailure) => e.retryable === true && /spool is full/.test(e.reason));

    client.answer = serviceError('Principal conduit.OpcUaCollector is not authorized to perform aws.greengrass#PublishToIoTCore on resource t', 'UnauthorizedError');
    await assert.rejects(ipc.publish('t', Buffer.from('x'), 1), (e: unknown) => e instanceof PublishRejectedError && e.unauthorized);

    client.answer = serviceError('Publish to topic t failed: The publishing message size 140000 bytes exceeds the configured limit of 131072 bytes');
    await assert.rejects(ipc.publish('t', Buffer.from('x'), 1), (e: unknown) => e instanceof PublishRejectedError && !e.unauthorized && /exceeds/.test(e.reason));
    assert.equal(ipc.connected, true, 'an answer from the nucleus does not drop the connection');
  } finally {
    await ipc.close();
  }
});

test('an error raised on the SDK side, not by the nucleus, never discards the message: it is retryable', async () => {
  const { ipc, clients } = rig();
  try {
    await ipc.connect();
    const client = clients[0]!;
    // RpcErrorType 4 ClientStateError and 5 NetworkError, as the SDK raises them on a closing connection.
    for (const e of [
      { type: 4, description: 'New streams may only be created while the client is connected' },
      { type: 5, description: 'RpcClient.connect() failed - connection closed' },
      new Error('socket hang up'),
    ]) {
      client.answer = async () => {
        throw e;
      };
      await assert.rejects(ipc.publish('t', Buffer.from('x'), 1), (x: PublishFailure) => x.retryable === true && !(x instanceof PublishRejectedError));
    }
    // The client's own complaint about a modelled error it did not expect is still the nucleus answering.
    client.answer = async () => {
      throw { type: 3, description: "Unexpected response shape received: 'aws.greengrass#InvalidArgumentsError'" };
    };
    await assert.rejects(ipc.publish('t', Buffer.from('x'), 1), (x: unknown) => x instanceof PublishRejectedError);
  } finally {
    await ipc.close();
  }
});

test('closing one subscription ends its stream once activated, stops its messages, and keeps it closed across reconnections', async () => {
  const { ipc, clients } = rig();
  try {
    await ipc.connect();
    const got: string[] = [];
    const old = ipc.subscribeToTopic('put/old', (p) => got.push(`old:${p.toString()}`));
    const fresh = ipc.subscribeToTopic('put/new', (p) => got.push(`new:${p.toString()}`));
    const [oldOp, newOp] = clients[0]!.topicOps;
    oldOp!.deliver('1');
    await until(() => got.length === 1);
    // Closed while its activation is pending: the stream is ended only once the nucleus answered.
    const closing = old.close();
    oldOp!.deliver('2');
    await new Promise((r) => setImmediate(r));
    assert.equal(oldOp!.closed, false);
    oldOp!.finishActivation();
    newOp!.finishActivation();
    await closing;
    assert.equal(await fresh.activated, true, 'the nucleus accepted the new subscription');
    assert.equal(await old.activated, false, 'closed before its activation was answered');
    assert.equal(oldOp!.closed, true);
    assert.equal(newOp!.closed, false);
    oldOp!.deliver('3');
    newOp!.deliver('4');
    await until(() => got.length === 2);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(got, ['old:1', 'new:4'], 'nothing from the closed subscription once closing began');
    await old.close(); // a second close is a no-op
    clients[0]!.drop();
    await until(() => ipc.connected);
    assert.deepEqual(clients[1]!.topicOps.map((op) => op.topic), ['put/new'], 'only the open subscription is made again');
    for (const op of clients[1]!.topicOps) op.finishActivation();
  } finally {
    await ipc.close();
  }
});

test('a subscription the nucleus refuses says so through `activated`, and the error names the accessControl fix', async () => {
  const errors: Record<string, unknown>[] = [];
  const { ipc, clients } = rig({ ...quiet, error: (fields) => void errors.push(fields) });
  try {
    // Subscribed before connecting: the answer comes with the first connection's activation.
    const sub = ipc.subscribeToTopic('plant/put', () => undefined);
    await ipc.connect();
    await until(() => clients[0]!.topicOps.length === 1);
    clients[0]!.topicOps[0]!.refuseActivation('Principal conduit.FirehoseSink is not authorized to perform aws.greengrass#SubscribeToTopic on resource plant/put');
    assert.equal(await sub.activated, false);
    assert.match(String(errors[0]?.fix), /allow aws\.greengrass#SubscribeToTopic on plant\/put/);
  } finally {
    await ipc.close();
  }
});

test('getSecretValue sends refresh only when asked, maps the answer, and gives a refresh longer than callTimeoutMs', async () => {
  const requests: unknown[] = [];
  const ipc = new GreengrassIpc({
    logger: quiet,
    backoff: { next: () => 1, reset: () => {} },
    callTimeoutMs: 50,
    createClient: () => {
      const c = new FakeClient() as FakeClient & { getSecretValue: unknown };
      // Answers after 100 ms, longer than callTimeoutMs: only a refresh may wait for it.
      c.getSecretValue = (request: unknown, options: { cancelController: cancel.CancelController }) =>
        new Promise((resolve, reject) => {
          requests.push(request);
          const timer = setTimeout(() => resolve({ secretId: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:s-AbCdEf', versionId: 'v', versionStage: ['AWSCURRENT'], secretValue: { secretString: '{"username":"u","password":"p"}' } }), 100);
          options.cancelController.addListener(() => {
            clearTimeout(timer);
            reject('Eventstream execute() cancelled by user request');
          });
        });
      return c as unknown as greengrasscoreipc.Client;
    },
  });
  await ipc.connect();
  const refreshed = await ipc.getSecretValue('s', { refresh: true });
  assert.deepEqual(refreshed, { arn: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:s-AbCdEf', secretString: '{"username":"u","password":"p"}', binary: false });
  const plain = await ipc.getSecretValue('s', { refresh: false }).then(
    () => assert.fail('a plain read is held to callTimeoutMs'),
    (e: PublishFailure) => e,
  );
  assert.deepEqual([plain.retryable, /timed out after 50 ms/.test(plain.reason)], [true, true]);
  assert.deepEqual(requests, [{ secretId: 's', refresh: true }, { secretId: 's' }]);
  await ipc.close();
});
