#!/usr/bin/env bash
# load against wrk, the fastest HTTP load generator: bodies of SIZE events
# posted as fast as possible to the same loopback fasthttp receiver, with
# 64 connections (8 from SIZE 100 on), alternated ROUNDS times, SECONDS
# each. wrk resends one body; load makes every event id unique. Prints
# requests/s and CPU per request (user+sys of the generator) for both, and
# the median [min-max] ratios. Needs wrk (apt-get install wrk).
#   bench/wrk.sh [ROUNDS=5] [SECONDS=10] [SIZE=1]
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/summary.sh
rounds=${1:-5} seconds=${2:-10} size=${3:-1}
conns=64
[ "$size" -ge 100 ] && conns=8
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 2; }
bin=$(mktemp -d)
go build -o "$bin/emnify-mock" ./cmd/emnify-mock
go build -o "$bin/receiver" ./bench/receiver
port=$((20000 + RANDOM % 10000))
"$bin/receiver" --fasthttp --addr "127.0.0.1:$port" 2>/dev/null &
recv=$!
trap 'kill $recv 2>/dev/null; rm -rf "$bin"' EXIT
url=http://127.0.0.1:$port/webhook
format=ndjson
[ "$size" -gt 1 ] && format=json
"$bin/emnify-mock" generate --count "$size" --format $format --seed 7 2>/dev/null > "$bin/event.json"
cat > "$bin/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$bin/event.json"); wrk.body = f:read("*a"); f:close()
LUA
sleep 0.5
cpu() { # user+sys seconds of a command, from /usr/bin/time
  /usr/bin/time -f "%U %S" -o "$bin/time" "$@" > "$bin/out" 2>/dev/null || true
  awk '{print $1 + $2}' "$bin/time"
}
for ((i = 1; i <= rounds; i++)); do
  c=$(cpu wrk -t2 -c$conns -d"${seconds}s" -s "$bin/post.lua" "$url")
  w=$(sed -n 's/^Requests\/sec: *\([0-9.]*\)/\1/p' "$bin/out")
  wn=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$bin/out")
  c2=$(cpu "$bin/emnify-mock" load --to "$url" --rate 0 --size "$size" --max-workers $conns --duration "${seconds}s" --count 1000 --seed 7)
  e=$(sed -n 's/^Requests .*\] *[0-9]*, \([0-9.]*\)\/s,.*/\1/p' "$bin/out")
  en=$(sed -n 's/^Requests .*\] *\([0-9]*\),.*/\1/p' "$bin/out")
  awk -v w="$w" -v e="$e" -v c="$c" -v c2="$c2" -v wn="$wn" -v en="$en" -v i="$i" 'BEGIN {
    printf "round %d: wrk %.0f req/s %.1f µs CPU/req; emnify-mock load %.0f req/s %.1f µs CPU/req; throughput %.2fx, CPU %.2fx\n",
      i, w, c / wn * 1e6, e, c2 / en * 1e6, e / w, (c2 / en) / (c / wn)
    print e / w, (c2 / en) / (c / wn) > "/dev/stderr" }' 2>> "$bin/ratios"
done
summary "$bin/ratios" 1 "throughput, load / wrk"
summary "$bin/ratios" 2 "CPU per request, load / wrk"
