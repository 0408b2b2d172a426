// The collector's I/O edges, each behind a small interface. Only index.ts builds the real ones
// (node-opcua, the AWS SDK, the Greengrass IPC client); everything else takes these, so the runtime
// can be unit-tested with plain objects.
export type { IotCorePublisher, LocalPubSub, Logger, PublishFailure } from '../../../shared/edge/ports';

export interface Credentials {
  username: string;
  password: string;
}

/** Where the OPC UA identity comes from (AWS Secrets Manager on a device). */
export interface CredentialSource {
  /** `refresh: true` bypasses any cache: the secret may have been rotated. */
  get(opts: { refresh: boolean }): Promise<Credentials>;
}

/**
 * Receives every sample the server sent, in the order received, synchronously from the OPC UA
 * client's notification handler: no allocation is needed per sample. `tag` is the tag's index in
 * the configuration's `tags` array.
 */
export type SampleSink = (tag: number, sourceTimeMs: number, value: unknown, statusCode: number) => void;

/** Cumulative counters of the OPC UA edge. */
export interface SourceCounters {
  /** Data change notifications received (= samples handed to the sink). */
  notifications: number;
  /** Samples the server discarded from a full monitored-item queue (its overflow bit): our fault or the network's. */
  overflowLost: number;
  /** Successful (re)connections after the first. */
  reconnects: number;
  connectFailures: number;
  /** The server refused the user identity (BadUserAccessDenied, BadIdentityTokenRejected). */
  identityRejected: number;
  /** The server's certificate did not match the configured trust. */
  certificateRejected: number;
  /** The server refused the gateway's own certificate (a certificate status, or the socket closed in the handshake). */
  clientCertificateRejected: number;
  /** Tags of the current connection whose samples carry no source timestamp (timed by the server timestamp or on arrival). */
  tagsWithoutSourceTimestamp: number;
  /** Of those, tags whose samples carry no timestamp at all (timed by the arrival rule). */
  tagsWithoutTimestamp: number;
  /** Samples timed by the server timestamp, and by the arrival rule (see opcua/sample-time.ts). */
  samplesTimedByServer: number;
  samplesTimedByArrival: number;
  /** The watchdog found a "connected" session that delivered nothing and reconnected it. */
  watchdogResets: number;
  /** Monitored items the server refused (bad NodeId, not readable…), by the latest subscription. */
  monitoredItemsFailed: number;
  /** The same, by reason (BadNodeIdUnknown: 9000…); absent until a subscription was made. */
  monitoredItemsFailedByReason?: Record<string, number>;
}

export type SourceState = 'stopped' | 'connecting' | 'connected' | 'backoff';

/**
 * A failure that retrying alone cannot fix: someone must change the secret, the OPC UA server's
 * user, or the configured server trust. The source keeps retrying with backoff meanwhile.
 */
export interface OperatorProblem {
  /**
   * `identity`: the server refused the user again after the secret was read afresh;
   * `certificate`: the server's certificate is not trusted; `client-certificate`: the server does
   * not trust the gateway's certificate; `credentials`: the secret is missing,
   * not readable by this device, or not {"username","password"}.
   */
  kind: 'identity' | 'certificate' | 'client-certificate' | 'credentials';
  /** What to change, for the log line. Never holds a secret value. */
  fix: string;
}

export interface OpcUaSource {
  /** Starts connecting in the background (retrying forever with backoff); resolves once started, not connected. */
  start(): Promise<void>;
  /**
   * Stops delivering samples at once (no sample reaches the sink once it is called), then closes the
   * subscription and session within `timeoutMs`; true when they closed in time.
   */
  stop(timeoutMs?: number): Promise<boolean>;
  readonly state: SourceState;
  counters(): SourceCounters;
  /** The current problem that needs an operator; undefined once a connection succeeds. */
  readonly problem?: OperatorProblem | undefined;
}
