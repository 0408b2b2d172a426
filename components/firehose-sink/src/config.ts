// parseSinkConfig: the only way from the component's raw Greengrass configuration to a SinkConfig.
// ajv checks the structure against config-schema.ts (coercing "100" to 100, filling defaults); the
// rules below check what spans keys. Every problem is reported at once, each with its JSON path
// and a fix, and nothing partial is ever returned.
import Ajv, { type ErrorObject } from 'ajv';
import { topicProblem } from '../../../shared/publish';
import type { LogLevel } from '../../../shared/edge/logger';
import { MIN_SEGMENTS_PER_SPOOL, SINK_CONFIG_SCHEMA, sinkConfigSchemaPaths } from './config-schema';
import { ConfigError, type ConfigIssue } from './errors';

export interface SinkConfig {
  deliveryStreamName: string;
  /** From the configuration, else the nucleus's AWS_REGION. */
  region: string;
  putTopic: string;
  ackTopic: string;
  spool: { maxBytes: number; segmentBytes: number };
  send: { maxRecordBytes: number; lingerMs: number; initialBackoffMs: number; maxBackoffMs: number; requestTimeoutMs: number };
  /** `topic` is a template: `{thingName}` is replaced at start. */
  metrics: { topic: string; intervalSec: number };
  logLevel: LogLevel;
}

// Compiled once, at module load: everything expensive happens once.
const ajv = new Ajv({ allErrors: true, useDefaults: true, coerceTypes: true, verbose: true, strict: true });
// An annotation for editors; the parser uses it as the fix of a pattern error.
ajv.addKeyword({ keyword: 'patternErrorMessage', schemaType: 'string' });
const validate = ajv.compile(SINK_CONFIG_SCHEMA);

type Obj = Record<string, any>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const pointer = (base: string, key: string) => `${base}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;

/**
 * Validates the component configuration (as GetConfiguration returns it, accessControl included)
 * and returns it with every default filled. Throws ConfigError listing every problem.
 */
export function parseSinkConfig(raw: unknown, env: { defaultRegion?: string } = {}): SinkConfig {
  if (!isObj(raw)) {
    throw new ConfigError([{ path: '', message: 'must be an object', fix: 'give the component a configuration object with at least deliveryStreamName; see docs/firehose-sink.md' }]);
  }
  // A copy without nulls: ajv fills defaults in place, and a null means "absent" in a Greengrass merge.
  const doc = JSON.parse(JSON.stringify(raw, (_k, v) => (v === null ? undefined : v))) as Obj;
  validate(doc);
  const structural = (validate.errors ?? []).map(toIssue);
  const refused = new Set(structural.map((i) => i.path));
  const issues = [...structural, ...checkRules(doc, refused, env)];
  const seen = new Set<string>();
  const unique = issues.filter((i) => !seen.has(i.path) && seen.add(i.path)).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  if (unique.length > 0) throw new ConfigError(unique);
  return {
    deliveryStreamName: doc.deliveryStreamName,
    region: doc.region ?? env.defaultRegion,
    putTopic: doc.putTopic,
    ackTopic: doc.ackTopic,
    spool: { maxBytes: doc.spool.maxBytes, segmentBytes: doc.spool.segmentBytes },
    send: { ...doc.send },
    metrics: { topic: doc.metrics.topic, intervalSec: doc.metrics.intervalSec },
    logLevel: doc.logLevel,
  };
}

/** A summary for the start-up log. */
export function describeConfig(c: SinkConfig): Record<string, unknown> {
  return { deliveryStreamName: c.deliveryStreamName, region: c.region, putTopic: c.putTopic, ackTopic: c.ackTopic, spool: c.spool, send: c.send, metrics: c.metrics };
}

/** Rules across keys; a value the schema already refused is not reasoned from. */
function checkRules(doc: Obj, refused: Set<string>, env: { defaultRegion?: string }): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const ok = (path: string) => !refused.has(path);
  if (doc.region === undefined && ok('/region') && !env.defaultRegion) {
    out.push({ path: '/region', message: 'is not set, and the nucleus did not set AWS_REGION', fix: "set region to the Firehose stream's Region, e.g. eu-central-1" });
  }
  if (ok('/putTopic') && ok('/ackTopic') && doc.putTopic === doc.ackTopic) {
    out.push({ path: '/ackTopic', message: `is the same topic as putTopic (${String(doc.putTopic)})`, fix: 'give acknowledgements a topic of their own, e.g. conduit/firehose-sink/ack' });
  }
  const spool = isObj(doc.spool) ? doc.spool : {};
  if (ok('/spool/maxBytes') && ok('/spool/segmentBytes') && typeof spool.maxBytes === 'number' && typeof spool.segmentBytes === 'number') {
    const most = Math.floor(spool.maxBytes / MIN_SEGMENTS_PER_SPOOL);
    if (spool.segmentBytes > most) {
      out.push({
        path: '/spool/segmentBytes',
        message: `is ${spool.segmentBytes}, more than spool.maxBytes / ${MIN_SEGMENTS_PER_SPOOL} (${most}): a full spool would evict too much at once`,
        fix: `set it to at most ${most}, or raise spool.maxBytes`,
      });
    }
  }
  const send = isObj(doc.send) ? doc.send : {};
  if (ok('/send/initialBackoffMs') && ok('/send/maxBackoffMs') && typeof send.maxBackoffMs === 'number' && send.maxBackoffMs < send.initialBackoffMs) {
    out.push({ path: '/send/maxBackoffMs', message: `is below send.initialBackoffMs (${send.maxBackoffMs} < ${send.initialBackoffMs})`, fix: `set it to at least ${send.initialBackoffMs}, e.g. 60000` });
  }
  const metrics = isObj(doc.metrics) ? doc.metrics : {};
  if (ok('/metrics/topic') && typeof metrics.topic === 'string') {
    const unknown = [...metrics.topic.matchAll(/\{([^}]*)\}/g)].map((m) => m[1]).filter((p) => p !== 'thingName');
    const problem = unknown.length > 0 ? `has the unknown placeholder {${unknown[0]}}` : topicProblem(metrics.topic.replace(/\{thingName\}/g, 'thing'));
    if (problem) out.push({ path: '/metrics/topic', message: problem, fix: 'name one AWS IoT Core topic; {thingName} is the only placeholder, e.g. conduit/{thingName}/sink/metrics' });
  }
  return out;
}

// ---- ajv errors, in an engineer's words ------------------------------------------------------

interface SchemaLike {
  type?: string;
  default?: unknown;
  examples?: unknown[];
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  patternErrorMessage?: string;
  properties?: Record<string, SchemaLike>;
}

const TYPE_WORDS: Record<string, string> = { integer: 'a whole number', string: 'text', object: 'an object of keys and values', boolean: 'true or false' };

function example(s: SchemaLike | undefined): string {
  const v = s?.default !== undefined && !isObj(s.default) ? s.default : s?.examples?.[0];
  return v === undefined ? '' : `, e.g. ${typeof v === 'string' ? v : JSON.stringify(v)}`;
}

function toIssue(e: ErrorObject): ConfigIssue {
  const s = e.parentSchema as SchemaLike | undefined;
  const p = e.params as Record<string, unknown>;
  const got = typeof e.data === 'number' ? ` (got ${e.data})` : '';
  switch (e.keyword) {
    case 'required': {
      const key = String(p.missingProperty);
      return { path: pointer(e.instancePath, key), message: 'is required', fix: `add ${key}${example(s?.properties?.[key])}` };
    }
    case 'additionalProperties': {
      const key = String(p.additionalProperty);
      return { path: pointer(e.instancePath, key), message: 'is not a known key', fix: unknownKeyFix(key, s) };
    }
    case 'type': {
      const want = TYPE_WORDS[String(p.type)] ?? String(p.type);
      return { path: e.instancePath, message: `must be ${want}`, fix: `set it to ${want}${example(s)}${s?.default !== undefined ? ' (or remove it to use the default)' : ''}` };
    }
    case 'enum': {
      const values = (s?.enum ?? []).map((v) => JSON.stringify(v)).join(', ');
      return { path: e.instancePath, message: `must be one of ${values}`, fix: `set it to one of ${values} (case matters)` };
    }
    case 'minimum':
    case 'maximum': {
      const want = `a whole number between ${s?.minimum} and ${s?.maximum}`;
      return { path: e.instancePath, message: `must be ${want}${got}`, fix: `set it to ${want}${example(s)}` };
    }
    case 'minLength':
      return { path: e.instancePath, message: 'must not be empty', fix: `set it${example(s)}` };
    case 'maxLength':
      return { path: e.instancePath, message: `is longer than ${String(p.limit)} characters`, fix: `shorten it to at most ${String(p.limit)} characters` };
    case 'pattern':
      return { path: e.instancePath, message: 'has characters or a form that is not allowed', fix: s?.patternErrorMessage ?? 'see docs/firehose-sink.md' };
    default:
      return { path: e.instancePath, message: e.message ?? 'is invalid', fix: 'see docs/firehose-sink.md' };
  }
}

const ALL_PATHS = sinkConfigSchemaPaths();
const norm = (k: string) => k.toLowerCase().replace(/[-_\s.]/g, '');

/** "did you mean": a sibling with a close name, or the same key at another level. */
function unknownKeyFix(key: string, parent: SchemaLike | undefined): string {
  const siblings = Object.keys(parent?.properties ?? {}).filter((k) => k !== 'accessControl');
  // A typo, or a key cut short ("deliveryStream" for "deliveryStreamName").
  const close = (a: string, b: string) => editDistance(a, b) <= 2 || (Math.min(a.length, b.length) >= 5 && (a.startsWith(b) || b.startsWith(a)));
  const near = siblings.find((k) => close(norm(k), norm(key)));
  if (near) return `remove or rename it: did you mean "${near}"? (keys are case-sensitive)`;
  const elsewhere = ALL_PATHS.filter((path) => norm(path.slice(path.lastIndexOf('.') + 1)) === norm(key) || norm(path) === norm(key));
  if (elsewhere.length > 0) return `move it: ${key} belongs in ${elsewhere.join(' or ')}`;
  return `remove it; the keys allowed here are ${siblings.join(', ')}`;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j]!;
      row[j] = Math.min(up + 1, row[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return row[b.length]!;
}
