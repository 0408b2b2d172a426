// Live configuration updates, the nucleus's two-step way: a deployment first asks every component to
// validate the new configuration (the collector checks it with the same parser it starts with, and
// against the running one: see updateProblems), then applies it and notifies. An applied update is
// read back, diffed, logged, applied without a restart, and audited. An update that fails to parse
// at that point (the nucleus applies anyway when no component answered in time) is refused here:
// the running configuration stays, and the ERROR names every problem.
import { parseCollectorConfig } from './config';
import { diffConfig, updateProblems, type ConfigDiff } from './config-diff';
import type { CollectorConfig } from './config-types';
import { validityReport, issuesForLog } from '../../../shared/config-error';
import { ConfigError, type ConfigIssue } from './errors';
import type { Logger } from './ports';
import { describeIpcError } from '../../../shared/edge/greengrass-ipc';

/** The nucleus fires one event per changed key: wait this long for the rest before reading back. */
const SETTLE_MS = 250;
/** A read-back that failed (the IPC connection dropped, a call timed out) is tried again after this. */
const RETRY_READ_MS = 5_000;

export interface LiveConfigOptions {
  logger: Logger;
  initial: CollectorConfig;
  /** The component's configuration as the nucleus has it now (GetConfiguration). */
  read: () => Promise<unknown>;
  /** Applies a validated, different configuration; throws to leave the running one in place. */
  apply: (next: CollectorConfig, diff: ConfigDiff) => Promise<void>;
  /** Publishes the audit of an applied update. */
  audit: (diff: ConfigDiff) => void;
}

export type Validity = { status: 'ACCEPTED' } | { status: 'REJECTED'; message: string };

export class LiveConfig {
  private running: CollectorConfig;
  private timer: NodeJS.Timeout | undefined;
  private applying: Promise<void> = Promise.resolve();
  private stopped = false;
  /** Applied updates and refused ones, for tests and metrics. */
  readonly counts = { validated: 0, rejected: 0, applied: 0, refused: 0, unchanged: 0 };

  constructor(private readonly o: LiveConfigOptions) {
    this.running = o.initial;
  }

  get current(): CollectorConfig {
    return this.running;
  }

  /** The answer to a validate event for `raw`, the whole proposed configuration. */
  validate(deploymentId: string, raw: unknown): Validity {
    this.counts.validated++;
    const issues = this.problemsOf(raw);
    if (issues.length === 0) {
      this.o.logger.info({ deploymentId }, 'configuration update validated: ACCEPTED');
      return { status: 'ACCEPTED' };
    }
    this.counts.rejected++;
    this.o.logger.warn({ deploymentId, ...issuesForLog(issues) }, 'configuration update validated: REJECTED; the running configuration stays');
    return { status: 'REJECTED', message: validityReport(issues) };
  }

  /**
   * A configuration-update event: read back and apply once the nucleus has written every key. A
   * read-back that fails is tried again: the deployment has succeeded, so an update dropped here
   * would leave the gateway on the old mapping while the fleet believes it changed.
   */
  changed(delayMs = SETTLE_MS): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.applying = this.applying.then(() => this.reload()).catch((e) => this.o.logger.error({ err: String(e) }, 'applying the configuration update failed'));
    }, delayMs);
  }

  /** Resolves once every update notified so far is applied (or refused). */
  async settled(): Promise<void> {
    await new Promise((r) => setTimeout(r, SETTLE_MS + 10));
    await this.applying;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private problemsOf(raw: unknown): ConfigIssue[] {
    try {
      return updateProblems(this.running, parseCollectorConfig(raw));
    } catch (e) {
      if (e instanceof ConfigError) return [...e.issues];
      return [{ path: '', message: e instanceof Error ? e.message : String(e), fix: 'see docs/configuration.md' }];
    }
  }

  private async reload(): Promise<void> {
    if (this.stopped) return;
    let raw: unknown;
    try {
      raw = await this.o.read();
    } catch (e) {
      this.o.logger.warn({ error: describeIpcError(e), retryInMs: RETRY_READ_MS }, 'cannot read the applied configuration; trying again');
      this.changed(RETRY_READ_MS);
      return;
    }
    const issues = this.problemsOf(raw);
    if (issues.length > 0) {
      this.counts.refused++;
      this.o.logger.error(
        { ...issuesForLog(issues), mappingVersion: this.running.mappingVersion },
        'the applied configuration is invalid; it is NOT used: the collector keeps running with its previous configuration (correct the deployment)',
      );
      return;
    }
    const next = parseCollectorConfig(raw);
    const diff = diffConfig(this.running, next);
    if (diff.changed.length === 0) {
      this.counts.unchanged++;
      return;
    }
    this.o.logger.info(
      {
        mappingVersion: diff.mappingVersion,
        tagsAdded: diff.tags.added,
        tagsRemoved: diff.tags.removed,
        tagsChanged: diff.tags.changed,
        changed: diff.changed,
        reconnect: diff.reconnect,
      },
      diff.mappingChanged ? 'applying a configuration update: the tag mapping changes' : 'applying a configuration update',
    );
    if (diff.restartOnly.length > 0) {
      this.o.logger.warn({ keys: diff.restartOnly }, 'these keys take effect at the next start of the component');
    }
    await this.o.apply(next, diff);
    this.running = next;
    this.counts.applied++;
    this.o.logger.info({ changed: diff.changed }, 'configuration update applied; it is in effect');
    this.o.audit(diff);
  }
}
