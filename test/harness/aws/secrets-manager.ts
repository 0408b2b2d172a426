// A local AWS Secrets Manager endpoint (AWS JSON 1.1): GetSecretValue and a minimal PutSecretValue,
// secrets with versions and staging labels, and the same store behind the SecretStore contract so
// the local IPC server serves GetSecretValue from what this endpoint holds.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SecretStore, SecretVersion } from '../contracts';
import {
  parseJsonObject,
  randomAlphanumeric,
  readBody,
  sendError,
  sendJson,
  startLoopbackServer,
  type AwsJsonError,
  type LoopbackServer,
} from './aws-json';
import { verifySigV4 } from './sigv4';
import type { CredentialRegistry } from './tes';

/** Signing name and X-Amz-Target prefix of Secrets Manager. */
export const SECRETS_MANAGER_SIGNING_NAME = 'secretsmanager';
const TARGET_PREFIX = 'secretsmanager.';

/** Label of the version a plain GetSecretValue returns. */
export const AWSCURRENT = 'AWSCURRENT';
/** Label AWS moves to the version that was current before the last rotation. */
export const AWSPREVIOUS = 'AWSPREVIOUS';

/** Length of the random suffix AWS appends to a secret's name in its ARN. */
export const SECRET_ARN_SUFFIX_LENGTH = 6;

/**
 * Role the TES credentials belong to in AccessDeniedException messages: the default name of the
 * Greengrass token exchange role.
 */
export const TOKEN_EXCHANGE_ROLE_NAME = 'GreengrassV2TokenExchangeRole';

/** Secrets Manager errors carry `Message` with a capital M (captured from the SDK, greengrass-ipc.md §7). */
const MESSAGE_KEY = 'Message';

interface StoredSecret {
  name: string;
  arn: string;
  /** Oldest first. */
  versions: SecretVersion[];
}

export interface LocalSecretsManagerOptions {
  region: string;
  accountId: string;
  credentials: CredentialRegistry;
}

export class LocalSecretsManager implements SecretStore {
  private readonly secrets = new Map<string, StoredSecret>();
  private readonly denied = new Set<string>();
  private requestCount = 0;
  private isReachable = true;
  private unreachableHow: 'refused' | 'timeout' = 'refused';
  private readonly held = new Set<ServerResponse>();
  private server: LoopbackServer | undefined;

  private constructor(private readonly opts: LocalSecretsManagerOptions) {}

  static async start(opts: LocalSecretsManagerOptions): Promise<LocalSecretsManager> {
    const sm = new LocalSecretsManager(opts);
    sm.server = await startLoopbackServer((req, res) => sm.handle(req, res));
    return sm;
  }

  /** Base URL to pass as the client's `endpoint` or AWS_ENDPOINT_URL_SECRETS_MANAGER. */
  get endpoint(): string {
    if (!this.server) throw new Error('LocalSecretsManager not started');
    return `http://127.0.0.1:${this.server.port}`;
  }

  /** Every request that reached the service, including refused ones: HTTP, and aws.greengrass.SecretManager's fetches. */
  get requests(): number {
    return this.requestCount;
  }

  /** False while the cloud is unreachable (setReachable). */
  get reachable(): boolean {
    return this.isReachable;
  }

  /**
   * Cuts or restores the device's way to Secrets Manager, as an uplink outage does, never as an API
   * error: `refused` (default) stops listening, so the SDK gets ECONNREFUSED and requests under way
   * are dropped; `timeout` accepts connections and never answers (packets dropped on the way), so the
   * SDK waits for its own timeouts. The emulated aws.greengrass.SecretManager's fetches fail either way.
   */
  async setReachable(reachable: boolean, opts: { how?: 'refused' | 'timeout' } = {}): Promise<void> {
    this.isReachable = reachable;
    this.unreachableHow = opts.how ?? 'refused';
    if (reachable) this.releaseHeld();
    await this.server?.setListening(reachable || this.unreachableHow === 'timeout');
  }

  /** Requests held unanswered in `timeout` mode are dropped, as when the uplink comes back. */
  private releaseHeld(): void {
    for (const res of this.held) res.destroy();
    this.held.clear();
  }

  /**
   * GetSecretValue as aws.greengrass.SecretManager's own SDK client makes it (AWSSecretClient, with the
   * token exchange role's credentials): the version, or a thrown CloudSecretError when the cloud is
   * unreachable, the role is denied or the secret/version does not exist.
   */
  fetchFromCloud(secretId: string, opts: { versionStage?: string } = {}): SecretVersion {
    if (!this.isReachable) {
      const text = this.unreachableHow === 'timeout' ? 'Connect timed out' : `connect ECONNREFUSED ${this.endpoint.replace(/^http:\/\//, '')}`;
      throw new CloudSecretError('unreachable', text);
    }
    this.requestCount++;
    const result = this.getSecretValue({ SecretId: secretId, ...(opts.versionStage ? { VersionStage: opts.versionStage } : {}) });
    if ('error' in result) throw new CloudSecretError(result.error.type, result.error.message);
    const v = this.resolve(secretId, opts);
    if (!v) throw new CloudSecretError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    return v;
  }

  /** Creates a secret whose first version is AWSCURRENT. Objects are stored as their JSON text. */
  createSecret(name: string, value: string | Buffer | object): SecretVersion {
    if (this.secrets.has(name)) throw new Error(`secret ${name} already exists`);
    const arn = `arn:aws:secretsmanager:${this.opts.region}:${this.opts.accountId}:secret:${name}-${randomAlphanumeric(SECRET_ARN_SUFFIX_LENGTH)}`;
    const secret: StoredSecret = { name, arn, versions: [] };
    this.secrets.set(name, secret);
    return this.addVersion(secret, value);
  }

  /** Stores a new AWSCURRENT version; the old current one becomes AWSPREVIOUS, as a rotation does. */
  rotateSecret(nameOrArn: string, newValue: string | Buffer | object): SecretVersion {
    const secret = this.find(nameOrArn);
    if (!secret) throw new Error(`secret ${nameOrArn} does not exist`);
    return this.addVersion(secret, newValue);
  }

  /** From now on the TES role may not read or write this secret (AccessDeniedException). */
  denyAccess(nameOrArn: string): void {
    this.denied.add(this.canonicalName(nameOrArn));
  }

  allowAccess(nameOrArn: string): void {
    this.denied.delete(this.canonicalName(nameOrArn));
  }

  /** Whether denyAccess applies; the IPC server may consult it to refuse as the nucleus would. */
  isAccessDenied(nameOrArn: string): boolean {
    return this.denied.has(this.canonicalName(nameOrArn));
  }

  resolve(secretId: string, opts: { versionId?: string; versionStage?: string } = {}): SecretVersion | undefined {
    const secret = this.find(secretId);
    if (!secret) return undefined;
    const v = this.pickVersion(secret, opts.versionId, opts.versionStage);
    return v ? copyVersion(v) : undefined;
  }

  /** Every version of a secret, oldest first (copies). */
  versions(nameOrArn: string): SecretVersion[] {
    return (this.find(nameOrArn)?.versions ?? []).map(copyVersion);
  }

  async close(): Promise<void> {
    this.releaseHeld();
    await this.server?.close();
    this.server = undefined;
  }

  private addVersion(secret: StoredSecret, value: string | Buffer | object, versionId: string = randomUUID()): SecretVersion {
    for (const v of secret.versions) {
      // AWS keeps older versions but takes their labels away: AWSPREVIOUS moves, AWSCURRENT moves.
      v.versionStages = v.versionStages.filter((s) => s !== AWSPREVIOUS);
      if (v.versionStages.includes(AWSCURRENT)) v.versionStages = [...v.versionStages.filter((s) => s !== AWSCURRENT), AWSPREVIOUS];
    }
    const version: SecretVersion = {
      arn: secret.arn,
      name: secret.name,
      versionId,
      versionStages: [AWSCURRENT],
      createdDate: new Date(),
      ...(Buffer.isBuffer(value)
        ? { secretBinary: Buffer.from(value) }
        : { secretString: typeof value === 'string' ? value : JSON.stringify(value) }),
    };
    secret.versions.push(version);
    return copyVersion(version);
  }

  /** A name, a full ARN, or a partial ARN (without the random suffix), as AWS accepts. */
  private find(secretId: string): StoredSecret | undefined {
    if (!secretId.startsWith('arn:')) return this.secrets.get(secretId);
    for (const s of this.secrets.values()) {
      if (s.arn === secretId || s.arn.slice(0, -(SECRET_ARN_SUFFIX_LENGTH + 1)) === secretId) return s;
    }
    return undefined;
  }

  private canonicalName(nameOrArn: string): string {
    return this.find(nameOrArn)?.name ?? nameOrArn;
  }

  private pickVersion(secret: StoredSecret, versionId?: string, versionStage?: string): SecretVersion | undefined {
    const stage = versionStage ?? (versionId === undefined ? AWSCURRENT : undefined);
    return secret.versions.find(
      (v) => (versionId === undefined || v.versionId === versionId) && (stage === undefined || v.versionStages.includes(stage)),
    );
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.isReachable) {
      // `timeout` mode: nothing comes back; the request never reached the service.
      this.held.add(res);
      res.on('close', () => this.held.delete(res));
      return;
    }
    this.requestCount++;
    const body = await readBody(req);
    if (body === undefined) return sendError(res, { status: 413, type: 'RequestEntityTooLargeException', message: 'Request entity too large' });
    const auth = await verifySigV4(
      { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body },
      { service: SECRETS_MANAGER_SIGNING_NAME, region: this.opts.region },
      this.opts.credentials,
    );
    if (!auth.ok) return sendError(res, auth.error);
    const target = String(req.headers['x-amz-target'] ?? '');
    const input = parseJsonObject(body);
    if (!input) return sendError(res, { status: 400, type: 'SerializationException', message: 'Request body is not a JSON object' }, MESSAGE_KEY);
    const operation = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '';
    if (operation !== 'GetSecretValue' && operation !== 'PutSecretValue') {
      return sendError(res, { status: 400, type: 'UnknownOperationException', message: `Unknown operation ${target}` }, MESSAGE_KEY);
    }
    const result = operation === 'GetSecretValue' ? this.getSecretValue(input) : this.putSecretValue(input);
    if ('error' in result) return sendError(res, result.error, MESSAGE_KEY);
    sendJson(res, 200, result.output);
  }

  private checkAccess(secretId: string, action: string, arn: string | undefined): AwsJsonError | undefined {
    if (!this.isAccessDenied(secretId)) return undefined;
    // AWS names the resource as the caller gave it, and the caller as the assumed TES role.
    const user = `arn:aws:sts::${this.opts.accountId}:assumed-role/${TOKEN_EXCHANGE_ROLE_NAME}/local-greengrass`;
    return {
      status: 400,
      type: 'AccessDeniedException',
      message: `User: ${user} is not authorized to perform: secretsmanager:${action} on resource: ${arn ?? secretId} because no identity-based policy allows the secretsmanager:${action} action`,
    };
  }

  private getSecretValue(input: Record<string, unknown>): { output: object } | { error: AwsJsonError } {
    const secretId = input.SecretId;
    if (typeof secretId !== 'string' || secretId === '') return { error: missingSecretId() };
    const versionId = typeof input.VersionId === 'string' ? input.VersionId : undefined;
    const versionStage = typeof input.VersionStage === 'string' ? input.VersionStage : undefined;
    // IAM is evaluated before the lookup, so a denied caller cannot probe which secrets exist.
    const denied = this.checkAccess(secretId, 'GetSecretValue', secretId);
    if (denied) return { error: denied };
    const secret = this.find(secretId);
    if (!secret) return { error: notFound() };
    const v = this.pickVersion(secret, versionId, versionStage);
    if (!v) {
      const what = versionId !== undefined ? `VersionId: ${versionId}` : `staging label: ${versionStage ?? AWSCURRENT}`;
      return { error: { status: 400, type: 'ResourceNotFoundException', message: `Secrets Manager can't find the specified secret value for ${what}` } };
    }
    return {
      output: {
        ARN: v.arn,
        Name: v.name,
        VersionId: v.versionId,
        ...(v.secretBinary ? { SecretBinary: v.secretBinary.toString('base64') } : { SecretString: v.secretString }),
        VersionStages: [...v.versionStages],
        // Epoch seconds as a JSON number: what the service sends and the SDK turns into a Date.
        CreatedDate: v.createdDate.getTime() / 1000,
      },
    };
  }

  /** Minimal: a new value becomes AWSCURRENT (VersionStages other than the default are not supported). */
  private putSecretValue(input: Record<string, unknown>): { output: object } | { error: AwsJsonError } {
    const secretId = input.SecretId;
    if (typeof secretId !== 'string' || secretId === '') return { error: missingSecretId() };
    const denied = this.checkAccess(secretId, 'PutSecretValue', secretId);
    if (denied) return { error: denied };
    const secret = this.find(secretId);
    if (!secret) return { error: notFound() };
    const value =
      typeof input.SecretString === 'string'
        ? input.SecretString
        : typeof input.SecretBinary === 'string'
          ? Buffer.from(input.SecretBinary, 'base64')
          : undefined;
    if (value === undefined) {
      return { error: { status: 400, type: 'InvalidRequestException', message: 'You must provide either SecretString or SecretBinary.' } };
    }
    const token = typeof input.ClientRequestToken === 'string' ? input.ClientRequestToken : undefined;
    const existing = token !== undefined ? secret.versions.find((v) => v.versionId === token) : undefined;
    // A retried call with the same token is idempotent, as ClientRequestToken promises.
    const v = existing ?? this.addVersion(secret, value, token);
    return { output: { ARN: secret.arn, Name: secret.name, VersionId: v.versionId, VersionStages: [...v.versionStages] } };
  }
}

/** Why a fetch from the cloud failed: `unreachable`, or the AWS error type (AccessDeniedException…). */
export class CloudSecretError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'CloudSecretError';
  }
}

function copyVersion(v: SecretVersion): SecretVersion {
  return {
    ...v,
    versionStages: [...v.versionStages],
    createdDate: new Date(v.createdDate.getTime()),
    ...(v.secretBinary ? { secretBinary: Buffer.from(v.secretBinary) } : {}),
  };
}

function notFound(): AwsJsonError {
  return { status: 400, type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." };
}

function missingSecretId(): AwsJsonError {
  return {
    status: 400,
    type: 'ValidationException',
    message: "1 validation error detected: Value null at 'secretId' failed to satisfy constraint: Member must not be null",
  };
}
