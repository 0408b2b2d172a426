// How the source paces its connection attempts: which failures are retried fast (nothing listens),
// which back off exponentially (overload, operator problems, the unknown), and the fast delay itself.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UNREACHABLE_MAX_DELAY_MS, classifyAttemptEnd, unreachableDelayMs } from '../../../../../components/opcua-collector/src/opcua/reconnect-policy';
import { createServer, type AddressInfo } from 'node:net';
import { hostAndPort, probeTcp } from '../../../../../components/opcua-collector/src/opcua/tcp-probe';

describe('classifyAttemptEnd', () => {
  test('nothing listening is unreachable: socket codes, node-opcua messages that carry them, our TCP deadline', () => {
    for (const code of ['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ETIMEDOUT']) {
      assert.equal(classifyAttemptEnd({ kind: 'other', message: `connect ${code} 10.0.0.5:4840`, code }), 'unreachable', code);
    }
    // What OpcUaConnection.open throws when node-opcua's own connect was refused (seen verbatim).
    const nodeOpcua =
      'connect failed: The connection cannot be established with server opc.tcp://127.0.0.1:1 .\nPlease check that the server is up and running or your network configuration.\nErr = (connect ECONNREFUSED 127.0.0.1:1)';
    assert.equal(classifyAttemptEnd({ kind: 'other', message: nodeOpcua }), 'unreachable');
    assert.equal(classifyAttemptEnd({ kind: 'other', message: 'TCP connect to plc:4840 timed out after 3000 ms', tcpConnectTimedOut: true }), 'unreachable');
  });

  test('a server that answers "not now" is overload, whatever the step', () => {
    for (const status of ['BadTooManySessions', 'BadServerHalted', 'BadResourceUnavailable', 'BadTcpServerTooBusy', 'BadTooManySubscriptions', 'BadMaxConnectionsReached']) {
      assert.equal(classifyAttemptEnd({ kind: 'other', message: `CreateSession failed: ${status} (0x80560000)` }), 'overload', status);
      assert.equal(classifyAttemptEnd({ kind: 'subscribe', message: `createSubscription: ${status}` }), 'overload', status);
    }
    // A status wins over a socket code in the same text: the server spoke, so it is up.
    assert.equal(classifyAttemptEnd({ kind: 'other', message: 'BadTcpServerTooBusy; socket ECONNRESET' }), 'overload');
  });

  test('operator problems stay operator problems (exponential backoff as before), even with a socket code in the text', () => {
    assert.equal(classifyAttemptEnd({ kind: 'identity', message: 'the server rejected user "op" (BadUserAccessDenied)' }), 'operator');
    assert.equal(classifyAttemptEnd({ kind: 'certificate', message: 'server certificate ab refused: not pinned' }), 'operator');
    assert.equal(classifyAttemptEnd({ kind: 'credentials', message: 'secret conduit/x not found ECONNREFUSED' }), 'operator');
  });

  test('a lost connection and unknown failures are other (exponential), never fast', () => {
    assert.equal(classifyAttemptEnd({ kind: 'lost', message: 'the secure channel closed: connect ECONNREFUSED' }), 'other');
    assert.equal(classifyAttemptEnd({ kind: 'other', message: 'CreateSession failed: BadTimeout' }), 'other');
    assert.equal(classifyAttemptEnd({ kind: 'other', message: 'connect failed: socket hang up', code: 'ECONNRESET' }), 'other');
    assert.equal(classifyAttemptEnd({ kind: 'other', message: 'getaddrinfo ENOTFOUND plc.example', code: 'ENOTFOUND' }), 'other');
    assert.equal(classifyAttemptEnd({ kind: 'subscribe', message: 'BadSessionIdInvalid' }), 'other');
  });
});

describe('unreachableDelayMs', () => {
  test('jittered in [0.25, 1) x 2 s: never a tight loop, never more than 2 s', () => {
    assert.equal(unreachableDelayMs(0, 0, 60_000), 500);
    assert.equal(unreachableDelayMs(0.5, 0, 60_000), 1_250);
    assert.equal(unreachableDelayMs(0.999999, 0, 60_000), 1_999);
    for (let i = 0; i < 1_000; i++) {
      const d = unreachableDelayMs(i / 1_000, 0, 60_000);
      assert.ok(d >= 500 && d < UNREACHABLE_MAX_DELAY_MS, String(d));
    }
  });

  test('a random source out of [0, 1) cannot push it past the cap', () => {
    assert.equal(unreachableDelayMs(1, 0, 60_000), 500);
    assert.equal(unreachableDelayMs(Number.NaN, 0, 60_000), 500);
    assert.equal(unreachableDelayMs(-3, 0, 60_000), 500);
  });

  test('the time the failed attempt took counts: a connect that timed out is retried at once', () => {
    assert.equal(unreachableDelayMs(0.5, 1_000, 60_000), 250);
    assert.equal(unreachableDelayMs(0.5, 3_000, 60_000), 0);
    assert.equal(unreachableDelayMs(0.5, Number.NaN, 60_000), 1_250);
  });

  test('a reconnect.maxDelayMs below 2 s caps it too', () => {
    assert.equal(unreachableDelayMs(0, 0, 400), 100);
    assert.equal(unreachableDelayMs(0.999999, 0, 400), 399);
  });
});

describe('hostAndPort', () => {
  test('opc.tcp URLs, with the default port 4840 and IPv6 literals', () => {
    assert.deepEqual(hostAndPort('opc.tcp://127.0.0.1:4841/UA/Plant'), { host: '127.0.0.1', port: 4841 });
    assert.deepEqual(hostAndPort('opc.tcp://plc-7.plant.local/'), { host: 'plc-7.plant.local', port: 4840 });
    assert.deepEqual(hostAndPort('opc.tcp://[fd00::7]:4840'), { host: 'fd00::7', port: 4840 });
  });
});

describe('probeTcp (loopback)', () => {
  test('a listening port is ok and the probe sends nothing; a closed one is ECONNREFUSED; an abort ends it', async () => {
    const received: Buffer[] = [];
    const server = createServer((socket) => socket.on('data', (d) => received.push(d)).on('error', () => undefined));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      assert.deepEqual(await probeTcp(`opc.tcp://127.0.0.1:${port}/UA`, new AbortController().signal), { ok: true });
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    assert.deepEqual(received, [], 'no byte reached the server');
    const refused = await probeTcp(`opc.tcp://127.0.0.1:${port}/UA`, new AbortController().signal);
    assert.equal(refused.ok, false);
    assert.equal(!refused.ok && refused.code, 'ECONNREFUSED');
    const aborted = new AbortController();
    aborted.abort();
    assert.deepEqual(await probeTcp(`opc.tcp://127.0.0.1:${port}/UA`, aborted.signal), { ok: false, code: undefined, message: 'aborted', timedOut: false });
  });
});
