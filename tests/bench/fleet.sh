#!/bin/sh
# A fleet's throughput: 1, 2 and 4 `prodwatch run` daemons of one location
# share 20,000 single-step tests due every second (more than one runner
# drives) against the demo shop, with a private redis-server, all on
# loopback.  For each size, over SECONDS (default 10) after a 5 s warm-up:
# results written per second, the runners' CPU per run, Redis commands per
# run (all of them, those the scripts call included) and scripts called
# per run (the runners' round trips), and Redis's CPU per run.
#   usage: tests/bench/fleet.sh [SECONDS] [BUILD_DIR]
# Sends only to 127.0.0.1; every daemon is stopped by the script.
set -eu
secs=${1:-10}
build=${2:-build}
prodwatch=$build/runner/prodwatch
demo=$build/contrib/demo/prodwatch-demo
dir=$(mktemp -d)
pids=
trap 'for p in $pids; do kill "$p" 2>/dev/null; done; rm -rf "$dir"' EXIT
command -v redis-server > /dev/null || { echo "needs redis-server"; exit 1; }

. "$(dirname "$0")/servers.sh"
start_servers
mkdir "$dir/scenarios"
values() { printf '['; seq -s, 1 "$1" | tr -d '\n'; printf ']'; }
cat > "$dir/scenarios/crowd.yaml" <<YAML
name: crowd
every: 1s
matrix:
  a: $(values 200)
  b: $(values 100)
steps:
  - name: health
    request: { url: "{{ target.base_url }}/healthz" }
    expect: { status: 200 }
YAML
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
redis_stat() { # <field> of INFO
    redis-cli -p "$rport" info all | tr -d '\r' | awk -F: -v f="$1" '$1 == f { print $2 }'
}
# Scripts called (EVAL, EVALSHA): the runners' round trips for results,
# claims and rate grants.
redis_calls() {
    redis-cli -p "$rport" info commandstats | tr -d '\r' |
        sed -n 's/^cmdstat_eval[sha]*:calls=\([0-9]*\),.*/\1/p' |
        awk '{ s += $1 } END { print s + 0 }'
}
hz=$(getconf CLK_TCK)

echo "runners  runs/s  CPU/run (runners)  Redis cmds/run, scripts/run  Redis CPU/run"
for n in 1 2 4; do
    redis-cli -p "$rport" flushall > /dev/null
    redis-cli -p "$rport" config resetstat > /dev/null
    runners=
    i=0
    while [ $i -lt "$n" ]; do
        i=$((i + 1))
        mkdir -p "$dir/state$i"
        cat > "$dir/r$i.yaml" <<YAML
redis: redis://127.0.0.1:$rport/0
key_prefix: fleet
listen: off
location: bench
scenarios: [ "$dir/scenarios/crowd.yaml" ]
state_dir: $dir/state$i
limits: { max_tests: 1000000 }
targets:
  local: { base_url: "http://127.0.0.1:$port", rate: 100000/s }
throttle: { concurrency: 64 }
YAML
        "$prodwatch" run -c "$dir/r$i.yaml" --runner-id "bench-$i" \
            --log-level warn 2> "$dir/r$i.err" &
        runners="$runners $!"
        pids="$pids $!"
    done
    sleep 5
    c0=0; for p in $runners; do c0=$((c0 + $(cpu_ticks "$p"))); done
    rc0=$(cpu_ticks "$redis_pid")
    n0=$(redis-cli -p "$rport" xlen fleet:results)
    s0=$(redis_stat total_commands_processed)
    k0=$(redis_calls)
    sleep "$secs"
    c1=0; for p in $runners; do c1=$((c1 + $(cpu_ticks "$p"))); done
    rc1=$(cpu_ticks "$redis_pid")
    n1=$(redis-cli -p "$rport" xlen fleet:results)
    s1=$(redis_stat total_commands_processed)
    k1=$(redis_calls)
    for p in $runners; do kill -TERM "$p"; done
    for p in $runners; do wait "$p" || true; done
    awk -v n="$n" -v runs="$((n1 - n0))" -v secs="$secs" -v c="$((c1 - c0))" \
        -v rc="$((rc1 - rc0))" -v s="$((s1 - s0))" -v k="$((k1 - k0))" \
        -v hz="$hz" 'BEGIN {
        if (runs == 0) { printf "%7d  no runs\n", n; exit }
        printf "%7d  %6d  %14.3f ms  %14.2f, %5.2f  %10.3f ms\n", n,
            runs / secs, c * 1000 / hz / runs, s / runs, k / runs,
            rc * 1000 / hz / runs
    }'
done
echo "($(nproc) cores; the demo shop and redis-server share them)"
# What the schedule of 20,000 tests holds in Redis.
due_b=$(redis-cli -p "$rport" memory usage 'fleet:fleet:{bench}:due' samples 0)
every_b=$(redis-cli -p "$rport" memory usage 'fleet:fleet:{bench}:every' samples 0)
echo "Redis per test for the schedule: $(( (due_b + every_b) / 20000 )) bytes" \
     "(due $due_b, every $every_b bytes for 20,000 tests)"
