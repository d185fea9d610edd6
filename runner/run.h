/* run.h -- one run of one test: its steps, checks, captures and cleanups.
 *
 * A run is a small state machine on the loop: render the step's request,
 * wait for the throttle, send it, judge the response, retry if the step
 * allows, capture, register the step's cleanup in the journal, go on to
 * the next step.  When the steps are over -- passed, failed or errored --
 * every registered cleanup runs, newest first, each with its own
 * expectation.  Then the run reports its result and frees itself.
 *
 * The whole run is bounded by the scenario's timeout: no request of a step
 * may outlive it (cleanups still run after it, with their own timeouts).
 * Many runs interleave on one loop; each has its own HTTP client and so
 * its own cookie jar.
 */
#ifndef PW_RUN_H
#define PW_RUN_H

#include <stddef.h>
#include <time.h>

#include "config.h"
#include "jqset.h"
#include "journal.h"
#include "loop.h"
#include "result.h"
#include "scenario.h"
#include "secret.h"
#include "suite.h"
#include "throttle.h"

/* What every run shares.  All borrowed; they must outlive the runs. */
struct run_env {
    struct loop *loop;
    struct jqset *jq;
    struct throttle *throttle;
    struct journal *journal;
    struct secrets *secrets; /* values read once; redaction */
    const struct config *cfg;
    /* The throttle's index of each of cfg's targets; NULL: the same. */
    const size_t *slots;
};

struct run;

/* Called once when the run is over; <r> is valid during the call only.
 * The run frees itself after the callback returns. */
typedef void run_done_fn(const struct run_result *r, void *arg);

/* Start the test of scenario <sc> on target number <target> (an index
 * into env->cfg->targets) with matrix row <row> (copied; NULL without a
 * matrix) and id <test_id> (copied).  <done> is called from the loop,
 * never from inside this call.  Returns the run, valid until <done> is
 * called. */
struct run *run_start(const struct run_env *env, const struct scenario *sc,
                      size_t target, const char *const *row,
                      const char *test_id, run_done_fn *done, void *arg);

/* Stop run <r>: its steps end at once -- a wait for the throttle or a
 * retry's delay is withdrawn, a request in flight is aborted -- or, when
 * it awaits the journal's answer or a check running in a child, right
 * after that (both bounded).  It reports RUN_ERROR "cancelled: stopping"
 * (steps already over keep their verdict).  Its cleanups still run,
 * under the throttle, except while its target is held: from this call on,
 * a cleanup that would wait for a held target is not sent; it and the
 * ones after it stay in the journal (they count in cleanups_failed) and
 * the message says "N cleanups left in the journal: target held".  A
 * cleanup already sent finishes by its own timeout.  Called again (say,
 * after a hold came), it looks again.  Nothing is called inside this
 * call. */
void run_cancel(struct run *r);

enum clean_outcome {
    CLEAN_OK,           /* sent, and answered as the cleanup expects */
    CLEAN_FAILED,       /* sent, but it failed or was not accepted */
    CLEAN_UNRENDERABLE, /* the scenario, target, step or a var is gone */
};

/* Called once when a cleanup from an intent is over; <message> (one
 * line, redacted; NULL on CLEAN_OK) is valid during the call only. */
typedef void run_cleaned_fn(enum clean_outcome outcome, const char *message,
                            void *arg);

/* Send the cleanup that intent <in> (borrowed during the call) stands
 * for, as the run that registered it would have: the same template scope
 * -- matrix values, target, the intent's vars (a var it left out is
 * rendered again from its template: that is how one built from a secret
 * comes back), its captures (a run leaves out one that holds a secret: a
 * cleanup that uses it is CLEAN_UNRENDERABLE, naming it), run.id,
 * test.id -- looked up in suite <s>
 * (borrowed during the call; <env> must match it).  The request passes
 * the throttle and is judged by the cleanup's expectation.  On success
 * journal_done(<journal_id>) is called (0: none).  <cleaned> is called
 * from the loop, never inside this call.  {{ run.started }} renders as
 * the intent's registration time: the run's start is not kept. */
void run_clean(const struct run_env *env, const struct suite *s,
               const struct journal_intent *in, uint64_t journal_id,
               run_cleaned_fn *cleaned, void *arg);

#endif /* PW_RUN_H */
