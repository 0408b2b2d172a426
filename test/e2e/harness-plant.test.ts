// The simulated plant, seen through the real node-opcua client: security, users, values against the
// signals oracle, operation limits, the read-only proof counters, and the process faults.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { OPCUACertificateManager } from 'node-opcua-certificate-manager';
import {
  AttributeIds,
  type ClientSession,
  ClientMonitoredItem,
  CreateSessionRequest,
  type DataValue,
  DataType,
  HistoryUpdateRequest,
  MessageSecurityMode,
  MethodIds,
  makeBrowsePath,
  type NotificationMessage,
  ObjectIds,
  OPCUAClient,
  SecurityPolicy,
  StatusCodes,
  TimestampsToReturn,
  UserTokenType,
  VariableIds,
} from 'node-opcua-client';
import { SimulatedPlant } from '../harness/plant/plant';
import { TICK_MS, tickOf, vibrationAt } from '../harness/plant/signals';

const REPO_ROOT = resolve(__dirname, '..', '..');
const USER = 'operator';
const LIMITS = { maxNodesPerRead: 4, maxMonitoredItemsPerCall: 3 };
const NOTIFICATIONS_CAP = 3;

const workDir = mkdtempSync(join(tmpdir(), 'conduit-plant-e2e-'));
/** One server PKI for every plant of this file: certificate creation is the slow part of a start. */
const serverPki = join(workDir, 'server-pki');
const clientPki = new OPCUACertificateManager({ rootFolder: join(workDir, 'client-pki'), automaticallyAcceptUnknownCertificate: false });

const plants = new Set<SimulatedPlant>();
const clients = new Set<OPCUAClient>();
let plant: SimulatedPlant;
let password = 'first-password';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // An orphan nobody reaped yet is a zombie: it is gone for every purpose of these tests.
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

async function startPlant(opts: Parameters<typeof SimulatedPlant.start>[0] = {}): Promise<SimulatedPlant> {
  const p = await SimulatedPlant.start({ pkiDir: serverPki, users: [{ username: USER, password }], ...opts });
  plants.add(p);
  return p;
}

interface ConnectOptions {
  mode?: MessageSecurityMode;
  policy?: SecurityPolicy;
  identity?: { type: UserTokenType.UserName; userName: string; password: string } | { type: UserTokenType.Anonymous };
  reconnect?: boolean;
}

/** A client that trusts the plant's certificate because it was put in its trusted folder, nothing else. */
async function makeClient(p: SimulatedPlant, o: ConnectOptions = {}): Promise<OPCUAClient> {
  await clientPki.trustCertificate(p.certificateDer);
  const client = OPCUAClient.create({
    applicationName: 'conduit-plant-e2e',
    applicationUri: 'urn:conduit:test:plant-e2e-client',
    clientCertificateManager: clientPki,
    securityMode: o.mode ?? MessageSecurityMode.SignAndEncrypt,
    securityPolicy: o.policy ?? SecurityPolicy.Basic256Sha256,
    endpointMustExist: false,
    requestedSessionTimeout: 20_000,
    connectionStrategy: o.reconnect ? { maxRetry: 100, initialDelay: 200, maxDelay: 1_000 } : { maxRetry: 0, initialDelay: 100, maxDelay: 200 },
  });
  clients.add(client);
  return client;
}

async function connect(p: SimulatedPlant, o: ConnectOptions = {}): Promise<{ client: OPCUAClient; session: ClientSession }> {
  const client = await makeClient(p, o);
  await client.connect(p.endpointUrl);
  const session = await client.createSession(o.identity ?? { type: UserTokenType.UserName, userName: USER, password });
  return { client, session };
}

async function closeClient(client: OPCUAClient): Promise<void> {
  clients.delete(client);
  await client.disconnect().catch(() => undefined);
}

/** The status a rejected promise carried, by name, or its message. */
async function rejection(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  assert.fail('expected a rejection');
}

before(async () => {
  await clientPki.initialize();
  plant = await startPlant({ operationLimits: LIMITS, maxNotificationsPerPublish: NOTIFICATIONS_CAP, tags: { vibration: 3 } });
});

after(async () => {
  for (const c of [...clients]) await closeClient(c);
  for (const p of plants) await p.close();
  for (const p of plants) if (p.pid !== undefined) assert.equal(isAlive(p.pid), false, `plant ${p.pid} survived`);
  await clientPki.dispose();
  rmSync(workDir, { recursive: true, force: true });
});

describe('simulated plant through node-opcua-client', () => {
  test('listens on loopback only, offers SignAndEncrypt and username tokens only', { timeout: 30_000 }, async () => {
    assert.match(plant.endpointUrl, new RegExp(`^opc\\.tcp://127\\.0\\.0\\.1:${plant.port}/UA/Plant$`));
    assert.match(plant.certificateThumbprint, /^[0-9a-f]{40}$/);
    const client = await makeClient(plant);
    await client.connect(plant.endpointUrl);
    const endpoints = await client.getEndpoints();
    await closeClient(client);
    assert.ok(endpoints.length > 0);
    for (const e of endpoints) {
      assert.equal(e.securityMode, MessageSecurityMode.SignAndEncrypt);
      assert.deepEqual(
        (e.userIdentityTokens ?? []).map((t) => t.tokenType),
        [UserTokenType.UserName],
      );
    }
    assert.deepEqual(
      [...new Set(endpoints.map((e) => e.securityPolicyUri))].sort(),
      [SecurityPolicy.Aes128_Sha256_RsaOaep, SecurityPolicy.Aes256_Sha256_RsaPss, SecurityPolicy.Basic256Sha256].sort(),
    );
    // Another address of this host must find nothing listening on the plant's port.
    const external = Object.values(networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal);
    if (external) {
      const outcome = await new Promise<string>((done) => {
        const s = netConnect({ host: external.address, port: plant.port }, () => {
          s.destroy();
          done('connected');
        });
        s.on('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
      });
      assert.equal(outcome, 'ECONNREFUSED');
    }
  });

  test('reads every tag, in chunks of MaxNodesPerRead, with the values signals.ts predicts', { timeout: 30_000 }, async () => {
    const { client, session } = await connect(plant);
    try {
      const [maxRead, maxMonitored] = await session.read([
        { nodeId: VariableIds.Server_ServerCapabilities_OperationLimits_MaxNodesPerRead, attributeId: AttributeIds.Value },
        { nodeId: VariableIds.Server_ServerCapabilities_OperationLimits_MaxMonitoredItemsPerCall, attributeId: AttributeIds.Value },
      ]);
      assert.equal(maxRead?.value.value, LIMITS.maxNodesPerRead);
      assert.equal(maxMonitored?.value.value, LIMITS.maxMonitoredItemsPerCall);

      const values: DataValue[] = [];
      for (let i = 0; i < plant.tags.length; i += LIMITS.maxNodesPerRead) {
        const chunk = plant.tags.slice(i, i + LIMITS.maxNodesPerRead);
        values.push(...(await session.read(chunk.map((t) => ({ nodeId: t.nodeId, attributeId: AttributeIds.Value })))));
      }
      assert.equal(values.length, plant.tags.length);
      for (const [i, tag] of plant.tags.entries()) {
        const dv = values[i];
        assert.ok(dv?.sourceTimestamp, tag.name);
        assert.equal(dv.statusCode.value, StatusCodes.Good.value, tag.name);
        const ms = dv.sourceTimestamp.getTime();
        assert.equal(ms % TICK_MS, 0, `${tag.name} source timestamp on a tick`);
        assert.equal(dv.value.value, plant.expectedValue(tag.name, tickOf(ms)), tag.name);
      }

      // The numeric tags carry EURange and EngineeringUnits, as a collector's percent deadband needs.
      const paths = await session.translateBrowsePath([makeBrowsePath('ns=1;s=Line1.Vib01', '.EURange'), makeBrowsePath('ns=1;s=Line1.Temp01', '.EngineeringUnits')]);
      const [range, units] = await session.read(paths.map((p) => ({ nodeId: p.targets?.[0]?.targetId, attributeId: AttributeIds.Value })));
      assert.deepEqual({ low: range?.value.value.low, high: range?.value.value.high }, { low: -50, high: 50 });
      assert.equal(units?.value.value.displayName.text, '°C');

      // Past the limit, the server refuses the whole request: a client must chunk.
      const tooMany = plant.tags.slice(0, LIMITS.maxNodesPerRead + 1).map((t) => ({ nodeId: t.nodeId, attributeId: AttributeIds.Value }));
      assert.match(await rejection(session.read(tooMany)), /BadTooManyOperations/);
    } finally {
      await closeClient(client);
    }
  });

  test('a 100 ms subscription receives the predicted doubles, then the stepped amplitude', { timeout: 60_000 }, async (t) => {
    const { client, session } = await connect(plant);
    try {
      const sub = await session.createSubscription2({
        requestedPublishingInterval: 100,
        requestedLifetimeCount: 600,
        requestedMaxKeepAliveCount: 20,
        maxNotificationsPerPublish: 0,
        publishingEnabled: true,
        priority: 1,
      });
      const received = new Map<string, DataValue[]>();
      for (const name of ['Line1.Vib01', 'Line1.Vib02']) {
        const list: DataValue[] = [];
        received.set(name, list);
        const item = ClientMonitoredItem.create(
          sub,
          { nodeId: plant.tag(name).nodeId, attributeId: AttributeIds.Value },
          { samplingInterval: 100, queueSize: 10, discardOldest: true },
          TimestampsToReturn.Both,
        );
        item.on('changed', (dv: DataValue) => list.push(dv));
      }
      await sleep(3_000);
      const fromTick = await plant.stepAmplitude('Line1.Vib01', 12);
      const vib01 = received.get('Line1.Vib01') ?? [];
      const lastTick = (): number => {
        const ts = vib01.at(-1)?.sourceTimestamp;
        return ts ? tickOf(ts.getTime()) : 0;
      };
      await waitUntil('30 ticks after the step', () => lastTick() >= fromTick + 30, 10_000);
      await sub.terminate();

      const vib01Tag = plant.tag('Line1.Vib01');
      let afterStep = 0;
      let peak = 0;
      for (const [name, list] of received) {
        const ticks: number[] = [];
        for (const dv of list) {
          assert.equal(dv.statusCode.value, StatusCodes.Good.value);
          const ms = dv.sourceTimestamp?.getTime() ?? Number.NaN;
          assert.equal(ms % TICK_MS, 0);
          const tick = tickOf(ms);
          ticks.push(tick);
          // Exact equality of doubles: the value went through OPC UA's Double encoding untouched.
          assert.equal(dv.value.value, plant.expectedValue(name, tick), `${name} at tick ${tick}`);
          if (name === 'Line1.Vib01' && tick >= fromTick) {
            afterStep++;
            peak = Math.max(peak, Math.abs(dv.value.value as number));
            assert.equal(dv.value.value, vibrationAt(plant.seed, vib01Tag.index, tick, 12, plant.signals));
          }
        }
        const first = ticks[0] ?? 0;
        const last = ticks.at(-1) ?? 0;
        const distinct = new Set(ticks).size;
        const fraction = distinct / (last - first + 1);
        t.diagnostic(`${name}: ${distinct} distinct ticks of ${last - first + 1} (${(100 * fraction).toFixed(1)} %), ${list.length} notifications`);
        assert.ok(fraction > 0.9, `${name} received ${(100 * fraction).toFixed(1)} % of the ticks`);
      }
      assert.ok(afterStep >= 20, `only ${afterStep} samples after the step`);
      assert.ok(peak > 2.5, `peak ${peak} after stepping the amplitude from 2 to 12`);
    } finally {
      await closeClient(client);
    }
  });

  test('MaxMonitoredItemsPerCall and the server cap on notifications per Publish hold', { timeout: 30_000 }, async () => {
    const { client, session } = await connect(plant);
    try {
      const sub = await session.createSubscription2({
        requestedPublishingInterval: 500,
        requestedLifetimeCount: 100,
        requestedMaxKeepAliveCount: 10,
        maxNotificationsPerPublish: 0,
        publishingEnabled: true,
        priority: 1,
      });
      const item = (i: number) => ({
        itemToMonitor: { nodeId: plant.tags[i % 3]?.nodeId, attributeId: AttributeIds.Value },
        monitoringMode: 2, // Reporting
        requestedParameters: { clientHandle: 1000 + i, samplingInterval: 100, queueSize: 10, discardOldest: true },
      });
      const tooMany = Array.from({ length: LIMITS.maxMonitoredItemsPerCall + 1 }, (_, i) => item(i));
      assert.match(
        await rejection(
          // one raw request: the client's own helpers would not show what the server does past the limit
          (session as unknown as { createMonitoredItems(r: object): Promise<unknown> }).createMonitoredItems({
            subscriptionId: sub.subscriptionId,
            timestampsToReturn: TimestampsToReturn.Both,
            itemsToCreate: tooMany,
          }),
        ),
        /BadTooManyOperations/,
      );
      const sizes: number[] = [];
      sub.on('raw_notification', (m: NotificationMessage) => {
        let n = 0;
        for (const d of m.notificationData ?? []) n += (d as { monitoredItems?: unknown[] }).monitoredItems?.length ?? 0;
        if (n > 0) sizes.push(n);
      });
      for (let i = 0; i < 3; i++) {
        ClientMonitoredItem.create(sub, { nodeId: plant.tags[i]?.nodeId, attributeId: AttributeIds.Value }, { samplingInterval: 100, queueSize: 10, discardOldest: true }, TimestampsToReturn.Both);
      }
      await sleep(2_500);
      await sub.terminate();
      // 3 vibration tags x 5 samples per 500 ms would be 15 per Publish without the cap.
      assert.ok(sizes.length > 0);
      assert.ok(Math.max(...sizes) <= NOTIFICATIONS_CAP, `notifications per message: ${sizes.join(',')}`);
      assert.equal(Math.max(...sizes), NOTIFICATIONS_CAP);
    } finally {
      await closeClient(client);
    }
  });

  test('a Write, a Call and a HistoryUpdate are each counted, and the Write is refused', { timeout: 30_000 }, async (t) => {
    const { client, session } = await connect(plant);
    try {
      const before = await plant.requestCounts();
      const status = await session.write({
        nodeId: 'ns=1;s=Line1.Vib01',
        attributeId: AttributeIds.Value,
        value: { value: { dataType: DataType.Double, value: 1 } },
      });
      t.diagnostic(`Write to a tag answered ${status.name}`);
      assert.notEqual(status.value, StatusCodes.Good.value);
      await session.call({ objectId: ObjectIds.Server, methodId: MethodIds.Server_GetMonitoredItems, inputArguments: [{ dataType: DataType.UInt32, value: 0 }] });
      const history = new Promise<unknown>((done, fail) =>
        (session as unknown as { performMessageTransaction(r: unknown, cb: (err: Error | null, res?: unknown) => void): void }).performMessageTransaction(
          new HistoryUpdateRequest({ historyUpdateDetails: [] }),
          (err, res) => (err ? fail(err) : done(res)),
        ),
      );
      t.diagnostic(`HistoryUpdate answered ${await rejection(history)}`);
      const counts = await plant.requestCounts();
      assert.equal(counts.write, before.write + 1);
      assert.equal(counts.call, before.call + 1);
      assert.equal(counts.historyUpdate, before.historyUpdate + 1);
      assert.ok(counts.read >= before.read);
      assert.ok(counts.currentSessions >= 1);
    } finally {
      await closeClient(client);
    }
  });

  test('wrong password and anonymous are refused; a rotated password takes effect at once', { timeout: 30_000 }, async (t) => {
    const client = await makeClient(plant);
    try {
      await client.connect(plant.endpointUrl);
      const wrong = await rejection(client.createSession({ type: UserTokenType.UserName, userName: USER, password: 'not-the-password' }));
      t.diagnostic(`wrong password: ${wrong}`);
      assert.match(wrong, /BadUserAccessDenied/);
      // The node-opcua client already refuses locally: no endpoint offers an Anonymous token.
      assert.match(await rejection(client.createSession({ type: UserTokenType.Anonymous })), /ANONYMOUS/i);

      const old = password;
      password = 'rotated-password';
      await plant.setPassword(USER, password);
      assert.match(await rejection(client.createSession({ type: UserTokenType.UserName, userName: USER, password: old })), /BadUserAccessDenied/);
      const session = await client.createSession({ type: UserTokenType.UserName, userName: USER, password });
      await session.close();
    } finally {
      await closeClient(client);
    }
  });

  test('SecurityMode None is refused unless the plant allows it', { timeout: 60_000 }, async (t) => {
    const none = { mode: MessageSecurityMode.None, policy: SecurityPolicy.None };
    t.diagnostic(`None, node-opcua client: ${await rejection(connect(plant, none))}`);
    // A None channel is still accepted for discovery (GetEndpoints); the client above gives up on its
    // own, so ask the server itself for a session over that channel.
    const raw = await makeClient(plant, none);
    await raw.connect(plant.endpointUrl);
    const before = (await plant.requestCounts()).createSession;
    const answer = await rejection(
      new Promise((done, fail) =>
        (raw as unknown as { performMessageTransaction(r: unknown, cb: (err: Error | null, res?: unknown) => void): void }).performMessageTransaction(
          new CreateSessionRequest({
            clientDescription: { applicationUri: 'urn:conduit:test:plant-e2e-client', applicationName: { text: 'conduit-plant-e2e' } },
            endpointUrl: plant.endpointUrl,
            sessionName: 'insecure',
            clientNonce: Buffer.alloc(32, 1),
            requestedSessionTimeout: 10_000,
          }),
          (err, res) => (err ? fail(err) : done(res)),
        ),
      ),
    );
    t.diagnostic(`None, CreateSession sent anyway: ${answer}`);
    assert.match(answer, /BadSecurityModeRejected/);
    assert.equal((await plant.requestCounts()).createSession, before + 1);
    await closeClient(raw);

    const insecure = await startPlant({ allowInsecure: true });
    try {
      const { client, session } = await connect(insecure, none);
      const [dv] = await session.read([{ nodeId: 'ns=1;s=Line1.Temp01', attributeId: AttributeIds.Value }]);
      assert.equal(dv?.statusCode.value, StatusCodes.Good.value);
      await closeClient(client);
      // Another policy of the default set works too.
      const rsaPss = await connect(insecure, { policy: SecurityPolicy.Aes256_Sha256_RsaPss });
      await closeClient(rsaPss.client);
    } finally {
      await insecure.close();
    }
  });

  test("with trustClientCertificates 'explicit', a client is refused until the admin trusts it", { timeout: 60_000 }, async (t) => {
    // A PKI of its own: the other plants ('all') have already trusted this client for good.
    const strict = await startPlant({ trustClientCertificates: 'explicit', pkiDir: join(workDir, 'strict-pki') });
    try {
      const refused = await rejection(connect(strict));
      t.diagnostic(`untrusted client certificate: ${refused}`);
      const clientCertificate = readFileSync(join(workDir, 'client-pki', 'own', 'certs', 'client_certificate.pem'), 'utf8');
      await strict.trustClientCertificate(clientCertificate);
      const { client } = await connect(strict);
      await closeClient(client);
    } finally {
      await strict.close();
    }
  });

  test('pause freezes every value, resume lets them run again', { timeout: 30_000 }, async () => {
    const { client, session } = await connect(plant);
    try {
      const read = async (): Promise<DataValue> => {
        const [dv] = await session.read([{ nodeId: 'ns=1;s=Line1.Vib01', attributeId: AttributeIds.Value }]);
        assert.ok(dv);
        return dv;
      };
      const frozenTick = await plant.pause();
      const a = await read();
      await sleep(400);
      const b = await read();
      for (const dv of [a, b]) {
        assert.equal(dv.sourceTimestamp?.getTime(), frozenTick * TICK_MS);
        assert.equal(dv.value.value, plant.expectedValue('Line1.Vib01', frozenTick));
      }
      await plant.resume();
      await sleep(300);
      const c = await read();
      assert.ok(tickOf(c.sourceTimestamp?.getTime() ?? 0) > frozenTick + 2);
    } finally {
      await closeClient(client);
    }
  });

  test('restart keeps port and certificate, and a connected client gets its session back', { timeout: 90_000 }, async () => {
    const { client, session } = await connect(plant, { reconnect: true });
    const port = plant.port;
    const oldPid = plant.pid;
    await plant.restart();
    assert.equal(plant.port, port);
    assert.notEqual(plant.pid, oldPid);
    assert.equal(isAlive(oldPid ?? -1), false);
    const restartedAt = Date.now();
    await waitUntil(
      'the client to read fresh values after the restart',
      async () => {
        try {
          const [dv] = await session.read([{ nodeId: 'ns=1;s=Line1.Vib01', attributeId: AttributeIds.Value }]);
          return dv?.statusCode.value === StatusCodes.Good.value && (dv.sourceTimestamp?.getTime() ?? 0) >= restartedAt - TICK_MS;
        } catch {
          return false;
        }
      },
      60_000,
    );
    await closeClient(client);
  });

  test('kill is a crash: the pid is gone, commands fail, restart brings the plant back', { timeout: 60_000 }, async () => {
    const pid = plant.pid ?? -1;
    await plant.kill();
    assert.equal(isAlive(pid), false);
    assert.equal(plant.running, false);
    await assert.rejects(plant.requestCounts(), { name: 'PlantError' });
    const port = plant.port;
    await plant.restart();
    assert.equal(plant.port, port);
    const { client } = await connect(plant);
    await closeClient(client);
    // Counters start again with the new process.
    assert.equal((await plant.requestCounts()).write, 0);
  });

  test('the plant process exits by itself when its controller dies', { timeout: 60_000 }, async () => {
    const script = `require(${JSON.stringify(join(REPO_ROOT, 'test/harness/plant/plant.ts'))}).SimulatedPlant.start({ pkiDir: ${JSON.stringify(serverPki)} }).then((p) => console.log('PLANT ' + p.pid))`;
    const controller = spawn(process.execPath, ['--import', 'tsx', '-e', script], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let plantPid = 0;
    try {
      await new Promise<void>((done, fail) => {
        let out = '';
        controller.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const m = /PLANT (\d+)/.exec(out);
          if (m) {
            plantPid = Number(m[1]);
            done();
          }
        });
        controller.once('exit', () => fail(new Error(`controller exited early: ${out}`)));
      });
      assert.ok(isAlive(plantPid));
      controller.kill('SIGKILL');
      await waitUntil('the orphaned plant to exit', () => !isAlive(plantPid), 10_000);
    } finally {
      if (controller.pid !== undefined && isAlive(controller.pid)) controller.kill('SIGKILL');
      if (plantPid > 0 && isAlive(plantPid)) process.kill(plantPid, 'SIGKILL');
    }
  });

  test('close() leaves no process behind', { timeout: 30_000 }, async () => {
    const pid = plant.pid ?? -1;
    assert.ok(isAlive(pid));
    await plant.close();
    assert.equal(isAlive(pid), false);
    await plant.close(); // idempotent
  });
});
