#!/usr/bin/env bash
# Brings up examples/compose.yaml with podman-compose (the mock and the
# reference consumer, which subscribes a data stream to itself), waits
# until the consumer holds every event of the mock's workspace, runs
# verify --platform against the pair through the compose network's names,
# and takes it down. Needs podman and podman-compose (with runc on this
# project's machines). Uses the host ports 8080 and 9000 of 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
CGO_ENABLED=0 go build -trimpath -o container/emnify-mock ../cmd/emnify-mock
CGO_ENABLED=0 go build -trimpath -o container/consumer ../examples/consumer/cmd/consumer
bin=$(mktemp -d)
go build -o "$bin/emnify-mock" ../cmd/emnify-mock
compose=(podman-compose --podman-run-args="--runtime $(command -v runc || echo /usr/sbin/runc) --ulimit nofile=1024:1024 --ulimit nproc=1024:1024")
cleanup() { "${compose[@]}" down >/dev/null 2>&1 || true; rm -rf container/emnify-mock container/consumer "$bin"; }
trap cleanup EXIT
"${compose[@]}" up -d --build >/dev/null 2>&1 || { "${compose[@]}" up -d --build; exit 1; }
control=(-H 'Authorization: Bearer compose-control')
for i in $(seq 100); do
  deliveries=$(curl -fs "${control[@]}" http://127.0.0.1:8080/mock/deliveries || true)
  case $deliveries in *'"undelivered":0,'*'"last_http_status":2'*) break ;; esac
  [ "$i" = 100 ] && { echo "FAIL: no data stream delivered everything after 30 s: $deliveries"; podman logs examples_consumer_1 2>&1 | tail -5; exit 1; }
  sleep 0.3
done
delivered=$(echo "$deliveries" | sed 's/.*"delivered":\([0-9]*\).*/\1/')
counted=$(curl -fs http://127.0.0.1:9000/stats | sed 's/.*"events":\([0-9]*\).*/\1/')
[ "$delivered" -gt 0 ] && [ "$counted" = "$delivered" ] || { echo "FAIL: the stream delivered $delivered events, the consumer counted $counted"; exit 1; }
echo "data stream mock -> consumer: $delivered events delivered, $counted counted"
"$bin/emnify-mock" verify --consumer http://127.0.0.1:9000 --platform http://127.0.0.1:8080 --control-token compose-control \
  --stream-webhook http://consumer:9000/webhook --poll-api http://mock:8080 --endpoint-probe "/endpoints/{endpoint.id}" --format progress
echo "ok: compose test passed"
