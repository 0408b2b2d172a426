// Benchmark of the publish encoding: one second of data for 10,000 tags (10,000 RMS windows,
// 10,000 deadband points, 10,000 change points) through BatchEncoder.add* + drain, against a
// baseline run in the same process: JSON.stringify of one object per point with the full tag name
// and the gateway's identity, as a first version would publish. Prints ns per row, bytes per point
// and the ratios ours / baseline. Asserts nothing about time: the ratios are what to watch.
//
// Run: npx tsx test/bench/publish.bench.ts   (a few seconds)
import type { ChangePoint, DeadbandPoint, RmsWindowRecord } from '../../shared/reduction';
import { BatchEncoder, type RmsStatistic } from '../../shared/publish';

/** Tags, as in the plant this component is sized for. */
const TAGS = 10_000;
/** Seconds of data per measured run. */
const SECONDS = 5;
/** Measured runs per implementation; the best is reported. */
const REPEATS = 3;
const T0 = 1_700_000_000_000;
const MAX_MESSAGE_BYTES = 131_072;
const NAMES = Array.from({ length: TAGS }, (_, i) => `plant/area-${i % 20}/line-${i % 7}/sensor-${i}`);
const IDENTITY = { thingName: 'gw-plant-a-01', site: 'plant-a', area: 'area-3', mappingVersion: '2024-06-01.1', runId: 'k3JH8a0Qx1' };

/** A seeded generator, so every run encodes the same numbers. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Vibration RMS windows: 10 Good samples of a noisy sine, one window in 500 Bad, one in 997 empty. */
function rmsRows(): RmsWindowRecord[] {
  const rnd = lcg(1);
  return Array.from({ length: TAGS }, (_, tag) => {
    const amp = 0.5 + 20 * rnd();
    const xs = Array.from({ length: 10 }, (_, k) => amp * Math.sin(k + tag) + (rnd() - 0.5) * 0.1);
    const status = tag % 997 === 0 ? 'noData' : tag % 500 === 0 ? 'noGoodData' : 'ok';
    const good = status === 'ok';
    const sumSq = xs.reduce((a, x) => a + x * x, 0);
    return {
      tag,
      windowStartMs: T0,
      windowEndMs: T0 + 1000,
      windowsMissed: status === 'noData' ? 1 : 0,
      status,
      count: good ? 10 : 0,
      badCount: status === 'noGoodData' ? 10 : 0,
      coverage: good ? 1 : 0,
      rms: good ? Math.sqrt(sumSq / 10) : null,
      mean: good ? xs.reduce((a, x) => a + x, 0) / 10 : null,
      min: good ? Math.min(...xs) : null,
      max: good ? Math.max(...xs) : null,
      peak: good ? Math.max(...xs.map(Math.abs)) : null,
    };
  });
}

/** Slow process values (temperatures, pressures) that left a 0.1 deadband, at 100 ms sample instants. */
function deadbandRows(): DeadbandPoint[] {
  const rnd = lcg(2);
  return Array.from({ length: TAGS }, (_, tag) => ({
    tag,
    sourceTimeMs: T0 + 100 * Math.floor(rnd() * 10),
    value: tag % 1000 === 0 ? null : 20 + 60 * rnd(),
    statusCode: tag % 1000 === 0 ? 0x80000000 : 0,
    suppressed: Math.floor(rnd() * 10),
    deadband: 0.1,
    reason: 'change' as const,
  }));
}

/** Booleans and short state strings. */
function changeRows(): ChangePoint[] {
  const rnd = lcg(3);
  const states = ['RUNNING', 'STOPPED', 'FAULT', 'IDLE'];
  return Array.from({ length: TAGS }, (_, tag) => ({
    tag,
    sourceTimeMs: T0 + 100 * Math.floor(rnd() * 10),
    value: tag % 2 === 0 ? rnd() < 0.5 : states[Math.floor(rnd() * 4)]!,
    statusCode: 0,
    suppressed: Math.floor(rnd() * 10),
    reason: 'change' as const,
  }));
}

interface Result {
  nsPerRow: number;
  bytesPerRow: number;
  messages: number;
}

type Kind = 'rms' | 'deadband' | 'change';

/** Ours: add every row, then one drain per simulated second, as the runtime's publish tick would. */
function ours(kind: Kind, rows: readonly object[], rmsFields: readonly RmsStatistic[], significantDigits: number): Result {
  const enc = new BatchEncoder({ ...IDENTITY, maxMessageBytes: MAX_MESSAGE_BYTES, rmsFields, significantDigits });
  const add = kind === 'rms' ? (r: object) => enc.addRms(r as RmsWindowRecord) : kind === 'deadband' ? (r: object) => enc.addDeadband(r as DeadbandPoint) : (r: object) => enc.addChange(r as ChangePoint);
  let messages = 0;
  let bytes = 0;
  const start = process.hrtime.bigint();
  for (let s = 0; s < SECONDS; s++) {
    for (let i = 0; i < rows.length; i++) add(rows[i]!);
    for (const m of enc.drain(T0 + (s + 1) * 1000)) {
      messages++;
      bytes += m.payload.length;
    }
  }
  const ns = Number(process.hrtime.bigint() - start);
  return { nsPerRow: ns / (SECONDS * rows.length), bytesPerRow: bytes / (SECONDS * rows.length), messages: messages / SECONDS };
}

/** Baseline: one JSON object per point, full tag name and identity, one publish per point. */
function baseline(rows: readonly object[]): Result {
  let bytes = 0;
  const start = process.hrtime.bigint();
  for (let s = 0; s < SECONDS; s++) {
    for (let i = 0; i < rows.length; i++) {
      const { tag, reason: _reason, coverage: _coverage, ...fields } = rows[i] as Record<string, unknown>;
      const payload = Buffer.from(JSON.stringify({ ...IDENTITY, name: NAMES[tag as number], ...fields }), 'utf8');
      bytes += payload.length;
    }
  }
  const ns = Number(process.hrtime.bigint() - start);
  return { nsPerRow: ns / (SECONDS * rows.length), bytesPerRow: bytes / (SECONDS * rows.length), messages: rows.length };
}

function best(run: () => Result): Result {
  run(); // warm-up
  let b: Result | undefined;
  for (let r = 0; r < REPEATS; r++) {
    const x = run();
    if (b === undefined || x.nsPerRow < b.nsPerRow) b = x;
  }
  return b!;
}

function compare(title: string, kind: Kind, rows: readonly object[], rmsFields: readonly RmsStatistic[] = ['rms', 'mean', 'min', 'max', 'peak'], digits = 10): void {
  const o = best(() => ours(kind, rows, rmsFields, digits));
  const n = best(() => baseline(rows));
  const kib = (bpr: number) => ((bpr * TAGS) / 1024).toFixed(0).padStart(6);
  console.log(`\n${title}: ${TAGS} rows per second x ${SECONDS} s, best of ${REPEATS}`);
  console.log(`                ns/row  bytes/point  KiB/s at ${TAGS}   publishes/s`);
  console.log(`  ours        ${o.nsPerRow.toFixed(0).padStart(8)} ${o.bytesPerRow.toFixed(1).padStart(12)} ${kib(o.bytesPerRow)} ${o.messages.toFixed(1).padStart(17)}`);
  console.log(`  baseline    ${n.nsPerRow.toFixed(0).padStart(8)} ${n.bytesPerRow.toFixed(1).padStart(12)} ${kib(n.bytesPerRow)} ${n.messages.toFixed(1).padStart(17)}`);
  console.log(`  ours/baseline: time ${(o.nsPerRow / n.nsPerRow).toFixed(3)}, bytes ${(o.bytesPerRow / n.bytesPerRow).toFixed(3)}`);
}

export async function main(): Promise<void> {
  console.log(`publish bench, node ${process.version}; uplink budget 512 KiB/s and 100 publishes/s per core`);
  const rms = rmsRows();
  compare('rms, rmsFields all five', 'rms', rms);
  compare('rms, rmsFields [rms]', 'rms', rms, ['rms']);
  compare('rms, rmsFields [rms, peak] (the collector default)', 'rms', rms, ['rms', 'peak']);
  compare('rms, rmsFields all five, significantDigits 6', 'rms', rms, undefined, 6);
  compare('deadband', 'deadband', deadbandRows());
  compare('change', 'change', changeRows());
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
