// The collector's live configuration: an applied update whose read-back fails is tried again until
// it applies (the deployment already succeeded; dropping it would leave the old mapping running),
// and nothing is applied after stop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCollectorConfig } from '../../../../components/opcua-collector/src/config';
import type { CollectorConfig } from '../../../../components/opcua-collector/src/config-types';
import { LiveConfig } from '../../../../components/opcua-collector/src/live-config';
import { CapturedLog } from '../../../harness/captured-log';
import { BASE_CONFIG } from './config-fixture';

const raw = (mappingVersion: string, intervalMs = 100) => ({
  ...structuredClone(BASE_CONFIG),
  mappingVersion,
  sampling: { intervalMs },
  tags: [{ name: 'Vib01', nodeId: 'ns=3;s=Line1.Vib01', mode: 'rms' }],
});

function rig(reads: Array<() => Promise<unknown>>) {
  const log = new CapturedLog();
  const applied: CollectorConfig[] = [];
  let n = 0;
  const live = new LiveConfig({
    logger: log,
    initial: parseCollectorConfig(raw('m1')),
    read: () => reads[Math.min(n++, reads.length - 1)]!(),
    apply: async (next) => void applied.push(next),
    audit: () => undefined,
  });
  return { live, log, applied, readCount: () => n };
}

test('a read-back that fails is tried again, and the update applies', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const r = rig([() => Promise.reject('the IPC call timed out'), () => Promise.reject('the IPC call timed out'), async () => raw('m2', 50)]);
  r.live.changed();
  for (let i = 0; i < 200; i++) {
    t.mock.timers.tick(100);
    await new Promise((res) => setImmediate(res));
  }
  assert.equal(r.readCount(), 3);
  assert.deepEqual(r.applied.map((c) => [c.mappingVersion, c.sampling.intervalMs]), [['m2', 50]]);
  assert.equal(r.log.at('warn').filter((l) => /cannot read the applied configuration; trying again/.test(l.msg)).length, 2);
  assert.equal(r.live.current.mappingVersion, 'm2');
});

test('after stop, nothing is read or applied', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const r = rig([() => Promise.reject('down'), async () => raw('m2')]);
  r.live.changed();
  t.mock.timers.tick(300);
  await new Promise((res) => setImmediate(res));
  r.live.stop();
  for (let i = 0; i < 100; i++) {
    t.mock.timers.tick(100);
    await new Promise((res) => setImmediate(res));
  }
  r.live.changed();
  t.mock.timers.tick(1_000);
  await new Promise((res) => setImmediate(res));
  assert.equal(r.readCount(), 1);
  assert.deepEqual(r.applied, []);
});
