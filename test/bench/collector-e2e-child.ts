// The measured process of collector-e2e.bench.ts: one of the two OPC UA clients whose CPU the bench
// compares, alone in its own process so that process.cpuUsage() holds its work and nothing else.
//
//   baseline  a tuned bare node-opcua client: one session and one subscription per plant, monitored
//             items created in bulk, a 'changed' handler that only counts.
//   subject   the collector's real path: one NodeOpcUaSource per plant (pinned trust, the same
//             subscription settings) feeding CollectorPipeline.onSample, and pipeline.tick() every
//             second as the runtime does; the encoded messages are counted and dropped (no IPC).
//
// Both use SignAndEncrypt / Basic256Sha256 with a username, so the crypto per Publish is the same.
// The parent drives it over the IPC channel (ToChild / FromChild below): start, marks (a CPU and
// notification snapshot each), stop. It exits when the parent goes away.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';
import { OPCUACertificateManager } from 'node-opcua-certificate-manager';
import {
  AttributeIds,
  DataTypeExtractStrategy,
  MessageSecurityMode,
  OPCUAClient,
  SecurityPolicy,
  TimestampsToReturn,
  UserTokenType,
  type ClientSession,
} from 'node-opcua-client';
import { parseCollectorConfig } from '../../components/opcua-collector/src/config';
import { collectorApplicationUri } from '../../components/opcua-collector/src/opcua/certificates';
import { NodeOpcUaSource } from '../../components/opcua-collector/src/opcua';
import { CollectorPipeline } from '../../components/opcua-collector/src/pipeline';
import type { Logger } from '../../components/opcua-collector/src/ports';

export type Role = 'baseline' | 'subject';

export interface PlantTarget {
  endpointUrl: string;
  /** SHA-1 of the plant's certificate: the subject pins it. */
  thumbprint: string;
  /** The same certificate, DER in base64: the baseline puts it in its trusted folder. */
  certificateDerBase64: string;
  nodeIds: string[];
}

export type ToChild =
  | { kind: 'start'; role: Role; plants: PlantTarget[]; workDir: string; username: string; password: string }
  | { kind: 'mark'; id: number }
  | { kind: 'stop' };

/** A snapshot; the parent takes the difference of two. */
export interface Mark {
  kind: 'mark';
  id: number;
  atMs: number;
  /** process.cpuUsage(), user + system, µs: every thread of this process (GC, libuv pool included). */
  cpuUs: number;
  /** The main thread's CPU alone, µs (Linux /proc, 10 ms resolution); NaN elsewhere. */
  mainCpuUs: number;
  notifications: number;
  /** Full (mark-compact) collections so far, and the main thread's time in every collection, ms. */
  gcMajor: number;
  gcMs: number;
  /** Role-specific counters (cumulative). */
  extra: Record<string, number>;
}

export type FromChild = { kind: 'ready'; connectMs: number } | Mark | { kind: 'stopped' } | { kind: 'failed'; error: string } | { kind: 'log'; line: string };

/** The subscription settings of both clients: the collector's defaults for this bench's config. */
const SAMPLING_MS = 100;
const PUBLISHING_MS = 500;
const QUEUE_SIZE = 20;
const MAX_NOTIFICATIONS_PER_PUBLISH = 1_000;
/** What subscriptionTiming(500, 10_000) gives the collector: keep-alive 6 x 500 ms, lifetime 60. */
const KEEPALIVE_COUNT = 6;
const LIFETIME_COUNT = 60;
/** The collector creates items in requests of at most this many (DEFAULT_ITEMS_PER_CALL). */
const ITEMS_PER_CALL = 1_000;
const APPLICATION_NAME = 'conduit-bench-baseline';
/** Every plant must have delivered data by then, ms. */
const READY_TIMEOUT_MS = 60_000;
const CLOSE_STEP_TIMEOUT_MS = 3_000;
const TICK_MS = 1_000;
/** USER_HZ (100 on Linux): the unit of /proc's utime and stime, in µs. */
const CLOCK_TICK_US = 10_000;

interface Running {
  /** True once every plant has delivered a notification. */
  ready(): boolean;
  notifications(): number;
  extra(): Record<string, number>;
  stop(): Promise<void>;
}

const send = (m: FromChild): void => void process.send?.(m);
const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

function bounded<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  return Promise.race([p.catch(() => undefined), timeout]).finally(() => clearTimeout(timer));
}

async function startBaseline(o: Extract<ToChild, { kind: 'start' }>): Promise<Running> {
  const perPlant = new Array<number>(o.plants.length).fill(0);
  const open: { client: OPCUAClient; session?: ClientSession; certificates: OPCUACertificateManager }[] = [];
  const stop = async (): Promise<void> => {
    for (const c of open) {
      if (c.session) await bounded(c.session.close(true), CLOSE_STEP_TIMEOUT_MS);
      await bounded(c.client.disconnect(), CLOSE_STEP_TIMEOUT_MS);
      await bounded(c.certificates.dispose(), CLOSE_STEP_TIMEOUT_MS);
    }
  };
  try {
    // One plant after the other: the certificate managers share one PKI folder, and connect time is not measured.
    for (const [i, plant] of o.plants.entries()) {
      // Trusted as an OT admin does it, the server certificate copied into trusted/certs; the client
      // initializes the manager itself on connect, and the store's verdict decides.
      writeFileSync(join(o.workDir, 'pki', 'trusted', 'certs', `plant-${plant.thumbprint}.der`), Buffer.from(plant.certificateDerBase64, 'base64'));
      const certificates = new OPCUACertificateManager({ rootFolder: join(o.workDir, 'pki'), automaticallyAcceptUnknownCertificate: false, disableFileWatchers: true });
      const client = OPCUAClient.create({
        applicationName: APPLICATION_NAME,
        applicationUri: collectorApplicationUri(),
        clientCertificateManager: certificates,
        securityMode: MessageSecurityMode.SignAndEncrypt,
        securityPolicy: SecurityPolicy.Basic256Sha256,
        endpointMustExist: false,
        connectionStrategy: { maxRetry: 0, initialDelay: 1_000, maxDelay: 2_000 },
        requestedSessionTimeout: 60_000,
        keepSessionAlive: false,
        dataTypeExtractStrategy: DataTypeExtractStrategy.Lazy,
      });
      const c: (typeof open)[number] = { client, certificates };
      open.push(c);
      await client.connect(plant.endpointUrl);
      c.session = await client.createSession({ type: UserTokenType.UserName, userName: o.username, password: o.password });
      const subscription = await c.session.createSubscription2({
        requestedPublishingInterval: PUBLISHING_MS,
        requestedMaxKeepAliveCount: KEEPALIVE_COUNT,
        requestedLifetimeCount: LIFETIME_COUNT,
        maxNotificationsPerPublish: MAX_NOTIFICATIONS_PER_PUBLISH,
        publishingEnabled: true,
        priority: 1,
      });
      for (let start = 0; start < plant.nodeIds.length; start += ITEMS_PER_CALL) {
        const group = await subscription.monitorItems(
          plant.nodeIds.slice(start, start + ITEMS_PER_CALL).map((nodeId) => ({ nodeId, attributeId: AttributeIds.Value })),
          { samplingInterval: SAMPLING_MS, queueSize: QUEUE_SIZE, discardOldest: true },
          // CONDUIT_BENCH_BASELINE_TIMESTAMPS=Both: what asking for the server timestamp too costs (the collector asks for Both).
          process.env.CONDUIT_BENCH_BASELINE_TIMESTAMPS === 'Both' ? TimestampsToReturn.Both : TimestampsToReturn.Source,
        );
        group.on('changed', () => {
          perPlant[i]!++;
        });
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    ready: () => perPlant.every((n) => n > 0),
    notifications: () => perPlant.reduce((a, b) => a + b, 0),
    extra: () => ({}),
    stop,
  };
}

/** Warnings and errors of the sources go to the parent (a reconnect during a window matters); the rest is dropped. */
const logger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (fields, msg) => send({ kind: 'log', line: `warn ${msg} ${JSON.stringify(fields)}` }),
  error: (fields, msg) => send({ kind: 'log', line: `error ${msg} ${JSON.stringify(fields)}` }),
};

async function startSubject(o: Extract<ToChild, { kind: 'start' }>): Promise<Running> {
  const credentials = { get: async () => ({ username: o.username, password: o.password }) };
  // One collector per plant, as deployed: a collector configuration names one server.
  const collectors = o.plants.map((plant, i) => {
    const config = parseCollectorConfig({
      endpointUrl: plant.endpointUrl,
      serverTrust: { thumbprints: [plant.thumbprint] },
      credentialsSecretId: 'conduit/bench',
      site: 'bench',
      area: `plant-${i + 1}`,
      mappingVersion: 'bench-1',
      sampling: { intervalMs: SAMPLING_MS, publishingIntervalMs: PUBLISHING_MS, queueSize: QUEUE_SIZE, maxNotificationsPerPublish: MAX_NOTIFICATIONS_PER_PUBLISH },
      tags: plant.nodeIds.map((nodeId, t) => ({ name: `p${i + 1}.vib${t + 1}`, nodeId, mode: 'rms' })),
    });
    const pipeline = new CollectorPipeline(config, { thingName: 'bench-gateway', runId: 'bench' });
    const source = new NodeOpcUaSource({ config, credentials, sink: pipeline.onSample, logger, workDir: o.workDir });
    return { pipeline, source };
  });
  let messages = 0;
  let bytes = 0;
  // The runtime's 1 s tick, minus the outbox and IPC: what the pipeline closed is encoded, then dropped.
  const timer = setInterval(() => {
    const nowMs = Date.now();
    for (const c of collectors) {
      for (const m of c.pipeline.tick(nowMs, false, c.source.aliveAsOfMs)) {
        messages++;
        bytes += m.payload.length;
      }
    }
  }, TICK_MS);
  const stop = async (): Promise<void> => {
    clearInterval(timer);
    await Promise.all(collectors.map((c) => c.source.stop()));
  };
  try {
    for (const c of collectors) await c.source.start();
  } catch (err) {
    await stop();
    throw err;
  }
  const sum = (f: (c: (typeof collectors)[number]) => number): number => collectors.reduce((a, c) => a + f(c), 0);
  return {
    ready: () => collectors.every((c) => c.source.state === 'connected' && c.source.counters().notifications > 0),
    notifications: () => sum((c) => c.source.counters().notifications),
    extra: () => {
      const s = collectors.map((c) => c.source.counters());
      const p = collectors.map((c) => c.pipeline.counters());
      return {
        messages,
        bytes,
        points: p.reduce((a, x) => a + x.points, 0),
        samplingGaps: p.reduce((a, x) => a + x.samplingGaps, 0),
        overflowLost: s.reduce((a, x) => a + x.overflowLost, 0),
        reconnects: s.reduce((a, x) => a + x.reconnects, 0),
      };
    },
    stop,
  };
}

/** utime + stime of this process's main thread (its tid is the pid), µs. */
function mainThreadCpuUs(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * CLOCK_TICK_US;
  } catch {
    return NaN;
  }
}

async function waitReady(r: Running): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!r.ready()) {
    if (Date.now() > deadline) throw new Error(`not every plant delivered data within ${READY_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

let running: Running | undefined;
// GC is most of the difference between two runs of the same client: counted so the output shows it.
const gc = { major: 0, ms: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gc.ms += e.duration;
    if ((e as unknown as { detail?: { kind?: number } }).detail?.kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) gc.major++;
  }
}).observe({ entryTypes: ['gc'] });

process.on('disconnect', () => process.exit(0));
process.on('message', (raw) => {
  const m = raw as ToChild;
  if (m.kind === 'start') {
    const t0 = Date.now();
    void (async () => {
      try {
        running = m.role === 'baseline' ? await startBaseline(m) : await startSubject(m);
        await waitReady(running);
        send({ kind: 'ready', connectMs: Date.now() - t0 });
      } catch (err) {
        send({ kind: 'failed', error: messageOf(err) });
      }
    })();
  } else if (m.kind === 'mark') {
    const cpu = process.cpuUsage();
    const r = running;
    send({ kind: 'mark', id: m.id, atMs: Date.now(), cpuUs: cpu.user + cpu.system, mainCpuUs: mainThreadCpuUs(), notifications: r?.notifications() ?? 0, gcMajor: gc.major, gcMs: gc.ms, extra: r?.extra() ?? {} });
  } else if (m.kind === 'stop') {
    void (async () => {
      await running?.stop().catch(() => undefined);
      send({ kind: 'stopped' });
      // Leave once the reply has gone; the parent kills us by pid if this hangs.
      setTimeout(() => process.exit(0), 100);
    })();
  }
});
