/* check_alert.c -- the alert state machine on a fake clock: one incident
 * per broken journey, the target and runner levels, windows, flapping,
 * silences, restarts, dedup keys and memory. */
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "clock.h"
#include "sbuf.h"
#include "testutil.h"
#include "xalloc.h"


/* ---- A recorder behind the callbacks ---- */

struct ev {
    enum pw_alert_action action;
    int update;
    enum pw_alert_level level;
    char *kind, *dedup_key, *summary, *details, *target, *scenario;
    char *message;
};

struct saved {
    char *kind, *key, *value;
};

struct rec {
    struct ev *ev;
    size_t nev, aev;
    struct saved *sv;
    size_t nsv, asv;
    const char *silenced; /* a target name, "*" for all, or NULL */
};

static char *dupn(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

static void on_event(void *arg, const struct pw_alert *e)
{
    struct rec *r = arg;
    struct ev *v;

    XGROW(r->ev, r->nev + 1, r->aev);
    v = &r->ev[r->nev++];
    v->action = e->action;
    v->update = e->update;
    v->level = e->level;
    v->kind = dupn(e->kind);
    v->dedup_key = dupn(e->dedup_key);
    v->summary = dupn(e->summary);
    v->details = dupn(e->details);
    v->target = dupn(e->target);
    v->scenario = dupn(e->scenario);
    v->message = dupn(e->message);
    ck_assert_ptr_nonnull(e->details);
    ck_assert_uint_le(strlen(e->dedup_key), 255);
    ck_assert_uint_le(strlen(e->summary), 1024);
}

static int on_silenced(void *arg, const char *target)
{
    struct rec *r = arg;

    if (!r->silenced)
        return 0;
    return strcmp(r->silenced, "*") == 0 ||
           (target && strcmp(r->silenced, target) == 0);
}

static void on_save(void *arg, const char *kind, const char *key,
                    const char *value)
{
    struct rec *r = arg;
    size_t i;

    for (i = 0; i < r->nsv; i++)
        if (strcmp(r->sv[i].kind, kind) == 0 && strcmp(r->sv[i].key, key) == 0)
            break;
    if (i == r->nsv) {
        if (!value)
            return;
        XGROW(r->sv, r->nsv + 1, r->asv);
        r->sv[i].kind = xstrdup(kind);
        r->sv[i].key = xstrdup(key);
        r->sv[i].value = NULL;
        r->nsv++;
    }
    free(r->sv[i].value);
    if (value) {
        r->sv[i].value = xstrdup(value);
        return;
    }
    free(r->sv[i].kind);
    free(r->sv[i].key);
    r->sv[i] = r->sv[--r->nsv];
}

static void rec_clear_events(struct rec *r)
{
    size_t i;

    for (i = 0; i < r->nev; i++) {
        free(r->ev[i].kind);
        free(r->ev[i].dedup_key);
        free(r->ev[i].summary);
        free(r->ev[i].details);
        free(r->ev[i].target);
        free(r->ev[i].scenario);
        free(r->ev[i].message);
    }
    r->nev = 0;
}

static void rec_free(struct rec *r)
{
    size_t i;

    rec_clear_events(r);
    free(r->ev);
    for (i = 0; i < r->nsv; i++) {
        free(r->sv[i].kind);
        free(r->sv[i].key);
        free(r->sv[i].value);
    }
    free(r->sv);
    memset(r, 0, sizeof(*r));
}

/* Events of <action> (updates counted only when <update>). */
static size_t count(const struct rec *r, enum pw_alert_action action,
                    int update)
{
    size_t i, n = 0;

    for (i = 0; i < r->nev; i++)
        if (r->ev[i].action == action && r->ev[i].update == update)
            n++;
    return n;
}

/* The last event of <action> (non-update), which must exist. */
static const struct ev *last(const struct rec *r, enum pw_alert_action action,
                             int update)
{
    size_t i = r->nev;

    while (i-- > 0)
        if (r->ev[i].action == action && r->ev[i].update == update)
            return &r->ev[i];
    ck_abort_msg("no such event");
    return NULL;
}

/* Occurrences of <needle> in <hay>. */
static size_t occurrences(const char *hay, const char *needle)
{
    const char *at = strstr(hay, needle);
    size_t n = 0;

    while (at) {
        n++;
        at = strstr(at + strlen(needle), needle);
    }
    return n;
}

static struct alert *mk(struct rec *r, const struct alert_opts *o_in)
{
    struct alert_callbacks cb = { on_event, on_silenced, on_save, r };
    struct alert_opts o;

    if (o_in) {
        o = *o_in;
    } else {
        alert_opts_default(&o);
    }
    o.prefix = "pw";
    o.runner = "vm-1";
    return alert_new(&o, &cb);
}

/* The way a run of permutation <i> of <scenario> on <target> went:
 * 'p' passed, 'f' failed with an answer (502), 't' failed without one. */
static void run(struct alert *a, const char *scenario, const char *target,
                unsigned i, char how)
{
    char id[512];
    struct alert_obs o;

    snprintf(id, sizeof(id), "%s@%s[i=%u]", scenario, target, i);
    memset(&o, 0, sizeof(o));
    o.test_id = id;
    o.scenario = scenario;
    o.target = target;
    o.severity = "critical";
    o.failed = how != 'p';
    o.transport = how == 't';
    o.status = how == 'p' ? "pass" : "fail";
    if (how == 'f') {
        o.check = "status";
        o.step = "pay";
        o.message = "status 502, expected 201";
        o.request = "POST http://127.0.0.1:9/pay";
        o.excerpt = "Bad Gateway";
    } else if (how == 't') {
        o.check = "transport";
        o.step = "pay";
        o.message = "connect refused";
        o.request = "POST http://127.0.0.1:9/pay";
    }
    o.run_id = "0123456789abcdef0123456789abcdef";
    o.duration_ms = 12.5;
    o.at = (long long)clock_now();
    alert_observe(a, &o);
}

/* Run every one of permutations 0 .. <n> - 1 once. */
static void round_of(struct alert *a, const char *scenario, const char *target,
                     unsigned n, char how)
{
    unsigned i;

    for (i = 0; i < n; i++)
        run(a, scenario, target, i, how);
}

static void define1(struct alert *a, const char *scenario, const char *target,
                    size_t n)
{
    alert_define_begin(a);
    alert_define(a, scenario, target, n);
    alert_define_end(a);
}

/* ---- Scenario level ---- */

/* Nine permutations of one scenario on one target fail: one trigger at the
 * scenario level; its details catch up (one update, not one per member, at
 * most once a minute) and list all nine; recovery resolves it once, with
 * the same key. */
START_TEST(test_alert_nine_permutations_one_incident)
{
    struct rec r = { 0 };
    struct alert *a = mk(&r, NULL);
    struct alert_stats st;
    const struct ev *e;
    int k;

    define1(a, "checkout", "prod-eu", 9);
    round_of(a, "checkout", "prod-eu", 9, 'p');
    for (k = 0; k < 2; k++) {
        tu_clock_advance(10);
        round_of(a, "checkout", "prod-eu", 9, 'f');
    }
    ck_assert_uint_eq(r.nev, 0);
    tu_clock_advance(10);
    round_of(a, "checkout", "prod-eu", 9, 'f');
    ck_assert_uint_eq(r.nev, 1);
    e = last(&r, PW_ALERT_TRIGGER, 0);
    ck_assert_int_eq(e->level, PW_LEVEL_SCENARIO);
    ck_assert_str_eq(e->kind, "failing");
    ck_assert_str_eq(e->dedup_key, "pw:scenario:checkout@prod-eu");
    ck_assert_str_eq(e->summary, "checkout@prod-eu: 'pay' failed on 1 of 9 "
                                 "permutations: status 502, expected 201");
    ck_assert_str_eq(e->scenario, "checkout");
    ck_assert_str_eq(e->target, "prod-eu");

    /* The members joined within the minute: no update yet. */
    alert_tick(a);
    ck_assert_uint_eq(r.nev, 1);
    tu_clock_advance(61);
    alert_tick(a);
    alert_tick(a);
    ck_assert_uint_eq(count(&r, PW_ALERT_TRIGGER, 0), 1);
    ck_assert_uint_eq(count(&r, PW_ALERT_TRIGGER, 1), 1);
    e = last(&r, PW_ALERT_TRIGGER, 1);
    ck_assert_str_eq(e->dedup_key, "pw:scenario:checkout@prod-eu");
    ck_assert_str_eq(e->summary, "checkout@prod-eu: 'pay' failed on 9 of 9 "
                                 "permutations: status 502, expected 201");
    ck_assert_uint_eq(occurrences(e->details, "{\"test\":"), 9);
    ck_assert_ptr_nonnull(strstr(e->details, "\"failing_count\":9"));
    ck_assert_ptr_nonnull(strstr(e->details, "\"tests\":9"));
    ck_assert_ptr_nonnull(strstr(e->details, "checkout@prod-eu[i=8]"));

    /* More failures of the same members change nothing. */
    tu_clock_advance(61);
    round_of(a, "checkout", "prod-eu", 9, 'f');
    alert_tick(a);
    ck_assert_uint_eq(r.nev, 2);
    alert_stats(a, &st);
    ck_assert_uint_eq(st.tests_failing, 9);
    ck_assert_uint_eq(st.incidents_open, 1);
    ck_assert_uint_eq(st.incidents_triggered, 1);

    /* Recovery: resolve_after (2) rounds of passes, one resolve. */
    tu_clock_advance(10);
    round_of(a, "checkout", "prod-eu", 9, 'p');
    ck_assert_uint_eq(count(&r, PW_ALERT_RESOLVE, 0), 0);
    tu_clock_advance(10);
    round_of(a, "checkout", "prod-eu", 9, 'p');
    ck_assert_uint_eq(count(&r, PW_ALERT_RESOLVE, 0), 1);
    e = last(&r, PW_ALERT_RESOLVE, 0);
    ck_assert_str_eq(e->dedup_key, "pw:scenario:checkout@prod-eu");
    for (k = 0; k < 30; k++)
        round_of(a, "checkout", "prod-eu", 9, 'p');
    tu_clock_advance(120);
    alert_tick(a);
    ck_assert_uint_eq(r.nev, 3);
    alert_stats(a, &st);
    ck_assert_uint_eq(st.incidents_open, 0);
    ck_assert_uint_eq(st.tests_failing, 0);
    ck_assert_uint_eq(st.tests_tracked, 0);
    ck_assert_uint_eq(st.events, 3);
    alert_free(a);
    rec_free(&r);
}
END_TEST

/* Fewer than trigger_after consecutive failures page nothing, even many
 * times over; a scenario's own trigger_after counts instead of the
 * default. */
START_TEST(test_alert_below_trigger_after)
{
    struct rec r = { 0 };
    struct alert *a = mk(&r, NULL);
    struct alert_obs o;
    struct alert_stats st;
    int k;

    define1(a, "checkout", "prod-eu", 1);
    /* Two rounds only: more of them would be flapping. */
    for (k = 0; k < 2; k++) {
        run(a, "checkout", "prod-eu", 0, 'f');
        run(a, "checkout", "prod-eu", 0, 'f');
        run(a, "checkout", "prod-eu", 0, 'p');
    }
    alert_tick(a);
    ck_assert_uint_eq(r.nev, 0);
    alert_stats(a, &st);
    ck_assert_uint_eq(st.incidents_open, 0);

    memset(&o, 0, sizeof(o));
    o.test_id = "checkout@prod-eu[i=0]";
    o.scenario = "checkout";
    o.target = "prod-eu";
    o.failed = 1;
    o.status = "fail";
    o.trigger_after = 5;
    for (k = 0; k < 4; k++)
        alert_observe(a, &o);
    ck_assert_uint_eq(r.nev, 0);
    alert_observe(a, &o);
    ck_assert_uint_eq(count(&r, PW_ALERT_TRIGGER, 0), 1);
    /* No step and no message: the summary says what it knows. */
    ck_assert_str_eq(last(&r, PW_ALERT_TRIGGER, 0)->summary,
                     "checkout@prod-eu: failed");
    alert_free(a);
    rec_free(&r);
}
END_TEST

/* N of the last M: a test failing every other run never has trigger_after
 * consecutive failures, but 3 of 5 catches it. */
START_TEST(test_alert_window_rule)
{
    struct rec r = { 0 };
    struct alert_opts o;
    struct alert *a;
    static const char seq[] = "fpfpf";
    size_t i;

    alert_opts_default(&o);
    o.window_failures = 3;
    o.window_of = 5;
    a = mk(&r, &o);
    define1(a, "checkout", "prod-eu", 1);
    for (i = 0; i < 4; i++)
        run(a, "checkout", "prod-eu", 0, seq[i]);
    ck_assert_uint_eq(r.nev, 0);
    run(a, "checkout", "prod-eu", 0, seq[4]);
    ck_assert_uint_eq(r.nev, 1);
    ck_assert_str_eq(last(&r, PW_ALERT_TRIGGER, 0)->kind, "failing");
    /* Still alternating: still one page, and not resolved by one pass. */
    for (i = 0; i < 6; i++)
        run(a, "checkout", "prod-eu", 0, i % 2 ? 'f' : 'p');
    ck_assert_uint_eq(r.nev, 1);
    alert_free(a);

    /* Without the window, the same sequence pages nothing. */
    rec_clear_events(&r);
    a = mk(&r, NULL);
    define1(a, "checkout", "prod-eu", 1);
    for (i = 0; i < 5; i++)
        run(a, "checkout", "prod-eu", 0, seq[i]);
    ck_assert_uint_eq(r.nev, 0);
    alert_free(a);
    rec_free(&r);
}
END_TEST

/* A test flipping at every run pages once, as flapping, however long it
 * goes on; it resolves once when it settles. */
START_TEST(test_alert_flapping_pages_once)
{
    struct rec r = { 0 };
    struct alert *a = mk(&r, NULL);
    const struct ev *e;
    struct alert_stats st;
    int k;

    define1(a, "checkout", "prod-eu", 4);
    /* From passing to failing is the first change. */
    for (k = 0; k < 6; k++)
        run(a, "checkout", "prod-eu", 2, k % 2 ? 'p' : 'f');
    ck_assert_uint_eq(r.nev, 0);
    run(a, "checkout", "prod-eu", 2, 'f'); /* the 7th change */
    ck_assert_uint_eq(r.nev, 1);
    e = last(&r, PW_ALERT_TRIGGER, 0);
    ck_assert_str_eq(e->kind, "flapping");
    ck_assert_str_eq(e->summary,
                     "checkout@prod-eu: flapping: 7 changes in the last 20 "
                     "runs");
    for (k = 0; k < 40; k++) {
        run(a, "checkout", "prod-eu", 2, k % 2 ? 'p' : 'f');
        tu_clock_advance(30);
        alert_tick(a);
    }
    ck_assert_uint_eq(r.nev, 1);
    alert_stats(a, &st);
    ck_assert_uint_eq(st.tests_flapping, 1);
    for (k = 0; k < 20; k++)
        run(a, "checkout", "prod-eu", 2, 'p');
    ck_assert_uint_eq(count(&r, PW_ALERT_RESOLVE, 0), 1);
    ck_assert_uint_eq(r.nev, 2);
    alert_free(a);
    rec_free(&r);
}
END_TEST

/* ---- Target and runner levels ---- */

/* Two scenarios on prod-eu, and another target that stays healthy. */
static struct alert *two_scenarios(struct rec *r)
{
    struct alert *a = mk(r, NULL);

    alert_define_begin(a);
    alert_define(a, "checkout", "prod-eu", 3);
    alert_define(a, "login", "prod-eu", 2);
    alert_define(a, "checkout", "prod-us", 3);
    alert_define_end(a);
    round_of(a, "checkout", "prod-eu", 3, 'p');
    round_of(a, "login", "prod-eu", 2, 'p');
    round_of(a, "checkout", "prod-us", 3, 'p');
    return a;
}

static void eu_down(struct alert *a, int rounds)
{
    int k;

    for (k = 0; k < rounds; k++) {
        tu_clock_advance(10);
        round_of(a, "checkout", "prod-eu", 3, 't');
        tu_clock_advance(1);
        round_of(a, "login", "prod-eu", 2, 't');
        round_of(a, "checkout", "prod-us", 3, 'p');
    }
}

/* Every scenario on a target fails without an answer: one target
 * incident, no scenario page; an answer again hands over to the scenario
 * level; recovery resolves everything once. */
START_TEST(test_alert_target_unreachable)
{
    struct rec r = { 0 };
    struct alert *a = two_scenarios(&r);
    const struct ev *e;
    int k;

    eu_down(a, 3);
    ck_assert_uint_eq(r.nev, 1);
    e = last(&r, PW_ALERT_TRIGGER, 0);
    ck_assert_int_eq(e->level, PW_LEVEL_TARGET);
    ck_assert_str_eq(e->kind, "unreachable");
    ck_assert_str_eq(e->dedup_key, "pw:target:prod-eu");
    ck_assert_str_eq(e->summary, "prod-eu unreachable: every scenario fails "
                                 "without an answer (connect refused)");
    ck_assert_ptr_null(e->scenario);
    ck_assert_ptr_nonnull(strstr(e->details, "\"scenario\":\"login\""));
    ck_assert_ptr_nonnull(
        strstr(e->details, "{\"scenario\":\"checkout\",\"failing\":3,"
                           "\"tests\":3}"));
    eu_down(a, 5);
    tu_clock_advance(120);
    alert_tick(a);
    ck_assert_uint_eq(r.nev, 1);

    /* checkout answers with a 502: the target is reachable after all. */
    tu_clock_advance(10);
    run(a, "checkout", "prod-eu", 0, 'f');
    ck_assert_uint_eq(count(&r, PW_ALERT_RESOLVE, 0), 1);
    ck_assert_str_eq(last(&r, PW_ALERT_RESOLVE, 0)->dedup_key,
                     "pw:target:prod-eu");
    ck_assert_uint_eq(count(&r, PW_ALERT_TRIGGER, 0), 3);
    for (k = 0; k < 2; k++) {
        tu_clock_advance(10);
        round_of(a, "checkout", "prod-eu", 3, 'p');
        round_of(a, "login", "prod-eu", 2, 'p');
    }
    ck_assert_uint_eq(count(&r, PW_ALERT_RESOLVE, 0), 3);
    ck_assert_uint_eq(count(&r, PW_ALERT_TRIGGER, 0), 3);
    alert_free(a);
    rec_free(&r);
}
END_TEST

/* One scenario loses its connection while the other still gets answers:
 * that is no target outage, and the scenario pages (once the other has
 * answered since). */
START_TEST(test_alert_one_scenario_transport)
{
    struct rec r = { 0 };
    struct alert *a = two_scenarios(&r);
    const struct ev *e;
    int k;

    for (k = 0; k < 3; k++) {
        tu_clock_advance(10);
        round_of(a, "checkout", "prod-eu", 3, 't');
    }
    /* login has not answered since: the target may be going down. */
    ck_assert_uint_eq(r.nev, 0);
    tu_clock_advance(1);
    round_of(a, "login", "prod-eu", 2, 'p');
    ck_assert_uint_eq(r.nev, 1);
    e = last(&r, PW_ALERT_TRIGGER, 0);
    ck_assert_int_eq(e->level, PW_LEVEL_SCENARIO);
    ck_assert_str_eq(e->dedup_key, "pw:scenario:checkout@prod-eu");

    alert_free(a);

    /* When the others never run, the hold ends after a while. */
    rec_clear_events(&r);
    a = two_scenarios(&r);
    for (k = 0; k < 3; k++) {
        tu_clock_advance(10);
        round_of(a, "checkout", "prod-eu", 3, 't');
    }
    tu_clock_advance(250);
    alert_tick(a);
    ck_assert_uint_eq(r.nev, 0);
    tu_clock_advance(60);
    alert_tick(a);
    ck_assert_uint_eq(r.nev, 1);
    ck_assert_str_eq(last(&r, PW_ALERT_TRIGGER, 0)->dedup_key,
                     "pw:scenario:checkout@prod-eu");

    /* A target with one scenario, failing without an answer, is down. */
    for (k = 0; k < 3; k++) {
        tu_clock_advance(10);
        round_of(a, "checkout", "prod-us", 3, 't');
    }
    ck_assert_uint_eq(r.nev, 2);
    ck_assert_str_eq(last(&r, PW_ALERT_TRIGGER, 0)->dedup_key,
                     "pw:target:prod-us");
    alert_free(a);
    rec_free(&r);
}
END_TEST

/* The connectivity check fails too: one runner incident, no target page;
 * once it is reachable again the target level takes over. */
START_TEST(test_alert_runner_network)
{
    struct rec r = { 0 };
    struct alert *a = two_scenarios(&r);
    const struct ev *e;
    int k;

    for (k = 0; k < 3; k++)
        alert_connectivity(a, 0, "connect to 127.0.0.1:9 refused");
    ck_assert_uint_eq(r.nev, 0);
    eu_down(a, 4);
    ck_assert_uint_eq(r.nev, 1);
    e = last(&r, PW_ALERT_TRIGGER, 0);
    ck_assert_int_eq(e->level, PW_LEVEL_RUNNER);
    ck_assert_str_eq(e->kind, "network");
    ck_assert_str_eq(e->dedup_key, "pw:runner:vm-1");
    ck_assert_str_eq(e->summary,
                     "runner vm-1 cannot reach its connectivity check: "
                     "suspecting its own network; 1 target failing");
    ck_assert_str_eq(e->message, "connect to 127.0.0.1:9 refused");
    ck_assert_ptr_nonnull(strstr(e->details, "\"prod-eu\""));
    for (k = 0; k < 5; k++) {
        alert_connectivity(a, 0, "connect to 127.0.0.1:9 refused");
        tu_clock_advance(70);
        alert_tick(a);
    }
    eu_down(a, 2);
    ck_assert_uint_eq(count(&r, PW_ALERT_TRIGGER, 0), 1);

    alert_connectivity(a, 1, NULL);
    ck_assert_uint_eq(count(&r, PW_ALERT_RESOLVE, 0), 1);
    ck_assert_str_eq(last(&r, PW_ALERT_RESOLVE, 0)->dedup_key,
                     "pw:runner:vm-1");
    ck_assert_uint_eq(count(&r, PW_ALERT_TRIGGER, 0), 2);
    ck_assert_str_eq(last(&r, PW_ALERT_TRIGGER, 0)->dedup_key,
                     "pw:target:prod-eu");
    alert_free(a);
    rec_free(&r);
}
END_TEST

/* A target incident already paged gives way to the runner incident when
 * the runner then suspects its own network. */
START_TEST(test_alert_runner_takes_over)
{
    struct rec r = { 0 };
    struct alert *a = two_scenarios(&r);

    eu_down(a, 3);
    ck_assert_uint_eq(count(&r, PW_ALERT_TRIGGER, 0), 1);
    alert_connectivity(a, 0, "timeout");
    alert_connectivity(a, 0, "timeout");
    ck_assert_uint_eq(r.nev, 1);
    alert_connectivity(a, 0, "timeout");
    ck_assert_uint_eq(r.nev, 3);
    ck_assert_int_eq(r.ev[1].action, PW_ALERT_RESOLVE);
    ck_assert_str_eq(r.ev[1].dedup_key, "pw:target:prod-eu");
    ck_assert_int_eq(r.ev[2].action, PW_ALERT_TRIGGER);
    ck_assert_str_eq(r.ev[2].dedup_key, "pw:runner:vm-1");
    alert_free(a);
    rec_free(&r);
}
END_TEST

/* ---- Silences ---- */

START_TEST(test_alert_silence)
{
    struct rec r = { 0 };
    struct alert *a = mk(&r, NULL);
    struct alert_stats st;
    int k;

    define1(a, "checkout", "prod-eu", 2);
    r.silenced = "prod-eu";
    for (k = 0; k < 6; k++)
        round_of(a, "checkout", "prod-eu", 2, 'f');
    alert_tick(a);
    ck_assert_uint_eq(r.nev, 0);
    alert_stats(a, &st);
    ck_assert_uint_eq(st.incidents_open, 1);
    ck_assert_uint_eq(st.incidents_triggered, 0);
    ck_assert_uint_eq(st.tests_failing, 2);

    /* The silence ends while it still fails: paged at the next tick. */
    r.silenced = NULL;
    alert_tick(a);
    ck_assert_uint_eq(r.nev, 1);
    ck_assert_str_eq(last(&r, PW_ALERT_TRIGGER, 0)->dedup_key,
                     "pw:scenario:checkout@prod-eu");
    alert_tick(a);
    ck_assert_uint_eq(r.nev, 1);
    for (k = 0; k < 2; k++)
        round_of(a, "checkout", "prod-eu", 2, 'p');
    ck_assert_uint_eq(count(&r, PW_ALERT_RESOLVE, 0), 1);

    /* Silenced, failing, recovered before the silence ends: nothing. */
    rec_clear_events(&r);
    r.silenced = "*";
    for (k = 0; k < 4; k++)
        round_of(a, "checkout", "prod-eu", 2, 'f');
    for (k = 0; k < 2; k++)
        round_of(a, "checkout", "prod-eu", 2, 'p');
    r.silenced = NULL;
    alert_tick(a);
    ck_assert_uint_eq(r.nev, 0);
    alert_stats(a, &st);
    ck_assert_uint_eq(st.incidents_open, 0);
    alert_free(a);
    rec_free(&r);
}
END_TEST

/* ---- Restarts ---- */

static void restore_all(struct alert *a, const struct rec *r)
{
    size_t i;

    for (i = 0; i < r->nsv; i++)
        ck_assert_int_eq(
            alert_restore(a, r->sv[i].kind, r->sv[i].key, r->sv[i].value), 0);
}

/* Open and page an incident, restart: more failures page nothing again,
 * recovery resolves it exactly once, with the same key. */
START_TEST(test_alert_restart_keeps_state)
{
    struct rec r = { 0 };
    struct alert *a = mk(&r, NULL);
    struct alert_stats st;
    int k;

    define1(a, "checkout", "prod-eu", 3);
    for (k = 0; k < 3; k++) {
        tu_clock_advance(10);
        round_of(a, "checkout", "prod-eu", 3, 'f');
    }
    ck_assert_uint_eq(r.nev, 1);
    ck_assert_uint_gt(r.nsv, 0);
    alert_free(a);

    rec_clear_events(&r);
    tu_clock_advance(30);
    a = mk(&r, NULL);
    restore_all(a, &r);
    define1(a, "checkout", "prod-eu", 3);
    ck_assert_uint_eq(r.nev, 0);
    alert_stats(a, &st);
    ck_assert_uint_eq(st.incidents_open, 1);
    ck_assert_uint_eq(st.incidents_triggered, 1);
    ck_assert_uint_eq(st.tests_failing, 3);
    for (k = 0; k < 5; k++) {
        tu_clock_advance(10);
        round_of(a, "checkout", "prod-eu", 3, 'f');
        alert_tick(a);
    }
    ck_assert_uint_eq(count(&r, PW_ALERT_TRIGGER, 0), 0);
    for (k = 0; k < 2; k++)
        round_of(a, "checkout", "prod-eu", 3, 'p');
    ck_assert_uint_eq(r.nev, 1);
    ck_assert_uint_eq(count(&r, PW_ALERT_RESOLVE, 0), 1);
    ck_assert_str_eq(r.ev[0].dedup_key, "pw:scenario:checkout@prod-eu");
    alert_free(a);

    /* Unreadable strings are refused, not taken half. */
    a = mk(&r, NULL);
    ck_assert_int_eq(alert_restore(a, "test", "x", "v2 1 2 3"), -1);
    ck_assert_int_eq(alert_restore(a, "incident", "scenario:x@y",
                                   "v1 9 1 0 0 0 x y"),
                     -1);
    ck_assert_int_eq(alert_restore(a, "what", "x", "v1"), -1);
    alert_free(a);
    rec_free(&r);
}
END_TEST

/* Names with spaces, percent signs and a lone "-", and longer than any
 * fixed buffer, survive the saved strings. */
START_TEST(test_alert_restart_odd_names)
{
    struct rec r = { 0 };
    struct sbuf scen = SBUF_INIT;
    struct alert *a;
    int k, round;

    sbuf_adds(&scen, "pay 100% ");
    for (k = 0; k < 300; k++)
        sbuf_addc(&scen, 'x');
    for (round = 0; round < 2; round++) {
        a = mk(&r, NULL);
        restore_all(a, &r);
        alert_define_begin(a);
        alert_define(a, scen.buf, "-", 1);
        alert_define_end(a);
        for (k = 0; k < 3; k++)
            run(a, scen.buf, "-", 0, 'f');
        alert_free(a);
    }
    ck_assert_uint_eq(r.nev, 1);
    ck_assert_str_eq(r.ev[0].target, "-");
    ck_assert_str_eq(r.ev[0].scenario, scen.buf);
    sbuf_release(&scen);
    rec_free(&r);
}
END_TEST

/* A paged incident whose tests did not come back (their pair is no longer
 * declared): resolved at the first chance, not forgotten. */
START_TEST(test_alert_restart_forgotten_pair)
{
    struct rec r = { 0 };
    struct alert *a = mk(&r, NULL);
    int k;

    alert_define_begin(a);
    alert_define(a, "checkout", "prod-eu", 1);
    alert_define(a, "login", "prod-eu", 1);
    alert_define_end(a);
    for (k = 0; k < 3; k++) {
        tu_clock_advance(10);
        run(a, "checkout", "prod-eu", 0, 'f');
        run(a, "login", "prod-eu", 0, 'p');
    }
    ck_assert_uint_eq(r.nev, 1);
    alert_free(a);
    rec_clear_events(&r);

    a = mk(&r, NULL);
    restore_all(a, &r);
    define1(a, "login", "prod-eu", 1);
    ck_assert_uint_eq(r.nev, 0);
    alert_tick(a);
    ck_assert_uint_eq(r.nev, 1);
    ck_assert_int_eq(r.ev[0].action, PW_ALERT_RESOLVE);
    ck_assert_str_eq(r.ev[0].dedup_key, "pw:scenario:checkout@prod-eu");
    ck_assert_uint_eq(r.nsv, 0);
    alert_free(a);
    rec_free(&r);
}
END_TEST

/* ---- Grouping and keys ---- */

START_TEST(test_alert_group_by_test)
{
    struct rec r = { 0 };
    struct alert_opts o;
    struct alert *a;
    size_t i, j;
    int k;

    alert_opts_default(&o);
    o.group_by = ALERT_GROUP_TEST;
    a = mk(&r, &o);
    define1(a, "checkout", "prod-eu", 3);
    for (k = 0; k < 3; k++)
        round_of(a, "checkout", "prod-eu", 3, 'f');
    ck_assert_uint_eq(count(&r, PW_ALERT_TRIGGER, 0), 3);
    for (i = 0; i < 3; i++) {
        ck_assert_int_eq(r.ev[i].level, PW_LEVEL_TEST);
        for (j = 0; j < i; j++)
            ck_assert_str_ne(r.ev[i].dedup_key, r.ev[j].dedup_key);
    }
    ck_assert_str_eq(r.ev[0].dedup_key, "pw:test:checkout@prod-eu[i=0]");
    ck_assert_str_eq(r.ev[0].summary, "checkout@prod-eu[i=0]: 'pay' failed: "
                                      "status 502, expected 201");
    round_of(a, "checkout", "prod-eu", 3, 'p');
    round_of(a, "checkout", "prod-eu", 3, 'p');
    ck_assert_uint_eq(count(&r, PW_ALERT_RESOLVE, 0), 3);
    alert_free(a);
    rec_free(&r);
}
END_TEST

/* A very long test id still makes a key of at most 255 bytes, the same on
 * another instance (another runner, or after a restart). */
START_TEST(test_alert_long_dedup_key)
{
    struct rec r = { 0 };
    struct alert_opts o;
    struct alert *a;
    char scen[400];
    char *first;
    size_t i;
    int k, round;

    memset(scen, 'x', sizeof(scen) - 1);
    scen[sizeof(scen) - 1] = '\0';
    alert_opts_default(&o);
    o.group_by = ALERT_GROUP_TEST;
    for (round = 0; round < 2; round++) {
        a = mk(&r, &o);
        for (k = 0; k < 3; k++)
            run(a, scen, "prod-eu", 7, 'f');
        alert_free(a);
    }
    ck_assert_uint_eq(r.nev, 2);
    first = r.ev[0].dedup_key;
    ck_assert_uint_le(strlen(first), 255);
    ck_assert_int_eq(strncmp(first, "pw:test:sha256:", 15), 0);
    ck_assert_uint_eq(strlen(first), 15 + 64);
    for (i = 15; first[i]; i++)
        ck_assert(strchr("0123456789abcdef", first[i]) != NULL);
    ck_assert_str_eq(first, r.ev[1].dedup_key);
    /* Another test gets another key. */
    a = mk(&r, &o);
    for (k = 0; k < 3; k++)
        run(a, scen, "prod-eu", 8, 'f');
    ck_assert_str_ne(r.ev[2].dedup_key, first);
    alert_free(a);
    rec_free(&r);
}
END_TEST

/* A summary made long by a message of multi-byte characters is cut to
 * 1024 bytes at a character boundary. */
START_TEST(test_alert_summary_cut)
{
    struct rec r = { 0 };
    struct alert *a = mk(&r, NULL);
    struct sbuf msg = SBUF_INIT;
    struct alert_obs o;
    const char *s;
    int k;

    for (k = 0; k < 800; k++)
        sbuf_adds(&msg, "\xc3\xa9");
    memset(&o, 0, sizeof(o));
    o.test_id = "checkout@prod-eu";
    o.scenario = "checkout";
    o.target = "prod-eu";
    o.failed = 1;
    o.status = "fail";
    o.message = msg.buf;
    for (k = 0; k < 3; k++)
        alert_observe(a, &o);
    ck_assert_uint_eq(r.nev, 1);
    s = r.ev[0].summary;
    ck_assert_uint_le(strlen(s), 1024);
    ck_assert_uint_ge(strlen(s), 1020);
    /* The last byte ends a character: é is C3 A9. */
    ck_assert_int_eq((unsigned char)s[strlen(s) - 1], 0xa9);
    sbuf_release(&msg);
    alert_free(a);
    rec_free(&r);
}
END_TEST

/* A reload that no longer declares a pair resolves its open incident. */
START_TEST(test_alert_reload_forgets)
{
    struct rec r = { 0 };
    struct alert *a = mk(&r, NULL);
    int k;

    define1(a, "checkout", "prod-eu", 1);
    for (k = 0; k < 3; k++)
        run(a, "checkout", "prod-eu", 0, 'f');
    ck_assert_uint_eq(r.nev, 1);
    define1(a, "login", "prod-eu", 1);
    ck_assert_uint_eq(r.nev, 1);
    alert_tick(a);
    ck_assert_uint_eq(r.nev, 2);
    ck_assert_int_eq(r.ev[1].action, PW_ALERT_RESOLVE);
    alert_free(a);
    rec_free(&r);
}
END_TEST

/* ---- Memory ---- */

static int visit_count(const char *key, enum pw_alert_level level,
                       const char *summary, int triggered, long long since,
                       void *arg)
{
    (void)level;
    (void)triggered;
    (void)since;
    ck_assert_ptr_nonnull(key);
    ck_assert_ptr_nonnull(summary);
    ++*(size_t *)arg;
    return 0;
}

/* 100,000 passing tests leave nothing behind, and neither do tests that
 * failed once, once their history is clean again. */
START_TEST(test_alert_memory_healthy)
{
    struct rec r = { 0 };
    struct alert *a = mk(&r, NULL);
    struct alert_stats st;
    size_t seen = 0;
    int k;

    define1(a, "big", "prod-eu", 100000);
    round_of(a, "big", "prod-eu", 100000, 'p');
    alert_stats(a, &st);
    ck_assert_uint_eq(st.tests_tracked, 0);
    ck_assert_uint_eq(r.nsv, 0);

    round_of(a, "big", "prod-eu", 1000, 'f');
    alert_stats(a, &st);
    ck_assert_uint_eq(st.tests_tracked, 1000);
    ck_assert_uint_eq(st.tests_failing, 0);
    for (k = 0; k < 20; k++)
        round_of(a, "big", "prod-eu", 1000, 'p');
    alert_stats(a, &st);
    ck_assert_uint_eq(st.tests_tracked, 0);
    ck_assert_uint_eq(r.nsv, 0);
    alert_visit(a, visit_count, &seen);
    ck_assert_uint_eq(seen, 0);
    ck_assert_uint_eq(r.nev, 0);
    alert_free(a);
    rec_free(&r);
}
END_TEST

static Suite *alert_suite(void)
{
    Suite *s = suite_create("alert");
    TCase *tr = tcase_create("Rules");
    TCase *tl = tcase_create("Levels");
    TCase *tp = tcase_create("Persistence");
    TCase *tm = tcase_create("Memory");

    tcase_add_checked_fixture(tr, tu_clock_fake, tu_clock_real);
    tcase_add_checked_fixture(tl, tu_clock_fake, tu_clock_real);
    tcase_add_checked_fixture(tp, tu_clock_fake, tu_clock_real);
    tcase_add_checked_fixture(tm, tu_clock_fake, tu_clock_real);
    tcase_set_timeout(tm, 60);
    tcase_add_test(tr, test_alert_nine_permutations_one_incident);
    tcase_add_test(tr, test_alert_below_trigger_after);
    tcase_add_test(tr, test_alert_window_rule);
    tcase_add_test(tr, test_alert_flapping_pages_once);
    tcase_add_test(tr, test_alert_silence);
    tcase_add_test(tr, test_alert_group_by_test);
    tcase_add_test(tr, test_alert_long_dedup_key);
    tcase_add_test(tr, test_alert_summary_cut);
    tcase_add_test(tl, test_alert_target_unreachable);
    tcase_add_test(tl, test_alert_one_scenario_transport);
    tcase_add_test(tl, test_alert_runner_network);
    tcase_add_test(tl, test_alert_runner_takes_over);
    tcase_add_test(tp, test_alert_restart_keeps_state);
    tcase_add_test(tp, test_alert_restart_odd_names);
    tcase_add_test(tp, test_alert_restart_forgotten_pair);
    tcase_add_test(tp, test_alert_reload_forgets);
    tcase_add_test(tm, test_alert_memory_healthy);
    suite_add_tcase(s, tr);
    suite_add_tcase(s, tl);
    suite_add_tcase(s, tp);
    suite_add_tcase(s, tm);
    return s;
}

int main(void)
{
    return pw_run_suite(alert_suite());
}
