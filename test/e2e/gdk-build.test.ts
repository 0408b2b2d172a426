// Packaging for the Greengrass Development Kit: every gdk project (the top-level one for the
// collector, components/<name>/ for the others) is valid as gdk-cli 1.6 reads it, and its custom
// build command, run exactly as `gdk component build` runs it, writes the tree gdk expects, with every
// artifact the built recipe names. gdk itself (Python, from GitHub) cannot be installed here, so the
// inputs of `gdk component publish` are checked the way gdk-cli 1.6.2 reads them: the file
// PublishRecipeTransformer opens (greengrass-build/recipes/<the project's recipe after
// Path.resolve()>, i.e. the link's target name), parsed as PyYAML does (YAML 1.1), its ComponentName
// against the gdk-config key, each s3:// artifact URI's file name against
// greengrass-build/artifacts/<name>/<gdk-config version>/, and gdk's 16,000-byte recipe limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { REPO_ROOT } from '../../scripts/build';
import { projectRecipe } from '../../scripts/gdk-build';
import { caseCollidingKeys, yamlVersionProblems } from '../harness/gdk/recipe-yaml';

/** gdk-cli consts.MAX_RECIPE_FILE_SIZE_BYTES: publish refuses a larger recipe. */
const GDK_MAX_RECIPE_FILE_SIZE_BYTES = 16_000;

/** Every gdk project folder: the repository root, and each component folder with a gdk-config.json. */
function gdkProjects(): string[] {
  const dirs = [REPO_ROOT];
  for (const c of readdirSync(join(REPO_ROOT, 'components')).sort()) {
    if (existsSync(join(REPO_ROOT, 'components', c, 'gdk-config.json'))) dirs.push(join(REPO_ROOT, 'components', c));
  }
  return dirs;
}

test("the build finds the project's recipe as gdk does: exactly one of recipe.json and recipe.yaml, links resolved", () => {
  const dir = mkdtempSync(join(tmpdir(), 'conduit-gdk-project-'));
  try {
    assert.throws(() => projectRecipe(dir), /exactly one of recipe.json and recipe.yaml.*found 0/);
    symlinkSync(join(REPO_ROOT, 'recipes', 'conduit.FirehoseSink.yaml'), join(dir, 'recipe.yaml'));
    assert.equal(projectRecipe(dir), join(REPO_ROOT, 'recipes', 'conduit.FirehoseSink.yaml'));
    writeFileSync(join(dir, 'recipe.json'), '{}');
    assert.throws(() => projectRecipe(dir), /found 2/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every component in recipes/ has exactly one gdk project', () => {
  const names = gdkProjects().map((d) => Object.keys(JSON.parse(readFileSync(join(d, 'gdk-config.json'), 'utf8')).component)[0]);
  const recipes = readdirSync(join(REPO_ROOT, 'recipes')).map((f) => parseYaml(readFileSync(join(REPO_ROOT, 'recipes', f), 'utf8')).ComponentName);
  assert.deepEqual([...names].sort(), [...recipes].sort());
});

for (const dir of gdkProjects()) {
  const config = JSON.parse(readFileSync(join(dir, 'gdk-config.json'), 'utf8'));
  const name = Object.keys(config.component ?? {})[0] ?? '?';

  test(`${name}: gdk-config.json is what gdk-cli 1.6 accepts, and recipe.yaml is the recipe in recipes/`, () => {
    // gdk's schema: component (exactly one) and gdk_version; per component author, version, build, publish.
    assert.equal(Object.keys(config.component).length, 1, 'gdk supports one component per project');
    assert.match(config.gdk_version, /^\d+\.\d+\.\d+$/);
    const c = config.component[name];
    for (const key of ['author', 'version', 'build', 'publish']) assert.ok(c[key] !== undefined, `component.${key}`);
    assert.equal(c.build.build_system, 'custom');
    assert.ok(Array.isArray(c.build.custom_build_command));
    assert.equal(typeof c.publish.bucket, 'string');
    // gdk finds the project's recipe by this exact name, in the project folder, and only one of them.
    assert.equal(existsSync(join(dir, 'recipe.json')), false);
    const recipe = parseYaml(readFileSync(join(dir, 'recipe.yaml'), 'utf8'));
    assert.equal(realpathSync(join(dir, 'recipe.yaml')).startsWith(join(REPO_ROOT, 'recipes') + '/'), true, 'a link to the one recipe in recipes/');
    assert.equal(recipe.ComponentName, name, 'publish needs the recipe name to equal the gdk-config key');
    assert.equal(recipe.ComponentVersion, c.version, 'the artifacts folder gdk creates is named after this version');
  });

  test(`${name}: the custom build writes greengrass-build/ as gdk expects, and every artifact URI of the built recipe names a built file`, { timeout: 180_000 }, () => {
    const out = join(dir, 'greengrass-build');
    rmSync(out, { recursive: true, force: true });
    try {
      const [cmd, ...args] = config.component[name].build.custom_build_command as string[];
      const r = spawnSync(cmd!, args, { cwd: dir, encoding: 'utf8', timeout: 170_000 });
      assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
      // The build reports each artifact's size and digest.
      assert.match(r.stdout, /MiB {2}sha256 [A-Za-z0-9+/=]{44}/);
      // The file publish opens: the project's recipe.yaml resolved through its link (GDKProject
      // _get_recipe_file → Path.resolve()), under that name in greengrass-build/recipes/.
      const recipeFile = basename(realpathSync(join(dir, 'recipe.yaml')));
      assert.equal(recipeFile, `${name}.yaml`);
      assert.deepEqual(readdirSync(join(out, 'recipes')), [recipeFile]);
      const builtPath = join(out, 'recipes', recipeFile);
      const text = readFileSync(builtPath, 'utf8');
      assert.ok(statSync(builtPath).size <= GDK_MAX_RECIPE_FILE_SIZE_BYTES, `${statSync(builtPath).size} bytes`);
      // gdk reads it with PyYAML's safe_load (YAML 1.1) into a case-insensitive dict.
      assert.deepEqual(yamlVersionProblems(text), []);
      const built = parseYaml(text, { version: '1.1' });
      assert.deepEqual(caseCollidingKeys(built), []);
      assert.deepEqual(built, parseYaml(readFileSync(join(dir, 'recipe.yaml'), 'utf8')), 'the built recipe is the project recipe');
      assert.equal(built.ComponentName, name, 'publish refuses a recipe whose ComponentName is not the gdk-config key');
      // gdk looks for artifacts under the gdk-config version (the recipe's must equal it, tested above).
      const version = config.component[name].version;
      const artifactDir = join(out, 'artifacts', name, version);
      assert.deepEqual(readdirSync(join(out, 'artifacts')), [name]);
      assert.deepEqual(readdirSync(join(out, 'artifacts', name)), [version]);
      const uris = new Set<string>(built.Manifests.flatMap((m: { Artifacts?: { URI: string }[] }) => (m.Artifacts ?? []).map((a) => a.URI)));
      assert.ok(uris.size > 0);
      for (const uri of uris) {
        // Only s3:// URIs are rewritten, and only when exactly one built file has the URI's file name.
        assert.match(uri, new RegExp(`^s3://[^/]+/${name.replace(/\./g, '\\.')}/${version}/[^/]+$`));
        const file = join(artifactDir, basename(uri));
        assert.ok(existsSync(file), `${uri} → ${file}`);
        assert.ok(statSync(file).size > 100_000);
      }
      assert.deepEqual(readdirSync(artifactDir).sort(), [...uris].map((u) => basename(u)).sort(), 'nothing built that the recipe does not name');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
}
