#!/usr/bin/env bash
# Times `agentgigs-conformance run` (release) against the bundled server:
# the whole library at 1x, 2x and 4x copies (scenario ids prefixed, in a
# temporary scenario root), with hyperfine when present (else a loop timed
# with `date +%s%N`), and the peak memory (max RSS) of a 1x run with
# /usr/bin/time -v.
#
# Usage: benches/full_run.sh [RUNS]        (default 5 runs per size)
# Nothing is left behind but target/; state files go to a temporary dir.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-5}"
BIN=target/release/agentgigs-conformance

cargo build --release --quiet
[ -x "$BIN" ] || { echo "no $BIN after the build" >&2; exit 1; }

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# A scenario root with K copies of the library (ids prefixed cK-).
make_copies() {
  local k="$1" root="$WORK/x$1/scenarios"
  mkdir -p "$root"
  cp -r scenarios/_flows "$root/"
  for c in $(seq 1 "$k"); do
    for dir in scenarios/*/; do
      local area; area="$(basename "$dir")"
      [ "$area" = "_flows" ] && continue
      mkdir -p "$root/c$c-$area"
      for f in "$dir"*.yaml; do
        sed "s/^id: /id: c$c-/" "$f" > "$root/c$c-$area/$(basename "$f")"
      done
    done
  done
  echo "$root"
}

echo "machine: $(nproc) cores, $(uname -sr); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "binary:  $BIN ($(du -h "$BIN" | cut -f1))"
echo

for k in 1 2 4; do
  if [ "$k" = 1 ]; then root=scenarios; else root="$(make_copies "$k")"; fi
  n="$("$BIN" run --scenarios "$root" --list | tail -1)"
  cmd="$BIN run --scenarios $root --state-file $WORK/state-$k.json"
  echo "== ${k}x: $n"
  if command -v hyperfine >/dev/null 2>&1; then
    hyperfine --style basic --warmup 1 --runs "$RUNS" --export-json "$WORK/h$k.json" "$cmd >/dev/null 2>&1" | grep -E "Time|Range"
  else
    total=0
    for i in $(seq 1 "$RUNS"); do
      t0=$(date +%s%N); $cmd >/dev/null 2>&1 || true; t1=$(date +%s%N)
      ms=$(( (t1 - t0) / 1000000 )); total=$((total + ms)); echo "  run $i: ${ms} ms"
    done
    echo "  mean: $((total / RUNS)) ms"
  fi
done

echo
echo "== peak memory of a 1x run (/usr/bin/time -v)"
if [ -x /usr/bin/time ]; then
  /usr/bin/time -v "$BIN" run --state-file "$WORK/state-rss.json" >/dev/null 2>"$WORK/time.txt" || true
  grep -E "Elapsed|Maximum resident|User time|System time" "$WORK/time.txt"
else
  echo "/usr/bin/time is missing (apt-get install -y time)"
fi
