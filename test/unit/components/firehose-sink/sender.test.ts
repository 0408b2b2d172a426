// FirehoseSender against a real spool and a fake PutRecordBatch: it lingers to fill records, re-sends
// only the records Firehose refused (by index, never the accepted ones), backs off with capped
// exponential delays on whole-call failures, waits the longest backoff on errors retrying cannot fix,
// and a record leaves the spool only once Firehose accepted it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff } from '../../../../shared/backoff';
import { FirehoseSpool } from '../../../../components/firehose-sink/src/spool';
import { FirehoseSender, type SenderStep } from '../../../../components/firehose-sink/src/sender';
import { SendError } from '../../../../components/firehose-sink/src/errors';
import { classifyFirehoseError } from '../../../../components/firehose-sink/src/firehose-client';
import type { FailedRecord, RecordBatchPutter } from '../../../../components/firehose-sink/src/ports';
import { CapturedLog, rec, tempDir } from './helpers';

const T0 = 1_750_000_000_000;

/** A PutRecordBatch that records every call and answers from a script (then accepts everything). */
class FakeFirehose implements RecordBatchPutter {
  readonly calls: Buffer[][] = [];
  readonly accepted: Buffer[] = [];
  constructor(readonly script: Array<(records: Buffer[]) => { failed: FailedRecord[] } | Error> = []) {}
  async putRecordBatch(records: Buffer[]): Promise<{ failed: FailedRecord[] }> {
    this.calls.push(records);
    const answer = this.script.shift()?.(records) ?? { failed: [] };
    if (answer instanceof Error) throw answer;
    const failed = new Set(answer.failed.map((f) => f.index));
    records.forEach((r, i) => failed.has(i) || this.accepted.push(r));
    return answer;
  }
  /** Every line Firehose accepted, in order. */
  lines(): string[] {
    return this.accepted.flatMap((r) => r.toString().split('\n').slice(0, -1));
  }
}

const failRecords = (...indices: number[]) => () => ({ failed: indices.map((index) => ({ index, code: 'ServiceUnavailableException', message: 'Slow down.' })) });

function setup(
  t: { after(fn: () => void): void },
  fake: FakeFirehose,
  opts: { maxRecordBytes?: number; lingerMs?: number; random?: number; onProblem?: (p: { kind: string; fix: string } | undefined) => void } = {},
) {
  const { dir, remove } = tempDir();
  const log = new CapturedLog();
  const spool = FirehoseSpool.open({ dir, maxBytes: 64 << 20, segmentBytes: 8 << 20, logger: log });
  t.after(() => {
    spool.close();
    remove();
  });
  const clock = { now: T0 };
  const backoff = new Backoff({ initialDelayMs: 500, maxDelayMs: 4000 }, () => opts.random ?? 0.5);
  const sender = new FirehoseSender({
    spool,
    client: fake,
    backoff,
    logger: log,
    maxRecordBytes: opts.maxRecordBytes ?? 1_024_000,
    lingerMs: opts.lingerMs ?? 1000,
    maxBackoffMs: 4000,
    now: () => clock.now,
    ...(opts.onProblem ? { onProblem: opts.onProblem } : {}),
  });
  return { spool, sender, log, clock, dir };
}

/** Steps until the sender has nothing to do; returns every step taken. */
async function drain(sender: FirehoseSender): Promise<SenderStep[]> {
  const steps: SenderStep[] = [];
  for (let i = 0; i < 100; i++) {
    const s = await sender.step(true);
    steps.push(s);
    if (s.kind === 'idle') return steps;
  }
  throw new Error('the sender did not settle');
}

const line = (id: string, bytes = 100) => rec(id, bytes - 1);

test('records linger to fill records, then go in one call, newline-terminated and in order', async (t) => {
  const fake = new FakeFirehose();
  const { spool, sender, clock } = setup(t, fake);
  assert.deepEqual(await sender.step(), { kind: 'idle' });
  spool.append([line('a'), line('b')], T0);
  clock.now = T0 + 200;
  assert.deepEqual(await sender.step(), { kind: 'linger', waitMs: 800 });
  spool.append([line('c')], T0 + 300);
  clock.now = T0 + 1000;
  assert.deepEqual(await sender.step(), { kind: 'sent' });
  assert.equal(fake.calls.length, 1);
  assert.equal(fake.calls[0]!.length, 1, 'three lines packed into one Firehose record');
  assert.deepEqual(fake.lines().map((l) => JSON.parse(l).id), ['a', 'b', 'c']);
  assert.equal(spool.stats(clock.now).records, 0, 'delivered records leave the spool');
  assert.deepEqual(sender.counters(), { ...sender.counters(), calls: 1, records: 3, firehoseRecords: 1, bytes: 300 });
});

test('a full call goes at once, without waiting for the linger', async (t) => {
  const fake = new FakeFirehose();
  const { spool, sender } = setup(t, fake);
  spool.append(Array.from({ length: 5 }, (_, i) => line(`big${i}`, 1_000_000)), T0);
  assert.deepEqual(await sender.step(), { kind: 'sent' });
  assert.equal(fake.calls[0]!.length, 4, '4 lines of 1 MB fill the 4 MiB call');
  assert.equal(spool.stats(T0).records, 1);
});

test('a partial failure re-sends only the failed records, by index', async (t) => {
  // One line per record (the target equals the line size), so indices name lines.
  const fake = new FakeFirehose([failRecords(1, 3)]);
  const { spool, sender, log } = setup(t, fake, { maxRecordBytes: 100 });
  spool.append(['r0', 'r1', 'r2', 'r3', 'r4'].map((id) => line(id)), T0);
  assert.deepEqual(await sender.step(true), { kind: 'backoff', waitMs: 250 });
  assert.deepEqual(fake.lines().map((l) => JSON.parse(l).id), ['r0', 'r2', 'r4']);
  assert.equal(spool.stats(T0).records, 2, 'the refused records are still in the spool');
  // New records arriving meanwhile do not join the retry.
  spool.append([line('r5')], T0);
  assert.deepEqual(await sender.step(), { kind: 'sent' });
  assert.deepEqual(fake.calls[1]!.map((r) => JSON.parse(r.toString()).id), ['r1', 'r3']);
  await drain(sender);
  assert.deepEqual(fake.lines().map((l) => JSON.parse(l).id), ['r0', 'r2', 'r4', 'r1', 'r3', 'r5'], 'each record exactly once');
  const c = sender.counters();
  assert.deepEqual([c.calls, c.records, c.retriedCalls, c.retriedRecords, c.failedRecords], [3, 6, 1, 2, { ServiceUnavailableException: 2 }]);
  assert.equal(log.at('warn').filter((l) => l.msg === 'Firehose refused some records of a call; retrying only those').length, 1);
  assert.equal(log.at('error').length, 0);
});

test('a refused record of several lines re-sends exactly those lines', async (t) => {
  const fake = new FakeFirehose([failRecords(1)]);
  const { spool, sender } = setup(t, fake, { maxRecordBytes: 300 });
  spool.append(Array.from({ length: 9 }, (_, i) => line(`m${i}`)), T0);
  await sender.step(true);
  assert.equal(fake.calls[0]!.length, 3);
  await drain(sender);
  assert.deepEqual(fake.calls[1]!.map((r) => r.toString().split('\n').slice(0, -1).map((l) => JSON.parse(l).id)), [['m3', 'm4', 'm5']]);
  assert.deepEqual(fake.lines().map((l) => JSON.parse(l).id).sort(), Array.from({ length: 9 }, (_, i) => `m${i}`));
});

test('whole-call failures retry the same records with capped exponential backoff, reset by a success', async (t) => {
  const throttled = () => new SendError('ServiceUnavailableException', 'Slow down.', true);
  const fake = new FakeFirehose([throttled, throttled, throttled, throttled, throttled]);
  const { spool, sender, log } = setup(t, fake, { random: 0.5 });
  spool.append([line('w1'), line('w2')], T0);
  const waits: number[] = [];
  for (let i = 0; i < 5; i++) {
    const s = await sender.step(true);
    assert.equal(s.kind, 'backoff');
    waits.push((s as { waitMs: number }).waitMs);
  }
  // Half of 500, 1000, 2000, 4000 (the cap), 4000.
  assert.deepEqual(waits, [250, 500, 1000, 2000, 2000]);
  assert.ok(fake.calls.every((c) => c[0]!.equals(fake.calls[0]![0]!)), 'the same record every time');
  assert.deepEqual(await sender.step(), { kind: 'sent' });
  assert.deepEqual(fake.lines().map((l) => JSON.parse(l).id), ['w1', 'w2']);
  assert.deepEqual(sender.counters().failedCalls, { ServiceUnavailableException: 5 });
  assert.equal(log.at('error').length, 0, 'throttling loses nothing: no ERROR');
  // The next failure starts from the initial delay again.
  fake.script.push(throttled);
  spool.append([line('w3')], T0);
  assert.deepEqual(await sender.step(true), { kind: 'backoff', waitMs: 250 });
});

test('an error only a configuration change can fix waits the longest backoff, at ERROR with the fix; the records stay', async (t) => {
  const notFound = () => classifyFirehoseError(Object.assign(new Error('Firehose s under account 1 not found.'), { name: 'ResourceNotFoundException', $fault: 'client', $metadata: { httpStatusCode: 400 } }), 's', 'eu-central-1');
  const fake = new FakeFirehose([notFound, notFound]);
  const problems: ({ kind: string; fix: string } | undefined)[] = [];
  const { spool, sender, log } = setup(t, fake, { onProblem: (p) => problems.push(p) });
  spool.append([line('n1')], T0);
  assert.equal(sender.problem, null);
  assert.deepEqual(await sender.step(true), { kind: 'backoff', waitMs: 4000 });
  assert.deepEqual(await sender.step(true), { kind: 'backoff', waitMs: 4000 });
  assert.equal(sender.problem, 'firehose:ResourceNotFoundException');
  assert.equal(spool.stats(T0).records, 1);
  const errors = log.at('error');
  assert.equal(errors.length, 2);
  assert.match(String(errors[0]!.fields.fix), /create the Firehose stream s in eu-central-1/);
  assert.equal(errors[0]!.fields.reason, 'ResourceNotFoundException');
  assert.deepEqual(await sender.step(), { kind: 'sent' });
  assert.equal(spool.stats(T0).records, 0);
  assert.equal(sender.problem, null);
  // Each refusal is a problem for an operator (ERRORED, rate-limited by the entry point); the answered call ends it.
  assert.deepEqual(problems.map((p) => p?.kind), ['firehose:ResourceNotFoundException', 'firehose:ResourceNotFoundException', undefined]);
  assert.match(problems[0]!.fix, /create the Firehose stream s in eu-central-1/);
});

test('held records evicted by a full spool are not sent again', async (t) => {
  const fake = new FakeFirehose([() => new SendError('InternalFailure', 'boom', true)]);
  const { dir, remove } = tempDir();
  const log = new CapturedLog();
  const spool = FirehoseSpool.open({ dir, maxBytes: 8 * 1024, segmentBytes: 2 * 1024, logger: log });
  t.after(() => {
    spool.close();
    remove();
  });
  const sender = new FirehoseSender({ spool, client: fake, backoff: new Backoff({ initialDelayMs: 10, maxDelayMs: 10 }, () => 0), logger: log, maxRecordBytes: 1_024_000, lingerMs: 0, maxBackoffMs: 10, now: () => T0 });
  spool.append([line('old1', 900), line('old2', 900)], T0);
  await sender.step();
  for (let i = 0; i < 10; i++) spool.append([line(`new${i}`, 900)], T0);
  assert.ok(spool.counters().evictedRecords >= 2);
  await drain(sender);
  const sent = fake.lines().map((l) => JSON.parse(l).id);
  assert.ok(!sent.includes('old1') && !sent.includes('old2'));
  assert.ok(sent.includes('new9'));
});

test('after a restart, every record spooled and not delivered is sent, and delivered ones are not', async (t) => {
  const { dir, remove } = tempDir();
  t.after(remove);
  const log = new CapturedLog();
  const make = (spool: FirehoseSpool, fake: FakeFirehose) =>
    new FirehoseSender({ spool, client: fake, backoff: new Backoff({ initialDelayMs: 10, maxDelayMs: 10 }, () => 0), logger: log, maxRecordBytes: 100, lingerMs: 0, maxBackoffMs: 10, now: () => T0 });
  const first = FirehoseSpool.open({ dir, maxBytes: 1 << 20, segmentBytes: 64 << 10, logger: log });
  const fake1 = new FakeFirehose([failRecords(2), () => new SendError('NetworkError', 'socket hang up', true)]);
  first.append(Array.from({ length: 6 }, (_, i) => line(`x${i}`)), T0);
  const s1 = make(first, fake1);
  await s1.step(true); // x2 refused and held
  await s1.step(true); // the retry fails: x2 still held
  // Crash. The next run finds x2 only.
  const second = FirehoseSpool.open({ dir, maxBytes: 1 << 20, segmentBytes: 64 << 10, logger: log });
  t.after(() => second.close());
  const fake2 = new FakeFirehose();
  await drain(make(second, fake2));
  assert.deepEqual(fake2.lines().map((l) => JSON.parse(l).id), ['x2']);
  first.close();
});

test('a replaced sender gives back what it held; its successor sends it first and continues its totals', async (t) => {
  const fake1 = new FakeFirehose([failRecords(1)]);
  const { spool, sender, log } = setup(t, fake1, { maxRecordBytes: 100, lingerMs: 0 });
  spool.append([line('h0'), line('h1'), line('h2')], T0);
  assert.equal((await sender.step(true)).kind, 'backoff');
  assert.equal(sender.holding, 1, 'h1 is held for a retry');
  spool.append([line('h3')], T0);
  sender.release();
  assert.equal(sender.holding, 0);
  const fake2 = new FakeFirehose();
  const next = new FirehoseSender({
    spool,
    client: fake2,
    backoff: new Backoff({ initialDelayMs: 10, maxDelayMs: 10 }, () => 0),
    logger: log,
    maxRecordBytes: 100,
    lingerMs: 0,
    maxBackoffMs: 10,
    now: () => T0,
  });
  next.continueFrom(sender);
  await drain(next);
  assert.deepEqual(fake2.lines().map((l) => JSON.parse(l).id), ['h1', 'h3'], 'the held record first, then the newer one');
  assert.deepEqual(fake1.lines().map((l) => JSON.parse(l).id), ['h0', 'h2']);
  const c = next.counters();
  assert.equal(c.records, 4, 'accepted lines of both senders');
  assert.deepEqual(c.failedRecords, { ServiceUnavailableException: 1 });
  assert.equal(sender.counters().records, 2, 'the old sender counts on its own');
});

test('failures are classified by what retrying can do', () => {
  const c = (e: object) => classifyFirehoseError(Object.assign(new Error((e as { message?: string }).message ?? 'x'), e), 'stream', 'eu-west-1');
  const cases = [
    [{ name: 'ServiceUnavailableException', $fault: 'server', $metadata: { httpStatusCode: 503 } }, 'ServiceUnavailableException', true],
    [{ name: 'ThrottlingException', $fault: 'client', $metadata: { httpStatusCode: 400 } }, 'ThrottlingException', true],
    [{ name: 'InternalFailure', $fault: 'server', $metadata: { httpStatusCode: 500 } }, 'InternalFailure', true],
    [{ name: 'Error', code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:1' }, 'NetworkError', true],
    [{ name: 'TimeoutError' }, 'Timeout', true],
    [{ name: 'CredentialsProviderError', message: 'Could not load credentials from any providers' }, 'CredentialsProviderError', true],
    [{ name: 'ResourceNotFoundException', $fault: 'client', $metadata: { httpStatusCode: 400 } }, 'ResourceNotFoundException', false],
    [{ name: 'AccessDeniedException', $fault: 'client', $metadata: { httpStatusCode: 400 } }, 'AccessDeniedException', false],
    [{ name: 'InvalidArgumentException', $fault: 'client', $metadata: { httpStatusCode: 400 } }, 'InvalidArgumentException', false],
  ] as const;
  for (const [shape, reason, retryable] of cases) {
    const e = c(shape);
    assert.deepEqual([e.reason, e.retryable], [reason, retryable], JSON.stringify(shape));
    if (!retryable) assert.ok(e.fix && e.fix.length > 20, `${reason} has a fix`);
  }
  assert.match(c({ name: 'AccessDeniedException', $fault: 'client', $metadata: { httpStatusCode: 400 } }).fix!, /firehose:PutRecordBatch on arn:aws:firehose:eu-west-1:<account>:deliverystream\/stream/);
});
