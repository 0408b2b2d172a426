// An invalid initial configuration, for both built components: every problem logged once with its
// path and fix, ERRORED once (the nucleus restarts the component that one time), never BROKEN; the
// component stays up in the same process until a deployment brings a valid configuration, and then
// runs. A sample of the fuzz suite's invalid configurations (test/harness/config-fuzz.ts) is used as
// the initial configuration.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { COLLECTOR_CONFIG_SCHEMA } from '../../components/opcua-collector/src/config-schema';
import { SINK_CONFIG_SCHEMA } from '../../components/firehose-sink/src/config-schema';
import { invalidCases, type InvalidCase } from '../harness/config-fuzz';
import type { JsonObject } from '../harness/contracts';
import { buildCollector, buildSink, deployCollectorSecret, type BuiltFixture } from '../harness/fixtures';
import type { LaunchedComponent } from '../harness/launcher/component';
import { LocalGreengrass } from '../harness/launcher/local-greengrass';
import { SimulatedPlant } from '../harness/plant/plant';
import { telemetryMessages } from '../harness/telemetry';

const THING = 'gw-startup';
const SECRET = 'conduit/opcua-collector';
const PASSWORD = 'startup-Pa55word';
const STREAM = 'conduit-bursts';
const SEED = Number(process.env.FUZZ_SEED ?? 20261204);
/** Invalid initial configurations tried per component. */
const SAMPLE = 3;

let collector: BuiltFixture;
let sink: BuiltFixture;
let plant: SimulatedPlant;

before(async () => {
  collector = await buildCollector();
  sink = await buildSink();
  plant = await SimulatedPlant.start({ pkiDir: join(collector.outDir, 'plant-pki'), users: [{ username: 'conduit', password: PASSWORD }] });
});

after(async () => {
  await plant?.close();
  for (const b of [collector, sink]) if (b) rmSync(b.outDir, { recursive: true, force: true });
});

async function until(what: string, timeoutMs: number, probe: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const lines = (c: LaunchedComponent, msg: RegExp) => c.jsonLines().filter((l) => msg.test(String(l.msg)));

/**
 * Deploys `name` with the invalid configuration, checks it waits (ERRORED once, same process, the
 * field named), then fixes it with `fix` as a deployment and waits for `running`.
 */
async function invalidThenFixed(gg: LocalGreengrass, built: BuiltFixture, bad: JsonObject, c: InvalidCase, fix: JsonObject): Promise<LaunchedComponent> {
  const comp = await gg.deploy({ recipePath: built.recipePath, artifactDir: built.artifactDir, configurationUpdate: { merge: bad } });
  await until(`${c.name}: one ERRORED`, 20_000, () => comp.errorCount === 1);
  await until(`${c.name}: restarted, waiting`, 20_000, () => comp.state === 'RUNNING' && lines(comp, /^invalid configuration: the component waits/).length >= 2);
  const pid = comp.pid;
  await new Promise((r) => setTimeout(r, 1_500));
  assert.equal(comp.errorCount, 1, `${c.name}: ERRORED once, not again from the restarted process`);
  assert.equal(comp.pid, pid, `${c.name}: it stays up`);
  assert.notEqual(comp.state, 'BROKEN');
  const logged = lines(comp, /^invalid configuration/).at(-1) as { issues?: { path: string; fix: string }[]; summary?: { examples: string[] }[] };
  const paths = logged.issues?.map((i) => i.path) ?? logged.summary!.flatMap((g) => g.examples);
  assert.ok(paths.some((p) => p === c.path || p.startsWith(c.path + '/')), `${c.name}: names ${c.path} (${paths.join(', ')})`);
  assert.ok((logged.issues ?? []).every((i) => i.fix.length > 5), 'every issue has a fix');
  // The fix arrives as a deployment: validated against the schema (nothing runs yet), then applied.
  const r = await gg.updateConfiguration(comp.name, { merge: fix, reset: Object.keys(c.merge).map((k) => `/${k}`) });
  assert.equal(r.applied, true, `${c.name}: the fix is accepted`);
  await comp.waitForOutput((l) => l.text.includes('"msg":"running"'), 30_000);
  assert.equal(comp.pid, pid, `${c.name}: it started in the same process`);
  assert.equal(comp.errorCount, 1);
  return comp;
}

test(`${SAMPLE} invalid initial collector configurations: ERRORED once, waits, runs once a deployment fixes it`, { timeout: 180_000 }, async () => {
  const vib = plant.tags.find((t) => t.kind === 'vibration')!;
  const tags = [{ name: vib.name, nodeId: vib.nodeId, mode: 'rms' }];
  const cases = invalidCases({ schema: COLLECTOR_CONFIG_SCHEMA, base: { tags } as JsonObject, seed: SEED })
    // Cases whose key the fix below restores whole (a RESET of the top-level key, then a MERGE).
    .filter((x) => x.path.split('/').length <= 3 && !x.path.startsWith('/tags'))
    .slice(0, SAMPLE);
  for (const c of cases) {
    const gg = await LocalGreengrass.start({ thingName: THING, interpolateComponentConfiguration: true });
    try {
      gg.aws.secretsManager.createSecret(SECRET, { username: 'conduit', password: PASSWORD });
      const valid = {
        endpointUrl: plant.endpointUrl,
        serverTrust: { thumbprints: [plant.certificateThumbprint] },
        credentialsSecretId: SECRET,
        accessControl: deployCollectorSecret(gg, SECRET),
        mappingVersion: 's-1',
        tags,
      } as unknown as JsonObject;
      const bad = { ...valid, ...c.merge } as JsonObject;
      const fixedKeys = Object.fromEntries(Object.keys(c.merge).filter((k) => k in valid).map((k) => [k, valid[k]!])) as JsonObject;
      await invalidThenFixed(gg, collector, bad, c, fixedKeys);
      await until('telemetry after the fix', 20_000, () => telemetryMessages(gg.iotCore, `conduit/${THING}/telemetry`).length > 0);
    } finally {
      await gg.close();
    }
  }
});

test(`${SAMPLE} invalid initial sink configurations: ERRORED once, waits, runs once a deployment fixes it`, { timeout: 120_000 }, async () => {
  const cases = invalidCases({ schema: SINK_CONFIG_SCHEMA, base: { deliveryStreamName: STREAM } as JsonObject, seed: SEED })
    .filter((x) => x.path.split('/').length <= 3)
    .slice(0, SAMPLE);
  for (const c of cases) {
    const gg = await LocalGreengrass.start({ thingName: THING });
    try {
      gg.aws.firehose.createDeliveryStream(STREAM);
      const valid = { deliveryStreamName: STREAM } as JsonObject;
      const bad = { ...valid, ...c.merge } as JsonObject;
      const fixedKeys = Object.fromEntries(Object.keys(c.merge).filter((k) => k in valid).map((k) => [k, valid[k]!])) as JsonObject;
      await invalidThenFixed(gg, sink, bad, c, fixedKeys);
    } finally {
      await gg.close();
    }
  }
});
