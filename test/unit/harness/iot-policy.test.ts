// The IoT policy evaluator used to check docs/templates/iot-policy.json: its rules, one by one, on
// small policies, including why a thing policy variable refuses the nucleus's second connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateIotPolicies, iotArns, nucleusClientIds, type IotConnection, type IotPolicyDocument, type IotRequest } from '../../harness/aws/iot-policy';

const arn = iotArns('eu-west-1', '111122223333');
const policy = (...Statement: IotPolicyDocument['Statement']): IotPolicyDocument => ({ Version: '2012-10-17', Statement });
const conn = (clientId: string, thing?: string, exclusive?: boolean): IotConnection => ({ clientId, thing: thing === undefined ? undefined : { name: thing, exclusive } });
const connect = (c: IotConnection): IotRequest => ({ action: 'iot:Connect', resource: arn.client(c.clientId), connection: c });
const publish = (topic: string, c: IotConnection): IotRequest => ({ action: 'iot:Publish', resource: arn.topic(topic), connection: c });

test('nothing is allowed without an Allow; an explicit Deny wins over any Allow, in any policy', () => {
  const allow = policy({ Effect: 'Allow', Action: 'iot:Connect', Resource: arn.client('a') });
  const deny = policy({ Effect: 'Deny', Action: ['iot:Connect'], Resource: [arn.client('a')] });
  assert.equal(evaluateIotPolicies([], connect(conn('a'))), 'implicit-deny');
  assert.equal(evaluateIotPolicies([allow], connect(conn('a'))), 'allow');
  assert.equal(evaluateIotPolicies([allow], connect(conn('b'))), 'implicit-deny');
  assert.equal(evaluateIotPolicies([allow, deny], connect(conn('a'))), 'explicit-deny');
  assert.equal(evaluateIotPolicies([deny, allow], connect(conn('a'))), 'explicit-deny');
});

test('actions match case-insensitively, with * ; an action other than the one named is not allowed', () => {
  const p = policy({ Effect: 'Allow', Action: ['IOT:publish'], Resource: arn.topic('t') }, { Effect: 'Allow', Action: 'iot:Sub*', Resource: arn.topicFilter('t') });
  assert.equal(evaluateIotPolicies([p], publish('t', conn('a'))), 'allow');
  assert.equal(evaluateIotPolicies([p], { action: 'iot:Subscribe', resource: arn.topicFilter('t'), connection: conn('a') }), 'allow');
  assert.equal(evaluateIotPolicies([p], { action: 'iot:Receive', resource: arn.topic('t'), connection: conn('a') }), 'implicit-deny');
  assert.equal(evaluateIotPolicies([p], { action: 'iot:RetainPublish', resource: arn.topic('t'), connection: conn('a') }), 'implicit-deny');
});

test('resources: * is any run of characters (also none), ? exactly one, + and # are literal, case counts', () => {
  const p = policy({ Effect: 'Allow', Action: 'iot:Publish', Resource: [arn.topic('a/*/c'), arn.topic('d?'), arn.topic('e/+'), arn.topic('f/#')] });
  const ok = (t: string) => evaluateIotPolicies([p], publish(t, conn('x')));
  assert.equal(ok('a/b/c'), 'allow');
  assert.equal(ok('a/b/b/c'), 'allow', '* crosses /');
  assert.equal(ok('a//c'), 'allow', '* matches nothing too');
  assert.equal(ok('A/b/c'), 'implicit-deny');
  assert.equal(ok('d1'), 'allow');
  assert.equal(ok('d'), 'implicit-deny');
  assert.equal(ok('d12'), 'implicit-deny');
  assert.equal(ok('e/+'), 'allow');
  assert.equal(ok('e/x'), 'implicit-deny', '+ is no MQTT wildcard in a policy');
  assert.equal(ok('f/x'), 'implicit-deny', '# is no MQTT wildcard in a policy');
  assert.equal(ok('f/#'), 'allow');
  // The resource type is part of the ARN: a topic grant is no topic filter grant.
  assert.equal(evaluateIotPolicies([p], { action: 'iot:Publish', resource: arn.topicFilter('a/b/c'), connection: conn('x') }), 'implicit-deny');
});

test('${iot:ClientId} is the connection\'s client id, and taken literally (a client id holding * is no wildcard)', () => {
  const p = policy({ Effect: 'Allow', Action: 'iot:Publish', Resource: arn.topic('dev/${iot:ClientId}/up') });
  assert.equal(evaluateIotPolicies([p], publish('dev/c1/up', conn('c1'))), 'allow');
  assert.equal(evaluateIotPolicies([p], publish('dev/c2/up', conn('c1'))), 'implicit-deny');
  assert.equal(evaluateIotPolicies([p], publish('dev/anything/up', conn('*'))), 'implicit-deny');
  assert.equal(evaluateIotPolicies([p], publish('dev/*/up', conn('*'))), 'allow');
  const lit = policy({ Effect: 'Allow', Action: 'iot:Publish', Resource: arn.topic('x/${*}/${?}/${$}') });
  assert.equal(evaluateIotPolicies([lit], publish('x/*/?/$', conn('c'))), 'allow');
  assert.equal(evaluateIotPolicies([lit], publish('x/a/b/$', conn('c'))), 'implicit-deny');
});

test('${iot:Connection.Thing.ThingName} resolves only for the client id equal to the attached thing (or an exclusive attachment); unresolved, its statement neither allows nor denies', () => {
  const p = policy(
    { Effect: 'Allow', Action: 'iot:Connect', Resource: arn.client('${iot:Connection.Thing.ThingName}') },
    { Effect: 'Allow', Action: 'iot:Publish', Resource: arn.topic('conduit/${iot:Connection.Thing.ThingName}/telemetry') },
  );
  // The nucleus's first connection resolves it; its second (gw-1#2) does not, so the publishes the
  // nucleus sends over it are refused: the NOT_AUTHORIZED PUBACK the issue describes.
  assert.equal(evaluateIotPolicies([p], connect(conn('gw-1', 'gw-1'))), 'allow');
  assert.equal(evaluateIotPolicies([p], publish('conduit/gw-1/telemetry', conn('gw-1', 'gw-1'))), 'allow');
  assert.equal(evaluateIotPolicies([p], connect(conn('gw-1#2', 'gw-1'))), 'implicit-deny');
  assert.equal(evaluateIotPolicies([p], publish('conduit/gw-1/telemetry', conn('gw-1#2', 'gw-1'))), 'implicit-deny');
  // No thing attached: never resolves.
  assert.equal(evaluateIotPolicies([p], connect(conn('gw-1'))), 'implicit-deny');
  // With an exclusive attachment the certificate names the thing whatever the client id.
  assert.equal(evaluateIotPolicies([p], publish('conduit/gw-1/telemetry', conn('gw-1#2', 'gw-1', true))), 'allow');
  assert.equal(evaluateIotPolicies([p], connect(conn('gw-1#2', 'gw-1', true))), 'implicit-deny', 'the client id is still not the thing name');
  // An unresolved variable voids a Deny too, and the whole statement, not just that resource.
  const deny = policy(
    { Effect: 'Allow', Action: 'iot:Publish', Resource: arn.topic('t') },
    { Effect: 'Deny', Action: 'iot:Publish', Resource: [arn.topic('t'), arn.topic('${iot:Connection.Thing.ThingName}')] },
  );
  assert.equal(evaluateIotPolicies([deny], publish('t', conn('c', 'gw-1'))), 'allow');
  assert.equal(evaluateIotPolicies([deny], publish('t', conn('gw-1', 'gw-1'))), 'explicit-deny');
});

test('what the evaluator does not model is refused, not guessed', () => {
  const withCondition = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'iot:Connect', Resource: arn.client('a'), Condition: {} }] } as unknown as IotPolicyDocument;
  assert.throws(() => evaluateIotPolicies([withCondition], connect(conn('a'))), /Condition is not modelled/);
  const notResource = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'iot:Connect', NotResource: arn.client('a') }] } as unknown as IotPolicyDocument;
  assert.throws(() => evaluateIotPolicies([notResource], connect(conn('a'))), /NotResource is not modelled/);
  const otherVar = policy({ Effect: 'Allow', Action: 'iot:Connect', Resource: arn.client('${iot:Certificate.Subject.CommonName}') });
  assert.throws(() => evaluateIotPolicies([otherVar], connect(conn('a'))), /not modelled/);
  assert.throws(() => evaluateIotPolicies([{ Version: '2008-10-17', Statement: [] }], connect(conn('a'))), /Version/);
});

test("the nucleus's client ids: the thing name, then #2, #3, …; thing names are 1-128 of a-z A-Z 0-9 : _ -", () => {
  assert.deepEqual(nucleusClientIds('gw-1', 3), ['gw-1', 'gw-1#2', 'gw-1#3']);
  assert.deepEqual(nucleusClientIds('plant:lyon_1', 1), ['plant:lyon_1']);
  for (const bad of ['', 'gw#1', 'gw/1', 'gw 1', 'gw.1', 'x'.repeat(129)]) assert.throws(() => nucleusClientIds(bad, 1), /not a valid thing name/, bad);
  assert.throws(() => nucleusClientIds('x'.repeat(127), 2), /longer than 128 bytes/);
});
