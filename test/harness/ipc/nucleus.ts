// The nucleus-side state the IPC operations read and change: registered components, their
// configuration and policies, open subscriptions, pending validations, what reached "IoT Core".
// Connections and framing live in connection.ts; this file knows nothing about sockets.

import type { IotCoreRecord, JsonObject, SecretStore } from '../contracts';
import { AuthorizationTable } from './authorization';
import { ConfigurationStore, type KeyPath } from './config-store';
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
  /** Component → its SubscribeToValidateConfigurationUpdates streams. */
  readonly validateSubscriptions = new Map<string, Set<EventSink>>();
  /** Component → deploymentId → who waits for the report. */
  readonly pendingValidations = new Map<string, Map<string, (report: ValidityReport) => void>>();
  readonly iotCore: IotCoreRecord[] = [];
  /** The aws.greengrass.SecretManager component: its cloudSecrets and its copy on the device. */
  readonly secretManager: EmulatedSecretManager;
  publishFault: IotCorePublishFault | undefined;

  constructor(
    readonly events: NucleusEvents,
    readonly maxIotCorePayloadBytes: number,
    readonly secrets: SecretStore | undefined,
  ) {
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

  trackValidator(component: string, sink: EventSink): void {
    let sinks = this.validateSubscriptions.get(component);
    if (sinks === undefined) this.validateSubscriptions.set(component, (sinks = new Set()));
    sinks.add(sink);
    sink.onClose(() => {
      sinks.delete(sink);
      if (sinks.size === 0 && this.validateSubscriptions.get(component) === sinks) this.validateSubscriptions.delete(component);
    });
  }
}
