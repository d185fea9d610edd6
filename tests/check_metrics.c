/* check_metrics.c -- what the metrics keep of the results they are given:
 * the status strip, the failing step and message only while failing, the
 * scenario x target of each test, and the text format. */
#include <stdio.h>
#include <string.h>

#include "metrics.h"
#include "result.h"
#include "sbuf.h"
#include "scenario.h"
#include "testutil.h"

static struct scenario *sc_a, *sc_b;

static void load(void)
{
    char *diag = NULL;

    sc_a = tu_scenario("name: alpha\nsteps:\n  - name: one\n"
                       "    request: { url: \"{{ target.base_url }}/\" }\n",
                       &diag);
    ck_assert_msg(sc_a != NULL, "%s", diag);
    free(diag);
    sc_b = tu_scenario("name: beta\nsteps:\n  - name: one\n"
                       "    request: { url: \"{{ target.base_url }}/\" }\n",
                       &diag);
    ck_assert_msg(sc_b != NULL, "%s", diag);
    free(diag);
}

static void give(struct metrics *m, const char *id, const struct scenario *sc,
                 const char *target, enum run_status st, const char *step,
                 const char *message, time_t started)
{
    struct step_record rec = { "one", 1, st == RUN_ERROR ? 0 : 200,
                               0, 0, 0, 0, 5 };
    struct run_result r = { 0 };
    struct result_sink *s = metrics_sink(m);

    r.status = st;
    r.run_id = "0123456789abcdef0123456789abcdef";
    r.test_id = id;
    r.sc = sc;
    r.target = target;
    r.step = step;
    r.message = message;
    r.duration_ms = 12.5;
    r.requests = 1;
    r.started = started;
    r.steps = &rec;
    r.nsteps = 1;
    s->ops->result(s, &r);
}

START_TEST(test_strip_keeps_the_last_runs_oldest_first)
{
    struct metrics *m = metrics_new();
    struct metrics_test t;
    int i, want[20];

    load();
    for (i = 0; i < 20; i++) {
        want[i] = i % 3;
        give(m, "alpha@prod", sc_a, "prod", (enum run_status)want[i],
             want[i] ? "one" : NULL, want[i] ? "status: expected 200" : NULL,
             1000 + i);
    }
    ck_assert_int_eq(metrics_find(m, "alpha@prod", &t), 1);
    ck_assert_uint_eq(t.nhistory, METRICS_HISTORY);
    for (i = 0; i < METRICS_HISTORY; i++)
        ck_assert_int_eq(t.history[i], want[20 - METRICS_HISTORY + i]);
    ck_assert_uint_eq(t.runs, 20);
    ck_assert_uint_eq(t.failures, 13); /* i % 3 != 0 for 13 of 0..19 */
    ck_assert_int_eq(t.status, want[19]);
    ck_assert_int_eq((int)t.last_run, 1019);
    ck_assert_str_eq(t.scenario, "alpha");
    ck_assert_str_eq(t.target, "prod");
    metrics_free(m);
    tu_scenario_free(sc_a);
    tu_scenario_free(sc_b);
}
END_TEST

START_TEST(test_failure_details_kept_only_while_failing)
{
    struct metrics *m = metrics_new();
    struct metrics_test t;

    load();
    give(m, "t", sc_a, "prod", RUN_PASS, NULL, NULL, 100);
    ck_assert_int_eq(metrics_find(m, "t", &t), 1);
    ck_assert_ptr_null(t.message);
    ck_assert_ptr_null(t.step);
    ck_assert_int_eq((int)t.since, 100);
    ck_assert_uint_eq(t.nhistory, 1);

    give(m, "t", sc_a, "prod", RUN_FAIL, "one", "status: expected 200, got 500",
         110);
    give(m, "t", sc_a, "prod", RUN_FAIL, "one", "status: expected 200, got 503",
         120);
    metrics_find(m, "t", &t);
    ck_assert_str_eq(t.step, "one");
    ck_assert_str_eq(t.message, "status: expected 200, got 503");
    ck_assert_int_eq((int)t.since, 110); /* failing since the first */

    /* An error with a message but no step. */
    give(m, "t", sc_a, "prod", RUN_ERROR, NULL, "connection refused", 130);
    metrics_find(m, "t", &t);
    ck_assert_ptr_null(t.step);
    ck_assert_str_eq(t.message, "connection refused");
    ck_assert_int_eq((int)t.since, 130);

    give(m, "t", sc_a, "prod", RUN_PASS, NULL, "cleanup left a record", 140);
    metrics_find(m, "t", &t);
    ck_assert_ptr_null(t.message); /* a pass keeps no failure */
    ck_assert_ptr_null(t.step);
    ck_assert_int_eq(t.status, RUN_PASS);
    ck_assert_uint_eq(t.failures, 3);
    ck_assert_int_eq(metrics_find(m, "unknown", &t), 0);
    metrics_free(m);
    tu_scenario_free(sc_a);
    tu_scenario_free(sc_b);
}
END_TEST

static int count_visit(const struct metrics_test *t, void *arg)
{
    size_t *n = arg;

    ck_assert_ptr_nonnull(t->id);
    (*n)++;
    return 0;
}

START_TEST(test_moved_test_counts_in_its_new_pair)
{
    struct metrics *m = metrics_new();
    struct metrics_test t;
    struct sbuf out = SBUF_INIT;
    char id[32];
    size_t i, n = 0;

    load();
    give(m, "x@prod", sc_a, "prod", RUN_PASS, NULL, NULL, 1);
    give(m, "x@prod", sc_a, "prod", RUN_PASS, NULL, NULL, 2);
    /* A reload moved the test to another scenario's name. */
    give(m, "x@prod", sc_b, "prod", RUN_FAIL, "one", "boom", 3);
    metrics_find(m, "x@prod", &t);
    ck_assert_str_eq(t.scenario, "beta");
    for (i = 0; i < 1000; i++) {
        snprintf(id, sizeof(id), "alpha@prod[n=%zu]", i);
        give(m, id, sc_a, "prod", RUN_PASS, NULL, NULL, 5);
    }
    ck_assert_uint_eq(metrics_tests(m), 1001);
    metrics_visit(m, count_visit, &n);
    ck_assert_uint_eq(n, 1001);
    ck_assert_int_eq(metrics_find(m, "alpha@prod[n=999]", &t), 1);
    ck_assert_str_eq(t.id, "alpha@prod[n=999]");

    metrics_write_prom(m, &out, 1);
    ck_assert_ptr_nonnull(strstr(
        out.buf, "prodwatch_run_duration_seconds_count{scenario=\"alpha\","
                 "target=\"prod\"} 1002\n"));
    ck_assert_ptr_nonnull(strstr(
        out.buf, "prodwatch_run_duration_seconds_count{scenario=\"beta\","
                 "target=\"prod\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(
        out.buf, "prodwatch_test_status{scenario=\"beta\",target=\"prod\","
                 "test=\"x@prod\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(
        out.buf, "prodwatch_test_runs_total{scenario=\"beta\","
                 "target=\"prod\",test=\"x@prod\"} 3\n"));
    ck_assert_ptr_nonnull(strstr(
        out.buf, "prodwatch_target_requests_total{target=\"prod\","
                 "class=\"2xx\"} 1003\n"));
    sbuf_release(&out);
    metrics_free(m);
    tu_scenario_free(sc_a);
    tu_scenario_free(sc_b);
}
END_TEST

START_TEST(test_piecewise_text_is_the_whole_text)
{
    struct metrics *m = metrics_new();
    struct metrics_cursor c = { 0, 0 };
    struct sbuf whole = SBUF_INIT, parts = SBUF_INIT, piece = SBUF_INIT;
    char id[32];
    size_t i, pieces = 0;

    load();
    for (i = 0; i < 300; i++) {
        snprintf(id, sizeof(id), "alpha@prod[n=%zu]", i);
        give(m, id, i % 2 ? sc_a : sc_b, "prod", (enum run_status)(i % 3),
             NULL, NULL, 5);
    }
    metrics_write_prom(m, &whole, 1);
    for (;;) {
        int done;

        sbuf_reset(&piece);
        done = metrics_write_prom_part(m, &piece, 1, &c, 1000);
        /* A piece stops at the first line's end past the budget; the
         * last, the few series per pair and target, is whole. */
        if (!done)
            ck_assert_uint_lt(piece.len, 1200);
        ck_assert_int_eq(piece.len == 0 || piece.buf[piece.len - 1] == '\n',
                         1);
        sbuf_add(&parts, piece.buf, piece.len);
        pieces++;
        if (done)
            break;
        ck_assert_uint_lt(pieces, 10000);
    }
    ck_assert_uint_gt(pieces, 20);
    ck_assert_str_eq(parts.buf, whole.buf);
    sbuf_release(&whole);
    sbuf_release(&parts);
    sbuf_release(&piece);
    metrics_free(m);
    tu_scenario_free(sc_a);
    tu_scenario_free(sc_b);
}
END_TEST

static Suite *metrics_suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("Core");

    tcase_add_test(tc, test_strip_keeps_the_last_runs_oldest_first);
    tcase_add_test(tc, test_failure_details_kept_only_while_failing);
    tcase_add_test(tc, test_moved_test_counts_in_its_new_pair);
    tcase_add_test(tc, test_piecewise_text_is_the_whole_text);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pw_run_suite(metrics_suite());
}
