#!/usr/bin/env bash
# The event API's pages against servers of the same bytes: serve holds the
# 250,000 events of bench/scenarios/history-250k.yaml; wrk (64 connections,
# 2 threads) asks for 100-event pages of it, alternated ROUNDS times,
# SECONDS each, with a static Go handler (bench/receiver --static) and
# nginx serving the bytes of the same page. Also the filter with two values
# (q=type:8|9, a merge of two posting lists) against one (q=type:9).
# Prints requests/s per round and the median [min-max] ratios. Installs
# wrk and nginx with apt-get when missing (needs root).
#   bench/event-pages.sh [ROUNDS=5] [SECONDS=10]
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/summary.sh
rounds=${1:-5} seconds=${2:-10}
for tool in wrk nginx jq; do
  command -v $tool >/dev/null || PATH=$PATH:/usr/sbin command -v $tool >/dev/null ||
    { apt-get install -y "$([ $tool = nginx ] && echo nginx-light || echo $tool)" >/dev/null || { echo "cannot install $tool"; exit 2; }; }
done
export PATH=$PATH:/usr/sbin
dir=$(mktemp -d)
chmod 755 "$dir"
go build -o "$dir/emnify-mock" ./cmd/emnify-mock
go build -o "$dir/receiver" ./bench/receiver
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; rm -rf "$dir"' EXIT
port=$((20000 + RANDOM % 10000))
api=http://127.0.0.1:$port
"$dir/emnify-mock" serve --addr "127.0.0.1:$port" --scenario bench/scenarios/history-250k.yaml >/dev/null 2>&1 &
pids+=($!)
until curl -fs "$api/mock/health" >/dev/null; do sleep 0.2; done
token=$(curl -fs "$api/mock/workspaces" | jq -r '.[-1].application_tokens[0]') # the scenario's workspace
jwt=$(curl -fs -X POST -H 'Content-Type: application/json' -d "{\"application_token\":\"$token\"}" "$api/api/v1/authenticate" |
  sed 's/.*"auth_token":"\([^"]*\)".*/\1/')
page="/api/v1/event?per_page=100&page=50"
curl -fs -H "Authorization: Bearer $jwt" "$api$page" > "$dir/page.json"
chmod 644 "$dir/page.json"
"$dir/receiver" --static "$dir/page.json" --addr "127.0.0.1:$((port + 1))" 2>/dev/null &
pids+=($!)
mkdir -p "$dir/nginx/logs"
cat > "$dir/nginx/nginx.conf" <<CONF
worker_processes auto;
daemon off;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  server {
    listen 127.0.0.1:$((port + 2));
    location / { default_type application/json; root $dir; rewrite ^ /page.json break; }
  }
}
CONF
nginx -p "$dir/nginx" -c "$dir/nginx/nginx.conf" &
pids+=($!)
cat > "$dir/auth.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $jwt"
LUA
for p in $((port + 1)) $((port + 2)); do until curl -fs "http://127.0.0.1:$p/" >/dev/null; do sleep 0.2; done; done
cmp -s <(curl -fs "http://127.0.0.1:$((port + 2))/") "$dir/page.json" || { echo "nginx does not serve the page"; exit 1; }
rate() { # requests/s of wrk on a URL
  wrk -t2 -c64 -d"${seconds}s" -s "$dir/auth.lua" "$1" | sed -n 's/^Requests\/sec: *\([0-9.]*\)/\1/p'
}
: > "$dir/ratios"
for ((i = 1; i <= rounds; i++)); do
  a=$(rate "$api$page")
  g=$(rate "http://127.0.0.1:$((port + 1))$page")
  n=$(rate "http://127.0.0.1:$((port + 2))$page")
  one=$(rate "$api/api/v1/event?per_page=100&q=type:9")
  two=$(rate "$api/api/v1/event?per_page=100&q=type:8%7C9")
  echo "round $i: API $a req/s, static Go $g, nginx $n; q=type:9 $one, q=type:8|9 $two"
  awk -v a="$a" -v g="$g" -v n="$n" -v one="$one" -v two="$two" 'BEGIN { print a / g, a / n, two / one }' >> "$dir/ratios"
done
summary "$dir/ratios" 1 "API / static Go handler"
summary "$dir/ratios" 2 "API / nginx"
summary "$dir/ratios" 3 "q=type:8|9 / q=type:9"
