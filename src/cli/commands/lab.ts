// `mlscope lab <scenario> --out DIR`: reproduce an incident with real servers in network
// namespaces and write DIR/bundle (capture + logs) and DIR/truth (the answer key).

import { ExitCode, numberFlag, parseCommandArgs, type Command, type Io } from '../command.js';
import { UsageError } from '../../util/errors.js';
import { LabError } from '../../lab/errors.js';
import { parseFaults, FAULTS, FAULT_MIXES } from '../../lab/plan.js';
import { PROXIES, runSlowEndpoint, type FrontProxy } from '../../lab/slow-endpoint.js';
import { runBenchTraffic } from '../../lab/bench-traffic.js';
import { runPipelineLab } from '../../lab/pipeline.js';
import { runLlmStream } from '../../lab/llm-stream.js';

const SCENARIOS = ['slow-endpoint', 'bench-traffic', 'pipeline', 'llm-stream'] as const;

const usage = [
  'mlscope lab <scenario> --out DIR [options]',
  '',
  'scenarios:',
  '  slow-endpoint  client → nginx, HAProxy or Apache → FastAPI (uvicorn, gunicorn) with injected faults',
  '      --proxy nginx|haproxy|apache   the front proxy (default nginx)',
  '      --faults MIX     comma list of ' + FAULTS.join(', '),
  '                       or ' + Object.keys(FAULT_MIXES).join(' | ') + ' (default all)',
  '      --requests N     client requests (default 240)   --seed N (default 7)',
  '      --slow-ms N      slow threshold for the truth (default 300)',
  '      --loss-pct N     loss on the nginx↔:8001 link, each way (default 4)',
  '      --delay-ms N     relay delay on requests (default 180; responses 0–250 ms jitter)',
  '      --keep-work      keep DIR/work (configs, client results, fault ledgers)',
  '  bench-traffic  a large capture of keep-alive HTTP through nginx with a little loss',
  '      --size-mb N      capture size to reach (default 220)  --loss-pct N (default 0.2)',
  '  pipeline       nightly scikit-learn training runs (--runs N) with a silent failure, a slow stage',
  '                 and a degraded model; structured logs and MLflow-style metrics',
  '  llm-stream     OpenAI-style SSE streams (FastAPI/uvicorn HTTP/1.1, node HTTP/2) with injected',
  '                 TTFT, token gaps and stalls; servers log each token send (--requests N, --seed N)',
  '  prompt-flood   an LLM endpoint behind a load balancer and nginx; benign clients and attackers',
  '                 sending long and injection prompts, OOM 500s (--seed N, --duration S)',
  '',
  'needs root and: iproute2 nftables nginx (or haproxy, apache2) tcpdump tshark gunicorn python3-fastapi',
  'python3-uvicorn (slow-endpoint, llm-stream, prompt-flood); wrk (bench-traffic);',
  'python3-sklearn (pipeline).',
].join('\n');

export const labCommand: Command = {
  name: 'lab',
  summary: 'reproduce an ML-serving incident with real servers; write a bundle and its truth',
  usage,
  async run(argv: string[], io: Io): Promise<number> {
    if (argv[0] === 'prompt-flood')
      return (await import('../../lab/prompt-flood.js')).labMain(argv, io);
    const { values, positionals } = parseCommandArgs('lab', argv, {
      out: { type: 'string' },
      faults: { type: 'string' },
      proxy: { type: 'string' },
      seed: { type: 'string' },
      requests: { type: 'string' },
      runs: { type: 'string' },
      'slow-ms': { type: 'string' },
      'loss-pct': { type: 'string' },
      'delay-ms': { type: 'string' },
      'size-mb': { type: 'string' },
      'keep-work': { type: 'boolean' },
      json: { type: 'boolean' },
    });
    const scenario = positionals[0];
    if (!scenario || !(SCENARIOS as readonly string[]).includes(scenario))
      throw new UsageError(`lab: scenario must be one of ${SCENARIOS.join(', ')}`);
    if (positionals.length > 1)
      throw new UsageError(`lab: unexpected argument '${positionals[1]}'`);
    const outDir = values.out;
    if (!outDir) throw new UsageError('lab: --out DIR is required');
    const progress = (msg: string): void => {
      io.stderr.write(msg + '\n');
    };
    try {
      let summary: Record<string, unknown>;
      if (scenario === 'slow-endpoint') {
        const requests = numberFlag('lab', 'requests', values.requests) ?? 240;
        if (!Number.isInteger(requests) || requests < 1)
          throw new UsageError('lab: --requests expects a positive integer');
        const proxy = values.proxy ?? 'nginx';
        if (!(PROXIES as readonly string[]).includes(proxy))
          throw new UsageError(`lab: --proxy expects one of ${PROXIES.join(', ')}`);
        const r = await runSlowEndpoint(
          {
            outDir,
            proxy: proxy as FrontProxy,
            faults: parseFaults(values.faults ?? 'all'),
            seed: numberFlag('lab', 'seed', values.seed) ?? 7,
            requests,
            slowMs: numberFlag('lab', 'slow-ms', values['slow-ms']) ?? 300,
            lossPct: numberFlag('lab', 'loss-pct', values['loss-pct']) ?? 4,
            delayMs: numberFlag('lab', 'delay-ms', values['delay-ms']) ?? 180,
            jitterMs: 250,
            keepWork: values['keep-work'] ?? false,
          },
          progress,
        );
        summary = r.summary;
      } else if (scenario === 'llm-stream') {
        const requests = numberFlag('lab', 'requests', values.requests) ?? 24;
        summary = (
          await runLlmStream(
            {
              outDir,
              seed: numberFlag('lab', 'seed', values.seed) ?? 7,
              requests,
              h2Requests: Math.ceil(requests / 2),
              keepWork: values['keep-work'] ?? false,
            },
            progress,
          )
        ).summary;
      } else if (scenario === 'pipeline') {
        const runs = numberFlag('lab', 'runs', values.runs) ?? 12;
        if (!Number.isInteger(runs) || runs < 10 || runs > 500)
          throw new UsageError('lab: --runs expects an integer from 10 to 500');
        const truth = await runPipelineLab({
          outDir,
          seed: numberFlag('lab', 'seed', values.seed) ?? 7,
          runs,
          progress,
        });
        summary = truth as unknown as Record<string, unknown>;
      } else {
        const r = await runBenchTraffic(
          {
            outDir,
            sizeMb: numberFlag('lab', 'size-mb', values['size-mb']) ?? 220,
            lossPct: numberFlag('lab', 'loss-pct', values['loss-pct']) ?? 0.2,
            seed: numberFlag('lab', 'seed', values.seed) ?? 7,
          },
          progress,
        );
        summary = r.summary;
      }
      if (values.json) io.stdout.write(JSON.stringify(summary, null, 2) + '\n');
      else io.stdout.write(renderSummary(outDir, summary));
      return ExitCode.OK;
    } catch (err) {
      if (err instanceof LabError) {
        io.stderr.write(`mlscope: ${err.message}\n`);
        return err.code === 'E_LAB_ENV' ? ExitCode.USAGE : ExitCode.INPUT_ERROR;
      }
      throw err;
    }
  },
};

function renderSummary(outDir: string, s: Record<string, unknown>): string {
  const lines = [`wrote ${outDir}/bundle and ${outDir}/truth`];
  for (const k of [
    'n_requests',
    'n_slow',
    'counts_by_cause',
    'status_counts',
    'error_kinds',
    'capture',
    'duration_s',
    'packets',
    'size_bytes',
    'retransmissions',
  ])
    if (k in s) lines.push(`  ${k}: ${JSON.stringify(s[k])}`);
  return lines.join('\n') + '\n';
}
