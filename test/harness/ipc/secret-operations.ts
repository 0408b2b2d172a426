// aws.greengrass.SecretManager as the nucleus runs it (aws-greengrass-secret-manager, read at adbbd4d):
// the component keeps a copy on the device of the secrets in its `cloudSecrets`, fetched from the
// cloud at its start and with each deployment (SecretManager.syncFromCloud), and serves IPC
// GetSecretValue from that copy (SecretManagerIPCAgent + SecretManager.getSecret). `refresh: true`
// fetches the latest version from the cloud first; when that fails (cloud unreachable, role denied)
// the component logs it and answers from its copy. A secret it holds no copy of is fetched on the spot
// and, failing that, is ResourceNotFoundError "Secret not found". A name is resolved to its ARN before
// the accessControl check, which is made on the ARN; versionId and versionStage exclude each other.

import type { JsonObject, SecretStore, SecretVersion } from '../contracts';
import { notAuthorizedText, SECRET_MANAGER_SERVICE } from './authorization';
import { resourceNotFound, serviceError, unauthorized } from './errors';
import type { Nucleus, OperationCall } from './nucleus';
import { optionalString } from './request-fields';

export const GET_SECRET_VALUE = 'aws.greengrass#GetSecretValue';

/** SecretManager.LATEST_LABEL: always fetched, whatever labels are configured. */
const AWSCURRENT = 'AWSCURRENT';

/** SecretManager.VALID_SECRET_ARN_PATTERN, loosely: anything else is taken as a secret name. */
const SECRET_ARN = /^arn:[^:]+:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$/;

const notFound = (message: string) => resourceNotFound(message, { resourceType: 'secret' });

/** One entry of the component's `cloudSecrets` (SecretConfiguration: arn, labels). */
export interface CloudSecret {
  arn: string;
  labels?: string[];
}

/** A failed fetch from the cloud, as the component logs it ("Unable to refresh secret from cloud"). */
export interface FetchFailure {
  arn: string;
  versionStage: string;
  reason: string;
}

export class EmulatedSecretManager {
  private configured: { arn: string; labels: string[] }[] = [];
  /**
   * The device copy, keyed as SecretManager's cache is (putSecretInCache): per ARN, by versionId and by
   * each staging label the version had when fetched.
   */
  private readonly copy = new Map<string, { byId: Map<string, SecretVersion>; byStage: Map<string, SecretVersion> }>();
  private readonly nameToArn = new Map<string, string>();
  /** Every failed cloud fetch, oldest first. */
  readonly fetchFailures: FetchFailure[] = [];
  /** Successful cloud fetches. */
  fetches = 0;

  constructor(private readonly cloud: SecretStore | undefined) {}

  /** The ARNs of `cloudSecrets`. */
  get cloudSecrets(): string[] {
    return this.configured.map((c) => c.arn);
  }

  /**
   * A deployment of the component's configuration: from now on only these secrets are kept
   * (LocalStoreMap.syncWithConfig saves configured secrets only), and each configured label and
   * AWSCURRENT is fetched from the cloud (SecretManager.syncFromCloud, run by
   * SecretManagerService on its configuration change and at its start). Failed fetches keep the copy.
   */
  configure(cloudSecrets: CloudSecret[]): void {
    // SecretManager.getSecretConfiguration adds AWSCURRENT to every entry's labels.
    this.configured = cloudSecrets.map((c) => ({ arn: c.arn, labels: [...new Set([...(c.labels ?? []), AWSCURRENT])] }));
    this.sync();
  }

  /** SecretManager.syncFromCloud: also what the component does at its own start. */
  sync(): void {
    const keep = new Set(this.cloudSecrets);
    for (const arn of [...this.copy.keys()]) if (!keep.has(arn)) this.copy.delete(arn);
    for (const [name, arn] of [...this.nameToArn]) if (!keep.has(arn)) this.nameToArn.delete(name);
    for (const c of this.configured) {
      if (!SECRET_ARN.test(c.arn)) continue; // "Skipping invalid secret arn configured"
      for (const label of c.labels) this.refreshFromCloud(c.arn, label);
    }
  }

  /**
   * SecretManager.validateSecretId / getArnFromCache: an ARN as it is, a name through the copy or the
   * configured ARNs (`<name>-` and AWS's 6-character suffix). Stricter than the component for an ARN
   * outside cloudSecrets (since its #99 it fetches such an ARN on the spot and serves it while the
   * cloud is reachable): refused here as not configured, so that a test cannot pass on a secret that
   * a deployment does not keep on the device.
   */
  resolveArn(secretId: string): string {
    if (SECRET_ARN.test(secretId)) {
      if (!this.cloudSecrets.includes(secretId)) throw notFound(`Secret not configured ${secretId}`);
      return secretId;
    }
    const known = this.nameToArn.get(secretId);
    if (known !== undefined) return known;
    const escaped = secretId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const byName = new RegExp(`.*:secret:${escaped}-[A-Za-z0-9]{6}(?::[A-Za-z0-9/_+=.@-]+)?$`);
    const configured = this.cloudSecrets.find((arn) => byName.test(arn));
    if (configured === undefined) throw notFound(`Secret not configured ${secretId}`);
    return configured;
  }

  /** SecretManager.getSecret: after resolveArn and the authorization check. */
  get(secretId: string, arn: string, o: { versionId?: string; versionStage?: string; refresh: boolean }): SecretVersion {
    if (o.versionId !== undefined && o.versionStage !== undefined) throw serviceError('Both versionId and Stage are set in the request');
    // Refresh by label only; a failed refresh falls back to the copy.
    if (o.refresh && o.versionId === undefined) this.refreshFromCloud(arn, o.versionStage);
    const cached = this.fromCopy(secretId, arn, o);
    if (!('missing' in cached)) return cached;
    // Not on the device: try the cloud once more (SecretManager.getSecret, 404 branch).
    if (o.versionId !== undefined) throw notFound(cached.missing);
    this.refreshFromCloud(arn, o.versionStage);
    const again = this.fromCopy(secretId, arn, o);
    if ('missing' in again) throw notFound(again.missing);
    return again;
  }

  private fromCopy(secretId: string, arn: string, o: { versionId?: string; versionStage?: string }): SecretVersion | { missing: string } {
    const entry = this.copy.get(arn);
    if (o.versionId !== undefined) return entry?.byId.get(o.versionId) ?? { missing: `Version Id ${o.versionId} not found for secret ${secretId}` };
    if (o.versionStage !== undefined) return entry?.byStage.get(o.versionStage) ?? { missing: `Version stage ${o.versionStage} not found for secret ${secretId}` };
    return entry?.byStage.get(AWSCURRENT) ?? { missing: `Secret not found ${secretId}` };
  }

  /** SecretManager.refreshSecretFromCloud: a failure is recorded and swallowed (the copy stays). */
  private refreshFromCloud(arn: string, versionStage: string | undefined): void {
    const label = versionStage ?? AWSCURRENT;
    // A label that is not configured is not downloaded.
    if (versionStage !== undefined && !this.configured.some((c) => c.arn === arn && c.labels.includes(versionStage))) return;
    let version: SecretVersion | undefined;
    try {
      version = this.cloud?.fetchFromCloud ? this.cloud.fetchFromCloud(arn, { versionStage: label }) : this.cloud?.resolve(arn, { versionStage: label });
      if (version === undefined) throw new Error("Secrets Manager can't find the specified secret.");
    } catch (e) {
      this.fetchFailures.push({ arn, versionStage: label, reason: e instanceof Error ? e.message : String(e) });
      return;
    }
    this.fetches++;
    let entry = this.copy.get(arn);
    if (entry === undefined) this.copy.set(arn, (entry = { byId: new Map(), byStage: new Map() }));
    entry.byId.set(version.versionId, version);
    for (const stage of version.versionStages) entry.byStage.set(stage, version);
    this.nameToArn.set(version.name, version.arn);
  }
}

export function getSecretValue(nucleus: Nucleus, { component, request }: OperationCall): JsonObject {
  const secretId = optionalString(request, 'secretId');
  if (secretId === undefined || secretId.length === 0) throw serviceError('SecretId absent in the request');
  const versionId = optionalString(request, 'versionId') || undefined;
  const versionStage = optionalString(request, 'versionStage') || undefined;
  const refresh = request['refresh'] === true;

  const sm = nucleus.secretManager;
  const arn = sm.resolveArn(secretId);
  if (!nucleus.authorization.isAuthorized(SECRET_MANAGER_SERVICE, component, GET_SECRET_VALUE, arn)) {
    throw unauthorized(notAuthorizedText(component, SECRET_MANAGER_SERVICE, GET_SECRET_VALUE, arn));
  }
  const version = sm.get(secretId, arn, { ...(versionId !== undefined ? { versionId } : {}), ...(versionStage !== undefined ? { versionStage } : {}), refresh });

  // SecretValue is a union: binary wins when the secret has it (translateModeltoIpc).
  const secretValue: JsonObject =
    version.secretBinary !== undefined
      ? { secretBinary: version.secretBinary.toString('base64') }
      : { secretString: version.secretString ?? '' };
  return { secretId: version.arn, versionId: version.versionId, versionStage: [...version.versionStages], secretValue };
}
