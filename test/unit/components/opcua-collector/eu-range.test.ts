// Percent deadbands whose range is the server's EURange: the pipeline sends every change until the
// range is known, then the resolved deadband (percent × (high − low) / 100) in every point; a tag
// without a usable EURange stays at deadband 0, is logged once with the fix and counted; the runtime
// publishes the mapping again with the resolved deadbands.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCollectorConfig } from '../../../../components/opcua-collector/src/config';
import type { TagConfig } from '../../../../components/opcua-collector/src/config-types';
import { type EuRangeReading, needsEuRange, reportEuRanges } from '../../../../components/opcua-collector/src/eu-range';
import { CollectorPipeline, euRangeProblem } from '../../../../components/opcua-collector/src/pipeline';
import { CollectorRuntime } from '../../../../components/opcua-collector/src/runtime';
import type { EncodedMessage } from '../../../../shared/publish';
import { decode } from '../../shared/publish/helpers';
import { BASE_CONFIG } from './config-fixture';
import { CapturedLog } from '../../../harness/captured-log';

const T0 = 1_718_000_000_000;
const GOOD = 0;
const TEMP = 0; // percent 1, range from the server
const PRESS = 1; // percent 0.5, range from the server
const FLOW = 2; // percent 2 of a configured 0…50: never read
const LEVEL = 3; // absolute 0.25
const VIB = 4; // rms

function config() {
  return parseCollectorConfig({
    ...structuredClone(BASE_CONFIG),
    tags: [
      { name: 'Temp01', nodeId: 'ns=3;s=Temp01', mode: 'deadband', deadband: { percent: 1 } },
      { name: 'Press01', nodeId: 'ns=3;s=Press01', mode: 'deadband', deadband: { percent: 0.5 } },
      { name: 'Flow01', nodeId: 'ns=3;s=Flow01', mode: 'deadband', deadband: { percent: 2, rangeMin: 0, rangeMax: 50 } },
      { name: 'Level01', nodeId: 'ns=3;s=Level01', mode: 'deadband', deadband: { absolute: 0.25 } },
      { name: 'Vib01', nodeId: 'ns=3;s=Vib01', mode: 'rms' },
    ],
    publish: { significantDigits: 17 },
  });
}

const pipeline = () => new CollectorPipeline(config(), { thingName: 'gw-unit', runId: 'run-1' });

function feed(p: CollectorPipeline, tag: number, fromMs: number, values: readonly number[]): void {
  values.forEach((v, k) => p.onSample(tag, fromMs + 100 * k, v, GOOD));
}

/** [tag, value, deadband] of every deadband row of `messages`. */
function deadbandRows(messages: readonly EncodedMessage[]): [number, number, number][] {
  return messages
    .filter((m) => m.stream === 'deadband')
    .flatMap((m) => decode(m.payload).rows)
    .map((r) => [r.tag as number, r.value as number, r.deadband as number]);
}


test('needsEuRange: only a percent deadband without rangeMin/rangeMax', () => {
  assert.deepEqual(
    config().tags.map((t: TagConfig) => needsEuRange(t)),
    [true, true, false, false, false],
  );
});

test('a percent deadband without a range does not stop the pipeline: every change is sent until the range is known', () => {
  const p = pipeline();
  assert.equal(p.resolvedDeadband(TEMP), undefined, 'not resolved yet');
  assert.equal(p.resolvedDeadband(FLOW), 1, 'configured range: 2 % of 50');
  assert.equal(p.resolvedDeadband(LEVEL), 0.25);
  assert.equal(p.resolvedDeadband(VIB), undefined, 'not a deadband tag');
  assert.deepEqual(p.counters().deadbandRange, { pending: 2, missing: 0 });
  feed(p, TEMP, T0, [60, 60, 60.01]);
  assert.deepEqual(deadbandRows(p.tick(T0 + 1_000)), [
    [TEMP, 60, 0],
    [TEMP, 60.01, 0],
  ]);
});

test('the EURange sets percent × (high − low) / 100; the next sample starts the series under it', () => {
  const p = pipeline();
  feed(p, TEMP, T0, [60, 60.01]);
  const revision = p.deadbandRevision;
  const outcomes = p.applyEuRanges([
    { tag: TEMP, range: { low: -20, high: 150 } },
    { tag: PRESS, range: { low: 0, high: 10 } },
    { tag: FLOW, range: { low: 0, high: 1000 } }, // configured range: ignored
    { tag: LEVEL, range: { low: 0, high: 1000 } }, // absolute: ignored
  ]);
  assert.deepEqual(outcomes, [
    { tag: TEMP, kind: 'set', range: { low: -20, high: 150 }, deadband: 1.7 },
    { tag: PRESS, kind: 'set', range: { low: 0, high: 10 }, deadband: 0.05 },
  ]);
  assert.notEqual(p.deadbandRevision, revision);
  assert.equal(p.resolvedDeadband(TEMP), 1.7);
  assert.equal(p.resolvedDeadband(PRESS), 0.05);
  assert.equal(p.resolvedDeadband(FLOW), 1);
  assert.deepEqual(p.counters().deadbandRange, { pending: 0, missing: 0 });
  // 60.5 is sent (the first under 1.7: the point at 60.01 promised 0), 61.5 is not (1.0 away), 62.3 is (1.8).
  feed(p, TEMP, T0 + 200, [60.5, 61.5, 62.3]);
  feed(p, PRESS, T0, [4.2, 4.25, 4.31]);
  assert.deepEqual(deadbandRows(p.tick(T0 + 1_000)), [
    [TEMP, 60, 0],
    [TEMP, 60.01, 0],
    [TEMP, 60.5, 1.7],
    [TEMP, 62.3, 1.7],
    [PRESS, 4.2, 0.05],
    [PRESS, 4.31, 0.05],
  ]);

  // The same range on the next session changes nothing; a changed one is applied.
  const before = p.deadbandRevision;
  assert.deepEqual(p.applyEuRanges([{ tag: TEMP, range: { low: -20, high: 150 } }]), []);
  assert.equal(p.deadbandRevision, before);
  assert.deepEqual(p.applyEuRanges([{ tag: TEMP, range: { low: 0, high: 100 } }]), [{ tag: TEMP, kind: 'set', range: { low: 0, high: 100 }, deadband: 1 }]);
  assert.notEqual(p.deadbandRevision, before);
});

test('no usable EURange: deadband 0 for good, counted; a later session with a range still sets it', () => {
  const p = pipeline();
  const outcomes = p.applyEuRanges([
    { tag: TEMP, problem: 'the node has no EURange property' },
    { tag: PRESS, range: { low: 10, high: 10 } },
  ]);
  assert.deepEqual(outcomes, [
    { tag: TEMP, kind: 'noRange', problem: 'the node has no EURange property' },
    { tag: PRESS, kind: 'noRange', problem: 'the EURange is empty or inverted (low 10, high 10: high must be above low)' },
  ]);
  assert.equal(p.resolvedDeadband(TEMP), 0, 'published as 0 in the mapping');
  assert.deepEqual(p.counters().deadbandRange, { pending: 0, missing: 2 });
  feed(p, TEMP, T0, [60, 60, 60.001]);
  assert.deepEqual(deadbandRows(p.tick(T0 + 1_000)), [
    [TEMP, 60, 0],
    [TEMP, 60.001, 0],
  ]);
  // The next session reports the same problem: nothing new to log.
  assert.deepEqual(p.applyEuRanges([{ tag: TEMP, problem: 'the node has no EURange property' }]), []);
  assert.deepEqual(p.applyEuRanges([{ tag: TEMP, range: { low: 0, high: 200 } }]), [{ tag: TEMP, kind: 'set', range: { low: 0, high: 200 }, deadband: 2 }]);
  assert.deepEqual(p.counters().deadbandRange, { pending: 0, missing: 1 });
});

test('a range read in an earlier session is kept when a later session cannot read one', () => {
  const p = pipeline();
  p.applyEuRanges([{ tag: TEMP, range: { low: -20, high: 150 } }]);
  const revision = p.deadbandRevision;
  assert.deepEqual(p.applyEuRanges([{ tag: TEMP, problem: 'reading its EURange failed (BadNotReadable)' }]), [
    { tag: TEMP, kind: 'kept', problem: 'reading its EURange failed (BadNotReadable)', deadband: 1.7 },
  ]);
  assert.equal(p.resolvedDeadband(TEMP), 1.7);
  assert.equal(p.deadbandRevision, revision);
});

test('euRangeProblem: finite, high above low', () => {
  assert.equal(euRangeProblem({ low: -50, high: 50 }), undefined);
  assert.match(euRangeProblem({ low: 5, high: 1 })!, /inverted/);
  assert.match(euRangeProblem({ low: 0, high: Infinity })!, /not finite/);
  assert.match(euRangeProblem({ low: NaN, high: 1 })!, /not finite/);
});

test('reportEuRanges: one error per tag without a range, naming the tag and the fix; one info line for the resolved ones', () => {
  const p = pipeline();
  const log = new CapturedLog();
  const readings: EuRangeReading[] = [
    { tag: TEMP, range: { low: -20, high: 150 } },
    { tag: PRESS, problem: 'the node has no EURange property' },
  ];
  reportEuRanges(p, readings, log);
  const [error, ...moreErrors] = log.at('error');
  assert.equal(moreErrors.length, 0);
  assert.equal(error?.fields.tag, 'Press01');
  assert.equal(error?.fields.nodeId, 'ns=3;s=Press01');
  assert.match(error!.msg, /Press01.*no usable EURange.*deadband 0/);
  assert.match(String(error?.fields.fix), /deadband\.rangeMin and deadband\.rangeMax/);
  assert.deepEqual(log.at('info').map((l) => l.fields), [{ tags: 1 }]);
  assert.deepEqual(log.at('debug')[0]?.fields, { tag: 'Temp01', nodeId: 'ns=3;s=Temp01', euRange: { low: -20, high: 150 }, deadband: 1.7 });
  // A reconnect that reads the same: nothing logged.
  const lines = log.lines.length;
  reportEuRanges(p, readings, log);
  assert.equal(log.lines.length, lines);
  // A reconnect that cannot read Temp01 any more: a warning, the deadband stays.
  reportEuRanges(p, [{ tag: TEMP, problem: 'reading its EURange failed (BadTimeout)' }], log);
  assert.equal(log.at('warn').length, 1);
  assert.equal(log.at('warn')[0]?.fields.deadband, 1.7);
});

test('the runtime publishes the mapping again once a deadband is resolved, before the points that carry it', async () => {
  const c = config();
  const p = new CollectorPipeline(c, { thingName: 'gw-unit', runId: 'run-1' });
  const published: { topic: string; body: Record<string, any> }[] = [];
  const runtime = new CollectorRuntime({
    config: c,
    thingName: 'gw-unit',
    runId: 'run-1',
    pipeline: p,
    publisher: { publish: async (topic, payload) => void published.push({ topic, body: JSON.parse(payload.toString()) }) },
    logger: new CapturedLog(),
  });
  const settle = async () => {
    for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
  };
  const resolved = () => published.filter((m) => m.body.type === 'mapping').map((m) => m.body.tags.map((t: { resolvedDeadband: number | null }) => t.resolvedDeadband));
  runtime.tick();
  await settle();
  assert.deepEqual(resolved(), [], 'nothing changed: no mapping from tick');
  p.applyEuRanges([
    { tag: TEMP, range: { low: -20, high: 150 } },
    { tag: PRESS, problem: 'the node has no EURange property' },
  ]);
  feed(p, TEMP, T0, [60]);
  runtime.tick();
  await settle();
  assert.deepEqual(resolved(), [[1.7, 0, 1, 0.25, null]]);
  assert.deepEqual(
    published.map((m) => m.body.type),
    ['mapping', 'deadband'],
  );
  runtime.tick();
  await settle();
  assert.equal(resolved().length, 1, 'published once per change');
  assert.deepEqual(await runtime.stop(Date.now() + 2_000), { unsent: 0, unsentBytes: 0, unackedRecords: 0, recordsLost: 0, alarmsLeftOpen: 0, capturesLeftOpen: 0 });
});
