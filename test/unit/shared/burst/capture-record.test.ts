import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BurstRecorder, type Capture } from '../../../../shared/burst/burst-recorder';
import { CAPTURE_RECORD_VERSION, type CaptureMeta, encodeCaptureParts } from '../../../../shared/burst/capture-record';
import { BurstConfigError } from '../../../../shared/burst/errors';
import { formatNumber } from '../../../../shared/publish/number-format';

const T0 = 1_700_000_000_000;
const BAD = 0x80000000;
const UNCERTAIN = 0x40000000;
const META: CaptureMeta = {
  thingName: 'gw-1',
  site: 'plant-a',
  area: 'press-shop',
  mappingVersion: 'm-7',
  runId: 'r-01',
  tagName: 'Line1.Vib01',
  nodeId: 'ns=2;s=Line1.Vib01',
  unit: 'mm/s',
  samplingIntervalMs: 100,
  significantDigits: 6,
};

interface Part {
  type: string;
  version: number;
  captureId: string;
  part: number;
  parts: number;
  count: number;
  total: number;
  first: number;
  t0: number | null;
  dt: number[];
  v: (number | null)[];
  bad: [number, number][];
  [k: string]: unknown;
}

/** A real capture from the recorder: 700 samples of a sine with a Bad and an Uncertain sample. */
function realCapture(): Capture {
  const r = new BurstRecorder({ tags: [{ preTriggerMs: 60_000, postTriggerMs: 10_000, samplingIntervalMs: 100 }], cooldownMs: 0, maxCapturesPerHour: 10, maxCaptureMs: 300_000, idPrefix: 'r-01' });
  for (let k = 0; k <= 1000; k++) {
    const status = k === 500 ? BAD : k === 777 ? UNCERTAIN : 0;
    r.add(0, T0 + k * 100, 2 * Math.sin(k / 3) + (k > 900 ? 10 : 0), status);
  }
  r.trigger(0, T0 + 90_000, 'r-01-a1');
  const out: Capture[] = [];
  r.flush(Infinity, (c) => out.push(c));
  assert.equal(out.length, 1);
  return out[0]!;
}

function handmade(times: number[], values: number[], status: number[] = times.map(() => 0)): Capture {
  return {
    captureId: 'r-01-c9',
    tag: 3,
    alarmIds: ['r-01-a4'],
    triggerMs: times[1] ?? T0,
    startMs: (times[1] ?? T0) - 100,
    endMs: (times[1] ?? T0) + 200,
    times: Float64Array.from(times),
    values: Float64Array.from(values),
    status: Uint32Array.from(status),
    count: times.length,
    preTriggerCount: times.length > 0 ? 1 : 0,
    badCount: status.filter((s) => s >>> 30 !== 0).length,
    complete: true,
    incomplete: [],
    gaps: { count: 0, missingSamples: 0 },
  };
}

/** Parses every part and checks what must hold whatever the split: limits, ids, numbering, one line. */
function parseParts(c: Capture, parts: { id: string; data: string }[], limit: number): Part[] {
  return parts.map((p, i) => {
    assert.ok(Buffer.byteLength(p.data) <= limit, `part ${i + 1}: ${Buffer.byteLength(p.data)} > ${limit}`);
    assert.ok(!p.data.includes('\n'));
    assert.equal(p.id, `${c.captureId}/${i + 1}`);
    const doc = JSON.parse(p.data) as Part;
    assert.equal(doc.part, i + 1);
    assert.equal(doc.parts, parts.length);
    assert.equal(doc.total, c.count);
    return doc;
  });
}

/** The samples the parts describe, rebuilt as a consumer would: t = t0 + running sum of dt. */
function reassemble(docs: Part[]): { t: number[]; v: (number | null)[]; bad: Map<number, number> } {
  const t: number[] = [];
  const v: (number | null)[] = [];
  const bad = new Map<number, number>();
  for (const d of docs) {
    assert.equal(d.first, t.length, 'parts are contiguous');
    assert.equal(d.dt.length, d.count);
    assert.equal(d.v.length, d.count);
    let at = d.t0!;
    d.dt.forEach((dt, i) => {
      if (i === 0) assert.equal(dt, 0);
      at += dt;
      t.push(at);
    });
    v.push(...d.v);
    for (const [i, s] of d.bad) bad.set(d.first + i, s);
  }
  return { t, v, bad };
}

function expectSamples(c: Capture, docs: Part[], digits: number): void {
  const { t, v, bad } = reassemble(docs);
  assert.deepEqual(t, [...c.times]);
  assert.deepEqual(
    v,
    [...c.values].map((x) => (Number.isNaN(x) ? null : Number(formatNumber(x, digits)))),
  );
  const expectedBad = new Map<number, number>();
  c.status.forEach((s, i) => s >>> 30 !== 0 && expectedBad.set(i, s));
  assert.deepEqual(bad, expectedBad);
}

test('a real capture in one record: every field, and the samples back exactly', () => {
  const c = realCapture();
  const parts = encodeCaptureParts(c, META, 1_023_999);
  assert.equal(parts.length, 1);
  const [doc] = parseParts(c, parts, 1_023_999);
  const { dt, v, bad, ...header } = doc!;
  assert.deepEqual(header, {
    type: 'capture',
    version: CAPTURE_RECORD_VERSION,
    captureId: 'r-01-c1',
    part: 1,
    parts: 1,
    thingName: 'gw-1',
    site: 'plant-a',
    area: 'press-shop',
    mappingVersion: 'm-7',
    runId: 'r-01',
    tag: 'Line1.Vib01',
    nodeId: 'ns=2;s=Line1.Vib01',
    unit: 'mm/s',
    alarmIds: ['r-01-a1'],
    triggerMs: T0 + 90_000,
    startMs: T0 + 30_000,
    endMs: T0 + 100_000,
    intervalMs: 100,
    complete: true,
    incomplete: [],
    gaps: { count: 0, missingSamples: 0 },
    count: 700,
    total: 700,
    first: 0,
    preTriggerCount: 600,
    badCount: 2,
    t0: T0 + 30_000,
  });
  assert.deepEqual(bad, [
    [200, BAD],
    [477, UNCERTAIN],
  ]);
  assert.equal(v[200], null);
  assert.ok(dt.slice(1).every((d) => d === 100));
  expectSamples(c, [doc!], 6);
  assert.deepEqual(Object.keys(doc!).slice(0, 4), ['type', 'version', 'captureId', 'part'], 'field order as documented');
});

test('small limits: every part within the limit (bytes, not characters), parts reassemble to the exact samples', () => {
  const c = realCapture();
  const meta = { ...META, site: 'Zürich-Ω', area: 'Halle 3 – Presse 🔧' };
  for (const limit of [1_200, 2_000, 4_096, 7_000]) {
    const parts = encodeCaptureParts(c, meta, limit);
    const docs = parseParts(c, parts, limit);
    assert.ok(parts.length > 1, `${limit}: ${parts.length} parts`);
    assert.equal(docs[0]!.site, 'Zürich-Ω');
    expectSamples(c, docs, 6);
    // Greedy packing: every part but the last is too full to take the next sample, so the parts are
    // at most one sample's bytes (< 40 here) short of the limit.
    for (const p of parts.slice(0, -1)) assert.ok(Buffer.byteLength(p.data) > limit - 40, `${limit}: a part of ${Buffer.byteLength(p.data)} bytes`);
  }
  // at least 10 parts: the "parts" field itself gets a second digit
  const many = encodeCaptureParts(c, meta, 1_000);
  assert.ok(many.length >= 10, `${many.length}`);
  expectSamples(c, parseParts(c, many, 1_000), 6);
});

test('the size is measured exactly: the smallest limit holding one part, and one byte less', () => {
  const c = realCapture();
  const whole = encodeCaptureParts(c, META, 1_023_999);
  const exact = Buffer.byteLength(whole[0]!.data);
  assert.deepEqual(encodeCaptureParts(c, META, exact), whole);
  const split = encodeCaptureParts(c, META, exact - 1);
  assert.equal(split.length, 2);
  expectSamples(c, parseParts(c, split, exact - 1), 6);
});

test('a capture with 0 samples is one part with empty arrays and t0 null', () => {
  const c = handmade([], []);
  const parts = encodeCaptureParts(c, { ...META, unit: undefined }, 2_000);
  assert.equal(parts.length, 1);
  const [doc] = parseParts(c, parts, 2_000);
  assert.deepEqual([doc!.count, doc!.total, doc!.first, doc!.t0, doc!.dt, doc!.v, doc!.bad], [0, 0, 0, null, [], [], []]);
  assert.equal('unit' in doc!, false, 'unit is left out when undefined');
});

test('values: significant digits, null for NaN and infinities; times: exact for whole ms, 1 µs otherwise', () => {
  const c = handmade([T0, T0 + 100, T0 + 200, T0 + 300.25, T0 + 400.5], [1 / 3, NaN, Infinity, -12.5, 123456789.4], [0, BAD, 0, 0, 0]);
  const [doc] = parseParts(c, encodeCaptureParts(c, { ...META, significantDigits: 4 }, 2_000), 2_000);
  assert.deepEqual(doc!.v, [0.3333, null, null, -12.5, 123500000]);
  assert.deepEqual(doc!.dt, [0, 100, 100, 100.25, 100.25]);
  assert.deepEqual(doc!.bad, [[1, BAD]]);
  const t = reassemble([doc!]).t;
  t.forEach((x, i) => assert.ok(Math.abs(x - c.times[i]!) < 1e-3, `${x} vs ${c.times[i]}`));
});

test('a limit too small for one sample throws BurstConfigError saying so', () => {
  const c = realCapture();
  assert.throws(() => encodeCaptureParts(c, META, 300), (e: unknown) => e instanceof BurstConfigError && /cannot hold even one sample of capture r-01-c1/.test(e.message));
  assert.throws(() => encodeCaptureParts(handmade([], []), META, 50), BurstConfigError);
  assert.throws(() => encodeCaptureParts(c, META, 0), BurstConfigError);
  assert.throws(() => encodeCaptureParts(c, META, 1.5), BurstConfigError);
  assert.throws(() => encodeCaptureParts(c, { ...META, significantDigits: 0 }, 2_000), BurstConfigError);
  assert.throws(() => encodeCaptureParts(c, { ...META, nodeId: undefined as never }, 2_000), BurstConfigError);
});
