// BatchEncoder: turns the reduction stages' records into compact columnar JSON messages, each at
// most `maxMessageBytes`, with a contiguous sequence number per stream.
//
// `add*` copies a record's fields into typed arrays (the stages reuse one record object per emit
// call) and allocates nothing; `drain(nowMs)` formats the rows and cuts messages. A message is
// built as one string per column; each cell is formatted before it is appended, so the byte length
// of the message-to-be is known exactly at every step and a row goes into the next message when it
// would not fit. No clock, no timers, no I/O: the runtime calls `drain` on its publish tick.

import type { ChangePoint, DeadbandPoint, RmsWindowRecord, RmsWindowStatus } from '../reduction';
import { PublishConfigError } from './errors';
import { DEFAULT_SIGNIFICANT_DIGITS, checkSignificantDigits, formatNumber } from './number-format';
import { RowStore } from './row-store';

/** Version of the message format (docs/message-format.md); bumped on any incompatible change. */
export const SCHEMA_VERSION = 1;
/** IoT Core's payload limit and the nucleus's default mqtt.maxMessageSizeInBytes, raw bytes (docs.aws.amazon.com/general/latest/gr/iot-core.html). */
export const MAX_PAYLOAD_BYTES = 131_072;
/** Smallest maxMessageBytes accepted: below it the fixed header would be most of every message. */
export const MIN_MESSAGE_BYTES = 512;
/** Rows one stream holds between two drains; further ones are dropped as `overflow` (and counted). */
export const DEFAULT_MAX_PENDING_ROWS = 262_144;
/** Room an empty message must leave for rows once the header is written, bytes. */
const MIN_ROW_ROOM = 128;
/** The longest `"seq":…,"t0":…,"at":…,` can be: three numbers of at most 24 characters. */
const MAX_VARIABLE_HEADER_BYTES = 24 + 3 * 24;

export type StreamName = 'rms' | 'deadband' | 'change';
export const STREAM_NAMES: readonly StreamName[] = ['rms', 'deadband', 'change'];
/** The RMS statistics a message can carry (`count` is always carried). */
export type RmsStatistic = 'rms' | 'mean' | 'min' | 'max' | 'peak';
export const RMS_STATISTICS: readonly RmsStatistic[] = ['rms', 'mean', 'min', 'max', 'peak'];
/** An rms row's `status` column holds the index of its RmsWindowStatus in this list. */
export const RMS_STATUS_NAMES: readonly RmsWindowStatus[] = ['ok', 'noGoodData', 'noData'];
/** Column names, in the order messages carry them (rms: then the configured statistics). */
export const RMS_BASE_COLUMNS = ['tag', 'dt', 'status', 'count', 'bad', 'missed'] as const;
export const DEADBAND_COLUMNS = ['tag', 'dt', 'value', 'status', 'suppressed', 'deadband'] as const;
export const CHANGE_COLUMNS = ['tag', 'dt', 'value', 'status', 'suppressed'] as const;

/**
 * Why a row was not published. `invalidRow`: a tag that is not a uint32, a non-finite time, an
 * unknown status or a change value that is not a primitive. `overflow`: more than maxPendingRows
 * waited for a drain. `tooLarge`: the row alone does not fit an empty message.
 */
export type RowDropReason = 'invalidRow' | 'overflow' | 'tooLarge';
const DROP_REASONS: readonly RowDropReason[] = ['invalidRow', 'overflow', 'tooLarge'];
const INVALID_ROW = 0;
const OVERFLOW = 1;
const TOO_LARGE = 2;

// How a column's cells are written.
const NUM = 0; // formatNumber with the configured digits; NaN is null
const TIME = 1; // offset from the message's t0, ms, to the microsecond
const VALUE = 2; // a change value from RowStore.values

export interface BatchEncoderConfig {
  thingName: string;
  site: string;
  area: string;
  /** Every message carries it; the tag indices mean what the mapping of this version says. */
  mappingVersion: string;
  /** Identifies this process start: sequences restart at 0 with a new run id. */
  runId: string;
  /** Largest payload, bytes, MIN_MESSAGE_BYTES..MAX_PAYLOAD_BYTES. */
  maxMessageBytes: number;
  /** Default DEFAULT_SIGNIFICANT_DIGITS. */
  significantDigits?: number;
  /** RMS statistics per window, in this order; default all of RMS_STATISTICS. */
  rmsFields?: readonly RmsStatistic[];
  /** Per stream; default DEFAULT_MAX_PENDING_ROWS. */
  maxPendingRows?: number;
}

/** One finished message. `payload` is UTF-8 JSON of at most maxMessageBytes bytes. */
export interface EncodedMessage {
  stream: StreamName;
  /** 0, 1, 2, … per stream and run, without gaps. */
  seq: number;
  payload: Buffer;
  rows: number;
}

export interface StreamCounters {
  /** Rows published in messages. */
  rows: number;
  messages: number;
  payloadBytes: number;
  /** payloadBytes / rows: the cost of one point on the uplink, header included. */
  bytesPerRow: number;
  /** The seq the next message of this stream will carry. */
  nextSeq: number;
  /** Rows waiting for the next drain. */
  pending: number;
}

/** Cumulative totals since construction, the same shape as the reduction stages' counters. */
export interface BatchEncoderCounters {
  /** Calls to add*. */
  received: number;
  /** Rows written into messages. */
  emitted: number;
  /** Rows lost, by reason: each one is data the cloud will not get (log at ERROR). */
  dropped: Record<RowDropReason, number>;
  messages: number;
  payloadBytes: number;
  bytesPerRow: number;
  streams: Record<StreamName, StreamCounters>;
}

interface Stream {
  readonly name: StreamName;
  readonly kinds: Uint8Array;
  readonly store: RowStore;
  /** Everything before `"seq":`, constant for the stream. */
  readonly prefix: string;
  /** `"cols":{"tag":[` for the first column, `],"dt":[` for the others. */
  readonly colOpen: readonly string[];
  /** Bytes of prefix, every colOpen and the closing `]}}`. */
  readonly fixedBytes: number;
  nextSeq: number;
  rows: number;
  messages: number;
  payloadBytes: number;
}

const CLOSE = ']}}';

export class BatchEncoder {
  readonly maxMessageBytes: number;
  readonly significantDigits: number;
  readonly rmsFields: readonly RmsStatistic[];
  private readonly statCodes: Uint8Array;
  private readonly rms: Stream;
  private readonly deadband: Stream;
  private readonly change: Stream;
  private readonly streams: readonly Stream[];
  /** Cells of the row being placed, and the column strings of the message being built. */
  private readonly cells: string[];
  private readonly colText: string[];

  private received = 0;
  private emitted = 0;
  private readonly dropCounts = new Float64Array(DROP_REASONS.length);

  constructor(config: BatchEncoderConfig) {
    const ids = ['thingName', 'site', 'area', 'mappingVersion', 'runId'] as const;
    for (const k of ids) {
      const v = config?.[k];
      if (typeof v !== 'string' || v.length === 0) throw new PublishConfigError(`must be a non-empty string, got ${JSON.stringify(v)}`, { field: k });
    }
    const max = config.maxMessageBytes;
    if (!Number.isInteger(max) || max < MIN_MESSAGE_BYTES || max > MAX_PAYLOAD_BYTES) {
      throw new PublishConfigError(`must be an integer in ${MIN_MESSAGE_BYTES}..${MAX_PAYLOAD_BYTES}, got ${max}`, { field: 'maxMessageBytes' });
    }
    this.maxMessageBytes = max;
    this.significantDigits = checkSignificantDigits(config.significantDigits ?? DEFAULT_SIGNIFICANT_DIGITS);
    const fields = config.rmsFields ?? RMS_STATISTICS;
    if (!Array.isArray(fields) || fields.some((f) => !RMS_STATISTICS.includes(f)) || new Set(fields).size !== fields.length) {
      throw new PublishConfigError(`must be distinct names from ${RMS_STATISTICS.join(', ')}, got ${JSON.stringify(fields)}`, { field: 'rmsFields' });
    }
    this.rmsFields = [...fields];
    this.statCodes = Uint8Array.from(fields, (f) => RMS_STATISTICS.indexOf(f));
    const limit = config.maxPendingRows ?? DEFAULT_MAX_PENDING_ROWS;
    if (!Number.isInteger(limit) || limit < 1) throw new PublishConfigError(`must be a positive integer, got ${limit}`, { field: 'maxPendingRows' });

    // The identity part of every header is escaped once, here, and never again.
    const identity =
      `"thingName":${JSON.stringify(config.thingName)},"site":${JSON.stringify(config.site)},"area":${JSON.stringify(config.area)},` +
      `"mappingVersion":${JSON.stringify(config.mappingVersion)},"runId":${JSON.stringify(config.runId)},`;
    const rmsCols = [...RMS_BASE_COLUMNS, ...fields];
    this.rms = makeStream('rms', rmsCols, limit, identity + `"statusNames":${JSON.stringify(RMS_STATUS_NAMES)},`);
    this.deadband = makeStream('deadband', DEADBAND_COLUMNS, limit, identity);
    this.change = makeStream('change', CHANGE_COLUMNS, limit, identity);
    this.streams = [this.rms, this.deadband, this.change];
    const widest = Math.max(...this.streams.map((s) => s.fixedBytes));
    if (widest + MAX_VARIABLE_HEADER_BYTES + MIN_ROW_ROOM > max) {
      throw new PublishConfigError(`${max} bytes leave no room for rows after a ${widest}-byte header; shorten the names or raise it`, { field: 'maxMessageBytes' });
    }
    this.cells = new Array<string>(rmsCols.length).fill('');
    this.colText = new Array<string>(rmsCols.length).fill('');
  }

  /** Queues one RMS window record (copied). */
  addRms(r: Readonly<RmsWindowRecord>): void {
    const status = r.status === 'ok' ? 0 : r.status === 'noGoodData' ? 1 : r.status === 'noData' ? 2 : -1;
    const i = this.reserveRow(this.rms, status >= 0 && isTag(r.tag) && Number.isFinite(r.windowStartMs));
    if (i < 0) return;
    const c = this.rms.store.cols;
    c[0]![i] = r.tag;
    c[1]![i] = r.windowStartMs;
    c[2]![i] = status;
    c[3]![i] = r.count;
    c[4]![i] = r.badCount;
    c[5]![i] = r.windowsMissed;
    const codes = this.statCodes;
    for (let f = 0; f < codes.length; f++) {
      const code = codes[f]!;
      const v = code === 0 ? r.rms : code === 1 ? r.mean : code === 2 ? r.min : code === 3 ? r.max : r.peak;
      c[6 + f]![i] = v === null ? NaN : v;
    }
  }

  /** Queues one deadband point (copied). */
  addDeadband(p: Readonly<DeadbandPoint>): void {
    const i = this.reserveRow(this.deadband, isTag(p.tag) && Number.isFinite(p.sourceTimeMs));
    if (i < 0) return;
    const c = this.deadband.store.cols;
    c[0]![i] = p.tag;
    c[1]![i] = p.sourceTimeMs;
    c[2]![i] = p.value === null ? NaN : p.value;
    c[3]![i] = p.statusCode;
    c[4]![i] = p.suppressed;
    c[5]![i] = p.deadband;
  }

  /** Queues one change point (copied; the value is a primitive, so keeping the reference is a copy). */
  addChange(p: Readonly<ChangePoint>): void {
    const v = p.value;
    const validValue = v === null || typeof v === 'boolean' || typeof v === 'string' || Number.isFinite(v);
    const i = this.reserveRow(this.change, validValue && isTag(p.tag) && Number.isFinite(p.sourceTimeMs));
    if (i < 0) return;
    const store = this.change.store;
    const c = store.cols;
    c[0]![i] = p.tag;
    c[1]![i] = p.sourceTimeMs;
    store.values[i] = v;
    c[3]![i] = p.statusCode;
    c[4]![i] = p.suppressed;
  }

  /** Counts a row in, and gives its slot in the stream's store, or -1 (counted) for an invalid row or a full store. */
  private reserveRow(stream: Stream, valid: boolean): number {
    this.received++;
    if (!valid) {
      this.dropCounts[INVALID_ROW]++;
      return -1;
    }
    const i = stream.store.reserve();
    if (i < 0) this.dropCounts[OVERFLOW]++;
    return i;
  }

  /** Rows waiting for the next drain, all streams. */
  get pendingRows(): number {
    return this.rms.store.length + this.deadband.store.length + this.change.store.length;
  }

  /**
   * Encodes every queued row into messages, stream by stream (rms, deadband, change), each
   * stream's messages in seq order. `nowMs` (wall clock) is written into each message as `at`.
   * Never throws; a row that fits no message is dropped as `tooLarge`.
   */
  drain(nowMs: number): EncodedMessage[] {
    const out: EncodedMessage[] = [];
    const at = formatTime(nowMs);
    for (const st of this.streams) {
      if (st.store.length > 0) this.encodeStream(st, at, out);
    }
    return out;
  }

  private encodeStream(st: Stream, at: string, out: EncodedMessage[]): void {
    const store = st.store;
    const times = store.cols[1]!;
    const ncols = st.kinds.length;
    const cells = this.cells;
    const text = this.colText;
    const max = this.maxMessageBytes;
    let open = false;
    let t0 = 0;
    let header = '';
    let size = 0;
    let rows = 0;
    // Counted in locals and added to the totals once per drain.
    let emitted = 0;
    let tooLarge = 0;
    for (let i = 0; i < store.length; i++) {
      for (;;) {
        if (!open) {
          t0 = Math.floor(times[i]!);
          header = `"seq":${st.nextSeq},"t0":${t0},"at":${at},`;
          size = st.fixedBytes + header.length;
          for (let c = 0; c < ncols; c++) text[c] = '';
          rows = 0;
          open = true;
        }
        // Each cell but a message's first is preceded by a comma.
        const rowBytes = this.formatRow(st, i, t0) + (rows > 0 ? ncols : 0);
        if (size + rowBytes <= max) {
          if (rows > 0) for (let c = 0; c < ncols; c++) text[c] += ',' + cells[c];
          else for (let c = 0; c < ncols; c++) text[c] = cells[c]!;
          size += rowBytes;
          rows++;
          emitted++;
          break;
        }
        if (rows === 0) {
          // Alone in an empty message and still too big: it can never be sent. The message stays
          // unopened so the next row chooses its own t0.
          tooLarge++;
          open = false;
          break;
        }
        out.push(this.finish(st, header, rows, size));
        open = false;
      }
    }
    if (open && rows > 0) out.push(this.finish(st, header, rows, size));
    store.clear();
    st.rows += emitted;
    this.emitted += emitted;
    this.dropCounts[TOO_LARGE] += tooLarge;
  }

  /** Formats row `i` into `cells`; returns its bytes without separators. */
  private formatRow(st: Stream, i: number, t0: number): number {
    const cols = st.store.cols;
    const kinds = st.kinds;
    const digits = this.significantDigits;
    const cells = this.cells;
    let bytes = 0;
    for (let c = 0; c < kinds.length; c++) {
      const kind = kinds[c];
      let s: string;
      if (kind === NUM) s = formatNumber(cols[c]![i]!, digits);
      else if (kind === TIME) s = formatTime(cols[c]![i]! - t0);
      else {
        const v = st.store.values[i];
        if (typeof v === 'string') {
          s = JSON.stringify(v);
          // JSON.stringify escapes lone surrogates, so this byte count is exactly what Buffer.from writes.
          bytes += Buffer.byteLength(s, 'utf8') - s.length;
        } else s = v === null ? 'null' : typeof v === 'boolean' ? (v ? 'true' : 'false') : formatNumber(v as number, digits);
      }
      cells[c] = s;
      bytes += s.length;
    }
    return bytes;
  }

  private finish(st: Stream, header: string, rows: number, size: number): EncodedMessage {
    const text = this.colText;
    let json = st.prefix + header;
    for (let c = 0; c < st.colOpen.length; c++) json += st.colOpen[c]! + text[c]!;
    json += CLOSE;
    const payload = Buffer.from(json, 'utf8');
    // `size` was counted cell by cell; it equals payload.length (the tests check it on random input).
    st.messages++;
    st.payloadBytes += size;
    return { stream: st.name, seq: st.nextSeq++, payload, rows };
  }

  /**
   * Continues the sequences of an encoder this one replaces within the same run (a live mapping
   * change), so a reader still sees every gap. Only before this encoder's first message.
   */
  continueSequences(next: Readonly<Record<StreamName, number>>): void {
    for (const st of this.streams) {
      const seq = next[st.name];
      if (!Number.isSafeInteger(seq) || seq < 0) throw new PublishConfigError(`must be a whole number >= 0, got ${seq}`, { field: `nextSeq.${st.name}` });
      if (st.messages > 0) throw new PublishConfigError('sequences can only be continued before the first message', { field: `nextSeq.${st.name}` });
      st.nextSeq = seq;
    }
  }

  counters(): BatchEncoderCounters {
    const streams = {} as Record<StreamName, StreamCounters>;
    let messages = 0;
    let payloadBytes = 0;
    for (const st of this.streams) {
      streams[st.name] = {
        rows: st.rows,
        messages: st.messages,
        payloadBytes: st.payloadBytes,
        bytesPerRow: st.rows > 0 ? st.payloadBytes / st.rows : 0,
        nextSeq: st.nextSeq,
        pending: st.store.length,
      };
      messages += st.messages;
      payloadBytes += st.payloadBytes;
    }
    const dropped = {} as Record<RowDropReason, number>;
    DROP_REASONS.forEach((r, i) => (dropped[r] = this.dropCounts[i]!));
    return {
      received: this.received,
      emitted: this.emitted,
      dropped,
      messages,
      payloadBytes,
      bytesPerRow: this.emitted > 0 ? payloadBytes / this.emitted : 0,
      streams,
    };
  }
}

function makeStream(name: StreamName, columns: readonly string[], limit: number, identity: string): Stream {
  const kinds = Uint8Array.from(columns, (c) => (c === 'dt' ? TIME : c === 'value' && name === 'change' ? VALUE : NUM));
  const prefix = `{"v":${SCHEMA_VERSION},"type":"${name}",${identity}`;
  const colOpen = columns.map((c, i) => (i === 0 ? `"cols":{${JSON.stringify(c)}:[` : `],${JSON.stringify(c)}:[`));
  const fixedBytes = Buffer.byteLength(prefix + colOpen.join('') + CLOSE, 'utf8');
  return { name, kinds, store: new RowStore(columns.length, limit, name === 'change'), prefix, colOpen, fixedBytes, nextSeq: 0, rows: 0, messages: 0, payloadBytes: 0 };
}

function isTag(tag: number): boolean {
  return tag >>> 0 === tag;
}

/**
 * A time or time offset in ms: integers exactly, fractions to the microsecond (OPC UA source times
 * have 100 ns ticks; rounding an offset to significant digits could move it by whole seconds).
 */
export function formatTime(ms: number): string {
  if (Number.isSafeInteger(ms)) return String(ms);
  if (!Number.isFinite(ms)) return 'null';
  return String(Math.round(ms * 1000) / 1000);
}
