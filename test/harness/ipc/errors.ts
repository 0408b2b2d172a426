// How an operation fails, in the two ways the nucleus's Java eventstream-RPC server answers a failure:
// a modeled error (an error shape the client deserializes into `RpcError.serviceError`), or anything
// else, which the server turns into a plain-text `InternalServerError`.

import type { JsonObject } from '../contracts';

/** Every modeled Greengrass IPC error carries this in `_service` (GreengrassCoreIPCError). */
export const IPC_SERVICE_ID = 'aws.greengrass#GreengrassCoreIPC';
export const SHAPE_NAMESPACE = 'aws.greengrass#';

export type ModeledErrorCode = 'UnauthorizedError' | 'ServiceError' | 'ResourceNotFoundError' | 'InvalidArgumentsError';

/** A modeled error: sent as ApplicationError with `service-model-type: aws.greengrass#<code>`. */
export class ModeledIpcError extends Error {
  constructor(
    readonly errorCode: ModeledErrorCode,
    message: string,
    /** Shape fields besides `message`, e.g. ResourceNotFoundError's resourceType. */
    readonly fields: JsonObject = {},
  ) {
    super(message);
    this.name = 'ModeledIpcError';
  }

  get shape(): string {
    return SHAPE_NAMESPACE + this.errorCode;
  }

  /** The JSON the Java server sends: the shape's fields, then EventStreamOperationError's `_`-prefixed ones. */
  toJson(): JsonObject {
    return {
      message: this.message,
      ...this.fields,
      _service: IPC_SERVICE_ID,
      _message: this.message,
      _errorCode: this.errorCode,
    };
  }
}

export const unauthorized = (message: string): ModeledIpcError => new ModeledIpcError('UnauthorizedError', message);
export const serviceError = (message: string): ModeledIpcError => new ModeledIpcError('ServiceError', message);
export const invalidArguments = (message: string): ModeledIpcError =>
  new ModeledIpcError('InvalidArgumentsError', message);
export const resourceNotFound = (message: string, fields: JsonObject = {}): ModeledIpcError =>
  new ModeledIpcError('ResourceNotFoundError', message, fields);

/** Anything the Java server would not model (e.g. a request Gson cannot deserialize): text/plain InternalServerError. */
export class UnmodeledIpcError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnmodeledIpcError';
  }
}
