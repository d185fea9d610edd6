/* engine.c -- runs started under the limits, results to every sink. */
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "engine.h"
#include "throttle.h"
#include "window.h"
#include "xalloc.h"

/* One loaded suite and what its runs share.  Referenced by the engine
 * while it is current and by each of its runs in flight. */
struct gen {
    struct suite *s;
    struct run_env env;
    size_t *slots; /* throttle slot of each config target */
    unsigned refs;
};

/* A run in flight. */
struct flight {
    struct engine *e;
    struct gen *g;
    struct run *run;
    struct flight *prev, *next;
};

/* A test of a held target, waiting to start. */
struct parked {
    struct gen *g;
    const struct scenario *sc;
    size_t target;
    char **row; /* NULL without a matrix */
    size_t nrow;
    char *id;
    struct parked *next;
};

struct engine {
    struct loop *loop;
    struct throttle *throttle;
    struct journal *journal;
    struct gen *cur;
    char **slot_names; /* target name of each throttle slot */
    int *slot_held;
    size_t nslots;
    int all_held;
    struct result_sink **sinks;
    size_t nsinks, sinks_alloc;
    struct engine_feed feed;
    engine_fn *idle;
    void *idle_arg;
    struct flight *flights;
    struct parked *parked;
    unsigned concurrency;
    struct event *window_timer;
    struct loop_timer *kick_timer;
    int stopping;
    engine_fn *stopped;
    void *stopped_arg;
    struct loop_timer *grace;
    int grace_over; /* runs are cancelled: a new hold cancels again */
    size_t flushing;
    int flush_started;
    struct engine_stats stats;
};

static struct gen *gen_new(struct engine *e, struct suite *s);

static void gen_unref(struct gen *g)
{
    if (--g->refs > 0)
        return;
    free(g->slots);
    suite_unref(g->s);
    free(g);
}

/* The throttle slot for target <name>, made on first use, so a target
 * keeps its bucket through a reload. */
static size_t slot_for(struct engine *e, const char *name, double rate)
{
    size_t i;

    for (i = 0; i < e->nslots; i++)
        if (strcmp(e->slot_names[i], name) == 0) {
            throttle_set_target_rate(e->throttle, i, rate);
            return i;
        }
    e->slot_names = xrealloc(e->slot_names, (e->nslots + 1) * sizeof(char *));
    e->slot_held = xrealloc(e->slot_held, (e->nslots + 1) * sizeof(int));
    e->slot_names[e->nslots] = xstrdup(name);
    e->slot_held[e->nslots] = 0;
    e->nslots++;
    return throttle_add_target(e->throttle, rate);
}

static struct gen *gen_new(struct engine *e, struct suite *s)
{
    struct gen *g = xcalloc(1, sizeof(*g));
    const struct config *cfg = suite_config(s);
    size_t i;

    g->s = suite_ref(s);
    g->refs = 1;
    g->slots = xcalloc(cfg->ntargets + 1, sizeof(size_t));
    for (i = 0; i < cfg->ntargets; i++)
        g->slots[i] = slot_for(e, cfg->targets[i].name, cfg->targets[i].rate);
    g->env.loop = e->loop;
    g->env.jq = suite_jq(s);
    g->env.throttle = e->throttle;
    g->env.journal = e->journal;
    g->env.secrets = suite_secrets(s);
    g->env.cfg = cfg;
    g->env.slots = g->slots;
    return g;
}

/* The throttle window open now: its rate and concurrency replace the
 * overall ones while it lasts. */
static void apply_window(struct engine *e)
{
    const struct config *cfg = e->cur->env.cfg;
    const struct window *win =
        window_active(cfg->windows, cfg->nwindows, clock_now());
    double rate = cfg->rate;

    e->concurrency = cfg->concurrency ? cfg->concurrency : 1;
    if (win) {
        /* A window that sets no rate keeps the overall one: it never
         * means "unlimited". */
        if (win->rate > 0)
            rate = win->rate;
        if (win->concurrency)
            e->concurrency = win->concurrency;
    }
    throttle_set_rate(e->throttle, rate);
}

static void arm_window(struct engine *e)
{
    struct timeval tv = { (time_t)window_recheck_s(clock_now()), 0 };

    if (e->cur->env.cfg->nwindows == 0) {
        if (e->window_timer)
            event_del(e->window_timer);
        return;
    }
    evtimer_add(e->window_timer, &tv);
}

static void on_window_timer(evutil_socket_t fd, short what, void *arg)
{
    struct engine *e = arg;

    (void)fd;
    (void)what;
    apply_window(e);
    engine_kick(e);
    arm_window(e);
}

struct engine *engine_new(struct suite *s)
{
    struct engine *e = xcalloc(1, sizeof(*e));

    e->loop = loop_new();
    e->throttle = throttle_new(e->loop, 0, suite_config(s)->rate);
    e->journal = journal_memory_new(e->loop);
    e->window_timer = evtimer_new(loop_base(e->loop), on_window_timer, e);
    e->cur = gen_new(e, s);
    apply_window(e);
    arm_window(e);
    return e;
}

static void parked_free(struct parked *p)
{
    size_t i;

    for (i = 0; i < p->nrow; i++)
        free(p->row[i]);
    free(p->row);
    free(p->id);
    gen_unref(p->g);
    free(p);
}

void engine_free(struct engine *e)
{
    size_t i;

    if (e == NULL)
        return;
    while (e->parked) {
        struct parked *p = e->parked;

        e->parked = p->next;
        parked_free(p);
    }
    engine_close(e);
    loop_timer_cancel(e->kick_timer);
    loop_timer_cancel(e->grace);
    event_free(e->window_timer);
    gen_unref(e->cur);
    throttle_free(e->throttle);
    for (i = 0; i < e->nslots; i++)
        free(e->slot_names[i]);
    free(e->slot_names);
    free(e->slot_held);
    loop_free(e->loop);
    free(e);
}

void engine_close(struct engine *e)
{
    size_t i;

    for (i = 0; i < e->nsinks; i++)
        e->sinks[i]->ops->free(e->sinks[i]);
    free(e->sinks);
    e->sinks = NULL;
    e->nsinks = e->sinks_alloc = 0;
    journal_free(e->journal);
    e->journal = NULL;
    e->cur->env.journal = NULL;
}

struct loop *engine_loop(struct engine *e)
{
    return e->loop;
}

void engine_set_journal(struct engine *e, struct journal *j)
{
    journal_free(e->journal);
    e->journal = j;
    e->cur->env.journal = j;
}

struct journal *engine_journal(struct engine *e)
{
    return e->journal;
}

void engine_add_sink(struct engine *e, struct result_sink *s)
{
    XGROW(e->sinks, e->nsinks + 1, e->sinks_alloc);
    e->sinks[e->nsinks++] = s;
}

void engine_set_feed(struct engine *e, const struct engine_feed *f)
{
    e->feed = *f;
}

void engine_set_idle(struct engine *e, engine_fn *fn, void *arg)
{
    e->idle = fn;
    e->idle_arg = arg;
}

void engine_set_suite(struct engine *e, struct suite *s)
{
    struct gen *g = gen_new(e, s);

    gen_unref(e->cur);
    e->cur = g;
    apply_window(e);
    arm_window(e);
    engine_kick(e);
}

static size_t in_flight(const struct engine *e)
{
    return e->stats.runs_in_flight;
}

static void flushed(void *arg)
{
    struct engine *e = arg;
    engine_fn *cb = e->stopped;

    if (e->flushing && --e->flushing > 0)
        return;
    e->stopped = NULL;
    if (cb)
        cb(e->stopped_arg);
    loop_stop(e->loop);
}

/* Every run is over: flush the sinks, then tell the caller. */
static void flush_all(struct engine *e)
{
    size_t i, n = 0;

    if (e->flush_started)
        return;
    e->flush_started = 1;
    loop_timer_cancel(e->grace);
    e->grace = NULL;
    event_del(e->window_timer);
    for (i = 0; i < e->nsinks; i++)
        n += e->sinks[i]->ops->flush != NULL;
    /* Counted before any flush starts: each answers from the loop. */
    e->flushing = n + 1;
    for (i = 0; i < e->nsinks; i++)
        if (e->sinks[i]->ops->flush)
            e->sinks[i]->ops->flush(e->sinks[i], flushed, e);
    loop_after(e->loop, 0, flushed, e);
}

static void on_run_done(const struct run_result *r, void *arg)
{
    struct flight *f = arg;
    struct engine *e = f->e;
    size_t i;

    for (i = 0; i < e->nsinks; i++)
        e->sinks[i]->ops->result(e->sinks[i], r);
    e->stats.runs_finished++;
    e->stats.runs_in_flight--;
    e->stats.requests += r->requests;
    if (f->prev)
        f->prev->next = f->next;
    else
        e->flights = f->next;
    if (f->next)
        f->next->prev = f->prev;
    gen_unref(f->g);
    free(f);
    if (e->stopping) {
        if (in_flight(e) == 0)
            flush_all(e);
        return;
    }
    engine_kick(e);
}

static void start_run(struct engine *e, struct gen *g,
                      const struct scenario *sc, size_t target,
                      const char *const *row, const char *id)
{
    struct flight *f = xcalloc(1, sizeof(*f));

    f->e = e;
    f->g = g;
    g->refs++;
    f->next = e->flights;
    if (e->flights)
        e->flights->prev = f;
    e->flights = f;
    e->stats.runs_started++;
    e->stats.runs_in_flight++;
    f->run = run_start(&g->env, sc, target, row, id, on_run_done, f);
}

static int target_held(const struct engine *e, const struct gen *g,
                       size_t target)
{
    return e->all_held || e->slot_held[g->slots[target]];
}

/* Start parked tests whose target is no longer held. */
static void start_parked(struct engine *e)
{
    struct parked **pp = &e->parked;

    while (*pp && in_flight(e) < e->concurrency) {
        struct parked *p = *pp;

        if (target_held(e, p->g, p->target)) {
            pp = &p->next;
            continue;
        }
        *pp = p->next;
        start_run(e, p->g, p->sc, p->target, (const char *const *)p->row,
                  p->id);
        parked_free(p);
    }
}

static void park(struct engine *e, const struct engine_test *t)
{
    struct parked *p = xcalloc(1, sizeof(*p)), **pp;
    size_t i;

    p->g = e->cur;
    e->cur->refs++;
    p->sc = t->sc;
    p->target = t->target;
    p->nrow = t->row ? matrix_param_count(scenario_matrix(t->sc)) : 0;
    p->row = t->row ? xcalloc(p->nrow + 1, sizeof(char *)) : NULL;
    for (i = 0; i < p->nrow; i++)
        p->row[i] = xstrdup(t->row[i]);
    p->id = xstrdup(t->id);
    for (pp = &e->parked; *pp; pp = &(*pp)->next)
        ;
    *pp = p;
}

static void kick_now(void *arg)
{
    struct engine *e = arg;
    struct engine_test t;
    int more = 1;

    e->kick_timer = NULL;
    if (e->stopping)
        return;
    start_parked(e);
    while (!e->stopping && !e->all_held && in_flight(e) < e->concurrency &&
           e->feed.next) {
        more = e->feed.next(e->feed.arg, &t);
        if (!more)
            break;
        if (target_held(e, e->cur, t.target))
            park(e, &t);
        else
            start_run(e, e->cur, t.sc, t.target, t.row, t.id);
    }
    if (!more && in_flight(e) == 0 && e->parked == NULL && e->idle)
        e->idle(e->idle_arg);
}

void engine_kick(struct engine *e)
{
    if (e->kick_timer == NULL && !e->stopping)
        e->kick_timer = loop_after(e->loop, 0, kick_now, e);
}

static void cancel_all(struct engine *e);

void engine_hold_target(struct engine *e, const char *name, int held)
{
    size_t i;

    for (i = 0; i < e->nslots; i++)
        if (strcmp(e->slot_names[i], name) == 0) {
            e->slot_held[i] = held;
            throttle_hold(e->throttle, i, held);
        }
    if (held && e->grace_over)
        cancel_all(e);
    if (!held)
        engine_kick(e);
}

void engine_hold_all(struct engine *e, int held)
{
    e->all_held = held;
    throttle_hold_all(e->throttle, held);
    if (held && e->grace_over)
        cancel_all(e);
    if (!held)
        engine_kick(e);
}

/* A cleanup from an intent keeps its suite as a run does. */
struct cleaning {
    struct gen *g;
    run_cleaned_fn *cb;
    void *arg;
};

static void on_cleaned(enum clean_outcome outcome, const char *message,
                       void *arg)
{
    struct cleaning *c = arg;

    c->cb(outcome, message, c->arg);
    gen_unref(c->g);
    free(c);
}

void engine_clean(struct engine *e, const struct journal_intent *in,
                  uint64_t journal_id, run_cleaned_fn *cb, void *arg)
{
    struct cleaning *c = xcalloc(1, sizeof(*c));

    c->g = e->cur;
    c->g->refs++;
    c->cb = cb;
    c->arg = arg;
    run_clean(&c->g->env, c->g->s, in, journal_id, on_cleaned, c);
}

/* Cancel every run in flight; their cleanups that wait for a held
 * target are left in the journal. */
static void cancel_all(struct engine *e)
{
    struct flight *f, *next;

    for (f = e->flights; f; f = next) {
        next = f->next;
        run_cancel(f->run);
    }
}

static void on_grace_over(void *arg)
{
    struct engine *e = arg;

    e->grace = NULL;
    e->grace_over = 1;
    cancel_all(e);
}

static void stop_when_idle(void *arg)
{
    struct engine *e = arg;

    if (in_flight(e) == 0)
        flush_all(e);
}

void engine_stop(struct engine *e, unsigned long grace_ms, engine_fn *cb,
                 void *arg)
{
    if (e->stopping)
        return;
    e->stopping = 1;
    e->stopped = cb;
    e->stopped_arg = arg;
    loop_timer_cancel(e->kick_timer);
    e->kick_timer = NULL;
    /* Parked tests never started: nothing to finish. */
    while (e->parked) {
        struct parked *p = e->parked;

        e->parked = p->next;
        parked_free(p);
    }
    if (grace_ms != ENGINE_NO_GRACE)
        e->grace = loop_after(e->loop, grace_ms, on_grace_over, e);
    /* From the loop, so <cb> never runs inside this call. */
    loop_after(e->loop, 0, stop_when_idle, e);
}

void engine_run(struct engine *e)
{
    loop_run(e->loop);
}

void engine_stats(const struct engine *e, struct engine_stats *out)
{
    *out = e->stats;
    out->throttle_waiting = throttle_waiting(e->throttle);
}

void engine_share_rates(struct engine *e, throttle_ask_fn *ask, void *arg,
                        double share)
{
    throttle_share(e->throttle, ask, arg, share);
}

const char *engine_slot_name(const struct engine *e, size_t i)
{
    return i < e->nslots ? e->slot_names[i] : "";
}

void engine_rate_granted(struct engine *e, size_t i, unsigned long gen,
                         double from, double to)
{
    throttle_grant(e->throttle, i, gen, from, to);
}
