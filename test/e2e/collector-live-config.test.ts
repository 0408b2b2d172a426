// Live configuration updates of the built conduit.OpcUaCollector, deployment-style through the local
// Greengrass (validate, then apply; MERGE and RESET): a refused update leaves everything as it was, a
// mapping change adjusts the monitored items on the same session and is audited, a server change
// reconnects, shadow mode stops data but not metrics. All against the simulated plant.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildCollector, deployCollectorSecret, type BuiltFixture } from '../harness/fixtures';
import { LocalGreengrass } from '../harness/launcher/local-greengrass';
import type { LaunchedComponent } from '../harness/launcher/component';
import { SimulatedPlant } from '../harness/plant/plant';
import { telemetryMessages } from '../harness/telemetry';
import type { JsonObject } from '../harness/contracts';

const THING = 'gw-live';
const SECRET = 'conduit/opcua-collector';
const PASSWORD = 'live-Pa55word';
const NAME = 'conduit.OpcUaCollector';
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

const tag = (name: string) => {
  const t = plant.tags.find((x) => x.name === name)!;
  return t.kind === 'vibration' ? { name: t.name, nodeId: t.nodeId, mode: 'rms' } : t.kind === 'boolean' || t.kind === 'string' ? { name: t.name, nodeId: t.nodeId, mode: 'change' } : { name: t.name, nodeId: t.nodeId, mode: 'deadband', deadband: { absolute: 0.05 } };
};

async function until<T>(what: string, timeoutMs: number, probe: () => T | undefined | false | Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function withCollector(fn: (gg: LocalGreengrass, c: LaunchedComponent) => Promise<void>): Promise<void> {
  const gg = await LocalGreengrass.start({ thingName: THING, interpolateComponentConfiguration: true });
  try {
    gg.aws.secretsManager.createSecret(SECRET, { username: 'conduit', password: PASSWORD });
    const merge = {
      accessControl: deployCollectorSecret(gg, SECRET),
      endpointUrl: plant.endpointUrl,
      serverTrust: { thumbprints: [plant.certificateThumbprint] },
      credentialsSecretId: SECRET,
      mappingVersion: 'm1',
      tags: [tag('Line1.Vib01'), tag('Line1.Temp01')],
      metrics: { intervalSec: 1 },
      reconnect: { initialDelayMs: 200, maxDelayMs: 2000 },
    } as unknown as JsonObject;
    const c = await gg.deploy({ recipePath: built.recipePath, artifactDir: built.artifactDir, configurationUpdate: { merge } });
    await c.waitForOutput((l) => l.text.includes('"msg":"connected to the OPC UA server and subscribed'), 30_000);
    await fn(gg, c);
  } finally {
    await gg.close();
  }
}

const telemetry = (gg: LocalGreengrass) => telemetryMessages(gg.iotCore, TELEMETRY);
const audits = (gg: LocalGreengrass) => gg.iotCore.filter((r) => r.topicName === `conduit/${THING}/config-audit`).map((r) => JSON.parse(r.payload.toString()) as Record<string, any>);

test('a refused update (invalid value, or tags changed under the same mappingVersion) leaves the running configuration exactly as it was', { timeout: 90_000 }, () =>
  withCollector(async (gg, c) => {
    const before = gg.configuration(NAME);
    const bad = await gg.updateConfiguration(NAME, { merge: { sampling: { intervalMs: 0 } } as unknown as JsonObject });
    assert.equal(bad.applied, false);
    assert.equal(bad.validation.status, 'REJECTED');
    assert.match(bad.validation.message ?? '', /\/sampling\/intervalMs/);
    const sameVersion = await gg.updateConfiguration(NAME, { merge: { tags: [tag('Line1.Vib01')] } as unknown as JsonObject });
    assert.equal(sameVersion.validation.status, 'REJECTED');
    assert.match(sameVersion.validation.message ?? '', /\/mappingVersion: is still "m1" but the tags changed \(removed Line1\.Temp01\)/);
    assert.deepEqual(gg.configuration(NAME), before, 'the nucleus kept the configuration');
    const n = telemetry(gg).length;
    await until('telemetry still flowing under m1', 10_000, () => telemetry(gg).length > n + 2);
    assert.ok(telemetry(gg).every((m) => m.mappingVersion === 'm1'));
    assert.deepEqual(audits(gg), []);
    assert.equal(c.state, 'RUNNING');
  }),
);

test('a mapping change adjusts the monitored items on the same session, is audited once, and telemetry switches version without a seq restart', { timeout: 90_000 }, () =>
  withCollector(async (gg, c) => {
    await until('some rms telemetry under m1', 15_000, () => telemetry(gg).filter((m) => m.type === 'rms').length >= 2);
    const sessionsBefore = (await plant.requestCounts()).createSession;
    const r = await gg.updateConfiguration(NAME, { merge: { mappingVersion: 'm2', tags: [tag('Line1.Vib01'), tag('Line1.Vib02'), tag('Line1.Running01')] } as unknown as JsonObject });
    assert.equal(r.validation.status, 'ACCEPTED');
    assert.equal(r.applied, true);
    const audit = await until('the config-audit message', 15_000, () => audits(gg)[0]);
    assert.deepEqual(audit.mappingVersion, { from: 'm1', to: 'm2' });
    assert.deepEqual(audit.tags, { added: ['Line1.Vib02', 'Line1.Running01'], removed: ['Line1.Temp01'], changed: [] });
    await c.waitForOutput((l) => l.text.includes('"msg":"monitored items adjusted to the new tag list on the existing session"') && l.text.includes('"kept":1'), 10_000);
    // The new mapping, then telemetry of the new version carrying the new tags.
    const mapping = await until('the m2 mapping', 10_000, () =>
      gg.iotCore.filter((x) => x.topicName === `conduit/${THING}/mapping`).map((x) => JSON.parse(x.payload.toString())).find((m) => m.mappingVersion === 'm2'),
    );
    assert.deepEqual(mapping.tags.map((t: { name: string }) => t.name), ['Line1.Vib01', 'Line1.Vib02', 'Line1.Running01']);
    await until('rms telemetry of both vibration tags under m2', 15_000, () => {
      const tagsSeen = new Set(telemetry(gg).filter((m) => m.mappingVersion === 'm2' && m.type === 'rms').flatMap((m) => m.cols.tag as number[]));
      return tagsSeen.has(0) && tagsSeen.has(1);
    });
    // One run, one sequence per stream: the new pipeline continued where the old one stopped.
    const rms = telemetry(gg).filter((m) => m.type === 'rms');
    assert.deepEqual(rms.map((m) => m.seq), rms.map((_, i) => i));
    assert.equal(new Set(rms.map((m) => m.runId)).size, 1);
    const firstM2 = rms.findIndex((m) => m.mappingVersion === 'm2');
    assert.ok(firstM2 > 0 && rms.slice(firstM2).every((m) => m.mappingVersion === 'm2'), 'versions do not interleave');
    assert.equal((await plant.requestCounts()).createSession, sessionsBefore, 'no new session');
    assert.equal(audits(gg).length, 1, 'audited once');
  }),
);

test('MERGE then RESET of a publish setting applies live; a server change reconnects; shadow mode publishes metrics only', { timeout: 120_000 }, () =>
  withCollector(async (gg, c) => {
    const applied = () => c.output.filter((l) => l.text.includes('"msg":"applying a configuration update"')).length;
    const merged = await gg.updateConfiguration(NAME, { merge: { publish: { intervalMs: 3000 } } as unknown as JsonObject });
    assert.equal(merged.applied, true);
    assert.equal((gg.configuration(NAME).publish as JsonObject).intervalMs, 3000);
    await until('the MERGE applied', 10_000, () => applied() >= 1);
    const reset = await gg.updateConfiguration(NAME, { reset: ['/publish/intervalMs'] });
    assert.equal(reset.applied, true);
    assert.equal((gg.configuration(NAME).publish as JsonObject | undefined)?.intervalMs, undefined, 'back to the recipe default');
    await until('the RESET applied', 10_000, () => applied() >= 2);

    const sessionsBefore = (await plant.requestCounts()).createSession;
    const other = plant.endpointUrl.includes('localhost') ? plant.endpointUrl.replace('localhost', '127.0.0.1') : plant.endpointUrl.replace('127.0.0.1', 'localhost');
    assert.notEqual(other, plant.endpointUrl);
    const moved = await gg.updateConfiguration(NAME, { merge: { endpointUrl: other } });
    assert.equal(moved.applied, true);
    await until('a new session on the new endpoint', 20_000, async () => (await plant.requestCounts()).createSession > sessionsBefore);
    await c.waitForOutput((l) => l.text.includes('"msg":"connected to the OPC UA server and subscribed') && l.text.includes(other), 20_000);

    const shadow = await gg.updateConfiguration(NAME, { merge: { mode: 'shadow' } });
    assert.equal(shadow.applied, true);
    await c.waitForOutput((l) => l.text.includes('shadow mode: only metrics are published from now on'), 10_000);
    await new Promise((r) => setTimeout(r, 1500)); // what was queued before the switch goes out
    const mark = gg.iotCore.length;
    const metric = await until('a shadow metrics message', 10_000, () =>
      gg.iotCore
        .slice(mark)
        .filter((x) => x.topicName === `conduit/${THING}/metrics`)
        .map((x) => JSON.parse(x.payload.toString()))
        .find((m) => m.mode === 'shadow' && m.shadow.messages > 0),
    );
    assert.ok(metric.shadow.byStream.rms > 0, 'what would have been published is counted');
    await new Promise((r) => setTimeout(r, 2500));
    const after = gg.iotCore.slice(mark).map((x) => x.topicName);
    assert.deepEqual([...new Set(after)], [`conduit/${THING}/metrics`, `conduit/${THING}/config-audit`].filter((t) => after.includes(t)), 'nothing but metrics (and the audit) after the switch');
    assert.ok(!after.includes(TELEMETRY));
  }),
);
