// The Greengrass IPC edge: one connection to the nucleus through aws-iot-device-sdk-v2, kept alive.
//
// Two facts about the SDK shape this file (checked against aws-crt 1.33.1):
// - a request in flight when the socket drops never settles, so every call carries a
//   CancelController that fires after `callTimeoutMs` (a cancelled call rejects with a plain string);
// - a client can connect only once, so after a disconnection a new client is created, with backoff.
import { greengrasscoreipc } from 'aws-iot-device-sdk-v2';
import { cancel } from 'aws-crt';
import type { IotCorePublisher, LocalPubSub, LocalSubscription, Logger, PublishFailure } from './ports';

export type { LocalSubscription } from './ports';

type Client = greengrasscoreipc.Client;

/** How long one IPC call may take before it is abandoned and the connection is suspected. */
export const DEFAULT_IPC_CALL_TIMEOUT_MS = 10_000;

/** How long a GetSecretValue with `refresh: true` may take (the SecretManager retries its cloud call). */
export const REFRESH_SECRET_TIMEOUT_MS = 60_000;

/** What GetSecretValue answered: the secret's ARN and its string value (binary secrets are not read). */
export interface SecretValue {
  arn: string;
  secretString?: string;
  binary: boolean;
}

/** The nucleus's answers to PublishToIoTCore that holding the message and retrying can fix. */
const RETRYABLE_PUBLISH_FAILURES = [/spool is full/i, /device is offline/i, /configured to run offline/i];

export interface Backoff {
  next(): number;
  reset(): void;
}

export interface GreengrassIpcOptions {
  logger: Logger;
  backoff: Backoff;
  callTimeoutMs?: number;
  /** For tests: the SDK's createClient by default (reads the nucleus's environment variables). */
  createClient?: () => Client;
}

/** A publish the nucleus refused for a reason that retrying will not fix. */
export class PublishRejectedError extends Error implements PublishFailure {
  readonly retryable = false;
  constructor(
    readonly reason: string,
    readonly unauthorized: boolean,
  ) {
    super(reason);
    this.name = 'PublishRejectedError';
  }
}

/** The text of whatever an SDK call rejected with: an RpcError, an Error, or a plain string. */
export function describeIpcError(e: unknown): string {
  if (typeof e === 'string') return e;
  const err = e as { description?: string; serviceError?: { message?: string; _errorCode?: string }; message?: string };
  const service = err?.serviceError;
  if (service?.message) return service._errorCode ? `${service._errorCode}: ${service.message}` : service.message;
  return err?.description ?? err?.message ?? String(e);
}

interface TopicSubscription {
  topic: string;
  onMessage: (payload: Buffer) => void;
  closed: boolean;
  /** The SDK operation on the current connection, and its activation (which never rejects). */
  op?: ReturnType<Client['subscribeToTopic']>;
  activation?: Promise<boolean>;
  /** Settles `activated` (the first call wins). */
  firstAnswer: (ok: boolean) => void;
}

export class GreengrassIpc implements IotCorePublisher, LocalPubSub {
  private client: Client | undefined;
  private connecting: Promise<void> | undefined;
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly callTimeoutMs: number;
  private readonly create: () => Client;
  /** Called after every (re)connection, e.g. to re-subscribe to configuration updates. */
  onConnected: ((client: Client) => Promise<void> | void) | undefined;
  /** Successful connections after the first, counted across connectLoops (a reconnection starts a new one). */
  reconnects = 0;
  private everConnected = false;
  /** Calls in flight and the client they went out on: a lost connection cancels its calls at once. */
  private readonly inFlight = new Set<{ client: Client; cc: cancel.CancelController }>();
  /** Local pub/sub subscriptions, made again on every new connection. */
  private readonly subscriptions: TopicSubscription[] = [];

  constructor(private readonly opts: GreengrassIpcOptions) {
    this.callTimeoutMs = opts.callTimeoutMs ?? DEFAULT_IPC_CALL_TIMEOUT_MS;
    this.create = opts.createClient ?? (() => greengrasscoreipc.createClient());
  }

  get connected(): boolean {
    return this.client !== undefined && this.connecting === undefined;
  }

  /** Connects, retrying with backoff until it succeeds or close() is called. */
  connect(): Promise<void> {
    if (!this.connecting) {
      this.connecting = this.connectLoop().finally(() => (this.connecting = undefined));
    }
    return this.connecting;
  }

  private async connectLoop(): Promise<void> {
    while (!this.closed) {
      const client = this.create();
      try {
        // connect() itself has no timeout: a nucleus that accepts and never answers would hang it.
        await withTimeout(client.connect(), this.callTimeoutMs, 'connect to the Greengrass nucleus');
        client.on('disconnection', (ev) => this.disconnected(client, ev?.reason));
        this.client = client;
        this.opts.backoff.reset();
        if (this.everConnected) this.reconnects++;
        this.everConnected = true;
        this.opts.logger.info({ reconnects: this.reconnects }, 'connected to the Greengrass nucleus over IPC');
        // Not awaited: a subscription that never answers must not hold up publishing.
        for (const sub of this.subscriptions) sub.activation = this.activateSubscription(client, sub);
        Promise.resolve(this.onConnected?.(client)).catch((e) => this.opts.logger.warn({ error: describeIpcError(e) }, 'IPC set-up after connecting failed'));
        return;
      } catch (e) {
        void client.close().catch(() => undefined);
        const delay = this.opts.backoff.next();
        this.opts.logger.warn({ error: describeIpcError(e), retryInMs: delay }, 'cannot connect to the Greengrass nucleus over IPC');
        await sleep(delay);
      }
    }
  }

  private disconnected(client: Client, reason: unknown): void {
    if (this.client !== client || this.closed) return;
    this.client = undefined;
    this.opts.logger.warn({ reason: describeIpcError(reason) }, 'IPC connection to the Greengrass nucleus lost; reconnecting');
    // The SDK never settles a call that was in flight on the lost socket: give up on it now rather than
    // at its timeout, which would hold the publish queue for callTimeoutMs after the reconnection.
    for (const call of this.inFlight) if (call.client === client) call.cc.cancel();
    // The old connection is closed before the new one subscribes: the nucleus keeps one validation
    // listener per component and removes it when any of that component's validate streams closes, so
    // an old stream that closed after the new subscription would leave the component with none, and
    // deployments would apply unvalidated (ConfigStoreIPCEventStreamAgent).
    const delay = this.opts.backoff.next();
    const closedOld = withTimeout(client.close(), this.callTimeoutMs, 'close the lost IPC connection').catch(() => undefined);
    this.reconnectTimer = setTimeout(() => {
      void closedOld.then(() => {
        if (!this.closed) void this.connect();
      });
    }, delay);
  }

  /** The connected client, or a retryable failure. */
  private current(): Client {
    if (!this.client || this.closed) throw { retryable: true, reason: 'not connected to the Greengrass nucleus' } satisfies PublishFailure;
    return this.client;
  }

  /**
   * Runs one IPC call with a deadline (`timeoutMs`, default callTimeoutMs); a timed-out call drops the
   * connection (its socket is suspect).
   */
  async call<T>(
    what: string,
    op: (client: Client, options: { cancelController: cancel.CancelController }) => Promise<T>,
    timeoutMs: number = this.callTimeoutMs,
  ): Promise<T> {
    const client = this.current();
    const call = { client, cc: new cancel.CancelController() };
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      call.cc.cancel();
    }, timeoutMs);
    this.inFlight.add(call);
    try {
      return await op(client, { cancelController: call.cc });
    } catch (e) {
      if (call.cc.hasBeenCancelled()) {
        if (!timedOut) throw { retryable: true, reason: `${what} abandoned: the IPC connection was lost` } satisfies PublishFailure;
        this.opts.logger.warn({ call: what, timeoutMs }, 'IPC call timed out; reconnecting');
        this.disconnected(client, 'call timed out');
        throw { retryable: true, reason: `${what} timed out after ${timeoutMs} ms` } satisfies PublishFailure;
      }
      throw e;
    } finally {
      clearTimeout(timer);
      this.inFlight.delete(call);
    }
  }

  async publish(topic: string, payload: Buffer, qos: 0 | 1, retain = false): Promise<void> {
    try {
      await this.call('PublishToIoTCore', (c, o) =>
        c.publishToIoTCore(
          {
            topicName: topic,
            payload,
            qos: qos === 1 ? greengrasscoreipc.model.QOS.AT_LEAST_ONCE : greengrasscoreipc.model.QOS.AT_MOST_ONCE,
            retain,
          },
          o,
        ),
      );
    } catch (e) {
      if ((e as PublishFailure)?.retryable === true) throw e;
      const reason = describeIpcError(e);
      if (RETRYABLE_PUBLISH_FAILURES.some((r) => r.test(reason))) throw { retryable: true, reason } satisfies PublishFailure;
      // Only an answer from the nucleus can refuse a message for good. Anything the SDK raises on its
      // own side (client state, network, a connection closing before its disconnection event) says
      // nothing about the message: hold it and retry.
      if (!answeredByNucleus(e)) throw { retryable: true, reason } satisfies PublishFailure;
      const unauthorized = (e as { serviceError?: { _errorCode?: string } })?.serviceError?._errorCode === 'UnauthorizedError' || /not authorized/i.test(reason);
      throw new PublishRejectedError(reason, unauthorized);
    }
  }

  async publishToTopic(topic: string, payload: Buffer): Promise<void> {
    try {
      await this.call('PublishToTopic', (c, o) => c.publishToTopic({ topic, publishMessage: { binaryMessage: { message: payload } } }, o));
    } catch (e) {
      if ((e as PublishFailure)?.retryable === true) throw e;
      throw { retryable: !answeredByNucleus(e), reason: describeIpcError(e) } satisfies PublishFailure;
    }
  }

  /**
   * Subscribes to a local topic, on this connection and every later one. Returns what ends this one
   * subscription (e.g. when a live configuration update moves it to another topic): no message is
   * delivered once it is called, and the nucleus is told to close the stream.
   */
  subscribeToTopic(topic: string, onMessage: (payload: Buffer) => void): LocalSubscription {
    let firstAnswer!: (ok: boolean) => void;
    const activated = new Promise<boolean>((resolve) => (firstAnswer = resolve));
    const sub: TopicSubscription = { topic, onMessage, closed: false, firstAnswer };
    this.subscriptions.push(sub);
    if (this.client && !this.connecting) sub.activation = this.activateSubscription(this.client, sub);
    const close = async (): Promise<void> => {
      if (sub.closed) return;
      sub.closed = true;
      sub.firstAnswer(false);
      this.subscriptions.splice(this.subscriptions.indexOf(sub), 1);
      // An operation closed while it activates is dropped without telling the nucleus: let it finish.
      await sub.activation?.catch(() => undefined);
      const op = sub.op;
      sub.op = undefined;
      if (op) await withTimeout(op.close(), this.callTimeoutMs, `unsubscribe from ${topic}`).catch(() => undefined);
    };
    return { close, activated };
  }

  /** True once the nucleus accepted the subscription on `client`; false (logged) otherwise. Never rejects. */
  private async activateSubscription(client: Client, sub: TopicSubscription): Promise<boolean> {
    if (sub.closed) return false;
    // Messages this component publishes to the same topic are not wanted back.
    const op = client.subscribeToTopic({ topic: sub.topic, receiveMode: greengrasscoreipc.model.ReceiveMode.RECEIVE_MESSAGES_FROM_OTHERS });
    // The operation of an earlier connection is dead with its socket; only the newest one is closed.
    sub.op = op;
    op.on('message', (m) => {
      // The SDK emits on a later tick: a message already on its way when the subscription closed is dropped.
      if (sub.closed) return;
      const payload = toBuffer(m.binaryMessage?.message ?? (m.jsonMessage?.message === undefined ? undefined : JSON.stringify(m.jsonMessage.message)));
      if (payload) sub.onMessage(payload);
    });
    op.on('streamError', (e) => this.opts.logger.warn({ topic: sub.topic, error: describeIpcError(e) }, 'local subscription ended with an error'));
    try {
      await withTimeout(op.activate(), this.callTimeoutMs, `subscribe to ${sub.topic}`);
      sub.firstAnswer(true);
      return true;
    } catch (e) {
      const reason = describeIpcError(e);
      const unauthorized = /not authorized/i.test(reason);
      this.opts.logger.error(
        unauthorized
          ? { topic: sub.topic, reason, fix: `allow aws.greengrass#SubscribeToTopic on ${sub.topic} in the recipe's accessControl (aws.greengrass.ipc.pubsub)` }
          : { topic: sub.topic, reason },
        'cannot subscribe to a local topic',
      );
      sub.firstAnswer(false);
      return false;
    }
  }

  /**
   * Takes part in the nucleus's two-step configuration updates on `client` (call it from
   * onConnected): every validate event is answered with `validate`'s verdict (REJECTED carries the
   * message the deployment shows), and every applied change calls `onChanged`.
   */
  async serveConfigurationUpdates(
    client: Client,
    validate: (deploymentId: string, proposed: unknown) => { status: 'ACCEPTED' } | { status: 'REJECTED'; message: string },
    onChanged: () => void,
  ): Promise<void> {
    const validations = client.subscribeToValidateConfigurationUpdates({});
    validations.on('message', (m) => {
      const deploymentId = m.validateConfigurationUpdateEvent?.deploymentId ?? '';
      const verdict = validate(deploymentId, m.validateConfigurationUpdateEvent?.configuration ?? {});
      const status = verdict.status === 'ACCEPTED' ? greengrasscoreipc.model.ConfigurationValidityStatus.ACCEPTED : greengrasscoreipc.model.ConfigurationValidityStatus.REJECTED;
      void this.call('SendConfigurationValidityReport', (c, o) =>
        c.sendConfigurationValidityReport({ configurationValidityReport: { deploymentId, status, ...(verdict.status === 'REJECTED' ? { message: verdict.message } : {}) } }, o),
      ).catch((e) => this.opts.logger.warn({ deploymentId, error: describeIpcError(e) }, 'cannot report the validity of a configuration update'));
    });
    const updates = client.subscribeToConfigurationUpdate({ keyPath: [] });
    updates.on('message', () => onChanged());
    await Promise.all([
      validations.activate().catch((e) => this.opts.logger.warn({ error: describeIpcError(e) }, 'cannot subscribe to configuration validation')),
      updates.activate().catch((e) => this.opts.logger.warn({ error: describeIpcError(e) }, 'cannot subscribe to configuration updates')),
    ]);
  }

  async updateState(state: 'RUNNING' | 'ERRORED'): Promise<void> {
    await this.call('UpdateState', (c, o) =>
      c.updateState({ state: state === 'RUNNING' ? greengrasscoreipc.model.ReportedLifecycleState.RUNNING : greengrasscoreipc.model.ReportedLifecycleState.ERRORED }, o),
    );
  }

  /** The component's whole configuration namespace. */
  async getConfiguration(): Promise<unknown> {
    const r = await this.call('GetConfiguration', (c, o) => c.getConfiguration({ keyPath: [] }, o));
    return r.value ?? {};
  }

  /**
   * A secret from the aws.greengrass.SecretManager component: from its copy on the device, or, with
   * `refresh`, fetched from AWS Secrets Manager first (the component falls back to its copy when the
   * cloud cannot be reached). The value is returned, never logged; rejects with the SDK's error (an
   * RpcError with `serviceError._errorCode` ResourceNotFoundError / UnauthorizedError / ServiceError)
   * or a retryable PublishFailure (not connected, timed out).
   */
  async getSecretValue(secretId: string, opts: { refresh: boolean }): Promise<SecretValue> {
    // A refresh waits for the component's own calls to the cloud (it retries them), which can take
    // longer than a local answer when the uplink drops packets: allow for it rather than drop the connection.
    const timeoutMs = opts.refresh ? Math.max(this.callTimeoutMs, REFRESH_SECRET_TIMEOUT_MS) : this.callTimeoutMs;
    const r = await this.call('GetSecretValue', (c, o) => c.getSecretValue({ secretId, ...(opts.refresh ? { refresh: true } : {}) }, o), timeoutMs);
    const v = r.secretValue;
    return {
      arn: r.secretId,
      ...(v?.secretString !== undefined ? { secretString: v.secretString } : {}),
      binary: v?.secretBinary !== undefined,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = undefined;
    if (client) await withTimeout(client.close(), this.callTimeoutMs, 'close the IPC connection').catch(() => undefined);
  }
}

/** RpcErrorType values (aws-iot-device-sdk-v2 eventstream_rpc): the nucleus's modelled errors, and the
 * InternalError the client raises for a modelled error shape it does not expect (InvalidArgumentsError). */
const RPC_SERVICE_ERROR = 8;
const RPC_INTERNAL_ERROR = 3;

function answeredByNucleus(e: unknown): boolean {
  const err = e as { type?: number; description?: string; serviceError?: unknown };
  if (err?.type === RPC_SERVICE_ERROR || err?.serviceError !== undefined) return true;
  return err?.type === RPC_INTERNAL_ERROR && /Unexpected response shape received/.test(err.description ?? '');
}

function toBuffer(p: unknown): Buffer | undefined {
  if (p === undefined || p === null) return undefined;
  if (typeof p === 'string') return Buffer.from(p, 'utf8');
  if (Buffer.isBuffer(p)) return p;
  if (p instanceof ArrayBuffer) return Buffer.from(p);
  if (ArrayBuffer.isView(p)) return Buffer.from(p.buffer, p.byteOffset, p.byteLength);
  return undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms))),
  ]);
}
