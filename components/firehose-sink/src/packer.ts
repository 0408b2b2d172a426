// Packing spooled lines into Firehose records and records into PutRecordBatch calls. Pure: sizes in,
// layout out. Firehose bills every record rounded up to 5 KB, so one JSON line per record wastes up to
// 5 KB per line; packing whole lines (data + '\n') into records of up to maxRecordBytes wastes under
// 5 KB per record instead. Lines are never split: a reader of the S3 object splits on newlines and
// gets exactly the lines producers handed over.
import { FIREHOSE_MAX_RECORD_BYTES } from '../../../shared/handoff/protocol';

// Service limits of PutRecordBatch; "These limits cannot be changed".
// https://docs.aws.amazon.com/firehose/latest/dev/limits.html
/** Most records in one PutRecordBatch call. */
export const MAX_RECORDS_PER_CALL = 500;
/** Most bytes of record data in one PutRecordBatch call: 4 MiB. */
export const MAX_CALL_BYTES = 4 * 1024 * 1024;
/** Most bytes in one record: 1,000 KiB. */
export const MAX_RECORD_BYTES = FIREHOSE_MAX_RECORD_BYTES;
/** Firehose bills ingestion per record rounded up to this many bytes (Direct PUT pricing). */
export const BILLING_UNIT_BYTES = 5 * 1024;

/** One record of a call: lines [first, first + count) of the call, `bytes` long. */
export interface PackedRecord {
  first: number;
  count: number;
  bytes: number;
}

/**
 * Builds one call line by line. `add` says whether the next line still fits; the first line that
 * does not ends the call (order is kept: a later, smaller line never jumps ahead of it).
 */
export class CallPacker {
  readonly records: PackedRecord[] = [];
  private lines = 0;
  private total = 0;

  /** @param maxRecordBytes packing target of a record; a single longer line still gets a record of its own. */
  constructor(private readonly maxRecordBytes: number) {
    if (!(maxRecordBytes >= 1 && maxRecordBytes <= MAX_RECORD_BYTES)) throw new RangeError(`maxRecordBytes must be 1..${MAX_RECORD_BYTES} (got ${maxRecordBytes})`);
  }

  /** Adds a line of `lineBytes` (data and its newline); false when it does not fit this call. */
  add(lineBytes: number): boolean {
    if (lineBytes > MAX_RECORD_BYTES) throw new RangeError(`a line of ${lineBytes} bytes cannot fit any Firehose record (at most ${MAX_RECORD_BYTES})`);
    if (this.total + lineBytes > MAX_CALL_BYTES) return false;
    const last = this.records.at(-1);
    if (last && last.bytes + lineBytes <= this.maxRecordBytes) {
      last.count++;
      last.bytes += lineBytes;
    } else {
      if (this.records.length === MAX_RECORDS_PER_CALL) return false;
      this.records.push({ first: this.lines, count: 1, bytes: lineBytes });
    }
    this.lines++;
    this.total += lineBytes;
    return true;
  }

  get lineCount(): number {
    return this.lines;
  }

  get bytes(): number {
    return this.total;
  }
}

/** Packs as many of `lineBytes` (in order) as one call holds. */
export function packLines(lineBytes: readonly number[], maxRecordBytes: number): { records: PackedRecord[]; lines: number } {
  const p = new CallPacker(maxRecordBytes);
  for (const b of lineBytes) if (!p.add(b)) break;
  return { records: p.records, lines: p.lineCount };
}

/** The record bodies: each the concatenation of its lines. */
export function recordBodies(records: readonly PackedRecord[], lines: readonly Buffer[]): Buffer[] {
  return records.map((r) => Buffer.concat(lines.slice(r.first, r.first + r.count), r.bytes));
}

/** Bytes Firehose bills for records of these sizes. */
export function billedBytes(recordBytes: readonly number[]): number {
  return recordBytes.reduce((n, b) => n + Math.ceil(b / BILLING_UNIT_BYTES) * BILLING_UNIT_BYTES, 0);
}
