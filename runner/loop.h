/* loop.h -- the one event loop: libevent plus libcurl's multi socket API.
 *
 * A struct loop owns the event_base, the CURLM and the multi's timer; no
 * other module touches them.  HTTP transfers are handed in as ready CURL
 * easy handles with loop_add() and come back, finished, through their
 * completion callback, called from the loop with the transfer removed from
 * the multi (so the callback may free or re-add the handle).  Nothing in
 * the loop blocks: DNS, connects, TLS and bodies all progress on socket
 * events.
 *
 * Connections, DNS results and TLS sessions are shared by every transfer
 * of the loop (the multi's connection cache plus a share handle), so
 * repeated probes of one target reuse their connections.
 */
#ifndef PW_LOOP_H
#define PW_LOOP_H

#include <curl/curl.h>
#include <event2/event.h>

struct loop;

/* Called once per finished transfer with curl's result code. */
typedef void loop_done_fn(CURL *easy, CURLcode result, void *arg);

/* Called by loop_after() when its delay has passed. */
typedef void loop_timer_fn(void *arg);

/* A new loop; free with loop_free().  Aborts if libevent or libcurl cannot
 * be initialised. */
struct loop *loop_new(void);

/* Release <l>.  Transfers still running are abandoned (their callbacks are
 * not called); the caller still owns their easy handles.  Timers not yet
 * fired are dropped.  NULL is a no-op. */
void loop_free(struct loop *l);

/* Easy handles a loop keeps for reuse, at most. */
#define LOOP_SPARES 256

/* A spare easy handle given back earlier (caller owns it now), or NULL.
 * Making and freeing a handle per run costs more than the run's checks;
 * what a handle keeps between users is the giver's business. */
CURL *loop_spare_take(struct loop *l);

/* Keep <easy> (not in a transfer) for a later loop_spare_take(): returns
 * 1, or 0 when the loop keeps enough already (the caller still owns it). */
int loop_spare_give(struct loop *l, CURL *easy);

/* The event_base, for modules that add their own events.  Borrowed. */
struct event_base *loop_base(struct loop *l);

/* Start transfer <easy> (borrowed until <done> is called).  The loop sets
 * the share handle and its private pointer on it.  Returns PW_OK or
 * PW_ERR_IO when curl refuses the handle. */
int loop_add(struct loop *l, CURL *easy, loop_done_fn *done, void *arg);

/* Stop transfer <easy> now: it leaves the multi at once (its connection
 * is closed, not reused) and its <done> is called with
 * CURLE_ABORTED_BY_CALLBACK from the loop, never inside this call, as if
 * it had ended so.  Returns 1, or 0 when <easy> is not in flight (its
 * <done> was called or is not due).  Not from inside curl's own
 * callbacks. */
int loop_abort(struct loop *l, CURL *easy);

/* A pending loop_after() call. */
struct loop_timer;

/* Call <fn>(<arg>) once after <ms> milliseconds, from the loop (never
 * inside this call).  Safe from callbacks.  The handle returned is valid
 * until <fn> is called or the timer is cancelled, whichever is first; a
 * caller that may free <arg> before then keeps it and cancels. */
struct loop_timer *loop_after(struct loop *l, unsigned long ms,
                              loop_timer_fn *fn, void *arg);

/* Withdraw timer <t> before it fires; <t> is invalid afterwards.  Must
 * not be called for a timer that already fired.  NULL is a no-op. */
void loop_timer_cancel(struct loop_timer *t);

/* Transfers currently in flight. */
unsigned loop_active(const struct loop *l);

/* Run until loop_stop() is called or nothing is left to wait for. */
void loop_run(struct loop *l);

/* Make loop_run() return after the current callbacks. */
void loop_stop(struct loop *l);

#endif /* PW_LOOP_H */
