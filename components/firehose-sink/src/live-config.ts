// Live configuration updates for conduit.FirehoseSink, the nucleus's two-step way: a deployment first
// asks the sink to validate the proposed configuration (the same parser it starts with; REJECTED lists
// every problem), then applies it and notifies. The sink reads the applied configuration back, diffs
// it against the running one (config-diff.ts), logs the changes and applies them in the running
// process, one update at a time:
//   - logLevel at once; metrics topic and interval by restarting the metrics timer;
//   - putTopic: the new subscription is asked for first, and the old one is closed once the nucleus
//     accepted the new one (refused, e.g. by accessControl: the sink keeps the old one and says so);
//     ackTopic: acks from then on go to the new topic;
//   - spool limits on the same spool (a lower spool.maxBytes evicts the oldest, at ERROR);
//   - deliveryStreamName, region, send.*: a new Firehose client and sender over the SAME spool. The
//     send loop pauses at a step boundary (the call in flight may finish within a budget, else it is
//     abandoned and its records go again: at least once), the old sender gives back what it held for
//     a retry, and the new one resumes. Records never leave the spool for this, so none is lost.
// An applied configuration that does not parse (the nucleus applies anyway when the sink did not
// answer the validation in time) is not used: the ERROR names every problem and the old one stays.
import { validityReport, issuesForLog } from '../../../shared/config-error';
import { describeIpcError, type LocalSubscription } from '../../../shared/edge/greengrass-ipc';
import type { LogLevel } from '../../../shared/edge/logger';
import type { SinkConfig } from './config';
import { diffSinkConfig, type SinkConfigDiff } from './config-diff';
import { ConfigError, type ConfigIssue } from './errors';
import type { SinkIntake } from './intake';
import type { Logger } from './ports';
import { withDeadline, type SinkRuntime } from './runtime';
import type { FirehoseSender } from './sender';
import type { FirehoseSpool } from './spool';

/** The nucleus sends one event per changed key: wait this long for the rest before reading back. */
const SETTLE_MS = 250;
/** A configuration that cannot be read (IPC down) is read again after this long. */
const RETRY_READ_MS = 5_000;
/** How long an update lets the PutRecordBatch call in flight finish before abandoning it (re-sent). */
export const APPLY_CALL_BUDGET_MS = 10_000;

/** A sender and the Firehose client it sends with, closed once the sender is replaced. */
export interface SendPath {
  sender: FirehoseSender;
  close(): void;
}

/** The intake's subscription to the put topic: how to end it, and whether the nucleus accepted it. */
export type PutSubscription = Pick<LocalSubscription, 'close' | 'activated'>;

/** The running parts an update acts on, each by the few methods it needs. */
export interface LiveSinkParts {
  setLogLevel(level: LogLevel): void;
  runtime: Pick<SinkRuntime, 'pauseSending' | 'resumeSending' | 'useConfig'>;
  intake: Pick<SinkIntake, 'setAckTopic'>;
  spool: Pick<FirehoseSpool, 'setLimits' | 'stats'>;
  /** Subscribes the intake to a put topic. */
  subscribePut(topic: string): PutSubscription;
  /** A new Firehose client and sender over the same spool (the runtime hands the old one's totals over). */
  buildSendPath(config: SinkConfig): SendPath;
}

export interface LiveConfigOptions {
  logger: Logger;
  /** The configuration the sink started with, and what it built from it. */
  initial: SinkConfig;
  sendPath: SendPath;
  put: PutSubscription;
  parts: LiveSinkParts;
  /** The component's configuration as the nucleus has it now (GetConfiguration). */
  read: () => Promise<unknown>;
  /** parseSinkConfig with the nucleus's Region: throws ConfigError with every problem. */
  parse: (raw: unknown) => SinkConfig;
  now?: () => number;
  /** For tests: shorter waits. */
  settleMs?: number;
  callBudgetMs?: number;
}

export type Validity = { status: 'ACCEPTED' } | { status: 'REJECTED'; message: string };

export class SinkLiveConfig {
  private running: SinkConfig;
  private path: SendPath;
  private put: PutSubscription;
  private timer: NodeJS.Timeout | undefined;
  /** Updates are applied one after the other: each waits for the one before it. */
  private applying: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly now: () => number;
  /** For tests and the logs. */
  readonly counts = { validated: 0, rejected: 0, applied: 0, refused: 0, unchanged: 0 };

  constructor(private readonly o: LiveConfigOptions) {
    this.running = o.initial;
    this.path = o.sendPath;
    this.put = o.put;
    this.now = o.now ?? Date.now;
  }

  get current(): SinkConfig {
    return this.running;
  }

  /** The send path in use (the entry point closes it at shutdown). */
  get sendPath(): SendPath {
    return this.path;
  }

  /** The answer to a validate event for `raw`, the whole proposed configuration. */
  validate(deploymentId: string, raw: unknown): Validity {
    this.counts.validated++;
    let verdict = validateSinkConfig(raw, this.o.parse);
    if (verdict.status === 'ACCEPTED') verdict = this.checkAgainstSpool(verdict.config);
    if (verdict.status === 'ACCEPTED') {
      this.o.logger.info({ deploymentId }, 'configuration update validated: ACCEPTED');
      return { status: 'ACCEPTED' };
    }
    this.counts.rejected++;
    this.o.logger.warn({ deploymentId, ...issuesForLog(verdict.issues) }, 'configuration update validated: REJECTED; the running configuration stays');
    return { status: 'REJECTED', message: verdict.message };
  }

  /**
   * A spool.maxBytes below what the spool holds would evict records not yet delivered the moment it
   * applied: refused, so that a deployment never loses data by itself. The deployment's status says
   * how much the spool holds; the limit can be lowered once it has drained.
   */
  private checkAgainstSpool(next: SinkConfig): ReturnType<typeof validateSinkConfig> {
    const held = this.o.parts.spool.stats(this.now());
    if (held.records === 0 || next.spool.maxBytes >= held.bytes || next.spool.maxBytes >= this.running.spool.maxBytes) return { status: 'ACCEPTED', config: next };
    const issue: ConfigIssue = {
      path: '/spool/maxBytes',
      message: `is ${next.spool.maxBytes}, below the ${held.bytes} bytes the spool holds now (${held.records} records not yet delivered to Firehose): applying it would evict them`,
      fix: `set it to at least ${held.bytes}, or lower it once the spool has drained (metrics spool.bytes)`,
    };
    return { status: 'REJECTED', message: validityReport([issue]), issues: [issue] };
  }

  /** A configuration-update event: read back and apply once the nucleus has written every key. */
  changed(delayMs = this.o.settleMs ?? SETTLE_MS): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.applying = this.applying
        .then(() => this.reload())
        .catch((e) => this.o.logger.error({ error: e instanceof Error ? (e.stack ?? e.message) : String(e) }, 'applying the configuration update failed; parts of it may not be in effect'));
    }, delayMs);
  }

  /** Resolves once every update notified so far is applied (or refused). */
  async settled(): Promise<void> {
    await new Promise((r) => setTimeout(r, (this.o.settleMs ?? SETTLE_MS) + 10));
    await this.applying;
  }

  /** No update is applied from now on (shutdown); one being applied finishes. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async reload(): Promise<void> {
    if (this.stopped) return;
    let raw: unknown;
    try {
      raw = await this.o.read();
    } catch (e) {
      this.o.logger.warn({ error: (e as { reason?: string })?.reason ?? describeIpcError(e), retryInMs: RETRY_READ_MS }, 'cannot read the applied configuration; trying again');
      this.changed(RETRY_READ_MS);
      return;
    }
    let next: SinkConfig;
    try {
      next = this.o.parse(raw);
    } catch (e) {
      this.counts.refused++;
      this.o.logger.error(
        { issues: issuesOf(e), deliveryStreamName: this.running.deliveryStreamName },
        'the applied configuration is invalid; it is NOT used: the sink keeps running with its previous configuration (correct the deployment)',
      );
      return;
    }
    const diff = diffSinkConfig(this.running, next);
    if (diff.changes.length === 0) {
      this.counts.unchanged++;
      return;
    }
    const started = this.now();
    this.o.logger.info({ changes: diff.changes }, 'applying a configuration update');
    const { abandonedCall, effective } = await this.apply(next, diff);
    this.running = effective;
    this.counts.applied++;
    this.o.logger.info({ keys: diff.changes.map((c) => c.key), abandonedCall, ms: this.now() - started }, 'configuration update applied; it is in effect');
  }

  /** Applies `next`; returns what is now in effect (`next`, or `next` with the old putTopic kept). */
  private async apply(next: SinkConfig, diff: SinkConfigDiff): Promise<{ abandonedCall: boolean; effective: SinkConfig }> {
    const p = this.o.parts;
    // Built before anything changes: should it throw, the running configuration stays whole.
    const path = diff.sender ? p.buildSendPath(next) : undefined;
    if (diff.logLevel) p.setLogLevel(next.logLevel);
    let effective = next;
    if (diff.putTopic) {
      // The new subscription is asked for before the old one is closed, and the old one is closed only
      // if the nucleus accepted the new one: a sink never stops listening because of a topic it may
      // not use. A put that arrives in between is not acknowledged, so its producer sends it again.
      const fresh = p.subscribePut(next.putTopic);
      const accepted = await withDeadline(fresh.activated, this.o.callBudgetMs ?? APPLY_CALL_BUDGET_MS, undefined);
      if (accepted === false) {
        await fresh.close();
        effective = { ...next, putTopic: this.running.putTopic };
        this.o.logger.error(
          {
            putTopic: next.putTopic,
            keptPutTopic: this.running.putTopic,
            fix: `allow aws.greengrass#SubscribeToTopic on ${next.putTopic} in this component's accessControl (aws.greengrass.ipc.pubsub), then deploy again`,
          },
          'the nucleus refused the subscription to the new putTopic: the sink keeps taking records on the old one',
        );
      } else {
        // Accepted, or no answer yet (no IPC connection): the new topic is the one to keep.
        const old = this.put;
        this.put = fresh;
        await old.close();
      }
    }
    if (diff.ackTopic) p.intake.setAckTopic(next.ackTopic);
    if (diff.spoolLimits) p.spool.setLimits(next.spool, this.now());
    if (!path) {
      p.runtime.useConfig(effective);
      return { abandonedCall: false, effective };
    }
    const { abandonedCall } = await p.runtime.pauseSending(this.now() + (this.o.callBudgetMs ?? APPLY_CALL_BUDGET_MS));
    if (abandonedCall) {
      this.o.logger.warn({}, 'the PutRecordBatch call in flight did not finish in time and was abandoned; its records are sent again (Firehose may get them twice)');
    }
    p.runtime.useConfig(effective);
    p.runtime.resumeSending(path.sender);
    const old = this.path;
    this.path = path;
    old.close();
    return { abandonedCall, effective };
  }
}

/** The verdict on a proposed configuration: the parser's, with every problem in a report's words. */
export function validateSinkConfig(
  raw: unknown,
  parse: (raw: unknown) => SinkConfig,
): { status: 'ACCEPTED'; config: SinkConfig } | { status: 'REJECTED'; message: string; issues: ConfigIssue[] } {
  try {
    return { status: 'ACCEPTED', config: parse(raw) };
  } catch (e) {
    const issues = issuesOf(e);
    return { status: 'REJECTED', message: validityReport(issues), issues };
  }
}

function issuesOf(e: unknown): ConfigIssue[] {
  if (e instanceof ConfigError) return [...e.issues];
  return [{ path: '', message: e instanceof Error ? e.message : String(e), fix: 'see docs/firehose-sink.md' }];
}
