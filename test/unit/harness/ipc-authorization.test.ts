// The IPC server's policy matcher on its own: resource patterns in both lookup styles, escapes,
// patterns the nucleus refuses, and how policies are found per component and destination.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  AuthorizationTable,
  InvalidResourcePatternError,
  readAccessControl,
  ResourcePattern,
  type ResourceLookupPolicy,
} from '../../harness/ipc/authorization';

/** [pattern, resource, matches?] per style. */
const CASES: Record<ResourceLookupPolicy, [string, string, boolean][]> = {
  MQTT_STYLE: [
    ['a/b', 'a/b', true],
    ['a/b', 'a/bc', false],
    ['a/+', 'a/b', true],
    ['a/+', 'a/', true],
    ['a/+', 'a/b/c', false],
    ['+/b', 'x/b', true],
    ['+', 'anything', true],
    ['+', 'a/b', false],
    ['a/+/c', 'a/b/c', true],
    ['a/+/c', 'a/b/x/c', false],
    ['a/#', 'a', true],
    ['a/#', 'a/', true],
    ['a/#', 'a/b/c', true],
    ['a/#', 'ab', false],
    ['#', 'a/b', true],
    ['a/+/#', 'a/b', true],
    ['a/+/#', 'a/b/c/d', true],
    ['a/+/#', 'a', false],
    // Misplaced MQTT wildcards are plain characters.
    ['a+/b', 'a+/b', true],
    ['a+/b', 'ax/b', false],
    ['a/b#', 'a/b#', true],
    ['a/b#', 'a/bx', false],
    ['a/#/c', 'a/#/c', true],
    ['a/#/c', 'a/x/c', false],
    // `*` is any run of characters, `/` included, in both styles.
    ['a/*', 'a/b/c', true],
    ['*/telemetry', 'plant/L1/telemetry', true],
    ['a*c', 'abbbc', true],
    ['a*c', 'abbb', false],
    ['*', '', true],
    // The requested filter is matched as a string.
    ['a/#', 'a/#', true],
    ['a/*', 'a/+', true],
    ['a/b', 'a/+', false],
    // Escapes stand for the literal character.
    ['a/${*}', 'a/*', true],
    ['a/${*}', 'a/b', false],
    ['${$}{x}', '${x}', true],
    ['what${?}', 'what?', true],
  ],
  STANDARD: [
    ['local/*', 'local/a/b', true],
    ['local/*', 'localx', false],
    ['local/+', 'local/+', true],
    ['local/+', 'local/x', false],
    ['local/#', 'local/#', true],
    ['local/#', 'local', false],
    ['local/#', 'local/x', false],
    ['#', 'x', false],
    ['arn:aws:secretsmanager:*:secret:db-*', 'arn:aws:secretsmanager:eu-west-1:1:secret:db-AbC', true],
    ['a${*}b', 'a*b', true],
    ['a${*}b', 'axb', false],
    ['*a*a*a*a*a*a*b', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', false],
  ],
};

describe('ResourcePattern', () => {
  for (const [style, cases] of Object.entries(CASES) as [ResourceLookupPolicy, [string, string, boolean][]][]) {
    for (const [pattern, resource, expected] of cases) {
      test(`${style}: ${JSON.stringify(pattern)} ${expected ? 'matches' : 'does not match'} ${JSON.stringify(resource)}`, () => {
        assert.equal(ResourcePattern.compile(pattern, style).matches(resource), expected);
      });
    }
  }

  for (const bad of ['', 'a?b', 'a${x}', 'a${*', 'a${}', 'a${**}']) {
    test(`refuses ${JSON.stringify(bad)} as the nucleus does`, () => {
      assert.throws(() => ResourcePattern.compile(bad, 'STANDARD'), InvalidResourcePatternError);
    });
  }
});

describe('readAccessControl', () => {
  test('reads every destination and keeps refused policies apart', () => {
    const { policies, rejected } = readAccessControl({
      accessControl: {
        'aws.greengrass.ipc.mqttproxy': {
          ok: { policyDescription: 'x', operations: ['aws.greengrass#PublishToIoTCore'], resources: ['a/+'] },
          questionMark: { operations: ['*'], resources: ['a?'] },
          noOperations: { resources: ['a'] },
        },
        'aws.greengrass.ipc.pubsub': { ps: { operations: ['*'], resources: ['local/+'] } },
      },
    });
    assert.deepEqual(
      policies.map((p) => [p.destination, p.policyId]),
      [
        ['aws.greengrass.ipc.mqttproxy', 'ok'],
        ['aws.greengrass.ipc.pubsub', 'ps'],
      ],
    );
    assert.deepEqual(rejected.map((r) => r.policyId).sort(), ['noOperations', 'questionMark']);
    // The destination decides the style: mqttproxy's `+` is a wildcard, pubsub's is not.
    assert.equal(policies[0]!.resources[0]!.matches('a/x'), true);
    assert.equal(policies[1]!.resources[0]!.matches('local/x'), false);
  });

  test('a configuration without accessControl has no policies', () => {
    assert.deepEqual(readAccessControl({ other: 1 }), { policies: [], rejected: [] });
  });
});

describe('AuthorizationTable', () => {
  const table = new AuthorizationTable();
  table.load('A', {
    accessControl: {
      'aws.greengrass.ipc.mqttproxy': {
        'A:1': { operations: ['aws.greengrass#PublishToIoTCore'], resources: ['t/#'] },
        'A:2': { operations: ['*'], resources: ['any/op'] },
      },
    },
  });
  table.load('B', { accessControl: { 'aws.greengrass.ipc.pubsub': { 'B:1': { operations: ['*'], resources: ['*'] } } } });

  test('the principal is the component holding the policy', () => {
    assert.equal(table.isAuthorized('aws.greengrass.ipc.mqttproxy', 'A', 'aws.greengrass#PublishToIoTCore', 't/x'), true);
    assert.equal(table.isAuthorized('aws.greengrass.ipc.mqttproxy', 'B', 'aws.greengrass#PublishToIoTCore', 't/x'), false);
  });

  test('the operation must be listed, or *', () => {
    assert.equal(table.isAuthorized('aws.greengrass.ipc.mqttproxy', 'A', 'aws.greengrass#SubscribeToIoTCore', 't/x'), false);
    assert.equal(table.isAuthorized('aws.greengrass.ipc.mqttproxy', 'A', 'aws.greengrass#SubscribeToIoTCore', 'any/op'), true);
  });

  test('policies apply only to their destination', () => {
    assert.equal(table.isAuthorized('aws.greengrass.ipc.pubsub', 'A', 'aws.greengrass#PublishToTopic', 't/x'), false);
    assert.equal(table.isAuthorized('aws.greengrass.ipc.pubsub', 'B', 'aws.greengrass#PublishToTopic', 'x/y'), true);
  });

  test('reloading replaces and removing drops a component’s policies', () => {
    const t = new AuthorizationTable();
    t.load('C', { accessControl: { 'aws.greengrass.SecretManager': { s: { operations: ['*'], resources: ['arn:1'] } } } });
    assert.equal(t.isAuthorized('aws.greengrass.SecretManager', 'C', 'aws.greengrass#GetSecretValue', 'arn:1'), true);
    t.load('C', {});
    assert.equal(t.isAuthorized('aws.greengrass.SecretManager', 'C', 'aws.greengrass#GetSecretValue', 'arn:1'), false);
    t.load('C', { accessControl: { 'aws.greengrass.SecretManager': { s: { operations: ['*'], resources: ['arn:1'] } } } });
    t.remove('C');
    assert.equal(t.isAuthorized('aws.greengrass.SecretManager', 'C', 'aws.greengrass#GetSecretValue', 'arn:1'), false);
  });
});
