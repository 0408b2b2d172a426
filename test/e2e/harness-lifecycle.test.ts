// The nucleus's lifecycle rules in the local core, driven with the probe component (a real process
// that talks to the core through the real aws-iot-device-sdk-v2 IPC client): BROKEN only after three
// errors less than errorResetTime apart; HARD dependencies hold back a start, SOFT ones do not; a
// validation that is not answered in time fails the update and keeps the old configuration.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalGreengrass } from '../harness/launcher/local-greengrass';
import { buildProbe, type BuiltFixture } from '../harness/fixtures';
import type { LaunchedComponent } from '../harness/launcher/component';

let probe: BuiltFixture;
before(async () => {
  probe = await buildProbe();
});
after(() => rmSync(probe.outDir, { recursive: true, force: true }));

const T = { timeout: 90_000 };
const PROBE = 'conduit.test.Probe';
const line = (event: string) => (l: { text: string }) => l.text.includes(`"event":"${event}"`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function withGreengrass(fn: (gg: LocalGreengrass) => Promise<void>): Promise<void> {
  const gg = await LocalGreengrass.start({ thingName: 'gw-life' });
  try {
    await fn(gg);
  } finally {
    await gg.close();
  }
}

async function until(what: string, timeoutMs: number, check: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** The probe under another name with the given dependencies: its own recipe, its own copy of the artifact. */
function probeNamed(name: string, dependencies: Record<string, 'HARD' | 'SOFT'> = {}): string {
  const text = readFileSync(probe.recipePath, 'utf8').replaceAll(PROBE, name);
  const deps = Object.entries(dependencies)
    .map(([n, type]) => `  ${n}:\n    VersionRequirement: '>=1.0.0'\n    DependencyType: ${type}\n`)
    .join('');
  const recipe = deps === '' ? text : text.replace(/^ComponentConfiguration:/m, `ComponentDependencies:\n${deps}ComponentConfiguration:`);
  const recipePath = join(probe.outDir, `${name}.yaml`);
  writeFileSync(recipePath, recipe);
  // Every artifact of the probe: its bundle and the per-architecture aws-crt zips.
  mkdirSync(join(probe.artifactDir, name, '1.0.0'), { recursive: true });
  for (const file of readdirSync(join(probe.artifactDir, PROBE, '1.0.0'))) {
    copyFileSync(join(probe.artifactDir, PROBE, '1.0.0', file), join(probe.artifactDir, name, '1.0.0', file));
  }
  return recipePath;
}

const errorLines = (c: LaunchedComponent) => c.jsonLines().filter((e) => e.event === 'failing').length;

test('errors further apart than errorResetTime never make a component BROKEN; three closer together do', T, () =>
  withGreengrass(async (gg) => {
    // The probe crashes 1.5 s after each start: with errorResetTime 1 s every error starts a new count.
    const spaced = await gg.deploy({
      recipePath: probe.recipePath,
      artifactDir: probe.artifactDir,
      configurationUpdate: { merge: { failAfterMs: 1500 } },
      errorResetTimeS: 1,
    });
    await until('four errors', 30_000, () => spaced.errorCount >= 4);
    assert.notEqual(spaced.state, 'BROKEN', 'four errors, each more than errorResetTime after the one before');
    assert.equal(errorLines(spaced) >= 4, true);
    assert.ok(spaced.continualErrors <= 1, `errors in a row: ${spaced.continualErrors}`);
    await spaced.stop();

    // The same crashes with the default errorResetTime (1 h): BROKEN at the third.
    const close = await gg.deploy({
      recipePath: probeNamed('conduit.test.ProbeB'),
      artifactDir: probe.artifactDir,
      configurationUpdate: { merge: { failAfterMs: 1500 } },
    });
    await close.waitForState('BROKEN', 30_000);
    assert.equal(close.errorCount, 3);
    assert.equal(errorLines(close), 3);
  }),
);

test('a BROKEN component is reinstalled by a restart: Install again, every error forgotten', T, () =>
  withGreengrass(async (gg) => {
    const c = await gg.deploy({ recipePath: probe.recipePath, artifactDir: probe.artifactDir, configurationUpdate: { merge: { failAtStart: true } } });
    await c.waitForState('BROKEN', 30_000);
    assert.equal(c.errorCount, 3);
    const updated = await gg.updateConfiguration(PROBE, { merge: { failAtStart: false } });
    assert.equal(updated.applied, true);
    // requestReinstall: out of BROKEN through NEW, Install again, every error forgotten.
    await c.restart();
    await c.waitForOutput(line('ready'), 20_000);
    assert.deepEqual([c.state, c.errorCount, c.continualErrors], ['RUNNING', 0, 0]);
    assert.match(readFileSync(c.logPath, 'utf8'), /state BROKEN -> NEW/);
  }),
);

test('a HARD dependency that is deployed but not RUNNING holds the start back in INSTALLED; a SOFT one does not', T, () =>
  withGreengrass(async (gg) => {
    const [hard, soft, dep] = await gg.deployAll([
      { recipePath: probeNamed('conduit.test.NeedsHard', { 'conduit.test.Dependency': 'HARD', 'aws.greengrass.TokenExchangeService': 'HARD' }), artifactDir: probe.artifactDir },
      { recipePath: probeNamed('conduit.test.NeedsSoft', { 'conduit.test.Dependency': 'SOFT', 'aws.greengrass.SecretManager': 'HARD' }), artifactDir: probe.artifactDir },
      { recipePath: probeNamed('conduit.test.Dependency'), artifactDir: probe.artifactDir, noStart: true },
    ]);
    await soft!.waitForOutput(line('ready'), 20_000);
    assert.equal(dep!.state, 'NEW', 'the dependency has not started');
    // A bound, not a speed: the SOFT dependent was up well within it while the HARD one stayed put.
    await sleep(1500);
    assert.equal(hard!.state, 'INSTALLED');
    assert.equal(hard!.output.length, 0, 'its Run never started');
    assert.deepEqual(gg.unreadyDependencies('conduit.test.NeedsHard'), ['conduit.test.Dependency']);
    const order: string[] = [];
    dep!.on('state', (s: string) => order.push(`dependency ${s}`));
    hard!.on('state', (s: string) => order.push(`dependent ${s}`));
    await gg.start('conduit.test.Dependency');
    await hard!.waitForOutput(line('ready'), 20_000);
    assert.deepEqual(order.slice(0, 3), ['dependency INSTALLED', 'dependency RUNNING', 'dependent RUNNING']);
  }),
);

test('a validation the component does not answer in time fails the update and keeps the old configuration', T, () =>
  withGreengrass(async (gg) => {
    const c = await gg.deploy({ recipePath: probe.recipePath, artifactDir: probe.artifactDir, configurationUpdate: { merge: { validation: 'silent', lateReportMs: 2500 } } });
    await c.waitForOutput(line('ready'), 20_000);
    const before = gg.configuration(PROBE);
    const r = await gg.updateConfiguration(PROBE, { merge: { greeting: 'too late' } }, { validationTimeoutMs: 1500 });
    assert.deepEqual([r.applied, r.validation.status], [false, 'TIMEOUT']);
    assert.ok(c.jsonLines().some((e) => e.event === 'validate-event' && e.deploymentId === r.deploymentId), 'the probe got the event');
    assert.deepEqual(gg.configuration(PROBE), before, 'the old configuration stays');
    // The answer that comes after the deadline is refused as the nucleus refuses it.
    const late = await c.waitForOutput((l) => line('late-report-failed')(l) || line('late-report-accepted')(l), 10_000);
    assert.match(late.text, /Validation request either timed out or was never made/);
    assert.equal(c.jsonLines().some((e) => e.event === 'config-updated'), false, 'no configuration update reached the probe');
  }),
);
