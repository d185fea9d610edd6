#!/bin/sh
# The main job on a fresh Debian 12 machine: install dependencies, build,
# validate the examples, start the demo shop on loopback (ports 8080 and
# 8081, as config/prodwatch.yaml expects) and run every example scenario
# against it once.  Exits with `prodwatch once`'s status.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
sh contrib/install-deps.sh
sh contrib/build.sh build
build/runner/prodwatch check -c config/prodwatch.yaml
pids=
trap 'for p in $pids; do kill "$p" 2>/dev/null; done' EXIT
for port in 8080 8081; do
    rm -f "build/demo-$port.port"
    build/contrib/demo/prodwatch-demo --listen "127.0.0.1:$port" \
        --port-file "build/demo-$port.port" > "build/demo-$port.log" 2>&1 &
    pids="$pids $!"
done
for port in 8080 8081; do
    i=0
    while [ ! -s "build/demo-$port.port" ]; do
        i=$((i + 1))
        if [ $i -gt 100 ]; then
            echo "the demo shop did not start on port $port:" >&2
            cat "build/demo-$port.log" >&2
            exit 1
        fi
        sleep 0.05
    done
done
build/runner/prodwatch once -c config/prodwatch.yaml
