// `npm run demo` stops everything it started when its terminal closes (SIGHUP to its process group,
// as the kernel sends it to a terminal's foreground group) or when it gets SIGTERM, as it does on
// Ctrl-C. The components run detached under the local core (their own process groups, as under the
// nucleus), so a hang-up never reaches them: only the demo's own stop can end them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../scripts/build';

/** Every process whose parent chain leads to `root` (found through /proc). */
function descendants(root: number): Map<number, string> {
  const parent = new Map<number, number>();
  const cmd = new Map<number, string>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // pid (comm) state ppid …: comm may hold spaces and parentheses; ppid follows the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parent.set(pid, ppid);
      cmd.set(pid, readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim());
    } catch {
      // gone meanwhile
    }
  }
  const out = new Map<number, string>();
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, ppid] of parent) {
      if (out.has(pid) || pid === root) continue;
      if (ppid === root || out.has(ppid)) {
        out.set(pid, cmd.get(pid) ?? '');
        grew = true;
      }
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie has exited; only its parent has not reaped it yet.
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function stopsEverything(signal: 'SIGHUP' | 'SIGTERM', toGroup: boolean): Promise<void> {
  const demo = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'scripts/demo.ts'), '--duration', '120'], {
    cwd: REPO_ROOT,
    detached: true, // its own process group, as a shell gives a foreground job
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  demo.stdout!.on('data', (b: Buffer) => (output += b.toString()));
  demo.stderr!.on('data', (b: Buffer) => (output += b.toString()));
  const exited = new Promise<number | null>((resolve) => demo.on('close', (code) => resolve(code)));
  let started = new Map<number, string>();
  try {
    const deadline = Date.now() + 150_000;
    // Live: the dashboard is printed once the collector is connected to the plant.
    while (!/conduit demo: [1-9]\d* s/.test(output)) {
      if (Date.now() > deadline || demo.exitCode !== null) throw new Error(`the demo did not come up:\n${output.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    started = descendants(demo.pid!);
    const names = [...started.values()].join('\n');
    for (const what of ['opcua-collector/index.js', 'firehose-sink/index.js', 'plant-process']) {
      assert.ok(names.includes(what), `the demo started ${what}; its processes:\n${names}`);
    }
    const sentAt = Date.now();
    process.kill(toGroup ? -demo.pid! : demo.pid!, signal);
    const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 30_000))]);
    assert.notEqual(code, 'timeout', `the demo did not exit within 30 s of ${signal}:\n${output.slice(-3000)}`);
    // Everything it started is gone too (the bound leaves room for the collector's and the sink's stops).
    for (;;) {
      const left = [...started].filter(([pid]) => alive(pid));
      if (left.length === 0) break;
      if (Date.now() - sentAt > 30_000) assert.fail(`still running 30 s after ${signal}:\n${left.map(([p, c]) => `${p} ${c}`).join('\n')}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(code, 0, `the demo stopped cleanly:\n${output.slice(-2000)}`);
    assert.match(output, signal === 'SIGHUP' ? /terminal closed \(SIGHUP\): stopping/ : /SIGTERM: stopping/);
  } finally {
    // Leftovers are killed by pid: the demo's own tree, whatever happened above.
    for (const pid of [...descendants(demo.pid!).keys(), ...started.keys(), demo.pid!]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
}

test('closing the demo terminal (SIGHUP to its process group) stops the components, the core and the plant it started', { timeout: 240_000 }, () =>
  stopsEverything('SIGHUP', true),
);

test('SIGTERM to the demo stops everything it started, as Ctrl-C does', { timeout: 240_000 }, () => stopsEverything('SIGTERM', false));
