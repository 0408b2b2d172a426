// HTTP plumbing shared by the local AWS endpoints: one loopback server per service, AWS JSON 1.1
// responses and errors in the shape the SDK's awsJson1_1 protocol parses.
import { randomInt, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Content type of AWS JSON 1.1 requests and responses (Firehose, Secrets Manager). */
export const AWS_JSON_1_1 = 'application/x-amz-json-1.1';

/**
 * Largest request body a local endpoint reads. Above Firehose's 4 MiB batch limit plus base64 and JSON
 * overhead, so that the limit itself is refused by the service code with AWS's error, not here.
 */
export const MAX_REQUEST_BODY_BYTES = 16 * 1024 * 1024;

/** An error as an AWS JSON service answers it: HTTP status, `__type`, message. */
export interface AwsJsonError {
  status: number;
  type: string;
  message: string;
}

/**
 * Which key carries the message. Firehose and the auth front end send `message`; Secrets Manager
 * sends `Message`. The SDK reads either, but tests that look at raw bodies see what AWS sends.
 */
export type MessageKey = 'message' | 'Message';

export function sendJson(res: ServerResponse, status: number, body: unknown, extraHeaders: Record<string, string> = {}): void {
  const payload = Buffer.from(JSON.stringify(body), 'utf8');
  res.writeHead(status, {
    'content-type': AWS_JSON_1_1,
    'content-length': String(payload.length),
    // The SDK copies this into $metadata.requestId; the Date header feeds its clock-skew correction.
    'x-amzn-requestid': randomUUID(),
    date: new Date().toUTCString(),
    ...extraHeaders,
  });
  res.end(payload);
}

export function sendError(res: ServerResponse, err: AwsJsonError, messageKey: MessageKey = 'message'): void {
  sendJson(res, err.status, { __type: err.type, [messageKey]: err.message }, { 'x-amzn-errortype': err.type });
}

/** Reads the whole body, or undefined when it is larger than MAX_REQUEST_BODY_BYTES. */
export async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > MAX_REQUEST_BODY_BYTES) return undefined;
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

/** Parses a JSON object body; anything else is undefined (the caller answers SerializationException). */
export function parseJsonObject(body: Buffer): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(body.length === 0 ? '{}' : body.toString('utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A started loopback server and a way to stop it together with its keep-alive sockets. */
export interface LoopbackServer {
  readonly port: number;
  close(): Promise<void>;
  /**
   * Unreachable (as when the uplink is down): stops listening and drops its connections, so that
   * clients get ECONNREFUSED, not an API error. Reachable again: listens on the same port.
   */
  setListening(listening: boolean): Promise<void>;
}

/**
 * Listens on 127.0.0.1 with a random port. Handler errors become a 500 InternalFailure so that a bug
 * in the harness shows up in the test as an AWS error rather than a hung request.
 */
export async function startLoopbackServer(
  handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
): Promise<LoopbackServer> {
  const server: Server = createServer((req, res) => {
    handler(req, res).catch((e: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      sendError(res, { status: 500, type: 'InternalFailure', message: `local AWS harness error: ${String(e)}` });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const stop = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      // The SDK keeps connections alive; without this close() would wait for them to time out.
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return {
    port,
    close: stop,
    setListening: async (listening) => {
      if (!listening) return stop();
      if (server.listening) return;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => {
          server.off('error', reject);
          resolve();
        });
      });
    },
  };
}

/** AWS's random-looking identifiers, e.g. the 6-character secret ARN suffix. */
export function randomAlphanumeric(length: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}
