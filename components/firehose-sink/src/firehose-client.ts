// The real RecordBatchPutter: @aws-sdk/client-firehose with the SDK's default credential chain (on a
// core device: the token exchange service, through AWS_CONTAINER_CREDENTIALS_FULL_URI) and endpoint
// resolution. The SDK's own retries are off: the sender retries with its own backoff, by index, and
// must know about every attempt. Every failure becomes a SendError that says whether retrying helps.
import { FirehoseClient, PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import { SendError } from './errors';
import type { FailedRecord, RecordBatchPutter } from './ports';

/** Error names that mean "too fast" or "not now": retry with backoff. */
const THROTTLED = new Set(['ServiceUnavailableException', 'ThrottlingException', 'ThrottledException', 'TooManyRequestsException', 'RequestLimitExceeded', 'SlowDown', 'LimitExceededException']);
/** Credentials that expired between fetching and signing: the SDK fetches new ones on the next call. */
const EXPIRED = new Set(['ExpiredTokenException', 'ExpiredToken', 'RequestExpired', 'CredentialsProviderError']);
/** Node's socket errors: the network, not the request. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'ECONNABORTED', 'ERR_SOCKET_CONNECTION_TIMEOUT']);

export interface FirehosePutterOptions {
  deliveryStreamName: string;
  region: string;
  /** A call not answered within this is abandoned (and retried by the sender). */
  requestTimeoutMs: number;
  /** For tests: a client built elsewhere (e.g. against a local endpoint). */
  client?: FirehoseClient;
}

export class FirehosePutter implements RecordBatchPutter {
  private readonly client: FirehoseClient;

  constructor(private readonly o: FirehosePutterOptions) {
    this.client = o.client ?? new FirehoseClient({ region: o.region, maxAttempts: 1 });
  }

  async putRecordBatch(records: Buffer[], options: { abortSignal?: AbortSignal } = {}): Promise<{ failed: FailedRecord[] }> {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.o.requestTimeoutMs);
    const onAbort = () => controller.abort();
    options.abortSignal?.addEventListener('abort', onAbort);
    try {
      const out = await this.client.send(new PutRecordBatchCommand({ DeliveryStreamName: this.o.deliveryStreamName, Records: records.map((Data) => ({ Data })) }), {
        abortSignal: controller.signal,
      });
      const responses = out.RequestResponses ?? [];
      if (responses.length !== records.length) {
        // Without one answer per record nothing can be known to be accepted: send them all again.
        throw new SendError('MalformedResponse', `PutRecordBatch answered ${responses.length} entries for ${records.length} records`, true);
      }
      const failed: FailedRecord[] = [];
      responses.forEach((r, index) => {
        if (r.ErrorCode) failed.push({ index, code: r.ErrorCode, message: r.ErrorMessage ?? '' });
      });
      return { failed };
    } catch (e) {
      if (e instanceof SendError) throw e;
      if (timedOut) throw new SendError('Timeout', `no answer within ${this.o.requestTimeoutMs} ms`, true, undefined, { cause: e });
      if (options.abortSignal?.aborted) throw new SendError('Aborted', 'the call was abandoned (shutdown, or a configuration update replacing the client)', true, undefined, { cause: e });
      throw classifyFirehoseError(e, this.o.deliveryStreamName, this.o.region);
    } finally {
      clearTimeout(timer);
      options.abortSignal?.removeEventListener('abort', onAbort);
    }
  }

  destroy(): void {
    this.client.destroy();
  }
}

/** What a failed PutRecordBatch means for the records: retry soon, or wait for someone to fix something. */
export function classifyFirehoseError(e: unknown, stream: string, region: string): SendError {
  const err = (e ?? {}) as { name?: string; message?: string; code?: string; $fault?: string; $metadata?: { httpStatusCode?: number } };
  const name = err.name ?? 'Error';
  const message = err.message ?? String(e);
  const status = err.$metadata?.httpStatusCode;
  const make = (reason: string, retryable: boolean, fix?: string) => new SendError(reason, message, retryable, fix, { cause: e });
  if (THROTTLED.has(name)) return make(name, true);
  if (EXPIRED.has(name)) return make(name, true);
  if (name === 'TimeoutError' || name === 'RequestTimeout' || name === 'RequestTimeoutException') return make('Timeout', true);
  if ((err.code && NETWORK_CODES.has(err.code)) || (status === undefined && err.$fault === undefined && /socket|network|connect|EAI_AGAIN|ENOTFOUND/i.test(message))) {
    return make('NetworkError', true);
  }
  if (err.$fault === 'server' || (status !== undefined && status >= 500)) return make(name, true);
  switch (name) {
    case 'ResourceNotFoundException':
      return make(name, false, `create the Firehose stream ${stream} in ${region}, or set deliveryStreamName (and region) to an existing Direct PUT stream`);
    case 'AccessDeniedException':
    case 'AccessDenied':
    case 'UnrecognizedClientException':
    case 'InvalidSignatureException':
    case 'MissingAuthenticationTokenException':
      return make(name, false, `allow firehose:PutRecordBatch on arn:aws:firehose:${region}:<account>:deliverystream/${stream} in the core device's token exchange role (aws.greengrass.TokenExchangeService)`);
    case 'InvalidKMSResourceException':
      return make(name, false, `the stream's KMS key is unusable: give Firehose access to the key, or change the stream's server-side encryption`);
    case 'InvalidSourceException':
      return make(name, false, `${stream} is not a Direct PUT stream (its source is Kinesis or MSK): point deliveryStreamName at a Direct PUT stream`);
    case 'InvalidArgumentException':
    case 'ValidationException':
    case 'SerializationException':
      return make(name, false, 'the request was refused as malformed: check deliveryStreamName; if it is right, report this as a conduit bug with this log line');
    default:
      // An unknown answer without a status (a client-side fault) or a 429: back off and retry. Any
      // other 4xx is a refusal: the records are kept and retried at the longest backoff.
      if (status === undefined || status === 429) return make(name, true);
      return make(name, false, 'read the error message: Firehose refused the request; the records stay in the spool and are retried at send.maxBackoffMs');
  }
}
