// The operator tools of conduit.OpcUaCollector, behind one entry point:
//   npx conduit <command> ...                                   (from a checkout, scripts/conduit.mjs)
//   node .../opcua-collector/index.js <command> ...             (on a gateway, the bundled component)
//
// runTool returns the exit code and never exits: the caller does. Nothing here loads node-opcua:
// check-mapping loads its OPC UA half only when it runs, after routing node-opcua's console output
// (which goes to stdout, at load time too, and would mix with the report). Everything is bundled by
// esbuild into the component's index.js (literal import paths only, no native code).
import { EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, UsageError } from './args';
import { CHECK_MAPPING_HELP, runCheckMapping } from './check-mapping';
import { EGRESS_PLAN_HELP, runEgressPlan } from './egress-command';
import type { ToolIo } from './io';

export type { ToolIo } from './io';
export { EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE } from './args';

export const TOOL_COMMANDS = ['check-mapping', 'egress-plan'] as const;
export type ToolCommand = (typeof TOOL_COMMANDS)[number];

const HELP_WORDS = new Set(['help', '--help', '-h']);

export const TOOLS_HELP = `Usage: conduit <command> [options]

Operator tools of conduit.OpcUaCollector.

Commands:
  check-mapping   connect to the OPC UA server as the collector would (read-only) and check every
                  tag of a configuration: exists, readable, data type, sampling interval granted
  egress-plan     print every network flow a configuration implies, and the firewall allowlist

Run conduit <command> --help for its options.
Exit status: 0 fine; 1 a problem was found (a tag, the connection); 2 bad option or configuration.
`;

/** True when `argv` (the arguments after the script) asks for a tool rather than the component. */
export function isToolCommand(argv: readonly string[]): boolean {
  const first = argv[0];
  return first !== undefined && ((TOOL_COMMANDS as readonly string[]).includes(first) || HELP_WORDS.has(first));
}

/** Runs the tool `argv[0]` names with the rest of `argv`; resolves to the exit code. Never throws. */
export async function runTool(argv: readonly string[], io: ToolIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined || HELP_WORDS.has(command)) {
      const topic = rest[0];
      if (topic === 'egress-plan') io.stdout.write(EGRESS_PLAN_HELP);
      else if (topic === 'check-mapping') io.stdout.write(CHECK_MAPPING_HELP);
      else io.stdout.write(TOOLS_HELP);
      return command === undefined ? EXIT_USAGE : EXIT_OK;
    }
    switch (command) {
      case 'egress-plan':
        return runEgressPlan(rest, io);
      case 'check-mapping':
        return await runCheckMapping(rest, io);
      default:
        throw new UsageError(`unknown command "${command}"; the commands are ${TOOL_COMMANDS.join(', ')} (conduit --help)`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`${err.message}\n`);
      return EXIT_USAGE;
    }
    // A bug, not the plant's fault: say so, with the stack, and still return rather than throw.
    io.stderr.write(`conduit ${command ?? ''}: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return EXIT_PROBLEMS;
  }
}
