#!/usr/bin/env bash
# Regenerates test/fixtures/capture/https-keylog.{pcap,keys}: HTTPS on loopback with real tools —
# nginx (TLS 1.2 and 1.3, HTTP/1.1 and HTTP/2), curl writing its secrets to SSLKEYLOGFILE, tcpdump.
# One request per TLS version × cipher (AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305) × protocol,
# each with its own x-request-id. Run as root: apt-get install -y nginx curl tcpdump openssl tshark
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-test/fixtures/capture}
port=${PORT:-18443}
tmp=$(mktemp -d)
chmod 755 "$tmp" # nginx workers run unprivileged
cap=''
trap 'if [ -n "$cap" ]; then kill "$cap" 2>/dev/null || true; fi; nginx -c "$tmp/nginx.conf" -s stop 2>/dev/null || true; rm -rf "$tmp"' EXIT
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/key.pem" -out "$tmp/cert.pem" -days 3650 \
  -subj '/CN=llm.test' 2>/dev/null
mkdir -p "$tmp/www"
printf '{"id":"cmpl-1","object":"chat.completion","choices":[{"message":{"role":"assistant","content":"hi"}}]}' \
  > "$tmp/www/chat.json"
cat > "$tmp/nginx.conf" <<CONF
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $tmp/body;
  proxy_temp_path $tmp/proxy;
  fastcgi_temp_path $tmp/fcgi;
  uwsgi_temp_path $tmp/uwsgi;
  scgi_temp_path $tmp/scgi;
  server {
    listen 127.0.0.1:$port ssl http2;
    ssl_certificate $tmp/cert.pem;
    ssl_certificate_key $tmp/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305;
    root $tmp/www;
    location /v1/chat/completions { default_type application/json; try_files /chat.json =404; }
  }
}
CONF
nginx -c "$tmp/nginx.conf"
sleep 0.5
rm -f "$out/https-keylog.keys"
tcpdump -q -i lo -s 0 --immediate-mode -w "$out/https-keylog.pcap" "tcp port $port" 2>/dev/null &
cap=$!
sleep 1
export SSLKEYLOGFILE="$(cd "$out" && pwd)/https-keylog.keys"
url="https://127.0.0.1:$port/v1/chat/completions"
get() { curl -sk -o /dev/null -H "x-request-id: $1" "${@:2}" "$url"; }
get tls13-h1 --http1.1 --tlsv1.3
get tls13-h2 --http2 --tlsv1.3
get tls12-gcm --http1.1 --tlsv1.2 --tls-max 1.2 --ciphers ECDHE-RSA-AES128-GCM-SHA256
get tls12-chacha --http1.1 --tlsv1.2 --tls-max 1.2 --ciphers ECDHE-RSA-CHACHA20-POLY1305
get tls13-aes256 --http1.1 --tlsv1.3 --tls13-ciphers TLS_AES_256_GCM_SHA384
get tls13-chacha --http1.1 --tlsv1.3 --tls13-ciphers TLS_CHACHA20_POLY1305_SHA256
get tls12-aes256-h2 --http2 --tlsv1.2 --tls-max 1.2 --ciphers ECDHE-RSA-AES256-GCM-SHA384
sleep 1
kill -INT $cap; wait $cap || true
# What Wireshark decrypts with the same key log (recorded in the test).
tshark -r "$out/https-keylog.pcap" -o "tls.keylog_file:$out/https-keylog.keys" \
  -Y 'http.request or http2.headers.method' 2>/dev/null | wc -l
# The same with the key log inside the capture (also in scripts/make-capture-fixtures.sh).
editcap --inject-secrets "tls,$out/https-keylog.keys" "$out/https-keylog.pcap" "$out/https-keylog-dsb.pcapng"
