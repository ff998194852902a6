#!/usr/bin/env bash
# Side-by-side comparisons (NOT run in CI; installs tools):
#   1. Runner vs Hurl: the same flows (benches/hurl/*.hurl and
#      benches/flows/bench/*.yaml: same requests, same assertions; ours also
#      checks every response against the OpenAPI schema) against the same
#      reference server (`agentgigs-conformance mock`), one flow at a time,
#      repeated N times; prints the wall time per request of each.
#   2. Our reference server vs Prism's mock (`prism mock
#      specs/agentgigs.openapi.yaml`) under the same wrk load of
#      `GET /api/wallet` with `X-API-Key`; prints requests/s, p99 and the ratio.
#
# Usage: benches/compare.sh [REPEATS] [WRK_DURATION]   (defaults 20, 10s)
# Installs, when missing: hurl (apt, else `cargo install hurl`, which needs
# libcurl, libxml2 and libclang from apt), prism (npm), wrk (apt).
set -euo pipefail
cd "$(dirname "$0")/.."
REPEATS="${1:-20}"
DURATION="${2:-10s}"
BIN=target/release/agentgigs-conformance
export PATH="$HOME/.cargo/bin:$PATH"

ensure_hurl() {
  command -v hurl >/dev/null 2>&1 && return 0
  echo "installing hurl..." >&2
  apt-get install -y hurl >/dev/null 2>&1 && return 0
  apt-get install -y pkg-config libcurl4-openssl-dev libxml2-dev libclang-dev >/dev/null 2>&1 || true
  # The newest hurl may need a newer rustc than this machine has: fall back to 8.0.1.
  cargo install hurl --locked >/dev/null 2>&1 || cargo install hurl@8.0.1 --locked >/dev/null 2>&1
}
ensure_prism() {
  command -v prism >/dev/null 2>&1 && return 0
  echo "installing prism (npm)..." >&2
  npm install -g @stoplight/prism-cli >/dev/null 2>&1
}
ensure_wrk() {
  command -v wrk >/dev/null 2>&1 && return 0
  apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1 && apt-get install -y wrk >/dev/null 2>&1; }
}
ensure_hurl || echo "hurl could not be installed: the runner comparison is skipped" >&2
ensure_prism || echo "prism could not be installed: the server comparison is skipped" >&2
ensure_wrk || { echo "wrk is needed" >&2; exit 1; }

cargo build --release --quiet
WORK="$(mktemp -d)"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 1 300); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "no answer from $1" >&2; return 1; }
ms() { date +%s%N; }
ratio() { python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print(f'{a/b:.2f}' if b else 'n/a')" "$1" "$2"; }

echo "machine: $(nproc) cores; load average: $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%FT%TZ)"

# ---------------------------------------------------------------- 1. runner vs Hurl
P="$(free_port)"; BASE="http://127.0.0.1:$P"
"$BIN" mock --port "$P" >/dev/null 2>&1 & PIDS+=($!)
wait_http "$BASE/__conformance"

# Ours: REPEATS copies of the bench flows, ids prefixed; paced off, one at a time;
# `--strict`, since the flows hold Hurl's exact assertions as reference checks.
mkdir -p "$WORK/scenarios"
for i in $(seq 1 "$REPEATS"); do
  mkdir -p "$WORK/scenarios/r$i"
  for f in benches/flows/bench/*.yaml; do sed "s/^id: /id: r$i-/" "$f" > "$WORK/scenarios/r$i/$(basename "$f")"; done
done
cat > "$WORK/profile.yaml" <<YAML
base_url: $BASE
control: {url: $BASE}
sandbox: true
pace: false
YAML
HURL_FILES=()
for i in $(seq 1 "$REPEATS"); do HURL_FILES+=(benches/hurl/*.hurl); done
# Requests per repetition: actor creations + steps (the same in both).
REQ_PER_REP=0
for f in benches/hurl/*.hurl; do REQ_PER_REP=$((REQ_PER_REP + $(grep -cE '^(GET|POST|PUT|PATCH|DELETE) ' "$f"))); done
REQS=$((REQ_PER_REP * REPEATS))

for jobs in 1 2; do
  t0=$(ms); "$BIN" run --strict --profile "$WORK/profile.yaml" --scenarios "$WORK/scenarios" -j "$jobs" \
      --state-file "$WORK/state.json" >"$WORK/ours.txt" 2>&1 || { tail -20 "$WORK/ours.txt"; exit 1; }; t1=$(ms)
  ours_ms=$(( (t1 - t0) / 1000000 ))
  line="ours  -j $jobs: $(grep -E '^(PASSED|FAILED)' "$WORK/ours.txt" | head -1); ${ours_ms} ms for $REQS requests = $(python3 -c "print(f'{$ours_ms*1000/$REQS:.0f}')") µs/request"
  echo "$line"
  # The run alone, as the run reports it (no process start-up, spec compilation or library load).
  run_ms=$(grep -Eo 'in [0-9.]+ m?s$' "$WORK/ours.txt" | tail -1 | awk '{ if ($3 == "s") print $2 * 1000; else print $2 }')
  [ -n "$run_ms" ] && echo "ours  -j $jobs, run only: ${run_ms} ms = $(python3 -c "print(f'{$run_ms*1000/$REQS:.0f}')") µs/request"
  if command -v hurl >/dev/null 2>&1; then
    t0=$(ms); hurl --test --jobs "$jobs" --variable "base=$BASE" "${HURL_FILES[@]}" >"$WORK/hurl.txt" 2>&1 || { tail -20 "$WORK/hurl.txt"; exit 1; }; t1=$(ms)
    hurl_ms=$(( (t1 - t0) / 1000000 ))
    echo "hurl  --jobs $jobs: $(grep -E 'Succeeded files' "$WORK/hurl.txt" | head -1 | xargs); ${hurl_ms} ms for $REQS requests = $(python3 -c "print(f'{$hurl_ms*1000/$REQS:.0f}')") µs/request"
    echo "  => time per request, ours / hurl = $(ratio "$ours_ms" "$hurl_ms"); run only: $(ratio "${run_ms:-0}" "$hurl_ms") (below 1: ours is cheaper)"
  fi
done
kill "${PIDS[-1]}" 2>/dev/null || true

# ---------------------------------------------------------------- 2. server vs Prism
wrk_line() { # url key -> "rps p99"
  API_KEY="$2" wrk -t1 -c32 -d"$DURATION" --latency -s benches/wallet.lua "$1" >"$WORK/wrk.txt" 2>&1
  local rps p99 non2xx
  rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$WORK/wrk.txt")
  p99=$(sed -n 's/^ *99% *\([0-9.]*[a-z]*\).*/\1/p' "$WORK/wrk.txt")
  non2xx=$(sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p' "$WORK/wrk.txt")
  echo "$rps ${p99:-?} ${non2xx:-0}"
}
key_of() { curl -fs -X POST "$1/__conformance/actors" -H 'content-type: application/json' \
    -d '{"role":"poster","wallet_cents":100000,"tier":"enterprise"}' | sed -n 's/.*"api_key":"\([^"]*\)".*/\1/p'; }

P="$(free_port)"; BASE="http://127.0.0.1:$P"
"$BIN" mock --port "$P" --no-rate-limits >/dev/null 2>&1 & PIDS+=($!)
wait_http "$BASE/__conformance"
read -r ours_rps ours_p99 ours_non <<<"$(wrk_line "$BASE" "$(key_of "$BASE")")"
echo "ours  (rate limits lifted, 200 path): $ours_rps req/s, p99 $ours_p99, non-2xx $ours_non"
kill "${PIDS[-1]}" 2>/dev/null || true

P="$(free_port)"; BASE="http://127.0.0.1:$P"
"$BIN" mock --port "$P" >/dev/null 2>&1 & PIDS+=($!)
wait_http "$BASE/__conformance"
read -r lim_rps lim_p99 lim_non <<<"$(wrk_line "$BASE" "$(key_of "$BASE")")"
echo "ours  (mock as shipped, 429 path):    $lim_rps req/s, p99 $lim_p99, non-2xx $lim_non"
kill "${PIDS[-1]}" 2>/dev/null || true

if command -v prism >/dev/null 2>&1; then
  P="$(free_port)"; BASE="http://127.0.0.1:$P"
  prism mock -p "$P" specs/agentgigs.openapi.yaml >"$WORK/prism.log" 2>&1 & PIDS+=($!)
  wait_http "$BASE/api/wallet"
  echo "prism answers: $(curl -s -o /dev/null -w '%{http_code}' -H 'X-API-Key: age_00000000000000000000000000000000' "$BASE/api/wallet")"
  read -r prism_rps prism_p99 prism_non <<<"$(wrk_line "$BASE" age_00000000000000000000000000000000)"
  echo "prism mock:                           $prism_rps req/s, p99 $prism_p99, non-2xx $prism_non"
  echo "  => throughput, ours (200 path) / prism = $(ratio "$ours_rps" "$prism_rps")"
  kill "${PIDS[-1]}" 2>/dev/null || true
fi
