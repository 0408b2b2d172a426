// conduit.OpcUaCollector's entry point. Under the nucleus (no arguments) it runs the component
// (main.ts). With a tool command it runs that tool instead, so the same artifact on the gateway
// checks a mapping or prints the egress plan:
//   node {artifacts:decompressedPath}/opcua-collector/index.js check-mapping --config cfg.json
// The component is loaded only when needed: node-opcua prints warnings on stdout as it loads, which
// would spoil a tool's output.
import { isToolCommand, runTool } from './tools/cli';

const argv = process.argv.slice(2);
if (isToolCommand(argv)) {
  // Explicit exit: node-opcua and the AWS SDK may leave handles open after a tool is done.
  void runTool(argv, { stdout: process.stdout, stderr: process.stderr, env: process.env }).then((code) => process.exit(code));
} else {
  void import('./main').then((m) => m.run());
}
