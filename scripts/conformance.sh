#!/usr/bin/env bash
# The conformance stage: mlscope against reference values over ../shared/data. A ratchet: each
# check fails below the figures recorded in .ci/baseline.json; raise them as the work improves.
# usage: bash scripts/conformance.sh [DATA_DIR]
set -uo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data}
base=.ci/baseline.json
get() { node -e "const b=require('./$base'); const v=$1; if (v===undefined) process.exit(3); console.log(v)"; }
fail=0
run() { # name, command…
  local name=$1; shift
  echo "=== conformance: $name"
  if "$@"; then echo "=== $name: ok"; else echo "=== $name: FAILED"; fail=1; fi
}
run "captures vs tshark" node --import tsx scripts/conformance-pcap.ts "$data" \
  --min-tcp "$(get b.pcap.tcp)" --min-http "$(get b.pcap.http)" \
  --min-http2 "$(get b.pcap.http2)" --min-tls "$(get b.pcap.tls)"
run "log templates (loghub 2k corrected)" node --import tsx scripts/conformance-templates.ts \
  "$data/loghub/loghub-2k-corrected" --min-ga "$(get b.templates.minMeanGA)"
run "flows (pmacct, logstash, flow logs)" node --import tsx scripts/conformance-flows.ts "$data" \
  --min "$(get b.flows.min)"
if [ -f scripts/conformance-logs.ts ]; then
  run "log formats (servicelogs, loghub, labs)" node --import tsx scripts/conformance-logs.ts "$data"
fi
if [ -f scripts/conformance-labs.ts ]; then
  run "lab diagnosis (investigate vs answer keys)" node --import tsx scripts/conformance-labs.ts "$data" examples \
    --min-accuracy "$(get b.labs.minAccuracy)" --min-logs-only "$(get b.labs.minLogsOnly)" \
    --min-capture-only "$(get b.labs.minCaptureOnly)" --min-logs-no-app-ids "$(get b.labs.minLogsNoAppIds)" \
    --min-front-hop "$(get b.labs.minFrontHop)" --min-no-ids "$(get b.labs.minNoIds)" \
    --min-backend "$(get b.labs.minBackend)" --min-rewritten-logs "$(get b.labs.minRewrittenLogs)"
fi
if [ -f scripts/conformance-otlp.ts ]; then
  run "OTLP/Jaeger/Zipkin samples import" node --import tsx scripts/conformance-otlp.ts "$data/otlp"
fi
if [ -f scripts/conformance-forensics.ts ]; then
  # The repo's prompt-flood example (made by `mlscope lab prompt-flood`); fails on any acceptance miss.
  run "forensics (prompt-flood example vs its truth)" node --import tsx scripts/conformance-forensics.ts examples/prompt-flood
fi
exit $fail
