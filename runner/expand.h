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

/* Which tests to visit: NULL fields select everything. */
struct expand_filter {
    const char *scenario;
    const char *target;
    const char *tag;
};

/* Called for each selected test; return non-zero to stop. */
typedef int expand_fn(const struct scenario *sc, const char *target,
                      const char *const *row, const char *id, void *arg);

/* Visit every test of <s> that <f> selects, scenario by scenario in suite
 * order, then target by target in config order, then row by row.  Returns
 * PW_OK, or an error from building a covering array (in <err>). */
pw_status expand_each(const struct suite *s, const struct expand_filter *f,
                      expand_fn *fn, void *arg, struct pw_err *err);

#endif /* PW_EXPAND_H */
