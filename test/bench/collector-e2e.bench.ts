// End-to-end CPU benchmark of the collector's OPC UA path. The requirement: the whole collector uses
// at most 1.25x the CPU of a tuned bare node-opcua subscription receiving the same notifications.
//
// K simulated plants (real node-opcua servers, one process each) serve N vibration tags in total at
// 100 ms. Two clients run in turn, each alone in a child process (collector-e2e-child.ts) so that its
// process.cpuUsage() is its own: the baseline (bare node-opcua, counting notifications) and the
// subject (NodeOpcUaSource -> CollectorPipeline, ticked every second, messages encoded and dropped).
// Each run connects, warms up, then measures CPU and notifications between two marks. Runs alternate
// baseline / subject and never overlap: on a 2-core machine the plants already take most of a core.
// Prints CPU µs per notification for each, the ratio subject / baseline against the 1.25 budget and
// the notifications/s achieved. It asserts nothing: the numbers depend on the machine.
//
// Run:  node --expose-gc --import tsx test/bench/run.ts collector-e2e    (about 4 min with defaults)
// Env:  CONDUIT_BENCH_TAGS (1000), CONDUIT_BENCH_PLANTS (2), CONDUIT_BENCH_WARMUP_S (10),
//       CONDUIT_BENCH_MEASURE_S (30), CONDUIT_BENCH_ROUNDS (2), CONDUIT_BENCH_NODE_FLAGS (see
//       DEFAULT_CHILD_NODE_FLAGS). One plant process saturates at about
//       7,000-9,500 notifications/s, so 10,000 tags (100,000/s) need 12 or more plants, and more
//       cores than a 2-core CI machine has: there the plants, not the client, set the rate.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ensureClientCertificate } from '../../components/opcua-collector/src/opcua/certificates';
import { SimulatedPlant } from '../harness/plant/plant';
import type { FromChild, Mark, PlantTarget, Role, ToChild } from './collector-e2e-child';

/**
 * Both measured processes get a young generation fixed at its usual maximum. Without it V8 sizes it
 * from the start-up's history, and in about half the runs (either client) it stays small: the
 * DataValues of each 1,000-notification Publish response then outlive two scavenges, are promoted,
 * and V8 runs a full GC every 2-3 s, which adds 50-100 % to the CPU per notification and swamps the
 * 25 % being measured. At a few thousand notifications/s full GCs still come now and then; the
 * "code" column is immune to them. CONDUIT_BENCH_NODE_FLAGS='' measures node's defaults (as the
 * recipe runs the collector).
 */
const DEFAULT_CHILD_NODE_FLAGS = '--min-semi-space-size=16';
/** The requirement this bench measures. */
const CPU_BUDGET_RATIO = 1.25;
const SAMPLES_PER_TAG_PER_S = 10;
/** Below this share of tags x 10/s the plants (or the machine) did not keep up: said so in the output. */
const SATURATION_SHARE = 0.9;
/** Full GCs per 30 s from which a run counts as one where V8 keeps collecting the old space. */
const FULL_GC_CHURN_PER_30S = 3;
/** Cores used by other processes during a window above which the run is reported as disturbed. */
const NOISY_OTHERS_CORES = 0.2;
/** A plant process above this share of one core is taken as saturated, %. */
const PLANT_SATURATED_PCT = 85;
const REPO_ROOT = resolve(__dirname, '..', '..');
const CHILD = join(__dirname, 'collector-e2e-child.ts');
const USERNAME = 'bench';
/** Connect, session, subscription and first data of every plant, ms. */
const READY_TIMEOUT_MS = 90_000;
const REPLY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 15_000;
/** After a client leaves, its sessions must be gone from the plants before the next run, ms. */
const SESSIONS_GONE_TIMEOUT_MS = 20_000;
/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat on Linux. */
const CLOCK_TICKS_PER_S = 100;

interface Settings {
  /** V8/node flags of both measured processes. */
  nodeFlags: string[];
  tags: number;
  plants: number;
  warmupS: number;
  measureS: number;
  rounds: number;
}

function envInt(name: string, dflt: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new RangeError(`${name} must be a whole number of at least ${min}, got "${raw}"`);
  return n;
}

function settings(): Settings {
  const flags = process.env.CONDUIT_BENCH_NODE_FLAGS ?? DEFAULT_CHILD_NODE_FLAGS;
  const s = {
    nodeFlags: flags.split(/\s+/).filter((f) => f.length > 0),
    tags: envInt('CONDUIT_BENCH_TAGS', 1_000, 1),
    plants: envInt('CONDUIT_BENCH_PLANTS', 2, 1),
    warmupS: envInt('CONDUIT_BENCH_WARMUP_S', 10, 0),
    measureS: envInt('CONDUIT_BENCH_MEASURE_S', 30, 1),
    rounds: envInt('CONDUIT_BENCH_ROUNDS', 2, 1),
  };
  if (s.tags < s.plants) throw new RangeError(`CONDUIT_BENCH_TAGS (${s.tags}) must be at least CONDUIT_BENCH_PLANTS (${s.plants})`);
  return s;
}

/** utime + stime of a process in seconds, from /proc; undefined where there is no /proc. */
function processCpuS(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    // The command name in parentheses may hold spaces: split after its closing parenthesis.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS_PER_S;
  } catch {
    return undefined;
  }
}

/**
 * CPU time the whole machine spent busy, in seconds, from /proc/stat (user, nice, system, irq,
 * softirq; not idle, iowait or steal); undefined where there is no /proc. What is left of it after
 * our own processes is the load of others: the test suite or a build sharing the machine.
 */
function machineBusyS(): number | undefined {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    return (f[0]! + f[1]! + f[2]! + f[5]! + f[6]!) / CLOCK_TICKS_PER_S;
  } catch {
    return undefined;
  }
}

/** Every process this bench started, killed by pid if it ends abnormally (exit, Ctrl-C, an error). */
class Processes {
  readonly plants: SimulatedPlant[] = [];
  readonly children = new Set<ChildProcess>();
  private readonly onExit = (): void => this.killAllNow();
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    this.killAllNow();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };

  install(): void {
    process.on('exit', this.onExit);
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
  }

  uninstall(): void {
    process.off('exit', this.onExit);
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
  }

  /** Synchronous, for the exit handler: SIGKILL to every child and plant still known. */
  killAllNow(): void {
    this.killChildrenNow();
    this.kill(this.plants.map((p) => p.pid));
  }

  killChildrenNow(): void {
    this.kill([...this.children].map((c) => c.pid));
  }

  private kill(pids: (number | undefined)[]): void {
    for (const pid of pids) {
      if (pid === undefined) continue;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

/** One measured client process and the channel to it; every wait is bounded. */
class ClientRun {
  private readonly output: string[] = [];
  private readonly exited: Promise<void>;
  private nextMark = 1;

  constructor(
    private readonly proc: ChildProcess,
    private readonly onLog: (line: string) => void,
  ) {
    this.exited = new Promise((done) => proc.once('exit', () => done()));
    const keep = (chunk: Buffer): void => {
      for (const line of chunk.toString('utf8').split('\n')) if (line) this.output.push(line);
      this.output.splice(0, Math.max(0, this.output.length - 30));
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    proc.on('message', (m: FromChild) => {
      if (m.kind === 'log') this.onLog(m.line);
    });
  }

  /** The next message that `pick` accepts; rejects on 'failed', on exit, or after `timeoutMs`. */
  wait<T>(what: string, pick: (m: FromChild) => T | undefined, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolveWait, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.proc.off('message', onMessage);
        this.proc.off('exit', onExit);
      };
      const onMessage = (m: FromChild): void => {
        if (m.kind === 'failed') {
          done();
          reject(new Error(`the client failed: ${m.error}${this.tail()}`));
          return;
        }
        const v = pick(m);
        if (v === undefined) return;
        done();
        resolveWait(v);
      };
      const onExit = (): void => {
        done();
        reject(new Error(`the client exited while waiting for ${what}${this.tail()}`));
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`the client did not send ${what} within ${timeoutMs} ms${this.tail()}`));
      }, timeoutMs);
      this.proc.on('message', onMessage);
      this.proc.once('exit', onExit);
    });
  }

  send(m: ToChild): void {
    this.proc.send(m);
  }

  async mark(): Promise<Mark> {
    const id = this.nextMark++;
    const reply = this.wait(`mark ${id}`, (m) => (m.kind === 'mark' && m.id === id ? m : undefined), REPLY_TIMEOUT_MS);
    this.send({ kind: 'mark', id });
    return reply;
  }

  /** Graceful stop (the client closes its sessions, so the plants stop sampling for it), then SIGKILL by pid. */
  async stop(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      const stopped = this.wait('stopped', (m) => (m.kind === 'stopped' ? true : undefined), STOP_TIMEOUT_MS).catch(() => false);
      this.send({ kind: 'stop' });
      await stopped;
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.exited, new Promise((r) => (timer = setTimeout(r, 2_000)))]);
    clearTimeout(timer);
    if (this.proc.exitCode === null && this.proc.signalCode === null && this.proc.pid !== undefined) {
      try {
        process.kill(this.proc.pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
      await this.exited;
    }
  }

  private tail(): string {
    return this.output.length ? `\n--- client output ---\n${this.output.join('\n')}` : '';
  }
}

interface RunResult {
  role: Role;
  round: number;
  connectMs: number;
  seconds: number;
  cpuUs: number;
  notifications: number;
  /** Each plant process's CPU over the window, % of one core; NaN where /proc is missing. */
  plantCpuPct: number[];
  /** Main thread CPU minus its GC pauses, µs: the JavaScript work itself, whatever V8's GC did; NaN without /proc. */
  codeUs: number;
  gcMajor: number;
  gcMs: number;
  /** Cores used by other processes on the machine during the window; NaN where /proc is missing. */
  othersCores: number;
  extra: Record<string, number>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function measureOne(role: Role, round: number, targets: PlantTarget[], workDir: string, password: string, s: Settings, procs: Processes): Promise<RunResult> {
  const proc = spawn(process.execPath, [...s.nodeFlags, '--import', 'tsx', CHILD], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  procs.children.add(proc);
  const run = new ClientRun(proc, (line) => console.log(`    [${role} #${round}] ${line}`));
  try {
    const ready = run.wait('ready', (m) => (m.kind === 'ready' ? m : undefined), READY_TIMEOUT_MS);
    run.send({ kind: 'start', role, plants: targets, workDir, username: USERNAME, password });
    const { connectMs } = await ready;
    await sleep(s.warmupS * 1_000);
    const plantsBefore = procs.plants.map((p) => processCpuS(p.pid));
    const busyBefore = machineBusyS();
    const selfBefore = process.cpuUsage();
    const a = await run.mark();
    await sleep(s.measureS * 1_000);
    const b = await run.mark();
    const plantsAfter = procs.plants.map((p) => processCpuS(p.pid));
    const busyAfter = machineBusyS();
    const self = process.cpuUsage(selfBefore);
    const seconds = (b.atMs - a.atMs) / 1_000;
    const plantCpuPct = plantsAfter.map((after, i) => {
      const before = plantsBefore[i];
      return after === undefined || before === undefined ? NaN : ((after - before) / seconds) * 100;
    });
    const extra: Record<string, number> = {};
    for (const k of Object.keys(b.extra)) extra[k] = b.extra[k]! - (a.extra[k] ?? 0);
    const cpuUs = b.cpuUs - a.cpuUs;
    const ours = cpuUs / 1e6 + (self.user + self.system) / 1e6 + plantCpuPct.reduce((x, p) => x + (p / 100) * seconds, 0);
    const othersCores = busyAfter === undefined || busyBefore === undefined ? NaN : Math.max(0, busyAfter - busyBefore - ours) / seconds;
    return { role, round, connectMs, seconds, cpuUs, notifications: b.notifications - a.notifications, plantCpuPct, othersCores, codeUs: b.mainCpuUs - a.mainCpuUs - (b.gcMs - a.gcMs) * 1_000, gcMajor: b.gcMajor - a.gcMajor, gcMs: b.gcMs - a.gcMs, extra };
  } finally {
    await run.stop();
    procs.children.delete(proc);
  }
}

/** Waits until no session of a finished client is left on any plant: its subscription would still load the plant. */
async function waitSessionsGone(plants: readonly SimulatedPlant[]): Promise<void> {
  const deadline = Date.now() + SESSIONS_GONE_TIMEOUT_MS;
  for (;;) {
    const counts = await Promise.all(plants.map((p) => p.requestCounts()));
    const open = counts.reduce((a, c) => a + c.currentSessions, 0);
    if (open === 0) return;
    if (Date.now() > deadline) {
      console.log(`    (still ${open} session(s) open on the plants after ${SESSIONS_GONE_TIMEOUT_MS} ms; going on)`);
      return;
    }
    await sleep(200);
  }
}

const usPer = (r: { cpuUs: number; notifications: number }): number => (r.notifications > 0 ? r.cpuUs / r.notifications : NaN);
const codePer = (r: RunResult): number => (r.notifications > 0 ? r.codeUs / r.notifications : NaN);
const int = (n: number): string => Math.round(n).toLocaleString('en');
const num = (n: number, digits: number, w: number): string => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a').padStart(w);

const HEADER = '  run          notif/s  of exp.  client  µs/notif  code µs  GC maj/ms  plants CPU    others  conn ms';

function printRun(r: RunResult, expectedPerS: number): void {
  const perS = r.notifications / r.seconds;
  const plants = r.plantCpuPct.map((p) => (Number.isNaN(p) ? 'n/a' : `${p.toFixed(0)}%`)).join(' ');
  const e = r.extra;
  const extra =
    r.role === 'subject'
      ? `  msgs ${int(e.messages ?? 0)} (${((e.bytes ?? 0) / r.seconds / 1024).toFixed(0)} KiB/s), windows ${int(e.points ?? 0)}, gaps ${int(e.samplingGaps ?? 0)}, overflow ${int(e.overflowLost ?? 0)}, reconnects ${e.reconnects ?? 0}`
      : '';
  console.log(
    `  ${`${r.role} #${r.round}`.padEnd(12)}${int(perS).padStart(8)}${`${((perS / expectedPerS) * 100).toFixed(1)}%`.padStart(8)}` +
      `${`${(r.cpuUs / r.seconds / 1e4).toFixed(1)}%`.padStart(8)}${num(usPer(r), 2, 10)}${num(codePer(r), 2, 9)}${`${r.gcMajor}/${r.gcMs.toFixed(0)}`.padStart(11)}` +
      `  ${plants.padEnd(14)}${num(r.othersCores, 2, 6)}${String(r.connectMs).padStart(9)}${extra}`,
  );
}

function summarize(results: RunResult[], s: Settings, expectedPerS: number): void {
  const of = (role: Role) => results.filter((r) => r.role === role);
  const sum = (rs: RunResult[], f: (r: RunResult) => number) => rs.reduce((a, r) => a + f(r), 0);
  const verdict = (x: number): string => `${x.toFixed(3)} (budget ${CPU_BUDGET_RATIO}: ${x <= CPU_BUDGET_RATIO ? 'within' : 'OVER'})`;
  const line = (label: string, rs: RunResult[]) =>
    console.log(
      `  ${label.padEnd(30)}${(sum(rs, (r) => r.cpuUs) / sum(rs, (r) => r.notifications)).toFixed(2)} µs CPU per notification (runs ${rs.map((r) => usPer(r).toFixed(2)).join(', ')}); ` +
        `code ${(sum(rs, (r) => r.codeUs) / sum(rs, (r) => r.notifications)).toFixed(2)} µs`,
    );
  const base = of('baseline');
  const subj = of('subject');
  console.log('');
  line('baseline (bare node-opcua)', base);
  line('subject (source + pipeline)', subj);
  const all = sum(subj, (r) => r.cpuUs) / sum(subj, (r) => r.notifications) / (sum(base, (r) => r.cpuUs) / sum(base, (r) => r.notifications));
  const perRound = Array.from({ length: s.rounds }, (_, i) => {
    const b = base.find((r) => r.round === i + 1);
    const j = subj.find((r) => r.round === i + 1);
    return b && j ? (usPer(j) / usPer(b)).toFixed(3) : 'n/a';
  });
  console.log(`  subject/baseline, all runs ${verdict(all)}; per round ${perRound.join(', ')}`);
  // Contention and V8's full GCs only ever add CPU time: the best run of each is the least disturbed.
  if (s.rounds > 1) console.log(`  subject/baseline, best run of each ${verdict(Math.min(...subj.map(usPer)) / Math.min(...base.map(usPer)))}`);
  const code = sum(subj, (r) => r.codeUs) / sum(subj, (r) => r.notifications) / (sum(base, (r) => r.codeUs) / sum(base, (r) => r.notifications));
  if (Number.isFinite(code)) console.log(`  subject/baseline, code only (main thread minus GC pauses) ${code.toFixed(3)}`);
  const gcStates = new Set(results.map((r) => r.gcMajor * (30 / r.seconds) >= FULL_GC_CHURN_PER_30S));
  if (gcStates.size > 1) {
    console.log(
      `  NOTE: V8 ran full GCs every few seconds in some runs and not in others (column "GC maj/ms"). Either client can ` +
        `fall into either state, and it moves a run's CPU more than the client's code does: compare runs in the same state, ` +
        `or the "code" column, or run more rounds${s.nodeFlags.length === 0 ? ', or keep the default CONDUIT_BENCH_NODE_FLAGS' : ''}.`,
    );
  }
  const noisy = results.filter((r) => r.othersCores > NOISY_OTHERS_CORES);
  if (noisy.length > 0) {
    console.log(
      `  NOTE: other processes used more than ${NOISY_OTHERS_CORES} of a core during ${noisy.map((r) => `${r.role} #${r.round}`).join(', ')} ` +
        `(column "others"): those CPU numbers are inflated by contention; re-run on a quiet machine, or with more rounds.`,
    );
  }
  const worst = results.reduce((w, r) => (r.notifications / r.seconds < w.notifications / w.seconds ? r : w));
  const share = worst.notifications / worst.seconds / expectedPerS;
  if (share < SATURATION_SHARE) {
    const busiest = Math.max(...worst.plantCpuPct.filter((p) => !Number.isNaN(p)));
    // A plant pinned at a core is saturated. Below that its 100 ms sampling timer fired late, for lack
    // of CPU (others busy) or by its own drift, and a late timer skips ticks.
    const why =
      busiest >= PLANT_SATURATED_PCT
        ? `the plant processes were saturated (${busiest.toFixed(0)}% of a core; one serves about 7,000-9,500 notifications/s)`
        : worst.othersCores > NOISY_OTHERS_CORES
          ? `the plants were not CPU-bound (at most ${busiest.toFixed(0)}% of a core) but starved by other processes (${worst.othersCores.toFixed(2)} cores), so their 100 ms sampling timers ran late`
          : Number.isFinite(busiest)
            ? `the plants were not CPU-bound (at most ${busiest.toFixed(0)}% of a core) and others were idle: the plant's 100 ms sampling timers drift and skip ticks (test/harness/plant/README.md)`
            : 'the plants or this machine did not keep up';
    console.log(
      `  NOTE: ${worst.role} #${worst.round} got only ${(share * 100).toFixed(0)}% of the ${int(expectedPerS)} notifications/s that ${int(s.tags)} tags at 100 ms give: ${why}. ` +
        `The per-notification CPU is still comparable, but Publish responses were smaller than at full rate. ` +
        `More plants (CONDUIT_BENCH_PLANTS) need more cores; or use fewer tags, or a quieter machine.`,
    );
  }
}

export async function main(): Promise<void> {
  const s = settings();
  const expectedPerS = s.tags * SAMPLES_PER_TAG_PER_S;
  console.log(`\ncollector-e2e bench, node ${process.version}, ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(
    `  ${s.plants} plant process(es), ${int(s.tags)} vibration tags at 100 ms (${int(expectedPerS)} notifications/s expected), SignAndEncrypt Basic256Sha256 + username, ` +
      `publishing 500 ms; warm-up ${s.warmupS} s, measured ${s.measureS} s, ${s.rounds} round(s) baseline/subject`,
  );
  console.log(`  node flags of both clients: ${s.nodeFlags.length > 0 ? s.nodeFlags.join(' ') : "none (node's defaults)"}`);
  const root = mkdtempSync(join(tmpdir(), 'conduit-bench-e2e-'));
  const procs = new Processes();
  procs.install();
  const password = randomBytes(12).toString('base64url');
  try {
    const users = [{ username: USERNAME, password }];
    const serverPki = join(root, 'server-pki');
    const perPlant = (i: number) => Math.floor(s.tags / s.plants) + (i < s.tags % s.plants ? 1 : 0);
    const startPlant = async (i: number): Promise<SimulatedPlant> => {
      const p = await SimulatedPlant.start({ pkiDir: serverPki, users, seed: i + 1, tags: { vibration: perPlant(i), temperature: 0, pressure: 0, booleans: 0, strings: 0 } });
      procs.plants.push(p);
      return p;
    };
    // The first plant creates the server certificate in the shared PKI folder; the others reuse it.
    await startPlant(0);
    await Promise.all(Array.from({ length: s.plants - 1 }, (_, i) => startPlant(i + 1)));
    procs.plants.sort((a, b) => a.seed - b.seed);
    const targets: PlantTarget[] = procs.plants.map((p) => ({
      endpointUrl: p.endpointUrl,
      thumbprint: p.certificateThumbprint,
      certificateDerBase64: p.certificateDer.toString('base64'),
      nodeIds: p.tags.map((t) => t.nodeId),
    }));
    // Client certificates created here, once, so no measured process ever creates one.
    const workDirs: Record<Role, string> = { baseline: join(root, 'baseline'), subject: join(root, 'subject') };
    await ensureClientCertificate(workDirs.baseline);
    await ensureClientCertificate(workDirs.subject);

    console.log(`\n${HEADER}`);
    const results: RunResult[] = [];
    for (let round = 1; round <= s.rounds; round++) {
      for (const role of ['baseline', 'subject'] as const) {
        const r = await measureOne(role, round, targets, workDirs[role], password, s, procs);
        printRun(r, expectedPerS);
        results.push(r);
        await waitSessionsGone(procs.plants);
      }
    }
    summarize(results, s, expectedPerS);
  } finally {
    procs.killChildrenNow();
    await Promise.all(procs.plants.map((p) => p.close()));
    procs.uninstall();
    rmSync(root, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
