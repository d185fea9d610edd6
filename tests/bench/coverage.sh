#!/bin/sh
# Line coverage of runner/ by `make check`: builds with --coverage in a
# scratch directory, runs the tests there and prints gcov's figure for each
# file and the total.  Needs gcov (part of gcc).
#   usage: tests/bench/coverage.sh
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
[ -x "$top/configure" ] || (cd "$top" && autoreconf -fi >/dev/null)
cd "$dir"
"$top/configure" -q CFLAGS="-O0 -g --coverage" LDFLAGS="--coverage"
make -j"$(nproc)" >/dev/null 2>&1
make -j"$(nproc)" check >/dev/null 2>&1 || echo "note: some tests failed"
gcov -n runner/*.o 2>/dev/null |
    awk -v top="$top/runner/" '
        /^File / { f = $2; gsub("\047", "", f); keep = index(f, top) == 1 && f ~ /\.c$/; next }
        keep && /^Lines executed:/ {
            split($2, a, ":"); pct = a[2]; sub("%", "", pct); n = $4
            sub(top, "", f); printf "%-12s %6.2f%% of %d\n", f, pct, n
            total += n; hit += pct * n / 100; keep = 0
        }
        END { printf "total        %6.2f%% of %d lines\n", hit * 100 / total, total }'
