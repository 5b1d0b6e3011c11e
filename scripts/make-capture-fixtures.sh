#!/usr/bin/env bash
# Regenerates the small capture fixtures under test/fixtures/capture/ with real tools on loopback:
# Python's http.server as the server, curl as a keep-alive client, tcpdump (pcap, µs and ns) and
# dumpcap (pcapng); editcap adds TLS secrets to a pcapng. Run as root: apt-get install -y tcpdump
# tshark curl
set -euo pipefail
cd "$(dirname "$0")/.."
out=test/fixtures/capture
mkdir -p "$out"
port=${PORT:-18080}
tmp=$(mktemp -d)
trap 'kill $srv $cap 2>/dev/null || true; rm -rf "$tmp"' EXIT
printf 'hello mlscope\n' > "$tmp/a.txt"
head -c 20000 /dev/zero | tr '\0' 'x' > "$tmp/big.txt"
/usr/bin/python3 -m http.server "$port" --bind 127.0.0.1 --directory "$tmp" >/dev/null 2>&1 &
srv=$!
sleep 1
capture() { # name, command...
  local name=$1; shift
  "$@" &
  cap=$!
  sleep 1
  # Two GETs on one keep-alive connection, then a POST and a HEAD on their own.
  curl -s --http1.1 -H 'X-Request-ID: req-1' -o /dev/null "http://127.0.0.1:$port/a.txt" \
    -o /dev/null "http://127.0.0.1:$port/big.txt"
  curl -s --http1.1 -o /dev/null --data 'x=1' "http://127.0.0.1:$port/post"
  curl -s --http1.1 -I -o /dev/null "http://127.0.0.1:$port/a.txt"
  sleep 1
  kill -INT $cap; wait $cap || true
}
capture http-lo.pcap tcpdump -q -i lo -s 0 -w "$out/http-lo.pcap" "tcp port $port"
capture http-lo-ns.pcap tcpdump -q -i lo -s 0 --time-stamp-precision nano -w "$out/http-lo-ns.pcap" "tcp port $port"
capture http-lo-snap.pcap tcpdump -q -i lo -s 96 -w "$out/http-lo-snap.pcap" "tcp port $port"
capture http-lo.pcapng dumpcap -q -i lo -f "tcp port $port" -w "$out/http-lo.pcapng"
gzip -9 -c "$out/http-lo.pcap" > "$out/http-lo.pcap.gz"
zstd -q -19 -f "$out/http-lo.pcapng" -o "$out/http-lo.pcapng.zst"
# The HTTPS capture with its key log injected as a pcapng Decryption Secrets Block, as Wireshark
# users make them (https-keylog.{pcap,keys} come from scripts/make-tls-fixture.sh); tshark then
# decrypts the same 7 requests with no key log given.
editcap --inject-secrets "tls,$out/https-keylog.keys" "$out/https-keylog.pcap" "$out/https-keylog-dsb.pcapng"
tshark -r "$out/https-keylog-dsb.pcapng" -Y 'http.request or http2.headers.method' 2>/dev/null | wc -l
# Reference values from tshark, recorded once so tests do not need tshark.
for f in http-lo.pcap http-lo-ns.pcap http-lo-snap.pcap http-lo.pcapng; do
  n=$(tshark -r "$out/$f" 2>/dev/null | wc -l)
  req=$(tshark -r "$out/$f" -d "tcp.port==$port,http" -Y http.request 2>/dev/null | wc -l)
  resp=$(tshark -r "$out/$f" -d "tcp.port==$port,http" -Y http.response 2>/dev/null | wc -l)
  conv=$(tshark -r "$out/$f" -q -z conv,tcp 2>/dev/null | grep -c '<->' || true)
  echo "{\"file\":\"$f\",\"packets\":$n,\"tcpConnections\":$conv,\"httpRequests\":$req,\"httpResponses\":$resp}"
done > "$out/expected.jsonl"
echo "fixtures written to $out"
