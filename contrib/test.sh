#!/bin/sh
# Every test on a fresh Debian 12 machine: install dependencies, then build
# and run `make check` twice -- once with -Werror, once more under
# AddressSanitizer and UndefinedBehaviorSanitizer.
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
            grep -q '^FAIL\|^ERROR' "${log%.log}.trs" 2>/dev/null &&
                { echo "== $log"; cat "$log"; }
        done
        exit 1
    fi
done
