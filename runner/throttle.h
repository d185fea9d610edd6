/* throttle.h -- hard request rates, overall and per target.
 *
 * Each rate is a token bucket kept as the theoretical time of the next
 * request (the GCRA form), with a tolerance of THROTTLE_TOLERANCE_S.
 * Requests wait in one queue per target, in the order they asked; a
 * request leaves when both its target's bucket and the overall bucket
 * allow it, and each bucket's time then moves on by one interval (plus
 * 2% slack) from itself, or from now if now is later.  So however late a
 * timer fires, no window of W seconds holds more than
 * 1 + (W + THROTTLE_TOLERANCE_S) / interval requests to one target: at
 * "5/s" no window of one second, wherever it starts, holds a sixth.
 * The tolerance lets the requests of tests that fall due together leave
 * in one turn of the loop at high rates.  Retries, redirect hops and
 * cleanups all pass here.  Waiting is one loop timer, never a sleep.
 */
#ifndef PW_THROTTLE_H
#define PW_THROTTLE_H

#include <stddef.h>

#include "loop.h"

struct throttle;

/* How far ahead of its slot a request may leave, in seconds. */
#define THROTTLE_TOLERANCE_S 0.002

/* A throttle for <ntargets> targets on loop <l>, with overall rate
 * <rate> requests/s (0: unlimited).  Free with throttle_free(); requests
 * still waiting are dropped without their callbacks. */
struct throttle *throttle_new(struct loop *l, size_t ntargets, double rate);
void throttle_free(struct throttle *t);

/* Set target <i>'s rate in requests/s (0: unlimited). */
void throttle_set_target_rate(struct throttle *t, size_t i, double rate);

/* Change the overall rate (0: unlimited), e.g. when a throttle window
 * opens or closes.  Requests already waiting are re-timed. */
void throttle_set_rate(struct throttle *t, double rate);

/* Call <fn>(<arg>) from the loop once a request to target <i> may go;
 * never from inside this call.  The request counts as sent when <fn> is
 * called, so <fn> must send it at once. */
void throttle_acquire(struct throttle *t, size_t i, loop_timer_fn *fn,
                      void *arg);

/* Withdraw the request to target <i> that asked for <fn>(<arg>) and is
 * still waiting.  Returns 1 when it was found (it will never be called),
 * 0 otherwise. */
int throttle_cancel(struct throttle *t, size_t i, loop_timer_fn *fn, void *arg);

/* Add a target with rate <rate> (0: unlimited); returns its index.  For
 * a reload that brings a new target: the others keep their buckets. */
size_t throttle_add_target(struct throttle *t, double rate);

/* While <held>, no request to target <i> (or, for throttle_hold_all(),
 * to any target) leaves; they wait in order and go when released, each
 * still keeping the rates. */
void throttle_hold(struct throttle *t, size_t i, int held);
void throttle_hold_all(struct throttle *t, int held);

/* Whether a request to target <i> is held now (by its own hold or the
 * overall one). */
int throttle_held(const struct throttle *t, size_t i);

/* ---- Rates shared by a fleet ----
 *
 * A target's rate is a promise to production, so a fleet of runners keeps
 * it together: each runner asks for grants -- a span of time in which the
 * target's requests are its alone, as many intervals long as requests it
 * has waiting (at most a quarter of a second of the rate) -- and its
 * requests leave only inside a span, each with its whole interval in it.
 * Spans of the fleet never overlap (fleet.h grants them from one clock
 * in Redis), and in a span the slots are fixed: a request leaves within
 * the tolerance of its slot, early or late, so k requests of the fleet
 * span at least k - 1 intervals less twice the tolerance, whichever
 * runners sent them -- which the 2% slack on each interval covers in any
 * window of a second.  The overall rate stays each runner's own. */

/* Ask for a grant of <k> requests at <spacing> seconds apart for target
 * <i>; answer with throttle_grant(t, i, <gen>, ...), later, from the
 * loop. */
typedef void throttle_ask_fn(size_t i, double spacing, unsigned k,
                             unsigned long gen, void *arg);

/* Share every target's rate through <ask> (<arg> passed back); NULL: each
 * runner alone again, with each target's rate divided by <share> (at
 * least 1: the runners the fleet had), so a fleet that lost its grants
 * still keeps the sum.  Grants asked before are dropped. */
void throttle_share(struct throttle *t, throttle_ask_fn *ask, void *arg,
                    double share);

/* The grant asked for under <gen>: target <i>'s requests may leave from
 * monotonic time <from> until <to>.  <to> <= <from>: none (asked again
 * in a tenth of a second). */
void throttle_grant(struct throttle *t, size_t i, unsigned long gen,
                    double from, double to);

/* Requests waiting for their slot. */
size_t throttle_waiting(const struct throttle *t);

#endif /* PW_THROTTLE_H */
