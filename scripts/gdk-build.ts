// The custom build command of conduit's gdk projects (gdk-config.json at the top for
// conduit.OpcUaCollector, components/firehose-sink/gdk-config.json for conduit.FirehoseSink).
//
//   npx tsx <repo>/scripts/gdk-build.ts <ComponentName>
//
// `gdk component build` runs it in the gdk project folder after recreating greengrass-build/, and then
// expects exactly (gdk-cli BuildCommand, custom build system):
//   greengrass-build/recipes/recipe.yaml                          the project's recipe, same file name
//   greengrass-build/artifacts/<ComponentName>/<version>/<zip>     every artifact the recipe names
// `gdk component publish` then uploads that artifacts folder to S3 and rewrites the recipe's version
// and artifact URIs. The recipe in recipes/ stays the one source: the project's recipe.yaml is a
// link to it, and the artifacts are built exactly as `npm run build` builds them.
import { copyFileSync, createReadStream, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { buildComponent, REPO_ROOT } from './build';

export interface GdkBuildResult {
  recipePath: string;
  artifacts: { path: string; bytes: number; sha256: string }[];
}

/** The recipe in recipes/ whose ComponentName is `name`. */
export function recipeFor(name: string): string {
  const dir = join(REPO_ROOT, 'recipes');
  for (const f of readdirSync(dir).sort()) {
    if (!/\.ya?ml$/.test(f)) continue;
    if (parseYaml(readFileSync(join(dir, f), 'utf8'))?.ComponentName === name) return join(dir, f);
  }
  throw new Error(`no recipe in recipes/ has ComponentName ${name}`);
}

function sha256(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (d) => h.update(d))
      .on('end', () => resolve(h.digest('base64')))
      .on('error', reject);
  });
}

/** Builds `name` into `<projectDir>/greengrass-build/` as gdk expects. */
export async function gdkBuild(name: string, projectDir: string): Promise<GdkBuildResult> {
  const recipeSource = recipeFor(name);
  const recipe = parseYaml(readFileSync(recipeSource, 'utf8'));
  const version: string = recipe.ComponentVersion;
  const out = join(projectDir, 'greengrass-build');
  const staging = mkdtempSync(join(tmpdir(), 'conduit-gdk-'));
  try {
    const built = await buildComponent({ recipePath: recipeSource, componentsRoot: join(REPO_ROOT, 'components'), outDir: staging });
    const recipeDir = join(out, 'recipes');
    const artifactDir = join(out, 'artifacts', name, version);
    mkdirSync(recipeDir, { recursive: true });
    mkdirSync(artifactDir, { recursive: true });
    const recipePath = join(recipeDir, 'recipe.yaml');
    writeFileSync(recipePath, readFileSync(recipeSource));
    const artifacts: GdkBuildResult['artifacts'] = [];
    for (const b of built) {
      const to = join(artifactDir, basename(b.zipPath));
      copyFileSync(b.zipPath, to);
      // Greengrass records this digest (SHA-256, base64) in the component version and checks the
      // downloaded file against it on the device before running it (docs/packaging.md).
      artifacts.push({ path: to, bytes: b.zipBytes, sha256: await sha256(to) });
    }
    return { recipePath, artifacts };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const name = process.argv[2];
  if (!name) {
    console.error('usage: npx tsx scripts/gdk-build.ts <ComponentName>   (run in the gdk project folder)');
    process.exit(2);
  }
  gdkBuild(name, process.cwd()).then(
    (r) => {
      console.log(`gdk build of ${name}: ${r.recipePath}`);
      for (const a of r.artifacts) console.log(`  ${a.path}  ${(a.bytes / 1048576).toFixed(2)} MiB  sha256 ${a.sha256}`);
    },
    (e) => {
      console.error(`gdk build of ${name} failed: ${e instanceof Error ? e.message : String(e)}`);
      process.exit(1);
    },
  );
}
