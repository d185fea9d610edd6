/* check_schedule.c -- phases, spreading, reloads and fairness of the
 * scheduler, on a fake clock. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "sbuf.h"
#include "schedule.h"
#include "testutil.h"
#include "xalloc.h"


/* A scenario named <name> running every <every>, with parameters a and b
 * of <na> and <nb> values (none when 0), plus <extra> lines. */
static char *scen(const char *name, const char *every, unsigned na,
                  unsigned nb, const char *extra)
{
    struct sbuf b = SBUF_INIT;
    unsigned i;

    sbuf_addf(&b, "name: %s\nevery: %s\n%s", name, every, extra);
    if (na > 0) {
        sbuf_adds(&b, "matrix:\n  a: [");
        for (i = 0; i < na; i++)
            sbuf_addf(&b, "%s%u", i ? ", " : "", i);
        sbuf_adds(&b, "]\n");
        if (nb > 0) {
            sbuf_adds(&b, "  b: [");
            for (i = 0; i < nb; i++)
                sbuf_addf(&b, "%sv%u", i ? ", " : "", i);
            sbuf_adds(&b, "]\n");
        }
    }
    sbuf_adds(&b, "steps:\n  - name: s\n    request: { url: http://x }\n");
    return sbuf_take(&b, NULL);
}

/* Load a suite from directory <dir> holding the <n> scenario texts of
 * <sc> (freed here) and one target "t". */
static struct suite *load(const char *dir, char **sc, size_t n)
{
    struct diag *d = diag_new();
    char name[256];
    struct suite *s;
    size_t i;

    tu_mkdir(dir);
    snprintf(name, sizeof(name), "%s/s", dir);
    tu_mkdir(name);
    for (i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "%s/s/%zu.yaml", dir, i);
        tu_write(name, sc[i]);
        free(sc[i]);
    }
    snprintf(name, sizeof(name), "%s/prodwatch.yaml", dir);
    s = suite_load(tu_write(name, "targets:\n"
                                  "  t: { base_url: \"http://127.0.0.1:9\" }\n"
                                  "  u: { base_url: \"http://127.0.0.1:9\" }\n"
                                  "scenarios: [ \"s/*.yaml\" ]\n"
                                  "limits: { max_tests: 2000000 }\n"),
                   d);
    ck_assert_msg(s != NULL, "%s", diag_count(d) ? diag_at(d, 0) : "");
    diag_free(d);
    return s;
}

static const char *const only_t[] = { "t" };
static const struct expand_filter on_t = { NULL, 0, only_t, 1, NULL, 0 };

static int pop(struct schedule *s, struct sched_test *t)
{
    return schedule_pop(s, clock_mono(), NULL, NULL, t);
}

/* ---- Spreading and phases ---- */

/* 10,000 tests every 5m, from a start and again after a restart: every
 * 10 s of the first period starts 1/30 of them, give or take 20%, and
 * each starts exactly once. */
START_TEST(test_schedule_even_spread)
{
    char *sc[1] = { scen("spread", "5m", 100, 100, "") };
    struct suite *su = load("spread", sc, 1);
    int round;

    for (round = 0; round < 2; round++) {
        struct schedule *s = schedule_new(su, &on_t, NULL);
        unsigned slices[31] = { 0 };
        unsigned *runs = xcalloc(10000, sizeof(unsigned));
        double start = clock_mono();
        struct sched_test t;
        size_t i, twice;

        ck_assert_ptr_nonnull(s);
        ck_assert_uint_eq(schedule_count(s), 10000);
        /* The jitter may push a last one up to a second beyond. */
        while (clock_mono() - start < 302.0) {
            while (pop(s, &t)) {
                size_t slice = (size_t)((clock_mono() - start) / 10.0);

                slices[slice]++;
                runs[t.handle.index]++;
                schedule_done(s, t.handle, RUN_PASS);
            }
            tu_clock_advance(0.1);
        }
        for (i = 0; i < 30; i++)
            ck_assert_msg(slices[i] >= 267 && slices[i] <= 400,
                          "round %d: slice %zu starts %u tests", round, i,
                          slices[i]);
        /* Once each; twice only for the few whose first instant came in
         * the first second, as the jitter reaches a second past the
         * period. */
        for (i = 0, twice = 0; i < 10000; i++) {
            ck_assert_uint_ge(runs[i], 1);
            ck_assert_uint_le(runs[i], 2);
            twice += runs[i] == 2;
        }
        ck_assert_uint_lt(twice, 100);
        free(runs);
        schedule_free(s);
        /* A restart: both clocks elsewhere, a new schedule. */
        tu_fake_mono = 77.0;
        tu_fake_wall += 86400 * 3 + 1234.567;
    }
    suite_free(su);
}
END_TEST

/* Wall-clock phases, (due + offset) mod period, in ms. */
struct phases {
    double *ms;
    size_t n, max;
    double off; /* wall minus mono at the time of the visit */
    double period;
};

static int collect_phase(const char *id, double due, int status, void *arg)
{
    struct phases *p = arg;
    double w = fmod((due + p->off) * 1000.0, p->period);
    double g = fmod(w, SCHED_TICK_MS);

    (void)id;
    (void)status;
    /* On the tick grid (within the millisecond the clocks' offset is
     * rounded to). */
    ck_assert_msg(g <= 1.0 || g >= SCHED_TICK_MS - 1.0,
                  "%s due %.3f ms past the %d ms grid", id, g, SCHED_TICK_MS);
    ck_assert_uint_lt(p->n, p->max);
    p->ms[p->n++] = w;
    return 0;
}

static void phases_of(struct schedule *s, struct phases *p, size_t max,
                      double period_ms)
{
    p->ms = xcalloc(max, sizeof(double));
    p->n = 0;
    p->max = max;
    p->off = tu_fake_wall - tu_fake_mono;
    p->period = period_ms;
    schedule_visit(s, collect_phase, p);
}

/* Circular distance of two phases. */
static double phase_dist(double a, double b, double period)
{
    double d = fabs(a - b);

    return d < period - d ? d : period - d;
}

/* Restart (a new schedule with both clocks elsewhere) and reload of an
 * unchanged suite keep each test at its place in the period. */
START_TEST(test_schedule_phase_stable)
{
    char *sc[2] = { scen("p1", "1m", 20, 10, ""), scen("p2", "1h", 0, 0, "") };
    struct suite *su = load("phase", sc, 2), *again;
    struct schedule *a, *b;
    struct phases pa, pb, pr;
    double lo = 1e18, hi = -1;
    size_t i;

    a = schedule_new(su, NULL, NULL);
    ck_assert_uint_eq(schedule_count(a), 2 * 200 + 2);
    phases_of(a, &pa, 402, 60000);
    tu_fake_mono = 5.5;
    tu_fake_wall += 100000.25;
    b = schedule_new(su, NULL, NULL);
    phases_of(b, &pb, 402, 60000);
    ck_assert_uint_eq(pa.n, pb.n);
    for (i = 0; i < 400; i++) {
        /* Jitter of at most 1% of the minute on either side, and the
         * rounding up to the tick grid. */
        ck_assert_msg(phase_dist(pa.ms[i], pb.ms[i], 60000) <=
                          601 + SCHED_TICK_MS,
                      "test %zu: phase %.0f ms, then %.0f ms", i, pa.ms[i],
                      pb.ms[i]);
        lo = pa.ms[i] < lo ? pa.ms[i] : lo;
        hi = pa.ms[i] > hi ? pa.ms[i] : hi;
    }
    ck_assert_msg(hi - lo > 50000, "phases not spread: %.0f..%.0f", lo, hi);
    /* Reload from freshly loaded, identical files: the very same due
     * times, not merely the same phases. */
    again = load("phase", (char *[]){ scen("p1", "1m", 20, 10, ""),
                                      scen("p2", "1h", 0, 0, "") },
                 2);
    tu_clock_advance(12.0);
    ck_assert_int_eq(schedule_reload(b, again, NULL, NULL), PW_OK);
    suite_free(su);
    phases_of(b, &pr, 402, 60000);
    for (i = 0; i < pr.n; i++)
        ck_assert_msg(pr.ms[i] == pb.ms[i], "test %zu moved", i);
    free(pa.ms);
    free(pb.ms);
    free(pr.ms);
    schedule_free(a);
    schedule_free(b);
    suite_free(again);
}
END_TEST

/* ---- Reload ---- */

struct seen {
    char ids[64][64];
    double due[64];
    int status[64];
    size_t n;
};

static int collect_seen(const char *id, double due, int status, void *arg)
{
    struct seen *s = arg;

    ck_assert_uint_lt(s->n, 64);
    snprintf(s->ids[s->n], sizeof(s->ids[0]), "%s", id);
    s->due[s->n] = due;
    s->status[s->n] = status;
    s->n++;
    return 0;
}

static int seen_find(const struct seen *s, const char *id)
{
    size_t i;

    for (i = 0; i < s->n; i++)
        if (strcmp(s->ids[i], id) == 0)
            return (int)i;
    return -1;
}

/* Removed tests go, new ones come at their phase, kept ones keep due time
 * and status; handles from before the reload still work. */
START_TEST(test_schedule_reload_changes)
{
    char *v1[2] = { scen("keep", "10s", 6, 0, ""),
                    scen("gone", "10s", 0, 0, "") };
    char *v2[2] = { scen("keep", "10s", 8, 0, ""),
                    scen("added", "10s", 2, 0, "") };
    struct suite *s1 = load("r1", v1, 2), *s2;
    struct schedule *s = schedule_new(s1, &on_t, NULL);
    struct sched_handle kept_h = { 0, 0 }, gone_h = { 0, 0 };
    int have_kept = 0, have_gone = 0, k;
    struct seen before = { .n = 0 }, after = { .n = 0 };
    struct sched_stats st;
    struct sched_test t;
    double t0 = clock_mono();

    /* One period: every test runs once; "keep" a=0 and a=1 fail. */
    while (clock_mono() - t0 < 11.0) {
        while (pop(s, &t)) {
            if (strcmp(t.id, "keep@t[a=5]") == 0 && !have_kept) {
                kept_h = t.handle; /* left in flight */
                have_kept = 1;
            } else if (strcmp(t.id, "gone@t") == 0 && !have_gone) {
                gone_h = t.handle;
                have_gone = 1;
            } else {
                int bad = strcmp(t.id, "keep@t[a=0]") == 0 ||
                          strcmp(t.id, "keep@t[a=1]") == 0;

                schedule_done(s, t.handle, bad ? RUN_FAIL : RUN_PASS);
            }
        }
        tu_clock_advance(0.05);
    }
    ck_assert(have_kept && have_gone);
    schedule_stats(s, clock_mono(), &st);
    ck_assert_uint_eq(st.tests, 7);
    ck_assert_uint_eq(st.failing, 2);
    ck_assert_uint_eq(st.in_flight, 2);
    schedule_visit(s, collect_seen, &before);

    s2 = load("r2", v2, 2);
    ck_assert_int_eq(schedule_reload(s, s2, &on_t, NULL), PW_OK);
    suite_free(s1);
    schedule_visit(s, collect_seen, &after);
    ck_assert_uint_eq(after.n, 10);
    ck_assert_int_lt(seen_find(&after, "gone@t"), 0);
    for (k = 0; k < 6; k++) {
        char id[32];
        int i, j;

        snprintf(id, sizeof(id), "keep@t[a=%d]", k);
        i = seen_find(&before, id);
        j = seen_find(&after, id);
        ck_assert_int_ge(i, 0);
        ck_assert_int_ge(j, 0);
        ck_assert(before.due[i] == after.due[j]);
        ck_assert_int_eq(before.status[i], after.status[j]);
    }
    for (k = 0; k < (int)after.n; k++) {
        if (strncmp(after.ids[k], "added@", 6) != 0 &&
            strcmp(after.ids[k], "keep@t[a=6]") != 0 &&
            strcmp(after.ids[k], "keep@t[a=7]") != 0)
            continue;
        ck_assert_int_eq(after.status[k], -1);
        ck_assert(after.due[k] > clock_mono() &&
                  after.due[k] <= clock_mono() + 10.1);
    }
    /* A lookup finds every test the walk saw, with its status (-1 for
     * those never run), and nothing else. */
    for (k = 0; k < (int)after.n; k++) {
        int status = -2;

        ck_assert(schedule_find(s, after.ids[k], &status));
        ck_assert_int_eq(status, after.status[k]);
    }
    {
        int status = -2;

        ck_assert(!schedule_find(s, "gone@t", &status));
        ck_assert(!schedule_find(s, "keep@t[a=99]", &status));
        ck_assert(!schedule_find(s, "", &status));
        ck_assert_int_eq(status, -2);
    }
    schedule_stats(s, clock_mono(), &st);
    ck_assert_uint_eq(st.tests, 10);
    ck_assert_uint_eq(st.failing, 2);
    ck_assert_uint_eq(st.in_flight, 1); /* "gone" went with its test */
    /* The kept run ends after the reload and is counted... */
    schedule_done(s, kept_h, RUN_ERROR);
    /* ...the removed one's end changes nothing, nor does a second end. */
    schedule_done(s, gone_h, RUN_FAIL);
    schedule_done(s, kept_h, RUN_FAIL);
    schedule_stats(s, clock_mono(), &st);
    ck_assert_uint_eq(st.in_flight, 0);
    ck_assert_uint_eq(st.failing, 3);
    schedule_free(s);
    suite_free(s2);
}
END_TEST

/* ---- Fairness ---- */

/* With everything overdue, tests leave by due time, critical ones with
 * half a period's head start: the half of the critical tests due first
 * leave before any plain test. */
START_TEST(test_schedule_critical_first)
{
    char *sc[2] = { scen("plain", "1m", 100, 0, ""),
                    scen("vital", "1m", 100, 0, "severity: critical\n") };
    struct suite *su = load("crit", sc, 2);
    struct schedule *s = schedule_new(su, &on_t, NULL);
    struct sched_test t;
    long long key, prev = LLONG_MIN;
    int i, vital_first = 0;

    tu_clock_advance(61.5); /* all 200 due, none popped */
    for (i = 0; i < 200; i++) {
        int vital;

        ck_assert(pop(s, &t));
        vital = strcmp(scenario_name(t.sc), "vital") == 0;
        /* In whole milliseconds, as the schedule keeps them: a critical
         * test and a plain one may tie, and in floating point the tie
         * could look like an inversion. */
        key = llround(t.due * 1000.0) - (vital ? 30000 : 0);
        ck_assert_msg(key >= prev, "pop %d out of order", i);
        prev = key;
        if (vital && vital_first == i)
            vital_first++;
        schedule_done(s, t.handle, RUN_PASS);
    }
    ck_assert(!pop(s, &t));
    ck_assert_msg(vital_first >= 35, "only %d critical first", vital_first);
    schedule_free(s);
    suite_free(su);
}
END_TEST

/* Capacity for half the demand: the cycle stretches to about two periods
 * and no test, critical or not, waits three. */
START_TEST(test_schedule_no_starvation)
{
    char *sc[2] = { scen("plain", "10s", 100, 0, ""),
                    scen("vital", "10s", 100, 0, "severity: critical\n") };
    struct suite *su = load("starve", sc, 2);
    struct schedule *s = schedule_new(su, &on_t, NULL);
    double last[200], start = clock_mono(), worst = 0;
    struct sched_stats st;
    struct sched_test t;
    int i, step;

    for (i = 0; i < 200; i++)
        last[i] = start;
    /* 20 runs due per second, room for 10: one run per 100 ms. */
    for (step = 0; step < 2000; step++) {
        if (pop(s, &t)) {
            double gap = clock_mono() - last[t.handle.index];

            worst = gap > worst ? gap : worst;
            last[t.handle.index] = clock_mono();
            schedule_done(s, t.handle, RUN_PASS);
        }
        tu_clock_advance(0.1);
    }
    for (i = 0; i < 200; i++) {
        double gap = clock_mono() - last[i];

        worst = gap > worst ? gap : worst;
    }
    ck_assert_msg(worst < 30.0, "a test waited %.1f s", worst);
    schedule_stats(s, clock_mono(), &st);
    ck_assert_uint_ge(st.popped, 1990); /* none due in the first steps */
    ck_assert_msg(st.cycle_stretch > 1.7 && st.cycle_stretch < 2.3,
                  "stretch %.2f", st.cycle_stretch);
    ck_assert_msg(st.cycle_ms > 17000 && st.cycle_ms < 23000, "cycle %.0f ms",
                  st.cycle_ms);
    ck_assert(st.late_p99_ms > 1000); /* the queue is measured */
    schedule_free(s);
    suite_free(su);
}
END_TEST

/* A test popped three and a half periods late runs once, then waits for
 * its next phase instant: no catch-up burst, no drift of its phase. */
START_TEST(test_schedule_late_pop_no_burst)
{
    char *sc[1] = { scen("late", "10s", 0, 0, "") };
    struct suite *su = load("late", sc, 1);
    struct schedule *s = schedule_new(su, &on_t, NULL);
    double due = schedule_next_due(s), next, off = tu_fake_wall - tu_fake_mono;
    struct sched_stats st;
    struct sched_test t;
    double p0, p1;

    ck_assert(due > clock_mono() && due <= clock_mono() + 10.1);
    ck_assert(!pop(s, &t));
    tu_clock_advance(due - clock_mono() + 35.0);
    ck_assert(pop(s, &t));
    ck_assert(fabs(t.due - due) < 1e-9);
    schedule_done(s, t.handle, RUN_PASS);
    ck_assert(!pop(s, &t));
    next = schedule_next_due(s);
    ck_assert(next > clock_mono() && next <= clock_mono() + 10.1);
    p0 = fmod((due + off) * 1000.0, 10000.0);
    p1 = fmod((next + off) * 1000.0, 10000.0);
    ck_assert_msg(phase_dist(p0, p1, 10000.0) <= 101, "%.0f then %.0f", p0,
                  p1);
    schedule_stats(s, clock_mono(), &st);
    ck_assert_uint_eq(st.popped, 1);
    ck_assert_msg(fabs(st.late_max_ms - 35000.0) < 1.0, "late %.1f ms",
                  st.late_max_ms);
    ck_assert(st.late_p50_ms <= st.late_max_ms &&
              st.late_p50_ms > 35000.0 * 7 / 8);
    schedule_free(s);
    suite_free(su);
}
END_TEST

static int hold_u(size_t target, void *arg)
{
    (void)arg;
    return target == 1;
}

/* A held target's tests and a test still in flight are skipped, moved on
 * to their next instant, and counted. */
START_TEST(test_schedule_held_and_in_flight)
{
    char *sc[1] = { scen("h", "10s", 3, 0, "") };
    struct suite *su = load("held", sc, 1);
    struct schedule *s = schedule_new(su, NULL, NULL);
    struct sched_handle h[3];
    struct sched_stats st;
    struct sched_test t;
    int n = 0;

    ck_assert_uint_eq(schedule_count(s), 6);
    tu_clock_advance(10.5);
    schedule_stats(s, clock_mono(), &st);
    ck_assert_uint_eq(st.due_now, 6);
    while (schedule_pop(s, clock_mono(), hold_u, NULL, &t)) {
        ck_assert_str_eq(t.target_name, "t");
        ck_assert_uint_eq(t.target, 0);
        ck_assert_int_lt(n, 3);
        h[n++] = t.handle;
    }
    ck_assert_int_eq(n, 3);
    schedule_stats(s, clock_mono(), &st);
    ck_assert_uint_eq(st.skipped, 3);
    ck_assert_uint_eq(st.in_flight, 3);
    ck_assert_uint_eq(st.due_now, 0);
    /* A period on, the three runs have not ended: skipped again. */
    tu_clock_advance(10.5);
    while (schedule_pop(s, clock_mono(), hold_u, NULL, &t))
        ck_abort_msg("%s handed out while in flight or held", t.id);
    schedule_stats(s, clock_mono(), &st);
    ck_assert_uint_eq(st.skipped, 9);
    schedule_abandon(s, h[0]);
    schedule_done(s, h[1], RUN_PASS);
    schedule_done(s, h[2], RUN_ERROR);
    schedule_stats(s, clock_mono(), &st);
    ck_assert_uint_eq(st.in_flight, 0);
    ck_assert_uint_eq(st.failing, 1);
    tu_clock_advance(10.5);
    n = 0;
    while (schedule_pop(s, clock_mono(), NULL, NULL, &t))
        n++;
    ck_assert_int_eq(n, 6);
    schedule_free(s);
    suite_free(su);
}
END_TEST

/* ---- A fleet ---- */

struct ids {
    char *v[16];
    size_t n;
};

static void collect_id(const char *id, void *arg)
{
    struct ids *x = arg;

    ck_assert_uint_lt(x->n, 16);
    x->v[x->n++] = xstrdup(id);
}

static void ids_free(struct ids *x)
{
    while (x->n)
        free(x->v[--x->n]);
}

static void plan_count(const char *id, uint64_t every_ms, int64_t first,
                       void *arg)
{
    int64_t now = (int64_t)(clock_wall() * 1000);

    ck_assert_uint_eq(every_ms, 10000);
    ck_assert_int_gt(first, now - 1);
    ck_assert_int_le(first, now + 10000);
    ck_assert(strncmp(id, "f@", 2) == 0);
    ++*(size_t *)arg;
}

/* In fleet mode nothing runs but the instants claimed; each claimed run
 * gives its lease back when it ends, a skipped one at once, and a reload
 * keeps what was claimed.  Alone again, every test runs on its phase. */
START_TEST(test_schedule_fleet_claims)
{
    char *sc[1] = { scen("f", "10s", 3, 0, "") };
    struct suite *su = load("fleet", sc, 1), *su2;
    struct schedule *s = schedule_new(su, &on_t, NULL);
    struct sched_test t;
    struct sched_handle h;
    struct ids rel = { { NULL }, 0 }, run = { { NULL }, 0 };
    size_t planned = 0;

    ck_assert_uint_eq(schedule_count(s), 3);
    /* A scenario for another location is not this runner's (it has
     * none: "default"); one that lists "default" is. */
    {
        char *sc2[2] = { scen("here", "10s", 2, 0, "locations: [default]\n"),
                         scen("there", "10s", 2, 0,
                              "locations: [eu-west, us-east]\n") };
        struct suite *su3 = load("fleet-loc", sc2, 2);
        struct schedule *s3 = schedule_new(su3, &on_t, NULL);

        ck_assert_uint_eq(schedule_count(s3), 2);
        schedule_free(s3);
        suite_free(su3);
    }
    schedule_plan(s, plan_count, &planned);
    ck_assert_uint_eq(planned, 3);
    schedule_set_fleet(s, 1);
    ck_assert_int_eq(schedule_fleet(s), 1);
    tu_clock_advance(25.0); /* every test passed two instants */
    ck_assert_int_eq(pop(s, &t), 0);
    ck_assert(isinf(schedule_next_due(s)));
    ck_assert_int_eq(schedule_claim(s, "f@t[a=9]", clock_mono()), 0);
    ck_assert_int_eq(schedule_claim(s, "f@t[a=1]", clock_mono() + 0.2), 1);
    ck_assert_int_eq(schedule_claim(s, "f@t[a=2]", clock_mono()), 1);
    ck_assert_uint_eq(schedule_queued(s), 2);
    ck_assert_int_eq(pop(s, &t), 1);
    ck_assert_str_eq(t.id, "f@t[a=2]");
    h = t.handle;
    ck_assert_int_eq(pop(s, &t), 0); /* a=1 not due for 0.2 s */
    ck_assert_uint_eq(schedule_running_leased(s, collect_id, &run), 1);
    ck_assert_str_eq(run.v[0], "f@t[a=2]");
    /* A reload keeps the claimed instant of a=1. */
    sc[0] = scen("f", "10s", 3, 0, "");
    su2 = load("fleet2", sc, 1);
    ck_assert_int_eq(schedule_reload(s, su2, &on_t, NULL), PW_OK);
    suite_free(su);
    su = su2;
    /* Its next instant claimed while it runs: skipped, the lease kept by
     * the run. */
    ck_assert_int_eq(schedule_claim(s, "f@t[a=2]", clock_mono()), 1);
    tu_clock_advance(0.3);
    ck_assert_int_eq(pop(s, &t), 1);
    ck_assert_str_eq(t.id, "f@t[a=1]");
    ck_assert_int_eq(pop(s, &t), 0);
    ck_assert_uint_eq(schedule_released(s, collect_id, &rel), 0);
    schedule_done(s, h, RUN_PASS);
    schedule_done(s, t.handle, RUN_FAIL);
    ck_assert_uint_eq(schedule_released(s, collect_id, &rel), 2);
    ck_assert_str_eq(rel.v[0], "f@t[a=2]");
    ck_assert_str_eq(rel.v[1], "f@t[a=1]");
    ck_assert_uint_eq(schedule_released(s, collect_id, &rel), 0);
    ck_assert_uint_eq(schedule_queued(s), 0);
    /* Alone: all three on their phases again, within a period. */
    schedule_set_fleet(s, 0);
    ck_assert_uint_eq(schedule_queued(s), 3);
    tu_clock_advance(10.1);
    ck_assert_int_eq(pop(s, &t) + pop(s, &t) + pop(s, &t), 3);
    ids_free(&rel);
    ids_free(&run);
    schedule_free(s);
    suite_free(su);
}
END_TEST

/* ---- Memory and limits ---- */

START_TEST(test_schedule_memory_per_test)
{
    char *sc[1] = { scen("mem", "5m", 1000, 100, "") };
    struct suite *su = load("mem", sc, 1);
    struct schedule *s = schedule_new(su, &on_t, NULL);
    size_t bytes = schedule_memory_bytes(s);

    ck_assert_uint_eq(schedule_count(s), 100000);
    ck_assert_msg(bytes / schedule_count(s) < 64, "%zu bytes per test",
                  bytes / schedule_count(s));
    schedule_free(s);
    suite_free(su);
}
END_TEST

static int cmp_line(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The lines of <text>, sorted, joined again. */
static char *sorted_lines(char *text)
{
    char **lines = NULL, *p, *save = NULL;
    size_t n = 0, alloc = 0, i;
    struct sbuf b = SBUF_INIT;

    for (p = strtok_r(text, "\n", &save); p; p = strtok_r(NULL, "\n", &save)) {
        XGROW(lines, n + 1, alloc);
        lines[n++] = p;
    }
    qsort(lines, n, sizeof(char *), cmp_line);
    for (i = 0; i < n; i++) {
        sbuf_adds(&b, lines[i]);
        sbuf_addc(&b, '\n');
    }
    free(lines);
    return sbuf_take(&b, NULL);
}

/* Pairwise rows and includes come back from their positions: the popped
 * ids are exactly those the walk over the suite yields. */
START_TEST(test_schedule_pairwise_ids)
{
    char *sc[1] = { xstrdup(
        "name: pw\nevery: 10s\ncoverage: pairwise\nmatrix:\n"
        "  a: [1, 2, 3, 4]\n  b: [x, y, z]\n  c: [p, q, r]\n"
        "  exclude:\n    - { a: 1, b: x }\n"
        "  include:\n    - { a: 9, b: x, c: p }\n"
        "steps:\n  - name: s\n    request: { url: http://x }\n") };
    struct suite *su = load("pw", sc, 1);
    struct schedule *s = schedule_new(su, NULL, NULL);
    struct sbuf want = SBUF_INIT, got = SBUF_INIT;
    struct expand_iter x;
    struct expand_test et;
    struct sched_test t;
    char *a, *b;

    expand_iter_init(&x, su, NULL);
    while (expand_iter_next(&x, &et, NULL) == 1) {
        sbuf_adds(&want, et.id);
        sbuf_addc(&want, '\n');
    }
    expand_iter_release(&x);
    tu_clock_advance(10.5);
    while (pop(s, &t)) {
        sbuf_adds(&got, t.id);
        sbuf_addc(&got, '\n');
    }
    ck_assert_uint_eq(schedule_count(s) > 20, 1);
    a = sorted_lines(want.buf);
    b = sorted_lines(got.buf);
    ck_assert_str_eq(a, b);
    free(a);
    free(b);
    sbuf_release(&want);
    sbuf_release(&got);
    schedule_free(s);
    suite_free(su);
}
END_TEST

static Suite *schedule_suite(void)
{
    Suite *s = suite_create("schedule");
    TCase *tp = tcase_create("Phase");
    TCase *tr = tcase_create("Reload");
    TCase *tf = tcase_create("Fairness");
    TCase *tm = tcase_create("Memory");

    tcase_add_checked_fixture(tp, tu_clock_fake, tu_clock_real);
    tcase_add_checked_fixture(tr, tu_clock_fake, tu_clock_real);
    tcase_add_checked_fixture(tf, tu_clock_fake, tu_clock_real);
    tcase_add_checked_fixture(tm, tu_clock_fake, tu_clock_real);
    tcase_set_timeout(tm, 120);
    tcase_add_test(tp, test_schedule_even_spread);
    tcase_add_test(tp, test_schedule_phase_stable);
    tcase_add_test(tp, test_schedule_pairwise_ids);
    tcase_add_test(tr, test_schedule_reload_changes);
    tcase_add_test(tf, test_schedule_critical_first);
    tcase_add_test(tf, test_schedule_no_starvation);
    tcase_add_test(tf, test_schedule_late_pop_no_burst);
    tcase_add_test(tf, test_schedule_held_and_in_flight);
    tcase_add_test(tf, test_schedule_fleet_claims);
    tcase_add_test(tm, test_schedule_memory_per_test);
    suite_add_tcase(s, tp);
    suite_add_tcase(s, tr);
    suite_add_tcase(s, tf);
    suite_add_tcase(s, tm);
    return s;
}

int main(void)
{
    return pw_run_suite(schedule_suite());
}
