#!/usr/bin/env bash
# Reruns the load-test measurements of issue 6 on this machine: rate
# accuracy at 5,000 and 10,000 requests/s, throughput at --rate 0 against
# vegeta in the same run, events/s with --size 1000, and memory over a
# 60 s run. Everything runs against a discarding receiver on loopback.
# Usage: bench/load.sh [seconds-for-the-memory-run, default 120]
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$out"' EXIT
go build -o "$out/emnify-mock" ./cmd/emnify-mock
go build -o "$out/receiver" ./bench/receiver
if ! command -v vegeta >/dev/null; then
  echo "installing vegeta (go install github.com/tsenart/vegeta/v12@v12.13.0)"
  GOBIN="$out" go install github.com/tsenart/vegeta/v12@v12.13.0
fi
VEGETA=$(command -v vegeta || echo "$out/vegeta")
"$out/receiver" -addr 127.0.0.1:9099 2>/dev/null &
sleep 0.5
URL=http://127.0.0.1:9099/hook
field() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

echo "== rate accuracy (10 s each)"
for rate in 5000 10000; do
  "$out/emnify-mock" load --to $URL --rate $rate --duration 10s --json "$out/r$rate.json" >/dev/null 2>&1
  field "$out/r$rate.json" "f'target {r[\"target_rate\"]:.0f}/s  achieved {r[\"rate\"]:.1f}/s  ({(r[\"rate\"]/r[\"target_rate\"]-1)*100:+.2f}%)  p99 {r[\"latencies\"][\"99th\"]/1e6:.2f} ms'"
done

echo "== --rate 0 --size 1 against vegeta -rate=0 -max-workers=64, same receiver, alternating five times (10 s each)"
# vegeta posts one fixed event; emnify-mock's events vary around the same
# size. CPU per request (user+sys from /usr/bin/time) shows what each
# generator costs on the cores it shares with the receiver.
"$out/emnify-mock" generate --count 1 --seed 3 > "$out/body.json"
printf 'POST %s\nContent-Type: application/json\n@%s\n' "$URL" "$out/body.json" > "$out/targets"
cpu() { awk '{printf "%.1f", ($1+$2)*1e6/'"$2"'}' "$1"; }
ratios=()
for round in 1 2 3 4 5; do
  /usr/bin/time -f '%U %S' -o "$out/t-ours" "$out/emnify-mock" load --to $URL --rate 0 --max-workers 64 --duration 10s --json "$out/fast$round.json" >/dev/null 2>&1
  /usr/bin/time -f '%U %S' -o "$out/t-vegeta" sh -c "'$VEGETA' attack -targets '$out/targets' -rate=0 -max-workers=64 -duration=10s > '$out/vegeta$round.bin'"
  "$VEGETA" report -type=json "$out/vegeta$round.bin" > "$out/vegeta$round.json"
  ours=$(field "$out/fast$round.json" "round(r['rate'])")
  okours=$(field "$out/fast$round.json" "f'{r[\"success\"]*100:.2f}%'")
  n=$(field "$out/fast$round.json" "r['requests']")
  bytes=$(field "$out/fast$round.json" "round(r['bytes_out']['mean'])")
  theirs=$(field "$out/vegeta$round.json" "round(r['rate'])")
  oktheirs=$(field "$out/vegeta$round.json" "f'{r[\"success\"]*100:.2f}%'")
  m=$(field "$out/vegeta$round.json" "r['requests']")
  echo "round $round: emnify-mock ${ours}/s ok ${okours} $(cpu "$out/t-ours" "$n") µs CPU/req (mean body ${bytes} B)" \
    "  vegeta ${theirs}/s ok ${oktheirs} $(cpu "$out/t-vegeta" "$m") µs CPU/req (body $(wc -c < "$out/body.json") B)" \
    "  ratio $(python3 -c "print(f'{$ours/$theirs:.2f}x')")"
  ratios+=("$ours/$theirs")
done
python3 -c "import statistics as s; r=sorted([$(IFS=,; echo "${ratios[*]}")]); print(f'ratio median {s.median(r):.2f}x, min {r[0]:.2f}x, max {r[-1]:.2f}x over {len(r)} rounds')"

echo "== --rate 0 --size 1000 (10 s)"
"$out/emnify-mock" load --to $URL --rate 0 --size 1000 --max-workers 8 --duration 10s --json "$out/bulk.json" >/dev/null 2>&1
field "$out/bulk.json" "f'{r[\"events_per_second\"]:.0f} events/s in {r[\"requests\"]} requests'"

# The generator allocates about 0.5 MB/s at 5000/s, so the Go heap reaches
# its steady size (GC goal) only after a few collections, about a minute
# in; RSS is flat from then on. Two minutes show both.
secs=${1:-120}
echo "== memory over a ${secs} s run at 5000/s (RSS sampled every 10 s)"
"$out/emnify-mock" load --to $URL --rate 5000 --duration ${secs}s >/dev/null 2>&1 &
pid=$!
sleep 1
while kill -0 $pid 2>/dev/null; do
  rss=$(awk '/VmRSS/{print $2}' /proc/$pid/status 2>/dev/null || true)
  [ -n "$rss" ] && echo "  t=$(( $(date +%s) - $(stat -c %Y /proc/$pid) ))s  RSS ${rss} kB"
  sleep 10
done
