// CollectorRuntime: the shell around the pipeline. Order, hold-and-retry, the bounded outbox, permanent
// and unauthorized refusals (held until the deployment allows the topic), the publish-rate budget and the graceful stop, against a fake IoT Core publisher.
// Time is fake: the runtime's `now` reads `clock.ms`, and node:test's mock timers run its intervals
// and timeouts as `advance` moves that clock, in 10 ms steps, letting promises settle after each.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { parseCollectorConfig } from '../../../../components/opcua-collector/src/config';
import { PublishRejectedError } from '../../../../shared/edge/greengrass-ipc';
import { CollectorPipeline } from '../../../../components/opcua-collector/src/pipeline';
import type { IotCorePublisher, PublishFailure } from '../../../../shared/edge/ports';
import { CollectorRuntime } from '../../../../components/opcua-collector/src/runtime';
import type { CollectorConfig } from '../../../../components/opcua-collector/src/config-types';
import type { EncodedMessage } from '../../../../shared/publish';
import { decode } from '../../shared/publish/helpers';
import { BASE_CONFIG } from './config-fixture';
import { CapturedLog } from '../../../harness/captured-log';

const THING = 'gw-unit';
const TELEMETRY = `conduit/${THING}/telemetry`;
const MAPPING = `conduit/${THING}/mapping`;
const METRICS = `conduit/${THING}/metrics`;
const T0 = 1_718_000_000_000;
const SPOOL_FULL: PublishFailure = { retryable: true, reason: `Publish to topic ${TELEMETRY} failed: Message spool is full. Message could not be added.` };

function config(over: { publish?: Record<string, unknown>; metricsIntervalSec?: number; mode?: 'active' | 'shadow' } = {}): CollectorConfig {
  return parseCollectorConfig({
    ...structuredClone(BASE_CONFIG),
    ...(over.mode ? { mode: over.mode } : {}),
    tags: [
      { name: 'Vib01', nodeId: 'ns=3;s=Vib01', mode: 'rms' },
      { name: 'Temp01', nodeId: 'ns=3;s=Temp01', mode: 'deadband', deadband: { absolute: 0.5 } },
    ],
    publish: { intervalMs: 1000, ...over.publish },
    metrics: { intervalSec: over.metricsIntervalSec ?? 3600 },
  });
}

/**
 * A real pipeline whose `tick` hands out the messages a test scripted instead of what samples
 * closed: the runtime's side of the contract is then exact. Payloads are "<stream>#<seq>".
 */
class ScriptedPipeline extends CollectorPipeline {
  private readonly ready: EncodedMessage[] = [];
  private readonly nextSeq = new Map<string, number>();
  finalTicks = 0;

  add(stream: 'rms' | 'deadband' | 'change', count = 1): void {
    for (let i = 0; i < count; i++) {
      const seq = this.nextSeq.get(stream) ?? 0;
      this.nextSeq.set(stream, seq + 1);
      this.ready.push({ stream, seq, payload: Buffer.from(`${stream}#${seq}`), rows: 1 });
    }
  }

  override tick(_nowMs: number, final = false): EncodedMessage[] {
    if (final) this.finalTicks++;
    return this.ready.splice(0);
  }
}

/** What a test's fake nucleus answers to one publish: accept it, or reject with this. */
type Answer = 'accept' | PublishFailure | PublishRejectedError;

interface Publish {
  /** "mapping", "metrics#<seq>" or the scripted payload "<stream>#<seq>"; for a real pipeline, "<type>#<seq>". */
  id: string;
  topic: string;
  qos: 0 | 1;
  retain: boolean;
  atMs: number;
  payload: Buffer;
}

class FakeIotCore implements IotCorePublisher {
  readonly connected = true;
  readonly reconnects = 0;
  readonly attempts: Publish[] = [];
  readonly accepted: Publish[] = [];
  answer: (id: string) => Answer = () => 'accept';

  constructor(private readonly now: () => number) {}

  async publish(topic: string, payload: Buffer, qos: 0 | 1, retain = false): Promise<void> {
    const p: Publish = { id: idOf(payload), topic, qos, retain, atMs: this.now(), payload };
    this.attempts.push(p);
    const a = this.answer(p.id);
    if (a !== 'accept') throw a;
    this.accepted.push(p);
  }
}

function idOf(payload: Buffer): string {
  const text = payload.toString();
  if (!text.startsWith('{')) return text;
  const m = JSON.parse(text) as { type: string; seq?: number };
  return m.type === 'mapping' ? 'mapping' : `${m.type}#${m.seq}`;
}


function rig(t: TestContext, c: CollectorConfig, pipeline?: CollectorPipeline) {
  t.mock.timers.enable({ apis: ['setInterval', 'setTimeout'] });
  const clock = { ms: T0 };
  const now = () => clock.ms;
  const publisher = new FakeIotCore(now);
  const log = new CapturedLog();
  const problems: Array<string | undefined> = [];
  const scripted = new ScriptedPipeline(c, { thingName: THING, runId: 'run-1' });
  const runtime = new CollectorRuntime({
    config: c,
    thingName: THING,
    runId: 'run-1',
    pipeline: pipeline ?? scripted,
    publisher,
    logger: log,
    onProblem: (p) => problems.push(p?.kind),
    now,
  });
  /** Moves the clock and the mocked timers on by `ms`, letting every promise settle after each step. */
  const advance = async (ms: number, stepMs = 10): Promise<void> => {
    for (let done = 0; done < ms; done += stepMs) {
      clock.ms += stepMs;
      t.mock.timers.tick(stepMs);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  };
  /** Stops within `budgetMs` of fake time; resolves with what stop reported and when it returned. */
  const stop = async (budgetMs: number): Promise<{ unsent: number; returnedAtMs: number }> => {
    let result: { unsent: number; returnedAtMs: number } | undefined;
    void runtime.stop(clock.ms + budgetMs).then((r) => (result = { ...r, returnedAtMs: clock.ms }));
    for (let waited = 0; result === undefined && waited < budgetMs + 2_000; waited += 10) await advance(10);
    assert.ok(result, 'stop() returned');
    return result;
  };
  const ids = (ps: readonly Publish[]): string[] => ps.map((p) => p.id);
  const metrics = (): Record<string, any>[] => publisher.accepted.filter((p) => p.topic === METRICS).map((p) => JSON.parse(p.payload.toString()));
  return { clock, publisher, log, problems, scripted, runtime, advance, stop, ids, metrics };
}

test('the mapping goes first (retained), then telemetry in the order the pipeline produced it', async (t) => {
  const r = rig(t, config());
  r.scripted.add('rms');
  r.scripted.add('deadband');
  r.runtime.start();
  await r.advance(1_000);
  r.scripted.add('rms');
  r.scripted.add('change');
  r.scripted.add('rms');
  await r.advance(1_500); // the third goes 50 ms after the tick: the default budget is 20/s with a burst of 2
  assert.deepEqual(r.ids(r.publisher.accepted), ['mapping', 'rms#0', 'deadband#0', 'rms#1', 'change#0', 'rms#2']);
  const [mapping, ...telemetry] = r.publisher.accepted;
  assert.deepEqual([mapping!.topic, mapping!.qos, mapping!.retain], [MAPPING, 1, true], 'a one-part mapping is retained');
  assert.deepEqual(JSON.parse(mapping!.payload.toString()).tags.map((x: { name: string }) => x.name), ['Vib01', 'Temp01']);
  for (const p of telemetry) assert.deepEqual([p.topic, p.qos, p.retain], [TELEMETRY, 1, false]);
  assert.equal(r.publisher.attempts.length, r.publisher.accepted.length, 'each published once');
  assert.deepEqual(r.log.at('error'), []);
});

test('a retryable failure holds the head message and retries it; the next messages wait, nothing is reordered or duplicated', async (t) => {
  const r = rig(t, config());
  let failuresLeft = 4;
  r.publisher.answer = (id) => (id === 'rms#1' && failuresLeft-- > 0 ? SPOOL_FULL : 'accept');
  r.runtime.start();
  r.scripted.add('rms', 2);
  await r.advance(1_000);
  r.scripted.add('deadband');
  await r.advance(1_000);
  r.scripted.add('rms');
  await r.advance(3_500);

  assert.deepEqual(r.ids(r.publisher.accepted), ['mapping', 'rms#0', 'rms#1', 'deadband#0', 'rms#2']);
  const attempts = r.ids(r.publisher.attempts);
  assert.deepEqual(attempts, ['mapping', 'rms#0', 'rms#1', 'rms#1', 'rms#1', 'rms#1', 'rms#1', 'deadband#0', 'rms#2'], 'nothing else was tried while rms#1 was held');
  // Held, not spun on: a retry a second later (or at the next tick), never a tight loop.
  const retries = r.publisher.attempts.filter((p) => p.id === 'rms#1').map((p) => p.atMs);
  for (let i = 1; i < retries.length; i++) assert.ok(retries[i]! - retries[i - 1]! >= 500, `retry ${i} came ${retries[i]! - retries[i - 1]!} ms after the previous attempt`);

  const held = r.log.lines.filter((l) => l.msg === 'publish held for retry');
  assert.equal(held.length, 4);
  for (const l of held) {
    assert.equal(l.level, 'warn');
    assert.deepEqual([l.fields.stream, l.fields.seq, l.fields.topic, l.fields.reason], ['rms', 1, TELEMETRY, SPOOL_FULL.reason]);
  }
  assert.deepEqual(r.log.at('error'), [], 'a held message is not data loss');

  assert.equal((await r.stop(5_000)).unsent, 0);
  const last = r.metrics().at(-1)!;
  assert.equal(last.ipc.publishRetries, 4);
  assert.equal(last.ipc.publishErrors, 0);
  assert.deepEqual(last.lost, { queueFull: 0, rejectedByNucleus: 0, serverOverflow: 0, stages: 0, encoder: 0, captureRecords: 0 });
});

test('a full outbox drops the oldest waiting message, counts it and logs it at ERROR; the in-flight one is kept', async (t) => {
  const r = rig(t, config({ publish: { queueMaxMessages: 3 } }));
  let down = true;
  r.publisher.answer = () => (down ? SPOOL_FULL : 'accept');
  r.runtime.start(); // the mapping goes in flight and is held
  for (let i = 0; i < 5; i++) {
    r.scripted.add('rms');
    await r.advance(1_000);
  }
  // mapping (in flight) + 2 waiting: rms#0, rms#1 and rms#2 made way for rms#2, rms#3 and rms#4.
  const drops = r.log.lines.filter((l) => l.msg.startsWith('publish queue full'));
  assert.deepEqual(
    drops.map((l) => [l.level, l.fields.stream, l.fields.seq, l.fields.waitedMs, l.fields.queueMaxMessages]),
    [
      ['error', 'rms', 0, 2_000, 3],
      ['error', 'rms', 1, 2_000, 3],
      ['error', 'rms', 2, 2_000, 3],
    ],
  );
  assert.match(drops[0]!.msg, /data lost/);

  down = false;
  await r.advance(1_500);
  r.scripted.add('rms'); // and it goes on publishing
  await r.advance(1_000);
  assert.deepEqual(r.ids(r.publisher.accepted), ['mapping', 'rms#3', 'rms#4', 'rms#5']);

  assert.equal((await r.stop(5_000)).unsent, 0);
  const last = r.metrics().at(-1)!;
  assert.equal(last.lost.queueFull, 3);
  assert.equal(last.dropped.queueFull, 3);
});

test('a permanent rejection discards only that message, logs it at ERROR and publishing goes on', async (t) => {
  const r = rig(t, config());
  const tooLarge = new PublishRejectedError(
    `Publish to topic ${TELEMETRY} failed: The publishing message size 140000 bytes exceeds the configured limit of 131072 bytes`,
    false,
  );
  r.publisher.answer = (id) => (id === 'rms#1' ? tooLarge : 'accept');
  r.runtime.start();
  r.scripted.add('rms', 3);
  r.scripted.add('deadband');
  await r.advance(1_500);

  assert.deepEqual(r.ids(r.publisher.accepted), ['mapping', 'rms#0', 'rms#2', 'deadband#0']);
  assert.deepEqual(r.ids(r.publisher.attempts).filter((id) => id === 'rms#1'), ['rms#1'], 'not retried');
  const errors = r.log.at('error');
  assert.equal(errors.length, 1);
  assert.match(errors[0]!.msg, /rejected a message for good \(data lost\)/);
  assert.deepEqual([errors[0]!.fields.stream, errors[0]!.fields.seq, errors[0]!.fields.reason], ['rms', 1, tooLarge.reason]);
  assert.deepEqual(r.problems, []);

  assert.equal((await r.stop(5_000)).unsent, 0);
  const last = r.metrics().at(-1)!;
  assert.equal(last.lost.rejectedByNucleus, 1);
  assert.equal(last.ipc.publishErrors, 1);
  assert.equal(last.ipc.publishRetries, 0);
});

test('an unauthorized topic is an operator problem: reported once, messages held and retried, everything delivered once the deployment allows it', async (t) => {
  const r = rig(t, config({ metricsIntervalSec: 5 }));
  const reason = `UnauthorizedError: Principal conduit.OpcUaCollector is not authorized to perform aws.greengrass.ipc.mqttproxy:aws.greengrass#PublishToIoTCore on resource ${TELEMETRY}`;
  let allowed = false;
  r.publisher.answer = (id) => (id === 'mapping' || allowed ? 'accept' : new PublishRejectedError(reason, true));
  r.runtime.start();
  r.scripted.add('rms', 2);
  await r.advance(1_000);
  r.scripted.add('rms');
  await r.advance(20_000);
  // Metrics wait behind the held message too; the log line and the ERRORED are what an operator sees.

  assert.deepEqual(r.problems, ['publish:unauthorized'], 'reported once, however many retries');
  const errors = r.log.at('error');
  assert.equal(errors.length, 1, 'one ERROR line for the episode');
  assert.match(errors[0]!.msg, /not authorized/);
  assert.match(String(errors[0]!.fields.fix), /accessControl/);
  assert.ok(String(errors[0]!.fields.fix).includes(TELEMETRY), 'the fix names the topic');
  const tries = r.publisher.attempts.filter((p) => p.id === 'rms#0').length;
  assert.ok(tries >= 3 && tries <= 8, `retried with a growing delay (${tries} tries in 20 s)`);
  assert.deepEqual(r.ids(r.publisher.accepted), ['mapping'], 'nothing skipped past the held message');

  // The deployment now allows the topic: the held messages go, in order, and the problem ends.
  allowed = true;
  await r.advance(35_000);
  assert.deepEqual(r.ids(r.publisher.accepted).slice(0, 4), ['mapping', 'rms#0', 'rms#1', 'rms#2']);
  assert.deepEqual(r.problems, ['publish:unauthorized', undefined]);
  assert.equal(r.log.at('info').filter((l) => /authorized again/.test(l.msg)).length, 1);
  const metrics = r.metrics();
  assert.ok(metrics.length > 0);
  assert.equal(metrics.at(0)!.ipc.problem, 'publish:unauthorized', 'the first metrics, held behind the refusal, say why');
  assert.equal(metrics.at(-1)!.ipc.problem, null);
});

for (const perSecond of [5, 20]) {
  test(`the publish rate stays within the budget: at most ${perSecond}/s + burst in any second`, async (t) => {
    const r = rig(t, config({ publish: { maxPublishesPerSecond: perSecond } }));
    const burst = Math.max(1, Math.floor(perSecond / 10));
    const count = perSecond * 4;
    r.runtime.start();
    r.scripted.add('rms', count);
    await r.advance(1_000 + (count / perSecond) * 1_000 + 1_000);

    assert.deepEqual(r.ids(r.publisher.accepted), ['mapping', ...Array.from({ length: count }, (_, i) => `rms#${i}`)], 'everything, in order');
    const times = r.publisher.accepted.map((p) => p.atMs);
    for (const start of times) {
      const inSecond = times.filter((x) => x >= start && x < start + 1_000).length;
      assert.ok(inSecond <= perSecond + burst, `${inSecond} publishes in the second from ${start - T0} ms`);
    }
    // And the budget is used, not wasted: the backlog drains at about the sustained rate.
    const telemetry = times.slice(1);
    const spanMs = telemetry.at(-1)! - telemetry[0]!;
    assert.ok(spanMs >= ((count - 2 * burst) / perSecond) * 1_000 - 100 && spanMs <= ((count + burst) / perSecond) * 1_000 + 200, `${count} publishes took ${spanMs} ms`);
  });
}

test('stop(deadline) closes the open windows, publishes them and the final metrics, and reports nothing unsent', async (t) => {
  const c = config({ metricsIntervalSec: 3600 });
  const pipeline = new CollectorPipeline(c, { thingName: THING, runId: 'run-1' });
  const r = rig(t, c, pipeline);
  r.runtime.start();
  for (let k = 0; k < 6; k++) pipeline.onSample(0, T0 + 100 * k, k, 0); // Vib01: 6 samples of an open window
  pipeline.onSample(1, T0, 20, 0);
  await r.advance(1_500);
  assert.deepEqual(r.ids(r.publisher.accepted), ['mapping', 'deadband#0'], 'the rms window is still open');

  const { unsent } = await r.stop(5_000);
  assert.equal(unsent, 0);
  assert.deepEqual(r.ids(r.publisher.accepted), ['mapping', 'deadband#0', 'rms#0', 'metrics#0']);
  const rms = r.publisher.accepted.find((p) => p.id === 'rms#0')!;
  assert.deepEqual(
    decode(rms.payload).rows.map((x) => [x.tag, x.time, x.count, x.status]),
    [[0, T0, 6, 0]],
    'the open window, closed early as a partial window',
  );
  const m = r.metrics()[0]!;
  assert.equal(m.samplesReceived, 7);
  assert.equal(m.pointsPublished, 2);
  // Stopped: no timer publishes anything more.
  const n = r.publisher.attempts.length;
  await r.advance(5_000);
  assert.equal(r.publisher.attempts.length, n);
});

test('stop(deadline) gives up at the deadline while the nucleus refuses, and reports what is unsent', async (t) => {
  const r = rig(t, config());
  r.publisher.answer = () => SPOOL_FULL;
  r.runtime.start();
  r.scripted.add('rms', 2);
  await r.advance(1_000);
  const startedAtMs = r.clock.ms;
  const { unsent, returnedAtMs } = await r.stop(2_000);
  assert.equal(r.scripted.finalTicks, 1, 'the open windows were closed');
  assert.equal(unsent, 4, 'mapping, rms#0, rms#1 and the final metrics');
  assert.ok(returnedAtMs >= startedAtMs + 2_000 && returnedAtMs <= startedAtMs + 2_200, `returned ${returnedAtMs - startedAtMs} ms after stop()`);
  assert.deepEqual(r.publisher.accepted, []);
  const n = r.publisher.attempts.length;
  await r.advance(3_000);
  assert.equal(r.publisher.attempts.length, n, 'no retries after stop');
});

test('shadow mode: nothing but metrics is published; the metrics say what would have been', async (t) => {
  const r = rig(t, config({ mode: 'shadow', metricsIntervalSec: 2 }));
  r.scripted.add('rms', 3);
  r.scripted.add('deadband');
  r.runtime.start();
  await r.advance(2_100);
  assert.deepEqual(
    r.publisher.accepted.map((p) => p.topic),
    [METRICS],
    'only the metrics message left the gateway',
  );
  const [m] = r.metrics();
  assert.equal(m!.mode, 'shadow');
  assert.deepEqual(m!.shadow.byStream, { mapping: 1, rms: 3, deadband: 1 });
  assert.equal(m!.shadow.messages, 5);
  assert.ok(m!.shadow.bytes > 0);
  assert.equal((await r.stop(1_000)).unsent, 0);
});
