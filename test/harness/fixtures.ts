// Builds components (the probe fixture, conduit's own) the way `npm run build` builds conduit's components, into a
// temporary folder the caller removes.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildComponent, REPO_ROOT, type BuiltComponent } from '../../scripts/build';
import type { JsonObject } from './contracts';
import type { LocalGreengrass } from './launcher/local-greengrass';

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

/** The recipe's policy id for aws.greengrass.SecretManager (recipes/conduit.OpcUaCollector.yaml). */
export const COLLECTOR_SECRET_POLICY = 'conduit.OpcUaCollector:secrets:1';

/**
 * What docs/templates/deployment.json does for the collector's secret, in the local core: the
 * secret (already in gg.aws.secretsManager) goes into aws.greengrass.SecretManager's cloudSecrets
 * (fetched onto the device now), and the returned accessControl, merged into the collector's
 * configuration, grants GetSecretValue on exactly its ARN. Returns that accessControl fragment.
 */
export function deployCollectorSecret(gg: LocalGreengrass, secretName: string): JsonObject {
  const arn = gg.aws.secretsManager.resolve(secretName)?.arn;
  if (arn === undefined) throw new Error(`create secret ${secretName} in gg.aws.secretsManager first`);
  gg.configureSecretManager({ cloudSecrets: [...new Set([...gg.ipc.secretManager.cloudSecrets, arn])] });
  return { 'aws.greengrass.SecretManager': { [COLLECTOR_SECRET_POLICY]: { operations: ['aws.greengrass#GetSecretValue'], resources: [arn] } } };
}
