#!/usr/bin/env bash
# Shows that reading events costs constant memory whatever their number
# (issue 18): RSS of `push --from` a file of N events (default 1,000,000)
# and of `load --scenario fleet-churn`, sampled at 2 s, 10 s and at the end,
# against the discarding receiver on loopback.
# Usage: bench/constant-memory.sh [events, default 1000000] [load seconds, default 60]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
secs=${2:-60}
out=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$out"' EXIT
go build -o "$out/emnify-mock" ./cmd/emnify-mock
go build -o "$out/receiver" ./bench/receiver
"$out/receiver" -addr 127.0.0.1:9098 2>/dev/null &
sleep 0.5
"$out/emnify-mock" generate --count "$n" --seed 1 --out "$out/events.ndjson" 2>/dev/null
echo "events file: $n events, $(du -h "$out/events.ndjson" | cut -f1)"

# rss PID: resident set of a process, in MB.
rss() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status" 2>/dev/null || echo "-"; }
watch() { # watch NAME PID: RSS at 2 s, 10 s, and the last sample before the end
  local name=$1 pid=$2 t=0 at2="-" at10="-" last="-"
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1; t=$((t+1))
    r=$(rss "$pid"); [ "$r" = "-" ] && break
    last=$r
    [ $t -eq 2 ] && at2=$r
    [ $t -eq 10 ] && at10=$r
  done
  wait "$pid" || true
  echo "$name: RSS ${at2} MB at 2 s, ${at10} MB at 10 s, ${last} MB at the end (${t} s)"
}

"$out/emnify-mock" push --from "$out/events.ndjson" --to http://127.0.0.1:9098/hook --journal '' \
  --dead-letters "$out/dead.ndjson" --workers 32 >"$out/push.txt" 2>&1 &
watch "push --from ($n events)" $!
tail -1 "$out/push.txt"

"$out/emnify-mock" load --scenario fleet-churn --to http://127.0.0.1:9098/hook --rate 5000 \
  --duration "${secs}s" >"$out/load.txt" 2>&1 &
watch "load --scenario fleet-churn --rate 5000 (${secs} s)" $!
grep -i "requests\|success" "$out/load.txt" | head -3
