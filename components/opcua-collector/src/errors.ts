// The collector's error classes. Each one decides what happens next; this file holds the one that
// stops start-up (or makes the component reject a live configuration update).

/** One problem in the component's configuration, phrased for the engineer who has to fix it. */
export interface ConfigIssue {
  /** JSON pointer into the configuration, e.g. `/tags/3/deadband/percent`; `` (empty) is the whole document. */
  path: string;
  /** What is wrong, e.g. "must be between 0 and 100 (got 250)". */
  message: string;
  /** What to do, in plain words, e.g. "set it to a number between 0 and 100, e.g. 1". */
  fix: string;
}

/**
 * The configuration is invalid. Every problem found is listed (never only the first), and no
 * partial configuration is ever returned alongside it: start-up stops, or the update is rejected.
 */
export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], options?: { cause?: unknown }) {
    super(ConfigError.format(issues), { cause: options?.cause });
    // Set explicitly: the bundler's minifier renames classes, so `constructor.name` is unreliable.
    this.name = 'ConfigError';
    this.issues = issues;
  }

  /** One line per issue, so the whole list lands in the Greengrass log and the deployment status. */
  static format(issues: readonly ConfigIssue[]): string {
    const n = issues.length;
    const head = `invalid conduit.OpcUaCollector configuration: ${n} problem${n === 1 ? '' : 's'}`;
    return [head, ...issues.map((i) => `  ${i.path === '' ? '(the whole configuration)' : i.path}: ${i.message}. Fix: ${i.fix}`)].join('\n');
  }
}
