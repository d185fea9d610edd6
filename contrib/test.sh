#!/bin/sh
# Every test on a fresh Debian 12 machine: install dependencies, then build
# and run `make check` twice -- once with -Werror, once more under
# AddressSanitizer and UndefinedBehaviorSanitizer -- and print the total of
# individual test cases.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
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
        for log in "$dir"/tests/*.log; do
            grep -q '^:test-result: \(FAIL\|ERROR\)' "${log%.log}.trs" \
                2>/dev/null && { echo "== $log"; cat "$log"; }
        done
        exit 1
    fi
done
# Check's "N%: Checks: N, Failures: F, Errors: E" and the shell tests'
# "N passed, N failed", summed over both builds.
cat build/tests/*.log build-san/tests/*.log | awk '
    /^[0-9]+%: Checks: / { gsub(",", ""); p += $3 - $5 - $7; f += $5 + $7 }
    /^[0-9]+ passed, [0-9]+ failed$/ { p += $1; f += $3 }
    END { printf "tests: %d passed, %d failed\n", p, f; exit f > 0 }'
