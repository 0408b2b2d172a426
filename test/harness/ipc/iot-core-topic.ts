// AWS IoT Core's topic rules as the nucleus checks them before it spools a message or subscribes
// (the nucleus's mqttclient/IotCoreTopicValidator.java, MQTT 5, the nucleus's default mqtt.version).
// The texts are the nucleus's; IoT Core itself would refuse the same topics.

/** IotCoreTopicValidator.TOPIC_MAX_NUMBER_OF_FORWARD_SLASHES. */
export const MAX_TOPIC_SLASHES = 7;
/** IotCoreTopicValidator.MAX_LENGTH_OF_TOPIC. */
export const MAX_TOPIC_LENGTH = 256;
/** IotCoreTopicValidator.MAX_LENGTH_FOR_UNKNOWN_RESERVED_TOPIC (MQTT 5 only). */
const MAX_UNKNOWN_RESERVED_TOPIC_LENGTH = 512;

const TOO_LONG =
  `The topic size of request must be no larger than ${MAX_TOPIC_LENGTH} bytes of UTF-8 encoded characters. ` +
  'This excludes the first 3 mandatory segments for Basic Ingest topics ($AWS/rules/rule-name/)';
const TOO_LONG_SUBSCRIBE = `${TOO_LONG} or first 2 mandatory segments for MQTT Shared Subscriptions ($share/share-name/)`;
const UNKNOWN_RESERVED_TOO_LONG =
  `Reserved topic total length is greater than ${MAX_UNKNOWN_RESERVED_TOPIC_LENGTH} bytes of UTF-8 encoded characters ` +
  `and is most likely over the IoT Core limit of ${MAX_TOPIC_LENGTH} bytes (excluding prefixes).`;
const TOO_MANY_SLASHES = `The request topic must have no more than ${MAX_TOPIC_SLASHES} forward slashes (/)`;
const DIRECT_INGEST_EMPTY = "Effective direct ingest topic (without '$aws/rules/rule-name/' prefix) is empty";
const SHARED_EMPTY = "Effective shared subscription topic (without '$share/share-group/' prefix) is empty";
const WILDCARD_IN_PUBLISH = "Publish topics must not contain wildcard characters of '#' or '+'";
const EMPTY = 'Topic must not be empty';

// The nucleus's patterns, used with Java's Pattern.matches (a whole-string match) and String.split.
const SHARED_SUBSCRIPTION = /^\$share\/\S+\/\S+$/;
const SHARED_SUBSCRIPTION_PREFIX = /^\$share\/\S+?\//;
const DIRECT_INGEST = /^\$aws\/rules\/\S+\/\S+$/;
const DIRECT_INGEST_PREFIX = /^\$aws\/rules\/\S+?\//;

export type TopicOperation = 'PUBLISH' | 'SUBSCRIBE';

/** The reason the nucleus refuses `topic`, or undefined when it is acceptable. */
export function iotCoreTopicProblem(topic: string, operation: TopicOperation): string | undefined {
  if (topic.length === 0) return EMPTY;
  if (operation === 'PUBLISH' && (topic.includes('#') || topic.includes('+'))) return WILDCARD_IN_PUBLISH;
  if (!topic.startsWith('$')) return effectiveTopicProblem(topic, operation);
  if (SHARED_SUBSCRIPTION.test(topic)) {
    if (operation === 'PUBLISH') return effectiveTopicProblem(topic, operation);
    const rest = afterPrefix(topic, SHARED_SUBSCRIPTION_PREFIX);
    return rest === undefined ? SHARED_EMPTY : effectiveTopicProblem(rest, operation);
  }
  if (DIRECT_INGEST.test(topic)) {
    const rest = afterPrefix(topic, DIRECT_INGEST_PREFIX);
    return rest === undefined ? DIRECT_INGEST_EMPTY : effectiveTopicProblem(rest, operation);
  }
  // Any other reserved topic: with MQTT 5 the nucleus leaves the rules to IoT Core, bar a sanity bound.
  return topic.length > MAX_UNKNOWN_RESERVED_TOPIC_LENGTH ? UNKNOWN_RESERVED_TOO_LONG : undefined;
}

/**
 * The length is Java's String.length(), i.e. UTF-16 code units, which is also JavaScript's: the
 * nucleus's message says "bytes of UTF-8", but a topic of 200 'é' (400 UTF-8 bytes) passes its check.
 */
function effectiveTopicProblem(topic: string, operation: TopicOperation): string | undefined {
  if ([...topic].filter((c) => c === '/').length > MAX_TOPIC_SLASHES) return TOO_MANY_SLASHES;
  if (topic.length > MAX_TOPIC_LENGTH) return operation === 'SUBSCRIBE' ? TOO_LONG_SUBSCRIBE : TOO_LONG;
  return undefined;
}

/** Java's `topic.split(prefix, 2)[1]`: undefined when nothing follows the prefix. */
function afterPrefix(topic: string, prefix: RegExp): string | undefined {
  const m = prefix.exec(topic);
  if (m === null) return undefined;
  const rest = topic.slice(m[0].length);
  return rest.length > 0 ? rest : undefined;
}
