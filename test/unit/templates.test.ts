// The deployment, IAM, IoT policy and secret templates in docs/templates, and the recipes' access
// control: least privilege that a reviewer can check by reading. No `*` in any Action or Resource (one
// exception, named below, that the nucleus's extra MQTT connections need), no MQTT wildcard in any
// topic, every name consistent across templates and with the components' defaults, the IoT policy
// evaluated against the connections a core really opens, and the configuration each template deploys
// is accepted by the component's own parser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { REPO_ROOT } from '../../scripts/build';
import { parseCollectorConfig } from '../../components/opcua-collector/src/config';
import { evaluateIotPolicies, iotArns, nucleusClientIds, type IotConnection, type IotPolicyDocument } from '../harness/aws/iot-policy';

const TEMPLATES = join(REPO_ROOT, 'docs', 'templates');
const load = (f: string) => JSON.parse(readFileSync(join(TEMPLATES, f), 'utf8'));
const recipe = (f: string) => parseYaml(readFileSync(join(REPO_ROOT, 'recipes', f), 'utf8'));

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string>>;
}
const list = (x: string | string[]) => (Array.isArray(x) ? x : [x]);

/** The core device the IoT policy template is written for (one policy per core device). */
const IOT_POLICY_THING = 'lyon-line-1-gw';
/**
 * The one wildcard allowed in any template: the nucleus connects as `<thing>`, then `<thing>#2`,
 * `<thing>#3`, … (one more connection per 50 subscriptions, MqttClient.java), and thing names cannot
 * contain `#`, so `client/<thing>#*` matches this core's extra connections and no other thing's
 * client id. (The Greengrass guide's `client/<thing>*` would also let this certificate connect as
 * `<thing>0`, another core, and take over its session.)
 */
const NUCLEUS_EXTRA_CONNECTIONS = `arn:aws:iot:eu-west-1:111122223333:client/${IOT_POLICY_THING}#*`;

function checkPolicy(file: string, allowedWildcards: string[] = []): Statement[] {
  const policy = load(file);
  assert.equal(policy.Version, '2012-10-17');
  const statements: Statement[] = policy.Statement;
  assert.ok(statements.length > 0);
  for (const s of statements) {
    assert.equal(s.Effect, 'Allow');
    for (const a of list(s.Action)) assert.ok(!a.includes('*'), `${file}: wildcard Action ${a}`);
    for (const r of list(s.Resource)) {
      assert.ok(r.startsWith('arn:aws:'), `${file}: ${r} is an ARN`);
      if (allowedWildcards.includes(r)) continue;
      assert.ok(!r.includes('*'), `${file}: wildcard Resource ${r}`);
      assert.ok(!/[+#?]/.test(r), `${file}: wildcard in ${r}`);
    }
    assert.equal((s as unknown as Record<string, unknown>).NotResource, undefined);
    assert.equal((s as unknown as Record<string, unknown>).NotAction, undefined);
  }
  return statements;
}

test('every template parses, and none holds a * anywhere', () => {
  const files = readdirSync(TEMPLATES).filter((f) => f.endsWith('.json'));
  assert.deepEqual(files.sort(), ['deployment.json', 'iot-policy.json', 'opcua-secret.json', 'token-exchange-role-policy.json']);
  for (const f of files) {
    const text = readFileSync(join(TEMPLATES, f), 'utf8');
    JSON.parse(text);
    const allowed = f === 'iot-policy.json' ? [NUCLEUS_EXTRA_CONNECTIONS] : [];
    assert.equal(allowed.filter((a) => text.includes(JSON.stringify(a))).length, allowed.length, `${f} names ${allowed.join(', ')}`);
    const rest = allowed.reduce((t, a) => t.split(JSON.stringify(a)).join('""'), text);
    assert.ok(!rest.includes('*'), `${f} holds a *`);
  }
});

test('the token exchange role reads the one secret and writes the one delivery stream the deployment names', () => {
  const statements = checkPolicy('token-exchange-role-policy.json');
  const actions = statements.flatMap((s) => list(s.Action)).sort();
  assert.deepEqual(actions, ['firehose:PutRecordBatch', 'kms:Decrypt', 's3:GetObject', 'secretsmanager:GetSecretValue']);
  const deployment = load('deployment.json');
  const collector = JSON.parse(deployment.components['conduit.OpcUaCollector'].configurationUpdate.merge);
  const sink = JSON.parse(deployment.components['conduit.FirehoseSink'].configurationUpdate.merge);
  const resourcesOf = (action: string) => statements.filter((s) => list(s.Action).includes(action)).flatMap((s) => list(s.Resource));
  const [secretArn] = resourcesOf('secretsmanager:GetSecretValue');
  // Secrets Manager ARNs end in the name plus a 6-character suffix AWS adds.
  assert.match(secretArn!, new RegExp(`:secret:${collector.credentialsSecretId}-[A-Za-z0-9]{6}$`));
  // kms:Decrypt only for a secret under a customer-managed key: one key ARN (no alias, no wildcard),
  // only through Secrets Manager in the Region, only for this secret (Secrets Manager's encryption
  // context names the secret's ARN).
  const kms = statements.filter((s) => list(s.Action).includes('kms:Decrypt'));
  assert.equal(kms.length, 1);
  assert.match(list(kms[0]!.Resource).join(), /^arn:aws:kms:eu-west-1:111122223333:key\/[0-9a-f-]{36}$/);
  assert.deepEqual(kms[0]!.Condition, {
    StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com', 'kms:EncryptionContext:SecretARN': secretArn },
  });
  for (const s of statements) if (s !== kms[0]) assert.equal(s.Condition, undefined);
  assert.deepEqual(resourcesOf('firehose:PutRecordBatch'), [`arn:aws:firehose:eu-west-1:111122223333:deliverystream/${sink.deliveryStreamName}`]);
  assert.equal(load('opcua-secret.json').Name, collector.credentialsSecretId);
  // The artifacts the role may download are exactly those the recipes name, at their versions.
  const artifacts = ['conduit.OpcUaCollector.yaml', 'conduit.FirehoseSink.yaml'].flatMap((f) => {
    const r = recipe(f);
    const files = new Set<string>(r.Manifests.flatMap((m: { Artifacts: { URI: string }[] }) => m.Artifacts.map((a) => a.URI.split('/').at(-1)!)));
    return [...files].map((file) => `${r.ComponentName}/${r.ComponentVersion}/${file}`);
  });
  assert.equal(artifacts.length, 6, 'two bundles and each one\'s two aws-crt binaries');
  assert.deepEqual(resourcesOf('s3:GetObject').map((r) => r.split('/').slice(1).join('/')).sort(), artifacts.sort());
});

test("the IoT policy allows publishing exactly the components' default topics, for this device only", () => {
  const statements = checkPolicy('iot-policy.json', [NUCLEUS_EXTRA_CONNECTIONS]);
  const topics = statements
    .filter((s) => list(s.Action).includes('iot:Publish'))
    .flatMap((s) => list(s.Resource))
    .map((r) => r.split(':topic/')[1]!.split(`/${IOT_POLICY_THING}/`).join('/{thingName}/'));
  const c = parseCollectorConfig({ ...recipe('conduit.OpcUaCollector.yaml').ComponentConfiguration.DefaultConfiguration });
  const sinkMetrics = recipe('conduit.FirehoseSink.yaml').ComponentConfiguration.DefaultConfiguration.metrics?.topic ?? 'conduit/{thingName}/sink/metrics';
  assert.deepEqual(topics.sort(), [c.publish.topic, c.publish.mappingTopic, c.metrics.topic, c.burst.alarmTopic, c.publish.auditTopic, sinkMetrics].sort());
});

test("the recipes' accessControl names exact topics: no wildcard resource, no wildcard operation", () => {
  for (const f of readdirSync(join(REPO_ROOT, 'recipes'))) {
    const ac = recipe(f).ComponentConfiguration.DefaultConfiguration.accessControl as Record<string, Record<string, { operations: string[]; resources: string[] }>>;
    assert.ok(Object.keys(ac).length > 0, `${f} has accessControl`);
    for (const [service, policies] of Object.entries(ac)) {
      for (const [id, p] of Object.entries(policies)) {
        for (const op of p.operations) assert.ok(!op.includes('*'), `${f} ${service} ${id}: operation ${op}`);
        for (const r of p.resources) assert.ok(!/[*+#]/.test(r), `${f} ${service} ${id}: resource ${r}`);
      }
    }
  }
});

test('the deployment sets up the disk spooler, thing-name interpolation, and a collector configuration the collector accepts', () => {
  const d = load('deployment.json');
  assert.match(d.targetArn, /^arn:aws:iot:[a-z0-9-]+:\d{12}:thinggroup\/[A-Za-z0-9_.:-]+$/);
  const nucleus = JSON.parse(d.components['aws.greengrass.Nucleus'].configurationUpdate.merge);
  assert.equal(nucleus.interpolateComponentConfiguration, true);
  assert.deepEqual(
    { storageType: nucleus.mqtt.spooler.storageType, pluginName: nucleus.mqtt.spooler.pluginName },
    { storageType: 'Disk', pluginName: 'aws.greengrass.DiskSpooler' },
  );
  assert.ok(nucleus.mqtt.spooler.maxSizeInBytes >= 1024 * 1024 * 1024);
  // The nucleus reads maxPublishRetry from `mqtt` (MqttClient.java); the spooler knows only its four
  // keys (Spool.java), so a maxPublishRetry under spooler is silently ignored.
  assert.equal(nucleus.mqtt.maxPublishRetry, -1, 'unlimited retries of QoS 1 publishes');
  assert.deepEqual(Object.keys(nucleus.mqtt.spooler).sort(), ['keepQos0WhenOffline', 'maxSizeInBytes', 'pluginName', 'storageType']);
  assert.ok(d.components['aws.greengrass.DiskSpooler']);
  // Deployment MERGE onto the recipe's defaults, as the nucleus does (tags replaced as a whole).
  const defaults = recipe('conduit.OpcUaCollector.yaml').ComponentConfiguration.DefaultConfiguration;
  const merged = { ...defaults, ...JSON.parse(d.components['conduit.OpcUaCollector'].configurationUpdate.merge) };
  const c = parseCollectorConfig(merged);
  assert.ok(c.tags.some((t) => t.alarm), 'the example shows an alarm (and so a capture) too');
  for (const name of ['conduit.OpcUaCollector', 'conduit.FirehoseSink']) {
    const r = recipe(`${name}.yaml`);
    assert.equal(d.components[name].componentVersion, r.ComponentVersion);
  }
});

/** The IoT policy template written for `thing` (the template names IOT_POLICY_THING). */
function iotPolicyFor(thing: string): IotPolicyDocument {
  const text = readFileSync(join(TEMPLATES, 'iot-policy.json'), 'utf8');
  assert.ok(text.includes(`client/${IOT_POLICY_THING}"`));
  return JSON.parse(text.split(IOT_POLICY_THING).join(thing));
}

test("the IoT policy lets every connection the nucleus opens for its thing connect and publish conduit's topics, and nothing else", () => {
  const arn = iotArns('eu-west-1', '111122223333');
  const topics = ['telemetry', 'mapping', 'metrics', 'alarms', 'config-audit', 'sink/metrics'];
  for (const thing of ['gw-1', IOT_POLICY_THING, 'plant:lyon_line-1']) {
    const policies = [iotPolicyFor(thing)];
    const decide = (action: Parameters<typeof evaluateIotPolicies>[1]['action'], resource: string, connection: IotConnection) =>
      evaluateIotPolicies(policies, { action, resource, connection });
    const ids = nucleusClientIds(thing, 5);
    assert.deepEqual(ids, [thing, `${thing}#2`, `${thing}#3`, `${thing}#4`, `${thing}#5`]);
    for (const clientId of ids) {
      const c: IotConnection = { clientId, thing: { name: thing } };
      assert.equal(decide('iot:Connect', arn.client(clientId), c), 'allow', `${clientId} connects`);
      for (const t of topics) assert.equal(decide('iot:Publish', arn.topic(`conduit/${thing}/${t}`), c), 'allow', `${clientId} publishes ${t}`);
      assert.equal(decide('iot:RetainPublish', arn.topic(`conduit/${thing}/mapping`), c), 'allow');
      assert.equal(decide('iot:RetainPublish', arn.topic(`conduit/${thing}/telemetry`), c), 'implicit-deny');
      // Nothing but conduit's topics of this thing.
      assert.equal(decide('iot:Publish', arn.topic(`conduit/${thing}/other`), c), 'implicit-deny');
      assert.equal(decide('iot:Publish', arn.topic(`conduit/${thing}`), c), 'implicit-deny');
      assert.equal(decide('iot:Subscribe', arn.topicFilter(`conduit/${thing}/telemetry`), c), 'implicit-deny');
      assert.equal(decide('iot:Receive', arn.topic(`conduit/${thing}/telemetry`), c), 'implicit-deny');
    }
  }
  // Another core, including one whose name starts with this one's: its policy is not this one, and
  // this certificate cannot connect under its client ids (which would end that core's session) nor
  // publish its topics.
  const policies = [iotPolicyFor('gw-1')];
  for (const other of ['gw-10', 'gw-2', 'gw', 'gw-1-b', 'xgw-1']) {
    for (const clientId of nucleusClientIds(other, 5)) {
      const c: IotConnection = { clientId, thing: { name: 'gw-1' } };
      assert.equal(evaluateIotPolicies(policies, { action: 'iot:Connect', resource: arn.client(clientId), connection: c }), 'implicit-deny', clientId);
    }
    const c: IotConnection = { clientId: 'gw-1#2', thing: { name: 'gw-1' } };
    assert.equal(evaluateIotPolicies(policies, { action: 'iot:Publish', resource: arn.topic(`conduit/${other}/telemetry`), connection: c }), 'implicit-deny', other);
  }
  // Another thing's certificate carrying its own copy of the template cannot act as gw-1.
  const other = [iotPolicyFor('gw-10')];
  const c10: IotConnection = { clientId: 'gw-10#2', thing: { name: 'gw-10' } };
  assert.equal(evaluateIotPolicies(other, { action: 'iot:Connect', resource: arn.client('gw-1'), connection: c10 }), 'implicit-deny');
  assert.equal(evaluateIotPolicies(other, { action: 'iot:Publish', resource: arn.topic('conduit/gw-1/telemetry'), connection: c10 }), 'implicit-deny');
  assert.equal(evaluateIotPolicies(other, { action: 'iot:Connect', resource: arn.client('gw-10#2'), connection: c10 }), 'allow');
  // Thing names cannot hold `#`, which is what keeps `<thing>#*` to this core's own connections.
  assert.throws(() => nucleusClientIds('gw-1#2', 1), /not a valid thing name/);
});

test('the collector reads its secret through aws.greengrass.SecretManager: HARD dependency, one exact ARN in cloudSecrets, accessControl and the role', () => {
  const r = recipe('conduit.OpcUaCollector.yaml');
  assert.equal(r.ComponentDependencies['aws.greengrass.SecretManager']?.DependencyType, 'HARD');
  // GetSecretValue's refresh (a rotation without a restart) needs SecretManager 2.2.0 or later.
  assert.equal(r.ComponentDependencies['aws.greengrass.SecretManager']?.VersionRequirement, '^2.2.0');
  const defaults = r.ComponentConfiguration.DefaultConfiguration;
  const policies = defaults.accessControl['aws.greengrass.SecretManager'] as Record<string, { operations: string[]; resources: string[] }>;
  assert.deepEqual(Object.keys(policies), ['conduit.OpcUaCollector:secrets:1']);
  assert.deepEqual(policies['conduit.OpcUaCollector:secrets:1']!.operations, ['aws.greengrass#GetSecretValue']);

  const d = load('deployment.json');
  const sm = d.components['aws.greengrass.SecretManager'];
  assert.ok(sm, 'the deployment includes aws.greengrass.SecretManager');
  assert.match(sm.componentVersion, /^2\.(2|[3-9]|\d\d)\.\d+$/);
  const cloudSecrets: { arn: string }[] = JSON.parse(sm.configurationUpdate.merge).cloudSecrets;
  const collector = JSON.parse(d.components['conduit.OpcUaCollector'].configurationUpdate.merge);
  // MERGE onto the recipe's policy: the deployment replaces the placeholder resource, keeps the operation.
  const granted: string[] = collector.accessControl['aws.greengrass.SecretManager']['conduit.OpcUaCollector:secrets:1'].resources;
  assert.equal(cloudSecrets.length, 1);
  const arn = cloudSecrets[0]!.arn;
  assert.deepEqual(granted, [arn], 'accessControl grants exactly the ARN that SecretManager keeps');
  for (const a of [arn, ...granted]) {
    assert.ok(!/[*?]/.test(a), `no wildcard in ${a}`);
    // A full ARN (the name plus AWS's 6-character suffix) of the secret the collector is configured with.
    assert.match(a, new RegExp(`^arn:aws:secretsmanager:[a-z0-9-]+:\\d{12}:secret:${collector.credentialsSecretId}-[A-Za-z0-9]{6}$`));
  }
  const role = checkPolicy('token-exchange-role-policy.json');
  assert.deepEqual(role.filter((s) => list(s.Action).includes('secretsmanager:GetSecretValue')).flatMap((s) => list(s.Resource)), [arn], 'the role lets SecretManager fetch that ARN');
  // The recipe's default is a placeholder that matches no secret, not a wildcard.
  assert.deepEqual(policies['conduit.OpcUaCollector:secrets:1']!.resources, ['arn:aws:secretsmanager:REGION:ACCOUNT_ID:secret:SET-IN-DEPLOYMENT']);
  // The deployed collector uses the device copy (the default source).
  const merged = parseCollectorConfig({ ...defaults, ...collector });
  assert.equal(merged.credentialsSource, 'greengrass');
});
