#!/bin/sh
# Every test on a fresh Debian 12 machine: install dependencies, then build
# and run `make check` twice -- once with -Werror, once more under
# AddressSanitizer and UndefinedBehaviorSanitizer -- then `make distcheck`
# from the first build (the tarball carries what it needs, and the suite
# passes from a read-only copy of it), and print the total of individual
# test cases.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

# show_failures DIR: print the log of each test that failed under DIR.
show_failures() {
    for log in "$1"/*.log; do
        grep -q '^:test-result: \(FAIL\|ERROR\)' "${log%.log}.trs" \
            2>/dev/null && { echo "== $log"; cat "$log"; }
    done
}

sh contrib/install-deps.sh
for variant in plain sanitizers; do
    if [ "$variant" = plain ]; then
        dir=build; flags=--enable-werror
    else
        dir=build-san; flags="--enable-werror --enable-sanitizers"
    fi
    echo "== make check ($variant)"
    sh contrib/build.sh "$dir" $flags
    if ! make -C "$dir" -j"$(nproc)" check; then
        show_failures "$dir/tests"
        exit 1
    fi
done
# Its output is long and says little; it is kept in build/distcheck.log.
echo "== make distcheck (plain)"
start=$(date +%s)
if ! make -C build -j"$(nproc)" distcheck \
        DISTCHECK_CONFIGURE_FLAGS=--enable-werror \
        > build/distcheck.log 2>&1; then
    tail -n 40 build/distcheck.log
    for t in build/prodwatch-*/_build/sub/tests; do
        [ -d "$t" ] && show_failures "$t"
    done
    exit 1
fi
grep -E '^# (TOTAL|PASS|FAIL|ERROR):' build/distcheck.log
echo "distcheck passed in $(($(date +%s) - start))s"
# Check's "N%: Checks: N, Failures: F, Errors: E" and the shell tests'
# "N passed, N failed", summed over both builds.
cat build/tests/*.log build-san/tests/*.log | awk '
    /^[0-9]+%: Checks: / { gsub(",", ""); p += $3 - $5 - $7; f += $5 + $7 }
    /^[0-9]+ passed, [0-9]+ failed$/ { p += $1; f += $3 }
    END { printf "tests: %d passed, %d failed\n", p, f; exit f > 0 }'
