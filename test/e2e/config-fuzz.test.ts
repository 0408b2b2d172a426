// The configuration fuzz suite against the running components: generated invalid configurations
// (test/harness/config-fuzz.ts, a fixed seed) sent as deployments' configuration updates to the
// built conduit.OpcUaCollector, connected to the simulated plant and publishing, and a sample of the
// sink's to the running conduit.FirehoseSink. Every update must be REJECTED naming the field, the
// running configuration must stay, no component may restart, and telemetry keeps flowing with
// contiguous sequence numbers.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { COLLECTOR_CONFIG_SCHEMA, MAX_TAGS } from '../../components/opcua-collector/src/config-schema';
import { SINK_CONFIG_SCHEMA } from '../../components/firehose-sink/src/config-schema';
import { collectorRuleCases, invalidCases, seeded, sinkRuleCases, type InvalidCase } from '../harness/config-fuzz';
import type { JsonObject } from '../harness/contracts';
import { buildCollector, buildSink, deployCollectorSecret, type BuiltFixture } from '../harness/fixtures';
import type { LaunchedComponent } from '../harness/launcher/component';
import { LocalGreengrass } from '../harness/launcher/local-greengrass';
import { SimulatedPlant } from '../harness/plant/plant';
import { telemetryMessages } from '../harness/telemetry';

const THING = 'gw-fuzz';
const SECRET = 'conduit/opcua-collector';
const PASSWORD = 'fuzz-Pa55word';
const STREAM = 'conduit-bursts';
const COLLECTOR = 'conduit.OpcUaCollector';
const SINK = 'conduit.FirehoseSink';
/** The seed CI runs with; FUZZ_SEED replays another. */
const SEED = Number(process.env.FUZZ_SEED ?? 20261204);
/** Cases sent to the collector (all of them are checked at parse level in test/unit/shared/config-fuzz). */
const COLLECTOR_CASES = 320;
const SINK_CASES = 60;

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

/** Sends each case as a configuration update; returns what went wrong (nothing, when all is well). */
async function fuzz(gg: LocalGreengrass, name: string, cases: InvalidCase[]): Promise<string[]> {
  const wrong: string[] = [];
  const before = JSON.stringify(gg.configuration(name));
  for (const c of cases) {
    const r = await gg.updateConfiguration(name, { merge: c.merge }, { validationTimeoutMs: 10_000 });
    if (r.validation.status !== 'REJECTED') wrong.push(`${c.name}: ${r.validation.status}`);
    else if (!(r.validation.message ?? '').includes(c.path)) wrong.push(`${c.name}: REJECTED without naming ${c.path}: ${(r.validation.message ?? '').slice(0, 300)}`);
    if (r.applied) wrong.push(`${c.name}: applied`);
  }
  if (JSON.stringify(gg.configuration(name)) !== before) wrong.push('the running configuration changed');
  return wrong;
}

function assertNoRestart(c: LaunchedComponent, pid: number | undefined): void {
  assert.equal(c.state, 'RUNNING');
  assert.equal(c.errorCount, 0, 'never ERRORED');
  assert.equal(c.pid, pid, 'the same process throughout');
}

test(`${COLLECTOR_CASES} invalid collector updates and ${SINK_CASES} sink updates: all REJECTED naming the field; no restart; data keeps flowing`, { timeout: 240_000 }, async () => {
  const gg = await LocalGreengrass.start({ thingName: THING, interpolateComponentConfiguration: true });
  try {
    gg.aws.secretsManager.createSecret(SECRET, { username: 'conduit', password: PASSWORD });
    gg.aws.firehose.createDeliveryStream(STREAM);
    const s = await gg.deploy({ recipePath: sink.recipePath, artifactDir: sink.artifactDir, configurationUpdate: { merge: { deliveryStreamName: STREAM } } });
    await s.waitForState('RUNNING', 20_000);
    const find = (kind: string) => plant.tags.find((t) => t.kind === kind)!;
    const [vib, temp, run] = [find('vibration'), find('temperature'), find('boolean')];
    const tags = [
      { name: vib.name, nodeId: vib.nodeId, mode: 'rms', alarm: { on: 'rms', raiseAt: 1_000, clearBelow: 900 } },
      { name: temp.name, nodeId: temp.nodeId, mode: 'deadband', deadband: { absolute: 0.05 } },
      { name: run.name, nodeId: run.nodeId, mode: 'change' },
    ];
    const merge = {
      endpointUrl: plant.endpointUrl,
      serverTrust: { thumbprints: [plant.certificateThumbprint] },
      credentialsSecretId: SECRET,
      accessControl: deployCollectorSecret(gg, SECRET),
      mappingVersion: 'fuzz-1',
      tags,
      metrics: { intervalSec: 2 },
    } as unknown as JsonObject;
    const c = await gg.deploy({ recipePath: collector.recipePath, artifactDir: collector.artifactDir, configurationUpdate: { merge } });
    await c.waitForOutput((l) => l.text.includes('"msg":"connected to the OPC UA server and subscribed'), 30_000);
    const [cPid, sPid] = [c.pid, s.pid];
    const topic = `conduit/${THING}/telemetry`;
    const countAtStart = telemetryMessages(gg.iotCore, topic).length;

    const running = gg.configuration(COLLECTOR);
    // With interpolateComponentConfiguration on (as conduit deploys), the nucleus itself replaces
    // {iot:thingName} in a configuration value before the collector sees it: not an invalid update here.
    const rules = collectorRuleCases(running, MAX_TAGS).filter((x) => x.name !== 'the recipe variable in a topic');
    const collectorCases = invalidCases({ schema: COLLECTOR_CONFIG_SCHEMA, base: running, rules, seed: SEED }).slice(0, COLLECTOR_CASES);
    // Always include the cases the field report named, whatever the seed draws.
    const all = invalidCases({ schema: COLLECTOR_CONFIG_SCHEMA, base: running, seed: SEED });
    const reported = [
      '/allowInsecure: "true"',
      '/sampling/maxNotificationsPerPublish: "-Infinity"',
      '/publish/topic: true',
      '/burst/cooldownSec: "Infinity"',
      '/publish/topic: a lone surrogate',
      '/publish/topic: 100 KB',
    ];
    const named: InvalidCase[] = reported.map((n) => {
      const found = all.find((x) => x.name === n);
      assert.ok(found, `the generator makes the case ${n}`);
      return found;
    });
    named.push({ name: 'a __proto__ key at the top', merge: JSON.parse('{"__proto__": {"allowInsecure": true}}'), path: '/__proto__' });
    const sinkCases = invalidCases({ schema: SINK_CONFIG_SCHEMA, base: gg.configuration(SINK), rules: sinkRuleCases(), seed: SEED }).slice(0, SINK_CASES);

    assert.deepEqual(await fuzz(gg, COLLECTOR, [...named, ...collectorCases]), []);
    assert.deepEqual(await fuzz(gg, SINK, sinkCases), []);
    assertNoRestart(c, cPid);
    assertNoRestart(s, sPid);

    // Data kept flowing through it all, and keeps flowing: new messages, every stream's seq contiguous.
    const grown = Date.now() + 10_000;
    while (telemetryMessages(gg.iotCore, topic).length < countAtStart + 5 && Date.now() < grown) await new Promise((r) => setTimeout(r, 200));
    const messages = telemetryMessages(gg.iotCore, topic);
    assert.ok(messages.length >= countAtStart + 5, `telemetry kept coming (${countAtStart} → ${messages.length})`);
    const byType = new Map<string, number[]>();
    for (const m of messages) byType.set(m.type, [...(byType.get(m.type) ?? []), m.seq]);
    for (const [type, seqs] of byType) assert.deepEqual(seqs, seqs.map((_, i) => i), `${type}: contiguous seqs`);
    assert.ok(messages.every((m) => m.mappingVersion === 'fuzz-1'), 'the mapping never changed');
    // A valid update still applies afterwards: the components kept listening.
    const ok = await gg.updateConfiguration(COLLECTOR, { merge: { logLevel: 'debug' } });
    assert.equal(ok.applied, true);
    assertNoRestart(c, cPid);
  } finally {
    await gg.close();
  }
});

test('the sample of cases is the seed\'s: the same seed draws the same cases', () => {
  const a = seeded(SEED);
  const b = seeded(SEED);
  for (let i = 0; i < 5; i++) assert.equal(a(), b());
});
