// The tools' command line: dispatch, help, exit codes, option and configuration errors, and the rule
// that a password never comes from (nor is echoed from) the command line. egress-plan end to end in
// process; check-mapping only up to the point where it would connect (the e2e suite does the rest).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { EXIT_OK, EXIT_USAGE, TOOLS_HELP, isToolCommand, runTool } from '../../../../../components/opcua-collector/src/tools/cli';
import { formatTable, wrap } from '../../../../../components/opcua-collector/src/tools/text-table';
import { BASE_CONFIG } from '../config-fixture';

const dir = mkdtempSync(join(tmpdir(), 'conduit-tools-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

const VALID = file('collector.json', {
  ...BASE_CONFIG,
  allowedEndpoints: ['plc.plant.local:4840'],
  tags: [
    { name: 'Vib', nodeId: 'ns=3;s=Vib', mode: 'rms', alarm: { on: 'rms', raiseAt: 7, clearBelow: 6, minDurationMs: 1000 } },
    { name: 'Run', nodeId: 'ns=3;s=Run', mode: 'change' },
  ],
});

async function run(argv: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runTool(argv, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, env, cwd: dir });
  return { code, out, err };
}

/** True once node-opcua's client has been loaded into this process (it prints to stdout as it loads). */
const nodeOpcuaLoaded = (): boolean => Object.keys(require.cache).some((k) => k.includes(`${'node-opcua-client'}`));

describe('dispatch and help', () => {
  test('isToolCommand: the command names and help words, nothing else (the component starts without arguments)', () => {
    assert.equal(isToolCommand(['check-mapping', '--config', 'x']), true);
    assert.equal(isToolCommand(['egress-plan']), true);
    assert.equal(isToolCommand(['--help']), true);
    assert.equal(isToolCommand([]), false);
    assert.equal(isToolCommand(['--enable-source-maps']), false);
    assert.equal(isToolCommand(['run']), false);
  });

  test('help: conduit --help, help <command>, <command> --help and -h; no arguments is a usage error', async () => {
    assert.deepEqual(await run(['--help']), { code: EXIT_OK, out: TOOLS_HELP, err: '' });
    const none = await run([]);
    assert.equal(none.code, EXIT_USAGE);
    assert.equal(none.out, TOOLS_HELP);
    for (const argv of [['help', 'egress-plan'], ['egress-plan', '--help'], ['egress-plan', '-h']]) {
      const r = await run(argv);
      assert.equal(r.code, EXIT_OK, argv.join(' '));
      assert.match(r.out, /^Usage: conduit egress-plan --config <collector.json>/);
      assert.match(r.out, /--sink-config <file>[\s\S]*--iot-data-endpoint <host>[\s\S]*--iot-cred-endpoint <host>/);
    }
    for (const argv of [['help', 'check-mapping'], ['check-mapping', '--help']]) {
      const r = await run(argv);
      assert.equal(r.code, EXIT_OK, argv.join(' '));
      assert.match(r.out, /^Usage: conduit check-mapping --config <collector.json>/);
      assert.match(r.out, /--username <user>[\s\S]*CONDUIT_OPCUA_PASSWORD[\s\S]*--work-dir <dir>/);
    }
    assert.equal(nodeOpcuaLoaded(), false, 'help must not load node-opcua');
  });

  test('an unknown command or option, a stray argument, a missing value: exit 2 with what to do', async () => {
    const unknown = await run(['check-mappings']);
    assert.equal(unknown.code, EXIT_USAGE);
    assert.match(unknown.err, /unknown command "check-mappings"; the commands are check-mapping, egress-plan/);
    const option = await run(['egress-plan', '--config', VALID, '--regoin', 'eu-west-1']);
    assert.equal(option.code, EXIT_USAGE);
    assert.match(option.err, /egress-plan: unknown option --regoin; the options are --config, --sink-config, --region/);
    const stray = await run(['egress-plan', VALID]);
    assert.equal(stray.code, EXIT_USAGE);
    assert.match(stray.err, /unexpected argument; every value follows its option/);
    const missing = await run(['egress-plan', '--config']);
    assert.equal(missing.code, EXIT_USAGE);
    assert.match(missing.err, /--config needs a value/);
    const flag = await run(['egress-plan', '--help=yes']);
    assert.match(flag.err, /--help takes no value/);
    assert.equal((await run(['egress-plan'])).err, 'egress-plan needs --config; see egress-plan --help\n');
  });
});

describe('a password never comes from the command line', () => {
  test('--password (any spelling) is refused, its value is never echoed, and the environment variable is named', async () => {
    for (const argv of [['--password=hunter2'], ['--password', 'hunter2'], ['--pwd=hunter2'], ['-password=hunter2']]) {
      const r = await run(['check-mapping', '--config', VALID, '--username', 'op', ...argv]);
      assert.equal(r.code, EXIT_USAGE, argv.join(' '));
      assert.match(r.err, /is not accepted: a password on the command line shows in ps and in the shell history/);
      assert.match(r.err, /CONDUIT_OPCUA_PASSWORD/);
      assert.doesNotMatch(r.err + r.out, /hunter2/);
    }
  });

  test('--username needs CONDUIT_OPCUA_PASSWORD; the variable without --username is refused too; neither connects', async () => {
    const noPassword = await run(['check-mapping', '--config', VALID, '--username', 'op']);
    assert.equal(noPassword.code, EXIT_USAGE);
    assert.match(noPassword.err, /--username needs the password in the environment variable CONDUIT_OPCUA_PASSWORD/);
    const noUser = await run(['check-mapping', '--config', VALID], { CONDUIT_OPCUA_PASSWORD: 'hunter2' });
    assert.equal(noUser.code, EXIT_USAGE);
    assert.match(noUser.err, /CONDUIT_OPCUA_PASSWORD is set but --username is not/);
    assert.doesNotMatch(noUser.err, /hunter2/);
    const timeout = await run(['check-mapping', '--config', VALID, '--username', 'op', '--timeout-ms', '5s'], { CONDUIT_OPCUA_PASSWORD: 'pw' });
    assert.equal(timeout.code, EXIT_USAGE);
    assert.match(timeout.err, /--timeout-ms must be a whole number from 1000 to 600000/);
    assert.equal(nodeOpcuaLoaded(), false, 'a usage error must not load node-opcua');
  });
});

describe('configuration files', () => {
  test('missing file, invalid JSON (position only, never the text), a deployment instead of a configuration', async () => {
    const missing = await run(['egress-plan', '--config', 'nope.json']);
    assert.equal(missing.code, EXIT_USAGE);
    assert.equal(missing.err, 'cannot read nope.json: no such file\n');
    const broken = await run(['egress-plan', '--config', file('broken.json', '{\n  "endpointUrl": "opc.tcp://x:1",\n  "site": "secret-ish" oops\n}')]);
    assert.equal(broken.code, EXIT_USAGE);
    assert.match(broken.err, /broken\.json is not valid JSON \(line 3, column \d+\)/);
    assert.doesNotMatch(broken.err, /secret-ish|oops/);
    const deployment = await run(['egress-plan', '--config', file('deployment.json', { components: { 'conduit.OpcUaCollector': {} } })]);
    assert.equal(deployment.code, EXIT_USAGE);
    assert.match(deployment.err, /this looks like a deployment or a recipe: give the configuration object itself/);
  });

  test('an invalid configuration lists every problem as the collector does, for both commands: exit 2', async () => {
    const bad = file('bad.json', { ...BASE_CONFIG, samplingIntervalMS: 100, tags: [{ name: 'A', nodeId: 'ns=3;s=A', mode: 'deadband', deadband: { percent: 250 } }] });
    for (const command of ['egress-plan', 'check-mapping']) {
      const r = await run([command, '--config', bad]);
      assert.equal(r.code, EXIT_USAGE, command);
      assert.match(r.err, /bad\.json: invalid conduit\.OpcUaCollector configuration: 2 problems/);
      assert.match(r.err, /\/samplingIntervalMS: is not a known key\. Fix: remove or rename it: did you mean "intervalMs" inside "sampling"\?/);
      assert.match(r.err, /\/tags\/0\/deadband\/percent: must be a number between 0 and 100/);
    }
    const sink = await run(['egress-plan', '--config', VALID, '--sink-config', file('sink.json', { region: 'eu-west-1' })]);
    assert.equal(sink.code, EXIT_USAGE);
    assert.match(sink.err, /sink\.json: .*1 problem[\s\S]*\/deliveryStreamName: is required/);
  });
});

describe('egress-plan', () => {
  test('text: nothing inbound, the flows, the allowlist, allowedEndpoints; the Region from --iot-data-endpoint', async () => {
    const r = await run(['egress-plan', '--config', VALID, '--iot-data-endpoint', 'A1B2-ats.iot.eu-west-1.amazonaws.com']);
    assert.equal(r.code, EXIT_OK, r.err);
    assert.equal(r.err, '');
    assert.match(r.out, /^Egress plan: conduit\.OpcUaCollector at lyon \/ line-1, mapping 7, active mode; Region eu-west-1\n/);
    assert.match(r.out, /NOTHING IS INBOUND\. No conduit component listens on a network port/);
    assert.match(r.out, /Firewall allowlist: 9 outbound rules, nothing inbound\./);
    assert.match(r.out, /DMZ \(gateway\) +OT network +plc\.plant\.local +4840 +TCP \(OPC UA binary, opc\.tcp\)/);
    assert.match(r.out, /DMZ \(gateway\) +AWS +a1b2-ats\.iot\.eu-west-1\.amazonaws\.com +8883 +TCP \(MQTT over TLS\)/);
    assert.match(r.out, /firehose\.eu-west-1\.amazonaws\.com +443/);
    assert.match(r.out, /plc\.plant\.local:4840: the collector refuses any other endpointUrl/);
    assert.match(r.out, /greengrass\.eu-west-1\.amazonaws\.com: installation with --deploy-dev-tools/);
    assert.equal(nodeOpcuaLoaded(), false, 'egress-plan must not load node-opcua');
  });

  test('--json: the same flows as data', async () => {
    const r = await run(['egress-plan', '--config', VALID, '--region', 'eu-west-1', '--mqtt-port', '443', '--json']);
    assert.equal(r.code, EXIT_OK, r.err);
    const doc = JSON.parse(r.out);
    assert.deepEqual(doc.inbound, []);
    assert.equal(doc.region, 'eu-west-1');
    assert.deepEqual(doc.allowedEndpoints, ['plc.plant.local:4840']);
    assert.equal(doc.flows.filter((f: { firewall: boolean }) => f.firewall).length, 9);
    assert.equal(doc.flows.find((f: { from: string }) => f.from === 'Greengrass nucleus').port, 443);
  });

  test('bad --region, --mqtt-port, --data-plane-port or endpoint host: exit 2', async () => {
    const cases: [string[], RegExp][] = [
      [['--region', 'Ireland'], /--region must be an AWS Region such as eu-west-1/],
      [['--mqtt-port', '1883'], /--mqtt-port must be 8883 or 443/],
      [['--data-plane-port', '443x'], /--data-plane-port must be 8443 or 443/],
      [['--iot-data-endpoint', 'https://a-ats.iot.eu-west-1.amazonaws.com'], /--iot-data-endpoint must be a host name/],
      [['--iot-cred-endpoint', 'b.credentials.iot.eu-west-1.amazonaws.com:443'], /--iot-cred-endpoint must be a host name/],
    ];
    for (const [extra, message] of cases) {
      const r = await run(['egress-plan', '--config', VALID, ...extra]);
      assert.equal(r.code, EXIT_USAGE, extra.join(' '));
      assert.match(r.err, message);
    }
  });
});

describe('text helpers', () => {
  test('formatTable pads every column but the last; wrap keeps the first indent and breaks on spaces', () => {
    assert.equal(formatTable(['a', 'bb'], [['xyz', '1'], ['', '22']]), 'a    bb\n---  --\nxyz  1\n     22');
    assert.equal(wrap('  one two three four', 12, '    '), '  one two\n    three\n    four');
  });
});
