// The local AWS endpoints, driven by the real SDK v3 clients through the default credential chain
// (container provider → local TES) and the AWS_ENDPOINT_URL_* variables, as a component would be.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { FirehoseClient, PutRecordBatchCommand, PutRecordCommand } from '@aws-sdk/client-firehose';
import { GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { MAX_BATCH_BYTES, MAX_RECORD_BYTES, MAX_RECORDS_PER_BATCH } from '../harness/aws/firehose';
import { LocalAws, type ClientEnv } from '../harness/aws/local-aws';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const TOKEN = 'svcuid-conduit-test';
const STREAM = 'plant-data';

/** Applies a client environment to process.env and returns a function that puts everything back. */
function useEnv(env: ClientEnv): () => void {
  const keys = [...env.unset, ...Object.keys(env.set)];
  const saved = new Map(keys.map((k) => [k, process.env[k]]));
  for (const k of env.unset) delete process.env[k];
  Object.assign(process.env, env.set);
  return () => {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

async function rejection(p: Promise<unknown>): Promise<Error & { $fault?: string; $metadata?: { httpStatusCode?: number } }> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  assert.fail('expected the call to fail');
}

function batch(...data: Buffer[]): PutRecordBatchCommand {
  return new PutRecordBatchCommand({ DeliveryStreamName: STREAM, Records: data.map((d) => ({ Data: d })) });
}

describe('local AWS endpoints with the real SDK clients', () => {
  let aws: LocalAws;
  let restoreEnv: () => void;

  before(async () => {
    aws = await LocalAws.start();
    aws.tes.addToken(TOKEN);
    aws.firehose.createDeliveryStream(STREAM);
    restoreEnv = useEnv(aws.clientEnv(TOKEN));
  });

  after(async () => {
    restoreEnv?.();
    await aws?.close();
  });

  describe('Secrets Manager', () => {
    test('GetSecretValue by name, full ARN and partial ARN', { timeout: 10_000 }, async () => {
      const created = aws.secretsManager.createSecret('opcua/plant-a', { username: 'reader', password: 's3cret' });
      assert.match(created.arn, /^arn:aws:secretsmanager:eu-central-1:123456789012:secret:opcua\/plant-a-[A-Za-z0-9]{6}$/);
      const sm = new SecretsManagerClient({});
      const requestsBefore = aws.secretsManager.requests;
      for (const id of [created.name, created.arn, created.arn.slice(0, -7)]) {
        const out = await sm.send(new GetSecretValueCommand({ SecretId: id }));
        assert.equal(out.SecretString, JSON.stringify({ username: 'reader', password: 's3cret' }));
        assert.equal(out.ARN, created.arn);
        assert.equal(out.Name, 'opcua/plant-a');
        assert.equal(out.VersionId, created.versionId);
        assert.deepEqual(out.VersionStages, ['AWSCURRENT']);
        assert.ok(out.CreatedDate instanceof Date);
        assert.equal(Math.round(out.CreatedDate.getTime()), created.createdDate.getTime());
      }
      assert.equal(aws.secretsManager.requests - requestsBefore, 3);
      sm.destroy();
    });

    test('rotation: new value is AWSCURRENT, old one AWSPREVIOUS, both reachable by VersionId', { timeout: 10_000 }, async () => {
      const v1 = aws.secretsManager.createSecret('rotating', 'one');
      const v2 = aws.secretsManager.rotateSecret('rotating', 'two');
      const sm = new SecretsManagerClient({});
      const current = await sm.send(new GetSecretValueCommand({ SecretId: 'rotating' }));
      assert.equal(current.SecretString, 'two');
      assert.equal(current.VersionId, v2.versionId);
      assert.deepEqual(current.VersionStages, ['AWSCURRENT']);
      const previous = await sm.send(new GetSecretValueCommand({ SecretId: 'rotating', VersionStage: 'AWSPREVIOUS' }));
      assert.equal(previous.SecretString, 'one');
      assert.deepEqual(previous.VersionStages, ['AWSPREVIOUS']);
      const byId = await sm.send(new GetSecretValueCommand({ SecretId: v1.arn, VersionId: v1.versionId }));
      assert.equal(byId.SecretString, 'one');

      // A second rotation drops the label from the oldest version.
      aws.secretsManager.rotateSecret('rotating', 'three');
      assert.equal(aws.secretsManager.resolve('rotating', { versionStage: 'AWSPREVIOUS' })?.secretString, 'two');
      assert.deepEqual(aws.secretsManager.resolve('rotating', { versionId: v1.versionId })?.versionStages, []);
      const e = await rejection(sm.send(new GetSecretValueCommand({ SecretId: 'rotating', VersionStage: 'AWSPENDING' })));
      assert.equal(e.name, 'ResourceNotFoundException');
      sm.destroy();
    });

    test('unknown secret → ResourceNotFoundException, denied secret → AccessDeniedException', { timeout: 10_000 }, async () => {
      const sm = new SecretsManagerClient({});
      const missing = await rejection(sm.send(new GetSecretValueCommand({ SecretId: 'no-such-secret' })));
      assert.equal(missing.name, 'ResourceNotFoundException');
      assert.equal(missing.message, "Secrets Manager can't find the specified secret.");
      assert.equal(missing.$fault, 'client');

      aws.secretsManager.createSecret('locked', 'x');
      aws.secretsManager.denyAccess('locked');
      const denied = await rejection(sm.send(new GetSecretValueCommand({ SecretId: 'locked' })));
      assert.equal(denied.name, 'AccessDeniedException');
      assert.match(denied.message, /^User: arn:aws:sts::123456789012:assumed-role\/.+ is not authorized to perform: secretsmanager:GetSecretValue on resource: locked because/);
      assert.equal(denied.$metadata?.httpStatusCode, 400);
      // The store behind the IPC server still has it; only the endpoint refuses.
      assert.equal(aws.secretsManager.resolve('locked')?.secretString, 'x');
      assert.equal(aws.secretsManager.isAccessDenied('locked'), true);
      sm.destroy();
    });

    test('PutSecretValue stores a new AWSCURRENT version', { timeout: 10_000 }, async () => {
      aws.secretsManager.createSecret('put-me', 'old');
      const sm = new SecretsManagerClient({});
      const out = await sm.send(new PutSecretValueCommand({ SecretId: 'put-me', SecretString: 'new' }));
      assert.deepEqual(out.VersionStages, ['AWSCURRENT']);
      assert.equal(aws.secretsManager.resolve('put-me')?.secretString, 'new');
      assert.equal(aws.secretsManager.resolve('put-me', { versionStage: 'AWSPREVIOUS' })?.secretString, 'old');
      sm.destroy();
    });
  });

  describe('Secrets Manager unreachable (an uplink outage)', () => {
    test('refused: the SDK fails with ECONNREFUSED, not an API error; reachable again on the same endpoint', { timeout: 20_000 }, async () => {
      aws.secretsManager.createSecret('outage/refused', 'v');
      const sm = new SecretsManagerClient({ maxAttempts: 1 });
      try {
        await aws.secretsManager.setReachable(false);
        const before = aws.secretsManager.requests;
        const e = await rejection(sm.send(new GetSecretValueCommand({ SecretId: 'outage/refused' })));
        assert.equal((e as { code?: string }).code, 'ECONNREFUSED', `${e.name}: ${e.message}`);
        assert.equal(e.$metadata?.httpStatusCode, undefined, 'no HTTP answer');
        assert.equal(aws.secretsManager.requests, before, 'nothing reached the service');
        assert.throws(() => aws.secretsManager.fetchFromCloud('outage/refused'), /ECONNREFUSED/);
        await aws.secretsManager.setReachable(true);
        assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: 'outage/refused' }))).SecretString, 'v');
      } finally {
        await aws.secretsManager.setReachable(true);
        sm.destroy();
      }
    });

    test('timeout: connections are accepted and never answered, so the SDK hits its own request timeout', { timeout: 20_000 }, async () => {
      aws.secretsManager.createSecret('outage/timeout', 'v');
      const sm = new SecretsManagerClient({ maxAttempts: 1, requestHandler: { requestTimeout: 500, throwOnRequestTimeout: true } });
      try {
        await aws.secretsManager.setReachable(false, { how: 'timeout' });
        const before = aws.secretsManager.requests;
        const e = await rejection(sm.send(new GetSecretValueCommand({ SecretId: 'outage/timeout' })));
        assert.match(`${e.name} ${e.message}`, /timeout|timed out/i);
        assert.equal(e.$metadata?.httpStatusCode, undefined, 'no HTTP answer');
        assert.equal(aws.secretsManager.requests, before);
        assert.throws(() => aws.secretsManager.fetchFromCloud('outage/timeout'), /timed out/);
        await aws.secretsManager.setReachable(true);
        assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: 'outage/timeout' }))).SecretString, 'v');
      } finally {
        await aws.secretsManager.setReachable(true);
        sm.destroy();
      }
    });
  });

  describe('Firehose', () => {
    test('PutRecordBatch and PutRecord are accepted and kept byte-exact, in order', { timeout: 10_000 }, async () => {
      const fh = new FirehoseClient({});
      const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      const data = [allBytes, randomBytes(1000), Buffer.from('{"t":1}\n')];
      const before = aws.firehose.records(STREAM).length;
      const out = await fh.send(batch(...data));
      assert.equal(out.FailedPutCount, 0);
      assert.equal(out.RequestResponses?.length, 3);
      const ids = out.RequestResponses?.map((r) => r.RecordId);
      assert.equal(new Set(ids).size, 3);
      const single = await fh.send(new PutRecordCommand({ DeliveryStreamName: STREAM, Record: { Data: Buffer.from('single') } }));
      assert.ok(single.RecordId);

      const kept = aws.firehose.entries(STREAM).slice(before);
      assert.deepEqual(
        kept.map((r) => r.data),
        [...data, Buffer.from('single')],
      );
      assert.deepEqual(kept.map((r) => r.recordId), [...(ids ?? []), single.RecordId]);
      fh.destroy();
    });

    test('unknown delivery stream → ResourceNotFoundException', { timeout: 10_000 }, async () => {
      const fh = new FirehoseClient({});
      const e = await rejection(
        fh.send(new PutRecordBatchCommand({ DeliveryStreamName: 'nope', Records: [{ Data: Buffer.from('x') }] })),
      );
      assert.equal(e.name, 'ResourceNotFoundException');
      fh.destroy();
    });

    test('500 records, 1,000 KiB per record and 4 MiB per call: at the limit accepted, over it refused', { timeout: 30_000 }, async () => {
      const fh = new FirehoseClient({ maxAttempts: 1 });
      const small = Buffer.from('r');

      const atCount = await fh.send(batch(...Array.from({ length: MAX_RECORDS_PER_BATCH }, () => small)));
      assert.equal(atCount.FailedPutCount, 0);
      const overCount = await rejection(fh.send(batch(...Array.from({ length: MAX_RECORDS_PER_BATCH + 1 }, () => small))));
      assert.equal(overCount.name, 'ValidationException');
      assert.equal(overCount.$metadata?.httpStatusCode, 400);

      const atRecord = await fh.send(batch(Buffer.alloc(MAX_RECORD_BYTES, 1)));
      assert.equal(atRecord.FailedPutCount, 0);
      const overRecord = await rejection(fh.send(batch(Buffer.alloc(MAX_RECORD_BYTES + 1, 1))));
      assert.equal(overRecord.name, 'ValidationException');
      assert.match(overRecord.message, /at 'records\.1\.member\.data' failed to satisfy constraint: Member must have length less than or equal to 1024000/);

      // 4 records of 1,000 KiB plus the remainder make exactly 4 MiB.
      const fill = [0, 1, 2, 3].map(() => Buffer.alloc(MAX_RECORD_BYTES, 2));
      const rest = MAX_BATCH_BYTES - 4 * MAX_RECORD_BYTES;
      const atBatch = await fh.send(batch(...fill, Buffer.alloc(rest, 3)));
      assert.equal(atBatch.FailedPutCount, 0);
      const keptBefore = aws.firehose.records(STREAM).length;
      const overBatch = await rejection(fh.send(batch(...fill, Buffer.alloc(rest + 1, 3))));
      assert.equal(overBatch.name, 'InvalidArgumentException');
      assert.equal(overBatch.$fault, 'client');
      assert.equal(aws.firehose.records(STREAM).length, keptBefore, 'nothing of a refused call is kept');
      fh.destroy();
    });

    test('per-record failures surface in FailedPutCount and RequestResponses at the chosen indices', { timeout: 10_000 }, async () => {
      const fh = new FirehoseClient({});
      aws.firehose.enqueueFaults({ fault: { kind: 'record-failures', indices: [1, 3] } });
      const data = [0, 1, 2, 3, 4].map((i) => Buffer.from(`rec-${i}`));
      const before = aws.firehose.records(STREAM).length;
      const out = await fh.send(batch(...data));
      assert.equal(out.FailedPutCount, 2);
      const rr = out.RequestResponses ?? [];
      assert.equal(rr.length, 5);
      for (const i of [1, 3]) {
        assert.equal(rr[i].ErrorCode, 'ServiceUnavailableException');
        assert.equal(rr[i].ErrorMessage, 'Slow down.');
        assert.equal(rr[i].RecordId, undefined);
      }
      for (const i of [0, 2, 4]) assert.ok(rr[i].RecordId);
      assert.deepEqual(aws.firehose.records(STREAM).slice(before), [data[0], data[2], data[4]]);
      fh.destroy();
    });

    test('whole-call 500, 503 and throttling surface as the SDK error names (no retries)', { timeout: 10_000 }, async () => {
      const fh = new FirehoseClient({ maxAttempts: 1 });
      const cases = [
        { kind: 'internal-failure', name: 'InternalFailure', status: 500, fault: 'server' },
        { kind: 'service-unavailable', name: 'ServiceUnavailableException', status: 503, fault: 'server' },
        { kind: 'throttling', name: 'ThrottlingException', status: 400, fault: 'client' },
      ] as const;
      for (const c of cases) {
        aws.firehose.enqueueFaults({ fault: { kind: c.kind } });
        const keptBefore = aws.firehose.records(STREAM).length;
        const rejectedBefore = aws.firehose.rejectedCalls;
        const e = await rejection(fh.send(batch(Buffer.from('x'))));
        assert.equal(e.name, c.name);
        assert.equal(e.$metadata?.httpStatusCode, c.status);
        assert.equal(e.$fault, c.fault);
        assert.equal(aws.firehose.rejectedCalls, rejectedBefore + 1);
        assert.equal(aws.firehose.records(STREAM).length, keptBefore);
      }
      fh.destroy();
    });

    test("the SDK's own retry succeeds after one injected 503", { timeout: 15_000 }, async () => {
      const fh = new FirehoseClient({});
      aws.firehose.enqueueFaults({ fault: { kind: 'service-unavailable' } });
      const callsBefore = aws.firehose.calls;
      const before = aws.firehose.records(STREAM).length;
      const out = await fh.send(batch(Buffer.from('retried')));
      assert.equal(out.FailedPutCount, 0);
      assert.equal(out.$metadata.attempts, 2);
      assert.equal(aws.firehose.calls - callsBefore, 2);
      assert.deepEqual(aws.firehose.records(STREAM).slice(before), [Buffer.from('retried')]);
      fh.destroy();
    });

    test('injected latency delays the call; a policy decides per call', { timeout: 10_000 }, async () => {
      const fh = new FirehoseClient({});
      aws.firehose.enqueueFaults({ delayMs: 400 });
      const t0 = performance.now();
      await fh.send(batch(Buffer.from('slow')));
      assert.ok(performance.now() - t0 >= 390, 'call took at least the injected delay');

      aws.firehose.setFaultPolicy((call) => (call.recordCount > 1 ? { fault: { kind: 'record-failures', indices: [0] } } : undefined));
      const two = await fh.send(batch(Buffer.from('a'), Buffer.from('b')));
      assert.equal(two.FailedPutCount, 1);
      const one = await fh.send(batch(Buffer.from('c')));
      assert.equal(one.FailedPutCount, 0);
      aws.firehose.clearFaults();
      fh.destroy();
    });
  });

  describe('authentication', () => {
    test('an unsigned request is refused with MissingAuthenticationTokenException', { timeout: 10_000 }, async () => {
      const before = aws.firehose.rejectedCalls;
      const res = await fetch(aws.firehose.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'Firehose_20150804.PutRecordBatch' },
        body: JSON.stringify({ DeliveryStreamName: STREAM, Records: [{ Data: 'eA==' }] }),
      });
      assert.equal(res.status, 400);
      assert.deepEqual(await res.json(), { __type: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' });
      assert.equal(aws.firehose.rejectedCalls, before + 1);
    });

    test('a wrong secret key, an unknown key and a wrong session token are refused', { timeout: 10_000 }, async () => {
      // Get real credentials from the TES as a component would, then spoil one part at a time.
      const res = await fetch(aws.tes.url, { headers: { authorization: TOKEN } });
      const c = (await res.json()) as { AccessKeyId: string; SecretAccessKey: string; Token: string };
      const cases = [
        { creds: { accessKeyId: c.AccessKeyId, secretAccessKey: 'wrong', sessionToken: c.Token }, name: 'InvalidSignatureException' },
        { creds: { accessKeyId: 'ASIAUNKNOWN0000000', secretAccessKey: c.SecretAccessKey, sessionToken: c.Token }, name: 'UnrecognizedClientException' },
        { creds: { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: 'forged' }, name: 'UnrecognizedClientException' },
      ];
      for (const { creds, name } of cases) {
        const sm = new SecretsManagerClient({ credentials: creds, maxAttempts: 1 });
        const e = await rejection(sm.send(new GetSecretValueCommand({ SecretId: 'anything' })));
        assert.equal(e.name, name);
        assert.equal(e.$fault, 'client');
        sm.destroy();
      }
    });

    test('a token the TES does not know gets 403 there and a credential error from the SDK', { timeout: 20_000 }, async () => {
      const direct = await fetch(aws.tes.url, { headers: { authorization: 'not-registered' } });
      assert.equal(direct.status, 403);

      const restore = useEnv(aws.clientEnv('not-registered'));
      try {
        const refusedBefore = aws.tes.refusedRequests;
        const callsBefore = aws.firehose.calls;
        const fh = new FirehoseClient({});
        const e = await rejection(fh.send(batch(Buffer.from('never'))));
        assert.equal(e.name, 'CredentialsProviderError');
        assert.ok(aws.tes.refusedRequests > refusedBefore);
        assert.equal(aws.firehose.calls, callsBefore, 'nothing reached Firehose');
        fh.destroy();
      } finally {
        restore();
      }
    });
  });
});

describe('short-lived credentials', () => {
  let aws: LocalAws;
  const LIFETIME_MS = 1000;

  before(async () => {
    aws = await LocalAws.start({ credentialLifetimeMs: LIFETIME_MS, region: 'us-west-2' });
    aws.tes.addToken(TOKEN);
    aws.firehose.createDeliveryStream(STREAM);
  });

  after(async () => {
    await aws?.close();
  });

  test('expired credentials are refused with ExpiredTokenException', { timeout: 10_000 }, async () => {
    const res = await fetch(aws.tes.url, { headers: { authorization: TOKEN } });
    const c = (await res.json()) as { AccessKeyId: string; SecretAccessKey: string; Token: string; Expiration: string };
    assert.ok(Math.abs(Date.parse(c.Expiration) - Date.now() - LIFETIME_MS) < 500);
    await sleep(LIFETIME_MS + 100);
    const fh = new FirehoseClient({
      region: aws.region,
      endpoint: aws.firehose.endpoint,
      credentials: { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.Token },
      maxAttempts: 1,
    });
    const e = await rejection(fh.send(batch(Buffer.from('late'))));
    assert.equal(e.name, 'ExpiredTokenException');
    assert.equal(e.message, 'The security token included in the request is expired');
    fh.destroy();
  });

  test('the default chain fetches new credentials once the old ones expire', { timeout: 10_000 }, async () => {
    const restore = useEnv(aws.clientEnv(TOKEN));
    try {
      const fh = new FirehoseClient({ maxAttempts: 1 });
      const tesBefore = aws.tes.requests;
      await fh.send(batch(Buffer.from('first')));
      await sleep(LIFETIME_MS + 200);
      await fh.send(batch(Buffer.from('second')));
      assert.ok(aws.tes.requests - tesBefore >= 2, `TES asked ${aws.tes.requests - tesBefore} times`);
      const keys = new Set(aws.tes.issued().map((i) => i.accessKeyId));
      assert.ok(keys.size >= 2);
      assert.deepEqual(aws.firehose.records(STREAM), [Buffer.from('first'), Buffer.from('second')]);
      fh.destroy();
    } finally {
      restore();
    }
  });
});

describe('Firehose records kept in a folder', () => {
  test('every accepted record is appended to <dir>/<stream>.jsonl; refused ones are not', { timeout: 10_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'conduit-firehose-records-'));
    const aws = await LocalAws.start({ firehoseRecordsDir: join(dir, 'records') });
    const restore = useEnv(aws.clientEnv(TOKEN));
    try {
      aws.tes.addToken(TOKEN);
      aws.firehose.createDeliveryStream(STREAM);
      const file = aws.firehose.recordsFile(STREAM)!;
      assert.equal(file, join(dir, 'records', `${STREAM}.jsonl`));
      const fh = new FirehoseClient({ maxAttempts: 1 });
      aws.firehose.enqueueFaults({ fault: { kind: 'record-failures', indices: [1] } });
      await fh.send(batch(Buffer.from('{"a":1}\n'), Buffer.from('{"refused":true}\n'), Buffer.from('{"b":2}\n{"c":3}\n')));
      assert.equal(readFileSync(file, 'utf8'), '{"a":1}\n{"b":2}\n{"c":3}\n');
      aws.firehose.keepRecordsIn(undefined);
      await fh.send(batch(Buffer.from('{"d":4}\n')));
      assert.equal(readFileSync(file, 'utf8'), '{"a":1}\n{"b":2}\n{"c":3}\n', 'not written once turned off');
      assert.equal(aws.firehose.records(STREAM).length, 3, 'kept in memory as before');
      assert.equal(existsSync(join(dir, 'records', 'other.jsonl')), false);
      fh.destroy();
    } finally {
      restore();
      await aws.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
