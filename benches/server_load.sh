#!/usr/bin/env bash
# Load on the reference server: `GET /api/wallet` with `X-API-Key`, from
# wrk on loopback, printing requests/s and p99 latency for
#   1. the 429 path: `agentgigs-conformance mock` (release) as shipped; the
#      key passes its standard limit (30/min free, 300/min enterprise)
#      within the first milliseconds, so nearly every answer is a 429;
#   2. the 200 path: the same server with the rate limits lifted
#      (`agentgigs-conformance mock --no-rate-limits`).
#
# Usage: benches/server_load.sh [DURATION] [CONNECTIONS] [THREADS]
#        (defaults 10s, 32, 1: wrk takes one of the 2 cores)
# Installs wrk with apt-get when it is missing. Only loopback is used.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-10s}"
CONNS="${2:-32}"
THREADS="${3:-1}"
BIN=target/release/agentgigs-conformance

if ! command -v wrk >/dev/null 2>&1; then
  echo "installing wrk (apt-get)..." >&2
  (apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1 && apt-get install -y wrk >/dev/null 2>&1; }) \
    || { echo "wrk is not available: install it (apt-get install wrk)" >&2; exit 1; }
fi
command -v curl >/dev/null || { echo "curl is needed" >&2; exit 1; }

cargo build --release --quiet
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_up() {
  for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$1/__conformance" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "the server on port $1 did not come up" >&2; return 1
}

new_key() {
  curl -fs -X POST "http://127.0.0.1:$1/__conformance/actors" -H 'content-type: application/json' \
    -d '{"role":"poster","wallet_cents":100000,"tier":"enterprise"}' \
    | sed -n 's/.*"api_key":"\([^"]*\)".*/\1/p'
}

run_wrk() { # port label
  local key; key="$(new_key "$1")"
  [ -n "$key" ] || { echo "could not create an actor" >&2; return 1; }
  echo "== $2"
  echo "   first answer: $(curl -s -o /dev/null -w '%{http_code}' -H "X-API-Key: $key" "http://127.0.0.1:$1/api/wallet")"
  API_KEY="$key" wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s benches/wallet.lua "http://127.0.0.1:$1" \
    | grep -E "Requests/sec|Latency |  50%|  99%|Non-2xx|requests in|Socket errors"
}

echo "machine: $(nproc) cores; load average: $(cut -d' ' -f1-3 /proc/loadavg); wrk -t$THREADS -c$CONNS -d$DURATION"

# 1. The CLI server as shipped (rate limits on).
P="$(free_port)"
"$BIN" mock --port "$P" >/dev/null 2>&1 & PIDS+=($!)
wait_up "$P"
run_wrk "$P" "agentgigs-conformance mock (rate limits on: the 429 path)"
kill "${PIDS[-1]}" 2>/dev/null || true

# 2. Rate limits lifted (the 200 path).
P="$(free_port)"
"$BIN" mock --port "$P" --no-rate-limits >/dev/null 2>&1 & PIDS+=($!)
how="agentgigs-conformance mock --no-rate-limits"
wait_up "$P"
run_wrk "$P" "$how (the 200 path)"
