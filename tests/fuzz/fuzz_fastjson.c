/* fuzz_fastjson.c -- libFuzzer harness: the fast path for jq paths against
 * libjq alone, on arbitrary bodies.
 *
 * The first byte of an input picks a path (of every supported shape), the
 * rest is the body.  Both evaluations must give the same output, printed
 * the same, or the same error; any difference aborts with both shown.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "diag.h"
#include "fastjson_diff.h"
#include "jqset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const exprs[] = {
    ".",           ".a",         ".id",           ".items",
    ".a.b",        ".a[0]",      ".a[-1]",        ".items[0].id",
    ".[0]",        ".[1]",       ".[-1]",         ".[-3]",
    ".[0][0]",     ".[0].a",     ".[\"a\"]",      ".\"x y\"",
    ".\"\"",       ". | length", ".a | length",   ".[0] | length",
    ".a.a.a.a",    ".[2].b[1]",  ".items|length", ".[-1] | length",
};
#define NEXPRS (sizeof(exprs) / sizeof(exprs[0]))

/* Compiled once and kept, as the runner keeps its suite's. */
static struct jqset *set;

static void setup(void)
{
    struct diag *d = diag_new();
    struct pos p = { "fuzz", 1, 1 };
    size_t i;

    set = jqset_new();
    for (i = 0; i < NEXPRS; i++)
        jqset_add(set, exprs[i], p);
    if (jqset_compile(set, d) != PW_OK) {
        diag_print(d, stderr);
        abort();
    }
    diag_free(d);
    for (i = 0; i < NEXPRS; i++)
        if (jqset_fast(set, i) == NULL) {
            fprintf(stderr, "no fast path for %s\n", exprs[i]);
            abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[512];
    size_t idx;
    int fast;

    if (set == NULL)
        setup();
    if (size == 0)
        return 0;
    idx = data[0] % NEXPRS;
    if (!fjdiff_compare(set, idx, (const char *)data + 1, size - 1, &fast,
                        why, sizeof(why))) {
        fprintf(stderr, "expression %s differs: %s\n", exprs[idx], why);
        abort();
    }
    return 0;
}
