// Builds each component into the artifact its recipe names: esbuild bundles the entry point into one
// file, and aws-crt's native addon (which cannot be bundled) is shipped beside it, for the platforms
// conduit supports only. The recipe is the source of truth: for every ZIP artifact `<name>.zip` it
// lists, the entry point is `components/<name>/src/index.ts`, and the zip unpacks (as Greengrass does)
// to `{artifacts:decompressedPath}/<name>/`.
//
//   npm run build                  every recipe in recipes/
//   tsx scripts/build.ts --out DIR  the same, into DIR (default build/)
//
// Output, laid out as `greengrass-cli deployment create --recipeDir --artifactDir` expects:
//   <out>/recipes/<ComponentName>-<version>.yaml
//   <out>/artifacts/<ComponentName>/<version>/<name>.zip
import { build as esbuild, type Plugin } from 'esbuild';
import AdmZip from 'adm-zip';
import { parse as parseYaml } from 'yaml';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

export const REPO_ROOT = resolve(__dirname, '..');

/**
 * The aws-crt binaries conduit ships. Greengrass gateways in the field are x86-64 or 64-bit ARM
 * industrial PCs on a glibc Linux; musl (Alpine) and 32-bit ARM need another build (docs/bundling.md).
 */
export const CRT_PLATFORMS = ['linux-x64-glibc', 'linux-arm64-glibc'] as const;

/**
 * Optional peer dependencies that bundled packages import only on paths conduit does not take:
 * left out of the bundle (an import of them would fail loudly at run time, never silently).
 * - proper-lockfile: @ster5/global-mutex (node-opcua's PKI) tries it first and falls back to its
 *   own native lock when it is absent.
 */
const OPTIONAL_PEERS = ['proper-lockfile'];

/** A fixed timestamp for zip entries, so that building the same sources gives the same digest. */
const ZIP_ENTRY_TIME = new Date('2020-01-01T00:00:00Z');

export interface BuiltComponent {
  componentName: string;
  componentVersion: string;
  recipePath: string;
  zipPath: string;
  zipBytes: number;
}

interface RecipeArtifact {
  URI: string;
  Unarchive?: string;
}

/** The zip artifacts a recipe references, with the component folder each one is built from. */
function zipArtifacts(recipe: any): string[] {
  const names = new Set<string>();
  for (const manifest of recipe.Manifests ?? []) {
    for (const a of (manifest.Artifacts ?? []) as RecipeArtifact[]) {
      if ((a.Unarchive ?? 'NONE').toUpperCase() !== 'ZIP') continue;
      const file = basename(a.URI);
      if (!file.endsWith('.zip')) throw new Error(`recipe artifact ${a.URI}: Unarchive ZIP needs a .zip file name`);
      names.add(file.slice(0, -'.zip'.length));
    }
  }
  return [...names];
}

/**
 * aws-crt finds its addon relative to its own file (two folders up, then bin/<platform>/). Once
 * bundled, "its own file" is the bundle, so point it at the aws-crt/ folder shipped beside it. The
 * replaced text is checked, so an aws-crt upgrade that moves it fails the build instead of the device.
 */
const crtBindingPlugin: Plugin = {
  name: 'aws-crt-binding-path',
  setup(build) {
    build.onLoad({ filter: /aws-crt[\\/]dist[\\/]native[\\/]binding\.js$/ }, (args) => {
      const src = readFileSync(args.path, 'utf8');
      const from = "path.resolve(__dirname, '..', '..')";
      if (src.split(from).length !== 2) {
        throw new Error(`aws-crt binding.js no longer contains ${from}: review the bundling of the native addon`);
      }
      return { contents: src.replace(from, "path.resolve(__dirname, 'aws-crt')"), loader: 'js' };
    });
  },
};

async function bundle(entry: string, outDir: string): Promise<void> {
  const result = await esbuild({
    entryPoints: [entry],
    outfile: join(outDir, 'index.js'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: 'linked',
    minify: false,
    legalComments: 'linked',
    logLevel: 'silent',
    plugins: [crtBindingPlugin],
    external: [...OPTIONAL_PEERS],
  });
  for (const w of result.warnings) {
    // The dynamic require of the addon is expected; anything else deserves a look.
    if (w.text.includes('require') && w.location?.file.includes('aws-crt')) continue;
    console.warn(`esbuild: ${w.location?.file ?? ''}:${w.location?.line ?? ''} ${w.text}`);
  }
}

function copyCrtBinaries(outDir: string): void {
  const crtRoot = dirname(require.resolve('aws-crt/package.json', { paths: [REPO_ROOT] }));
  for (const platform of CRT_PLATFORMS) {
    const from = join(crtRoot, 'dist', 'bin', platform, 'aws-crt-nodejs.node');
    const to = join(outDir, 'aws-crt', 'bin', platform, 'aws-crt-nodejs.node');
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(from, to);
  }
}

function zipFolder(folder: string, zipPath: string): void {
  const zip = new AdmZip();
  const walk = (dir: string, prefix: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p, `${prefix}${name}/`);
      else {
        zip.addFile(`${prefix}${name}`, readFileSync(p));
        zip.getEntry(`${prefix}${name}`)!.header.time = ZIP_ENTRY_TIME;
      }
    }
  };
  walk(folder, '');
  zip.writeZip(zipPath);
}

/**
 * Builds one recipe's component(s). `componentsRoot` holds `<name>/src/index.ts` for each zip the
 * recipe names (components/ for conduit, a fixture folder in tests).
 */
export async function buildComponent(opts: {
  recipePath: string;
  componentsRoot: string;
  outDir: string;
}): Promise<BuiltComponent[]> {
  const recipeText = readFileSync(opts.recipePath, 'utf8');
  const recipe = parseYaml(recipeText);
  const name: string = recipe.ComponentName;
  const version: string = recipe.ComponentVersion;
  const built: BuiltComponent[] = [];
  const recipeOut = join(opts.outDir, 'recipes', `${name}-${version}.yaml`);
  mkdirSync(dirname(recipeOut), { recursive: true });
  writeFileSync(recipeOut, recipeText);
  for (const zipName of zipArtifacts(recipe)) {
    const entry = join(opts.componentsRoot, zipName, 'src', 'index.ts');
    const staging = join(opts.outDir, 'staging', name, zipName);
    rmSync(staging, { recursive: true, force: true });
    await bundle(entry, staging);
    copyCrtBinaries(staging);
    const zipPath = join(opts.outDir, 'artifacts', name, version, `${zipName}.zip`);
    mkdirSync(dirname(zipPath), { recursive: true });
    zipFolder(staging, zipPath);
    built.push({ componentName: name, componentVersion: version, recipePath: recipeOut, zipPath, zipBytes: statSync(zipPath).size });
  }
  return built;
}

/** Every recipe in recipes/. */
export async function buildAll(outDir: string): Promise<BuiltComponent[]> {
  const recipesDir = join(REPO_ROOT, 'recipes');
  const out: BuiltComponent[] = [];
  if (!existsSync(recipesDir)) return out;
  for (const f of readdirSync(recipesDir).sort()) {
    if (!/\.(ya?ml|json)$/.test(f)) continue;
    out.push(...(await buildComponent({ recipePath: join(recipesDir, f), componentsRoot: join(REPO_ROOT, 'components'), outDir })));
  }
  return out;
}

if (require.main === module) {
  const i = process.argv.indexOf('--out');
  const outDir = resolve(i > 0 ? process.argv[i + 1]! : join(REPO_ROOT, 'build'));
  buildAll(outDir).then(
    (built) => {
      if (built.length === 0) console.log('build: no component recipes in recipes/ yet');
      for (const b of built) {
        console.log(`built ${b.componentName} ${b.componentVersion}: ${b.zipPath} (${(b.zipBytes / 1048576).toFixed(1)} MiB)`);
      }
    },
    (e) => {
      console.error(`build failed: ${e instanceof Error ? e.message : String(e)}`);
      process.exit(1);
    },
  );
}
