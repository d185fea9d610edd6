/* schedule.c -- a table of tests, two binary heaps and a phase per test.
 *
 * Tests wait in one of two heaps of table indices.  The timer heap orders
 * every test that is not due yet by due time.  When schedule_pop() runs,
 * the tests whose time has come move to the ready heap, ordered by the
 * fairness key (due time minus the critical head start): a single heap by
 * that key would put a critical test that is not due yet in front of
 * tests that are, so the order by time and the order by priority are kept
 * apart.  A test is rescheduled when it is handed out, not when its run
 * ends, so every test is in exactly one heap at all times, and a run that
 * outlasts its period shows up as a skipped instant instead of a pile of
 * runs of one test.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "matrix.h"
#include "schedule.h"
#include "xalloc.h"

/* entry.flags */
#define F_STATUS    0x03u /* 0 no result yet, else enum run_status + 1 */
#define F_IN_FLIGHT 0x04u
#define F_STARTED   0x08u /* <last> holds a start */
#define F_CRITICAL  0x10u
#define F_WAITING   0x20u /* fleet: a claimed instant, in a heap */
#define F_LEASED    0x40u /* fleet: holds a lease to give back */

#define NONE UINT32_MAX

/* One test: 40 bytes, plus 8 for its two heap slots. */
struct entry {
    int64_t due;   /* monotonic ms */
    uint64_t hash; /* of the id: the phase, and the key across reloads */
    uint64_t pos;  /* matrix_row_at() position of the row */
    uint32_t sc;   /* suite_scenario() index */
    uint32_t last; /* last start in 10 ms ticks, modulo 2^32 */
    uint16_t tg;   /* config target index */
    uint8_t flags;
};

struct heap {
    uint32_t *v;
    size_t n;
};

/* A run handed out before a reload renumbered the table. */
struct remap {
    uint32_t gen, old, cur; /* cur: NONE when the reload removed it */
};

/* Table indices by hash: open addressing over a power of two. */
struct index {
    uint32_t *slot; /* index + 1; 0 empty */
    size_t mask;
};

/* Lateness histogram in microseconds: exact below 8, then eight
 * sub-buckets per power of two (a bucket spans at most 1/8 of its
 * values). */
#define LATE_SUB     8
#define LATE_BUCKETS (LATE_SUB + 61 * LATE_SUB)

struct schedule {
    const struct suite *suite;
    struct entry *e;
    size_t n;
    struct heap timer, ready;
    uint32_t gen;
    struct remap *remaps;
    size_t nremaps, remaps_alloc;
    int64_t wall_off; /* wall ms minus monotonic ms */
    uint64_t rng;
    size_t nstatus[4];
    size_t in_flight;
    uint64_t popped, skipped;
    uint64_t late[LATE_BUCKETS];
    uint64_t late_max_us;
    double late_sum_us;
    int64_t window_ms, window_start; /* cycle windows; start -1: none yet */
    double cur_sum, cur_ratio, last_sum, last_ratio; /* ms, period ratios */
    uint64_t cur_n, last_n;
    const char *row[MATRIX_MAX_PARAMS];
    struct sbuf id;
    struct index ix; /* of e, by hash */
    int fleet;       /* only claimed instants are queued */
    uint32_t *released; /* entries whose lease goes back */
    size_t nreleased, released_alloc;
};

/* ---- Time and phase ---- */

static int64_t to_ms(double sec)
{
    return (int64_t)floor(sec * 1000.0);
}

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* FNV-1a, then a finaliser so that ids differing in their last byte land
 * far apart in the period. */
static uint64_t id_hash(const char *id)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    for (; *id; id++) {
        h ^= (unsigned char)*id;
        h *= 0x100000001b3ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 33);
}

static uint64_t period_in(const struct suite *su, const struct entry *e)
{
    uint64_t p = scenario_every_ms(suite_scenario(su, e->sc));

    return p ? p : 1;
}

static uint64_t period_of(const struct schedule *s, const struct entry *e)
{
    return period_in(s->suite, e);
}

/* The first instant strictly after <now> (monotonic ms) on the test's
 * phase, plus fresh jitter. */
static int64_t next_due(struct schedule *s, const struct entry *e,
                        int64_t now)
{
    int64_t p = (int64_t)period_of(s, e), wall = now + s->wall_off;
    int64_t phase = (int64_t)(e->hash % (uint64_t)p);
    int64_t r = (wall - phase) % p, jmax = p / 100, base;

    if (r < 0)
        r += p;
    base = wall - r + p; /* wall - r is on the phase and not after now */
    if (jmax > SCHED_JITTER_MAX_MS)
        jmax = SCHED_JITTER_MAX_MS;
    if (jmax > 0)
        base += (int64_t)(rng_next(&s->rng) % (uint64_t)(jmax + 1));
    /* On the tick grid, so that tests due close together start in one
     * turn of the loop: fewer wake-ups, and their requests, answers and
     * results travel together. */
    base += (SCHED_TICK_MS - base % SCHED_TICK_MS) % SCHED_TICK_MS;
    return base - s->wall_off;
}

static int64_t key_of(const struct schedule *s, const struct entry *e)
{
    int64_t head;

    if (!(e->flags & F_CRITICAL))
        return e->due;
    /* Half a period: enough to pass every test due in the same stretch
     * of the cycle, too little to push a plain test past a third period
     * when capacity covers half the demand. */
    head = (int64_t)period_of(s, e) / 2;
    if (head > SCHED_HEAD_START_MS)
        head = SCHED_HEAD_START_MS;
    return e->due - head;
}

/* ---- Heaps ---- */

/* Whether <a> leaves before <b>; the index breaks ties so that the order
 * never depends on the heap's history. */
static int before(const struct schedule *s, const struct heap *h, uint32_t a,
                  uint32_t b)
{
    int64_t ka, kb;

    if (h == &s->ready) {
        ka = key_of(s, &s->e[a]);
        kb = key_of(s, &s->e[b]);
    } else {
        ka = s->e[a].due;
        kb = s->e[b].due;
    }
    return ka < kb || (ka == kb && a < b);
}

static void sift_down(const struct schedule *s, struct heap *h, size_t i)
{
    uint32_t x = h->v[i];

    for (;;) {
        size_t c = 2 * i + 1;

        if (c >= h->n)
            break;
        if (c + 1 < h->n && before(s, h, h->v[c + 1], h->v[c]))
            c++;
        if (!before(s, h, h->v[c], x))
            break;
        h->v[i] = h->v[c];
        i = c;
    }
    h->v[i] = x;
}

static void heap_push(const struct schedule *s, struct heap *h, uint32_t x)
{
    size_t i = h->n++;

    while (i > 0) {
        size_t parent = (i - 1) / 2;

        if (!before(s, h, x, h->v[parent]))
            break;
        h->v[i] = h->v[parent];
        i = parent;
    }
    h->v[i] = x;
}

static uint32_t heap_pop(const struct schedule *s, struct heap *h)
{
    uint32_t top = h->v[0];

    h->v[0] = h->v[--h->n];
    if (h->n > 0)
        sift_down(s, h, 0);
    return top;
}

/* Put every test in the timer heap, in O(n); in a fleet, only those
 * holding a claimed instant. */
static void heap_build_all(struct schedule *s)
{
    size_t i;

    s->ready.n = 0;
    s->timer.n = 0;
    for (i = 0; i < s->n; i++)
        if (!s->fleet || (s->e[i].flags & F_WAITING))
            s->timer.v[s->timer.n++] = (uint32_t)i;
    for (i = s->timer.n / 2; i > 0; i--)
        sift_down(s, &s->timer, i - 1);
}

/* ---- Index by hash ---- */

static void index_build(struct index *ix, const struct entry *e, size_t n)
{
    size_t size = 16, i;

    while (size < 2 * n)
        size *= 2;
    ix->slot = xcalloc(size, sizeof(uint32_t));
    ix->mask = size - 1;
    for (i = 0; i < n; i++) {
        size_t h = (size_t)e[i].hash & ix->mask;

        while (ix->slot[h])
            h = (h + 1) & ix->mask;
        ix->slot[h] = (uint32_t)i + 1;
    }
}

static uint32_t index_find(const struct index *ix, const struct entry *e,
                           uint64_t hash)
{
    size_t h = (size_t)hash & ix->mask;

    for (; ix->slot[h]; h = (h + 1) & ix->mask)
        if (e[ix->slot[h] - 1].hash == hash)
            return ix->slot[h] - 1;
    return NONE;
}

/* ---- Building the table ---- */

struct table {
    struct entry *e;
    size_t n;
    int64_t window_ms;
};

/* Walk the tests of <su> that <f> selects into a new table, each entry
 * with its hash, position and indices; due times are left to the
 * caller. */
static pw_status table_build(const struct suite *su,
                             const struct expand_filter *f, struct table *t,
                             struct pw_err *err)
{
    uint64_t cap = suite_test_count(su);
    const char *loc = suite_config(su)->location;
    struct expand_iter x;
    struct expand_test et;
    pw_status rc = PW_OK;
    int more;

    memset(t, 0, sizeof(*t));
    if (suite_config(su)->ntargets > UINT16_MAX)
        return pw_err_set(err, PW_ERR_TOOBIG,
                          "the scheduler takes at most %u targets",
                          (unsigned)UINT16_MAX);
    if (cap > SCHED_MAX_TESTS)
        return pw_err_set(err, PW_ERR_TOOBIG,
                          "the scheduler takes at most %llu tests",
                          (unsigned long long)SCHED_MAX_TESTS);
    /* The suite's count is exact without a filter and an upper bound
     * with one, so the table is sized once and never moved while it
     * fills: no doubling, no copy, no slack at a million tests. */
    t->e = xmalloc((size_t)(cap ? cap : 1) * sizeof(struct entry));
    expand_iter_init(&x, su, f);
    while ((more = expand_iter_next(&x, &et, err)) == 1) {
        const struct target *tg = &suite_config(su)->targets[et.target_index];
        struct entry *e;
        int64_t every = (int64_t)scenario_every_ms(et.sc);

        /* A test is probed only from the locations its scenario and its
         * target list. */
        if (!scenario_probed_from(et.sc, loc) ||
            !locations_include(tg->locations, tg->nlocations, loc))
            continue;
        e = &t->e[t->n++];

        memset(e, 0, sizeof(*e));
        e->hash = id_hash(et.id);
        e->pos = et.pos;
        e->sc = (uint32_t)et.sc_index;
        e->tg = (uint16_t)et.target_index;
        if (scenario_severity(et.sc) == SEV_CRITICAL)
            e->flags = F_CRITICAL;
        if (every > t->window_ms)
            t->window_ms = every;
        if (t->n == cap)
            break; /* cannot happen: the suite counted every test */
    }
    if (more < 0)
        rc = x.status;
    expand_iter_release(&x);
    if (rc != PW_OK) {
        free(t->e);
        t->e = NULL;
        return rc;
    }
    if (t->n < cap)
        t->e = xrealloc(t->e, (t->n ? t->n : 1) * sizeof(struct entry));
    return PW_OK;
}

/* Install table <t> (taken over) with fresh heaps. */
static void install(struct schedule *s, const struct suite *su,
                    struct table *t)
{
    size_t i;

    free(s->e);
    free(s->timer.v);
    free(s->ready.v);
    free(s->ix.slot);
    s->suite = su;
    s->e = t->e;
    s->n = t->n;
    index_build(&s->ix, s->e, s->n);
    s->window_ms = t->window_ms > 1000 ? t->window_ms : 1000;
    s->timer.v = xmalloc((s->n ? s->n : 1) * sizeof(uint32_t));
    s->ready.v = xmalloc((s->n ? s->n : 1) * sizeof(uint32_t));
    memset(s->nstatus, 0, sizeof(s->nstatus));
    s->in_flight = 0;
    for (i = 0; i < s->n; i++) {
        s->nstatus[s->e[i].flags & F_STATUS]++;
        if (s->e[i].flags & F_IN_FLIGHT)
            s->in_flight++;
    }
    heap_build_all(s);
}

static void set_wall_offset(struct schedule *s)
{
    s->wall_off = to_ms(clock_wall()) - to_ms(clock_mono());
}

struct schedule *schedule_new(const struct suite *su,
                              const struct expand_filter *f,
                              struct pw_err *err)
{
    struct schedule *s;
    struct table t;
    int64_t now;
    size_t i;

    if (table_build(su, f, &t, err) != PW_OK)
        return NULL;
    s = xcalloc(1, sizeof(*s));
    sbuf_init(&s->id, 0);
    s->window_start = -1;
    s->rng = (uint64_t)to_ms(clock_wall()) ^ ((uint64_t)getpid() << 32);
    s->suite = su;
    set_wall_offset(s);
    now = to_ms(clock_mono());
    for (i = 0; i < t.n; i++)
        t.e[i].due = next_due(s, &t.e[i], now);
    install(s, su, &t);
    return s;
}

void schedule_free(struct schedule *s)
{
    if (s == NULL)
        return;
    free(s->e);
    free(s->timer.v);
    free(s->ready.v);
    free(s->remaps);
    free(s->ix.slot);
    free(s->released);
    sbuf_release(&s->id);
    free(s);
}

size_t schedule_count(const struct schedule *s)
{
    return s->n;
}

/* ---- Reload ---- */

/* Point the runs in flight at their tests' new indices: one remap per run
 * handed out under an older numbering. */
static void remap_in_flight(struct schedule *s, const uint32_t *to_new)
{
    unsigned char *covered = xcalloc(s->n ? s->n : 1, 1);
    size_t i, n = s->nremaps;

    for (i = 0; i < n; i++) {
        struct remap *r = &s->remaps[i];

        if (r->cur == NONE)
            continue;
        covered[r->cur] = 1;
        r->cur = to_new[r->cur];
    }
    for (i = 0; i < s->n; i++) {
        if (!(s->e[i].flags & F_IN_FLIGHT) || covered[i])
            continue;
        XGROW(s->remaps, s->nremaps + 1, s->remaps_alloc);
        s->remaps[s->nremaps].gen = s->gen;
        s->remaps[s->nremaps].old = (uint32_t)i;
        s->remaps[s->nremaps].cur = to_new[i];
        s->nremaps++;
    }
    free(covered);
}

/* Point the leases to give back at their tests' new indices; a test the
 * reload removed loses its lease by its time-out. */
static void remap_released(struct schedule *s, const uint32_t *to_new)
{
    size_t i, n = 0;

    for (i = 0; i < s->nreleased; i++)
        if (to_new[s->released[i]] != NONE)
            s->released[n++] = to_new[s->released[i]];
    s->nreleased = n;
}

pw_status schedule_reload(struct schedule *s, const struct suite *su,
                          const struct expand_filter *f, struct pw_err *err)
{
    const struct suite *old_suite = s->suite;
    const uint8_t keep =
        F_STATUS | F_IN_FLIGHT | F_STARTED | F_WAITING | F_LEASED;
    struct table t;
    uint32_t *to_new;
    int64_t now;
    pw_status rc;
    size_t i;

    rc = table_build(su, f, &t, err);
    if (rc != PW_OK)
        return rc;
    to_new = xmalloc((s->n ? s->n : 1) * sizeof(uint32_t));
    for (i = 0; i < s->n; i++)
        to_new[i] = NONE;
    s->suite = su; /* next_due() places tests in the new suite */
    set_wall_offset(s);
    now = to_ms(clock_mono());
    for (i = 0; i < t.n; i++) {
        struct entry *ne = &t.e[i];
        uint32_t o = index_find(&s->ix, s->e, ne->hash);
        const struct entry *oe = o != NONE ? &s->e[o] : NULL;

        if (oe == NULL || to_new[o] != NONE) {
            ne->due = next_due(s, ne, now);
            continue;
        }
        to_new[o] = (uint32_t)i;
        ne->flags = (uint8_t)((ne->flags & ~keep) | (oe->flags & keep));
        ne->last = oe->last;
        /* A new period means a new phase; a claimed instant stands. */
        if ((oe->flags & F_WAITING) ||
            period_in(old_suite, oe) == period_in(su, ne))
            ne->due = oe->due;
        else
            ne->due = next_due(s, ne, now);
    }
    remap_in_flight(s, to_new);
    remap_released(s, to_new);
    free(to_new);
    s->gen++;
    install(s, su, &t);
    return PW_OK;
}

/* ---- Popping ---- */

static void note_lateness(struct schedule *s, int64_t late_us)
{
    uint64_t v = late_us > 0 ? (uint64_t)late_us : 0;
    size_t b;

    if (v > s->late_max_us)
        s->late_max_us = v;
    s->late_sum_us += (double)v;
    if (v < LATE_SUB) {
        b = (size_t)v;
    } else {
        unsigned e = 63 - (unsigned)__builtin_clzll(v); /* 2^e <= v */

        b = LATE_SUB + (e - 3) * LATE_SUB + ((v >> (e - 3)) & (LATE_SUB - 1));
    }
    s->late[b]++;
}

/* The largest value bucket <b> holds. */
static uint64_t bucket_top(size_t b)
{
    size_t e, sub;

    if (b < LATE_SUB)
        return b;
    e = (b - LATE_SUB) / LATE_SUB + 3;
    sub = (b - LATE_SUB) % LATE_SUB;
    return ((uint64_t)(LATE_SUB + sub + 1) << (e - 3)) - 1;
}

/* One more start of test <e> at <now> (ms): the time since its previous
 * start feeds the cycle figures, window by window. */
static void note_start(struct schedule *s, struct entry *e, int64_t now)
{
    uint32_t tick = (uint32_t)((uint64_t)now / 10);

    if (s->window_start < 0)
        s->window_start = now;
    if (now - s->window_start >= s->window_ms) {
        s->last_sum = s->cur_sum;
        s->last_ratio = s->cur_ratio;
        s->last_n = s->cur_n;
        s->cur_sum = s->cur_ratio = 0;
        s->cur_n = 0;
        s->window_start = now;
    }
    if (e->flags & F_STARTED) {
        double ms = (double)(uint32_t)(tick - e->last) * 10.0;

        s->cur_sum += ms;
        s->cur_ratio += ms / (double)period_of(s, e);
        s->cur_n++;
    }
    e->last = tick;
    e->flags |= F_STARTED;
}

double schedule_next_due(const struct schedule *s)
{
    if (s->ready.n > 0)
        return (double)s->e[s->ready.v[0]].due / 1000.0;
    if (s->timer.n > 0)
        return (double)s->e[s->timer.v[0]].due / 1000.0;
    return INFINITY;
}

static void render(struct schedule *s, uint32_t i, struct sched_test *out)
{
    const struct entry *e = &s->e[i];
    const struct scenario *scn = suite_scenario(s->suite, e->sc);

    out->sc = scn;
    out->target = e->tg;
    out->target_name = suite_config(s->suite)->targets[e->tg].name;
    out->row = s->row;
    sbuf_reset(&s->id);
    expand_test_id(&s->id, scn, out->target_name, s->row);
    out->id = s->id.buf;
}

/* Render entry <i>'s row and id; 0 when its position names no row. */
static int render_at(struct schedule *s, uint32_t i, struct sched_test *out)
{
    const struct entry *e = &s->e[i];
    struct matrix *m = scenario_matrix(suite_scenario(s->suite, e->sc));

    if (matrix_row_at(m, e->pos, s->row) != 1)
        return 0;
    render(s, i, out);
    return 1;
}

/* Give entry <i>'s lease back at the next schedule_released(). */
static void release(struct schedule *s, uint32_t i)
{
    if (!(s->e[i].flags & F_LEASED))
        return;
    s->e[i].flags &= (uint8_t)~F_LEASED;
    XGROW(s->released, s->nreleased + 1, s->released_alloc);
    s->released[s->nreleased++] = i;
}

int schedule_pop(struct schedule *s, double now_sec, sched_held_fn *held,
                 void *arg, struct sched_test *out)
{
    int64_t now = to_ms(now_sec);

    while (s->timer.n > 0 && s->e[s->timer.v[0]].due <= now)
        heap_push(s, &s->ready, heap_pop(s, &s->timer));
    while (s->ready.n > 0) {
        uint32_t i = heap_pop(s, &s->ready);
        struct entry *e = &s->e[i];
        int64_t due = e->due;
        struct matrix *m = scenario_matrix(suite_scenario(s->suite, e->sc));

        e->due = next_due(s, e, now);
        /* In a fleet the next instant is the next claim's. */
        if (s->fleet)
            e->flags &= (uint8_t)~F_WAITING;
        else
            heap_push(s, &s->timer, i);
        /* A position the walk handed out always names a row; checked
         * anyway, as a test that cannot be rendered must not run. */
        if ((e->flags & F_IN_FLIGHT) || (held && held(e->tg, arg)) ||
            matrix_row_at(m, e->pos, s->row) != 1) {
            s->skipped++;
            /* The run in flight holds the lease until it ends. */
            if (!(e->flags & F_IN_FLIGHT))
                release(s, i);
            continue;
        }
        note_lateness(s, (int64_t)llround(now_sec * 1e6) - due * 1000);
        note_start(s, e, now);
        e->flags |= F_IN_FLIGHT;
        s->in_flight++;
        s->popped++;
        render(s, i, out);
        out->due = (double)due / 1000.0;
        out->handle.index = i;
        out->handle.gen = s->gen;
        return 1;
    }
    return 0;
}

/* The entry a handle names now, or NULL. */
static struct entry *resolve(struct schedule *s, struct sched_handle h)
{
    size_t i;

    if (h.gen == s->gen)
        return h.index < s->n ? &s->e[h.index] : NULL;
    for (i = 0; i < s->nremaps; i++) {
        struct remap r = s->remaps[i];

        if (r.gen != h.gen || r.old != h.index)
            continue;
        s->remaps[i] = s->remaps[--s->nremaps];
        return r.cur == NONE ? NULL : &s->e[r.cur];
    }
    return NULL;
}

static struct entry *finish(struct schedule *s, struct sched_handle h)
{
    struct entry *e = resolve(s, h);

    if (e == NULL || !(e->flags & F_IN_FLIGHT))
        return NULL;
    e->flags &= (uint8_t)~F_IN_FLIGHT;
    s->in_flight--;
    /* A claim of a later instant that came while it ran keeps the
     * lease for that instant's run. */
    if (!(e->flags & F_WAITING))
        release(s, (uint32_t)(e - s->e));
    return e;
}

int schedule_done(struct schedule *s, struct sched_handle h,
                  enum run_status status)
{
    struct entry *e = finish(s, h);
    unsigned st = (unsigned)status + 1;
    int prev;

    if (e == NULL)
        return -1;
    prev = (int)(e->flags & F_STATUS) - 1;
    s->nstatus[e->flags & F_STATUS]--;
    s->nstatus[st & F_STATUS]++;
    e->flags = (uint8_t)((e->flags & ~F_STATUS) | (st & F_STATUS));
    return prev;
}

void schedule_abandon(struct schedule *s, struct sched_handle h)
{
    finish(s, h);
}

/* ---- Looking at it ---- */

size_t schedule_visit_from(struct schedule *s, size_t from,
                           sched_visit_fn *fn, void *arg)
{
    struct sched_test t;
    size_t i;

    for (i = from; i < s->n; i++) {
        const struct entry *e = &s->e[i];
        struct matrix *m = scenario_matrix(suite_scenario(s->suite, e->sc));
        int st = (int)(e->flags & F_STATUS) - 1;

        if (matrix_row_at(m, e->pos, s->row) != 1)
            continue;
        render(s, (uint32_t)i, &t);
        if (fn(t.id, (double)e->due / 1000.0, st, arg))
            return i + 1;
    }
    return s->n;
}

/* The index of test <id>, rendered into s->row and s->id, or NONE. */
static uint32_t lookup(struct schedule *s, const char *id)
{
    uint64_t h = id_hash(id);
    struct sched_test t;
    size_t k;

    for (k = (size_t)h & s->ix.mask; s->ix.slot[k]; k = (k + 1) & s->ix.mask) {
        uint32_t i = s->ix.slot[k] - 1;
        const struct entry *e = &s->e[i];

        if (e->hash != h ||
            matrix_row_at(scenario_matrix(suite_scenario(s->suite, e->sc)),
                          e->pos, s->row) != 1)
            continue;
        render(s, i, &t);
        if (strcmp(t.id, id) == 0)
            return i;
    }
    return NONE;
}

int schedule_find(struct schedule *s, const char *id, int *status)
{
    uint32_t i = lookup(s, id);

    if (i == NONE)
        return 0;
    *status = (int)(s->e[i].flags & F_STATUS) - 1;
    return 1;
}

/* ---- A fleet ---- */

void schedule_set_fleet(struct schedule *s, int on)
{
    int64_t now = to_ms(clock_mono());
    size_t i;

    on = on != 0;
    if (s->fleet == on)
        return;
    s->fleet = on;
    /* Claimed instants keep their place either way; alone, every other
     * test goes back to its phase. */
    for (i = 0; i < s->n; i++)
        if (!on && !(s->e[i].flags & F_WAITING))
            s->e[i].due = next_due(s, &s->e[i], now);
        else if (!on)
            s->e[i].flags &= (uint8_t)~F_WAITING;
    heap_build_all(s);
}

int schedule_fleet(const struct schedule *s)
{
    return s->fleet;
}

size_t schedule_queued(const struct schedule *s)
{
    return s->timer.n + s->ready.n;
}

static size_t count_due(const struct schedule *s, size_t i, int64_t now);

size_t schedule_queued_due(const struct schedule *s, double now)
{
    return s->ready.n + count_due(s, 0, to_ms(now));
}

int schedule_claim(struct schedule *s, const char *id, double due)
{
    uint32_t i = lookup(s, id);
    struct entry *e;

    if (i == NONE)
        return 0;
    e = &s->e[i];
    e->flags |= F_LEASED;
    if (!s->fleet) {
        /* Alone again since it was asked: the test runs on its own
         * phase, and the lease goes back. */
        release(s, i);
        return 1;
    }
    if (e->flags & F_WAITING)
        return 1; /* its lease is one per test; the instant stands */
    e->flags |= F_WAITING;
    e->due = to_ms(due);
    heap_push(s, &s->timer, i);
    return 1;
}

size_t schedule_released(struct schedule *s, sched_id_fn *fn, void *arg)
{
    struct sched_test t;
    size_t i, n = s->nreleased;

    for (i = 0; i < n; i++)
        if (render_at(s, s->released[i], &t))
            fn(t.id, arg);
    s->nreleased = 0;
    return n;
}

size_t schedule_running_leased(struct schedule *s, sched_id_fn *fn, void *arg)
{
    const uint8_t both = F_IN_FLIGHT | F_LEASED;
    struct sched_test t;
    size_t i, n = 0;

    for (i = 0; i < s->n; i++)
        if ((s->e[i].flags & both) == both && render_at(s, (uint32_t)i, &t)) {
            fn(t.id, arg);
            n++;
        }
    return n;
}

size_t schedule_plan_from(struct schedule *s, size_t from, size_t max,
                          sched_plan_fn *fn, void *arg)
{
    int64_t wall = to_ms(clock_wall());
    struct sched_test t;
    size_t i;

    for (i = from; i < s->n && i - from < max; i++) {
        const struct entry *e = &s->e[i];
        int64_t p = (int64_t)period_of(s, e);
        int64_t r = (wall - (int64_t)(e->hash % (uint64_t)p)) % p;

        if (!render_at(s, (uint32_t)i, &t))
            continue;
        if (r < 0)
            r += p;
        fn(t.id, (uint64_t)p, wall - r + p, arg);
    }
    return i;
}

void schedule_plan(struct schedule *s, sched_plan_fn *fn, void *arg)
{
    schedule_plan_from(s, 0, s->n, fn, arg);
}

void schedule_visit(struct schedule *s, sched_visit_fn *fn, void *arg)
{
    schedule_visit_from(s, 0, fn, arg);
}

unsigned long schedule_generation(const struct schedule *s)
{
    return s->gen;
}

/* Tests in the timer heap due at <now>: a walk that stops at the first
 * later one on every branch. */
static size_t count_due(const struct schedule *s, size_t i, int64_t now)
{
    if (i >= s->timer.n || s->e[s->timer.v[i]].due > now)
        return 0;
    return 1 + count_due(s, 2 * i + 1, now) + count_due(s, 2 * i + 2, now);
}

void schedule_stats(const struct schedule *s, double now,
                    struct sched_stats *st)
{
    uint64_t total = 0, seen = 0, p50 = 0, p99 = 0;
    int have50 = 0, have99 = 0;
    size_t b;

    memset(st, 0, sizeof(*st));
    st->tests = s->n;
    st->due_now = s->ready.n + count_due(s, 0, to_ms(now));
    st->in_flight = s->in_flight;
    st->failing = s->nstatus[RUN_FAIL + 1] + s->nstatus[RUN_ERROR + 1];
    st->popped = s->popped;
    st->skipped = s->skipped;
    for (b = 0; b < LATE_BUCKETS; b++)
        total += s->late[b];
    for (b = 0; b < LATE_BUCKETS && total > 0 && !have99; b++) {
        seen += s->late[b];
        if (!have50 && seen * 2 >= total) {
            p50 = bucket_top(b);
            have50 = 1;
        }
        if (seen * 100 >= total * 99) {
            p99 = bucket_top(b);
            have99 = 1;
        }
    }
    if (p50 > s->late_max_us)
        p50 = s->late_max_us;
    if (p99 > s->late_max_us)
        p99 = s->late_max_us;
    st->late_p50_ms = (double)p50 / 1000.0;
    st->late_p99_ms = (double)p99 / 1000.0;
    st->late_max_ms = (double)s->late_max_us / 1000.0;
    if (s->last_n > 0) {
        st->cycle_ms = s->last_sum / (double)s->last_n;
        st->cycle_stretch = s->last_ratio / (double)s->last_n;
    } else if (s->cur_n > 0) {
        st->cycle_ms = s->cur_sum / (double)s->cur_n;
        st->cycle_stretch = s->cur_ratio / (double)s->cur_n;
    }
}

size_t schedule_memory_bytes(const struct schedule *s)
{
    size_t n = s->n ? s->n : 1;

    return sizeof(*s) + n * sizeof(struct entry) + 2 * n * sizeof(uint32_t) +
           (s->ix.mask + 1) * sizeof(uint32_t) +
           s->released_alloc * sizeof(uint32_t) +
           s->remaps_alloc * sizeof(struct remap) + s->id.alloc;
}

void schedule_lateness(const struct schedule *s, const double *le_s, size_t n,
                       uint64_t *counts, uint64_t *total, double *sum_s)
{
    size_t b, i;

    memset(counts, 0, n * sizeof(*counts));
    *total = 0;
    for (b = 0; b < LATE_BUCKETS; b++) {
        if (s->late[b] == 0)
            continue;
        *total += s->late[b];
        for (i = 0; i < n; i++)
            if ((double)bucket_top(b) <= le_s[i] * 1e6)
                counts[i] += s->late[b];
    }
    *sum_s = s->late_sum_us / 1e6;
}
