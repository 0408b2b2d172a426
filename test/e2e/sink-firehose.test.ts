// The sink's sender with the real @aws-sdk/client-firehose (default credential chain through the local
// token exchange service, endpoint from AWS_ENDPOINT_URL_FIREHOSE) against the local Firehose: per-record
// failures are re-sent by index, throttling and server errors are retried, a timed-out call is retried
// (its records may then arrive twice, never lost), and a missing stream is an error with its fix.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff } from '../../shared/backoff';
import { FirehoseSpool } from '../../components/firehose-sink/src/spool';
import { FirehoseSender, type SenderStep } from '../../components/firehose-sink/src/sender';
import { FirehosePutter } from '../../components/firehose-sink/src/firehose-client';
import { LocalAws, type ClientEnv } from '../harness/aws/local-aws';
import { CapturedLog, rec, tempDir } from '../unit/components/firehose-sink/helpers';

const TOKEN = 'svcuid-sink-sender';
const STREAM = 'conduit-sink-test';
const T = { timeout: 30_000 };

let aws: LocalAws;
let restoreEnv: () => void;

/** Applies a client environment to process.env; returns what puts it back. */
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

function setup(t: { after(fn: () => void): void }, opts: { stream?: string; maxRecordBytes?: number; requestTimeoutMs?: number } = {}) {
  const { dir, remove } = tempDir();
  const log = new CapturedLog();
  const spool = FirehoseSpool.open({ dir, maxBytes: 64 << 20, segmentBytes: 8 << 20, logger: log });
  // No client passed: the putter builds the SDK client the way the component does.
  const putter = new FirehosePutter({ deliveryStreamName: opts.stream ?? STREAM, region: aws.region, requestTimeoutMs: opts.requestTimeoutMs ?? 10_000 });
  t.after(() => {
    putter.destroy();
    spool.close();
    remove();
  });
  const sender = new FirehoseSender({
    spool,
    client: putter,
    backoff: new Backoff({ initialDelayMs: 20, maxDelayMs: 200 }, Math.random),
    logger: log,
    maxRecordBytes: opts.maxRecordBytes ?? 1_024_000,
    lingerMs: 0,
    maxBackoffMs: 200,
    now: Date.now,
  });
  return { spool, sender, log };
}

/** Steps (sleeping as told) until nothing is left to send. */
async function drain(sender: FirehoseSender, maxSteps = 50): Promise<SenderStep[]> {
  const steps: SenderStep[] = [];
  for (let i = 0; i < maxSteps; i++) {
    const s = await sender.step(true);
    steps.push(s);
    if (s.kind === 'idle') return steps;
    if (s.kind === 'backoff') await new Promise((r) => setTimeout(r, s.waitMs));
  }
  assert.fail(`not drained after ${maxSteps} steps: ${JSON.stringify(steps.slice(-3))}`);
}

function deliveredIds(from: number): string[] {
  return aws.firehose
    .records(STREAM)
    .slice(from)
    .flatMap((r) => r.toString('utf8').split('\n').slice(0, -1))
    .map((l) => JSON.parse(l).id as string);
}

test('per-record failures, throttling and server errors: every record arrives exactly once', T, async (t) => {
  // 100-byte lines, 300-byte records: 3 lines per Firehose record, so indices name groups of lines.
  const { spool, sender, log } = setup(t, { maxRecordBytes: 300 });
  const ids = Array.from({ length: 30 }, (_, i) => `rec-${String(i).padStart(2, '0')}`);
  spool.append(ids.map((id) => rec(id, 99)), Date.now());
  const before = aws.firehose.records(STREAM).length;
  aws.firehose.enqueueFaults(
    { fault: { kind: 'record-failures', indices: [1, 4] } },
    { fault: { kind: 'service-unavailable' } },
    { fault: { kind: 'throttling' } },
    { fault: { kind: 'internal-failure' } },
    { fault: { kind: 'record-failures', indices: [0], errorCode: 'InternalFailure' } },
  );
  await drain(sender);
  const got = deliveredIds(before);
  assert.deepEqual([...got].sort(), ids, 'every id once');
  // The first call took everything but records 1 and 4; the retries carried only their six lines.
  assert.deepEqual(got.slice(0, 24), ids.filter((_, i) => ![3, 4, 5, 12, 13, 14].includes(i)));
  const c = sender.counters();
  assert.deepEqual(c.failedCalls, { ServiceUnavailableException: 1, ThrottlingException: 1, InternalFailure: 1 });
  assert.deepEqual(c.failedRecords, { ServiceUnavailableException: 2, InternalFailure: 1 });
  assert.equal(c.records, 30);
  assert.equal(c.retriedRecords, 6 * 4 + 3, 'only the refused lines were re-sent');
  assert.equal(spool.stats(Date.now()).records, 0);
  assert.equal(log.at('error').length, 0);
});

test('a call that times out is retried: its records may arrive twice, each the same whole line', T, async (t) => {
  const { spool, sender } = setup(t, { requestTimeoutMs: 1000 });
  const ids = ['slow-a', 'slow-b', 'slow-c'];
  spool.append(ids.map((id) => rec(id, 200)), Date.now());
  const before = aws.firehose.records(STREAM).length;
  // The first answer comes after the client gave up; the server still accepts that call.
  aws.firehose.enqueueFaults({ delayMs: 1500 });
  await drain(sender);
  assert.deepEqual(sender.counters().failedCalls, { Timeout: 1 });
  const deadline = Date.now() + 5000;
  while (deliveredIds(before).length < 6 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const got = deliveredIds(before);
  assert.deepEqual([...new Set(got)].sort(), ids);
  assert.deepEqual(got.sort(), [...ids, ...ids].sort(), 'the duplicates are whole records of the same ids');
});

test('a stream that does not exist keeps the records and logs the fix at ERROR', T, async (t) => {
  const { spool, sender, log } = setup(t, { stream: 'no-such-stream' });
  spool.append([rec('kept')], Date.now());
  const step = await sender.step(true);
  assert.deepEqual(step, { kind: 'backoff', waitMs: 200 });
  assert.equal(spool.stats(Date.now()).records, 1);
  const [e] = log.at('error');
  assert.equal(e!.fields.reason, 'ResourceNotFoundException');
  assert.match(String(e!.fields.fix), /create the Firehose stream no-such-stream in eu-central-1/);
});
