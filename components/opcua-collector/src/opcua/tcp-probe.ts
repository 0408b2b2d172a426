// Before each connection attempt the source opens (and at once closes) a plain TCP connection to the
// endpoint, with a short deadline of its own. Why: node-opcua's only bound on a TCP connect is its
// transport timeout (60 s, of which 30 s of socket idleness end a connect), so an attempt started
// while the plant's host was down could hold the collector for half a minute after the host came
// back; and node-opcua reports socket errors only inside its message text. The probe answers "is
// anything listening?" in at most TCP_CONNECT_TIMEOUT_MS with the socket's own error code, and costs
// the server one accepted-and-closed socket per attempt: no OPC UA message is sent.
import { connect } from 'node:net';

/** A TCP connect unanswered this long counts as unreachable; on a LAN a connect takes milliseconds, ms. */
export const TCP_CONNECT_TIMEOUT_MS = 3_000;

export type ProbeResult = { ok: true } | { ok: false; code: string | undefined; message: string; timedOut: boolean };

/** host and port of an opc.tcp:// URL (4840 when the URL names none). */
export function hostAndPort(endpointUrl: string): { host: string; port: number } {
  const url = new URL(endpointUrl);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return { host, port: url.port === '' ? 4840 : Number(url.port) };
}

/** Resolves (never rejects) once the TCP connect succeeded, failed, timed out, or `signal` aborted. */
export function probeTcp(endpointUrl: string, signal: AbortSignal, timeoutMs = TCP_CONNECT_TIMEOUT_MS): Promise<ProbeResult> {
  let target: { host: string; port: number };
  try {
    target = hostAndPort(endpointUrl);
  } catch (err) {
    return Promise.resolve({ ok: false, code: undefined, message: `not a URL: ${(err as Error).message}`, timedOut: false });
  }
  return new Promise<ProbeResult>((resolve) => {
    const socket = connect({ host: target.host, port: target.port });
    let done = false;
    const finish = (r: ProbeResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.removeAllListeners();
      socket.on('error', () => undefined); // a late error on a destroyed socket must not crash the process
      socket.destroy();
      resolve(r);
    };
    const onAbort = (): void => finish({ ok: false, code: undefined, message: 'aborted', timedOut: false });
    const timer = setTimeout(
      () => finish({ ok: false, code: undefined, message: `TCP connect to ${target.host}:${target.port} timed out after ${timeoutMs} ms`, timedOut: true }),
      timeoutMs,
    );
    timer.unref();
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => finish({ ok: true }));
    socket.once('error', (err: NodeJS.ErrnoException) => finish({ ok: false, code: err.code, message: err.message, timedOut: false }));
  });
}
