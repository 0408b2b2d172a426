// The sink's configuration: the recipe's example passes, defaults are filled, every problem comes
// back with its JSON path and a fix, the published schema matches the code, and the recipe has the
// shape a Greengrass deployment needs (exact topics in accessControl, Node check, both platforms).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseSinkConfig } from '../../../../components/firehose-sink/src/config';
import { SINK_CONFIG_SCHEMA, sinkConfigSchemaPaths } from '../../../../components/firehose-sink/src/config-schema';
import { ConfigError, type ConfigIssue } from '../../../../components/firehose-sink/src/errors';
import { DEFAULT_ACK_TOPIC, DEFAULT_PUT_TOPIC } from '../../../../shared/handoff/protocol';
import { SINK_CONFIG_SCHEMA_FILE, sinkConfigSchemaText } from '../../../../scripts/write-config-schema';

const ROOT = join(__dirname, '..', '..', '..', '..');
const RECIPE = parseYaml(readFileSync(join(ROOT, 'recipes', 'conduit.FirehoseSink.yaml'), 'utf8'));
const DEFAULT_CONFIGURATION = RECIPE.ComponentConfiguration.DefaultConfiguration;
const ENV = { defaultRegion: 'eu-central-1' };

function issuesOf(raw: unknown, env: { defaultRegion?: string } = ENV): ConfigIssue[] {
  try {
    parseSinkConfig(raw, env);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    return [...e.issues];
  }
  assert.fail('expected the configuration to be rejected');
}

const paths = (issues: ConfigIssue[]) => issues.map((i) => i.path);

test('the recipe DefaultConfiguration passes, and every default is filled', () => {
  const c = parseSinkConfig(DEFAULT_CONFIGURATION, ENV);
  assert.deepEqual(c, {
    deliveryStreamName: 'conduit-bursts',
    region: 'eu-central-1',
    putTopic: DEFAULT_PUT_TOPIC,
    ackTopic: DEFAULT_ACK_TOPIC,
    spool: { maxBytes: 256 * 1024 * 1024, segmentBytes: 8 * 1024 * 1024 },
    send: { maxRecordBytes: 1_024_000, lingerMs: 1000, initialBackoffMs: 500, maxBackoffMs: 60_000, requestTimeoutMs: 30_000 },
    metrics: { topic: 'conduit/{thingName}/sink/metrics', intervalSec: 60 },
    logLevel: 'info',
  });
});

test('numbers written as floats and nulls are accepted; region from the configuration wins; the input is untouched', () => {
  const raw = { deliveryStreamName: 's', region: 'us-west-2', spool: { maxBytes: 2097152.0, segmentBytes: 524288.0 }, send: { lingerMs: null }, logLevel: 'debug' };
  const copy = structuredClone(raw);
  const c = parseSinkConfig(raw, ENV);
  assert.equal(c.region, 'us-west-2');
  assert.deepEqual(c.spool, { maxBytes: 2_097_152, segmentBytes: 524_288 });
  assert.equal(c.send.lingerMs, 1000);
  assert.deepEqual(raw, copy);
});

test('values are taken literally: a number in quotes is refused, with the fix', () => {
  const issues = issuesOf({ deliveryStreamName: 's', spool: { maxBytes: '2097152' }, send: { lingerMs: true } });
  assert.deepEqual(
    issues.map((i) => [i.path, i.message, i.fix]),
    [
      ['/send/lingerMs', 'must be a whole number (got true)', 'set it to a whole number, e.g. 1000 (or remove it to use the default)'],
      ['/spool/maxBytes', 'must be a whole number (got the text "2097152")', 'write the number without quotes: 2097152 (or remove it to use the default)'],
    ],
  );
});

test('every problem is reported at once, each with its path and a fix', () => {
  const issues = issuesOf({
    spool: { maxBytes: 1000, segmentBytes: 'big' },
    send: { maxRecordBytes: 2_000_000, initialBackoffMs: 1000, maxBackoffMs: 200 },
    metrics: { intervalSec: 0 },
    logLevel: 'verbose',
    putTopic: 'conduit/+/put',
  });
  assert.deepEqual(paths(issues), [
    '/deliveryStreamName',
    '/logLevel',
    '/metrics/intervalSec',
    '/putTopic',
    '/send/maxBackoffMs',
    '/send/maxRecordBytes',
    '/spool/maxBytes',
    '/spool/segmentBytes',
  ]);
  for (const i of issues) assert.ok(i.fix.length > 10 && i.message.length > 5, JSON.stringify(i));
  const by = (p: string) => issues.find((i) => i.path === p)!;
  assert.match(by('/deliveryStreamName').fix, /add deliveryStreamName, e\.g\. conduit-bursts/);
  assert.match(by('/spool/maxBytes').message, /between 1048576 and .* \(got 1000\)/);
  assert.match(by('/send/maxRecordBytes').message, /between 5120 and 1024000 \(got 2000000\)/);
  assert.match(by('/send/maxBackoffMs').fix, /at least 1000/);
  assert.match(by('/putTopic').fix, /without the wildcards/);
  assert.match(by('/logLevel').fix, /"debug", "info", "warn", "error"/);
  assert.match(by('/spool/segmentBytes').message, /must be a whole number/);
});

test('rules across keys: segment size against spool size, distinct topics, region, metrics topic', () => {
  const base = { deliveryStreamName: 'conduit-bursts' };
  const seg = issuesOf({ ...base, spool: { maxBytes: 4 * 1048576, segmentBytes: 2 * 1048576 } });
  assert.deepEqual(paths(seg), ['/spool/segmentBytes']);
  assert.match(seg[0]!.fix, /at most 1048576/);
  assert.deepEqual(paths(issuesOf({ ...base, ackTopic: DEFAULT_PUT_TOPIC })), ['/ackTopic']);
  const region = issuesOf(base, {});
  assert.deepEqual(paths(region), ['/region']);
  assert.match(region[0]!.fix, /e\.g\. eu-central-1/);
  assert.deepEqual(paths(issuesOf({ ...base, region: 'Frankfurt' })), ['/region']);
  assert.deepEqual(paths(issuesOf({ ...base, metrics: { topic: 'conduit/{site}/sink' } })), ['/metrics/topic']);
  assert.deepEqual(paths(issuesOf({ ...base, metrics: { topic: 'conduit/#' } })), ['/metrics/topic']);
  assert.deepEqual(paths(issuesOf({ ...base, deliveryStreamName: 'arn:aws:firehose:eu-central-1:123456789012:deliverystream/x' })), ['/deliveryStreamName']);
});

test('an unknown key gets a "did you mean" or says where it belongs', () => {
  const issues = issuesOf({ deliveryStreamName: 's', deliveryStream: 'x', maxBytes: 5, spool: { maxByte: 5 } });
  const by = (p: string) => issues.find((i) => i.path === p)!;
  assert.match(by('/deliveryStream').fix, /did you mean "deliveryStreamName"/);
  assert.match(by('/maxBytes').fix, /belongs in spool\.maxBytes/);
  assert.match(by('/spool/maxByte').fix, /did you mean "maxBytes"/);
  assert.match(issuesOf('x')[0]!.fix, /deliveryStreamName/);
});

test('config.schema.json is the in-code schema (else run: npx tsx scripts/write-config-schema.ts)', () => {
  assert.equal(readFileSync(SINK_CONFIG_SCHEMA_FILE, 'utf8'), sinkConfigSchemaText(), 'components/firehose-sink/config.schema.json is stale: run npx tsx scripts/write-config-schema.ts');
  const walk = (node: { properties?: Record<string, unknown> }, at: string): string[] =>
    Object.entries(node.properties ?? {}).flatMap(([k, v]) => [...((v as { description?: string }).description ? [] : [at + k]), ...walk(v as never, `${at}${k}.`)]);
  assert.deepEqual(walk(SINK_CONFIG_SCHEMA as never, ''), [], 'every property has a description');
});

test('docs/firehose-sink.md has a row for every configuration key', () => {
  const doc = readFileSync(join(ROOT, 'docs', 'firehose-sink.md'), 'utf8');
  const rows = new Set([...doc.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]));
  const missing = sinkConfigSchemaPaths().filter((p) => !rows.has(p) && !['spool', 'send', 'metrics'].includes(p));
  assert.deepEqual(missing, []);
});

test('the recipe: both platforms alike, Run and Shutdown, HARD TES dependency, exact topics in accessControl', () => {
  assert.equal(RECIPE.ComponentName, 'conduit.FirehoseSink');
  assert.equal(RECIPE.ComponentVersion, '0.1.0');
  assert.deepEqual(RECIPE.ComponentDependencies, { 'aws.greengrass.TokenExchangeService': { VersionRequirement: '^2.0.0', DependencyType: 'HARD' } });
  assert.deepEqual(
    RECIPE.Manifests.map((m: { Platform: unknown }) => m.Platform),
    [{ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'aarch64' }],
  );
  const [amd64, arm64] = RECIPE.Manifests;
  assert.deepEqual(arm64.Lifecycle, amd64.Lifecycle);
  // One bundle for both; each manifest downloads only its own architecture's aws-crt binary.
  assert.deepEqual(arm64.Artifacts, [amd64.Artifacts[0], { URI: 's3://BUCKET_NAME/conduit.FirehoseSink/0.1.0/aws-crt-linux-arm64-glibc.zip', Unarchive: 'ZIP' }]);
  assert.equal(amd64.Lifecycle.Run, 'node --enable-source-maps {artifacts:decompressedPath}/firehose-sink/index.js');
  assert.equal(amd64.Lifecycle.Shutdown.Timeout, 15);
  assert.deepEqual(amd64.Artifacts, [
    { URI: 's3://BUCKET_NAME/conduit.FirehoseSink/0.1.0/firehose-sink.zip', Unarchive: 'ZIP' },
    { URI: 's3://BUCKET_NAME/conduit.FirehoseSink/0.1.0/aws-crt-linux-x64-glibc.zip', Unarchive: 'ZIP' },
  ]);
  const ac = DEFAULT_CONFIGURATION.accessControl;
  assert.deepEqual(ac['aws.greengrass.ipc.pubsub'], {
    'conduit.FirehoseSink:pubsub:1': { policyDescription: ac['aws.greengrass.ipc.pubsub']['conduit.FirehoseSink:pubsub:1'].policyDescription, operations: ['aws.greengrass#SubscribeToTopic'], resources: [DEFAULT_PUT_TOPIC] },
    'conduit.FirehoseSink:pubsub:2': { policyDescription: ac['aws.greengrass.ipc.pubsub']['conduit.FirehoseSink:pubsub:2'].policyDescription, operations: ['aws.greengrass#PublishToTopic'], resources: [DEFAULT_ACK_TOPIC] },
  });
  const mqtt = ac['aws.greengrass.ipc.mqttproxy']['conduit.FirehoseSink:mqttproxy:1'];
  assert.deepEqual([mqtt.operations, mqtt.resources], [['aws.greengrass#PublishToIoTCore'], ['conduit/{iot:thingName}/sink/metrics']]);
  const resources = JSON.stringify(ac);
  assert.ok(!/[*+#]/.test(resources.replace(/aws\.greengrass#\w+/g, '')), 'no wildcard anywhere in accessControl');
});

test('the recipe Install step refuses a Node.js older than 20 with a message on stderr', () => {
  const script: string = RECIPE.Manifests[0].Lifecycle.Install;
  const dir = mkdtempSync(join(tmpdir(), 'conduit-sink-install-'));
  try {
    const ok = spawnSync('sh', ['-c', script], { encoding: 'utf8', env: { PATH: `${join(process.execPath, '..')}:/usr/bin:/bin` } });
    assert.equal(ok.status, 0, ok.stderr);
    writeFileSync(join(dir, 'node'), '#!/bin/sh\necho v18.19.0\n');
    chmodSync(join(dir, 'node'), 0o755);
    const old = spawnSync('sh', ['-c', script], { encoding: 'utf8', env: { PATH: `${dir}:/usr/bin:/bin` } });
    assert.equal(old.status, 1);
    assert.match(old.stderr, /conduit\.FirehoseSink needs Node\.js 20 or later, found v18\.19\.0/);
    const none = spawnSync('/bin/sh', ['-c', script], { encoding: 'utf8', env: { PATH: dir + '/absent' } });
    assert.equal(none.status, 1);
    assert.match(none.stderr, /no node was found/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
