// parseSinkConfig: the only way from the component's raw Greengrass configuration to a SinkConfig.
// shared/config-strict.ts copies it (own keys only, finite numbers, well-formed text), ajv checks
// the structure against config-schema.ts without coercing any type and fills defaults; the rules
// below check what spans keys. Every problem is reported at once, each with its JSON path
// and a fix, and nothing partial is ever returned.
import Ajv from 'ajv';
import { byPath, issueTranslator } from '../../../shared/config-issues';
import { strictCopy } from '../../../shared/config-strict';
import { topicIssue } from '../../../shared/publish';
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
const ajv = new Ajv({ allErrors: true, useDefaults: true, coerceTypes: false, verbose: true, strict: true });
// An annotation for editors; the parser uses it as the fix of a pattern error.
ajv.addKeyword({ keyword: 'patternErrorMessage', schemaType: 'string' });
ajv.addKeyword({ keyword: 'limitErrorMessage', schemaType: 'string' });
const validate = ajv.compile(SINK_CONFIG_SCHEMA);
const translate = issueTranslator({ schemaPaths: sinkConfigSchemaPaths(), docs: 'docs/firehose-sink.md', hiddenKeys: new Set(['accessControl']) });

type Obj = Record<string, any>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Validates the component configuration (as GetConfiguration returns it, accessControl included)
 * and returns it with every default filled. Throws ConfigError listing every problem.
 */
export function parseSinkConfig(raw: unknown, env: { defaultRegion?: string } = {}): SinkConfig {
  if (!isObj(raw)) {
    throw new ConfigError([{ path: '', message: 'must be an object', fix: 'give the component a configuration object with at least deliveryStreamName; see docs/firehose-sink.md' }]);
  }
  // A copy without nulls: ajv fills defaults in place, and a null means "absent" in a Greengrass merge.
  const { doc, issues: strictIssues } = strictCopy(raw, 'docs/firehose-sink.md') as { doc: Obj; issues: ConfigIssue[] };
  validate(doc);
  const structural = [...strictIssues, ...(validate.errors ?? []).map(translate.toIssue)];
  const refused = new Set(structural.map((i) => i.path));
  const issues = [...structural, ...checkRules(doc, refused, env)];
  const seen = new Set<string>();
  const unique = issues.filter((i) => !seen.has(i.path) && seen.add(i.path)).sort(byPath);
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
    // The longest thing name (128 bytes) stands in for {thingName}: the topic must fit on every gateway of the fleet.
    const issue = unknown.length > 0 ? undefined : topicIssue(metrics.topic.replace(/\{thingName\}/g, 'x'.repeat(128)));
    if (unknown.length > 0) out.push({ path: '/metrics/topic', message: `has the unknown placeholder {${unknown[0]}}`, fix: 'name one AWS IoT Core topic; {thingName} is the only placeholder, e.g. conduit/{thingName}/sink/metrics' });
    else if (issue) out.push({ path: '/metrics/topic', message: issue.message, fix: issue.fix.replace('conduit/{thingName}/telemetry', 'conduit/{thingName}/sink/metrics') });
  }
  return out;
}
