// The simulated plant's signals, as pure functions of (seed, tag, tick). The plant process serves
// exactly these values, and a test that holds a sample's source timestamp calls the same functions
// to know the value it must have received: no clock, no I/O, no PRNG sequence, so a value never
// depends on what was sampled before it or on which process computes it.
//
// A tick is one 100 ms slot of wall-clock time: tick = sourceTimestamp_ms / 100, and the plant
// stamps every value with sourceTimestamp = tick * 100 ms exactly.
//
// Periodic signals are written as an integer number of cycles per a whole number of ticks, and the
// phase is reduced with integer arithmetic before Math.sin sees it. Wall-clock ticks are ~1.8e11;
// sin(2π·f·t) on such arguments would still be deterministic, but it would lose most of its
// precision, and an exact reduction keeps the sample set of a periodic signal small and known.

/** One plant tick, in milliseconds: the collector's sampling period. */
export const TICK_MS = 100;

export type TagKind = 'vibration' | 'temperature' | 'pressure' | 'boolean' | 'string' | 'counter';
export type TagValue = number | boolean | string;

/** How many tags of each kind the plant exposes. */
export interface TagCounts {
  vibration: number;
  temperature: number;
  pressure: number;
  booleans: number;
  strings: number;
  /** UInt64 part counters (none by default): values above 2^32, as node-opcua hands them over in [high, low] pairs. */
  counters?: number;
}

export const DEFAULT_TAG_COUNTS: TagCounts = { vibration: 2, temperature: 1, pressure: 1, booleans: 1, strings: 1 };

/** The one folder every tag lives under, as the NodeId prefix `ns=1;s=Line1.` shows. */
export const PLANT_LINE = 'Line1';

export interface EngineeringRange {
  low: number;
  high: number;
}

/**
 * One tag of the plant. `index` is 1-based within its kind; names are the kind's prefix and the
 * index padded to two digits (Vib01 … Vib99, Vib100 …), so a name never changes when counts grow.
 */
export interface TagSpec {
  /** e.g. `Line1.Vib01`; also the string part of the NodeId. */
  name: string;
  /** e.g. `ns=1;s=Line1.Vib01` (namespace 1 is the plant server's own namespace). */
  nodeId: string;
  kind: TagKind;
  index: number;
  /** Engineering unit's display name (`mm/s`, `°C`, `bar`); null for Boolean and String tags. */
  unit: string | null;
  /** The EURange property of numeric tags; null for Boolean and String tags. */
  range: EngineeringRange | null;
}

/** From `fromTick` on (inclusive), the vibration tag `tag` (its name) has this sine amplitude. */
export interface AmplitudeStep {
  tag: string;
  fromTick: number;
  amplitude: number;
}

/** Every constant the signal shapes use; the plant is started with one of these and exposes it. */
export interface SignalParams {
  /** Sine cycles per 100 ticks (10 s): 13 → 1.3 Hz, so 100 consecutive 100 ms samples are all distinct. */
  vibrationCyclesPer100Ticks: number;
  /** Amplitude (mm/s) before any step. */
  vibrationAmplitude: number;
  /** Half-width (mm/s) of the uniform noise added to the sine. */
  vibrationNoise: number;
  /** Mean (°C), swing (°C), period (ticks) and noise half-width (°C) of the slow temperature drift. */
  temperatureMean: number;
  temperatureSwing: number;
  temperaturePeriodTicks: number;
  temperatureNoise: number;
  /** Mean (bar), swing (bar), period (ticks) and noise half-width (bar) of the pressure. */
  pressureMean: number;
  pressureSwing: number;
  pressurePeriodTicks: number;
  pressureNoise: number;
  /** A Boolean tag holds each state this many ticks, then flips. */
  booleanHalfPeriodTicks: number;
  /** A String tag (batch id) changes every this many ticks. */
  batchPeriodTicks: number;
}

export const DEFAULT_SIGNAL_PARAMS: SignalParams = {
  vibrationCyclesPer100Ticks: 13,
  vibrationAmplitude: 2,
  vibrationNoise: 0.05,
  temperatureMean: 60,
  temperatureSwing: 5,
  temperaturePeriodTicks: 6000, // 10 min
  temperatureNoise: 0.01,
  pressureMean: 4.2,
  pressureSwing: 0.3,
  pressurePeriodTicks: 1800, // 3 min
  pressureNoise: 0.005,
  booleanHalfPeriodTicks: 50, // flips every 5 s
  batchPeriodTicks: 300, // a new batch every 30 s
};

interface KindInfo {
  prefix: string;
  unit: string | null;
  range: EngineeringRange | null;
  /** Mixed into the noise hash so that Vib01 and Temp01 do not share a noise sequence. */
  salt: number;
}

const KINDS: Readonly<Record<TagKind, KindInfo>> = {
  vibration: { prefix: 'Vib', unit: 'mm/s', range: { low: -50, high: 50 }, salt: 0x76 },
  temperature: { prefix: 'Temp', unit: '°C', range: { low: -20, high: 150 }, salt: 0x74 },
  pressure: { prefix: 'Press', unit: 'bar', range: { low: 0, high: 10 }, salt: 0x70 },
  boolean: { prefix: 'Running', unit: null, range: null, salt: 0x62 },
  string: { prefix: 'Batch', unit: null, range: null, salt: 0x73 },
  counter: { prefix: 'Parts', unit: null, range: null, salt: 0x63 },
};

/** The order tags are listed (and created) in: kind by kind, index by index. */
const COUNT_KEYS: ReadonlyArray<[keyof TagCounts, TagKind]> = [
  ['vibration', 'vibration'],
  ['temperature', 'temperature'],
  ['pressure', 'pressure'],
  ['booleans', 'boolean'],
  ['strings', 'string'],
  ['counters', 'counter'],
];

export function tagName(kind: TagKind, index: number): string {
  return `${PLANT_LINE}.${KINDS[kind].prefix}${String(index).padStart(2, '0')}`;
}

/** The plant's tags for the given counts, in a stable order. */
export function plantTags(counts: TagCounts = DEFAULT_TAG_COUNTS): TagSpec[] {
  const tags: TagSpec[] = [];
  for (const [key, kind] of COUNT_KEYS) {
    const n = counts[key] ?? 0;
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`tag count ${key} must be a non-negative integer, got ${n}`);
    const info = KINDS[kind];
    for (let index = 1; index <= n; index++) {
      const name = tagName(kind, index);
      tags.push({
        name,
        nodeId: `ns=1;s=${name}`,
        kind,
        index,
        unit: info.unit,
        range: info.range ? { ...info.range } : null,
      });
    }
  }
  return tags;
}

export function tickOf(timestampMs: number): number {
  return Math.floor(timestampMs / TICK_MS);
}

export function timestampOf(tick: number): number {
  return tick * TICK_MS;
}

// 32-bit avalanche (the finaliser of MurmurHash3): every input bit flips about half the output bits.
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Deterministic noise in [-1, 1) for (seed, salt, index, tick). Ticks exceed 2^32, so the high and
 * low words are hashed separately; every step is integer arithmetic, exact in any JS engine.
 */
export function noiseAt(seed: number, salt: number, index: number, tick: number): number {
  const lo = tick >>> 0;
  const hi = Math.floor(tick / 0x100000000) >>> 0;
  let h = mix32((seed >>> 0) ^ 0x9e3779b9);
  h = mix32(h ^ Math.imul(salt, 0x27d4eb2f));
  h = mix32(h ^ (index >>> 0));
  h = mix32(h ^ hi);
  h = mix32(h ^ lo);
  return h / 0x80000000 - 1;
}

/** sin(2π · (cycles · tick + offset) / periodTicks), the phase reduced exactly in integers. */
function periodicSin(tick: number, cycles: number, offset: number, periodTicks: number): number {
  const k = (((cycles * tick + offset) % periodTicks) + periodTicks) % periodTicks;
  return Math.sin((2 * Math.PI * k) / periodTicks);
}

/** The amplitude of vibration tag `name` at `tick`: the latest step at or before it, else the base. */
export function amplitudeAt(name: string, tick: number, steps: readonly AmplitudeStep[], base: number): number {
  let amplitude = base;
  let from = -Infinity;
  // Later steps in the list win a tie on fromTick: they were applied later.
  for (const s of steps) {
    if (s.tag === name && s.fromTick <= tick && s.fromTick >= from) {
      amplitude = s.amplitude;
      from = s.fromTick;
    }
  }
  return amplitude;
}

export function vibrationAt(seed: number, index: number, tick: number, amplitude: number, p: SignalParams = DEFAULT_SIGNAL_PARAMS): number {
  // Each tag's sine is shifted by 7 ticks' worth of phase per index, so the tags are not identical.
  const s = periodicSin(tick, p.vibrationCyclesPer100Ticks, 7 * index, 100);
  return amplitude * s + p.vibrationNoise * noiseAt(seed, KINDS.vibration.salt, index, tick);
}

export function temperatureAt(seed: number, index: number, tick: number, p: SignalParams = DEFAULT_SIGNAL_PARAMS): number {
  const s = periodicSin(tick, 1, 613 * index, p.temperaturePeriodTicks);
  return p.temperatureMean + p.temperatureSwing * s + p.temperatureNoise * noiseAt(seed, KINDS.temperature.salt, index, tick);
}

export function pressureAt(seed: number, index: number, tick: number, p: SignalParams = DEFAULT_SIGNAL_PARAMS): number {
  const s = periodicSin(tick, 1, 211 * index, p.pressurePeriodTicks);
  return p.pressureMean + p.pressureSwing * s + p.pressureNoise * noiseAt(seed, KINDS.pressure.salt, index, tick);
}

export function booleanAt(index: number, tick: number, p: SignalParams = DEFAULT_SIGNAL_PARAMS): boolean {
  // Offsetting each tag by index ticks keeps them from all flipping in the same tick.
  return Math.floor((tick + index) / p.booleanHalfPeriodTicks) % 2 === 1;
}

/** A part counter: past 2^32 from the start (so both halves of the UInt64 matter), one part per tick. */
export function counterAt(index: number, tick: number): number {
  return index * 5_000_000_000 + tick;
}

export function batchIdAt(seed: number, index: number, tick: number, p: SignalParams = DEFAULT_SIGNAL_PARAMS): string {
  const batch = Math.floor(tick / p.batchPeriodTicks);
  return `B${seed}-${String(index).padStart(2, '0')}-${batch}`;
}

/** The value the plant serves for `tag` at `tick`: the one function a test compares against. */
export function valueAt(
  seed: number,
  tag: Pick<TagSpec, 'name' | 'kind' | 'index'>,
  tick: number,
  steps: readonly AmplitudeStep[] = [],
  p: SignalParams = DEFAULT_SIGNAL_PARAMS,
): TagValue {
  switch (tag.kind) {
    case 'vibration':
      return vibrationAt(seed, tag.index, tick, amplitudeAt(tag.name, tick, steps, p.vibrationAmplitude), p);
    case 'temperature':
      return temperatureAt(seed, tag.index, tick, p);
    case 'pressure':
      return pressureAt(seed, tag.index, tick, p);
    case 'boolean':
      return booleanAt(tag.index, tick, p);
    case 'string':
      return batchIdAt(seed, tag.index, tick, p);
    case 'counter':
      return counterAt(tag.index, tick);
  }
}
