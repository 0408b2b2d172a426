// The OPC UA identity through the aws.greengrass.SecretManager component (credentialsSource
// "greengrass", the default): IPC GetSecretValue, answered from the copy that component keeps on the
// device (encrypted with the core's key, fetched at its start and with each deployment). A restart
// while the WAN is down therefore still logs in to the plant. After the server refused the cached
// identity the read asks for `refresh: true`: the component fetches the latest version from the
// cloud first (a rotation), and answers from its copy when the cloud cannot be reached.
//
// The nucleus's error texts name the secret id, never its value; they are quoted as they are.
import { CachedCredentialSource, CredentialsError, type RawSecret } from './credentials';

/** The IPC edge this needs (shared/edge/greengrass-ipc.ts GreengrassIpc.getSecretValue). */
export interface SecretValueReader {
  getSecretValue(secretId: string, opts: { refresh: boolean }): Promise<{ secretString?: string; binary: boolean }>;
}

export const SECRET_MANAGER_COMPONENT = 'aws.greengrass.SecretManager';

export class GreengrassCredentialSource extends CachedCredentialSource {
  constructor(
    secretId: string,
    private readonly reader: SecretValueReader,
  ) {
    super(secretId);
  }

  protected async read(refresh: boolean): Promise<RawSecret> {
    try {
      const v = await this.reader.getSecretValue(this.secretId, { refresh });
      return { secretString: v.secretString, binary: v.binary };
    } catch (err) {
      throw describeIpcSecretError(this.secretId, err);
    }
  }
}

/**
 * Maps what GetSecretValue rejected with to an error an operator can act on. The SecretManager
 * answers (SecretManagerIPCAgent): ResourceNotFoundError "Secret not configured <id>" for a secret
 * outside its cloudSecrets, "Secret not found <id>" (or "Version … not found") for a configured one
 * it holds no copy of; UnauthorizedError when the component's accessControl does not grant it;
 * ServiceError otherwise. Anything else (no connection, a timeout, no SecretManager answering) may pass.
 */
export function describeIpcSecretError(id: string, err: unknown): CredentialsError {
  const e = err as { serviceError?: { _errorCode?: string; message?: string }; reason?: string; message?: string; description?: string } | undefined;
  const code = e?.serviceError?._errorCode;
  const text = e?.serviceError?.message ?? e?.reason ?? e?.description ?? e?.message ?? String(err);
  if (code === 'ResourceNotFoundError' && /not configured/i.test(text)) {
    return new CredentialsError(
      'not-found',
      id,
      `secret "${id}" is not in ${SECRET_MANAGER_COMPONENT}'s cloudSecrets (${code}: ${text}); add {"arn": "<the secret's ARN>"} to cloudSecrets in the deployment's configuration of ${SECRET_MANAGER_COMPONENT}, or set credentialsSecretId to a configured secret`,
      { cause: err },
    );
  }
  if (code === 'ResourceNotFoundError') {
    return new CredentialsError(
      'not-found',
      id,
      `${SECRET_MANAGER_COMPONENT} holds no copy of secret "${id}" (${code}: ${text}): it is configured but was never fetched. Check that the secret exists in AWS Secrets Manager, that the core's token exchange role allows secretsmanager:GetSecretValue on it (and kms:Decrypt for a customer-managed key), and that the core can reach Secrets Manager; ${SECRET_MANAGER_COMPONENT}'s lines in greengrass.log say which`,
      { cause: err },
    );
  }
  if (code === 'UnauthorizedError') {
    return new CredentialsError(
      'access-denied',
      id,
      `this component may not read secret "${id}" (${code}: ${text}); allow aws.greengrass#GetSecretValue on exactly the secret's ARN in conduit.OpcUaCollector's accessControl for ${SECRET_MANAGER_COMPONENT} (the deployment's configuration merge)`,
      { cause: err },
    );
  }
  return new CredentialsError(
    'unavailable',
    id,
    `reading secret "${id}" from ${SECRET_MANAGER_COMPONENT} failed (${code ? `${code}: ` : ''}${text}); retried before every connection attempt. If it persists, check that ${SECRET_MANAGER_COMPONENT} is deployed and RUNNING`,
    { cause: err },
  );
}
