// Eventstream frames as the Greengrass IPC client and the nucleus exchange them over the socket.
// @smithy/eventstream-codec encodes and decodes one complete frame; the socket delivers arbitrary
// chunks, so FrameReader reassembles them from the 4-byte total length at the head of every frame.

import { EventStreamCodec, type MessageHeaders, type MessageHeaderValue } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';

/** `:message-type` values (aws-c-event-stream `enum aws_event_stream_rpc_message_type`). */
export const MessageType = {
  ApplicationMessage: 0,
  ApplicationError: 1,
  Ping: 2,
  PingResponse: 3,
  Connect: 4,
  ConnectAck: 5,
  ProtocolError: 6,
  InternalError: 7,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];
/** One past the last valid message type; anything at or above it is a protocol error. */
export const MESSAGE_TYPE_COUNT = 8;

/** `:message-flags` bits. */
export const MessageFlags = {
  None: 0,
  ConnectionAccepted: 1,
  TerminateStream: 2,
} as const;

/** aws-c-event-stream AWS_EVENT_STREAM_MAX_MESSAGE_SIZE: neither side accepts a larger frame. */
export const MAX_FRAME_BYTES = 24 * 1024 * 1024;
/** Prelude (12) + message CRC (4): no frame can be shorter. */
const MIN_FRAME_BYTES = 16;

/** A decoded frame. Header names are lower-cased, as the C library matches them case-insensitively. */
export interface Frame {
  type: number;
  flags: number;
  streamId: number;
  /** Every header other than the three RPC ones, by lower-cased name. */
  headers: Map<string, MessageHeaderValue>;
  payload: Buffer;
}

/** What to send: the RPC headers are added here, `headers` are extra string headers. */
export interface OutgoingFrame {
  type: MessageType;
  flags: number;
  streamId: number;
  headers?: Record<string, string>;
  payload?: Buffer | string;
}

/** The peer broke the framing (bad length, bad CRC): the connection cannot continue. */
export class FrameError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FrameError';
  }
}

/** The frame decoded, but lacks one of `:message-type`, `:message-flags`, `:stream-id` as int32. */
export class MissingRpcHeadersError extends Error {
  constructor() {
    super('frame lacks :message-type, :message-flags or :stream-id as int32');
    this.name = 'MissingRpcHeadersError';
  }
}

const RPC_HEADERS = new Set([':message-type', ':message-flags', ':stream-id']);

export class FrameCodec {
  private readonly codec = new EventStreamCodec(toUtf8, fromUtf8);

  encode(frame: OutgoingFrame): Buffer {
    const headers: MessageHeaders = {};
    for (const [name, value] of Object.entries(frame.headers ?? {})) headers[name] = { type: 'string', value };
    // The C library ignores these three unless they are int32 ('integer' in smithy's naming).
    headers[':message-type'] = { type: 'integer', value: frame.type };
    headers[':message-flags'] = { type: 'integer', value: frame.flags };
    headers[':stream-id'] = { type: 'integer', value: frame.streamId };
    const payload = frame.payload === undefined ? Buffer.alloc(0) : Buffer.from(frame.payload);
    return Buffer.from(this.codec.encode({ headers, body: payload }));
  }

  /** Decodes one complete frame; throws FrameError or MissingRpcHeadersError. */
  decode(bytes: Buffer): Frame {
    let message;
    try {
      message = this.codec.decode(bytes);
    } catch (cause) {
      throw new FrameError('undecodable eventstream frame', { cause });
    }
    const headers = new Map<string, MessageHeaderValue>();
    const rpc = new Map<string, number>();
    for (const [name, value] of Object.entries(message.headers)) {
      const key = name.toLowerCase();
      if (RPC_HEADERS.has(key)) {
        if (value.type === 'integer') rpc.set(key, value.value);
      } else {
        headers.set(key, value);
      }
    }
    const type = rpc.get(':message-type');
    const flags = rpc.get(':message-flags');
    const streamId = rpc.get(':stream-id');
    if (type === undefined || flags === undefined || streamId === undefined) throw new MissingRpcHeadersError();
    return { type, flags, streamId, headers, payload: Buffer.from(message.body) };
  }
}

/** Collects socket chunks and hands out whole frames' bytes. */
export class FrameReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  /** Adds a chunk and returns every frame now complete, in order. Throws FrameError on a bad length. */
  push(chunk: Buffer): Buffer[] {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    const frames: Buffer[] = [];
    while (this.pendingBytes >= 4) {
      const head = this.pending.length === 1 ? this.pending[0]! : this.flatten();
      const total = head.readUInt32BE(0);
      if (total < MIN_FRAME_BYTES || total > MAX_FRAME_BYTES) {
        throw new FrameError(`frame length ${total} outside ${MIN_FRAME_BYTES}..${MAX_FRAME_BYTES}`);
      }
      if (this.pendingBytes < total) break;
      const all = this.flatten();
      frames.push(all.subarray(0, total));
      const rest = all.subarray(total);
      this.pending = rest.length > 0 ? [rest] : [];
      this.pendingBytes = rest.length;
    }
    return frames;
  }

  private flatten(): Buffer {
    if (this.pending.length > 1) this.pending = [Buffer.concat(this.pending, this.pendingBytes)];
    return this.pending[0]!;
  }
}
