/* store.h -- the Redis store: a result sink that writes every run to Redis.
 *
 * Each result becomes one call of a server-side Lua script (EVALSHA, EVAL
 * when the server lost the script) that, atomically, appends it to the
 * capped results stream, updates the test's state hash (consecutive
 * failures and "since" computed from the previous state), its entry in
 * the tests index, its list of last run details, and the scenario and
 * target counters.  The README's "Redis schema" section lists the keys
 * and fields.  Calls are pipelined: the store never waits for one reply
 * before sending the next.
 *
 * No result is lost or written twice.  Results are numbered per runner;
 * the script skips a number not above the last one it wrote for that
 * runner, so sending one again is harmless.  While Redis is down (or more
 * than max_inflight results wait for replies) results go to the spool,
 * and when Redis is back the spool is replayed in order before any new
 * result is written (new ones are spooled behind the replay); once all of
 * it is acknowledged the spool is emptied.  Results that were in flight
 * when the connection was lost go back to the front of the spool.
 *
 * A result Redis refuses with an error (out of memory, MISCONF, a replica
 * after a failover) is kept too: sending stops until every reply is in,
 * the refused results go back to the front of the spool, and they are
 * offered again after 1 s, doubling to 30 s while Redis keeps refusing.
 * The first refusal of an episode is logged at warn, its end at notice.
 * A command the connection could not take (too many in flight) is
 * retried the same way.
 *
 * Numbers come from the wall clock in microseconds and are kept above
 * the last one in the spool and the last one Redis holds for the runner
 * (read each time the connection comes up, before anything is sent), so
 * a clock set back does not turn new results into duplicates.  Results
 * numbered before Redis was first reached are the exception: they carry
 * the spool's and the clock's numbers.
 */
#ifndef PW_STORE_H
#define PW_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "result.h"

struct loop;
struct redis;
struct spool;

struct store_opts {
    size_t stream_maxlen;  /* {p}:results MAXLEN ~; default 100000 */
    unsigned runs_kept;    /* run details per test; default 20 */
    unsigned ttl_s;        /* per-test keys expire; default a week */
    unsigned max_inflight; /* results awaiting replies; default 1000 */
    unsigned sync_ms;      /* spool fsync batching; default 100 */
    const char *location;  /* the runner's, in each stream entry (copied;
                            * NULL: "default") */
    unsigned wait_replicas; /* > 0: a result counts as written once this
                             * many replicas have it (WAIT), so a failover
                             * loses none; default 0 */
};

/* Fill <o> with the defaults above. */
void store_opts_default(struct store_opts *o);

/* A new store writing under <prefix> for runner <runner_id> through
 * <redis>, spooling to <spool> (all borrowed: they must outlive the
 * store; <redis> may be freed before or after it).  <opts> NULL: the
 * defaults.  Records left in <spool> by an earlier process are replayed
 * when Redis is up.  Free with the sink's free operation. */
struct result_sink *store_new(struct loop *loop, struct redis *redis,
                              const char *prefix, const char *runner_id,
                              struct spool *spool,
                              const struct store_opts *opts);

/* Counters since store_new(), for metrics and STATUS lines: a rate is the
 * difference of two readings over the time between them. */
struct store_stats {
    uint64_t results;    /* results given to the store */
    uint64_t written;    /* acknowledged as written by Redis */
    uint64_t duplicates; /* acknowledged as already written (replays) */
    uint64_t rejected;   /* refusals by Redis (OOM, READONLY, ...): each
                          * refused result is kept and sent again */
    uint64_t spooled;    /* appended to the spool */
    uint64_t spool_bytes;   /* now */
    uint64_t spool_records; /* now */
    uint64_t spool_dropped; /* at the spool's cap, since it was opened */
    size_t inflight;        /* now */
    int redis_up;           /* now */
};

/* Read <s>'s counters (<s> must come from store_new()). */
void store_stats(struct result_sink *s, struct store_stats *out);

#endif /* PW_STORE_H */
