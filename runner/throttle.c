/* throttle.c -- GCRA buckets, one FIFO per target, one timer.
 *
 * The first version handed each request a slot computed when it asked and
 * armed a timer for it; a request that left late and one that left on
 * time could end up closer than the interval: six requests in some
 * one-second window at 5/s.  The second counted each slot from the moment
 * the previous request left; a late timer never bunched requests, but at
 * high rates each request of a group due together waited for a timer of
 * its own, a turn of the loop each.  Now each bucket keeps a theoretical
 * time that moves on by an interval from itself (or from now, if a timer
 * fired late), and a request may leave up to TOLERANCE before it: a late
 * timer still bunches nothing beyond the tolerance, and a group leaves
 * together when the rate has room for it.
 */
#include <event2/event.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "throttle.h"
#include "xalloc.h"

struct waiter {
    struct waiter *next;
    loop_timer_fn *fn;
    void *arg;
    unsigned long long seq; /* asking order, across targets */
};

struct bucket {
    double interval; /* seconds between requests; 0: unlimited */
    double next;     /* earliest time of the next request */
    int held;        /* nothing leaves while set */
    struct waiter *head, *tail;
};

struct throttle {
    struct loop *loop;
    struct event *timer;
    struct bucket all;
    struct bucket *targets;
    size_t ntargets;
    size_t waiting;
    unsigned long long seq;
    double armed_at; /* when the pending timer fires */
    int all_held;
};

static double now_s(void)
{
    return clock_mono();
}

/* Slack on every interval, so that the rate holds where it is promised:
 * at the target, whose clock sees each request after a delay that varies
 * (a new connection, a busy machine).  Of R + 1 requests at rate R, the
 * first and the last are R intervals apart when they leave; with 2% on
 * each interval, they still arrive more than a second apart however much
 * later the first one is delayed, up to 20 ms.  The price is 2% of the
 * configured rate. */
#define SLACK 0.02

/* How early a request may leave.  It comes out of the 20 ms the slack
 * covers: of R + 1 requests, the first and the last still leave
 * R intervals less TOLERANCE apart. */
#define TOLERANCE THROTTLE_TOLERANCE_S

static double spacing(double interval)
{
    return interval * (1.0 + SLACK);
}

static void pump(struct throttle *t);

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pump(arg);
}

struct throttle *throttle_new(struct loop *l, size_t ntargets, double rate)
{
    struct throttle *t = xcalloc(1, sizeof(*t));

    t->loop = l;
    t->ntargets = ntargets;
    t->targets = xcalloc(ntargets ? ntargets : 1, sizeof(*t->targets));
    t->all.interval = rate > 0 ? 1.0 / rate : 0;
    t->timer = evtimer_new(loop_base(l), on_timer, t);
    return t;
}

void throttle_free(struct throttle *t)
{
    size_t i;

    if (t == NULL)
        return;
    for (i = 0; i < t->ntargets; i++) {
        while (t->targets[i].head) {
            struct waiter *w = t->targets[i].head;

            t->targets[i].head = w->next;
            free(w);
        }
    }
    event_free(t->timer);
    free(t->targets);
    free(t);
}

static void arm(struct throttle *t, double delay)
{
    struct timeval tv;

    if (delay < 0)
        delay = 0;
    t->armed_at = now_s() + delay;
    /* Round up: a timer that fires early would only be re-armed. */
    tv.tv_sec = (time_t)delay;
    tv.tv_usec = (suseconds_t)ceil((delay - (double)tv.tv_sec) * 1e6);
    if (tv.tv_usec >= 1000000) {
        tv.tv_sec++;
        tv.tv_usec -= 1000000;
    }
    evtimer_add(t->timer, &tv);
}

void throttle_set_target_rate(struct throttle *t, size_t i, double rate)
{
    t->targets[i].interval = rate > 0 ? 1.0 / rate : 0;
    if (t->waiting)
        arm(t, 0);
}

void throttle_set_rate(struct throttle *t, double rate)
{
    double interval = rate > 0 ? 1.0 / rate : 0;

    if (interval == t->all.interval)
        return;
    /* The last request still holds its old slot; the new rate counts from
     * it, so a window that lowers the rate takes effect at once. */
    if (t->all.next > 0)
        t->all.next += spacing(interval) - spacing(t->all.interval);
    t->all.interval = interval;
    if (t->waiting)
        arm(t, 0);
}

/* The earliest time the head of <b> may leave. */
static double ready_at(const struct throttle *t, const struct bucket *b)
{
    double at = b->interval > 0 ? b->next : 0;

    if (t->all.interval > 0 && t->all.next > at)
        at = t->all.next;
    return at - TOLERANCE;
}

/* The theoretical time after a request leaves <b> at <now>. */
static void take(struct bucket *b, double now)
{
    if (b->interval > 0)
        b->next = (b->next > now ? b->next : now) + spacing(b->interval);
}

/* Let out every request whose slot has come, oldest first, then arm the
 * timer for the next one. */
static void pump(struct throttle *t)
{
    for (;;) {
        double now = now_s(), soonest = HUGE_VAL;
        struct bucket *pick = NULL;
        struct waiter *w;
        size_t i;

        for (i = 0; i < t->ntargets; i++) {
            struct bucket *b = &t->targets[i];
            double at;

            if (b->head == NULL || b->held || t->all_held)
                continue;
            at = ready_at(t, b);
            if (at <= now) {
                if (pick == NULL || b->head->seq < pick->head->seq)
                    pick = b;
            } else if (at < soonest) {
                soonest = at;
            }
        }
        if (pick == NULL) {
            if (soonest < HUGE_VAL)
                arm(t, soonest - now);
            return;
        }
        w = pick->head;
        pick->head = w->next;
        if (pick->head == NULL)
            pick->tail = NULL;
        t->waiting--;
        take(pick, now);
        take(&t->all, now);
        /* <fn> may ask again; the queues are consistent by now. */
        w->fn(w->arg);
        free(w);
    }
}

void throttle_acquire(struct throttle *t, size_t i, loop_timer_fn *fn,
                      void *arg)
{
    struct bucket *b = &t->targets[i];
    struct waiter *w = xcalloc(1, sizeof(*w));

    w->fn = fn;
    w->arg = arg;
    w->seq = t->seq++;
    if (b->tail)
        b->tail->next = w;
    else
        b->head = w;
    b->tail = w;
    t->waiting++;
    /* Never call back from inside this call: the timer decides.  Only a
     * new head can be due sooner than the timer already armed. */
    if (b->head == w) {
        double at = ready_at(t, b);

        if (!evtimer_pending(t->timer, NULL) || at < t->armed_at)
            arm(t, at - now_s());
    }
}

int throttle_cancel(struct throttle *t, size_t i, loop_timer_fn *fn, void *arg)
{
    struct bucket *b = &t->targets[i];
    struct waiter **pp, *prev = NULL;

    for (pp = &b->head; *pp; prev = *pp, pp = &(*pp)->next) {
        struct waiter *w = *pp;

        if (w->fn != fn || w->arg != arg)
            continue;
        *pp = w->next;
        if (b->tail == w)
            b->tail = prev;
        t->waiting--;
        free(w);
        return 1;
    }
    return 0;
}

size_t throttle_waiting(const struct throttle *t)
{
    return t->waiting;
}

size_t throttle_add_target(struct throttle *t, double rate)
{
    t->targets = xrealloc(t->targets, (t->ntargets + 1) * sizeof(*t->targets));
    memset(&t->targets[t->ntargets], 0, sizeof(*t->targets));
    t->targets[t->ntargets].interval = rate > 0 ? 1.0 / rate : 0;
    return t->ntargets++;
}

void throttle_hold(struct throttle *t, size_t i, int held)
{
    t->targets[i].held = held;
    if (!held && t->waiting)
        arm(t, 0);
}

void throttle_hold_all(struct throttle *t, int held)
{
    t->all_held = held;
    if (!held && t->waiting)
        arm(t, 0);
}

int throttle_held(const struct throttle *t, size_t i)
{
    return t->all_held || t->targets[i].held;
}
