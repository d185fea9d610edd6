/* throttle.c -- GCRA token buckets driven by loop timers. */
#include <stdlib.h>
#include <time.h>

#include "throttle.h"
#include "xalloc.h"

struct bucket {
    double interval; /* seconds between requests; 0: unlimited */
    double next;     /* earliest time of the next request */
};

struct throttle {
    struct loop *loop;
    struct bucket all;
    struct bucket *targets;
    size_t ntargets;
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct throttle *throttle_new(struct loop *l, size_t ntargets, double rate)
{
    struct throttle *t = xcalloc(1, sizeof(*t));

    t->loop = l;
    t->ntargets = ntargets;
    t->targets = xcalloc(ntargets ? ntargets : 1, sizeof(*t->targets));
    t->all.interval = rate > 0 ? 1.0 / rate : 0;
    return t;
}

void throttle_free(struct throttle *t)
{
    if (t == NULL)
        return;
    free(t->targets);
    free(t);
}

void throttle_set_target_rate(struct throttle *t, size_t i, double rate)
{
    t->targets[i].interval = rate > 0 ? 1.0 / rate : 0;
}

void throttle_acquire(struct throttle *t, size_t i, loop_timer_fn *fn,
                      void *arg)
{
    struct bucket *b = &t->targets[i];
    double now = now_s(), at = now;

    if (b->interval > 0 && b->next > at)
        at = b->next;
    if (t->all.interval > 0 && t->all.next > at)
        at = t->all.next;
    if (b->interval > 0)
        b->next = at + b->interval;
    if (t->all.interval > 0)
        t->all.next = at + t->all.interval;
    loop_after(t->loop, (unsigned long)((at - now) * 1000.0 + 0.5), fn, arg);
}
