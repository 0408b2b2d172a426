// A local Greengrass nucleus IPC endpoint: the real eventstream-RPC protocol over a Unix domain socket,
// so that aws-iot-device-sdk-v2's greengrasscoreipc client talks to it as it talks to a nucleus.
// The nucleus state is in nucleus.ts, the protocol in connection.ts, the operations in *-operations.ts.

import { EventEmitter } from 'node:events';
import { lstatSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import type { IotCoreRecord, JsonObject, SecretStore, ValidationOutcome } from '../contracts';
import { type RejectedPolicy } from './authorization';
import { notifyConfigurationChanged } from './config-operations';
import { deepCopy } from './config-store';
import { type ConnectionHost, IpcConnection } from './connection';
import { FrameCodec } from './frames';
import { deliverFromIotCore } from './messaging-operations';
import type { CloudSubscription } from './mqtt-connections';
import { DEFAULT_MAX_IOT_CORE_PAYLOAD_BYTES, type IotCorePolicy, type IotCorePublishFault, Nucleus, type ValidityReport } from './nucleus';
import type { CloudSecret, EmulatedSecretManager } from './secret-operations';

/** sockaddr_un.sun_path is 108 bytes with the terminating NUL; Node silently truncates longer paths. */
const MAX_SOCKET_PATH_BYTES = 107;

export interface IpcServerOptions {
  socketPath: string;
  /** Backs GetSecretValue. */
  secrets?: SecretStore;
  /** The nucleus's mqtt.maxMessageSizeInBytes; default 131072. */
  maxIotCorePayloadBytes?: number;
  /** The thing name the core's MQTT client ids are made of (default `conduit-test-gateway`). */
  thingName?: string;
}

/**
 * Events: 'iotCorePublish' (IotCoreRecord), 'stateChange' (componentName, 'RUNNING' | 'ERRORED'),
 * 'connect' (componentName), 'disconnect' (componentName), and 'policyRejected' (componentName,
 * RejectedPolicy) for an accessControl policy the nucleus would refuse to load.
 */
export class LocalIpcServer extends EventEmitter {
  readonly socketPath: string;
  private readonly nucleus: Nucleus;
  private readonly connections = new Set<IpcConnection>();
  private readonly host: ConnectionHost;
  private server: Server | undefined;

  constructor(opts: IpcServerOptions) {
    super();
    if (Buffer.byteLength(opts.socketPath) > MAX_SOCKET_PATH_BYTES) {
      throw new RangeError(`socket path is ${Buffer.byteLength(opts.socketPath)} bytes; it must be under 108: ${opts.socketPath}`);
    }
    this.socketPath = opts.socketPath;
    this.nucleus = new Nucleus(
      {
        iotCorePublish: (record) => this.emit('iotCorePublish', record),
        stateChange: (component, state) => this.emit('stateChange', component, state),
      },
      opts.maxIotCorePayloadBytes ?? DEFAULT_MAX_IOT_CORE_PAYLOAD_BYTES,
      opts.secrets,
      opts.thingName ?? 'conduit-test-gateway',
    );
    this.host = {
      nucleus: this.nucleus,
      codec: new FrameCodec(),
      connected: (connection) => this.emit('connect', connection.component),
      disconnected: (connection) => {
        this.connections.delete(connection);
        if (connection.component !== undefined) this.emit('disconnect', connection.component);
      },
    };
  }

  /** Everything accepted by PublishToIoTCore and by IoT Core, in order. */
  get iotCore(): IotCoreRecord[] {
    return this.nucleus.iotCore;
  }

  /** Accepted by PublishToIoTCore, then refused by IoT Core's policy and dropped by the nucleus. */
  get iotCoreDropped(): IotCoreRecord[] {
    return this.nucleus.iotCoreDropped;
  }

  /** The client ids of the core's MQTT connections: `<thing>`, `<thing>#2`, … */
  get mqttClientIds(): string[] {
    return this.nucleus.mqtt.clientIds;
  }

  /**
   * Cloud subscriptions held on the core by something other than the components deployed here (the
   * nucleus's own deployment and shadow topics, other components): each distinct filter takes room on
   * a connection, 50 per connection, which is how a test gets the core to open `<thing>#2`, `#3`, …
   * Returns what releases them.
   */
  holdCloudSubscriptions(filters: string[]): () => void {
    const held: CloudSubscription[] = filters.map((f) => this.nucleus.mqtt.subscribe(f));
    return () => held.splice(0).forEach((s) => this.nucleus.mqtt.unsubscribe(s));
  }

  /**
   * IoT Core's policy hook: a publish it refuses (false) is recorded in `iotCoreDropped`, not `iotCore`,
   * although PublishToIoTCore succeeded. The policy document itself is evaluated elsewhere.
   */
  setIotCorePolicy(policy: IotCorePolicy | undefined): void {
    this.nucleus.iotCorePolicy = policy;
  }

  /** Whether a component has a validation listener now (ConfigStoreIPCEventStreamAgent). */
  hasValidationListener(name: string): boolean {
    return this.nucleus.validateSubscriptions.has(name);
  }

  async listen(): Promise<void> {
    if (this.server !== undefined) throw new Error('already listening');
    removeStaleSocket(this.socketPath);
    const server = createServer((socket) => this.connections.add(new IpcConnection(socket, this.host)));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
  }

  /** Ends every connection, stops listening and removes the socket file. */
  async close(): Promise<void> {
    for (const connection of this.connections) connection.destroy();
    const server = this.server;
    this.server = undefined;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(this.socketPath, { force: true });
  }

  /** A component the nucleus knows: its SVCUID and its `configuration` namespace (may hold accessControl). */
  addComponent(name: string, opts: { svcuid: string; configuration: JsonObject }): void {
    if (this.nucleus.isRegistered(name)) throw new Error(`component ${name} is already registered`);
    const owner = this.nucleus.componentForToken(opts.svcuid);
    if (owner !== undefined) throw new Error(`SVCUID of ${name} is already ${owner}'s`);
    this.nucleus.tokens.set(name, opts.svcuid);
    this.nucleus.configs.set(name, opts.configuration);
    this.loadPolicies(name, opts.configuration);
  }

  /** Its token stops working, its policies are gone and its connections are closed. */
  removeComponent(name: string): void {
    this.nucleus.tokens.delete(name);
    this.nucleus.configs.delete(name);
    this.nucleus.authorization.remove(name);
    this.nucleus.pendingValidations.delete(name);
    this.dropConnections(name);
  }

  getConfiguration(name: string): JsonObject {
    const configuration = this.nucleus.configs.get(name);
    if (configuration === undefined) throw new Error(`unknown component ${name}`);
    return configuration;
  }

  /**
   * Replaces the component's whole configuration (what a deployment's MERGE/RESET produced), re-reads
   * its accessControl and sends one ConfigurationUpdateEvent per changed node to the watchers.
   */
  setConfiguration(name: string, configuration: JsonObject): void {
    this.requireComponent(name);
    const changed = this.nucleus.configs.set(name, configuration);
    this.loadPolicies(name, configuration);
    notifyConfigurationChanged(this.nucleus, name, changed);
  }

  /**
   * Sends a ValidateConfigurationUpdateEvent to the component's validate subscribers and waits for the
   * SendConfigurationValidityReport that names `deploymentId`.
   */
  validateConfiguration(
    name: string,
    deploymentId: string,
    configuration: JsonObject,
    timeoutMs: number,
  ): Promise<ValidationOutcome> {
    this.requireComponent(name);
    const listener = this.nucleus.validateSubscriptions.get(name);
    if (listener === undefined) return Promise.resolve({ status: 'NO_SUBSCRIBER' });
    let pending = this.nucleus.pendingValidations.get(name);
    if (pending === undefined) this.nucleus.pendingValidations.set(name, (pending = new Map()));
    const waiting = pending;
    return new Promise<ValidationOutcome>((resolve) => {
      const settle = (outcome: ValidationOutcome): void => {
        clearTimeout(timer);
        if (waiting.get(deploymentId) === onReport) waiting.delete(deploymentId);
        resolve(outcome);
      };
      const onReport = (report: ValidityReport): void => settle(report);
      const timer = setTimeout(() => settle({ status: 'TIMEOUT' }), timeoutMs);
      waiting.set(deploymentId, onReport);
      const event = { validateConfigurationUpdateEvent: { deploymentId, configuration: deepCopy(configuration) } };
      listener.send(event);
    });
  }

  /**
   * A deployment of aws.greengrass.SecretManager's `cloudSecrets` (ARNs, or entries with labels): it
   * fetches them into its copy on the device now (secret-operations.ts EmulatedSecretManager).
   */
  setCloudSecrets(secrets: (string | CloudSecret)[]): void {
    this.nucleus.secretManager.configure(secrets.map((s) => (typeof s === 'string' ? { arn: s } : s)));
  }

  /** The emulated aws.greengrass.SecretManager (its copy, its failed fetches). */
  get secretManager(): EmulatedSecretManager {
    return this.nucleus.secretManager;
  }

  /** Makes PublishToIoTCore fail with ServiceError("Publish to topic <t> failed: <text>") while it returns a text. */
  setIotCorePublishFault(fault: IotCorePublishFault | undefined): void {
    this.nucleus.publishFault = fault;
  }

  /** A message from "the cloud" to matching SubscribeToIoTCore streams; returns how many got it. */
  deliverFromIotCore(topicName: string, payload: Buffer): number {
    return deliverFromIotCore(this.nucleus, topicName, payload);
  }

  /** Closes every connection of the component abruptly; returns how many there were. */
  dropConnections(name: string): number {
    let dropped = 0;
    for (const connection of this.connections) {
      if (connection.component !== name) continue;
      connection.destroy();
      dropped++;
    }
    return dropped;
  }

  private requireComponent(name: string): void {
    if (!this.nucleus.isRegistered(name)) throw new Error(`unknown component ${name}`);
  }

  private loadPolicies(name: string, configuration: JsonObject): void {
    const rejected: RejectedPolicy[] = this.nucleus.authorization.load(name, configuration);
    for (const policy of rejected) this.emit('policyRejected', name, policy);
  }
}

/** A socket file left by an earlier run would make listen() fail with EADDRINUSE; the nucleus removes it too. */
function removeStaleSocket(path: string): void {
  try {
    if (lstatSync(path).isSocket()) rmSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}
