import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BurstConfigError } from '../../../../shared/burst/errors';
import { RawRing } from '../../../../shared/burst/raw-ring';
import { SampleBuffer } from '../../../../shared/burst/sample-buffer';

const T0 = 1_700_000_000_000;
const BAD = 0x80000000;

/** Everything `copySince(tag, fromMs)` hands over, as plain arrays. */
function since(ring: RawRing, tag: number, fromMs: number): { n: number; t: number[]; v: number[]; s: number[] } {
  const out = new SampleBuffer(0);
  const n = ring.copySince(tag, fromMs, out);
  return { n, t: [...out.times()], v: [...out.values()], s: [...out.status()] };
}

test('SampleBuffer grows by doubling, keeps what it held, and its views cover exactly `length`', () => {
  const b = new SampleBuffer(2);
  assert.equal(b.bytes, 40);
  for (let i = 0; i < 3; i++) b.push(T0 + i, i * 1.5, i === 1 ? BAD : 0);
  assert.equal(b.length, 3);
  assert.equal(b.capacity, 16, 'grows to at least 16');
  assert.equal(b.bytes, 16 * 20);
  assert.deepEqual([...b.times()], [T0, T0 + 1, T0 + 2]);
  assert.deepEqual([...b.values()], [0, 1.5, 3]);
  assert.deepEqual([...b.status()], [0, BAD, 0]);
  for (let i = 3; i < 17; i++) b.push(T0 + i, i, 0);
  assert.equal(b.capacity, 32);
  assert.equal(b.times()[16], T0 + 16);
  b.clear();
  assert.equal(b.length, 0);
  assert.equal(b.times().length, 0);
  assert.equal(b.bytes, 32 * 20, 'clear keeps the allocation');
  assert.equal(new SampleBuffer().capacity, 64);
  assert.throws(() => new SampleBuffer(-1), BurstConfigError);
  assert.throws(() => new SampleBuffer(1.5), BurstConfigError);
});

test('one allocation for all rings: bytes = 20 per slot; tags without a ring are ignored', () => {
  const ring = new RawRing({ capacities: [3, null, 0, 5, undefined] });
  assert.equal(ring.bytes, 8 * 20);
  assert.deepEqual([0, 1, 2, 3, 4, 5, -1, 0.5].map((t) => ring.has(t)), [true, false, false, true, false, false, false, false]);
  ring.add(1, T0, 1, 0);
  ring.add(2, T0, 1, 0);
  ring.add(7, T0, 1, 0);
  ring.add(-1, T0, 1, 0);
  assert.equal(ring.size(1), 0);
  assert.equal(ring.size(7), 0);
  assert.ok(Number.isNaN(ring.oldestMs(1)));
  assert.equal(ring.copySince(1, 0, new SampleBuffer()), 0);
  assert.equal(ring.wrapped(1), false);
  // an empty ringed tag
  assert.equal(ring.size(0), 0);
  assert.ok(Number.isNaN(ring.oldestMs(0)));
  assert.ok(Number.isNaN(ring.newestMs(0)));
});

test('wraparound: the oldest sample is overwritten, wrapped() turns true only then, tags stay apart', () => {
  const ring = new RawRing({ capacities: [3, 2] });
  ring.add(0, T0 + 100, 1, 0);
  ring.add(0, T0 + 200, 2, 0);
  ring.add(1, T0 + 150, -1, BAD);
  assert.deepEqual([ring.size(0), ring.oldestMs(0), ring.newestMs(0), ring.wrapped(0)], [2, T0 + 100, T0 + 200, false]);
  ring.add(0, T0 + 300, 3, 0);
  assert.deepEqual([ring.size(0), ring.oldestMs(0), ring.newestMs(0), ring.wrapped(0)], [3, T0 + 100, T0 + 300, false], 'full, nothing lost yet');
  ring.add(0, T0 + 400, 4, 0);
  assert.deepEqual([ring.size(0), ring.oldestMs(0), ring.newestMs(0), ring.wrapped(0)], [3, T0 + 200, T0 + 400, true]);
  assert.deepEqual(since(ring, 0, -Infinity), { n: 3, t: [T0 + 200, T0 + 300, T0 + 400], v: [2, 3, 4], s: [0, 0, 0] });
  for (let k = 5; k <= 7; k++) ring.add(0, T0 + k * 100, k, 0);
  assert.deepEqual(since(ring, 0, 0).t, [T0 + 500, T0 + 600, T0 + 700]);
  assert.deepEqual(since(ring, 1, 0), { n: 1, t: [T0 + 150], v: [-1], s: [BAD] }, 'tag 1 untouched by tag 0 wrapping');
  assert.equal(ring.wrapped(1), false);
});

test('copySince: t >= fromMs exactly, across the physical end of the ring, oldest first', () => {
  const ring = new RawRing({ capacities: [2, 5, 2] });
  // 7 samples into 5 slots: the held window 3000..7000 starts at slot 2 and wraps to slot 0.
  for (let k = 1; k <= 7; k++) ring.add(1, T0 + k * 1000, k * 10, k === 6 ? BAD : 0);
  ring.add(0, T0, 99, 0);
  ring.add(2, T0, 98, 0);
  assert.deepEqual(since(ring, 1, T0 + 4000), { n: 4, t: [T0 + 4000, T0 + 5000, T0 + 6000, T0 + 7000], v: [40, 50, 60, 70], s: [0, 0, BAD, 0] });
  assert.deepEqual(since(ring, 1, T0 + 3999.5).t, [T0 + 4000, T0 + 5000, T0 + 6000, T0 + 7000]);
  assert.deepEqual(since(ring, 1, T0 + 4000.5).t, [T0 + 5000, T0 + 6000, T0 + 7000]);
  assert.deepEqual(since(ring, 1, T0 + 7000).t, [T0 + 7000], 'the newest, inclusive');
  assert.deepEqual(since(ring, 1, T0 + 7001), { n: 0, t: [], v: [], s: [] });
  assert.deepEqual(since(ring, 1, T0).t, [T0 + 3000, T0 + 4000, T0 + 5000, T0 + 6000, T0 + 7000], 'older than the ring: all it holds');
  // appends after what `out` already holds
  const out = new SampleBuffer(1);
  out.push(1, 2, 3);
  assert.equal(ring.copySince(1, T0 + 6000, out), 2);
  assert.deepEqual([...out.times()], [1, T0 + 6000, T0 + 7000]);
  // copyRange is [from, to)
  const r = new SampleBuffer();
  assert.equal(ring.copyRange(1, T0 + 3000, T0 + 6000, r), 3);
  assert.deepEqual([...r.times()], [T0 + 3000, T0 + 4000, T0 + 5000]);
});

test('every position of the write head gives the same answer as a plain array', () => {
  const cap = 7;
  const ring = new RawRing({ capacities: [cap] });
  const all: number[] = [];
  for (let k = 0; k < 30; k++) {
    ring.add(0, k * 10, k, 0);
    all.push(k * 10);
    const held = all.slice(-cap);
    for (const from of [-1, held[0]!, held[0]! + 5, held[held.length - 1]!, k * 10 + 1, held[Math.floor(held.length / 2)]!]) {
      assert.deepEqual(since(ring, 0, from).t, held.filter((t) => t >= from), `after ${k + 1} adds, from ${from}`);
    }
    assert.equal(ring.wrapped(0), k >= cap);
  }
});

test('invalid capacities throw BurstConfigError naming the tag', () => {
  for (const bad of [-1, 1.5, Infinity, NaN, '3']) {
    assert.throws(
      () => new RawRing({ capacities: [10, bad as number] }),
      (e: unknown) => e instanceof BurstConfigError && e.name === 'BurstConfigError' && e.tag === 1 && /tag 1/.test(e.message),
      String(bad),
    );
  }
  assert.throws(() => new RawRing({ capacities: 'x' as never }), BurstConfigError);
});
