// The commands, in the order `mlscope --help` shows them. Each command lives in its own file and
// is imported only when it runs: loading every command's analyzers costs ≈100 ms of start-up that
// `mlscope pcap` (or any one command) does not need. `mlscope --help` loads them all.

import type { Command } from '../command.js';

const LOADERS: readonly [string, () => Promise<Command>][] = [
  ['investigate', () => import('./investigate.js').then((m) => m.investigateCommand)],
  ['pcap', () => import('./pcap.js').then((m) => m.pcapCommand)],
  ['http', () => import('./http.js').then((m) => m.httpCommand)],
  ['llm', () => import('./llm.js').then((m) => m.llmCommand)],
  ['logs', () => import('./logs.js').then((m) => m.logsCommand)],
  ['templates', () => import('./templates.js').then((m) => m.templatesCommand)],
  ['ingest', () => import('./ingest.js').then((m) => m.ingestCommand)],
  ['sql', () => import('./sql.js').then((m) => m.sqlCommand)],
  ['flows', () => import('./flows.js').then((m) => m.flowsCommand)],
  ['traces', () => import('./traces.js').then((m) => m.tracesCommand)],
  ['trace', () => import('./trace.js').then((m) => m.traceCommand)],
  ['pipeline', () => import('./pipeline.js').then((m) => m.pipelineCommand)],
  ['alerts', () => import('./alerts.js').then((m) => m.alertsCommand)],
  ['forensics', () => import('./forensics.js').then((m) => m.forensicsCommand)],
  ['serve', () => import('./serve.js').then((m) => m.serveCommand)],
  ['lab', () => import('./lab.js').then((m) => m.labCommand)],
];

/** Command names in help order. */
export const commandNames: readonly string[] = LOADERS.map(([n]) => n);

/** The command called `name`, loaded; undefined for an unknown name. */
export async function loadCommand(name: string): Promise<Command | undefined> {
  const entry = LOADERS.find(([n]) => n === name);
  return entry ? entry[1]() : undefined;
}

/** Every command, loaded, in help order. */
export function loadCommands(): Promise<Command[]> {
  return Promise.all(LOADERS.map(([, load]) => load()));
}
