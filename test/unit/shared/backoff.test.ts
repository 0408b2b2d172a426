// Capped exponential backoff with full jitter, with exact numbers from a fixed random sequence.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Backoff } from '../../../shared/backoff';

/** Returns the given values in turn, then fails the test if asked for more. */
function sequence(...values: number[]): () => number {
  let i = 0;
  return () => {
    const v = values[i++];
    assert.ok(v !== undefined, 'random source asked for more values than the test provided');
    return v;
  };
}

describe('Backoff', () => {
  test('the ceiling doubles from initialDelayMs and stops at maxDelayMs', () => {
    const b = new Backoff({ initialDelayMs: 500, maxDelayMs: 30_000 }, () => 0);
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 6, 7, 100, 10_000].map((n) => b.ceiling(n)),
      [500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000, 30_000],
    );
  });

  test('full jitter: the delay is floor(random * ceiling)', () => {
    const b = new Backoff({ initialDelayMs: 500, maxDelayMs: 30_000 }, sequence(0.5, 0.25, 0.999, 0, 0.1, 0.75, 0.5));
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 9].map((n) => b.nextDelay(n)),
      [250, 250, 1_998, 0, 800, 12_000, 15_000],
    );
  });

  test('next() counts failures, reset() starts again from the initial ceiling', () => {
    const b = new Backoff({ initialDelayMs: 100, maxDelayMs: 1_000 }, () => 0.5);
    assert.deepEqual([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()], [50, 100, 200, 400, 500, 500]);
    assert.equal(b.attempts, 6);
    b.reset();
    assert.equal(b.attempts, 0);
    assert.deepEqual([b.next(), b.next()], [50, 100]);
  });

  test('a random source outside [0, 1) cannot exceed the cap', () => {
    const b = new Backoff({ initialDelayMs: 100, maxDelayMs: 400 }, sequence(1, 7, -0.5, Number.NaN));
    assert.deepEqual([b.nextDelay(10), b.nextDelay(10), b.nextDelay(10), b.nextDelay(10)], [0, 0, 0, 0]);
  });

  test('huge attempt numbers stay finite', () => {
    const b = new Backoff({ initialDelayMs: 1, maxDelayMs: 2 ** 60 }, () => 0.5);
    assert.equal(b.ceiling(1_000_000), 2 ** 52);
    assert.ok(Number.isFinite(b.nextDelay(Number.MAX_SAFE_INTEGER)));
  });

  test('an invalid policy is refused at construction', () => {
    assert.throws(() => new Backoff({ initialDelayMs: 0, maxDelayMs: 10 }, Math.random), RangeError);
    assert.throws(() => new Backoff({ initialDelayMs: 100, maxDelayMs: 50 }, Math.random), /at least initialDelayMs = 100/);
    assert.throws(() => new Backoff({ initialDelayMs: Number.NaN, maxDelayMs: 50 }, Math.random), RangeError);
  });
});
