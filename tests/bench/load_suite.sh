#!/bin/sh
# Load-time benchmark: generate a suite of N scenario files (default 1000),
# each with three distinct jq checks, a matrix and a capture, then time
# `prodwatch check` on it (best of 3 runs).
#   usage: tests/bench/load_suite.sh [N] [path/to/prodwatch]
set -eu
n=${1:-1000}
bin=${2:-runner/prodwatch}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/scenarios"
cat > "$dir/prodwatch.yaml" <<'YAML'
targets:
  prod: { base_url: "http://127.0.0.1:8080", vars: { tenant: acme } }
scenarios: [ "scenarios/*.yaml" ]
YAML
i=0
while [ "$i" -lt "$n" ]; do
    cat > "$dir/scenarios/s$i.yaml" <<YAML
name: s$i
tags: [bench]
matrix:
  locale: [en, fr, de]
  plan: [free, pro]
steps:
  - name: Create item $i
    request:
      method: POST
      url: "{{ target.base_url }}/api/items/$i"
      json: { locale: "{{ matrix.locale }}", plan: "{{ matrix.plan }}" }
    expect:
      status: 201
      checks:
        - { jq: ".items[$i].id", type: number }
        - { jq: "[.list[] | select(.k == $i)] | length", ge: 1 }
        - { jq: ".data.user_$i.name | ascii_downcase", eq: "u$i" }
    capture:
      item_id: { jq: .id }
YAML
    i=$((i + 1))
done
best=
for run in 1 2 3; do
    start=$(date +%s.%N)
    "$bin" check -c "$dir/prodwatch.yaml" > /dev/null
    end=$(date +%s.%N)
    t=$(echo "$end - $start" | bc)
    echo "run $run: ${t}s"
    if [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" = 1 ]; then best=$t; fi
done
echo "check of $n scenarios ($((n * 3)) jq programs): best ${best}s"
