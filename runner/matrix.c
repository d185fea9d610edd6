/* matrix.c -- lazy full products and greedy covering arrays.
 *
 * The covering array builder follows AETG (Cohen et al., 1997): rows are
 * added one at a time; for each row several candidates are built, each
 * seeded with a still-uncovered t-tuple and completed parameter by
 * parameter in a random order, picking the value that covers the most new
 * tuples; the best candidate is kept.  Excludes are constraints: a value
 * is only chosen when the partial row can still be completed without
 * matching any exclude, and tuples that no allowed row can contain are not
 * required.  The whole construction is repeated with a few seeds and the
 * smallest result, after dropping rows that cover nothing of their own,
 * wins.  All randomness comes from a fixed-seed generator.
 */
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "matrix.h"
#include "oa.h"
#include "units.h"
#include "xalloc.h"

struct param {
    char *name;
    char **values;
    size_t nvalues, alloc;
    /* Open-addressed hash of the values: slot = value index + 1, 0 free;
     * never more than half full.  Finding a value is what loading does
     * for every value (duplicates), exclude and include, so a list of
     * 100,000 values must not cost a walk each. */
    size_t *slots;
    size_t nslots; /* 0 or a power of two */
};

struct combo {
    size_t params[MATRIX_MAX_STRENGTH];
    size_t mult[MATRIX_MAX_STRENGTH];
    size_t offset; /* first tuple's bit in the coverage map */
    size_t ntuples;
};

struct matrix {
    struct param *params;
    size_t nparams, params_alloc;
    int *excludes; /* nexcludes rows of nparams value indices */
    size_t nexcludes, excludes_alloc;
    char **includes; /* nincludes rows of nparams strings */
    size_t nincludes, includes_alloc;
    unsigned strength;
    int built;    /* covering rows computed */
    size_t *rows; /* nrows rows of nparams value indices */
    size_t nrows;
    uint64_t required; /* allowed t-tuples, once built */
    double build_ms;   /* what building took */
    unsigned effort;   /* coverage_effort: units of post-optimisation */
    int counted;           /* allowed_rows computed */
    uint64_t allowed_rows; /* product rows matching no exclude, saturated */
    unsigned char *inc_dup; /* per include: it repeats a row (row_at) */
};

struct matrix *matrix_new(void)
{
    struct matrix *m = xcalloc(1, sizeof(struct matrix));

    m->effort = MATRIX_DEFAULT_EFFORT;
    return m;
}

void matrix_free(struct matrix *m)
{
    size_t i, j;

    if (m == NULL)
        return;
    for (i = 0; i < m->nparams; i++) {
        for (j = 0; j < m->params[i].nvalues; j++)
            free(m->params[i].values[j]);
        free(m->params[i].values);
        free(m->params[i].slots);
        free(m->params[i].name);
    }
    for (i = 0; i < m->nincludes * m->nparams; i++)
        free(m->includes[i]);
    free(m->includes);
    free(m->params);
    free(m->excludes);
    free(m->rows);
    free(m->inc_dup);
    free(m);
}

size_t matrix_add_param(struct matrix *m, const char *name)
{
    m->counted = 0;
    XGROW(m->params, m->nparams + 1, m->params_alloc);
    memset(&m->params[m->nparams], 0, sizeof(struct param));
    m->params[m->nparams].name = xstrdup(name);
    return m->nparams++;
}

/* FNV-1a: values are short strings, and the table only needs spread. */
static size_t hash_str(const char *s)
{
    uint64_t h = 14695981039346656037ULL;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return (size_t)(h ^ (h >> 32));
}

/* The slot of <value> in <pa>'s table, or the free slot where it would
 * go.  The table must have room. */
static size_t find_slot(const struct param *pa, const char *value)
{
    size_t mask = pa->nslots - 1, i = hash_str(value) & mask;

    while (pa->slots[i] != 0 && strcmp(pa->values[pa->slots[i] - 1], value))
        i = (i + 1) & mask;
    return i;
}

static void index_grow(struct param *pa)
{
    size_t v, slot;

    free(pa->slots);
    pa->nslots = pa->nslots ? pa->nslots * 2 : 16;
    pa->slots = xcalloc(pa->nslots, sizeof(*pa->slots));
    for (v = 0; v < pa->nvalues; v++) {
        slot = find_slot(pa, pa->values[v]);
        if (pa->slots[slot] == 0)
            pa->slots[slot] = v + 1;
    }
}

size_t matrix_add_value(struct matrix *m, size_t p, const char *value)
{
    struct param *pa = &m->params[p];
    size_t slot;

    m->counted = 0;
    XGROW(pa->values, pa->nvalues + 1, pa->alloc);
    pa->values[pa->nvalues] = xstrdup(value);
    if ((pa->nvalues + 1) * 2 > pa->nslots)
        index_grow(pa);
    slot = find_slot(pa, value);
    /* A repeated value keeps its first index, as a walk would find. */
    if (pa->slots[slot] == 0)
        pa->slots[slot] = pa->nvalues + 1;
    return pa->nvalues++;
}

void matrix_add_exclude(struct matrix *m, const int *vals)
{
    m->counted = 0;
    XGROW(m->excludes, (m->nexcludes + 1) * m->nparams, m->excludes_alloc);
    memcpy(m->excludes + m->nexcludes * m->nparams, vals,
           m->nparams * sizeof(int));
    m->nexcludes++;
}

void matrix_add_include(struct matrix *m, const char *const *vals)
{
    size_t i;

    XGROW(m->includes, (m->nincludes + 1) * m->nparams, m->includes_alloc);
    for (i = 0; i < m->nparams; i++)
        m->includes[m->nincludes * m->nparams + i] = xstrdup(vals[i]);
    m->nincludes++;
    free(m->inc_dup);
    m->inc_dup = NULL;
}

void matrix_set_strength(struct matrix *m, unsigned t)
{
    m->strength = t;
    m->counted = 0; /* all counts rows, a covering array asks for one */
}

size_t matrix_param_count(const struct matrix *m)
{
    return m->nparams;
}

const char *matrix_param_name(const struct matrix *m, size_t p)
{
    return m->params[p].name;
}

size_t matrix_value_count(const struct matrix *m, size_t p)
{
    return m->params[p].nvalues;
}

const char *matrix_value(const struct matrix *m, size_t p, size_t v)
{
    return m->params[p].values[v];
}

void matrix_set_effort(struct matrix *m, unsigned effort)
{
    m->effort = effort;
}

unsigned matrix_effort(const struct matrix *m)
{
    return m->effort;
}

unsigned matrix_strength(const struct matrix *m)
{
    return m->strength;
}

size_t matrix_exclude_count(const struct matrix *m)
{
    return m->nexcludes;
}

const int *matrix_exclude(const struct matrix *m, size_t i)
{
    return m->excludes + i * m->nparams;
}

size_t matrix_include_count(const struct matrix *m)
{
    return m->nincludes;
}

const char *const *matrix_include(const struct matrix *m, size_t i)
{
    return (const char *const *)m->includes + i * m->nparams;
}

int matrix_find_param(const struct matrix *m, const char *name)
{
    size_t i;

    for (i = 0; i < m->nparams; i++)
        if (strcmp(m->params[i].name, name) == 0)
            return (int)i;
    return -1;
}

int matrix_find_value(const struct matrix *m, size_t p, const char *value)
{
    const struct param *pa = &m->params[p];
    size_t slot;

    if (pa->nslots == 0)
        return -1;
    slot = find_slot(pa, value);
    return pa->slots[slot] ? (int)(pa->slots[slot] - 1) : -1;
}

/* ---- Constraints ---- */

#define UNSET ((size_t)-1)

/* Whether the (partial) row <a> fully matches some exclude. */
static int violates(const struct matrix *m, const size_t *a)
{
    size_t e, i;

    for (e = 0; e < m->nexcludes; e++) {
        const int *ex = m->excludes + e * m->nparams;

        for (i = 0; i < m->nparams; i++)
            if (ex[i] >= 0 && (a[i] == UNSET || a[i] != (size_t)ex[i]))
                break;
        if (i == m->nparams)
            return 1;
    }
    return 0;
}

/* The excludes indexed for the covering-array builder: which excludes
 * name each parameter, and which parameters each exclude names, so a
 * check after setting one parameter looks only at what it can break.
 *
 * Whether a partial row can be completed is a search over the parameters
 * some exclude names (the others can take any value), fewest values
 * first, so a parameter of one value settles an exclude at once.  Excludes
 * can still make it exponential (every pair of twelve parameters
 * differing is a pigeonhole), so each question may visit CONS_NODES
 * assignments; past that the answer is unknown and <exhausted> says so. */
#define CONS_NODES 200000

/* The most tuples x parameters x values a covering array is built for:
 * 256 parameters of 12 values pairwise (1.4e10) take seconds. */
#define COVER_MAX_WORK 2e10

struct cons {
    const struct matrix *m;
    size_t **by_param; /* exclude indices naming each parameter */
    size_t *nby_param;
    size_t **params; /* parameters each exclude names */
    size_t *nparams;
    size_t *order; /* the parameters some exclude names, fewest values first */
    size_t norder;
    unsigned long nodes; /* left for the current question */
    int exhausted;       /* some question ran out of them */
};

static void cons_init(struct cons *c, const struct matrix *m)
{
    size_t e, p;

    c->m = m;
    c->by_param = xcalloc(m->nparams ? m->nparams : 1, sizeof(size_t *));
    c->nby_param = xcalloc(m->nparams ? m->nparams : 1, sizeof(size_t));
    c->params = xcalloc(m->nexcludes ? m->nexcludes : 1, sizeof(size_t *));
    c->nparams = xcalloc(m->nexcludes ? m->nexcludes : 1, sizeof(size_t));
    for (e = 0; e < m->nexcludes; e++)
        for (p = 0; p < m->nparams; p++) {
            if (m->excludes[e * m->nparams + p] < 0)
                continue;
            c->params[e] =
                xrealloc(c->params[e], (c->nparams[e] + 1) * sizeof(size_t));
            c->params[e][c->nparams[e]++] = p;
            c->by_param[p] = xrealloc(c->by_param[p],
                                      (c->nby_param[p] + 1) * sizeof(size_t));
            c->by_param[p][c->nby_param[p]++] = e;
        }
    c->order = xmalloc((m->nparams ? m->nparams : 1) * sizeof(size_t));
    c->norder = 0;
    /* Insertion by value count: at most MATRIX_MAX_PARAMS of them. */
    for (p = 0; p < m->nparams; p++) {
        size_t i = c->norder++;

        if (c->nby_param[p] == 0) {
            c->norder--;
            continue;
        }
        for (; i > 0 && m->params[c->order[i - 1]].nvalues >
                            m->params[p].nvalues;
             i--)
            c->order[i] = c->order[i - 1];
        c->order[i] = p;
    }
    c->exhausted = 0;
}

static void cons_release(struct cons *c)
{
    size_t i;

    for (i = 0; i < c->m->nparams; i++)
        free(c->by_param[i]);
    for (i = 0; i < c->m->nexcludes; i++)
        free(c->params[i]);
    free(c->by_param);
    free(c->nby_param);
    free(c->params);
    free(c->nparams);
    free(c->order);
}

/* Whether some exclude naming parameter <p> is fully matched by <a>. */
static int violates_at(const struct cons *c, const size_t *a, size_t p)
{
    const struct matrix *m = c->m;
    size_t i, j;

    for (i = 0; i < c->nby_param[p]; i++) {
        size_t e = c->by_param[p][i];
        const int *ex = m->excludes + e * m->nparams;

        for (j = 0; j < c->nparams[e]; j++) {
            size_t q = c->params[e][j];

            if (a[q] == UNSET || a[q] != (size_t)ex[q])
                break;
        }
        if (j == c->nparams[e])
            return 1;
    }
    return 0;
}

/* Whether <a>, which matches no exclude, can be completed into a row that
 * matches none either: backtracking over the parameters some exclude
 * names, while the question's nodes last.  <a> is restored before
 * returning; 0 with c->exhausted set when the nodes ran out. */
static int complete_from(struct cons *c, size_t *a)
{
    const struct matrix *m = c->m;
    size_t i, p, v;

    for (i = 0; i < c->norder; i++)
        if (a[c->order[i]] == UNSET)
            break;
    if (i == c->norder)
        return 1;
    p = c->order[i];
    for (v = 0; v < m->params[p].nvalues; v++) {
        int ok;

        if (c->nodes == 0) {
            c->exhausted = 1;
            return 0;
        }
        c->nodes--;
        a[p] = v;
        ok = !violates_at(c, a, p) && complete_from(c, a);
        a[p] = UNSET;
        if (ok)
            return 1;
        if (c->exhausted)
            return 0;
    }
    return 0;
}

/* Whether the partial row <a> can be completed into a row that matches no
 * exclude. */
static int completable(struct cons *c, size_t *a)
{
    if (c->m->nexcludes == 0)
        return 1;
    if (c->exhausted)
        return 0; /* the build is refused anyway: fail fast */
    c->nodes = CONS_NODES;
    return !violates(c->m, a) && complete_from(c, a);
}

/* Whether setting parameter <p> in <a> (completable before) keeps it
 * completable. */
static int still_completable(struct cons *c, size_t *a, size_t p)
{
    if (c->nby_param[p] == 0)
        return 1; /* nothing can object to any value of <p> */
    if (c->exhausted)
        return 0;
    c->nodes = CONS_NODES;
    return !violates_at(c, a, p) && complete_from(c, a);
}

/* ---- Covering arrays ---- */

static int all_mode(const struct matrix *m);
static uint64_t cover_lower_bound(const struct matrix *m);

struct rng {
    uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static size_t rng_below(struct rng *r, size_t n)
{
    return (size_t)(rng_next(r) % n);
}

struct cover {
    const struct matrix *m;
    struct cons cons;
    unsigned t;
    struct combo *combos;
    size_t ncombos;
    size_t **by_param; /* combos containing each parameter */
    size_t *nby_param;
    size_t nbits;
    unsigned char *allowed; /* tuple may appear in some allowed row */
    unsigned char *covered;
    size_t uncovered; /* allowed and not yet covered */
};

#define BIT(map, i)    ((map)[(i) >> 3] & (1u << ((i)&7)))
#define SETBIT(map, i) ((map)[(i) >> 3] |= (unsigned char)(1u << ((i)&7)))

static size_t tuple_index(const struct combo *c, unsigned t, const size_t *a)
{
    size_t i, idx = 0;

    for (i = 0; i < t; i++)
        idx += a[c->params[i]] * c->mult[i];
    return c->offset + idx;
}

/* Enumerate all t-subsets of the parameters.  Returns 0 if the coverage
 * map would be unreasonably large. */
static int make_combos(struct cover *cv)
{
    const struct matrix *m = cv->m;
    size_t idx[MATRIX_MAX_STRENGTH];
    size_t alloc = 0, i, j;
    unsigned t = cv->t;

    for (i = 0; i < t; i++)
        idx[i] = i;
    for (;;) {
        struct combo *c;
        size_t mult = 1;

        XGROW(cv->combos, cv->ncombos + 1, alloc);
        c = &cv->combos[cv->ncombos++];
        for (j = t; j > 0; j--) {
            c->params[j - 1] = idx[j - 1];
            c->mult[j - 1] = mult;
            mult *= m->params[idx[j - 1]].nvalues;
        }
        c->offset = cv->nbits;
        c->ntuples = mult;
        cv->nbits += mult;
        if (cv->nbits > ((size_t)1 << 28))
            return 0;
        /* next combination in lexicographic order */
        for (j = t; j > 0; j--)
            if (idx[j - 1] < m->nparams - (t - j + 1))
                break;
        if (j == 0)
            break;
        idx[j - 1]++;
        for (i = j; i < t; i++)
            idx[i] = idx[i - 1] + 1;
    }
    cv->by_param = xcalloc(m->nparams, sizeof(size_t *));
    cv->nby_param = xcalloc(m->nparams, sizeof(size_t));
    for (i = 0; i < cv->ncombos; i++)
        for (j = 0; j < t; j++) {
            size_t p = cv->combos[i].params[j];

            cv->by_param[p] = xrealloc(cv->by_param[p],
                                       (cv->nby_param[p] + 1) * sizeof(size_t));
            cv->by_param[p][cv->nby_param[p]++] = i;
        }
    return 1;
}

static void cover_release(struct cover *cv)
{
    size_t i;

    for (i = 0; cv->by_param && i < cv->m->nparams; i++)
        free(cv->by_param[i]);
    free(cv->by_param);
    free(cv->nby_param);
    free(cv->combos);
    free(cv->allowed);
    free(cv->covered);
    cons_release(&cv->cons);
}

/* Decode tuple <k> of combo <c> into <a>. */
static void tuple_assign(const struct cover *cv, const struct combo *c,
                         size_t k, size_t *a)
{
    size_t i;

    for (i = 0; i < cv->t; i++)
        a[c->params[i]] =
            (k / c->mult[i]) % cv->m->params[c->params[i]].nvalues;
}

static void compute_allowed(struct cover *cv)
{
    const struct matrix *m = cv->m;
    size_t *a = xmalloc(m->nparams * sizeof(size_t));
    size_t ci, k, i;

    cv->allowed = xcalloc(cv->nbits / 8 + 1, 1);
    cv->covered = xcalloc(cv->nbits / 8 + 1, 1);
    for (ci = 0; ci < cv->ncombos; ci++) {
        const struct combo *c = &cv->combos[ci];

        for (k = 0; k < c->ntuples; k++) {
            for (i = 0; i < m->nparams; i++)
                a[i] = UNSET;
            tuple_assign(cv, c, k, a);
            if (completable(&cv->cons, a)) {
                SETBIT(cv->allowed, c->offset + k);
                cv->uncovered++;
            }
        }
    }
    free(a);
}

/* New tuples a full row <a> would cover. */
static size_t row_gain(const struct cover *cv, const size_t *a)
{
    size_t ci, gain = 0;

    for (ci = 0; ci < cv->ncombos; ci++) {
        size_t bit = tuple_index(&cv->combos[ci], cv->t, a);

        if (BIT(cv->allowed, bit) && !BIT(cv->covered, bit))
            gain++;
    }
    return gain;
}

static void row_mark(struct cover *cv, const size_t *a)
{
    size_t ci;

    for (ci = 0; ci < cv->ncombos; ci++) {
        size_t bit = tuple_index(&cv->combos[ci], cv->t, a);

        if (BIT(cv->allowed, bit) && !BIT(cv->covered, bit)) {
            SETBIT(cv->covered, bit);
            cv->uncovered--;
        }
    }
}

/* New tuples gained by setting parameter <p> in partial row <a>, counting
 * only combos whose other parameters are all set. */
static size_t value_gain(const struct cover *cv, const size_t *a, size_t p)
{
    size_t i, j, gain = 0;

    for (i = 0; i < cv->nby_param[p]; i++) {
        const struct combo *c = &cv->combos[cv->by_param[p][i]];
        size_t bit;

        for (j = 0; j < cv->t; j++)
            if (a[c->params[j]] == UNSET)
                break;
        if (j < cv->t)
            continue;
        bit = tuple_index(c, cv->t, a);
        if (BIT(cv->allowed, bit) && !BIT(cv->covered, bit))
            gain++;
    }
    return gain;
}

/* Pick an uncovered allowed tuple: the first one at or after a random
 * position, wrapping around, found a byte of the bitmaps at a time. */
static int pick_uncovered(const struct cover *cv, struct rng *r,
                          const struct combo **out, size_t *k)
{
    size_t nbytes = cv->nbits / 8 + 1, start, i, bit = 0;
    size_t ci, lo = 0, hi;
    int found = 0;

    if (cv->uncovered == 0)
        return 0;
    start = rng_below(r, cv->nbits);
    for (i = 0; i <= nbytes && !found; i++) {
        size_t byte = (start / 8 + i) % nbytes;
        unsigned want = cv->allowed[byte] & ~cv->covered[byte] & 0xffu;
        unsigned b;

        if (i == 0)
            want &= 0xffu << (start % 8); /* from <start> on */
        for (b = 0; b < 8 && want; b++)
            if (want & (1u << b)) {
                bit = byte * 8 + b;
                found = bit < cv->nbits;
                break;
            }
    }
    if (!found)
        return 0;
    /* Binary search for the combo holding <bit>. */
    hi = cv->ncombos;
    while (hi - lo > 1) {
        ci = lo + (hi - lo) / 2;
        if (cv->combos[ci].offset <= bit)
            lo = ci;
        else
            hi = ci;
    }
    *out = &cv->combos[lo];
    *k = bit - cv->combos[lo].offset;
    return 1;
}

static void build_candidate(struct cover *cv, struct rng *r, size_t *a,
                            size_t *order)
{
    const struct matrix *m = cv->m;
    const struct combo *seed = NULL;
    size_t i, k = 0;

    for (i = 0; i < m->nparams; i++) {
        a[i] = UNSET;
        order[i] = i;
    }
    if (pick_uncovered(cv, r, &seed, &k))
        tuple_assign(cv, seed, k, a);
    for (i = m->nparams; i > 1; i--) {
        size_t j = rng_below(r, i), tmp = order[i - 1];

        order[i - 1] = order[j];
        order[j] = tmp;
    }
    for (i = 0; i < m->nparams; i++) {
        size_t p = order[i], v, best = UNSET, best_gain = 0, ties = 0;
        size_t nv = m->params[p].nvalues;

        if (a[p] != UNSET)
            continue;
        for (v = 0; v < nv; v++) {
            size_t g;

            a[p] = v;
            if (!still_completable(&cv->cons, a, p)) {
                a[p] = UNSET;
                continue;
            }
            g = value_gain(cv, a, p);
            a[p] = UNSET;
            if (best == UNSET || g > best_gain) {
                best = v;
                best_gain = g;
                ties = 1;
            } else if (g == best_gain && rng_below(r, ++ties) == 0) {
                best = v;
            }
        }
        a[p] = best == UNSET ? 0 : best;
    }
}

/* One greedy construction; returns the rows (caller frees) and count. */
static size_t *greedy(struct cover *cv, uint64_t seed, size_t ncand,
                      size_t *nrows_out)
{
    const struct matrix *m = cv->m;
    size_t np = m->nparams;
    size_t *rows = NULL, nrows = 0, alloc = 0;
    size_t *a = xmalloc(np * sizeof(size_t));
    size_t *best = xmalloc(np * sizeof(size_t));
    size_t *order = xmalloc(np * sizeof(size_t));
    struct rng r = { seed };

    while (cv->uncovered > 0) {
        size_t c, best_gain = 0;

        for (c = 0; c < ncand; c++) {
            size_t g;

            build_candidate(cv, &r, a, order);
            g = row_gain(cv, a);
            if (g > best_gain) {
                best_gain = g;
                memcpy(best, a, np * sizeof(size_t));
            }
        }
        if (best_gain == 0)
            break; /* cannot happen: the seed tuple is always new */
        row_mark(cv, best);
        XGROW(rows, (nrows + 1) * np, alloc);
        memcpy(rows + nrows * np, best, np * sizeof(size_t));
        nrows++;
    }
    free(a);
    free(best);
    free(order);
    *nrows_out = nrows;
    return rows;
}

/* Drop rows every tuple of which some other row also covers. */
static size_t prune(struct cover *cv, size_t *rows, size_t nrows)
{
    size_t np = cv->m->nparams;
    unsigned *count = xcalloc(cv->nbits ? cv->nbits : 1, sizeof(unsigned));
    size_t r, ci, kept = 0;

    for (r = 0; r < nrows; r++)
        for (ci = 0; ci < cv->ncombos; ci++)
            count[tuple_index(&cv->combos[ci], cv->t, rows + r * np)]++;
    /* Last rows first: the greedy's late rows carry the least. */
    for (r = nrows; r > 0; r--) {
        size_t *row = rows + (r - 1) * np;
        int needed = 0;

        for (ci = 0; ci < cv->ncombos && !needed; ci++) {
            size_t bit = tuple_index(&cv->combos[ci], cv->t, row);

            needed = BIT(cv->allowed, bit) && count[bit] == 1;
        }
        if (needed)
            continue;
        for (ci = 0; ci < cv->ncombos; ci++)
            count[tuple_index(&cv->combos[ci], cv->t, row)]--;
        row[0] = UNSET; /* mark dropped */
    }
    for (r = 0; r < nrows; r++) {
        if (rows[r * np] == UNSET)
            continue;
        memmove(rows + kept * np, rows + r * np, np * sizeof(size_t));
        kept++;
    }
    free(count);
    return kept;
}

static size_t max_values(const struct matrix *m)
{
    size_t i, n = 1;

    for (i = 0; i < m->nparams; i++)
        if (m->params[i].nvalues > n)
            n = m->params[i].nvalues;
    return n;
}

/* The rows of a construction that fits <m>, or NULL: the optimal binary
 * array when every parameter has at most two values and t = 2 (*<optimal>
 * set: no array has fewer rows), else Bush's orthogonal array when it has
 * room for the parameters, else, pairwise, the product of two of them. */
static size_t *construction(const struct cover *cv, size_t *n_out,
                            int *optimal)
{
    const struct matrix *m = cv->m;
    size_t np = m->nparams;
    unsigned q = oa_field_order(max_values(m));

    *optimal = 0;
    if (cv->t == 2 && q == 2 && np > 3) {
        *optimal = 1;
        return oa_binary(np, n_out);
    }
    if (q == 0 || cv->t > q)
        return NULL;
    if (np <= (size_t)q + 1)
        return oa_bush(q, cv->t, np, n_out);
    if (cv->t == 2)
        return oa_bush_squared(q, np, n_out);
    if (cv->t == 3)
        return oa_bush_doubled(q, np, n_out);
    return NULL;
}

/* A candidate built on a construction (oa.h): its rows first, less those
 * that break an exclude, then greedy rows for whatever those would have
 * covered, then prune().  NULL when no construction applies.  *<exact> is
 * set when no array can have fewer rows, so searching on is pointless. */
static size_t *oa_cover(struct cover *cv, const unsigned char *base_cov,
                        size_t start_uncovered, size_t ncand, int *exact,
                        size_t *n_out)
{
    const struct matrix *m = cv->m;
    size_t np = m->nparams, n_oa, i, p, nrows = 0, alloc = 0, nmore;
    size_t *oa, *rows = NULL, *more;
    int optimal;

    *exact = 0;
    oa = construction(cv, &n_oa, &optimal);
    if (oa == NULL)
        return NULL;
    memcpy(cv->covered, base_cov, cv->nbits / 8 + 1);
    cv->uncovered = start_uncovered;
    for (i = 0; i < n_oa; i++) {
        size_t *row = oa + i * np;

        /* A parameter with fewer values than the field folds the extra
         * symbols onto its own: every tuple of its values stays. */
        for (p = 0; p < np; p++)
            row[p] %= m->params[p].nvalues;
        if (violates(m, row))
            continue;
        row_mark(cv, row);
        XGROW(rows, (nrows + 1) * np, alloc);
        memcpy(rows + nrows * np, row, np * sizeof(size_t));
        nrows++;
    }
    free(oa);
    more = greedy(cv, 0x6f612b677265656eULL, ncand, &nmore);
    XGROW(rows, (nrows + nmore) * np + 1, alloc);
    if (nmore)
        memcpy(rows + nrows * np, more, nmore * np * sizeof(size_t));
    free(more);
    *n_out = prune(cv, rows, nrows + nmore);
    *exact = *n_out <= cover_lower_bound(m) || (optimal && *n_out == n_oa);
    return rows;
}

/* ---- Post-optimisation ----
 *
 * Greedy rows leave slack: a row added late covers few tuples of its own.
 * The search drops the row that alone covers the fewest tuples and
 * repairs the array with one-cell changes, as Nurmela's tabu search for
 * covering arrays (2004) does: pick an uncovered tuple at random, look at
 * every row that holds all but one of its values, and make the change of
 * that one cell that leaves the fewest tuples uncovered, even when that
 * is more than now; a cell changed lately may not change back for a
 * while, so the search does not circle.  When the array is whole again
 * it drops the next row.  The effort is a count of tuple lookups, so the
 * same file always yields the same rows, and the array handed back is
 * always the last whole one. */

struct search {
    struct cover *cv;
    size_t np, n;            /* parameters, rows */
    size_t *rows;            /* n rows of np values */
    unsigned *count;         /* rows holding each tuple */
    const unsigned char *need; /* tuples the rows must cover */
    uint32_t *ulist;         /* uncovered needed tuples */
    uint32_t *upos;          /* per tuple: index in ulist + 1, or 0 */
    size_t nu;
    uint64_t *changed;       /* per cell: step it last changed at */
    uint64_t step, work, budget;
    struct rng r;
};

/* Largest coverage map searched: beyond it the maps outgrow what a
 * scenario file should cost in memory. */
#define SEARCH_MAX_BITS ((size_t)1 << 23)
/* Tuple lookups bought by one unit of coverage_effort: in proportion to
 * the tuples to cover, within bounds, so a small matrix does not spend a
 * large one's effort on rows it cannot lose. */
#define SEARCH_WORK_PER_BIT 2000ULL
#define SEARCH_WORK_MIN     200000ULL
#define SEARCH_WORK_MAX     60000000ULL
#define SEARCH_TENURE 8

static void search_uncover(struct search *s, size_t bit)
{
    if (!BIT(s->need, bit) || s->upos[bit])
        return;
    s->ulist[s->nu++] = (uint32_t)bit;
    s->upos[bit] = (uint32_t)s->nu;
}

static void search_cover(struct search *s, size_t bit)
{
    size_t i = s->upos[bit];

    if (i == 0)
        return;
    s->ulist[i - 1] = s->ulist[--s->nu];
    s->upos[s->ulist[i - 1]] = (uint32_t)i;
    s->upos[bit] = 0;
}

static void search_add_row(struct search *s, const size_t *row, int sign)
{
    struct cover *cv = s->cv;
    size_t ci;

    for (ci = 0; ci < cv->ncombos; ci++) {
        size_t bit = tuple_index(&cv->combos[ci], cv->t, row);

        if (sign > 0) {
            if (s->count[bit]++ == 0)
                search_cover(s, bit);
        } else if (--s->count[bit] == 0) {
            search_uncover(s, bit);
        }
    }
    s->work += cv->ncombos;
}

/* Change in uncovered tuples if cell <p> of <row> took value <y>. */
static long search_delta(struct search *s, const size_t *row, size_t p,
                         size_t y)
{
    struct cover *cv = s->cv;
    size_t i, j;
    long d = 0;

    for (i = 0; i < cv->nby_param[p]; i++) {
        const struct combo *c = &cv->combos[cv->by_param[p][i]];
        size_t old = tuple_index(c, cv->t, row), neu;

        for (j = 0; c->params[j] != p; j++)
            ;
        neu = old + y * c->mult[j] - row[p] * c->mult[j];
        d += BIT(s->need, old) && s->count[old] == 1;
        d -= BIT(s->need, neu) && s->count[neu] == 0;
    }
    s->work += cv->nby_param[p];
    return d;
}

static void search_set(struct search *s, size_t r, size_t p, size_t y)
{
    struct cover *cv = s->cv;
    size_t *row = s->rows + r * s->np, i;

    for (i = 0; i < cv->nby_param[p]; i++) {
        size_t bit = tuple_index(&cv->combos[cv->by_param[p][i]], cv->t, row);

        if (--s->count[bit] == 0)
            search_uncover(s, bit);
    }
    row[p] = y;
    for (i = 0; i < cv->nby_param[p]; i++) {
        size_t bit = tuple_index(&cv->combos[cv->by_param[p][i]], cv->t, row);

        if (s->count[bit]++ == 0)
            search_cover(s, bit);
    }
    s->work += 2 * cv->nby_param[p];
    s->changed[r * s->np + p] = s->step;
}

/* The combo and values of uncovered tuple <bit>. */
static const struct combo *search_tuple(const struct search *s, size_t bit,
                                        size_t *vals)
{
    const struct cover *cv = s->cv;
    size_t lo = 0, hi = cv->ncombos, i, k;
    const struct combo *c;

    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;

        if (cv->combos[mid].offset <= bit)
            lo = mid;
        else
            hi = mid;
    }
    c = &cv->combos[lo];
    k = bit - c->offset;
    for (i = 0; i < cv->t; i++)
        vals[i] = (k / c->mult[i]) % cv->m->params[c->params[i]].nvalues;
    return c;
}

/* One move; returns 0 when no move was possible. */
static int search_step(struct search *s, size_t best_nu)
{
    struct cover *cv = s->cv;
    size_t vals[MATRIX_MAX_STRENGTH];
    const struct combo *c;
    size_t r, i, np = s->np;
    size_t best_r = UNSET, best_p = 0, best_v = 0, ties = 0;
    long best_d = 0;

    c = search_tuple(s, s->ulist[rng_below(&s->r, s->nu)], vals);
    s->step++;
    for (r = 0; r < s->n; r++) {
        size_t *row = s->rows + r * np, miss = 0, p = 0, v = 0, old;
        long d;

        for (i = 0; i < cv->t && miss < 2; i++)
            if (row[c->params[i]] != vals[i]) {
                miss++;
                p = c->params[i];
                v = vals[i];
            }
        if (miss != 1)
            continue;
        d = search_delta(s, row, p, v);
        /* A recent change stays unless undoing it reaches a new best. */
        if (s->changed[r * np + p] != 0 &&
            s->changed[r * np + p] + SEARCH_TENURE > s->step &&
            (long)s->nu + d >= (long)best_nu)
            continue;
        if (best_r != UNSET && d > best_d)
            continue;
        if (cv->cons.nby_param[p]) {
            int bad;

            old = row[p];
            row[p] = v;
            bad = violates_at(&cv->cons, row, p);
            row[p] = old;
            if (bad)
                continue;
        }
        if (best_r == UNSET || d < best_d)
            ties = 1;
        else if (rng_below(&s->r, ++ties) != 0)
            continue;
        best_r = r;
        best_p = p;
        best_v = v;
        best_d = d;
    }
    s->work += s->n;
    if (best_r != UNSET) {
        search_set(s, best_r, best_p, best_v);
        return 1;
    }
    /* No row is one cell away: put the whole tuple into a random row. */
    r = rng_below(&s->r, s->n);
    {
        size_t *row = s->rows + r * np, save[MATRIX_MAX_STRENGTH];
        int bad = 0;

        for (i = 0; i < cv->t; i++) {
            save[i] = row[c->params[i]];
            row[c->params[i]] = vals[i];
        }
        for (i = 0; i < cv->t && !bad; i++)
            bad = cv->cons.nby_param[c->params[i]] &&
                  violates_at(&cv->cons, row, c->params[i]);
        for (i = 0; i < cv->t; i++)
            row[c->params[i]] = save[i];
        if (bad)
            return 0;
        for (i = 0; i < cv->t; i++)
            if (row[c->params[i]] != vals[i])
                search_set(s, r, c->params[i], vals[i]);
    }
    return 1;
}

/* Drop rows from the <*nrows> of <rows> while the budget lasts; the rows
 * stay a covering array throughout. */
static void search_improve(struct cover *cv, const unsigned char *base_cov,
                           size_t *rows, size_t *nrows, uint64_t lower,
                           uint64_t budget)
{
    struct search s;
    size_t np = cv->m->nparams, nbytes = cv->nbits / 8 + 1, i, r;
    unsigned char *need;
    size_t *saved;

    if (budget == 0 || *nrows < 2 || cv->nbits > SEARCH_MAX_BITS)
        return;
    memset(&s, 0, sizeof(s));
    s.cv = cv;
    s.np = np;
    s.n = *nrows;
    s.rows = rows;
    s.budget = budget;
    s.r.s = 0x7461627573656172ULL;
    need = xmalloc(nbytes);
    for (i = 0; i < nbytes; i++)
        need[i] = cv->allowed[i] & (unsigned char)~base_cov[i];
    s.need = need;
    s.count = xcalloc(cv->nbits, sizeof(unsigned));
    s.ulist = xmalloc(cv->nbits * sizeof(uint32_t));
    s.upos = xcalloc(cv->nbits, sizeof(uint32_t));
    s.changed = xcalloc(s.n * np, sizeof(uint64_t));
    saved = xmalloc(s.n * np * sizeof(size_t));
    for (r = 0; r < s.n; r++)
        search_add_row(&s, rows + r * np, 1);
    while (s.work < s.budget && s.n > 1 && s.n > lower) {
        size_t drop = 0, best_unique = (size_t)-1, best_nu;

        /* The row covering the fewest tuples alone goes. */
        for (r = 0; r < s.n; r++) {
            size_t ci, unique = 0;

            for (ci = 0; ci < cv->ncombos; ci++) {
                size_t bit =
                    tuple_index(&cv->combos[ci], cv->t, rows + r * np);

                unique += BIT(need, bit) && s.count[bit] == 1;
            }
            if (unique < best_unique) {
                best_unique = unique;
                drop = r;
            }
        }
        s.work += s.n * cv->ncombos;
        memcpy(saved, rows, s.n * np * sizeof(size_t));
        search_add_row(&s, rows + drop * np, -1);
        memmove(rows + drop * np, rows + (drop + 1) * np,
                (s.n - drop - 1) * np * sizeof(size_t));
        s.n--;
        memset(s.changed, 0, s.n * np * sizeof(uint64_t));
        best_nu = s.nu;
        while (s.nu > 0 && s.work < s.budget) {
            if (!search_step(&s, best_nu))
                continue;
            if (s.nu < best_nu)
                best_nu = s.nu;
        }
        if (s.nu > 0) {
            /* Out of budget: the last whole array stands. */
            s.n++;
            memcpy(rows, saved, s.n * np * sizeof(size_t));
            break;
        }
    }
    *nrows = s.n;
    free(saved);
    free(s.changed);
    free(s.upos);
    free(s.ulist);
    free(s.count);
    free(need);
}

static pw_status build_cover(struct matrix *m, struct pw_err *err)
{
    double work;
    struct cover cv;
    size_t tries, ncand, i, start_uncovered;
    size_t *best_rows = NULL, best_n = (size_t)-1;
    size_t *a = xmalloc(m->nparams * sizeof(size_t));
    unsigned char *base_cov;
    int exact;

    double started = clock_mono();

    memset(&cv, 0, sizeof(cv));
    cv.m = m;
    cv.t = m->strength;
    cons_init(&cv.cons, m);
    if (!make_combos(&cv)) {
        cover_release(&cv);
        free(a);
        return pw_err_set(err, PW_ERR_TOOBIG,
                          "matrix too large for %u-wise coverage", cv.t);
    }
    /* One greedy candidate costs about tuples x parameters x values; past
     * COVER_MAX_WORK a build takes minutes, on the loop of a reload. */
    work = (double)cv.nbits * (double)m->nparams * (double)max_values(m);
    if (work > COVER_MAX_WORK) {
        cover_release(&cv);
        free(a);
        return pw_err_set(err, PW_ERR_TOOBIG,
                          "matrix too large for %u-wise coverage: %zu "
                          "%u-tuples over %zu parameters of up to %zu "
                          "values would take minutes to cover; use fewer "
                          "parameters or values, or a lower strength",
                          cv.t, cv.nbits, cv.t, m->nparams, max_values(m));
    }
    compute_allowed(&cv);
    m->required = cv.uncovered;
    /* Includes come first in coverage terms: what they cover is not
     * needed again.  Includes with values outside the lists cover no
     * tracked tuple, so they are skipped here. */
    for (i = 0; i < m->nincludes; i++) {
        size_t p;

        for (p = 0; p < m->nparams; p++) {
            int v = matrix_find_value(m, p, m->includes[i * m->nparams + p]);

            if (v < 0)
                break;
            a[p] = (size_t)v;
        }
        if (p == m->nparams && !violates(m, a))
            row_mark(&cv, a);
    }
    start_uncovered = cv.uncovered;
    /* Spend more effort on small problems, where it is cheap and a row
     * saved is a larger share of the probing load; bound it on large ones,
     * where one candidate costs about nbits * nparams * values (on 256
     * parameters of 10 values, one candidate a row is seconds already). */
    ncand = work < 2e5 ? 50 : work < 2e6 ? 20 : work < 2e7 ? 8 : work < 2e9 ? 3 : 1;
    tries = work < 2e5 ? 12 : work < 2e6 ? 3 : 1;
    base_cov = xmalloc(cv.nbits / 8 + 1);
    memcpy(base_cov, cv.covered, cv.nbits / 8 + 1);
    /* A construction first: where it is provably the least array, the
     * greedy rounds and the search are skipped (as all are when the
     * excludes were too tangled to tell which tuples are required). */
    best_rows = cv.cons.exhausted ? NULL
                                  : oa_cover(&cv, base_cov, start_uncovered,
                                             ncand, &exact, &best_n);
    if (cv.cons.exhausted)
        exact = 1;
    if (best_rows == NULL)
        best_n = (size_t)-1;
    for (i = 0; i < tries && !exact; i++) {
        size_t n, *rows;

        memcpy(cv.covered, base_cov, cv.nbits / 8 + 1);
        cv.uncovered = start_uncovered;
        rows = greedy(&cv, 0x70726f6477617463ULL + i, ncand, &n);
        n = prune(&cv, rows, n);
        if (n < best_n) {
            free(best_rows);
            best_rows = rows;
            best_n = n;
        } else {
            free(rows);
        }
    }
    if (cv.cons.exhausted) {
        /* Some tuple's or row's fate was not decided: the array could
         * miss a tuple it must cover, or hold one it need not. */
        free(best_rows);
        free(base_cov);
        free(a);
        cover_release(&cv);
        return pw_err_set(err, PW_ERR_TOOBIG,
                          "the matrix excludes are too tangled to build a "
                          "covering array (a search for a row that avoids "
                          "them gave up after %d steps)",
                          CONS_NODES);
    }
    if (best_rows != NULL && !exact && best_n > cover_lower_bound(m)) {
        uint64_t unit = (uint64_t)cv.nbits * SEARCH_WORK_PER_BIT;

        unit = unit < SEARCH_WORK_MIN   ? SEARCH_WORK_MIN
               : unit > SEARCH_WORK_MAX ? SEARCH_WORK_MAX
                                        : unit;
        search_improve(&cv, base_cov, best_rows, &best_n,
                       cover_lower_bound(m), (uint64_t)m->effort * unit);
    }
    free(base_cov);
    free(a);
    cover_release(&cv);
    m->rows = best_rows;
    m->nrows = best_n;
    m->build_ms = (clock_mono() - started) * 1000.0;
    return PW_OK;
}

/* The shape of <m> that its covering array depends on -- value counts,
 * excludes and includes as value indices, strength and effort; caller
 * frees. */
static size_t *cover_key(const struct matrix *m, size_t *len)
{
    size_t n = 4 + m->nparams + m->nexcludes * m->nparams +
               m->nincludes * m->nparams;
    size_t *k = xmalloc(n * sizeof(size_t)), at = 0, i;

    k[at++] = m->strength;
    k[at++] = m->effort;
    k[at++] = m->nparams;
    k[at++] = m->nexcludes;
    for (i = 0; i < m->nparams; i++)
        k[at++] = m->params[i].nvalues;
    for (i = 0; i < m->nexcludes * m->nparams; i++)
        k[at++] = (size_t)m->excludes[i];
    for (i = 0; i < m->nincludes * m->nparams; i++)
        k[at++] = (size_t)matrix_find_value(m, i % m->nparams,
                                            m->includes[i]);
    *len = at;
    return k;
}

int matrix_adopt(struct matrix *m, const struct matrix *from)
{
    size_t la, lb, *ka, *kb;
    int same;

    if (m->built || !from->built || all_mode(m) || all_mode(from))
        return 0;
    ka = cover_key(m, &la);
    kb = cover_key(from, &lb);
    same = la == lb && memcmp(ka, kb, la * sizeof(size_t)) == 0;
    free(ka);
    free(kb);
    if (!same)
        return 0;
    m->rows = xmalloc((from->nrows * m->nparams + 1) * sizeof(size_t));
    if (from->nrows)
        memcpy(m->rows, from->rows, from->nrows * m->nparams * sizeof(size_t));
    m->nrows = from->nrows;
    m->required = from->required;
    m->build_ms = 0;
    m->built = 1;
    return 1;
}

static int by_count_desc(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;

    return x < y ? 1 : x > y ? -1 : 0;
}

pw_status matrix_stats(struct matrix *m, struct matrix_stats *st,
                       struct pw_err *err)
{
    size_t *counts = xmalloc((m->nparams ? m->nparams : 1) * sizeof(size_t));
    size_t i, t;
    pw_status rc;

    memset(st, 0, sizeof(*st));
    rc = matrix_count(m, UINT64_MAX, &st->rows, err);
    st->strength = all_mode(m) ? 0 : m->strength;
    t = st->strength ? st->strength : m->nparams;
    for (i = 0; i < m->nparams; i++)
        counts[i] = m->params[i].nvalues;
    qsort(counts, m->nparams, sizeof(size_t), by_count_desc);
    st->lower_bound = 1;
    for (i = 0; i < t && i < m->nparams; i++)
        st->lower_bound = units_sat_mul(st->lower_bound, counts[i]);
    if (st->strength && m->built) {
        st->required = m->required;
        st->build_ms = m->build_ms;
    }
    free(counts);
    return rc;
}

/* ---- Iteration ---- */

static int include_in_rows(const struct matrix *m, size_t inc);

pw_status matrix_iter_init(struct matrix_iter *it, struct matrix *m,
                           struct pw_err *err)
{
    memset(it, 0, sizeof(*it));
    it->m = m;
    it->idx = xcalloc(m->nparams ? m->nparams : 1, sizeof(size_t));
    it->row = xcalloc(m->nparams ? m->nparams : 1, sizeof(char *));
    if (m->strength >= 2 && m->strength < m->nparams && !m->built) {
        pw_status rc = build_cover(m, err);

        if (rc != PW_OK) {
            matrix_iter_release(it);
            return rc;
        }
        m->built = 1;
    }
    return PW_OK;
}

void matrix_iter_release(struct matrix_iter *it)
{
    free(it->idx);
    free(it->row);
    it->idx = NULL;
    it->row = NULL;
}

static int all_mode(const struct matrix *m)
{
    return m->strength < 2 || m->strength >= m->nparams;
}

/* Whether include <inc> is already produced by the generated rows. */
static int include_in_rows(const struct matrix *m, size_t inc)
{
    size_t *a = xmalloc((m->nparams ? m->nparams : 1) * sizeof(size_t));
    size_t p, r;
    int found = 0;

    for (p = 0; p < m->nparams; p++) {
        int v = matrix_find_value(m, p, m->includes[inc * m->nparams + p]);

        if (v < 0)
            break;
        a[p] = (size_t)v;
    }
    if (p < m->nparams) {
        free(a);
        return 0;
    }
    if (all_mode(m)) {
        found = !violates(m, a);
    } else {
        for (r = 0; r < m->nrows && !found; r++)
            found = memcmp(m->rows + r * m->nparams, a,
                           m->nparams * sizeof(size_t)) == 0;
    }
    free(a);
    return found;
}

/* Also skips an include equal to an earlier include. */
static int include_dup(const struct matrix *m, size_t inc)
{
    size_t j, p;

    if (include_in_rows(m, inc))
        return 1;
    for (j = 0; j < inc; j++) {
        for (p = 0; p < m->nparams; p++)
            if (strcmp(m->includes[j * m->nparams + p],
                       m->includes[inc * m->nparams + p]) != 0)
                break;
        if (p == m->nparams)
            return 1;
    }
    return 0;
}

static int next_product(struct matrix_iter *it)
{
    const struct matrix *m = it->m;
    size_t p;

    while (!it->done) {
        int ok = 1;

        if (it->pos > 0) {
            /* odometer: last parameter changes fastest */
            for (p = m->nparams; p > 0; p--) {
                if (++it->idx[p - 1] < m->params[p - 1].nvalues)
                    break;
                it->idx[p - 1] = 0;
            }
            if (p == 0) {
                it->done = 1;
                return 0;
            }
        }
        it->pos++;
        for (p = 0; p < m->nparams; p++)
            if (m->params[p].nvalues == 0)
                ok = 0;
        if (!ok) {
            it->done = 1;
            return 0;
        }
        if (violates(m, it->idx))
            continue;
        if (m->nparams == 0)
            it->done = 1;
        return 1;
    }
    return 0;
}

int matrix_iter_next(struct matrix_iter *it, const char *const **row)
{
    const struct matrix *m = it->m;
    size_t p;

    if (all_mode(m)) {
        if (next_product(it)) {
            for (p = 0; p < m->nparams; p++)
                it->row[p] = m->params[p].values[it->idx[p]];
            it->cur = it->pos - 1; /* next_product counts the row it gave */
            *row = it->row;
            return 1;
        }
    } else if (it->pos < m->nrows) {
        const size_t *r = m->rows + it->pos * m->nparams;

        for (p = 0; p < m->nparams; p++)
            it->row[p] = m->params[p].values[r[p]];
        it->cur = it->pos++;
        *row = it->row;
        return 1;
    }
    while (it->inc < m->nincludes) {
        size_t inc = it->inc++;

        if (include_dup(m, inc))
            continue;
        for (p = 0; p < m->nparams; p++)
            it->row[p] = m->includes[inc * m->nparams + p];
        it->cur = MATRIX_POS_INCLUDE + inc;
        *row = it->row;
        return 1;
    }
    return 0;
}

uint64_t matrix_iter_pos(const struct matrix_iter *it)
{
    return it->cur;
}

/* Whether include <inc> yields a row of its own.  For a covering array
 * the answer costs a scan of every row, so it is noted once for all
 * includes; for "all" it is a few lookups and is not worth the memory. */
static int include_yields(struct matrix *m, size_t inc)
{
    size_t i;

    if (all_mode(m))
        return !include_dup(m, inc);
    if (m->inc_dup == NULL) {
        m->inc_dup = xmalloc(m->nincludes);
        for (i = 0; i < m->nincludes; i++)
            m->inc_dup[i] = (unsigned char)include_dup(m, i);
    }
    return !m->inc_dup[inc];
}

int matrix_row_at(struct matrix *m, uint64_t pos, const char **row)
{
    size_t a[MATRIX_MAX_PARAMS];
    size_t p;

    /* Which includes repeat a row depends on the covering rows too. */
    if (!all_mode(m) && !m->built)
        return -1;
    if (pos >= MATRIX_POS_INCLUDE) {
        uint64_t inc = pos - MATRIX_POS_INCLUDE;

        if (inc >= m->nincludes || !include_yields(m, (size_t)inc))
            return 0;
        for (p = 0; p < m->nparams; p++)
            row[p] = m->includes[inc * m->nparams + p];
        return 1;
    }
    if (m->nparams > MATRIX_MAX_PARAMS)
        return 0; /* the loader refuses such a matrix */
    if (!all_mode(m)) {
        const size_t *r;

        if (pos >= m->nrows)
            return 0;
        r = m->rows + pos * m->nparams;
        for (p = 0; p < m->nparams; p++)
            row[p] = m->params[p].values[r[p]];
        return 1;
    }
    for (p = m->nparams; p > 0; p--) {
        size_t nv = m->params[p - 1].nvalues;

        if (nv == 0)
            return 0;
        a[p - 1] = (size_t)(pos % nv);
        pos /= nv;
    }
    /* A remainder means <pos> lies beyond the product. */
    if (pos != 0 || violates(m, a))
        return 0;
    for (p = 0; p < m->nparams; p++)
        row[p] = m->params[p].values[a[p]];
    return 1;
}

/* ---- Counting ----
 *
 * The number of product rows that match no exclude is counted without
 * visiting them, so a matrix of 2^60 rows is sized in microseconds and a
 * suite can be refused before anything enumerates it.  Inclusion-exclusion
 * over the excludes would cost 2^excludes terms and needs subtraction,
 * which saturating arithmetic cannot do; instead a dynamic programme walks
 * the parameters that some exclude names, one at a time, keeping for each
 * reachable "state" (the set of excludes matched so far and not yet
 * decided) how many partial rows lead to it.  A value either keeps an
 * exclude alive or kills it; an exclude alive after its last parameter
 * removes those rows.  Values that no live exclude names share one
 * transition, so the work depends on the excludes, not on the number of
 * values.  Parameters no exclude names only multiply the result.  Counts
 * only ever add and multiply, so saturating at UINT64_MAX is exact up to
 * the saturation point and never wraps.
 */

/* Most states one step of the walk may hold: far beyond what excludes
 * written by hand produce, and small enough to answer in well under a
 * second when a generated file is adversarial. */
#define COUNT_MAX_STATES 200000

/* A set of states, each a bitset of <words> words over the excludes, with
 * a saturated count; open addressing on the bitsets. */
struct states {
    size_t words;
    uint64_t *keys; /* n keys of <words> words */
    uint64_t *counts;
    size_t n, alloc;
    size_t *slots; /* index + 1, 0 = empty */
    size_t nslots;
};

static void states_init(struct states *st, size_t words)
{
    memset(st, 0, sizeof(*st));
    st->words = words;
    st->nslots = 64;
    st->slots = xcalloc(st->nslots, sizeof(size_t));
}

static void states_release(struct states *st)
{
    free(st->keys);
    free(st->counts);
    free(st->slots);
}

static size_t states_hash(const uint64_t *key, size_t words)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    size_t i;

    for (i = 0; i < words; i++) {
        h ^= key[i];
        h *= 0x100000001b3ULL;
        h ^= h >> 29;
    }
    return (size_t)h;
}

static void states_rehash(struct states *st)
{
    size_t i;

    free(st->slots);
    st->nslots *= 2;
    st->slots = xcalloc(st->nslots, sizeof(size_t));
    for (i = 0; i < st->n; i++) {
        size_t h = states_hash(st->keys + i * st->words, st->words);

        while (st->slots[h % st->nslots])
            h++;
        st->slots[h % st->nslots] = i + 1;
    }
}

/* Add <count> rows to state <key>. */
static void states_add(struct states *st, const uint64_t *key, uint64_t count)
{
    size_t w = st->words, h = states_hash(key, w), slot, i;

    for (;; h++) {
        slot = st->slots[h % st->nslots];
        if (slot == 0)
            break;
        if (memcmp(st->keys + (slot - 1) * w, key, w * sizeof(uint64_t)) == 0) {
            st->counts[slot - 1] = units_sat_add(st->counts[slot - 1], count);
            return;
        }
    }
    i = st->n;
    if (st->n + 1 > st->alloc) {
        st->alloc = st->alloc ? st->alloc * 2 : 16;
        st->keys = xrealloc(st->keys, st->alloc * w * sizeof(uint64_t));
        st->counts = xrealloc(st->counts, st->alloc * sizeof(uint64_t));
    }
    memcpy(st->keys + i * w, key, w * sizeof(uint64_t));
    st->counts[i] = count;
    st->n++;
    st->slots[h % st->nslots] = i + 1;
    if (st->n * 2 > st->nslots)
        states_rehash(st);
}

#define KEY_HAS(k, e) (((k)[(e) / 64] >> ((e) % 64)) & 1u)
#define KEY_SET(k, e) ((k)[(e) / 64] |= (uint64_t)1 << ((e) % 64))

/* One step of the walk: extend every state of <cur> with a value of
 * parameter <p>, into <next>.  <first>/<last> give each exclude's first
 * and last named parameter.  Returns 0 when <next> outgrows
 * COUNT_MAX_STATES. */
static int count_step(const struct matrix *m, size_t p, const size_t *first,
                      const size_t *last, const struct states *cur,
                      struct states *next)
{
    size_t w = cur->words, ne = m->nexcludes, s, e, k;
    uint64_t *live = xcalloc(w, sizeof(uint64_t));
    uint64_t *key = xcalloc(w, sizeof(uint64_t));
    int *vals = xmalloc(ne * sizeof(int));
    size_t nvals;

    for (s = 0; s < cur->n && next->n <= COUNT_MAX_STATES; s++) {
        const uint64_t *sk = cur->keys + s * w;
        uint64_t c = cur->counts[s];

        /* The excludes still undecided at <p>: those alive so far and
         * those that start here. */
        for (k = 0; k < w; k++)
            live[k] = sk[k];
        for (e = 0; e < ne; e++)
            if (first[e] == p)
                KEY_SET(live, e);
        nvals = 0;
        for (e = 0; e < ne; e++) {
            int v = m->excludes[e * m->nparams + p];

            if (!KEY_HAS(live, e) || v < 0)
                continue;
            for (k = 0; k < nvals; k++)
                if (vals[k] == v)
                    break;
            if (k == nvals)
                vals[nvals++] = v;
        }
        /* Each value some live exclude names: the excludes naming another
         * value of <p> die, those ending at <p> remove the rows. */
        for (k = 0; k < nvals; k++) {
            int removed = 0;

            memset(key, 0, w * sizeof(uint64_t));
            for (e = 0; e < ne && !removed; e++) {
                int v = m->excludes[e * m->nparams + p];

                if (!KEY_HAS(live, e) || (v >= 0 && v != vals[k]))
                    continue;
                if (last[e] == p)
                    removed = 1;
                else
                    KEY_SET(key, e);
            }
            if (!removed)
                states_add(next, key, c);
        }
        /* Every other value: all excludes naming <p> die at once. */
        if (m->params[p].nvalues > nvals) {
            memset(key, 0, w * sizeof(uint64_t));
            for (e = 0; e < ne; e++)
                if (KEY_HAS(live, e) && m->excludes[e * m->nparams + p] < 0)
                    KEY_SET(key, e);
            states_add(next, key,
                       units_sat_mul(c, (uint64_t)(m->params[p].nvalues - nvals)));
        }
    }
    free(live);
    free(key);
    free(vals);
    return next->n <= COUNT_MAX_STATES;
}

/* Product rows of <m> matching no exclude, saturated, into *<out>. */
static pw_status count_allowed(const struct matrix *m, uint64_t *out,
                               struct pw_err *err)
{
    size_t ne = m->nexcludes, np = m->nparams, w = ne / 64 + 1, p, e;
    size_t *first = xcalloc(ne ? ne : 1, sizeof(size_t));
    size_t *last = xcalloc(ne ? ne : 1, sizeof(size_t));
    unsigned char *named = xcalloc(np ? np : 1, 1);
    uint64_t *zero = xcalloc(w, sizeof(uint64_t));
    uint64_t free_rows = 1, total = 0;
    struct states cur, next;
    pw_status rc = PW_OK;
    size_t i;
    int ok;

    for (e = 0; e < ne; e++) {
        first[e] = UNSET;
        for (p = 0; p < np; p++) {
            if (m->excludes[e * np + p] < 0)
                continue;
            if (first[e] == UNSET)
                first[e] = p;
            last[e] = p;
            named[p] = 1;
        }
    }
    for (p = 0; p < np; p++)
        if (!named[p])
            free_rows = units_sat_mul(free_rows, m->params[p].nvalues);
    states_init(&cur, w);
    states_add(&cur, zero, 1); /* before any parameter: no exclude live */
    free(zero);
    for (p = 0; p < np && free_rows > 0; p++) {
        if (!named[p])
            continue;
        states_init(&next, w);
        ok = count_step(m, p, first, last, &cur, &next);
        states_release(&cur);
        cur = next;
        if (!ok) {
            rc = pw_err_set(err, PW_ERR_TOOBIG,
                            "the matrix excludes overlap in too many ways "
                            "to count its tests");
            break;
        }
    }
    if (rc == PW_OK) {
        for (i = 0; i < cur.n; i++)
            total = units_sat_add(total, cur.counts[i]);
        *out = units_sat_mul(total, free_rows);
    }
    states_release(&cur);
    free(first);
    free(last);
    free(named);
    return rc;
}

/* Whether some row of <m> matches no exclude: 1 or 0, or -1 when the
 * excludes are too tangled to tell within CONS_NODES. */
static int any_allowed(const struct matrix *m)
{
    struct cons c;
    size_t *a = xmalloc((m->nparams ? m->nparams : 1) * sizeof(size_t));
    size_t p;
    int ok;

    for (p = 0; p < m->nparams; p++)
        a[p] = UNSET;
    cons_init(&c, m);
    ok = completable(&c, a);
    if (c.exhausted)
        ok = -1;
    cons_release(&c);
    free(a);
    return ok;
}

/* A lower bound on the rows of a t-wise covering array of <m>, given that
 * some allowed row exists: the parameters no exclude names combine
 * freely, so every combination of values of the <t> largest of them must
 * appear. */
static uint64_t cover_lower_bound(const struct matrix *m)
{
    size_t top[MATRIX_MAX_STRENGTH] = { 0 };
    size_t p, e, i, j;
    uint64_t lb = 1;

    for (p = 0; p < m->nparams; p++) {
        size_t nv = m->params[p].nvalues;

        for (e = 0; e < m->nexcludes; e++)
            if (m->excludes[e * m->nparams + p] >= 0)
                break;
        if (e < m->nexcludes)
            continue;
        /* keep <top> sorted, largest first */
        for (i = 0; i < m->strength && i < MATRIX_MAX_STRENGTH; i++)
            if (nv > top[i])
                break;
        if (i >= m->strength || i >= MATRIX_MAX_STRENGTH)
            continue;
        for (j = m->strength - 1; j > i; j--)
            top[j] = top[j - 1];
        top[i] = nv;
    }
    for (i = 0; i < m->strength && i < MATRIX_MAX_STRENGTH; i++)
        if (top[i] > 0)
            lb = units_sat_mul(lb, top[i]);
    return lb;
}

/* Includes that add a row of their own. */
static uint64_t count_includes(const struct matrix *m)
{
    uint64_t n = 0;
    size_t i;

    for (i = 0; i < m->nincludes; i++)
        if (!include_dup(m, i))
            n++;
    return n;
}

pw_status matrix_count(struct matrix *m, uint64_t limit, uint64_t *out,
                       struct pw_err *err)
{
    uint64_t lb;

    if (!m->counted) {
        pw_status rc = count_allowed(m, &m->allowed_rows, err);
        int any;

        /* A covering array needs to know only whether any row is
         * allowed: that may be answered where counting gives up. */
        if (rc != PW_OK && (all_mode(m) || (any = any_allowed(m)) < 0))
            return rc;
        if (rc != PW_OK)
            m->allowed_rows = (uint64_t)any;
        m->counted = 1;
    }
    if (all_mode(m) || m->allowed_rows == 0) {
        /* A covering array of nothing allowed is empty too. */
        *out = units_sat_add(m->allowed_rows, count_includes(m));
        return PW_OK;
    }
    lb = cover_lower_bound(m);
    if (lb > limit && !m->built) {
        *out = lb;
        return PW_OK;
    }
    if (!m->built) {
        pw_status rc = build_cover(m, err);

        if (rc != PW_OK)
            return rc;
        m->built = 1;
    }
    *out = units_sat_add(m->nrows, count_includes(m));
    return PW_OK;
}
