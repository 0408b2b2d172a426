// One client connection: the Connect/ConnectAck handshake and the stream rules of aws-c-event-stream's
// RPC server (event_stream_rpc_server.c), and the operation dispatch of the Java server the nucleus
// runs on top of it (ServiceOperationMappingContinuationHandler, OperationContinuationHandler).

import type { Socket } from 'node:net';
import type { JsonObject } from '../contracts';
import { isJsonObject } from './config-store';
import { ModeledIpcError, serviceError, UnmodeledIpcError } from './errors';
import {
  type Frame,
  type FrameCodec,
  FrameError,
  FrameReader,
  MESSAGE_TYPE_COUNT,
  MessageFlags,
  MessageType,
  MissingRpcHeadersError,
  type OutgoingFrame,
} from './frames';
import type { EventSink, Nucleus } from './nucleus';
import { type Operation, OPERATIONS } from './operations';

/** The only protocol version the Java server accepts in Connect's `:version` header. */
export const RPC_VERSION = '0.1.0';

// ProtocolError payloads, verbatim from aws-c-event-stream (event_stream_rpc_priv.h / _server.c).
const PROTOCOL_ERRORS = {
  connectFirst:
    '{ "message": "A CONNECT message must be received, and the CONNECT_ACK must be sent in response, before any other message-types can be sent on this connection. In addition, only one CONNECT message is allowed on a connection." }',
  invalidStreamId:
    '{ "message": "non-zero stream-id field is only allowed for messages of type APPLICATION_MESSAGE. The stream id max value is INT32_MAX." }',
  lowerStreamId:
    '{ "message": "stream-id values must be monotonically incrementing. A stream-id arrived that was lower than the last seen stream-id." }',
  skippedStreamId:
    '{ "message": "stream-id values must be monotonically incrementing. A new stream-id arrived that was incremented by more than 1." }',
  invalidMessageType: '{ "message": "an invalid value for message-type field was received." }',
  missingFields:
    '{ "message": "A message was received with missing required fields. Check that your client is sending at least, :message-type, :message-flags, and :stream-id" }',
  missingOperation:
    '{ "message": "The first message for on a non-zero :stream-id must contain an operation header value."; }',
} as const;

/** What a connection needs from the server that owns it. */
export interface ConnectionHost {
  readonly nucleus: Nucleus;
  readonly codec: FrameCodec;
  connected(connection: IpcConnection): void;
  disconnected(connection: IpcConnection): void;
}

type ConnectionPhase = 'awaiting-connect' | 'connected' | 'closing';

/** The server's side of one operation stream. Events wait until the initial response is written. */
class OperationStream implements EventSink {
  private phase: 'awaiting-response' | 'open' | 'closed' = 'awaiting-response';
  private held: JsonObject[] = [];
  private readonly closeListeners: (() => void)[] = [];

  constructor(
    private readonly write: (frame: OutgoingFrame) => void,
    readonly id: number,
    readonly operation: Operation,
  ) {}

  send(event: JsonObject): void {
    if (this.phase === 'closed' || this.operation.eventShape === undefined) return;
    if (this.phase === 'awaiting-response') this.held.push(event);
    else this.writeEvent(event);
  }

  onClose(listener: () => void): void {
    if (this.phase === 'closed') listener();
    else this.closeListeners.push(listener);
  }

  /** The initial response is on the wire: events may flow. */
  open(): void {
    if (this.phase !== 'awaiting-response') return;
    this.phase = 'open';
    const held = this.held;
    this.held = [];
    for (const event of held) this.writeEvent(event);
  }

  close(): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.held = [];
    for (const listener of this.closeListeners.splice(0)) listener();
  }

  private writeEvent(event: JsonObject): void {
    this.write({
      type: MessageType.ApplicationMessage,
      flags: MessageFlags.None,
      streamId: this.id,
      headers: { ':content-type': 'application/json', 'service-model-type': this.operation.eventShape! },
      payload: JSON.stringify(event),
    });
  }
}

export class IpcConnection {
  private phase: ConnectionPhase = 'awaiting-connect';
  private lastStreamId = 0;
  private readonly streams = new Map<number, OperationStream>();
  private readonly reader = new FrameReader();
  /** The authenticated component, once ConnectAck accepted it. */
  component: string | undefined;

  constructor(
    private readonly socket: Socket,
    private readonly host: ConnectionHost,
  ) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    // 'close' always follows 'error'; there is nothing more to do with the error itself.
    socket.on('error', () => undefined);
    socket.on('close', () => this.closed());
  }

  /** Drops the socket without a goodbye, as a nucleus restart would. */
  destroy(): void {
    this.socket.destroy();
  }

  private receive(chunk: Buffer): void {
    if (this.phase === 'closing') return;
    let frames: Buffer[];
    try {
      frames = this.reader.push(chunk);
    } catch (e) {
      if (!(e instanceof FrameError)) throw e;
      this.destroy();
      return;
    }
    for (const bytes of frames) {
      // route() may have started closing the connection; what follows a fatal frame is ignored.
      if (this.isClosing()) return;
      let frame: Frame;
      try {
        frame = this.host.codec.decode(bytes);
      } catch (e) {
        if (e instanceof MissingRpcHeadersError) this.protocolError(PROTOCOL_ERRORS.missingFields);
        else if (e instanceof FrameError) this.destroy();
        else throw e;
        return;
      }
      this.route(frame);
    }
  }

  private isClosing(): boolean {
    return this.phase === 'closing';
  }

  private route(frame: Frame): void {
    if (this.phase === 'awaiting-connect') {
      if (frame.type !== MessageType.Connect || frame.streamId !== 0) this.protocolError(PROTOCOL_ERRORS.connectFirst);
      else this.handshake(frame);
      return;
    }
    if (frame.streamId !== 0) {
      this.routeStreamFrame(frame);
      return;
    }
    if (frame.type <= MessageType.ApplicationError || frame.type >= MESSAGE_TYPE_COUNT) {
      this.protocolError(PROTOCOL_ERRORS.invalidMessageType);
    } else if (frame.type === MessageType.Connect) {
      this.protocolError(PROTOCOL_ERRORS.connectFirst);
    } else if (frame.type === MessageType.Ping) {
      // The Java server echoes the application headers and the payload.
      const headers: Record<string, string> = {};
      for (const [name, value] of frame.headers) {
        if (!name.startsWith(':') && value.type === 'string') headers[name] = value.value;
      }
      this.write({ type: MessageType.PingResponse, flags: 0, streamId: 0, headers, payload: frame.payload });
    }
    // Anything else on stream 0 (PingResponse, ConnectAck, errors) means nothing to a server.
  }

  private handshake(frame: Frame): void {
    const version = frame.headers.get(':version');
    const component =
      version?.type === 'string' && version.value === RPC_VERSION ? this.authenticate(frame.payload) : undefined;
    // ConnectAck carries no headers of its own and no payload (onConnectRequest).
    const ack: OutgoingFrame = { type: MessageType.ConnectAck, streamId: 0, flags: MessageFlags.None };
    if (component === undefined) {
      this.phase = 'closing';
      this.socket.end(this.host.codec.encode(ack));
      return;
    }
    this.phase = 'connected';
    this.component = component;
    this.write({ ...ack, flags: MessageFlags.ConnectionAccepted });
    this.host.connected(this);
  }

  /** Connect's payload is `{"authToken": <SVCUID>}`; the identity is the component that owns the token. */
  private authenticate(payload: Buffer): string | undefined {
    let token: unknown;
    try {
      token = (JSON.parse(payload.toString('utf8')) as { authToken?: unknown }).authToken;
    } catch {
      return undefined;
    }
    return typeof token === 'string' && token.length > 0 ? this.host.nucleus.componentForToken(token) : undefined;
  }

  private routeStreamFrame(frame: Frame): void {
    if (frame.type > MessageType.ApplicationError || frame.streamId < 0) {
      this.protocolError(PROTOCOL_ERRORS.invalidStreamId);
      return;
    }
    const terminates = (frame.flags & MessageFlags.TerminateStream) !== 0;
    if (frame.streamId <= this.lastStreamId) {
      const stream = this.streams.get(frame.streamId);
      // A terminate crossing our own close is normal; anything else on a closed stream is not.
      if (stream === undefined) {
        if (!terminates) this.protocolError(PROTOCOL_ERRORS.lowerStreamId);
      } else if (terminates) {
        this.endStream(stream);
      }
      // No Greengrass operation takes further client messages on a stream (handleStreamEvent is empty).
      return;
    }
    if (frame.streamId !== this.lastStreamId + 1) {
      this.protocolError(PROTOCOL_ERRORS.skippedStreamId);
      return;
    }
    const operationName = frame.headers.get('operation');
    if (operationName?.type !== 'string' || operationName.value.length === 0) {
      this.protocolError(PROTOCOL_ERRORS.missingOperation);
      return;
    }
    this.lastStreamId = frame.streamId;
    this.startOperation(frame, operationName.value, terminates);
  }

  private startOperation(frame: Frame, name: string, clientAlreadyClosed: boolean): void {
    const operation = OPERATIONS.get(name);
    if (operation === undefined) {
      this.write({
        type: MessageType.ApplicationError,
        flags: MessageFlags.TerminateStream,
        streamId: frame.streamId,
        headers: { ':content-type': 'application/json' },
        payload: JSON.stringify({ error: 'Unsupported Operation', message: `${name} is an unsupported operation.` }),
      });
      return;
    }
    const stream = new OperationStream((f) => this.write(f), frame.streamId, operation);
    this.streams.set(stream.id, stream);
    let response: JsonObject;
    try {
      response = operation.handle(this.host.nucleus, {
        component: this.component!,
        request: parseRequest(frame.payload),
        sink: stream,
      });
    } catch (e) {
      if (!clientAlreadyClosed) this.writeError(stream.id, e);
      this.endStream(stream);
      return;
    }
    if (clientAlreadyClosed) {
      this.endStream(stream);
      return;
    }
    const streaming = operation.eventShape !== undefined;
    this.write({
      type: MessageType.ApplicationMessage,
      flags: streaming ? MessageFlags.None : MessageFlags.TerminateStream,
      streamId: stream.id,
      headers: { ':content-type': 'application/json', 'service-model-type': operation.responseShape },
      payload: JSON.stringify(response),
    });
    if (streaming) stream.open();
    else this.endStream(stream);
  }

  private writeError(streamId: number, error: unknown): void {
    if (error instanceof UnmodeledIpcError) {
      this.write({
        type: MessageType.ApplicationError,
        flags: MessageFlags.TerminateStream,
        streamId,
        headers: { ':content-type': 'text/plain' },
        payload: 'InternalServerError',
      });
      return;
    }
    // The nucleus wraps unexpected exceptions as ServiceError(e.getMessage()) (ExceptionUtil).
    const modeled =
      error instanceof ModeledIpcError ? error : serviceError(error instanceof Error ? error.message : String(error));
    this.write({
      type: MessageType.ApplicationError,
      flags: MessageFlags.TerminateStream,
      streamId,
      headers: { ':content-type': 'application/json', 'service-model-type': modeled.shape },
      payload: JSON.stringify(modeled.toJson()),
    });
  }

  private endStream(stream: OperationStream): void {
    this.streams.delete(stream.id);
    stream.close();
  }

  /** Connection-level errors end the connection once the ProtocolError is flushed. */
  private protocolError(payload: string): void {
    this.phase = 'closing';
    const frame: OutgoingFrame = {
      type: MessageType.ProtocolError,
      flags: 0,
      streamId: 0,
      headers: { ':content-type': 'application/json' },
      payload,
    };
    this.socket.end(this.host.codec.encode(frame));
  }

  private write(frame: OutgoingFrame): void {
    if (this.socket.writable) this.socket.write(this.host.codec.encode(frame));
  }

  private closed(): void {
    this.phase = 'closing';
    for (const stream of this.streams.values()) stream.close();
    this.streams.clear();
    this.host.disconnected(this);
  }
}

/** A request body is a JSON object; anything else is a deserialization failure on the Java side. */
function parseRequest(payload: Buffer): JsonObject {
  let request: unknown;
  try {
    request = payload.length === 0 ? {} : JSON.parse(payload.toString('utf8'));
  } catch {
    throw new UnmodeledIpcError('request is not JSON');
  }
  if (!isJsonObject(request as JsonObject)) throw new UnmodeledIpcError('request is not a JSON object');
  return request as JsonObject;
}
