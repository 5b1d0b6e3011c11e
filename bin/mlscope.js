#!/usr/bin/env node
// The mlscope command: runs the compiled CLI (built into dist/ by `npm ci` via `prepare`).
import { main } from '../dist/cli/main.js';

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
