// Topic templates: `{thingName}`, `{site}` and `{area}` are replaced, and the result must be a
// topic AWS IoT Core accepts for a publish. Checked once, at start-up or on a configuration
// update, so a bad template stops the component with a clear message instead of failing every
// publish at run time.

import { PublishConfigError } from './errors';

/** IoT Core's longest topic, UTF-8 bytes (docs.aws.amazon.com/general/latest/gr/iot-core.html). */
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
  if (topic.length === 0) return 'is empty';
  if (/[{}]/.test(topic)) return 'has an unmatched { or }';
  if (/[+#]/.test(topic)) return 'contains an MQTT wildcard (+ or #)';
  if (topic.includes('\u0000')) return 'contains NUL';
  const bytes = Buffer.byteLength(topic, 'utf8');
  if (bytes > MAX_TOPIC_BYTES) return `is ${bytes} bytes, more than ${MAX_TOPIC_BYTES}`;
  let rest = topic;
  if (topic.startsWith('$')) {
    const ingest = BASIC_INGEST.exec(topic);
    if (ingest === null) return 'starts with $, reserved for AWS IoT (only Basic Ingest $aws/rules/<rule>/… is allowed)';
    rest = topic.slice(ingest[0].length);
    if (rest.length === 0) return 'has no topic after the Basic Ingest prefix';
  }
  const levels = rest.split('/');
  if (levels.some((l) => l.length === 0)) return 'has an empty level (a leading, trailing or double /)';
  if (levels.length - 1 > MAX_TOPIC_SLASHES) return `has ${levels.length - 1} slashes, more than ${MAX_TOPIC_SLASHES}`;
  return undefined;
}
