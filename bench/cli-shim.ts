// Runs the CLI from sources with the store commands registered, for bench/logs.ts when dist/ is not
// built or the commands are not in src/cli/commands/index.ts yet.
import { main } from '../src/cli/main.js';
import { commands } from '../src/cli/commands/index.js';
import { ingestCommand } from '../src/cli/commands/ingest.js';
import { logsCommand } from '../src/cli/commands/logs.js';
import { sqlCommand } from '../src/cli/commands/sql.js';

for (const c of [ingestCommand, sqlCommand, logsCommand])
  if (!commands.some((x) => x.name === c.name)) commands.push(c);

process.exitCode = await main(process.argv.slice(2));
