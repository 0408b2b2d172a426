// Finished captures on their way to conduit.FirehoseSink, kept on disk until the sink has settled
// every record. The hand-off keeps them in memory and re-sends them (capture-handoff.ts), but a stop
// whose 3 s ran out, or a kill, would lose them with the process while the sink was away (a
// deployment that restarts both components does exactly that). So each finished capture is written
// once, to `<work>/captures/<captureId>.json` (temporary file, fsync, rename, folder fsync), before it
// is handed over, and removed once every one of its records is acknowledged, refused or evicted.
// The next run hands over what it finds there (the sink stores an id only once). One write per
// capture, not per sample: the raw rings themselves stay in memory (docs/burst.md).
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { HandoffRecord } from '../../../shared/handoff/protocol';
import type { Logger } from './ports';

/** Folder in the work folder. */
export const CAPTURE_SPILL_DIR = 'captures';
const VERSION = 1;

export class CaptureSpill {
  /** Capture id → its records not settled yet. */
  private readonly open = new Map<string, Set<string>>();
  private readonly dir: string;

  constructor(
    workDir: string,
    private readonly logger: Logger,
  ) {
    this.dir = join(workDir, CAPTURE_SPILL_DIR);
  }

  /** The captures an earlier run left on disk; each stays there until its records are settled in this run. */
  load(): HandoffRecord[] {
    let names: string[];
    try {
      names = readdirSync(this.dir).filter((n) => n.endsWith('.json'));
    } catch {
      return [];
    }
    const out: HandoffRecord[] = [];
    for (const name of names) {
      const file = join(this.dir, name);
      try {
        const o = JSON.parse(readFileSync(file, 'utf8')) as { v?: unknown; captureId?: unknown; records?: unknown };
        if (o.v !== VERSION || typeof o.captureId !== 'string' || !Array.isArray(o.records)) throw new Error(`not a version ${VERSION} capture file`);
        const records = (o.records as HandoffRecord[]).filter((r) => typeof r?.id === 'string' && typeof r.data === 'string');
        this.open.set(o.captureId, new Set(records.map((r) => r.id)));
        out.push(...records);
      } catch (e) {
        this.logger.warn({ file, err: e instanceof Error ? e.message : String(e) }, 'ignored a capture file this collector cannot read');
      }
    }
    return out;
  }

  /** Before the hand-off: on disk, or logged at ERROR (the capture then lives in memory only). */
  save(captureId: string, records: readonly HandoffRecord[]): void {
    if (records.length === 0) return;
    try {
      mkdirSync(this.dir, { recursive: true });
      const file = this.fileOf(captureId);
      const tmp = `${file}.tmp`;
      const fd = openSync(tmp, 'w');
      try {
        writeSync(fd, JSON.stringify({ v: VERSION, captureId, records }));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, file);
      const d = openSync(this.dir, 'r');
      try {
        fsyncSync(d);
      } finally {
        closeSync(d);
      }
      this.open.set(captureId, new Set(records.map((r) => r.id)));
    } catch (e) {
      this.logger.error({ captureId, err: String(e) }, 'cannot keep a capture on disk until the sink has it: a stop or crash before its acknowledgement would lose it');
    }
  }

  /** Records nothing waits for any more; a capture whose records are all settled leaves the disk. */
  settled(recordIds: readonly string[]): void {
    for (const id of recordIds) {
      const captureId = id.slice(0, id.lastIndexOf('/'));
      const left = this.open.get(captureId);
      if (!left) continue;
      left.delete(id);
      if (left.size > 0) continue;
      this.open.delete(captureId);
      try {
        unlinkSync(this.fileOf(captureId));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.logger.warn({ captureId, err: String(e) }, 'cannot remove a delivered capture file; the next run hands it over again (the sink stores it once)');
      }
    }
  }

  /** True while the record is on disk (not settled yet). */
  holds(recordId: string): boolean {
    return this.open.get(recordId.slice(0, recordId.lastIndexOf('/')))?.has(recordId) ?? false;
  }

  private fileOf(captureId: string): string {
    // Capture ids are `<runId>-c<n>` (hex and digits); anything else is made safe for a file name.
    return join(this.dir, `${captureId.replace(/[^A-Za-z0-9._-]/g, '_')}.json`);
  }
}
