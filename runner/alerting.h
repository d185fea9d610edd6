/* alerting.h -- the service's alerting: results in, pages out.
 *
 * One struct alerting ties together, on the service's loop and Redis
 * connection:
 *
 *   - a result sink (alerting_sink()) that hands every result to the
 *     reporters' on_result() and to the alert state machine (alert.h);
 *   - the alert state machine's state, kept in the Redis hashes
 *     {prefix}:alert:{runner}:test and :incident and read back at
 *     start, so a restart neither re-pages an open incident nor forgets
 *     one (results that arrive before that state is read wait for it);
 *   - the reporters (reporters.h) and the durable outbox (outbox.h) that
 *     delivers the machine's events to them;
 *   - silences: the `prodwatch silence` keys ({prefix}:control:silence:T,
 *     read every second) and the configured silence windows;
 *   - the connectivity check: a GET of alerting.connectivity_check every
 *     connectivity_every, a success being any HTTP answer.
 *
 * A reload swaps the reporters and the scenarios' declarations; queued
 * events and the state carry on.
 */
#ifndef PW_ALERTING_H
#define PW_ALERTING_H

#include <stddef.h>

#include "outbox.h"
#include "result.h"

struct diag;
struct loop;
struct redis;
struct suite;

struct alerting;

/* Start alerting for suite <su> (referenced) as runner <runner>.  Problems
 * loading the reporters go to <d>; returns NULL then. */
struct alerting *alerting_new(struct suite *su, struct loop *l,
                              struct redis *redis, const char *runner,
                              struct diag *d);

/* The sink to add to the engine.  The engine's free of the sink does not
 * free the alerting; alerting_free() does, after the engine is gone. */
struct result_sink *alerting_sink(struct alerting *a);

/* Take suite <su> after a reload: new reporters (problems to <d>; on
 * failure nothing changes and -1 is returned), new declarations. */
int alerting_reload(struct alerting *a, struct suite *su, struct diag *d);

/* Deliver what is in flight (at most <timeout_ms>), then <done>(<arg>)
 * from the loop. */
void alerting_flush(struct alerting *a, unsigned long timeout_ms,
                    void (*done)(void *arg), void *arg);

void alerting_free(struct alerting *a);

/* Visit the open incidents (see alert_visit()). */
void alerting_visit(const struct alerting *a,
                    int (*fn)(const char *dedup_key, enum pw_alert_level level,
                              const char *summary, int triggered,
                              long long since, void *arg),
                    void *arg);

/* Incidents open now. */
size_t alerting_incidents_open(const struct alerting *a);

/* The reporter instances: how many, the name of the <i>th (borrowed
 * until the next reload), and its delivery counts (outbox_stats(): 0,
 * or -1 when it has none yet). */
size_t alerting_reporters(const struct alerting *a);
const char *alerting_reporter_name(const struct alerting *a, size_t i);
int alerting_deliveries(const struct alerting *a, size_t i,
                        struct outbox_stats *st);

/* Whether pages about <target> are held back now (a silence key or a
 * silence window); <target> NULL: every target is. */
int alerting_silenced(struct alerting *a, const char *target);

/* `prodwatch alert test [-c FILE] [--reporter NAME] [--timeout D]`
 * (<argv>[0] is "alert"): a marked trigger and its resolve through each
 * reporter, each outcome printed; a reporter silent for D (default 30 s)
 * counts as not delivered.  Exit 0 when all were delivered, 1 when some
 * were not, 2 on bad usage or configuration. */
int alerting_main(int argc, char **argv);

#endif /* PW_ALERTING_H */
