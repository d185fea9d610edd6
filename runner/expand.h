/* expand.h -- from scenarios to tests: one per permutation and target.
 *
 * A test id is "scenario@target[k=v,k=v]" with keys in matrix order, or
 * "scenario@target" when the scenario has no matrix.  Ids are derived from
 * names and values only, so they stay the same across restarts and
 * reloads and history and incidents keep following the same test.  Inside
 * the brackets the characters ",=[]%" and control bytes of a value are
 * percent-encoded so an id always parses back unambiguously.
 */
#ifndef PW_EXPAND_H
#define PW_EXPAND_H

#include "err.h"
#include "matrix.h"
#include "sbuf.h"
#include "suite.h"

/* Append the id of the test of <sc> on <target> with matrix row <row>
 * (one value per parameter; may be NULL without a matrix) to <out>. */
void expand_test_id(struct sbuf *out, const struct scenario *sc,
                    const char *target, const char *const *row);

/* Which tests to visit.  Each kind is a list of names (borrowed): a test
 * is selected when it matches any name of every kind that has names, so
 * "--tag a --tag b --target t" means (tag a or tag b) and target t.  An
 * empty list selects everything. */
struct expand_filter {
    const char *const *scenarios;
    size_t nscenarios;
    const char *const *targets;
    size_t ntargets;
    const char *const *tags;
    size_t ntags;
};

/* One test, as the walk yields it.  Every pointer is borrowed: valid
 * until the next expand_iter_next() or expand_iter_release() (the
 * scenario and target until suite_free()). */
struct expand_test {
    const struct scenario *sc;
    const char *target;
    const char *const *row; /* one value per matrix parameter */
    const char *id;
    size_t sc_index;     /* suite_scenario(s, sc_index) == sc */
    size_t target_index; /* into the config's targets */
    uint64_t pos;        /* matrix_row_at(scenario_matrix(sc), pos) == row */
};

/* A walk over the selected tests, one at a time, in the order of
 * expand_each().  It holds one matrix iterator and one id, never a list of
 * tests: memory stays flat however many tests the suite has, so a caller
 * can run them as they come (keeping at most what it has in flight).
 * Lives in the caller's storage; the fields are private. */
struct expand_iter {
    const struct suite *s;
    struct expand_filter f; /* its lists borrowed */
    size_t sc, tg;          /* current scenario and target */
    int in_matrix;          /* <it> is live */
    pw_status status;       /* why the walk failed, or PW_OK */
    struct matrix_iter it;
    struct sbuf id;
};

/* Start walking the tests of <s> that <f> selects (NULL: all).  <s> and
 * the filter's strings must outlive the walk.  Release with
 * expand_iter_release(), also when stopping early. */
void expand_iter_init(struct expand_iter *x, const struct suite *s,
                      const struct expand_filter *f);

/* Advance to the next test: returns 1 and fills *<t>, 0 when there are no
 * more, or -1 with the reason in <err> (may be NULL) when a covering array
 * cannot be built; after 0 or -1 the walk is over. */
int expand_iter_next(struct expand_iter *x, struct expand_test *t,
                     struct pw_err *err);

/* Release what the walk holds.  Safe after the walk ended or failed. */
void expand_iter_release(struct expand_iter *x);

/* Called for each selected test; return non-zero to stop. */
typedef int expand_fn(const struct scenario *sc, const char *target,
                      const char *const *row, const char *id, void *arg);

/* Visit every test of <s> that <f> selects, scenario by scenario in suite
 * order, then target by target in config order, then row by row.  Tests
 * are produced one at a time (an expand_iter), so stopping early costs
 * nothing further.  Returns PW_OK, or an error from building a covering
 * array (in <err>). */
pw_status expand_each(const struct suite *s, const struct expand_filter *f,
                      expand_fn *fn, void *arg, struct pw_err *err);

#endif /* PW_EXPAND_H */
