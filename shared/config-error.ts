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

  /**
   * One line per issue, so the whole list lands in the Greengrass log and the deployment status;
   * past LISTED_ISSUES, one line per kind of problem with its count and first places instead.
   */
  static format(issues: readonly ConfigIssue[], component: string): string {
    const n = issues.length;
    const head = `invalid ${component} configuration: ${n} problem${n === 1 ? '' : 's'}`;
    const where = (path: string) => (path === '' ? '(the whole configuration)' : path);
    if (n <= LISTED_ISSUES) return [head, ...issues.map((i) => `  ${where(i.path)}: ${i.message}. Fix: ${i.fix}`)].join('\n');
    return [head, ...summarizeIssues(issues).map((g) => `  ${g.count} x ${g.shape}: ${g.message}. Fix: ${g.fix} (first at ${g.examples.join(', ')})`)].join('\n');
  }
}

/** Up to this many issues are listed one by one; more are summarized by kind. */
export const LISTED_ISSUES = 10;
/** Places named per kind of problem in a summary. */
const EXAMPLES_PER_KIND = 3;

/** Problems of one kind: the same message at the same key of different list entries. */
export interface IssueGroup {
  /** The path with list indices as `[]`, e.g. `/tags/[]/nodeId`. */
  shape: string;
  message: string;
  fix: string;
  count: number;
  /** The first few paths, in document order. */
  examples: string[];
}

/**
 * Thousands of similar problems (a generated mapping with a bad column) as a few lines: grouped by
 * path shape and message, the value quoted in a message ("(got 250)") left out of the grouping, in
 * order of first appearance. Pure.
 */
export function summarizeIssues(issues: readonly ConfigIssue[]): IssueGroup[] {
  const groups = new Map<string, IssueGroup>();
  for (const i of issues) {
    const shape = i.path.replace(/\/\d+(?=\/|$)/g, '/[]');
    const message = i.message.replace(/ \(got [^)]*\)/g, '');
    const key = `${shape}\u0000${message}`;
    const g = groups.get(key);
    if (g === undefined) groups.set(key, { shape, message, fix: i.fix, count: 1, examples: [i.path] });
    else {
      g.count++;
      if (g.examples.length < EXAMPLES_PER_KIND) g.examples.push(i.path);
    }
  }
  return [...groups.values()];
}

/** What a log line carries of a list of issues: all of them when few, else the summary. */
export function issuesForLog(issues: readonly ConfigIssue[]): { total: number; issues?: readonly ConfigIssue[]; summary?: IssueGroup[] } {
  return issues.length <= LISTED_ISSUES ? { total: issues.length, issues } : { total: issues.length, summary: summarizeIssues(issues) };
}

/** A validity report's message is shown in the deployment's status: kept readable. */
const MAX_REPORT_CHARS = 2_000;

/**
 * Every issue on one line, `path: message. Fix: fix | …`, for the REJECTED answer to a configuration
 * update (SendConfigurationValidityReport), cut to a length a deployment status shows.
 */
export function validityReport(issues: readonly ConfigIssue[]): string {
  const text =
    issues.length <= LISTED_ISSUES
      ? issues.map((i) => `${i.path || '(root)'}: ${i.message}. Fix: ${i.fix}`).join(' | ')
      : `${issues.length} problems | ` +
        summarizeIssues(issues)
          .map((g) => `${g.count} x ${g.shape}: ${g.message}. Fix: ${g.fix} (first at ${g.examples.join(', ')})`)
          .join(' | ');
  return text.length <= MAX_REPORT_CHARS ? text : `${text.slice(0, MAX_REPORT_CHARS - 20)}… (${issues.length} problems)`;
}
