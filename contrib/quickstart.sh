#!/bin/sh
# The main job on a fresh Debian 12 machine: install dependencies, build,
# validate the examples, start the demo shop on loopback (ports 8080 and
# 8081, as config/prodwatch.yaml expects) and a private redis-server (port
# 6390, data in build/redis; the system's Redis service is not touched),
# then run the service in the foreground: every example test runs at its
# pace, forever, and each result is logged as it comes.  In a second
# terminal:
#     build/runner/prodwatch status -c build/quickstart.yaml
# Ctrl-C stops it gracefully: runs in flight finish and clean up.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
sh contrib/install-deps.sh
sh contrib/build.sh build
build/runner/prodwatch check -c config/prodwatch.yaml
pids=
trap 'for p in $pids; do kill "$p" 2>/dev/null; done' EXIT
wait_file() {
    i=0
    while [ ! -s "$1" ]; do
        i=$((i + 1))
        if [ $i -gt 100 ]; then
            echo "$2 did not start:" >&2
            cat "$3" >&2
            exit 1
        fi
        sleep 0.05
    done
}
for port in 8080 8081; do
    rm -f "build/demo-$port.port"
    build/contrib/demo/prodwatch-demo --listen "127.0.0.1:$port" \
        --port-file "build/demo-$port.port" > "build/demo-$port.log" 2>&1 &
    pids="$pids $!"
done
for port in 8080 8081; do
    wait_file "build/demo-$port.port" "the demo shop" "build/demo-$port.log"
done
mkdir -p build/redis build/state
redis-server --port 6390 --bind 127.0.0.1 --dir "$top/build/redis" \
    --appendonly yes --save '' > build/redis.log 2>&1 &
pids="$pids $!"
i=0
until [ "$(redis-cli -p 6390 ping 2>/dev/null)" = PONG ]; do
    i=$((i + 1))
    [ $i -gt 100 ] && { echo "redis-server did not start:" >&2; cat build/redis.log >&2; exit 1; }
    sleep 0.05
done
# The example configuration, pointed at the private Redis and state
# directory (scenarios are found relative to the file: ../scenarios).
sed -e 's|redis://127.0.0.1:6379/0|redis://127.0.0.1:6390/0|' \
    -e "s|^key_prefix:.*|key_prefix: prodwatch\\nstate_dir: $top/build/state|" \
    config/prodwatch.yaml > build/quickstart.yaml
echo "prodwatch runs; in another terminal: build/runner/prodwatch status -c build/quickstart.yaml"
build/runner/prodwatch run -c build/quickstart.yaml --log-level debug
