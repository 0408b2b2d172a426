// parseCollectorConfig: the only way from the component's raw Greengrass configuration to a
// CollectorConfig. shared/config-strict.ts copies it (own keys only, finite numbers, well-formed
// text), ajv checks the structure against config-schema.ts without coercing any type (a "100" is
// not 100, a "true" not true) and fills defaults; config-rules.ts checks what spans several keys;
// every problem found is reported at once, each with its JSON path and a fix, and nothing partial is
// ever returned.
import Ajv from 'ajv';
import { byPath, issueTranslator, pointer } from '../../../shared/config-issues';
import { strictCopy } from '../../../shared/config-strict';
import type { AlarmSetting, CollectorConfig, DeadbandSetting, TagConfig } from './config-types';
import { COLLECTOR_CONFIG_SCHEMA, configSchemaPaths } from './config-schema';
import { checkRules, minQueueSize, normalizeThumbprint, type GivenKeys } from './config-rules';
import { ConfigError, type ConfigIssue } from './errors';

/** Heartbeat of deadband and change tags when the tag sets none, ms. */
export const DEFAULT_HEARTBEAT_MS = 60_000;

// Compiled once: validation of a live configuration update is then a cheap call.
const ajv = new Ajv({ allErrors: true, useDefaults: true, coerceTypes: false, verbose: true, strict: true });
// An annotation for editors (VS Code shows it instead of the bare pattern); we use it as the fix.
ajv.addKeyword({ keyword: 'patternErrorMessage', schemaType: 'string' });
ajv.addKeyword({ keyword: 'limitErrorMessage', schemaType: 'string' });
const validate = ajv.compile(COLLECTOR_CONFIG_SCHEMA);
/** Keys the nucleus keeps in the component's configuration namespace; allowed and ignored. */
const NUCLEUS_KEYS = new Set(['accessControl']);
const translate = issueTranslator({ schemaPaths: configSchemaPaths(), docs: 'docs/configuration.md', hiddenKeys: NUCLEUS_KEYS });

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
  // A copy: ajv fills defaults in place, and the caller's object stays as it was.
  const { doc, issues: strictIssues } = strictCopy(raw, 'docs/configuration.md') as { doc: Obj; issues: ConfigIssue[] };
  const given: GivenKeys = { securityMode: doc.securityMode !== undefined, securityPolicy: doc.securityPolicy !== undefined };
  const secretIssues = findSecretKeys(doc, '');
  const secretPaths = new Set(secretIssues.map((i) => i.path));
  validate(doc);
  const structural = (validate.errors ?? []).map(translate.toIssue).filter((i) => !secretPaths.has(i.path));
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
  const issues = [...strictIssues, ...secretIssues, ...structural, ...semantic].filter((i) => !seen.has(i.path) && seen.add(i.path)).sort(byPath);
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
    // Not under a key named credentials: the logger redacts that.
    credentialsSource: config.credentialsSource,
    credentialsSecretId: config.credentialsSecretId,
    site: config.site,
    area: config.area,
    mappingVersion: config.mappingVersion,
    tags: { total: config.tags.length, ...tags },
  };
}

/** Deletes the value at a JSON pointer, if any; a list keeps its length (the entry becomes a hole). */
function removeAt(doc: Obj, path: string): void {
  const keys = path.split('/').slice(1).map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
  const last = keys.pop();
  let node: unknown = doc;
  for (const k of keys) node = isObj(node) || Array.isArray(node) ? (node as Obj)[k] : undefined;
  if (last !== undefined && (isObj(node) || Array.isArray(node))) delete (node as Obj)[last];
}

function findSecretKeys(v: unknown, path: string): ConfigIssue[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => findSecretKeys(x, pointer(path, i)));
  if (!isObj(v)) return [];
  const out: ConfigIssue[] = [];
  for (const [k, x] of Object.entries(v)) {
    if (path === '' && NUCLEUS_KEYS.has(k)) continue;
    const p = pointer(path, k);
    // credentialsSecretID is a typo of a known key, not a credential: "did you mean" handles it.
    if (SECRET_KEY.test(k) && !translate.isKnownKeyName(k)) out.push({ path: p, message: 'looks like a credential, which is not allowed in the configuration', fix: SECRET_FIX });
    else out.push(...findSecretKeys(x, p));
  }
  return out;
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
    credentialsSource: d.credentialsSource,
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
