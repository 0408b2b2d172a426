// The OPC UA edge is read-only by construction: no source file under src/opcua/ may reach a service
// that changes the plant. The e2e test proves it on the wire (the plant counts zero Write, Call and
// HistoryUpdate requests); this one keeps such a call from being written in the first place.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';

const DIR = resolve(__dirname, '../../../../components/opcua-collector/src/opcua');

/** Client methods and request types that write, call methods, change history or the address space. */
const FORBIDDEN: readonly RegExp[] = [
  /\.write\s*\(/,
  /\.writeSingleNode\s*\(/,
  /\.call\s*\(/,
  /\.callMethod\s*\(/,
  /historyUpdate/i,
  /\b(Write|Call|HistoryUpdate|AddNodes|DeleteNodes|AddReferences|DeleteReferences)Request\b/,
  /\.(addNodes|deleteNodes|addReferences|deleteReferences)\s*\(/,
  /performMessageTransaction/,
];

test('no file under src/opcua/ calls Write, Call, HistoryUpdate or node management', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.ts'));
  assert.ok(files.length >= 5, `only ${files.length} files found in ${DIR}`);
  for (const f of files) {
    // Comments may name the services (to say they are not used); code may not.
    const code = readFileSync(join(DIR, f), 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/(^|[^:])\/\/.*$/gm, '$1');
    for (const pattern of FORBIDDEN) assert.doesNotMatch(code, pattern, `${f} matches ${pattern}`);
  }
});
