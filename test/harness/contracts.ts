// The few types that the pieces of the local Greengrass share: the IPC server, the local AWS
// endpoints, the component launcher and the simulated plant each live in their own folder and meet
// only here, so that each can be read (and replaced) on its own.

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** One version of a secret, as the local Secrets Manager keeps it. */
export interface SecretVersion {
  arn: string;
  name: string;
  versionId: string;
  versionStages: string[];
  secretString?: string;
  secretBinary?: Buffer;
  createdDate: Date;
}

/**
 * Where secrets come from. The local Secrets Manager endpoint implements it; the IPC server's
 * GetSecretValue reads through it, as the nucleus's SecretManager component serves what it fetched
 * from the cloud.
 */
export interface SecretStore {
  /** A name or ARN, and at most one of versionId / versionStage (AWSCURRENT when neither). */
  resolve(secretId: string, opts?: { versionId?: string; versionStage?: string }): SecretVersion | undefined;
  /**
   * The cloud call aws.greengrass.SecretManager makes to fetch a secret: throws when the cloud is
   * unreachable or refuses. Absent: `resolve`, and the cloud is always reachable.
   */
  fetchFromCloud?(secretId: string, opts?: { versionStage?: string }): SecretVersion;
}

/** A message a component published to AWS IoT Core through the nucleus, as the local IPC server recorded it. */
export interface IotCoreRecord {
  component: string;
  topicName: string;
  qos: '0' | '1';
  payload: Buffer;
  retain: boolean;
  /** Date.now() when the server accepted it. */
  at: number;
  /** The MQTT connection it went out on: `<thingName>`, `<thingName>#2`, … (the nucleus's MqttClient). */
  clientId: string;
}

/** Lifecycle states as the nucleus names them. */
export type LifecycleState =
  | 'NEW'
  | 'INSTALLED'
  | 'STARTING'
  | 'RUNNING'
  | 'STOPPING'
  | 'FINISHED'
  | 'ERRORED'
  | 'BROKEN';

/** The answer a component gave to a validate event, or why there was none. */
export type ValidationOutcome =
  | { status: 'ACCEPTED' | 'REJECTED'; message?: string }
  | { status: 'NO_SUBSCRIBER' }
  | { status: 'TIMEOUT' };

/**
 * The key of `obj` that `key` names in the nucleus's config store: its Topics keep their children in a
 * map keyed by CaseInsensitiveString, so `Greeting` finds `greeting`, and a node keeps the spelling it
 * was created with (an exact match first, then any that differs only in case).
 */
export function configKey(obj: { [key: string]: unknown }, key: string): string | undefined {
  if (Object.prototype.hasOwnProperty.call(obj, key)) return key;
  const lower = key.toLowerCase();
  return Object.keys(obj).find((k) => k.toLowerCase() === lower);
}
