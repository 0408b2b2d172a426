// The hand-off between a producer on the device (the collector's burst captures, or any other
// component) and conduit.FirehoseSink, over Greengrass local publish/subscribe.
//
// Local pub/sub is not durable: a message published while the sink restarts is simply gone. So the
// hand-off is at-least-once: the producer keeps every record until the sink acknowledges it (which the
// sink does only after the record is appended to its spool and fsync'd), re-sends what stays
// unacknowledged, and the sink de-duplicates by record id. Pure code: no clock, no I/O.

export const HANDOFF_VERSION = 1;

/** Where producers put records, and where the sink answers (one topic each: accessControl names them exactly). */
export const DEFAULT_PUT_TOPIC = 'conduit/firehose-sink/put';
export const DEFAULT_ACK_TOPIC = 'conduit/firehose-sink/ack';

/** Firehose's limit for one record: 1,000 KiB (https://docs.aws.amazon.com/firehose/latest/dev/limits.html). */
export const FIREHOSE_MAX_RECORD_BYTES = 1_024_000;
/** A record's data plus the newline the sink appends must fit one Firehose record. */
export const MAX_RECORD_DATA_BYTES = FIREHOSE_MAX_RECORD_BYTES - 1;
/** Largest put message a producer sends: a few records, far below the IPC frame limit (24 MiB). */
export const MAX_PUT_MESSAGE_BYTES = 4 * 1024 * 1024;
/** Record ids are short, printable and unique per producer (e.g. `<captureId>/<part>`). */
export const MAX_RECORD_ID_LENGTH = 200;

export interface HandoffRecord {
  /** The de-duplication key: the same id is stored and delivered once (a re-send after a lost ack is expected). */
  id: string;
  /** One line of text, normally one JSON document, without the trailing newline (the sink adds it). */
  data: string;
}

export interface PutMessage {
  v: typeof HANDOFF_VERSION;
  type: 'put';
  /** The producing component's name: acks carry it back so each producer reads only its own. */
  producer: string;
  records: HandoffRecord[];
}

export interface AckMessage {
  v: typeof HANDOFF_VERSION;
  type: 'ack';
  producer: string;
  /** Ids now in the sink's spool (or already delivered): the producer may forget them. */
  stored: string[];
  /** Ids the sink will never take (too large, malformed): re-sending cannot help. */
  rejected: { id: string; reason: string }[];
}

export type Decoded<T> = { ok: true; message: T } | { ok: false; error: string };

export function encodePut(producer: string, records: HandoffRecord[]): Buffer {
  return Buffer.from(JSON.stringify({ v: HANDOFF_VERSION, type: 'put', producer, records } satisfies PutMessage));
}

export function encodeAck(ack: Omit<AckMessage, 'v' | 'type'>): Buffer {
  return Buffer.from(JSON.stringify({ v: HANDOFF_VERSION, type: 'ack', ...ack } satisfies AckMessage));
}

/** Why a record cannot be taken, or undefined when it can. */
export function recordProblem(r: { id?: unknown; data?: unknown }): string | undefined {
  if (typeof r.id !== 'string' || r.id.length === 0 || r.id.length > MAX_RECORD_ID_LENGTH || /[\u0000-\u001f]/.test(r.id)) {
    return `id must be a printable string of 1 to ${MAX_RECORD_ID_LENGTH} characters`;
  }
  if (typeof r.data !== 'string') return 'data must be a string';
  if (r.data.includes('\n')) return 'data must be one line (the sink terminates each record with a newline)';
  const bytes = Buffer.byteLength(r.data);
  if (bytes > MAX_RECORD_DATA_BYTES) return `data is ${bytes} bytes; at most ${MAX_RECORD_DATA_BYTES} fit one Firehose record: split it into parts`;
  return undefined;
}

/**
 * Parses a put message. A message that is not a put at all is an error; records inside it are
 * returned as they are, for the sink to check one by one with recordProblem (one bad record must
 * not keep the good ones of the same message out).
 */
export function decodePut(payload: Buffer): Decoded<PutMessage> {
  const o = parseObject(payload);
  if (typeof o === 'string') return { ok: false, error: o };
  if (o.v !== HANDOFF_VERSION || o.type !== 'put') return { ok: false, error: `not a put message of version ${HANDOFF_VERSION}` };
  if (typeof o.producer !== 'string' || o.producer.length === 0) return { ok: false, error: 'producer must be a non-empty string' };
  if (!Array.isArray(o.records)) return { ok: false, error: 'records must be an array' };
  const records = o.records.map((r: unknown) => (r !== null && typeof r === 'object' ? (r as HandoffRecord) : ({ id: undefined, data: undefined } as unknown as HandoffRecord)));
  return { ok: true, message: { v: HANDOFF_VERSION, type: 'put', producer: o.producer, records } };
}

export function decodeAck(payload: Buffer): Decoded<AckMessage> {
  const o = parseObject(payload);
  if (typeof o === 'string') return { ok: false, error: o };
  if (o.v !== HANDOFF_VERSION || o.type !== 'ack') return { ok: false, error: `not an ack message of version ${HANDOFF_VERSION}` };
  if (typeof o.producer !== 'string') return { ok: false, error: 'producer must be a string' };
  const stored = Array.isArray(o.stored) ? o.stored.filter((id: unknown): id is string => typeof id === 'string') : [];
  const rejected = Array.isArray(o.rejected)
    ? o.rejected.filter((r: unknown): r is { id: string; reason: string } => r !== null && typeof r === 'object' && typeof (r as { id?: unknown }).id === 'string').map((r: { id: string; reason: unknown }) => ({ id: r.id, reason: String(r.reason) }))
    : [];
  return { ok: true, message: { v: HANDOFF_VERSION, type: 'ack', producer: o.producer, stored, rejected } };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function parseObject(payload: Buffer): Record<string, any> | string {
  let o: unknown;
  try {
    o = JSON.parse(payload.toString('utf8'));
  } catch {
    return 'not JSON';
  }
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return 'not a JSON object';
  return o as Record<string, unknown>;
}
