/* outbox.h -- alert events on their way to the reporters, kept in Redis.
 *
 * Every event the alert state machine emits is queued once per reporter
 * instance, as JSON, in the Redis list {prefix}:outbox:{runner}:{instance}
 * (each runner of a fleet delivers its own) (RPUSH
 * before it is handed to the plugin; LREM once the plugin answered
 * PW_DELIVERED or PW_REJECTED), so a restart or a crash loses no pending
 * event: outbox_new() picks up what the lists hold.  While Redis is down,
 * events wait in memory and are written when it comes back.
 *
 * Each instance gets its events one at a time, in order: the head is
 * delivered, and only its answer moves the queue on.  So a resolve never
 * overtakes its trigger, whatever retries happen.  PW_RETRY waits
 * (retry_after_ms when the plugin gave one, else exponential backoff from
 * 1 s, doubling to at most 5 minutes, with +-20% jitter) and tries the
 * same event again, for as long as it takes: a missed page is worse than
 * a late one.  PW_REJECTED is logged with the plugin's reason, counted and
 * dropped.  An event older than OUTBOX_MAX_AGE_S is dropped (logged) rather
 * than delivered hours late; a list longer than OUTBOX_MAX_EVENTS drops its
 * oldest (logged) so nothing grows without bound.
 */
#ifndef PW_OUTBOX_H
#define PW_OUTBOX_H

#include <stddef.h>

#include "prodwatch/reporter.h"

struct loop;
struct redis;

/* How one delivery went (the same as reporters.h's reporter_delivered_fn). */
typedef void outbox_answer_fn(void *arg, enum pw_outcome outcome,
                              unsigned long retry_after_ms, const char *why);

/* Where events go: a set of named instances (the reporters, in the
 * daemon: reporters_count(), reporters_name() and reporters_deliver()).
 * deliver() must call <done> exactly once, from the loop, never inside
 * the call. */
struct outbox_dest {
    size_t (*count)(void *arg);
    const char *(*name)(void *arg, size_t i);
    void (*deliver)(void *arg, size_t i, const struct pw_alert *a,
                    outbox_answer_fn *done, void *done_arg);
    void *arg;
};

#define OUTBOX_MAX_AGE_S (24 * 3600)
#define OUTBOX_MAX_EVENTS 10000

struct outbox;

/* An outbox of runner <runner> for the instances of <dest> (copied; its
 * arg borrowed), on <l>, kept in <redis> under <prefix>. */
struct outbox *outbox_new(struct loop *l, struct redis *redis,
                          const char *prefix, const char *runner,
                          const struct outbox_dest *dest);

/* Release it; what is not delivered stays in Redis (or, when Redis is
 * down, is lost -- logged with the count). */
void outbox_free(struct outbox *o);

/* After a reload: deliver to the instances of <dest> from now on.
 * Queues of instances that kept their name carry on.  The old
 * destination must never answer again: every event in flight is
 * delivered again to the new instance of its name. */
void outbox_set_dest(struct outbox *o, const struct outbox_dest *dest);

/* Queue <a> (copied) for every instance, or, when <only> is not NULL, for
 * the instance of that name alone. */
void outbox_push(struct outbox *o, const struct pw_alert *a,
                 const char *only);

/* Call <done>(<arg>) from the loop once nothing is in flight and nothing
 * waits to be written to Redis, or after <timeout_ms>, whichever is
 * first; events still queued stay in Redis for the next start. */
void outbox_flush(struct outbox *o, unsigned long timeout_ms,
                  void (*done)(void *arg), void *arg);

/* Counts per instance, for metrics and `alert test`. */
struct outbox_stats {
    unsigned long delivered, retried, rejected, dropped;
    size_t pending;
    enum pw_outcome last; /* of the latest answer */
    char last_why[256];   /* its reason, "" when none */
};
int outbox_stats(const struct outbox *o, const char *instance,
                 struct outbox_stats *st);

/* JSON of <a>, and back (what the lists hold).  alert_from_json fills
 * <a> with strings owned by <*mem> (free() it); returns 0, or -1 when
 * <json> is not an event. */
char *alert_to_json(const struct pw_alert *a);
int alert_from_json(const char *json, struct pw_alert *a, void **mem);

#endif /* PW_OUTBOX_H */
