#!/bin/sh
# Run every libFuzzer harness for SECONDS each (default 60), one after the
# other, on a working copy of the seed corpus.  Build them with `make fuzz`
# first.  Crashes are left as crash-* files in the current directory.
#
# The response harness runs libjq, whose own leaks are suppressed
# (lsan.supp); that needs full malloc stacks, which cost about ten times
# the speed.  FUZZ_LEAKS=0 skips leak checking there and runs at full speed.
set -eu
secs=${1:-60}
here=$(cd "$(dirname "$0")" && pwd)
bin=${FUZZ_BIN:-tests/fuzz/bin}
for h in config scenario template response fastjson; do
    corpus=tests/fuzz/corpus-$h
    mkdir -p "$corpus"
    cp -n "$here/seeds/$h/"* "$corpus/" 2>/dev/null || true
    leaks=
    if [ "$h" = response ] || [ "$h" = fastjson ]; then
        if [ "${FUZZ_LEAKS:-1}" = 0 ]; then
            leaks=-detect_leaks=0
        else
            ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0
            LSAN_OPTIONS=${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$here/lsan.supp:print_suppressions=0
            export ASAN_OPTIONS LSAN_OPTIONS
        fi
    fi
    echo "== fuzz_$h for ${secs}s"
    "$bin/fuzz_$h" -max_total_time="$secs" -max_len=8192 -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 $leaks "$corpus"
done
