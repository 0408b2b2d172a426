// The operations this nucleus serves, with the shape names that go in `service-model-type`
// (greengrasscoreipc/model_utils.js createOperationMap). An operation with an event shape is
// streaming: its initial response leaves the stream open.

import type { JsonObject } from '../contracts';
import {
  getConfiguration,
  sendConfigurationValidityReport,
  subscribeToConfigurationUpdate,
  subscribeToValidateConfigurationUpdates,
  updateState,
} from './config-operations';
import { SHAPE_NAMESPACE } from './errors';
import {
  publishToIotCore,
  publishToTopic,
  subscribeToIotCore,
  subscribeToTopic,
} from './messaging-operations';
import type { Nucleus, OperationCall } from './nucleus';
import { getSecretValue } from './secret-operations';

export interface Operation {
  responseShape: string;
  /** Present for streaming operations: the shape of every event. */
  eventShape?: string;
  /** Returns the response body or throws ModeledIpcError / UnmodeledIpcError. Never sends events itself
   *  before returning: the connection holds events back until the response is on the wire. */
  handle(nucleus: Nucleus, call: OperationCall): JsonObject;
}

type Handler = Operation['handle'];

function requestResponse(name: string, handle: Handler): [string, Operation] {
  return [SHAPE_NAMESPACE + name, { responseShape: `${SHAPE_NAMESPACE}${name}Response`, handle }];
}

function streaming(name: string, eventShape: string, handle: Handler): [string, Operation] {
  return [
    SHAPE_NAMESPACE + name,
    { responseShape: `${SHAPE_NAMESPACE}${name}Response`, eventShape: SHAPE_NAMESPACE + eventShape, handle },
  ];
}

export const OPERATIONS: ReadonlyMap<string, Operation> = new Map([
  requestResponse('PublishToIoTCore', publishToIotCore),
  streaming('SubscribeToIoTCore', 'IoTCoreMessage', subscribeToIotCore),
  requestResponse('PublishToTopic', publishToTopic),
  streaming('SubscribeToTopic', 'SubscriptionResponseMessage', subscribeToTopic),
  requestResponse('GetConfiguration', getConfiguration),
  streaming('SubscribeToConfigurationUpdate', 'ConfigurationUpdateEvents', subscribeToConfigurationUpdate),
  streaming(
    'SubscribeToValidateConfigurationUpdates',
    'ValidateConfigurationUpdateEvents',
    subscribeToValidateConfigurationUpdates,
  ),
  requestResponse('SendConfigurationValidityReport', sendConfigurationValidityReport),
  requestResponse('UpdateState', updateState),
  requestResponse('GetSecretValue', getSecretValue),
]);
