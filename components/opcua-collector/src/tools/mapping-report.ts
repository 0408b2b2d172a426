// check-mapping's report: a header (where, how securely, who), one row per tag, the findings with
// their fixes, the server's limits and a one-line result. Pure formatting of what was found.
import type { CollectorConfig, TagConfig } from '../config-types';
import type { ServerLimit } from './mapping-probe';
import { CURRENT_READ, needsNumbers, type Finding, type TagCheck, type TagFacts } from './mapping-verdict';
import { formatTable } from './text-table';

export interface TagResult {
  tag: TagConfig;
  facts: TagFacts;
  check: TagCheck;
}

export interface MappingReport {
  config: CollectorConfig;
  tags: readonly TagResult[];
  limits: readonly ServerLimit[];
  /** About the server or the subscription as a whole (not one tag). */
  serverFindings: readonly Finding[];
  subscription: { calls: number; itemsPerCall: number; deleted: boolean };
}

export function formatTagTable(r: MappingReport): string {
  const requested = r.config.sampling.intervalMs;
  const rows = r.tags.map(({ tag, facts, check }) => [tag.name, tag.nodeId, tag.mode, exists(facts), readable(facts), dataType(tag, facts), sampling(facts, requested), check.verdict]);
  return formatTable(['name', 'nodeId', 'mode', 'exists', 'readable', 'data type', 'sampling ms (asked -> granted)', 'verdict'], rows);
}

export function formatFindings(r: MappingReport): string[] {
  const out: string[] = [];
  r.tags.forEach(({ tag, check }, i) => {
    if (check.findings.length === 0) return;
    out.push(`  ${tag.name} (tags[${i}], ${tag.nodeId})`);
    for (const f of check.findings) out.push(`    ${f.level === 'problem' ? 'FAIL' : 'warn'}: ${f.what}`, `      fix: ${f.fix}`);
  });
  for (const f of r.serverFindings) out.push(`  server: ${f.level === 'problem' ? 'FAIL' : 'warn'}: ${f.what}`, `      fix: ${f.fix}`);
  return out;
}

export function formatLimits(limits: readonly ServerLimit[]): string[] {
  const width = Math.max(...limits.map((l) => l.name.length));
  return limits.map((l) => `  ${l.name.padEnd(width)}  ${l.value === undefined ? 'not set' : l.value === 0 ? '0 (no limit)' : String(l.value)}`);
}

export function formatSummary(r: MappingReport): string {
  const count = (v: string) => r.tags.filter((t) => t.check.verdict === v).length;
  const serverFail = r.serverFindings.some((f) => f.level === 'problem');
  const ok = !serverFail && count('FAIL') === 0;
  return (
    `Result: ${r.tags.length} tag${r.tags.length === 1 ? '' : 's'}: ${count('ok')} ok, ${count('warn')} with warnings, ${count('FAIL')} failed` +
    `${serverFail ? '; the server has a problem (above)' : ''}. ${ok ? 'The mapping is usable as it is.' : 'Fix the problems above before deploying this mapping.'}`
  );
}

function exists(f: TagFacts): string {
  if (f.nodeIdProblem) return 'invalid';
  return f.exists === true ? 'yes' : f.exists === false ? 'NO' : '?';
}

function readable(f: TagFacts): string {
  if (f.exists !== true || f.nodeClass !== 'Variable') return '-';
  if (f.accessLevel === undefined || f.userAccessLevel === undefined) return '?';
  const denied = f.value !== undefined && /BadUserAccessDenied|BadNotReadable/.test(f.value.status);
  return (f.accessLevel & f.userAccessLevel & CURRENT_READ) !== 0 && !denied ? 'yes' : 'NO';
}

function dataType(tag: TagConfig, f: TagFacts): string {
  if (!f.dataType) return '-';
  if (!needsNumbers(tag)) return f.dataType.name;
  const numeric = f.dataType.kind === 'numeric' || (f.dataType.kind === 'any' && f.value?.shape === 'number');
  return `${f.dataType.name}, ${numeric ? 'numeric' : 'NOT numeric'}`;
}

function sampling(f: TagFacts, requested: number): string {
  const m = f.monitored;
  if (!m) return '-';
  return m.ok ? `${requested} -> ${m.revisedSamplingMs}` : `${requested} -> refused`;
}
