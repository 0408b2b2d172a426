// A local Greengrass core: the IPC server, the token exchange service and AWS endpoints, and a
// launcher that deploys components from their recipes and built artifacts into a nucleus-like root:
//
//   <root>/ipc.socket
//   <root>/packages/artifacts/<name>/<version>/<file>                 {artifacts:path}
//   <root>/packages/artifacts-unarchived/<name>/<version>/<zip stem>/  {artifacts:decompressedPath}
//   <root>/work/<name>/                                                {work:path}, the cwd
//   <root>/logs/<name>.log
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import AdmZip from 'adm-zip';
import type { IotCoreRecord, JsonObject, ValidationOutcome } from '../contracts';
import { LocalIpcServer } from '../ipc/server';
import type { CloudSecret } from '../ipc/secret-operations';
import { LocalAws } from '../aws/local-aws';
import { applyConfigurationUpdate, interpolate, interpolateConfiguration, type ConfigurationUpdate, type InterpolationContext } from './configuration';
import { loadRecipe, type LifecycleStep, type Recipe } from './recipe';
import { LaunchedComponent } from './component';

/** The nucleus version the harness reports in GGC_VERSION. */
export const EMULATED_NUCLEUS_VERSION = '2.14.0';

/**
 * How long a deployment waits for a component's validity report when its configurationValidationPolicy
 * sets no timeout (DynamicComponentConfigurationValidator.DEFAULT_TIMEOUT_SECOND).
 */
export const DEFAULT_VALIDATION_TIMEOUT_MS = 20_000;

/**
 * Components the harness itself stands in for: a dependency on one of them is always ready, as the
 * nucleus's own services are RUNNING before any deployment starts a component.
 */
export const HARNESS_PROVIDED_COMPONENTS: ReadonlySet<string> = new Set([
  'aws.greengrass.Nucleus',
  'aws.greengrass.TokenExchangeService',
  'aws.greengrass.SecretManager',
]);

export interface LocalGreengrassOptions {
  thingName?: string;
  region?: string;
  /** Credential lifetime of the token exchange service (default 1 h). */
  credentialLifetimeMs?: number;
  /**
   * The nucleus's `interpolateComponentConfiguration` (default false, as on a nucleus): recipe
   * variables such as `{iot:thingName}` in configuration values are replaced. conduit's deployment
   * turns it on so that accessControl resources can name the thing instead of using a wildcard.
   */
  interpolateComponentConfiguration?: boolean;
}

export interface DeployOptions {
  recipePath: string;
  /** Laid out as for `greengrass-cli --artifactDir`: <dir>/<name>/<version>/<file>. */
  artifactDir: string;
  configurationUpdate?: ConfigurationUpdate;
  /** Extra environment for this component only (the harness's own; not something the nucleus sets). */
  env?: Record<string, string>;
  /** Do not start it yet (a test that wants to watch the start, or deploy several first). */
  noStart?: boolean;
  /**
   * The component's `errorResetTime` in seconds (default: the recipe's Lifecycle `errorResetTime`,
   * else 3600): errors less than this apart count towards BROKEN. A test shortens it.
   */
  errorResetTimeS?: number;
}

interface Deployed {
  recipe: Recipe;
  component: LaunchedComponent;
  configuration: JsonObject;
  svcuid: string;
  paths: Omit<InterpolationContext, 'configuration' | 'dependencies' | 'thingName' | 'kernelRootPath' | 'componentName'>;
  extraEnv: Record<string, string>;
}

export class LocalGreengrass {
  readonly thingName: string;
  private readonly deployed = new Map<string, Deployed>();
  private deploymentSeq = 0;

  private constructor(
    readonly root: string,
    readonly ipc: LocalIpcServer,
    readonly aws: LocalAws,
    thingName: string,
    private readonly interpolateComponentConfiguration: boolean,
  ) {
    this.thingName = thingName;
    ipc.on('stateChange', (name: string, state: 'RUNNING' | 'ERRORED') => this.deployed.get(name)?.component.reported(state));
  }

  static async start(opts: LocalGreengrassOptions = {}): Promise<LocalGreengrass> {
    // A short root keeps <root>/ipc.socket under the 108-byte limit of a Unix socket path.
    const root = mkdtempSync(join(tmpdir(), 'gg-'));
    const aws = await LocalAws.start({ region: opts.region ?? 'us-east-1', credentialLifetimeMs: opts.credentialLifetimeMs });
    const thingName = opts.thingName ?? 'conduit-test-gateway';
    const ipc = new LocalIpcServer({ socketPath: join(root, 'ipc.socket'), secrets: aws.secretsManager, thingName });
    await ipc.listen();
    for (const d of ['logs', 'work', 'packages/artifacts', 'packages/artifacts-unarchived']) mkdirSync(join(root, d), { recursive: true });
    return new LocalGreengrass(root, ipc, aws, thingName, opts.interpolateComponentConfiguration ?? false);
  }

  /** Everything components published to AWS IoT Core (each with the clientId of the connection it took). */
  get iotCore(): IotCoreRecord[] {
    return this.ipc.iotCore;
  }

  /** Publishes PublishToIoTCore accepted and IoT Core's policy then refused (`ipc.setIotCorePolicy`). */
  get iotCoreDropped(): IotCoreRecord[] {
    return this.ipc.iotCoreDropped;
  }

  component(name: string): LaunchedComponent {
    const d = this.deployed.get(name);
    if (!d) throw new Error(`no component ${name} is deployed`);
    return d.component;
  }

  configuration(name: string): JsonObject {
    return this.ipc.getConfiguration(name);
  }

  /** The configuration as the component sees it: interpolated when the nucleus option says so. */
  private effective(d: Omit<Deployed, 'component'>, configuration: JsonObject): JsonObject {
    if (!this.interpolateComponentConfiguration) return configuration;
    return interpolateConfiguration(configuration, this.interpolationContext({ ...d, configuration }));
  }

  private placeArtifacts(recipe: Recipe, artifactDir: string): Deployed['paths'] {
    const artifactsPath = join(this.root, 'packages/artifacts', recipe.name, recipe.version);
    const decompressedPath = join(this.root, 'packages/artifacts-unarchived', recipe.name, recipe.version);
    const workPath = join(this.root, 'work', recipe.name);
    for (const p of [artifactsPath, decompressedPath, workPath]) mkdirSync(p, { recursive: true });
    for (const a of recipe.artifacts) {
      const file = basename(a.uri);
      const from = join(artifactDir, recipe.name, recipe.version, file);
      if (!existsSync(from)) throw new Error(`artifact ${a.uri} of ${recipe.name}: ${from} does not exist`);
      copyFileSync(from, join(artifactsPath, file));
      if (a.unarchive === 'ZIP') {
        const into = join(decompressedPath, file.replace(/\.zip$/i, ''));
        rmSync(into, { recursive: true, force: true });
        new AdmZip(from).extractAllTo(into, true);
      }
    }
    return { artifactsPath, decompressedPath, workPath };
  }

  private environment(d: Omit<Deployed, 'component'>): Record<string, string> {
    // Not the test runner's environment: a component must not find real AWS credentials by accident.
    const base: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: d.paths.workPath,
      LANG: 'C.UTF-8',
    };
    return {
      ...base,
      ...this.aws.clientEnv(d.svcuid).set,
      SVCUID: d.svcuid,
      AWS_CONTAINER_AUTHORIZATION_TOKEN: d.svcuid,
      AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT: this.ipc.socketPath,
      AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH: this.ipc.socketPath,
      AWS_REGION: this.aws.region,
      AWS_DEFAULT_REGION: this.aws.region,
      AWS_IOT_THING_NAME: this.thingName,
      GGC_VERSION: EMULATED_NUCLEUS_VERSION,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...d.extraEnv,
    };
  }

  private interpolationContext(d: Omit<Deployed, 'component'>): InterpolationContext {
    return {
      componentName: d.recipe.name,
      ...d.paths,
      kernelRootPath: this.root,
      thingName: this.thingName,
      configuration: d.configuration,
      dependencies: Object.fromEntries(
        Object.keys(d.recipe.dependencies)
          .map((n) => this.deployed.get(n))
          .filter((x): x is Deployed => x !== undefined)
          .map((x) => [x.recipe.name, { componentName: x.recipe.name, ...x.paths, configuration: x.configuration }]),
      ),
    };
  }

  private steps(d: Omit<Deployed, 'component'>): Record<'install' | 'run' | 'startup' | 'shutdown', LifecycleStep | undefined> {
    const ctx = this.interpolationContext(d);
    const lc = d.recipe.lifecycle;
    const fill = (s: LifecycleStep | undefined): LifecycleStep | undefined =>
      s && { ...s, script: interpolate(s.script, ctx), setenv: mapValues(s.setenv, (v) => interpolate(v, ctx)) };
    return { install: fill(lc.install), run: fill(lc.run), startup: fill(lc.startup), shutdown: fill(lc.shutdown) };
  }

  /**
   * Deploys a component as `greengrass-cli deployment create --recipeDir --artifactDir --merge` would,
   * and starts it (unless `noStart`). The start waits in INSTALLED while a HARD dependency is deployed
   * but not RUNNING or FINISHED, or not deployed yet; SOFT dependencies never hold it back.
   */
  async deploy(opts: DeployOptions): Promise<LaunchedComponent> {
    const component = this.prepare(opts);
    if (!opts.noStart) await component.start();
    return component;
  }

  /**
   * One deployment of several components: all are placed and registered first, then all are started
   * together, as the nucleus starts a deployment's services; each waits only for its HARD dependencies
   * (GreengrassService.waitForDependencyReady). Resolves once each is RUNNING, failed, or waiting.
   */
  async deployAll(all: DeployOptions[]): Promise<LaunchedComponent[]> {
    const names = new Set<string>();
    for (const o of all) {
      const name = loadRecipe(o.recipePath).name;
      if (names.has(name)) throw new Error(`${name} is twice in one deployment`);
      names.add(name);
    }
    const components = all.map((o) => this.prepare({ ...o, noStart: true }));
    await Promise.all(components.filter((_, i) => !all[i]!.noStart).map((c) => c.start()));
    return components;
  }

  /** Starts a component deployed with `noStart`. */
  async start(name: string): Promise<LaunchedComponent> {
    const c = this.component(name);
    await c.start();
    return c;
  }

  /**
   * GreengrassService.dependencyReady: a SOFT dependency is always ready; a HARD one once it is RUNNING
   * or FINISHED. The nucleus's own services (HARNESS_PROVIDED_COMPONENTS) count as RUNNING.
   */
  private dependenciesReady(recipe: Recipe): boolean {
    return this.unready(recipe).length === 0;
  }

  /** The HARD dependencies a deployed component waits for now. */
  unreadyDependencies(name: string): string[] {
    const d = this.deployed.get(name);
    if (!d) throw new Error(`no component ${name} is deployed`);
    return this.unready(d.recipe);
  }

  private unready(recipe: Recipe): string[] {
    return Object.entries(recipe.dependencies)
      .filter(([name, d]) => {
        if (d.dependencyType === 'SOFT' || HARNESS_PROVIDED_COMPONENTS.has(name)) return false;
        const state = this.deployed.get(name)?.component.state;
        return state !== 'RUNNING' && state !== 'FINISHED';
      })
      .map(([name]) => name);
  }

  private prepare(opts: DeployOptions): LaunchedComponent {
    const recipe = loadRecipe(opts.recipePath);
    if (this.deployed.has(recipe.name)) throw new Error(`${recipe.name} is already deployed; use updateConfiguration`);
    const paths = this.placeArtifacts(recipe, opts.artifactDir);
    const configuration = applyConfigurationUpdate(recipe.defaultConfiguration, recipe.defaultConfiguration, opts.configurationUpdate ?? {});
    const svcuid = randomBytes(16).toString('hex');
    const partial = { recipe, configuration, svcuid, paths, extraEnv: opts.env ?? {} };
    partial.configuration = this.effective(partial, configuration);
    const ctx = this.interpolationContext(partial);
    const env = { ...this.environment(partial), ...mapValues(recipe.lifecycle.setenv, (v) => interpolate(v, ctx)) };
    const logPath = join(this.root, 'logs', `${recipe.name}.log`);
    writeFileSync(logPath, '', { flag: 'a' });
    const component = new LaunchedComponent({
      name: recipe.name,
      version: recipe.version,
      workPath: paths.workPath,
      logPath,
      env,
      ...this.steps(partial),
      errorResetTimeS: opts.errorResetTimeS ?? recipe.lifecycle.errorResetTimeS,
      dependenciesReady: () => this.dependenciesReady(recipe),
    });
    // Every state change may release a component that waits for it (createDependencyListener); once
    // everyone has heard of the change, as the nucleus's listeners run apart from the reporting thread.
    component.on('state', () =>
      queueMicrotask(() => {
        for (const d of this.deployed.values()) if (d.component !== component) d.component.dependenciesChanged();
      }),
    );
    this.deployed.set(recipe.name, { ...partial, component });
    this.ipc.addComponent(recipe.name, { svcuid, configuration: partial.configuration });
    this.aws.tes.addToken(svcuid);
    return component;
  }

  /**
   * A deployment that changes a running component's configuration: the component validates it first
   * (if it subscribed to validation); a REJECTED update leaves the running configuration as it was.
   */
  async updateConfiguration(
    name: string,
    update: ConfigurationUpdate,
    /** `validationTimeoutMs`: the deployment's configurationValidationPolicy timeout (default 20 s). */
    opts: { validationTimeoutMs?: number } = {},
  ): Promise<{ applied: boolean; deploymentId: string; validation: ValidationOutcome; configuration: JsonObject }> {
    const d = this.deployed.get(name);
    if (!d) throw new Error(`no component ${name} is deployed`);
    const deploymentId = `local-deployment-${++this.deploymentSeq}`;
    const next = this.effective(d, applyConfigurationUpdate(d.configuration, d.recipe.defaultConfiguration, update));
    const validation = await this.ipc.validateConfiguration(name, deploymentId, next, opts.validationTimeoutMs ?? DEFAULT_VALIDATION_TIMEOUT_MS);
    // The nucleus fails the deployment on REJECTED and on a component that never answered.
    if (validation.status === 'REJECTED' || validation.status === 'TIMEOUT') {
      return { applied: false, deploymentId, validation, configuration: d.configuration };
    }
    d.configuration = next;
    this.ipc.setConfiguration(name, next);
    return { applied: true, deploymentId, validation, configuration: next };
  }

  /**
   * A deployment of aws.greengrass.SecretManager with these `cloudSecrets` (full ARNs): the emulated
   * component keeps only these and fetches them into its copy on the device now, as the real one does
   * with each deployment (test/harness/ipc/secret-operations.ts). Tests call it themselves, as a
   * deployment names the secret: nothing is configured from a component's configuration.
   */
  configureSecretManager(opts: { cloudSecrets: (string | CloudSecret)[] }): void {
    this.ipc.setCloudSecrets(opts.cloudSecrets);
  }

  /**
   * The device's uplink to AWS Secrets Manager: unreachable, the local endpoint refuses connections
   * (the SDK sees ECONNREFUSED) or, with `how: 'timeout'`, never answers; the emulated SecretManager's
   * fetches fail, so it serves its copy.
   */
  setCloudReachable(reachable: boolean, opts: { how?: 'refused' | 'timeout' } = {}): Promise<void> {
    return this.aws.secretsManager.setReachable(reachable, opts);
  }

  /** Stops every component, closes every server and removes the root. */
  async close(opts: { keepRoot?: boolean } = {}): Promise<void> {
    await Promise.allSettled([...this.deployed.values()].map((d) => d.component.stop()));
    this.deployed.clear();
    await this.ipc.close();
    await this.aws.close();
    if (!opts.keepRoot) rmSync(this.root, { recursive: true, force: true });
  }
}

function mapValues(o: Record<string, string>, f: (v: string) => string): Record<string, string> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]));
}
