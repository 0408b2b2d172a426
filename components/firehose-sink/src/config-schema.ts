// The JSON Schema of conduit.FirehoseSink's Greengrass configuration: what an engineer sees in an
// editor (every property has a description), the defaults the parser fills in, and the structural
// checks ajv runs. Rules that span keys (segment size against spool size, backoff bounds, distinct
// topics) live in config.ts, where they can name the fix.
//
// config.schema.json next to the component is generated from this object by
// `npx tsx scripts/write-config-schema.ts`; a unit test fails when the two differ.
import { DEFAULT_ACK_TOPIC, DEFAULT_PUT_TOPIC, FIREHOSE_MAX_RECORD_BYTES } from '../../../shared/handoff/protocol';

const MiB = 1024 * 1024;

/** Smallest spool: room for one largest record (1,000 KiB) and its frame. */
export const MIN_SPOOL_BYTES = 1 * MiB;
/** Largest spool the schema accepts (64 GiB); the spool's index lives in memory. */
export const MAX_SPOOL_BYTES = 64 * 1024 * MiB;
export const DEFAULT_SPOOL_BYTES = 256 * MiB;
/** Segment files are deleted whole; smaller than this and a busy spool churns files. */
export const MIN_SEGMENT_BYTES = 64 * 1024;
export const MAX_SEGMENT_BYTES = 256 * MiB;
export const DEFAULT_SEGMENT_BYTES = 8 * MiB;
/**
 * A spool holds at least this many segments: eviction frees whole segments, so with fewer a full
 * spool would throw away a large share of its records at once.
 */
export const MIN_SEGMENTS_PER_SPOOL = 4;
/** Smallest packing target for a Firehose record; below it packing saves little (billing is per 5 KB). */
export const MIN_RECORD_TARGET_BYTES = 5 * 1024;

/** Names of Firehose streams (CreateDeliveryStream: 1-64 of [a-zA-Z0-9_.-]). */
const STREAM_NAME_PATTERN = '^[a-zA-Z0-9_.-]{1,64}$';
/** An AWS region code such as eu-central-1, us-gov-west-1 or cn-north-1. */
const REGION_PATTERN = '^[a-z]{2}(-[a-z]+)+-[0-9]+$';

const int = (description: string, minimum: number, maximum: number, dflt: number) => ({ type: 'integer', description, minimum, maximum, default: dflt });

const localTopic = (description: string, dflt: string) => ({
  type: 'string',
  description,
  default: dflt,
  minLength: 1,
  maxLength: 256,
  // Greengrass refuses to publish to a topic with a wildcard, and the recipe's accessControl names
  // these topics exactly; control characters are never part of a topic an operator means.
  pattern: '^[^+#*\\u0000-\\u001f\\u007f-\\u009f]+$',
  patternErrorMessage: `name one topic, without the wildcards + # or * and without control characters, e.g. ${dflt}`,
  examples: [dflt],
});

export const SINK_CONFIG_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'conduit.FirehoseSink configuration',
  description:
    'Configuration of the conduit Firehose sink (AWS IoT Greengrass v2 component): records handed over local publish/subscribe are spooled on disk and delivered to Amazon Data Firehose. Values are taken literally: numbers are JSON numbers (not "100"). A key set to null is treated as absent. See docs/firehose-sink.md.',
  type: 'object',
  additionalProperties: false,
  required: ['deliveryStreamName'],
  properties: {
    deliveryStreamName: {
      type: 'string',
      description: "Name of the Firehose stream (Direct PUT) records go to. The core device's token exchange role needs firehose:PutRecordBatch on it.",
      maxLength: 64,
      pattern: STREAM_NAME_PATTERN,
      patternErrorMessage: 'use the Firehose stream name: 1 to 64 letters, digits and _ . - (not its ARN), e.g. conduit-bursts',
      examples: ['conduit-bursts'],
    },
    region: {
      type: 'string',
      description: 'AWS Region of the Firehose stream. Default: the Region the nucleus runs in (AWS_REGION).',
      maxLength: 32,
      pattern: REGION_PATTERN,
      patternErrorMessage: 'set it to a Region code, e.g. eu-central-1',
      examples: ['eu-central-1'],
    },
    putTopic: localTopic('Local publish/subscribe topic producers put records on. Keep it in step with accessControl and the producers.', DEFAULT_PUT_TOPIC),
    ackTopic: localTopic('Local publish/subscribe topic the sink acknowledges stored records on. Keep it in step with accessControl and the producers.', DEFAULT_ACK_TOPIC),
    spool: {
      type: 'object',
      description: 'The on-disk spool in the work folder, where records wait until Firehose accepted them.',
      additionalProperties: false,
      default: {},
      properties: {
        maxBytes: int(
          'Most disk the spool segment files may use, bytes. When a new record does not fit, the oldest records are evicted (data lost: counted and logged at ERROR).',
          MIN_SPOOL_BYTES,
          MAX_SPOOL_BYTES,
          DEFAULT_SPOOL_BYTES,
        ),
        segmentBytes: int(
          `Size at which a new segment file is started, bytes; at most spool.maxBytes / ${MIN_SEGMENTS_PER_SPOOL}. A segment is deleted once all its records are delivered (or evicted).`,
          MIN_SEGMENT_BYTES,
          MAX_SEGMENT_BYTES,
          DEFAULT_SEGMENT_BYTES,
        ),
      },
    },
    send: {
      type: 'object',
      description: 'How spooled records are packed and sent with PutRecordBatch.',
      additionalProperties: false,
      default: {},
      properties: {
        maxRecordBytes: int(
          'Packing target of one Firehose record, bytes: whole lines are packed up to this size (a single longer line still goes alone). Firehose bills each record rounded up to 5 KB.',
          MIN_RECORD_TARGET_BYTES,
          FIREHOSE_MAX_RECORD_BYTES,
          FIREHOSE_MAX_RECORD_BYTES,
        ),
        lingerMs: int('How long records may wait to fill Firehose records before a call is made anyway, ms.', 0, 60_000, 1_000),
        initialBackoffMs: int('Upper bound of the first delay after a failed call, ms (capped exponential backoff with full jitter).', 10, 600_000, 500),
        maxBackoffMs: int('Longest delay between attempts, ms; also the delay after an error only a configuration change can fix. At least initialBackoffMs.', 100, 3_600_000, 60_000),
        requestTimeoutMs: int('A PutRecordBatch call not answered within this is abandoned and retried, ms.', 1_000, 600_000, 30_000),
      },
    },
    metrics: {
      type: 'object',
      description: "The sink's counters (spool, received, sent, retried, evicted...), published to AWS IoT Core and logged periodically.",
      additionalProperties: false,
      default: {},
      properties: {
        topic: {
          type: 'string',
          description: 'AWS IoT Core topic of the metrics; {thingName} is replaced. Keep it in step with the accessControl resource.',
          default: 'conduit/{thingName}/sink/metrics',
          minLength: 1,
          // Characters; the 256 UTF-8 bytes AWS IoT Core allows are checked by the topic rules.
          maxLength: 256,
          examples: ['conduit/{thingName}/sink/metrics'],
        },
        intervalSec: int('How often metrics are published, seconds.', 1, 3_600, 60),
      },
    },
    logLevel: {
      type: 'string',
      description: 'Least severe log level written to the component log.',
      enum: ['debug', 'info', 'warn', 'error'],
      default: 'info',
    },
    accessControl: {
      type: 'object',
      description: 'Greengrass IPC authorization policies of this component (kept by the nucleus in the same configuration). Read by the nucleus, ignored by the sink.',
    },
  },
};

interface SchemaNode {
  type?: string;
  properties?: Record<string, SchemaNode>;
}

/** Every property path of the schema, dotted (`spool.maxBytes`); accessControl's content is the nucleus's. */
export function sinkConfigSchemaPaths(node: SchemaNode = SINK_CONFIG_SCHEMA as SchemaNode, prefix = ''): string[] {
  const out: string[] = [];
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    out.push(prefix + key);
    if (child.type === 'object') out.push(...sinkConfigSchemaPaths(child, `${prefix}${key}.`));
  }
  return out;
}
