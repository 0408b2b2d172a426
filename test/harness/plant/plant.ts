// The controller of the simulated plant: starts plant-process.ts as a child process, talks to it over
// the Node IPC channel, and keeps what must survive a restart (port, PKI folder, seed, amplitude
// steps, current passwords), so that a restarted plant is the same plant to a client: same endpoint,
// same certificate, and values that continue the same signals.
//
//   const plant = await SimulatedPlant.start({ pkiDir, users: [{ username: 'op', password: 'pw' }] });
//   ... connect to plant.endpointUrl, trusting plant.certificatePem ...
//   const fromTick = await plant.stepAmplitude('Line1.Vib01', 8);
//   await plant.close();

import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type {
  FromPlant,
  PlantCommand,
  PlantConfig,
  PlantOperationLimits,
  PlantReady,
  PlantSecurityPolicy,
  PlantUser,
  RequestCounts,
} from './protocol';
import {
  type AmplitudeStep,
  DEFAULT_SIGNAL_PARAMS,
  DEFAULT_TAG_COUNTS,
  type SignalParams,
  type TagCounts,
  type TagSpec,
  type TagValue,
  plantTags,
  valueAt,
} from './signals';

export type { PlantOperationLimits, PlantSecurityPolicy, PlantUser, RequestCounts } from './protocol';

const REPO_ROOT = resolve(__dirname, '..', '..', '..');
const PLANT_PROCESS = join(__dirname, 'plant-process.ts');

/** Certificate and key creation on a cold PKI folder plus nodeset loading can take several seconds. */
const DEFAULT_START_TIMEOUT_MS = 60_000;
const COMMAND_TIMEOUT_MS = 10_000;
/** How long a graceful stop may take before close() falls back to SIGKILL. */
const STOP_TIMEOUT_MS = 5_000;
/** Lines of the plant's stdout/stderr kept for error messages. */
const OUTPUT_LINES_KEPT = 40;

export const DEFAULT_PLANT_USERS: readonly PlantUser[] = [{ username: 'operator', password: 'operator-password' }];

export interface PlantOptions {
  /** PKI folder for the server's certificate; reuse one per test file, creation is slow. Default: a new temp dir, removed by close(). */
  pkiDir?: string;
  /** 0 (default) picks a free port on the first start; restarts keep the port. */
  port?: number;
  /** Seeds the deterministic noise. Default 1. */
  seed?: number;
  tags?: Partial<TagCounts>;
  signals?: Partial<SignalParams>;
  /** Username/password users; anonymous sessions are always refused. Default DEFAULT_PLANT_USERS. */
  users?: readonly PlantUser[];
  /** Also offer SecurityMode None / SecurityPolicy None. Default false. */
  allowInsecure?: boolean;
  /** Policies offered with SignAndEncrypt. Default all three. */
  securityPolicies?: readonly PlantSecurityPolicy[];
  /** 'all' (default): unknown client certificates are trusted, as if an OT admin had done it. 'explicit': only after trustClientCertificate(). */
  trustClientCertificates?: 'all' | 'explicit';
  /** With 'explicit': 'status' (default, node-opcua's BadSecurityChecksFailed) or 'close-socket' (open62541's way). */
  untrustedClient?: 'status' | 'close-socket';
  /** Tags whose notifications carry no source timestamp / no timestamp at all (full names, `Line1.Vib01`). */
  timestamps?: { withoutSource?: readonly string[]; withoutAny?: readonly string[] };
  operationLimits?: PlantOperationLimits;
  /** Server-side cap on notifications per Publish; default node-opcua's 1000. */
  maxNotificationsPerPublish?: number;
  startTimeoutMs?: number;
  /** Receives the plant process's stdout and stderr, line by line. */
  log?: (line: string) => void;
}

export class PlantError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PlantError';
  }
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/** One running plant process and the channel to it. */
class PlantChild {
  readonly exited: Promise<void>;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private alive = true;
  private readonly output: string[] = [];

  private constructor(
    private readonly proc: ChildProcess,
    log: ((line: string) => void) | undefined,
  ) {
    this.exited = new Promise((done) => {
      proc.once('exit', (code, signal) => {
        this.alive = false;
        const why = new PlantError(`the plant process exited (code ${code}, signal ${signal})${this.tail()}`);
        for (const p of this.pending.values()) {
          clearTimeout(p.timer);
          p.reject(why);
        }
        this.pending.clear();
        done();
      });
    });
    const keep = (chunk: Buffer): void => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.length === 0) continue;
        this.output.push(line);
        if (this.output.length > OUTPUT_LINES_KEPT) this.output.shift();
        log?.(line);
      }
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    proc.on('message', (raw) => {
      const m = raw as FromPlant;
      if (m.kind !== 'reply') return;
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      clearTimeout(p.timer);
      if (m.ok) p.resolve(m.result);
      else p.reject(new PlantError(m.error));
    });
  }

  static async spawn(config: PlantConfig, timeoutMs: number, log?: (line: string) => void): Promise<{ child: PlantChild; ready: PlantReady }> {
    const proc = spawn(process.execPath, ['--import', 'tsx', PLANT_PROCESS], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const child = new PlantChild(proc, log);
    try {
      const ready = await new Promise<PlantReady>((resolveReady, reject) => {
        const timer = setTimeout(() => reject(new PlantError(`the plant did not start within ${timeoutMs} ms${child.tail()}`)), timeoutMs);
        proc.on('message', (raw) => {
          const m = raw as FromPlant;
          if (m.kind === 'ready') {
            clearTimeout(timer);
            resolveReady(m);
          } else if (m.kind === 'failed') {
            clearTimeout(timer);
            reject(new PlantError(`the plant failed to start: ${m.error}`));
          }
        });
        void child.exited.then(() => {
          clearTimeout(timer);
          reject(new PlantError(`the plant process exited while starting${child.tail()}`));
        });
        proc.send({ kind: 'start', config });
      });
      return { child, ready };
    } catch (err) {
      await child.kill();
      throw err;
    }
  }

  get running(): boolean {
    return this.alive;
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  command<T>(command: PlantCommand, timeoutMs = COMMAND_TIMEOUT_MS): Promise<T> {
    if (!this.alive) return Promise.reject(new PlantError(`the plant is not running (${command.op})`));
    const id = this.nextId++;
    return new Promise<T>((resolveCommand, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new PlantError(`the plant did not answer ${command.op} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolveCommand as (v: unknown) => void, reject, timer });
      this.proc.send({ kind: 'command', id, command });
    });
  }

  /** SIGKILL by pid; resolves once the process is gone. */
  async kill(): Promise<void> {
    if (this.alive && this.proc.pid !== undefined) {
      try {
        process.kill(this.proc.pid, 'SIGKILL');
      } catch {
        // already gone: 'exit' is on its way
      }
    }
    await this.exited;
  }

  tail(): string {
    return this.output.length === 0 ? '' : `\n--- plant output ---\n${this.output.join('\n')}`;
  }
}

export class SimulatedPlant {
  readonly tags: readonly TagSpec[];
  readonly seed: number;
  readonly signals: SignalParams;
  readonly pkiDir: string;
  readonly certificatePem: string;
  /** DER bytes of the server's application certificate. */
  readonly certificateDer: Buffer;
  /** SHA-1 of the DER certificate, lowercase hex: the thumbprint OPC UA uses. */
  readonly certificateThumbprint: string;
  private readonly config: PlantConfig;
  /** By name and by NodeId: expectedValue() runs once per notification, for 10,000 tags. */
  private readonly tagIndex = new Map<string, TagSpec>();
  private readonly ownsPkiDir: boolean;
  private readonly startTimeoutMs: number;
  private readonly log: ((line: string) => void) | undefined;
  private child: PlantChild;
  private ready: PlantReady;

  private constructor(init: {
    config: PlantConfig;
    ownsPkiDir: boolean;
    startTimeoutMs: number;
    log: ((line: string) => void) | undefined;
    child: PlantChild;
    ready: PlantReady;
  }) {
    this.config = init.config;
    this.ownsPkiDir = init.ownsPkiDir;
    this.startTimeoutMs = init.startTimeoutMs;
    this.log = init.log;
    this.child = init.child;
    this.ready = init.ready;
    this.config.port = init.ready.port;
    this.seed = init.config.seed;
    this.signals = init.config.signals;
    this.pkiDir = init.config.pkiDir;
    this.tags = plantTags(init.config.tags);
    for (const t of this.tags) {
      this.tagIndex.set(t.name, t);
      this.tagIndex.set(t.nodeId, t);
    }
    this.certificatePem = init.ready.certificatePem;
    this.certificateDer = Buffer.from(new X509Certificate(init.ready.certificatePem).raw);
    this.certificateThumbprint = createHash('sha1').update(this.certificateDer).digest('hex');
  }

  /** Starts the plant process; resolves when the server is listening. */
  static async start(opts: PlantOptions = {}): Promise<SimulatedPlant> {
    const ownsPkiDir = opts.pkiDir === undefined;
    const pkiDir = opts.pkiDir ?? mkdtempSync(join(tmpdir(), 'conduit-plant-pki-'));
    const config: PlantConfig = {
      port: opts.port ?? 0,
      pkiDir,
      seed: opts.seed ?? 1,
      tags: { ...DEFAULT_TAG_COUNTS, ...opts.tags },
      signals: { ...DEFAULT_SIGNAL_PARAMS, ...opts.signals },
      steps: [],
      users: (opts.users ?? DEFAULT_PLANT_USERS).map((u) => ({ ...u })),
      allowInsecure: opts.allowInsecure ?? false,
      securityPolicies: [...(opts.securityPolicies ?? ['Basic256Sha256', 'Aes128_Sha256_RsaOaep', 'Aes256_Sha256_RsaPss'])],
      trustClientCertificates: opts.trustClientCertificates ?? 'all',
      untrustedClient: opts.untrustedClient ?? 'status',
      timestamps: { withoutSource: [...(opts.timestamps?.withoutSource ?? [])], withoutAny: [...(opts.timestamps?.withoutAny ?? [])] },
      operationLimits: { ...opts.operationLimits },
      maxNotificationsPerPublish: opts.maxNotificationsPerPublish,
    };
    plantTags(config.tags); // throws on a bad count before a process is spent on it
    const startTimeoutMs = opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
    try {
      const { child, ready } = await PlantChild.spawn(config, startTimeoutMs, opts.log);
      return new SimulatedPlant({ config, ownsPkiDir, startTimeoutMs, log: opts.log, child, ready });
    } catch (err) {
      if (ownsPkiDir) rmSync(pkiDir, { recursive: true, force: true });
      throw err;
    }
  }

  /** `opc.tcp://127.0.0.1:<port>/UA/Plant` */
  get endpointUrl(): string {
    return this.ready.endpointUrl;
  }

  get port(): number {
    return this.config.port;
  }

  /** The current plant process's pid (a restart changes it). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.running;
  }

  /** Every amplitude step applied so far, in order; pass to signals.valueAt. */
  get steps(): readonly AmplitudeStep[] {
    return this.config.steps;
  }

  /** A tag by name (`Line1.Vib01`) or NodeId (`ns=1;s=Line1.Vib01`). */
  tag(name: string): TagSpec {
    const tag = this.tagIndex.get(name);
    if (!tag) throw new PlantError(`the plant has no tag ${name}`);
    return tag;
  }

  /** The value the plant serves for a tag at a tick (= sourceTimestamp ms / 100). */
  expectedValue(tagName: string, tick: number): TagValue {
    return valueAt(this.seed, this.tag(tagName), tick, this.config.steps, this.signals);
  }

  requestCounts(): Promise<RequestCounts> {
    return this.child.command<RequestCounts>({ op: 'requestCounts' });
  }

  /** Sets a vibration tag's amplitude from the next tick on; resolves to that tick (fromTick). */
  async stepAmplitude(tagName: string, amplitude: number): Promise<number> {
    const step = await this.child.command<AmplitudeStep>({ op: 'stepAmplitude', tag: this.tag(tagName).name, amplitude });
    this.config.steps.push(step);
    return step.fromTick;
  }

  /** Changes (or adds) a user's password; sessions already open stay open, as on a real server. */
  async setPassword(username: string, password: string): Promise<void> {
    await this.child.command({ op: 'setPassword', username, password });
    const user = this.config.users.find((u) => u.username === username);
    if (user) user.password = password;
    else this.config.users.push({ username, password });
  }

  /** The OT admin's step: trust a client's application certificate (PEM text or DER bytes). */
  async trustClientCertificate(certificate: string | Buffer): Promise<void> {
    const der = typeof certificate === 'string' ? Buffer.from(new X509Certificate(certificate).raw) : certificate;
    await this.child.command({ op: 'trustClientCertificate', derBase64: der.toString('base64') });
  }

  /** Freezes every value at the current tick (sessions stay up); resolves to the frozen tick. */
  async pause(): Promise<number> {
    const r = await this.child.command<{ frozenTick: number }>({ op: 'pause' });
    return r.frozenTick;
  }

  async resume(): Promise<void> {
    await this.child.command({ op: 'resume' });
  }

  /** Graceful shutdown: clients see the server go, the process exits. */
  async stop(): Promise<void> {
    if (!this.child.running) return;
    try {
      await this.child.command({ op: 'stop' }, STOP_TIMEOUT_MS);
    } catch (err) {
      if (this.child.running) throw err;
    }
    await this.child.exited;
  }

  /** SIGKILL: a crashed plant, no goodbye to clients. */
  async kill(): Promise<void> {
    await this.child.kill();
  }

  /** Stops the plant if running, then starts it again on the same port with the same certificate. */
  async restart(): Promise<void> {
    await this.stop();
    const { child, ready } = await PlantChild.spawn(this.config, this.startTimeoutMs, this.log);
    this.child = child;
    this.ready = ready;
    // Clients pinned the first certificate; a plant that came back with another is a different plant.
    if (ready.certificatePem !== this.certificatePem) {
      await child.kill();
      throw new PlantError('the restarted plant has a different certificate (was its PKI folder removed?)');
    }
  }

  /** Stops the plant, by SIGKILL if it does not stop in time; never leaves the process behind. */
  async close(): Promise<void> {
    try {
      await this.stop();
    } catch {
      // fall through to the kill
    } finally {
      await this.child.kill();
      if (this.ownsPkiDir) rmSync(this.pkiDir, { recursive: true, force: true });
    }
  }
}
