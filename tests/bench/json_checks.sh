#!/bin/sh
# CPU per JSON check by body size: one `{ jq: .status, eq: ok }` check,
# through `prodwatch once`, against nginx on loopback serving bodies of
# 41 bytes, 10 KB (100 items), 100 KB (1,000 items) and 1 MB (about 10,000
# items), "status":"ok" placed last so that a parser must read it all.
# Prints CPU milliseconds (user + system of prodwatch, best of 3) per check
# and the ratio to the 41-byte body, and apart what the same request costs
# without the check (receiving the body), best of 3 too.
#   usage: tests/bench/json_checks.sh [N] [BUILD_DIR]
# N checks per body (default 2000; a fifth of that for 1 MB).  Needs nginx
# and GNU time (/usr/bin/time).  Sends only to 127.0.0.1 and stops after
# N requests per run.
set -eu
n=${1:-2000}
build=${2:-build}
prodwatch=$build/runner/prodwatch
nginx=${NGINX:-/usr/sbin/nginx}
dir=$(mktemp -d)
trap '[ -s "$dir/nginx.pid" ] && kill "$(cat "$dir/nginx.pid")" 2>/dev/null
      rm -rf "$dir"' EXIT
mkdir -p "$dir/www" "$dir/logs" "$dir/tmp" "$dir/scenarios"
# nginx's worker may run as another user: it must read the bodies.
chmod 755 "$dir" "$dir/www"

# A document of <items> products with the status last.
body() {
    awk -v n="$1" 'BEGIN {
        printf "{\"items\":["
        for (i = 0; i < n; i++)
            printf "%s{\"id\":%d,\"sku\":\"SKU-%06d-XL\",\"name\":\"product %05d\",\"price\":%d.5,\"tags\":[\"a\",\"b\"],\"stock\":true}", i ? "," : "", i, i, i, i % 100
        printf "],\"count\":%d,\"status\":\"ok\"}", n
    }'
}
printf '{"service":"shop","v":123,"status":"ok"}\n' > "$dir/www/b41.json"
body 100 > "$dir/www/b10k.json"
body 1000 > "$dir/www/b100k.json"
body 10000 > "$dir/www/b1m.json"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$dir/nginx.conf" <<CONF
daemon on;
pid $dir/nginx.pid;
error_log $dir/logs/error.log;
worker_processes 1;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path $dir/tmp;
    proxy_temp_path $dir/tmp;
    fastcgi_temp_path $dir/tmp;
    uwsgi_temp_path $dir/tmp;
    scgi_temp_path $dir/tmp;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$port;
        root $dir/www;
        default_type application/json;
    }
}
CONF
"$nginx" -p "$dir" -c "$dir/nginx.conf"
while [ ! -s "$dir/nginx.pid" ]; do sleep 0.05; done

cat > "$dir/prodwatch.yaml" <<YAML
scenarios: [ "scenarios/bench.yaml" ]
targets:
  local: { base_url: "http://127.0.0.1:$port", rate: 1000000/s }
throttle: { concurrency: 8 }
YAML

# CPU ms per check of one `prodwatch once` run of <count> checks on <file>;
# with <check> "no", the same requests expecting only the status.
run() {
    side=$(awk -v n="$2" 'BEGIN { s = int(sqrt(n)); if (s * s < n) s++; print s }')
    {
        echo "name: bench"
        echo "matrix:"
        printf '  a: ['; seq -s, 1 "$side" | tr -d '\n'; echo ']'
        printf '  b: ['; seq -s, 1 "$side" | tr -d '\n'; echo ']'
        echo "steps:"
        echo "  - name: get"
        echo "    request: { url: \"{{ target.base_url }}/$1\" }"
        echo "    expect:"
        echo "      status: 200"
        if [ "$3" = yes ]; then
            echo "      checks:"
            echo "        - { jq: .status, eq: ok }"
        fi
    } > "$dir/scenarios/bench.yaml"
    /usr/bin/time -f "%U %S" -o "$dir/time" \
        "$prodwatch" once -c "$dir/prodwatch.yaml" > "$dir/out" || {
        tail -3 "$dir/out" >&2; exit 1; }
    [ "$(grep -c '^PASS ' "$dir/out")" -eq "$((side * side))" ] || {
        echo "not every check passed on $1" >&2; tail -3 "$dir/out" >&2
        exit 1; }
    awk -v n="$((side * side))" '{ printf "%.6f\n", ($1 + $2) * 1000 / n }' \
        "$dir/time"
}

# Best of 3, in ms per check.
best() {
    a=$(run "$1" "$2" "$3"); b=$(run "$1" "$2" "$3"); c=$(run "$1" "$2" "$3")
    printf '%s\n%s\n%s\n' "$a" "$b" "$c" | sort -n | head -1
}

printf '%-22s %10s %8s %16s\n' body "CPU ms" ratio "request alone"
base=
for spec in "41 bytes:b41.json:$n" "10 KB (100 items):b10k.json:$n" \
    "100 KB (1,000 items):b100k.json:$n" "1 MB (10,000 items):b1m.json:$((n / 5))"; do
    name=${spec%%:*}; rest=${spec#*:}; file=${rest%%:*}; count=${rest#*:}
    ms=$(best "$file" "$count" yes)
    bare=$(best "$file" "$count" no)
    [ -n "$base" ] || base=$ms
    awk -v name="$name" -v ms="$ms" -v base="$base" -v bare="$bare" \
        -v size="$(wc -c < "$dir/www/$file")" \
        'BEGIN { printf "%-22s %10.3f %7.1fx %16.3f   (%d bytes)\n", name, ms, ms / base, bare, size }'
done
