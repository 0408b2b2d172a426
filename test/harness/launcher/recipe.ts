// Reading a component recipe the way the nucleus does: YAML or JSON, the first manifest whose
// platform matches, lifecycle steps as a string or as {Script, Timeout, Setenv, Skipif}.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { JsonObject } from '../contracts';

/** Default step timeouts in seconds, from the recipe reference. Run has none. */
export const DEFAULT_TIMEOUT_S = { Install: 120, Startup: 120, Shutdown: 15, Recover: 60 } as const;

export interface LifecycleStep {
  script: string;
  timeoutS?: number;
  setenv: Record<string, string>;
  skipif?: string;
}

export interface Lifecycle {
  setenv: Record<string, string>;
  /** `errorResetTime` in seconds, which the nucleus reads from `services.<name>.lifecycle` (Lifecycle.java). */
  errorResetTimeS?: number;
  install?: LifecycleStep;
  run?: LifecycleStep;
  startup?: LifecycleStep;
  shutdown?: LifecycleStep;
}

export interface RecipeArtifact {
  uri: string;
  unarchive: 'NONE' | 'ZIP';
}

export interface Recipe {
  name: string;
  version: string;
  defaultConfiguration: JsonObject;
  dependencies: Record<string, { versionRequirement?: string; dependencyType: 'HARD' | 'SOFT' }>;
  lifecycle: Lifecycle;
  artifacts: RecipeArtifact[];
}

export interface Platform {
  os: string;
  architecture: string;
}

/** The platform of this machine, in recipe terms. */
export function hostPlatform(): Platform {
  const arch = { x64: 'amd64', arm64: 'aarch64', arm: 'arm', ia32: 'x86' }[process.arch as string] ?? process.arch;
  return { os: process.platform === 'win32' ? 'windows' : process.platform, architecture: arch };
}

function strings(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) out[k] = String(x);
  return out;
}

function step(v: unknown): LifecycleStep | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return { script: v, setenv: {} };
  const o = v as Record<string, unknown>;
  return {
    script: o.Script === undefined ? '' : String(o.Script),
    timeoutS: o.Timeout === undefined ? undefined : Number(o.Timeout),
    setenv: strings(o.Setenv),
    skipif: o.Skipif === undefined ? undefined : String(o.Skipif),
  };
}

/** A manifest without a Platform matches everything; `*` and a missing key match any value. */
function matches(platform: Record<string, unknown> | undefined, host: Platform): boolean {
  if (!platform) return true;
  for (const [k, want] of Object.entries(platform)) {
    if (want === '*' || want === undefined) continue;
    const have = (host as unknown as Record<string, string>)[k];
    if (have !== undefined && String(want) !== have) return false;
  }
  return true;
}

export function parseRecipe(text: string, host: Platform = hostPlatform()): Recipe {
  const r = parseYaml(text) as Record<string, any>;
  if (!r || typeof r !== 'object') throw new Error('recipe: not a YAML or JSON object');
  for (const k of ['RecipeFormatVersion', 'ComponentName', 'ComponentVersion']) {
    if (r[k] === undefined) throw new Error(`recipe: missing ${k}`);
  }
  const manifests: any[] = r.Manifests ?? [];
  const manifest = manifests.find((m) => matches(m.Platform, host));
  if (!manifest) throw new Error(`recipe ${r.ComponentName}: no manifest for ${host.os}/${host.architecture}`);
  const lc = manifest.Lifecycle ?? r.Lifecycle ?? {};
  if (lc.Run !== undefined && lc.Startup !== undefined) {
    throw new Error(`recipe ${r.ComponentName}: a lifecycle may have Run or Startup, not both`);
  }
  const deps: Recipe['dependencies'] = {};
  for (const [name, d] of Object.entries<any>(r.ComponentDependencies ?? {})) {
    deps[name] = { versionRequirement: d?.VersionRequirement, dependencyType: d?.DependencyType === 'SOFT' ? 'SOFT' : 'HARD' };
  }
  return {
    name: String(r.ComponentName),
    version: String(r.ComponentVersion),
    defaultConfiguration: (r.ComponentConfiguration?.DefaultConfiguration ?? {}) as JsonObject,
    dependencies: deps,
    lifecycle: {
      setenv: strings(lc.Setenv),
      errorResetTimeS: lc.errorResetTime === undefined ? undefined : Number(lc.errorResetTime),
      install: step(lc.Install),
      run: step(lc.Run),
      startup: step(lc.Startup),
      shutdown: step(lc.Shutdown),
    },
    artifacts: ((manifest.Artifacts ?? []) as any[]).map((a) => ({
      uri: String(a.URI),
      unarchive: String(a.Unarchive ?? 'NONE').toUpperCase() === 'ZIP' ? 'ZIP' : 'NONE',
    })),
  };
}

export function loadRecipe(path: string, host?: Platform): Recipe {
  return parseRecipe(readFileSync(path, 'utf8'), host);
}
