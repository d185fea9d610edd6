/* journal_redis.h -- the cleanup journal on Redis, spooled while it is away.
 *
 * An intent is stored as one JSON object (journal_intent_json()) in the
 * hash {p}:cleanup:{runner}, under a field naming this process's instance
 * and a number, and the runner is listed in the set {p}:cleanups.  add()
 * answers durable once Redis acknowledged the HSET, or -- Redis being
 * down or the connection lost -- once the intent is appended to the
 * journal spool and fsynced; the spool is replayed (intents and
 * tombstones, in order, at most 1000 awaiting replies at once) when Redis
 * is back, and -- when Redis refused an HSET (out of memory, read-only
 * replica) -- after 1 s, doubling to 30 s, until Redis takes it.  A
 * replay that is complete empties the spool.  done() deletes the field
 * (and leaves a tombstone in the spool while the spool is not empty).
 *
 * A heartbeat {p}:runner:{runner} (JSON: id, pid, host, version, started,
 * beat, and what journal_redis_describe() adds) lives 30 s (or what
 * journal_redis_beat_ttl() says) and is refreshed every third of that.  journal_redis_sweep()
 * claims, in one Lua script, the intents of every listed runner whose
 * heartbeat is gone into this runner's hash, then hands the caller every
 * intent of that hash not added by this process (so a runner restarted
 * with the same id adopts its own earlier intents).  Two runners never
 * claim one intent: the move is atomic.  The caller renders and sends
 * each cleanup and calls journal_done() with the id it was given.
 */
#ifndef PW_JOURNAL_REDIS_H
#define PW_JOURNAL_REDIS_H

#include <stddef.h>
#include <stdint.h>

#include "journal.h"
#include "sbuf.h"

struct loop;
struct redis;
struct spool;

/* A new journal for runner <runner_id> under <prefix>, through <redis>,
 * spooling to <spool> (all borrowed; they must outlive the journal);
 * <version> goes into the heartbeat.  Free with journal_free(). */
struct journal *journal_redis_new(struct loop *loop, struct redis *redis,
                                  const char *prefix, const char *runner_id,
                                  struct spool *spool, const char *version);

/* Appends more fields to the heartbeat's JSON object, each as
 * `,"name":value`. */
typedef void journal_beat_fn(struct sbuf *json, void *arg);

/* Have <fn>(json, <arg>) add to every heartbeat from now on (the service
 * adds the runner's location and load); NULL: nothing more.  <arg> must
 * outlive the journal or a later call.  <j> must come from
 * journal_redis_new(). */
void journal_redis_describe(struct journal *j, journal_beat_fn *fn, void *arg);

/* Have the heartbeat live <ttl_ms> (at least 300) from now on: a fleet
 * sweeps a dead runner's cleanups once its lease time has passed. */
void journal_redis_beat_ttl(struct journal *j, uint64_t ttl_ms);

/* Called once per claimed intent: <in> is borrowed for the call; <id> is
 * for journal_done(). */
typedef void journal_sweep_fn(uint64_t id, const struct journal_intent *in,
                              void *arg);
/* Called once at the end: <n> intents handed out; <ok> 0 when Redis could
 * not be asked (down). */
typedef void journal_swept_fn(size_t n, int ok, void *arg);

/* Claim and hand out pending intents as described above; callbacks run
 * from the loop.  <j> must come from journal_redis_new(). */
void journal_redis_sweep(struct journal *j, journal_sweep_fn *each,
                         journal_swept_fn *end, void *arg);

/* Append <in> as one JSON object to <out>. */
void journal_intent_json(struct sbuf *out, const struct journal_intent *in);

/* An intent parsed back from JSON: <in> points into storage owned by the
 * struct; release with journal_parsed_release(). */
struct journal_parsed {
    struct journal_intent in;
    char **strs;
    size_t nstrs;
    const char **row;
    struct journal_named *named;
};

/* Parse <len> bytes of <json> into <out>: 0, or -1 (nothing to release)
 * when it is not an intent.  Any input is safe. */
int journal_intent_parse(const char *json, size_t len,
                         struct journal_parsed *out);
void journal_parsed_release(struct journal_parsed *p);

#endif /* PW_JOURNAL_REDIS_H */
