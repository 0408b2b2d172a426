// The spool's delivery journal: which spooled records Firehose has accepted (their seqs, so a
// restart does not send them again) and the ids of the last DELIVERED_IDS_KEPT of them (so a
// producer re-sending an id after a lost ack is not delivered twice). Append-only, one fsync'd frame
// per PutRecordBatch call, and compacted into a single snapshot frame by write-rename-fsync.
import { closeSync, existsSync, fsyncSync, ftruncateSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { encodeFrame, scanFrames } from './frames';

/** Delivered ids remembered for de-duplication: minutes of traffic at a burst capture's rate. */
export const DELIVERED_IDS_KEPT = 10_000;
/** A journal is compacted once it exceeds this and four times its last snapshot. */
export const JOURNAL_COMPACT_MIN_BYTES = 1024 * 1024;
/** Most bytes one journal frame may claim; anything larger is damage, not data. */
const MAX_JOURNAL_FRAME_BYTES = 256 * 1024 * 1024;
export const JOURNAL_FILE = 'journal.log';

/** A set of whole numbers kept as sorted, disjoint, inclusive ranges: delivered seqs are mostly runs. */
export class RangeSet {
  private readonly ranges: [number, number][] = [];

  add(from: number, to = from): void {
    const r = this.ranges;
    // First range that ends at or after from - 1 (it may touch or overlap the new one).
    const i = this.lowerBound(from - 1);
    let lo = from;
    let hi = to;
    let j = i;
    while (j < r.length && r[j]![0] <= to + 1) {
      lo = Math.min(lo, r[j]![0]);
      hi = Math.max(hi, r[j]![1]);
      j++;
    }
    r.splice(i, j - i, [lo, hi]);
  }

  has(n: number): boolean {
    const i = this.lowerBound(n);
    return i < this.ranges.length && this.ranges[i]![0] <= n;
  }

  get max(): number | undefined {
    return this.ranges.at(-1)?.[1];
  }

  toJSON(): [number, number][] {
    return this.ranges.map(([a, b]) => [a, b]);
  }

  /** Index of the first range whose end is >= n. */
  private lowerBound(n: number): number {
    let lo = 0;
    let hi = this.ranges.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ranges[mid]![1] < n) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** The last `capacity` distinct ids, oldest first. */
export class RecentIds {
  private readonly order: string[] = [];
  private readonly set = new Set<string>();
  constructor(private readonly capacity = DELIVERED_IDS_KEPT) {}

  add(id: string): void {
    if (this.set.has(id)) return;
    this.order.push(id);
    this.set.add(id);
    // Trim in chunks: shifting one element at a time is O(n) each.
    if (this.order.length > this.capacity * 1.25) for (const old of this.order.splice(0, this.order.length - this.capacity)) this.set.delete(old);
  }

  has(id: string): boolean {
    return this.set.has(id);
  }

  /** The newest `capacity` ids, oldest first. */
  list(): string[] {
    return this.order.slice(-this.capacity);
  }
}

/** What the journal said at start-up. */
export interface JournalReplay {
  done: RangeSet;
  recent: RecentIds;
  /** The next seq the spool may use, as far as the journal knows. */
  nextSeq: number;
  /** Bytes of a damaged tail that were dropped (a torn write; the deliveries in it may be repeated). */
  truncatedBytes: number;
}

type JournalFrame = { t: 'done'; s: [number, number][]; i: string[] } | { t: 'snap'; next: number; s: [number, number][]; i: string[] };

export class DoneJournal {
  private fd: number;
  private size: number;
  private snapshotBytes = 0;

  private constructor(
    private readonly dir: string,
    replayedSize: number,
    private readonly compactMinBytes: number,
  ) {
    this.fd = openSync(join(dir, JOURNAL_FILE), 'a');
    this.size = replayedSize;
  }

  /** Reads the journal (if any) and opens it for appending. A damaged tail is cut off first. */
  static open(dir: string, compactMinBytes = JOURNAL_COMPACT_MIN_BYTES): { journal: DoneJournal; replay: JournalReplay } {
    const path = join(dir, JOURNAL_FILE);
    const replay: JournalReplay = { done: new RangeSet(), recent: new RecentIds(), nextSeq: 0, truncatedBytes: 0 };
    let size = 0;
    if (existsSync(path)) {
      const buf = readFileSync(path);
      for (const f of scanFrames(buf, MAX_JOURNAL_FRAME_BYTES)) {
        if (f.kind === 'frame') {
          const entry = parseFrame(f.payload);
          if (!entry) {
            size = f.start;
            break;
          }
          if (entry.t === 'snap') {
            replay.done = new RangeSet();
            replay.recent = new RecentIds();
            replay.nextSeq = Math.max(replay.nextSeq, entry.next);
          }
          for (const [a, b] of entry.s) replay.done.add(a, b);
          for (const id of entry.i) replay.recent.add(id);
          size = f.end;
        } else if (f.kind === 'bad') {
          size = f.start;
        }
      }
      replay.truncatedBytes = buf.length - size;
      if (replay.truncatedBytes > 0) truncateAndSync(path, size);
    }
    replay.nextSeq = Math.max(replay.nextSeq, (replay.done.max ?? -1) + 1);
    return { journal: new DoneJournal(dir, size, compactMinBytes), replay };
  }

  get bytes(): number {
    return this.size;
  }

  /** Records deliveries durably (fsync'd before it returns). */
  appendDone(seqs: RangeSet, ids: string[]): void {
    this.write(encodeFrame(Buffer.from(JSON.stringify({ t: 'done', s: seqs.toJSON(), i: ids } satisfies JournalFrame))));
  }

  get wantsCompaction(): boolean {
    return this.size > this.compactMinBytes && this.size > 4 * this.snapshotBytes;
  }

  /**
   * Replaces the journal with one snapshot: the done seqs still inside segment files, the recent
   * ids, the next seq. Written to a temporary file, fsync'd, renamed over the journal and the folder
   * fsync'd, so a crash leaves either the old journal or the new one, never half of one.
   */
  compact(snapshot: { nextSeq: number; done: RangeSet; recentIds: string[] }): void {
    const path = join(this.dir, JOURNAL_FILE);
    const tmp = `${path}.tmp`;
    const frame = encodeFrame(Buffer.from(JSON.stringify({ t: 'snap', next: snapshot.nextSeq, s: snapshot.done.toJSON(), i: snapshot.recentIds } satisfies JournalFrame)));
    const fd = openSync(tmp, 'w');
    try {
      writeAll(fd, frame);
      fsyncSync(fd);
    } catch (e) {
      // A full disk, say: leave no half-written file taking room.
      closeSync(fd);
      rmSync(tmp, { force: true });
      throw e;
    }
    closeSync(fd);
    renameSync(tmp, path);
    fsyncDir(this.dir);
    closeSync(this.fd);
    this.fd = openSync(path, 'a');
    this.size = frame.length;
    this.snapshotBytes = frame.length;
  }

  /** fsyncs the journal file; false when that failed. */
  sync(): boolean {
    try {
      fsyncSync(this.fd);
      return true;
    } catch {
      return false;
    }
  }

  close(): void {
    closeSync(this.fd);
  }

  private write(frame: Buffer): void {
    try {
      writeAll(this.fd, frame);
      fsyncSync(this.fd);
      this.size += frame.length;
    } catch (e) {
      // A partial frame would hide every later one at the next start: cut it off again.
      try {
        truncateAndSync(join(this.dir, JOURNAL_FILE), this.size);
      } catch {
        // nothing more can be done; the next start drops the damaged tail
      }
      throw e;
    }
  }
}

function parseFrame(payload: Buffer): JournalFrame | undefined {
  try {
    const o = JSON.parse(payload.toString('utf8'));
    if ((o?.t === 'done' || o?.t === 'snap') && Array.isArray(o.s) && Array.isArray(o.i)) return o as JournalFrame;
  } catch {
    // fall through: a frame with a good CRC but no journal entry in it is treated as damage
  }
  return undefined;
}

export function writeAll(fd: number, buf: Buffer, position?: number): void {
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off, position === undefined ? null : position + off);
}

export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function truncateAndSync(path: string, size: number): void {
  const fd = openSync(path, 'r+');
  try {
    if (statSync(path).size > size) {
      // ftruncate through the same descriptor that is then fsync'd.
      ftruncateSync(fd, size);
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
