// The on-disk framing of the spool's segment files and journal: each entry is
//
//   u32 length of the payload (big-endian) | u32 CRC-32 of (length bytes + payload) | payload
//
// so that a torn write (power lost mid-append) or a flipped bit is found on recovery instead of
// being read back as a record. CRC-32 is computed here (IEEE 802.3, reflected, the zip/PNG
// polynomial) rather than with zlib.crc32, which only the newer Node 20 minors have.

/** The reflected IEEE polynomial, 0x04C11DB7 bit-reversed. */
const CRC32_POLYNOMIAL = 0xedb88320;
/** Bytes of the frame header: length and CRC. */
export const FRAME_HEADER_BYTES = 8;

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? CRC32_POLYNOMIAL ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 of `buf`, continuing from `crc` (the CRC of what came before; 0 to start). */
export function crc32(buf: Uint8Array, crc = 0): number {
  let c = (crc ^ 0xffffffff) >>> 0;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** One framed entry, ready to append. */
export function encodeFrame(payload: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  payload.copy(frame, FRAME_HEADER_BYTES);
  frame.writeUInt32BE(crc32(payload, crc32(frame.subarray(0, 4))), 4);
  return frame;
}

export type FrameScan =
  | { kind: 'frame'; start: number; end: number; payload: Buffer }
  /** The bytes from `start` on are not a whole, intact frame. */
  | { kind: 'bad'; start: number; why: 'torn' | 'corrupt' }
  | { kind: 'end' };

/**
 * The frames of `buf` in order, then `end`, or a `bad` at the first damaged place (nothing after it
 * is trusted: a length that cannot be checked cannot be skipped). `maxPayload` bounds a plausible
 * length, so garbage is called corrupt rather than "torn, waiting for 3 GB more".
 */
export function* scanFrames(buf: Buffer, maxPayload: number): Generator<FrameScan> {
  let at = 0;
  while (at < buf.length) {
    if (buf.length - at < FRAME_HEADER_BYTES) return yield { kind: 'bad', start: at, why: 'torn' };
    const length = buf.readUInt32BE(at);
    if (length > maxPayload) return yield { kind: 'bad', start: at, why: 'corrupt' };
    const end = at + FRAME_HEADER_BYTES + length;
    if (end > buf.length) return yield { kind: 'bad', start: at, why: 'torn' };
    const payload = buf.subarray(at + FRAME_HEADER_BYTES, end);
    if (crc32(payload, crc32(buf.subarray(at, at + 4))) !== buf.readUInt32BE(at + 4)) return yield { kind: 'bad', start: at, why: 'corrupt' };
    yield { kind: 'frame', start: at, end, payload };
    at = end;
  }
  yield { kind: 'end' };
}

// ---- segment entries ------------------------------------------------------------------------

/** The fixed part of a record payload: seq (6 bytes), receivedAt ms (6 bytes), id length (2 bytes). */
const RECORD_FIXED_BYTES = 14;

export interface SpooledRecord {
  seq: number;
  /** Unix ms when the sink stored it (for the oldest-record age). */
  at: number;
  id: string;
  data: string;
}

/** Offset of the data inside a framed record, so the sender can read just the data back. */
export function recordDataOffset(idBytes: number): number {
  return FRAME_HEADER_BYTES + RECORD_FIXED_BYTES + idBytes;
}

/** A framed record. Seq and time use 48 bits: far beyond any real count or date. */
export function encodeRecord(r: SpooledRecord): { frame: Buffer; idBytes: number; dataBytes: number } {
  const id = Buffer.from(r.id, 'utf8');
  const data = Buffer.from(r.data, 'utf8');
  const payload = Buffer.allocUnsafe(RECORD_FIXED_BYTES + id.length + data.length);
  payload.writeUIntBE(r.seq, 0, 6);
  payload.writeUIntBE(r.at, 6, 6);
  payload.writeUInt16BE(id.length, 12);
  id.copy(payload, RECORD_FIXED_BYTES);
  data.copy(payload, RECORD_FIXED_BYTES + id.length);
  return { frame: encodeFrame(payload), idBytes: id.length, dataBytes: data.length };
}

/** The header fields of a record payload, without copying its data. */
export function decodeRecordHeader(payload: Buffer): { seq: number; at: number; id: string; idBytes: number; dataBytes: number } | undefined {
  if (payload.length < RECORD_FIXED_BYTES) return undefined;
  const idBytes = payload.readUInt16BE(12);
  if (RECORD_FIXED_BYTES + idBytes > payload.length) return undefined;
  return {
    seq: payload.readUIntBE(0, 6),
    at: payload.readUIntBE(6, 6),
    id: payload.toString('utf8', RECORD_FIXED_BYTES, RECORD_FIXED_BYTES + idBytes),
    idBytes,
    dataBytes: payload.length - RECORD_FIXED_BYTES - idBytes,
  };
}

/** Bytes one record takes in a segment file. */
export function recordFrameBytes(id: string, data: string): number {
  return FRAME_HEADER_BYTES + RECORD_FIXED_BYTES + Buffer.byteLength(id, 'utf8') + Buffer.byteLength(data, 'utf8');
}
