/* check_engine.c -- the engine against tests/hostile.py on loopback: a
 * cleanup sent from an intent, and durations without queue time. */
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "engine.h"
#include "sbuf.h"
#include "testutil.h"
#include "xalloc.h"

static pid_t server;
static int port;

/* Start hostile.py on a free loopback port; the port file tells which. */
static void server_start(void)
{
    char pf[512];
    const char *top = getenv("TOP_SRCDIR");
    int i;

    snprintf(pf, sizeof(pf), "%s/hostile.port", tu_tmpdir());
    unlink(pf);
    server = fork();
    ck_assert_int_ge(server, 0);
    if (server == 0) {
        char script[512];

        snprintf(script, sizeof(script), "%s/tests/hostile.py",
                 top ? top : "..");
        execlp("python3", "python3", script, pf, (char *)NULL);
        _exit(127);
    }
    for (i = 0; i < 200 && port == 0; i++) {
        FILE *f = fopen(pf, "r");

        if (f) {
            if (fscanf(f, "%d", &port) != 1)
                port = 0;
            fclose(f);
        }
        if (port == 0)
            usleep(50000);
    }
    ck_assert_int_gt(port, 0);
}

static void server_stop(void)
{
    if (server > 0) {
        kill(server, SIGTERM);
        waitpid(server, NULL, 0);
    }
    server = 0;
    port = 0;
}

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
    sbuf_add(arg, p, size * n);
    return size * n;
}

/* A blocking request to the server, for the test's own bookkeeping. */
static char *fetch(const char *method, const char *path)
{
    CURL *c = curl_easy_init();
    struct sbuf b = SBUF_INIT;
    char url[256];

    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "POST") == 0)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "{}");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
    curl_easy_cleanup(c);
    sbuf_addc(&b, '\0');
    return sbuf_take(&b, NULL);
}

static struct suite *load(const char *scenario, const char *rate)
{
    struct sbuf cfg = SBUF_INIT;
    struct diag *d = diag_new();
    struct suite *s;
    char *sc_path;

    tu_mkdir("secrets");
    tu_write("secrets/tok", "s3cret-Value\n");
    sc_path = xstrdup(tu_write("e.scenario.yaml", scenario));
    sbuf_addf(&cfg,
              "scenarios: [ \"%s\" ]\n"
              "secrets_dir: secrets\n"
              "targets:\n"
              "  h: { base_url: \"http://127.0.0.1:%d\", rate: %s }\n"
              "throttle: { concurrency: 4 }\n",
              sc_path, port, rate);
    s = suite_load(tu_write("e.yaml", cfg.buf), d);
    if (s == NULL) {
        char *t = tu_diag_text(d);

        ck_abort_msg("suite: %s", t);
    }
    diag_free(d);
    free(sc_path);
    sbuf_release(&cfg);
    return s;
}

/* ---- A cleanup from an intent ---- */

static const char cleanup_scenario[] =
    "name: made\n"
    "vars:\n"
    "  auth: \"Bearer {{ secret.tok }}\"\n"
    "  tag: \"{{ random_hex(4) }}\"\n"
    "steps:\n"
    "  - name: make\n"
    "    request: { method: POST, url: \"{{ target.base_url }}/items\",\n"
    "               json: { a: 1 } }\n"
    "    capture: { id: { jq: .id } }\n"
    "    cleanup:\n"
    "      method: DELETE\n"
    "      url: \"{{ target.base_url }}/items/{{ id }}\"\n"
    "      headers: { X-Auth: \"{{ auth }}\", X-Tag: \"{{ tag }}\",\n"
    "                 X-Run: \"{{ run.id }}/{{ test.id }}\" }\n";

struct clean_state {
    uint64_t id;
    int added, cleaned;
    enum clean_outcome outcome;
    char *message;
};

static void on_added(uint64_t id, int durable, void *arg)
{
    struct clean_state *st = arg;

    ck_assert_int_eq(durable, 1);
    st->id = id;
    st->added = 1;
}

static void on_cleaned(enum clean_outcome outcome, const char *message,
                       void *arg)
{
    struct clean_state *st = arg;

    st->outcome = outcome;
    st->message = message ? xstrdup(message) : NULL;
    st->cleaned = 1;
}

static void spin(struct engine *e, const int *flag)
{
    double until = clock_mono() + 10;

    while (!*flag && clock_mono() < until)
        event_base_loop(loop_base(engine_loop(e)), EVLOOP_ONCE);
    ck_assert_msg(*flag, "no answer within 10s");
}

static void clean_once(struct engine *e, const struct journal_intent *in,
                       struct clean_state *st)
{
    memset(st, 0, sizeof(*st));
    journal_add(engine_journal(e), in, on_added, st);
    spin(e, &st->added);
    engine_clean(e, in, st->id, on_cleaned, st);
    spin(e, &st->cleaned);
}

START_TEST(test_clean_from_intent)
{
    struct suite *s;
    struct engine *e;
    struct journal_intent in;
    struct journal_named vars[1] = { { "tag", "beef" } };
    struct journal_named caps[1] = { { "id", "" } };
    struct clean_state st;
    char *made, *log, idbuf[32];

    server_start();
    s = load(cleanup_scenario, "500/s");
    e = engine_new(s);
    suite_free(s); /* the engine keeps its own reference */
    made = fetch("POST", "/items");
    ck_assert_int_eq(sscanf(made, "{\"id\": %31[0-9]", idbuf), 1);
    caps[0].value = idbuf;
    memset(&in, 0, sizeof(in));
    in.run_id = "0123456789abcdef0123456789abcdef";
    in.test_id = "made@h";
    in.scenario = "made";
    in.target = "h";
    in.step = 0;
    /* "auth" is left out, as a run leaves out a var a secret went into:
     * it must be rendered again from its template. */
    in.vars = vars;
    in.nvars = 1;
    in.caps = caps;
    in.ncaps = 1;
    in.registered = clock_wall();
    clean_once(e, &in, &st);
    ck_assert_msg(st.outcome == CLEAN_OK, "outcome %d: %s", st.outcome,
                  st.message ? st.message : "");
    ck_assert_uint_eq(journal_pending(engine_journal(e)), 0);
    log = fetch("GET", "/_log");
    ck_assert_ptr_nonnull(strstr(log, "\"X-Auth\": \"Bearer s3cret-Value\""));
    ck_assert_ptr_nonnull(strstr(log, "\"X-Tag\": \"beef\""));
    ck_assert_ptr_nonnull(
        strstr(log, "\"X-Run\": \"0123456789abcdef0123456789abcdef/made@h\""));
    free(log);
    free(made);
    free(fetch("GET", "/_count")); /* the record is gone: checked below */
    log = fetch("GET", "/_count");
    ck_assert_str_eq(log, "{\"items\": 0}");
    free(log);

    /* Again: the record is gone, so the cleanup fails, stays in the
     * journal, and the message names no secret. */
    clean_once(e, &in, &st);
    ck_assert_int_eq(st.outcome, CLEAN_FAILED);
    ck_assert_ptr_nonnull(st.message);
    ck_assert_ptr_nonnull(strstr(st.message, "status 404"));
    ck_assert_ptr_null(strstr(st.message, "s3cret"));
    ck_assert_uint_eq(journal_pending(engine_journal(e)), 1);
    free(st.message);

    /* A step that has no cleanup cannot be rendered. */
    in.step = 3;
    clean_once(e, &in, &st);
    ck_assert_int_eq(st.outcome, CLEAN_UNRENDERABLE);
    free(st.message);
    engine_free(e);
    server_stop();
}
END_TEST

/* ---- A journal that keeps what add() was given ---- */

#define REC_MAX 8

/* One intent as add() received it, flattened to "name=value" lines. */
struct rec_intent {
    uint64_t id;
    int done;
    struct journal_intent in;
    struct journal_named caps[REC_MAX], vars[REC_MAX];
    char *strings[4 * REC_MAX + 4];
    size_t nstrings;
};

struct rec_journal {
    struct journal base;
    struct loop *loop;
    /* Called before each answer: the test's moment "the intent is
     * durable, the run goes on". */
    void (*on_answer)(void *arg);
    void *on_answer_arg;
    struct rec_intent intents[REC_MAX];
    size_t n;
    struct rec_answer *answers;
};

struct rec_answer {
    struct rec_journal *j;
    journal_added_fn *added;
    void *arg;
    uint64_t id;
};

static const char *rec_keep(struct rec_intent *ri, const char *s)
{
    ck_assert_uint_lt(ri->nstrings, sizeof(ri->strings) / sizeof(char *));
    return ri->strings[ri->nstrings++] = xstrdup(s);
}

static void rec_answer(void *arg)
{
    struct rec_answer *a = arg;

    if (a->j->on_answer)
        a->j->on_answer(a->j->on_answer_arg);
    a->added(a->id, 1, a->arg);
    free(a);
}

static void rec_add(struct journal *j, const struct journal_intent *in,
                    journal_added_fn *added, void *arg)
{
    struct rec_journal *rj = (struct rec_journal *)j;
    struct rec_intent *ri;
    struct rec_answer *a = xcalloc(1, sizeof(*a));
    size_t i;

    ck_assert_uint_lt(rj->n, REC_MAX);
    ck_assert_uint_le(in->ncaps, REC_MAX);
    ck_assert_uint_le(in->nvars, REC_MAX);
    ri = &rj->intents[rj->n++];
    ri->id = rj->n;
    ri->in = *in;
    ri->in.run_id = rec_keep(ri, in->run_id);
    ri->in.test_id = rec_keep(ri, in->test_id);
    ri->in.scenario = rec_keep(ri, in->scenario);
    ri->in.target = rec_keep(ri, in->target);
    ri->in.row = NULL;
    ri->in.nrow = 0;
    for (i = 0; i < in->ncaps; i++) {
        ri->caps[i].name = rec_keep(ri, in->caps[i].name);
        ri->caps[i].value = rec_keep(ri, in->caps[i].value);
    }
    for (i = 0; i < in->nvars; i++) {
        ri->vars[i].name = rec_keep(ri, in->vars[i].name);
        ri->vars[i].value = rec_keep(ri, in->vars[i].value);
    }
    ri->in.caps = ri->caps;
    ri->in.vars = ri->vars;
    a->j = rj;
    a->added = added;
    a->arg = arg;
    a->id = ri->id;
    loop_after(rj->loop, 0, rec_answer, a);
}

static void rec_done(struct journal *j, uint64_t id)
{
    struct rec_journal *rj = (struct rec_journal *)j;

    ck_assert_uint_ge(id, 1);
    ck_assert_uint_le(id, rj->n);
    rj->intents[id - 1].done = 1;
}

static size_t rec_pending(struct journal *j)
{
    struct rec_journal *rj = (struct rec_journal *)j;
    size_t i, n = 0;

    for (i = 0; i < rj->n; i++)
        n += !rj->intents[i].done;
    return n;
}

static void rec_free(struct journal *j)
{
    struct rec_journal *rj = (struct rec_journal *)j;
    size_t i, k;

    for (i = 0; i < rj->n; i++)
        for (k = 0; k < rj->intents[i].nstrings; k++)
            free(rj->intents[i].strings[k]);
    free(rj);
}

static const struct journal_ops rec_ops = { rec_add, rec_done, rec_pending,
                                            rec_free };

/* A recording journal for <e>'s runs; the engine owns it. */
static struct rec_journal *rec_journal(struct engine *e)
{
    struct rec_journal *rj = xcalloc(1, sizeof(*rj));

    rj->base.ops = &rec_ops;
    rj->loop = engine_loop(e);
    engine_set_journal(e, &rj->base);
    return rj;
}

/* Whether <s> appears in any value of intent <ri>. */
static int intent_holds(const struct rec_intent *ri, const char *s)
{
    size_t i;

    for (i = 0; i < ri->in.ncaps; i++)
        if (strstr(ri->caps[i].value, s))
            return 1;
    for (i = 0; i < ri->in.nvars; i++)
        if (strstr(ri->vars[i].value, s))
            return 1;
    return 0;
}

/* ---- Feeding one test at a time ---- */

/* A feed of <left> runs of one scenario without a matrix, and a sink
 * keeping the last result. */
struct one {
    struct result_sink base;
    const struct scenario *sc;
    int left, results;
    enum run_status status;
    char *message;
    unsigned cleanups_failed;
};

static int one_next(void *arg, struct engine_test *t)
{
    struct one *o = arg;

    if (o->left == 0)
        return 0;
    o->left--;
    t->sc = o->sc;
    t->target = 0;
    t->row = NULL;
    t->id = "one@h";
    return 1;
}

static void one_result(struct result_sink *s, const struct run_result *r)
{
    struct one *o = (struct one *)s;

    o->results++;
    o->status = r->status;
    free(o->message);
    o->message = r->message ? xstrdup(r->message) : NULL;
    o->cleanups_failed = r->cleanups_failed;
}

static void one_free(struct result_sink *s)
{
    (void)s;
}

static const struct sink_ops one_ops = { "one", one_result, NULL, one_free };

/* An engine on scenario <name> of a suite loaded from <text>, with a
 * recording journal and <o> as its sink and feed of one run. */
static struct engine *one_engine(struct one *o, const char *text,
                                 const char *name, struct rec_journal **rj)
{
    struct suite *s = load(text, "500/s");
    struct engine *e = engine_new(s);
    struct engine_feed feed;

    memset(o, 0, sizeof(*o));
    o->base.ops = &one_ops;
    o->sc = suite_find_scenario(s, name);
    ck_assert_ptr_nonnull(o->sc);
    o->left = 1;
    suite_free(s);
    *rj = rec_journal(e);
    engine_add_sink(e, &o->base);
    feed.next = one_next;
    feed.arg = o;
    engine_set_feed(e, &feed);
    return e;
}

/* ---- A capture that holds a secret stays out of the journal ---- */

static const char echo_scenario[] =
    "name: echoes\n"
    "steps:\n"
    "  - name: echo\n"
    "    request:\n"
    "      method: POST\n"
    "      url: \"{{ target.base_url }}/echo\"\n"
    "      headers: { X-Key: \"{{ secret.tok }}\" }\n"
    "      json: { a: 1 }\n"
    "    capture: { echoed: { jq: '.headers[\"X-Key\"]' },\n"
    "               method: { jq: .method } }\n"
    "    cleanup:\n"
    "      method: DELETE\n"
    "      url: \"{{ target.base_url }}/echo?m={{ method }}\"\n"
    "      headers: { X-Was: \"{{ echoed }}\" }\n";

START_TEST(test_secret_capture_not_journaled)
{
    struct one o;
    struct rec_journal *rj;
    struct engine *e;
    struct clean_state st;
    const struct rec_intent *ri;
    char *log;

    server_start();
    e = one_engine(&o, echo_scenario, "echoes", &rj);
    engine_kick(e);
    spin(e, &o.results);
    ck_assert_int_eq(o.results, 1);
    ck_assert_msg(o.status == RUN_PASS, "run: %s",
                  o.message ? o.message : "");
    /* The run's own cleanup rendered with the capture and went. */
    log = fetch("GET", "/_log");
    ck_assert_ptr_nonnull(strstr(log, "\"X-Was\": \"s3cret-Value\""));
    free(log);
    ck_assert_uint_eq(rj->n, 1);
    ri = &rj->intents[0];
    ck_assert_int_eq(ri->done, 1);
    /* The journal got the harmless capture and never the secret. */
    ck_assert_uint_eq(ri->in.ncaps, 1);
    ck_assert_str_eq(ri->caps[0].name, "method");
    ck_assert_str_eq(ri->caps[0].value, "POST");
    ck_assert_int_eq(intent_holds(ri, "s3cret"), 0);

    /* A sweep of that intent cannot render the cleanup: it says which
     * capture it lacks, and not its value. */
    memset(&st, 0, sizeof(st));
    engine_clean(e, &ri->in, ri->id, on_cleaned, &st);
    spin(e, &st.cleaned);
    ck_assert_int_eq(st.outcome, CLEAN_UNRENDERABLE);
    ck_assert_ptr_nonnull(st.message);
    ck_assert_msg(strstr(st.message, "echoed") != NULL, "%s", st.message);
    ck_assert_ptr_null(strstr(st.message, "s3cret"));
    free(st.message);
    free(o.message);
    engine_free(e);
    server_stop();
}
END_TEST

/* ---- A stop is bounded by its grace ---- */

struct stopper {
    struct engine *e;
    unsigned long grace_ms;
    int stopped, gave_up;
};

static void stopper_done(void *arg)
{
    ((struct stopper *)arg)->stopped = 1;
}

static void stopper_stop(void *arg)
{
    struct stopper *sp = arg;

    engine_stop(sp->e, sp->grace_ms, stopper_done, sp);
}

/* The test's own bound: a stop that hangs fails instead of blocking. */
static void stopper_give_up(void *arg)
{
    struct stopper *sp = arg;

    sp->gave_up = 1;
    loop_stop(engine_loop(sp->e));
}

/* Run <sp>'s engine until its stop is done, or fail after <guard_ms>. */
static void run_until_stopped(struct stopper *sp, unsigned long guard_ms)
{
    struct loop_timer *guard =
        loop_after(engine_loop(sp->e), guard_ms, stopper_give_up, sp);

    engine_run(sp->e);
    ck_assert_int_eq(sp->gave_up, 0);
    loop_timer_cancel(guard);
    ck_assert_int_eq(sp->stopped, 1);
}

static void stopper_hold_and_stop(void *arg)
{
    struct stopper *sp = arg;

    engine_hold_all(sp->e, 1);
    stopper_stop(sp);
}

static const char slow_scenario[] =
    "name: slow\n"
    "timeout: 20s\n"
    "steps:\n"
    "  - name: slow\n"
    "    request: { url: \"{{ target.base_url }}/slow?ms=10000\",\n"
    "               timeout: 15s }\n"
    "    cleanup: { method: GET, url: \"{{ target.base_url }}/ok\" }\n";

START_TEST(test_stop_aborts_request_in_flight)
{
    struct one o;
    struct rec_journal *rj;
    struct stopper sp;
    double t0, wall;
    char *log;

    server_start();
    memset(&sp, 0, sizeof(sp));
    sp.e = one_engine(&o, slow_scenario, "slow", &rj);
    sp.grace_ms = 200;
    engine_kick(sp.e);
    t0 = clock_mono();
    loop_after(engine_loop(sp.e), 300, stopper_stop, &sp);
    run_until_stopped(&sp, 30000);
    wall = clock_mono() - t0;
    ck_assert_int_eq(o.results, 1);
    ck_assert_int_eq(o.status, RUN_ERROR);
    ck_assert_ptr_nonnull(o.message);
    ck_assert_msg(strstr(o.message, "cancelled: stopping") != NULL, "%s",
                  o.message);
    /* Not after the slow answer (10s): the request was cut short. */
    ck_assert_msg(wall < 9.0, "the stop took %.2fs", wall);
    /* The request had left, so its cleanup was registered and went (the
     * target is not held), and the journal forgot it. */
    ck_assert_uint_eq(rj->n, 1);
    ck_assert_int_eq(rj->intents[0].done, 1);
    ck_assert_uint_eq(o.cleanups_failed, 0);
    log = fetch("GET", "/_log");
    ck_assert_ptr_nonnull(strstr(log, "\"path\": \"/slow?ms=10000\""));
    ck_assert_ptr_nonnull(strstr(log, "\"path\": \"/ok\""));
    free(log);
    free(o.message);
    engine_free(sp.e);
    server_stop();
}
END_TEST

START_TEST(test_stop_leaves_held_cleanup)
{
    struct one o;
    struct rec_journal *rj;
    struct stopper sp;
    char *log;

    server_start();
    memset(&sp, 0, sizeof(sp));
    sp.e = one_engine(&o, cleanup_scenario, "made", &rj);
    sp.grace_ms = 200;
    /* Held and stopped just as the step's intent is durable: the step
     * passes, then its cleanup waits for the held target. */
    rj->on_answer = stopper_hold_and_stop;
    rj->on_answer_arg = &sp;
    engine_kick(sp.e);
    run_until_stopped(&sp, 10000);
    ck_assert_int_eq(o.results, 1);
    ck_assert_int_eq(o.status, RUN_PASS);
    ck_assert_ptr_nonnull(o.message);
    ck_assert_msg(strstr(o.message,
                         "1 cleanup left in the journal: target held") != NULL,
                  "%s", o.message);
    ck_assert_uint_eq(o.cleanups_failed, 1);
    /* The intent stays for a sweep, and the record is still there. */
    ck_assert_uint_eq(rj->n, 1);
    ck_assert_int_eq(rj->intents[0].done, 0);
    ck_assert_uint_eq(journal_pending(engine_journal(sp.e)), 1);
    log = fetch("GET", "/_count");
    ck_assert_str_eq(log, "{\"items\": 1}");
    free(log);
    free(o.message);
    engine_free(sp.e);
    server_stop();
}
END_TEST

/* ---- Durations without queue time ---- */

static const char ok_scenario[] =
    "name: ok\n"
    "matrix: { n: [1, 2, 3, 4, 5] }\n"
    "steps:\n"
    "  - name: ok\n"
    "    request: { url: \"{{ target.base_url }}/ok\" }\n";

struct gate {
    struct result_sink base;
    struct engine *e;
    const struct scenario *sc;
    const char *row[1];
    char id[32];
    int fed;
    double max_ms;
    int results, passed, stopped;
};

static int gate_next(void *arg, struct engine_test *t)
{
    struct gate *g = arg;
    static const char *values[] = { "1", "2", "3", "4", "5" };

    if (g->fed == 5)
        return 0;
    g->row[0] = values[g->fed];
    snprintf(g->id, sizeof(g->id), "ok[n=%s]@h", values[g->fed]);
    g->fed++;
    t->sc = g->sc;
    t->target = 0;
    t->row = g->row;
    t->id = g->id;
    return 1;
}

static void gate_result(struct result_sink *s, const struct run_result *r)
{
    struct gate *g = (struct gate *)s;

    g->results++;
    g->passed += r->status == RUN_PASS;
    ck_assert_ptr_nonnull(r->run_id);
    ck_assert_uint_eq(strlen(r->run_id), 32);
    if (r->duration_ms > g->max_ms)
        g->max_ms = r->duration_ms;
}

static void gate_stopped(void *arg)
{
    ((struct gate *)arg)->stopped = 1;
}

static void gate_idle(void *arg)
{
    struct gate *g = arg;

    engine_stop(g->e, ENGINE_NO_GRACE, gate_stopped, g);
}

static void gate_free(struct result_sink *s)
{
    (void)s;
}

static const struct sink_ops gate_ops = { "gate", gate_result, NULL,
                                          gate_free };

START_TEST(test_duration_excludes_queue)
{
    struct suite *s;
    struct gate g;
    struct engine_feed feed;
    struct engine_stats st;
    double t0, wall;

    server_start();
    s = load(ok_scenario, "2/s");
    memset(&g, 0, sizeof(g));
    g.base.ops = &gate_ops;
    g.e = engine_new(s);
    g.sc = suite_find_scenario(s, "ok");
    suite_free(s);
    engine_add_sink(g.e, &g.base);
    feed.next = gate_next;
    feed.arg = &g;
    engine_set_feed(g.e, &feed);
    engine_set_idle(g.e, gate_idle, &g);
    t0 = clock_mono();
    engine_kick(g.e);
    engine_run(g.e);
    wall = clock_mono() - t0;
    ck_assert_int_eq(g.stopped, 1);
    ck_assert_int_eq(g.results, 5);
    ck_assert_int_eq(g.passed, 5);
    /* Four runs at once, one request each, 2/s: the last one waited
     * about 1.5s for its slot -- and none of that is its duration. */
    ck_assert_msg(wall >= 1.4, "wall %.2fs", wall);
    ck_assert_msg(g.max_ms < 400, "a duration of %.0fms", g.max_ms);
    engine_stats(g.e, &st);
    ck_assert_uint_eq(st.runs_started, 5);
    ck_assert_uint_eq(st.runs_finished, 5);
    ck_assert_uint_eq(st.requests, 5);
    ck_assert_uint_eq(st.runs_in_flight, 0);
    engine_free(g.e);
    server_stop();
}
END_TEST

static Suite *engine_suite_(void)
{
    Suite *s = suite_create("engine");
    TCase *tc = tcase_create("hostile");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_clean_from_intent);
    tcase_add_test(tc, test_duration_excludes_queue);
    tcase_add_test(tc, test_secret_capture_not_journaled);
    tcase_add_test(tc, test_stop_aborts_request_in_flight);
    tcase_add_test(tc, test_stop_leaves_held_cleanup);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pw_run_suite(engine_suite_());
}
