/* result.h -- what a run reports, and the sinks that take it.
 *
 * A run ends with one struct run_result.  Every consumer of results -- the
 * text, JSON and JUnit printers of `once`, the Redis store, later the
 * alert state machine and the metrics -- is a result sink behind one
 * operations table, so a command only chooses its sinks and the engine
 * hands each result to all of them in the order they were added.
 *
 * A sink never blocks the loop: a result is queued (or written to a
 * socket without waiting), and flush() finishes what is queued before the
 * process ends.  This header is light on purpose (no curl, jq or
 * libevent), so a sink includes only what it needs.
 */
#ifndef PW_RESULT_H
#define PW_RESULT_H

#include <stddef.h>
#include <time.h>

struct scenario;

enum run_status { RUN_PASS, RUN_FAIL, RUN_ERROR };

/* What one step's last attempt measured (curl's timing breakdown, each
 * from the start of the request). */
struct step_record {
    const char *name;
    unsigned attempts;
    long status; /* HTTP status; 0 when none came back */
    double dns_ms, connect_ms, tls_ms, first_byte_ms, total_ms;
};

/* One finished run.  Every pointer is borrowed and valid during the sink
 * call only; strings have been redacted (no secret in any of them). */
struct run_result {
    enum run_status status;
    const char *run_id;  /* 32 hex digits, unique per run */
    const char *test_id; /* borrowed from the run */
    const struct scenario *sc;
    const char *target;
    const char *step;         /* the step that failed, or NULL */
    const char *message;      /* one line; NULL when all went well (a
                                 passed run may carry a cleanup problem) */
    const char *excerpt;      /* the start of the failing response's body,
                                 printable, redacted; NULL when none */
    const char *request;      /* "METHOD URL" of the failing request,
                                 redacted; NULL when none was sent */
    const char *check;        /* what failed: "transport" (no answer),
                                 "timeout", "status" or "response";
                                 NULL when the run passed */
    double duration_ms;       /* steps only: cleanups and time spent
                                 waiting for the throttle excluded */
    unsigned requests;        /* HTTP requests sent, retries and cleanups
                                 included */
    unsigned cleanups_failed; /* left in the journal */
    time_t started;           /* wall clock, seconds */
    const struct step_record *steps; /* the steps that were attempted */
    size_t nsteps;
};

/* "pass", "fail" or "error". */
const char *run_status_name(enum run_status s);

struct result_sink;

/* Called by a sink's flush() when everything it was given is written (or
 * safely spooled). */
typedef void sink_flushed_fn(void *arg);

struct sink_ops {
    const char *name;
    /* Take result <r>; copy what is kept.  Never blocks. */
    void (*result)(struct result_sink *s, const struct run_result *r);
    /* Finish what is queued, then call <done>(<arg>) from the loop (never
     * from inside this call).  NULL: nothing is ever queued. */
    void (*flush)(struct result_sink *s, sink_flushed_fn *done, void *arg);
    void (*free)(struct result_sink *s);
};

/* The head of every sink; a sink embeds it first. */
struct result_sink {
    const struct sink_ops *ops;
};

#endif /* PW_RESULT_H */
