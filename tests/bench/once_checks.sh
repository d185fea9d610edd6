#!/bin/sh
# Throughput benchmark: N single-step checks (default 10000), each with two
# assertions (status and a jq check), through `prodwatch once` against the
# demo shop on a keep-alive loopback connection.  Prints checks per second,
# CPU milliseconds per 1,000 checks and peak RSS of prodwatch.
#   usage: tests/bench/once_checks.sh [N] [BUILD_DIR]
# Needs GNU time (/usr/bin/time).  Sends only to 127.0.0.1 and stops after
# N requests.
set -eu
n=${1:-10000}
build=${2:-build}
prodwatch=$build/runner/prodwatch
demo=$build/contrib/demo/prodwatch-demo
dir=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
"$demo" --listen 127.0.0.1:0 --port-file "$dir/port" > "$dir/demo.log" 2>&1 &
pid=$!
while [ ! -s "$dir/port" ]; do sleep 0.05; done
port=$(cat "$dir/port")
side=$(awk -v n="$n" 'BEGIN { s = int(sqrt(n)); if (s * s < n) s++; print s }')
mkdir "$dir/scenarios"
{
    echo "name: bench"
    echo "matrix:"
    printf '  a: ['; seq -s, 1 "$side" | tr -d '\n'; echo ']'
    printf '  b: ['; seq -s, 1 "$side" | tr -d '\n'; echo ']'
    echo "steps:"
    echo "  - name: health"
    echo "    request: { url: \"{{ target.base_url }}/healthz\" }"
    echo "    expect:"
    echo "      status: 200"
    echo "      checks:"
    echo "        - { jq: .status, eq: ok }"
} > "$dir/scenarios/bench.yaml"
cat > "$dir/prodwatch.yaml" <<YAML
scenarios: [ "scenarios/*.yaml" ]
targets:
  local: { base_url: "http://127.0.0.1:$port", rate: 1000000/s }
throttle: { concurrency: 32 }
YAML
total=$((side * side))
/usr/bin/time -f "%e %U %S %M" -o "$dir/time" \
    "$prodwatch" once -c "$dir/prodwatch.yaml" > "$dir/out" || {
    tail -3 "$dir/out"; exit 1; }
tail -1 "$dir/out"
grep -c "^PASS " "$dir/out" | sed "s/^/passing lines: /"
read -r wall user sys rss < "$dir/time"
awk -v n="$total" -v wall="$wall" -v user="$user" -v sys="$sys" -v rss="$rss" 'BEGIN {
    printf "checks: %d in %.2fs wall\n", n, wall
    printf "checks per second: %.0f\n", n / wall
    printf "CPU per 1,000 checks: %.1f ms (%.3f ms per check)\n", (user + sys) * 1e6 / n, (user + sys) * 1e3 / n
    printf "peak RSS: %.1f MB\n", rss / 1024
}'
