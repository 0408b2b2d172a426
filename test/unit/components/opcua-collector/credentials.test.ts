// SecretsManagerCredentialSource with a stub SDK client (no network): caching, refresh, and error
// messages that name the secret and the expected shape but never the secret's value.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CredentialsError, SecretsManagerCredentialSource } from '../../../../components/opcua-collector/src/credentials';

const ID = 'plant/opcua';
const SECRET_MARK = 'zz-secret-zz';

/** A client whose GetSecretValue answers from `answers` in turn (an Error is thrown). */
function stubClient(...answers: (object | Error)[]): { client: SecretsManagerClient; calls: () => number } {
  let n = 0;
  const client = {
    send: async () => {
      const a = answers[Math.min(n, answers.length - 1)];
      n++;
      if (a instanceof Error) throw a;
      return a;
    },
    destroy: () => undefined,
  } as unknown as SecretsManagerClient;
  return { client, calls: () => n };
}

function sdkError(name: string, message: string): Error {
  const e = new Error(message);
  e.name = name;
  return e;
}

async function failure(source: SecretsManagerCredentialSource): Promise<CredentialsError> {
  try {
    await source.get({ refresh: false });
  } catch (err) {
    assert.ok(err instanceof CredentialsError);
    return err;
  }
  assert.fail('expected a CredentialsError');
}

function assertNoSecret(err: CredentialsError): void {
  const everything = `${err.message} ${String(err.cause)} ${(err.cause as Error | undefined)?.message ?? ''} ${JSON.stringify(err)}`;
  assert.ok(!everything.includes(SECRET_MARK), everything);
  assert.match(err.message, /plant\/opcua/);
}

describe('SecretsManagerCredentialSource', () => {
  test('caches the secret; refresh reads it again; concurrent reads share one request', async () => {
    const { client, calls } = stubClient(
      { SecretString: JSON.stringify({ username: 'u', password: 'p1' }) },
      { SecretString: JSON.stringify({ username: 'u', password: 'p2' }) },
    );
    const source = new SecretsManagerCredentialSource({ secretId: ID, client });
    const [a, b] = await Promise.all([source.get({ refresh: false }), source.get({ refresh: false })]);
    assert.deepEqual(a, { username: 'u', password: 'p1' });
    assert.deepEqual(b, a);
    assert.equal(calls(), 1);
    assert.deepEqual(await source.get({ refresh: false }), a);
    assert.equal(calls(), 1);
    assert.deepEqual(await source.get({ refresh: true }), { username: 'u', password: 'p2' });
    assert.equal(calls(), 2);
  });

  const cases: [string, object | Error, CredentialsError['kind'], RegExp][] = [
    ['not found', sdkError('ResourceNotFoundException', "Secrets Manager can't find the specified secret."), 'not-found', /"plant\/opcua" was not found .*\{"username"/],
    ['access denied', sdkError('AccessDeniedException', 'User: x is not authorized'), 'access-denied', /"plant\/opcua" was denied .*GetSecretValue/],
    ['network', sdkError('TimeoutError', 'socket hang up'), 'unavailable', /"plant\/opcua" .*failed \(TimeoutError: socket hang up\)/],
    ['not JSON', { SecretString: `${SECRET_MARK}{` }, 'not-json', /"plant\/opcua" is not JSON; store \{"username"/],
    ['JSON array', { SecretString: `["${SECRET_MARK}"]` }, 'bad-shape', /not an object; store \{"username"/],
    ['missing password', { SecretString: JSON.stringify({ username: 'u', pass: SECRET_MARK }) }, 'bad-shape', /"password" is missing; store/],
    ['number password', { SecretString: JSON.stringify({ username: 'u', password: 12345 }) }, 'bad-shape', /"password" is not a string/],
    ['empty username', { SecretString: JSON.stringify({ username: '', password: SECRET_MARK }) }, 'bad-shape', /"username" is empty/],
    ['binary', { SecretBinary: Buffer.from(SECRET_MARK) }, 'bad-shape', /holds a binary value; store a secret string \{"username"/],
  ];
  for (const [what, answer, kind, pattern] of cases) {
    test(`${what}: a CredentialsError that names the secret and the shape, not the value`, async () => {
      const source = new SecretsManagerCredentialSource({ secretId: ID, client: stubClient(answer).client });
      const err = await failure(source);
      assert.equal(err.name, 'CredentialsError');
      assert.equal(err.kind, kind);
      assert.equal(err.secretId, ID);
      assert.equal(err.retryable, kind === 'unavailable');
      assert.match(err.message, pattern);
      assertNoSecret(err);
    });
  }

  test('a failed refresh keeps no half-read value; the next read succeeds', async () => {
    const { client } = stubClient(sdkError('TimeoutError', 'slow'), { SecretString: JSON.stringify({ username: 'u', password: 'p' }) });
    const source = new SecretsManagerCredentialSource({ secretId: ID, client });
    await failure(source);
    assert.deepEqual(await source.get({ refresh: false }), { username: 'u', password: 'p' });
  });
});
