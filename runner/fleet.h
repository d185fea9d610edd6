/* fleet.h -- runners sharing one schedule through Redis.
 *
 * Every runner of a location registers its tests in Redis, and the due
 * instants live there: a runner runs a test only at an instant it claimed,
 * so each test runs once per period across the fleet, whatever number of
 * runners share it -- one among them.  Keys, with L the runner's location
 * ("default" when the configuration names none):
 *
 *   {p}:fleet:{L}:due     sorted set: test id -> next instant not claimed
 *                         (Unix ms)
 *   {p}:fleet:{L}:every   hash: test id -> period (ms)
 *   {p}:fleet:{L}:lease   sorted set: test id -> end of its lease (Unix ms)
 *   {p}:fleet:{L}:owner   hash: test id -> runner holding the lease
 *   {p}:fleet:{L}:members sorted set: runner -> its last claim (Unix ms)
 *
 * The braces are a Redis Cluster hash tag: a location's keys share one
 * slot, as the script that touches them all at once needs.
 *
 * Registering (at start, when Redis comes back, at a reload and every few
 * minutes) sets each test's period and adds its first phase instant when
 * it has none (ZADD NX), so a fleet agrees on every instant and a restart
 * keeps them.  Claiming is one Lua script, sent at least every second and
 * within RELEASE_MS (10 ms) of a run ending, one at a time: it
 * gives back the leases of runs that ended, renews those of runs still
 * going, then -- up to the room the runner has -- hands out the tests
 * whose lease ran out (their runner stopped: they run now) and the tests
 * due now, then up to a cap of its own those due within the next
 * FLEET_AHEAD_MS, moving each to its next instant and taking a lease of
 * lease_ttl past its instant.  A test whose lease another runner holds is
 * still running there: that instant is skipped, as a runner alone skips a
 * test still in flight.  Time is Redis's (TIME), so the runners' clocks
 * need not agree.
 *
 * Behind Sentinel each claim is followed by a WAIT: a claim no replica
 * confirmed is not run (its leases go back), unless no replica confirmed
 * anything for 3 s while the Sentinels still name this master.  So a
 * failover, whose new master lacks what the old one took last, hands no
 * instant out twice.
 *
 * fleet_ask_rate() grants spans of a target's rate (throttle.h) with a
 * second script, GCRA over {p}:rate:{target}.
 *
 * Without Redis, the runner at once runs every
 * test on its own phase (schedule_set_fleet(s, 0)), so probing goes on;
 * it takes its part in the fleet again once Redis is back and its tests
 * registered.
 */
#ifndef PW_FLEET_H
#define PW_FLEET_H

#include <stddef.h>
#include <stdint.h>

struct loop;
struct redis;
struct schedule;

/* Claims reach this far ahead of the instants, in milliseconds: a run
 * starts on time though its claim took a round trip. */
#define FLEET_AHEAD_MS 250

struct fleet;

/* How many more instants due now the runner can take (those due within
 * FLEET_AHEAD_MS it takes up to a cap of its own). */
typedef size_t fleet_room_fn(void *arg);
/* Called after claims were queued in the schedule, or after the schedule
 * went in or out of fleet mode: the caller re-arms its due timer. */
typedef void fleet_changed_fn(void *arg);

/* A fleet member for <sched> (borrowed; it stays the same object across
 * reloads) talking through <redis>, under key prefix <prefix> for
 * <location> (NULL: "default") as runner <runner_id>.  Puts <sched> in
 * fleet mode now: nothing runs before the first claim, or lease_ttl
 * without Redis.  Free with fleet_free() after redis_close() (which
 * answers what the fleet waits for) and before <sched> and redis_free(). */
struct fleet *fleet_new(struct loop *loop, struct redis *redis,
                        struct schedule *sched, const char *prefix,
                        const char *location, const char *runner_id,
                        uint64_t lease_ttl_ms, fleet_room_fn *room,
                        fleet_changed_fn *changed, void *arg);

/* Stop claiming; leases held run out in Redis.  NULL is a no-op. */
void fleet_free(struct fleet *f);

/* Register the schedule's tests again (after a reload). */
void fleet_replan(struct fleet *f);

/* Room freed (a run ended): claim now if tests were left waiting. */
void fleet_kick(struct fleet *f);

/* Stop claiming new instants (the service is stopping); leases of runs
 * that end are still given back. */
void fleet_stop_claiming(struct fleet *f);

/* Stop claiming and give back at once the leases of the runs that ended
 * (at the end of a stop, before the last Redis replies are awaited). */
void fleet_give_back(struct fleet *f);

/* Called with a grant: monotonic times; <from> == <to>: none (Redis
 * could not be asked). */
typedef void fleet_granted_fn(double from, double to, void *arg);

/* Ask Redis for a span of <k> requests <spacing> seconds apart to target
 * <target>, after every span granted before to any runner (the key
 * {p}:rate:{target}, one for the whole fleet, every location); <fn>
 * (<arg>) runs once, later, from the loop. */
void fleet_ask_rate(struct fleet *f, const char *target, double spacing,
                    unsigned k, fleet_granted_fn *fn, void *arg);

/* Whether the runner claims with the fleet now (not alone). */
int fleet_active(const struct fleet *f);

struct fleet_stats {
    uint64_t calls;      /* claim scripts answered */
    uint64_t claimed;    /* instants claimed */
    uint64_t taken_over; /* of which runs whose runner's lease ran out */
    uint64_t skipped;    /* instants skipped: running on another runner */
    uint64_t released;   /* leases given back */
    unsigned members;    /* runners that claimed within lease_ttl */
    int active;          /* 1: claiming; 0: alone */
};

void fleet_stats(const struct fleet *f, struct fleet_stats *st);

#endif /* PW_FLEET_H */
