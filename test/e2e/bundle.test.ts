// The artifacts stand on their own: unzipped as Greengrass unzips them (each ZIP artifact into
// `{artifacts:decompressedPath}/<zip name>/`) into an empty folder with no node_modules anywhere above
// it, the bundle runs with plain `node` and its native addon loads, as on a gateway. Each device
// downloads the bundle plus the one aws-crt binary of its architecture, not both (by design since
// issue 10: the other architecture's binary was 2.4-2.6 MB of every download).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import AdmZip from 'adm-zip';
import { parse as parseYaml } from 'yaml';
import { LocalIpcServer } from '../harness/ipc/server';
import { buildCollector, buildProbe, type BuiltFixture } from '../harness/fixtures';
import { CRT_PLATFORMS, REPO_ROOT, crtZipName } from '../../scripts/build';
import { yamlVersionProblems } from '../harness/gdk/recipe-yaml';

/** The aws-crt platform of this machine, as conduit ships it (glibc Linux). */
const HOST_PLATFORM = CRT_PLATFORMS.find((p) => p === `${process.platform}-${process.arch}-glibc`);

/** Unzips a component's artifacts for this machine as Greengrass does: `<into>/<zip name>/`. */
function unzipAsGreengrass(built: BuiltFixture, into: string, zips: string[]): void {
  for (const z of zips) new AdmZip(join(dirname(built.zipPath), `${z}.zip`)).extractAllTo(join(into, z), true);
}

let probe: BuiltFixture;
let dir: string;
before(async () => {
  probe = await buildProbe();
  dir = mkdtempSync(join(tmpdir(), 'gg-'));
});
after(() => {
  rmSync(probe.outDir, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
});

function files(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(root, p));
    }
  };
  walk(root);
  return out.sort();
}

test('the built recipe reads the same under YAML 1.1 (gdk) and YAML 1.2', () => {
  assert.deepEqual(yamlVersionProblems(readFileSync(probe.recipePath, 'utf8')), []);
});

test('the bundle zip holds no native binary; each aws-crt zip holds exactly its platform\'s', () => {
  const entries = new AdmZip(probe.zipPath).getEntries().map((e) => e.entryName).sort();
  assert.deepEqual(entries, ['index.js', 'index.js.LEGAL.txt', 'index.js.map']);
  // The map maps positions only: the sources' text stays off the device.
  const map = JSON.parse(new AdmZip(probe.zipPath).readAsText('index.js.map'));
  assert.ok(map.mappings.length > 0 && map.sources.length > 0);
  assert.equal(map.sourcesContent, undefined);
  assert.deepEqual(readdirSync(dirname(probe.zipPath)).sort(), ['probe.zip', ...CRT_PLATFORMS.map((p) => `${crtZipName(p)}.zip`)].sort());
  for (const p of CRT_PLATFORMS) {
    const addon = new AdmZip(join(dirname(probe.zipPath), `${crtZipName(p)}.zip`)).getEntries().map((e) => e.entryName);
    assert.deepEqual(addon, [`bin/${p}/aws-crt-nodejs.node`]);
  }
});

test("every manifest of conduit's recipes downloads the bundle and the aws-crt binary of its own architecture only", () => {
  const arch: Record<string, string> = { amd64: 'x64', aarch64: 'arm64' };
  for (const f of ['conduit.OpcUaCollector.yaml', 'conduit.FirehoseSink.yaml']) {
    const r = parseYaml(readFileSync(join(REPO_ROOT, 'recipes', f), 'utf8'));
    assert.equal(r.Manifests.length, CRT_PLATFORMS.length);
    const bundles = new Set<string>();
    for (const m of r.Manifests) {
      const files = m.Artifacts.map((a: { URI: string; Unarchive: string }) => (assert.equal(a.Unarchive, 'ZIP'), basename(a.URI)));
      const addons = files.filter((x: string) => x.startsWith('aws-crt-'));
      assert.deepEqual(addons, [`aws-crt-linux-${arch[m.Platform.architecture]}-glibc.zip`], `${f} ${m.Platform.architecture}`);
      files.filter((x: string) => !x.startsWith('aws-crt-')).forEach((x: string) => bundles.add(x));
    }
    assert.equal(bundles.size, 1, `${f}: one bundle, the same on every platform`);
  }
});

test('building twice gives the same bytes (a stable digest for the recipe)', async () => {
  const again = await buildProbe();
  try {
    for (const z of readdirSync(dirname(probe.zipPath))) {
      const a = new AdmZip(join(dirname(probe.zipPath), z)).getEntries().map((e) => [e.entryName, e.getData().toString('base64')]);
      const b = new AdmZip(join(dirname(again.zipPath), z)).getEntries().map((e) => [e.entryName, e.getData().toString('base64')]);
      assert.deepEqual(a, b, z);
      assert.ok(a.length > 0);
    }
  } finally {
    rmSync(again.outDir, { recursive: true, force: true });
  }
});

test('without its aws-crt artifact the bundle says which binary is missing and where it looked', { timeout: 30_000, skip: HOST_PLATFORM ? false : `no aws-crt build of conduit for ${process.platform}-${process.arch}` }, () => {
  const root = mkdtempSync(join(dir, 'no-addon-'));
  unzipAsGreengrass(probe, root, ['probe']);
  const r = spawnSync(process.execPath, [join(root, 'probe', 'index.js')], {
    cwd: root,
    encoding: 'utf8',
    timeout: 20_000,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT: join(root, 'none.sock'), SVCUID: 'x' },
  });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, new RegExp(`AWS CRT binary not present[\\s\\S]*${join(root, crtZipName(HOST_PLATFORM!), 'bin', HOST_PLATFORM!, 'aws-crt-nodejs.node').replace(/[.]/g, '\\.')}`));
});

test('unzipped alone, the bundle runs with plain node and talks IPC through its native addon', { timeout: 30_000, skip: HOST_PLATFORM ? false : `no aws-crt build of conduit for ${process.platform}-${process.arch}` }, async () => {
  // {artifacts:decompressedPath}/probe/ and {artifacts:decompressedPath}/aws-crt-<platform>/
  const root = join(dir, 'decompressed');
  unzipAsGreengrass(probe, root, ['probe', crtZipName(HOST_PLATFORM!)]);
  const app = join(root, 'probe');
  for (let d = app; d !== dirname(d); d = dirname(d)) {
    assert.ok(!existsSync(join(d, 'node_modules')), `no node_modules above the artifact (${d})`);
  }
  assert.ok(files(app).includes('index.js'));

  const ipc = new LocalIpcServer({ socketPath: join(dir, 'ipc.sock') });
  await ipc.listen();
  ipc.addComponent('conduit.test.Probe', {
    svcuid: 'probe-token',
    configuration: {
      topicPrefix: 'bundle',
      greeting: 'from-zip',
      accessControl: {
        'aws.greengrass.ipc.mqttproxy': { 'p:1': { operations: ['aws.greengrass#PublishToIoTCore'], resources: ['bundle/+/hello'] } },
      },
    },
  });
  const child = spawn(process.execPath, [join(app, 'index.js')], {
    cwd: dir,
    // Only what the nucleus would give it: no NODE_PATH, no module paths of the test runner.
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT: ipc.socketPath,
      SVCUID: 'probe-token',
      AWS_IOT_THING_NAME: 'gw',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (b) => (out += b));
  child.stderr.on('data', (b) => (out += b));
  try {
    const deadline = Date.now() + 20_000;
    while (!out.includes('"event":"ready"') && Date.now() < deadline && child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.match(out, /"event":"ready"/, out);
    assert.deepEqual(
      ipc.iotCore.map((r) => [r.topicName, r.payload.toString()]),
      [['bundle/gw/hello', '{"hello":"from-zip"}']],
    );
  } finally {
    child.kill('SIGKILL');
    await ipc.close();
  }
});

test("the collector's artifact runs its operator tools on a gateway: index.js egress-plan prints the plan, unspoiled by node-opcua's load-time output", { timeout: 120_000 }, async () => {
  const built = await buildCollector();
  const root = mkdtempSync(join(dir, 'collector-'));
  const app = join(root, 'opcua-collector');
  try {
    assert.ok(HOST_PLATFORM, `no aws-crt build of conduit for ${process.platform}-${process.arch}`);
    unzipAsGreengrass(built, root, ['opcua-collector', crtZipName(HOST_PLATFORM)]);
    const cfg = join(app, 'cfg.json');
    writeFileSync(
      cfg,
      JSON.stringify({
        endpointUrl: 'opc.tcp://plc.plant.local:4840',
        allowedEndpoints: ['plc.plant.local:4840'],
        serverTrust: { thumbprints: ['0123456789abcdef0123456789abcdef01234567'] },
        credentialsSecretId: 'conduit/opcua-collector',
        site: 'lyon',
        area: 'line-1',
        mappingVersion: '1',
        tags: [{ name: 'Vib01', nodeId: 'ns=3;s=Vib01', mode: 'rms' }],
      }),
    );
    const r = spawnSync(process.execPath, [join(app, 'index.js'), 'egress-plan', '--config', cfg, '--region', 'eu-west-1'], { encoding: 'utf8', cwd: app, timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Egress plan: conduit\.OpcUaCollector/, 'the report is the first thing on stdout');
    assert.match(r.stdout, /NOTHING IS INBOUND/);
    assert.match(r.stdout, /plc\.plant\.local:4840/);
    assert.doesNotMatch(r.stdout, /NODE-OPCUA/);
  } finally {
    rmSync(built.outDir, { recursive: true, force: true });
  }
});
