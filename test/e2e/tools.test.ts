// The operator tools against the simulated plant, through the real node-opcua client: check-mapping
// in process (runTool) for a good mapping, a broken one, an untrusted server, a wrong password and
// the Secrets Manager path (local AWS endpoints); egress-plan through the real `npx conduit`
// launcher. And the read-only proof: the plant counted no Write, Call or HistoryUpdate.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runTool } from '../../components/opcua-collector/src/tools/cli';
import { LocalAws, applyClientEnv } from '../harness/aws/local-aws';
import { SimulatedPlant } from '../harness/plant/plant';

const ROOT = resolve(__dirname, '..', '..');
const USER = 'operator';
const PASSWORD = 'check-mapping-pw-7f3a';
const WRONG_PASSWORD = 'not-the-password-9c1e';
const SECRET_ID = 'conduit/opcua/tools-e2e';
const TOKEN = 'svcuid-conduit-tools-test';
/** The plant's own limits, small enough that check-mapping must chunk as the collector does. */
const MAX_NODES_PER_READ = 5;
const MAX_MONITORED_ITEMS_PER_CALL = 4;

const dir = mkdtempSync(join(tmpdir(), 'conduit-tools-e2e-'));
const workDir = join(dir, 'collector-work');
let plant: SimulatedPlant;
let aws: LocalAws;
/** Everything any run printed: no password may ever appear in it. */
const printed: string[] = [];

interface Run {
  code: number;
  out: string;
  err: string;
}

async function checkMapping(config: unknown, extra: string[] = ['--username', USER], env: Record<string, string> = { CONDUIT_OPCUA_PASSWORD: PASSWORD }): Promise<Run> {
  const file = join(dir, `config-${printed.length}.json`);
  writeFileSync(file, JSON.stringify(config));
  let out = '';
  let err = '';
  const code = await runTool(['check-mapping', '--config', file, '--work-dir', workDir, '--timeout-ms', '20000', ...extra], {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    env,
  });
  printed.push(out, err);
  return { code, out, err };
}

/** The tag table's row for `name`, as cells. */
function row(out: string, name: string): string[] {
  const line = out.split('\n').find((l) => l.startsWith(`${name} `));
  assert.ok(line, `no row for ${name} in:\n${out}`);
  return line.split(/ {2,}/);
}

const COLUMNS = { nodeId: 1, mode: 2, exists: 3, readable: 4, dataType: 5, sampling: 6, verdict: 7 } as const;

/** Every plant tag with the mode that fits it: a mapping that must pass. */
function goodTags() {
  return plant.tags.map((t) => {
    if (t.kind === 'vibration') return { name: t.name, nodeId: t.nodeId, mode: 'rms', windowMs: 1000, alarm: { on: 'rms', raiseAt: 7.1, clearBelow: 6, minDurationMs: 3000 } };
    if (t.kind === 'temperature') return { name: t.name, nodeId: t.nodeId, mode: 'deadband', deadband: { percent: 0.5 } }; // range from the EURange
    if (t.kind === 'pressure') return { name: t.name, nodeId: t.nodeId, mode: 'deadband', deadband: { absolute: 0.05 } };
    return { name: t.name, nodeId: t.nodeId, mode: 'change' };
  });
}

function collectorConfig(o: { tags?: unknown[]; thumbprint?: string; plant?: SimulatedPlant } = {}) {
  const p = o.plant ?? plant;
  return {
    endpointUrl: p.endpointUrl,
    allowedEndpoints: [`127.0.0.1:${p.port}`],
    serverTrust: { thumbprints: [o.thumbprint ?? p.certificateThumbprint] },
    credentialsSecretId: SECRET_ID,
    site: 'test-site',
    area: 'test-area',
    mappingVersion: 'tools-e2e.1',
    sampling: { intervalMs: 100, publishingIntervalMs: 500 },
    tags: o.tags ?? goodTags(),
  };
}

/** Runs `npx --no-install conduit ...` from the repository root, bounded. */
function npxConduit(args: string[], timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolveRun, reject) => {
    // --no-install: the bin must come from this checkout, never from the registry.
    const child = spawn('npx', ['--no-install', 'conduit', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString('utf8')));
    child.stderr.on('data', (b: Buffer) => (err += b.toString('utf8')));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`npx conduit ${args.join(' ')} did not finish within ${timeoutMs} ms\n${out}\n${err}`));
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      printed.push(out, err);
      resolveRun({ code: code ?? -1, out, err });
    });
  });
}

before(async () => {
  plant = await SimulatedPlant.start({
    pkiDir: join(dir, 'server-pki'),
    users: [{ username: USER, password: PASSWORD }],
    operationLimits: { maxNodesPerRead: MAX_NODES_PER_READ, maxMonitoredItemsPerCall: MAX_MONITORED_ITEMS_PER_CALL },
  });
  aws = await LocalAws.start();
});

after(async () => {
  await plant?.close();
  await aws?.close();
  rmSync(dir, { recursive: true, force: true });
  for (const text of printed) for (const pw of [PASSWORD, WRONG_PASSWORD]) assert.ok(!text.includes(pw), 'a tool printed a password');
});

describe('check-mapping against the simulated plant', () => {
  test('a good mapping: exit 0, every tag ok, limits read, chunked like the collector', { timeout: 60_000 }, async () => {
    const r = await checkMapping(collectorConfig());
    assert.equal(r.code, 0, r.out + r.err);
    assert.equal(r.err, '');
    assert.match(r.out, /^check-mapping: 6 tags of mapping tools-e2e\.1 on opc\.tcp:\/\/127\.0\.0\.1:\d+\/UA\/Plant \(SignAndEncrypt\/Basic256Sha256\)\n/);
    assert.match(r.out, /\nclient certificate {2}[0-9a-f]{40} {2}(created|reused) in .*collector-work\/pki; the server must trust it\n/);
    assert.match(r.out, /\nidentity {12}user "operator", password from CONDUIT_OPCUA_PASSWORD\n/);
    assert.ok(r.out.includes(`server certificate  ${plant.certificateThumbprint}  trusted (pinned thumbprint)`));
    assert.match(r.out, /\ngateway certificate [0-9a-f]{40} {2}trusted by the server \(it opened the secure channel\)\n/);
    for (const t of plant.tags) {
      const cells = row(r.out, t.name);
      assert.equal(cells[COLUMNS.nodeId], t.nodeId);
      assert.equal(cells[COLUMNS.exists], 'yes');
      assert.equal(cells[COLUMNS.readable], 'yes');
      assert.equal(cells[COLUMNS.sampling], '100 -> 100');
      assert.equal(cells[COLUMNS.verdict], 'ok', t.name);
    }
    assert.equal(row(r.out, 'Line1.Vib01')[COLUMNS.dataType], 'Double, numeric');
    assert.equal(row(r.out, 'Line1.Running01')[COLUMNS.dataType], 'Boolean');
    assert.equal(row(r.out, 'Line1.Batch01')[COLUMNS.dataType], 'String');
    assert.doesNotMatch(r.out, /Findings:/);
    assert.match(r.out, new RegExp(`\\n  MaxNodesPerRead +${MAX_NODES_PER_READ}\\n`));
    assert.match(r.out, new RegExp(`\\n  MaxMonitoredItemsPerCall +${MAX_MONITORED_ITEMS_PER_CALL}\\n`));
    assert.match(r.out, /Test subscription: 2 CreateMonitoredItems requests of up to 4 items, as the collector sends them; deleted with DeleteSubscriptions\./);
    assert.match(r.out, /\nResult: 6 tags: 6 ok, 0 with warnings, 0 failed\. The mapping is usable as it is\.\n$/);
  });

  test('a missing node and a String node in rms mode: exit 1, both rows flagged with their fixes, the others ok', { timeout: 60_000 }, async () => {
    const tags = [
      ...goodTags(),
      { name: 'Line1.Ghost', nodeId: 'ns=1;s=Line1.Ghost01', mode: 'deadband', deadband: { absolute: 1 } },
      { name: 'Line1.BatchAsRms', nodeId: 'ns=1;s=Line1.Batch01', mode: 'rms' },
    ];
    // Batch01 twice (once as change, once as rms) would be refused as a duplicate node: drop the good one.
    const r = await checkMapping(collectorConfig({ tags: tags.filter((t) => t.name !== 'Line1.Batch01') }));
    assert.equal(r.code, 1, r.out + r.err);
    const ghost = row(r.out, 'Line1.Ghost');
    assert.deepEqual([ghost[COLUMNS.exists], ghost[COLUMNS.readable], ghost[COLUMNS.sampling], ghost[COLUMNS.verdict]], ['NO', '-', '100 -> refused', 'FAIL']);
    const text = row(r.out, 'Line1.BatchAsRms');
    assert.deepEqual([text[COLUMNS.exists], text[COLUMNS.readable], text[COLUMNS.dataType], text[COLUMNS.verdict]], ['yes', 'yes', 'String, NOT numeric', 'FAIL']);
    for (const name of ['Line1.Vib01', 'Line1.Temp01', 'Line1.Running01']) assert.equal(row(r.out, name)[COLUMNS.verdict], 'ok', name);
    assert.match(r.out, /Line1\.Ghost \(tags\[5\], ns=1;s=Line1\.Ghost01\)\n {4}FAIL: the server has no node ns=1;s=Line1\.Ghost01 \(BadNodeIdUnknown\)\n {6}fix: correct tags\[5\]\.nodeId/);
    assert.match(r.out, /Line1\.BatchAsRms \(tags\[6\], ns=1;s=Line1\.Batch01\)\n {4}FAIL: is String, not numeric: mode rms needs numbers\n {6}fix: use mode change for tags\[6\]/);
    assert.match(r.out, /\nResult: 7 tags: 5 ok, 0 with warnings, 2 failed\. Fix the problems above before deploying this mapping\.\n$/);
  });

  test('an untrusted server certificate: exit 1, no session, and the thumbprint to pin', { timeout: 60_000 }, async () => {
    const before = await plant.requestCounts();
    const r = await checkMapping(collectorConfig({ thumbprint: 'ab'.repeat(20) }));
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.out, /CONNECTION FAILED: the server certificate is not trusted \(matches no pinned thumbprint or certificate of serverTrust\)/);
    assert.ok(r.out.includes(`    thumbprint  ${plant.certificateThumbprint}\n`), r.out);
    assert.match(r.out, /    subject     .*CN=conduit simulated plant/);
    assert.ok(r.out.includes(`fix: if this is the plant's server (check the thumbprint with the OT team, on the server's own certificate screen), add "${plant.certificateThumbprint}" to serverTrust.thumbprints`));
    assert.doesNotMatch(r.out, /Result:/);
    const afterCounts = await plant.requestCounts();
    assert.equal(afterCounts.createSession, before.createSession, 'CreateSession requests');
  });

  test('tags without source timestamps or without any timestamp: flagged with a warning each, the others ok', { timeout: 60_000 }, async () => {
    const foreign = await SimulatedPlant.start({
      pkiDir: join(dir, 'foreign-pki'),
      users: [{ username: USER, password: PASSWORD }],
      timestamps: { withoutSource: ['Line1.Vib01'], withoutAny: ['Line1.Temp01'] },
    });
    try {
      const r = await checkMapping(collectorConfig({ plant: foreign }));
      assert.equal(r.code, 0, r.out + r.err);
      assert.equal(row(r.out, 'Line1.Vib01')[COLUMNS.verdict], 'warn');
      assert.equal(row(r.out, 'Line1.Temp01')[COLUMNS.verdict], 'warn');
      for (const name of ['Line1.Vib02', 'Line1.Press01', 'Line1.Running01', 'Line1.Batch01']) assert.equal(row(r.out, name)[COLUMNS.verdict], 'ok', name);
      assert.match(r.out, /Line1\.Vib01 \(tags\[0\], ns=1;s=Line1\.Vib01\)\n {4}warn: the server sends no source timestamp for it: the collector times its samples by the server timestamp\n {6}fix: enable source timestamps/);
      assert.match(r.out, /Line1\.Temp01 \(tags\[2\], ns=1;s=Line1\.Temp01\)\n {4}warn: the server sends no timestamp at all for it: the collector times its samples on arrival/);
      assert.match(r.out, /\nResult: 6 tags: 4 ok, 2 with warnings, 0 failed\./);
    } finally {
      await foreign.close();
    }
  });

  test("a server that does not trust the gateway's certificate (socket closed in the handshake): exit 1, the thumbprint and subject to trust", { timeout: 60_000 }, async () => {
    const strict = await SimulatedPlant.start({
      pkiDir: join(dir, 'strict-pki'),
      users: [{ username: USER, password: PASSWORD }],
      trustClientCertificates: 'explicit',
      untrustedClient: 'close-socket',
    });
    try {
      const r = await checkMapping(collectorConfig({ plant: strict }));
      assert.equal(r.code, 1, r.out + r.err);
      assert.match(r.out, /CONNECTION FAILED: the server closed the connection during the secure-channel handshake: the server most likely does not trust the gateway's certificate\n/);
      const thumbprint = /client certificate {2}([0-9a-f]{40})/.exec(r.out)?.[1];
      assert.ok(thumbprint, r.out);
      assert.ok(r.out.includes(`    thumbprint  ${thumbprint}\n`), r.out);
      assert.match(r.out, /    subject     .*CN=conduit-opcua-collector@/);
      assert.match(r.out, /fix: trust this certificate on the server/);
    } finally {
      await strict.close();
    }
  });

  test('a wrong password: exit 1, the rejection and the fix, never the password', { timeout: 60_000 }, async () => {
    const r = await checkMapping(collectorConfig(), ['--username', USER], { CONDUIT_OPCUA_PASSWORD: WRONG_PASSWORD });
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.out, /CONNECTION FAILED: the server rejected user "operator" \((BadUserAccessDenied|BadIdentityTokenRejected)\)\n {2}fix: check --username and CONDUIT_OPCUA_PASSWORD/);
  });

  test('without --username: the user from the configured Secrets Manager secret, through the SDK chain', { timeout: 60_000 }, async () => {
    aws.tes.addToken(TOKEN);
    aws.secretsManager.createSecret(SECRET_ID, { username: USER, password: PASSWORD });
    // The AWS SDK reads process.env itself; the tool's own env holds no password.
    const saved = { ...process.env };
    const env = applyClientEnv(process.env, aws.clientEnv(TOKEN));
    for (const k of Object.keys(process.env)) if (!(k in env)) delete process.env[k];
    Object.assign(process.env, env);
    try {
      const r = await checkMapping(collectorConfig(), [], {});
      assert.equal(r.code, 0, r.out + r.err);
      assert.ok(r.out.includes(`identity            user "operator", from the Secrets Manager secret "${SECRET_ID}"`), r.out);
      assert.match(r.out, /Result: 6 tags: 6 ok/);
      assert.ok(aws.secretsManager.requests >= 1);
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  });

  test('read-only on the wire: the plant saw no Write, Call or HistoryUpdate, and every session was closed', { timeout: 30_000 }, async () => {
    const counts = await plant.requestCounts();
    assert.equal(counts.write, 0, 'Write requests');
    assert.equal(counts.call, 0, 'Call requests');
    assert.equal(counts.historyUpdate, 0, 'HistoryUpdate requests');
    assert.ok(counts.read > 0 && counts.createMonitoredItems > 0);
    // Four runs got a session (good, broken, secret; the wrong password got none): each deleted its subscription.
    assert.equal(counts.byType.DeleteSubscriptionsRequest, counts.createSubscription);
    assert.equal(counts.currentSessions, 0);
    const allowed = new Set([
      'GetEndpointsRequest',
      'CreateSessionRequest',
      'ActivateSessionRequest',
      'ReadRequest',
      'BrowseRequest',
      'TranslateBrowsePathsToNodeIdsRequest',
      'CreateSubscriptionRequest',
      'CreateMonitoredItemsRequest',
      'PublishRequest',
      'DeleteSubscriptionsRequest',
      'CloseSessionRequest',
    ]);
    for (const type of Object.keys(counts.byType)) assert.ok(allowed.has(type), `unexpected request ${type}`);
  });
});

describe('egress-plan through the npx launcher', () => {
  test('npx conduit egress-plan --help, a plan, and a configuration error with exit 2', { timeout: 120_000 }, async () => {
    const help = await npxConduit(['egress-plan', '--help']);
    assert.equal(help.code, 0, help.err);
    assert.match(help.out, /^Usage: conduit egress-plan --config <collector.json>/);

    const file = join(dir, 'egress.json');
    writeFileSync(file, JSON.stringify(collectorConfig()));
    const plan = await npxConduit(['egress-plan', '--config', file, '--iot-data-endpoint', 'a1b2c3-ats.iot.eu-west-1.amazonaws.com']);
    assert.equal(plan.code, 0, plan.err);
    assert.match(plan.out, /NOTHING IS INBOUND/);
    assert.match(plan.out, new RegExp(`DMZ \\(gateway\\) +OT network +127\\.0\\.0\\.1 +${plant.port} +TCP \\(OPC UA binary, opc\\.tcp\\)`));
    assert.match(plan.out, /firehose\.eu-west-1\.amazonaws\.com +443/);
    assert.ok(plan.out.includes(`127.0.0.1:${plant.port}: the collector refuses any other endpointUrl`));
    assert.doesNotMatch(plan.out, /NODE-OPCUA|verify_pcks1/, 'node-opcua output in the report');

    writeFileSync(file, JSON.stringify({ ...collectorConfig(), tags: [] }));
    const bad = await npxConduit(['egress-plan', '--config', file]);
    assert.equal(bad.code, 2, bad.out + bad.err);
    assert.match(bad.err, /egress\.json: invalid conduit\.OpcUaCollector configuration: 1 problem\n {2}\/tags: needs at least 1 entry/);
  });
});
