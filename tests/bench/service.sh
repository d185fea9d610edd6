#!/bin/sh
# The service's figures, with a private redis-server and the demo shop on
# loopback:
#   1. memory: `prodwatch run` with 1,000,000 permutations loaded and
#      scheduled (a 100x100x100 matrix, every 24h): RSS and bytes per test;
#   2. pace: 2,000 single-step tests due every second (2,000 runs/s asked),
#      measured over SECONDS (default 15) after a 5 s warm-up: runs/s
#      achieved, p99 scheduling lateness, Redis results written per second,
#      and the daemon's CPU per run, Redis writes included (Redis's own CPU
#      is printed apart); then the Redis memory one test and one stream
#      entry take.
#   usage: tests/bench/service.sh [SECONDS] [BUILD_DIR]
# Sends only to 127.0.0.1; every daemon is stopped by the script.
set -eu
secs=${1:-15}
build=${2:-build}
prodwatch=$build/runner/prodwatch
demo=$build/contrib/demo/prodwatch-demo
dir=$(mktemp -d)
pids=
trap 'for p in $pids; do kill "$p" 2>/dev/null; done; rm -rf "$dir"' EXIT
command -v redis-server > /dev/null || { echo "needs redis-server"; exit 1; }

. "$(dirname "$0")/servers.sh"
start_servers
mkdir "$dir/state" "$dir/scenarios"

config() { # <scenario file> <target rate> <concurrency>
    cat > "$dir/prodwatch.yaml" <<YAML
redis: redis://127.0.0.1:$rport/0
key_prefix: bench
listen: off
scenarios: [ "$1" ]
state_dir: $dir/state
limits: { max_tests: 1000000 }
targets:
  local: { base_url: "http://127.0.0.1:$port", rate: $2 }
throttle: { concurrency: $3 }
YAML
}
values() { printf '['; seq -s, 1 "$1" | tr -d '\n'; printf ']'; }
start() { start_daemon; }
stop() {
    kill -TERM "$daemon"
    wait "$daemon" || true
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# ---- 1. memory for a million permutations --------------------------------
{
    echo "name: million"
    echo "every: 24h"
    echo "matrix:"
    echo "  a: $(values 100)"
    echo "  b: $(values 100)"
    echo "  c: $(values 100)"
    echo "steps:"
    echo "  - name: health"
    echo "    request: { url: \"{{ target.base_url }}/healthz\" }"
} > "$dir/scenarios/million.yaml"
config "$dir/scenarios/million.yaml" 100/s 8
t0=$(date +%s.%N)
start
t1=$(date +%s.%N)
sleep 5
rss_kb=$(awk '/^VmRSS/ { print $2 }' "/proc/$daemon/status")
hwm_kb=$(awk '/^VmHWM/ { print $2 }' "/proc/$daemon/status")
stop
echo "1,000,000 permutations: ready in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s;" \
     "RSS $((rss_kb / 1024)) MB ($((rss_kb * 1024 / 1000000)) bytes per test)," \
     "peak $((hwm_kb / 1024)) MB"

# ---- 2. 2,000 runs/s -------------------------------------------------------
{
    echo "name: pace"
    echo "every: 1s"
    echo "matrix:"
    echo "  a: $(values 50)"
    echo "  b: $(values 40)"
    echo "steps:"
    echo "  - name: health"
    echo "    request: { url: \"{{ target.base_url }}/healthz\" }"
    echo "    expect: { status: 200 }"
} > "$dir/scenarios/pace.yaml"
redis-cli -p "$rport" flushall > /dev/null
config "$dir/scenarios/pace.yaml" 100000/s 64
start
sleep 5
c0=$(cpu_ticks "$daemon")
r0=$(cpu_ticks "$redis_pid")
n0=$(redis-cli -p "$rport" xlen bench:results)
sleep "$secs"
c1=$(cpu_ticks "$daemon")
r1=$(cpu_ticks "$redis_pid")
n1=$(redis-cli -p "$rport" xlen bench:results)
stop
hz=$(getconf CLK_TCK)
runs=$((n1 - n0))
late=$(grep 'service.stats' "$dir/daemon.err" | tail -1 |
       sed -n 's/.*lateness p50 \([0-9.]*\)ms p99 \([0-9.]*\)ms max \([0-9.]*\)ms.*/p50 \1 ms, p99 \2 ms, max \3 ms/p')
echo "2,000 tests due every second, over ${secs} s: $((runs / secs)) runs/s," \
     "Redis results written $((runs / secs))/s"
echo "  scheduling lateness (whole run): $late"
# Redis memory of one test after the run (its runs all passed: a failing
# run's detail also holds a message and an excerpt), and of the stream.
id='pace@local[a=1,b=1]'
hash_b=$(redis-cli -p "$rport" memory usage "bench:test:$id")
runs_b=$(redis-cli -p "$rport" memory usage "bench:runs:$id")
kept=$(redis-cli -p "$rport" llen "bench:runs:$id")
stream_b=$(redis-cli -p "$rport" memory usage bench:results samples 0)
entries=$(redis-cli -p "$rport" xlen bench:results)
echo "  Redis per test: state hash $hash_b bytes, last $kept runs $runs_b bytes;" \
     "stream $((stream_b / entries)) bytes per entry ($entries entries)"
awk -v c="$((c1 - c0))" -v r="$((r1 - r0))" -v n="$runs" -v hz="$hz" 'BEGIN {
    if (n == 0) { print "  no runs measured"; exit }
    printf "  CPU per run: %.3f ms in prodwatch (Redis writes included), %.3f ms in redis-server\n",
        c * 1000 / hz / n, r * 1000 / hz / n
}'
