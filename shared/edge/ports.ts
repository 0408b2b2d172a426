// The I/O contracts every conduit component shares: a logger and the IoT Core publisher. The
// implementations beside this file (pino, the Greengrass IPC client) are the edge; processing code
// takes these interfaces, so it can be unit-tested with plain objects.

/** pino-compatible: structured fields first, then the message. A log call never throws. */
export interface Logger {
  debug(fields: Record<string, unknown>, msg: string): void;
  info(fields: Record<string, unknown>, msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
  error(fields: Record<string, unknown>, msg: string): void;
}

/** Why a publish failed, and whether holding the message and retrying can help. */
export interface PublishFailure {
  retryable: boolean;
  reason: string;
}

export interface IotCorePublisher {
  /** Resolves once the nucleus accepted (spooled) the message; rejects with a PublishFailure. */
  publish(topic: string, payload: Buffer, qos: 0 | 1, retain?: boolean): Promise<void>;
}

/** One local pub/sub subscription. */
export interface LocalSubscription {
  /** Ends this subscription: no message is delivered once called, and the nucleus closes the stream. */
  close(): Promise<void>;
  /**
   * The nucleus's answer to the first activation: true once it accepted the subscription, false when
   * it refused it (e.g. not authorized by accessControl), did not answer in time, or the subscription
   * was closed first. Waits for a connection if there is none yet.
   */
  readonly activated: Promise<boolean>;
}

/** Greengrass local publish/subscribe (not durable: a message to a topic nobody listens on is gone). */
export interface LocalPubSub {
  /** Resolves once the nucleus took the message; rejects with a PublishFailure. */
  publishToTopic(topic: string, payload: Buffer): Promise<void>;
  /**
   * Calls `onMessage` with every message published to `topic` from now on, across reconnections
   * (the subscription is made again on each new IPC connection).
   */
  subscribeToTopic(topic: string, onMessage: (payload: Buffer) => void): LocalSubscription;
}
