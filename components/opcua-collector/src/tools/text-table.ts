// Plain-text tables for the tools' reports: aligned columns, readable in a terminal and in a ticket,
// and easy to grep (one row per line, no box drawing that a copy into an email would mangle).

/** Rows of cells under `headers`, columns padded to their widest cell and separated by two spaces. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/**
 * `text` wrapped at `width` columns on spaces: the first line keeps the text's own leading spaces,
 * the others start with `indent`. A word longer than a line stays whole.
 */
export function wrap(text: string, width: number, indent = ''): string {
  const lead = /^ */.exec(text)?.[0] ?? '';
  const lines: string[] = [];
  let line = lead;
  for (const word of text.slice(lead.length).split(/ +/)) {
    const empty = line === lead || line === indent;
    if (!empty && line.length + 1 + word.length > width) {
      lines.push(line);
      line = indent + word;
    } else line = empty ? line + word : `${line} ${word}`;
  }
  lines.push(line);
  return lines.join('\n');
}
