// What a live configuration update changes, and whether it may be applied. The tag mapping is a
// security artifact (a new tag can expose to IT what was not visible before), so every mapping change
// is described tag by tag, logged with both mapping versions and published once to the audit topic.
// Pure: the caller passes both validated configurations.
import { isDeepStrictEqual } from 'node:util';
import type { CollectorConfig, TagConfig } from './config-types';
import type { ConfigIssue } from './errors';

export interface TagChange {
  name: string;
  /** The TagConfig keys that differ (nodeId, mode, deadband, alarm…). */
  fields: string[];
}

export interface ConfigDiff {
  /** Dotted top-level paths whose value differs (tags count as one: `tags`). */
  changed: string[];
  tags: { added: string[]; removed: string[]; changed: TagChange[] };
  mappingVersion: { from: string; to: string };
  /** The tag list or its version changed: a new mapping message, telemetry under the new version. */
  mappingChanged: boolean;
  /** The OPC UA session must be opened again (server, security, trust, identity). */
  reconnect: boolean;
  /** The monitored items must change (tags added, removed, reordered or re-pointed to another node). */
  subscriptionChanged: boolean;
  /** The reduction pipeline must be rebuilt (anything it is built from). */
  pipelineChanged: boolean;
  /** Keys that take effect only at the next start (logged as such). */
  restartOnly: string[];
}

/**
 * Keys whose change needs a new session: the server, its security and identity, and the settings the
 * session's subscription and supervision are built from (sampling, watchdog, reconnect backoff).
 */
const SESSION_KEYS = ['endpointUrl', 'securityMode', 'securityPolicy', 'allowInsecure', 'serverTrust', 'credentialsSource', 'credentialsSecretId', 'allowedEndpoints', 'sampling', 'watchdog', 'reconnect'];
/** Keys the pipeline (stages, encoder, burst) is built from, besides the tags. */
const PIPELINE_KEYS = ['site', 'area', 'mappingVersion', 'sampling', 'publish.maxMessageBytes', 'publish.significantDigits', 'publish.rmsFields', 'burst.preTriggerSec', 'burst.postTriggerSec', 'burst.cooldownSec', 'burst.maxCapturesPerHour', 'burst.maxCaptureSec'];
/** Held by long-lived parts (the publish queue, the sink hand-off) that are not rebuilt live. */
const RESTART_ONLY = ['publish.queueMaxMessages'];

const TAG_KEYS: (keyof TagConfig)[] = ['nodeId', 'mode', 'windowMs', 'deadband', 'heartbeatMs', 'unit', 'alarm'];

function get(c: CollectorConfig, path: string): unknown {
  return path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], c);
}

/** Every dotted path of the two configs, one level into objects (publish.topic, burst.cooldownSec…). */
function paths(a: CollectorConfig, b: CollectorConfig): string[] {
  const out = new Set<string>();
  for (const c of [a, b]) {
    for (const [k, v] of Object.entries(c)) {
      if (k === 'tags' || v === null || typeof v !== 'object' || Array.isArray(v) || k === 'serverTrust') out.add(k);
      else for (const sub of Object.keys(v)) out.add(`${k}.${sub}`);
    }
  }
  return [...out].sort();
}

export function diffConfig(from: CollectorConfig, to: CollectorConfig): ConfigDiff {
  const changed = paths(from, to).filter((p) => !isDeepStrictEqual(get(from, p), get(to, p)));
  const before = new Map(from.tags.map((t) => [t.name, t]));
  const after = new Map(to.tags.map((t) => [t.name, t]));
  const added = to.tags.filter((t) => !before.has(t.name)).map((t) => t.name);
  const removed = from.tags.filter((t) => !after.has(t.name)).map((t) => t.name);
  const changedTags: TagChange[] = [];
  for (const t of to.tags) {
    const old = before.get(t.name);
    if (!old) continue;
    const fields = TAG_KEYS.filter((k) => !isDeepStrictEqual(old[k], t[k]));
    if (fields.length > 0) changedTags.push({ name: t.name, fields });
  }
  // Order matters too: telemetry names tags by their index in the list.
  const reordered = !isDeepStrictEqual(from.tags.map((t) => t.name), to.tags.map((t) => t.name));
  const tagsChanged = added.length + removed.length + changedTags.length > 0 || reordered;
  if (tagsChanged) changed.push('tags');
  const touches = (keys: string[]) => changed.some((p) => keys.some((k) => p === k || p.startsWith(k + '.')));
  return {
    changed: [...new Set(changed)].sort(),
    tags: { added, removed, changed: changedTags },
    mappingVersion: { from: from.mappingVersion, to: to.mappingVersion },
    mappingChanged: tagsChanged || from.mappingVersion !== to.mappingVersion,
    reconnect: touches(SESSION_KEYS),
    subscriptionChanged: added.length + removed.length > 0 || reordered || changedTags.some((c) => c.fields.includes('nodeId')),
    pipelineChanged: tagsChanged || touches(PIPELINE_KEYS),
    restartOnly: changed.filter((p) => RESTART_ONLY.includes(p)),
  };
}

/**
 * Why an update that is valid on its own must still be refused while this configuration runs: a
 * tag list that changed under the same mappingVersion would make the cloud read the new telemetry
 * with the old tag list.
 */
export function updateProblems(running: CollectorConfig, next: CollectorConfig): ConfigIssue[] {
  const d = diffConfig(running, next);
  if (d.changed.includes('tags') && running.mappingVersion === next.mappingVersion) {
    const what = [
      ...d.tags.added.map((n) => `added ${n}`),
      ...d.tags.removed.map((n) => `removed ${n}`),
      ...d.tags.changed.map((c) => `changed ${c.name} (${c.fields.join(', ')})`),
    ];
    return [
      {
        path: '/mappingVersion',
        message: `is still "${running.mappingVersion}" but the tags changed (${what.length > 0 ? what.join('; ') : 'reordered'}): the cloud would read the new telemetry with the old tag list`,
        fix: 'give the new tag list a new mappingVersion, e.g. the date and a counter',
      },
    ];
  }
  return [];
}

/** The config-audit message: the mapping change with both versions, once per applied update. */
export function buildConfigAudit(d: ConfigDiff, ctx: { thingName: string; site: string; area: string; runId: string; nowMs: number; deploymentId?: string }): Record<string, unknown> {
  return {
    v: 1,
    type: 'configAudit',
    thingName: ctx.thingName,
    site: ctx.site,
    area: ctx.area,
    runId: ctx.runId,
    at: ctx.nowMs,
    ...(ctx.deploymentId ? { deploymentId: ctx.deploymentId } : {}),
    mappingVersion: d.mappingVersion,
    tags: d.tags,
    changed: d.changed,
    restartOnly: d.restartOnly,
  };
}
