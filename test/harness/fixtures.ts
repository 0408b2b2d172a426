// Builds components (the probe fixture, conduit's own) the way `npm run build` builds conduit's components, into a
// temporary folder the caller removes.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildComponent, REPO_ROOT, type BuiltComponent } from '../../scripts/build';

export interface BuiltFixture extends BuiltComponent {
  /** <dir>/<name>/<version>/<file>, as `--artifactDir` expects. */
  artifactDir: string;
  outDir: string;
}

async function buildInto(prefix: string, recipe: string, componentsRoot: string): Promise<BuiltFixture> {
  const outDir = mkdtempSync(join(tmpdir(), prefix));
  const all = await buildComponent({ recipePath: join(REPO_ROOT, recipe), componentsRoot: join(REPO_ROOT, componentsRoot), outDir });
  const built = all.find((b) => b.kind === 'bundle');
  if (!built) throw new Error(`${recipe} names no component bundle`);
  return { ...built, artifactDir: join(outDir, 'artifacts'), outDir };
}

/** The probe fixture component (test/fixtures/probe). */
export function buildProbe(): Promise<BuiltFixture> {
  return buildInto('conduit-probe-', 'test/fixtures/probe/recipe.yaml', 'test/fixtures');
}

/** conduit.OpcUaCollector from its recipe, exactly as `npm run build` builds it. */
export function buildCollector(): Promise<BuiltFixture> {
  return buildInto('conduit-collector-', 'recipes/conduit.OpcUaCollector.yaml', 'components');
}

/** conduit.FirehoseSink from its recipe, exactly as `npm run build` builds it. */
export function buildSink(): Promise<BuiltFixture> {
  return buildInto('conduit-sink-', 'recipes/conduit.FirehoseSink.yaml', 'components');
}
