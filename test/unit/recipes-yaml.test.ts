// Every recipe reads the same under YAML 1.1 (PyYAML, which gdk-cli uses to publish) and YAML 1.2 (the
// nucleus, conduit's build and tests), with string keys only and no two keys of one mapping that
// differ only by case (gdk's CaseInsensitiveDict and the nucleus's config store would merge them).
// The recipes gdk's build writes are checked the same way in test/e2e/gdk-build.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { REPO_ROOT } from '../../scripts/build';
import { caseCollidingKeys, yamlVersionProblems } from '../harness/gdk/recipe-yaml';

const RECIPES = [
  ...readdirSync(join(REPO_ROOT, 'recipes'))
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => `recipes/${f}`),
  'test/fixtures/probe/recipe.yaml',
];

test('the recipe list covers both components and the probe fixture', () => {
  assert.deepEqual(RECIPES.sort(), ['recipes/conduit.FirehoseSink.yaml', 'recipes/conduit.OpcUaCollector.yaml', 'test/fixtures/probe/recipe.yaml']);
});

for (const f of RECIPES) {
  test(`${f} reads the same under YAML 1.1 and YAML 1.2, with string keys only`, () => {
    const text = readFileSync(join(REPO_ROOT, f), 'utf8');
    assert.deepEqual(yamlVersionProblems(text), []);
    assert.deepEqual(caseCollidingKeys(parseYaml(text)), []);
  });
}

test('the check finds what YAML 1.1 reads differently: boolean keys, octal, base-60, timestamps, yes/no values', () => {
  assert.match(yamlVersionProblems('alarm:\n  on: rms\n').join('\n'), /key on .* is a boolean, not a string/);
  assert.match(yamlVersionProblems('off: 1\n').join('\n'), /key off .* boolean/);
  assert.deepEqual(yamlVersionProblems("alarm:\n  'on': rms\n"), []);
  assert.deepEqual(yamlVersionProblems('a: 010\n'), ['/a: YAML 1.1 reads 8, YAML 1.2 reads 10: quote the value']);
  assert.deepEqual(yamlVersionProblems('a: 1:20\n'), ['/a: YAML 1.1 reads 80, YAML 1.2 reads "1:20": quote the value']);
  assert.equal(yamlVersionProblems('v: 2024-06-01\n').length, 1);
  assert.equal(yamlVersionProblems('x:\n  - yes\n  - no\n').length, 2);
  assert.deepEqual(yamlVersionProblems("v: '0.1.0'\nf: 0.1\nm: '010'\n"), []);
  // 1.1 booleans as keys collide with each other: reported, not thrown.
  assert.ok(yamlVersionProblems('on: 1\nyes: 2\n').length > 0);
  assert.deepEqual(caseCollidingKeys({ a: { Topic: 1, topic: 2 } }), ['/a/Topic and /a/topic']);
});
