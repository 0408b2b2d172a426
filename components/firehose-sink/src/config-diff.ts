// What a live configuration update changes in conduit.FirehoseSink, and which running part each change
// touches (live-config.ts acts on it). Pure: the caller passes two validated configurations. The
// configuration holds no secret and no record data, so the changes may be logged with their values.
import { isDeepStrictEqual } from 'node:util';
import type { SinkConfig } from './config';

export interface ConfigChange {
  /** Dotted: `deliveryStreamName`, `send.lingerMs`, `metrics.intervalSec`… */
  key: string;
  from: unknown;
  to: unknown;
}

export interface SinkConfigDiff {
  /** Every changed key with both values, sorted by key; empty when nothing changed. */
  changes: ConfigChange[];
  logLevel: boolean;
  /** The Firehose client and the sender must be rebuilt: `deliveryStreamName`, `region` or any `send.*`. */
  sender: boolean;
  putTopic: boolean;
  ackTopic: boolean;
  /** `spool.maxBytes` or `spool.segmentBytes`. */
  spoolLimits: boolean;
  /** `metrics.topic` or `metrics.intervalSec`. */
  metrics: boolean;
}

/** Keys the Firehose client or the sender is built from. */
const SENDER_KEYS = ['deliveryStreamName', 'region', 'send'];

export function diffSinkConfig(from: SinkConfig, to: SinkConfig): SinkConfigDiff {
  const changes = keysOf(from, to)
    .map((key) => ({ key, from: valueAt(from, key), to: valueAt(to, key) }))
    .filter((c) => !isDeepStrictEqual(c.from, c.to));
  const touches = (...keys: string[]) => changes.some((c) => keys.some((k) => c.key === k || c.key.startsWith(`${k}.`)));
  return {
    changes,
    logLevel: touches('logLevel'),
    sender: touches(...SENDER_KEYS),
    putTopic: touches('putTopic'),
    ackTopic: touches('ackTopic'),
    spoolLimits: touches('spool'),
    metrics: touches('metrics'),
  };
}

/** Every dotted key of either configuration, one level into objects (`send.lingerMs`), sorted. */
function keysOf(a: SinkConfig, b: SinkConfig): string[] {
  const out = new Set<string>();
  for (const c of [a, b]) {
    for (const [k, v] of Object.entries(c)) {
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) for (const sub of Object.keys(v)) out.add(`${k}.${sub}`);
      else out.add(k);
    }
  }
  return [...out].sort();
}

function valueAt(c: SinkConfig, key: string): unknown {
  return key.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], c);
}
