import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyConfigurationUpdate, interpolate, pointerToPath, type InterpolationContext } from '../../harness/launcher/configuration';
import { parseRecipe } from '../../harness/launcher/recipe';

const defaults = { a: { b: 1, c: [1, 2] }, topic: 't', keep: 'k' };

test('MERGE merges objects key by key and replaces arrays and values', () => {
  const next = applyConfigurationUpdate(defaults, defaults, { merge: { a: { c: [9], d: true }, topic: 'u' } });
  assert.deepEqual(next, { a: { b: 1, c: [9], d: true }, topic: 'u', keep: 'k' });
  assert.deepEqual(defaults.a.c, [1, 2], 'the defaults are not modified');
});

test('MERGE accepts the JSON string the deployment API carries', () => {
  assert.deepEqual(applyConfigurationUpdate(defaults, defaults, { merge: '{"topic":"x"}' }).topic, 'x');
  assert.throws(() => applyConfigurationUpdate(defaults, defaults, { merge: '[1]' }), /merge must be a JSON object/);
});

test('RESET runs before MERGE: back to the default, or removed where there is none', () => {
  const current = { a: { b: 5, c: [3], extra: 1 }, topic: 'changed', keep: 'k', added: 1 };
  assert.deepEqual(applyConfigurationUpdate(current, defaults, { reset: ['/a/b', '/added'] }), {
    a: { b: 1, c: [3], extra: 1 },
    topic: 'changed',
    keep: 'k',
  });
  assert.deepEqual(applyConfigurationUpdate(current, defaults, { reset: [''], merge: { topic: 'm' } }), { ...defaults, topic: 'm' });
});

test('JSON pointers unescape ~1 and ~0 and must start with /', () => {
  assert.deepEqual(pointerToPath('/a~1b/c~0d'), ['a/b', 'c~d']);
  assert.throws(() => pointerToPath('a/b'), /not a JSON pointer/);
});

const ctx: InterpolationContext = {
  componentName: 'x.Y',
  artifactsPath: '/r/packages/artifacts/x.Y/1.0.0',
  decompressedPath: '/r/packages/artifacts-unarchived/x.Y/1.0.0',
  workPath: '/r/work/x.Y',
  kernelRootPath: '/r',
  thingName: 'gw-1',
  configuration: { port: 4840, name: 'n', obj: { b: 2, a: 1 }, nothing: null },
  dependencies: {
    'dep.Z': {
      componentName: 'dep.Z',
      artifactsPath: '/r/packages/artifacts/dep.Z/2.0.0',
      decompressedPath: '/d',
      workPath: '/w',
      configuration: { q: 'dq' },
    },
  },
};

test('recipe variables are interpolated as the nucleus does', () => {
  assert.equal(
    interpolate('node {artifacts:decompressedPath}/c/index.js {work:path} {iot:thingName} {kernel:rootPath}', ctx),
    'node /r/packages/artifacts-unarchived/x.Y/1.0.0/c/index.js /r/work/x.Y gw-1 /r',
  );
  assert.equal(interpolate('{configuration:/port} {configuration:/name} {configuration:/nothing}', ctx), '4840 n null');
  assert.equal(interpolate('{configuration:/obj}', ctx), '{"b":2,"a":1}');
  assert.equal(interpolate('{configuration:/missing} {unknown:x}', ctx), '{configuration:/missing} {unknown:x}');
  assert.equal(interpolate('{dep.Z:configuration:/q} {dep.Z:artifacts:path} {other:artifacts:path}', ctx), 'dq /r/packages/artifacts/dep.Z/2.0.0 {other:artifacts:path}');
});

test('the first manifest that matches the platform wins, and lifecycle steps take both forms', () => {
  const text = `
RecipeFormatVersion: '2020-01-25'
ComponentName: x.Y
ComponentVersion: 1.2.3
ComponentConfiguration: { DefaultConfiguration: { a: 1 } }
ComponentDependencies: { dep.Z: { VersionRequirement: '>=1.0.0', DependencyType: SOFT } }
Manifests:
  - Platform: { os: linux, architecture: aarch64 }
    Lifecycle: { Run: arm }
  - Platform: { os: linux, architecture: amd64 }
    Lifecycle:
      Setenv: { K: v }
      Install: { Script: inst, Timeout: 30 }
      Run: amd
    Artifacts: [{ URI: 's3://b/x.Y/1.2.3/c.zip', Unarchive: ZIP }]
  - Lifecycle: { Run: any }
`;
  const amd = parseRecipe(text, { os: 'linux', architecture: 'amd64' });
  assert.equal(amd.lifecycle.run?.script, 'amd');
  assert.deepEqual(amd.lifecycle.install, { script: 'inst', timeoutS: 30, setenv: {}, skipif: undefined });
  assert.deepEqual(amd.lifecycle.setenv, { K: 'v' });
  assert.deepEqual(amd.artifacts, [{ uri: 's3://b/x.Y/1.2.3/c.zip', unarchive: 'ZIP' }]);
  assert.deepEqual(amd.dependencies, { 'dep.Z': { versionRequirement: '>=1.0.0', dependencyType: 'SOFT' } });
  assert.equal(amd.version, '1.2.3');
  assert.equal(parseRecipe(text, { os: 'linux', architecture: 'aarch64' }).lifecycle.run?.script, 'arm');
  assert.equal(parseRecipe(text, { os: 'linux', architecture: 'arm' }).lifecycle.run?.script, 'any');
  assert.throws(() => parseRecipe('ComponentName: x'), /missing RecipeFormatVersion/);
});

test('MERGE and RESET find keys whatever their case and keep the stored spelling (the config store is case-insensitive)', () => {
  const current = { greeting: 'hello', site: { lineId: 'L1' } };
  assert.deepEqual(applyConfigurationUpdate(current, current, { merge: { Greeting: 'hi', SITE: { LINEID: 'L2', Cell: 3 } } }), {
    greeting: 'hi',
    site: { lineId: 'L2', Cell: 3 },
  });
  const changed = { greeting: 'x', site: { lineId: 'L9' } };
  assert.deepEqual(applyConfigurationUpdate(changed, current, { reset: ['/GREETING', '/Site/LineID'] }), current);
});
