#!/bin/sh
# Covering-array benchmark: how many tests `prodwatch expand` makes, and how
# fast, for pairwise matrices of growing size, with and without excludes.
#   usage: tests/bench/matrix_sizes.sh [path/to/prodwatch]
# Excludes are two-parameter combinations drawn by awk's generator from a
# fixed seed, so the files (and the figures) repeat.
set -eu
bin=${1:-build/runner/prodwatch}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
# gen NAME PARAMS VALUES EXCLUDES COVERAGE
gen() {
    awk -v name="$1" -v k="$2" -v v="$3" -v nex="$4" -v cov="$5" 'BEGIN {
        srand(1)
        print "name: " name; print "coverage: " cov; print "matrix:"
        for (i = 0; i < k; i++) {
            line = "  p" i ": ["
            for (j = 0; j < v; j++) line = line (j ? ", " : "") "v" j
            print line "]"
        }
        if (nex > 0) print "  exclude:"
        for (e = 0; e < nex; e++) {
            a = int(rand() * k); do b = int(rand() * k); while (b == a)
            print "    - { p" a ": v" int(rand() * v) ", p" b ": v" int(rand() * v) " }"
        }
        print "steps:"; print "  - name: s"
        print "    request: { url: \"http://127.0.0.1:1/\" }"
    }' > "$dir/$1.s.yaml"
}
gen p13x3 13 3 0 pairwise
gen p10x10 10 10 0 pairwise
gen p10x10x20 10 10 20 pairwise
gen p20x20x50 20 20 50 pairwise
gen p15x5w3 15 5 20 3-wise
gen p30x3 30 3 0 pairwise
gen p20x10 20 10 0 pairwise
gen p256x2 256 2 0 pairwise
gen p256x10 256 10 0 pairwise
# One configuration per scenario: loading builds every scenario's array.
for s in p13x3 p10x10 p10x10x20 p20x10 p20x20x50 p15x5w3 p30x3 p256x2 p256x10; do
    printf 'targets:\n  t: { base_url: "http://127.0.0.1:1" }\nscenarios: ["%s.s.yaml"]\n' \
        "$s" > "$dir/$s.yaml"
    start=$(date +%s%N)
    n=$("$bin" expand -c "$dir/$s.yaml" | wc -l)
    ms=$((($(date +%s%N) - start) / 1000000))
    echo "$s: $n tests in ${ms}ms"
done
