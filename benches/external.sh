#!/usr/bin/env bash
# The whole library against an external server: the bundled reference
# server started as a separate process (`agentgigs-conformance mock`, with
# its control API behind a token), and `run --target URL` treating it as a
# remote target: scenarios share it, actors come from the control API, and
# every actor is paced to the free tier's 30 requests a minute (the
# default of a target given by URL). A fresh server for each run, since
# the server keeps its rate-limit windows and accounts between runs.
#
# Prints, for each run: the wall time and peak memory of the `run` process
# (/usr/bin/time -v), the outcome totals, and the slowest scenarios; then
# the best run.
#
# Usage: benches/external.sh [RUNS]        (default 3)
#        BIN=/path/to/agentgigs-conformance benches/external.sh   (another build, not rebuilt)
# Nothing is left behind but target/; reports go to a temporary dir.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-3}"
# Seconds between keepalives on idle event streams. The server's default is
# the documented 30 s, which `events.keepalive` waits for whatever the
# harness does; the benchmark measures the harness, so 1 s unless told.
KEEPALIVE="${KEEPALIVE:-1}"
if [ -z "${BIN:-}" ]; then
  BIN=target/release/agentgigs-conformance
  cargo build --release --quiet
fi
[ -x "$BIN" ] || { echo "no $BIN" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time is missing (apt-get install -y time)" >&2; exit 1; }

WORK="$(mktemp -d)"
SERVER_PID=""
stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}
trap 'stop_server; rm -rf "$WORK"' EXIT

# The control token: random, in the environment of both processes only
# (never printed).
AGENTGIGS_CONTROL_TOKEN="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export AGENTGIGS_CONTROL_TOKEN

# Starts `mock` on a free port; sets SERVER_PID and URL.
start_server() {
  local log="$WORK/mock.log"
  : > "$log"
  "$BIN" mock --port 0 --keepalive-secs "$KEEPALIVE" > "$log" 2>&1 &
  SERVER_PID=$!
  URL=""
  for _ in $(seq 1 100); do
    URL="$(grep -o 'http://[0-9.:]*' "$log" | head -1 || true)"
    [ -n "$URL" ] && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.05
  done
  echo "the server did not start:" >&2
  cat "$log" >&2
  exit 1
}

echo "machine: $(nproc) cores, $(uname -sr); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "binary:  $BIN ($(du -h "$BIN" | cut -f1))"
echo "scenarios: $("$BIN" run --list | tail -1); server keepalive: ${KEEPALIVE} s"
echo

best=""
for i in $(seq 1 "$RUNS"); do
  start_server
  report="$WORK/run-$i.json"
  code=0
  /usr/bin/time -v "$BIN" run --target "$URL" ${JOBS:+--jobs "$JOBS"} --state-file "$WORK/state-$i.json" \
    --report "json=$report" > "$WORK/run-$i.out" 2> "$WORK/time-$i.txt" || code=$?
  stop_server
  wall="$(grep 'Elapsed (wall clock)' "$WORK/time-$i.txt" | awk '{print $NF}')"
  rss="$(grep 'Maximum resident' "$WORK/time-$i.txt" | awk '{print $NF}')"
  secs="$(echo "$wall" | awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }')"
  echo "== run $i: ${secs} s wall, $((rss / 1024)) MB max RSS, exit $code"
  if [ -s "$report" ] && command -v jq > /dev/null; then
    jq -r '.totals | "   \(.total) scenarios: \(.passed) passed, \(.failed) failed, \(.errored) errored, \(.skipped) skipped"' "$report"
    jq -r '.scenarios[] | select(.outcome.status != "passed") | "   not passed: \(.id): \(.outcome.status)"' "$report"
    echo "   slowest:"
    jq -r '.scenarios | sort_by(-.duration_ms) | .[:5][] | "     \(.duration_ms) ms  \(.id)"' "$report"
  fi
  if [ -z "$best" ] || awk -v a="$secs" -v b="$best" 'BEGIN { exit !(a < b) }'; then
    best="$secs"
  fi
done
echo
echo "best of $RUNS: ${best} s"
