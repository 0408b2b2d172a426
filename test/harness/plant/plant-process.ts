// The simulated plant: a real node-opcua server in a process of its own, so that a test can crash it
// (SIGKILL), freeze it or restart it exactly as a plant PLC or OPC UA gateway would be, and so that its
// sampling timers never share an event loop with the client under test. It is started and driven by
// plant.ts over the Node IPC channel (protocol.ts) and exits by itself when that channel closes.
//
// Values are not pushed on a timer. Each tag's Value is bound to a getter that computes the value of
// the current 100 ms tick from signals.ts, stamped with sourceTimestamp = tick * 100 ms. node-opcua
// samples a monitored item by reading the variable from its own shared timer (node_sampler.js), so
// a getter hands every sample the exact value of the tick it falls in, with no second timer whose
// phase could lag behind the boundary; and 10,000 tags cost nothing until someone reads them.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OPCUACertificateManager } from 'node-opcua-certificate-manager';
import { DataType, DataValue, MessageSecurityMode, SecurityPolicy, StatusCodes, UserTokenType, Variant, VariantArrayType } from 'node-opcua-client';
import type { Socket } from 'node:net';
import { MonitoredItem, OPCUAServer, Subscription } from 'node-opcua-server';
import type { FromPlant, PlantCommand, PlantConfig, RequestCounts, ToPlant } from './protocol';
import { type AmplitudeStep, PLANT_LINE, type TagSpec, TICK_MS, plantTags, tickOf, timestampOf, valueAt } from './signals';

/** The path clients connect to: opc.tcp://127.0.0.1:<port>/UA/Plant */
const RESOURCE_PATH = '/UA/Plant';
/** A real PLC rarely samples faster than its scan; 100 ms also makes a requested 0 mean 100 ms. */
const TAG_MINIMUM_SAMPLING_INTERVAL_MS = 100;

// UNECE Recommendation 20 common codes, packed as OPC UA Part 8 §5.6.3 packs them into unitId.
const UNITS: Record<string, { code: string; description: string }> = {
  'mm/s': { code: 'C16', description: 'millimetre per second' },
  '°C': { code: 'CEL', description: 'degree Celsius' },
  bar: { code: 'BAR', description: 'bar [unit of pressure] = 1E5 Pa' },
};

function unitId(code: string): number {
  let id = 0;
  for (const c of code) id = (id << 8) | c.charCodeAt(0);
  return id;
}

/** Sends to the controller; resolves once the message has been handed to the channel. */
function send(message: FromPlant): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
}

function dataTypeOf(tag: TagSpec): DataType {
  if (tag.kind === 'boolean') return DataType.Boolean;
  if (tag.kind === 'string') return DataType.String;
  if (tag.kind === 'counter') return DataType.UInt64;
  return DataType.Double;
}

/** node-opcua takes a UInt64 as [high, low] 32-bit halves, as it hands one to a client. */
function variantOf(dataType: DataType, value: number | boolean | string): Variant {
  if (dataType !== DataType.UInt64) return new Variant({ dataType, value });
  const n = value as number;
  return new Variant({ dataType, arrayType: VariantArrayType.Scalar, value: [Math.floor(n / 4_294_967_296), n % 4_294_967_296] });
}

class PlantProcess {
  private readonly server: OPCUAServer;
  private readonly passwords: Map<string, string>;
  private readonly steps: AmplitudeStep[];
  private readonly requests = new Map<string, number>();
  /** While set, every tag serves this tick: the session stays up but nothing changes. */
  private frozenTick: number | undefined;
  private readonly serverCertificates: OPCUACertificateManager;

  constructor(private readonly config: PlantConfig) {
    this.passwords = new Map(config.users.map((u) => [u.username, u.password]));
    this.steps = [...config.steps];
    if (config.maxNotificationsPerPublish !== undefined) {
      // node-opcua caps every subscription's MaxNotificationsPerPublish at this static limit; it is
      // library-wide, which is why the plant owns a process.
      Subscription.maxNotificationPerPublishHighLimit = config.maxNotificationsPerPublish;
    }
    this.serverCertificates = new OPCUACertificateManager({
      rootFolder: join(config.pkiDir, 'server'),
      automaticallyAcceptUnknownCertificate: config.trustClientCertificates === 'all',
    });
    if (config.untrustedClient === 'close-socket') this.closeSocketOnUntrustedClient();
    this.stripTimestamps();
    // Left to itself, node-opcua would keep user certificates under the home directory.
    const userCertificates = new OPCUACertificateManager({
      rootFolder: join(config.pkiDir, 'users'),
      automaticallyAcceptUnknownCertificate: false,
    });

    const securityModes = [MessageSecurityMode.SignAndEncrypt];
    const securityPolicies: SecurityPolicy[] = config.securityPolicies.map((p) => SecurityPolicy[p]);
    if (config.allowInsecure) {
      securityModes.push(MessageSecurityMode.None);
      securityPolicies.push(SecurityPolicy.None);
    }
    this.server = new OPCUAServer({
      port: config.port,
      // `host` is what the TCP server binds to; `hostname` is what the endpoint URLs advertise.
      host: '127.0.0.1',
      hostname: '127.0.0.1',
      alternateHostname: ['127.0.0.1'],
      resourcePath: RESOURCE_PATH,
      securityModes,
      securityPolicies,
      allowAnonymous: false,
      serverCertificateManager: this.serverCertificates,
      userCertificateManager: userCertificates,
      userManager: { isValidUser: (username: string, password: string) => this.passwords.get(username) === password },
      serverInfo: {
        applicationUri: 'urn:conduit:test:simulated-plant',
        productUri: 'urn:conduit:test:simulated-plant',
        applicationName: { text: 'conduit simulated plant', locale: 'en' },
      },
      buildInfo: { productName: 'conduit simulated plant', manufacturerName: 'conduit test harness' },
      serverCapabilities: { maxSessions: 50, operationLimits: { ...config.operationLimits } },
      maxConnectionsPerEndpoint: 50,
      isAuditing: false,
    });
    // 'request' is emitted for every service request before its handler runs, so a Write that the
    // server then rejects (not writable, no session, bad token) is counted all the same.
    this.server.on('request', (request) => {
      const name = (request as unknown as { schema: { name: string } }).schema.name;
      this.requests.set(name, (this.requests.get(name) ?? 0) + 1);
    });
  }

  async start(): Promise<void> {
    await this.server.initialize();
    this.offerUserNameTokensOnly();
    this.buildAddressSpace();
    await this.server.start();
    for (const endpoint of this.server.endpoints) {
      // The endpoint's net.Server (node-opcua keeps it in `_server`): every accepted TCP connection.
      (endpoint as unknown as { _server?: { on(e: 'connection', f: (s: Socket) => void): void } })._server?.on('connection', (socket) => this.onSocket(socket));
    }
    const endpoint = this.server.endpoints[0];
    if (!endpoint) throw new Error('the OPC UA server has no endpoint');
    await send({
      kind: 'ready',
      port: endpoint.port,
      endpointUrl: `opc.tcp://127.0.0.1:${endpoint.port}${RESOURCE_PATH}`,
      certificatePem: readFileSync(this.server.certificateFile, 'utf8'),
    });
  }

  /**
   * node-opcua always advertises X509 user tokens next to UserName ones and has no option to drop
   * them; a plant configured for username/password only would not offer them, so they are removed
   * from the endpoint descriptions before the server listens. ActivateSession looks the token policy
   * up in these descriptions, so an X509 identity is then refused too.
   */
  private offerUserNameTokensOnly(): void {
    for (const endpoint of this.server.endpoints) {
      for (const description of endpoint.endpointDescriptions()) {
        description.userIdentityTokens = (description.userIdentityTokens ?? []).filter((t) => t.tokenType === UserTokenType.UserName);
      }
    }
  }

  /** Set between an untrusted client certificate's verdict and the answer the server would send to it. */
  private refuseByClosing = false;

  /**
   * open62541's way: the verdict on the client certificate (OpenSecureChannel) comes from the
   * certificate manager; when it is not Good, the next secure-channel answer (an OPN response or an
   * ERR message, which node-opcua would send) is not sent: the socket is destroyed instead. One
   * client connects at a time in the tests that use it, so one flag suffices.
   */
  private closeSocketOnUntrustedClient(): void {
    const manager = this.serverCertificates;
    const check = manager.checkCertificate.bind(manager);
    manager.checkCertificate = (async (certificate: Buffer) => {
      const status = await check(certificate);
      if (!status.isGood()) this.refuseByClosing = true;
      return status;
    }) as typeof manager.checkCertificate;
  }

  private onSocket(socket: Socket): void {
    if (this.config.untrustedClient !== 'close-socket') return;
    const write = socket.write.bind(socket) as (chunk: unknown, ...rest: unknown[]) => boolean;
    socket.write = ((chunk: unknown, ...rest: unknown[]) => {
      if (this.refuseByClosing && Buffer.isBuffer(chunk) && /^(OPN|ERR)/.test(chunk.subarray(0, 3).toString('latin1'))) {
        this.refuseByClosing = false;
        socket.destroy();
        return false;
      }
      return write(chunk, ...rest);
    }) as typeof socket.write;
  }

  /**
   * Foreign servers that keep no source timestamp (or no timestamp at all): the timestamps of the
   * chosen tags are removed from each notification as node-opcua builds it (MonitoredItem's
   * _makeDataChangeNotification, after it applied TimestampsToReturn), so sampling is unchanged.
   */
  private stripTimestamps(): void {
    const withoutSource = new Set(this.config.timestamps.withoutSource.map((t) => `ns=1;s=${t}`));
    const withoutAny = new Set(this.config.timestamps.withoutAny.map((t) => `ns=1;s=${t}`));
    if (withoutSource.size === 0 && withoutAny.size === 0) return;
    type Make = (this: { node?: { nodeId: { toString(): string } } }, dv: DataValue) => { value: DataValue };
    const proto = MonitoredItem.prototype as unknown as { _makeDataChangeNotification: Make };
    const make = proto._makeDataChangeNotification;
    proto._makeDataChangeNotification = function (this: { node?: { nodeId: { toString(): string } } }, dv: DataValue) {
      const notification = make.call(this, dv);
      const id = this.node?.nodeId.toString() ?? '';
      const any = withoutAny.has(id);
      if (any || withoutSource.has(id)) {
        notification.value.sourceTimestamp = null;
        notification.value.sourcePicoseconds = 0;
      }
      if (any) {
        notification.value.serverTimestamp = null;
        notification.value.serverPicoseconds = 0;
      }
      return notification;
    };
  }

  private currentTick(): number {
    return this.frozenTick ?? tickOf(Date.now());
  }

  private buildAddressSpace(): void {
    const addressSpace = this.server.engine.addressSpace;
    if (!addressSpace) throw new Error('the OPC UA server has no address space');
    const namespace = addressSpace.getOwnNamespace();
    const line = namespace.addObject({ browseName: PLANT_LINE, nodeId: `s=${PLANT_LINE}`, organizedBy: addressSpace.rootFolder.objects });
    const { seed, signals } = this.config;
    for (const tag of plantTags(this.config.tags)) {
      const dataType = dataTypeOf(tag);
      // One cached DataValue per tag: several monitored items sampling in the same tick share it.
      let cachedTick = Number.NaN;
      let cached: DataValue | undefined;
      const timestamped_get = (): DataValue => {
        const tick = this.currentTick();
        if (tick !== cachedTick || cached === undefined) {
          cachedTick = tick;
          cached = new DataValue({
            value: variantOf(dataType, valueAt(seed, tag, tick, this.steps, signals)),
            statusCode: StatusCodes.Good,
            sourceTimestamp: new Date(timestampOf(tick)),
            serverTimestamp: new Date(),
          });
        }
        return cached;
      };
      const common = {
        componentOf: line,
        browseName: tag.name.slice(PLANT_LINE.length + 1),
        nodeId: `s=${tag.name}`,
        accessLevel: 'CurrentRead',
        userAccessLevel: 'CurrentRead',
        minimumSamplingInterval: TAG_MINIMUM_SAMPLING_INTERVAL_MS,
        value: { timestamped_get },
      } as const;
      if (tag.unit !== null && tag.range !== null) {
        const unit = UNITS[tag.unit];
        namespace.addAnalogDataItem({
          ...common,
          dataType: 'Double',
          engineeringUnitsRange: tag.range,
          engineeringUnits: {
            namespaceUri: 'http://www.opcfoundation.org/UA/units/un/cefact',
            unitId: unit ? unitId(unit.code) : -1,
            displayName: { text: tag.unit },
            description: { text: unit?.description ?? tag.unit },
          },
        });
      } else {
        namespace.addVariable({ ...common, dataType: tag.kind === 'boolean' ? 'Boolean' : tag.kind === 'counter' ? 'UInt64' : 'String' });
      }
    }
  }

  async handle(command: PlantCommand): Promise<unknown> {
    switch (command.op) {
      case 'setPassword':
        this.passwords.set(command.username, command.password);
        return null;
      case 'stepAmplitude': {
        const tag = plantTags(this.config.tags).find((t) => t.name === command.tag);
        if (!tag || tag.kind !== 'vibration') throw new Error(`no vibration tag named ${command.tag}`);
        // The next tick, never the current one: a value already served must never change.
        const step: AmplitudeStep = { tag: command.tag, fromTick: tickOf(Date.now()) + 1, amplitude: command.amplitude };
        this.steps.push(step);
        return step;
      }
      case 'trustClientCertificate':
        await this.serverCertificates.trustCertificate(Buffer.from(command.derBase64, 'base64'));
        return null;
      case 'requestCounts':
        return this.requestCounts();
      case 'pause':
        this.frozenTick ??= tickOf(Date.now());
        return { frozenTick: this.frozenTick };
      case 'resume':
        this.frozenTick = undefined;
        return null;
      case 'stop':
        await this.stop();
        return null;
    }
  }

  private requestCounts(): RequestCounts {
    const n = (name: string): number => this.requests.get(name) ?? 0;
    return {
      write: n('WriteRequest'),
      call: n('CallRequest'),
      historyUpdate: n('HistoryUpdateRequest'),
      read: n('ReadRequest'),
      createMonitoredItems: n('CreateMonitoredItemsRequest'),
      createSubscription: n('CreateSubscriptionRequest'),
      createSession: n('CreateSessionRequest'),
      activateSession: n('ActivateSessionRequest'),
      currentSessions: this.server.currentSessionCount,
      byType: Object.fromEntries(this.requests),
    };
  }

  async stop(): Promise<void> {
    // A short grace period: clients are told the server is shutting down, then the sockets close.
    await this.server.shutdown(2 * TICK_MS);
  }
}

function main(): void {
  let plant: PlantProcess | undefined;
  // The controller's death closes the channel: a plant must never outlive its test run.
  process.on('disconnect', () => process.exit(0));
  process.on('message', (raw) => {
    const message = raw as ToPlant;
    if (message.kind === 'start') {
      if (plant) return;
      const p = new PlantProcess(message.config);
      plant = p;
      p.start().catch(async (err: unknown) => {
        await send({ kind: 'failed', error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
        process.exit(1);
      });
      return;
    }
    const id = message.id;
    if (!plant) {
      send({ kind: 'reply', id, ok: false, error: 'the plant has not been started' });
      return;
    }
    plant.handle(message.command).then(
      async (result) => {
        await send({ kind: 'reply', id, ok: true, result: result ?? null });
        // The reply has left: a stopped plant is a process that has exited.
        if (message.command.op === 'stop') process.exit(0);
      },
      (err: unknown) => void send({ kind: 'reply', id, ok: false, error: err instanceof Error ? err.message : String(err) }),
    );
  });
}

main();
