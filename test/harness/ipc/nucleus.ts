// The nucleus-side state the IPC operations read and change: registered components, their
// configuration and policies, open subscriptions, pending validations, what reached "IoT Core".
// Connections and framing live in connection.ts; this file knows nothing about sockets.

import type { IotCoreRecord, JsonObject, SecretStore } from '../contracts';
import { AuthorizationTable } from './authorization';
import { ConfigurationStore, type KeyPath } from './config-store';
import { type CloudSubscription, MqttConnections } from './mqtt-connections';
import { EmulatedSecretManager } from './secret-operations';

/** Where a streaming operation's events go. Sending after the stream closed is a no-op. */
export interface EventSink {
  send(event: JsonObject): void;
  /** Called once when the stream ends: client close, connection drop, or server close. */
  onClose(listener: () => void): void;
}

/** One operation request as the handlers see it. */
export interface OperationCall {
  /** The authenticated caller. */
  component: string;
  request: JsonObject;
  /** Streaming operations send their events here; request/response operations ignore it. */
  sink: EventSink;
}

export interface IotCoreSubscription {
  component: string;
  filter: string;
  sink: EventSink;
  /** Where the core holds it at IoT Core. */
  cloud: CloudSubscription;
}

export type ReceiveMode = 'RECEIVE_ALL_MESSAGES' | 'RECEIVE_MESSAGES_FROM_OTHERS';

export interface TopicSubscription {
  component: string;
  filter: string;
  receiveMode: ReceiveMode;
  sink: EventSink;
}

export interface ConfigSubscription {
  /** Whose configuration is watched (may differ from the subscriber). */
  target: string;
  keyPath: KeyPath;
  sink: EventSink;
}

export interface ValidityReport {
  status: 'ACCEPTED' | 'REJECTED';
  message?: string;
}

export type IotCorePublishFault = (topicName: string, payload: Buffer) => string | undefined;

/**
 * IoT Core's policy decision on a PUBLISH from one of the core's connections: false makes IoT Core
 * answer NOT_AUTHORIZED, and the nucleus drops the message (a non-retryable PUBACK reason code in
 * MqttClient.publishSingleSpoolerMessage), after PublishToIoTCore already succeeded.
 */
export type IotCorePolicy = (clientId: string, topicName: string) => boolean;

/** What the nucleus tells the outside world (the server turns these into EventEmitter events). */
export interface NucleusEvents {
  iotCorePublish(record: IotCoreRecord): void;
  stateChange(component: string, state: 'RUNNING' | 'ERRORED'): void;
}

/** mqtt.maxMessageSizeInBytes default (MqttClient.DEFAULT_MQTT_MAX_OF_MESSAGE_SIZE_IN_BYTES). */
export const DEFAULT_MAX_IOT_CORE_PAYLOAD_BYTES = 128 * 1024;

export class Nucleus {
  /** Component name → SVCUID. */
  readonly tokens = new Map<string, string>();
  readonly configs = new ConfigurationStore();
  readonly authorization = new AuthorizationTable();
  readonly iotCoreSubscriptions = new Set<IotCoreSubscription>();
  readonly topicSubscriptions = new Set<TopicSubscription>();
  readonly configSubscriptions = new Set<ConfigSubscription>();
  /**
   * Component → the one SubscribeToValidateConfigurationUpdates stream that gets its validate events
   * (ConfigStoreIPCEventStreamAgent.configValidationListeners).
   */
  readonly validateSubscriptions = new Map<string, EventSink>();
  /** Component → deploymentId → who waits for the report. */
  readonly pendingValidations = new Map<string, Map<string, (report: ValidityReport) => void>>();
  readonly iotCore: IotCoreRecord[] = [];
  /** Accepted by PublishToIoTCore, then refused by IoT Core's policy (`iotCorePolicy`) and dropped. */
  readonly iotCoreDropped: IotCoreRecord[] = [];
  iotCorePolicy: IotCorePolicy | undefined;
  readonly mqtt: MqttConnections;
  /** The aws.greengrass.SecretManager component: its cloudSecrets and its copy on the device. */
  readonly secretManager: EmulatedSecretManager;
  publishFault: IotCorePublishFault | undefined;

  constructor(
    readonly events: NucleusEvents,
    readonly maxIotCorePayloadBytes: number,
    readonly secrets: SecretStore | undefined,
    thingName: string,
  ) {
    this.mqtt = new MqttConnections(thingName);
    this.secretManager = new EmulatedSecretManager(secrets);
  }

  componentForToken(token: string): string | undefined {
    for (const [component, svcuid] of this.tokens) if (svcuid === token) return component;
    return undefined;
  }

  isRegistered(component: string): boolean {
    return this.tokens.has(component);
  }

  /** Registers a stream in `set` and drops it again when the stream closes. */
  track<T extends { sink: EventSink }>(set: Set<T>, subscription: T): void {
    set.add(subscription);
    subscription.sink.onClose(() => set.delete(subscription));
  }

  /**
   * As ConfigStoreIPCEventStreamAgent: the first validate stream of a component is its listener
   * (`computeIfAbsent`), a later one while it is there gets no events; and the close of ANY of that
   * component's validate streams, the ignored ones included, removes the listener
   * (`onStreamClosed` → `configValidationListeners.remove(serviceName)`), even while the first is still
   * open. Other operations' streams (pub/sub, configuration updates) do not touch it.
   */
  trackValidator(component: string, sink: EventSink): void {
    if (!this.validateSubscriptions.has(component)) this.validateSubscriptions.set(component, sink);
    sink.onClose(() => this.validateSubscriptions.delete(component));
  }
}
