// The collector's error classes. Each one decides what happens next; this file holds the one that
// stops start-up (or makes the component reject a live configuration update).
import { ConfigError as ComponentConfigError, type ConfigIssue } from '../../../shared/config-error';

export type { ConfigIssue } from '../../../shared/config-error';

/** The collector's configuration is invalid: every problem is listed, and start-up stops (or the update is rejected). */
export class ConfigError extends ComponentConfigError {
  constructor(issues: readonly ConfigIssue[], options?: { cause?: unknown }) {
    super(issues, 'conduit.OpcUaCollector', options);
  }
}
