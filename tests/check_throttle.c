/* check_throttle.c -- request rates on a real loop, and throttle windows. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "loop.h"
#include "throttle.h"
#include "window.h"
#include "testutil.h"

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct grant {
    struct loop *l;
    double t[160];
    int target[160];
    size_t n, want;
    int in_acquire; /* set while throttle_acquire() runs */
};

struct ask {
    struct grant *g;
    int target;
};

static void on_grant(void *arg)
{
    struct ask *a = arg;
    struct grant *g = a->g;

    ck_assert_msg(!g->in_acquire, "called back from inside acquire");
    g->t[g->n] = now_s();
    g->target[g->n] = a->target;
    if (++g->n == g->want)
        loop_stop(g->l);
}

/* A hang becomes a failure: the loop gives up after 5 s (libevent's own
 * exit timer, which the loop frees). */
static void arm_deadline(struct loop *l)
{
    struct timeval tv = { 5, 0 };

    event_base_loopexit(loop_base(l), &tv);
}

/* Eight requests to target 0 at 40/s and four to target 1 at 1000/s,
 * overall unlimited: target 0's requests are never closer than 25 ms
 * (less the tolerance), k of them span k intervals (less the tolerance),
 * each target keeps its asking order, and target 1 is not held up behind
 * target 0. */
START_TEST(test_throttle_spacing_and_order)
{
    struct grant g;
    struct ask asks[12];
    struct throttle *t;
    size_t i;
    double last0 = 0, first0 = 0;
    int seen0 = 0, seen1 = 0;

    memset(&g, 0, sizeof(g));
    g.l = loop_new();
    g.want = 12;
    t = throttle_new(g.l, 2, 0);
    throttle_set_target_rate(t, 0, 40);
    throttle_set_target_rate(t, 1, 1000);
    for (i = 0; i < 12; i++) {
        asks[i].g = &g;
        asks[i].target = i < 8 ? 0 : 1;
        g.in_acquire = 1;
        throttle_acquire(t, (size_t)asks[i].target, on_grant, &asks[i]);
        g.in_acquire = 0;
    }
    ck_assert_uint_eq(throttle_waiting(t), 12);
    arm_deadline(g.l);
    loop_run(g.l);
    ck_assert_uint_eq(g.n, 12);
    for (i = 0; i < g.n; i++) {
        if (g.target[i] == 0) {
            if (seen0) {
                ck_assert_msg(g.t[i] - last0 >= 0.025 - THROTTLE_TOLERANCE_S,
                              "two grants %.4fs apart at 40/s", g.t[i] - last0);
                ck_assert_msg(g.t[i] - first0 >=
                                  0.025 * seen0 - THROTTLE_TOLERANCE_S,
                              "%d grants within %.4fs at 40/s", seen0 + 1,
                              g.t[i] - first0);
            } else {
                first0 = g.t[i];
            }
            last0 = g.t[i];
            seen0++;
        } else {
            seen1++;
        }
    }
    ck_assert_int_eq(seen0, 8);
    ck_assert_int_eq(seen1, 4);
    /* target 1 was done long before target 0's last slot */
    for (i = 0; i < g.n && g.target[i] == 0; i++)
        ;
    ck_assert_uint_lt(i, 3);
    throttle_free(t);
    loop_free(g.l);
}
END_TEST

/* The overall rate binds every target together, and a lower rate set
 * while requests wait takes effect for them. */
START_TEST(test_throttle_overall_rate_changes)
{
    struct grant g;
    struct ask asks[6];
    struct throttle *t;
    size_t i;

    memset(&g, 0, sizeof(g));
    g.l = loop_new();
    g.want = 6;
    t = throttle_new(g.l, 3, 1000);
    for (i = 0; i < 6; i++) {
        asks[i].g = &g;
        asks[i].target = (int)(i % 3);
        throttle_acquire(t, i % 3, on_grant, &asks[i]);
    }
    throttle_set_rate(t, 20); /* a window opens: 50 ms apart */
    arm_deadline(g.l);
    loop_run(g.l);
    ck_assert_uint_eq(g.n, 6);
    for (i = 1; i < g.n; i++)
        ck_assert_msg(g.t[i] - g.t[i - 1] >= 0.05 - THROTTLE_TOLERANCE_S,
                      "%.4fs apart at 20/s", g.t[i] - g.t[i - 1]);
    throttle_free(t);
    loop_free(g.l);
}
END_TEST

/* At 100/s, 150 requests asked at once: no window of one second holds
 * more than 100 of them -- the promise itself -- and yet those the
 * tolerance allows leave together, in one turn of the loop. */
START_TEST(test_throttle_window_and_groups)
{
    struct grant g;
    struct ask asks[150];
    struct throttle *t;
    size_t i, together = 1;

    memset(&g, 0, sizeof(g));
    g.l = loop_new();
    g.want = 150;
    t = throttle_new(g.l, 1, 0);
    throttle_set_target_rate(t, 0, 100);
    for (i = 0; i < 150; i++) {
        asks[i].g = &g;
        throttle_acquire(t, 0, on_grant, &asks[i]);
    }
    arm_deadline(g.l);
    loop_run(g.l);
    ck_assert_uint_eq(g.n, 150);
    for (i = 0; i + 100 < g.n; i++)
        ck_assert_msg(g.t[i + 100] - g.t[i] > 1.0,
                      "101 requests within %.4fs at 100/s",
                      g.t[i + 100] - g.t[i]);
    throttle_free(t);
    loop_free(g.l);

    /* 2000/s: a slot every 0.51 ms, so the first turn lets out the ones
     * within the 2 ms tolerance, not one. */
    memset(&g, 0, sizeof(g));
    g.l = loop_new();
    g.want = 10;
    t = throttle_new(g.l, 1, 0);
    throttle_set_target_rate(t, 0, 2000);
    for (i = 0; i < 10; i++) {
        asks[i].g = &g;
        throttle_acquire(t, 0, on_grant, &asks[i]);
    }
    arm_deadline(g.l);
    loop_run(g.l);
    ck_assert_uint_eq(g.n, 10);
    while (together < g.n && g.t[together] - g.t[0] < 0.0002)
        together++;
    ck_assert_msg(together >= 3, "only %zu left in the first turn", together);
    ck_assert_msg(g.t[9] - g.t[0] >= 9 * 0.0005 - THROTTLE_TOLERANCE_S,
                  "10 requests within %.4fs at 2000/s", g.t[9] - g.t[0]);
    throttle_free(t);
    loop_free(g.l);
}
END_TEST

/* 2026-11-23 was a Monday. */
static time_t utc(int day, int hour, int min)
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    tm.tm_year = 2026 - 1900;
    tm.tm_mon = 10;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = min;
    return timegm(&tm);
}

START_TEST(test_window_days_hours_zones)
{
    struct window w[2];

    memset(w, 0, sizeof(w));
    /* Mon-Fri 22:30-05:00 UTC, wrapping midnight */
    w[0].days = DAY_BIT(1) | DAY_BIT(2) | DAY_BIT(3) | DAY_BIT(4) | DAY_BIT(5);
    w[0].start_min = 22 * 60 + 30;
    w[0].end_min = 5 * 60;
    ck_assert_ptr_eq(window_active(w, 1, utc(23, 23, 0)), &w[0]); /* Mon */
    ck_assert_ptr_eq(window_active(w, 1, utc(24, 4, 59)), &w[0]); /* Tue */
    ck_assert_ptr_null(window_active(w, 1, utc(24, 5, 0)));
    ck_assert_ptr_null(window_active(w, 1, utc(23, 22, 29)));
    /* Saturday 01:00 belongs to Friday night's window */
    ck_assert_ptr_eq(window_active(w, 1, utc(28, 1, 0)), &w[0]);
    /* Monday 01:00 belongs to Sunday night: closed */
    ck_assert_ptr_null(window_active(w, 1, utc(30, 1, 0)));
    /* 01:00-05:00 in Tokyo (UTC+9) is 16:00-20:00 UTC the day before */
    w[1].days = 0x7f;
    w[1].start_min = 60;
    w[1].end_min = 300;
    w[1].timezone = "Asia/Tokyo";
    ck_assert_ptr_eq(window_active(&w[1], 1, utc(23, 17, 0)), &w[1]);
    ck_assert_ptr_null(window_active(&w[1], 1, utc(23, 21, 0)));
    /* the first open window wins */
    ck_assert_ptr_eq(window_active(w, 2, utc(23, 23, 0)), &w[0]);
    ck_assert_uint_eq(window_recheck_s(utc(23, 23, 0) + 15), 45);
}
END_TEST

/* ---- Rates shared by a fleet ---- */

/* The granting side of a fleet, as the script in Redis does it: one
 * theoretical time for the target, moved on by each span granted, and the
 * answer comes later, from the loop. */
struct grantor {
    struct loop *l;
    double tat;
    size_t asks;
    struct pending {
        struct throttle *t;
        size_t i;
        unsigned long gen;
        double from, to;
    } p[64];
    size_t np;
    struct throttle **members;
};

static void on_answer(void *arg)
{
    struct grantor *gr = arg;
    size_t i;

    for (i = 0; i < gr->np; i++)
        throttle_grant(gr->p[i].t, gr->p[i].i, gr->p[i].gen, gr->p[i].from,
                       gr->p[i].to);
    gr->np = 0;
}

struct member {
    struct grantor *gr;
    struct throttle *t;
};

static void ask_span(size_t i, double spacing, unsigned k, unsigned long gen,
                     void *arg)
{
    struct member *m = arg;
    struct grantor *gr = m->gr;
    double now = now_s(), from = gr->tat > now ? gr->tat : now;

    ck_assert_uint_ge(k, 1);
    ck_assert_uint_lt(gr->np, 64);
    gr->tat = from + k * spacing;
    gr->p[gr->np].t = m->t;
    gr->p[gr->np].i = i;
    gr->p[gr->np].gen = gen;
    gr->p[gr->np].from = from;
    gr->p[gr->np].to = gr->tat;
    gr->np++;
    gr->asks++;
    loop_after(gr->l, 1, on_answer, gr);
}

/* Two runners' throttles share one target at 50/s, 20 requests each: the
 * 40 leave from both, as the target sees them never more than the rate
 * allows, and the grants came in fewer asks than requests. */
START_TEST(test_throttle_shared_by_two)
{
    struct grant g;
    struct ask asks[40];
    struct grantor gr;
    struct member m[2];
    double sorted[40];
    size_t i, j;

    memset(&g, 0, sizeof(g));
    memset(&gr, 0, sizeof(gr));
    g.l = gr.l = loop_new();
    g.want = 40;
    for (j = 0; j < 2; j++) {
        m[j].gr = &gr;
        m[j].t = throttle_new(g.l, 1, 0);
        throttle_set_target_rate(m[j].t, 0, 50);
        throttle_share(m[j].t, ask_span, &m[j], 1);
    }
    for (i = 0; i < 40; i++) {
        asks[i].g = &g;
        asks[i].target = (int)(i % 2);
        g.in_acquire = 1;
        throttle_acquire(m[i % 2].t, 0, on_grant, &asks[i]);
        g.in_acquire = 0;
    }
    arm_deadline(g.l);
    loop_run(g.l);
    ck_assert_uint_eq(g.n, 40);
    memcpy(sorted, g.t, sizeof(sorted));
    for (i = 1; i < 40; i++)
        for (j = i; j > 0 && sorted[j] < sorted[j - 1]; j--) {
            double x = sorted[j];

            sorted[j] = sorted[j - 1];
            sorted[j - 1] = x;
        }
    /* Each leaves within the tolerance of its slot, and the slots of the
     * two runners' spans are one grid: k requests span k - 1 intervals
     * less twice the tolerance, never less, however many runners. */
    for (i = 0; i < 40; i++)
        for (j = i + 1; j < 40; j++)
            ck_assert_msg(sorted[j] - sorted[i] >=
                              (double)(j - i) * 0.020 -
                                  2 * THROTTLE_TOLERANCE_S,
                          "requests %zu to %zu in %.4f s", i, j,
                          sorted[j] - sorted[i]);
    /* Each runner asked for what it had waiting, a quarter second's worth
     * at most (13 at 50/s). */
    ck_assert_uint_lt(gr.asks, 40);
    ck_assert_uint_ge(gr.asks, 4);
    for (j = 0; j < 2; j++)
        throttle_free(m[j].t);
    loop_free(g.l);
}
END_TEST

/* Alone again (Redis gone), a runner of a fleet of two keeps to half the
 * rate: requests 50 ms apart at 40/s. */
START_TEST(test_throttle_alone_keeps_its_share)
{
    struct grant g;
    struct ask asks[5];
    struct throttle *t;
    size_t i;

    memset(&g, 0, sizeof(g));
    g.l = loop_new();
    g.want = 5;
    t = throttle_new(g.l, 1, 0);
    throttle_set_target_rate(t, 0, 40);
    throttle_share(t, NULL, NULL, 2);
    for (i = 0; i < 5; i++) {
        asks[i].g = &g;
        throttle_acquire(t, 0, on_grant, &asks[i]);
    }
    arm_deadline(g.l);
    loop_run(g.l);
    ck_assert_uint_eq(g.n, 5);
    for (i = 1; i < 5; i++)
        ck_assert_msg(g.t[i] - g.t[i - 1] >= 0.050 - THROTTLE_TOLERANCE_S,
                      "%.4f s apart", g.t[i] - g.t[i - 1]);
    throttle_free(t);
    loop_free(g.l);
}
END_TEST

static Suite *throttle_suite(void)
{
    Suite *s = suite_create("throttle");
    TCase *tc = tcase_create("Core");

    tcase_add_test(tc, test_throttle_spacing_and_order);
    tcase_add_test(tc, test_throttle_overall_rate_changes);
    tcase_add_test(tc, test_throttle_window_and_groups);
    tcase_add_test(tc, test_window_days_hours_zones);
    tcase_add_test(tc, test_throttle_shared_by_two);
    tcase_add_test(tc, test_throttle_alone_keeps_its_share);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pw_run_suite(throttle_suite());
}
