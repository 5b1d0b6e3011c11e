// The composition root: dispatches `mlscope <command> …` to the command modules. The only place
// that decides exit codes.

import { ExitCode, type Command, type Io } from './command.js';
import { MlscopeError, UsageError } from '../util/errors.js';
import { loadCommand, loadCommands } from './commands/index.js';

/**
 * A reader that stops early (`mlscope http cap.pcap --csv | head`) closes the pipe: exit quietly
 * (status 0), as command-line tools do, instead of dying on an unhandled EPIPE with a stack trace.
 */
export function stopQuietlyOnClosedPipe(
  streams: NodeJS.WriteStream[] = [process.stdout, process.stderr],
): void {
  for (const stream of streams)
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(0);
      throw err;
    });
}

async function usage(): Promise<string> {
  const commands = await loadCommands();
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    'mlscope — network and log analysis for ML services',
    '',
    'usage: mlscope <command> [options] <inputs…>',
    '',
    'commands:',
    ...lines,
    '',
    'Inputs are files, directories (walked) or - for stdin; .gz/.zst are decompressed.',
    "Run `mlscope <command> --help` for a command's options.",
  ].join('\n');
}

export async function main(argv: string[], io?: Partial<Io>): Promise<number> {
  const fullIo: Io = {
    stdout: io?.stdout ?? process.stdout,
    stderr: io?.stderr ?? process.stderr,
    isTty: io?.isTty ?? Boolean(process.stderr.isTTY),
  };
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    fullIo.stdout.write((await usage()) + '\n');
    return name ? ExitCode.OK : ExitCode.USAGE;
  }
  if (name === '--version' || name === '-V') {
    fullIo.stdout.write('mlscope 0.1.0\n');
    return ExitCode.OK;
  }
  const cmd: Command | undefined = await loadCommand(name);
  if (!cmd) {
    fullIo.stderr.write(`mlscope: unknown command '${name}'\n\n${await usage()}\n`);
    return ExitCode.USAGE;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    fullIo.stdout.write(`usage: ${cmd.usage}\n\n${cmd.summary}\n`);
    return ExitCode.OK;
  }
  try {
    return await cmd.run(rest, fullIo);
  } catch (err) {
    if (err instanceof UsageError) {
      fullIo.stderr.write(`mlscope: ${err.message}\nusage: ${cmd.usage}\n`);
      return ExitCode.USAGE;
    }
    if (err instanceof MlscopeError) {
      fullIo.stderr.write(`mlscope: ${err.message}\n`);
      return ExitCode.INPUT_ERROR;
    }
    throw err;
  }
}
