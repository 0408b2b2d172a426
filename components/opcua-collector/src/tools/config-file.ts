// The configuration file a tool is given: the collector's (or the sink's) component configuration as
// JSON, exactly what the component receives (the recipe's DefaultConfiguration with the deployment's
// MERGE applied). It goes through the component's own parser, so every problem is reported as the
// component would report it, and a tool never reasons from a configuration the component refuses.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseSinkConfig, type SinkConfig } from '../../../firehose-sink/src/config';
import { parseCollectorConfig } from '../config';
import type { CollectorConfig } from '../config-types';
import { UsageError } from './args';

/** Reads and parses a JSON file; relative paths are taken from `cwd`. Throws UsageError. */
export function readJsonFile(path: string, cwd: string): unknown {
  const full = resolve(cwd, path);
  let text: string;
  try {
    text = readFileSync(full, 'utf8');
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new UsageError(`cannot read ${path}${code === 'ENOENT' ? ': no such file' : code ? ` (${code})` : ''}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    // Only the position: Node's SyntaxError may quote the text, and a file may hold what it should not.
    const at = /position (\d+)/.exec(err instanceof Error ? err.message : '')?.[1];
    throw new UsageError(`${path} is not valid JSON${at === undefined ? '' : ` (${lineAndColumn(text, Number(at))})`}; give the component configuration as a JSON object`);
  }
}

/** The collector configuration in `path`, validated; a ConfigError becomes a UsageError listing every problem. */
export function loadCollectorConfig(path: string, cwd: string): CollectorConfig {
  const raw = readJsonFile(path, cwd);
  try {
    return parseCollectorConfig(raw);
  } catch (err) {
    throw new UsageError(`${path}: ${err instanceof Error ? err.message : String(err)}${wrapperHint(raw)}`);
  }
}

/** The FirehoseSink configuration in `path`, validated; `defaultRegion` stands for the nucleus's AWS_REGION. */
export function loadSinkConfig(path: string, cwd: string, defaultRegion: string | undefined): SinkConfig {
  const raw = readJsonFile(path, cwd);
  try {
    return parseSinkConfig(raw, defaultRegion === undefined ? {} : { defaultRegion });
  } catch (err) {
    throw new UsageError(`${path}: ${err instanceof Error ? err.message : String(err)}${wrapperHint(raw)}`);
  }
}

/** A deployment document instead of the configuration is the likeliest mistake: say so. */
function wrapperHint(raw: unknown): string {
  if (typeof raw !== 'object' || raw === null) return '';
  const keys = Object.keys(raw);
  if (keys.some((k) => k === 'merge' || k === 'configurationUpdate' || k === 'components' || k === 'ComponentConfiguration')) {
    return '\n  (this looks like a deployment or a recipe: give the configuration object itself, i.e. the DefaultConfiguration with the MERGE applied)';
  }
  return '';
}

function lineAndColumn(text: string, position: number): string {
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  return `line ${line}, column ${position - before.lastIndexOf('\n')}`;
}
