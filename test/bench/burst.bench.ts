// Benchmark of the burst-mode hot path: every sample of 1,000 alarmed tags at 100 ms going into the
// raw ring (60 s pre-trigger + 10 s slack = 702 samples per tag), through RawRing.add and through
// BurstRecorder.add with no capture open (the normal state), against a naive baseline run in the
// same process: a Map<string, number[]> per tag name, push of (t, value, status) and shift of the
// oldest once full. Prints ns per sample, GC activity, retained memory and the ratio ours / baseline.
// It asserts nothing about time: numbers depend on the machine; the ratios are what to watch.
//
// Run: npx tsx test/bench/burst.bench.ts   (about 10 s)
import { PerformanceObserver } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { BurstRecorder, RawRing } from '../../shared/burst';

/** Alarmed tags: a large plant's share of tags with burst capture. */
const TAGS = 1_000;
/** Ticks per measured run: 300 s at 100 ms, so every ring wraps four times; 3,000,000 samples. */
const TICKS = 3_000;
const REPEATS = 3;
const TICK_MS = 100;
const PRE_MS = 60_000;
const SLACK_MS = 10_000;
const CAPACITY = Math.ceil((PRE_MS + SLACK_MS) / TICK_MS) + 2;
const T0 = 1_700_000_000_000;
const BAD_EVERY = 997;
const PHASES = 64;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const VALUES = (() => {
  const v = new Float64Array(PHASES * TAGS);
  let s = 11;
  for (let i = 0; i < v.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    v[i] = 2 * Math.sin(i / 7) + (s / 2 ** 32 - 0.5) * 0.2;
  }
  return v;
})();
const NAMES = Array.from({ length: TAGS }, (_, i) => `plant/area-${i % 20}/line-${i % 7}/vib-${i}`);
const statusOf = (i: number) => (i % BAD_EVERY === 0 ? 0x80000000 : 0);

/** What a first version would do: one array per tag name holding (t, value, status) triples. */
class NaiveRing {
  private readonly rings = new Map<string, number[]>();
  constructor(private readonly capacity: number) {}

  add(name: string, t: number, value: number, status: number): void {
    let r = this.rings.get(name);
    if (r === undefined) this.rings.set(name, (r = []));
    r.push(t, value, status);
    if (r.length > 3 * this.capacity) {
      r.shift();
      r.shift();
      r.shift();
    }
  }
}

interface Result {
  nsPerSample: number;
  gcCount: number;
  gcMs: number;
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

/** Builds a fresh implementation, runs `ticks` ticks over all tags, and measures it. */
async function measure(run: (ticks: number) => unknown, ticks: number): Promise<Result> {
  gc();
  await tick();
  const before = memory();
  gcEntries = 0;
  gcTime = 0;
  const start = process.hrtime.bigint();
  const state = run(ticks);
  const elapsed = Number(process.hrtime.bigint() - start);
  await tick();
  const gcCount = gcEntries;
  const gcMs = gcTime;
  gc();
  const retainedBytes = memory() - before;
  if (state === null) console.log('unreachable'); // the structure stays alive until measured
  return { nsPerSample: elapsed / (ticks * TAGS), gcCount, gcMs, retainedBytes };
}

function oursRing(ticks: number): unknown {
  const ring = new RawRing({ capacities: new Array(TAGS).fill(CAPACITY) });
  for (let k = 0; k < ticks; k++) {
    const t = T0 + k * TICK_MS;
    const row = (k % PHASES) * TAGS;
    for (let tag = 0; tag < TAGS; tag++) {
      const status = statusOf(row + tag + k);
      ring.add(tag, t, status === 0 ? VALUES[row + tag]! : NaN, status);
    }
  }
  return ring;
}

function oursRecorder(ticks: number): unknown {
  const recorder = new BurstRecorder({
    tags: Array.from({ length: TAGS }, () => ({ preTriggerMs: PRE_MS, postTriggerMs: 10_000, samplingIntervalMs: TICK_MS })),
    slackMs: SLACK_MS,
    cooldownMs: 60_000,
    maxCapturesPerHour: 20,
    maxCaptureMs: 300_000,
    idPrefix: 'bench',
  });
  for (let k = 0; k < ticks; k++) {
    const t = T0 + k * TICK_MS;
    const row = (k % PHASES) * TAGS;
    for (let tag = 0; tag < TAGS; tag++) {
      const status = statusOf(row + tag + k);
      recorder.add(tag, t, status === 0 ? VALUES[row + tag]! : NaN, status);
    }
  }
  return recorder;
}

function naive(ticks: number): unknown {
  const ring = new NaiveRing(CAPACITY);
  for (let k = 0; k < ticks; k++) {
    const t = T0 + k * TICK_MS;
    const row = (k % PHASES) * TAGS;
    for (let tag = 0; tag < TAGS; tag++) {
      const status = statusOf(row + tag + k);
      ring.add(NAMES[tag]!, t, status === 0 ? VALUES[row + tag]! : NaN, status);
    }
  }
  return ring;
}

async function best(run: (ticks: number) => unknown): Promise<Result> {
  let b: Result | undefined;
  for (let i = 0; i < REPEATS; i++) {
    const r = await measure(run, TICKS);
    if (!b || r.nsPerSample < b.nsPerSample) b = r;
  }
  return b!;
}

const fmt = (n: number, digits = 1) => n.toFixed(digits).padStart(9);
const mib = (b: number) => `${(b / 2 ** 20).toFixed(2).padStart(7)} MiB`;

export async function main(): Promise<void> {
  observer.observe({ entryTypes: ['gc'] });
  console.log(`burst bench, node ${process.version}`);
  // Warm-up so every variant is measured optimized, not while the JIT is still compiling it.
  oursRing(100);
  oursRecorder(100);
  naive(100);
  const results: [string, Result][] = [
    ['RawRing.add', await best(oursRing)],
    ['BurstRecorder.add', await best(oursRecorder)],
    ['baseline', await best(naive)],
  ];
  const base = results[2]![1];
  console.log(`\nraw ring: ${TAGS} tags x ${TICKS} ticks = ${(TAGS * TICKS).toLocaleString('en')} samples, ${CAPACITY} per ring, best of ${REPEATS}`);
  console.log(`                     ns/sample   GCs  GC ms   retained   time vs baseline`);
  for (const [name, r] of results) {
    console.log(`  ${name.padEnd(18)} ${fmt(r.nsPerSample)} ${String(r.gcCount).padStart(5)} ${fmt(r.gcMs).slice(3)}  ${mib(r.retainedBytes)}   ${(r.nsPerSample / base.nsPerSample).toFixed(3)}`);
  }
  console.log(`  ring memory by design: ${mib(TAGS * CAPACITY * 20)} (20 bytes per slot)`);
  observer.disconnect();
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
