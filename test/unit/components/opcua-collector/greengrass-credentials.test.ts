// GreengrassCredentialSource with a stub IPC edge (no nucleus): refresh only after a rejection, one
// read at a time, and the SecretManager's answers mapped to the CredentialsError kinds with a fix,
// never quoting the secret's value. The error shapes are those the SDK's RpcError carries
// (serviceError._errorCode, as test/e2e/harness-ipc.test.ts sees them from the real client).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CredentialsError } from '../../../../components/opcua-collector/src/credentials';
import { GreengrassCredentialSource, describeIpcSecretError, type SecretValueReader } from '../../../../components/opcua-collector/src/greengrass-credentials';

const ID = 'conduit/opcua-collector';
const SECRET_MARK = 'zz-secret-zz';

function stubReader(...answers: (object | { reject: unknown })[]): SecretValueReader & { calls: { secretId: string; refresh: boolean }[] } {
  const calls: { secretId: string; refresh: boolean }[] = [];
  return {
    calls,
    getSecretValue: async (secretId, opts) => {
      calls.push({ secretId, refresh: opts.refresh });
      const a = answers[Math.min(calls.length - 1, answers.length - 1)]!;
      if ('reject' in a) throw a.reject;
      return a as { secretString?: string; binary: boolean };
    },
  };
}

const rpcError = (code: string, message: string) => ({ type: 8, description: 'service error', serviceError: { message, _errorCode: code } });
const value = (password: string) => ({ secretString: JSON.stringify({ username: 'conduit', password }), binary: false });

describe('GreengrassCredentialSource', () => {
  test('reads once, serves the cache, and asks for refresh only when told', async () => {
    const reader = stubReader(value('one'), value('two'));
    const source = new GreengrassCredentialSource(ID, reader);
    assert.deepEqual(await source.get({ refresh: false }), { username: 'conduit', password: 'one' });
    assert.deepEqual(await source.get({ refresh: false }), { username: 'conduit', password: 'one' });
    assert.deepEqual(await source.get({ refresh: true }), { username: 'conduit', password: 'two' });
    assert.deepEqual(reader.calls, [
      { secretId: ID, refresh: false },
      { secretId: ID, refresh: true },
    ]);
  });

  test('concurrent reads share one IPC call', async () => {
    const reader = stubReader(value('one'));
    const source = new GreengrassCredentialSource(ID, reader);
    const [a, b] = await Promise.all([source.get({ refresh: true }), source.get({ refresh: true })]);
    assert.deepEqual(a, b);
    assert.equal(reader.calls.length, 1);
  });

  test('a value that is not the expected JSON is bad-shape or not-json, without the value', async () => {
    for (const [answer, kind] of [
      [{ secretString: `not json ${SECRET_MARK}`, binary: false }, 'not-json'],
      [{ secretString: JSON.stringify({ username: 'u', pass: SECRET_MARK }), binary: false }, 'bad-shape'],
      [{ binary: true }, 'bad-shape'],
    ] as const) {
      const err = await new GreengrassCredentialSource(ID, stubReader(answer)).get({ refresh: false }).then(
        () => assert.fail('expected a failure'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof CredentialsError);
      assert.equal(err.kind, kind);
      assert.ok(!err.message.includes(SECRET_MARK));
    }
  });
});

describe('describeIpcSecretError', () => {
  const cases: [string, unknown, string, boolean, RegExp][] = [
    ['not in cloudSecrets', rpcError('ResourceNotFoundError', `Secret not configured ${ID}`), 'not-found', false, /not in aws\.greengrass\.SecretManager's cloudSecrets .*add \{"arn": "<the secret's ARN>"\} to cloudSecrets/],
    ['configured, never fetched', rpcError('ResourceNotFoundError', `Secret not found ${ID}`), 'not-found', false, /holds no copy .*token exchange role allows secretsmanager:GetSecretValue .*reach Secrets Manager/],
    ['accessControl lacks the ARN', rpcError('UnauthorizedError', `Principal conduit.OpcUaCollector is not authorized to perform aws.greengrass.SecretManager:aws.greengrass#GetSecretValue on resource arn:x`), 'access-denied', false, /allow aws\.greengrass#GetSecretValue on exactly the secret's ARN in conduit\.OpcUaCollector's accessControl/],
    ['a ServiceError (queue full)', rpcError('ServiceError', 'Unable to queue request'), 'unavailable', true, /Unable to queue request.*retried/],
    ['not connected', { retryable: true, reason: 'not connected to the Greengrass nucleus' }, 'unavailable', true, /not connected to the Greengrass nucleus.*deployed and RUNNING/],
    ['a timed-out call', { retryable: true, reason: 'GetSecretValue timed out after 60000 ms' }, 'unavailable', true, /timed out/],
    ['a cancelled call (plain string)', 'operation cancelled', 'unavailable', true, /operation cancelled/],
  ];
  for (const [name, err, kind, retryable, message] of cases) {
    test(name, () => {
      const e = describeIpcSecretError(ID, err);
      assert.equal(e.kind, kind);
      assert.equal(e.retryable, retryable);
      assert.equal(e.secretId, ID);
      assert.match(e.message, message);
      assert.ok(e.message.includes(`"${ID}"`), 'names the secret');
    });
  }
});
