#!/usr/bin/env node
// Runs the test suite with Node's own test runner. Node 20's `--test` does not expand globs, so the
// files are listed here. Usage: node scripts/run-tests.mjs [path-prefix ...]
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;

function find(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...find(p));
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

const prefixes = process.argv.slice(2);
const files = find(join(root, 'test'))
  .filter((f) => prefixes.length === 0 || prefixes.some((p) => f.startsWith(p)))
  .sort();
if (files.length === 0) {
  console.error('run-tests: no test files matched ' + prefixes.join(' '));
  process.exit(1);
}
// The SDK's notice about future Node versions is not a test failure; keep the output readable.
const env = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...files], {
  cwd: root,
  stdio: 'inherit',
  env,
});
process.exit(r.status ?? 1);
