#!/usr/bin/env bash
# Generation against its encoding/json baseline: BenchmarkGenerate (the
# churn's state machine and the hand-written encoder, per event) and
# BenchmarkBaselineMarshal (encoding/json of one prebuilt event), one
# after the other ROUNDS times, SECONDS each, so that both meet the same
# load; prints each round's ratio and the median [min-max].
#   bench/generate.sh [ROUNDS=7] [SECONDS=2]
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/summary.sh
rounds=${1:-7} seconds=${2:-2}
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go test -c -o "$bin/generator.test" ./generator
ns() { "$bin/generator.test" -test.run '^$' -test.bench "^$1\$" -test.benchtime "${seconds}s" | awk '/ns\/op/ { print $3 }'; }
for ((i = 1; i <= rounds; i++)); do
  g=$(ns BenchmarkGenerate) j=$(ns BenchmarkBaselineMarshal)
  awk -v g="$g" -v j="$j" -v i="$i" 'BEGIN {
    printf "round %d: generate %.0f ns/event, encoding/json %.0f ns/event: %.2fx\n", i, g, j, j / g
    print j / g > "/dev/stderr" }' 2>> "$bin/ratios"
done
summary "$bin/ratios" 1 "generation, speed vs encoding/json"
