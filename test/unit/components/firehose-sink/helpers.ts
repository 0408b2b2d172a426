// Test helpers for conduit.FirehoseSink: a logger that keeps every line (the harness's), and a temporary folder.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export { CapturedLog, type LogLine } from '../../../harness/captured-log';

/** A fresh folder, removed by the returned function. */
export function tempDir(prefix = 'conduit-sink-'): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A record of `bytes` bytes of data, with a recognizable id. */
export function rec(id: string, bytes = 20): { id: string; data: string } {
  const body = JSON.stringify({ id });
  return { id, data: body.length >= bytes ? body : body + ' '.repeat(bytes - body.length) };
}
