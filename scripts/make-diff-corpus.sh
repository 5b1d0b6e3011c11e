#!/usr/bin/env bash
# Makes a differential capture corpus with real tools, to compare mlscope with tshark on traffic
# mlscope's fixtures do not contain (scripts/diff-corpus.ts does the comparison):
#   two network namespaces joined by a veth pair (IPv4 and IPv6, GRO/TSO-sized segments), nginx
#   (static files, 204/304/HEAD, proxy to the app), uvicorn + FastAPI (JSON, SSE, 204, 503), a raw
#   Python server (trailers, chunk extensions, 103 interim, resets mid-response, no answer,
#   close-delimited and HTTP/1.0 bodies, 100-continue and 417) and raw Python clients (pipelining,
#   a slow reader causing zero windows, HTTP/0.9, bare-LF heads); loss from nftables `numgen`
#   drops; tcpdump on the veth, on `any` (SLL2 and SLL), with a 96-byte snaplen and nanosecond
#   stamps; dumpcap for pcapng and editcap for a nanosecond pcapng.
# usage (root): bash scripts/make-diff-corpus.sh [OUT_DIR=/tmp/pd]
# Needs: iproute2 nftables tcpdump tshark (dumpcap, editcap) nginx curl python3-fastapi
# python3-uvicorn. Namespaces, links and nft tables are prefixed `pd-` and removed at exit.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-/tmp/pd}
py=/usr/bin/python3
C=pd-c
S=pd-s
mkdir -p "$out"
work=$(mktemp -d /tmp/pd-work.XXXXXX)
chmod 755 "$work" # nginx workers run as nobody
pids=()

cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -f "$work/nginx.pid" ]; then kill "$(cat "$work/nginx.pid")" 2>/dev/null || true; fi
  sleep 0.3
  ip netns del $C 2>/dev/null || true
  ip netns del $S 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

inc() { ip netns exec $C "$@"; }
ins() { ip netns exec $S "$@"; }

# --- network: pd-c (10.77.0.1, fd77::1) <-veth-> pd-s (10.77.0.2, fd77::2)
ip netns del $C 2>/dev/null || true
ip netns del $S 2>/dev/null || true
ip netns add $C
ip netns add $S
ip link add pd-vc type veth peer name pd-vs
ip link set pd-vc netns $C
ip link set pd-vs netns $S
ip -n $C addr add 10.77.0.1/24 dev pd-vc
ip -n $S addr add 10.77.0.2/24 dev pd-vs
ip -n $C addr add fd77::1/64 dev pd-vc nodad
ip -n $S addr add fd77::2/64 dev pd-vs nodad
for ns in $C $S; do ip -n $ns link set lo up; done
ip -n $C link set pd-vc up
ip -n $S link set pd-vs up

# --- servers in pd-s (started with `ip netns exec` itself, which execs, so $! is the server)
mkdir -p "$work/www" "$work/body" "$work/proxy" "$work/fastcgi" "$work/uwsgi" "$work/scgi"
printf 'small file\n' > "$work/www/small.txt"
head -c 1024 /dev/urandom | base64 -w 100 > "$work/www/1k.txt"
head -c 100000 /dev/urandom > "$work/www/100k.bin"
head -c 1000000 /dev/urandom > "$work/www/1m.bin"
head -c 10000000 /dev/urandom > "$work/www/10m.bin"
head -c 2000000 /dev/urandom > "$work/upload.bin"
head -c 300000 /dev/urandom | base64 -w 0 | sed 's/^/{"prompt":"/; s/$/"}/' > "$work/prompt.json"
sed "s#@DIR@#$work#g" "$here/diff-corpus/nginx.conf" > "$work/nginx.conf"
ins nginx -c "$work/nginx.conf"
ip netns exec $S "$py" -m uvicorn --app-dir "$here/diff-corpus" app:app --host 0.0.0.0 --port 8000 \
  --log-level warning &
pids+=($!)
ip netns exec $S "$py" "$here/diff-corpus/raw_server.py" 0.0.0.0 8081 &
pids+=($!)
ip netns exec $S "$py" "$here/diff-corpus/raw_server.py" :: 8082 &
pids+=($!)
for _ in $(seq 50); do
  if inc curl -s -o /dev/null http://10.77.0.2:8000/v1/empty && inc curl -s -o /dev/null http://10.77.0.2:8080/small.txt; then break; fi
  sleep 0.2
done

N=http://10.77.0.2:8080
A=http://10.77.0.2:8000
R=http://10.77.0.2:8081
CURL=(curl -sS --http1.1 -o /dev/null)

# capture NAME NS IFACE 'tcpdump/dumpcap options' -- client commands (run in pd-c)
capture() {
  local name=$1 ns=$2 ifc=$3 opts=$4
  shift 5
  if [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" ${name%%.*} "* ]]; then return 0; fi
  local tool=tcpdump
  case "$name" in *.pcapng) tool=dumpcap ;; esac
  if [ $tool = tcpdump ]; then
    # shellcheck disable=SC2086
    ip netns exec "$ns" tcpdump -q --immediate-mode -U -i "$ifc" $opts -w "$out/$name" tcp 2>/dev/null &
  else
    # shellcheck disable=SC2086
    ip netns exec "$ns" dumpcap -q -i "$ifc" $opts -f tcp -w "$out/$name" 2>/dev/null &
  fi
  local cap=$!
  sleep 1
  "$@" || true
  sleep 1
  kill -INT $cap
  wait $cap || true
  echo "captured $name"
}

keepalive() { # 40 requests on one connection, then JSON posts through nginx to the app
  local urls=()
  for i in $(seq 10); do urls+=("$N/small.txt?i=$i" "$N/1k.txt" "$N/100k.bin" "$N/missing-$i"); done
  local args=()
  for u in "${urls[@]}"; do args+=(-o /dev/null "$u"); done
  inc curl -s --http1.1 "${args[@]}"
  for i in 1 2 3 4 5; do
    inc "${CURL[@]}" -H "X-Request-ID: req-$i" -H 'Content-Type: application/json' \
      -d "{\"prompt\":\"p$i\"}" "$N/v1/predict"
  done
}
pipelined() {
  inc "$py" "$here/diff-corpus/raw_client.py" pipeline 10.77.0.2 8080
  inc "$py" "$here/diff-corpus/raw_client.py" pipeline 10.77.0.2 8081
  inc "$py" "$here/diff-corpus/raw_client.py" pipeline 10.77.0.2 8000 /v1/empty,/v1/error,/v1/big
}
edge_responses() {
  for p in trailers chunk-ext interim split-head close-delimited http10; do
    inc "${CURL[@]}" "$R/$p"
  done
  inc curl -s -o /dev/null "$R/trailers" -o /dev/null "$R/chunk-ext" -o /dev/null "$R/interim"
  inc "$py" "$here/diff-corpus/raw_client.py" http09 10.77.0.2 8080
  inc "$py" "$here/diff-corpus/raw_client.py" lf-only 10.77.0.2 8080
}
uploads() { # curl sends Expect: 100-continue for bodies over 1 MiB
  inc "${CURL[@]}" --data-binary @"$work/upload.bin" "$N/v1/predict"
  inc "${CURL[@]}" --data-binary @"$work/upload.bin" "$A/v1/predict"
  inc "${CURL[@]}" --data-binary @"$work/upload.bin" "$R/upload"
  inc "${CURL[@]}" --data-binary @"$work/upload.bin" "$R/reject"
  inc "${CURL[@]}" -H 'Content-Type: application/json' --data-binary @"$work/prompt.json" \
    -H 'Expect:' "$N/v1/chat/completions"
}
bodiless() { # HEAD, 204, 304, 302, 410, 503
  local etag
  etag=$(inc curl -sI "$N/1k.txt" | tr -d '\r' | awk -F': ' 'tolower($1)=="etag"{print $2}')
  inc curl -s --http1.1 -I "$N/1k.txt" -o /dev/null -H "If-None-Match: $etag" "$N/1k.txt" \
    -o /dev/null "$N/nothing" -o /dev/null "$N/redirect" -o /dev/null "$N/gone" \
    -o /dev/null "$N/v1/empty" -o /dev/null "$N/v1/error"
  inc curl -s --http1.1 -I -o /dev/null "$N/1k.txt" -o /dev/null "$N/1k.txt"
  inc curl -s --http1.1 -o /dev/null "$A/v1/empty" -o /dev/null "$A/v1/error"
}
failures() { # a reset mid-response, a reset before answering, a request never answered
  inc "${CURL[@]}" "$R/rst"
  inc "${CURL[@]}" "$R/reset-early"
  inc "${CURL[@]}" -m 2 "$R/hang"
  inc "${CURL[@]}" "$R/small-after"
}
slowreader() {
  inc "$py" "$here/diff-corpus/raw_client.py" slowread 10.77.0.2 8081 /big=4194304
  inc "$py" "$here/diff-corpus/raw_client.py" slowread 10.77.0.2 8080 /10m.bin
}
sse() {
  for i in 1 2; do
    inc curl -s -N --http1.1 -o /dev/null -H 'Content-Type: application/json' -d '{"stream":true}' "$A/v1/chat/completions"
    inc curl -s -N --http1.1 -o /dev/null -H 'Content-Type: application/json' -d '{"stream":true}' "$N/v1/chat/completions"
  done
}
bulk() { # large answers: GRO/TSO-sized segments on the veth
  inc curl -s --http1.1 -o /dev/null "$N/10m.bin" -o /dev/null "$N/1m.bin" -o /dev/null "$A/v1/big"
  inc "${CURL[@]}" --data-binary @"$work/upload.bin" -H 'Expect:' "$N/v1/predict"
}
lossy() { # repeated transfers both ways
  local args=()
  for i in $(seq 6); do args+=(-o /dev/null "$N/1m.bin" -o /dev/null "$N/100k.bin?$i"); done
  inc curl -s --http1.1 -m 60 "${args[@]}"
  for i in 1 2 3; do inc "${CURL[@]}" -m 30 --data-binary @"$work/upload.bin" -H 'Expect:' "$N/v1/predict"; done
  for i in $(seq 10); do inc "${CURL[@]}" -m 10 "$N/small.txt?$i"; done
  inc "${CURL[@]}" -m 30 "$A/v1/big"
}
ipv6() {
  inc curl -s --http1.1 -g -o /dev/null "http://[fd77::2]:8080/small.txt" -o /dev/null "http://[fd77::2]:8080/1m.bin" \
    -o /dev/null "http://[fd77::2]:8080/missing"
  inc "$py" "$here/diff-corpus/raw_client.py" pipeline fd77::2 8082
  inc curl -s --http1.1 -g -o /dev/null "http://[fd77::2]:8082/trailers"
  inc curl -s --http1.1 -g -o /dev/null "http://[fd77::2]:8000/v1/big"
}
ipv6_lo() { # on the server's loopback (run in pd-s)
  ins curl -s --http1.1 -g -o /dev/null "http://[::1]:8080/small.txt" -o /dev/null "http://[::1]:8080/1m.bin" \
    -o /dev/null "http://[::1]:8080/v1/big"
  ins "$py" "$here/diff-corpus/raw_client.py" pipeline ::1 8082
}
mixed() { keepalive; bodiless; uploads; sse; }

loss() { # PERCENT: drop that share of TCP packets each way in pd-s
  ins nft add table inet pd-loss
  ins nft "add chain inet pd-loss in { type filter hook input priority 0; }"
  ins nft "add chain inet pd-loss out { type filter hook output priority 0; }"
  ins nft add rule inet pd-loss in meta l4proto tcp numgen random mod 100 \< "$1" drop
  ins nft add rule inet pd-loss out meta l4proto tcp numgen random mod 100 \< "$1" drop
}
noloss() { ins nft delete table inet pd-loss 2>/dev/null || true; }

capture keepalive.pcap $C pd-vc '' -- keepalive
capture pipelined.pcap $C pd-vc '' -- pipelined
capture edge-responses.pcap $C pd-vc '' -- edge_responses
capture uploads.pcap $C pd-vc '' -- uploads
capture bodiless.pcap $C pd-vc '' -- bodiless
capture failures.pcap $C pd-vc '' -- failures
capture slowreader.pcap $C pd-vc '' -- slowreader
capture sse.pcap $C pd-vc '' -- sse
capture bulk-client.pcap $C pd-vc '' -- bulk
capture bulk-server.pcap $S pd-vs '' -- bulk
capture ipv6-veth.pcap $C pd-vc '' -- ipv6
capture ipv6-lo.pcap $S lo '' -- ipv6_lo
capture any-sll2.pcap $C any '' -- mixed
capture any-sll.pcap $C any '-y LINUX_SLL' -- mixed
capture snap96.pcap $C pd-vc '-s 96' -- mixed
capture nano.pcap $C pd-vc '--time-stamp-precision nano' -- mixed
[ ! -f "$out/nano.pcap" ] || editcap -F pcapng "$out/nano.pcap" "$out/nano.pcapng"
capture dumpcap.pcapng $C pd-vc '' -- mixed
capture server-lo.pcap $S lo '' -- mixed
for pct in 2 5 10; do
  loss "$pct"
  capture "loss$pct-client.pcap" $C pd-vc '' -- lossy
  noloss
done
loss 5
capture loss5-server.pcap $S pd-vs '' -- lossy
noloss
ls -la "$out"
if [ -n "${HOLD:-}" ]; then echo "holding the lab for $HOLD s"; sleep "$HOLD"; fi
