// The emulated aws.greengrass.SecretManager (test/harness/ipc/secret-operations.ts) against the
// local Secrets Manager store: only cloudSecrets are kept, the device copy serves while the cloud is
// unreachable, refresh fetches the latest and falls back to the copy, a miss is fetched on the spot.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { EmulatedSecretManager } from '../../harness/ipc/secret-operations';
import { ModeledIpcError } from '../../harness/ipc/errors';
import { LocalAws } from '../../harness/aws/local-aws';

let aws: LocalAws;
before(async () => {
  aws = await LocalAws.start();
});
after(async () => {
  await aws?.close();
});

function rejection(f: () => unknown): ModeledIpcError {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof ModeledIpcError);
    return e;
  }
  assert.fail('expected a ModeledIpcError');
}

describe('EmulatedSecretManager', () => {
  test('serves only cloudSecrets, from the copy taken at configuration, while the cloud is unreachable', async () => {
    const kept = aws.secretsManager.createSecret('sm/kept', 'one');
    aws.secretsManager.createSecret('sm/other', 'x');
    const sm = new EmulatedSecretManager(aws.secretsManager);
    sm.configure([{ arn: kept.arn }]);
    assert.equal(sm.resolveArn('sm/kept'), kept.arn, 'a name resolves to its configured ARN');
    assert.equal(rejection(() => sm.resolveArn('sm/other')).message, 'Secret not configured sm/other');
    await aws.secretsManager.setReachable(false);
    try {
      aws.secretsManager.rotateSecret('sm/kept', 'two');
      assert.equal(sm.get('sm/kept', kept.arn, { refresh: false }).secretString, 'one');
      // refresh cannot reach the cloud: the failure is recorded and the copy answers.
      const failures = sm.fetchFailures.length;
      assert.equal(sm.get('sm/kept', kept.arn, { refresh: true }).secretString, 'one');
      assert.equal(sm.fetchFailures.length, failures + 1);
      assert.match(sm.fetchFailures.at(-1)!.reason, /ECONNREFUSED/);
    } finally {
      await aws.secretsManager.setReachable(true);
    }
    assert.equal(sm.get('sm/kept', kept.arn, { refresh: false }).secretString, 'one', 'no refresh: still the copy');
    assert.equal(sm.get('sm/kept', kept.arn, { refresh: true }).secretString, 'two', 'refresh: the latest');
    assert.equal(sm.get('sm/kept', kept.arn, { refresh: false }).secretString, 'two', 'and the copy was updated');
  });

  test('a configured secret never fetched is "Secret not found"; it is fetched on the spot once the cloud answers', async () => {
    const s = aws.secretsManager.createSecret('sm/late', 'v');
    const sm = new EmulatedSecretManager(aws.secretsManager);
    await aws.secretsManager.setReachable(false);
    try {
      sm.configure([{ arn: s.arn }]);
      const arn = sm.resolveArn('sm/late');
      assert.equal(rejection(() => sm.get('sm/late', arn, { refresh: false })).message, 'Secret not found sm/late');
    } finally {
      await aws.secretsManager.setReachable(true);
    }
    assert.equal(sm.get('sm/late', s.arn, { refresh: false }).secretString, 'v');
  });

  test('a deployment without the secret drops its copy; the role being denied keeps an existing copy', () => {
    const a = aws.secretsManager.createSecret('sm/a', 'a1');
    const sm = new EmulatedSecretManager(aws.secretsManager);
    sm.configure([{ arn: a.arn }]);
    aws.secretsManager.denyAccess('sm/a');
    try {
      aws.secretsManager.rotateSecret('sm/a', 'a2');
      assert.equal(sm.get('sm/a', a.arn, { refresh: true }).secretString, 'a1', 'AccessDenied on refresh: the copy answers');
      assert.match(sm.fetchFailures.at(-1)!.reason, /not authorized to perform: secretsmanager:GetSecretValue/);
    } finally {
      aws.secretsManager.allowAccess('sm/a');
    }
    sm.configure([]);
    assert.equal(rejection(() => sm.resolveArn('sm/a')).message, 'Secret not configured sm/a');
    assert.equal(rejection(() => sm.resolveArn(a.arn)).message, `Secret not configured ${a.arn}`);
  });

  test('versionId and versionStage exclude each other; an unconfigured label is not downloaded', () => {
    const s = aws.secretsManager.createSecret('sm/v', 'v1');
    const sm = new EmulatedSecretManager(aws.secretsManager);
    sm.configure([{ arn: s.arn }]);
    assert.equal(rejection(() => sm.get('sm/v', s.arn, { versionId: s.versionId, versionStage: 'AWSCURRENT', refresh: false })).message, 'Both versionId and Stage are set in the request');
    assert.equal(sm.get('sm/v', s.arn, { versionId: s.versionId, refresh: false }).secretString, 'v1');
    aws.secretsManager.rotateSecret('sm/v', 'v2');
    assert.equal(rejection(() => sm.get('sm/v', s.arn, { versionStage: 'AWSPREVIOUS', refresh: true })).message, 'Version stage AWSPREVIOUS not found for secret sm/v');
  });
});
