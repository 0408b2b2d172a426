// What the source-level OPC UA e2e tests share (collector-opcua, collector-opcua-foreign,
// collector-reconnect): a logger that keeps every line, the waits, the environment switch for the
// AWS SDK, and one whole CollectorConfig for NodeOpcUaSource against a simulated plant, built the
// way the parser would fill it, with each test's differences passed in.
import type { CollectorConfig, TagConfig } from '../../components/opcua-collector/src/config-types';
import type { Logger } from '../../components/opcua-collector/src/ports';
import type { ClientEnv } from '../harness/aws/local-aws';
import type { SimulatedPlant } from '../harness/plant/plant';

export interface LogLine {
  level: string;
  fields: Record<string, unknown>;
  msg: string;
  text: string;
}

/** Keeps every line; `alsoTo` collects the lines of every logger of a file (the no-secret check). */
export class TestLogger implements Logger {
  readonly lines: LogLine[] = [];
  constructor(private readonly alsoTo?: LogLine[]) {}
  debug(fields: Record<string, unknown>, msg: string): void {
    this.add('debug', fields, msg);
  }
  info(fields: Record<string, unknown>, msg: string): void {
    this.add('info', fields, msg);
  }
  warn(fields: Record<string, unknown>, msg: string): void {
    this.add('warn', fields, msg);
  }
  error(fields: Record<string, unknown>, msg: string): void {
    this.add('error', fields, msg);
  }
  private add(level: string, fields: Record<string, unknown>, msg: string): void {
    const line = { level, fields, msg, text: `${level} ${msg} ${JSON.stringify(fields)}` };
    this.lines.push(line);
    this.alsoTo?.push(line);
  }
  find(pattern: RegExp, level?: string): LogLine[] {
    return this.lines.filter((l) => (level === undefined || l.level === level) && pattern.test(l.text));
  }
}

export interface Sample {
  tag: number;
  ms: number;
  value: unknown;
  status: number;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every 50 ms; resolves with the time waited, throws naming `what` after `timeoutMs`. */
export async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<number> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
  return Date.now() - start;
}

/** Sets the SDK's environment for the local AWS endpoints; returns what puts the old one back. */
export function useEnv(env: ClientEnv): () => void {
  const keys = [...env.unset, ...Object.keys(env.set)];
  const saved = new Map(keys.map((k) => [k, process.env[k]]));
  for (const k of env.unset) delete process.env[k];
  Object.assign(process.env, env.set);
  return () => {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

/** Every tag of the plant as a change tag (1 s windows). */
export function plantTags(p: SimulatedPlant): TagConfig[] {
  return p.tags.map((t): TagConfig => ({ name: t.name, nodeId: t.nodeId, mode: 'change', windowMs: 1_000 }));
}

/** What a test sets; the rest is the same for every source-level test. */
export type SourceConfigParts = Pick<CollectorConfig, 'credentialsSecretId' | 'serverTrust' | 'tags' | 'sampling' | 'watchdog' | 'reconnect'>;

/** A whole configuration for NodeOpcUaSource against `p` (credentials through the direct client). */
export function sourceConfig(p: SimulatedPlant, parts: SourceConfigParts): CollectorConfig {
  return {
    endpointUrl: p.endpointUrl,
    allowedEndpoints: [],
    mode: 'active',
    securityMode: 'SignAndEncrypt',
    securityPolicy: 'Basic256Sha256',
    allowInsecure: false,
    serverTrust: parts.serverTrust,
    credentialsSource: 'secretsmanager',
    credentialsSecretId: parts.credentialsSecretId,
    site: 'test-site',
    area: 'test-area',
    mappingVersion: 'v1',
    sampling: parts.sampling,
    tags: parts.tags,
    publish: {
      topic: 'conduit/{thingName}/{site}/{area}',
      mappingTopic: 'conduit/{thingName}/mapping',
      auditTopic: 'conduit/{thingName}/config-audit',
      qos: 1,
      maxMessageBytes: 131_072,
      intervalMs: 1_000,
      maxPublishesPerSecond: 10,
      queueMaxMessages: 1_000,
      significantDigits: 10,
      rmsFields: ['rms'],
    },
    metrics: { topic: 'conduit/{thingName}/metrics', intervalSec: 60 },
    burst: {
      preTriggerSec: 60,
      postTriggerSec: 10,
      cooldownSec: 60,
      maxCapturesPerHour: 30,
      maxCaptureSec: 300,
      alarmTopic: 'conduit/{thingName}/alarms',
      sinkTopic: 'conduit/firehose-sink/put',
      sinkAckTopic: 'conduit/firehose-sink/ack',
      ackTimeoutMs: 10_000,
      maxPendingBytes: 67_108_864,
    },
    watchdog: parts.watchdog,
    reconnect: parts.reconnect,
    logLevel: 'debug',
  };
}
