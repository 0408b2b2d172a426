// Topic templates: `{thingName}`, `{site}` and `{area}` are replaced, and the result must be a
// topic AWS IoT Core accepts for a publish. Checked once, at start-up or on a configuration
// update, so a bad template stops the component with a clear message instead of failing every
// publish at run time.

import { PublishConfigError } from './errors';

/** IoT Core's longest topic, UTF-8 bytes, not counting a Basic Ingest prefix (docs.aws.amazon.com/general/latest/gr/iot-core.html). */
export const MAX_TOPIC_BYTES = 256;
/** IoT Core's most forward slashes in a topic, not counting a Basic Ingest `$aws/rules/<rule>/` prefix. */
export const MAX_TOPIC_SLASHES = 7;
/** Basic Ingest topics go straight to a rule; the only `$` topics a component may publish to. */
const BASIC_INGEST = /^\$aws\/rules\/[A-Za-z0-9_]+\//;

export interface TopicValues {
  thingName: string;
  site: string;
  area: string;
}

const PLACEHOLDER = /\{([^{}]*)\}/g;

/**
 * Expands a template and checks the result; throws PublishConfigError naming `field` otherwise.
 * A replaced value must be non-empty and free of `/`, `+`, `#` and NUL: a site `a/b` would add a
 * topic level and silently break every subscriber's filter.
 */
export function expandTopic(template: string, values: TopicValues, field = 'publish.topic'): string {
  if (typeof template !== 'string') throw new PublishConfigError('must be a string', { field });
  const topic = template.replace(PLACEHOLDER, (whole, name: string) => {
    if (name !== 'thingName' && name !== 'site' && name !== 'area') {
      throw new PublishConfigError(`unknown placeholder ${whole} in ${JSON.stringify(template)}; use {thingName}, {site} or {area}`, { field });
    }
    const v = values[name];
    if (typeof v !== 'string' || v.length === 0 || /[/+#\u0000]/.test(v)) {
      throw new PublishConfigError(`${name} ${JSON.stringify(v)} cannot go into a topic: it must be non-empty, without / + # or NUL`, { field });
    }
    return v;
  });
  const problem = topicProblem(topic);
  if (problem !== undefined) throw new PublishConfigError(`${JSON.stringify(topic)} (from ${JSON.stringify(template)}) ${problem}`, { field });
  return topic;
}

/** Why `topic` cannot be published to, or undefined when it can. */
export function topicProblem(topic: string): string | undefined {
  return topicIssue(topic)?.message;
}

/** C0 and C1 control characters and DEL: legal in MQTT but never in a topic an operator means. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * The one topic rule of every conduit component, for a topic published to AWS IoT Core through the
 * nucleus: what is wrong and how to fix it, or undefined. It copies the nucleus's
 * IotCoreTopicValidator (no wildcard in a publish topic; at most 7 slashes and 256 characters in the
 * effective topic, i.e. without a Basic Ingest `$aws/rules/<rule>/` prefix), and is stricter where
 * IoT Core is: 256 UTF-8 *bytes*, no other `$` topic, no empty level, no control character.
 */
export function topicIssue(topic: string): { message: string; fix: string } | undefined {
  const example = 'e.g. conduit/{thingName}/telemetry';
  if (topic.length === 0) return { message: 'is empty', fix: `name a topic, ${example}` };
  if (/[{}]/.test(topic)) return { message: 'has an unmatched { or }', fix: 'write placeholders as {thingName}, {site} or {area}' };
  if (/[+#]/.test(topic)) return { message: 'contains an MQTT wildcard (+ or #), which only subscriptions may use', fix: `name one topic, ${example}` };
  if (topic.includes('\u0000')) return { message: 'contains NUL', fix: 'remove it' };
  if (CONTROL.test(topic)) return { message: 'contains a control character', fix: 'remove it' };
  let rest = topic;
  if (topic.startsWith('$')) {
    const ingest = BASIC_INGEST.exec(topic);
    if (ingest === null) {
      return { message: 'starts with $, reserved for AWS IoT\'s own topics (only Basic Ingest $aws/rules/<rule>/… is allowed)', fix: `start it with your own prefix, ${example}` };
    }
    rest = topic.slice(ingest[0].length);
    if (rest.length === 0) return { message: 'has no topic after the Basic Ingest prefix', fix: 'add the topic after $aws/rules/<rule>/' };
  }
  const bytes = Buffer.byteLength(rest, 'utf8');
  if (bytes > MAX_TOPIC_BYTES) return { message: `is ${bytes} bytes, more than ${MAX_TOPIC_BYTES} (the AWS IoT Core limit)`, fix: 'shorten it' };
  const levels = rest.split('/');
  if (levels.some((l) => l.length === 0)) return { message: 'has an empty level (a leading, trailing or double /)', fix: 'remove the extra /' };
  if (levels.length - 1 > MAX_TOPIC_SLASHES) {
    return { message: `has ${levels.length - 1} slashes, more than ${MAX_TOPIC_SLASHES} (the AWS IoT Core limit)`, fix: `use at most ${MAX_TOPIC_SLASHES + 1} levels` };
  }
  return undefined;
}
