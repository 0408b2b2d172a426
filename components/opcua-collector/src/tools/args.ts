// Command-line options of the operator tools, on top of node:util's parseArgs (strict: an unknown or
// misspelt option is an error, never silently ignored, as with unknown configuration keys).
//
// A password never comes from the command line: it would show in `ps` and in the shell history. An
// option named like one is refused with the way to give it instead, and no error message ever
// repeats an option's value (someone may have typed `--password=...`).
import { parseArgs } from 'node:util';

/** Exit status: the command ran and found nothing wrong. */
export const EXIT_OK = 0;
/** Exit status: the command ran and found a problem (a tag, the connection, the server). */
export const EXIT_PROBLEMS = 1;
/** Exit status: the command could not run as asked (bad option, unreadable or invalid configuration). */
export const EXIT_USAGE = 2;

/** The environment variable that carries the OPC UA password for `check-mapping --username`. */
export const PASSWORD_ENV = 'CONDUIT_OPCUA_PASSWORD';

/** The options of one command: a string value, or a flag. */
export type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string }>;

export type ParsedOptions = Record<string, string | boolean | undefined>;

/** The command line was not usable; the message says what to do. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    // Set explicitly: the bundler's minifier renames classes.
    this.name = 'UsageError';
  }
}

const LOOKS_LIKE_PASSWORD = /^--?(pass(word|wd)?|pwd|secret)(=|$)/i;

/** Parses `argv` (the command's arguments, without the command name) against `spec`. */
export function parseOptions(command: string, argv: readonly string[], spec: OptionSpec): ParsedOptions {
  const secret = argv.find((a) => LOOKS_LIKE_PASSWORD.test(a));
  if (secret !== undefined) {
    throw new UsageError(
      `${secret.split('=')[0]} is not accepted: a password on the command line shows in ps and in the shell history. ` +
        `Set the environment variable ${PASSWORD_ENV} instead (e.g. read -rs ${PASSWORD_ENV} && export ${PASSWORD_ENV}), with --username`,
    );
  }
  let values: ParsedOptions;
  try {
    ({ values } = parseArgs({ args: [...argv], options: spec, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new UsageError(describeParseError(command, err, spec));
  }
  return values;
}

/** A string option that must be given. */
export function required(command: string, options: ParsedOptions, name: string): string {
  const v = options[name];
  if (typeof v !== 'string' || v.trim() === '') throw new UsageError(`${command} needs --${name}; see ${command} --help`);
  return v;
}

/** A whole-number option within [min, max], or `fallback` when absent. */
export function wholeNumber(options: ParsedOptions, name: string, fallback: number, min: number, max: number): number {
  const v = options[name];
  if (v === undefined) return fallback;
  const n = typeof v === 'string' && /^[0-9]+$/.test(v.trim()) ? Number(v.trim()) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}`);
  return n;
}

// parseArgs' messages quote the argument, which may hold a value; rebuild them from the option name.
function describeParseError(command: string, err: unknown, spec: OptionSpec): string {
  const code = (err as { code?: string }).code;
  const text = err instanceof Error ? err.message : String(err);
  // "Option '-h, --help' does not take an argument": the long name is the one the user knows.
  const long = /--([A-Za-z0-9-]+)/.exec(text)?.[1];
  const name = long !== undefined ? `--${long}` : /'(-[^'\s]+)'/.exec(text)?.[1];
  const known = Object.keys(spec).map((k) => `--${k}`).join(', ');
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `${command}: unknown option ${name ?? ''}; the options are ${known} (see ${command} --help)`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `${command}: unexpected argument; every value follows its option, e.g. --config collector.json (see ${command} --help)`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return `${command}: ${name ?? 'an option'} ${spec[long ?? '']?.type === 'boolean' ? 'takes no value' : 'needs a value'} (see ${command} --help)`;
    default:
      return `${command}: cannot read the options (see ${command} --help)`;
  }
}
