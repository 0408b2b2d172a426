// Builds each component into the artifacts its recipe names: esbuild bundles the entry point into one
// file, and aws-crt's native addon (which cannot be bundled) ships as an artifact of its own, one per
// platform, so that a device downloads only the binary it runs. The recipe is the source of truth:
// - a ZIP artifact `aws-crt-<platform>.zip` (platform in CRT_PLATFORMS) is that platform's addon;
// - any other ZIP artifact `<name>.zip` is a bundle of `components/<name>/src/index.ts`;
// and each zip unpacks (as Greengrass does) to `{artifacts:decompressedPath}/<zip name>/`. Every
// manifest that names a bundle names the addon of its own architecture beside it (checked here).
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
export type CrtPlatform = (typeof CRT_PLATFORMS)[number];

/** The addon artifact of a platform: its zip holds `bin/<platform>/aws-crt-nodejs.node`. */
export const crtZipName = (platform: CrtPlatform): string => `aws-crt-${platform}`;

/** A recipe manifest's architecture as aws-crt names it (Node's os.arch()). */
const MANIFEST_ARCH_TO_NODE: Record<string, string> = { amd64: 'x64', x86_64: 'x64', aarch64: 'arm64', arm64: 'arm64' };

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
  /** `bundle`: a component's index.js with its source map; `native`: one platform's aws-crt addon. */
  kind: 'bundle' | 'native';
  zipPath: string;
  zipBytes: number;
}

interface RecipeArtifact {
  URI: string;
  Unarchive?: string;
}

/**
 * The zip artifacts a recipe references: the bundles (by component folder) and the aws-crt platforms.
 * Each manifest naming a bundle must name exactly the addon of its architecture too, or the bundle
 * would fail on that device at its first IPC call.
 */
function zipArtifacts(recipe: any): { bundles: string[]; platforms: CrtPlatform[] } {
  const bundles = new Set<string>();
  const platforms = new Set<CrtPlatform>();
  for (const manifest of recipe.Manifests ?? []) {
    const mBundles: string[] = [];
    const mPlatforms: CrtPlatform[] = [];
    for (const a of (manifest.Artifacts ?? []) as RecipeArtifact[]) {
      if ((a.Unarchive ?? 'NONE').toUpperCase() !== 'ZIP') continue;
      const file = basename(a.URI);
      if (!file.endsWith('.zip')) throw new Error(`recipe artifact ${a.URI}: Unarchive ZIP needs a .zip file name`);
      const stem = file.slice(0, -'.zip'.length);
      const platform = CRT_PLATFORMS.find((p) => crtZipName(p) === stem);
      if (platform) mPlatforms.push(platform);
      else if (stem.startsWith('aws-crt-')) throw new Error(`recipe artifact ${a.URI}: no aws-crt platform ${stem.slice('aws-crt-'.length)} (CRT_PLATFORMS: ${CRT_PLATFORMS.join(', ')})`);
      else mBundles.push(stem);
    }
    if (mBundles.length > 0) {
      const arch = MANIFEST_ARCH_TO_NODE[manifest.Platform?.architecture ?? ''];
      const want = CRT_PLATFORMS.filter((p) => p.split('-')[1] === arch);
      if (manifest.Platform?.os !== 'linux' || want.length === 0 || mPlatforms.length !== 1 || !want.includes(mPlatforms[0]!)) {
        throw new Error(
          `recipe ${recipe.ComponentName}: the manifest for ${JSON.stringify(manifest.Platform ?? {})} names ${mBundles.join(', ')} ` +
            `and must also name the aws-crt addon of its architecture, one of ${CRT_PLATFORMS.map((p) => crtZipName(p) + '.zip').join(', ')}, with Unarchive: ZIP`,
        );
      }
    }
    mBundles.forEach((b) => bundles.add(b));
    mPlatforms.forEach((p) => platforms.add(p));
  }
  return { bundles: [...bundles], platforms: [...platforms] };
}

/**
 * aws-crt finds its addon relative to its own file (two folders up, then bin/<platform>/). Once
 * bundled, "its own file" is the bundle in `{artifacts:decompressedPath}/<name>/`, so point it at
 * the sibling folder the platform's addon zip unpacks to, `{artifacts:decompressedPath}/aws-crt-<platform>/`
 * (`platformDir` is aws-crt's own `<os>-<arch>-<libc>`). On a platform conduit does not ship, aws-crt
 * throws its "AWS CRT binary not present" error naming that folder. The replaced text is checked, so
 * an aws-crt upgrade that moves it fails the build instead of the device.
 */
const crtBindingPlugin: Plugin = {
  name: 'aws-crt-binding-path',
  setup(build) {
    build.onLoad({ filter: /aws-crt[\\/]dist[\\/]native[\\/]binding\.js$/ }, (args) => {
      const src = readFileSync(args.path, 'utf8');
      const from = "path.resolve(__dirname, '..', '..')";
      const platformDir = 'const platformDir = `${os_1.platform}-${os_1.arch}-${cRuntime}`;';
      if (src.split(from).length !== 2 || src.indexOf(platformDir) < 0 || src.indexOf(platformDir) > src.indexOf(from)) {
        throw new Error(`aws-crt binding.js no longer contains ${platformDir} and then ${from}: review the bundling of the native addon`);
      }
      return { contents: src.replace(from, "path.resolve(__dirname, '..', 'aws-crt-' + platformDir)"), loader: 'js' };
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
    // The map lets `node --enable-source-maps` print stack traces in the TypeScript sources' files
    // and lines. It needs the mappings only: the sources' text (sourcesContent, 9 of the collector's
    // 13 MB of map) is left out, so a device never receives conduit's and its dependencies' sources.
    sourcemap: 'linked',
    sourcesContent: false,
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

/** Lays out one platform's addon as aws-crt's binding looks for it: `bin/<platform>/aws-crt-nodejs.node`. */
function copyCrtBinary(platform: CrtPlatform, outDir: string): void {
  const crtRoot = dirname(require.resolve('aws-crt/package.json', { paths: [REPO_ROOT] }));
  const to = join(outDir, 'bin', platform, 'aws-crt-nodejs.node');
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(join(crtRoot, 'dist', 'bin', platform, 'aws-crt-nodejs.node'), to);
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
  const { bundles, platforms } = zipArtifacts(recipe);
  const zipUp = (kind: BuiltComponent['kind'], zipName: string, fill: (staging: string) => Promise<void> | void) => async () => {
    const staging = join(opts.outDir, 'staging', name, zipName);
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    await fill(staging);
    const zipPath = join(opts.outDir, 'artifacts', name, version, `${zipName}.zip`);
    mkdirSync(dirname(zipPath), { recursive: true });
    zipFolder(staging, zipPath);
    built.push({ componentName: name, componentVersion: version, recipePath: recipeOut, kind, zipPath, zipBytes: statSync(zipPath).size });
  };
  // Bundles first: callers that build one component take the first entry.
  for (const zipName of bundles) await zipUp('bundle', zipName, (staging) => bundle(join(opts.componentsRoot, zipName, 'src', 'index.ts'), staging))();
  for (const platform of platforms) await zipUp('native', crtZipName(platform), (staging) => copyCrtBinary(platform, staging))();
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
