// The collector's configuration: the recipe's example passes, defaults are filled, Greengrass's
// number forms are accepted, every rule rejects with the right JSON path and a fix, and the
// published schema, the recipe and the reference doc agree with the code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { describeConfig, parseCollectorConfig } from '../../../../components/opcua-collector/src/config';
import { COLLECTOR_CONFIG_SCHEMA, configSchemaPaths } from '../../../../components/opcua-collector/src/config-schema';
import { ConfigError, type ConfigIssue } from '../../../../components/opcua-collector/src/errors';
import { CONFIG_SCHEMA_FILE, configSchemaText } from '../../../../scripts/write-config-schema';
import { BASE_CONFIG } from './config-fixture';

const ROOT = join(__dirname, '..', '..', '..', '..');
const RECIPE = parseYaml(readFileSync(join(ROOT, 'recipes', 'conduit.OpcUaCollector.yaml'), 'utf8'));
const DEFAULT_CONFIGURATION = RECIPE.ComponentConfiguration.DefaultConfiguration;

// A self-signed test certificate (EC P-256, no use outside this file) and its SHA-1 thumbprint.
const TEST_CERT = `-----BEGIN CERTIFICATE-----
MIIBoDCCAUWgAwIBAgIUG17+Tux7ngY0pX0uYLsgYetJbAUwCgYIKoZIzj0EAwIw
JDEiMCAGA1UEAwwZY29uZHVpdC10ZXN0LW9wY3VhLXNlcnZlcjAgFw0yNjExMjIw
MjQzMzJaGA8yMTI2MTAyOTAyNDMzMlowJDEiMCAGA1UEAwwZY29uZHVpdC10ZXN0
LW9wY3VhLXNlcnZlcjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABJzP0YZDWaLS
AU0NryDL5h2FsWqhomyepTxJUPXUGGGOXnB+4V+Dysp0rpJ6ADA9+659WXNNthHf
w/gn9jFHdZSjUzBRMB0GA1UdDgQWBBQjasfjEi14yfQH/a1/N8K9GmEfQjAfBgNV
HSMEGDAWgBQjasfjEi14yfQH/a1/N8K9GmEfQjAPBgNVHRMBAf8EBTADAQH/MAoG
CCqGSM49BAMCA0kAMEYCIQDOoJ3+8qsAAwPy4cU5Y8+4Ri5zFQvRVLFfA1DJ5SnG
EgIhAMC8dRw+gda0f5AW3O+MjQHCBy6Km9WMH2blIFRm0Atc
-----END CERTIFICATE-----
`;
const TEST_CERT_SHA1 = 'E0:16:20:1F:E1:10:B5:EF:55:A8:C9:FD:3F:A6:17:A8:BB:8B:D4:A8';

/** The smallest valid configuration: one tag of each mode. A fresh object every call. */
function valid(): any {
  return {
    ...structuredClone(BASE_CONFIG),
    tags: [
      { name: 'Vib01', nodeId: 'ns=3;s=Line1.Vib01', mode: 'rms' },
      { name: 'Temp01', nodeId: 'ns=3;i=1002', mode: 'deadband', deadband: { absolute: 0.5 } },
      { name: 'Run01', nodeId: 'nsu=urn:plant:plc;s=Motor.Running', mode: 'change' },
    ],
  };
}

function issuesOf(raw: unknown): ConfigIssue[] {
  try {
    parseCollectorConfig(raw);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    return [...e.issues];
  }
  assert.fail('expected the configuration to be rejected');
}

test('the recipe DefaultConfiguration passes the schema and the rules', () => {
  const c = parseCollectorConfig(DEFAULT_CONFIGURATION);
  assert.equal(c.endpointUrl, 'opc.tcp://plc.plant.local:4840');
  assert.equal(c.credentialsSecretId, 'conduit/opcua-collector');
  assert.equal(c.credentialsSource, 'greengrass', 'the default: the device copy of aws.greengrass.SecretManager');
  assert.deepEqual(c.serverTrust.thumbprints, ['0'.repeat(40)]);
  assert.deepEqual(
    c.tags.map((t) => t.mode),
    ['rms', 'rms', 'deadband', 'change'],
  );
  assert.deepEqual(describeConfig(c), {
    endpointUrl: 'opc.tcp://plc.plant.local:4840',
    security: 'SignAndEncrypt/Basic256Sha256',
    allowInsecure: false,
    trusted: 1,
    credentialsSource: 'greengrass',
    credentialsSecretId: 'conduit/opcua-collector',
    site: 'lyon',
    area: 'line-1',
    mappingVersion: '2024-06-01.1',
    tags: { total: 4, rms: 2, deadband: 1, change: 1 },
  });
});

test('defaults are filled, derived values computed, and the input left untouched', () => {
  const raw = valid();
  const before = structuredClone(raw);
  const c = parseCollectorConfig(raw);
  assert.deepEqual(raw, before);
  assert.equal(c.securityMode, 'SignAndEncrypt');
  assert.equal(c.securityPolicy, 'Basic256Sha256');
  assert.equal(c.allowInsecure, false);
  assert.deepEqual(c.serverTrust.certificates, []);
  assert.deepEqual(c.sampling, { intervalMs: 100, publishingIntervalMs: 1000, queueSize: 20, maxNotificationsPerPublish: 1000 });
  assert.deepEqual(c.tags[0], { name: 'Vib01', nodeId: 'ns=3;s=Line1.Vib01', mode: 'rms', windowMs: 1000 });
  assert.deepEqual(c.tags[1]!.deadband, { kind: 'absolute', value: 0.5 });
  assert.equal(c.tags[1]!.heartbeatMs, 60000);
  assert.equal(c.tags[2]!.heartbeatMs, 60000);
  assert.deepEqual(c.publish, {
    topic: 'conduit/{thingName}/telemetry',
    mappingTopic: 'conduit/{thingName}/mapping',
    auditTopic: 'conduit/{thingName}/config-audit',
    qos: 1,
    maxMessageBytes: 131072,
    intervalMs: 1000,
    maxPublishesPerSecond: 20,
    queueMaxMessages: 2000,
    significantDigits: 10,
    rmsFields: ['rms', 'peak'],
  });
  assert.deepEqual(c.metrics, { topic: 'conduit/{thingName}/metrics', intervalSec: 60 });
  assert.deepEqual(c.watchdog, { noDataTimeoutMs: 15000 });
  assert.deepEqual(c.reconnect, { initialDelayMs: 1000, maxDelayMs: 60000 });
  assert.equal(c.logLevel, 'info');
  assert.equal('accessControl' in c, false);
});

test('numbers written as floats are numbers; nothing else is coerced', () => {
  // 500.0 is how the nucleus (Jackson) may hand a number back: the same JSON number as 500.
  const raw = valid();
  raw.sampling = { intervalMs: 100, publishingIntervalMs: 500.0, queueSize: 12.0 };
  raw.publish = { qos: 0, maxMessageBytes: 65536.0 };
  const c = parseCollectorConfig(raw);
  assert.deepEqual(c.sampling, { intervalMs: 100, publishingIntervalMs: 500, queueSize: 12, maxNotificationsPerPublish: 1000 });
  assert.equal(c.publish.maxMessageBytes, 65536);

  const quoted = valid();
  quoted.sampling = { intervalMs: '100' };
  quoted.tags[1].deadband = { percent: '0.5', rangeMin: -20, rangeMax: 120 };
  quoted.allowInsecure = 'true';
  quoted.mappingVersion = 12;
  quoted.publish = { qos: true };
  assert.deepEqual(
    issuesOf(quoted).map((i) => [i.path, i.message, i.fix]),
    [
      ['/allowInsecure', 'must be true or false (got the text "true")', 'write true or false without quotes (or remove it to use the default)'],
      ['/mappingVersion', 'must be text (got 12)', 'write it as text, in quotes: "12"'],
      ['/publish/qos', 'must be a whole number (got true)', 'set it to a whole number, e.g. 1 (or remove it to use the default)'],
      ['/sampling/intervalMs', 'must be a whole number (got the text "100")', 'write the number without quotes: 100 (or remove it to use the default)'],
      ['/tags/1/deadband/percent', 'must be a number (got the text "0.5")', 'write the number without quotes: 0.5'],
    ],
  );
});

test('derived values: queueSize follows the intervals; securityPolicy follows securityMode None', () => {
  const raw = valid();
  raw.sampling = { intervalMs: 50, publishingIntervalMs: 750 };
  assert.equal(parseCollectorConfig(raw).sampling.queueSize, 30);
  const insecure = valid();
  insecure.securityMode = 'None';
  insecure.allowInsecure = true;
  insecure.serverTrust = null; // null counts as absent
  const c = parseCollectorConfig(insecure);
  assert.equal(c.securityPolicy, 'None');
  assert.deepEqual(c.serverTrust, { thumbprints: [], certificates: [] });
});

test('thumbprints are normalized and PEM certificates accepted', () => {
  const raw = valid();
  raw.serverTrust = { thumbprints: [TEST_CERT_SHA1, 'E0 16 20 1F E1 10 B5 EF 55 A8 C9 FD 3F A6 17 A8 BB 8B D4 A8'], certificates: [TEST_CERT] };
  const c = parseCollectorConfig(raw);
  assert.deepEqual(c.serverTrust.thumbprints, ['e016201fe110b5ef55a8c9fd3fa617a8bb8bd4a8']);
  assert.equal(c.serverTrust.certificates.length, 1);
});

test('accessControl is allowed at the top level and ignored', () => {
  const raw = valid();
  raw.accessControl = DEFAULT_CONFIGURATION.accessControl;
  assert.doesNotThrow(() => parseCollectorConfig(raw));
  const nested = valid();
  nested.publish = { accessControl: {} };
  assert.deepEqual(issuesOf(nested).map((i) => i.path), ['/publish/accessControl']);
});

type Mutation = (c: ReturnType<typeof valid>) => void;
/** [what, mutation, expected path, a word the fix must contain] */
const REJECTED: [string, Mutation, string, string][] = [
  ['not an object', (c) => (c.tags = 'x'), '/tags', 'list'],
  ['no tags', (c) => (c.tags = []), '/tags', 'add'],
  ['missing endpointUrl', (c) => delete c.endpointUrl, '/endpointUrl', 'opc.tcp://'],
  ['missing credentialsSecretId', (c) => delete c.credentialsSecretId, '/credentialsSecretId', 'conduit/opcua-collector'],
  ['missing site', (c) => delete c.site, '/site', 'add site'],
  ['missing area', (c) => delete c.area, '/area', 'add area'],
  ['empty mappingVersion', (c) => (c.mappingVersion = ''), '/mappingVersion', 'e.g.'],
  ['missing mappingVersion', (c) => delete c.mappingVersion, '/mappingVersion', 'add mappingVersion'],
  ['duplicate tag name', (c) => (c.tags[2].name = 'vib01'), '/tags/2/name', 'own name'],
  ['duplicate nodeId', (c) => (c.tags[1].nodeId = 'ns=3;s=Line1.Vib01'), '/tags/1/nodeId', 'once'],
  ['duplicate numeric nodeId in another form', (c) => (c.tags[0].nodeId = 'ns=03;i=01002'), '/tags/1/nodeId', 'once'],
  ['NodeId without identifier type', (c) => (c.tags[0].nodeId = 'ns=3;Line1.Vib01'), '/tags/0/nodeId', 'ns=3;s='],
  ['NodeId numeric id not a number', (c) => (c.tags[0].nodeId = 'ns=3;i=abc'), '/tags/0/nodeId', 'ns='],
  ['NodeId bad GUID', (c) => (c.tags[0].nodeId = 'ns=3;g=1234'), '/tags/0/nodeId', 'ns='],
  ['NodeId bad namespace', (c) => (c.tags[0].nodeId = 'ns=70000;s=x'), '/tags/0/nodeId', 'ns='],
  ['endpoint http', (c) => (c.endpointUrl = 'http://plc:4840'), '/endpointUrl', 'opc.tcp://host:port'],
  ['endpoint without port', (c) => (c.endpointUrl = 'opc.tcp://plc.plant.local/UA'), '/endpointUrl', '4840'],
  ['endpoint port out of range', (c) => (c.endpointUrl = 'opc.tcp://plc:70000'), '/endpointUrl', 'port'],
  ['endpoint with credentials', (c) => (c.endpointUrl = 'opc.tcp://op:hunter2@plc:4840'), '/endpointUrl', 'credentialsSecretId'],
  ['securityMode None without allowInsecure', (c) => (c.securityMode = 'None'), '/allowInsecure', 'allowInsecure'],
  ['securityPolicy None without allowInsecure', (c) => ((c.securityMode = 'None'), (c.securityPolicy = 'None')), '/allowInsecure', 'allowInsecure'],
  ['Sign with policy None', (c) => ((c.securityMode = 'Sign'), (c.securityPolicy = 'None'), (c.allowInsecure = true)), '/securityPolicy', 'Basic256Sha256'],
  ['policy None with the default mode', (c) => ((c.securityPolicy = 'None'), (c.allowInsecure = true)), '/securityPolicy', 'securityMode'],
  ['mode None with a real policy', (c) => ((c.securityMode = 'None'), (c.securityPolicy = 'Basic256Sha256'), (c.allowInsecure = true)), '/securityPolicy', 'None'],
  ['unknown securityMode', (c) => (c.securityMode = 'signandencrypt'), '/securityMode', 'SignAndEncrypt'],
  ['empty serverTrust', (c) => (c.serverTrust = {}), '/serverTrust', 'copy the thumbprint the collector logs'],
  ['no serverTrust', (c) => delete c.serverTrust, '/serverTrust', 'copy the thumbprint the collector logs'],
  ['short thumbprint', (c) => (c.serverTrust.thumbprints = ['abcd']), '/serverTrust/thumbprints/0', 'copy the thumbprint'],
  ['SHA-256 thumbprint', (c) => (c.serverTrust.thumbprints = ['ab'.repeat(32)]), '/serverTrust/thumbprints/0', 'SHA-1'],
  ['garbage certificate', (c) => (c.serverTrust.certificates = ['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n']), '/serverTrust/certificates/0', 'BEGIN'],
  ['two certificates in one entry', (c) => (c.serverTrust.certificates = [TEST_CERT + TEST_CERT]), '/serverTrust/certificates/0', 'one PEM certificate per entry'],
  ['private key', (c) => (c.serverTrust.certificates = ['-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n']), '/serverTrust/certificates/0', 'remove the key'],
  ['rms window not a multiple', (c) => (c.tags[0].windowMs = 1050), '/tags/0/windowMs', 'multiple of 100, e.g. 1000'],
  ['rms window below the sampling interval', (c) => ((c.sampling = { intervalMs: 200 }), (c.tags[0].windowMs = 100)), '/tags/0/windowMs', 'multiple of 200'],
  ['rms window zero', (c) => (c.tags[0].windowMs = 0), '/tags/0/windowMs', 'between 1 and'],
  ['heartbeat on an rms tag', (c) => (c.tags[0].heartbeatMs = 1000), '/tags/0/heartbeatMs', 'remove it'],
  ['deadband missing', (c) => delete c.tags[1].deadband, '/tags/1/deadband', 'absolute'],
  ['deadband with both kinds', (c) => (c.tags[1].deadband = { absolute: 1, percent: 1 }), '/tags/1/deadband', 'exactly one'],
  ['deadband with neither kind', (c) => (c.tags[1].deadband = {}), '/tags/1/deadband', 'exactly one'],
  ['negative absolute deadband', (c) => (c.tags[1].deadband = { absolute: -1 }), '/tags/1/deadband/absolute', 'between 0 and'],
  ['percent above 100', (c) => (c.tags[1].deadband = { percent: 250 }), '/tags/1/deadband/percent', 'between 0 and 100'],
  ['percent zero', (c) => (c.tags[1].deadband = { percent: 0 }), '/tags/1/deadband/percent', 'e.g. 1'],
  ['range inverted', (c) => (c.tags[1].deadband = { percent: 1, rangeMin: 10, rangeMax: 10 }), '/tags/1/deadband/rangeMax', 'above rangeMin'],
  ['half a range', (c) => (c.tags[1].deadband = { percent: 1, rangeMin: 0 }), '/tags/1/deadband/rangeMax', 'both'],
  ['range with absolute', (c) => (c.tags[1].deadband = { absolute: 1, rangeMin: 0, rangeMax: 5 }), '/tags/1/deadband/rangeMin', 'percent'],
  ['deadband on a change tag', (c) => (c.tags[2].deadband = { absolute: 1 }), '/tags/2/deadband', 'remove it'],
  ['unknown mode', (c) => (c.tags[0].mode = 'RMS'), '/tags/0/mode', '"rms"'],
  ['alarm clearBelow above raiseAt', (c) => (c.tags[0].alarm = { on: 'rms', raiseAt: 5, clearBelow: 6 }), '/tags/0/alarm/clearBelow', 'at most 5'],
  ['alarm on rms for a deadband tag', (c) => (c.tags[1].alarm = { on: 'rms', raiseAt: 5, clearBelow: 4 }), '/tags/1/alarm/on', 'raw'],
  ['alarm without raiseAt', (c) => (c.tags[0].alarm = { on: 'rms', clearBelow: 4 }), '/tags/0/alarm/raiseAt', 'add raiseAt'],
  ['queueSize too small', (c) => (c.sampling = { queueSize: 19 }), '/sampling/queueSize', 'at least 20'],
  ['publishingInterval above the range', (c) => (c.sampling = { publishingIntervalMs: 2000 }), '/sampling/publishingIntervalMs', 'allowAnyPublishingInterval'],
  ['publishingInterval below the range', (c) => (c.sampling = { publishingIntervalMs: 200 }), '/sampling/publishingIntervalMs', 'between 500 and 1000'],
  ['publishingInterval under sampling, even with the override', (c) => (c.sampling = { intervalMs: 1000, publishingIntervalMs: 500, allowAnyPublishingInterval: true }), '/sampling/publishingIntervalMs', 'at least 1000'],
  ['publishingInterval past the hard limit', (c) => (c.sampling = { publishingIntervalMs: 20000, allowAnyPublishingInterval: true }), '/sampling/publishingIntervalMs', 'between 100 and 10000'],
  ['maxMessageBytes too small', (c) => (c.publish = { maxMessageBytes: 1000 }), '/publish/maxMessageBytes', 'between 1024 and 131072'],
  ['maxMessageBytes too large', (c) => (c.publish = { maxMessageBytes: 262144 }), '/publish/maxMessageBytes', 'between 1024 and 131072'],
  ['maxPublishesPerSecond 0', (c) => (c.publish = { maxPublishesPerSecond: 0 }), '/publish/maxPublishesPerSecond', 'between 1 and 100'],
  ['maxPublishesPerSecond 101', (c) => (c.publish = { maxPublishesPerSecond: 101 }), '/publish/maxPublishesPerSecond', 'between 1 and 100'],
  ['qos 2', (c) => (c.publish = { qos: 2 }), '/publish/qos', '0, 1'],
  ['rmsFields unknown', (c) => (c.publish = { rmsFields: ['rms', 'p99'] }), '/publish/rmsFields/1', '"peak"'],
  ['rmsFields repeated', (c) => (c.publish = { rmsFields: ['rms', 'rms'] }), '/publish/rmsFields/1', 'duplicate'],
  ['topic with unknown placeholder', (c) => (c.publish = { topic: 'conduit/{thing}/telemetry' }), '/publish/topic', '{thingName}'],
  ['topic with the recipe variable', (c) => (c.publish = { topic: 'conduit/{iot:thingName}/telemetry' }), '/publish/topic', 'write {thingName}'],
  ['topic with +', (c) => (c.publish = { topic: 'conduit/+/telemetry' }), '/publish/topic', 'one topic'],
  ['mapping topic with #', (c) => (c.publish = { mappingTopic: 'conduit/{thingName}/#' }), '/publish/mappingTopic', 'one topic'],
  ['topic starting with $', (c) => (c.publish = { topic: '$aws/things/{thingName}/telemetry' }), '/publish/topic', 'prefix'],
  ['topic with 8 slashes', (c) => (c.metrics = { topic: 'a/b/c/d/e/f/g/h/{thingName}' }), '/metrics/topic', 'at most 8 levels'],
  ['topic too long', (c) => (c.publish = { topic: `conduit/{thingName}/${'x'.repeat(120)}` }), '/publish/topic', 'shorten'],
  ['topic with an empty level', (c) => (c.publish = { topic: 'conduit//{thingName}' }), '/publish/topic', 'extra /'],
  ['metrics on the telemetry topic', (c) => (c.metrics = { topic: 'conduit/{thingName}/telemetry' }), '/metrics/topic', 'of their own'],
  ['site with a slash', (c) => (c.site = 'lyon/north'), '/site', 'letters'],
  ['reconnect max below initial', (c) => (c.reconnect = { initialDelayMs: 5000, maxDelayMs: 1000 }), '/reconnect/maxDelayMs', 'at least 5000'],
  ['watchdog shorter than two publishes', (c) => (c.watchdog = { noDataTimeoutMs: 1500 }), '/watchdog/noDataTimeoutMs', 'at least 2000'],
  ['logLevel unknown', (c) => (c.logLevel = 'verbose'), '/logLevel', '"debug"'],
  ['windowMs a fraction', (c) => (c.tags[0].windowMs = 1000.5), '/tags/0/windowMs', 'whole number'],
  ['tag that is not an object', (c) => c.tags.push('Vib02'), '/tags/3', 'object'],
];

for (const [what, mutate, path, fixWord] of REJECTED) {
  test(`rejected: ${what} at ${path}`, () => {
    const raw = valid();
    mutate(raw);
    const issues = issuesOf(raw);
    const hit = issues.find((i) => i.path === path);
    assert.ok(hit, `no issue at ${path}; got ${JSON.stringify(issues)}`);
    assert.ok(hit.fix.includes(fixWord), `fix "${hit.fix}" does not mention "${fixWord}"`);
    assert.equal(issues.length, 1, `expected exactly one issue, got ${JSON.stringify(issues)}`);
  });
}

test('several problems are reported at once, in document order, in one ConfigError', () => {
  const raw = valid();
  raw.samplingIntervalMS = 100;
  raw.tags[3] = { name: 'Vib02', nodeId: 'ns=3;s=Line1.Vib02', mode: 'rms', windowMs: 150 };
  raw.tags[1].deadband = { percent: 250 };
  raw.tags[2].name = 'VIB01';
  raw.publish = { maxMessageBytes: '500000' };
  let err: unknown;
  try {
    parseCollectorConfig(raw);
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof ConfigError);
  assert.equal(err.name, 'ConfigError');
  assert.deepEqual(
    err.issues.map((i) => i.path),
    ['/publish/maxMessageBytes', '/samplingIntervalMS', '/tags/1/deadband/percent', '/tags/2/name', '/tags/3/windowMs'],
  );
  for (const i of err.issues) assert.ok(err.message.includes(`${i.path}: ${i.message}. Fix: ${i.fix}`));
  assert.match(err.message, /5 problems/);
});

test('unknown keys are refused with "did you mean"', () => {
  const cases: [Mutation, string, string][] = [
    [(c) => (c.samplingIntervalMS = 100), '/samplingIntervalMS', 'did you mean "intervalMs" inside "sampling"'],
    [(c) => (c.endpointURL = c.endpointUrl), '/endpointURL', 'did you mean "endpointUrl"'],
    [(c) => (c.tags[1].heartbeat = 1000), '/tags/1/heartbeat', 'did you mean "heartbeatMs"'],
    [(c) => (c.publish = { maxMessageSize: 1024 }), '/publish/maxMessageSize', 'did you mean "maxMessageBytes"'],
    [(c) => (c.topic = 'x'), '/topic', 'publish.topic or metrics.topic'],
    [(c) => (c.sampling = { foo: 1 }), '/sampling/foo', 'allowed here are intervalMs'],
    [(c) => ((c.credentialsSecretID = c.credentialsSecretId), delete c.credentialsSecretId), '/credentialsSecretID', 'did you mean "credentialsSecretId"'],
  ];
  for (const [mutate, path, fix] of cases) {
    const raw = valid();
    mutate(raw);
    const issue = issuesOf(raw).find((i) => i.path === path);
    assert.ok(issue, `no issue at ${path}`);
    assert.ok(issue.fix.includes(fix), `${path}: "${issue.fix}" lacks "${fix}"`);
  }
});

test('secret-looking keys are refused anywhere and point to credentialsSecretId', () => {
  const cases: [Mutation, string][] = [
    [(c) => (c.password = 'hunter2'), '/password'],
    [(c) => (c.opcua = { userPassword: 'x' }), '/opcua/userPassword'],
    [(c) => (c.tags[0].apiToken = 'x'), '/tags/0/apiToken'],
    [(c) => (c.serverTrust.clientSecret = 'x'), '/serverTrust/clientSecret'],
    [(c) => (c.username = 'operator'), '/username'],
    [(c) => (c.credentials = { username: 'a', password: 'b' }), '/credentials'],
  ];
  for (const [mutate, path] of cases) {
    const raw = valid();
    mutate(raw);
    const issues = issuesOf(raw);
    const hit = issues.find((i) => i.path === path);
    assert.ok(hit, `${path}: ${JSON.stringify(issues)}`);
    assert.ok(hit.fix.includes('credentialsSecretId') && hit.fix.includes('Secrets Manager'));
    assert.ok(!JSON.stringify(issues).includes('hunter2'), 'a secret value must never be echoed');
  }
});

test('a configuration that is not an object is refused', () => {
  for (const raw of [null, 'x', [valid()], 42]) assert.equal(issuesOf(raw)[0]!.path, '');
});

test('ConfigError keeps its cause', () => {
  const cause = new Error('root');
  const e = new ConfigError([{ path: '/a', message: 'm', fix: 'f' }], { cause });
  assert.equal(e.cause, cause);
  assert.match(e.message, /1 problem\b/);
});

test('config.schema.json is the in-code schema (else run: npx tsx scripts/write-config-schema.ts)', () => {
  assert.equal(readFileSync(CONFIG_SCHEMA_FILE, 'utf8'), configSchemaText(), 'config.schema.json is stale: run npx tsx scripts/write-config-schema.ts');
});

test('every property of the schema has a description', () => {
  const missing: string[] = [];
  const walk = (node: { properties?: Record<string, { description?: string; type?: string }>; items?: unknown }, at: string) => {
    for (const [k, v] of Object.entries(node.properties ?? {})) {
      if (!v.description) missing.push(at + k);
      walk(v as never, `${at}${k}.`);
      if ((v as { items?: { type?: string } }).items?.type === 'object') walk((v as { items: never }).items, `${at}${k}[].`);
    }
  };
  walk(COLLECTOR_CONFIG_SCHEMA as never, '');
  assert.deepEqual(missing, []);
});

test('docs/configuration.md has one row per schema path', () => {
  const doc = readFileSync(join(ROOT, 'docs', 'configuration.md'), 'utf8');
  const rows = [...doc.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]!);
  assert.deepEqual([...rows].sort(), [...configSchemaPaths()].sort());
  assert.equal(new Set(rows).size, rows.length, 'a path is documented twice');
});

test('the recipe: identity, manifests, lifecycle, artifact and IPC policy', () => {
  assert.equal(RECIPE.RecipeFormatVersion, '2020-01-25');
  assert.equal(RECIPE.ComponentName, 'conduit.OpcUaCollector');
  assert.equal(RECIPE.ComponentVersion, '0.1.0');
  assert.equal(RECIPE.ComponentPublisher, 'conduit');
  assert.ok(RECIPE.ComponentDescription.length > 20);
  assert.deepEqual(
    RECIPE.Manifests.map((m: { Platform: unknown }) => m.Platform),
    [{ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'aarch64' }],
  );
  const [amd64, arm64] = RECIPE.Manifests;
  assert.deepEqual(arm64.Lifecycle, amd64.Lifecycle);
  // One bundle for both; each manifest downloads only its own architecture's aws-crt binary.
  assert.deepEqual(arm64.Artifacts, [amd64.Artifacts[0], { URI: 's3://BUCKET_NAME/conduit.OpcUaCollector/0.1.0/aws-crt-linux-arm64-glibc.zip', Unarchive: 'ZIP' }]);
  assert.equal(amd64.Lifecycle.Run, 'node --enable-source-maps {artifacts:decompressedPath}/opcua-collector/index.js');
  assert.equal(amd64.Lifecycle.Shutdown.Timeout, 15);
  assert.equal(amd64.Lifecycle.Setenv, undefined);
  assert.deepEqual(amd64.Artifacts, [
    { URI: 's3://BUCKET_NAME/conduit.OpcUaCollector/0.1.0/opcua-collector.zip', Unarchive: 'ZIP' },
    { URI: 's3://BUCKET_NAME/conduit.OpcUaCollector/0.1.0/aws-crt-linux-x64-glibc.zip', Unarchive: 'ZIP' },
  ]);
  const mqtt = DEFAULT_CONFIGURATION.accessControl['aws.greengrass.ipc.mqttproxy'];
  assert.deepEqual(Object.keys(DEFAULT_CONFIGURATION.accessControl), ['aws.greengrass.ipc.mqttproxy', 'aws.greengrass.ipc.pubsub', 'aws.greengrass.SecretManager']);
  // GetSecretValue on one placeholder ARN that the deployment replaces (test/unit/templates.test.ts checks the template).
  assert.deepEqual(DEFAULT_CONFIGURATION.accessControl['aws.greengrass.SecretManager'], {
    'conduit.OpcUaCollector:secrets:1': {
      policyDescription: "Read the OPC UA user's secret (credentialsSecretId) from aws.greengrass.SecretManager.",
      operations: ['aws.greengrass#GetSecretValue'],
      resources: ['arn:aws:secretsmanager:REGION:ACCOUNT_ID:secret:SET-IN-DEPLOYMENT'],
    },
  });
  assert.deepEqual(Object.keys(mqtt), ['conduit.OpcUaCollector:mqttproxy:1']);
  const policy = mqtt['conduit.OpcUaCollector:mqttproxy:1'];
  assert.deepEqual(policy.operations, ['aws.greengrass#PublishToIoTCore']);
  assert.deepEqual(policy.resources, [
    'conduit/{iot:thingName}/telemetry',
    'conduit/{iot:thingName}/mapping',
    'conduit/{iot:thingName}/metrics',
    'conduit/{iot:thingName}/alarms',
    'conduit/{iot:thingName}/config-audit',
  ]);
  // The policy covers exactly the default topics, with the thing name in place of the placeholder.
  const c = parseCollectorConfig(DEFAULT_CONFIGURATION);
  assert.deepEqual(
    [c.publish.topic, c.publish.mappingTopic, c.metrics.topic, c.burst.alarmTopic, c.publish.auditTopic].map((t) => t.replace('{thingName}', '{iot:thingName}')),
    policy.resources,
  );
  // Local pub/sub: publish only to the sink's put topic, subscribe only to its ack topic.
  const pubsub = DEFAULT_CONFIGURATION.accessControl['aws.greengrass.ipc.pubsub'];
  assert.deepEqual(
    Object.values(pubsub).map((p: any) => [p.operations, p.resources]),
    [
      [['aws.greengrass#PublishToTopic'], [c.burst.sinkTopic]],
      [['aws.greengrass#SubscribeToTopic'], [c.burst.sinkAckTopic]],
    ],
  );
  assert.deepEqual(RECIPE.ComponentDependencies['conduit.FirehoseSink'].DependencyType, 'SOFT');
});

test('the recipe Install step refuses a Node.js older than 20 with a message on stderr', () => {
  const script: string = RECIPE.Manifests[0].Lifecycle.Install;
  const dir = mkdtempSync(join(tmpdir(), 'conduit-install-'));
  try {
    const ok = spawnSync('sh', ['-c', script], { encoding: 'utf8', env: { PATH: `${join(process.execPath, '..')}:/usr/bin:/bin` } });
    assert.equal(ok.status, 0, ok.stderr);
    writeFileSync(join(dir, 'node'), '#!/bin/sh\necho v18.19.0\n');
    chmodSync(join(dir, 'node'), 0o755);
    const old = spawnSync('sh', ['-c', script], { encoding: 'utf8', env: { PATH: `${dir}:/usr/bin:/bin` } });
    assert.equal(old.status, 1);
    assert.match(old.stderr, /needs Node\.js 20 or later, found v18\.19\.0/);
    const none = spawnSync('/bin/sh', ['-c', script], { encoding: 'utf8', env: { PATH: dir + '/absent' } });
    assert.equal(none.status, 1);
    assert.match(none.stderr, /no node was found/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('allowedEndpoints: an endpointUrl outside it is refused with the list and the fix; host case and port form do not matter', () => {
  const ok = { ...valid(), allowedEndpoints: ['PLC.plant.local:4840', 'plc2.plant.local:4841'] };
  assert.deepEqual(parseCollectorConfig(ok).allowedEndpoints, ['plc.plant.local:4840', 'plc2.plant.local:4841']);
  const outside = { ...valid(), endpointUrl: 'opc.tcp://rogue.example.com:4840', allowedEndpoints: ['plc.plant.local:4840'] };
  const [issue] = issuesOf(outside);
  assert.equal(issue!.path, '/endpointUrl');
  assert.match(issue!.message, /rogue\.example\.com:4840, which is not in allowedEndpoints \(plc\.plant\.local:4840\)/);
  assert.match(issue!.fix, /OT network team/);
  assert.deepEqual(issuesOf({ ...valid(), allowedEndpoints: ['plc.plant.local'] }).map((i) => i.path), ['/allowedEndpoints/0', '/endpointUrl']);
  assert.deepEqual(parseCollectorConfig(valid()).allowedEndpoints, [], 'absent: no restriction');
});

test('mode defaults to active; shadow is accepted; anything else names the choices', () => {
  assert.equal(parseCollectorConfig(valid()).mode, 'active');
  assert.equal(parseCollectorConfig({ ...valid(), mode: 'shadow' }).mode, 'shadow');
  const [issue] = issuesOf({ ...valid(), mode: 'dry-run' });
  assert.equal(issue!.path, '/mode');
  assert.match(issue!.fix, /active|shadow/);
});
