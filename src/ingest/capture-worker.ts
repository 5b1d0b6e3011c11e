// Worker-thread entry: analyses one partition of a capture's TCP conversations (see
// CaptureEngine's `partition`) and posts back what the parent merges.

import { parentPort, workerData } from 'node:worker_threads';
import { analyzeCapture } from './capture.js';
import { allRecognisers } from '../decoders/proto/registry.js';
import { badness, toWorst } from '../analyzers/capture/worst.js';
import type { Connection } from '../model/records.js';
import type { PartitionResult, PartitionTask } from './capture-parallel.js';

const task = workerData as PartitionTask;
const worst: Connection[] = [];
const run = await analyzeCapture(
  { name: task.name, path: task.path },
  {
    recognisers: allRecognisers(),
    partition: { index: task.index, count: task.count },
    sink: {
      connection(c) {
        if (badness(c) <= 0) return;
        worst.push(c);
        if (worst.length > task.top * 4) {
          worst.sort((a, b) => badness(b) - badness(a));
          worst.length = task.top;
        }
      },
    },
  },
);
worst.sort((a, b) => badness(b) - badness(a));
const e = run.engine;
const result: PartitionResult = {
  index: task.index,
  format: e.format,
  summary: e.summary(),
  rtts: e.rttSamples(),
  quality: e.quality.report(),
  worst: worst.slice(0, task.top).map((c) => ({ score: badness(c), row: toWorst(c) })),
  error: run.error ? run.error.message : null,
};
parentPort!.postMessage(result);
