// Whatever the parser accepts runs, with the built component against the simulated plant: random
// configurations (test/harness/config-fuzz.ts randomCandidate, a fixed seed) that the collector's
// parser accepts are deployed as initial configurations, and as live updates to one running
// collector; each time the component stays RUNNING in the same process, never ERRORED.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseCollectorConfig } from '../../components/opcua-collector/src/config';
import { COLLECTOR_CONFIG_SCHEMA } from '../../components/opcua-collector/src/config-schema';
import { randomCandidate, seeded } from '../harness/config-fuzz';
import type { JsonObject } from '../harness/contracts';
import { buildCollector, deployCollectorSecret, type BuiltFixture } from '../harness/fixtures';
import type { LaunchedComponent } from '../harness/launcher/component';
import { LocalGreengrass } from '../harness/launcher/local-greengrass';
import { SimulatedPlant } from '../harness/plant/plant';

const THING = 'gw-prop';
const SECRET = 'conduit/opcua-collector';
const PASSWORD = 'prop-Pa55word';
const NAME = 'conduit.OpcUaCollector';
const SEED = Number(process.env.FUZZ_SEED ?? 20261204);
const STARTS = 5;
const UPDATES = 20;
/** How long a component must stay RUNNING after a start or an update to count as running. */
const SETTLE_MS = 2_500;
/**
 * What identifies the server, the secret, the topics the recipe's accessControl names, and the tags:
 * the property is about every other value. metrics.intervalSec stays short so each run reports.
 */
const KEEP = new Set([
  'endpointUrl',
  'serverTrust',
  'credentialsSecretId',
  'credentialsSource',
  'securityMode',
  'securityPolicy',
  'site',
  'area',
  'mappingVersion',
  'metrics.intervalSec',
  'tags[].name',
  'tags[].nodeId',
  'tags[].mode',
]);

let built: BuiltFixture;
let plant: SimulatedPlant;

before(async () => {
  built = await buildCollector();
  plant = await SimulatedPlant.start({ pkiDir: join(built.outDir, 'plant-pki'), users: [{ username: 'conduit', password: PASSWORD }] });
});

after(async () => {
  await plant?.close();
  if (built) rmSync(built.outDir, { recursive: true, force: true });
});

function baseConfig(gg: LocalGreengrass): JsonObject {
  const find = (kind: string) => plant.tags.find((t) => t.kind === kind)!;
  const [vib, temp, run] = [find('vibration'), find('temperature'), find('boolean')];
  return {
    endpointUrl: plant.endpointUrl,
    serverTrust: { thumbprints: [plant.certificateThumbprint] },
    credentialsSecretId: SECRET,
    accessControl: deployCollectorSecret(gg, SECRET),
    site: 'lyon',
    area: 'line-1',
    mappingVersion: 'prop-0',
    metrics: { intervalSec: 1 },
    tags: [
      { name: vib.name, nodeId: vib.nodeId, mode: 'rms', alarm: { on: 'rms', raiseAt: 1_000, clearBelow: 900 } },
      { name: temp.name, nodeId: temp.nodeId, mode: 'deadband', deadband: { absolute: 0.05 } },
      { name: run.name, nodeId: run.nodeId, mode: 'change' },
    ],
  };
}

/** Accepted candidates, in the seed's order. */
function accepted(count: number, base: JsonObject, rnd: () => number): JsonObject[] {
  const out: JsonObject[] = [];
  for (let i = 0; out.length < count && i < 10_000; i++) {
    const c = randomCandidate(COLLECTOR_CONFIG_SCHEMA, base, KEEP, rnd, 0.3);
    try {
      parseCollectorConfig(c);
      out.push(c);
    } catch {
      // refused: not this property's business (the fuzz suite's)
    }
  }
  assert.equal(out.length, count);
  return out;
}

async function stillRunning(c: LaunchedComponent, pid: number | undefined, what: string): Promise<void> {
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const fatal = c.jsonLines().find((l) => l.msg === 'the collector cannot run');
  assert.equal(fatal, undefined, `${what}: ${JSON.stringify(fatal)}`);
  assert.equal(c.state, 'RUNNING', what);
  assert.equal(c.errorCount, 0, `${what}: never ERRORED`);
  assert.equal(c.pid, pid, `${what}: the same process`);
}

test(`${STARTS} accepted random configurations each start the collector, and it stays RUNNING`, { timeout: 180_000 }, async () => {
  const rnd = seeded(SEED);
  for (let i = 0; i < STARTS; i++) {
    const gg = await LocalGreengrass.start({ thingName: THING, interpolateComponentConfiguration: true });
    try {
      gg.aws.secretsManager.createSecret(SECRET, { username: 'conduit', password: PASSWORD });
      const [config] = accepted(1, baseConfig(gg), rnd);
      const c = await gg.deploy({ recipePath: built.recipePath, artifactDir: built.artifactDir, configurationUpdate: { merge: config } });
      await c.waitForState('RUNNING', 20_000);
      await c.waitForOutput((l) => l.text.includes('"msg":"running"'), 20_000);
      await stillRunning(c, c.pid, `start ${i}: ${JSON.stringify(config).slice(0, 600)}`);
      assert.ok(
        gg.iotCore.some((r) => r.topicName === `conduit/${THING}/metrics`),
        `start ${i}: metrics published`,
      );
    } finally {
      await gg.close();
    }
  }
});

test(`${UPDATES} accepted random configurations applied live: the collector stays RUNNING in one process`, { timeout: 180_000 }, async () => {
  const gg = await LocalGreengrass.start({ thingName: THING, interpolateComponentConfiguration: true });
  try {
    gg.aws.secretsManager.createSecret(SECRET, { username: 'conduit', password: PASSWORD });
    const base = baseConfig(gg);
    const c = await gg.deploy({ recipePath: built.recipePath, artifactDir: built.artifactDir, configurationUpdate: { merge: base } });
    await c.waitForOutput((l) => l.text.includes('"msg":"connected to the OPC UA server and subscribed'), 30_000);
    const pid = c.pid;
    const rnd = seeded(SEED + 1);
    let applied = 0;
    for (const [i, candidate] of accepted(UPDATES, base, rnd).entries()) {
      // A live update that changes tags must name a new mapping (the running mapping's rule).
      const merge = { ...candidate, mappingVersion: `prop-${i + 1}` };
      const from = c.output.length;
      const r = await gg.updateConfiguration(NAME, { merge, reset: ['/publish', '/sampling', '/burst', '/watchdog', '/reconnect'] });
      assert.equal(r.validation.status, 'ACCEPTED', `update ${i}: ${JSON.stringify(r.validation)}`);
      assert.equal(r.applied, true);
      applied++;
      // In effect once the metrics carry the new mapping (the log level may have been set to error).
      const version = merge.mappingVersion;
      const deadline = Date.now() + 20_000;
      const inEffect = () => gg.iotCore.some((m) => m.topicName === `conduit/${THING}/metrics` && JSON.parse(m.payload.toString()).mappingVersion === version);
      while (!inEffect() && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
      assert.ok(inEffect(), `update ${i} in effect: metrics of ${version}; last lines:\n${c.output.slice(Math.max(from, c.output.length - 5)).map((l) => l.text).join('\n')}`);
      await stillRunning(c, pid, `update ${i}: ${JSON.stringify(merge).slice(0, 600)}`);
    }
    assert.equal(applied, UPDATES);
  } finally {
    await gg.close();
  }
});
