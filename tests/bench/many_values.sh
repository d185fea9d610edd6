#!/bin/sh
# Load time and peak memory of a scenario whose one matrix parameter has N
# values (default 100,000), read from a values_from file and written inline
# in the YAML, through `prodwatch check`; best of 3 for each.
#   usage: tests/bench/many_values.sh [N] [path/to/prodwatch]
set -eu
n=${1:-100000}
bin=${2:-build/runner/prodwatch}
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (Debian: time)" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++) printf "site-%06d.example.com\n", i }' \
    > "$dir/sites.txt"
step='steps:
  - name: a
    request: { url: "{{ target.base_url }}/healthz?site={{ matrix.site }}" }'
printf 'name: fromfile\nmatrix:\n  site: { values_from: sites.txt }\n%s\n' \
    "$step" > "$dir/file.s.yaml"
{
    printf 'name: inline\nmatrix:\n  site:\n'
    sed 's/^/    - /' "$dir/sites.txt"
    printf '%s\n' "$step"
} > "$dir/inline.s.yaml"
for kind in file inline; do
    printf 'targets:\n  t: { base_url: "http://127.0.0.1:1" }\nscenarios: ["%s.s.yaml"]\n' \
        "$kind" > "$dir/$kind.yaml"
    best=
    for i in 1 2 3; do
        /usr/bin/time -f '%e %M' -o "$dir/time" "$bin" check -c "$dir/$kind.yaml" > /dev/null
        line=$(cat "$dir/time")
        if [ -z "$best" ] || [ "$(echo "$line $best" | awk '{ print ($1 < $3) }')" = 1 ]; then
            best=$line
        fi
    done
    echo "$best" | awk -v k="$kind" -v n="$n" \
        '{ printf "%s: %d values, %.2f s, max RSS %.1f MB\n", k, n, $1, $2 / 1024 }'
done
