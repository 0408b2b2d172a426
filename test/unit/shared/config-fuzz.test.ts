// Generated invalid configurations (test/harness/config-fuzz.ts), merged into a valid one exactly as
// a deployment's MERGE would be, through both components' parsers: every one is refused, naming the
// field it broke, and none throws anything but a ConfigError. The same cases go to the running
// components as live updates in test/e2e/config-fuzz.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCollectorConfig } from '../../../components/opcua-collector/src/config';
import { COLLECTOR_CONFIG_SCHEMA, MAX_TAGS } from '../../../components/opcua-collector/src/config-schema';
import { parseSinkConfig } from '../../../components/firehose-sink/src/config';
import { SINK_CONFIG_SCHEMA } from '../../../components/firehose-sink/src/config-schema';
import { ConfigError } from '../../../shared/config-error';
import { collectorRuleCases, invalidCases, sinkRuleCases, type InvalidCase } from '../../harness/config-fuzz';
import type { JsonObject } from '../../harness/contracts';
import { applyConfigurationUpdate } from '../../harness/launcher/configuration';
import { BASE_CONFIG } from '../components/opcua-collector/config-fixture';

/** The seed CI runs with; FUZZ_SEED replays another. */
const SEED = Number(process.env.FUZZ_SEED ?? 20261204);

const COLLECTOR_BASE: JsonObject = {
  ...(structuredClone(BASE_CONFIG) as unknown as JsonObject),
  tags: [
    { name: 'Vib01', nodeId: 'ns=3;s=Line1.Vib01', mode: 'rms', alarm: { on: 'rms', raiseAt: 7, clearBelow: 6 } },
    { name: 'Temp01', nodeId: 'ns=3;i=1002', mode: 'deadband', deadband: { absolute: 0.5 } },
    { name: 'Run01', nodeId: 'ns=3;s=Motor.Running', mode: 'change' },
  ],
};
const SINK_BASE: JsonObject = { deliveryStreamName: 'conduit-bursts', region: 'eu-central-1' };

function check(cases: InvalidCase[], base: JsonObject, parse: (raw: unknown) => unknown): void {
  assert.doesNotThrow(() => parse(base), 'the base is valid');
  const missed: string[] = [];
  for (const c of cases) {
    const next = applyConfigurationUpdate(base, base, { merge: c.merge });
    try {
      parse(next);
      missed.push(`${c.name}: accepted`);
    } catch (e) {
      if (!(e instanceof ConfigError)) {
        missed.push(`${c.name}: threw ${String(e)}`);
        continue;
      }
      const named = e.issues.some((i) => i.path === c.path || i.path.startsWith(c.path + '/'));
      if (!named) missed.push(`${c.name}: refused, but at ${e.issues.map((i) => i.path).join(', ')} instead of ${c.path}`);
      for (const i of e.issues) if (!i.fix) missed.push(`${c.name}: no fix for ${i.path}`);
    }
  }
  assert.deepEqual(missed, []);
}

test('at least 300 generated invalid collector configurations: every one refused, naming the field', () => {
  const cases = invalidCases({ schema: COLLECTOR_CONFIG_SCHEMA, base: COLLECTOR_BASE, rules: collectorRuleCases(COLLECTOR_BASE, MAX_TAGS), seed: SEED });
  assert.ok(cases.length >= 300, `${cases.length} cases`);
  check(cases, COLLECTOR_BASE, parseCollectorConfig);
});

test('generated invalid sink configurations: every one refused, naming the field', () => {
  const cases = invalidCases({ schema: SINK_CONFIG_SCHEMA, base: SINK_BASE, rules: sinkRuleCases(), seed: SEED });
  assert.ok(cases.length >= 100, `${cases.length} cases`);
  check(cases, SINK_BASE, (raw) => parseSinkConfig(raw, { defaultRegion: 'eu-central-1' }));
});

test('the generator is deterministic: one seed, one sequence', () => {
  const a = invalidCases({ schema: SINK_CONFIG_SCHEMA, base: SINK_BASE, seed: 7 }).map((c) => c.name);
  const b = invalidCases({ schema: SINK_CONFIG_SCHEMA, base: SINK_BASE, seed: 7 }).map((c) => c.name);
  const c = invalidCases({ schema: SINK_CONFIG_SCHEMA, base: SINK_BASE, seed: 8 }).map((x) => x.name);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});
