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
    size_t n;        /* waiting */
    /* Shared with a fleet: requests leave only inside the span granted,
     * each with its whole interval in it. */
    double grant_from, grant_to;
    int asking;      /* a grant is on its way */
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
    throttle_ask_fn *ask; /* NULL: every rate is this runner's alone */
    void *ask_arg;
    double share;         /* alone, each rate is divided by this */
    unsigned long gen;    /* grants asked before a change are ignored */
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

/* The spacing of <b>'s requests from this runner: the whole rate when
 * shared (the grants keep the fleet's sum), its share when alone. */
static double target_spacing(const struct throttle *t, const struct bucket *b)
{
    return spacing(b->interval) * (t->ask ? 1.0 : t->share);
}

static int shared(const struct throttle *t, const struct bucket *b)
{
    return t->ask != NULL && b->interval > 0;
}

/* Requests one grant asks for: those waiting, but at most a quarter of a
 * second of the rate, so a grant left unused wastes little of it, and at
 * least 20 ms of it, so a fast rate is not asked for every few requests. */
static unsigned grant_size(const struct bucket *b)
{
    double sp = spacing(b->interval), k = ceil(0.25 / sp);
    double least = ceil(0.02 / sp);

    if (k > (double)b->n)
        k = (double)b->n;
    if (k < least)
        k = least;
    return k < 1 ? 1 : k > 100000 ? 100000 : (unsigned)k;
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
    t->share = 1;
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

/* The slot of shared <b>'s next request leaving at <now>: its theoretical
 * time, unless the timer fired later than the tolerance (then the slots
 * move on), and never before the span. */
static double slot_of(const struct bucket *b, double now)
{
    double slot = b->next;

    if (now - TOLERANCE > slot)
        slot = now - TOLERANCE;
    return b->grant_from > slot ? b->grant_from : slot;
}

/* Whether that request's interval ends inside the span granted: past it,
 * another runner's span begins, and a request closer to its end than an
 * interval would crowd that runner's first. */
static int fits(const struct throttle *t, const struct bucket *b, double now)
{
    return slot_of(b, now) + target_spacing(t, b) <= b->grant_to + 1e-9;
}

/* The earliest time the head of <b> may leave; HUGE_VAL when it waits
 * for a grant. */
static double ready_at(const struct throttle *t, const struct bucket *b,
                       double now)
{
    double at = b->interval > 0 ? b->next : 0;

    if (shared(t, b) && !fits(t, b, now))
        return HUGE_VAL;
    if (t->all.interval > 0 && t->all.next > at)
        at = t->all.next;
    at -= TOLERANCE;
    /* A span is never entered early: the runner before may still be
     * using its last slot. */
    if (shared(t, b) && b->grant_from > at)
        at = b->grant_from;
    return at;
}

/* The theoretical time after a request leaves <b> at <now>. */
static void take(const struct throttle *t, struct bucket *b, double now)
{
    double start = b->next > now ? b->next : now;

    if (b->interval <= 0)
        return;
    /* In a span, the slots are fixed: a request late by no more than the
     * tolerance keeps its slot, or each late timer would cost the span
     * its last one. */
    if (shared(t, b))
        start = slot_of(b, now);
    b->next = start + target_spacing(t, b);
}

static void take_all(struct bucket *b, double now)
{
    if (b->interval > 0)
        b->next = (b->next > now ? b->next : now) + spacing(b->interval);
}

/* Ask for a grant for target <i> when its head waits for one. */
static void maybe_ask(struct throttle *t, size_t i)
{
    struct bucket *b = &t->targets[i];

    if (!shared(t, b) || b->asking || b->head == NULL || b->held ||
        t->all_held)
        return;
    b->asking = 1;
    t->ask(i, spacing(b->interval), grant_size(b), t->gen, t->ask_arg);
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
            at = ready_at(t, b, now);
            if (at == HUGE_VAL) {
                maybe_ask(t, i);
                continue;
            }
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
        pick->n--;
        take(t, pick, now);
        take_all(&t->all, now);
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
    b->n++;
    t->waiting++;
    /* Never call back from inside this call: the timer decides.  Only a
     * new head can be due sooner than the timer already armed. */
    if (b->head == w) {
        double at = ready_at(t, b, now_s());

        if (at == HUGE_VAL)
            at = now_s(); /* the timer asks for the grant */
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
        b->n--;
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

void throttle_share(struct throttle *t, throttle_ask_fn *ask, void *arg,
                    double share)
{
    size_t i;

    t->ask = ask;
    t->ask_arg = arg;
    t->share = share >= 1 ? share : 1;
    t->gen++;
    for (i = 0; i < t->ntargets; i++) {
        t->targets[i].asking = 0;
        t->targets[i].grant_from = t->targets[i].grant_to = 0;
    }
    if (t->waiting)
        arm(t, 0);
}

void throttle_grant(struct throttle *t, size_t i, unsigned long gen,
                    double from, double to)
{
    struct bucket *b;

    if (gen != t->gen || i >= t->ntargets)
        return;
    b = &t->targets[i];
    b->asking = 0;
    /* Spans never overlap in Redis's time; here each is placed by the
     * moment its answer came, so one may seem to begin a little before
     * the last one ended.  It is moved to begin at that end: later is
     * always safe, and its slots fit as Redis counted them. */
    if (to > from && from < b->grant_to) {
        to += b->grant_to - from;
        from = b->grant_to;
    }
    if (to > from) {
        b->grant_from = from;
        b->grant_to = to;
        /* Spans never overlap: nothing of an earlier one is carried. */
        if (b->next < from)
            b->next = from;
    }
    if (t->waiting)
        arm(t, to > from ? 0 : 0.1);
}
