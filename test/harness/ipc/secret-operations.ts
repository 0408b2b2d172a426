// GetSecretValue as the SecretManager component serves it (SecretManagerIPCAgent + SecretManager):
// only secrets in its `cloudSecrets` exist on the device; a name is resolved to its ARN before the
// accessControl check, which is made on the ARN; versionId and versionStage exclude each other.

import type { JsonObject, SecretVersion } from '../contracts';
import { notAuthorizedText, SECRET_MANAGER_SERVICE } from './authorization';
import { resourceNotFound, serviceError, unauthorized } from './errors';
import type { Nucleus, OperationCall } from './nucleus';
import { optionalString } from './request-fields';

export const GET_SECRET_VALUE = 'aws.greengrass#GetSecretValue';

/** SecretManager.VALID_SECRET_ARN_PATTERN, loosely: anything else is taken as a secret name. */
const SECRET_ARN = /^arn:[^:]+:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$/;

const notFound = (message: string) => resourceNotFound(message, { resourceType: 'secret' });

export function getSecretValue(nucleus: Nucleus, { component, request }: OperationCall): JsonObject {
  const secretId = optionalString(request, 'secretId');
  if (secretId === undefined || secretId.length === 0) throw serviceError('SecretId absent in the request');
  const versionId = optionalString(request, 'versionId') || undefined;
  const versionStage = optionalString(request, 'versionStage') || undefined;

  const arn = SECRET_ARN.test(secretId) ? secretId : nucleus.secrets?.resolve(secretId)?.arn;
  if (arn === undefined || !nucleus.cloudSecrets.has(arn)) throw notFound(`Secret not configured ${secretId}`);
  if (!nucleus.authorization.isAuthorized(SECRET_MANAGER_SERVICE, component, GET_SECRET_VALUE, arn)) {
    throw unauthorized(notAuthorizedText(component, SECRET_MANAGER_SERVICE, GET_SECRET_VALUE, arn));
  }
  if (versionId !== undefined && versionStage !== undefined) {
    throw serviceError('Both versionId and Stage are set in the request');
  }

  let version: SecretVersion | undefined;
  if (versionId !== undefined) {
    version = nucleus.secrets?.resolve(arn, { versionId });
    if (version === undefined) throw notFound(`Version Id ${versionId} not found for secret ${secretId}`);
  } else if (versionStage !== undefined) {
    version = nucleus.secrets?.resolve(arn, { versionStage });
    if (version === undefined) throw notFound(`Version stage ${versionStage} not found for secret ${secretId}`);
  } else {
    version = nucleus.secrets?.resolve(arn);
    if (version === undefined) throw notFound(`Secret not found ${secretId}`);
  }

  // SecretValue is a union: binary wins when the secret has it (translateModeltoIpc).
  const secretValue: JsonObject =
    version.secretBinary !== undefined
      ? { secretBinary: version.secretBinary.toString('base64') }
      : { secretString: version.secretString ?? '' };
  return { secretId: version.arn, versionId: version.versionId, versionStage: [...version.versionStages], secretValue };
}
