// The one error class that stops a component's start-up (or makes it reject a live configuration
// update), shared by every conduit component so that all of them report problems the same way:
// every problem at once, each with its JSON path and the fix, and never a partial configuration.

/** One problem in a component's configuration, phrased for the engineer who has to fix it. */
export interface ConfigIssue {
  /** JSON pointer into the configuration, e.g. `/tags/3/deadband/percent`; `` (empty) is the whole document. */
  path: string;
  /** What is wrong, e.g. "must be between 0 and 100 (got 250)". */
  message: string;
  /** What to do, in plain words, e.g. "set it to a number between 0 and 100, e.g. 1". */
  fix: string;
}

export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];

  /** `component`: the Greengrass component name, at the head of the message. */
  constructor(issues: readonly ConfigIssue[], component: string, options?: { cause?: unknown }) {
    super(ConfigError.format(issues, component), { cause: options?.cause });
    // Set explicitly: the bundler's minifier renames classes, so `constructor.name` is unreliable.
    this.name = 'ConfigError';
    this.issues = issues;
  }

  /** One line per issue, so the whole list lands in the Greengrass log and the deployment status. */
  static format(issues: readonly ConfigIssue[], component: string): string {
    const n = issues.length;
    const head = `invalid ${component} configuration: ${n} problem${n === 1 ? '' : 's'}`;
    return [head, ...issues.map((i) => `  ${i.path === '' ? '(the whole configuration)' : i.path}: ${i.message}. Fix: ${i.fix}`)].join('\n');
  }
}

/** A validity report's message is shown in the deployment's status: kept readable. */
const MAX_REPORT_CHARS = 2_000;

/**
 * Every issue on one line, `path: message. Fix: fix | …`, for the REJECTED answer to a configuration
 * update (SendConfigurationValidityReport), cut to a length a deployment status shows.
 */
export function validityReport(issues: readonly ConfigIssue[]): string {
  const text = issues.map((i) => `${i.path || '(root)'}: ${i.message}. Fix: ${i.fix}`).join(' | ');
  return text.length <= MAX_REPORT_CHARS ? text : `${text.slice(0, MAX_REPORT_CHARS - 20)}… (${issues.length} problems)`;
}
