// The OPC UA identity, a secret holding the JSON string {"username": "...", "password": "..."}, and
// the direct way to read it: AWS Secrets Manager with the SDK's default credential chain (on a
// Greengrass device the token exchange service, AWS_CONTAINER_CREDENTIALS_FULL_URI, so no AWS key is
// ever configured on the device). This reads the cloud at every start: a start while Secrets Manager
// is unreachable cannot log in. The default way, through aws.greengrass.SecretManager's copy on the
// device, is greengrass-credentials.ts; both share the cache and the checks of the value here.
//
// Secret values never appear in an error message, a log line or an error's `cause`: JSON.parse's own
// SyntaxError quotes the text it failed on (Node 20: `Unexpected token 'h', "hunter2" is not valid
// JSON`), so it is dropped, not wrapped.
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CredentialSource, Credentials } from './ports';

/** What an operator must put in the secret; quoted in every shape error. */
export const EXPECTED_SECRET_SHAPE = '{"username": "<OPC UA user>", "password": "<password>"}';

export type CredentialsErrorKind = 'not-found' | 'access-denied' | 'not-json' | 'bad-shape' | 'unavailable';

/** The secret could not be read or is not usable as an OPC UA identity. Never carries the secret's value. */
export class CredentialsError extends Error {
  readonly kind: CredentialsErrorKind;
  readonly secretId: string;
  /** Network and throttling problems may pass; a missing or malformed secret needs an operator. */
  readonly retryable: boolean;

  constructor(kind: CredentialsErrorKind, secretId: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    // Set explicitly: the bundler's minifier renames classes, so `constructor.name` is unreliable.
    this.name = 'CredentialsError';
    this.kind = kind;
    this.secretId = secretId;
    this.retryable = kind === 'unavailable';
  }
}

export interface SecretsManagerCredentialSourceOptions {
  /** Name or ARN of the secret. */
  secretId: string;
  /** Injected by tests or by an entry point that shares one client; default: `new SecretsManagerClient({...})` with timeouts. */
  client?: SecretsManagerClient;
}

/** A secret's string value as read, before it is checked; never logged. */
export interface RawSecret {
  secretString: string | undefined;
  binary: boolean;
}

/**
 * Reads the secret once and caches it; `get({ refresh: true })` reads it again (after a rotation).
 * One request at a time: concurrent callers share it instead of doubling the calls.
 */
export abstract class CachedCredentialSource implements CredentialSource {
  private cached: Credentials | undefined;
  private inFlight: Promise<Credentials> | undefined;

  constructor(protected readonly secretId: string) {}

  async get(opts: { refresh: boolean }): Promise<Credentials> {
    if (!opts.refresh && this.cached) return this.cached;
    if (this.inFlight) return this.inFlight;
    const request = this.read(opts.refresh)
      .then((raw) => parseSecret(this.secretId, raw))
      .finally(() => {
        this.inFlight = undefined;
      });
    this.inFlight = request;
    const credentials = await request;
    this.cached = credentials;
    return credentials;
  }

  /** Releases what the source holds (sockets); the default has nothing to release. */
  close(): void {}

  /** One read of the secret; rejects with a CredentialsError. `refresh`: the cached copy was refused. */
  protected abstract read(refresh: boolean): Promise<RawSecret>;
}

/** Straight from AWS Secrets Manager in the cloud (credentialsSource "secretsmanager"). */
export class SecretsManagerCredentialSource extends CachedCredentialSource {
  private readonly client: SecretsManagerClient;
  private readonly ownsClient: boolean;

  constructor(opts: SecretsManagerCredentialSourceOptions) {
    super(opts.secretId);
    this.ownsClient = opts.client === undefined;
    // Region, endpoint and credentials all come from the default chain (env, TES). The SDK sets no
    // timeout of its own: when the uplink drops packets a request would wait for ever and hold the
    // connection attempt with it. requestTimeout only warns unless throwOnRequestTimeout is set
    // (@smithy/node-http-handler). Two attempts: a read that cannot reach the cloud gives up within
    // about 20 s, and the connection loop retries it with its own backoff.
    this.client =
      opts.client ??
      new SecretsManagerClient({ maxAttempts: 2, requestHandler: { connectionTimeout: 5_000, requestTimeout: 10_000, throwOnRequestTimeout: true } });
  }

  /** Closes the SDK client's sockets if this source created it. */
  override close(): void {
    if (this.ownsClient) this.client.destroy();
  }

  protected async read(): Promise<RawSecret> {
    try {
      const out = await this.client.send(new GetSecretValueCommand({ SecretId: this.secretId }));
      return { secretString: out.SecretString, binary: out.SecretBinary !== undefined };
    } catch (err) {
      throw describeSdkError(this.secretId, err);
    }
  }
}

/** Checks a secret's value as an OPC UA identity; errors name the fields that are wrong, never a value. */
export function parseSecret(id: string, raw: RawSecret): Credentials {
  if (raw.secretString === undefined) {
    const what = raw.binary ? 'holds a binary value' : 'has no string value';
    throw new CredentialsError('bad-shape', id, `secret "${id}" ${what}; store a secret string ${EXPECTED_SECRET_SHAPE}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.secretString);
  } catch {
    // No cause: the SyntaxError quotes the secret.
    throw new CredentialsError('not-json', id, `secret "${id}" is not JSON; store ${EXPECTED_SECRET_SHAPE}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new CredentialsError('bad-shape', id, `secret "${id}" is JSON but not an object; store ${EXPECTED_SECRET_SHAPE}`);
  }
  const record = parsed as Record<string, unknown>;
  const problems: string[] = [];
  for (const field of ['username', 'password'] as const) {
    const v = record[field];
    if (v === undefined) problems.push(`"${field}" is missing`);
    else if (typeof v !== 'string') problems.push(`"${field}" is not a string`);
    else if (v.length === 0) problems.push(`"${field}" is empty`);
  }
  if (problems.length > 0) {
    throw new CredentialsError('bad-shape', id, `secret "${id}": ${problems.join(', ')}; store ${EXPECTED_SECRET_SHAPE}`);
  }
  return { username: record.username as string, password: record.password as string };
}

/** Maps an SDK failure to a message an operator can act on. SDK messages never hold the secret's value. */
function describeSdkError(id: string, err: unknown): CredentialsError {
  const name = err instanceof Error ? err.name : 'Error';
  const message = err instanceof Error ? err.message : String(err);
  if (name === 'ResourceNotFoundException') {
    return new CredentialsError(
      'not-found',
      id,
      `secret "${id}" was not found in AWS Secrets Manager (${name}); create it with the value ${EXPECTED_SECRET_SHAPE}, or fix credentialsSecretId`,
      { cause: err },
    );
  }
  if (name === 'AccessDeniedException') {
    return new CredentialsError(
      'access-denied',
      id,
      `reading secret "${id}" was denied (${name}: ${message}); allow secretsmanager:GetSecretValue on it to the Greengrass token exchange role`,
      { cause: err },
    );
  }
  // The weakness of this source: it needs the cloud at every start (docs/collector.md, "Credentials").
  return new CredentialsError(
    'unavailable',
    id,
    `reading secret "${id}" from AWS Secrets Manager failed (${name}: ${message}); retried before every connection attempt. credentialsSource "secretsmanager" needs Secrets Manager at every start; "greengrass" (aws.greengrass.SecretManager) serves its copy on the device while the WAN is down`,
    { cause: err },
  );
}
