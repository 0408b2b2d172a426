import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateBudget } from '../../../../shared/publish/rate-budget';
import { PublishConfigError } from '../../../../shared/publish/errors';

test('starts full: a burst, then one publish per 1000 / perSecond ms', () => {
  const b = new RateBudget({ perSecond: 10, burst: 3 });
  assert.deepEqual([b.take(1000), b.take(1000), b.take(1000), b.take(1000)], [true, true, true, false]);
  assert.equal(b.nextAvailableMs(1000), 1100);
  assert.equal(b.take(1099), false);
  assert.equal(b.nextAvailableMs(1099), 1100);
  assert.equal(b.take(1100), true);
  assert.equal(b.take(1100), false);
  // 350 ms later: 3.5 tokens earned, capped at the burst of 3.
  assert.equal(b.available(1450), 3);
  assert.equal(b.nextAvailableMs(1450), 1450);
});

test('fractional credit carries over exactly', () => {
  const b = new RateBudget({ perSecond: 4, burst: 1 });
  assert.equal(b.take(0), true);
  assert.equal(b.take(100), false); // 0.4 token
  assert.equal(b.take(200), false); // 0.8
  assert.equal(b.nextAvailableMs(200), 250);
  assert.equal(b.take(250), true); // exactly 1.0
  assert.equal(b.nextAvailableMs(250), 500);
});

test('in any interval of T s, at most burst + perSecond * T publishes', () => {
  const b = new RateBudget({ perSecond: 50, burst: 5 });
  const granted: number[] = [];
  for (let t = 0; t <= 10_000; t++) while (b.take(t)) granted.push(t);
  for (const T of [1, 2.5, 10]) {
    let j = 0;
    for (let i = 0; i < granted.length; i++) {
      while (granted[i]! - granted[j]! >= T * 1000) j++;
      assert.ok(i - j + 1 <= 5 + 50 * T, `${i - j + 1} publishes within ${T} s`);
    }
  }
  assert.equal(granted.length, 5 + 50 * 10);
});

test('a clock that steps back counts as no time and never stalls the bucket', () => {
  const b = new RateBudget({ perSecond: 10, burst: 1 });
  assert.equal(b.take(10_000), true);
  assert.equal(b.take(5_000), false); // stepped back: no credit, but the reference moves
  assert.equal(b.nextAvailableMs(5_000), 5_100);
  assert.equal(b.take(5_100), true);
});

test('default burst is a tenth of a second of publishes, at least 1', () => {
  assert.equal(new RateBudget({ perSecond: 50 }).burst, 5);
  assert.equal(new RateBudget({ perSecond: 3 }).burst, 1);
});

test('bad settings are configuration errors', () => {
  for (const c of [{ perSecond: 0 }, { perSecond: -1 }, { perSecond: NaN }, { perSecond: Infinity }, { perSecond: 10, burst: 0 }, { perSecond: 10, burst: 1.5 }]) {
    assert.throws(() => new RateBudget(c), PublishConfigError, JSON.stringify(c));
  }
});
