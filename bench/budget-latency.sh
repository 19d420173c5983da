#!/bin/bash
# While POST /mock/scenarios refuses a blow-up scenario, time GET /api/v1/event.
cd "$(dirname "$0")/.."
BIN=$(mktemp -d)/emnify-mock
go build -o "$BIN" ./cmd/emnify-mock || exit 1
"$BIN" serve --addr 127.0.0.1:18080 --seed 7 --app-token tok >/dev/null 2>&1 &
PID=$!
for i in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:18080/mock && break; sleep 0.2; done
TOKEN=$(curl -s -X POST http://127.0.0.1:18080/api/v1/authenticate -H 'Content-Type: application/json' -d '{"application_token":"tok"}' | sed 's/.*"auth_token":"\([^"]*\)".*/\1/')
for f in budget-nested-repeats budget-huge-batches budget-three-million; do
  ( for i in $(seq 20); do curl -s -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $TOKEN" 'http://127.0.0.1:18080/api/v1/event?per_page=100'; done > "$BIN.lat-$f.txt" ) &
  G=$!
  curl -s -o /dev/null -w "$f: POST %{http_code} in %{time_total}s\n" -X POST --data-binary @scenarios/testdata/broken/$f.yaml http://127.0.0.1:18080/mock/scenarios
  wait $G
  echo "  concurrent GET /api/v1/event: max $(sort -n "$BIN.lat-$f.txt" | tail -1)s over 20"
done
kill $PID
