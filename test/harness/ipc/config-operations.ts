// GetConfiguration, SubscribeToConfigurationUpdate, SubscribeToValidateConfigurationUpdates,
// SendConfigurationValidityReport (the nucleus's ConfigStoreIPCEventStreamAgent) and UpdateState
// (LifecycleIPCEventStreamAgent). None of them needs an accessControl policy.

import type { JsonObject } from '../contracts';
import { isPrefixOf, type KeyPath } from './config-store';
import { invalidArguments, resourceNotFound, serviceError } from './errors';
import type { Nucleus, OperationCall } from './nucleus';
import { optionalObject, optionalString, optionalStringList } from './request-fields';

const KEY_NOT_FOUND = 'Key not found';

export function getConfiguration(nucleus: Nucleus, { component, request }: OperationCall): JsonObject {
  const target = optionalString(request, 'componentName') ?? component;
  const node = nucleus.configs.find(target, optionalStringList(request, 'keyPath') ?? []);
  switch (node.kind) {
    case 'missing':
      throw resourceNotFound(KEY_NOT_FOUND);
    case 'interior':
      return { componentName: target, value: node.value };
    case 'leaf':
      // A leaf comes back wrapped in a map under its own key as stored, not as asked (node.getName()).
      return { componentName: target, value: { [node.key]: node.value } };
  }
}

export function subscribeToConfigurationUpdate(nucleus: Nucleus, { component, request, sink }: OperationCall): JsonObject {
  const target = optionalString(request, 'componentName') ?? component;
  const node = nucleus.configs.find(target, optionalStringList(request, 'keyPath') ?? []);
  if (node.kind === 'missing') throw resourceNotFound(KEY_NOT_FOUND);
  // The watcher sits on the node found (case-insensitively); events name it as it is spelled there.
  nucleus.track(nucleus.configSubscriptions, { target, keyPath: node.path, sink });
  return {};
}

/**
 * Tells watchers of `target` about changed nodes. A watcher hears about a change at or below the node
 * it watches (with the changed node's path), and about a change that replaced or removed the node it
 * watches (with its own path, the node it lost).
 */
export function notifyConfigurationChanged(nucleus: Nucleus, target: string, changed: readonly KeyPath[]): void {
  for (const subscription of nucleus.configSubscriptions) {
    if (subscription.target !== target) continue;
    for (const keyPath of changed) {
      let reported: KeyPath | undefined;
      if (isPrefixOf(subscription.keyPath, keyPath)) reported = keyPath;
      else if (isPrefixOf(keyPath, subscription.keyPath)) reported = subscription.keyPath;
      if (reported === undefined) continue;
      subscription.sink.send({ configurationUpdateEvent: { componentName: target, keyPath: [...reported] } });
    }
  }
}

export function subscribeToValidateConfigurationUpdates(nucleus: Nucleus, { component, sink }: OperationCall): JsonObject {
  nucleus.trackValidator(component, sink);
  return {};
}

export function sendConfigurationValidityReport(nucleus: Nucleus, { component, request }: OperationCall): JsonObject {
  const report = optionalObject(request, 'configurationValidityReport') ?? {};
  const deploymentId = optionalString(report, 'deploymentId');
  if (deploymentId === undefined) {
    throw invalidArguments('Cannot accept configuration validity report, the deployment ID provided was null');
  }
  const pending = nucleus.pendingValidations.get(component);
  const settle = pending?.get(deploymentId);
  if (pending === undefined || settle === undefined) {
    throw invalidArguments('Validation request either timed out or was never made');
  }
  const status = optionalString(report, 'status');
  if (status !== 'ACCEPTED' && status !== 'REJECTED') throw invalidArguments(`Invalid validity status: ${status}`);
  const message = optionalString(report, 'message');
  settle(message === undefined ? { status } : { status, message });
  return {};
}

export function updateState(nucleus: Nucleus, { component, request }: OperationCall): JsonObject {
  if (!nucleus.isRegistered(component)) {
    throw resourceNotFound('Component with given name not found', { resourceType: 'Component', resourceName: component });
  }
  const state = optionalString(request, 'state');
  if (state !== 'RUNNING' && state !== 'ERRORED') throw serviceError(`Invalid state: ${state}`);
  nucleus.events.stateChange(component, state);
  return {};
}
