/* throttle.h -- hard request rates, overall and per target.
 *
 * Each rate is a token bucket kept as a "next free slot" time (the GCRA
 * form): a request takes the first slot that both its target's bucket and
 * the overall bucket allow, so requests leave in the order they asked and
 * never faster than either rate, retries and cleanups included.  Waiting
 * is a loop timer, never a sleep.
 */
#ifndef PW_THROTTLE_H
#define PW_THROTTLE_H

#include <stddef.h>

#include "loop.h"

struct throttle;

/* A throttle for <ntargets> targets on loop <l>, with overall rate
 * <rate> requests/s (0: unlimited).  Free with throttle_free(). */
struct throttle *throttle_new(struct loop *l, size_t ntargets, double rate);
void throttle_free(struct throttle *t);

/* Set target <i>'s rate in requests/s (0: unlimited). */
void throttle_set_target_rate(struct throttle *t, size_t i, double rate);

/* Call <fn>(<arg>) from the loop once a request to target <i> may go. */
void throttle_acquire(struct throttle *t, size_t i, loop_timer_fn *fn,
                      void *arg);

#endif /* PW_THROTTLE_H */
