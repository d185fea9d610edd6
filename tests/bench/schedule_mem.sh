#!/bin/sh
# Scheduler benchmark: a suite of one scenario with a 100x100x100 matrix
# (coverage: all) on one target, 1,000,000 tests, loaded and scheduled by
# tests/bench/schedule_mem (built by `make bench`).
#   usage: tests/bench/schedule_mem.sh [BUILD_DIR]
set -eu
build=${1:-build}
make -C "$build" bench >/dev/null
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/scenarios"
vals() { seq -s ', ' 0 99; }
cat > "$dir/prodwatch.yaml" <<YAML
targets:
  prod: { base_url: "http://127.0.0.1:8080" }
scenarios: [ "scenarios/*.yaml" ]
limits: { max_tests: 1000000 }
YAML
cat > "$dir/scenarios/big.yaml" <<YAML
name: big
every: 5m
matrix:
  a: [$(vals)]
  b: [$(vals)]
  c: [$(vals)]
steps:
  - name: Get item
    request: { url: "{{ target.base_url }}/api/items/{{ matrix.a }}/{{ matrix.b }}/{{ matrix.c }}" }
    expect: { status: 200 }
YAML
"$build/tests/bench/schedule_mem" "$dir/prodwatch.yaml" 1000000
