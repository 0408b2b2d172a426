// `npm run bench`: every benchmark in this folder, one after the other. Each compares conduit's code
// with a baseline run in the same process and prints ratios; none of them asserts on time.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

async function runAll(): Promise<void> {
  const only = process.argv.slice(2);
  const benches = readdirSync(__dirname)
    .filter((f) => f.endsWith('.bench.ts'))
    .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
    .sort();
  for (const f of benches) {
    const mod = (await import(join(__dirname, f))) as { main: () => Promise<void> };
    await mod.main();
  }
}

runAll().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
