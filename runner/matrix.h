/* matrix.h -- a scenario's matrix and the test permutations it yields.
 *
 * A matrix has named parameters, each with a list of values, plus
 * "exclude" entries (partial assignments that must never appear) and
 * "include" entries (full assignments that must appear, possibly with
 * values not in the lists).  Its strength t says how rows are chosen:
 *
 *   t = 0 ("all")      the full product minus excludes, plus includes,
 *                      enumerated lazily: no memory per permutation;
 *   t >= 2 ("t-wise")  a covering array: every t-way combination of values
 *                      that can appear in some allowed row appears in at
 *                      least one row, no row matches an exclude, and the
 *                      includes are added.  Built greedily (AETG-style,
 *                      several candidates per row, several seeded tries,
 *                      redundant rows removed) with a fixed-seed generator,
 *                      so the same matrix always gives the same rows in
 *                      the same order.
 *
 * A matrix is built by the scenario loader, then only read.  The covering
 * array is computed on first iteration and cached.
 */
#ifndef PW_MATRIX_H
#define PW_MATRIX_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define MATRIX_MAX_PARAMS   256
#define MATRIX_MAX_VALUES   100000
#define MATRIX_MAX_STRENGTH 6
/* coverage_effort: what the search after the greedy array may spend, in
 * units of 2,000 tuple lookups per tuple to cover (at least 200,000 and
 * at most 60 million lookups a unit; see matrix.c). */
#define MATRIX_DEFAULT_EFFORT 1
#define MATRIX_MAX_EFFORT     1000

struct matrix;

/* A new matrix with no parameters (one empty row); free with
 * matrix_free(). */
struct matrix *matrix_new(void);

/* Release <m>.  NULL is a no-op. */
void matrix_free(struct matrix *m);

/* Add a parameter named <name> (copied); returns its index. */
size_t matrix_add_param(struct matrix *m, const char *name);

/* Add <value> (copied) to parameter <p>; returns the value's index. */
size_t matrix_add_value(struct matrix *m, size_t p, const char *value);

/* Add an exclude: <vals>[i] is the value index of parameter i, or -1 for
 * "any".  At least one entry must be set. */
void matrix_add_exclude(struct matrix *m, const int *vals);

/* Add an include: <vals>[i] is the value (copied) of parameter i; all must
 * be set. */
void matrix_add_include(struct matrix *m, const char *const *vals);

/* Choose all (0) or t-wise coverage (2..MATRIX_MAX_STRENGTH).  A strength
 * not below the parameter count means all. */
void matrix_set_strength(struct matrix *m, unsigned t);

/* Let the search that drops rows from a covering array spend <effort>
 * units (0: none).  The units count work, not time: the same matrix and
 * effort always give the same rows. */
void matrix_set_effort(struct matrix *m, unsigned effort);
unsigned matrix_effort(const struct matrix *m);

/* Give <m> the covering array <from> has built when both have the same
 * shape (value counts, excludes, includes, strength and effort: all the
 * rows depend on), so a reload does not build again what it had.  Returns
 * 1 when adopted, 0 otherwise (then <m> builds its own on first use). */
int matrix_adopt(struct matrix *m, const struct matrix *from);

/* Accessors; borrowed strings, valid until matrix_free(). */
size_t matrix_param_count(const struct matrix *m);
const char *matrix_param_name(const struct matrix *m, size_t p);
size_t matrix_value_count(const struct matrix *m, size_t p);
const char *matrix_value(const struct matrix *m, size_t p, size_t v);
/* Index of the parameter named <name>, or -1. */
int matrix_find_param(const struct matrix *m, const char *name);
/* Index of <value> among parameter <p>'s values (the first, if it was
 * added twice), or -1.  A hash lookup: no walk over the values. */
int matrix_find_value(const struct matrix *m, size_t p, const char *value);
unsigned matrix_strength(const struct matrix *m);
/* The excludes as added: exclude <i>'s value index for each parameter, or
 * -1 for "any". */
size_t matrix_exclude_count(const struct matrix *m);
const int *matrix_exclude(const struct matrix *m, size_t i);
/* The includes as added: include <i>'s value for each parameter. */
size_t matrix_include_count(const struct matrix *m);
const char *const *matrix_include(const struct matrix *m, size_t i);

/* How many rows iterating <m> yields, without yielding them, into *<out>.
 *
 * For "all" the count is exact and costs no memory per row: the product
 * minus the rows matching any exclude (counted by a walk over the
 * parameters the excludes name, not by enumeration), plus the includes
 * the product lacks.  Arithmetic saturates: a count of UINT64_MAX means
 * "at least that many".  For t-wise coverage the count is that of the
 * covering array, which is built (and cached, as matrix_iter_init() would)
 * unless a lower bound already exceeds <limit>: then *<out> is that bound,
 * above <limit> but not exact.  So *<out> is exact whenever it is at most
 * <limit>.
 *
 * Returns PW_OK, or PW_ERR_TOOBIG with a reason in <err> (may be NULL)
 * when the excludes are too intertwined to count or the covering array
 * too large to build. */
pw_status matrix_count(struct matrix *m, uint64_t limit, uint64_t *out,
                       struct pw_err *err);

/* What a matrix costs, for `expand --stats`. */
struct matrix_stats {
    unsigned strength;    /* t, or 0 for every combination ("all") */
    uint64_t rows;        /* rows (tests per target), includes counted */
    uint64_t required;    /* t-tuples that must appear, excludes taken
                           * out; 0 for "all" */
    uint64_t lower_bound; /* product of the t largest value counts: no
                           * t-wise array has fewer rows; saturated */
    double build_ms;      /* time the covering array took to build */
};

/* Fill *<st> for <m>, building its covering array if that was not done
 * yet (see matrix_count()).  Returns matrix_count()'s status. */
pw_status matrix_stats(struct matrix *m, struct matrix_stats *st,
                       struct pw_err *err);

/* An iterator over the rows.  Lives in the caller's storage. */
struct matrix_iter {
    struct matrix *m;
    uint64_t pos;     /* next product index or covering row */
    uint64_t cur;     /* position of the current row */
    size_t inc;       /* next include */
    size_t *idx;      /* current value indices (all-mode counter) */
    const char **row; /* current row: one value per parameter */
    int done;
};

/* Start iterating <m>.  Builds the covering array on first use; returns
 * PW_ERR_TOOBIG with a reason in <err> when the matrix is too large to
 * cover at this strength.  Release with matrix_iter_release(). */
pw_status matrix_iter_init(struct matrix_iter *it, struct matrix *m,
                           struct pw_err *err);

/* Advance to the next row: returns 1 and points *<row> at one value per
 * parameter (borrowed until the next call), or 0 at the end. */
int matrix_iter_next(struct matrix_iter *it, const char *const **row);

void matrix_iter_release(struct matrix_iter *it);

/* ---- Random access ----
 *
 * Every row has a position, so a caller can keep eight bytes per row
 * instead of the row and get the row back later without walking from
 * the start.  Positions below MATRIX_POS_INCLUDE are, for "all", the
 * row's index in the full product (mixed radix, the last parameter
 * changing fastest, as the iterator goes) and, for t-wise coverage, the
 * index of the covering row; MATRIX_POS_INCLUDE + i is include i.
 * Positions are not dense: an excluded product row or an include that
 * repeats another row has a position that yields nothing.  A position
 * depends only on the matrix, so it is the same in every process that
 * loads the same file. */
#define MATRIX_POS_INCLUDE ((uint64_t)1 << 63)

/* The position of the row the last matrix_iter_next() on <it> returned
 * 1 for. */
uint64_t matrix_iter_pos(const struct matrix_iter *it);

/* The row at position <pos> of <m>: returns 1 and stores one value per
 * parameter (borrowed until matrix_free()) in <row>, which has room for
 * matrix_param_count() pointers; 0 when no row has that position (it is
 * excluded, a duplicate include, or out of range), so the rows this
 * yields are exactly those iteration yields; -1 when <m> asks for t-wise
 * coverage and its covering array has not been built yet (a successful
 * matrix_iter_init() or matrix_count() builds it).  Costs a few
 * operations per parameter and exclude: no walk, no allocation, except
 * that the first call for an include position of a covering array
 * notes, once, which includes repeat a row. */
int matrix_row_at(struct matrix *m, uint64_t pos, const char **row);

#endif /* PW_MATRIX_H */
