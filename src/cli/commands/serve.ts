// `mlscope serve [inputs…] [--db FILE] [--port 8686] [--otlp-port 4318] [--host 127.0.0.1]
// [--token T] [--max-body-bytes N] [--max-label-values N]`: the live service (server/server.ts).
// Inputs given are loaded first (traces, OTLP logs/metrics files). Runs until SIGINT/SIGTERM, then
// writes everything acknowledged to the store before exiting. A non-loopback --host needs a token
// (--token or MLSCOPE_TOKEN).

import { ExitCode, numberFlag, parseCommandArgs, type Command, type Io } from '../command.js';
import { UsageError } from '../../util/errors.js';
import { startServer } from '../../server/server.js';
import { isLoopback } from '../../server/server.js';
import { openTelemetryStore } from '../../server/telemetry-store.js';
import { loadTelemetry } from './traces.js';

const USAGE =
  'mlscope serve [inputs…] [--db FILE] [--port 8686] [--otlp-port 4318] [--host 127.0.0.1] [--token T] [--max-body-bytes N] [--max-label-values N]';

function port(flag: string, v: string | undefined, dflt: number): number {
  const n = numberFlag('serve', flag, v) ?? dflt;
  if (!Number.isInteger(n) || n > 65535)
    throw new UsageError(`serve: --${flag} expects a port number, got '${v}'`);
  return n;
}

export const serveCommand: Command = {
  name: 'serve',
  summary: 'run the OTLP/HTTP receiver, trace API and Prometheus /metrics',
  usage: USAGE,
  async run(argv: string[], io: Io): Promise<number> {
    const { values, positionals } = parseCommandArgs('serve', argv, {
      db: { type: 'string' },
      port: { type: 'string' },
      'otlp-port': { type: 'string' },
      host: { type: 'string' },
      token: { type: 'string' },
      'max-body-bytes': { type: 'string' },
      'max-label-values': { type: 'string' },
    });
    const host = values.host ?? '127.0.0.1';
    const token = values.token ?? process.env['MLSCOPE_TOKEN'] ?? null;
    if (!isLoopback(host) && !token)
      throw new UsageError(`serve: binding to ${host} needs a token (--token or MLSCOPE_TOKEN)`);
    const apiPort = port('port', values.port, 8686);
    const otlpPort = port('otlp-port', values['otlp-port'], 4318);
    const maxBody = numberFlag('serve', 'max-body-bytes', values['max-body-bytes']);
    const maxLabels = numberFlag('serve', 'max-label-values', values['max-label-values']);
    const store = await openTelemetryStore(values.db ?? ':memory:');
    const log = (line: string): void => void io.stderr.write(`mlscope serve: ${line}\n`);
    const srv = await startServer({
      store,
      host,
      port: apiPort,
      otlpPort: otlpPort === apiPort ? null : otlpPort,
      token,
      log,
      ...(maxBody !== undefined ? { maxBodyBytes: maxBody } : {}),
      ...(maxLabels !== undefined ? { maxLabelValues: maxLabels } : {}),
    }).catch(async (err: unknown) => {
      await store.close();
      throw new UsageError(`serve: ${err instanceof Error ? err.message : String(err)}`);
    });
    let failed = 0;
    if (positionals.length) {
      const loaded = await loadTelemetry(positionals, io);
      failed = loaded.failed;
      srv.queue.spans(loaded.batch.spans);
      srv.queue.logs(loaded.batch.logs);
      srv.queue.points(loaded.batch.points);
      log(
        `loaded ${loaded.batch.spans.length} spans, ${loaded.batch.logs.length} logs, ${loaded.batch.points.length} points`,
      );
    }
    const where = `http://${host.includes(':') ? `[${host}]` : host}`;
    io.stdout.write(
      `mlscope serve: API ${where}:${srv.port} (/api/traces/{id}, /metrics)` +
        (srv.otlpPort !== null
          ? `, OTLP/HTTP ${where}:${srv.otlpPort} (/v1/traces, /v1/logs, /v1/metrics)`
          : '') +
        `, store ${values.db ?? 'in memory'}\n`,
    );
    await new Promise<void>((resolve) => {
      const stop = (sig: string): void => {
        process.off('SIGINT', onInt);
        process.off('SIGTERM', onTerm);
        log(`${sig}: flushing ${srv.queue.stats.pending} pending records`);
        void srv.close().then(resolve, (err: unknown) => {
          log(`shutdown failed: ${err instanceof Error ? err.message : String(err)}`);
          failed++;
          resolve();
        });
      };
      const onInt = (): void => stop('SIGINT');
      const onTerm = (): void => stop('SIGTERM');
      process.on('SIGINT', onInt);
      process.on('SIGTERM', onTerm);
    });
    log(
      `stopped; acknowledged ${srv.acknowledged.spans} spans, ${srv.acknowledged.logs} logs, ${srv.acknowledged.points} points`,
    );
    return failed > 0 ? ExitCode.INPUT_ERROR : ExitCode.OK;
  },
};
