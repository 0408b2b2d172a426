// The artifact stands on its own: unzipped into an empty folder with no node_modules anywhere above
// it, the bundle runs with plain `node` and its native addon loads, as on a gateway.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import AdmZip from 'adm-zip';
import { LocalIpcServer } from '../harness/ipc/server';
import { buildCollector, buildProbe, type BuiltFixture } from '../harness/fixtures';
import { CRT_PLATFORMS } from '../../scripts/build';

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

test('the zip holds the bundle and only the glibc x64 and arm64 aws-crt binaries', () => {
  const entries = new AdmZip(probe.zipPath).getEntries().map((e) => e.entryName).sort();
  const addons = entries.filter((e) => e.endsWith('.node'));
  assert.deepEqual(addons, CRT_PLATFORMS.map((p) => `aws-crt/bin/${p}/aws-crt-nodejs.node`).sort());
  assert.ok(entries.includes('index.js'));
  assert.ok(!entries.some((e) => e.includes('node_modules')), 'nothing from node_modules is shipped');
});

test('building twice gives the same bytes (a stable digest for the recipe)', async () => {
  const again = await buildProbe();
  try {
    const a = new AdmZip(probe.zipPath).getEntries().map((e) => [e.entryName, e.getData().toString('base64')]);
    const b = new AdmZip(again.zipPath).getEntries().map((e) => [e.entryName, e.getData().toString('base64')]);
    assert.deepEqual(a, b);
  } finally {
    rmSync(again.outDir, { recursive: true, force: true });
  }
});

test('unzipped alone, the bundle runs with plain node and talks IPC through its native addon', { timeout: 30_000 }, async () => {
  const app = join(dir, 'app');
  new AdmZip(probe.zipPath).extractAllTo(app, true);
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
  const app = mkdtempSync(join(dir, 'collector-'));
  try {
    new AdmZip(built.zipPath).extractAllTo(app, true);
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
