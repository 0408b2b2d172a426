// verifySigV4 against requests signed in-process with the same signer the SDK uses; no network.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { MAX_CLOCK_SKEW_MS, verifySigV4, type SignedRequest } from '../../../harness/aws/sigv4';
import type { CredentialRegistry, IssuedCredentials } from '../../../harness/aws/tes';

const NOW = new Date('2025-06-01T12:00:00Z');
const CREDS: IssuedCredentials = {
  accessKeyId: 'ASIATESTTESTTEST0001',
  secretAccessKey: 'secret-key',
  sessionToken: 'session-token',
  expiration: new Date(NOW.getTime() + 60_000),
  token: 'svcuid',
};
const registry: CredentialRegistry = { byAccessKeyId: (id) => (id === CREDS.accessKeyId ? CREDS : undefined) };
const SCOPE = { service: 'firehose', region: 'eu-central-1' };
const BODY = Buffer.from('{"DeliveryStreamName":"s","Records":[{"Data":"eA=="}]}');

async function signed(
  opts: { secret?: string; sessionToken?: string; service?: string; signingDate?: Date; body?: Buffer; checksum?: boolean } = {},
): Promise<SignedRequest> {
  const signer = new SignatureV4({
    service: opts.service ?? SCOPE.service,
    region: SCOPE.region,
    credentials: {
      accessKeyId: CREDS.accessKeyId,
      secretAccessKey: opts.secret ?? CREDS.secretAccessKey,
      sessionToken: opts.sessionToken ?? CREDS.sessionToken,
    },
    sha256: Hash.bind(null, 'sha256'),
    // true adds x-amz-content-sha256; the SDK's JSON clients leave it out and the body is hashed.
    applyChecksum: opts.checksum ?? true,
  });
  const req = await signer.sign(
    new HttpRequest({
      method: 'POST',
      hostname: '127.0.0.1',
      port: 4567,
      path: '/',
      headers: {
        host: '127.0.0.1:4567',
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'Firehose_20150804.PutRecordBatch',
        'user-agent': 'test',
      },
      body: BODY,
    }),
    { signingDate: opts.signingDate ?? NOW },
  );
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = v;
  return { method: 'POST', url: '/', headers, body: opts.body ?? BODY };
}

async function errorType(req: SignedRequest, now: Date = NOW): Promise<string> {
  const r = await verifySigV4(req, SCOPE, registry, now);
  return r.ok ? 'ok' : r.error.type;
}

describe('verifySigV4', () => {
  test('accepts a request signed with issued credentials', { timeout: 5_000 }, async () => {
    const r = await verifySigV4(await signed(), SCOPE, registry, NOW);
    assert.equal(r.ok, true);
    assert.equal(r.ok && r.credentials.token, 'svcuid');
  });

  test('refuses a changed body, a wrong key, a wrong service scope', { timeout: 5_000 }, async () => {
    assert.equal(await errorType(await signed({ body: Buffer.from('{}') })), 'InvalidSignatureException');
    assert.equal(await errorType(await signed({ body: Buffer.from('{}'), checksum: false })), 'InvalidSignatureException');
    assert.equal(await errorType(await signed({ checksum: false })), 'ok');
    assert.equal(await errorType(await signed({ secret: 'other' })), 'InvalidSignatureException');
    assert.equal(await errorType(await signed({ service: 'secretsmanager' })), 'InvalidSignatureException');
  });

  test('refuses a changed signed header but ignores an unsigned one', { timeout: 5_000 }, async () => {
    const req = await signed();
    assert.equal(await errorType({ ...req, headers: { ...req.headers, 'x-amz-target': 'Firehose_20150804.PutRecord' } }), 'InvalidSignatureException');
    assert.equal(await errorType({ ...req, headers: { ...req.headers, 'user-agent': 'changed' } }), 'ok');
  });

  test('missing header, unknown key or token, expiry, clock skew', { timeout: 5_000 }, async () => {
    const req = await signed();
    const { authorization: _drop, ...unsignedHeaders } = req.headers;
    assert.equal(await errorType({ ...req, headers: unsignedHeaders }), 'MissingAuthenticationTokenException');
    assert.equal(await errorType({ ...req, headers: { ...req.headers, authorization: 'Bearer x' } }), 'IncompleteSignatureException');
    assert.equal(
      await errorType({ ...req, headers: { ...req.headers, authorization: String(req.headers.authorization).replace(CREDS.accessKeyId, 'ASIAOTHER') } }),
      'UnrecognizedClientException',
    );
    assert.equal(await errorType(await signed({ sessionToken: 'forged' })), 'UnrecognizedClientException');
    assert.equal(await errorType(req, CREDS.expiration), 'ExpiredTokenException');
    const skewed = new Date(NOW.getTime() - MAX_CLOCK_SKEW_MS - 1000);
    assert.equal(await errorType(await signed({ signingDate: skewed })), 'InvalidSignatureException');
  });
});
