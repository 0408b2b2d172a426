// How a recipe reads under the two YAML versions it meets. gdk-cli parses recipes with PyYAML
// (`yaml.safe_load`, YAML 1.1: CaseInsensitiveRecipeFile._read_from_yaml); the nucleus and conduit's
// own tools read YAML 1.2. Under 1.1 an unquoted `on`, `off`, `yes`, `no` (and, for the `yaml`
// package, `y`, `n`) is a boolean, `010` is octal, `1:20` is a base-60 number and `2024-06-01` a
// timestamp; as a key, such a boolean crashes gdk's transform (CaseInsensitiveDict lower-cases every
// key). A recipe is fine when both versions give the same data and every key is a string.
import { isDeepStrictEqual } from 'node:util';
import { isMap, isScalar, parseDocument, visit } from 'yaml';

/** What differs or is wrong; empty when the text reads the same under YAML 1.1 and 1.2. */
export function yamlVersionProblems(text: string): string[] {
  const problems: string[] = [];
  const docs = (['1.1', '1.2'] as const).map((version) => {
    const doc = parseDocument(text, { version, uniqueKeys: true });
    for (const e of doc.errors) problems.push(`YAML ${version}: ${e.message.split('\n')[0]}`);
    visit(doc, {
      Pair(_, pair, path) {
        const key = pair.key;
        if (!isScalar(key) || typeof key.value !== 'string') {
          const at = path.filter(isMap).length;
          problems.push(`YAML ${version}: key ${String(isScalar(key) ? key.source ?? key.value : key)} (depth ${at}) is a ${isScalar(key) ? typeof key.value : 'collection'}, not a string: quote it`);
        }
      },
    });
    return doc;
  });
  if (problems.length > 0) return problems;
  const [v11, v12] = docs.map((d) => d.toJS({ maxAliasCount: 100 }));
  if (!isDeepStrictEqual(v11, v12)) problems.push(...differences(v11, v12, ''));
  return problems;
}

/** Keys (in one mapping) that differ only by case: gdk's CaseInsensitiveDict and the nucleus's config store merge them. */
export function caseCollidingKeys(value: unknown, at = ''): string[] {
  const out: string[] = [];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...caseCollidingKeys(v, `${at}/${i}`)));
  else if (value !== null && typeof value === 'object') {
    const seen = new Map<string, string>();
    for (const [k, v] of Object.entries(value)) {
      const prev = seen.get(k.toLowerCase());
      if (prev !== undefined) out.push(`${at}/${prev} and ${at}/${k}`);
      seen.set(k.toLowerCase(), k);
      out.push(...caseCollidingKeys(v, `${at}/${k}`));
    }
  }
  return out;
}

function differences(a: unknown, b: unknown, at: string): string[] {
  if (isDeepStrictEqual(a, b)) return [];
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object' && Array.isArray(a) === Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) => differences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${at}/${k}`));
  }
  return [`${at || '/'}: YAML 1.1 reads ${JSON.stringify(a)}, YAML 1.2 reads ${JSON.stringify(b)}: quote the value`];
}
