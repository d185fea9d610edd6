/* engine.h -- the one engine every command drives.
 *
 * The engine owns the loop, the throttle (overall, per target, and the
 * configured throttle windows), the cleanup journal, the concurrency cap
 * and the result sinks.  A command only says which tests to start and
 * when: `once` feeds a finite queue, `run` a scheduler's heap.  Every run
 * is started by the engine and every result goes to every sink, in the
 * order the sinks were added.
 *
 * A reload (engine_set_suite) affects new runs only: a run in flight
 * keeps a reference on the suite it started with.  Throttle buckets are
 * kept by target name, so a target's rate holds through a reload.
 *
 * Single-threaded: every call is made from the loop's thread, and no
 * callback runs inside the call that registered it.
 */
#ifndef PW_ENGINE_H
#define PW_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "journal.h"
#include "loop.h"
#include "result.h"
#include "run.h"
#include "suite.h"
#include "throttle.h"

struct engine;

/* A test to start, as a feed gives it.  All borrowed until the feed's
 * next call. */
struct engine_test {
    const struct scenario *sc; /* of the engine's current suite */
    size_t target;             /* index into its config's targets */
    const char *const *row;    /* matrix values; NULL without a matrix */
    const char *id;            /* the test id */
};

/* Where tests come from.  next() fills <t> with a test to start now and
 * returns 1, or returns 0 when none is ready (the feed calls
 * engine_kick() when one becomes ready). */
struct engine_feed {
    int (*next)(void *arg, struct engine_test *t);
    void *arg;
};

/* Counters for metrics. */
struct engine_stats {
    unsigned long runs_started, runs_finished;
    unsigned long requests;   /* sent by finished runs */
    unsigned runs_in_flight;
    size_t throttle_waiting;  /* requests waiting for their slot */
};

typedef void engine_fn(void *arg);

/* An engine for suite <s> (a reference is taken) with a new loop, a
 * throttle set from the suite's config and the memory journal.  Free
 * with engine_free(). */
struct engine *engine_new(struct suite *s);

/* Release <e>, its sinks, journal, throttle and loop.  Runs still in
 * flight are abandoned: call it after the loop ended.  NULL: no-op. */
void engine_free(struct engine *e);

/* Free the sinks and the journal now, before engine_free(): a command
 * whose sinks use something of its own on the engine's loop (a Redis
 * connection) frees them, then that, then the engine.  After the loop
 * ended only; engine_free() does it too.  Idempotent. */
void engine_close(struct engine *e);

/* The engine's loop, for the command's own events.  Borrowed. */
struct loop *engine_loop(struct engine *e);

/* Use journal <j> (owned from now on) instead of the memory one; the
 * previous one is freed, so call it before any run starts. */
void engine_set_journal(struct engine *e, struct journal *j);

/* The journal in use.  Borrowed. */
struct journal *engine_journal(struct engine *e);

/* Add sink <s> (owned).  Each result goes to every sink in order. */
void engine_add_sink(struct engine *e, struct result_sink *s);

/* Take tests from <f> (copied) from now on. */
void engine_set_feed(struct engine *e, const struct engine_feed *f);

/* <fn>(<arg>) is called from the loop whenever the last run in flight
 * ended and the feed had nothing ready. */
void engine_set_idle(struct engine *e, engine_fn *fn, void *arg);

/* Start runs now, while under the concurrency cap (the configured one,
 * or an open throttle window's) and not stopping.  Safe from callbacks;
 * the runs start from the loop. */
void engine_kick(struct engine *e);

/* Use suite <s> (a reference is taken; the old one is dropped once its
 * runs end) for the runs started from now on. */
void engine_set_suite(struct engine *e, struct suite *s);

/* While <held>, no request to target <name> (engine_hold_all: to any
 * target) leaves the throttle -- cleanups included; they wait -- and no
 * run of it starts (a test the feed gave meanwhile waits in the engine).
 * A hold does not delay a stop: once engine_stop()'s grace is over, a
 * cleanup that waits for a held target (or would) is not sent and stays
 * in the journal; see engine_stop(). */
void engine_hold_target(struct engine *e, const char *name, int held);
void engine_hold_all(struct engine *e, int held);

/* Send the cleanup of intent <in> (borrowed during the call) through the
 * engine's throttle, holds and current suite; see run_clean(). */
void engine_clean(struct engine *e, const struct journal_intent *in,
                  uint64_t journal_id, run_cleaned_fn *cb, void *arg);

#define ENGINE_NO_GRACE ((unsigned long)-1) /* wait for runs forever */

/* Start nothing more (tests waiting for a held target are dropped); let
 * runs in flight finish -- held ones wait for their target -- and when
 * <grace_ms> has passed cancel every run still in flight (run_cancel()):
 * a step's request in flight is aborted and the run reports "cancelled:
 * stopping"; its cleanups still go, under the throttle, unless their
 * target is held (then, or by a hold that comes later): those are not
 * sent, stay in the journal for a sweep, and the run's message says "N
 * cleanups left in the journal: target held".  So with a grace the stop
 * ends within the grace plus one cleanup's timeout (a cleanup already
 * sent runs to its end; a step's check in a child or the journal's
 * answer may add their own bounded time).  Then every sink is flushed,
 * <cb>(<arg>) is called and the loop stops.  Called twice, the first
 * call stands. */
void engine_stop(struct engine *e, unsigned long grace_ms, engine_fn *cb,
                 void *arg);

/* Run the loop until engine_stop() is done (or loop_stop()). */
void engine_run(struct engine *e);

/* The counters now. */
void engine_stats(const struct engine *e, struct engine_stats *out);

/* Share the targets' rates with a fleet: throttle_share() on the
 * engine's throttle, whose slot <i> names the target
 * engine_slot_name(e, i). */
void engine_share_rates(struct engine *e, throttle_ask_fn *ask, void *arg,
                        double share);

/* The target name of throttle slot <i>, borrowed until engine_free(). */
const char *engine_slot_name(const struct engine *e, size_t i);

/* Deliver a grant asked for by the function given to
 * engine_share_rates(): see throttle_grant(). */
void engine_rate_granted(struct engine *e, size_t i, unsigned long gen,
                         double from, double to);

#endif /* PW_ENGINE_H */
