// A Capture as JSON documents, one per Firehose record: newline-free (the sink appends the newline
// that makes the delivered object JSON Lines), split by sample ranges so every part fits the limit.
// The format is described, with an example, in README.md.
//
// Sizes are counted, not estimated: every sample's pieces are formatted first and their lengths
// summed (numbers are ASCII, so length = bytes; the metadata strings are measured with
// Buffer.byteLength), and each finished part is measured again before it is returned.

import { formatNumber, MAX_SIGNIFICANT_DIGITS } from '../publish/number-format';
import type { Capture } from './burst-recorder';
import { BurstConfigError } from './errors';

export const CAPTURE_RECORD_VERSION = 1;

export interface CaptureMeta {
  thingName: string;
  site: string;
  area: string;
  mappingVersion: string;
  runId: string;
  tagName: string;
  nodeId: string;
  unit?: string;
  samplingIntervalMs: number;
  significantDigits: number;
}

export interface CapturePart {
  /** `${captureId}/${part}`, part from 1: the sink's de-duplication key. */
  id: string;
  /** One JSON document without a newline; Buffer.byteLength(data) <= maxRecordBytes. */
  data: string;
}

const REQUIRED_STRINGS = ['thingName', 'site', 'area', 'mappingVersion', 'runId', 'tagName', 'nodeId'] as const;

/** A source time in ms: whole ms exactly (what a JS Date carries), otherwise to 1 µs. */
function formatTime(t: number): string {
  return Number.isSafeInteger(t) ? String(t) : String(Math.round(t * 1000) / 1000);
}

/**
 * b - a in ms. Whole-ms differences are exact; otherwise both times are rounded to 1 µs first, so
 * the difference of two integers is exact and t0 + the sum of the deltas stays within 1 µs.
 */
function formatDelta(a: number, b: number): string {
  const d = b - a;
  return Number.isSafeInteger(d) ? String(d) : String((Math.round(b * 1000) - Math.round(a * 1000)) / 1000);
}

/** Decimal digits of a non-negative integer. */
function digits(x: number): number {
  return x < 10 ? 1 : String(x).length;
}

/**
 * One part per returned entry: id = `${captureId}/${part}` (part from 1), data = one JSON document
 * without a newline, Buffer.byteLength(data) <= maxRecordBytes. A capture with 0 samples is one part.
 * Throws BurstConfigError when maxRecordBytes cannot hold even one sample (with this metadata).
 */
export function encodeCaptureParts(c: Capture, meta: CaptureMeta, maxRecordBytes: number): CapturePart[] {
  if (!Number.isInteger(maxRecordBytes) || maxRecordBytes < 1) {
    throw new BurstConfigError(`must be a positive integer, got ${String(maxRecordBytes)}`, { field: 'maxRecordBytes' });
  }
  for (const k of REQUIRED_STRINGS) {
    if (typeof meta?.[k] !== 'string') throw new BurstConfigError(`must be a string, got ${String(meta?.[k])}`, { field: `meta.${k}` });
  }
  if (meta.unit !== undefined && typeof meta.unit !== 'string') throw new BurstConfigError(`must be a string, got ${String(meta.unit)}`, { field: 'meta.unit' });
  const sig = meta.significantDigits;
  if (!Number.isInteger(sig) || sig < 1 || sig > MAX_SIGNIFICANT_DIGITS) {
    throw new BurstConfigError(`must be an integer in 1..${MAX_SIGNIFICANT_DIGITS}, got ${String(sig)}`, { field: 'meta.significantDigits' });
  }

  const n = c.count;
  const times = c.times;
  const status = c.status;
  const dts = new Array<string>(n);
  const vals = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    dts[i] = i === 0 ? '0' : formatDelta(times[i - 1]!, times[i]!);
    vals[i] = formatNumber(c.values[i]!, sig);
  }

  // The document is these fixed pieces with the per-part numbers and the three arrays between them.
  const J = JSON.stringify;
  // The version is "version", not "v": "v" is the values array, and a JSON object must not repeat a key.
  const head = `{"type":"capture","version":${CAPTURE_RECORD_VERSION},"captureId":${J(c.captureId)},"part":`;
  const afterPart = ',"parts":';
  const afterParts =
    `,"thingName":${J(meta.thingName)},"site":${J(meta.site)},"area":${J(meta.area)},"mappingVersion":${J(meta.mappingVersion)}` +
    `,"runId":${J(meta.runId)},"tag":${J(meta.tagName)},"nodeId":${J(meta.nodeId)}` +
    (meta.unit === undefined ? '' : `,"unit":${J(meta.unit)}`) +
    `,"alarmIds":${J(c.alarmIds)},"triggerMs":${formatTime(c.triggerMs)},"startMs":${formatTime(c.startMs)},"endMs":${formatTime(c.endMs)}` +
    `,"intervalMs":${formatNumber(meta.samplingIntervalMs, MAX_SIGNIFICANT_DIGITS)},"complete":${c.complete},"incomplete":${J(c.incomplete)}` +
    `,"gaps":{"count":${c.gaps.count},"missingSamples":${c.gaps.missingSamples}},"count":`;
  const afterCount = `,"total":${n},"first":`;
  const afterFirst = `,"preTriggerCount":${c.preTriggerCount},"badCount":${c.badCount},"t0":`;
  const afterT0 = ',"dt":[';
  const beforeValues = '],"v":[';
  const beforeBad = '],"bad":[';
  const tail = ']}';
  const fixedBytes =
    Buffer.byteLength(head) + afterPart.length + Buffer.byteLength(afterParts) + afterCount.length + afterFirst.length + afterT0.length + beforeValues.length + beforeBad.length + tail.length;
  const t0Of = (first: number) => (first < n ? formatTime(times[first]!) : 'null');

  /** Sample ranges [first, first + count) per part when the document says `"parts":parts`. */
  const pack = (parts: number): [number, number][] => {
    const ranges: [number, number][] = [];
    let first = 0;
    do {
      const partNo = ranges.length + 1;
      const headerBytes = fixedBytes + digits(partNo) + digits(parts) + digits(first) + t0Of(first).length;
      let body = 0;
      let badSeen = 0;
      let k = 0;
      for (; first + k < n; k++) {
        const i = first + k;
        let add = (k === 0 ? 1 : dts[i]!.length + 1) + vals[i]!.length + (k === 0 ? 0 : 1);
        // `[k,status]`, after a comma unless it is the part's first bad entry.
        if (status[i]! >>> 30 !== 0) add += 3 + digits(k) + digits(status[i]!) + (badSeen > 0 ? 1 : 0);
        if (headerBytes + digits(k + 1) + body + add > maxRecordBytes) break;
        body += add;
        if (status[i]! >>> 30 !== 0) badSeen++;
      }
      if (k === 0 && (n > 0 || headerBytes + 1 > maxRecordBytes)) {
        // The smallest document this part can be: its header (count 0 or 1) and its first sample, if any.
        const need = n > 0 ? headerBytes + 1 + 1 + vals[first]!.length + (status[first]! >>> 30 !== 0 ? 4 + digits(status[first]!) : 0) : headerBytes + 1;
        throw new BurstConfigError(`${maxRecordBytes} bytes cannot hold even one sample of capture ${c.captureId} with this metadata: a part needs at least ${need}`, {
          field: 'maxRecordBytes',
        });
      }
      ranges.push([first, k]);
      first += k;
    } while (first < n);
    return ranges;
  };

  // The header names the number of parts, which depends on how many digits that number has:
  // iterate to the fixed point. More parts never let more samples fit, so this only grows.
  let parts = 1;
  let ranges = pack(parts);
  while (ranges.length !== parts) {
    parts = ranges.length;
    ranges = pack(parts);
  }

  const out: CapturePart[] = [];
  for (let p = 0; p < ranges.length; p++) {
    const [first, count] = ranges[p]!;
    const dt: string[] = [];
    const v: string[] = [];
    const bad: string[] = [];
    for (let k = 0; k < count; k++) {
      const i = first + k;
      dt.push(k === 0 ? '0' : dts[i]!);
      v.push(vals[i]!);
      if (status[i]! >>> 30 !== 0) bad.push(`[${k},${status[i]!}]`);
    }
    const data =
      head + (p + 1) + afterPart + parts + afterParts + count + afterCount + first + afterFirst + t0Of(first) + afterT0 + dt.join(',') + beforeValues + v.join(',') + beforeBad + bad.join(',') + tail;
    if (Buffer.byteLength(data) > maxRecordBytes) {
      // Unreachable unless the size accounting above is wrong; never hand on a record Firehose refuses.
      throw new Error(`capture ${c.captureId} part ${p + 1}: ${Buffer.byteLength(data)} bytes exceed ${maxRecordBytes} (size accounting bug)`);
    }
    out.push({ id: `${c.captureId}/${p + 1}`, data });
  }
  return out;
}
