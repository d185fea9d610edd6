#!/bin/sh
# The HTTP listener with 10,000 tests, a private redis-server and the demo
# shop on loopback:
#   1. `prodwatch run` on a suite of 10,000 single-step tests (9,900
#      passing, 100 failing, each due every 10 s: 1,000 runs/s asked),
#      run until every test has a result (at most 60 s);
#   2. the response time (median and p95 of REQUESTS sequential requests,
#      default 20) and the size of `/` (the status page), `/api/status`
#      and `/metrics`, timed by curl;
#   3. probing over SECONDS (default 20) three times: unpolled, then with
#      `/`, `/api/status` and `/metrics` each fetched once a second, then
#      unpolled again: runs/s (from the Redis counters), the daemon's CPU
#      per run, and how many runs started more than 10 ms and 50 ms late
#      (from the lateness histogram of /metrics, read once at each phase's
#      start and end).
#   usage: tests/bench/status.sh [SECONDS] [REQUESTS] [BUILD_DIR]
# Prints figures; it passes or fails nothing on timing.  Sends only to
# 127.0.0.1; every process it starts is stopped by the script.
set -eu
secs=${1:-20}
nreq=${2:-20}
build=${3:-build}
prodwatch=$build/runner/prodwatch
demo=$build/contrib/demo/prodwatch-demo
dir=$(mktemp -d)
pids=
trap 'for p in $pids; do kill "$p" 2>/dev/null; done; rm -rf "$dir"' EXIT
for c in redis-server redis-cli curl python3; do
    command -v $c > /dev/null || { echo "needs $c"; exit 1; }
done
. "$(dirname "$0")/servers.sh"
start_servers
hport=$(free_port)
url=http://127.0.0.1:$hport
mkdir "$dir/state" "$dir/scenarios"

values() { printf '['; seq -s, 1 "$1" | tr -d '\n'; printf ']'; }
scenario() { # <name> <a values> <b values> <expected status>
    cat <<YAML
name: $1
description: The shop's health answers $4
every: 10s
matrix:
  a: $(values "$2")
  b: $(values "$3")
steps:
  - name: health answers $4
    request: { url: "{{ target.base_url }}/healthz" }
    expect: { status: $4 }
YAML
}
scenario pass 100 99 200 > "$dir/scenarios/pass.yaml"
scenario fail 1 100 418 > "$dir/scenarios/fail.yaml"
cat > "$dir/prodwatch.yaml" <<YAML
redis: redis://127.0.0.1:$rport/0
key_prefix: bench
listen: 127.0.0.1:$hport
scenarios: [ "$dir/scenarios/*.yaml" ]
state_dir: $dir/state
targets:
  local: { base_url: "http://127.0.0.1:$port", rate: 100000/s }
throttle: { concurrency: 64 }
YAML

start_daemon

# ---- 1. every test has a result -------------------------------------------
t0=$(date +%s)
i=0
while [ "$(redis-cli -p "$rport" zcard bench:tests)" -lt 10000 ]; do
    i=$((i + 1)); [ $i -gt 600 ] && break
    sleep 0.1
done
have=$(redis-cli -p "$rport" zcard bench:tests)
echo "10,000 tests loaded; $have have a result after $(($(date +%s) - t0)) s"

# ---- 2. response time and size ----------------------------------------------
timing() { # <path>
    : > "$dir/times"
    n=0
    while [ $n -lt "$nreq" ]; do
        curl -s --max-time 10 -o /dev/null \
            -w '%{time_total} %{size_download} %{http_code}\n' \
            "$url$1" >> "$dir/times"
        n=$((n + 1))
    done
    sort -n "$dir/times" | awk -v p="$1" '
        { t[NR] = $1 * 1000; size = $2; code = $3 }
        END {
            p95 = int(NR * 0.95 + 0.999)
            printf "  %-12s HTTP %s, %9d bytes: median %7.2f ms, p95 %7.2f ms (%d requests)\n",
                p, code, size, t[int((NR + 1) / 2)], t[p95], NR
        }'
}
echo "response time while probing (curl, sequential):"
timing /
timing /api/status
timing /metrics

# ---- 3. throughput, polled and not ------------------------------------------
runs() {
    a=$(redis-cli -p "$rport" hget bench:scenario:pass runs)
    b=$(redis-cli -p "$rport" hget bench:scenario:fail runs)
    echo $((${a:-0} + ${b:-0}))
}
late() { # cumulative counts of runs started <= 10 ms and <= 50 ms late, all
    # The bounds are printed with 17 digits (0.050000000000000003).
    curl -s --max-time 10 "$url/metrics" | awk -F'"' '
        /^prodwatch_schedule_lateness_seconds_bucket\{le="[0-9.e-]*"\}/ {
            split($3, v, " ")
            if ($2 + 0 > 0.0099 && $2 + 0 < 0.0101) a = v[2]
            if ($2 + 0 > 0.0499 && $2 + 0 < 0.0501) b = v[2]
        }
        /^prodwatch_schedule_lateness_seconds_count / { split($0, w, " "); n = w[2] }
        END { print a + 0, b + 0, n + 0 }'
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
now() { date +%s.%N; }
poller() { # <seconds>: each path once a second, at most <seconds> rounds
    n=0
    while [ $n -lt "$1" ]; do
        t=$(now)
        for p in / /api/status /metrics; do
            curl -s --max-time 5 -o /dev/null "$url$p" || :
        done
        n=$((n + 1))
        sleep "$(awk -v t="$t" -v n="$(now)" 'BEGIN {
            d = 1 - (n - t); print (d > 0 ? d : 0) }')"
    done
}
phase() { # <label> <poll: 0 or 1>
    t0=$(now)
    r0=$(runs)
    c0=$(cpu_ticks "$daemon")
    l0=$(late)
    if [ "$2" = 1 ]; then
        poller "$secs" &
        poll=$!
        pids="$pids $poll"
    fi
    sleep "$secs"
    [ "$2" = 1 ] && { wait "$poll" || :; }
    l1=$(late)
    c1=$(cpu_ticks "$daemon")
    r1=$(runs)
    t1=$(now)
    awk -v label="$1" -v t0="$t0" -v t1="$t1" -v r="$((r1 - r0))" \
        -v c="$((c1 - c0))" -v hz="$(getconf CLK_TCK)" -v l0="$l0" \
        -v l1="$l1" 'BEGIN {
        split(l0, a, " "); split(l1, b, " ")
        n = b[3] - a[3]
        s = t1 - t0
        if (r == 0 || n == 0) { printf "  %-28s no runs\n", label; exit }
        printf "  %-28s %4.1f s: %5.0f runs/s, CPU %.3f ms per run, started late: >10 ms %.2f%%, >50 ms %.2f%%\n",
            label, s, r / s, c * 1000 / hz / r,
            100 * (n - (b[1] - a[1])) / n, 100 * (n - (b[2] - a[2])) / n
    }'
}
# One cycle more, so that the first phase starts in the steady state.
sleep 10
echo "probing, ${secs} s each (1,000 runs/s asked):"
phase "unpolled" 0
phase "polled (3 paths, once a s)" 1
phase "unpolled again" 0
kill -TERM "$daemon"
wait "$daemon" || :
