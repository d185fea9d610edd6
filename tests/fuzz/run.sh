#!/bin/sh
# Run every libFuzzer harness for SECONDS each (default 60), one after the
# other, on a working copy of the seed corpus.  Build them with `make fuzz`
# first.  Crashes are left as crash-* files in the current directory.
set -eu
secs=${1:-60}
here=$(cd "$(dirname "$0")" && pwd)
bin=${FUZZ_BIN:-tests/fuzz/bin}
for h in config scenario template; do
    corpus=tests/fuzz/corpus-$h
    mkdir -p "$corpus"
    cp -n "$here/seeds/$h/"* "$corpus/" 2>/dev/null || true
    echo "== fuzz_$h for ${secs}s"
    "$bin/fuzz_$h" -max_total_time="$secs" -max_len=8192 -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 "$corpus"
done
