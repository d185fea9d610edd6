/* schedule.h -- when each test runs next: the service's priority queue.
 *
 * Every selected test (permutation x target) is due every scenario_every_ms()
 * of its scenario.  Its due instants are the wall-clock instants t with
 * t mod every == phase, where the phase is a hash of the test id: the
 * first runs after a start are spread over one period instead of bursting,
 * and a restart or a reload puts each test back at its place in the period.
 * Each due instant gets a little random jitter (at most SCHED_JITTER_MAX_MS
 * and a hundredth of the period) so that runners sharing a suite do not
 * fire in lockstep.  Due instants are then rounded up to a multiple of
 * SCHED_TICK_MS, so that tests due close together start in one turn of
 * the loop.  Wall instants are mapped once to the monotonic clock
 * (at schedule_new() and schedule_reload()), which orders the queue.
 *
 * The table holds, per test, only its due time, a hash of its id, where
 * its row sits in its matrix (matrix_row_at()), its scenario and target
 * indices and a few bits of state; schedule_pop() renders the row and the
 * id of the one test it hands out.  So memory grows by bytes per test
 * (schedule_memory_bytes()), never by a rendered copy.
 *
 * Fairness when demand exceeds capacity: the caller pops only while it has
 * room.  Due tests leave in order of a key, their due time, minus a head
 * start of min(every / 2, SCHED_HEAD_START_MS) for severity critical: the
 * oldest due goes first and critical tests go ahead, yet none starves,
 * because a waiting test's key stays put while a critical test's key moves
 * on by its period each time it runs.  A test handed out late is next due
 * at its first phase instant after the pop: the cycle stretches, there is
 * no burst of catch-up runs.  A test still in flight when it falls due
 * again, or whose target is held, is moved to its next instant and counted
 * as skipped.
 *
 * Time comes from clock.h; times in this interface are monotonic seconds
 * (clock_mono()).  Single-threaded; nothing here calls back later: the
 * held function runs inside schedule_pop() only.
 */
#ifndef PW_SCHEDULE_H
#define PW_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "expand.h"
#include "result.h"
#include "suite.h"

/* Most a test's due instant is moved at random, and the head start of a
 * critical test, both in milliseconds. */
#define SCHED_JITTER_MAX_MS 1000
#define SCHED_HEAD_START_MS 60000

/* The grid due instants sit on, in milliseconds. */
#define SCHED_TICK_MS 4

/* Most tests one schedule holds (indices are 32 bits). */
#define SCHED_MAX_TESTS 0xfffffffeu

struct schedule;

/* Names one popped run for schedule_done(), across reloads too.  A value;
 * its fields are private. */
struct sched_handle {
    uint32_t index;
    uint32_t gen;
};

/* The test schedule_pop() hands out.  Pointers are borrowed: <sc> and the
 * row's values until the suite is freed, <row> and <id> until the next
 * schedule_pop() or schedule_free(). */
struct sched_test {
    const struct scenario *sc;
    size_t target;           /* index into suite_config(s)->targets */
    const char *target_name;
    const char *const *row;  /* one value per matrix parameter */
    const char *id;          /* expand_test_id() of the test */
    double due;              /* when it was due, monotonic seconds */
    struct sched_handle handle;
};

/* Build the schedule of the tests of <s> that <f> selects (NULL: all),
 * walking the suite once and placing each test at its next phase instant
 * after now.  <s> is borrowed and must outlive the schedule (or be
 * replaced by schedule_reload()); <f> only during the call.  Returns a new
 * schedule (caller owns; schedule_free()), or NULL with the reason in
 * <err> (may be NULL) when a covering array cannot be built or there are
 * more than SCHED_MAX_TESTS tests or 65,535 targets. */
struct schedule *schedule_new(const struct suite *s,
                              const struct expand_filter *f,
                              struct pw_err *err);

/* Release <sc>.  NULL is a no-op.  Handles of runs still in flight
 * become meaningless. */
void schedule_free(struct schedule *sc);

/* The number of tests scheduled. */
size_t schedule_count(const struct schedule *sc);

/* When the earliest test is due, in monotonic seconds (in the past when
 * tests are waiting for room), or INFINITY when there are no tests: the
 * caller arms one timer for it. */
double schedule_next_due(const struct schedule *sc);

/* Whether target <target> (index into the config's targets) is held:
 * return non-zero to skip its tests now. */
typedef int sched_held_fn(size_t target, void *arg);

/* Hand out the test to start at monotonic time <now>, if one is due:
 * returns 1 and fills *<out> (see struct sched_test for lifetimes), or 0
 * when nothing is due.  The test is marked in flight until
 * schedule_done() or schedule_abandon() with out->handle, and is already
 * rescheduled to its next phase instant after <now>.  Due tests whose
 * target <held> (may be NULL) reports held, or that are still in flight,
 * are moved to their next instant on the way and counted as skipped.
 * Call it only while there is room for another run. */
int schedule_pop(struct schedule *sc, double now, sched_held_fn *held,
                 void *arg, struct sched_test *out);

/* Record that the run of <h> ended with <status>.  A handle from before a
 * reload still finds its test when the reload kept it, and is ignored
 * when the reload removed it, as is a handle already done.  Returns the
 * status the test had before (an enum run_status), or -1 when it had none
 * yet or the handle was ignored: the caller logs changes, not runs. */
int schedule_done(struct schedule *sc, struct sched_handle h,
                  enum run_status status);

/* Record that the run of <h> ended without a status (cancelled): the test
 * keeps the status it had. */
void schedule_abandon(struct schedule *sc, struct sched_handle h);

/* Replace the suite with <s> (borrowed, as in schedule_new()) and its
 * tests with those <f> selects.  A test whose id is unchanged keeps its
 * due time (its phase, when its period is unchanged), its last status and
 * whether it is in flight; removed tests are dropped; new ones are placed
 * at their phase instant like at start.  The old suite may be freed once
 * this returns.  Returns PW_OK, or an error as schedule_new() (in <err>)
 * with the schedule unchanged. */
pw_status schedule_reload(struct schedule *sc, const struct suite *s,
                          const struct expand_filter *f, struct pw_err *err);

/* Called by schedule_visit() for each test, in table order; <id> is
 * borrowed for the call.  <status> is -1 before the first result.
 * Return non-zero to stop. */
typedef int sched_visit_fn(const char *id, double due, int status,
                           void *arg);

/* Visit every test (rendering each id in turn: a walk, not a lookup). */
void schedule_visit(struct schedule *sc, sched_visit_fn *fn, void *arg);

/* The same walk from table position <from>, stopping after the test for
 * which <fn> returns non-zero: the position to go on from, or
 * schedule_count() when the walk reached the end.  For a walk spread over
 * several turns of the loop; positions hold until the next reload, which
 * schedule_generation() tells apart. */
size_t schedule_visit_from(struct schedule *sc, size_t from,
                           sched_visit_fn *fn, void *arg);

/* Whether test <id> is scheduled; its status (-1 before the first result)
 * into *<status>.  A lookup in an index of the ids' hashes, rendering
 * only the ids whose hash matches. */
int schedule_find(struct schedule *sc, const char *id, int *status);

/* ---- A fleet: runners sharing their tests through Redis ----
 *
 * In a fleet (fleet.h) the due instants live in Redis and a runner runs
 * only the instants it claimed there.  schedule_set_fleet(s, 1) takes
 * every test out of the queues; schedule_claim() puts one back at the
 * instant Redis gave it, holding a lease; schedule_pop() hands it out as
 * usual and leaves it out of the queues afterwards.  The lease goes back
 * when the run ends, or at once when the instant was skipped (held
 * target, or the test still running from an earlier instant): the
 * caller collects them with schedule_released() and tells Redis.
 * schedule_set_fleet(s, 0) -- Redis gone -- puts every test back on its
 * own phase, keeping the claimed instants, so probing goes on alone. */

/* Enter (<on> 1) or leave (0) fleet mode; a no-op when already so. */
void schedule_set_fleet(struct schedule *sc, int on);

/* Whether <sc> is in fleet mode. */
int schedule_fleet(const struct schedule *sc);

/* Tests in the queues: in fleet mode, the claimed instants not yet
 * handed out. */
size_t schedule_queued(const struct schedule *sc);

/* Of those, the ones due at monotonic time <now>. */
size_t schedule_queued_due(const struct schedule *sc, double now);

/* Queue test <id> at monotonic time <due> for a claim it holds a lease
 * for.  Returns 1, or 0 when the schedule has no such test (the caller
 * gives the claim back as unknown).  A test already waiting for a claimed
 * instant keeps that one.  Out of fleet mode the lease only goes back. */
int schedule_claim(struct schedule *sc, const char *id, double due);

/* Called with a test id, borrowed for the call. */
typedef void sched_id_fn(const char *id, void *arg);

/* Hand <fn> the id of each test whose lease goes back, once each; returns
 * how many. */
size_t schedule_released(struct schedule *sc, sched_id_fn *fn, void *arg);

/* Hand <fn> the id of each test running on a lease (to renew them);
 * returns how many.  A walk of the whole table. */
size_t schedule_running_leased(struct schedule *sc, sched_id_fn *fn,
                               void *arg);

/* Called for each test by schedule_plan(): its period and its first phase
 * instant after now, in wall-clock (Unix) milliseconds. */
typedef void sched_plan_fn(const char *id, uint64_t every_ms,
                           int64_t first_wall_ms, void *arg);

/* Hand <fn> every test with its period and phase, to register them. */
void schedule_plan(struct schedule *sc, sched_plan_fn *fn, void *arg);

/* The same for at most <max> table positions from <from>; returns the
 * position to go on from (schedule_count() at the end).  Positions hold
 * until the next reload (schedule_generation()). */
size_t schedule_plan_from(struct schedule *sc, size_t from, size_t max,
                          sched_plan_fn *fn, void *arg);

/* A number that changes at every schedule_reload(). */
unsigned long schedule_generation(const struct schedule *sc);

/* The schedule's figures. */
struct sched_stats {
    size_t tests;
    size_t due_now;        /* due at the time asked, started or not */
    size_t in_flight;
    size_t failing;        /* last status fail or error */
    uint64_t popped;       /* runs handed out */
    uint64_t skipped;      /* due instants passed: held or in flight */
    /* Lateness of the runs handed out (pop time minus due time), over
     * the schedule's life; percentiles are bucket bounds within 1/8. */
    double late_p50_ms, late_p99_ms, late_max_ms;
    /* Mean time between successive starts of a test, and that time over
     * the test's period (1.0: on time; 2.0: the cycle takes twice as
     * long), over the last whole window of the longest period; 0 before
     * any test started twice. */
    double cycle_ms, cycle_stretch;
};

/* Fill *<st> as of monotonic time <now>. */
void schedule_stats(const struct schedule *sc, double now,
                    struct sched_stats *st);

/* Lateness as a Prometheus histogram: <counts>[i] gets the runs handed
 * out at most <le_s>[i] seconds late (cumulative; a run counts under the
 * first bound at or above the top of its 1/8-wide bucket, so a bound
 * may undercount by that much), *<total> every run, *<sum_s> the sum of
 * their lateness in seconds. */
void schedule_lateness(const struct schedule *sc, const double *le_s,
                       size_t n, uint64_t *counts, uint64_t *total,
                       double *sum_s);

/* Bytes the schedule holds: its table, queues and buffers. */
size_t schedule_memory_bytes(const struct schedule *sc);

#endif /* PW_SCHEDULE_H */
