// The first configuration a component runs with, for both conduit components.
//
// An invalid configuration at start is an operator's mistake outside the component: exiting would
// make the nucleus restart it and mark it BROKEN at the third exit within errorResetTime, and a
// BROKEN component waits for a deployment even after the fix is in. So the component stays up
// instead: it logs every problem once (summarized when many), reports ERRORED once per episode
// through the shared reporter (errored-report.ts: the nucleus restarts it that one time), and waits
// for the nucleus's next configuration-update event, then reads and parses again. A read that fails
// (the IPC connection dropped) is retried with a delay. Nothing of the component starts before a
// configuration parses.
import { ConfigError, issuesForLog } from '../config-error';
import type { OperatorProblem } from './errored-report';
import type { Logger } from './ports';

/** A failed read of the configuration is tried again after this. */
export const CONFIG_READ_RETRY_MS = 2_000;

export interface StartupConfigOptions<T> {
  /** GetConfiguration. */
  read: () => Promise<unknown>;
  /** The component's one parser: returns the validated config, throws ConfigError. */
  parse: (raw: unknown) => T;
  /** Resolves at the next configuration-update event (or the retry delay for a failed read). */
  nextChange: (timeoutMs?: number) => Promise<void>;
  /** ERRORED once per episode, rate-limited (ErroredReporter.problem / recovered). */
  problem: (p: OperatorProblem) => Promise<void> | void;
  recovered: () => void;
  logger: Logger;
  /** Where the configuration is documented, for the fix. */
  docs: string;
  describeReadError: (e: unknown) => string;
}

export async function startupConfig<T>(o: StartupConfigOptions<T>): Promise<T> {
  let waiting = false;
  for (;;) {
    let raw: unknown;
    try {
      raw = await o.read();
    } catch (e) {
      o.logger.warn({ error: o.describeReadError(e), retryInMs: CONFIG_READ_RETRY_MS }, 'cannot read the configuration; trying again');
      await o.nextChange(CONFIG_READ_RETRY_MS);
      continue;
    }
    try {
      const config = o.parse(raw);
      if (waiting) {
        o.logger.info({}, 'the configuration is valid now: starting');
        o.recovered();
      }
      return config;
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      o.logger.error(
        { ...issuesForLog(e.issues) },
        'invalid configuration: the component waits for a deployment with a valid one (it stays up, so the nucleus never marks it BROKEN for this)',
      );
      waiting = true;
      await o.problem({ kind: 'config', fix: `correct the deployment's configuration as each issue says; see ${o.docs}` });
      await o.nextChange();
    }
  }
}

/** A one-shot signal per configuration-update event: `wait` resolves at the next `notify`. */
export class ChangeSignal {
  private waiters: Array<() => void> = [];

  notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  wait(timeoutMs?: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push(done);
      if (timeoutMs !== undefined) timer = setTimeout(done, timeoutMs);
    });
  }
}
