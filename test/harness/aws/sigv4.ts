// SigV4 checking for the local services: a request is accepted only when it was signed with
// credentials the local TES issued and the signature recomputes to the same value. Refusals use the
// names and messages of the AWS JSON front end, so the SDK surfaces them exactly as it would in AWS.
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsJsonError } from './aws-json';
import type { CredentialRegistry, IssuedCredentials } from './tes';

/**
 * HTTP status of authentication failures. AWS's generic "Common Errors" pages say 403, but the JSON 1.1
 * front end that Firehose, Kinesis and Secrets Manager share answers 400: captured responses show
 * `400 {"__type":"ExpiredTokenException",...}` from Kinesis (awslabs/amazon-kinesis-producer#49,
 * vectordotdev/vector#18491) and `Status Code: 400; Error Code: UnrecognizedClientException` from
 * Kinesis and DynamoDB. For the SDK both are client faults that it does not retry.
 */
export const AUTH_FAILURE_STATUS = 400;

/** Largest difference between the request's X-Amz-Date and the server clock that AWS accepts: 5 minutes. */
export const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;

/** What the checker needs to know about the request. */
export interface SignedRequest {
  method: string;
  /** Path and query as received, e.g. `/` or `/a%20b?x=1`. */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface SigV4Scope {
  /** Signing name, e.g. `firehose`, `secretsmanager`. */
  service: string;
  region: string;
}

export type SigV4Result = { ok: true; credentials: IssuedCredentials } | { ok: false; error: AwsJsonError };

const AUTH_HEADER_PATTERN =
  /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;_.-]+),\s*Signature=([0-9a-f]{64})$/;
const AMZ_DATE_PATTERN = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

function refuse(type: string, message: string): SigV4Result {
  return { ok: false, error: { status: AUTH_FAILURE_STATUS, type, message } };
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

function parseAmzDate(s: string): Date | undefined {
  const m = AMZ_DATE_PATTERN.exec(s);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, se] = m.map(Number);
  return new Date(Date.UTC(y, mo - 1, d, h, mi, se));
}

function splitUrl(url: string): { path: string; query: Record<string, string | string[]> } {
  const q = url.indexOf('?');
  const rawPath = q < 0 ? url : url.slice(0, q);
  const query: Record<string, string | string[]> = {};
  if (q >= 0) {
    for (const [k, v] of new URLSearchParams(url.slice(q + 1))) {
      const prev = query[k];
      query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
  }
  // The signer escapes the path itself, so it must see it decoded.
  return { path: decodeURIComponent(rawPath), query };
}

/**
 * Checks the request's Authorization header against credentials in `registry`. The order of checks
 * follows what AWS reports first: a missing or malformed header, then an unknown key or token, then
 * expiry, then the clock, then the signature.
 */
export async function verifySigV4(
  req: SignedRequest,
  scope: SigV4Scope,
  registry: CredentialRegistry,
  now: Date = new Date(),
): Promise<SigV4Result> {
  const authorization = header(req.headers, 'authorization');
  if (authorization === undefined || authorization === '') {
    return refuse('MissingAuthenticationTokenException', 'Missing Authentication Token');
  }
  const m = AUTH_HEADER_PATTERN.exec(authorization);
  if (!m) {
    return refuse(
      'IncompleteSignatureException',
      `Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters (AWS4-HMAC-SHA256). Authorization=${authorization}`,
    );
  }
  const [, accessKeyId, , , , signedHeaderList, signature] = m;
  const creds = registry.byAccessKeyId(accessKeyId);
  const sessionToken = header(req.headers, 'x-amz-security-token');
  if (!creds || sessionToken !== creds.sessionToken) {
    return refuse('UnrecognizedClientException', 'The security token included in the request is invalid.');
  }
  if (now.getTime() >= creds.expiration.getTime()) {
    return refuse('ExpiredTokenException', 'The security token included in the request is expired');
  }
  const amzDate = header(req.headers, 'x-amz-date') ?? '';
  const signingDate = parseAmzDate(amzDate);
  if (!signingDate) {
    return refuse('IncompleteSignatureException', 'Authorization header requires existence of either a \'X-Amz-Date\' or a \'Date\' header.');
  }
  if (Math.abs(now.getTime() - signingDate.getTime()) > MAX_CLOCK_SKEW_MS) {
    return refuse('InvalidSignatureException', `Signature expired: ${amzDate} is now earlier or later than the server time allows (5 min.)`);
  }

  // The signer trusts x-amz-content-sha256 instead of hashing the body, so a client that sends one
  // must send the body's real hash; otherwise a changed body would still verify.
  const declaredHash = header(req.headers, 'x-amz-content-sha256');
  if (declaredHash !== undefined && declaredHash !== createHash('sha256').update(req.body).digest('hex')) {
    return refuse('InvalidSignatureException', "The provided 'x-amz-content-sha256' header does not match what was computed.");
  }

  const signedHeaderNames = signedHeaderList.split(';');
  const headers: Record<string, string> = {};
  for (const name of signedHeaderNames) {
    const v = header(req.headers, name);
    if (v !== undefined) headers[name] = v;
  }
  const { path, query } = splitUrl(req.url);
  const signer = new SignatureV4({
    service: scope.service,
    region: scope.region,
    credentials: { accessKeyId, secretAccessKey: creds.secretAccessKey, sessionToken: creds.sessionToken },
    sha256: Hash.bind(null, 'sha256'),
    // The JSON services do not send x-amz-content-sha256; the body is hashed instead.
    applyChecksum: false,
  });
  const expected = await signer.sign(
    new HttpRequest({ method: req.method, hostname: headers.host ?? '', path, query, headers, body: req.body }),
    // Sign exactly the headers the client listed, including ones the signer would otherwise skip.
    { signingDate, signableHeaders: new Set(signedHeaderNames) },
  );
  const expectedAuth = String(expected.headers.authorization ?? '');
  if (!expectedAuth.endsWith(`Signature=${signature}`) || !expectedAuth.includes(`SignedHeaders=${signedHeaderList},`)) {
    return refuse(
      'InvalidSignatureException',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    );
  }
  return { ok: true, credentials: creds };
}
