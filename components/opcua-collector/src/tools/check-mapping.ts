// `conduit check-mapping`: checks a tag mapping against the real server before it is deployed. This
// half reads the options and the configuration; the OPC UA half (mapping-check.ts) is loaded only
// after node-opcua's console output is routed away from the report (node-opcua prints to stdout,
// some of it while its modules load).
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { format } from 'node:util';
import { setErrorLogger, setWarningLogger } from 'node-opcua-debug';
import { EXIT_OK, PASSWORD_ENV, UsageError, parseOptions, required, wholeNumber, type OptionSpec } from './args';
import { loadCollectorConfig } from './config-file';
import type { ToolIo } from './io';

export const CHECK_MAPPING_HELP = `Usage: conduit check-mapping --config <collector.json> [options]

Connects to the plant's OPC UA server exactly as conduit.OpcUaCollector would (endpoint, security,
pinned server certificate, client certificate, user) and checks every tag of the configuration:
the node exists, is readable, has a data type the tag's mode can use, and the sampling interval the
server grants. Prints one row per tag, the problems with their fixes, and the server's limits.
Read-only: Read, Browse, and one short-lived subscription (deleted at the end); never Write or Call.

Options:
  --config <file>      the collector's component configuration (JSON), as the component receives it
  --username <user>    the OPC UA user; the password is read from the environment variable
                       ${PASSWORD_ENV} (never from the command line). Without --username the
                       user comes from the configured Secrets Manager secret (credentialsSecretId),
                       read with the AWS SDK's default credentials
  --region <region>    the Region of the secret (default: the AWS SDK's, e.g. AWS_REGION)
  --work-dir <dir>     where the client certificate is kept, in <dir>/pki (created once, reused).
                       Default: <os temp dir>/conduit-check-mapping-<uid>. On a gateway, give the
                       collector's work folder (/greengrass/v2/work/conduit.OpcUaCollector) to
                       present the certificate the server already trusts
  --timeout-ms <ms>    how long connecting may take (default 30000)
  --verbose            also print node-opcua's own messages (on stderr)
  -h, --help           this help

Exit status: 0 every tag is usable; 1 a tag has a problem, or the connection failed (the reason
and the fix are printed, e.g. the server certificate's thumbprint to pin); 2 bad option or invalid
configuration (every problem listed).
`;

const OPTIONS: OptionSpec = {
  config: { type: 'string' },
  username: { type: 'string' },
  region: { type: 'string' },
  'work-dir': { type: 'string' },
  'timeout-ms': { type: 'string' },
  verbose: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

/** Where the OPC UA identity comes from. The password only ever lives in this object and the session. */
export type IdentitySource = { kind: 'env'; username: string; password: string } | { kind: 'secret'; region: string | undefined };

export async function runCheckMapping(argv: readonly string[], io: ToolIo): Promise<number> {
  const o = parseOptions('check-mapping', argv, OPTIONS);
  if (o.help) {
    io.stdout.write(CHECK_MAPPING_HELP);
    return EXIT_OK;
  }
  const cwd = io.cwd ?? process.cwd();
  const config = loadCollectorConfig(required('check-mapping', o, 'config'), cwd);
  const identity = identityFrom(o.username, io.env[PASSWORD_ENV], o.region);
  const workDir = resolve(cwd, typeof o['work-dir'] === 'string' ? o['work-dir'] : defaultWorkDir());
  const timeoutMs = wholeNumber(o, 'timeout-ms', 30_000, 1_000, 600_000);
  routeNodeOpcuaOutput(io, o.verbose === true);
  const { checkMappingOnServer } = await import('./mapping-check');
  return checkMappingOnServer({ config, workDir, identity, io, timeoutMs });
}

function identityFrom(username: unknown, password: string | undefined, region: unknown): IdentitySource {
  if (typeof username === 'string') {
    if (username.trim() === '') throw new UsageError('--username needs a user name');
    if (password === undefined || password === '') {
      throw new UsageError(`--username needs the password in the environment variable ${PASSWORD_ENV} (e.g. read -rs ${PASSWORD_ENV} && export ${PASSWORD_ENV}); it is never taken from the command line`);
    }
    return { kind: 'env', username, password };
  }
  if (password !== undefined) {
    throw new UsageError(`${PASSWORD_ENV} is set but --username is not: give --username, or unset ${PASSWORD_ENV} to use the configured Secrets Manager secret`);
  }
  if (region !== undefined && (typeof region !== 'string' || !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region))) {
    throw new UsageError('--region must be an AWS Region such as eu-west-1');
  }
  return { kind: 'secret', region: typeof region === 'string' ? region : undefined };
}

/** Per user: the client certificate is reused across runs, and one user's folder is not another's. */
export function defaultWorkDir(): string {
  return join(tmpdir(), `conduit-check-mapping-${process.getuid?.() ?? 'user'}`);
}

/**
 * node-opcua writes its warnings and errors to stdout (console.log), where they would mix with the
 * report. They go to stderr with --verbose, and nowhere otherwise: every failure that matters is
 * reported by check-mapping itself, with its fix. Process-wide, as node-opcua's loggers are.
 */
function routeNodeOpcuaOutput(io: ToolIo, verbose: boolean): void {
  const print = verbose
    ? (...args: unknown[]): void => void io.stderr.write(`node-opcua: ${format(...args).replace(/\u001b\[[0-9;]*m/g, '').trim()}\n`)
    : (): void => undefined;
  setWarningLogger(print);
  setErrorLogger(print);
}
