// Accuracy of a template grouping against ground truth, and the Loghub structured-CSV reader the
// benchmark and the conformance script share. Pure: text in, numbers out.
//
// Grouping accuracy (GA, Zhu et al., ICSE-SEIP 2019 "Tools and Benchmarks for Automated Log
// Parsing"): a line is parsed correctly iff the set of lines in its predicted group equals the
// set of lines in its true group; GA is the share of such lines.

export function groupingAccuracy(predicted: readonly string[], truth: readonly string[]): number {
  const n = truth.length;
  if (n === 0 || predicted.length !== n) return 0;
  const predGroups = new Map<string, number[]>();
  for (let i = 0; i < n; i++) {
    const g = predGroups.get(predicted[i]!);
    if (g) g.push(i);
    else predGroups.set(predicted[i]!, [i]);
  }
  const truthSize = new Map<string, number>();
  for (const t of truth) truthSize.set(t, (truthSize.get(t) ?? 0) + 1);
  let correct = 0;
  for (const g of predGroups.values()) {
    const t = truth[g[0]!]!;
    if (truthSize.get(t) !== g.length) continue;
    if (g.every((i) => truth[i] === t)) correct += g.length;
  }
  return correct / n;
}

/** Parse RFC 4180 CSV text into rows (quoted fields, doubled quotes, CRLF or LF). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = 0;
  let quoted = false;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        continue;
      }
      field += c;
      i++;
      continue;
    }
    if (c === '"') {
      quoted = true;
      i++;
    } else if (c === ',') {
      row.push(field);
      field = '';
      i++;
    } else if (c === '\n' || c === '\r') {
      row.push(field);
      field = '';
      rows.push(row);
      row = [];
      i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
    } else {
      field += c;
      i++;
    }
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** The ground-truth template of every line of a Loghub `*_structured*.csv` file. */
export function truthTemplates(csvText: string): string[] {
  const rows = parseCsv(csvText);
  const header = rows[0] ?? [];
  const col = header.indexOf('EventTemplate');
  if (col < 0) throw new Error('no EventTemplate column');
  return rows
    .slice(1)
    .filter((r) => r.length > col)
    .map((r) => r[col]!);
}
