// The sink's runtime shell: it owns the clock and the timers around the spool, the intake and the
// sender. The send loop runs one sender step at a time and sleeps for as long as the step says; a new
// record wakes it from an idle or linger sleep, never from a backoff. Metrics go to IoT Core every
// interval (a publish the nucleus cannot take now is skipped, not queued: the next one carries the
// same cumulative totals). On stop it finishes the call in flight within the deadline. A live
// configuration update pauses the loop the same way (at a step boundary), may swap the sender, and
// resumes; records stay in the spool throughout.
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
  /** What keeps the spool from storing (`spool:ENOSPC`...), or null: reported in the metrics before the sender's problem. */
  spoolProblem?: () => string | null;
}

/** sending: the loop runs; paused: a live update holds it; stopping: for good. */
type LoopState = 'sending' | 'paused' | 'stopping';

export class SinkRuntime {
  private readonly now: () => number;
  private config: SinkConfig;
  private sender: FirehoseSender;
  private metricsTimer: NodeJS.Timeout | undefined;
  private metricsSeq = 0;
  private state: LoopState = 'sending';
  private loopDone: Promise<void> | undefined;
  private inStep: Promise<SenderStep> | undefined;
  private wake: (() => void) | undefined;
  private wakeOnAppend = false;
  /** Appends so far: one that lands while a step runs must not be slept through. */
  private appends = 0;
  private stopped: Promise<StopReport> | undefined;

  constructor(private readonly o: SinkRuntimeOptions) {
    this.now = o.now ?? Date.now;
    this.config = o.config;
    this.sender = o.sender;
  }

  get metricsTopic(): string {
    return this.config.metrics.topic.replace(/\{thingName\}/g, this.o.thingName);
  }

  start(): void {
    this.o.spool.onAppend = () => {
      this.appends++;
      if (this.wakeOnAppend) this.wake?.();
    };
    this.loopDone = this.loop();
    this.startMetricsTimer();
  }

  private startMetricsTimer(): void {
    clearInterval(this.metricsTimer);
    this.metricsTimer = setInterval(() => void this.emitMetrics(), this.config.metrics.intervalSec * 1000);
  }

  private async loop(): Promise<void> {
    while (this.state === 'sending') {
      let step: SenderStep;
      const appendsBefore = this.appends;
      try {
        this.inStep = this.sender.step();
        step = await this.inStep;
      } catch (e) {
        // A bug or an unreadable spool: never a reason to stop delivering what can be delivered.
        this.o.logger.error({ error: e instanceof Error ? (e.stack ?? e.message) : String(e) }, 'the sender failed unexpectedly; trying again at the longest backoff');
        step = { kind: 'backoff', waitMs: this.config.send.maxBackoffMs };
      } finally {
        this.inStep = undefined;
      }
      if (step.kind === 'sent' || this.state !== 'sending') continue;
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

  /**
   * Stops the send loop at a step boundary, for a live configuration update: the call in flight may
   * finish until `deadlineMs`, then it is abandoned (its records stay in the spool and go again, so
   * Firehose may get them twice, never zero times). Records keep being taken meanwhile. Resolves
   * once no step runs; resumeSending starts the loop again.
   */
  async pauseSending(deadlineMs: number): Promise<{ abandonedCall: boolean }> {
    if (this.state !== 'sending') return { abandonedCall: false };
    this.state = 'paused';
    this.wake?.();
    const abandonedCall = await this.finishStep(deadlineMs);
    await this.loopDone;
    return { abandonedCall };
  }

  /**
   * Starts the paused loop again, with `next` in place of the sender if given: the old one gives the
   * records it held for a retry back to the spool, where `next` takes them first, and its totals to
   * `next`. Nothing happens once the runtime is stopping (the spool is closing; what it holds goes
   * at the next start).
   */
  resumeSending(next?: FirehoseSender): void {
    if (this.state !== 'paused') return;
    if (next && next !== this.sender) {
      this.sender.release();
      next.continueFrom(this.sender);
      this.sender = next;
    }
    this.state = 'sending';
    this.loopDone = this.loop();
  }

  /**
   * The configuration the runtime reports and times from: metrics topic, interval and the values in
   * the metrics message. A new interval restarts the metrics timer (the next message comes one new
   * interval from now).
   */
  useConfig(config: SinkConfig): void {
    const intervalChanged = config.metrics.intervalSec !== this.config.metrics.intervalSec;
    this.config = config;
    if (intervalChanged && this.state !== 'stopping' && this.metricsTimer !== undefined) this.startMetricsTimer();
  }

  /** Waits until `deadlineMs` for the step in flight; past it, abandons the call. Returns whether it did. */
  private async finishStep(deadlineMs: number): Promise<boolean> {
    const inStep = this.inStep;
    if (!inStep) return false;
    const settled = inStep.then(
      () => true,
      () => true,
    );
    if (await withDeadline(settled, deadlineMs - this.now())) return false;
    this.sender.abort();
    return true;
  }

  metricsBody(): Record<string, unknown> {
    const nowMs = this.now();
    return buildSinkMetrics({
      thingName: this.o.thingName,
      runId: this.o.runId,
      seq: this.metricsSeq++,
      nowMs,
      intervalSec: this.config.metrics.intervalSec,
      deliveryStreamName: this.config.deliveryStreamName,
      spool: { ...this.o.spool.stats(nowMs), maxBytes: this.config.spool.maxBytes },
      spoolCounters: this.o.spool.counters(),
      recovery: this.o.spool.recovery,
      intake: this.o.intake.counters(),
      sender: this.sender.counters(),
      holding: this.sender.holding,
      problem: this.o.spoolProblem?.() ?? this.sender.problem,
    });
  }

  private async emitMetrics(): Promise<void> {
    const body = this.metricsBody();
    const topic = this.metricsTopic;
    this.o.logger.info({ metrics: body }, 'metrics');
    try {
      await this.o.publisher.publish(topic, Buffer.from(JSON.stringify(body)), 1);
    } catch (e) {
      if (e instanceof PublishRejectedError) {
        this.o.logger.error(
          e.unauthorized
            ? { topic, reason: e.reason, fix: `allow aws.greengrass#PublishToIoTCore on ${topic} in the recipe's accessControl (aws.greengrass.ipc.mqttproxy)` }
            : { topic, reason: e.reason },
          'the nucleus refused the metrics message (metrics lost; records are not affected)',
        );
      } else {
        this.o.logger.warn({ topic, reason: (e as PublishFailure)?.reason ?? String(e) }, 'metrics message skipped: the nucleus cannot take it now');
      }
    }
  }

  /**
   * Graceful stop, in bounded steps so that it ends before `deadlineMs` (SIGTERM plus the stop
   * budget, well inside the nucleus's hard-coded 5 s to SIGKILL): no more put messages are taken;
   * acks already on their way get at most ACK_WAIT_MS; the call in flight may finish until the
   * deadline, then it is abandoned (its records stay in the spool and go again at the next start:
   * Firehose may get them twice, never zero times); the spool and its journal are fsync'd and closed.
   * What could not finish is counted in the report, for the log line before the exit.
   */
  stop(deadlineMs: number): Promise<StopReport> {
    this.stopped ??= this.stopOnce(deadlineMs);
    return this.stopped;
  }

  private async stopOnce(deadlineMs: number): Promise<StopReport> {
    clearInterval(this.metricsTimer);
    const acksOut = await withDeadline(this.o.intake.stop().then(() => true), Math.min(ACK_WAIT_MS, deadlineMs - this.now()));
    const acksNotOut = acksOut ? 0 : this.o.intake.pendingAckCount;
    this.state = 'stopping';
    this.wake?.();
    const inFlight = this.sender.inFlight;
    const abandonedCall = await this.finishStep(deadlineMs);
    // An aborted call ends at once with the SDK; one that ignores the abort must not hold the exit.
    const loopEnded = await withDeadline(this.loopDone?.then(() => true) ?? Promise.resolve(true), LOOP_END_WAIT_MS);
    const body = this.metricsBody();
    this.o.logger.info({ metrics: body }, 'metrics');
    const spooled = this.o.spool.stats(this.now()).records;
    const synced = this.o.spool.close();
    return { abandonedCall, abandonedRecords: abandonedCall ? inFlight : 0, acksNotOut, loopEnded, spooled, synced };
  }
}

/** At most this long for acks on their way at a stop: a nucleus that does not take them now will not soon. */
export const ACK_WAIT_MS = 500;
/** At most this long for the send loop to end once its call was abandoned. */
export const LOOP_END_WAIT_MS = 300;

/** What a stop finished and what it left for the next start (nothing of it is lost). */
export interface StopReport {
  /** The PutRecordBatch call in flight was abandoned at the deadline. */
  abandonedCall: boolean;
  /** Records in that call: still in the spool, sent again at the next start (maybe a second time). */
  abandonedRecords: number;
  /** Acks not yet out at the stop: those records are stored; the producer re-sends them and is acknowledged as duplicates. */
  acksNotOut: number;
  /** False when the send loop had not ended in time (a call that ignored its abort). */
  loopEnded: boolean;
  /** Records left in the spool for the next start. */
  spooled: number;
  /** False when the final fsync of the spool or the journal failed (nothing acknowledged depends on it: every ack followed its own fsync). */
  synced: boolean;
}

/** Resolves with the promise's value, or `late` (false unless given) once `ms` has passed. */
export async function withDeadline<T, L = false>(p: Promise<T>, ms: number, late: L = false as L): Promise<T | L> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<L>((r) => (timer = setTimeout(() => r(late), Math.max(0, ms))))]);
  } finally {
    clearTimeout(timer);
  }
}
