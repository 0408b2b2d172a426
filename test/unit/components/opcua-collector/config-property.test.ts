// Whatever the parser accepts runs: random configurations near a valid one (every optional key at
// a bound, its default or between; enums; enum subsets), and for each one the parser accepts, the
// pipeline is built and fed samples of every kind (good, bad status, NaN, strings where numbers are
// expected, late) through ticks, without a throw. The e2e half (test/e2e/config-property.test.ts)
// starts the built component with a sample of them against the simulated plant.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCollectorConfig } from '../../../../components/opcua-collector/src/config';
import { COLLECTOR_CONFIG_SCHEMA } from '../../../../components/opcua-collector/src/config-schema';
import { CollectorPipeline } from '../../../../components/opcua-collector/src/pipeline';
import { ConfigError } from '../../../../shared/config-error';
import { expandTopic } from '../../../../shared/publish';
import { randomCandidate, seeded } from '../../../harness/config-fuzz';
import type { JsonObject } from '../../../harness/contracts';
import { BASE_CONFIG } from './config-fixture';

const SEED = Number(process.env.FUZZ_SEED ?? 20261204);
const BASE: JsonObject = {
  ...(structuredClone(BASE_CONFIG) as unknown as JsonObject),
  tags: [
    { name: 'Vib01', nodeId: 'ns=3;s=Line1.Vib01', mode: 'rms', alarm: { on: 'rms', raiseAt: 7, clearBelow: 6 } },
    { name: 'Temp01', nodeId: 'ns=3;i=1002', mode: 'deadband', deadband: { absolute: 0.5 } },
    { name: 'Run01', nodeId: 'ns=3;s=Motor.Running', mode: 'change' },
  ],
};
/** What identifies the server and the tags: the property is about every other value. */
const KEEP = new Set(['endpointUrl', 'serverTrust', 'credentialsSecretId', 'securityMode', 'securityPolicy', 'site', 'area', 'mappingVersion', 'tags[].name', 'tags[].nodeId', 'tags[].mode']);

test('2,000 random configurations: every one the parser accepts builds a pipeline that takes samples and ticks without a throw', () => {
  const rnd = seeded(SEED);
  let accepted = 0;
  let refused = 0;
  for (let i = 0; i < 2_000; i++) {
    const raw = randomCandidate(COLLECTOR_CONFIG_SCHEMA, BASE, KEEP, rnd, 0.3);
    let config;
    try {
      config = parseCollectorConfig(raw);
    } catch (e) {
      assert.ok(e instanceof ConfigError, `candidate ${i}: ${String(e)}`);
      refused++;
      continue;
    }
    accepted++;
    const where = `candidate ${i}: ${JSON.stringify(raw).slice(0, 400)}`;
    assert.doesNotThrow(() => {
      for (const t of [config.publish.topic, config.publish.mappingTopic, config.publish.auditTopic, config.metrics.topic, config.burst.alarmTopic]) {
        expandTopic(t, { thingName: 'x'.repeat(128), site: config.site, area: config.area });
      }
      const p = new CollectorPipeline(config, { thingName: 'gw-prop', runId: 'run-1' });
      const t0 = 1_800_000_000_000;
      const step = config.sampling.intervalMs;
      for (let k = 0; k < 50; k++) {
        const t = t0 + k * step;
        p.onSample(0, t, Math.sin(k) * 10, 0);
        p.onSample(1, t, 20 + k / 10, 0);
        p.onSample(2, t, k % 7 === 0, 0);
        if (k % 9 === 0) p.onSample(0, t, NaN, 0x80000000);
        if (k % 11 === 0) p.onSample(1, t, 'not a number', 0);
        if (k % 13 === 0) p.onSample(0, t - 10 * step, 1, 0);
        if (k % 10 === 0) p.tick(t + 1_000);
      }
      p.tick(t0 + 50 * step + 120_000);
      p.tick(t0 + 50 * step + 240_000, true);
      p.counters();
    }, where);
  }
  // The generator must reach both sides, or the property says nothing.
  assert.ok(accepted >= 300, `${accepted} accepted`);
  assert.ok(refused >= 100, `${refused} refused`);
});
