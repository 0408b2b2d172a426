// The sink's error classes. Each one decides what happens next: a ConfigError stops start-up; a
// SendError from a PutRecordBatch call keeps the records in the spool and says when to try again
// (soon with backoff when retryable, at the longest backoff when only a configuration change can
// help). A partial failure is not an error: it is the call's result, carrying the failed indices.

import { ConfigError as ComponentConfigError, type ConfigIssue } from '../../../shared/config-error';

export type { ConfigIssue } from '../../../shared/config-error';

/** The sink's configuration is invalid: every problem is listed, and no partial configuration is returned. */
export class ConfigError extends ComponentConfigError {
  constructor(issues: readonly ConfigIssue[], options?: { cause?: unknown }) {
    super(issues, 'conduit.FirehoseSink', options);
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
  /** The errno code of the failed call (ENOSPC, EROFS, EACCES, ENOENT...), or EIO when there is none. */
  readonly code: string;
  constructor(message: string, options?: { cause?: unknown; code?: string }) {
    super(message, { cause: options?.cause });
    this.name = 'SpoolWriteError';
    this.code = options?.code ?? errnoCode(options?.cause);
  }
}

/** The errno code of a failed file call (`ENOSPC`...); EIO for anything that carries none. */
export function errnoCode(e: unknown): string {
  if (e instanceof SpoolWriteError) return e.code;
  const code = (e as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) ? code : 'EIO';
}
