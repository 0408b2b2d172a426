// PublishToIoTCore / SubscribeToIoTCore (the nucleus's MqttProxyIPCAgent) and PublishToTopic /
// SubscribeToTopic (PubSubIPCEventStreamAgent), with their checks in the nucleus's order and texts.

import type { IotCoreRecord, JsonObject } from '../contracts';
import { MQTT_PROXY_SERVICE, PUB_SUB_SERVICE, notAuthorizedText } from './authorization';
import { isJsonObject } from './config-store';
import { invalidArguments, serviceError, unauthorized, UnmodeledIpcError } from './errors';
import type { Nucleus, OperationCall, ReceiveMode } from './nucleus';
import { optionalBlob, optionalBoolean, optionalObject, optionalString } from './request-fields';
import { iotCoreTopicProblem, MAX_TOPIC_LENGTH } from './iot-core-topic';
import { hasMqttWildcard, topicMatchesFilter } from './topic-filter';

export const PUBLISH_TO_IOT_CORE = 'aws.greengrass#PublishToIoTCore';
export const SUBSCRIBE_TO_IOT_CORE = 'aws.greengrass#SubscribeToIoTCore';
export const PUBLISH_TO_TOPIC = 'aws.greengrass#PublishToTopic';
export const SUBSCRIBE_TO_TOPIC = 'aws.greengrass#SubscribeToTopic';

/** The mqttproxy keeps the policy detail in the nucleus log; the client only sees this. */
const MQTT_PROXY_NOT_AUTHORIZED = 'Not Authorized';

/** QoS enum as it travels: "0" AT_MOST_ONCE, "1" AT_LEAST_ONCE. */
function requireQos(request: JsonObject): '0' | '1' {
  const qos = optionalString(request, 'qos');
  if (qos === undefined) throw invalidArguments('QoS is required');
  if (qos !== '0' && qos !== '1') throw invalidArguments(`Invalid QoS value: ${qos}`);
  return qos;
}

/** MqttProxyIPCAgent.validateTopic checks for null only; an empty topic fails later, in IotCoreTopicValidator. */
function requireTopicName(request: JsonObject): string {
  const topic = optionalString(request, 'topicName');
  if (topic === undefined) throw invalidArguments('Topic is required');
  return topic;
}

/**
 * MqttProxyIPCAgent.PublishToIoTCoreOperationHandler, in its order: topic given → authorization →
 * payload given → QoS; then MqttClient.publish: payload size → IoT Core topic rules
 * (IotCoreTopicValidator) → the spooler. Whatever MqttClient.publish refuses comes back as
 * ServiceError("Publish to topic <t> failed: <reason>"). Success means spooled: the message goes out
 * later on one of the core's connections, where IoT Core's policy may still refuse it.
 */
export function publishToIotCore(nucleus: Nucleus, { component, request }: OperationCall): JsonObject {
  const topicName = requireTopicName(request);
  if (!nucleus.authorization.isAuthorized(MQTT_PROXY_SERVICE, component, PUBLISH_TO_IOT_CORE, topicName)) {
    throw unauthorized(MQTT_PROXY_NOT_AUTHORIZED);
  }
  const payload = optionalBlob(request, 'payload');
  if (payload === undefined) throw invalidArguments('Payload is required');
  const qos = requireQos(request);
  const max = nucleus.maxIotCorePayloadBytes;
  const failure =
    payload.length > max
      ? `The publishing message size ${payload.length} bytes exceeds the configured limit of ${max} bytes`
      : (iotCoreTopicProblem(topicName, 'PUBLISH') ?? nucleus.publishFault?.(topicName, payload));
  if (failure !== undefined) throw serviceError(`Publish to topic ${topicName} failed: ${failure}`);
  const clientId = nucleus.mqtt.publishClientId();
  const record: IotCoreRecord = {
    component,
    topicName,
    qos,
    payload,
    retain: optionalBoolean(request, 'retain') ?? false,
    at: Date.now(),
    clientId,
  };
  if (refusedByIotCore(topicName) || (nucleus.iotCorePolicy !== undefined && !nucleus.iotCorePolicy(clientId, topicName))) {
    nucleus.iotCoreDropped.push(record);
    return {};
  }
  nucleus.iotCore.push(record);
  nucleus.events.iotCorePublish(record);
  return {};
}

/**
 * IoT Core limits a topic to 256 bytes of UTF-8 where the nucleus counted characters (see
 * iot-core-topic.ts): a topic that passed the nucleus and is longer in bytes is refused by IoT Core.
 * Reserved topics have their own prefixes, which IoT Core does not count; they are left alone here.
 */
function refusedByIotCore(topicName: string): boolean {
  return !topicName.startsWith('$') && Buffer.byteLength(topicName, 'utf8') > MAX_TOPIC_LENGTH;
}

/**
 * SubscribeToIoTCoreOperationHandler: topic given → authorization → QoS; then MqttClient.subscribe
 * checks the IoT Core topic rules, and the agent wraps the exception's toString() in its ServiceError.
 * The subscription takes room on one of the core's connections until its stream closes.
 */
export function subscribeToIotCore(nucleus: Nucleus, { component, request, sink }: OperationCall): JsonObject {
  const filter = requireTopicName(request);
  if (!nucleus.authorization.isAuthorized(MQTT_PROXY_SERVICE, component, SUBSCRIBE_TO_IOT_CORE, filter)) {
    throw unauthorized(MQTT_PROXY_NOT_AUTHORIZED);
  }
  requireQos(request);
  const problem = iotCoreTopicProblem(filter, 'SUBSCRIBE');
  if (problem !== undefined) {
    throw serviceError(`Subscribe to topic ${filter} failed with error com.aws.greengrass.mqttclient.MqttRequestException: ${problem}`);
  }
  const cloud = nucleus.mqtt.subscribe(filter);
  nucleus.track(nucleus.iotCoreSubscriptions, { component, filter, sink, cloud });
  sink.onClose(() => nucleus.mqtt.unsubscribe(cloud));
  return {};
}

/** A message from "the cloud": an IoTCoreMessage event on every matching subscription. */
export function deliverFromIotCore(nucleus: Nucleus, topicName: string, payload: Buffer): number {
  let delivered = 0;
  for (const subscription of nucleus.iotCoreSubscriptions) {
    if (!topicMatchesFilter(subscription.filter, topicName)) continue;
    subscription.sink.send({ message: { topicName, payload: payload.toString('base64') } });
    delivered++;
  }
  return delivered;
}

type LocalMessage = { kind: 'json'; message: JsonObject } | { kind: 'binary'; message: string };

function readPublishMessage(request: JsonObject): LocalMessage {
  const publishMessage = optionalObject(request, 'publishMessage');
  const json = publishMessage && optionalObject(publishMessage, 'jsonMessage');
  const binary = publishMessage && optionalObject(publishMessage, 'binaryMessage');
  if (json !== undefined) {
    const message = json['message'];
    // JsonMessage.message is a Map<String, Object> on the Java side: anything else fails deserialization.
    if (message !== undefined && message !== null && !isJsonObject(message)) {
      throw new UnmodeledIpcError('jsonMessage.message is not an object');
    }
    return { kind: 'json', message: message ?? {} };
  }
  if (binary !== undefined) return { kind: 'binary', message: optionalString(binary, 'message') ?? '' };
  throw invalidArguments('Publish message must contain either jsonMessage or binaryMessage');
}

export function publishToTopic(nucleus: Nucleus, { component, request }: OperationCall): JsonObject {
  const topic = optionalString(request, 'topic');
  if (topic === undefined) throw invalidArguments('Publish topic must not be null');
  if (hasMqttWildcard(topic) || topic.includes('*')) throw invalidArguments('Publish topic must not contain a wildcard.');
  if (!nucleus.authorization.isAuthorized(PUB_SUB_SERVICE, component, PUBLISH_TO_TOPIC, topic)) {
    throw unauthorized(notAuthorizedText(component, PUB_SUB_SERVICE, PUBLISH_TO_TOPIC, topic));
  }
  const message = readPublishMessage(request);
  const context = { topic };
  const event: JsonObject =
    message.kind === 'json'
      ? { jsonMessage: { message: message.message, context } }
      : { binaryMessage: { message: message.message, context } };
  for (const subscription of nucleus.topicSubscriptions) {
    if (subscription.receiveMode === 'RECEIVE_MESSAGES_FROM_OTHERS' && subscription.component === component) continue;
    if (topicMatchesFilter(subscription.filter, topic)) subscription.sink.send(event);
  }
  return {};
}

export function subscribeToTopic(nucleus: Nucleus, { component, request, sink }: OperationCall): JsonObject {
  const filter = optionalString(request, 'topic');
  if (filter === undefined || filter.length === 0) throw invalidArguments('Subscribe topic must not be empty');
  const mode = optionalString(request, 'receiveMode');
  if (mode !== undefined && mode !== 'RECEIVE_ALL_MESSAGES' && mode !== 'RECEIVE_MESSAGES_FROM_OTHERS') {
    throw new UnmodeledIpcError(`unknown receiveMode ${mode}`);
  }
  if (!nucleus.authorization.isAuthorized(PUB_SUB_SERVICE, component, SUBSCRIBE_TO_TOPIC, filter)) {
    throw unauthorized(notAuthorizedText(component, PUB_SUB_SERVICE, SUBSCRIBE_TO_TOPIC, filter));
  }
  // Without an explicit mode the nucleus keeps a wildcard subscriber from hearing its own messages.
  const receiveMode: ReceiveMode =
    mode ?? (hasMqttWildcard(filter) ? 'RECEIVE_MESSAGES_FROM_OTHERS' : 'RECEIVE_ALL_MESSAGES');
  nucleus.track(nucleus.topicSubscriptions, { component, filter, receiveMode, sink });
  return {};
}
