// The sink's error classes. Each one decides what happens next: a ConfigError stops start-up; a
// SendError from a PutRecordBatch call keeps the records in the spool and says when to try again
// (soon with backoff when retryable, at the longest backoff when only a configuration change can
// help). A partial failure is not an error: it is the call's result, carrying the failed indices.

/** One problem in the component's configuration, phrased for the engineer who has to fix it. */
export interface ConfigIssue {
  /** JSON pointer into the configuration, e.g. `/spool/maxBytes`; `` (empty) is the whole document. */
  path: string;
  /** What is wrong, e.g. "must be a whole number of at least 1048576 (got 1000)". */
  message: string;
  /** What to do, in plain words. */
  fix: string;
}

/** The configuration is invalid: every problem is listed, and no partial configuration is returned. */
export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], options?: { cause?: unknown }) {
    super(ConfigError.format(issues), { cause: options?.cause });
    // Set explicitly: the bundler's minifier renames classes, so `constructor.name` is unreliable.
    this.name = 'ConfigError';
    this.issues = issues;
  }

  /** One line per issue, so the whole list lands in the Greengrass log. */
  static format(issues: readonly ConfigIssue[]): string {
    const n = issues.length;
    const head = `invalid conduit.FirehoseSink configuration: ${n} problem${n === 1 ? '' : 's'}`;
    return [head, ...issues.map((i) => `  ${i.path === '' ? '(the whole configuration)' : i.path}: ${i.message}. Fix: ${i.fix}`)].join('\n');
  }
}

/**
 * A PutRecordBatch call failed as a whole: nothing of it was accepted.
 * - `retryable`: throttling, a server error, the network, a timeout: back off and try again.
 * - not retryable: the stream, the permissions or the request are wrong; the records stay in the
 *   spool and the call is tried again at the longest backoff, until someone applies `fix`.
 */
export class SendError extends Error {
  constructor(
    /** A short, stable reason for counting: the AWS error name, `NetworkError` or `Timeout`. */
    readonly reason: string,
    message: string,
    readonly retryable: boolean,
    /** What an operator should do, for errors that do not go away by themselves. */
    readonly fix?: string,
    options?: { cause?: unknown },
  ) {
    super(message, { cause: options?.cause });
    this.name = 'SendError';
  }
}

/** The spool could not write or sync: the records of that put are not acknowledged (the producer keeps them). */
export class SpoolWriteError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { cause: options?.cause });
    this.name = 'SpoolWriteError';
  }
}
