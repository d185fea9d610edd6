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
#include "throttle.h"

/* What every run shares.  All borrowed; they must outlive the runs. */
struct run_env {
    struct loop *loop;
    struct jqset *jq;
    struct throttle *throttle;
    struct journal *journal;
    struct secrets *secrets; /* values read once; redaction */
    const struct config *cfg;
};

/* Called once when the run is over; <r> is valid during the call only.
 * The run frees itself after the callback returns. */
typedef void run_done_fn(const struct run_result *r, void *arg);

/* Start the test of scenario <sc> on target number <target> (an index
 * into env->cfg->targets) with matrix row <row> (copied; NULL without a
 * matrix) and id <test_id> (copied).  <done> is called from the loop,
 * never from inside this call. */
void run_start(const struct run_env *env, const struct scenario *sc,
               size_t target, const char *const *row, const char *test_id,
               run_done_fn *done, void *arg);

#endif /* PW_RUN_H */
