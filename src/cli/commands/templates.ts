// `mlscope templates <inputs…> [--json] [--assignments]`: mine log templates from text logs.
// JSON contract (DESIGN.md): { lines, templates: [{ id, template, count }], assignments? } with one
// assignment per non-empty input line, in input order (inputs in the order given, directories
// walked sorted). Each input is its own source: header layouts are learned per file.

import { ExitCode, parseCommandArgs, writeJson, type Command, type Io } from '../command.js';
import { expandInputs, readChunks } from '../../sources/files.js';
import { LineSplitter } from '../../util/lines.js';
import { InputError, errorMessage } from '../../util/errors.js';
import { TemplateMiner, type MinedTemplate } from '../../analyzers/templates/index.js';

const USAGE = 'mlscope templates <inputs…> [--json] [--assignments] [--limit N]';

/** Human output shows this many templates unless --limit says otherwise. */
const DEFAULT_LIMIT = 50;
const EXAMPLE_CHARS = 160;

/**
 * Remove terminal control sequences and characters: CSI (ESC [ … final) and OSC (ESC ] … BEL or
 * ESC \\) sequences, other ESC pairs, C0 controls except tab, DEL and C1 controls.
 */
export function stripControl(s: string): string {
  let out = '';
  let from = 0;
  const n = s.length;
  let i = 0;
  while (i < n) {
    const c = s.charCodeAt(i);
    if ((c >= 0x20 && c < 0x7f) || c > 0x9f || c === 9) {
      i++;
      continue;
    }
    out += s.slice(from, i);
    if (c === 0x1b && i + 1 < n) {
      const k = s.charCodeAt(i + 1);
      i += 2;
      if (k === 0x5b /* [ */) {
        while (i < n && !(s.charCodeAt(i) >= 0x40 && s.charCodeAt(i) <= 0x7e)) i++;
        i++;
      } else if (k === 0x5d /* ] */) {
        while (i < n && s.charCodeAt(i) !== 7 && s.charCodeAt(i) !== 0x1b) i++;
        if (i < n && s.charCodeAt(i) === 0x1b) i++;
        i++;
      }
    } else i++;
    from = Math.min(i, n);
  }
  return from === 0 ? s : out + s.slice(from);
}

function clip(s: string, n: number): string {
  return s.length > n ? s.slice(0, n - 1) + '…' : s;
}

export function renderTable(
  lines: number,
  templates: readonly MinedTemplate[],
  limit: number,
): string {
  const out: string[] = [];
  out.push(`${lines} lines, ${templates.length} templates`);
  if (templates.length === 0) return out.join('\n') + '\n';
  const shown = templates.slice(0, limit);
  const cw = Math.max(5, ...shown.map((t) => String(t.count).length));
  out.push('');
  out.push(`${'count'.padStart(cw)}  ${'share'.padStart(6)}  id            template`);
  for (const t of shown) {
    const share = lines > 0 ? ((100 * t.count) / lines).toFixed(1) + '%' : '';
    out.push(
      `${String(t.count).padStart(cw)}  ${share.padStart(6)}  ${t.id.padEnd(12)}  ${stripControl(t.template)}`,
    );
    out.push(
      `${''.padStart(cw)}  ${''.padStart(6)}  ${''.padEnd(12)}    e.g. ${clip(stripControl(t.example), EXAMPLE_CHARS)}`,
    );
  }
  if (templates.length > shown.length)
    out.push(`… ${templates.length - shown.length} more templates (--limit N, or --json for all)`);
  return out.join('\n') + '\n';
}

export const templatesCommand: Command = {
  name: 'templates',
  summary: 'mine log templates (message patterns) from text logs',
  usage: USAGE,
  async run(argv: string[], io: Io): Promise<number> {
    const { values, positionals } = parseCommandArgs('templates', argv, {
      json: { type: 'boolean' },
      assignments: { type: 'boolean' },
      limit: { type: 'string' },
    });
    if (positionals.length === 0) {
      io.stderr.write(`mlscope templates: no inputs given\nusage: ${USAGE}\n`);
      return ExitCode.USAGE;
    }
    let limit = DEFAULT_LIMIT;
    if (values.limit !== undefined) {
      const n = Number(values.limit);
      if (!Number.isInteger(n) || n < 0) {
        io.stderr.write(
          `mlscope templates: --limit expects a non-negative integer, got '${values.limit}'\nusage: ${USAGE}\n`,
        );
        return ExitCode.USAGE;
      }
      limit = n;
    }
    let failed = false;
    const onError = (e: InputError): void => {
      failed = true;
      io.stderr.write(`mlscope: ${e.message}\n`);
    };
    const refs = await expandInputs(positionals, onError);
    const miner = new TemplateMiner();
    for (const ref of refs) {
      const splitter = new LineSplitter();
      const source = ref.name;
      const onLine = (l: { text: string }): void => {
        if (l.text.trim() === '') return;
        miner.add(l.text, source);
      };
      try {
        for await (const chunk of readChunks(ref)) splitter.push(chunk, onLine);
        splitter.end(onLine);
      } catch (err) {
        // Lines read before the failure stay mined; the input stops here.
        splitter.end(onLine);
        if (err instanceof InputError) onError(err);
        else onError(new InputError('E_INPUT_UNREADABLE', ref.name, errorMessage(err)));
      }
    }
    const r = miner.result();
    if (values.json) {
      const doc: {
        lines: number;
        templates: { id: string; template: string; count: number; example: string }[];
        assignments?: string[];
      } = {
        lines: r.lines,
        templates: r.templates.map((t) => ({
          id: t.id,
          template: t.template,
          count: t.count,
          example: t.example,
        })),
      };
      if (values.assignments) doc.assignments = r.assignments;
      writeJson(io, doc);
    } else {
      io.stdout.write(renderTable(r.lines, r.templates, limit));
      if (values.assignments) {
        for (let i = 0; i < r.assignments.length; i++)
          io.stdout.write(`${i + 1}\t${r.assignments[i]}\n`);
      }
    }
    return failed ? ExitCode.INPUT_ERROR : ExitCode.OK;
  },
};
