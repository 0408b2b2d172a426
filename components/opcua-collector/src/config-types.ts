// The collector's one validated configuration type. `parseCollectorConfig` (config.ts) is the only
// way to get one: it checks the component's raw Greengrass configuration against the schema, fills
// the defaults, and names the JSON path and the fix of every problem. Nothing downstream sees raw JSON.

export type SecurityMode = 'None' | 'Sign' | 'SignAndEncrypt';
export type SecurityPolicyName = 'None' | 'Basic256Sha256' | 'Aes128_Sha256_RsaOaep' | 'Aes256_Sha256_RsaPss';

/** Which server certificates the collector accepts. At least one entry unless allowInsecure. */
export interface ServerTrust {
  /** SHA-1 thumbprints of the DER certificate, lowercase hex without separators. */
  thumbprints: string[];
  /** PEM certificates (a CA or the server's own). */
  certificates: string[];
}

export type TagMode = 'rms' | 'deadband' | 'change';

export type DeadbandSetting =
  | { kind: 'absolute'; value: number }
  /** Percent of the range; rangeMin/rangeMax from config, else the node's EURange read at start. */
  | { kind: 'percent'; percent: number; rangeMin?: number; rangeMax?: number };

/** Local alarm on a tag (used by burst capture). */
export interface AlarmSetting {
  /** `rms`: the 1 s RMS of an rms tag; `raw`: every raw sample. */
  on: 'rms' | 'raw';
  /** Raised when the value is at or above this for minDurationMs. */
  raiseAt: number;
  /** Cleared when the value is below this (hysteresis: clearBelow <= raiseAt). */
  clearBelow: number;
  minDurationMs: number;
}

export interface TagConfig {
  /** Unique within the mapping; what the cloud calls the signal. */
  name: string;
  /** OPC UA NodeId string, e.g. `ns=3;s=Line1.Vib01`. */
  nodeId: string;
  mode: TagMode;
  /** rms: window length, ms; a multiple of the sampling interval. */
  windowMs: number;
  /** deadband mode only. */
  deadband?: DeadbandSetting;
  /** deadband and change modes: a point at least this often while samples arrive, ms. */
  heartbeatMs?: number;
  unit?: string;
  alarm?: AlarmSetting;
}

/** Alarm-triggered raw captures, handed to conduit.FirehoseSink over local pub/sub. */
export interface BurstConfig {
  preTriggerSec: number;
  postTriggerSec: number;
  cooldownSec: number;
  /** 0: no captures (alarms are still published). */
  maxCapturesPerHour: number;
  maxCaptureSec: number;
  /** Topic template (IoT Core) of alarm events. */
  alarmTopic: string;
  /** Local pub/sub topics of the sink hand-off. */
  sinkTopic: string;
  sinkAckTopic: string;
  ackTimeoutMs: number;
  maxPendingBytes: number;
}

export type RmsField = 'rms' | 'min' | 'max' | 'mean' | 'peak';

export type CredentialsSourceKind = 'greengrass' | 'secretsmanager';

export interface CollectorConfig {
  /** `opc.tcp://host:port/path` of the plant's OPC UA server. */
  endpointUrl: string;
  /** host:port the collector may connect to (lowercase host); empty = no restriction. */
  allowedEndpoints: string[];
  /** shadow: everything runs, nothing but metrics is published. */
  mode: 'active' | 'shadow';
  securityMode: SecurityMode;
  securityPolicy: SecurityPolicyName;
  /** Must be true for securityMode None; logged as a warning at every start. */
  allowInsecure: boolean;
  serverTrust: ServerTrust;
  /**
   * greengrass: the secret through aws.greengrass.SecretManager (IPC GetSecretValue, served from the
   * device's copy when the cloud is unreachable); secretsmanager: straight from the cloud.
   */
  credentialsSource: CredentialsSourceKind;
  /** AWS Secrets Manager secret (name or ARN) holding {"username","password"}. */
  credentialsSecretId: string;
  site: string;
  area: string;
  /** Carried by every message so the cloud can tie data to the mapping that produced it. */
  mappingVersion: string;
  sampling: {
    /** Requested OPC UA samplingInterval, ms (100). */
    intervalMs: number;
    /** Requested subscription publishingInterval, ms (500–1000). */
    publishingIntervalMs: number;
    /** Monitored item queue size; at least twice the samples per publish. */
    queueSize: number;
    /** Subscription maxNotificationsPerPublish (1000). */
    maxNotificationsPerPublish: number;
  };
  tags: TagConfig[];
  publish: {
    /** Topic template; `{thingName}`, `{site}`, `{area}` are replaced. */
    topic: string;
    /** Where the tag list of each mappingVersion is published (retained). */
    mappingTopic: string;
    /** Where each applied live configuration update is described (tags added/removed/changed, both mappingVersions). */
    auditTopic: string;
    qos: 0 | 1;
    /** Largest payload, bytes (the nucleus's default limit is 131072). */
    maxMessageBytes: number;
    /** How often points are batched and published, ms. */
    intervalMs: number;
    /** This component's share of the 100 publishes/s IoT Core allows one connection. */
    maxPublishesPerSecond: number;
    /** Messages held while IPC is down; the oldest are dropped (counted, logged at ERROR) past it. */
    queueMaxMessages: number;
    /** Significant digits of published numbers (10 keeps relative error under 1e-9). */
    significantDigits: number;
    /** RMS statistics published per window (count is always published). */
    rmsFields: RmsField[];
  };
  metrics: {
    topic: string;
    intervalSec: number;
  };
  burst: BurstConfig;
  /** A connected session that delivers no data for this long is reconnected, ms. */
  watchdog: { noDataTimeoutMs: number };
  /** Reconnect backoff after failures where a server answered: capped exponential with jitter, ms (an unreachable endpoint is retried every 0.5-2 s; opcua/reconnect-policy.ts). */
  reconnect: { initialDelayMs: number; maxDelayMs: number };
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}
