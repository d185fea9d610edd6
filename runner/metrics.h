/* metrics.h -- what the runner's results said, kept in memory.
 *
 * A result sink (metrics_sink()) that keeps, for the HTTP listener's
 * /metrics and /api/status:
 *
 *   - per test (keyed by test id): the last status, since when it holds,
 *     the last run's time and duration, run and failure counters, the
 *     statuses of the last METRICS_HISTORY runs, and the failing step and
 *     message while the test is not passing.  About 100 bytes a test, its
 *     id included, so a million tests that all ran stay near 100 MB; a
 *     run's other details (timings per step, older messages) are in Redis
 *     ({p}:runs:{id}), not here;
 *   - per scenario x target: a histogram of run durations (one per pair,
 *     not per test, so its series stay few whatever the matrix);
 *   - per target: the steps' answers by status class and the requests
 *     sent, from which an achieved rate is worked out (metrics_tick()).
 *
 * Everything is copied in; nothing is borrowed from a result after the
 * sink call.  Memory grows with the number of distinct tests, scenario x
 * target pairs and targets seen, and is bounded by them.
 *
 * Single-threaded, on the service's loop.
 */
#ifndef PW_METRICS_H
#define PW_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "result.h"
#include "sbuf.h"

#define METRICS_HISTORY 16 /* statuses of runs kept per test */

struct metrics;

/* A test's facts, borrowed from the metrics until its next change. */
struct metrics_test {
    const char *id, *scenario, *target;
    int status;       /* enum run_status of the last run */
    time_t since;     /* when the status last changed (wall, s) */
    time_t last_run;  /* started (wall, s) */
    double duration_ms;
    unsigned long runs, failures; /* failures: fail or error */
    /* The last run's failing step and message: NULL when it passed or
     * had none. */
    const char *message;
    const char *step;
    int history[METRICS_HISTORY]; /* enum run_status, oldest first */
    size_t nhistory;
};

/* New, empty metrics.  Free with metrics_free(). */
struct metrics *metrics_new(void);

/* The sink to add to the engine.  The engine's free of the sink does not
 * free the metrics; metrics_free() does, after the engine is gone. */
struct result_sink *metrics_sink(struct metrics *m);

/* Release <m>.  NULL is a no-op. */
void metrics_free(struct metrics *m);

/* Take a sample of the request counters at monotonic time <now>
 * (seconds) for the achieved rates; call about once a second. */
void metrics_tick(struct metrics *m, double now);

/* Number of tests seen. */
size_t metrics_tests(const struct metrics *m);

/* Fill *<t> for test <id>: 1, or 0 when it never ran. */
int metrics_find(const struct metrics *m, const char *id,
                 struct metrics_test *t);

/* <fn>(<t>, <arg>) for every test seen, in the order first seen; stops
 * when <fn> returns non-zero. */
void metrics_visit(const struct metrics *m,
                   int (*fn)(const struct metrics_test *t, void *arg),
                   void *arg);

/* Achieved requests/s to <target> over the last sampled window (about
 * ten seconds); the whole of the sample when shorter.  0 when unknown. */
double metrics_rate(const struct metrics *m, const char *target);

/* Achieved requests/s over every target. */
double metrics_rate_all(const struct metrics *m);

/* Append the Prometheus series of the results (text format 0.0.4): the
 * per-test ones only when <per_test>, the histograms, the per-target
 * request classes. */
void metrics_write_prom(const struct metrics *m, struct sbuf *out,
                        int per_test);

/* Where a piecewise metrics_write_prom_part() stands.  Zero it to start.
 * The tables only grow, so a cursor holds across the loop's turns. */
struct metrics_cursor {
    unsigned part;
    size_t i;
};

/* The same text as metrics_write_prom(), a piece at a time: appends from
 * *<c> on, stopping at a line's end once <out> holds <budget> bytes or
 * more.  Returns 1 when the text is complete, 0 when there is more. */
int metrics_write_prom_part(const struct metrics *m, struct sbuf *out,
                            int per_test, struct metrics_cursor *c,
                            size_t budget);

/* Helpers of the text format, for the other series of /metrics. */

/* "# HELP name help\n# TYPE name type\n". */
void prom_head(struct sbuf *out, const char *name, const char *type,
               const char *help);

/* <v> escaped as a label value: backslash, quote and newline. */
void prom_label(struct sbuf *out, const char *v);

/* A sample value: NaN, +Inf and -Inf as the format spells them. */
void prom_value(struct sbuf *out, double v);

#endif /* PW_METRICS_H */
