#!/usr/bin/env bash
# serve's memory per stored event and per SIM with its endpoint, as process
# RSS: serve starts with the default world (the baseline), with
# bench/scenarios/history-250k.yaml (250,000 events in the log) and with
# bench/scenarios/fleet-100k.yaml (100,000 SIMs, each with its endpoint).
# For each it prints the RSS once started and, with wrk installed, after
# SECONDS of event-page and SIM-list reads with 16 connections (needs jq; the heap
# then grows to its GC goal), and the RSS over the baseline per event or
# per SIM.
#   bench/serve-memory.sh [SECONDS=20]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
bin=$(mktemp -d)
go build -o "$bin/emnify-mock" ./cmd/emnify-mock
pid=
trap 'kill $pid 2>/dev/null; rm -rf "$bin"' EXIT
rss() { sed -n 's/^VmRSS:[^0-9]*\([0-9]*\) kB/\1/p' "/proc/$pid/status"; }
serve() { # serve with the given flags; prints "RSS-at-rest RSS-after-reads" in kB
  local port=$((20000 + RANDOM % 10000))
  "$bin/emnify-mock" serve --addr "127.0.0.1:$port" "$@" >/dev/null 2>&1 &
  pid=$!
  local base=http://127.0.0.1:$port
  until curl -fs "$base/mock/health" >/dev/null; do sleep 0.2; done
  sleep 2
  local rest=$(rss) busy=-
  if command -v wrk >/dev/null && command -v jq >/dev/null; then
    local token jwt
    token=$(curl -fs "$base/mock/workspaces" | jq -r '.[-1].application_tokens[0]') # the scenario's workspace
    jwt=$(curl -fs -X POST -H 'Content-Type: application/json' -d "{\"application_token\":\"$token\"}" "$base/api/v1/authenticate" |
      sed 's/.*"auth_token":"\([^"]*\)".*/\1/')
    cat > "$bin/pages.lua" <<LUA
local paths = {"/api/v1/event?per_page=100&page=7", "/api/v1/sim?per_page=100&page=3", "/api/v1/event?per_page=100&q=type:9"}
local i = 0
request = function() i = i + 1; return wrk.format("GET", paths[i % #paths + 1], {Authorization = "Bearer $jwt"}) end
LUA
    wrk -t2 -c16 -d"${seconds}s" -s "$bin/pages.lua" "$base" >/dev/null
    busy=$(rss)
  fi
  kill $pid; wait $pid 2>/dev/null || true
  echo "$rest $busy"
}
read -r base_rest base_busy < <(serve)
echo "default world: RSS ${base_rest} kB at rest, ${base_busy} kB after ${seconds}s of reads"
per() { # what label count rest busy
  awk -v l="$1" -v n="$2" -v r="$3" -v b="$4" -v br="$base_rest" -v bb="$base_busy" 'BEGIN {
    printf "%s: RSS %d kB at rest, %s kB after reads; over the default world: %.0f B per %s at rest", l, r, b, (r - br) * 1024 / n, l == "history-250k" ? "event" : "SIM"
    if (b != "-") printf ", %.0f B after reads", (b - bb) * 1024 / n
    printf "\n" }'
}
read -r r b < <(serve --scenario bench/scenarios/history-250k.yaml)
per history-250k 250000 "$r" "$b"
read -r r b < <(serve --scenario bench/scenarios/fleet-100k.yaml)
per fleet-100k 100000 "$r" "$b"
