# servers.sh -- sourced by the service benchmarks: the demo shop and a
# private redis-server on loopback, and `prodwatch run`.
# The caller sets $dir (its own temporary directory), $demo and $prodwatch,
# and stops everything listed in $pids on exit.

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Start both; sets $port (the shop's), $rport and $redis_pid.
start_servers() {
    "$demo" --listen 127.0.0.1:0 --port-file "$dir/port" \
        > "$dir/demo.log" 2>&1 &
    pids="$pids $!"
    rport=$(free_port)
    redis-server --port "$rport" --bind 127.0.0.1 --dir "$dir" --save '' \
        > "$dir/redis.log" 2>&1 &
    redis_pid=$!
    pids="$pids $redis_pid"
    i=0
    while [ ! -s "$dir/port" ] ||
        [ "$(redis-cli -p "$rport" ping 2>/dev/null)" != PONG ]; do
        i=$((i + 1)); [ $i -gt 200 ] && { echo "servers did not start"; exit 1; }
        sleep 0.05
    done
    port=$(cat "$dir/port")
}

# `prodwatch run` on $dir/prodwatch.yaml, once it says it is ready (at
# most 60 s); sets $daemon.
start_daemon() {
    : > "$dir/daemon.err"
    "$prodwatch" run -c "$dir/prodwatch.yaml" --log-level notice \
        2> "$dir/daemon.err" &
    daemon=$!
    pids="$pids $daemon"
    i=0
    until grep -q service.ready "$dir/daemon.err"; do
        i=$((i + 1)); [ $i -gt 1200 ] && { cat "$dir/daemon.err"; exit 1; }
        sleep 0.05
    done
}
