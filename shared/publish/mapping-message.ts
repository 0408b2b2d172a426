// The mapping message: what the tag indices of a mappingVersion mean. Telemetry carries only tag
// indices; a reader joins them with this message (thingName, mappingVersion, tag) to get names,
// NodeIds, units and the settings that bound each value's error.
//
// At 10,000 tags the list is far larger than one 128 KB payload, so it is cut into parts, each a
// complete JSON document with its own `part` / `parts` / `firstTag`. MQTT keeps one retained
// message per topic, so each part goes, retained, to its own topic: `<mappingTopic>/<part>`
// (see `mappingPartTopic`). Built once per start or configuration update; not on a hot path.

import { type RmsStatistic, SCHEMA_VERSION } from './batch-encoder';
import { PublishConfigError } from './errors';
import { MAX_TOPIC_SLASHES, topicProblem } from './topics';

/** One tag as the collector's configuration describes it (structurally a subset of TagConfig). */
export interface MappingTag {
  name: string;
  nodeId: string;
  mode: 'rms' | 'deadband' | 'change';
  /** rms: window length, ms. */
  windowMs?: number;
  /** rms: Good samples in a complete window; default windowMs / samplingIntervalMs. */
  expectedSamples?: number;
  /** deadband: the setting as configured. */
  deadband?: { kind: 'absolute'; value: number } | { kind: 'percent'; percent: number; rangeMin?: number; rangeMax?: number };
  /** deadband: the absolute deadband in engineering units once resolved (a percent of the EURange read at start). */
  resolvedDeadband?: number;
  /** deadband and change: a point at least this often while samples arrive, ms. */
  heartbeatMs?: number;
  unit?: string;
}

export interface MappingInput {
  thingName: string;
  site: string;
  area: string;
  mappingVersion: string;
  runId: string;
  /** The OPC UA sampling interval, ms; gives expectedSamples where a tag does not. */
  samplingIntervalMs: number;
  /** Index i of this array is tag i in every telemetry message. */
  tags: readonly MappingTag[];
  /** Echoed for readers: the precision telemetry numbers are written with. */
  significantDigits: number;
  /** Echoed for readers: the RMS statistics telemetry carries. */
  rmsFields: readonly RmsStatistic[];
}

export interface MappingPart {
  part: number;
  parts: number;
  /** Index of the first tag in this part; the part holds tags firstTag .. firstTag + tagsInPart - 1. */
  firstTag: number;
  tagsInPart: number;
  payload: Buffer;
}

/** The topic part `part` is published to, retained: one retained message per topic. */
export function mappingPartTopic(mappingTopic: string, part: number): string {
  const topic = `${mappingTopic}/${part}`;
  const problem = topicProblem(topic);
  if (problem !== undefined) {
    throw new PublishConfigError(`${JSON.stringify(topic)} ${problem}; the mapping topic needs a level to spare (at most ${MAX_TOPIC_SLASHES - 1} slashes)`, {
      field: 'publish.mappingTopic',
    });
  }
  return topic;
}

/**
 * The mapping parts for `input`, each payload at most `maxMessageBytes`. `nowMs` (wall clock) is
 * written as `at`. Throws PublishConfigError for a tag that cannot be described in one message.
 */
export function buildMappingMessages(input: MappingInput, nowMs: number, maxMessageBytes: number): MappingPart[] {
  const n = input.tags.length;
  const entries = input.tags.map((t, i) => JSON.stringify(describeTag(t, i, input.samplingIntervalMs)));
  const header = (part: number, parts: number, firstTag: number): string =>
    `{"v":${SCHEMA_VERSION},"type":"mapping","thingName":${JSON.stringify(input.thingName)},"site":${JSON.stringify(input.site)},` +
    `"area":${JSON.stringify(input.area)},"mappingVersion":${JSON.stringify(input.mappingVersion)},"runId":${JSON.stringify(input.runId)},` +
    `"at":${nowMs},"part":${part},"parts":${parts},"firstTag":${firstTag},"tagCount":${n},"samplingIntervalMs":${input.samplingIntervalMs},` +
    `"significantDigits":${input.significantDigits},"rmsFields":${JSON.stringify(input.rmsFields)},"tags":[`;
  const close = ']}';
  // part, parts and firstTag are at most n (or 1): sizing the header with n for all three bounds
  // every real header, so the cut below can never overshoot.
  const widest = Math.max(n, 1);
  const room = maxMessageBytes - Buffer.byteLength(header(widest, widest, widest) + close, 'utf8');
  const groups: { first: number; count: number }[] = [];
  let first = 0;
  let used = 0;
  for (let i = 0; i < n; i++) {
    const bytes = Buffer.byteLength(entries[i]!, 'utf8');
    if (bytes > room) throw new PublishConfigError(`tag ${i} (${JSON.stringify(input.tags[i]!.name)}) takes ${bytes} bytes; a mapping part has room for ${room}`, { field: 'tags' });
    const withComma = i > first ? bytes + 1 : bytes;
    if (used + withComma > room) {
      groups.push({ first, count: i - first });
      first = i;
      used = bytes;
    } else used += withComma;
  }
  groups.push({ first, count: n - first });
  return groups.map((g, part) => ({
    part,
    parts: groups.length,
    firstTag: g.first,
    tagsInPart: g.count,
    payload: Buffer.from(header(part, groups.length, g.first) + entries.slice(g.first, g.first + g.count).join(',') + close, 'utf8'),
  }));
}

/** One tag's entry: every field present (null where it does not apply), so readers get one table shape. */
function describeTag(t: MappingTag, tag: number, samplingIntervalMs: number): Record<string, unknown> {
  if (typeof t?.name !== 'string' || typeof t.nodeId !== 'string' || !['rms', 'deadband', 'change'].includes(t.mode)) {
    throw new PublishConfigError(`needs a name, a nodeId and a mode of rms, deadband or change`, { field: `tags[${tag}]` });
  }
  const rms = t.mode === 'rms';
  const windowMs = rms ? (t.windowMs ?? null) : null;
  return {
    tag,
    name: t.name,
    nodeId: t.nodeId,
    mode: t.mode,
    unit: t.unit ?? null,
    windowMs,
    expectedSamples: rms ? (t.expectedSamples ?? (windowMs === null ? null : windowMs / samplingIntervalMs)) : null,
    deadband: t.mode === 'deadband' ? (t.deadband ?? null) : null,
    resolvedDeadband: t.mode === 'deadband' ? (t.resolvedDeadband ?? null) : null,
    heartbeatMs: rms ? null : (t.heartbeatMs ?? null),
  };
}
