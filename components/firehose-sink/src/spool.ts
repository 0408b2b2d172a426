// FirehoseSpool: the sink's durable queue in the component's work folder.
//
//   <dir>/segment-<first seq>.log   append-only framed records {seq, at, id, data} (frames.ts)
//   <dir>/journal.log               seqs and ids Firehose accepted (journal.ts)
//
// Guarantees: append() returns only after the records are written and fsync'd (one fsync per put
// message), so an acknowledged record survives a crash or power loss. A record leaves the spool
// only when Firehose accepted it (markDone, journaled and fsync'd) or when a full spool evicts it,
// which is counted and logged at ERROR. Disk use (segment files) stays within maxBytes: eviction
// deletes whole segments, oldest first. File I/O is synchronous on purpose: an append and its fsync,
// a delivery and its journal entry, and a segment roll each complete before anything else on the
// event loop runs, so no interleaving can ack a record that is not yet durable.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, unlinkSync, ftruncateSync } from 'node:fs';
import { join } from 'node:path';
import type { HandoffRecord } from '../../../shared/handoff/protocol';
import type { Logger } from '../../../shared/edge/ports';
import { decodeRecordHeader, encodeRecord, recordDataOffset, recordFrameBytes, scanFrames } from './frames';
import { DoneJournal, RangeSet, RecentIds, fsyncDir, truncateAndSync, writeAll } from './journal';
import { SpoolWriteError } from './errors';

/** Most bytes one record frame may claim on recovery; a larger length is damage. */
const MAX_RECORD_FRAME_BYTES = 2 * 1024 * 1024;
const SEGMENT_FILE = /^segment-(\d+)\.log$/;
const segmentName = (firstSeq: number) => `segment-${String(firstSeq).padStart(15, '0')}.log`;

interface Segment {
  readonly firstSeq: number;
  readonly path: string;
  readonly fd: number;
  size: number;
  /** Records in it not yet delivered or evicted; the file is deleted at 0 (unless it is the active one). */
  live: number;
  deleted: boolean;
}

export interface SpoolEntry {
  readonly seq: number;
  readonly id: string;
  /** Unix ms when the sink stored it. */
  readonly at: number;
  readonly dataBytes: number;
  readonly frameBytes: number;
  /** live: waiting; claimed: the sender holds it (in a call or a retry); gone: delivered or evicted. */
  state: 'live' | 'claimed' | 'gone';
  readonly segment: Segment;
  readonly dataOffset: number;
}

export interface SpoolLimits {
  maxBytes: number;
  segmentBytes: number;
}

export interface SpoolOptions {
  dir: string;
  maxBytes: number;
  segmentBytes: number;
  logger: Logger;
  /** For tests: the journal size past which it is compacted (default JOURNAL_COMPACT_MIN_BYTES). */
  journalCompactMinBytes?: number;
}

export interface RecoveryReport {
  /** Records found not yet delivered, to be sent again. */
  records: number;
  segments: number;
  /** Bytes cut off the end of the last segment: a write torn by a crash (never acknowledged to a producer). */
  truncatedBytes: number;
  /** Bytes unreadable inside older segments: damage on disk; the records in them are lost. */
  corruptBytes: number;
  journalTruncatedBytes: number;
}

export interface AppendOutcome {
  /** Ids now in the spool or already delivered (duplicates included): the producer may forget them. */
  stored: string[];
  duplicates: number;
  rejected: { id: string; reason: string }[];
}

export interface SpoolCounters {
  stored: number;
  duplicates: number;
  evictedRecords: number;
  evictedBytes: number;
  delivered: number;
}

export class FirehoseSpool {
  private readonly entries = new Map<number, SpoolEntry>();
  private readonly liveIds = new Map<string, SpoolEntry>();
  private readonly segments: Segment[] = [];
  private active: Segment | undefined;
  private usage = 0;
  private unclaimedLineBytes = 0;
  /** From the options; a live configuration update may change them (setLimits). */
  private limits: SpoolLimits;
  private readonly c: SpoolCounters = { stored: 0, duplicates: 0, evictedRecords: 0, evictedBytes: 0, delivered: 0 };
  /** Undefined while the spool is not open (not yet, or closed). */
  private journal: DoneJournal | undefined;
  private recent = new RecentIds();
  private nextSeq = 0;
  private report: RecoveryReport = emptyRecovery();
  /** Called after every append that stored something (the sender waits on it), and after an open that found records. */
  onAppend: (() => void) | undefined;

  private constructor(private readonly o: SpoolOptions) {
    this.limits = { maxBytes: o.maxBytes, segmentBytes: o.segmentBytes };
  }

  /** Opens the spool, recovering what a previous run left: everything not delivered is live again. Throws when it cannot. */
  static open(o: SpoolOptions): FirehoseSpool {
    const spool = new FirehoseSpool(o);
    spool.recover();
    return spool;
  }

  /**
   * A spool that is not open yet: it holds nothing and takes nothing (append throws) until recover()
   * succeeds. The sink starts with one when its disk is full, read-only or missing, and opens it
   * once the disk allows it, without a restart.
   */
  static unopened(o: SpoolOptions): FirehoseSpool {
    return new FirehoseSpool(o);
  }

  get dir(): string {
    return this.o.dir;
  }

  get isOpen(): boolean {
    return this.journal !== undefined;
  }

  /** What the last open found (zeros until one succeeded). */
  get recovery(): RecoveryReport {
    return this.report;
  }

  /**
   * Opens the folder, reads the journal and every segment: the records not yet delivered are live
   * again. Throws (leaving the spool closed, nothing held open) when the folder cannot be created or
   * a file cannot be opened for writing; a no-op when already open.
   */
  recover(): void {
    if (this.journal) return;
    const o = this.o;
    mkdirSync(o.dir, { recursive: true });
    const { journal, replay } = DoneJournal.open(o.dir, o.journalCompactMinBytes);
    this.report = { records: 0, segments: 0, truncatedBytes: 0, corruptBytes: 0, journalTruncatedBytes: replay.truncatedBytes };
    this.recent = replay.recent;
    this.nextSeq = replay.nextSeq;
    try {
      const files = readdirSync(o.dir)
        .map((f) => ({ f, m: SEGMENT_FILE.exec(f) }))
        .filter((x) => x.m !== null)
        .map((x) => ({ path: join(o.dir, x.f), firstSeq: Number(x.m![1]) }))
        .sort((a, b) => a.firstSeq - b.firstSeq);
      files.forEach((file, k) => this.recoverSegment(file.path, file.firstSeq, k === files.length - 1, replay.done));
    } catch (e) {
      this.forget();
      journal.close();
      throw e;
    }
    this.journal = journal;
    if (replay.truncatedBytes > 0) {
      o.logger.warn({ truncatedBytes: replay.truncatedBytes }, 'spool journal: cut off a torn tail; the deliveries it recorded may be sent again (duplicates, no loss)');
    }
    this.report.records = this.entries.size;
    this.report.segments = this.segments.length;
    // A fresh snapshot: forgets the seqs of deleted segments, and the next start reads one frame. Only
    // a saving: on a full disk the spool opens without it (and can deliver, which frees room).
    try {
      journal.compact(this.snapshot());
    } catch (e) {
      o.logger.warn({ error: String(e) }, 'cannot compact the spool journal at open; will try again later');
    }
    if (this.entries.size > 0) this.onAppend?.();
  }

  /** Drops everything a failed open had read, closing its files (the files themselves stay). */
  private forget(): void {
    for (const seg of this.segments) {
      try {
        closeSync(seg.fd);
      } catch {
        // already closed
      }
    }
    this.segments.length = 0;
    this.entries.clear();
    this.liveIds.clear();
    this.active = undefined;
    this.usage = 0;
    this.unclaimedLineBytes = 0;
  }

  private recoverSegment(path: string, firstSeq: number, isLast: boolean, done: RangeSet): void {
    const buf = readFileSync(path);
    const seg: Segment = { firstSeq, path, fd: openSync(path, 'r+'), size: buf.length, live: 0, deleted: false };
    for (const f of scanFrames(buf, MAX_RECORD_FRAME_BYTES)) {
      const h = f.kind === 'frame' ? decodeRecordHeader(f.payload) : undefined;
      if (f.kind === 'frame' && h) {
        this.nextSeq = Math.max(this.nextSeq, h.seq + 1);
        if (done.has(h.seq) || this.liveIds.has(h.id)) continue;
        this.index({ seq: h.seq, id: h.id, at: h.at, dataBytes: h.dataBytes, frameBytes: f.end - f.start, state: 'live', segment: seg, dataOffset: f.start + recordDataOffset(h.idBytes) });
        continue;
      }
      if (f.kind === 'end') break;
      const start = f.start;
      const cut = buf.length - start;
      truncateAndSync(path, start);
      seg.size = start;
      const fields = { segment: path, offset: start, bytes: cut, why: f.kind === 'bad' ? f.why : 'corrupt' };
      if (isLast) {
        this.report.truncatedBytes += cut;
        this.o.logger.warn(fields, 'spool recovery: cut off a damaged tail of the last segment (a write torn by a crash; those records were never acknowledged, producers send them again)');
      } else {
        this.report.corruptBytes += cut;
        this.o.logger.error(fields, 'spool recovery: a segment is damaged; the records after the damage are lost (data lost): check the disk');
      }
      break;
    }
    this.usage += seg.size;
    this.segments.push(seg);
    if (seg.live === 0) this.deleteSegment(seg);
  }

  /** Stores the records of one put message (already checked with recordProblem), then fsyncs once. */
  append(records: readonly HandoffRecord[], nowMs: number): AppendOutcome {
    if (!this.journal) throw new SpoolWriteError(`the spool in ${this.o.dir} is not open`, { code: 'ENOTOPEN' });
    const out: AppendOutcome = { stored: [], duplicates: 0, rejected: [] };
    const added: SpoolEntry[] = [];
    const touched = new Map<Segment, number>();
    let dirChanged = false;
    try {
      for (const r of records) {
        if (this.liveIds.has(r.id) || this.recent.has(r.id)) {
          out.duplicates++;
          out.stored.push(r.id);
          continue;
        }
        const frameBytes = recordFrameBytes(r.id, r.data);
        if (frameBytes > this.limits.maxBytes) {
          out.rejected.push({ id: r.id, reason: `the record takes ${frameBytes} bytes, more than the whole spool (spool.maxBytes ${this.limits.maxBytes})` });
          continue;
        }
        while (this.usage + frameBytes > this.limits.maxBytes && this.segments.length > 0) {
          this.evictOldestSegment(nowMs, 'full');
          dirChanged = true;
        }
        if (!this.active || (this.active.size > 0 && this.active.size + frameBytes > this.limits.segmentBytes)) {
          this.startSegment();
          dirChanged = true;
        }
        const seg = this.active!;
        if (!touched.has(seg)) touched.set(seg, seg.size);
        const seq = this.nextSeq++;
        const { frame, idBytes, dataBytes } = encodeRecord({ seq, at: nowMs, id: r.id, data: r.data });
        writeAll(seg.fd, frame, seg.size);
        const entry: SpoolEntry = { seq, id: r.id, at: nowMs, dataBytes, frameBytes: frame.length, state: 'live', segment: seg, dataOffset: seg.size + recordDataOffset(idBytes) };
        seg.size += frame.length;
        this.usage += frame.length;
        this.index(entry);
        added.push(entry);
        out.stored.push(r.id);
      }
      for (const seg of touched.keys()) if (!seg.deleted) fsyncSync(seg.fd);
      if (dirChanged) fsyncDir(this.o.dir);
    } catch (e) {
      this.rollBack(added, touched);
      throw new SpoolWriteError(`cannot write the spool in ${this.o.dir}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    this.c.stored += added.length;
    this.c.duplicates += out.duplicates;
    if (added.length > 0) this.onAppend?.();
    return out;
  }

  /** A failed write or fsync: the put is not acknowledged, so nothing of it may stay (or be sent). */
  private rollBack(added: SpoolEntry[], touched: Map<Segment, number>): void {
    for (const e of added) if (e.state !== 'gone') this.unindex(e);
    for (const [seg, before] of touched) {
      if (seg.deleted) continue;
      try {
        ftruncateSync(seg.fd, before);
        this.usage -= seg.size - before;
        seg.size = before;
      } catch {
        // The segment cannot even be cut back: stop writing to it; recovery drops what is unreadable.
        if (seg === this.active) this.active = undefined;
      }
    }
  }

  private startSegment(): void {
    if (this.active && this.active.live === 0) this.deleteSegment(this.active);
    const path = join(this.o.dir, segmentName(this.nextSeq));
    const seg: Segment = { firstSeq: this.nextSeq, path, fd: openSync(path, 'wx+'), size: 0, live: 0, deleted: false };
    this.segments.push(seg);
    this.active = seg;
  }

  /**
   * New limits, from a live configuration update. A larger maxBytes simply leaves more room; a smaller
   * one evicts the oldest segments at once until the files fit (counted and logged at ERROR, as a full
   * spool does), so disk use never stays above what the operator allowed. A new segmentBytes applies
   * from the next segment on: the active one is not cut.
   */
  setLimits(limits: SpoolLimits, nowMs: number): void {
    this.limits = { ...limits };
    let evicted = false;
    while (this.usage > this.limits.maxBytes && this.segments.length > 0) {
      this.evictOldestSegment(nowMs, 'lowered');
      evicted = true;
    }
    if (!evicted) return;
    try {
      fsyncDir(this.o.dir);
    } catch (e) {
      // The files are unlinked either way; a crash before the directory reaches the disk only brings
      // the evicted records back (sent again), never loses more.
      this.o.logger.warn({ error: String(e) }, 'cannot sync the spool folder after evicting');
    }
  }

  /** Makes room: every record of the oldest segment is dropped (counted, logged at ERROR) with its file. */
  private evictOldestSegment(nowMs: number, why: 'full' | 'lowered'): void {
    const seg = this.segments[0]!;
    const evicted: SpoolEntry[] = [];
    for (const e of this.entries.values()) {
      if (e.segment !== seg) break;
      evicted.push(e);
    }
    for (const e of evicted) this.unindex(e);
    const bytes = evicted.reduce((n, e) => n + e.dataBytes, 0);
    this.c.evictedRecords += evicted.length;
    this.c.evictedBytes += bytes;
    if (evicted.length > 0) {
      this.o.logger.error(
        {
          records: evicted.length,
          bytes,
          firstId: evicted[0]!.id,
          lastId: evicted.at(-1)!.id,
          oldestAgeMs: nowMs - evicted[0]!.at,
          inFlight: evicted.filter((e) => e.state === 'claimed').length,
          maxBytes: this.limits.maxBytes,
          fix:
            why === 'full'
              ? 'Firehose has not accepted records for a while: see the earlier errors for why; raise spool.maxBytes to ride out longer outages'
              : 'a configuration update lowered spool.maxBytes below what the spool held; raise it again if the spool must hold more',
        },
        why === 'full' ? 'spool full: evicted the oldest records to make room (data lost)' : 'spool.maxBytes lowered: evicted the oldest records to fit (data lost)',
      );
    }
    this.deleteSegment(seg);
  }

  private deleteSegment(seg: Segment): void {
    if (seg.deleted) return;
    seg.deleted = true;
    closeSync(seg.fd);
    unlinkSync(seg.path);
    this.usage -= seg.size;
    this.segments.splice(this.segments.indexOf(seg), 1);
    if (this.active === seg) this.active = undefined;
  }

  private index(e: SpoolEntry): void {
    this.entries.set(e.seq, e);
    this.liveIds.set(e.id, e);
    e.segment.live++;
    if (e.state === 'live') this.unclaimedLineBytes += e.dataBytes + 1;
  }

  private unindex(e: SpoolEntry): void {
    if (e.state === 'live') this.unclaimedLineBytes -= e.dataBytes + 1;
    e.state = 'gone';
    this.entries.delete(e.seq);
    this.liveIds.delete(e.id);
    e.segment.live--;
  }

  // ---- the sender's side -----------------------------------------------------------------------

  /** Records waiting and not held by the sender, oldest first. */
  *unclaimed(): Generator<SpoolEntry> {
    for (const e of this.entries.values()) if (e.state === 'live') yield e;
  }

  /** Bytes of the waiting records as lines (data + newline): what the sender can fill calls with. */
  get unclaimedBytes(): number {
    return this.unclaimedLineBytes;
  }

  /** Reads a record's data back from its segment (the sender does it once per record). */
  readData(e: SpoolEntry): Buffer {
    const buf = Buffer.allocUnsafe(e.dataBytes);
    let off = 0;
    while (off < buf.length) {
      const n = readSync(e.segment.fd, buf, off, buf.length - off, e.dataOffset + off);
      if (n === 0) throw new Error(`segment ${e.segment.path} ends before record ${e.seq}`);
      off += n;
    }
    return buf;
  }

  /** Hands claimed records back, waiting again (a sender that is replaced gives back what it held). */
  release(entries: readonly SpoolEntry[]): void {
    for (const e of entries) {
      if (e.state !== 'claimed') continue;
      e.state = 'live';
      this.unclaimedLineBytes += e.dataBytes + 1;
    }
  }

  claim(entries: readonly SpoolEntry[]): void {
    for (const e of entries) {
      if (e.state !== 'live') continue;
      e.state = 'claimed';
      this.unclaimedLineBytes -= e.dataBytes + 1;
    }
  }

  /** Firehose accepted these: journaled (fsync'd), then forgotten. Returns how many were no longer in the spool (evicted meanwhile). */
  markDone(entries: readonly SpoolEntry[]): { notLive: number } {
    const seqs = new RangeSet();
    const ids: string[] = [];
    const segments = new Set<Segment>();
    let notLive = 0;
    for (const e of entries) {
      if (e.state === 'gone') {
        notLive++;
        continue;
      }
      segments.add(e.segment);
      seqs.add(e.seq);
      ids.push(e.id);
      this.unindex(e);
      this.recent.add(e.id);
    }
    this.c.delivered += ids.length;
    if (ids.length === 0) return { notLive };
    try {
      // Closed meanwhile (a stop): not journaled, so sent again at the next start (duplicates, no loss).
      if (!this.journal) throw new Error('the spool is closed');
      this.journal.appendDone(seqs, ids);
    } catch (e) {
      this.o.logger.warn({ error: String(e), records: ids.length }, 'cannot record deliveries in the spool journal: those records will be sent again after a restart (duplicates, no loss)');
    }
    // Delivered out of order (a retried record) can empty any segment, not only the oldest.
    let deleted = false;
    for (const seg of segments) {
      if (seg.live === 0 && seg !== this.active && !seg.deleted) {
        this.deleteSegment(seg);
        deleted = true;
      }
    }
    try {
      if (deleted) fsyncDir(this.o.dir);
      if (this.journal?.wantsCompaction) this.journal.compact(this.snapshot());
    } catch (e) {
      this.o.logger.warn({ error: String(e) }, 'cannot compact the spool journal; will try again');
    }
    return { notLive };
  }

  /** What the journal must keep: the delivered seqs still inside segment files, and the recent ids. */
  private snapshot(): { nextSeq: number; done: RangeSet; recentIds: string[] } {
    const done = new RangeSet();
    let from = this.segments[0]?.firstSeq ?? this.nextSeq;
    for (const e of this.entries.values()) {
      if (e.seq > from) done.add(from, e.seq - 1);
      from = e.seq + 1;
    }
    if (from < this.nextSeq) done.add(from, this.nextSeq - 1);
    return { nextSeq: this.nextSeq, done, recentIds: this.recent.list() };
  }

  // ---- reporting -------------------------------------------------------------------------------

  stats(nowMs: number): { bytes: number; records: number; segments: number; oldestAgeMs: number | null } {
    const oldest = this.entries.values().next();
    return { bytes: this.usage, records: this.entries.size, segments: this.segments.length, oldestAgeMs: oldest.done ? null : nowMs - oldest.value.at };
  }

  counters(): SpoolCounters {
    return { ...this.c };
  }

  /**
   * fsyncs every segment and the journal, then closes them; returns false when a sync failed. Every
   * ack already followed its own fsync, so this is a last safeguard, not what durability rests on.
   * The spool is closed afterwards (append throws). A no-op on a spool that is not open.
   */
  close(): boolean {
    if (!this.journal) return true;
    let synced = true;
    for (const seg of this.segments) {
      try {
        fsyncSync(seg.fd);
      } catch {
        synced = false;
      }
    }
    synced = this.journal.sync() && synced;
    this.forget();
    this.journal.close();
    this.journal = undefined;
    return synced;
  }
}

function emptyRecovery(): RecoveryReport {
  return { records: 0, segments: 0, truncatedBytes: 0, corruptBytes: 0, journalTruncatedBytes: 0 };
}
