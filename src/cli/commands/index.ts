// The list of commands, in the order `mlscope --help` shows them. Each command lives in its own file.

import type { Command } from '../command.js';
import { investigateCommand } from './investigate.js';
import { pcapCommand } from './pcap.js';
import { httpCommand } from './http.js';
import { llmCommand } from './llm.js';
import { logsCommand } from './logs.js';
import { ingestCommand } from './ingest.js';
import { sqlCommand } from './sql.js';
import { flowsCommand } from './flows.js';
import { templatesCommand } from './templates.js';
import { labCommand } from './lab.js';
import { pipelineCommand } from './pipeline.js';
import { alertsCommand } from './alerts.js';
import { tracesCommand } from './traces.js';
import { traceCommand } from './trace.js';
import { serveCommand } from './serve.js';
import { forensicsCommand } from './forensics.js';

export const commands: Command[] = [
  investigateCommand,
  pcapCommand,
  httpCommand,
  llmCommand,
  logsCommand,
  templatesCommand,
  ingestCommand,
  sqlCommand,
  flowsCommand,
  tracesCommand,
  traceCommand,
  pipelineCommand,
  alertsCommand,
  forensicsCommand,
  serveCommand,
  labCommand,
];
