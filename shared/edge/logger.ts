// JSON-lines logs on stdout, which the nucleus copies into the component's log file. pino writes
// synchronously here: a few lines a second at most, and nothing is lost when the process exits.
import pino from 'pino';
import type { Logger } from './ports';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Field names whose values are replaced wherever they appear: secrets never reach a log line. */
const REDACTED_PATHS = ['password', 'secret', 'token', '*.password', '*.secret', '*.token', 'credentials', '*.credentials'];

export interface ComponentLogger extends Logger {
  setLevel(level: LogLevel): void;
}

export function createLogger(component: string, level: LogLevel = 'info', dest: NodeJS.WritableStream | number = 1): ComponentLogger {
  const stream = typeof dest === 'number' ? pino.destination({ dest, sync: true }) : dest;
  const log = pino(
    {
      level,
      base: { component },
      timestamp: pino.stdTimeFunctions.isoTime,
      messageKey: 'msg',
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    stream,
  );
  return {
    debug: (f, m) => log.debug(f, m),
    info: (f, m) => log.info(f, m),
    warn: (f, m) => log.warn(f, m),
    error: (f, m) => log.error(f, m),
    setLevel: (l) => {
      log.level = l;
    },
  };
}
