// The custom build command of conduit's gdk projects (gdk-config.json at the top for
// conduit.OpcUaCollector, components/firehose-sink/gdk-config.json for conduit.FirehoseSink).
//
//   npx tsx <repo>/scripts/gdk-build.ts <ComponentName>
//
// `gdk component build` runs it in the gdk project folder after recreating greengrass-build/, and then
// expects exactly (gdk-cli 1.6.2 BuildCommand, custom build system):
//   greengrass-build/recipes/<recipe file name>                    the project's recipe
//   greengrass-build/artifacts/<ComponentName>/<version>/<zip>     every artifact the recipe names
// `gdk component publish` then opens greengrass-build/recipes/<recipe_file.name>, where recipe_file is
// the project's `recipe.yaml` after Path.resolve() (GDKProject._get_recipe_file): the symbolic link is
// followed, so the name is the target's, `conduit.OpcUaCollector.yaml`, not `recipe.yaml`
// (PublishRecipeTransformer.transform). It uploads the artifacts folder to S3 and rewrites the
// recipe's version and artifact URIs. The recipe in recipes/ stays the one source: the project's
// recipe.yaml is a link to it, and the artifacts are built exactly as `npm run build` builds them.
import { copyFileSync, createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
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

/**
 * The project's recipe as gdk finds it (GDKProject._get_recipe_file): exactly one of recipe.json and
 * recipe.yaml in the project folder, with symbolic links resolved. gdk's publish reads the built
 * recipe under the resolved file's name.
 */
export function projectRecipe(projectDir: string): string {
  const found = ['recipe.json', 'recipe.yaml'].filter((f) => existsSync(join(projectDir, f)));
  if (found.length !== 1) {
    throw new Error(`${projectDir}: gdk needs exactly one of recipe.json and recipe.yaml in the project folder, found ${found.length}`);
  }
  return realpathSync(join(projectDir, found[0]!));
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
  const recipeSource = projectRecipe(projectDir);
  if (recipeSource !== recipeFor(name)) {
    throw new Error(`${projectDir}: the project's recipe ${recipeSource} is not the recipe of ${name} in recipes/ (make recipe.yaml a link to it)`);
  }
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
    const recipePath = join(recipeDir, basename(recipeSource));
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
