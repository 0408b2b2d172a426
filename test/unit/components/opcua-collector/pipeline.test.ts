// CollectorPipeline: samples in, the rows a cloud reader decodes out of `tick`, with exact numbers.
// The pipeline never reads the clock, so every case here drives it with source times and `nowMs`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCollectorConfig } from '../../../../components/opcua-collector/src/config';
import { CollectorPipeline } from '../../../../components/opcua-collector/src/pipeline';
import type { EncodedMessage } from '../../../../shared/publish';
import { decode } from '../../shared/publish/helpers';
import { BASE_CONFIG } from './config-fixture';

/** A whole second of source time: windows are [T0 + k*1000, T0 + (k+1)*1000). */
const T0 = 1_718_000_000_000;
const GOOD = 0;
const BAD = 0x80000000;
const UNCERTAIN = 0x40000000;
const VIB0 = 0;
const VIB1 = 1;
const TEMP = 2;
const RUN = 3;

/**
 * Two rms tags (1 s windows of 10 samples), one deadband tag (0.5 absolute), one change tag. 17
 * significant digits make the published numbers exactly the float64 the stages computed.
 */
function pipeline(): CollectorPipeline {
  const config = parseCollectorConfig({
    ...structuredClone(BASE_CONFIG),
    tags: [
      { name: 'Vib01', nodeId: 'ns=3;s=Vib01', mode: 'rms' },
      { name: 'Vib02', nodeId: 'ns=3;s=Vib02', mode: 'rms' },
      { name: 'Temp01', nodeId: 'ns=3;s=Temp01', mode: 'deadband', deadband: { absolute: 0.5 } },
      { name: 'Run01', nodeId: 'ns=3;s=Run01', mode: 'change' },
    ],
    publish: { significantDigits: 17, rmsFields: ['rms', 'mean', 'min', 'max', 'peak'] },
  });
  return new CollectorPipeline(config, { thingName: 'gw-unit', runId: 'run-1' });
}

/** Good samples of one tag every 100 ms from `fromMs`. */
function feed(p: CollectorPipeline, tag: number, fromMs: number, values: readonly number[]): void {
  values.forEach((v, k) => p.onSample(tag, fromMs + 100 * k, v, GOOD));
}

/**
 * Rows of every message of one stream, decoded as a cloud reader would: `time` = t0 + dt. `dt` is
 * left out (it depends on which row came first in its message); `time` is what a reader keeps.
 */
function rowsOf(messages: readonly EncodedMessage[], stream: 'rms' | 'deadband' | 'change'): Record<string, unknown>[] {
  return messages
    .filter((m) => m.stream === stream)
    .flatMap((m) => decode(m.payload).rows)
    .map(({ dt: _dt, ...row }) => row);
}

/** What an rms row must say for a window of Good values (and `bad` Bad samples), from the definitions. */
function expectedWindow(tag: number, startMs: number, xs: readonly number[], bad = 0): Record<string, unknown> {
  let sumSq = 0;
  let sum = 0;
  for (const x of xs) {
    sumSq += x * x;
    sum += x;
  }
  const min = Math.min(...xs);
  const max = Math.max(...xs);
  return {
    tag,
    time: startMs,
    status: 0,
    count: xs.length,
    bad,
    missed: 0,
    rms: Math.sqrt(sumSq / xs.length),
    mean: sum / xs.length,
    min,
    max,
    peak: Math.max(Math.abs(min), Math.abs(max)),
  };
}

test('rms: a closed window becomes one row with exact statistics, in a message a reader decodes', () => {
  const p = pipeline();
  const a = [1.5, -2, 3.25, 0, -1, 2.5, 4, -3.75, 0.5, 1];
  const b = [0.1, 0.2, 0.3, 99, 0.5, 0.6, 0.7, 0.8, 0.9, 1.1];
  feed(p, VIB0, T0, a);
  b.forEach((v, k) => p.onSample(VIB1, T0 + 100 * k, v, k === 3 ? BAD : GOOD));
  // A sample of the next window closes the first one; the window it opens stays open.
  p.onSample(VIB0, T0 + 1000, 7, GOOD);
  p.onSample(VIB1, T0 + 1000, 7, GOOD);

  const out = p.tick(T0 + 1234);
  assert.deepEqual(
    out.map((m) => [m.stream, m.seq, m.rows]),
    [['rms', 0, 2]],
  );
  const { header, rows } = decode(out[0]!.payload);
  assert.deepEqual(rows.map((r) => r.dt), [0, 0], 'dt is the offset from t0');
  assert.deepEqual(header, {
    v: 1,
    type: 'rms',
    thingName: 'gw-unit',
    site: 'lyon',
    area: 'line-1',
    mappingVersion: '7',
    runId: 'run-1',
    statusNames: ['ok', 'noGoodData', 'noData'],
    seq: 0,
    t0: T0,
    at: T0 + 1234,
  });
  const goodB = b.filter((_, k) => k !== 3);
  assert.deepEqual(rowsOf(out, 'rms'), [expectedWindow(VIB0, T0, a), expectedWindow(VIB1, T0, goodB, 1)]);
  assert.equal(p.counters().points, 2);

  // Nothing closed since: no message. The next window gets the next seq.
  assert.deepEqual(p.tick(T0 + 1500), []);
  feed(p, VIB0, T0 + 1100, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  p.onSample(VIB0, T0 + 2000, 0, GOOD);
  const next = p.tick(T0 + 2100);
  assert.deepEqual(next.map((m) => [m.stream, m.seq]), [['rms', 1]]);
  assert.deepEqual(rowsOf(next, 'rms'), [expectedWindow(VIB0, T0 + 1000, [7, 1, 2, 3, 4, 5, 6, 7, 8, 9])]);
});

test('deadband: first value, moves beyond the deadband, a Bad status point and the Good value after it', () => {
  const p = pipeline();
  feed(p, TEMP, T0, [20, 20.3, 20.6, 20.9, 21.0, 21.2]);
  p.onSample(TEMP, T0 + 600, 0, BAD);
  p.onSample(TEMP, T0 + 700, 21.25, GOOD);
  p.onSample(TEMP, T0 + 800, 21.3, GOOD);
  const out = p.tick(T0 + 1000);
  assert.deepEqual(out.map((m) => [m.stream, m.seq]), [['deadband', 0]]);
  const row = (dtMs: number, value: number | null, status: number, suppressed: number) => ({ tag: TEMP, time: T0 + dtMs, value, status, suppressed, deadband: 0.5 });
  assert.deepEqual(rowsOf(out, 'deadband'), [
    row(0, 20, GOOD, 0),
    row(200, 20.6, GOOD, 1), // 20.3 stayed inside
    row(500, 21.2, GOOD, 2), // 20.9 and 21.0 stayed within 0.5 of the last *sent* 20.6
    row(600, null, BAD, 0), // the status changed: a status-only point, no made-up value
    row(700, 21.25, GOOD, 0), // back to Good: the value at once
  ]);
  const c = p.counters();
  assert.equal(c.points, 5);
  assert.equal(c.suppressed, 4, '20.3, 20.9, 21.0 and 21.3');
  assert.deepEqual(c.statusOnly, { bad: 1, uncertain: 0 });
});

test('change: the first value and every change, with the samples suppressed in between', () => {
  const p = pipeline();
  const values: unknown[] = [true, true, true, false, false, 'RUNNING'];
  values.forEach((v, k) => p.onSample(RUN, T0 + 100 * k, v, GOOD));
  const out = p.tick(T0 + 1000);
  assert.deepEqual(out.map((m) => [m.stream, m.seq]), [['change', 0]]);
  assert.deepEqual(rowsOf(out, 'change'), [
    { tag: RUN, time: T0, value: true, status: 0, suppressed: 0 },
    { tag: RUN, time: T0 + 300, value: false, status: 0, suppressed: 2 },
    { tag: RUN, time: T0 + 500, value: 'RUNNING', status: 0, suppressed: 1 },
  ]);
  assert.equal(p.counters().suppressed, 3);
});

test('bad samples are counted by reason, never thrown, and never reach a window', () => {
  const p = pipeline();
  feed(p, VIB0, T0, [1, 2, 3]); // last accepted time T0 + 200
  const bad: Array<[number, number, unknown, number]> = [
    [VIB0, T0 + 300, NaN, GOOD],
    [VIB0, T0 + 300, '4', GOOD],
    [VIB0, T0 + 300, Infinity, GOOD],
    [VIB0, T0 + 300, undefined, GOOD],
    [VIB0, NaN, 4, GOOD],
    [VIB0, T0 + 300, 4, -1],
    [VIB0, T0 + 300, 4, 1.5],
    [VIB0, T0 + 100, 4, GOOD], // before the last accepted sample
    [VIB0, T0 + 200, 4, GOOD], // the same source time again
    [99, T0 + 300, 4, GOOD],
    [-1, T0 + 300, 4, GOOD],
    [TEMP, T0, true, GOOD],
    [RUN, T0, undefined, GOOD],
  ];
  for (const [tag, t, v, s] of bad) assert.doesNotThrow(() => p.onSample(tag, t, v, s));
  p.onSample(VIB0, T0 + 300, 123, BAD);
  p.onSample(VIB0, T0 + 400, 456, UNCERTAIN);
  p.onSample(VIB0, T0 + 500, 4, GOOD);
  p.onSample(VIB0, T0 + 1000, 0, GOOD);

  const c = p.counters();
  assert.equal(c.samples, 3 + bad.length + 4);
  assert.deepEqual(c.gateDropped, { nan: 1, wrongType: 4, infinite: 1, invalidTimestamp: 1, invalidStatus: 2, outOfOrder: 1, duplicate: 1, unknownTag: 2 });
  assert.deepEqual(c.statusOnly, { bad: 1, uncertain: 1 });
  assert.deepEqual(c.stageDropped, {});
  let out: EncodedMessage[] = [];
  assert.doesNotThrow(() => (out = p.tick(T0 + 1100)));
  // The Bad and Uncertain samples count in `bad`; their values never reach the statistics.
  assert.deepEqual(rowsOf(out, 'rms'), [expectedWindow(VIB0, T0, [1, 2, 3, 4], 2)]);
});

test('event time closes windows: the wall clock does not, a later source time (less the lateness) does', () => {
  const p = pipeline();
  // Lateness with the default 1000 ms publishing interval: 2 x 1000 + 500.
  const LATENESS = 2_500;
  feed(p, VIB0, T0, [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
  // A minute of wall clock later, VIB0's window is still open: its end has not passed in source time.
  assert.deepEqual(p.tick(T0 + 60_000), []);

  // VIB1 runs on to just before the watermark reaches the end of VIB0's window.
  feed(p, VIB1, T0, Array.from({ length: 35 }, () => 2)); // up to T0 + 3400: watermark T0 + 900
  let rms = rowsOf(p.tick(T0 + 60_100), 'rms');
  assert.deepEqual(rms.map((r) => [r.tag, r.time]), [[VIB1, T0], [VIB1, T0 + 1000], [VIB1, T0 + 2000]], 'VIB1 closed its own windows; VIB0 still open');

  p.onSample(VIB1, T0 + 1000 + LATENESS, 2, GOOD); // watermark = T0 + 1000: VIB0's window ends
  // The wall clock may even step back: it plays no part.
  rms = rowsOf(p.tick(T0 - 3_600_000), 'rms');
  assert.deepEqual(rms, [{ ...expectedWindow(VIB0, T0, Array.from({ length: 10 }, () => 1)) }]);
  assert.equal(p.counters().samplingGaps, 0);

  // VIB0 stays silent while the watermark passes another whole window: one noData row for it.
  feed(p, VIB1, T0 + 3600, Array.from({ length: 10 }, () => 2)); // up to T0 + 4500: watermark T0 + 2000
  rms = rowsOf(p.tick(T0), 'rms');
  assert.deepEqual(
    rms.filter((r) => r.tag === VIB0),
    [{ tag: VIB0, time: T0 + 1000, status: 2, count: 0, bad: 0, missed: 1, rms: null, mean: null, min: null, max: null, peak: null }],
  );
  assert.equal(p.counters().samplingGaps, 10, 'a whole window of VIB0 missing');
});

test('tick(now, true) closes the open windows as partial windows, not counted as gaps, and invents none', () => {
  const p = pipeline();
  feed(p, VIB0, T0, [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
  feed(p, VIB0, T0 + 1000, [2, 2, 2, 2]); // closes [T0, T0+1000); the next window has 4 samples so far
  feed(p, VIB1, T0 + 1100, [3, 3]);
  feed(p, TEMP, T0, [20]);
  assert.deepEqual(rowsOf(p.tick(T0 + 1400), 'rms').map((r) => [r.tag, r.time]), [[VIB0, T0]]);

  const out = p.tick(T0 + 1500, true);
  assert.deepEqual(rowsOf(out, 'rms'), [expectedWindow(VIB0, T0 + 1000, [2, 2, 2, 2]), expectedWindow(VIB1, T0 + 1000, [3, 3])]);
  assert.equal(p.counters().samplingGaps, 0, 'a window cut short by the shutdown is not a sampling gap');
  // Nothing is left open and no empty window is made up after the last sample.
  assert.deepEqual(p.tick(T0 + 1600, true), []);
});

test('samplingGaps: missing samples of windows that closed, the first (mid-window) one excepted', () => {
  const p = pipeline();
  feed(p, VIB0, T0 + 500, [1, 1, 1, 1, 1]); // the collector started mid-window: not a gap
  feed(p, VIB0, T0 + 1000, [1, 1, 1, 1, 1, 1, 1]); // 7 of 10: 3 missing
  feed(p, VIB0, T0 + 2000, [1, 1, 1, 1, 1, 1, 1, 1]); // 8 Good...
  p.onSample(VIB0, T0 + 2800, 0, BAD); // ...and 2 Bad: all 10 arrived
  p.onSample(VIB0, T0 + 2900, 0, BAD);
  // Nothing from T0 + 3000 to T0 + 5000: two whole windows missing (20 samples).
  feed(p, VIB0, T0 + 5000, [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
  p.onSample(VIB0, T0 + 6000, 1, GOOD);
  const rms = rowsOf(p.tick(T0 + 6100), 'rms');
  assert.deepEqual(
    rms.map((r) => [(r.time as number) - T0, r.status, r.count, r.bad, r.missed]),
    [
      [0, 0, 5, 0, 0],
      [1000, 0, 7, 0, 0],
      [2000, 0, 8, 2, 0],
      [3000, 2, 0, 0, 2],
      [5000, 0, 10, 0, 0],
    ],
  );
  assert.equal(p.counters().samplingGaps, 3 + 20);
});

test('samplingGaps: a window closed by a later sample but not yet flushed is counted at the shutdown flush', () => {
  const p = pipeline();
  feed(p, VIB0, T0, [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
  feed(p, VIB0, T0 + 1000, [1, 1, 1, 1, 1, 1]); // 6 of 10: 4 missing
  p.tick(T0 + 1600);
  feed(p, VIB0, T0 + 2000, [1, 1, 1]); // closes [T0+1000, T0+2000): a complete window, gaps and all
  // SIGTERM before the next tick: the shutdown flush emits the closed window and the partial one.
  const rms = rowsOf(p.tick(T0 + 2300, true), 'rms');
  assert.deepEqual(rms.map((r) => [(r.time as number) - T0, r.count]), [[1000, 6], [2000, 3]]);
  assert.equal(p.counters().samplingGaps, 4, 'the 4 samples missing from the closed window; none for the partial one');
});

test('keep-alive: with the source vouching up to aliveAsOfMs, quiet deadband and change tags repeat their last point once the heartbeat (60 s) is due', () => {
  const p = pipeline();
  // A server that reports only changes: one sample each, then nothing.
  p.onSample(TEMP, T0, 21.5, GOOD);
  p.onSample(RUN, T0 + 200, true, GOOD);
  assert.deepEqual(rowsOf(p.tick(T0 + 1_000), 'deadband').map((r) => [r.tag, r.time, r.value]), [[TEMP, T0, 21.5]]);
  // No word from the source: no keep-alive, however late.
  assert.deepEqual(p.tick(T0 + 3_600_000), []);
  assert.deepEqual(p.tick(T0 + 3_600_000, false, undefined), []);
  // The source vouches up to T0 + 59_999: not due yet.
  assert.deepEqual(p.tick(T0 + 61_000, false, T0 + 59_999), []);
  const out = p.tick(T0 + 62_000, false, T0 + 60_100);
  assert.deepEqual(rowsOf(out, 'deadband'), [{ tag: TEMP, time: T0 + 60_100, value: 21.5, status: GOOD, suppressed: 0, deadband: 0.5 }]);
  assert.deepEqual(rowsOf(out, 'change'), []); // its point was at T0 + 200: due at T0 + 60_200
  const next = p.tick(T0 + 63_000, false, T0 + 61_000);
  assert.deepEqual(rowsOf(next, 'deadband'), []);
  assert.deepEqual(rowsOf(next, 'change'), [{ tag: RUN, time: T0 + 61_000, value: true, status: GOOD, suppressed: 0 }]);
  assert.equal(p.counters().points, 4);
});

test('keep-alive: a Bad tag is repeated as a status-only point; a sample that arrives first makes it unnecessary', () => {
  const p = pipeline();
  p.onSample(TEMP, T0, 0, BAD);
  p.onSample(RUN, T0, false, GOOD);
  p.onSample(RUN, T0 + 59_000, true, GOOD); // a change inside the heartbeat
  p.tick(T0 + 60_000);
  const out = p.tick(T0 + 61_000, false, T0 + 60_000);
  assert.deepEqual(rowsOf(out, 'deadband'), [{ tag: TEMP, time: T0 + 60_000, value: null, status: BAD, suppressed: 0, deadband: 0.5 }]);
  assert.deepEqual(rowsOf(out, 'change'), []);
});
