#!/usr/bin/env -S node --max-semi-space-size=64
// The mlscope command: runs the compiled CLI (built into dist/ by `npm ci` via `prepare`).
// --max-semi-space-size=64: a larger young generation; streaming decoders hand records on in
// batches that would otherwise be copied out of a 16 MiB nursery (bench:alerts: ≈20% less CPU).
import { main, stopQuietlyOnClosedPipe } from '../dist/cli/main.js';

stopQuietlyOnClosedPipe();

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(
      `mlscope: internal error: ${err && err.stack ? err.stack : String(err)}\n`,
    );
    process.exitCode = 70;
  },
);
