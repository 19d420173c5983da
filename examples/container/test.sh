#!/usr/bin/env bash
# Builds the container image from a static binary, starts it, waits for
# /mock/health, checks that the emnify API answers, that /mock needs the
# control token, and that the image refuses to start without one; runs
# verify --platform with the reference consumer against it; then stops
# it. Needs podman (with runc on this project's machines).
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=examples/container
CGO_ENABLED=0 go build -trimpath -o "$dir/emnify-mock" ./cmd/emnify-mock
trap 'rm -f "$dir/emnify-mock"' EXIT
run=(podman run --rm --runtime "$(command -v runc || echo /usr/sbin/runc)" --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
podman build -q -t emnify-mock:test -f "$dir/Containerfile" "$dir" >/dev/null
port=$((20000 + RANDOM % 10000))
name=emnify-mock-test-$$
"${run[@]}" -d --name "$name" -p "127.0.0.1:$port:8080" \
  -e EMNIFY_MOCK_CONTROL_TOKEN=ctl -e EMNIFY_MOCK_APP_TOKEN=tok -e EMNIFY_MOCK_SEED=7 emnify-mock:test >/dev/null
trap 'podman rm -f "$name" >/dev/null 2>&1 || true; rm -f "$dir/emnify-mock"' EXIT
base=http://127.0.0.1:$port
for i in $(seq 100); do
  if curl -fs "$base/mock/health" >/dev/null; then break; fi
  [ "$i" = 100 ] && { echo "FAIL: no /mock/health after 30 s"; podman logs "$name"; exit 1; }
  sleep 0.3
done
echo "health: $(curl -fs "$base/mock/health")"
token=$(curl -fs -X POST "$base/api/v1/authenticate" -H 'Content-Type: application/json' -d '{"application_token":"tok"}' | sed 's/.*"auth_token":"\([^"]*\)".*/\1/')
total=$(curl -fs -o /dev/null -D - -H "Authorization: Bearer $token" "$base/api/v1/event?per_page=1" | tr -d '\r' | sed -n 's/^X-Total-Count: //ip')
[ -n "$total" ] && [ "$total" -gt 0 ] || { echo "FAIL: GET /api/v1/event: X-Total-Count '$total'"; exit 1; }
echo "events: $total"
code=$(curl -s -o /dev/null -w '%{http_code}' "$base/mock/workspaces")
[ "$code" = 401 ] || { echo "FAIL: /mock/workspaces without the control token: $code"; exit 1; }
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer ctl' "$base/mock/workspaces")
[ "$code" = 200 ] || { echo "FAIL: /mock/workspaces with the control token: $code"; exit 1; }
echo "control API: 401 without the token, 200 with it"
if out=$("${run[@]}" emnify-mock:test 2>&1); then
  echo "FAIL: the image started off loopback without a control token"; exit 1
fi
echo "without a control token: refused ($(echo "$out" | head -1))"
# verify --platform against the image: on the host's network, so that its
# data streams reach a consumer on loopback (allowed without
# --allow-remote-webhooks).
bin=$(mktemp -d)
trap 'podman rm -f "$name" "$name-v" >/dev/null 2>&1 || true; rm -rf "$dir/emnify-mock" "$bin"; kill $consumer 2>/dev/null || true' EXIT
go build -o "$bin/consumer" ./examples/consumer/cmd/consumer
cport=$((port + 1))
"$bin/consumer" --addr "127.0.0.1:$cport" 2>/dev/null &
consumer=$!
vport=$((port + 2))
"${run[@]}" -d --name "$name-v" --network host -e EMNIFY_MOCK_ADDR="127.0.0.1:$vport" -e EMNIFY_MOCK_CONTROL_TOKEN=ctl emnify-mock:test >/dev/null
for i in $(seq 100); do
  if curl -fs "http://127.0.0.1:$vport/mock/health" >/dev/null && curl -fs "http://127.0.0.1:$cport/stats" >/dev/null; then break; fi
  [ "$i" = 100 ] && { echo "FAIL: the image on the host network or the consumer did not answer after 30 s"; podman logs "$name-v"; exit 1; }
  sleep 0.3
done
"$dir/emnify-mock" verify --consumer "http://127.0.0.1:$cport" --platform "http://127.0.0.1:$vport" --control-token ctl --endpoint-probe "/endpoints/{endpoint.id}" --format progress
echo "ok: container test passed"
