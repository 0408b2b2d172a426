// The sink's runtime shell: it owns the clock and the timers around the spool, the intake and the
// sender. The send loop runs one sender step at a time and sleeps for as long as the step says; a new
// record wakes it from an idle or linger sleep, never from a backoff. Metrics go to IoT Core every
// interval (a publish the nucleus cannot take now is skipped, not queued: the next one carries the
// same cumulative totals). On stop it finishes the call in flight within the deadline.
import { PublishRejectedError } from '../../../shared/edge/greengrass-ipc';
import type { SinkConfig } from './config';
import type { SinkIntake } from './intake';
import { buildSinkMetrics } from './metrics';
import type { IotCorePublisher, Logger, PublishFailure } from './ports';
import type { FirehoseSender, SenderStep } from './sender';
import type { FirehoseSpool } from './spool';

export interface SinkRuntimeOptions {
  config: SinkConfig;
  thingName: string;
  runId: string;
  spool: FirehoseSpool;
  intake: SinkIntake;
  sender: FirehoseSender;
  publisher: IotCorePublisher;
  logger: Logger;
  now?: () => number;
}

export class SinkRuntime {
  readonly metricsTopic: string;
  private readonly now: () => number;
  private metricsTimer: NodeJS.Timeout | undefined;
  private metricsSeq = 0;
  private stopping = false;
  private loopDone: Promise<void> | undefined;
  private inStep: Promise<SenderStep> | undefined;
  private wake: (() => void) | undefined;
  private wakeOnAppend = false;
  /** Appends so far: one that lands while a step runs must not be slept through. */
  private appends = 0;
  private stopped: Promise<{ abandonedCall: boolean; spooled: number }> | undefined;

  constructor(private readonly o: SinkRuntimeOptions) {
    this.now = o.now ?? Date.now;
    this.metricsTopic = o.config.metrics.topic.replace(/\{thingName\}/g, o.thingName);
  }

  start(): void {
    this.o.spool.onAppend = () => {
      this.appends++;
      if (this.wakeOnAppend) this.wake?.();
    };
    this.loopDone = this.loop();
    this.metricsTimer = setInterval(() => void this.emitMetrics(), this.o.config.metrics.intervalSec * 1000);
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      let step: SenderStep;
      const appendsBefore = this.appends;
      try {
        this.inStep = this.o.sender.step();
        step = await this.inStep;
      } catch (e) {
        // A bug or an unreadable spool: never a reason to stop delivering what can be delivered.
        this.o.logger.error({ error: e instanceof Error ? (e.stack ?? e.message) : String(e) }, 'the sender failed unexpectedly; trying again at the longest backoff');
        step = { kind: 'backoff', waitMs: this.o.config.send.maxBackoffMs };
      } finally {
        this.inStep = undefined;
      }
      if (step.kind === 'sent' || this.stopping) continue;
      if (step.kind !== 'backoff' && this.appends !== appendsBefore) continue;
      await this.sleep(step.kind === 'idle' ? undefined : step.waitMs, step.kind !== 'backoff');
    }
  }

  /** Sleeps `ms` (forever when undefined) or until stop; `wakeable`: a new record ends it early too. */
  private sleep(ms: number | undefined, wakeable: boolean): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wake = undefined;
        this.wakeOnAppend = false;
        resolve();
      };
      const timer = ms === undefined ? undefined : setTimeout(done, ms);
      this.wake = done;
      this.wakeOnAppend = wakeable;
    });
  }

  metricsBody(): Record<string, unknown> {
    const nowMs = this.now();
    return buildSinkMetrics({
      thingName: this.o.thingName,
      runId: this.o.runId,
      seq: this.metricsSeq++,
      nowMs,
      intervalSec: this.o.config.metrics.intervalSec,
      deliveryStreamName: this.o.config.deliveryStreamName,
      spool: { ...this.o.spool.stats(nowMs), maxBytes: this.o.config.spool.maxBytes },
      spoolCounters: this.o.spool.counters(),
      recovery: this.o.spool.recovery,
      intake: this.o.intake.counters(),
      sender: this.o.sender.counters(),
      holding: this.o.sender.holding,
    });
  }

  private async emitMetrics(): Promise<void> {
    const body = this.metricsBody();
    this.o.logger.info({ metrics: body }, 'metrics');
    try {
      await this.o.publisher.publish(this.metricsTopic, Buffer.from(JSON.stringify(body)), 1);
    } catch (e) {
      if (e instanceof PublishRejectedError) {
        this.o.logger.error(
          e.unauthorized
            ? { topic: this.metricsTopic, reason: e.reason, fix: `allow aws.greengrass#PublishToIoTCore on ${this.metricsTopic} in the recipe's accessControl (aws.greengrass.ipc.mqttproxy)` }
            : { topic: this.metricsTopic, reason: e.reason },
          'the nucleus refused the metrics message (metrics lost; records are not affected)',
        );
      } else {
        this.o.logger.warn({ topic: this.metricsTopic, reason: (e as PublishFailure)?.reason ?? String(e) }, 'metrics message skipped: the nucleus cannot take it now');
      }
    }
  }

  /**
   * Graceful stop: no more put messages are taken; the call in flight may finish until `deadlineMs`
   * (the recipe's Shutdown timeout less a margin), then it is abandoned. Everything not delivered
   * stays in the spool for the next run.
   */
  stop(deadlineMs: number): Promise<{ abandonedCall: boolean; spooled: number }> {
    this.stopped ??= this.stopOnce(deadlineMs);
    return this.stopped;
  }

  private async stopOnce(deadlineMs: number): Promise<{ abandonedCall: boolean; spooled: number }> {
    clearInterval(this.metricsTimer);
    await withDeadline(this.o.intake.stop(), deadlineMs - this.now());
    this.stopping = true;
    this.wake?.();
    let abandonedCall = false;
    const inStep = this.inStep;
    if (inStep && !(await withDeadline(inStep.then(() => true), deadlineMs - this.now()))) {
      abandonedCall = true;
      this.o.sender.abort();
    }
    await this.loopDone;
    const body = this.metricsBody();
    this.o.logger.info({ metrics: body }, 'metrics');
    const spooled = this.o.spool.stats(this.now()).records;
    this.o.spool.close();
    return { abandonedCall, spooled };
  }
}

/** Resolves with the promise's value, or false once `ms` has passed. */
async function withDeadline<T>(p: Promise<T>, ms: number): Promise<T | false> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<false>((r) => (timer = setTimeout(() => r(false), Math.max(0, ms))))]);
  } finally {
    clearTimeout(timer);
  }
}
