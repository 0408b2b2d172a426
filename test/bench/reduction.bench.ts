// Benchmark of the reduction hot path: 10,000 tags at 100 ms through SampleGate + RmsWindow, and
// SampleGate + DeadbandEncoder, each against a naive baseline run in the same process (a
// Map<string, number[]> per tag name, one object per output). Prints ns per sample, GC activity and
// retained memory, and the ratios ours / baseline. It asserts nothing about time: numbers depend on
// the machine; the ratios are what to watch.
//
// Run: npx tsx test/bench/reduction.bench.ts   (about 10-20 s)
import { PerformanceObserver } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DeadbandEncoder, Gate, RmsWindow, SampleGate, STATUS_BAD, STATUS_GOOD } from '../../shared/reduction';

/** Tags per tick, as in the plant this component is sized for. */
const TAGS = 10_000;
/** Ticks per measured run: 40 s of data at 100 ms, 4,000,000 samples. */
const TICKS = 400;
/** Measured runs per implementation; the best is reported. */
const REPEATS = 3;
const TICK_MS = 100;
const T0 = 1_700_000_000_050;
/** One sample in this many is Bad, so the status path is exercised too. */
const BAD_EVERY = 997;
/** Distinct value rows; a table keeps value generation out of the measured cost. */
const PHASES = 64;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function valueTable(): Float64Array {
  const v = new Float64Array(PHASES * TAGS);
  let s = 7;
  for (let i = 0; i < v.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const tag = i % TAGS;
    const phase = Math.floor(i / TAGS);
    // a sine per tag plus noise: most steps stay inside a 1 % deadband, some leave it
    v[i] = 50 + 5 * Math.sin((phase / PHASES) * 2 * Math.PI + tag) + (s / 2 ** 32 - 0.5) * 0.5;
  }
  return v;
}

const VALUES = valueTable();
const NAMES = Array.from({ length: TAGS }, (_, i) => `plant/area-${i % 20}/line-${i % 7}/sensor-${i}`);
const statusOf = (i: number) => (i % BAD_EVERY === 0 ? STATUS_BAD : STATUS_GOOD);

// ---------------------------------------------------------------------------------------------
// Baselines: what a first version would do. Validation equivalent to the gate's, one Map lookup by
// tag name per sample, values collected into arrays, statistics over the arrays, an object per output.

interface NaiveWindow {
  tag: string;
  windowStartMs: number;
  windowEndMs: number;
  count: number;
  badCount: number;
  rms: number | null;
  mean: number | null;
  min: number | null;
  max: number | null;
}

class NaiveRms {
  private readonly values = new Map<string, number[]>();
  private readonly meta = new Map<string, number[]>(); // [windowStart, lastTime, badCount]
  private readonly closed: NaiveWindow[] = [];

  add(name: string, t: number, value: unknown, status: number): void {
    if (!Number.isFinite(t)) return;
    const m = this.meta.get(name);
    if (m && t <= m[1]!) return;
    const good = status >>> 30 === 0;
    if (good && (typeof value !== 'number' || !Number.isFinite(value))) return;
    const start = Math.floor(t / 1000) * 1000;
    if (!m) {
      this.meta.set(name, [start, t, good ? 0 : 1]);
      this.values.set(name, good ? [value as number] : []);
      return;
    }
    m[1] = t;
    if (start !== m[0]) {
      this.closed.push(this.close(name, m[0]!, this.values.get(name)!, m[2]!));
      m[0] = start;
      m[2] = 0;
      this.values.set(name, []);
    }
    if (good) this.values.get(name)!.push(value as number);
    else m[2]!++;
  }

  flush(watermark: number, emit: (w: NaiveWindow) => void): void {
    for (const w of this.closed) emit(w);
    this.closed.length = 0;
    for (const [name, m] of this.meta) {
      if (m[0]! + 1000 <= watermark && m[0]! >= 0) {
        emit(this.close(name, m[0]!, this.values.get(name)!, m[2]!));
        m[0] = -1; // closed; the next sample opens a new window
        this.values.set(name, []);
      }
    }
  }

  private close(name: string, start: number, xs: number[], bad: number): NaiveWindow {
    const n = xs.length;
    if (n === 0) return { tag: name, windowStartMs: start, windowEndMs: start + 1000, count: 0, badCount: bad, rms: null, mean: null, min: null, max: null };
    return {
      tag: name,
      windowStartMs: start,
      windowEndMs: start + 1000,
      count: n,
      badCount: bad,
      rms: Math.sqrt(xs.reduce((a, x) => a + x * x, 0) / n),
      mean: xs.reduce((a, x) => a + x, 0) / n,
      min: Math.min(...xs),
      max: Math.max(...xs),
    };
  }
}

interface NaivePoint {
  tag: string;
  sourceTimeMs: number;
  value: number | null;
  statusCode: number;
  suppressed: number;
}

class NaiveDeadband {
  private readonly state = new Map<string, number[]>(); // [lastSentValue, lastSentTime, lastStatus, suppressed]
  private readonly outbox: NaivePoint[] = [];
  constructor(private readonly deadband: number) {}

  add(name: string, t: number, value: unknown, status: number): void {
    if (!Number.isFinite(t)) return;
    const good = status >>> 30 === 0;
    if (good && (typeof value !== 'number' || !Number.isFinite(value))) return;
    const s = this.state.get(name);
    const v = good ? (value as number) : null;
    if (!s || s[2] !== status || (good && Math.abs(v! - s[0]!) > this.deadband)) {
      this.outbox.push({ tag: name, sourceTimeMs: t, value: v, statusCode: status, suppressed: s ? s[3]! : 0 });
      this.state.set(name, [v ?? NaN, t, status, 0]);
    } else {
      s[3]!++;
    }
  }

  flush(emit: (p: NaivePoint) => void): void {
    for (const p of this.outbox) emit(p);
    this.outbox.length = 0;
  }
}

// ---------------------------------------------------------------------------------------------

/** What a run returns: its output count, and its stage so the retained memory can be measured. */
interface Run {
  outputs: number;
  state: unknown;
}

interface Result {
  nsPerSample: number;
  outputs: number;
  gcCount: number;
  gcMs: number;
  /** heapUsed + arrayBuffers after the run and a full GC, with the stage alive, minus the same before building it. */
  retainedBytes: number;
}

let gcEntries = 0;
let gcTime = 0;
const observer = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcEntries++;
    gcTime += e.duration;
  }
});

const memory = () => {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};
const tick = () => new Promise((resolve) => setImmediate(resolve));

/** Builds a fresh implementation, runs TICKS ticks over all tags, and measures it. */
async function measure(run: (ticks: number) => Run, ticks: number): Promise<Result> {
  gc();
  await tick();
  const before = memory();
  gcEntries = 0;
  gcTime = 0;
  const start = process.hrtime.bigint();
  const { outputs, state } = run(ticks);
  const elapsed = Number(process.hrtime.bigint() - start);
  await tick(); // let the observer deliver the GC entries of the run
  const gcCount = gcEntries;
  const gcMs = gcTime;
  gc();
  const retainedBytes = memory() - before;
  if (state === null) console.log('unreachable'); // the stage stays alive until measured
  return { nsPerSample: elapsed / (ticks * TAGS), outputs, gcCount, gcMs, retainedBytes };
}

function oursRms(ticks: number): Run {
  const gate = new SampleGate({ kinds: new Array(TAGS).fill('numeric') });
  const rms = new RmsWindow({ tags: Array.from({ length: TAGS }, () => ({})) });
  let outputs = 0;
  let checksum = 0;
  const emit = (r: { rms: number | null }) => {
    outputs++;
    checksum += r.rms ?? 0;
  };
  for (let k = 0; k < ticks; k++) {
    const t = T0 + k * TICK_MS;
    const row = (k % PHASES) * TAGS;
    for (let tag = 0; tag < TAGS; tag++) {
      const v = VALUES[row + tag]!;
      const status = statusOf(row + tag + k);
      const code = gate.check(tag, t, v, status);
      if (code === Gate.VALUE) rms.add(tag, t, v, status);
      else if (code === Gate.STATUS_ONLY) rms.add(tag, t, NaN, status);
    }
    rms.flush(t - 2 * TICK_MS, emit);
  }
  if (checksum === -1) console.log('unreachable'); // keeps the sums observable
  return { outputs, state: [gate, rms] };
}

function naiveRms(ticks: number): Run {
  const naive = new NaiveRms();
  let outputs = 0;
  let checksum = 0;
  const emit = (w: NaiveWindow) => {
    outputs++;
    checksum += w.rms ?? 0;
  };
  for (let k = 0; k < ticks; k++) {
    const t = T0 + k * TICK_MS;
    const row = (k % PHASES) * TAGS;
    for (let tag = 0; tag < TAGS; tag++) naive.add(NAMES[tag]!, t, VALUES[row + tag]!, statusOf(row + tag + k));
    naive.flush(t - 2 * TICK_MS, emit);
  }
  if (checksum === -1) console.log('unreachable');
  return { outputs, state: naive };
}

/** 1 % of a 0..100 range: most 100 ms steps of the test signal stay inside it. */
const DEADBAND = 1;

function oursDeadband(ticks: number): Run {
  const gate = new SampleGate({ kinds: new Array(TAGS).fill('numeric') });
  const enc = new DeadbandEncoder({ tags: Array.from({ length: TAGS }, () => ({ mode: 'percent' as const, percent: 1, rangeMin: 0, rangeMax: 100 })) });
  let outputs = 0;
  const emit = () => {
    outputs++;
  };
  for (let k = 0; k < ticks; k++) {
    const t = T0 + k * TICK_MS;
    const row = (k % PHASES) * TAGS;
    for (let tag = 0; tag < TAGS; tag++) {
      const v = VALUES[row + tag]!;
      const status = statusOf(row + tag + k);
      const code = gate.check(tag, t, v, status);
      if (code === Gate.VALUE) enc.add(tag, t, v, status);
      else if (code === Gate.STATUS_ONLY) enc.add(tag, t, NaN, status);
    }
    enc.flush(t, emit);
  }
  return { outputs, state: [gate, enc] };
}

function naiveDeadband(ticks: number): Run {
  const naive = new NaiveDeadband(DEADBAND);
  let outputs = 0;
  const emit = () => {
    outputs++;
  };
  for (let k = 0; k < ticks; k++) {
    const t = T0 + k * TICK_MS;
    const row = (k % PHASES) * TAGS;
    for (let tag = 0; tag < TAGS; tag++) naive.add(NAMES[tag]!, t, VALUES[row + tag]!, statusOf(row + tag + k));
    naive.flush(emit);
  }
  return { outputs, state: naive };
}

const fmt = (n: number, digits = 1) => n.toFixed(digits).padStart(9);
const mib = (b: number) => `${(b / 2 ** 20).toFixed(2).padStart(7)} MiB`;

/**
 * The floor: reading the same value table and updating three typed arrays per sample, with no
 * call, no validation and no windows. Printed so the numbers can be read against this machine.
 */
function floorLoop(ticks: number): Run {
  const sum = new Float64Array(TAGS);
  const sumSq = new Float64Array(TAGS);
  const count = new Uint32Array(TAGS);
  for (let k = 0; k < ticks; k++) {
    const row = (k % PHASES) * TAGS;
    for (let tag = 0; tag < TAGS; tag++) {
      const v = VALUES[row + tag]!;
      sum[tag] += v;
      sumSq[tag] += v * v;
      count[tag]++;
    }
  }
  return { outputs: 0, state: [sum, sumSq, count] };
}

async function compare(title: string, ours: (ticks: number) => Run, naive: (ticks: number) => Run): Promise<void> {
  // Warm-up so both are measured optimized, not while the JIT is still compiling them.
  ours(50);
  naive(50);
  let bestOurs: Result | undefined;
  let bestNaive: Result | undefined;
  for (let i = 0; i < REPEATS; i++) {
    const o = await measure(ours, TICKS);
    const n = await measure(naive, TICKS);
    if (!bestOurs || o.nsPerSample < bestOurs.nsPerSample) bestOurs = o;
    if (!bestNaive || n.nsPerSample < bestNaive.nsPerSample) bestNaive = n;
  }
  const o = bestOurs!;
  const n = bestNaive!;
  console.log(`\n${title}: ${TAGS} tags x ${TICKS} ticks = ${(TAGS * TICKS).toLocaleString('en')} samples, best of ${REPEATS}`);
  console.log(`                ns/sample   outputs   GCs  GC ms   retained`);
  console.log(`  ours        ${fmt(o.nsPerSample)} ${String(o.outputs).padStart(9)} ${String(o.gcCount).padStart(5)} ${fmt(o.gcMs, 1).slice(3)}  ${mib(o.retainedBytes)}`);
  console.log(`  baseline    ${fmt(n.nsPerSample)} ${String(n.outputs).padStart(9)} ${String(n.gcCount).padStart(5)} ${fmt(n.gcMs, 1).slice(3)}  ${mib(n.retainedBytes)}`);
  console.log(`  ours/baseline time ${(o.nsPerSample / n.nsPerSample).toFixed(3)}, GCs ${n.gcCount ? (o.gcCount / n.gcCount).toFixed(3) : 'n/a'}`);
  console.log(`  samples/s on one core: ours ${(1e9 / o.nsPerSample / 1e6).toFixed(1)} M, baseline ${(1e9 / n.nsPerSample / 1e6).toFixed(1)} M (need 0.1 M)`);
}

export async function main(): Promise<void> {
  observer.observe({ entryTypes: ['gc'] });
  console.log(`reduction bench, node ${process.version}`);
  floorLoop(50);
  const floor = await measure(floorLoop, TICKS);
  console.log(`floor (table read + 3 typed-array updates per sample, no calls): ${floor.nsPerSample.toFixed(1)} ns/sample`);
  await compare('SampleGate + RmsWindow', oursRms, naiveRms);
  await compare('SampleGate + DeadbandEncoder', oursDeadband, naiveDeadband);
  observer.disconnect();
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
