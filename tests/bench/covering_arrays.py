#!/usr/bin/env python3
"""Covering-array sizes of `prodwatch expand` against the best known.

For each case of the table in the README's performance section -- uniform
and mixed parameter counts, strength 2 and 3, one with excludes -- writes a
scenario, runs `prodwatch expand --format json`, checks the rows with a
brute-force checker of its own (every t-tuple of values of every t
parameters appears in a row, no row holds an exclude, every value is one
of its parameter's), and prints rows, the lower bound v^t, the best known
size (Colbourn's covering array tables, November 2024), the best of PICT
3.7.5, jenny, allpairspy and covertable (measured when the issue was
filed), the ratio to the best known, and the time taken.  Ends with the
geometric mean of rows / best known over the tabulated cases.

    usage: tests/bench/covering_arrays.py [path/to/prodwatch]
                                          [--effort N] [CASE...]

--effort sets the scenarios' coverage_effort (default: the scenario
default).

Runs nothing on the network: the scenarios' target is never contacted.
"""
import itertools
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time

# name, strength, [(values, parameters)...], best known, best peer, excludes
CASES = [
    ("3^4", 2, [(3, 4)], 9, 9, 0),
    ("3^13", 2, [(3, 13)], 15, 17, 0),
    ("4^5", 2, [(4, 5)], 16, 20, 0),
    ("5^6", 2, [(5, 6)], 25, 31, 0),
    ("10^10", 2, [(10, 10)], 115, 157, 0),
    ("10^20", 2, [(10, 20)], 155, 197, 0),
    ("2^100", 2, [(2, 100)], 10, 14, 0),
    ("4^15 3^17 2^29", 2, [(4, 15), (3, 17), (2, 29)], 28, 36, 0),
    ("3^6", 3, [(3, 6)], 33, 47, 0),
    ("4^6", 3, [(4, 6)], 64, 111, 0),
    ("5^8", 3, [(5, 8)], 185, 257, 0),
    ("10^64", 2, [(10, 64)], 202, 267, 0),
    ("5^15", 3, [(5, 15)], 245, 353, 0),
    ("10^20, 50 pair excludes", 2, [(10, 20)], None, 197, 50),
]


def levels(spec):
    out = []
    for v, k in spec:
        out += [v] * k
    return out


def excludes_for(lv, n):
    """<n> random two-parameter excludes, the same every time."""
    rnd = random.Random(1)
    ex = set()
    while len(ex) < n:
        a, b = rnd.sample(range(len(lv)), 2)
        ex.add(((a, rnd.randrange(lv[a])), (b, rnd.randrange(lv[b]))))
    return sorted(ex)


def scenario(name, t, lv, ex, effort):
    lines = ["name: ca", "coverage: %s" % ("pairwise" if t == 2 else "%d-wise" % t)]
    if effort is not None:
        lines.append("coverage_effort: %d" % effort)
    lines.append("matrix:")
    for i, v in enumerate(lv):
        lines.append("  p%d: [%s]" % (i, ", ".join("v%d" % j for j in range(v))))
    if ex:
        lines.append("  exclude:")
        for (a, x), (b, y) in ex:
            lines.append("    - { p%d: v%d, p%d: v%d }" % (a, x, b, y))
    lines += ["steps:", "  - name: s",
              '    request: { url: "http://127.0.0.1:1/" }']
    return "\n".join(lines) + "\n"


def check(rows, t, lv, ex):
    """None when <rows> cover every t-tuple and honour the excludes, else
    what is wrong."""
    k = len(lv)
    for r in rows:
        if len(r) != k or any(not 0 <= r[i] < lv[i] for i in range(k)):
            return "a row out of range: %r" % (r,)
        for (a, x), (b, y) in ex:
            if r[a] == x and r[b] == y:
                return "a row holds an exclude: p%d=v%d p%d=v%d" % (a, x, b, y)
    banned = set()
    for (a, x), (b, y) in ex:
        banned.add((a, x, b, y))
        banned.add((b, y, a, x))
    for cols in itertools.combinations(range(k), t):
        seen = {tuple(r[c] for c in cols) for r in rows}
        for vals in itertools.product(*(range(lv[c]) for c in cols)):
            if vals in seen:
                continue
            # A tuple that holds an excluded pair need not be covered.
            if any((cols[i], vals[i], cols[j], vals[j]) in banned
                   for i in range(t) for j in range(i + 1, t)):
                continue
            return "tuple %s = %s not covered" % (cols, vals)
    return None


def main():
    args = sys.argv[1:]
    prodwatch = args.pop(0) if args and os.path.sep in args[0] else "build/runner/prodwatch"
    effort = None
    if args[:1] == ["--effort"] and len(args) > 1:
        effort = int(args[1])
        del args[:2]
    wanted = set(args)
    ratios = []
    print("%-26s %2s %6s %6s %6s %6s %7s %9s" % (
        "case", "t", "rows", "v^t", "best", "peers", "/best", "time"))
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "p.yaml"), "w") as f:
            f.write('targets:\n  t: { base_url: "http://127.0.0.1:1" }\n'
                    'scenarios: ["ca.yaml"]\n')
        for name, t, spec, best, peer, nex in CASES:
            if wanted and name not in wanted:
                continue
            lv = levels(spec)
            ex = excludes_for(lv, nex)
            with open(os.path.join(d, "ca.yaml"), "w") as f:
                f.write(scenario(name, t, lv, ex, effort))
            start = time.monotonic()
            p = subprocess.run([prodwatch, "expand", "-c", os.path.join(d, "p.yaml"),
                                "--format", "json"], capture_output=True, text=True)
            secs = time.monotonic() - start
            lower = max(lv) ** t
            if p.returncode != 0:
                why = (p.stderr.strip().splitlines() or ["exit %d" % p.returncode])[-1]
                print("%-26s %2d %6s %6d %6s %6s %7s %9s  refused: %s" % (
                    name, t, "-", lower, best or "-", peer, "-", "-", why[:80]))
                continue
            rows = []
            for line in p.stdout.splitlines():
                params = json.loads(line)["params"]
                rows.append(tuple(int(params["p%d" % i][1:]) for i in range(len(lv))))
            bad = check(rows, t, lv, ex)
            if bad:
                print("%-26s %2d  NOT A COVERING ARRAY: %s" % (name, t, bad))
                sys.exit(1)
            ratio = len(rows) / best if best else None
            if ratio:
                ratios.append(ratio)
            print("%-26s %2d %6d %6d %6s %6d %7s %8.2fs%s" % (
                name, t, len(rows), lower, best or "-", peer,
                "%.2f" % ratio if ratio else "-", secs,
                "  (above the best peer)" if len(rows) > peer else ""))
    if ratios:
        g = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
        print("geometric mean of rows / best known over %d cases: %.3f" % (len(ratios), g))


if __name__ == "__main__":
    main()
