/* jqset.h -- every jq program of a suite, compiled together once.
 *
 * libjq 1.6 compiles its whole builtin library into every program it
 * compiles: about 20 ms each, so a suite with thousands of jq checks would
 * take a minute to start.  A jqset instead collects the expressions while
 * the scenarios load, then compiles them as the definitions of a few
 * combined programs (chunks of about a hundred), each of which selects one
 * definition by index at evaluation time through a balanced tree of
 * comparisons, so selection costs O(log chunk).  Builtins are compiled once
 * per chunk rather than once per expression.
 *
 * Each expression must stand alone: one whose brackets or quotes do not
 * balance is rejected before it could change the meaning of the combined
 * program.  When a combined program fails to compile, the culprits are
 * found by bisection and each one is reported with jq's own message.
 *
 * A jqset is single-threaded: evaluation reuses the chunks' jq_states.
 */
#ifndef PW_JQSET_H
#define PW_JQSET_H

#include <stddef.h>
#include <jv.h>

#include "diag.h"
#include "err.h"

struct jqset;

/* A new, empty set; free with jqset_free(). */
struct jqset *jqset_new(void);

/* Release <s>.  NULL is a no-op. */
void jqset_free(struct jqset *s);

/* Add the jq program <expr> (copied), found at <p> for error reports.
 * Returns its index, used with jqset_eval().  Must not be called after
 * jqset_compile(). */
size_t jqset_add(struct jqset *s, const char *expr, struct pos p);

/* Number of expressions added. */
size_t jqset_count(const struct jqset *s);

/* Compile every expression.  Each one that does not compile is reported
 * to <d> at the position it was added with.  Returns PW_OK when all
 * compiled, PW_ERR_PARSE otherwise (good expressions remain usable). */
pw_status jqset_compile(struct jqset *s, struct diag *d);

/* Run expression <idx> on <input> (consumed) and store its first output in
 * *<out> (caller frees with jv_free()).  A program that produces no output
 * yields jv_invalid() without a message; a runtime error yields
 * PW_ERR_INVALID with jq's message in <err>.  Only after jqset_compile(),
 * and only for expressions that compiled. */
pw_status jqset_eval(struct jqset *s, size_t idx, jv input, jv *out,
                     struct pw_err *err);

/* Check <expr> alone, without libjq: non-empty, brackets and string quotes
 * balanced.  Returns PW_OK or PW_ERR_PARSE with the reason in <err>. */
pw_status jqset_precheck(const char *expr, struct pw_err *err);

#endif /* PW_JQSET_H */
