// check-mapping talks to the plant's server: like the collector's OPC UA code, the tools may only
// read. (Service names in prose, like "never Write, Call or HistoryUpdate", are not calls.) The e2e suite proves it on the wire (the plant counts no Write, Call or HistoryUpdate);
// this keeps such a call from being written in the first place, and keeps process.exit out of the
// tools (the component's index.js runs them and decides about the exit).
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';

const DIR = resolve(__dirname, '../../../../../components/opcua-collector/src/tools');

const FORBIDDEN: readonly RegExp[] = [
  /\.write\s*\(\s*\[/, // session.write([...]); io.stdout.write(text) is fine
  /\.writeSingleNode\s*\(/,
  /session\.write\b/,
  /\.call\s*\(/,
  /\.callMethod\s*\(/,
  /\.historyUpdate\s*\(/i,
  /\b(Write|Call|HistoryUpdate|AddNodes|DeleteNodes|AddReferences|DeleteReferences)Request\b/,
  /\.(addNodes|deleteNodes|addReferences|deleteReferences)\s*\(/,
  /performMessageTransaction/,
  /process\.exit\b/,
];

test('no file under src/tools/ writes to the server, calls methods, or exits the process', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.ts'));
  assert.ok(files.length >= 10, `only ${files.length} files found in ${DIR}`);
  for (const f of files) {
    const code = readFileSync(join(DIR, f), 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/(^|[^:])\/\/.*$/gm, '$1');
    // Not doesNotMatch: its failure message would print the whole file.
    for (const pattern of FORBIDDEN) assert.ok(!pattern.test(code), `${f} matches ${pattern}: ${pattern.exec(code)?.[0]}`);
  }
});
