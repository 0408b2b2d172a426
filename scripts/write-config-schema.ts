// Writes each component's config.schema.json from its in-code schema, for editors and reviewers:
// components/opcua-collector/config.schema.json and components/firehose-sink/config.schema.json.
// Run after changing a config-schema.ts: npx tsx scripts/write-config-schema.ts
// (a unit test per component fails while the committed file differs).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { COLLECTOR_CONFIG_SCHEMA } from '../components/opcua-collector/src/config-schema';
import { SINK_CONFIG_SCHEMA } from '../components/firehose-sink/src/config-schema';

export const CONFIG_SCHEMA_FILE = join(__dirname, '..', 'components', 'opcua-collector', 'config.schema.json');
export const SINK_CONFIG_SCHEMA_FILE = join(__dirname, '..', 'components', 'firehose-sink', 'config.schema.json');

/** The file's exact text: two-space JSON and a final newline. */
export function configSchemaText(): string {
  return JSON.stringify(COLLECTOR_CONFIG_SCHEMA, null, 2) + '\n';
}

/** conduit.FirehoseSink's schema file, in the same form. */
export function sinkConfigSchemaText(): string {
  return JSON.stringify(SINK_CONFIG_SCHEMA, null, 2) + '\n';
}

if (require.main === module) {
  for (const [file, text] of [
    [CONFIG_SCHEMA_FILE, configSchemaText()],
    [SINK_CONFIG_SCHEMA_FILE, sinkConfigSchemaText()],
  ] as const) {
    writeFileSync(file, text);
    console.log(`wrote ${file}`);
  }
}
