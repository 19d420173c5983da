#!/usr/bin/env bash
# serve's memory per stored event: starts serve with a living fleet at
# RATE changes per second, and every STEP seconds prints the events in its
# log and its RSS, then the RSS per event added since the first sample.
#   bench/live-memory.sh [RATE=1000] [SECONDS=200] [STEP=20]
set -euo pipefail
cd "$(dirname "$0")/.."
rate=${1:-1000} seconds=${2:-200} step=${3:-20}
bin=$(mktemp -d)
go build -o "$bin/emnify-mock" ./cmd/emnify-mock
port=$((20000 + RANDOM % 10000))
"$bin/emnify-mock" serve --addr "127.0.0.1:$port" --live "$rate/s" >/dev/null 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$bin"' EXIT
base=http://127.0.0.1:$port
until curl -fs "$base/mock/health" >/dev/null; do sleep 0.2; done
events() { # the log's length, from a snapshot's entry (cheap: no events read)
  curl -fs -X POST "$base/mock/snapshots" >/dev/null
  curl -fs "$base/mock/snapshots" | tr ',' '\n' | sed -n 's/.*"events":\([0-9]*\).*/\1/p' | tail -1
}
rss() { sed -n 's/^VmRSS:[^0-9]*\([0-9]*\) kB/\1/p' "/proc/$pid/status"; }
first_e=$(events) first_r=$(rss)
echo "t=0s events=$first_e rss=${first_r} kB"
for ((t = step; t <= seconds; t += step)); do
  sleep "$step"
  e=$(events) r=$(rss)
  echo "t=${t}s events=$e rss=${r} kB  per added event: $(( (r - first_r) * 1024 / (e - first_e + 1) )) B"
done
