// The collector's runtime shell: it owns the clock and the timers around the pure pipeline. Every
// publish interval it flushes the pipeline into the outbox and pumps the outbox into IoT Core, one
// message at a time (order is kept), within the publish-rate budget. A retryable failure (nucleus
// spool full, IPC down, a timed-out call) holds the message and retries it; the outbox is bounded
// and drops its oldest message, counted and logged at ERROR, only when it is full.
import { Outbox, RateBudget, buildMappingMessages, expandTopic, type EncodedMessage } from '../../../shared/publish';
import { encodeCaptureParts, type Capture } from '../../../shared/burst';
import { MAX_RECORD_DATA_BYTES, type HandoffRecord } from '../../../shared/handoff/protocol';
import type { AlarmLedger } from './alarm-ledger';
import { closeLeftOpen, closeOwnAlarms } from './alarm-closes';
import { buildAlarmMessage, openAlarmOf, type CloseContext } from './alarm-message';
import type { CaptureHandoff } from './capture-handoff';
import type { CollectorConfig } from './config-types';
import { PublishRejectedError } from '../../../shared/edge/greengrass-ipc';
import { buildMetrics } from './metrics';
import type { CollectorPipeline } from './pipeline';
import type { IotCorePublisher, Logger, OpcUaSource, PublishFailure } from './ports';
import type { OperatorProblem } from '../../../shared/edge/errored-report';

/** Wait before retrying a message the nucleus could not take (spool full, IPC down). */
const RETRY_DELAY_MS = 1_000;
/** Retry of a publish the nucleus refused as unauthorized: from 1 s, doubling to 30 s. */
const UNAUTHORIZED_RETRY_MIN_MS = 1_000;
const UNAUTHORIZED_RETRY_MAX_MS = 30_000;
/** The mapping is published at start and again this often, for readers that missed it. */
const MAPPING_REPEAT_MS = 3_600_000;

export interface RuntimeOptions {
  config: CollectorConfig;
  thingName: string;
  runId: string;
  pipeline: CollectorPipeline;
  publisher: IotCorePublisher & { readonly connected?: boolean; reconnects?: number };
  logger: Logger;
  /**
   * `aliveAsOfMs`: how far (source clock) the server has confirmed that quiet tags are unchanged; deadband
   * and change tags repeat their last point as a keep-alive heartbeat up to it (none when undefined).
   */
  source?: OpcUaSource & { lastDataReceivedAtMs?: number | undefined; aliveAsOfMs?: number | undefined };
  /** Where finished captures go (conduit.FirehoseSink); without it captures are counted and dropped. */
  handoff?: CaptureHandoff;
  /**
   * Alarms and captures the cloud would see as open if the process died now; `saveLedger` writes it
   * (synchronously, atomically) when it changed. Without it nothing is tracked.
   */
  ledger?: AlarmLedger;
  saveLedger?: () => void;
  /** Keeps finished captures on disk until the sink settled them (capture-spill.ts). */
  spill?: { save(captureId: string, records: readonly HandoffRecord[]): void; settled(recordIds: readonly string[]): void; holds(recordId: string): boolean };
  /** Capture records an earlier run left on disk: handed over again at start, so their captures are not lost. */
  recovered?: readonly HandoffRecord[];
  /**
   * The nucleus refuses to publish for a reason only an operator can fix (the accessControl lacks a
   * topic), or publishes again (undefined). The message is held meanwhile, not dropped.
   */
  onProblem?: (problem: OperatorProblem | undefined) => void;
  now?: () => number;
}

export class CollectorRuntime {
  private readonly outbox: Outbox;
  private budget: RateBudget;
  private topics: { telemetry: string; metrics: string; mapping: string; alarms: string; audit: string };
  private readonly now: () => number;
  private tickTimer: NodeJS.Timeout | undefined;
  private metricsTimer: NodeJS.Timeout | undefined;
  private mappingTimer: NodeJS.Timeout | undefined;
  private retainMapping = false;
  /** The pipeline's deadbandRevision the queued mapping describes. */
  private mappingRevision = 0;
  private pumpTimer: NodeJS.Timeout | undefined;
  private pumping: Promise<void> | undefined;
  private pumpAgain = false;
  private metricsSeq = 0;
  private alarmSeq = 0;
  private auditSeq = 0;
  /** Captures that could not be handed to a sink (none configured). */
  private capturesDropped = 0;
  /** Shadow mode: what would have been published. */
  private readonly shadow = { messages: 0, bytes: 0, byStream: {} as Record<string, number>, captures: 0, captureBytes: 0 };
  private previousSamples = 0;
  private published = { messages: 0, bytes: 0 };
  private publishErrors = 0;
  private publishRetries = 0;
  /** Set while the nucleus refuses a topic as unauthorized: the message waits, retried with backoff. */
  private unauthorized: { topic: string; retryMs: number; retryAtMs: number } | undefined;
  private stopped = false;

  constructor(private readonly o: RuntimeOptions) {
    const c = o.config;
    this.topics = topicsOf(c, o.thingName);
    this.outbox = new Outbox({ maxMessages: c.publish.queueMaxMessages });
    this.budget = new RateBudget({ perSecond: c.publish.maxPublishesPerSecond });
    this.now = o.now ?? Date.now;
  }

  get telemetryTopic(): string {
    return this.topics.telemetry;
  }

  /** Queues the mapping of this mappingVersion, the closes of what a previous run left open, and starts the ticks. */
  start(): void {
    this.enqueueMapping();
    const recovered = this.o.handoff ? (this.o.recovered ?? []) : [];
    this.closeLeftOpen(new Set(recovered.map((r) => r.id)));
    this.o.handoff?.onSettled((ids) => {
      this.o.spill?.settled(ids);
      this.o.ledger?.settled(ids);
      this.o.saveLedger?.();
    });
    if (recovered.length > 0) {
      this.o.logger.info({ records: recovered.length, ids: recovered.map((r) => r.id) }, 'handing over the capture records an earlier run kept on disk');
      this.o.handoff!.submit(recovered);
    }
    this.startTimers();
    this.pump();
  }

  /** What a previous run left open: closed with reason "restart" (alarm-closes.ts). */
  private closeLeftOpen(recovered: ReadonlySet<string>): void {
    if (!this.o.ledger) return;
    const left = closeLeftOpen(this.o.ledger, this.o.runId, recovered, (build, reason) => this.queueClose(build, reason));
    if (!left) {
      if (recovered.size > 0) this.o.saveLedger?.(); // captures found on disk may have been marked handed over
      return;
    }
    this.o.logger.warn({ ...left }, 'a previous run left alarms or captures open (it was killed or ran out of time): closing them with reason restart');
    this.o.saveLedger?.();
  }

  /** This run's open alarms, closed by the collector itself (stop, pipeline replaced). */
  private closeOwnAlarms(reason: 'stop' | 'reconfigure'): void {
    if (!this.o.ledger) return;
    for (const a of closeOwnAlarms(this.o.ledger, this.o.runId, reason, (build, r) => this.queueClose(build, r))) {
      this.o.logger.info({ ...a, reason }, 'alarm closed by the collector');
    }
    this.o.saveLedger?.();
  }

  /** Queues a closing event on the alarm topic; its seq, or undefined in shadow mode (nothing was published, nothing to close). */
  private queueClose(build: (ctx: CloseContext) => Record<string, unknown>, reason: CloseContext['reason']): number | undefined {
    if (this.o.config.mode === 'shadow') return undefined;
    const c = this.o.config;
    const seq = this.alarmSeq++;
    const body = build({ thingName: this.o.thingName, site: c.site, area: c.area, runId: this.o.runId, seq, atMs: this.now(), reason });
    this.publishData({ stream: 'alarm', seq, topic: this.topics.alarms, payload: Buffer.from(JSON.stringify(body)) });
    return seq;
  }

  private startTimers(): void {
    clearInterval(this.tickTimer);
    clearInterval(this.metricsTimer);
    clearInterval(this.mappingTimer);
    this.tickTimer = setInterval(() => this.tick(), this.o.config.publish.intervalMs);
    this.metricsTimer = setInterval(() => this.emitMetrics(), this.o.config.metrics.intervalSec * 1000);
    this.mappingTimer = setInterval(() => this.enqueueMapping(), MAPPING_REPEAT_MS);
  }

  /** The audit of an applied configuration update: published in shadow mode too (it is not plant data). */
  publishAudit(body: Record<string, unknown>): void {
    this.enqueue({ stream: 'audit', seq: this.auditSeq++, topic: this.topics.audit, payload: Buffer.from(JSON.stringify(body)) });
    this.pump();
  }

  /**
   * A live configuration update. A new pipeline (tags, mapping or reduction settings changed) takes
   * over from the old one, which is flushed first: its open windows go out as partial windows and its
   * open captures as truncated, under the old mappingVersion, ahead of the new mapping message. The
   * publish queue is kept (nothing waiting in it is lost), and so are the sequences.
   */
  reconfigure(next: CollectorConfig, pipeline: CollectorPipeline): void {
    const old = this.o.pipeline;
    const oldTopics = this.topics;
    if (pipeline !== old) {
      this.enqueueTelemetry(old.tick(this.now(), true, this.o.source?.aliveAsOfMs));
      this.handleBurst();
      // The new pipeline's detector starts afresh: the old one's open alarms would never clear.
      this.closeOwnAlarms('reconfigure');
      const st = old.encoder.counters().streams;
      pipeline.encoder.continueSequences({ rms: st.rms.nextSeq, deadband: st.deadband.nextSeq, change: st.change.nextSeq });
    }
    const rateChanged = next.publish.maxPublishesPerSecond !== this.o.config.publish.maxPublishesPerSecond;
    this.o.config = next;
    this.o.pipeline = pipeline;
    this.topics = topicsOf(next, this.o.thingName);
    if (rateChanged) this.budget = new RateBudget({ perSecond: next.publish.maxPublishesPerSecond });
    this.startTimers();
    if (pipeline !== old || this.topics.mapping !== oldTopics.mapping) this.enqueueMapping();
    this.pump();
  }

  /**
   * The tag list that gives meaning to the tag indices of telemetry. All parts go to the one mapping
   * topic (so the recipe names it exactly, no wildcard); a single part is also retained, which a
   * multi-part mapping cannot be (a topic retains only its last message).
   */
  private enqueueMapping(): void {
    const c = this.o.config;
    const pipeline = this.o.pipeline;
    this.mappingRevision = pipeline.deadbandRevision;
    const parts = buildMappingMessages(
      {
        thingName: this.o.thingName,
        site: c.site,
        area: c.area,
        mappingVersion: c.mappingVersion,
        runId: this.o.runId,
        samplingIntervalMs: c.sampling.intervalMs,
        tags: c.tags.map((t, i) => ({ ...t, resolvedDeadband: pipeline.resolvedDeadband(i) })),
        significantDigits: c.publish.significantDigits,
        rmsFields: c.publish.rmsFields,
      },
      this.now(),
      c.publish.maxMessageBytes,
    );
    this.retainMapping = parts.length === 1;
    for (const p of parts) this.publishData({ stream: 'mapping', seq: p.part, topic: this.topics.mapping, payload: p.payload });
  }

  private enqueue(m: { stream: string; seq: number; topic: string; payload: Buffer }): void {
    for (const d of this.outbox.push(m, this.now())) {
      this.o.logger.error(
        { stream: d.stream, seq: d.seq, bytes: d.bytes, waitedMs: d.ageMs, queueMaxMessages: this.o.config.publish.queueMaxMessages },
        'publish queue full: dropped the oldest message (data lost); the nucleus has not accepted messages for a while',
      );
    }
  }

  /**
   * Telemetry, mapping and alarms: queued for IoT Core, or in shadow mode only counted (what would
   * have been published), so a new mapping can be observed in the metrics before it is enforced.
   */
  private publishData(m: { stream: string; seq: number; topic: string; payload: Buffer }): void {
    if (this.o.config.mode !== 'shadow') return this.enqueue(m);
    this.shadow.messages++;
    this.shadow.bytes += m.payload.length;
    this.shadow.byStream[m.stream] = (this.shadow.byStream[m.stream] ?? 0) + 1;
  }

  private enqueueTelemetry(messages: EncodedMessage[]): void {
    for (const m of messages) this.publishData({ stream: m.stream, seq: m.seq, topic: this.topics.telemetry, payload: m.payload });
  }

  /** One publish interval: what the pipeline closed goes to the outbox, then out. */
  tick(final = false): void {
    // A deadband resolved from the server's EURange after the mapping was queued: publish it again,
    // ahead of the points that carry the new deadband.
    if (this.o.pipeline.deadbandRevision !== this.mappingRevision) this.enqueueMapping();
    this.enqueueTelemetry(this.o.pipeline.tick(this.now(), final, this.o.source?.aliveAsOfMs));
    this.handleBurst();
    this.pump();
  }

  /** Alarm events go to IoT Core in the same ordered queue as telemetry; captures go to the sink. */
  private handleBurst(): void {
    const { alarms, captures } = this.o.pipeline.burst.drain();
    const c = this.o.config;
    // In shadow mode nothing reaches the cloud: nothing is open there.
    const ledger = c.mode === 'shadow' ? undefined : this.o.ledger;
    for (const n of alarms) {
      const tag = c.tags[n.event.tag]!;
      const seq = this.alarmSeq++;
      if (ledger && n.event.kind === 'raise') {
        const open = openAlarmOf(n, { mappingVersion: c.mappingVersion, runId: this.o.runId, tag });
        const capture = n.captureId === null ? undefined : { captureId: n.captureId, runId: this.o.runId, mappingVersion: c.mappingVersion, tag: tag.name, nodeId: tag.nodeId };
        ledger.raised(open, capture);
        // On disk before the raise can be published: a crash after it leaves the next run something to close.
        this.o.saveLedger?.();
      } else if (ledger) {
        ledger.closing(n.event.alarmId, seq);
      }
      const body = buildAlarmMessage(n, { thingName: this.o.thingName, site: c.site, area: c.area, mappingVersion: c.mappingVersion, runId: this.o.runId, seq, tag });
      this.publishData({ stream: 'alarm', seq, topic: this.topics.alarms, payload: Buffer.from(JSON.stringify(body)) });
      const fields = { alarmId: n.event.alarmId, tag: tag.name, value: n.event.value, at: n.event.atMs, captureId: n.captureId };
      if (n.event.kind === 'clear') this.o.logger.info(fields, 'alarm cleared');
      else if (n.captureSkipped !== undefined) this.o.logger.warn({ ...fields, captureSkipped: n.captureSkipped }, 'alarm raised; no capture (skipped)');
      else this.o.logger.info({ ...fields, raiseAt: n.event.rule.raiseAt }, 'alarm raised');
    }
    for (const capture of captures) this.handOff(capture);
    if (alarms.length + captures.length > 0) this.o.saveLedger?.();
  }

  private handOff(capture: Capture): void {
    const c = this.o.config;
    const tag = c.tags[capture.tag]!;
    const parts = encodeCaptureParts(
      capture,
      {
        thingName: this.o.thingName,
        site: c.site,
        area: c.area,
        mappingVersion: c.mappingVersion,
        runId: this.o.runId,
        tagName: tag.name,
        nodeId: tag.nodeId,
        ...(tag.unit === undefined ? {} : { unit: tag.unit }),
        samplingIntervalMs: c.sampling.intervalMs,
        significantDigits: c.publish.significantDigits,
      },
      MAX_RECORD_DATA_BYTES,
    );
    const fields = {
      captureId: capture.captureId,
      tag: tag.name,
      samples: capture.count,
      preTrigger: capture.preTriggerCount,
      complete: capture.complete,
      incomplete: capture.incomplete,
      parts: parts.length,
    };
    if (c.mode === 'shadow') {
      this.shadow.captures++;
      this.shadow.captureBytes += parts.reduce((n, p) => n + Buffer.byteLength(p.data), 0);
      this.o.logger.info(fields, 'shadow mode: capture finished, not sent');
      return;
    }
    if (!this.o.handoff) {
      this.capturesDropped++;
      this.o.logger.error(fields, 'capture dropped: no sink to hand it to (data lost)');
      return;
    }
    // On disk until the sink has it: a stop that runs out of time, or a crash, does not lose it. The
    // file first, then the ledger that says so, saved before the hand-off: a kill at any point in
    // between leaves a next run that finds the capture whole on disk (alarm-closes.ts), or not at all.
    this.o.spill?.save(capture.captureId, parts);
    this.o.ledger?.handedOver(capture.captureId, parts.map((p) => p.id));
    this.o.saveLedger?.();
    this.o.handoff.submit(parts);
    this.o.logger.info(fields, 'capture finished; handing it to conduit.FirehoseSink');
  }

  private emitMetrics(): void {
    const nowMs = this.now();
    const p = this.o.pipeline.counters();
    const s = this.o.source;
    const c = this.o.config;
    const body = buildMetrics({
      thingName: this.o.thingName,
      site: c.site,
      area: c.area,
      mappingVersion: c.mappingVersion,
      runId: this.o.runId,
      seq: this.metricsSeq,
      nowMs,
      intervalSec: c.metrics.intervalSec,
      pipeline: p,
      previousSamples: this.previousSamples,
      outbox: { ...this.outbox.counters(), oldestAgeMs: this.outbox.oldestAgeMs(nowMs) },
      source: s && {
        ...s.counters(),
        state: s.state,
        lastDataAgeMs: s.lastDataReceivedAtMs === undefined ? null : nowMs - s.lastDataReceivedAtMs,
        problem: s.problem?.kind ?? null,
      },
      ipc: {
        connected: this.o.publisher.connected ?? true,
        reconnects: this.o.publisher.reconnects ?? 0,
        publishErrors: this.publishErrors,
        publishRetries: this.publishRetries,
        problem: this.unauthorized ? 'publish:unauthorized' : null,
      },
      published: { ...this.published },
      mode: c.mode,
      shadow: c.mode === 'shadow' ? { ...this.shadow, byStream: { ...this.shadow.byStream } } : undefined,
      burst: this.o.pipeline.burst.enabled
        ? { ...this.o.pipeline.burst.counters(), handoff: this.o.handoff?.counters() ?? null, capturesDropped: this.capturesDropped }
        : undefined,
    });
    this.previousSamples = p.samples;
    this.enqueue({ stream: 'metrics', seq: this.metricsSeq++, topic: this.topics.metrics, payload: Buffer.from(JSON.stringify(body)) });
    this.o.logger.info({ metrics: body }, 'metrics');
    this.pump();
  }

  /** Starts the publish loop unless it runs already; it ends when the outbox is empty or blocked. */
  private pump(): void {
    if (this.stopped) return;
    if (this.pumping) {
      // The running loop may already have seen an empty outbox and be about to end: look again after it.
      this.pumpAgain = true;
      return;
    }
    this.pumpAgain = false;
    let ended: 'drained' | 'waiting' = 'waiting';
    this.pumping = this.pumpLoop()
      .then((why) => void (ended = why))
      .finally(() => {
        this.pumping = undefined;
        // A loop that stopped to wait (held message, rate budget) has its timer set: not before it.
        if (this.pumpAgain && ended === 'drained') this.pump();
      });
  }

  private schedulePump(delayMs: number): void {
    clearTimeout(this.pumpTimer);
    this.pumpTimer = setTimeout(() => this.pump(), Math.max(1, delayMs));
  }

  /** Publishes until the outbox is empty ('drained') or a message must wait ('waiting', a timer is set). */
  private async pumpLoop(): Promise<'drained' | 'waiting'> {
    // A refused topic is retried on its own timer, not each time a new message is queued.
    if (this.unauthorized && this.now() < this.unauthorized.retryAtMs) return 'waiting';
    for (let m = this.outbox.peek(); m !== undefined && !this.stopped; m = this.outbox.peek()) {
      const nowMs = this.now();
      if (!this.budget.take(nowMs)) {
        this.schedulePump(this.budget.nextAvailableMs(nowMs) - nowMs);
        return 'waiting';
      }
      try {
        await this.o.publisher.publish(m.topic, m.payload, this.o.config.publish.qos, m.stream === 'mapping' && this.retainMapping);
        this.outbox.ack();
        if (this.unauthorized) this.authorizedAgain();
        if (m.stream === 'alarm') this.alarmPublished(m.seq);
        this.published.messages++;
        this.published.bytes += m.payload.length;
      } catch (e) {
        if (e instanceof PublishRejectedError) {
          this.publishErrors++;
          if (e.unauthorized) {
            this.schedulePump(this.notAuthorized(m.topic, e.reason));
            return 'waiting';
          }
          this.outbox.discard();
          // Refused for good: sending it again at the next start would be refused too.
          if (m.stream === 'alarm') this.alarmPublished(m.seq);
          this.o.logger.error({ topic: m.topic, stream: m.stream, seq: m.seq, bytes: m.payload.length, reason: e.reason }, 'the nucleus rejected a message for good (data lost)');
          continue;
        }
        this.publishRetries++;
        const reason = (e as PublishFailure)?.reason ?? String(e);
        this.o.logger.warn({ topic: m.topic, stream: m.stream, seq: m.seq, reason, retryInMs: RETRY_DELAY_MS, queued: this.outbox.counters().messages }, 'publish held for retry');
        this.schedulePump(RETRY_DELAY_MS);
        return 'waiting';
      }
    }
    return 'drained';
  }

  /**
   * The accessControl lacks the topic: an operator must fix the deployment, which the nucleus applies
   * without restarting the component. So the message is held (the queue's bound still applies), the
   * problem is reported once (ERRORED through onProblem, metrics ipc.problem), and the publish is
   * retried with a growing delay until the new policy lets it through. Returns the delay.
   */
  private notAuthorized(topic: string, reason: string): number {
    const first = this.unauthorized === undefined || this.unauthorized.topic !== topic;
    const retryMs = first ? UNAUTHORIZED_RETRY_MIN_MS : Math.min(UNAUTHORIZED_RETRY_MAX_MS, this.unauthorized!.retryMs * 2);
    this.unauthorized = { topic, retryMs, retryAtMs: this.now() + retryMs };
    if (first) {
      const fix = `allow aws.greengrass#PublishToIoTCore on ${topic} in the accessControl (aws.greengrass.ipc.mqttproxy) of the deployment or recipe`;
      this.o.logger.error(
        { topic, reason, fix, queued: this.outbox.counters().messages },
        'the nucleus refused to publish: this component is not authorized for the topic; messages are held and retried until the deployment allows it',
      );
      this.o.onProblem?.({ kind: 'publish:unauthorized', fix });
    } else this.o.logger.debug({ topic, retryInMs: retryMs }, 'still not authorized to publish');
    return retryMs;
  }

  private authorizedAgain(): void {
    this.o.logger.info({ topic: this.unauthorized!.topic }, 'publishing is authorized again; the held messages follow');
    this.unauthorized = undefined;
    this.o.onProblem?.(undefined);
  }

  private alarmPublished(seq: number): void {
    if (!this.o.ledger) return;
    this.o.ledger.published(seq);
    this.o.saveLedger?.();
  }

  /** Publishes what is queued until the outbox is empty or `deadlineMs` has passed. */
  private async drain(deadlineMs: number): Promise<void> {
    while (this.outbox.counters().messages > 0 && this.now() < deadlineMs && !this.stopped) {
      this.pump();
      await Promise.race([this.pumping ?? Promise.resolve(), sleep(100)]);
      if (!this.pumping) await sleep(50);
    }
  }

  /**
   * Graceful stop, all of it bounded by `deadlineMs`: the open windows close as partial windows, the
   * open captures close (truncated) and go to the sink, this run's open alarms are closed (reason
   * "stop"), then the publish queue and the sink hand-off drain side by side until the deadline.
   * Returns what could not finish (main.ts logs it in one line); the ledger keeps what the next run
   * must close.
   */
  async stop(deadlineMs: number): Promise<StopReport> {
    clearInterval(this.tickTimer);
    clearInterval(this.metricsTimer);
    clearInterval(this.mappingTimer);
    this.tick(true);
    this.closeOwnAlarms('stop');
    const handedOver = this.o.handoff ? this.o.handoff.drain(deadlineMs) : Promise.resolve([]);
    await this.drain(deadlineMs);
    // After the data has gone: the last metrics count every drop, and queueing them evicts no data.
    this.emitMetrics();
    await this.drain(deadlineMs);
    await handedOver;
    this.stopped = true;
    clearTimeout(this.pumpTimer);
    this.o.handoff?.stop();
    this.o.saveLedger?.();
    return this.stopReport();
  }

  /** What is not finished now: at the end of stop(), or when the stop budget ran out first. */
  stopReport(): StopReport {
    const q = this.outbox.counters();
    const unacked = this.o.handoff?.pendingIds() ?? [];
    const l = this.o.ledger?.counts();
    return {
      unsent: q.messages,
      unsentBytes: q.bytes,
      unackedRecords: unacked.length,
      recordsLost: unacked.filter((id) => !this.o.spill?.holds(id)).length,
      alarmsLeftOpen: l?.alarms ?? 0,
      capturesLeftOpen: l?.captures ?? 0,
    };
  }
}

/** What a stop could not finish. */
export interface StopReport {
  /** Messages for IoT Core the nucleus had not accepted (telemetry, alarms, metrics). */
  unsent: number;
  unsentBytes: number;
  /** Capture records conduit.FirehoseSink had not acknowledged: kept on disk, the next run hands them over. */
  unackedRecords: number;
  /** Of those, the ones not on disk (the capture file could not be written): lost with the process. */
  recordsLost: number;
  /** Alarms and captures the next run will close with reason "restart" (from the ledger). */
  alarmsLeftOpen: number;
  capturesLeftOpen: number;
}

function topicsOf(c: CollectorConfig, thingName: string): { telemetry: string; metrics: string; mapping: string; alarms: string; audit: string } {
  const values = { thingName, site: c.site, area: c.area };
  return {
    telemetry: expandTopic(c.publish.topic, values, 'publish.topic'),
    metrics: expandTopic(c.metrics.topic, values, 'metrics.topic'),
    mapping: expandTopic(c.publish.mappingTopic, values, 'publish.mappingTopic'),
    alarms: expandTopic(c.burst.alarmTopic, values, 'burst.alarmTopic'),
    audit: expandTopic(c.publish.auditTopic, values, 'publish.auditTopic'),
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
