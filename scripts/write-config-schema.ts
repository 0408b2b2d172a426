// Writes components/opcua-collector/config.schema.json from the in-code schema, for editors and
// reviewers. Run after changing config-schema.ts: npx tsx scripts/write-config-schema.ts
// (a unit test fails while the committed file differs).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { COLLECTOR_CONFIG_SCHEMA } from '../components/opcua-collector/src/config-schema';

export const CONFIG_SCHEMA_FILE = join(__dirname, '..', 'components', 'opcua-collector', 'config.schema.json');

/** The file's exact text: two-space JSON and a final newline. */
export function configSchemaText(): string {
  return JSON.stringify(COLLECTOR_CONFIG_SCHEMA, null, 2) + '\n';
}

if (require.main === module) {
  writeFileSync(CONFIG_SCHEMA_FILE, configSchemaText());
  console.log(`wrote ${CONFIG_SCHEMA_FILE}`);
}
