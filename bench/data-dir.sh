#!/usr/bin/env bash
# serve with --data-dir against serve in memory: API writes that yield an
# event (PATCH an endpoint's connectivity: event 68 each time, answered
# 204 only once on disk with a data dir) and event pages (GET
# /api/v1/event?per_page=100), wrk with 64 connections, alternated ROUNDS
# times, SECONDS each, a fresh serve and data dir per round. Prints
# requests/s and the ratios, then the median. Needs wrk (apt-get install
# wrk), curl and jq.
#   bench/data-dir.sh [ROUNDS=5] [SECONDS=5]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5} seconds=${2:-5}
for tool in wrk curl jq; do
  command -v $tool >/dev/null || { echo "$tool is not installed (apt-get install $tool)"; exit 2; }
done
bin=$(mktemp -d)
trap 'kill $srv 2>/dev/null; rm -rf "$bin"' EXIT
srv=
go build -o "$bin/emnify-mock" ./cmd/emnify-mock
cat > "$bin/patch.lua" <<'LUA'
wrk.method = "PATCH"
wrk.body = '{"location":null}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("JWT")
LUA
cat > "$bin/get.lua" <<'LUA'
wrk.headers["Authorization"] = "Bearer " .. os.getenv("JWT")
LUA
# rate MODE SCRIPT PATH: requests/s of wrk against a fresh serve.
rate() {
  local args=() port=$((20000 + RANDOM % 10000))
  [ "$1" = data-dir ] && args=(--data-dir "$bin/state-$RANDOM")
  "$bin/emnify-mock" serve --addr "127.0.0.1:$port" --seed 5 "${args[@]}" >/dev/null 2>&1 &
  srv=$!
  local b=http://127.0.0.1:$port
  for _ in $(seq 100); do curl -sf "$b/mock/health" >/dev/null && break; sleep 0.1; done
  local tok ep
  tok=$(curl -s "$b/mock/workspaces" | jq -r '.[0].application_tokens[0]')
  export JWT=$(curl -s -X POST "$b/api/v1/authenticate" -H 'Content-Type: application/json' -d "{\"application_token\":\"$tok\"}" | jq -r .auth_token)
  ep=$(curl -s -H "Authorization: Bearer $JWT" "$b/api/v1/endpoint?per_page=1" | jq -r '.[0].id')
  local path=${3/EP/$ep}
  wrk -t2 -c64 -d"${seconds}s" -s "$bin/$2" "$b$path" | sed -n 's/^Requests\/sec: *\([0-9.]*\)/\1/p'
  kill $srv; wait $srv 2>/dev/null || true
}
: > "$bin/ratios"
for ((i = 1; i <= rounds; i++)); do
  wm=$(rate memory patch.lua /api/v1/endpoint/EP/connectivity)
  wd=$(rate data-dir patch.lua /api/v1/endpoint/EP/connectivity)
  rm_=$(rate memory get.lua '/api/v1/event?per_page=100')
  rd=$(rate data-dir get.lua '/api/v1/event?per_page=100')
  awk -v wm="$wm" -v wd="$wd" -v rm="$rm_" -v rd="$rd" -v i="$i" 'BEGIN {
    printf "round %d: writes %.0f/s in memory, %.0f/s with a data dir (%.2fx); event pages %.0f/s, %.0f/s (%.2fx)\n", i, wm, wd, wd / wm, rm, rd, rd / rm
    printf "%f %f\n", wd / wm, rd / rm >> "'"$bin/ratios"'" }'
done
sort -n -k1 "$bin/ratios" | awk '{w[NR] = $1} END { printf "writes with a data dir: median %.2fx [%.2f-%.2f] the in-memory rate\n", w[int((NR + 1) / 2)], w[1], w[NR] }'
sort -n -k2 "$bin/ratios" | awk '{r[NR] = $2} END { printf "event pages with a data dir: median %.2fx [%.2f-%.2f]\n", r[int((NR + 1) / 2)], r[1], r[NR] }'
