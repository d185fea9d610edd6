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
 * Each expression must also keep to the response: builtins that reach the
 * environment, other inputs, files or the process (env, $ENV, input,
 * inputs, debug, stderr, halt, halt_error, input_filename, $__loc__,
 * import, include, modulemeta, get_search_list, ...) are refused at load.
 *
 * Evaluation is bounded.  An expression made only of builtins and
 * operators whose cost is bounded by the size of the input (paths, pipes,
 * comparisons, select, map, length, keys, sort, test, ...; no def, reduce,
 * foreach, variables, range, limit, while, until, repeat, recurse(f),
 * assignment, and no two generators whose outputs could multiply) runs
 * in-process: that is the hot path, as cheap as a jq call.  Any other
 * expression runs in a forked child that may use at most
 * JQSET_TIME_LIMIT_MS of wall time and JQSET_MEM_LIMIT bytes more address
 * space than the runner had; the child sends its first output back as
 * JSON text (or jq's error, or that there was none) and exits.  A child
 * that overruns is killed and reaped, and the evaluation fails with
 * "jq program ran longer than 1s", "jq program ran out of memory (256
 * MiB)" or "jq program crashed (signal N)": nothing hangs and the runner
 * survives.  jqset_eval() blocks for at most the time limit; a caller on
 * an event loop uses the jqset_job_* functions instead and never blocks
 * (the run engine does, so one slow check holds up no other run), and can
 * judge a child by the CPU time it used (jqset_job_cpu_ms()) so that a busy
 * machine does not fail a check.  Children run at a lower priority.  An
 * in-process
 * expression still costs time polynomial in the body (bounded by the
 * response cap); only the forked ones have a clock.
 *
 * A jqset is single-threaded: evaluation reuses the chunks' jq_states.
 */
#ifndef PW_JQSET_H
#define PW_JQSET_H

#include <stddef.h>
#include <jv.h>

#include "diag.h"
#include "err.h"

/* Limits of an evaluation that runs apart (see above). */
#define JQSET_TIME_LIMIT_MS 1000
#define JQSET_MEM_LIMIT     (256UL * 1024 * 1024)
/* A child that used less CPU than JQSET_TIME_LIMIT_MS because the machine
 * was busy is waited for up to this much wall time (jqset_job_cpu_ms()). */
#define JQSET_WALL_LIMIT_MS 10000
#define JQSET_OUTPUT_MAX    (16UL * 1024 * 1024) /* first output, as JSON */

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
 * PW_ERR_INVALID with jq's message in <err>; a program that runs apart and
 * overruns its limits yields PW_ERR_TIMEOUT ("ran longer than") or
 * PW_ERR_TOOBIG (memory, output) or PW_ERR_INVALID (crashed), and one that
 * cannot be started PW_ERR_IO.  Blocks for at most JQSET_TIME_LIMIT_MS.
 * Only after jqset_compile(), and only for expressions that compiled. */
pw_status jqset_eval(struct jqset *s, size_t idx, jv input, jv *out,
                     struct pw_err *err);

/* The same evaluation as jqset_eval() for an expression that runs in a
 * child, without waiting: for a caller on an event loop.  Start it with
 * jqset_job_start() (<input> consumed); watch jqset_job_fd() for reading
 * and call jqset_job_read() when it is readable, until it returns 1; then,
 * or when JQSET_TIME_LIMIT_MS has passed (<timed_out> set), collect the
 * result with jqset_job_finish(), which kills and reaps the child if need
 * be and frees the job.  A job that could not start has fd -1 and
 * finishes at once with the reason.  Never blocks. */
struct jqset_job;
struct jqset_job *jqset_job_start(struct jqset *s, size_t idx, jv input);
int jqset_job_fd(const struct jqset_job *j);
int jqset_job_read(struct jqset_job *j);
/* CPU milliseconds the job's child has used so far, or -1 when unknown
 * (the child is gone, or /proc cannot tell). */
long jqset_job_cpu_ms(const struct jqset_job *j);
pw_status jqset_job_finish(struct jqset_job *j, int timed_out, jv *out,
                           struct pw_err *err);

/* Whether expression <idx> runs in-process (1) or apart (0); see above.
 * Only after jqset_compile(). */
int jqset_in_process(const struct jqset *s, size_t idx);

/* The fast path of expression <idx> (fastjson.h), or NULL when libjq
 * alone evaluates it: borrowed, valid until jqset_free().  Only after
 * jqset_compile(). */
struct fastjson_expr;
const struct fastjson_expr *jqset_fast(const struct jqset *s, size_t idx);

/* The parser every fast path of <s> shares (one body at a time), or NULL
 * when no expression has a fast path.  Borrowed: valid until
 * jqset_free(). */
struct fastjson;
struct fastjson *jqset_fastjson(struct jqset *s);

/* Check <expr> alone, without libjq: non-empty, brackets and string quotes
 * balanced, no builtin that reaches outside the response.  Returns PW_OK
 * or PW_ERR_PARSE with the reason (and its offset) in <err>. */
pw_status jqset_precheck(const char *expr, struct pw_err *err);

#endif /* PW_JQSET_H */
