// A local Amazon Data Firehose endpoint (AWS JSON 1.1): PutRecordBatch and PutRecord into delivery
// streams the harness creates, with AWS's limits and injectable faults, keeping every accepted record
// in order so tests can check what arrived, byte for byte.
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  parseJsonObject,
  readBody,
  sendError,
  sendJson,
  startLoopbackServer,
  type AwsJsonError,
  type LoopbackServer,
} from './aws-json';
import { verifySigV4 } from './sigv4';
import type { CredentialRegistry } from './tes';

/** Signing name of Firehose. */
export const FIREHOSE_SIGNING_NAME = 'firehose';
const TARGET_PREFIX = 'Firehose_20150804.';

/** Most records in one PutRecordBatch (API_PutRecordBatch: "up to 500 records"; cannot be changed). */
export const MAX_RECORDS_PER_BATCH = 500;
/** Most decoded bytes in one record: 1,000 KiB (the model's `@length(max: 1024000)` on Record.Data). */
export const MAX_RECORD_BYTES = 1000 * 1024;
/** Most decoded bytes in one PutRecordBatch: 4 MiB ("up to a limit of 4 MB for the entire request"). */
export const MAX_BATCH_BYTES = 4 * 1024 * 1024;

/** Message AWS gives for both per-record and whole-call ServiceUnavailableException. */
export const SLOW_DOWN = 'Slow down.';

/**
 * How an injected fault ends a call.
 * - `internal-failure`: HTTP 500 `InternalFailure` (retried by the SDK as a transient server error).
 * - `service-unavailable`: HTTP 503 `ServiceUnavailableException` "Slow down." This is how Firehose
 *   itself throttles: API_PutRecordBatch says a persisting ServiceUnavailableException means "the
 *   throughput limits have been exceeded for the Firehose stream".
 * - `throttling`: HTTP 400 `ThrottlingException` "Rate exceeded", the common error every AWS API front
 *   end returns for request-rate throttling. Chosen over LimitExceededException, which Firehose
 *   returns only from control-plane calls (it is not among PutRecordBatch's modeled errors).
 * - `record-failures`: HTTP 200 with those records failed in RequestResponses (default
 *   ServiceUnavailableException "Slow down.", as seen from a throttled stream); the others are kept.
 */
export type FirehoseFault =
  | { kind: 'internal-failure' }
  | { kind: 'service-unavailable' }
  | { kind: 'throttling' }
  | { kind: 'record-failures'; indices: readonly number[]; errorCode?: 'ServiceUnavailableException' | 'InternalFailure' };

/** What happens to one call: an added delay, then a fault or (without one) normal processing. */
export interface FirehoseCallPlan {
  delayMs?: number;
  fault?: FirehoseFault;
}

/** What a fault policy is told about the call it decides on. */
export interface FirehoseCall {
  operation: 'PutRecord' | 'PutRecordBatch';
  streamName: string;
  recordCount: number;
  /** 1 for the first call that reached fault injection, then 2, … */
  sequence: number;
}

export type FirehoseFaultPolicy = (call: FirehoseCall) => FirehoseCallPlan | undefined;

/** One record Firehose accepted. */
export interface FirehoseRecord {
  streamName: string;
  recordId: string;
  data: Buffer;
  /** Date.now() when accepted. */
  at: number;
}

export interface LocalFirehoseOptions {
  region: string;
  accountId: string;
  credentials: CredentialRegistry;
}

type Outcome = { output: object } | { error: AwsJsonError };

export class LocalFirehose {
  private readonly streams = new Set<string>();
  private readonly accepted: FirehoseRecord[] = [];
  private readonly planQueue: FirehoseCallPlan[] = [];
  private policy: FirehoseFaultPolicy | undefined;
  private callCount = 0;
  private rejectedCount = 0;
  private planned = 0;
  private server: LoopbackServer | undefined;
  private recordsDir: string | undefined;

  private constructor(private readonly opts: LocalFirehoseOptions) {}

  static async start(opts: LocalFirehoseOptions): Promise<LocalFirehose> {
    const fh = new LocalFirehose(opts);
    fh.server = await startLoopbackServer((req, res) => fh.handle(req, res));
    return fh;
  }

  /** Base URL to pass as the client's `endpoint` or AWS_ENDPOINT_URL_FIREHOSE. */
  get endpoint(): string {
    if (!this.server) throw new Error('LocalFirehose not started');
    return `http://127.0.0.1:${this.server.port}`;
  }

  createDeliveryStream(name: string): void {
    this.streams.add(name);
  }

  /**
   * Plans for the next calls, one each, in order; consulted before the policy. Only calls that pass
   * authentication, validation and the stream lookup take a plan, so a fault lands on the call a test
   * meant rather than on one AWS would have refused anyway.
   */
  enqueueFaults(...plans: FirehoseCallPlan[]): void {
    this.planQueue.push(...plans);
  }

  /** Decides for every call once the queue is empty; undefined to remove. */
  setFaultPolicy(policy: FirehoseFaultPolicy | undefined): void {
    this.policy = policy;
  }

  clearFaults(): void {
    this.planQueue.length = 0;
    this.policy = undefined;
  }

  /** Data of the records accepted into a stream, in arrival order. */
  records(streamName: string): Buffer[] {
    return this.entries(streamName).map((r) => r.data);
  }

  /** Accepted records with their ids and arrival times, all streams unless one is named. */
  entries(streamName?: string): FirehoseRecord[] {
    return this.accepted
      .filter((r) => streamName === undefined || r.streamName === streamName)
      .map((r) => ({ ...r, data: Buffer.from(r.data) }));
  }

  /**
   * From now on, also appends the data of every accepted record to `<dir>/<stream>.jsonl`, records
   * concatenated as Firehose writes them into an S3 object (a demo can point at the file); undefined
   * stops it. The records stay in memory (`records`, `entries`) either way.
   */
  keepRecordsIn(dir: string | undefined): void {
    if (dir !== undefined) mkdirSync(dir, { recursive: true });
    this.recordsDir = dir;
  }

  /** The file `keepRecordsIn` writes a stream's records to. */
  recordsFile(streamName: string): string | undefined {
    // Stream names are [a-zA-Z0-9_.-]; anything else is escaped so a name cannot leave the folder.
    return this.recordsDir === undefined ? undefined : join(this.recordsDir, `${encodeURIComponent(streamName).replace(/^\.+/, '_')}.jsonl`);
  }

  /** Every HTTP request that reached the endpoint. */
  get calls(): number {
    return this.callCount;
  }

  /** Requests answered with an error status (auth, validation, unknown stream, injected faults). */
  get rejectedCalls(): number {
    return this.rejectedCount;
  }

  async close(): Promise<void> {
    await this.server?.close();
    this.server = undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.callCount++;
    const outcome = await this.process(req);
    if ('error' in outcome) {
      this.rejectedCount++;
      return sendError(res, outcome.error);
    }
    sendJson(res, 200, outcome.output);
  }

  private async process(req: IncomingMessage): Promise<Outcome> {
    const body = await readBody(req);
    if (body === undefined) return { error: { status: 413, type: 'RequestEntityTooLargeException', message: 'Request entity too large' } };
    const auth = await verifySigV4(
      { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body },
      { service: FIREHOSE_SIGNING_NAME, region: this.opts.region },
      this.opts.credentials,
    );
    if (!auth.ok) return { error: auth.error };
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '';
    if (operation !== 'PutRecordBatch' && operation !== 'PutRecord') {
      return { error: { status: 400, type: 'UnknownOperationException', message: `Unknown operation ${target}` } };
    }
    const input = parseJsonObject(body);
    if (!input) return { error: serialization('Request body is not a JSON object') };
    const streamName = input.DeliveryStreamName;
    if (typeof streamName !== 'string' || streamName === '') {
      return { error: validation(["Value null at 'deliveryStreamName' failed to satisfy constraint: Member must not be null"]) };
    }
    const decoded =
      operation === 'PutRecordBatch' ? decodeBatch(input.Records) : decodeRecords([input.Record], 'record', false);
    if ('error' in decoded) return decoded;
    if (!this.streams.has(streamName)) {
      return {
        error: {
          status: 400,
          type: 'ResourceNotFoundException',
          message: `Firehose ${streamName} under account ${this.opts.accountId} not found.`,
        },
      };
    }

    const plan = this.nextPlan({ operation, streamName, recordCount: decoded.data.length, sequence: ++this.planned });
    if (plan.delayMs) await sleep(plan.delayMs);
    const fault = plan.fault;
    if (fault?.kind === 'internal-failure') {
      return { error: { status: 500, type: 'InternalFailure', message: 'The request processing has failed because of an unknown error, exception or failure.' } };
    }
    if (fault?.kind === 'service-unavailable') return { error: { status: 503, type: 'ServiceUnavailableException', message: SLOW_DOWN } };
    if (fault?.kind === 'throttling') return { error: { status: 400, type: 'ThrottlingException', message: 'Rate exceeded' } };
    const failed = new Set(fault?.kind === 'record-failures' ? fault.indices : []);
    const errorCode = fault?.kind === 'record-failures' ? (fault.errorCode ?? 'ServiceUnavailableException') : 'ServiceUnavailableException';
    const errorMessage = errorCode === 'ServiceUnavailableException' ? SLOW_DOWN : 'Internal service failure.';

    if (operation === 'PutRecord') {
      // PutRecord has no per-record answer: a failed single record is the whole call failing.
      if (failed.has(0)) return { error: { status: errorCode === 'InternalFailure' ? 500 : 503, type: errorCode, message: errorMessage } };
      return { output: { RecordId: this.accept(streamName, decoded.data[0]).recordId, Encrypted: false } };
    }
    const responses = decoded.data.map((data, i) =>
      failed.has(i) ? { ErrorCode: errorCode, ErrorMessage: errorMessage } : { RecordId: this.accept(streamName, data).recordId },
    );
    const failedPutCount = responses.filter((r) => 'ErrorCode' in r).length;
    return { output: { FailedPutCount: failedPutCount, Encrypted: false, RequestResponses: responses } };
  }

  private nextPlan(call: FirehoseCall): FirehoseCallPlan {
    return this.planQueue.shift() ?? this.policy?.(call) ?? {};
  }

  private accept(streamName: string, data: Buffer): FirehoseRecord {
    // Real record ids are long opaque strings; their only promise is uniqueness.
    const record: FirehoseRecord = { streamName, recordId: randomBytes(42).toString('base64url'), data, at: Date.now() };
    this.accepted.push(record);
    const file = this.recordsFile(streamName);
    if (file !== undefined) appendFileSync(file, data);
    return record;
  }
}

function validation(problems: string[]): AwsJsonError {
  const n = problems.length;
  return {
    status: 400,
    type: 'ValidationException',
    message: `${n} validation error${n === 1 ? '' : 's'} detected: ${problems.join('; ')}`,
  };
}

function serialization(message: string): AwsJsonError {
  return { status: 400, type: 'SerializationException', message };
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Limits are checked in the order AWS's front end does: the model's constraints (record count,
 * record size) are ValidationException, as captured from Firehose ("Value 'java.nio.HeapByteBuffer[…]'
 * at 'records.97.member.data' failed to satisfy constraint: Member must have length less than or equal
 * to 1024000", postmates/cernan#210, osquery/osquery#3568); the whole-request size is checked by the
 * service afterwards and is InvalidArgumentException "Records size exceeds 4 MB limit" (osquery#3568;
 * Kinesis answers its 5 MB limit the same way), the modeled error PutRecordBatch documents.
 */
function decodeBatch(records: unknown): { data: Buffer[] } | { error: AwsJsonError } {
  if (!Array.isArray(records)) {
    return { error: validation(["Value null at 'records' failed to satisfy constraint: Member must not be null"]) };
  }
  const problems: string[] = [];
  if (records.length < 1) problems.push("Value '[]' at 'records' failed to satisfy constraint: Member must have length greater than or equal to 1");
  if (records.length > MAX_RECORDS_PER_BATCH) {
    problems.push(
      `Value '[${records.length} records]' at 'records' failed to satisfy constraint: Member must have length less than or equal to ${MAX_RECORDS_PER_BATCH}`,
    );
  }
  const decoded = decodeRecords(records, 'records', true, problems);
  if ('error' in decoded) return decoded;
  const total = decoded.data.reduce((sum, d) => sum + d.length, 0);
  if (total > MAX_BATCH_BYTES) return { error: { status: 400, type: 'InvalidArgumentException', message: 'Records size exceeds 4 MB limit' } };
  return decoded;
}

function decodeRecords(
  records: unknown[],
  field: 'records' | 'record',
  indexed: boolean,
  problems: string[] = [],
): { data: Buffer[] } | { error: AwsJsonError } {
  const data: Buffer[] = [];
  // Bad base64 fails deserialization before any constraint is looked at, as in AWS.
  const notBase64 = records.some((r) => {
    const raw = r !== null && typeof r === 'object' ? (r as Record<string, unknown>).Data : undefined;
    return typeof raw === 'string' && !BASE64.test(raw);
  });
  if (notBase64) return { error: serialization('Data must be base64-encoded') };
  records.forEach((r, i) => {
    // AWS numbers members from 1 in validation messages.
    const at = indexed ? `${field}.${i + 1}.member.data` : `${field}.data`;
    const raw = r !== null && typeof r === 'object' ? (r as Record<string, unknown>).Data : undefined;
    if (typeof raw !== 'string') {
      problems.push(`Value null at '${at}' failed to satisfy constraint: Member must not be null`);
      return;
    }
    const buf = Buffer.from(raw, 'base64');
    if (buf.length > MAX_RECORD_BYTES) {
      problems.push(
        `Value 'java.nio.HeapByteBuffer[pos=0 lim=${buf.length} cap=${buf.length}]' at '${at}' failed to satisfy constraint: Member must have length less than or equal to ${MAX_RECORD_BYTES}`,
      );
    }
    data.push(buf);
  });
  if (problems.length > 0) return { error: validation(problems) };
  return { data };
}
