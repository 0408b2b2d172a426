// Test helpers for conduit.FirehoseSink: a logger that keeps every line, and a temporary folder.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../../../../components/firehose-sink/src/ports';

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  fields: Record<string, unknown>;
}

export class CapturedLog implements Logger {
  readonly lines: LogLine[] = [];
  debug(fields: Record<string, unknown>, msg: string): void {
    this.lines.push({ level: 'debug', msg, fields });
  }
  info(fields: Record<string, unknown>, msg: string): void {
    this.lines.push({ level: 'info', msg, fields });
  }
  warn(fields: Record<string, unknown>, msg: string): void {
    this.lines.push({ level: 'warn', msg, fields });
  }
  error(fields: Record<string, unknown>, msg: string): void {
    this.lines.push({ level: 'error', msg, fields });
  }
  at(level: LogLine['level']): LogLine[] {
    return this.lines.filter((l) => l.level === level);
  }
}

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
