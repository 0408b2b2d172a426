// The component launcher, driven end to end: the probe fixture is built and zipped like a real
// component, deployed from its recipe, and uses the real IPC, Secrets Manager and Firehose clients
// from inside its artifact.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LocalGreengrass } from '../harness/launcher/local-greengrass';
import { buildProbe, type BuiltFixture } from '../harness/fixtures';

let probe: BuiltFixture;
before(async () => {
  probe = await buildProbe();
});
after(() => rmSync(probe.outDir, { recursive: true, force: true }));

const T = { timeout: 60_000 };
const line = (event: string) => (l: { text: string }) => l.text.includes(`"event":"${event}"`);

async function withGreengrass(fn: (gg: LocalGreengrass) => Promise<void>): Promise<void> {
  const gg = await LocalGreengrass.start({ thingName: 'gw-7' });
  try {
    await fn(gg);
  } finally {
    await gg.close();
  }
}

test('a component is installed, run from its artifact with the nucleus environment, and logged', T, () =>
  withGreengrass(async (gg) => {
    gg.aws.secretsManager.createSecret('conduit/probe', { username: 'u', password: 'not-for-logs' });
    gg.aws.firehose.createDeliveryStream('probe-stream');
    const c = await gg.deploy({
      recipePath: probe.recipePath,
      artifactDir: probe.artifactDir,
      configurationUpdate: { merge: { secretId: 'conduit/probe', deliveryStream: 'probe-stream', greeting: 'hi' } },
    });
    await c.waitForState('RUNNING', 10_000);
    await c.waitForOutput(line('ready'), 20_000);
    const ev = c.jsonLines();
    assert.ok(ev.some((e) => e.event === 'published' && e.topic === 'conduit/test/gw-7/hello'));
    assert.ok(ev.some((e) => e.event === 'secret' && e.length === JSON.stringify({ username: 'u', password: 'not-for-logs' }).length));
    assert.ok(ev.some((e) => e.event === 'firehose' && e.failed === 0));
    const rec = gg.iotCore.find((r) => r.topicName === 'conduit/test/gw-7/hello');
    assert.ok(rec, 'the publish reached the local IoT Core');
    assert.equal(rec.component, 'conduit.test.Probe');
    assert.deepEqual(JSON.parse(rec.payload.toString()), { hello: 'hi' });
    assert.deepEqual(gg.aws.firehose.records('probe-stream').map((b) => b.toString()), ['{"from":"probe"}\n']);
    // The nucleus's layout: artifacts unpacked under artifacts-unarchived/<zip stem>, cwd = work dir.
    assert.ok(statSync(join(gg.root, 'packages/artifacts-unarchived/conduit.test.Probe/1.0.0/probe/index.js')).isFile());
    assert.equal(c.workPath, join(gg.root, 'work/conduit.test.Probe'));
    const log = readFileSync(c.logPath, 'utf8');
    assert.match(log, /\[INFO\] \(Copier\) conduit\.test\.Probe: stdout\. \{"event":"ready"\}\. \{scriptName=services\.conduit\.test\.Probe\.lifecycle\.Run/);
    assert.doesNotMatch(log, /not-for-logs/);
  }),
);

test('a live configuration update is validated first: accepted is applied, rejected changes nothing', T, () =>
  withGreengrass(async (gg) => {
    const c = await gg.deploy({ recipePath: probe.recipePath, artifactDir: probe.artifactDir });
    await c.waitForOutput(line('ready'), 20_000);
    const ok = await gg.updateConfiguration('conduit.test.Probe', { merge: { greeting: 'bonjour' } });
    assert.equal(ok.applied, true);
    assert.deepEqual(ok.validation, { status: 'ACCEPTED' });
    await c.waitForOutput((l) => l.text.includes('"greeting":"bonjour"'), 10_000);
    const before = gg.configuration('conduit.test.Probe');
    const bad = await gg.updateConfiguration('conduit.test.Probe', { merge: { greeting: 'x', reject: true } });
    assert.equal(bad.applied, false);
    assert.deepEqual(bad.validation, { status: 'REJECTED', message: 'reject is set' });
    assert.deepEqual(gg.configuration('conduit.test.Probe'), before);
    const reset = await gg.updateConfiguration('conduit.test.Probe', { reset: ['/greeting'] });
    assert.equal(reset.configuration.greeting, 'hello');
  }),
);

test('a failing component is restarted, then BROKEN after repeated errors', T, () =>
  withGreengrass(async (gg) => {
    const c = await gg.deploy({
      recipePath: probe.recipePath,
      artifactDir: probe.artifactDir,
      configurationUpdate: { merge: { failAtStart: true } },
    });
    await c.waitForState('BROKEN', 30_000);
    assert.equal(c.errorCount, 3);
    assert.equal(c.jsonLines().filter((e) => e.event === 'failing').length, 3);
  }),
);

test('UpdateState ERRORED from the component counts as an error', T, () =>
  withGreengrass(async (gg) => {
    const c = await gg.deploy({
      recipePath: probe.recipePath,
      artifactDir: probe.artifactDir,
      configurationUpdate: { merge: { reportErrored: true } },
    });
    await c.waitForState('BROKEN', 30_000);
    assert.equal(c.errorCount, 3);
    // The nucleus acts on the report at once, so the probe may be stopped before it prints anything more.
    const reports = readFileSync(c.logPath, 'utf8').match(/ERRORED \(the component reported ERRORED\)/g) ?? [];
    assert.equal(reports.length, 3);
  }),
);

test('a recipe without the permission fails as on a device: the publish is unauthorized', T, () =>
  withGreengrass(async (gg) => {
    const c = await gg.deploy({
      recipePath: probe.recipePath,
      artifactDir: probe.artifactDir,
      configurationUpdate: {
        merge: { accessControl: { 'aws.greengrass.ipc.mqttproxy': { 'conduit.test.Probe:mqttproxy:1': { operations: ['aws.greengrass#PublishToIoTCore'], resources: ['other/topic'] } } } },
      },
    });
    const fatal = await c.waitForOutput(line('fatal'), 20_000);
    assert.match(fatal.text, /Eventstream RPC request failed/);
    await c.waitForState(['ERRORED', 'BROKEN'], 10_000);
    assert.equal(gg.iotCore.length, 0);
  }),
);

test('stop sends SIGTERM; a component that ignores it is killed 5 s later, whatever the recipe\'s Shutdown Timeout', T, () =>
  withGreengrass(async (gg) => {
    const c = await gg.deploy({ recipePath: probe.recipePath, artifactDir: probe.artifactDir });
    await c.waitForOutput(line('ready'), 20_000);
    const pid = c.pid!;
    const graceful = await c.stop();
    assert.deepEqual([graceful.code, graceful.killed], [0, false]);
    assert.ok(c.jsonLines().some((e) => e.event === 'stopping'));
    assert.throws(() => process.kill(pid, 0), 'the process is gone');
    assert.equal(c.state, 'FINISHED');

    const stubborn = await gg.updateConfiguration('conduit.test.Probe', { merge: { ignoreSigterm: true } });
    assert.equal(stubborn.applied, true, 'no subscriber while stopped: the nucleus applies it');
    await c.restart();
    await c.waitForOutput(line('ready'), 20_000, c.output.findIndex(line('stopping')) + 1);
    const started = Date.now();
    const forced = await c.stop();
    assert.equal(forced.killed, true);
    assert.equal(forced.signal, 'SIGKILL');
    assert.ok(Date.now() - started >= 4_500, 'killed only after the 5 s graceful period');
    assert.ok(forced.afterSigtermMs! >= 4_900 && forced.afterSigtermMs! < 5_500, `killed ${forced.afterSigtermMs} ms after SIGTERM: the nucleus's hard-coded 5 s, not the probe's Shutdown Timeout`);
  }),
);

test('interpolateComponentConfiguration lets a policy name the thing instead of a wildcard', T, async () => {
  const exact = {
    merge: {
      accessControl: {
        'aws.greengrass.ipc.mqttproxy': {
          'conduit.test.Probe:mqttproxy:1': { operations: ['aws.greengrass#PublishToIoTCore'], resources: ['conduit/test/{iot:thingName}/hello'] },
        },
      },
    },
  };
  for (const interpolateComponentConfiguration of [true, false]) {
    const gg = await LocalGreengrass.start({ thingName: 'gw-9', interpolateComponentConfiguration });
    try {
      const c = await gg.deploy({ recipePath: probe.recipePath, artifactDir: probe.artifactDir, configurationUpdate: exact });
      await c.waitForOutput((l) => line('ready')(l) || line('fatal')(l), 20_000);
      const resources = (gg.configuration('conduit.test.Probe') as any).accessControl['aws.greengrass.ipc.mqttproxy']['conduit.test.Probe:mqttproxy:1'].resources;
      if (interpolateComponentConfiguration) {
        assert.deepEqual(resources, ['conduit/test/gw-9/hello']);
        assert.deepEqual(gg.iotCore.map((r) => r.topicName), ['conduit/test/gw-9/hello']);
      } else {
        assert.deepEqual(resources, ['conduit/test/{iot:thingName}/hello'], 'a nucleus without the option keeps the text');
        assert.equal(gg.iotCore.length, 0, 'and the literal resource authorizes nothing');
      }
    } finally {
      await gg.close();
    }
  }
});
