// A deployment whose accessControl lacks the telemetry topic: the nucleus refuses those publishes as
// unauthorized. That is an operator's mistake outside the component, so the built collector reports
// ERRORED once (never BROKEN), holds the refused messages, and delivers them, in order and in the same
// process, once a configuration update allows the topic. Against the real SDK client and the plant.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { JsonObject } from '../harness/contracts';
import { buildCollector, deployCollectorSecret, type BuiltFixture } from '../harness/fixtures';
import { LocalGreengrass } from '../harness/launcher/local-greengrass';
import { SimulatedPlant } from '../harness/plant/plant';
import { telemetryMessages } from '../harness/telemetry';

const THING = 'gw-unauth';
const SECRET = 'conduit/opcua-collector';
const PASSWORD = 'unauth-Pa55word';
const NAME = 'conduit.OpcUaCollector';
const POLICY = 'conduit.OpcUaCollector:mqttproxy:1';
const TELEMETRY = `conduit/${THING}/telemetry`;

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

async function until<T>(what: string, timeoutMs: number, probe: () => T | undefined | false): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const mqttPolicy = (topics: string[]) => ({ 'aws.greengrass.ipc.mqttproxy': { [POLICY]: { operations: ['aws.greengrass#PublishToIoTCore'], resources: topics } } });

test('a telemetry topic the accessControl does not allow: ERRORED once, messages held, all delivered in the same process once a deployment allows it', { timeout: 120_000 }, async () => {
  const gg = await LocalGreengrass.start({ thingName: THING, interpolateComponentConfiguration: true });
  try {
    gg.aws.secretsManager.createSecret(SECRET, { username: 'conduit', password: PASSWORD });
    const vib = plant.tags.find((t) => t.kind === 'vibration')!;
    const others = ['mapping', 'metrics', 'alarms', 'config-audit'].map((t) => `conduit/{iot:thingName}/${t}`);
    const merge = {
      endpointUrl: plant.endpointUrl,
      serverTrust: { thumbprints: [plant.certificateThumbprint] },
      credentialsSecretId: SECRET,
      accessControl: { ...deployCollectorSecret(gg, SECRET), ...mqttPolicy(others) },
      mappingVersion: 'u-1',
      tags: [{ name: vib.name, nodeId: vib.nodeId, mode: 'rms' }],
      metrics: { intervalSec: 1 },
    } as unknown as JsonObject;
    const c = await gg.deploy({ recipePath: built.recipePath, artifactDir: built.artifactDir, configurationUpdate: { merge } });
    // The report restarts the component once (as the nucleus does); the restarted run stays RUNNING.
    await until('one ERRORED', 30_000, () => c.errorCount === 1);
    await c.waitForState('RUNNING', 20_000);
    const pid = c.pid;
    const from = c.output.length;
    await c.waitForOutput((l) => l.text.includes('not authorized for the topic'), 30_000, from);
    await new Promise((r) => setTimeout(r, 5_000));
    assert.equal(c.state, 'RUNNING');
    assert.equal(c.errorCount, 1, 'reported once: the restarted run does not report again within the gap');
    assert.equal(c.pid, pid, 'the same process');
    assert.equal(telemetryMessages(gg.iotCore, TELEMETRY).length, 0, 'nothing got through');
    const line = c.jsonLines().filter((l) => String(l.msg).includes('not authorized for the topic')).at(-1) as Record<string, unknown>;
    assert.match(String(line.fix), new RegExp(`PublishToIoTCore on ${TELEMETRY}`));

    // The fix arrives as a deployment: the held messages go, in order, from seq 0 of this run.
    const fixed = await gg.updateConfiguration(NAME, { merge: { accessControl: mqttPolicy([`conduit/{iot:thingName}/telemetry`, ...others]) } as unknown as JsonObject });
    assert.equal(fixed.applied, true);
    await until('telemetry', 40_000, () => telemetryMessages(gg.iotCore, TELEMETRY).length >= 3);
    const seqs = telemetryMessages(gg.iotCore, TELEMETRY).map((m) => m.seq);
    assert.deepEqual(seqs, seqs.map((_, i) => i), 'every message of the run, none skipped');
    await c.waitForOutput((l) => l.text.includes('publishing is authorized again'), 10_000, from);
    assert.equal(c.pid, pid);
    assert.equal(c.errorCount, 1);
    assert.equal(c.state, 'RUNNING');
  } finally {
    await gg.close();
  }
});
