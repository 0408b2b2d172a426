// Burst mode inside the pipeline, with exact numbers: a vibration tag's RMS crosses its alarm level,
// the alarm raises at the end of the window that held it for minDurationMs, the capture holds the 600
// samples before that and the 100 after, and the clear names the same capture. No clock: source
// times only, the watermark comes from the samples.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCollectorConfig } from '../../../../components/opcua-collector/src/config';
import { CollectorPipeline } from '../../../../components/opcua-collector/src/pipeline';
import type { AlarmNotice } from '../../../../components/opcua-collector/src/burst';
import type { Capture } from '../../../../shared/burst';
import { buildAlarmMessage } from '../../../../components/opcua-collector/src/alarm-message';
import { BASE_CONFIG } from './config-fixture';

const T0 = 1_718_000_000_000;

function pipeline(burst: Record<string, unknown> = {}): CollectorPipeline {
  const config = parseCollectorConfig({
    ...structuredClone(BASE_CONFIG),
    tags: [
      { name: 'Vib01', nodeId: 'ns=3;s=Vib01', mode: 'rms', alarm: { on: 'rms', raiseAt: 5, clearBelow: 3, minDurationMs: 2000 } },
      { name: 'Temp01', nodeId: 'ns=3;s=Temp01', mode: 'deadband', deadband: { absolute: 0.5 }, alarm: { on: 'raw', raiseAt: 80, clearBelow: 75, minDurationMs: 300 } },
      { name: 'Vib02', nodeId: 'ns=3;s=Vib02', mode: 'rms' },
    ],
    burst,
  });
  return new CollectorPipeline(config, { thingName: 'gw-unit', runId: 'run1' });
}

/** A square wave of ±amplitude: its RMS over any whole window is exactly `amplitude`. */
const vib = (k: number, amplitude: number) => (k % 2 === 0 ? amplitude : -amplitude);

/** Feeds ticks [from, to) of all three tags and ticks the pipeline every second of source time. */
function run(p: CollectorPipeline, from: number, to: number, amplitudeAt: (k: number) => number, temp: (k: number) => number = () => 20) {
  const out = { alarms: [] as AlarmNotice[], captures: [] as Capture[] };
  for (let k = from; k < to; k++) {
    const t = T0 + k * 100;
    p.onSample(0, t, vib(k, amplitudeAt(k)), 0);
    p.onSample(1, t, temp(k), 0);
    p.onSample(2, t, vib(k, 1), 0);
    if (k % 10 === 9) {
      p.tick(t);
      const d = p.burst.drain();
      out.alarms.push(...d.alarms);
      out.captures.push(...d.captures);
    }
  }
  return out;
}

test('an RMS alarm raises after minDurationMs, captures 600 samples before and 100 after, and the clear names the capture', () => {
  const p = pipeline();
  // 70 s quiet (RMS 2), then the step to 8 at k = 700 (t = T0 + 70 s), back to 2 at k = 1000.
  const amp = (k: number) => (k >= 700 && k < 1000 ? 8 : 2);
  const out = run(p, 0, 1300, amp);
  const raises = out.alarms.filter((a) => a.event.kind === 'raise');
  const clears = out.alarms.filter((a) => a.event.kind === 'clear');
  assert.equal(raises.length, 1);
  assert.equal(clears.length, 1);
  const raise = raises[0]!;
  // Windows [70 s, 71 s) and [71 s, 72 s) hold RMS 8: held 2 s at the end of the second one.
  assert.equal(raise.event.atMs, T0 + 72_000);
  assert.equal(raise.event.value, 8);
  assert.equal(raise.event.tag, 0);
  assert.equal(raise.captureId, 'run1-c1');
  assert.equal(clears[0]!.event.atMs, T0 + 101_000, 'the first window back at RMS 2 ends at 101 s');
  assert.equal(clears[0]!.captureId, 'run1-c1');
  assert.equal(clears[0]!.event.alarmId, raise.event.alarmId);

  assert.equal(out.captures.length, 1);
  const c = out.captures[0]!;
  assert.equal(c.captureId, 'run1-c1');
  assert.deepEqual(c.alarmIds, [raise.event.alarmId]);
  assert.equal(c.startMs, T0 + 12_000);
  assert.equal(c.endMs, T0 + 82_000);
  assert.equal(c.count, 700);
  assert.equal(c.preTriggerCount, 600);
  assert.equal(c.complete, true);
  for (let i = 0; i < c.count; i++) {
    const k = 120 + i;
    assert.equal(c.times[i], T0 + k * 100);
    assert.equal(c.values[i], vib(k, amp(k)));
  }
});

test('a raw alarm raises once the samples have held its level for minDurationMs; Vib02 without an alarm keeps no ring', () => {
  const p = pipeline({ preTriggerSec: 5, postTriggerSec: 1 });
  const out = run(p, 0, 200, () => 2, (k) => (k >= 100 ? 85 : 20));
  const raise = out.alarms.find((a) => a.event.kind === 'raise')!;
  assert.equal(raise.event.tag, 1);
  // Samples at 10.0, 10.1, 10.2 and 10.3 s are at 85: held 300 ms at the fourth.
  assert.equal(raise.event.atMs, T0 + 10_300);
  assert.equal(out.captures.length, 1);
  assert.equal(out.captures[0]!.preTriggerCount, 50);
  assert.equal(out.captures[0]!.count, 60);
  // Two ringed tags of (5 + slack) s: the third, alarm-free tag adds nothing.
  const ringBytes = p.burst.counters().captures.ringBytes;
  const single = pipeline({ preTriggerSec: 5, postTriggerSec: 1 });
  assert.ok(ringBytes > 0);
  assert.equal(ringBytes, single.burst.counters().captures.ringBytes);
});

test('maxCapturesPerHour 0: alarms are still raised and say the capture was skipped', () => {
  const p = pipeline({ maxCapturesPerHour: 0 });
  const out = run(p, 0, 800, (k) => (k >= 700 ? 8 : 2));
  const raise = out.alarms.find((a) => a.event.kind === 'raise')!;
  assert.equal(raise.captureId, null);
  assert.equal(raise.captureSkipped, 'budget');
  assert.equal(out.captures.length, 0);
  const body = buildAlarmMessage(raise, { thingName: 'gw', site: 's', area: 'a', mappingVersion: '7', runId: 'run1', seq: 0, tag: p.config.tags[0]! });
  assert.equal(body.captureId, null);
  assert.equal(body.captureSkipped, 'budget');
  assert.equal(body.event, 'raise');
  assert.equal(body.tag, 'Vib01');
  assert.equal(body.raiseAt, 5);
});

test('the shutdown tick closes an open capture as truncated', () => {
  const p = pipeline({ preTriggerSec: 5, postTriggerSec: 30 });
  run(p, 0, 130, (k) => (k >= 100 ? 8 : 2));
  p.tick(T0 + 13_000, true);
  const { captures } = p.burst.drain();
  assert.equal(captures.length, 1);
  assert.deepEqual(captures[0]!.incomplete, ['truncated']);
});
