// parseCollectorConfig: the only way from the component's raw Greengrass configuration to a
// CollectorConfig. ajv checks the structure against config-schema.ts (coercing "100" and 100.0,
// filling defaults); config-rules.ts checks what spans several keys; every problem found is
// reported at once, each with its JSON path and a fix, and nothing partial is ever returned.
import Ajv, { type ErrorObject } from 'ajv';
import type { AlarmSetting, CollectorConfig, DeadbandSetting, TagConfig } from './config-types';
import { COLLECTOR_CONFIG_SCHEMA, configSchemaPaths } from './config-schema';
import { checkRules, minQueueSize, normalizeThumbprint, type GivenKeys } from './config-rules';
import { ConfigError, type ConfigIssue } from './errors';

/** Heartbeat of deadband and change tags when the tag sets none, ms. */
export const DEFAULT_HEARTBEAT_MS = 60_000;

// Compiled once: validation of a live configuration update is then a cheap call.
const ajv = new Ajv({ allErrors: true, useDefaults: true, coerceTypes: true, verbose: true, strict: true });
// An annotation for editors (VS Code shows it instead of the bare pattern); we use it as the fix.
ajv.addKeyword({ keyword: 'patternErrorMessage', schemaType: 'string' });
const validate = ajv.compile(COLLECTOR_CONFIG_SCHEMA);

/** Keys the nucleus keeps in the component's configuration namespace; allowed and ignored. */
const NUCLEUS_KEYS = new Set(['accessControl']);
/** Key names that suggest a credential was put in the configuration (readable by anyone who can read the deployment). */
const SECRET_KEY = /pass(word|wd|phrase)|pwd|secret|token|api[-_]?key|private[-_]?key|credential|^(user(name)?|login)$/i;
const SECRET_FIX =
  'remove it: credentials never go in the component configuration; store {"username": "...", "password": "..."} in AWS Secrets Manager and set credentialsSecretId to the secret\'s name';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Validates the component configuration (as GetConfiguration returns it, accessControl included)
 * and returns it with every default filled. Throws ConfigError listing every problem.
 */
export function parseCollectorConfig(raw: unknown): CollectorConfig {
  if (!isObj(raw)) {
    throw new ConfigError([{ path: '', message: `must be an object, got ${raw === null ? 'null' : Array.isArray(raw) ? 'a list' : typeof raw}`, fix: 'give the component a configuration object; see docs/configuration.md' }]);
  }
  // A copy: ajv fills defaults and coerces in place, and the caller's object stays as it was.
  const doc = withoutNulls(raw) as Obj;
  const given: GivenKeys = { securityMode: doc.securityMode !== undefined, securityPolicy: doc.securityPolicy !== undefined };
  const secretIssues = findSecretKeys(doc, '');
  const secretPaths = new Set(secretIssues.map((i) => i.path));
  validate(doc);
  const structural = (validate.errors ?? []).map(toIssue).filter((i) => !secretPaths.has(i.path));
  // The rules must not reason from a value the schema refused (a publishing interval of 20000
  // would also fail the watchdog rule): such values are taken out of the document first.
  for (const i of structural) removeAt(doc, i.path);
  // "securityMode: None" alone means an insecure channel: the policy follows rather than keeping
  // its Basic256Sha256 default and failing on a key the engineer never wrote.
  if (doc.securityMode === 'None' && !given.securityPolicy) doc.securityPolicy = 'None';
  // A rule about a whole object ("deadband sets neither absolute nor percent") says nothing new
  // when the schema has already refused one of its keys.
  const semantic = checkRules(doc, given).filter((r) => !structural.some((i) => i.path.startsWith(r.path + '/')));
  // One issue per path, the most specific source first: a fix per place is what an engineer can act on.
  const seen = new Set<string>();
  const issues = [...secretIssues, ...structural, ...semantic].filter((i) => !seen.has(i.path) && seen.add(i.path)).sort(byPath);
  if (issues.length > 0) throw new ConfigError(issues);
  return toConfig(doc);
}

/** A small summary for the start-up log: where, how securely, what and which mapping. */
export function describeConfig(config: CollectorConfig): Record<string, unknown> {
  const tags = { rms: 0, deadband: 0, change: 0 };
  for (const t of config.tags) tags[t.mode]++;
  return {
    endpointUrl: config.endpointUrl,
    security: `${config.securityMode}/${config.securityPolicy}`,
    allowInsecure: config.allowInsecure,
    trusted: config.serverTrust.thumbprints.length + config.serverTrust.certificates.length,
    site: config.site,
    area: config.area,
    mappingVersion: config.mappingVersion,
    tags: { total: config.tags.length, ...tags },
  };
}

function withoutNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutNulls);
  if (!isObj(v)) return v;
  const out: Obj = {};
  for (const [k, x] of Object.entries(v)) if (x !== null && x !== undefined) out[k] = withoutNulls(x);
  return out;
}

/** Deletes the value at a JSON pointer, if any; a list keeps its length (the entry becomes a hole). */
function removeAt(doc: Obj, path: string): void {
  const keys = path.split('/').slice(1).map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
  const last = keys.pop();
  let node: unknown = doc;
  for (const k of keys) node = isObj(node) || Array.isArray(node) ? (node as Obj)[k] : undefined;
  if (last !== undefined && (isObj(node) || Array.isArray(node))) delete (node as Obj)[last];
}

const pointer = (base: string, key: string | number) => `${base}/${String(key).replace(/~/g, '~0').replace(/\//g, '~1')}`;

function findSecretKeys(v: unknown, path: string): ConfigIssue[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => findSecretKeys(x, pointer(path, i)));
  if (!isObj(v)) return [];
  const out: ConfigIssue[] = [];
  for (const [k, x] of Object.entries(v)) {
    if (path === '' && NUCLEUS_KEYS.has(k)) continue;
    const p = pointer(path, k);
    // credentialsSecretID is a typo of a known key, not a credential: "did you mean" handles it.
    if (SECRET_KEY.test(k) && !KNOWN_NORMALIZED.has(norm(k))) out.push({ path: p, message: 'looks like a credential, which is not allowed in the configuration', fix: SECRET_FIX });
    else out.push(...findSecretKeys(x, p));
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
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  patternErrorMessage?: string;
  properties?: Record<string, SchemaLike>;
}

const TYPE_WORDS: Record<string, string> = {
  integer: 'a whole number',
  number: 'a number',
  string: 'text',
  boolean: 'true or false',
  array: 'a list',
  object: 'an object of keys and values',
};

/** A value worth showing as "e.g.": the default, else the first example, if short. */
function example(s: SchemaLike | undefined): string {
  const v = s?.default !== undefined && !(isObj(s.default) && Object.keys(s.default).length === 0) ? s.default : s?.examples?.[0];
  if (v === undefined) return '';
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  return text.length <= 80 ? `, e.g. ${text}` : '';
}

function range(s: SchemaLike): string {
  const kind = s.type === 'integer' ? 'a whole number' : 'a number';
  const lo = s.minimum !== undefined ? { v: s.minimum, incl: true } : s.exclusiveMinimum !== undefined ? { v: s.exclusiveMinimum, incl: false } : undefined;
  const hi = s.maximum !== undefined ? { v: s.maximum, incl: true } : s.exclusiveMaximum !== undefined ? { v: s.exclusiveMaximum, incl: false } : undefined;
  if (lo && hi) return `${kind} between ${lo.v} and ${hi.v}${lo.incl ? '' : ` (above ${lo.v})`}${hi.incl ? '' : ` (below ${hi.v})`}`;
  if (lo) return `${kind} ${lo.incl ? 'of at least' : 'above'} ${lo.v}`;
  if (hi) return `${kind} ${hi.incl ? 'of at most' : 'below'} ${hi.v}`;
  return kind;
}

function toIssue(e: ErrorObject): ConfigIssue {
  const s = e.parentSchema as SchemaLike | undefined;
  const p = e.params as Record<string, unknown>;
  const got = typeof e.data === 'number' || typeof e.data === 'boolean' ? ` (got ${e.data})` : '';
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
      const reset = s?.default !== undefined ? ' (or remove it to use the default)' : '';
      return { path: e.instancePath, message: `must be ${want}`, fix: `set it to ${want}${example(s)}${reset}` };
    }
    case 'enum': {
      const values = (s?.enum ?? []).map((v) => JSON.stringify(v)).join(', ');
      const caseNote = (s?.enum ?? []).some((v) => typeof v === 'string') ? ' (case matters)' : '';
      return { path: e.instancePath, message: `must be one of ${values}${got}`, fix: `set it to one of ${values}${caseNote}` };
    }
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return { path: e.instancePath, message: `must be ${range(s ?? {})}${got}`, fix: `set it to ${range(s ?? {})}${example(s)}` };
    case 'minLength':
      return { path: e.instancePath, message: 'must not be empty', fix: `set it${example(s)}` };
    case 'maxLength':
      return { path: e.instancePath, message: `is longer than ${String(p.limit)} characters`, fix: `shorten it to at most ${String(p.limit)} characters` };
    case 'pattern':
      return { path: e.instancePath, message: 'has characters or a form that is not allowed', fix: s?.patternErrorMessage ?? 'see docs/configuration.md' };
    case 'minItems':
      return { path: e.instancePath, message: `needs at least ${String(p.limit)} entr${p.limit === 1 ? 'y' : 'ies'}`, fix: `add one${example(s)}` };
    case 'uniqueItems':
      // Which of i and j is the later entry depends on ajv's code path: report the later one.
      return { path: pointer(e.instancePath, Math.max(Number(p.i), Number(p.j))), message: `repeats entry ${Math.min(Number(p.i), Number(p.j))}`, fix: 'remove the duplicate' };
    default:
      return { path: e.instancePath, message: e.message ?? 'is invalid', fix: 'see docs/configuration.md' };
  }
}

// ---- "did you mean" --------------------------------------------------------------------------

const ALL_PATHS = configSchemaPaths();
const norm = (k: string) => k.toLowerCase().replace(/[-_\s.[\]]/g, '');
const KNOWN_NORMALIZED = new Set(ALL_PATHS.map((p) => norm(p.slice(p.lastIndexOf('.') + 1))));

function distance(a: string, b: string): number {
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

function close(key: string, candidate: string): number | undefined {
  const a = norm(key);
  const b = norm(candidate);
  const d = distance(a, b);
  if (d <= (Math.min(a.length, b.length) <= 4 ? 1 : 2)) return d;
  // "endpoint" for "endpointUrl": a long enough prefix is a typo too.
  if (Math.min(a.length, b.length) >= 5 && (a.startsWith(b) || b.startsWith(a))) return 3;
  // "maxMessageSize" for "maxMessageBytes": most of the name is right.
  let common = 0;
  while (common < Math.min(a.length, b.length) && a[common] === b[common]) common++;
  if (common >= 5 && common >= 0.6 * Math.min(a.length, b.length)) return 4;
  return undefined;
}

/** Best known key near an unknown one: a sibling, a key one level down, or a key elsewhere. */
function unknownKeyFix(key: string, parent: SchemaLike | undefined): string {
  const candidates: { label: string; d: number }[] = [];
  for (const [sibling, child] of Object.entries(parent?.properties ?? {})) {
    const d = close(key, sibling);
    if (d !== undefined) candidates.push({ label: `"${sibling}"`, d });
    // samplingIntervalMS for sampling.intervalMs: a flattened nested key.
    for (const grand of Object.keys(child.properties ?? {})) {
      const d2 = close(key, sibling + grand);
      if (d2 !== undefined) candidates.push({ label: `"${grand}" inside "${sibling}"`, d: d2 });
    }
  }
  candidates.sort((x, y) => x.d - y.d);
  if (candidates.length > 0) return `remove or rename it: did you mean ${candidates[0]!.label}? (keys are case-sensitive)`;
  // "topic" at the top level: the key exists, somewhere else.
  const elsewhere = ALL_PATHS.filter((path) => norm(path.slice(path.lastIndexOf('.') + 1)) === norm(key));
  if (elsewhere.length > 0) return `move it: ${key} belongs in ${elsewhere.join(' or ')}`;
  const allowed = Object.keys(parent?.properties ?? {}).filter((k) => !NUCLEUS_KEYS.has(k));
  return `remove it; the keys allowed here are ${allowed.join(', ')}`;
}

function byPath(a: ConfigIssue, b: ConfigIssue): number {
  const x = a.path.split('/');
  const y = b.path.split('/');
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] === y[i]) continue;
    const nx = Number(x[i]);
    const ny = Number(y[i]);
    if (Number.isInteger(nx) && Number.isInteger(ny)) return nx - ny;
    return x[i]! < y[i]! ? -1 : 1;
  }
  return x.length - y.length;
}

// ---- the validated document as the typed configuration ---------------------------------------

// `any` here: the document has passed the schema and the rules, so its shape is known.
function toConfig(d: any): CollectorConfig {
  const s = d.sampling;
  return {
    endpointUrl: d.endpointUrl,
    allowedEndpoints: d.allowedEndpoints.map((e: string) => e.trim().toLowerCase()),
    mode: d.mode,
    securityMode: d.securityMode,
    securityPolicy: d.securityPolicy,
    allowInsecure: d.allowInsecure,
    serverTrust: {
      thumbprints: [...new Set<string>(d.serverTrust.thumbprints.map(normalizeThumbprint))],
      certificates: [...d.serverTrust.certificates],
    },
    credentialsSecretId: d.credentialsSecretId,
    site: d.site,
    area: d.area,
    mappingVersion: d.mappingVersion,
    sampling: {
      intervalMs: s.intervalMs,
      publishingIntervalMs: s.publishingIntervalMs,
      queueSize: s.queueSize ?? minQueueSize(s.intervalMs, s.publishingIntervalMs),
      maxNotificationsPerPublish: s.maxNotificationsPerPublish,
    },
    tags: d.tags.map(toTag),
    publish: { ...d.publish, rmsFields: [...d.publish.rmsFields] },
    metrics: { ...d.metrics },
    burst: { ...d.burst },
    watchdog: { ...d.watchdog },
    reconnect: { ...d.reconnect },
    logLevel: d.logLevel,
  };
}

function toTag(t: any): TagConfig {
  const tag: TagConfig = { name: t.name, nodeId: t.nodeId.trim(), mode: t.mode, windowMs: t.windowMs };
  if (t.mode === 'deadband') tag.deadband = toDeadband(t.deadband);
  if (t.mode !== 'rms') tag.heartbeatMs = t.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  if (t.unit !== undefined) tag.unit = t.unit;
  if (t.alarm !== undefined) {
    const a: AlarmSetting = { on: t.alarm.on, raiseAt: t.alarm.raiseAt, clearBelow: t.alarm.clearBelow, minDurationMs: t.alarm.minDurationMs };
    tag.alarm = a;
  }
  return tag;
}

function toDeadband(d: any): DeadbandSetting {
  if (d.absolute !== undefined) return { kind: 'absolute', value: d.absolute };
  const p: DeadbandSetting = { kind: 'percent', percent: d.percent };
  if (d.rangeMin !== undefined) {
    p.rangeMin = d.rangeMin;
    p.rangeMax = d.rangeMax;
  }
  return p;
}
