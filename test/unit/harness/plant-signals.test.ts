// The simulated plant's signals are the oracle of every e2e test: these pin them to exact numbers, so
// a change to a formula shows up here rather than as a mysterious mismatch in a collector test.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DEFAULT_SIGNAL_PARAMS,
  type AmplitudeStep,
  amplitudeAt,
  batchIdAt,
  booleanAt,
  noiseAt,
  plantTags,
  tickOf,
  timestampOf,
  valueAt,
  vibrationAt,
} from '../../harness/plant/signals';

const T = 17_700_000_000; // 2026-02-02T…: a realistic wall-clock tick, far above 2^32
const OPTS = { timeout: 5_000 };

describe('plant signals', () => {
  test('default tags and their NodeIds', OPTS, () => {
    const tags = plantTags();
    assert.deepEqual(
      tags.map((t) => [t.nodeId, t.kind, t.index, t.unit]),
      [
        ['ns=1;s=Line1.Vib01', 'vibration', 1, 'mm/s'],
        ['ns=1;s=Line1.Vib02', 'vibration', 2, 'mm/s'],
        ['ns=1;s=Line1.Temp01', 'temperature', 1, '°C'],
        ['ns=1;s=Line1.Press01', 'pressure', 1, 'bar'],
        ['ns=1;s=Line1.Running01', 'boolean', 1, null],
        ['ns=1;s=Line1.Batch01', 'string', 1, null],
      ],
    );
    assert.deepEqual(tags[0]?.range, { low: -50, high: 50 });
    assert.equal(tags[4]?.range, null);
  });

  test('names stay stable as counts grow', OPTS, () => {
    const tags = plantTags({ vibration: 10_000, temperature: 0, pressure: 0, booleans: 0, strings: 0 });
    assert.equal(tags.length, 10_000);
    assert.equal(tags[0]?.name, 'Line1.Vib01');
    assert.equal(tags[98]?.name, 'Line1.Vib99');
    assert.equal(tags[99]?.name, 'Line1.Vib100');
    assert.equal(tags[9_999]?.name, 'Line1.Vib10000');
    assert.throws(() => plantTags({ vibration: -1, temperature: 0, pressure: 0, booleans: 0, strings: 0 }), RangeError);
  });

  test('ticks are 100 ms wall-clock slots', OPTS, () => {
    assert.equal(tickOf(1_770_000_000_099), T);
    assert.equal(tickOf(1_770_000_000_100), T + 1);
    assert.equal(timestampOf(T), 1_770_000_000_000);
  });

  test('exact values at a given tick (regression numbers)', OPTS, () => {
    const [vib1, vib2, temp, press, running, batch] = plantTags();
    assert.ok(vib1 && vib2 && temp && press && running && batch);
    assert.equal(valueAt(1, vib1, T), 0.8458573210919442);
    assert.equal(valueAt(1, vib2, T), 1.5351483240755848);
    assert.equal(valueAt(1, temp, T), 62.99500118960858);
    assert.equal(valueAt(1, press, T), 4.296134642252508);
    assert.equal(valueAt(1, running, T), false);
    assert.equal(valueAt(1, batch, T), 'B1-01-59000000');
    assert.equal(valueAt(42, vib1, T + 1), 1.8778668438016324);
    assert.equal(valueAt(42, batch, T + 1), 'B42-01-59000000');
  });

  test('noise is a pure hash of (seed, salt, index, tick) in [-1, 1)', OPTS, () => {
    assert.equal(noiseAt(1, 0x76, 1, T), -0.11402524076402187);
    assert.equal(noiseAt(1, 0x76, 1, T + 1), 0.9043597970157862);
    assert.equal(noiseAt(2, 0x76, 1, T), -0.8232709849253297);
    // No hidden sequence: asking again, or in another order, gives the same number.
    assert.equal(noiseAt(1, 0x76, 1, T), noiseAt(1, 0x76, 1, T));
    let min = 1;
    let max = -1;
    let sum = 0;
    for (let i = 0; i < 20_000; i++) {
      const n = noiseAt(7, 1, 3, T + i);
      min = Math.min(min, n);
      max = Math.max(max, n);
      sum += n;
    }
    assert.ok(min >= -1 && max < 1);
    assert.ok(min < -0.99 && max > 0.99, 'covers the range');
    assert.ok(Math.abs(sum / 20_000) < 0.02, 'centred');
  });

  test('vibration is a 1.3 Hz sine: 100 consecutive samples visit every phase once', OPTS, () => {
    const quiet = { ...DEFAULT_SIGNAL_PARAMS, vibrationNoise: 0 };
    // 13 cycles per 100 ticks, each tag shifted by 7 ticks of phase per index: exact integer reduction.
    assert.equal(vibrationAt(1, 1, 0, 2, quiet), 2 * Math.sin((2 * Math.PI * 7) / 100));
    assert.equal(vibrationAt(1, 1, T, 2, quiet), 2 * Math.sin((2 * Math.PI * 7) / 100)); // T is a multiple of 100
    assert.equal(vibrationAt(1, 1, T + 3, 2, quiet), 2 * Math.sin((2 * Math.PI * 46) / 100));
    assert.equal(vibrationAt(1, 1, T + 100, 2, quiet), vibrationAt(1, 1, T, 2, quiet));
    // 13 and 100 are coprime: 100 consecutive ticks visit all 100 phases once (a sine repeats some
    // values, sin x = sin(π - x); the noise makes every sample distinct).
    const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);
    const quietWindow = Array.from({ length: 100 }, (_, i) => vibrationAt(1, 1, T + i, 2, quiet));
    const everyPhase = Array.from({ length: 100 }, (_, k) => 2 * Math.sin((2 * Math.PI * k) / 100));
    assert.deepEqual(sorted(quietWindow), sorted(everyPhase));
    const noisy = new Set(Array.from({ length: 100 }, (_, i) => vibrationAt(1, 1, T + i, 2)));
    assert.equal(noisy.size, 100);
  });

  test('an amplitude step applies from its tick on, latest step wins', OPTS, () => {
    const steps: AmplitudeStep[] = [
      { tag: 'Line1.Vib01', fromTick: T + 10, amplitude: 8 },
      { tag: 'Line1.Vib02', fromTick: T + 5, amplitude: 3 },
      { tag: 'Line1.Vib01', fromTick: T + 20, amplitude: 0.5 },
    ];
    assert.equal(amplitudeAt('Line1.Vib01', T + 9, steps, 2), 2);
    assert.equal(amplitudeAt('Line1.Vib01', T + 10, steps, 2), 8);
    assert.equal(amplitudeAt('Line1.Vib01', T + 19, steps, 2), 8);
    assert.equal(amplitudeAt('Line1.Vib01', T + 20, steps, 2), 0.5);
    assert.equal(amplitudeAt('Line1.Vib02', T + 20, steps, 2), 3);
    const [vib1] = plantTags();
    assert.ok(vib1);
    assert.equal(valueAt(1, vib1, T, [{ tag: 'Line1.Vib01', fromTick: T, amplitude: 10 }]), 4.252091653612526);
    assert.equal(valueAt(1, vib1, T - 1, steps), valueAt(1, vib1, T - 1));
  });

  test('slow values: temperature drifts, the Boolean flips every 5 s, the batch changes every 30 s', OPTS, () => {
    const [, , temp] = plantTags();
    assert.ok(temp);
    const p = DEFAULT_SIGNAL_PARAMS;
    for (let i = 0; i < 50; i++) {
      // one 100 ms step moves the temperature by at most the sine's slope plus the noise width
      const d = Math.abs((valueAt(1, temp, T + i + 1) as number) - (valueAt(1, temp, T + i) as number));
      assert.ok(d <= (2 * Math.PI * p.temperatureSwing) / p.temperaturePeriodTicks + 2 * p.temperatureNoise);
    }
    // Running01 is offset by its index: it flips when (tick + 1) crosses a multiple of 50
    assert.equal(booleanAt(1, T + 48), false);
    assert.equal(booleanAt(1, T + 49), true);
    assert.equal(booleanAt(1, T + 98), true);
    assert.equal(booleanAt(1, T + 99), false);
    assert.equal(batchIdAt(1, 1, T + 299), 'B1-01-59000000');
    assert.equal(batchIdAt(1, 1, T + 300), 'B1-01-59000001');
  });
});
