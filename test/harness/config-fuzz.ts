// Generated invalid configurations for conduit's components, each as a Greengrass MERGE document
// (what a deployment's configuration update carries) with the JSON path its rejection must name.
// Drawn from the component's own JSON Schema, so a new key is fuzzed without anyone listing it:
// wrong JSON types (a number in quotes, a boolean as 1, text where a list belongs), out-of-range and
// non-integral numbers, text over its bound or badly formed (100 KB, a lone surrogate, a control
// character), values outside an enum, missing required keys, unknown and prototype keys, deep
// nesting, lists for objects; plus the rules that span keys, written out by hand. Deterministic:
// one seed gives the same cases in the same order.
import type { JsonObject, JsonValue } from './contracts';

export interface InvalidCase {
  /** What was broken, e.g. `/sampling/intervalMs: a number in quotes`. */
  name: string;
  /** The configuration update (MERGE) that breaks it. Lists such as tags are replaced whole. */
  merge: JsonObject;
  /** The JSON pointer a rejection must name (an issue at it or below it). */
  path: string;
}

interface Node {
  type?: string;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  maxLength?: number;
  maxItems?: number;
  pattern?: string;
  required?: string[];
  properties?: Record<string, Node>;
  items?: Node;
}

/** mulberry32: a small seeded generator, so a failing case can be replayed from its seed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle<T>(xs: T[], rnd: () => number): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const esc = (k: string) => k.replace(/~/g, '~0').replace(/\//g, '~1');

/** Bad values for one leaf of the schema, each with a label. */
function badValues(node: Node, rnd: () => number): [string, JsonValue][] {
  const out: [string, JsonValue][] = [];
  const t = node.type;
  if (t === 'integer' || t === 'number') {
    const lo = node.minimum ?? node.exclusiveMinimum ?? 0;
    out.push(['a number in quotes', String(lo + 1)], ['"Infinity"', 'Infinity'], ['"-Infinity"', '-Infinity'], ['"1e999"', '1e999'], ['true', true], ['a list', [lo]]);
    if (node.enum === undefined) {
      if (node.minimum !== undefined) out.push(['below the minimum', node.minimum - 1 - Math.floor(rnd() * 10)]);
      if (node.exclusiveMinimum !== undefined) out.push(['at the exclusive minimum', node.exclusiveMinimum]);
      if (node.maximum !== undefined) out.push(['above the maximum', node.maximum + 1 + Math.floor(rnd() * 10)]);
      if (t === 'integer') out.push(['not a whole number', lo + 0.5]);
    } else out.push(['outside the enum', 7]);
  } else if (t === 'boolean') {
    out.push(['"true"', 'true'], ['1', 1], ['0', 0], ['"yes"', 'yes']);
  } else if (t === 'string') {
    out.push(['a number', 12], ['true', true], ['an object', { v: 'x' }], ['a list', ['x']]);
    out.push(['a lone surrogate', 'conduit/\ud800x'], ['100 KB', 'y'.repeat(100_000)]);
    if (node.maxLength !== undefined) out.push(['one character over its bound', 'z'.repeat(node.maxLength + 1)]);
    if (node.minLength !== undefined && node.minLength > 0) out.push(['empty', '']);
    if (node.enum !== undefined) out.push(['outside the enum (wrong case)', String(node.enum[0]).toUpperCase() + 'X']);
  } else if (t === 'array') {
    out.push(['an object for a list', { 0: 'x' }], ['text for a list', 'x']);
    if (node.items?.type === 'string' || node.items?.enum !== undefined) out.push(['a number in the list', [5]]);
  } else if (t === 'object') {
    out.push(['a list for an object', [{}]], ['text for an object', 'x'], ['a number for an object', 1]);
  }
  return out;
}

/** Structural breaks inside an object: unknown, prototype and deeply nested keys. */
function objectBreaks(path: string, rnd: () => number): { label: string; value: JsonObject; at: string }[] {
  let deep: JsonObject = { leaf: 1 };
  for (let i = 0; i < 40; i++) deep = { d: deep };
  const protoKey = ['__proto__', 'constructor', 'prototype'][Math.floor(rnd() * 3)]!;
  return [
    { label: 'an unknown key', value: { unknownKey: 1 }, at: `${path}/unknownKey` },
    { label: `a ${protoKey} key`, value: JSON.parse(`{"${protoKey}": {"allowInsecure": true}}`), at: `${path}/${protoKey}` },
    { label: 'deep nesting', value: { nested: deep }, at: `${path}/nested` },
  ];
}

/** Sets `value` at `keys` inside a copy of `doc`, defining keys (so `__proto__` stays an own key). */
function setAt(doc: JsonValue, keys: (string | number)[], value: JsonValue): JsonValue {
  if (keys.length === 0) return value;
  const [k, ...rest] = keys;
  const copy: any = Array.isArray(doc) ? [...doc] : { ...(doc as JsonObject) };
  const cur = doc !== null && typeof doc === 'object' && Object.hasOwn(doc, k!) ? (doc as any)[k!] : {};
  Object.defineProperty(copy, k!, { value: setAt(cur, rest, value), writable: true, enumerable: true, configurable: true });
  return copy;
}

/**
 * A MERGE that puts `value` at `keys` of `base`. A merge replaces lists whole, so a change inside a
 * list (a tag) carries the whole list; a change in an object carries only its branch.
 */
function mergeFor(base: JsonObject, keys: (string | number)[], value: JsonValue): JsonObject {
  const listAt = keys.findIndex((k) => typeof k === 'number');
  if (listAt < 0) return setAt({}, keys, value) as JsonObject;
  const listKeys = keys.slice(0, listAt);
  let list: JsonValue = base;
  for (const k of listKeys) list = (list as any)[k];
  return setAt({}, listKeys, setAt(list, keys.slice(listAt), value)) as JsonObject;
}

/** Every leaf and object of a schema, with its keys into a document (list items at index `item`). */
function walk(node: Node, keys: (string | number)[], item: number, out: { keys: (string | number)[]; node: Node }[]): void {
  out.push({ keys, node });
  for (const [k, child] of Object.entries(node.properties ?? {})) {
    if (k === 'accessControl') continue; // the nucleus's, not the component's
    walk(child, [...keys, k], item, out);
  }
  if (node.type === 'array' && node.items?.type === 'object') walk(node.items, [...keys, item], item, out);
}

export interface FuzzOptions {
  schema: object;
  /** A valid configuration the merges are applied to (the running one, for a live update). */
  base: JsonObject;
  /** Rules across keys, written by hand: each breaks one rule and names its path. */
  rules?: InvalidCase[];
  seed: number;
}

/** Every invalid case of the schema and the rules, shuffled by the seed. */
export function invalidCases(o: FuzzOptions): InvalidCase[] {
  const rnd = seeded(o.seed);
  const places: { keys: (string | number)[]; node: Node }[] = [];
  walk(o.schema as Node, [], 0, places);
  const cases: InvalidCase[] = [];
  for (const { keys, node } of places) {
    const path = keys.length === 0 ? '' : '/' + keys.map((k) => esc(String(k))).join('/');
    if (keys.length > 0) {
      for (const [label, value] of badValues(node, rnd)) cases.push({ name: `${path}: ${label}`, merge: mergeFor(o.base, keys, value), path });
    }
    if (node.type === 'object') {
      for (const b of objectBreaks(path, rnd)) {
        // Only one key is added: the branch merges into what is there.
        const [k, v] = Object.entries(b.value)[0]!;
        cases.push({ name: `${path || '(root)'}: ${b.label}`, merge: mergeFor(o.base, [...keys, k], v), path: b.at });
      }
      // A required key left out: possible in a merge only inside a list entry, which is replaced whole.
      if (keys.some((k) => typeof k === 'number')) {
        for (const req of node.required ?? []) {
          let entry: any = o.base;
          for (const k of keys) entry = entry?.[k];
          if (entry === undefined) continue;
          const { [req]: _gone, ...rest } = entry;
          cases.push({ name: `${path}/${req}: missing`, merge: mergeFor(o.base, keys, rest), path: `${path}/${esc(req)}` });
        }
      }
    }
  }
  return shuffle([...cases, ...(o.rules ?? [])], rnd);
}

/**
 * The collector's rules across keys, each broken once. `base.tags` must hold an rms tag first, a
 * deadband tag second and a change tag third, as the fuzz bases do.
 */
export function collectorRuleCases(base: JsonObject, maxTags: number): InvalidCase[] {
  const tags = base.tags as JsonObject[];
  const [rms, deadband, change] = tags as [JsonObject, JsonObject, JsonObject];
  const withTags = (name: string, path: string, next: JsonObject[]): InvalidCase => ({ name, merge: { tags: next }, path });
  const many = Array.from({ length: maxTags + 1 }, (_, i) => ({ name: `Fuzz${i}`, nodeId: `ns=2;i=${100_000 + i}`, mode: 'change' }));
  return [
    withTags('rms window not a multiple of the sampling interval', '/tags/0/windowMs', [{ ...rms, windowMs: 1_050 }, deadband, change]),
    withTags('a deadband on an rms tag', '/tags/0/deadband', [{ ...rms, deadband: { absolute: 1 } }, deadband, change]),
    withTags('a heartbeat on an rms tag', '/tags/0/heartbeatMs', [{ ...rms, heartbeatMs: 1_000 }, deadband, change]),
    withTags('a deadband tag without its deadband', '/tags/1/deadband', [rms, { name: deadband.name!, nodeId: deadband.nodeId!, mode: 'deadband' }, change]),
    withTags('absolute and percent together', '/tags/1/deadband', [rms, { ...deadband, deadband: { absolute: 1, percent: 1 } }, change]),
    withTags('a percent range with one end', '/tags/1/deadband', [rms, { ...deadband, deadband: { percent: 1, rangeMin: 0 } }, change]),
    withTags('an alarm that clears above where it raises', '/tags/0/alarm/clearBelow', [{ ...rms, alarm: { on: 'rms', raiseAt: 5, clearBelow: 9 } }, deadband, change]),
    withTags('two tags with one name', '/tags/1/name', [rms, { ...deadband, name: rms.name! }, change]),
    withTags('two tags with one node', '/tags/1/nodeId', [rms, { ...deadband, nodeId: rms.nodeId! }, change]),
    withTags('a malformed NodeId', '/tags/2/nodeId', [rms, deadband, { ...change, nodeId: 'ns=x;q=1' }]),
    withTags(`${maxTags + 1} tags`, '/tags', many),
    { name: 'metrics on the telemetry topic', merge: { metrics: { topic: 'conduit/{thingName}/telemetry' }, publish: { topic: 'conduit/{thingName}/telemetry' } }, path: '/metrics/topic' },
    { name: 'the recipe variable in a topic', merge: { publish: { topic: 'conduit/{iot:thingName}/telemetry' } }, path: '/publish/topic' },
    { name: 'an unknown placeholder in a topic', merge: { publish: { topic: 'conduit/{plant}/telemetry' } }, path: '/publish/topic' },
    { name: 'eight slashes in a topic', merge: { burst: { alarmTopic: 'a/b/c/d/e/f/g/h/{thingName}' } }, path: '/burst/alarmTopic' },
    { name: 'a $ topic other than Basic Ingest', merge: { publish: { mappingTopic: '$aws/things/{thingName}/shadow/update' } }, path: '/publish/mappingTopic' },
    { name: 'a control character in a topic', merge: { publish: { auditTopic: 'conduit/{thingName}/au\u0007dit' } }, path: '/publish/auditTopic' },
    { name: 'the sink ack topic equal to its put topic', merge: { burst: { sinkTopic: 'conduit/x', sinkAckTopic: 'conduit/x' } }, path: '/burst/sinkAckTopic' },
    { name: 'a wildcard in the sink topic', merge: { burst: { sinkTopic: 'conduit/+/put' } }, path: '/burst/sinkTopic' },
    { name: 'a capture shorter than its window', merge: { burst: { preTriggerSec: 60, postTriggerSec: 10, maxCaptureSec: 30 } }, path: '/burst/maxCaptureSec' },
    { name: 'a reconnect cap below its first delay', merge: { reconnect: { initialDelayMs: 5_000, maxDelayMs: 1_000 } }, path: '/reconnect/maxDelayMs' },
    { name: 'an endpoint without a port', merge: { endpointUrl: 'opc.tcp://plc.plant.local' }, path: '/endpointUrl' },
    { name: 'an endpoint with a password', merge: { endpointUrl: 'opc.tcp://u:p@plc.plant.local:4840' }, path: '/endpointUrl' },
    { name: 'an endpoint over http', merge: { endpointUrl: 'http://plc.plant.local:4840' }, path: '/endpointUrl' },
    { name: 'an endpoint outside allowedEndpoints', merge: { allowedEndpoints: ['other.plant.local:4840'] }, path: '/endpointUrl' },
    { name: 'securityMode None without allowInsecure', merge: { securityMode: 'None', securityPolicy: 'None' }, path: '/allowInsecure' },
    { name: 'a policy of None with SignAndEncrypt', merge: { securityMode: 'SignAndEncrypt', securityPolicy: 'None' }, path: '/securityPolicy' },
    { name: 'a thumbprint of the wrong length', merge: { serverTrust: { thumbprints: ['abcd'] } }, path: '/serverTrust/thumbprints/0' },
    { name: 'a certificate that is not PEM', merge: { serverTrust: { certificates: ['not a certificate'] } }, path: '/serverTrust/certificates/0' },
    { name: 'a publishing interval outside 500-1000', merge: { sampling: { publishingIntervalMs: 5_000 } }, path: '/sampling/publishingIntervalMs' },
    { name: 'a queue too small for the intervals', merge: { sampling: { queueSize: 2 } }, path: '/sampling/queueSize' },
    { name: 'a watchdog shorter than two publishes', merge: { watchdog: { noDataTimeoutMs: 1_000 } }, path: '/watchdog/noDataTimeoutMs' },
    { name: 'a password in the configuration', merge: { password: 'hunter2' }, path: '/password' },
    { name: 'a user name in the configuration', merge: { username: 'conduit' }, path: '/username' },
  ];
}

/** The sink's rules across keys, each broken once. */
export function sinkRuleCases(): InvalidCase[] {
  return [
    { name: 'the ack topic equal to the put topic', merge: { putTopic: 'conduit/x', ackTopic: 'conduit/x' }, path: '/ackTopic' },
    { name: 'a segment larger than a quarter of the spool', merge: { spool: { maxBytes: 4_194_304, segmentBytes: 2_097_152 } }, path: '/spool/segmentBytes' },
    { name: 'a backoff cap below its first delay', merge: { send: { initialBackoffMs: 5_000, maxBackoffMs: 1_000 } }, path: '/send/maxBackoffMs' },
    { name: 'an unknown placeholder in the metrics topic', merge: { metrics: { topic: 'conduit/{site}/sink/metrics' } }, path: '/metrics/topic' },
    { name: 'a wildcard in the metrics topic', merge: { metrics: { topic: 'conduit/+/sink/metrics' } }, path: '/metrics/topic' },
    { name: 'eight slashes in the metrics topic', merge: { metrics: { topic: 'a/b/c/d/e/f/g/h/{thingName}' } }, path: '/metrics/topic' },
    { name: 'a control character in the metrics topic', merge: { metrics: { topic: 'conduit/{thingName}/\u0001' } }, path: '/metrics/topic' },
    { name: 'a wildcard in the put topic', merge: { putTopic: 'conduit/#' }, path: '/putTopic' },
    { name: 'a stream ARN for a name', merge: { deliveryStreamName: 'arn:aws:firehose:eu-west-1:123456789012:deliverystream/x' }, path: '/deliveryStreamName' },
  ];
}

/**
 * A random configuration near `base`: every optional key of the schema that `keep` does not name is
 * set, with probability `p`, to a value the schema allows (a bound, the default, a value between;
 * an enum member; a subset of an enum list). Lists of objects (tags) keep their entries and get the
 * same treatment inside. Many candidates break a rule across keys; the property test keeps only what
 * the parser accepts, since the property is "whatever the parser accepts runs".
 */
export function randomCandidate(schema: object, base: JsonObject, keep: ReadonlySet<string>, rnd: () => number, p = 0.3): JsonObject {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const value = (node: Node): JsonValue | undefined => {
    if (node.enum !== undefined) return pick(node.enum as JsonValue[]);
    if (node.type === 'boolean') return rnd() < 0.5;
    if (node.type === 'integer' || node.type === 'number') {
      const lo = node.minimum ?? (node.exclusiveMinimum !== undefined ? node.exclusiveMinimum + 1 : 0);
      const hi = node.maximum ?? lo + 1_000;
      const d = (node as { default?: number }).default;
      const between = lo + rnd() * (hi - lo);
      const choices = [lo, hi, between, ...(d === undefined ? [] : [d])];
      const v = pick(choices);
      return node.type === 'integer' ? Math.round(v) : v;
    }
    if (node.type === 'array' && node.items?.enum !== undefined) {
      const all = node.items.enum as JsonValue[];
      const some = all.filter(() => rnd() < 0.5);
      return some.length > 0 ? some : [all[0]!];
    }
    return undefined; // text keeps its value: patterns and topics are the rules' business
  };
  const fill = (node: Node, doc: JsonObject, path: string): JsonObject => {
    const out: JsonObject = structuredClone(doc);
    for (const [k, child] of Object.entries(node.properties ?? {})) {
      const p2 = path ? `${path}.${k}` : k;
      if (k === 'accessControl' || keep.has(p2)) continue;
      if (child.type === 'object') {
        // An object that is there, or one the schema defaults ({}): a tag's alarm or deadband is not invented.
        const present = out[k] !== undefined || (child as { default?: unknown }).default !== undefined;
        if (present && rnd() < p) out[k] = fill(child, (out[k] as JsonObject | undefined) ?? {}, p2);
      } else if (child.type === 'array' && child.items?.type === 'object' && Array.isArray(out[k])) {
        out[k] = (out[k] as JsonObject[]).map((e) => fill(child.items!, e, `${p2}[]`));
      } else if (!(node.required ?? []).includes(k) && rnd() < p) {
        const v = value(child);
        if (v !== undefined) out[k] = v;
      }
    }
    return out;
  };
  return fill(schema as Node, base, '');
}
