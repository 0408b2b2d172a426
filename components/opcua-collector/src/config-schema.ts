// The JSON Schema of conduit.OpcUaCollector's Greengrass configuration: what an engineer sees in an
// editor (every property has a description), the defaults the parser fills in, and the structural
// checks ajv runs. Rules that span several keys (a window that must be a multiple of the sampling
// interval, a thumbprint's format, topic limits...) live in config-rules.ts, because a schema can
// state them only in ways that produce unreadable errors.
//
// config.schema.json next to the component is generated from this object by
// `npx tsx scripts/write-config-schema.ts`; a unit test fails when the two differ.

/** Recommended subscription publishing interval, ms. See config-rules.ts for why. */
export const PUBLISHING_INTERVAL_RECOMMENDED_MIN_MS = 500;
export const PUBLISHING_INTERVAL_RECOMMENDED_MAX_MS = 1_000;
/** Hard limits of the publishing interval, even with `sampling.allowAnyPublishingInterval`. */
export const PUBLISHING_INTERVAL_MIN_MS = 100;
export const PUBLISHING_INTERVAL_MAX_MS = 10_000;
/** The nucleus's default `mqtt.maxMessageSizeInBytes` and AWS IoT Core's payload limit (128 KiB). */
export const MAX_MESSAGE_BYTES = 131_072;
/** Smallest payload limit accepted: below it a single tag's batch no longer fits. */
export const MIN_MESSAGE_BYTES = 1_024;
/** AWS IoT Core: publishes per second per connection (not adjustable); the nucleus shares it. */
export const IOT_MAX_PUBLISHES_PER_SECOND = 100;
/** Longest rms window, ms (one day), as the RmsWindow stage accepts. */
export const MAX_WINDOW_MS = 86_400_000;
/**
 * Most tags one collector takes: the scale it is benchmarked at (10,000 tags at 100 ms on one
 * 2-core gateway, test/bench/README.md). A larger plant is split across gateways (docs/deployment.md).
 */
export const MAX_TAGS = 10_000;
/** Largest magnitude of a threshold, deadband or range: beyond 2^53 a double no longer holds every integer. */
export const MAX_VALUE_MAGNITUDE = Number.MAX_SAFE_INTEGER;
/** Longest OPC UA NodeId text accepted (a string identifier with a namespace URI). */
export const MAX_NODE_ID_CHARS = 4_096;
/** Longest PEM certificate entry (a 16,384-bit RSA certificate with a long chain is far below). */
export const MAX_PEM_CHARS = 16_384;

const value = (description: string, examples: number[], extra: Record<string, number> = {}) => ({
  type: 'number',
  description,
  minimum: -MAX_VALUE_MAGNITUDE,
  maximum: MAX_VALUE_MAGNITUDE,
  examples,
  ...extra,
});

const ms = (description: string, minimum: number, maximum: number, dflt?: number) => ({
  type: 'integer',
  description,
  minimum,
  maximum,
  ...(dflt === undefined ? {} : { default: dflt }),
});

const topic = (description: string, dflt: string) => ({
  type: 'string',
  description,
  default: dflt,
  minLength: 1,
  // Characters; the 256 UTF-8 bytes AWS IoT Core allows are checked by the topic rules.
  maxLength: 256,
  examples: [dflt],
});

/** Names that show up in topics and payloads: letters, digits and a few separators. */
const NAME_PATTERN = '^[\\p{L}\\p{N}][\\p{L}\\p{N} _.-]*$';

export const COLLECTOR_CONFIG_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'conduit.OpcUaCollector configuration',
  description:
    'Configuration of the conduit OPC UA collector (AWS IoT Greengrass v2 component). Values are taken literally: numbers are JSON numbers (not "100"), booleans are true or false (not "true"). A key set to null is treated as absent. See docs/configuration.md.',
  type: 'object',
  additionalProperties: false,
  required: ['endpointUrl', 'credentialsSecretId', 'site', 'area', 'mappingVersion', 'tags'],
  properties: {
    endpointUrl: {
      type: 'string',
      description: 'OPC UA endpoint of the plant server: opc.tcp://host:port[/path]. The collector only reads from it.',
      minLength: 1,
      maxLength: 1_024,
      examples: ['opc.tcp://plc.plant.local:4840'],
    },
    allowedEndpoints: {
      type: 'array',
      description:
        "The OPC UA servers this gateway may ever connect to, as host:port (the OT network team's firewall allowlist). When set, an endpointUrl outside it is refused, at start and in a live update. Empty: no restriction.",
      items: { type: 'string', minLength: 3, maxLength: 261, examples: ['plc.plant.local:4840'] },
      maxItems: 256,
      uniqueItems: true,
      default: [],
    },
    mode: {
      type: 'string',
      description:
        'active: publish. shadow: run the whole pipeline and report in the metrics what would be published (messages, bytes, points, alarms, captures), but publish no telemetry, alarms or captures: observe a new mapping before enforcing it.',
      enum: ['active', 'shadow'],
      default: 'active',
    },
    securityMode: {
      type: 'string',
      description:
        'OPC UA message security. None is accepted only with allowInsecure: true; Sign and SignAndEncrypt need a securityPolicy other than None.',
      enum: ['None', 'Sign', 'SignAndEncrypt'],
      default: 'SignAndEncrypt',
    },
    securityPolicy: {
      type: 'string',
      description:
        'OPC UA security policy. None only with securityMode None (and allowInsecure: true); when securityMode is None and this key is absent, None is used.',
      enum: ['None', 'Basic256Sha256', 'Aes128_Sha256_RsaOaep', 'Aes256_Sha256_RsaPss'],
      default: 'Basic256Sha256',
    },
    allowInsecure: {
      type: 'boolean',
      description:
        'Accept an unencrypted connection (securityMode/securityPolicy None) or any server certificate when serverTrust is empty. Logged as a warning at every start.',
      default: false,
    },
    serverTrust: {
      type: 'object',
      description:
        'Server certificates the collector accepts. At least one thumbprint or certificate unless allowInsecure is true. An untrusted server is refused and its thumbprint is logged.',
      additionalProperties: false,
      default: {},
      properties: {
        thumbprints: {
          type: 'array',
          description:
            'SHA-1 thumbprints of the server certificate (DER), 40 hex digits; colons, spaces and upper case are accepted and normalized.',
          items: { type: 'string', maxLength: 128, examples: ['3f2a9c0e5b7d41a6c8e02f9b1d4a6c3e8f0b2d71'] },
          maxItems: 64,
          default: [],
        },
        certificates: {
          type: 'array',
          description: 'PEM certificates, one per entry (BEGIN/END CERTIFICATE lines included): a CA that signs the server certificate, or the server certificate itself.',
          items: { type: 'string', maxLength: MAX_PEM_CHARS },
          maxItems: 64,
          default: [],
        },
      },
    },
    credentialsSource: {
      type: 'string',
      description:
        'Where the OPC UA identity is read. greengrass: from the aws.greengrass.SecretManager component over IPC, which keeps an encrypted copy on the device, so a restart while the WAN is down still logs in (the secret must be in its cloudSecrets and this component\'s accessControl must allow aws.greengrass#GetSecretValue on its ARN). secretsmanager: straight from AWS Secrets Manager in the cloud at every start, for cores without that component; a start while Secrets Manager is unreachable collects nothing until it is reachable again.',
      enum: ['greengrass', 'secretsmanager'],
      default: 'greengrass',
    },
    credentialsSecretId: {
      type: 'string',
      description:
        'AWS Secrets Manager secret (name or ARN) holding {"username": "...", "password": "..."} for the OPC UA session. With credentialsSource greengrass it must be one of aws.greengrass.SecretManager\'s cloudSecrets. Passwords never go in this configuration.',
      minLength: 1,
      maxLength: 2048,
      pattern: '^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+|[A-Za-z0-9/_+=.@-]+)$',
      patternErrorMessage: 'set it to a Secrets Manager secret name (letters, digits and /_+=.@-) or a secret ARN, e.g. conduit/opcua-collector',
      examples: ['conduit/opcua-collector'],
    },
    site: {
      type: 'string',
      description: 'Plant or site name, carried by every message and usable as {site} in topics.',
      minLength: 1,
      maxLength: 64,
      pattern: NAME_PATTERN,
      patternErrorMessage: 'use letters, digits, spaces and _ . - only, starting with a letter or digit, e.g. lyon',
      examples: ['lyon'],
    },
    area: {
      type: 'string',
      description: 'Area, line or cell within the site, carried by every message and usable as {area} in topics.',
      minLength: 1,
      maxLength: 64,
      pattern: NAME_PATTERN,
      patternErrorMessage: 'use letters, digits, spaces and _ . - only, starting with a letter or digit, e.g. line-1',
      examples: ['line-1'],
    },
    mappingVersion: {
      type: 'string',
      description:
        'Version of the tag list, carried by every message so the cloud can tie data to the mapping that produced it. Change it whenever tags change. Quote it in YAML (1.10 would become the number 1.1).',
      minLength: 1,
      maxLength: 64,
      pattern: '^[\\p{L}\\p{N}][\\p{L}\\p{N}_.:+-]*$',
      patternErrorMessage: 'use letters, digits and _ . : + - only, starting with a letter or digit, e.g. 2024-06-01.1',
      examples: ['2024-06-01.1'],
    },
    sampling: {
      type: 'object',
      description: 'OPC UA subscription settings, shared by all tags.',
      additionalProperties: false,
      default: {},
      properties: {
        intervalMs: ms('Requested samplingInterval of every monitored item, ms. rms windows are multiples of it.', 1, 60_000, 100),
        publishingIntervalMs: ms(
          'Requested publishingInterval of the subscription, ms: how often the server sends the queued samples. 500 to 1000 unless allowAnyPublishingInterval.',
          PUBLISHING_INTERVAL_MIN_MS,
          PUBLISHING_INTERVAL_MAX_MS,
          1_000,
        ),
        allowAnyPublishingInterval: {
          type: 'boolean',
          description:
            'Accept a publishingIntervalMs outside 500-1000 (still from intervalMs to 10000). Only for servers that cannot keep up; rms windows then close later.',
          default: false,
        },
        queueSize: {
          type: 'integer',
          description:
            'Queue size of every monitored item, at least 2 x ceil(publishingIntervalMs / intervalMs), so one late publish loses nothing. Default: exactly that (20 with the defaults).',
          minimum: 1,
          maximum: 100_000,
          examples: [20],
        },
        maxNotificationsPerPublish: {
          type: 'integer',
          description: 'Subscription maxNotificationsPerPublish: most samples the server puts in one publish response.',
          minimum: 1,
          maximum: 100_000,
          default: 1_000,
        },
      },
    },
    tags: {
      type: 'array',
      description: `The OPC UA variables to read and how each one is reduced before publishing. At least one, at most ${MAX_TAGS.toLocaleString('en-US')} per collector.`,
      minItems: 1,
      maxItems: MAX_TAGS,
      limitErrorMessage: `one collector carries at most ${MAX_TAGS.toLocaleString('en-US')} tags (the scale it is benchmarked at): split the plant across gateways, one configuration each (docs/deployment.md)`,
      examples: [[{ name: 'Vib01', nodeId: 'ns=3;s=Line1.Vib01', mode: 'rms' }]],
      items: {
        type: 'object',
        description: 'One tag.',
        additionalProperties: false,
        required: ['name', 'nodeId', 'mode'],
        properties: {
          name: {
            type: 'string',
            description: 'Unique name of the signal in the cloud (letters, digits, _ . : -); names must differ in more than letter case.',
            minLength: 1,
            maxLength: 128,
            pattern: '^[\\p{L}\\p{N}_][\\p{L}\\p{N}_.:-]*$',
            patternErrorMessage: 'use letters, digits and _ . : - only (no spaces or slashes), e.g. Line1.Vib01',
            examples: ['Line1.Vib01'],
          },
          nodeId: {
            type: 'string',
            description: 'OPC UA NodeId: ns=<index>;s=|i=|g=|b=<id>, or nsu=<namespace URI>;s=|i=|g=|b=<id>. Unique across tags.',
            minLength: 1,
            maxLength: MAX_NODE_ID_CHARS,
            examples: ['ns=3;s=Line1.Vib01'],
          },
          mode: {
            type: 'string',
            description: 'rms: windowed RMS statistics of a numeric signal (vibration). deadband: report by exception. change: every change (Boolean, enumerations, strings).',
            enum: ['rms', 'deadband', 'change'],
          },
          windowMs: ms('rms tags: window length, ms; a positive multiple of sampling.intervalMs. Ignored by other modes.', 1, MAX_WINDOW_MS, 1_000),
          deadband: {
            type: 'object',
            description: 'deadband tags only (required there): either absolute, or percent with an optional range.',
            additionalProperties: false,
            properties: {
              absolute: {
                type: 'number',
                description: 'Deadband in engineering units: a point is sent when the value moves more than this from the last sent value.',
                minimum: 0,
                maximum: MAX_VALUE_MAGNITUDE,
                examples: [0.2],
              },
              percent: {
                type: 'number',
                description: 'Deadband as a percent of the range (rangeMax - rangeMin), above 0 and at most 100.',
                exclusiveMinimum: 0,
                maximum: 100,
                examples: [1],
              },
              rangeMin: value("percent only: low end of the range; with rangeMax. Absent: the node's EURange is read at start.", [0]),
              rangeMax: value('percent only: high end of the range, above rangeMin; with rangeMin.', [150]),
            },
          },
          heartbeatMs: ms(
            'deadband and change tags: a point at least this often while samples arrive, ms; 0 turns it off. Default 60000. Not allowed on rms tags.',
            0,
            MAX_WINDOW_MS,
          ),
          unit: {
            type: 'string',
            description: 'Engineering unit, carried in the mapping message (e.g. mm/s, degC).',
            maxLength: 32,
            examples: ['mm/s'],
          },
          alarm: {
            type: 'object',
            description: 'Local alarm on the tag (used by burst capture), with hysteresis.',
            additionalProperties: false,
            required: ['on', 'raiseAt', 'clearBelow'],
            properties: {
              on: {
                type: 'string',
                description: 'rms: the window RMS of an rms tag; raw: every raw sample.',
                enum: ['rms', 'raw'],
              },
              raiseAt: value('Raised when the value is at or above this for minDurationMs.', [7.1]),
              clearBelow: value('Cleared when the value falls below this; at most raiseAt.', [6]),
              minDurationMs: ms('How long the value must stay at or above raiseAt before the alarm is raised, ms.', 0, 3_600_000, 0),
            },
          },
        },
      },
    },
    publish: {
      type: 'object',
      description: 'How points are batched and published to AWS IoT Core through the nucleus.',
      additionalProperties: false,
      default: {},
      properties: {
        topic: topic('Telemetry topic template. Placeholders: {thingName}, {site}, {area}. No + or #, no leading $, at most 7 slashes.', 'conduit/{thingName}/telemetry'),
        mappingTopic: topic('Topic of the tag list of each mappingVersion (retained). Same rules as topic.', 'conduit/{thingName}/mapping'),
        auditTopic: topic(
          'Topic of the configuration audit: one message per applied live update, naming the tags added, removed and changed and both mappingVersions. Same rules as topic.',
          'conduit/{thingName}/config-audit',
        ),
        qos: { type: 'integer', description: 'MQTT QoS to AWS IoT Core. 1: at least once, kept in the nucleus spooler while offline. 0: at most once, dropped while offline (unless the nucleus keeps QoS 0).', enum: [0, 1], default: 1 },
        maxMessageBytes: {
          type: 'integer',
          description: 'Largest payload, bytes; at most the nucleus mqtt.maxMessageSizeInBytes (131072 by default, the AWS IoT Core limit).',
          minimum: MIN_MESSAGE_BYTES,
          maximum: MAX_MESSAGE_BYTES,
          default: MAX_MESSAGE_BYTES,
        },
        intervalMs: ms('How often points are batched and published, ms.', 100, 60_000, 1_000),
        maxPublishesPerSecond: {
          type: 'integer',
          description: "This component's share of the 100 publishes/s AWS IoT Core allows one connection (the nucleus's, shared by all components).",
          minimum: 1,
          maximum: IOT_MAX_PUBLISHES_PER_SECOND,
          default: 20,
        },
        queueMaxMessages: {
          type: 'integer',
          description: 'Messages held while the nucleus does not accept publishes; past it the oldest are dropped, counted and logged at ERROR. Memory: up to this x maxMessageBytes.',
          minimum: 1,
          maximum: 100_000,
          default: 2_000,
        },
        significantDigits: {
          type: 'integer',
          description: 'Significant digits of published numbers (10 keeps the relative error under 1e-9; 17 is exact).',
          minimum: 1,
          maximum: 17,
          default: 10,
        },
        rmsFields: {
          type: 'array',
          description: 'Statistics published per rms window; count is always published.',
          items: { type: 'string', enum: ['rms', 'min', 'max', 'mean', 'peak'] },
          minItems: 1,
          maxItems: 5,
          uniqueItems: true,
          default: ['rms', 'peak'],
        },
      },
    },
    metrics: {
      type: 'object',
      description: "The collector's own counters (samples, points, drops, reconnects), published periodically.",
      additionalProperties: false,
      default: {},
      properties: {
        topic: topic('Metrics topic template; same placeholders and rules as publish.topic.', 'conduit/{thingName}/metrics'),
        intervalSec: { type: 'integer', description: 'How often metrics are published, seconds.', minimum: 1, maximum: 3_600, default: 60 },
      },
    },
    burst: {
      type: 'object',
      description:
        'Burst capture: when a tag alarm raises, the raw samples of the preTriggerSec before it and postTriggerSec after it go to Amazon Data Firehose through conduit.FirehoseSink. Only tags with an alarm keep a raw ring. See docs/burst.md.',
      additionalProperties: false,
      default: {},
      properties: {
        preTriggerSec: { type: 'integer', description: 'Raw samples kept before an alarm, seconds (the ring of each alarmed tag holds this much).', minimum: 1, maximum: 600, default: 60 },
        postTriggerSec: { type: 'integer', description: 'Raw samples added after the alarm, seconds.', minimum: 0, maximum: 600, default: 10 },
        cooldownSec: { type: 'integer', description: "A new capture on a tag sooner than this after its previous capture ended is skipped (counted and logged): a flapping alarm does not flood Firehose.", minimum: 0, maximum: 86_400, default: 60 },
        maxCapturesPerHour: { type: 'integer', description: 'Captures per hour for the whole device; beyond it captures are skipped (counted and logged). 0 turns captures off (alarms are still published).', minimum: 0, maximum: 3_600, default: 30 },
        maxCaptureSec: { type: 'integer', description: 'Longest capture, seconds: alarms that keep re-raising extend a capture up to this.', minimum: 1, maximum: 3_600, default: 300 },
        alarmTopic: topic('Topic of alarm raise and clear events (AWS IoT Core); same placeholders and rules as publish.topic.', 'conduit/{thingName}/alarms'),
        sinkTopic: topic("Local topic where captures are handed to conduit.FirehoseSink (its putTopic).", 'conduit/firehose-sink/put'),
        sinkAckTopic: topic("Local topic where conduit.FirehoseSink acknowledges stored records (its ackTopic).", 'conduit/firehose-sink/ack'),
        ackTimeoutMs: ms('A capture not acknowledged by the sink within this is sent again, ms.', 1_000, 600_000, 10_000),
        maxPendingBytes: {
          type: 'integer',
          description: 'Memory for captures the sink has not acknowledged yet, bytes; past it the oldest are dropped, counted and logged at ERROR.',
          minimum: 1_048_576,
          maximum: 1_073_741_824,
          default: 67_108_864,
        },
      },
    },
    watchdog: {
      type: 'object',
      description: 'Detects a session that looks connected but delivers nothing.',
      additionalProperties: false,
      default: {},
      properties: {
        noDataTimeoutMs: ms(
          'A connected session that shows no sign of life for this long is reconnected, ms. With rms tags (which must deliver every sampling interval) only data counts; with only deadband and change tags, subscription keep-alives count too, so keep it at least 6 x sampling.publishingIntervalMs (and 2 x in any case).',
          1_000,
          3_600_000,
          15_000,
        ),
      },
    },
    reconnect: {
      type: 'object',
      description:
        'Backoff between connection attempts that reached a server: capped exponential with jitter. An endpoint where nothing accepts TCP (refused, unreachable, no answer within 3 s) is retried every 0.5-2 s instead, however long the outage.',
      additionalProperties: false,
      default: {},
      properties: {
        initialDelayMs: ms(
          'Upper bound of the first delay after a lost connection or a failure where the server answered (overload, identity, certificate, secret, other), ms; doubles with each such failure in a row.',
          100,
          600_000,
          1_000,
        ),
        maxDelayMs: ms('Longest delay between attempts, ms; at least initialDelayMs. Also caps the 0.5-2 s pace of unreachable retries when below 2000.', 100, 3_600_000, 60_000),
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
      description:
        "Greengrass IPC authorization policies of this component (kept by the nucleus in the same configuration). Read by the nucleus, ignored by the collector.",
    },
  },
};

interface SchemaNode {
  type?: string;
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
}

/**
 * Every property path of the schema, dotted, with `[]` for array items: `sampling.intervalMs`,
 * `tags[].deadband.percent`. docs/configuration.md has one row per path (a test checks it).
 * accessControl's content belongs to the nucleus and is not listed.
 */
export function configSchemaPaths(node: SchemaNode = COLLECTOR_CONFIG_SCHEMA as SchemaNode, prefix = ''): string[] {
  const out: string[] = [];
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    const path = prefix + key;
    out.push(path);
    if (child.type === 'object') out.push(...configSchemaPaths(child, path + '.'));
    if (child.type === 'array' && child.items?.type === 'object') out.push(...configSchemaPaths(child.items, path + '[].'));
  }
  return out;
}
