#!/usr/bin/env node
// `npx conduit <command> ...` from a checkout: runs the operator tools of conduit.OpcUaCollector
// (components/opcua-collector/src/tools/cli.ts) from their TypeScript sources with tsx, a
// devDependency, so no build and no global install is needed. On a gateway the same commands run
// from the bundled component instead: node .../opcua-collector/index.js <command> ...
//
// A child process with tsx's loader (`--import tsx`), as the tests and the simulated plant run
// TypeScript: tsx's in-process API (tsImport) cannot resolve the tools' lazy `import('./x')`. The
// child inherits stdio, the working directory (relative --config paths) and the environment
// (CONDUIT_OPCUA_PASSWORD, AWS_*); its exit code is ours. It exits explicitly once runTool has
// returned, since node-opcua and the AWS SDK may leave timers or sockets behind.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';

const tsx = import.meta.resolve('tsx');
const cli = new URL('../components/opcua-collector/src/tools/cli.ts', import.meta.url).href;
// cli.ts is compiled as CommonJS (the package has no "type": "module"): its exports are the default export here.
const main = [
  `import tools from ${JSON.stringify(cli)};`,
  'const code = await tools.runTool(process.argv.slice(1), { stdout: process.stdout, stderr: process.stderr, env: process.env });',
  'process.exit(code);',
].join('\n');

const child = spawn(process.execPath, ['--import', tsx, '--input-type=module', '--eval', main, ...process.argv.slice(2)], { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('error', (err) => {
  process.stderr.write(`conduit: cannot start node: ${err.message}\n`);
  process.exit(1);
});
child.on('exit', (code, signal) => process.exit(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 1)));
