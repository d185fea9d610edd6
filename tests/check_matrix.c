/* check_matrix.c -- full products, covering arrays and test ids. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expand.h"
#include "matrix.h"
#include "oa.h"
#include "testutil.h"
#include "xalloc.h"

/* A matrix of <k> parameters p0..p(k-1) with <v>[i] values each, named
 * "0", "1", ... */
static struct matrix *make(size_t k, const size_t *v, unsigned t)
{
    struct matrix *m = matrix_new();
    size_t i, j;

    for (i = 0; i < k; i++) {
        char name[32];

        snprintf(name, sizeof(name), "p%zu", i);
        matrix_add_param(m, name);
        for (j = 0; j < v[i]; j++) {
            char val[32];

            snprintf(val, sizeof(val), "%zu", j);
            matrix_add_value(m, i, val);
        }
    }
    matrix_set_strength(m, t);
    return m;
}

/* All rows as value indices, row-major; returns the count. */
static size_t rows_of(struct matrix *m, size_t **out)
{
    struct matrix_iter it;
    const char *const *row;
    size_t k = matrix_param_count(m), n = 0, alloc = 0, i;
    size_t *rows = NULL;

    ck_assert_int_eq(matrix_iter_init(&it, m, NULL), PW_OK);
    while (matrix_iter_next(&it, &row)) {
        if ((n + 1) * k > alloc) {
            alloc = (n + 1) * k * 2;
            rows = realloc(rows, alloc * sizeof(size_t));
        }
        for (i = 0; i < k; i++)
            rows[n * k + i] = (size_t)strtoul(row[i], NULL, 10);
        n++;
    }
    matrix_iter_release(&it);
    *out = rows;
    return n;
}

static int row_excluded(const int *ex, size_t nex, size_t k, const size_t *r)
{
    size_t e, i;

    for (e = 0; e < nex; e++) {
        for (i = 0; i < k; i++)
            if (ex[e * k + i] >= 0 && (size_t)ex[e * k + i] != r[i])
                break;
        if (i == k)
            return 1;
    }
    return 0;
}

/* Whether some full row that matches no exclude has <tup>[i] at each
 * parameter <par>[i] (i < t).  Brute force over the product. */
static int tuple_allowed(size_t k, const size_t *v, const int *ex, size_t nex,
                         unsigned t, const size_t *par, const size_t *tup)
{
    size_t total = 1, i, j, a;
    size_t full[8];

    for (i = 0; i < k; i++)
        total *= v[i];
    for (i = 0; i < total; i++) {
        size_t x = i;

        for (a = k; a > 0; a--) {
            full[a - 1] = x % v[a - 1];
            x /= v[a - 1];
        }
        for (j = 0; j < t; j++)
            if (full[par[j]] != tup[j])
                break;
        if (j == t && !row_excluded(ex, nex, k, full))
            return 1;
    }
    return 0;
}

/* Check that <rows> is a t-way covering array (t = 2 or 3) of the matrix
 * described by <k>, <v> and the excludes: no row matches an exclude, and
 * every t-tuple that some allowed row could hold is held by some row. */
static void assert_covering(size_t k, const size_t *v, const int *ex,
                            size_t nex, unsigned t, const size_t *rows,
                            size_t nrows)
{
    size_t par[3], tup[3], r, j;

    for (r = 0; r < nrows; r++)
        ck_assert_msg(!row_excluded(ex, nex, k, rows + r * k),
                      "row %zu matches an exclude", r);
    for (par[0] = 0; par[0] < k; par[0]++)
        for (par[1] = par[0] + 1; par[1] < k; par[1]++)
            for (par[2] = t == 3 ? par[1] + 1 : 0;
                 t == 2 ? par[2] == 0 : par[2] < k; par[2]++) {
                size_t combos =
                    v[par[0]] * v[par[1]] * (t == 3 ? v[par[2]] : 1);
                size_t c;

                for (c = 0; c < combos; c++) {
                    int found = 0;

                    tup[0] = c % v[par[0]];
                    tup[1] = (c / v[par[0]]) % v[par[1]];
                    tup[2] = t == 3 ? c / (v[par[0]] * v[par[1]]) : 0;
                    for (r = 0; r < nrows && !found; r++) {
                        for (j = 0; j < t; j++)
                            if (rows[r * k + par[j]] != tup[j])
                                break;
                        found = j == t;
                    }
                    if (found)
                        continue;
                    ck_assert_msg(
                        k > 8 || !tuple_allowed(k, v, ex, nex, t, par, tup),
                        "allowed tuple not covered (params %zu "
                        "%zu)",
                        par[0], par[1]);
                    ck_assert_msg(k <= 8, "tuple not covered");
                }
            }
}

/* Build the <t>-wise array of <k> parameters of <v> values: it has
 * exactly <want> rows and covers every tuple. */
static void assert_cover_rows(size_t k, const size_t *v, unsigned t,
                              size_t want)
{
    struct matrix *m = make(k, v, t);
    size_t *rows, n = rows_of(m, &rows);

    ck_assert_uint_eq(n, want);
    assert_covering(k, v, NULL, 0, t, rows, n);
    free(rows);
    matrix_free(m);
}

START_TEST(test_matrix_covering_property_random)
{
    unsigned seed = 12345;
    int round;

    for (round = 0; round < 60; round++) {
        size_t k = 2 + (size_t)(rand_r(&seed) % 5), v[8], i, e;
        unsigned t = (round % 3 == 2 && k > 3) ? 3 : 2;
        size_t nex = (size_t)(rand_r(&seed) % 4);
        int ex[4 * 8];
        struct matrix *m;
        size_t *rows, n;

        for (i = 0; i < k; i++)
            v[i] = 1 + (size_t)(rand_r(&seed) % 4);
        m = make(k, v, t);
        for (e = 0; e < nex; e++) {
            size_t p1 = (size_t)rand_r(&seed) % k;
            size_t p2 = (size_t)rand_r(&seed) % k;

            for (i = 0; i < k; i++)
                ex[e * k + i] = -1;
            ex[e * k + p1] = (int)((size_t)rand_r(&seed) % v[p1]);
            ex[e * k + p2] = (int)((size_t)rand_r(&seed) % v[p2]);
            matrix_add_exclude(m, ex + e * k);
        }
        n = rows_of(m, &rows);
        if (t < k)
            assert_covering(k, v, ex, nex, t, rows, n);
        free(rows);
        matrix_free(m);
    }
}
END_TEST

START_TEST(test_matrix_pairwise_sizes)
{
    static const size_t three[13] = { 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3 };
    static const struct {
        size_t k, most;
    } cases[] = { { 3, 9 }, { 4, 11 }, { 13, 20 } };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct matrix *m = make(cases[i].k, three, 2);
        size_t *rows, n = rows_of(m, &rows);

        ck_assert_msg(n <= cases[i].most, "3^%zu pairwise: %zu rows > %zu",
                      cases[i].k, n, cases[i].most);
        ck_assert_uint_ge(n, 9);
        assert_covering(cases[i].k, three, NULL, 0, 2, rows, n);
        free(rows);
        matrix_free(m);
    }
}
END_TEST

/* Bush's arrays, checked by brute force: for each field up to 32 at
 * strength 2 (and up to 9 at strength 3), every t of the q + 1 columns
 * hold every t-tuple of symbols exactly once. */
START_TEST(test_oa_bush_is_orthogonal)
{
    static const unsigned qs[] = { 2, 3, 4, 5, 7, 8, 9, 11, 13, 16, 25, 27, 32 };
    size_t i;

    ck_assert_uint_eq(oa_field_order(0), 2);
    ck_assert_uint_eq(oa_field_order(6), 7);
    ck_assert_uint_eq(oa_field_order(10), 11);
    ck_assert_uint_eq(oa_field_order(24), 25);
    ck_assert_uint_eq(oa_field_order(OA_MAX_Q + 1), 0);
    ck_assert_ptr_null(oa_bush(6, 2, 3, &i));   /* not a prime power */
    ck_assert_ptr_null(oa_bush(5, 2, 7, &i));   /* more than q + 1 */
    ck_assert_ptr_null(oa_bush(2, 3, 3, &i));   /* t > q */
    for (i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
        unsigned q = qs[i], t;

        for (t = 2; t <= 3 && t <= q && (t == 2 || q <= 9); t++) {
            size_t k = q + 1, n, c[3], r;
            size_t *rows = oa_bush(q, t, k, &n);
            unsigned *seen = xcalloc((size_t)q * q * q, sizeof(unsigned));

            ck_assert_ptr_nonnull(rows);
            ck_assert_uint_eq(n, t == 2 ? q * q : q * q * q);
            for (c[0] = 0; c[0] < k; c[0]++)
                for (c[1] = c[0] + 1; c[1] < k; c[1]++)
                    for (c[2] = t == 3 ? c[1] + 1 : 0;
                         t == 2 ? c[2] == 0 : c[2] < k; c[2]++) {
                        memset(seen, 0, (size_t)q * q * q * sizeof(unsigned));
                        for (r = 0; r < n; r++) {
                            const size_t *row = rows + r * k;
                            size_t at = row[c[0]] * q + row[c[1]];

                            if (t == 3)
                                at = at * q + row[c[2]];
                            ck_assert_msg(seen[at]++ == 0,
                                          "q %u t %u: columns %zu %zu %zu "
                                          "repeat a tuple",
                                          q, t, c[0], c[1], c[2]);
                        }
                    }
            free(seen);
            free(rows);
        }
    }
}
END_TEST

/* The binary construction, checked by brute force for every width up to
 * 300: every two columns hold 00, 01, 10 and 11, in the fewest rows
 * there can be for that width. */
START_TEST(test_oa_binary_covers)
{
    size_t k;

    ck_assert_ptr_null(oa_binary(1, &k));
    for (k = 2; k <= 300; k++) {
        size_t n, a, b, r, want;
        size_t *rows = oa_binary(k, &n);

        want = k <= 3 ? 4 : k <= 4 ? 5 : k <= 10 ? 6 : k <= 15 ? 7
             : k <= 35 ? 8 : k <= 56 ? 9 : k <= 126 ? 10 : k <= 210 ? 11
             : 12;
        ck_assert_ptr_nonnull(rows);
        ck_assert_msg(n == want, "%zu columns: %zu rows, not %zu", k, n, want);
        /* Plain tests in the loop: a Check assertion per pair is slow. */
        for (a = 0; a < k; a++)
            for (b = a + 1; b < k; b++) {
                unsigned seen = 0;

                for (r = 0; r < n; r++)
                    if (rows[r * k + a] <= 1 && rows[r * k + b] <= 1)
                        seen |= 1u << (rows[r * k + a] * 2 + rows[r * k + b]);
                if (seen != 15)
                    ck_abort_msg("%zu columns: %zu and %zu miss a pair", k,
                                 a, b);
            }
        free(rows);
    }
}
END_TEST

/* The product of two Bush arrays, checked by brute force: every two of
 * up to q^2 columns hold every pair of symbols, in 2q^2 - q rows. */
START_TEST(test_oa_bush_squared_covers)
{
    static const unsigned qs[] = { 2, 3, 4, 5, 7, 8, 9, 11, 13 };
    size_t i, n;

    ck_assert_ptr_null(oa_bush_squared(5, 5, &n));  /* Bush's own fits */
    ck_assert_ptr_null(oa_bush_squared(5, 26, &n)); /* more than q^2 */
    ck_assert_ptr_null(oa_bush_squared(6, 10, &n)); /* not a prime power */
    for (i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
        unsigned q = qs[i];
        size_t k = (size_t)q * q, a, b, r;
        size_t *rows = oa_bush_squared(q, k, &n);
        unsigned char *seen = xmalloc((size_t)q * q);

        ck_assert_ptr_nonnull(rows);
        ck_assert_uint_eq(n, 2 * q * q - q);
        for (a = 0; a < k; a++)
            for (b = a + 1; b < k; b++) {
                size_t have = 0;

                memset(seen, 0, (size_t)q * q);
                for (r = 0; r < n; r++) {
                    size_t at = rows[r * k + a] * q + rows[r * k + b];

                    if (rows[r * k + a] < q && rows[r * k + b] < q &&
                        !seen[at]) {
                        seen[at] = 1;
                        have++;
                    }
                }
                if (have != (size_t)q * q)
                    ck_abort_msg("q %u: columns %zu and %zu miss a pair", q,
                                 a, b);
            }
        free(seen);
        free(rows);
    }
}
END_TEST

/* Two strength-3 Bush arrays side by side, checked by brute force: every
 * three of up to 2(q + 1) columns hold every triple of symbols, in
 * q^3 + (q - 1)q^2 rows. */
START_TEST(test_oa_bush_doubled_covers)
{
    static const unsigned qs[] = { 3, 4, 5, 7 };
    size_t i, n;

    ck_assert_ptr_null(oa_bush_doubled(5, 6, &n));  /* Bush's own fits */
    ck_assert_ptr_null(oa_bush_doubled(5, 13, &n)); /* more than 2(q+1) */
    ck_assert_ptr_null(oa_bush_doubled(2, 5, &n));  /* t > q */
    for (i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
        unsigned q = qs[i];
        size_t k = 2 * ((size_t)q + 1), c[3], r, qq = (size_t)q * q * q;
        size_t *rows = oa_bush_doubled(q, k, &n);
        unsigned char *seen = xmalloc(qq);

        ck_assert_ptr_nonnull(rows);
        ck_assert_uint_eq(n, qq + (q - 1) * q * q);
        for (c[0] = 0; c[0] < k; c[0]++)
            for (c[1] = c[0] + 1; c[1] < k; c[1]++)
                for (c[2] = c[1] + 1; c[2] < k; c[2]++) {
                    size_t have = 0;

                    memset(seen, 0, qq);
                    for (r = 0; r < n; r++) {
                        const size_t *row = rows + r * k;
                        size_t at;

                        if (row[c[0]] >= q || row[c[1]] >= q ||
                            row[c[2]] >= q)
                            continue;
                        at = (row[c[0]] * q + row[c[1]]) * q + row[c[2]];
                        if (!seen[at]) {
                            seen[at] = 1;
                            have++;
                        }
                    }
                    if (have != qq)
                        ck_abort_msg("q %u: columns %zu %zu %zu miss a "
                                     "triple", q, c[0], c[1], c[2]);
                }
        free(seen);
        free(rows);
    }
}
END_TEST

/* A matrix of the same shape takes over a built array; one that differs in an exclude, an include, the strength or the
 * effort does not, nor does one not built yet or an unbuilt source. */
START_TEST(test_matrix_adopt)
{
    static const size_t v[6] = { 4, 3, 4, 2, 3, 4 };
    int ex[6] = { 1, -1, 2, -1, -1, -1 };
    const char *inc[6] = { "0", "1", "2", "1", "0", "9" };
    struct matrix *a = make(6, v, 2), *b = make(6, v, 2), *c;
    size_t *ra, *rb, na, nb;
    uint64_t n;

    matrix_add_exclude(a, ex);
    matrix_add_exclude(b, ex);
    ck_assert_int_eq(matrix_adopt(b, a), 0); /* a is not built yet */
    na = rows_of(a, &ra);
    ck_assert_int_eq(matrix_adopt(b, a), 1);
    ck_assert_int_eq(matrix_adopt(b, a), 0); /* b has its rows now */
    nb = rows_of(b, &rb);
    ck_assert_uint_eq(na, nb);
    ck_assert_int_eq(memcmp(ra, rb, na * 6 * sizeof(size_t)), 0);
    free(rb);
    matrix_free(b);

    c = make(6, v, 2);
    ck_assert_int_eq(matrix_adopt(c, a), 0); /* no exclude */
    matrix_add_exclude(c, ex);
    matrix_add_include(c, inc);
    ck_assert_int_eq(matrix_adopt(c, a), 0); /* an include */
    matrix_free(c);
    c = make(6, v, 3);
    matrix_add_exclude(c, ex);
    ck_assert_int_eq(matrix_adopt(c, a), 0); /* strength */
    matrix_free(c);
    c = make(6, v, 2);
    matrix_add_exclude(c, ex);
    matrix_set_effort(c, 0);
    ck_assert_int_eq(matrix_adopt(c, a), 0); /* effort */
    ck_assert_int_eq(matrix_count(c, UINT64_MAX, &n, NULL), PW_OK);
    matrix_free(c);
    c = make(6, v, 0);
    ck_assert_int_eq(matrix_adopt(c, a), 0); /* all: no array */
    matrix_free(c);
    free(ra);
    matrix_free(a);
}
END_TEST

/* The search after the greedy array: 3^13 pairwise down to the 15 rows
 * of the best known array; 100 and 256 two-valued parameters in the 10
 * and 12 rows of the binary construction; more effort never gives more
 * rows, none gives the greedy's own, and the same effort the same rows. */
START_TEST(test_matrix_search)
{
    size_t v[256], *rows, *again, n0, n1, n4, i;
    struct matrix *m;

    for (i = 0; i < 256; i++)
        v[i] = i < 13 ? 3 : 2;
    m = make(13, v, 2);
    ck_assert_uint_eq(matrix_effort(m), MATRIX_DEFAULT_EFFORT);
    matrix_free(m);
    assert_cover_rows(13, v, 2, 15);

    for (i = 0; i < 256; i++)
        v[i] = 2;
    assert_cover_rows(100, v, 2, 10);
    assert_cover_rows(256, v, 2, 12);

    for (i = 0; i < 256; i++)
        v[i] = 6;
    m = make(12, v, 2);
    matrix_set_effort(m, 0);
    n0 = rows_of(m, &rows);
    free(rows);
    matrix_free(m);
    m = make(12, v, 2);
    n1 = rows_of(m, &rows);
    free(rows);
    matrix_free(m);
    m = make(12, v, 2);
    matrix_set_effort(m, 2);
    n4 = rows_of(m, &rows);
    assert_covering(12, v, NULL, 0, 2, rows, n4);
    matrix_free(m);
    m = make(12, v, 2);
    matrix_set_effort(m, 2);
    ck_assert_uint_eq(rows_of(m, &again), n4);
    ck_assert_int_eq(memcmp(rows, again, n4 * 12 * sizeof(size_t)), 0);
    free(rows);
    free(again);
    matrix_free(m);
    ck_assert_msg(n1 < n0 && n4 <= n1, "6^12: %zu rows without search, "
                  "%zu by default, %zu with effort 2", n0, n1, n4);
}
END_TEST

/* Where an orthogonal array fits, the matrix takes it: 5^6 pairwise in
 * the 25 rows no array can go below, 4^5 3-wise in 64; with excludes its
 * rows that break one are left out and the rest is still covered. */
START_TEST(test_matrix_orthogonal_arrays)
{
    static const size_t five[6] = { 5, 5, 5, 5, 5, 5 };
    static const size_t four[5] = { 4, 4, 4, 4, 4 };
    static const size_t mixed[6] = { 5, 4, 3, 5, 2, 5 };
    int ex[2 * 6] = { 0, 1, -1, -1, -1, -1, -1, -1, 2, -1, -1, 4 };
    struct matrix *m;
    size_t *rows, n;

    assert_cover_rows(6, five, 2, 25);
    assert_cover_rows(5, four, 3, 64);

    m = make(6, mixed, 2);
    matrix_add_exclude(m, ex);
    matrix_add_exclude(m, ex + 6);
    n = rows_of(m, &rows);
    ck_assert_uint_le(n, 27);
    assert_covering(6, mixed, ex, 2, 2, rows, n);
    free(rows);
    matrix_free(m);
}
END_TEST

/* The figures of expand --stats: rows, the lower bound from the largest
 * value counts, the tuples an exclude leaves required. */
START_TEST(test_matrix_stats)
{
    static const size_t v[4] = { 3, 2, 4, 3 };
    int ex[4] = { 0, 1, -1, -1 };
    struct matrix_stats st;
    struct matrix *m = make(4, v, 2);
    size_t *rows, n;

    matrix_add_exclude(m, ex);
    ck_assert_int_eq(matrix_stats(m, &st, NULL), PW_OK);
    ck_assert_uint_eq(st.strength, 2);
    ck_assert_uint_eq(st.lower_bound, 12);
    /* 6 + 12 + 9 + 8 + 6 + 12 pairs, less p0=0 with p1=1. */
    ck_assert_uint_eq(st.required, 52);
    ck_assert(st.build_ms >= 0);
    n = rows_of(m, &rows);
    ck_assert_uint_eq(st.rows, n);
    free(rows);
    matrix_free(m);

    m = make(3, v, 0);
    ck_assert_int_eq(matrix_stats(m, &st, NULL), PW_OK);
    ck_assert_uint_eq(st.strength, 0);
    ck_assert_uint_eq(st.rows, 24);
    ck_assert_uint_eq(st.lower_bound, 24);
    ck_assert_uint_eq(st.required, 0);
    matrix_free(m);
}
END_TEST

START_TEST(test_matrix_three_wise)
{
    static const size_t v[6] = { 2, 2, 2, 2, 2, 2 };
    struct matrix *m = make(6, v, 3);
    size_t *rows, n = rows_of(m, &rows);

    assert_covering(6, v, NULL, 0, 3, rows, n);
    ck_assert_uint_lt(n, 64);
    ck_assert_uint_le(n, 16);
    free(rows);
    matrix_free(m);
}
END_TEST

START_TEST(test_matrix_deterministic)
{
    static const size_t v[7] = { 3, 4, 2, 5, 3, 2, 4 };
    int ex[7] = { 1, -1, 0, -1, -1, -1, -1 };
    struct matrix *a = make(7, v, 2), *b = make(7, v, 2);
    size_t *ra, *rb, na, nb;

    matrix_add_exclude(a, ex);
    matrix_add_exclude(b, ex);
    na = rows_of(a, &ra);
    nb = rows_of(b, &rb);
    ck_assert_uint_eq(na, nb);
    ck_assert_int_eq(memcmp(ra, rb, na * 7 * sizeof(size_t)), 0);
    /* Iterating again gives the same rows too. */
    free(rb);
    nb = rows_of(a, &rb);
    ck_assert_uint_eq(na, nb);
    ck_assert_int_eq(memcmp(ra, rb, na * 7 * sizeof(size_t)), 0);
    free(ra);
    free(rb);
    matrix_free(a);
    matrix_free(b);
}
END_TEST

START_TEST(test_matrix_all_with_exclude_and_include)
{
    static const size_t v[2] = { 3, 2 };
    struct matrix *m = make(2, v, 0);
    int ex[2] = { 1, 0 };
    const char *inc_new[2] = { "9", "0" };
    const char *inc_dup[2] = { "0", "1" };
    const char *inc_excl[2] = { "1", "0" };
    size_t *rows, n;

    matrix_add_exclude(m, ex);
    matrix_add_include(m, inc_new);
    matrix_add_include(m, inc_dup);
    matrix_add_include(m, inc_excl);
    matrix_add_include(m, inc_new);
    n = rows_of(m, &rows);
    /* 6 - 1 excluded + 1 new + the excluded one included again. */
    ck_assert_uint_eq(n, 7);
    ck_assert_uint_eq(rows[0], 0);
    ck_assert_uint_eq(rows[1], 0);
    ck_assert_uint_eq(rows[2 * 2], 1); /* (1,1): (1,0) was skipped */
    ck_assert_uint_eq(rows[2 * 2 + 1], 1);
    ck_assert_uint_eq(rows[5 * 2], 9);
    ck_assert_uint_eq(rows[6 * 2], 1);
    ck_assert_uint_eq(rows[6 * 2 + 1], 0);
    free(rows);
    matrix_free(m);
}
END_TEST

START_TEST(test_matrix_all_is_lazy)
{
    size_t v[20], i;
    struct matrix *m;
    struct matrix_iter it;
    const char *const *row;

    for (i = 0; i < 20; i++)
        v[i] = 10;
    m = make(20, v, 0); /* 10^20 rows */
    ck_assert_int_eq(matrix_iter_init(&it, m, NULL), PW_OK);
    for (i = 0; i < 1000; i++)
        ck_assert(matrix_iter_next(&it, &row));
    ck_assert_str_eq(row[19], "9");
    ck_assert_str_eq(row[17], "9");
    ck_assert_str_eq(row[16], "0");
    matrix_iter_release(&it);
    matrix_free(m);
}
END_TEST

START_TEST(test_matrix_strength_at_least_params_means_all)
{
    static const size_t v[2] = { 2, 3 };
    struct matrix *m = make(2, v, 2);
    size_t *rows;

    ck_assert_uint_eq(rows_of(m, &rows), 6);
    free(rows);
    matrix_free(m);
}
END_TEST

START_TEST(test_matrix_no_params_one_row)
{
    struct matrix *m = matrix_new();
    struct matrix_iter it;
    const char *const *row;

    ck_assert_int_eq(matrix_iter_init(&it, m, NULL), PW_OK);
    ck_assert(matrix_iter_next(&it, &row));
    ck_assert(!matrix_iter_next(&it, &row));
    matrix_iter_release(&it);
    matrix_free(m);
}
END_TEST

START_TEST(test_matrix_test_ids)
{
    char *msgs;
    struct scenario *sc = tu_scenario("name: checkout\n"
                                      "matrix:\n"
                                      "  locale: [en, \"a,b=c[d]%\"]\n"
                                      "  pay: [card]\n"
                                      "steps:\n"
                                      "  - name: x\n"
                                      "    request: { url: http://x }\n",
                                      &msgs);
    struct scenario *plain;
    struct sbuf id = SBUF_INIT;
    const char *row1[2] = { "en", "card" };
    const char *row2[2] = { "a,b=c[d]%", "card" };

    ck_assert_ptr_nonnull(sc);
    expand_test_id(&id, sc, "prod", row1);
    ck_assert_str_eq(id.buf, "checkout@prod[locale=en,pay=card]");
    sbuf_reset(&id);
    expand_test_id(&id, sc, "prod", row2);
    ck_assert_str_eq(id.buf,
                     "checkout@prod[locale=a%2Cb%3Dc%5Bd%5D%25,pay=card]");
    free(msgs);
    tu_scenario_free(sc);
    plain = tu_scenario("name: health\nsteps:\n  - name: x\n    request: "
                        "{ url: http://x }\n",
                        &msgs);
    sbuf_reset(&id);
    expand_test_id(&id, plain, "canary", NULL);
    ck_assert_str_eq(id.buf, "health@canary");
    free(msgs);
    tu_scenario_free(plain);
    sbuf_release(&id);
}
END_TEST

/* A random matrix from <seed>: one to six parameters of one to four
 * values (their counts in <v>, the parameter count in *<k>), up to six
 * excludes of one to three parameters and up to two includes, some with
 * values outside the lists; *<ninc> is the include count. */
static struct matrix *random_matrix(unsigned *seed, unsigned t, size_t *k,
                                    size_t *v, size_t *ninc)
{
    size_t nex, i, e, j;
    struct matrix *m;
    int ex[8];

    *k = 1 + (size_t)(rand_r(seed) % 6);
    nex = (size_t)(rand_r(seed) % 7);
    *ninc = (size_t)(rand_r(seed) % 3);
    for (i = 0; i < *k; i++)
        v[i] = 1 + (size_t)(rand_r(seed) % 4);
    m = make(*k, v, t);
    for (e = 0; e < nex; e++) {
        size_t width = 1 + (size_t)rand_r(seed) % 3;

        for (i = 0; i < *k; i++)
            ex[i] = -1;
        for (j = 0; j < width; j++) {
            size_t p = (size_t)rand_r(seed) % *k;

            ex[p] = (int)((size_t)rand_r(seed) % v[p]);
        }
        matrix_add_exclude(m, ex);
    }
    for (e = 0; e < *ninc; e++) {
        const char *row[8];
        char vals[8][24];

        for (i = 0; i < *k; i++) {
            snprintf(vals[i], sizeof(vals[i]), "%zu",
                     (size_t)rand_r(seed) % (v[i] + 1));
            row[i] = vals[i];
        }
        matrix_add_include(m, row);
    }
    return m;
}

/* Counting agrees with enumeration on random small matrices with
 * excludes (of one to three parameters) and includes, for all and
 * t-wise coverage alike. */
START_TEST(test_matrix_count_matches_enumeration)
{
    unsigned seed = 777;
    int round;

    for (round = 0; round < 300; round++) {
        unsigned t = round % 4 == 3 ? 2 : 0;
        size_t k, v[8], ninc;
        struct matrix *m = random_matrix(&seed, t, &k, v, &ninc);
        size_t *rows, n;
        uint64_t counted = 12345;

        ck_assert_int_eq(matrix_count(m, UINT64_MAX, &counted, NULL), PW_OK);
        n = rows_of(m, &rows);
        ck_assert_msg(counted == n, "round %d: counted %llu, enumerated %zu",
                      round, (unsigned long long)counted, n);
        free(rows);
        matrix_free(m);
    }
}
END_TEST

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* Every position the iterator hands out gives back the same row through
 * matrix_row_at(), and every other position in range gives nothing, for
 * random matrices with excludes and includes, all and pairwise. */
START_TEST(test_matrix_row_at_matches_iteration)
{
    unsigned seed = 4242;
    int round;

    for (round = 0; round < 300; round++) {
        unsigned t = round % 3 == 2 ? 2 : 0;
        size_t k, v[8], ninc, i;
        struct matrix *m = random_matrix(&seed, t, &k, v, &ninc);
        uint64_t product = 1, pos, yielded = 0, found = 0, *seen = NULL;
        size_t nseen = 0, alloc = 0;
        struct matrix_iter it;
        const char *const *row;
        const char *back[8];

        for (i = 0; i < k; i++)
            product *= v[i];
        if (t == 2 && k > 2)
            ck_assert_int_eq(matrix_row_at(m, 0, back), -1);
        ck_assert_int_eq(matrix_iter_init(&it, m, NULL), PW_OK);
        while (matrix_iter_next(&it, &row)) {
            pos = matrix_iter_pos(&it);
            ck_assert_int_eq(matrix_row_at(m, pos, back), 1);
            for (i = 0; i < k; i++)
                ck_assert_str_eq(back[i], row[i]);
            XGROW(seen, nseen + 1, alloc);
            seen[nseen++] = pos;
            yielded++;
        }
        matrix_iter_release(&it);
        /* Nothing else in range is a row: count what answers 1. */
        for (pos = 0; pos < product; pos++)
            found += (uint64_t)(matrix_row_at(m, pos, back) == 1);
        for (pos = 0; pos < ninc + 2; pos++)
            found += (uint64_t)(
                matrix_row_at(m, MATRIX_POS_INCLUDE + pos, back) == 1);
        ck_assert_int_eq(matrix_row_at(m, product + 1000, back), 0);
        ck_assert_msg(found == yielded, "round %d: %llu positions, %llu rows",
                      round, (unsigned long long)found,
                      (unsigned long long)yielded);
        /* Positions are distinct. */
        if (nseen > 1)
            qsort(seen, nseen, sizeof(uint64_t), cmp_u64);
        for (i = 1; i < nseen; i++)
            ck_assert(seen[i - 1] != seen[i]);
        free(seen);
        matrix_free(m);
    }
}
END_TEST

/* A product of 10^20 rows: any row is reached without a walk. */
START_TEST(test_matrix_row_at_huge)
{
    size_t v[20], i;
    struct matrix *m;
    const char *row[20];
    int ex[20];

    for (i = 0; i < 20; i++)
        v[i] = 10;
    m = make(20, v, 0);
    for (i = 0; i < 20; i++)
        ex[i] = -1;
    ex[1] = 9;
    ex[19] = 8;
    matrix_add_exclude(m, ex);
    /* Position digits are the values, p0 first. */
    ck_assert_int_eq(matrix_row_at(m, 1234567890123456789ULL, row), 1);
    ck_assert_str_eq(row[0], "0");
    ck_assert_str_eq(row[1], "1");
    ck_assert_str_eq(row[10], "0");
    ck_assert_str_eq(row[19], "9");
    ck_assert_int_eq(matrix_row_at(m, 9000000000000000008ULL, row), 0);
    ck_assert_int_eq(matrix_row_at(m, 9000000000000000009ULL, row), 1);
    ck_assert_str_eq(row[1], "9");
    ck_assert_str_eq(row[19], "9");
    ck_assert_int_eq(matrix_row_at(m, MATRIX_POS_INCLUDE, row), 0);
    matrix_free(m);
}
END_TEST

/* 60 two-value parameters: 2^60 rows, counted exactly and at once. */
START_TEST(test_matrix_count_huge_exact)
{
    static size_t two[60];
    struct matrix *m;
    uint64_t n = 0;
    int ex[60];
    size_t i;

    for (i = 0; i < 60; i++)
        two[i] = 2;
    m = make(60, two, 0);
    ck_assert_int_eq(matrix_count(m, 0, &n, NULL), PW_OK);
    ck_assert_uint_eq(n, (uint64_t)1 << 60);
    /* Two overlapping excludes: 2^60 - 2^58 - 2^58 + 2^57. */
    for (i = 0; i < 60; i++)
        ex[i] = -1;
    ex[0] = 0;
    ex[1] = 0;
    matrix_add_exclude(m, ex);
    ex[0] = -1;
    ex[2] = 0;
    matrix_add_exclude(m, ex);
    ck_assert_int_eq(matrix_count(m, 0, &n, NULL), PW_OK);
    ck_assert_uint_eq(n, ((uint64_t)1 << 60) - ((uint64_t)3 << 57));
    matrix_free(m);

    /* A chain of 59 excludes "p(i)=0 and p(i+1)=0": rows with no two
     * zeros in a row, Fibonacci(62).  Inclusion-exclusion would need
     * 2^59 terms. */
    m = make(60, two, 0);
    for (i = 0; i + 1 < 60; i++) {
        size_t j;

        for (j = 0; j < 60; j++)
            ex[j] = -1;
        ex[i] = 0;
        ex[i + 1] = 0;
        matrix_add_exclude(m, ex);
    }
    ck_assert_int_eq(matrix_count(m, 0, &n, NULL), PW_OK);
    ck_assert_uint_eq(n, 4052739537881ULL);
    matrix_free(m);
}
END_TEST

/* Every pair of values of <k> parameters (value counts <v>) appears in
 * one of the <n> <rows>, or is ruled out by one of the <nex> excludes:
 * one that names it and otherwise only parameters of a single value.  No
 * row holds an exclude. */
static void assert_pairs_covered(const size_t *rows, size_t n, size_t k,
                                 const size_t *v, const int *ex, size_t nex)
{
    size_t a, b, x, y, r, e, p;

    for (r = 0; r < n; r++)
        ck_assert(!row_excluded(ex, nex, k, rows + r * k));
    for (a = 0; a < k; a++)
        for (b = a + 1; b < k; b++)
            for (x = 0; x < v[a]; x++)
                for (y = 0; y < v[b]; y++) {
                    int hit = 0;

                    for (e = 0; e < nex && !hit; e++) {
                        const int *xe = ex + e * k;

                        hit = xe[a] == (int)x && xe[b] == (int)y;
                        for (p = 0; p < k && hit; p++)
                            hit = p == a || p == b || xe[p] < 0 || v[p] == 1;
                    }
                    for (r = 0; r < n && !hit; r++)
                        hit = rows[r * k + a] == x && rows[r * k + b] == y;
                    if (!hit)
                        ck_abort_msg("p%zu=%zu p%zu=%zu not covered", a, x,
                                     b, y);
                }
}

/* 10^20 with 60 pair excludes: too tangled to count its product rows,
 * which all-coverage needs, but a covering array needs only to know a row
 * is allowed; it is built, holds no exclude and covers every other pair. */
START_TEST(test_matrix_count_cover_tangled_excludes)
{
    size_t v[20], *rows, n, a, b, e;
    int ex[60 * 20];
    unsigned seed = 7;
    struct matrix *m;
    uint64_t count;
    struct pw_err err;

    for (a = 0; a < 20; a++)
        v[a] = 10;
    for (e = 0; e < 60; e++) {
        for (a = 0; a < 20; a++)
            ex[e * 20 + a] = -1;
        a = (size_t)rand_r(&seed) % 20;
        b = (a + 1 + (size_t)rand_r(&seed) % 19) % 20;
        ex[e * 20 + a] = rand_r(&seed) % 10;
        ex[e * 20 + b] = rand_r(&seed) % 10;
    }
    m = make(20, v, 0);
    for (e = 0; e < 60; e++)
        matrix_add_exclude(m, ex + e * 20);
    ck_assert_int_eq(matrix_count(m, UINT64_MAX, &count, &err),
                     PW_ERR_TOOBIG);
    ck_assert_str_eq(err.msg, "the matrix excludes overlap in too many ways "
                              "to count its tests");
    matrix_set_strength(m, 2);
    ck_assert_int_eq(matrix_count(m, UINT64_MAX, &count, &err), PW_OK);
    n = rows_of(m, &rows);
    ck_assert_uint_eq(count, n);
    assert_pairs_covered(rows, n, 20, v, ex, 60);
    free(rows);
    matrix_free(m);
}
END_TEST

/* A pigeonhole: a parameter x of 2 values, then <k> parameters of <n>
 * values each, every two of which must differ; x's second value also
 * forbids value n - 1 everywhere (no row when k > n, and rows that are
 * hard to find when k = n). */
static struct matrix *pigeonhole(size_t n, size_t k)
{
    size_t v[16], i, j, x;
    int ex[16];
    struct matrix *m;

    v[0] = 2;
    for (i = 1; i <= k; i++)
        v[i] = n;
    m = make(k + 1, v, 2);
    for (x = 0; x < n; x++)
        for (i = 1; i <= k; i++)
            for (j = i + 1; j <= k; j++) {
                memset(ex, 0xff, sizeof(ex));
                ex[i] = ex[j] = (int)x;
                matrix_add_exclude(m, ex);
            }
    for (i = 1; i <= k; i++) {
        memset(ex, 0xff, sizeof(ex));
        ex[0] = 1;
        ex[i] = (int)n - 1;
        matrix_add_exclude(m, ex);
    }
    return m;
}

/* Excludes that searching cannot settle are refused in about a second,
 * not searched for minutes, and one that is easy once its single-valued
 * parameter is looked at first is easy: the other parameters, named by no
 * exclude, are never searched. */
START_TEST(test_matrix_tangled_excludes)
{
    size_t v[11] = { 2, 2, 10, 10, 10, 10, 10, 10, 10, 10, 1 };
    int ex[11] = { 0, 0, -1, -1, -1, -1, -1, -1, -1, -1, 0 };
    size_t *rows, n;
    struct matrix *m;
    struct pw_err err;
    uint64_t count;

    /* 11 parameters of 10 values all different: no row, and neither the
     * count nor the search can tell in time. */
    m = pigeonhole(10, 11);
    ck_assert_int_eq(matrix_count(m, UINT64_MAX, &count, &err),
                     PW_ERR_TOOBIG);
    ck_assert_str_eq(err.msg, "the matrix excludes overlap in too many ways "
                              "to count its tests");
    matrix_free(m);
    /* 10 of 10 values all different: rows exist, but finding one for
     * every tuple is a pigeonhole each time. */
    m = pigeonhole(10, 10);
    ck_assert_int_eq(matrix_count(m, UINT64_MAX, &count, &err),
                     PW_ERR_TOOBIG);
    ck_assert_msg(strstr(err.msg, "too tangled to build a covering array"),
                  "%s", err.msg);
    matrix_free(m);

    m = make(11, v, 2);
    matrix_add_exclude(m, ex);
    n = rows_of(m, &rows);
    ck_assert_uint_ge(n, 100);
    assert_pairs_covered(rows, n, 11, v, ex, 1);
    free(rows);
    matrix_free(m);
}
END_TEST

/* A matrix whose covering array would take minutes is refused at once,
 * with the figures that make it so. */
START_TEST(test_matrix_too_large_to_cover)
{
    size_t v[60], i;
    struct matrix *m;
    struct pw_err err;
    uint64_t count;

    for (i = 0; i < 60; i++)
        v[i] = 10;
    m = make(60, v, 3);
    ck_assert_int_eq(matrix_count(m, UINT64_MAX, &count, &err),
                     PW_ERR_TOOBIG);
    ck_assert_str_eq(err.msg,
                     "matrix too large for 3-wise coverage: 34220000 "
                     "3-tuples over 60 parameters of up to 10 values would "
                     "take minutes to cover; use fewer parameters or values, "
                     "or a lower strength");
    matrix_free(m);
}
END_TEST

/* 10^40 rows saturate instead of wrapping; an exclude that cannot
 * matter keeps it saturated, and one that removes everything gives 0. */
START_TEST(test_matrix_count_saturates)
{
    static size_t ten[40];
    struct matrix *m;
    uint64_t n = 0;
    int ex[40];
    size_t i;

    for (i = 0; i < 40; i++) {
        ten[i] = 10;
        ex[i] = -1;
    }
    m = make(40, ten, 0);
    ck_assert_int_eq(matrix_count(m, 0, &n, NULL), PW_OK);
    ck_assert_uint_eq(n, UINT64_MAX);
    ex[3] = 7;
    matrix_add_exclude(m, ex);
    ck_assert_int_eq(matrix_count(m, 0, &n, NULL), PW_OK);
    ck_assert_uint_eq(n, UINT64_MAX);
    matrix_free(m);

    /* one value per parameter, and that value excluded */
    for (i = 0; i < 40; i++)
        ten[i] = 1;
    m = make(40, ten, 0);
    ex[3] = 0;
    matrix_add_exclude(m, ex);
    ck_assert_int_eq(matrix_count(m, 0, &n, NULL), PW_OK);
    ck_assert_uint_eq(n, 0);
    matrix_free(m);
}
END_TEST

/* Pairwise over 30 parameters of 1000 values is at least 10^6 rows: said
 * without building the (gigabit) coverage map. */
START_TEST(test_matrix_count_cover_bound)
{
    static size_t big[30];
    struct matrix *m;
    uint64_t n = 0;
    size_t i;

    for (i = 0; i < 30; i++)
        big[i] = 1000;
    m = make(30, big, 2);
    ck_assert_int_eq(matrix_count(m, 1000, &n, NULL), PW_OK);
    ck_assert_uint_ge(n, 1000000);
    matrix_free(m);
}
END_TEST

static int collect_id(const struct scenario *sc, const char *target,
                      const char *const *row, const char *id, void *arg)
{
    struct sbuf *b = arg;

    (void)sc;
    (void)target;
    (void)row;
    sbuf_adds(b, id);
    sbuf_addc(b, '\n');
    return 0;
}

/* expand_iter yields the tests one at a time, in expand_each()'s order,
 * honours the filter, and can stop anywhere. */
START_TEST(test_expand_iter_streams)
{
    struct diag *d = diag_new();
    struct sbuf each = SBUF_INIT, iter = SBUF_INIT;
    static const char *const b[] = { "b" }, *const z[] = { "z" };
    struct expand_filter f = { NULL, 0, b, 1, NULL, 0 };
    struct expand_iter x;
    struct expand_test t;
    struct suite *s;
    size_t n = 0;

    tu_write("x.it.yaml", "name: x\nmatrix: { k: [1, 2, 3], l: [p, q] }\n"
                          "steps:\n  - name: s\n    request: { url: "
                          "http://x }\n");
    tu_write("y.it.yaml", "name: y\ntargets: [b]\nsteps:\n  - name: s\n"
                          "    request: { url: http://x }\n");
    /* 2^20 rows: a walk that built them all first would take a while */
    tu_write("z.it.yaml", "name: z\nmatrix:\n  a: [0, 1, 2, 3]\n"
                          "  b: [0, 1, 2, 3]\n  c: [0, 1, 2, 3]\n"
                          "  d: [0, 1, 2, 3]\n  e: [0, 1, 2, 3]\n"
                          "  f: [0, 1, 2, 3]\n  g: [0, 1, 2, 3]\n"
                          "  h: [0, 1, 2, 3]\n  i: [0, 1, 2, 3]\n"
                          "  j: [0, 1, 2, 3]\ntargets: [a]\nsteps:\n"
                          "  - name: s\n    request: { url: http://x }\n");
    s = suite_load(tu_write("it.yaml", "targets:\n"
                                       "  a: { base_url: http://x }\n"
                                       "  b: { base_url: http://x }\n"
                                       "scenarios: [\"*.it.yaml\"]\n"
                                       "limits: { max_tests: 2000000 }\n"),
                   d);
    ck_assert_msg(s != NULL, "%s", diag_count(d) ? diag_at(d, 0) : "");
    ck_assert_uint_eq(suite_test_count(s), 6 * 2 + 1 + (1u << 20));
    ck_assert_int_eq(expand_each(s, &f, collect_id, &each, NULL), PW_OK);
    expand_iter_init(&x, s, &f);
    while (expand_iter_next(&x, &t, NULL) == 1) {
        const char *back[MATRIX_MAX_PARAMS];
        struct sbuf id = SBUF_INIT;
        struct scenario *sc = suite_scenario(s, t.sc_index);

        sbuf_adds(&iter, t.id);
        sbuf_addc(&iter, '\n');
        ck_assert_str_eq(t.target, "b");
        /* The indices give the same test back without the walk. */
        ck_assert_ptr_eq(sc, t.sc);
        ck_assert_str_eq(suite_config(s)->targets[t.target_index].name, "b");
        ck_assert_int_eq(matrix_row_at(scenario_matrix(sc), t.pos, back), 1);
        expand_test_id(&id, sc, t.target, back);
        ck_assert_str_eq(id.buf, t.id);
        sbuf_release(&id);
        n++;
    }
    ck_assert_int_eq(expand_iter_next(&x, &t, NULL), 0);
    expand_iter_release(&x);
    ck_assert_uint_eq(n, 7);
    ck_assert_str_eq(iter.buf, each.buf);
    ck_assert_str_eq(iter.buf, "x@b[k=1,l=p]\nx@b[k=1,l=q]\nx@b[k=2,l=p]\n"
                               "x@b[k=2,l=q]\nx@b[k=3,l=p]\nx@b[k=3,l=q]\n"
                               "y@b\n");
    /* stop inside the big matrix: released cleanly (ASan watches) */
    f.ntargets = 0;
    f.scenarios = z;
    f.nscenarios = 1;
    expand_iter_init(&x, s, &f);
    ck_assert_int_eq(expand_iter_next(&x, &t, NULL), 1);
    ck_assert_str_eq(t.id, "z@a[a=0,b=0,c=0,d=0,e=0,f=0,g=0,h=0,i=0,j=0]");
    ck_assert_int_eq(expand_iter_next(&x, &t, NULL), 1);
    ck_assert_str_eq(t.id, "z@a[a=0,b=0,c=0,d=0,e=0,f=0,g=0,h=0,i=0,j=1]");
    expand_iter_release(&x);
    sbuf_release(&each);
    sbuf_release(&iter);
    suite_free(s);
    diag_free(d);
}
END_TEST

/* Finding a value is a hash lookup that agrees with a walk: every value of
 * a list big enough to grow the table many times is found at its index,
 * a repeated value at its first, and nothing else is found. */
START_TEST(test_matrix_find_value_many)
{
    struct matrix *m = matrix_new();
    char buf[32];
    size_t p = matrix_add_param(m, "site"), q = matrix_add_param(m, "plan");
    size_t i;

    for (i = 0; i < MATRIX_MAX_VALUES; i++) {
        snprintf(buf, sizeof(buf), "v%zu", i);
        ck_assert_uint_eq(matrix_add_value(m, p, buf), i);
    }
    ck_assert_uint_eq(matrix_add_value(m, p, "v7"), MATRIX_MAX_VALUES);
    ck_assert_uint_eq(matrix_add_value(m, q, "v7"), 0);
    for (i = 0; i < MATRIX_MAX_VALUES; i++) {
        snprintf(buf, sizeof(buf), "v%zu", i);
        ck_assert_int_eq(matrix_find_value(m, p, buf), (int)i);
    }
    ck_assert_int_eq(matrix_find_value(m, p, "v"), -1);
    ck_assert_int_eq(matrix_find_value(m, p, "v100000x"), -1);
    ck_assert_int_eq(matrix_find_value(m, p, ""), -1);
    ck_assert_int_eq(matrix_find_value(m, q, "v7"), 0);
    ck_assert_int_eq(matrix_find_value(m, q, "v8"), -1);
    ck_assert_uint_eq(matrix_value_count(m, p), MATRIX_MAX_VALUES + 1);
    matrix_free(m);
    m = matrix_new();
    matrix_add_param(m, "empty");
    ck_assert_int_eq(matrix_find_value(m, 0, "x"), -1);
    matrix_free(m);
}
END_TEST

static Suite *matrix_suite(void)
{
    Suite *s = suite_create("matrix");
    TCase *tc = tcase_create("Covering");
    TCase *ta = tcase_create("All");
    TCase *ti = tcase_create("Ids");
    TCase *tn = tcase_create("Count");

    tcase_set_timeout(tc, 120);
    tcase_set_timeout(tn, 120);
    tcase_add_test(tc, test_matrix_covering_property_random);
    tcase_add_test(tc, test_matrix_pairwise_sizes);
    tcase_add_test(tc, test_matrix_three_wise);
    tcase_add_test(tc, test_oa_bush_is_orthogonal);
    tcase_add_test(tc, test_matrix_orthogonal_arrays);
    tcase_add_test(tc, test_oa_binary_covers);
    tcase_add_test(tc, test_oa_bush_squared_covers);
    tcase_add_test(tc, test_oa_bush_doubled_covers);
    tcase_add_test(tc, test_matrix_search);
    tcase_add_test(tc, test_matrix_stats);
    tcase_add_test(tc, test_matrix_deterministic);
    tcase_add_test(tc, test_matrix_adopt);
    tcase_add_test(tc, test_matrix_find_value_many);
    tcase_add_test(ta, test_matrix_all_with_exclude_and_include);
    tcase_add_test(ta, test_matrix_all_is_lazy);
    tcase_add_test(ta, test_matrix_strength_at_least_params_means_all);
    tcase_add_test(ta, test_matrix_no_params_one_row);
    tcase_add_test(ta, test_matrix_row_at_matches_iteration);
    tcase_add_test(ta, test_matrix_row_at_huge);
    tcase_add_test(ti, test_matrix_test_ids);
    tcase_add_test(ti, test_expand_iter_streams);
    tcase_add_test(tn, test_matrix_count_matches_enumeration);
    tcase_add_test(tn, test_matrix_count_huge_exact);
    tcase_add_test(tn, test_matrix_count_saturates);
    tcase_add_test(tn, test_matrix_count_cover_tangled_excludes);
    tcase_add_test(tn, test_matrix_tangled_excludes);
    tcase_add_test(tn, test_matrix_too_large_to_cover);
    tcase_add_test(tn, test_matrix_count_cover_bound);
    suite_add_tcase(s, tc);
    suite_add_tcase(s, ta);
    suite_add_tcase(s, ti);
    suite_add_tcase(s, tn);
    return s;
}

int main(void)
{
    return pw_run_suite(matrix_suite());
}
