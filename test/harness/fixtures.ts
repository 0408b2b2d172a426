// Builds the probe fixture component the way `npm run build` builds conduit's components, into a
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

export async function buildProbe(): Promise<BuiltFixture> {
  const outDir = mkdtempSync(join(tmpdir(), 'conduit-probe-'));
  const [built] = await buildComponent({
    recipePath: join(REPO_ROOT, 'test/fixtures/probe/recipe.yaml'),
    componentsRoot: join(REPO_ROOT, 'test/fixtures'),
    outDir,
  });
  return { ...built!, artifactDir: join(outDir, 'artifacts'), outDir };
}
