// One component's lifecycle as the nucleus runs it: Install, then Run (or Startup) from the work
// folder, stdout/stderr copied into logs/<name>.log, states NEW → INSTALLED → RUNNING → FINISHED,
// ERRORED on a failed exit or an ERRORED UpdateState (then restarted), BROKEN after 3 errors in a row
// that are each less than errorResetTime apart, HARD dependencies awaited between INSTALLED and the
// start, and stop as the Shutdown script (bounded by its Timeout), SIGTERM, then SIGKILL 5 s later.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import type { LifecycleState } from '../contracts';
import { DEFAULT_TIMEOUT_S, type LifecycleStep } from './recipe';

/** Errors in a row after which the nucleus marks a component BROKEN (Lifecycle.MAXIMUM_CONTINUAL_ERROR). */
export const ERRORS_BEFORE_BROKEN = 3;

/**
 * Lifecycle.DEFAULT_ERROR_RESET_TIME_IN_SEC: an error that comes this long or longer after the
 * previous one starts the count again. The nucleus reads it per component from
 * `services.<name>.lifecycle.errorResetTime`.
 */
export const DEFAULT_ERROR_RESET_TIME_S = 3600;

/** Lifecycle.STATES_TO_ERRORED: only errors from these states count towards BROKEN. */
const STATES_COUNTING_ERRORS: ReadonlySet<LifecycleState> = new Set(['NEW', 'STARTING', 'RUNNING']);

/**
 * SIGTERM to SIGKILL, hard-coded in the nucleus (`Exec.java`: `gracefulShutdownTimeout =
 * Duration.ofSeconds(5)`, used by `UnixExec.close`). The recipe's Shutdown `Timeout` bounds the
 * Shutdown script only; it does not lengthen this.
 */
export const GRACEFUL_SHUTDOWN_TIMEOUT_MS = 5_000;

/** Pause before restarting an ERRORED component, so a crash loop does not spin the CPU. */
const RESTART_DELAY_MS = 200;

export interface OutputLine {
  stream: 'stdout' | 'stderr';
  text: string;
  at: number;
}

export interface StopResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when SIGTERM was not enough and the process group had to be killed. */
  killed: boolean;
  /** Milliseconds from SIGTERM to the process's exit (undefined when nothing was running). */
  afterSigtermMs?: number;
}

export interface ComponentSpec {
  name: string;
  version: string;
  workPath: string;
  logPath: string;
  install?: LifecycleStep;
  run?: LifecycleStep;
  startup?: LifecycleStep;
  shutdown?: LifecycleStep;
  /** The environment lifecycle scripts get (already holds the recipe's Setenv). */
  env: Record<string, string>;
  /** Seconds; default DEFAULT_ERROR_RESET_TIME_S. */
  errorResetTimeS?: number;
  /**
   * Whether the component's HARD dependencies are RUNNING or FINISHED (GreengrassService.dependencyReady).
   * Until they are, the component waits in INSTALLED; call `dependenciesChanged()` when they may be.
   */
  dependenciesReady?: () => boolean;
}

export class LaunchedComponent extends EventEmitter {
  readonly output: OutputLine[] = [];
  state: LifecycleState = 'NEW';
  /** Every ERRORED since the deployment (or the reinstall out of BROKEN); BROKEN is decided by `errorTimes`. */
  errorCount = 0;
  /**
   * Lifecycle.stateToErroredCount: per state an error came from, the times of the errors in a row.
   * Leaving that state for anything but ERRORED clears its list; an error errorResetTime or more after
   * the previous one starts a new list.
   */
  private readonly errorTimes = new Map<LifecycleState, number[]>();
  /** The state an ERRORED came from, which decides where the restart resumes (handleCurrentStateErrored). */
  private erroredFrom: LifecycleState | undefined;
  private dependencyWaiter: (() => void) | undefined;
  private proc: ChildProcess | undefined;
  private exited: Promise<StopResult> | undefined;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;

  constructor(readonly spec: ComponentSpec) {
    super();
  }

  get name(): string {
    return this.spec.name;
  }
  get logPath(): string {
    return this.spec.logPath;
  }
  get workPath(): string {
    return this.spec.workPath;
  }
  /** The pid of the running lifecycle process (a shell; the component runs in its process group). */
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  private setState(s: LifecycleState): void {
    if (this.state === s) return;
    // Lifecycle.internalReportState: a transition to anything but ERRORED clears the count of the state left.
    if (s !== 'ERRORED') this.errorTimes.delete(this.state);
    this.log('INFO', `${this.name}: state ${this.state} -> ${s}`);
    this.state = s;
    this.emit('state', s);
  }

  /** Records an error from the current state; true when it is the third in a row (BROKEN). */
  private countError(now: number): boolean {
    const from = this.state;
    if (!STATES_COUNTING_ERRORS.has(from)) return false;
    const resetMs = (this.spec.errorResetTimeS ?? DEFAULT_ERROR_RESET_TIME_S) * 1000;
    let times = this.errorTimes.get(from) ?? [];
    // As the nucleus: the gap to the latest error decides, not the age of the first one.
    if (times.length > 0 && now - times[times.length - 1]! >= resetMs) times = [];
    times.push(now);
    this.errorTimes.set(from, times);
    return times.length >= ERRORS_BEFORE_BROKEN;
  }

  /** Errors in a row that count towards BROKEN right now (for the state the component is in or came from). */
  get continualErrors(): number {
    return this.errorTimes.get(this.erroredFrom ?? this.state)?.length ?? 0;
  }

  private log(level: string, text: string): void {
    this.append(`${new Date().toISOString()} [${level}] (launcher) ${text}\n`);
  }

  /** A line that arrives after the harness removed its root is of no use to anyone: drop it. */
  private append(text: string): void {
    try {
      appendFileSync(this.spec.logPath, text);
    } catch {
      // the log folder is gone: the harness has shut down
    }
  }

  private spawnStep(stepName: string, step: LifecycleStep): ChildProcess {
    // detached: the script gets its own process group, so stop() reaches what the shell started too.
    // The shell traps TERM (a handler, which exec resets to default in its children) so it outlives
    // the component it waits for and exits with the component's own status, not as killed.
    const child = spawn('sh', ['-c', `trap : TERM\n${step.script}`], {
      cwd: this.spec.workPath,
      env: { ...this.spec.env, ...step.setenv },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const copy = (stream: 'stdout' | 'stderr', src: NodeJS.ReadableStream): void => {
      let rest = '';
      src.setEncoding('utf8');
      src.on('data', (chunk: string) => {
        const lines = (rest + chunk).split('\n');
        rest = lines.pop()!;
        for (const text of lines) this.capture(stepName, stream, text);
      });
      src.on('end', () => rest && this.capture(stepName, stream, rest));
    };
    copy('stdout', child.stdout!);
    copy('stderr', child.stderr!);
    return child;
  }

  /** The nucleus's Copier line format, so a log reader sees what it would see on a device. */
  private capture(stepName: string, stream: 'stdout' | 'stderr', text: string): void {
    const line: OutputLine = { stream, text, at: Date.now() };
    this.output.push(line);
    const level = stream === 'stdout' ? 'INFO' : 'WARN';
    this.append(
      `${new Date(line.at).toISOString()} [${level}] (Copier) ${this.name}: ${stream}. ${text}. ` +
        `{scriptName=services.${this.name}.lifecycle.${stepName}, serviceName=${this.name}, currentState=${this.state}}\n`,
    );
    this.emit('output', line);
  }

  private runToCompletion(stepName: string, step: LifecycleStep, timeoutS: number): Promise<number | null> {
    return new Promise((resolve) => {
      const child = this.spawnStep(stepName, step);
      const timer = setTimeout(() => {
        this.log('ERROR', `${this.name}: ${stepName} timed out after ${timeoutS} s`);
        killGroup(child, 'SIGKILL');
      }, timeoutS * 1000);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
  }

  /**
   * Runs Install (from NEW only: a restart after an error in STARTING or RUNNING, or after a stop,
   * resumes at INSTALLED as the nucleus does), waits for the HARD dependencies, then Run or Startup.
   * Resolves once the component is RUNNING, STARTING or failed, or waits in INSTALLED for a dependency
   * (it then starts by itself once `dependenciesChanged()` finds them ready).
   */
  async start(): Promise<void> {
    this.stopping = false;
    const { install } = this.spec;
    if (this.state === 'ERRORED' && this.erroredFrom === 'NEW') this.setState('NEW');
    this.erroredFrom = undefined;
    if (this.state === 'NEW' && install?.script) {
      const code = await this.runToCompletion('Install', install, install.timeoutS ?? DEFAULT_TIMEOUT_S.Install);
      if (this.stopping) return;
      if (code !== 0) return this.errored(`Install exited with ${code}`);
    }
    this.setState('INSTALLED');
    if (!this.dependenciesAreReady()) {
      this.log('INFO', `${this.name}: waiting for its HARD dependencies to be RUNNING or FINISHED`);
      this.dependencyWaiter = () => void this.launch();
      return;
    }
    this.launch();
  }

  private dependenciesAreReady(): boolean {
    return this.spec.dependenciesReady?.() ?? true;
  }

  /** A dependency changed state: a component waiting in INSTALLED starts if they are all ready now. */
  dependenciesChanged(): void {
    if (this.dependencyWaiter === undefined || this.stopping || !this.dependenciesAreReady()) return;
    const go = this.dependencyWaiter;
    this.dependencyWaiter = undefined;
    go();
  }

  private launch(): void {
    const { run, startup } = this.spec;
    const main = run ?? startup;
    if (!main?.script) return this.setState('FINISHED');
    const child = this.spawnStep(run ? 'Run' : 'Startup', main);
    this.proc = child;
    this.exited = new Promise((resolve) => {
      // 'close', not 'exit': by then every output line has been captured.
      child.on('close', (code, signal) => {
        this.proc = undefined;
        resolve({ code, signal, killed: false });
        if (this.stopping) return;
        if (code === 0 && run) this.setState('FINISHED');
        else if (code !== 0) this.errored(`Run exited with ${code ?? signal}`);
      });
    });
    // Run is RUNNING once started; Startup stays STARTING until it exits 0 or reports a state.
    this.setState(run ? 'RUNNING' : 'STARTING');
  }

  /** The component said ERRORED through UpdateState, or its process failed. */
  errored(reason: string): void {
    if (this.state === 'BROKEN' || this.state === 'ERRORED') return;
    this.errorCount++;
    const from = this.state;
    const broken = this.countError(Date.now());
    this.log('ERROR', `${this.name}: ERRORED (${reason}) in ${from}; error ${this.errorTimes.get(from)?.length ?? 0} in a row of ${ERRORS_BEFORE_BROKEN}`);
    this.erroredFrom = from;
    this.setState('ERRORED');
    if (broken) {
      void this.halt().then(() => this.setState('BROKEN'));
      return;
    }
    this.restartTimer = setTimeout(() => void this.halt().then(() => this.start()), RESTART_DELAY_MS);
  }

  /** UpdateState from the component itself. */
  reported(state: 'RUNNING' | 'ERRORED'): void {
    if (state === 'ERRORED') this.errored('the component reported ERRORED');
    // As the nucleus: RUNNING is taken from STARTING only; after ERRORED the restart decides.
    else if (this.state === 'STARTING') this.setState('RUNNING');
  }

  private async halt(): Promise<StopResult> {
    const child = this.proc;
    if (!child || !this.exited) return { code: null, signal: null, killed: false };
    this.stopping = true;
    const timeoutS = this.spec.shutdown?.timeoutS ?? DEFAULT_TIMEOUT_S.Shutdown;
    if (this.spec.shutdown?.script) await this.runToCompletion('Shutdown', this.spec.shutdown, timeoutS);
    const termAt = Date.now();
    killGroup(child, 'SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), GRACEFUL_SHUTDOWN_TIMEOUT_MS)));
    const first = await Promise.race([this.exited, deadline]);
    clearTimeout(timer);
    if (first !== 'timeout') return { ...first, afterSigtermMs: Date.now() - termAt };
    this.log('WARN', `${this.name}: did not stop within ${GRACEFUL_SHUTDOWN_TIMEOUT_MS} ms of SIGTERM; killing it`);
    killGroup(child, 'SIGKILL');
    return { ...(await this.exited), killed: true, afterSigtermMs: Date.now() - termAt };
  }

  /** Stops the component as a deployment or the nucleus's shutdown would. */
  async stop(): Promise<StopResult> {
    clearTimeout(this.restartTimer);
    this.dependencyWaiter = undefined;
    this.stopping = true;
    const wasBroken = this.state === 'BROKEN';
    // A BROKEN component is already stopped and stays BROKEN (handleCurrentStateBroken).
    if (!wasBroken) this.setState('STOPPING');
    const r = await this.halt();
    if (!wasBroken) this.setState('FINISHED');
    return r;
  }

  /**
   * Lifecycle.requestRestart (e.g. a deployment that changes its lifecycle): stop, then start at
   * INSTALLED. Leaving RUNNING through STOPPING clears that state's error count, as in the nucleus. A
   * BROKEN component cannot restart: the nucleus reinstalls it (requestReinstall), which runs Install
   * again and forgets every error (handleCurrentStateBroken clears stateToErroredCount).
   */
  async restart(): Promise<void> {
    if (this.state === 'BROKEN') {
      this.errorTimes.clear();
      this.errorCount = 0;
      this.erroredFrom = undefined;
      this.setState('NEW');
    } else {
      await this.stop();
    }
    await this.start();
  }

  /** An abrupt kill of the whole process group (a crash); the lifecycle treats it like one. */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.proc) killGroup(this.proc, signal);
  }

  waitForState(states: LifecycleState | LifecycleState[], timeoutMs: number): Promise<LifecycleState> {
    const want = Array.isArray(states) ? states : [states];
    return waitFor(this, 'state', () => (want.includes(this.state) ? this.state : undefined), timeoutMs, () =>
      `${this.name}: state ${this.state}, wanted ${want.join('|')}`,
    );
  }

  /** The first output line (already printed or still to come) that the predicate accepts. */
  waitForOutput(pred: (l: OutputLine) => boolean, timeoutMs: number, from = 0): Promise<OutputLine> {
    return waitFor(this, 'output', () => this.output.slice(from).find(pred), timeoutMs, () =>
      `${this.name}: no matching output line; last lines:\n${this.output.slice(-10).map((l) => l.text).join('\n')}`,
    );
  }

  /** stdout lines that are JSON objects, parsed (components log JSON lines). */
  jsonLines(): Array<Record<string, unknown>> {
    const out: Array<Record<string, unknown>> = [];
    for (const l of this.output) {
      if (l.stream !== 'stdout' || !l.text.startsWith('{')) continue;
      try {
        out.push(JSON.parse(l.text));
      } catch {
        // not JSON after all: a plain line
      }
    }
    return out;
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

function waitFor<T>(
  em: EventEmitter,
  event: string,
  check: () => T | undefined,
  timeoutMs: number,
  describe: () => string,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const now = check();
    if (now !== undefined) return resolve(now);
    const onEvent = (): void => {
      const v = check();
      if (v === undefined) return;
      cleanup();
      resolve(v);
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out after ${timeoutMs} ms: ${describe()}`));
    }, timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      em.off(event, onEvent);
    };
    em.on(event, onEvent);
  });
}
