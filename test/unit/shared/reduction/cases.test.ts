// Runs every data-driven case in ./cases/<case>/{config,input,expected}.json through a SampleGate
// and the stage the case names, and compares what each flush emitted and the counters.
//
// config.json   { "stage": "rms" | "deadband" | "change", "kinds": [SampleKind per tag], "tags": [stage config per tag] }
// input.json    [ [tag, sourceTimeMs, value, status?] | { "flush": nowMs } | { "keepAlive": asOfMs } ]
//               keepAlive: the encoders' keepAlive(asOfMs), as the pipeline calls it before a flush.
//               status: a number or "Good" | "Uncertain" | "Bad" (default "Good");
//               { "$": "NaN" | "Infinity" | "-Infinity" | "undefined" } stands for what JSON cannot hold.
// expected.json { "flushes": [[record, ...] per flush], "gate": counters, "stage": counters }
//               numbers in records are compared with a relative tolerance of 1e-12.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ChangeEncoder, DeadbandEncoder, Gate, RmsWindow, SampleGate, STATUS_BAD, STATUS_GOOD, STATUS_UNCERTAIN } from '../../../../shared/reduction';

const CASES_DIR = join(__dirname, 'cases');
const TOLERANCE = 1e-12;
const STATUS_NAMES: Record<string, number> = { Good: STATUS_GOOD, Uncertain: STATUS_UNCERTAIN, Bad: STATUS_BAD };
const SPECIALS: Record<string, unknown> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity, undefined: undefined };

interface Stage {
  add(tag: number, t: number, value: never, status: number): void;
  flush(nowMs: number, emit: (r: object) => void): void;
  keepAlive?(asOfMs: number): void;
  counters(): object;
}

function decode(x: unknown): unknown {
  if (x !== null && typeof x === 'object' && !Array.isArray(x) && Object.keys(x).length === 1 && '$' in x) {
    const name = (x as { $: string }).$;
    assert.ok(name in SPECIALS, `unknown special value ${name}`);
    return SPECIALS[name];
  }
  return x;
}

function buildStage(config: { stage: string; tags: never[] }): Stage {
  switch (config.stage) {
    case 'rms':
      return new RmsWindow({ tags: config.tags }) as unknown as Stage;
    case 'deadband':
      return new DeadbandEncoder({ tags: config.tags }) as unknown as Stage;
    case 'change':
      return new ChangeEncoder({ tags: config.tags }) as unknown as Stage;
    default:
      throw new Error(`unknown stage ${config.stage}`);
  }
}

function assertMatches(actual: unknown, expected: unknown, path: string): void {
  if (typeof expected === 'number' && typeof actual === 'number' && expected !== 0 && Number.isFinite(expected)) {
    const rel = Math.abs(actual - expected) / Math.abs(expected);
    assert.ok(rel <= TOLERANCE, `${path}: ${actual} vs expected ${expected} (relative error ${rel})`);
  } else if (expected !== null && typeof expected === 'object') {
    assert.ok(actual !== null && typeof actual === 'object', `${path}: expected an object, got ${JSON.stringify(actual)}`);
    assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort(), `${path}: fields`);
    for (const k of Object.keys(expected)) assertMatches((actual as Record<string, unknown>)[k], (expected as Record<string, unknown>)[k], `${path}.${k}`);
  } else {
    assert.equal(actual, expected, path);
  }
}

const read = (dir: string, file: string) => JSON.parse(readFileSync(join(CASES_DIR, dir, file), 'utf8'));

for (const name of readdirSync(CASES_DIR).sort()) {
  test(`case ${name}`, () => {
    const config = read(name, 'config.json');
    const input: unknown[] = read(name, 'input.json');
    const expected = read(name, 'expected.json');
    const gate = new SampleGate({ kinds: config.kinds });
    const stage = buildStage(config);
    const flushes: object[][] = [];
    for (const step of input) {
      if (Array.isArray(step)) {
        const [tag, t, rawValue, rawStatus = 'Good'] = step as [number, unknown, unknown, unknown];
        const status = typeof rawStatus === 'string' ? STATUS_NAMES[rawStatus]! : (rawStatus as number);
        const value = decode(rawValue);
        const code = gate.check(tag, decode(t) as number, value, status);
        // The runtime's wiring: values go on, status-only samples go on without their value.
        if (code === Gate.VALUE) stage.add(tag, decode(t) as number, value as never, status);
        else if (code === Gate.STATUS_ONLY) stage.add(tag, decode(t) as number, (config.stage === 'change' ? null : NaN) as never, status);
      } else if ('keepAlive' in (step as object)) {
        assert.ok(stage.keepAlive, `${config.stage} has no keepAlive`);
        stage.keepAlive((step as { keepAlive: number }).keepAlive);
      } else {
        const out: object[] = [];
        stage.flush((step as { flush: number }).flush, (r) => out.push({ ...r }));
        flushes.push(out);
      }
    }
    assert.equal(flushes.length, expected.flushes.length, 'number of flushes');
    flushes.forEach((records, i) => {
      assert.equal(records.length, expected.flushes[i].length, `flush ${i}: number of records: ${JSON.stringify(records)}`);
      records.forEach((r, j) => assertMatches(r, expected.flushes[i][j], `flush ${i} record ${j}`));
    });
    assert.deepEqual(gate.counters(), expected.gate, 'gate counters');
    assert.deepEqual(stage.counters(), expected.stage, 'stage counters');
  });
}

test('there are at least the seven required cases', () => {
  assert.ok(readdirSync(CASES_DIR).length >= 7);
});
