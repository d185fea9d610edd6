/* alerting.c -- the service's alerting: sink, state in Redis, reporters,
 * outbox, silences and the connectivity check. */
#include <getopt.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alert.h"
#include "alerting.h"
#include "cli.h"
#include "clock.h"
#include "config.h"
#include "diag.h"
#include "http.h"
#include "keys.h"
#include "log.h"
#include "loop.h"
#include "matrix.h"
#include "outbox.h"
#include "redis.h"
#include "reporters.h"
#include "secret.h"
#include "scenario.h"
#include "suite.h"
#include "template.h"
#include "units.h"
#include "window.h"
#include "xalloc.h"

#define TICK_MS 1000
/* Results kept while the state is read back; a Redis that never comes
 * back must not make them pile up. */
#define MAX_WAITING 10000
#define CONNECTIVITY_TIMEOUT_MS 10000
#define RESTORE_WAIT_MS 30000

/* A result waiting for the state to be read: one block, strings after. */
struct waiting {
    struct alert_obs o;
    char *mem;
};

struct alerting;

struct alert_sink {
    struct result_sink base;
    struct alerting *a;
};

struct alerting {
    struct alert_sink sink;
    struct suite *su;
    struct loop *loop;
    struct redis *redis;
    char *prefix, *runner;
    struct reporters *reps;
    struct outbox *ob;
    struct alert *am;
    int restored; /* the state was read back (or given up on) */
    double started;
    int restoring;
    struct waiting *waiting;
    size_t nwaiting, walloc;
    unsigned long dropped_waiting;
    signed char *silenced; /* per target of the suite's config */
    size_t nsilenced;
    int silence_asked;
    struct loop_timer *tick;
    struct loop_timer *conn_timer;
    struct http_client *conn;
    struct sbuf conn_url;
    int conn_busy;
};

/* ---- State in Redis ------------------------------------------------ */

/* {prefix}:alert:{runner}:{kind}: each runner of a fleet keeps the state
 * of what it saw, so one runner's passes never resolve another's
 * incident (the dedup keys, shared, keep one incident at the far end). */
static void state_key(struct sbuf *k, const char *prefix, const char *runner,
                      const char *kind)
{
    sbuf_reset(k);
    keys_name(k, prefix, "alert", runner);
    sbuf_addc(k, ':');
    sbuf_adds(k, kind);
}

static void on_save(void *arg, const char *kind, const char *key,
                    const char *value)
{
    struct alerting *a = arg;
    struct sbuf k = SBUF_INIT;

    state_key(&k, a->prefix, a->runner, kind);
    if (value) {
        const char *argv[4] = { "HSET", k.buf, key, value };

        redis_command(a->redis, NULL, NULL, 4, argv, NULL);
    } else {
        const char *argv[3] = { "HDEL", k.buf, key };

        redis_command(a->redis, NULL, NULL, 3, argv, NULL);
    }
    sbuf_release(&k);
}

/* Write the whole state again, over what Redis holds: after an outage
 * (saves are not queued while Redis is down), or when what Redis held was
 * never read. */
static void rewrite_state(struct alerting *a)
{
    struct sbuf k = SBUF_INIT;
    const char *argv[2] = { "DEL", NULL };

    state_key(&k, a->prefix, a->runner, "test");
    argv[1] = k.buf;
    redis_command(a->redis, NULL, NULL, 2, argv, NULL);
    state_key(&k, a->prefix, a->runner, "incident");
    argv[1] = k.buf;
    redis_command(a->redis, NULL, NULL, 2, argv, NULL);
    sbuf_release(&k);
    alert_save_all(a->am);
}

static void define_all(struct alerting *a)
{
    const struct config *cfg = suite_config(a->su);
    size_t i, t;

    alert_define_begin(a->am);
    for (i = 0; i < suite_scenario_count(a->su); i++) {
        const struct scenario *sc = suite_scenario(a->su, i);
        uint64_t rows = 0;

        /* Counted at load already (the suite's limit); cannot fail now. */
        if (matrix_count(scenario_matrix(sc), 0, &rows, NULL) != PW_OK)
            rows = 0;

        for (t = 0; t < cfg->ntargets; t++)
            if (scenario_runs_on(sc, cfg->targets[t].name))
                alert_define(a->am, scenario_name(sc), cfg->targets[t].name,
                             (size_t)rows);
    }
    alert_define_end(a->am);
}

static void observe_waiting(struct alerting *a)
{
    size_t i;

    for (i = 0; i < a->nwaiting; i++) {
        alert_observe(a->am, &a->waiting[i].o);
        free(a->waiting[i].mem);
    }
    a->nwaiting = 0;
    if (a->dropped_waiting) {
        pwlog(PWLOG_WARN, "alert.waiting",
              "%lu results passed the alert state machine by while the "
              "state was read", a->dropped_waiting);
        a->dropped_waiting = 0;
    }
}

static void restore_hash(struct alerting *a, const char *kind,
                         const struct redisReply *reply)
{
    size_t i;

    for (i = 0; i + 1 < reply->elements; i += 2) {
        const struct redisReply *k = reply->element[i],
                                *v = reply->element[i + 1];

        if (k->type == REDIS_REPLY_STRING && v->type == REDIS_REPLY_STRING &&
            alert_restore(a->am, kind, k->str, v->str) != 0)
            pwlog(PWLOG_WARN, "alert.restore",
                  "an unreadable %s state was ignored", kind);
    }
}

static void on_incidents(struct redisReply *reply, void *arg)
{
    struct alerting *a = arg;

    a->restoring = 0;
    if (a->restored) { /* given up on meanwhile: what is known wins */
        if (reply)
            rewrite_state(a);
        return;
    }
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY)
        return; /* down again: read when it is back */
    restore_hash(a, "incident", reply);
    a->restored = 1;
    define_all(a); /* pairs gone since the state was saved resolve */
    observe_waiting(a);
}

static void on_tests(struct redisReply *reply, void *arg)
{
    struct alerting *a = arg;

    if (a->restored)
        return;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        a->restoring = 0;
        return;
    }
    restore_hash(a, "test", reply);
}

/* Read the state back; both answers come in order on one connection. */
static void restore(struct alerting *a)
{
    struct sbuf k = SBUF_INIT;
    const char *argv[2] = { "HGETALL", NULL };

    if (a->restored || a->restoring || !redis_up(a->redis))
        return;
    a->restoring = 1;
    state_key(&k, a->prefix, a->runner, "test");
    argv[1] = k.buf;
    redis_command(a->redis, on_tests, a, 2, argv, NULL);
    state_key(&k, a->prefix, a->runner, "incident");
    argv[1] = k.buf;
    redis_command(a->redis, on_incidents, a, 2, argv, NULL);
    sbuf_release(&k);
}

/* Back after an outage: the saves made meanwhile were lost (they are not
 * queued), so the whole state is written again; or, before the state was
 * ever read, it is read now. */
static void on_redis(int up, void *arg)
{
    struct alerting *a = arg;

    if (!up)
        return;
    if (a->restored)
        rewrite_state(a);
    else
        restore(a);
}

/* Redis unreachable for RESTORE_WAIT_MS since the start: page from what
 * is known (nothing) rather than not at all; the state read later would
 * contradict what was seen since, so it is not read, and what is known
 * now is written over it. */
static void give_up_restore(struct alerting *a)
{
    if (a->restored || clock_mono() - a->started < RESTORE_WAIT_MS / 1000.0)
        return;
    pwlog(PWLOG_WARN, "alert.state",
          "the alert state could not be read from Redis for %d s; alerting "
          "starts afresh (an incident open before this start may be paged "
          "again)",
          RESTORE_WAIT_MS / 1000);
    a->restored = 1;
    define_all(a);
    observe_waiting(a);
}

/* ---- Silences ------------------------------------------------------- */

/* Whether a configured silence window holds pages of <target> now. */
static int silence_window(const struct config *cfg, const char *target)
{
    time_t now = clock_now();
    size_t i, j;

    for (i = 0; i < cfg->alerting.nsilences; i++) {
        const struct silence *s = &cfg->alerting.silences[i];
        int mine = s->targets == NULL;

        for (j = 0; !mine && j < s->ntargets; j++)
            mine = strcmp(s->targets[j], target) == 0;
        if (mine && window_active(&s->when, 1, now))
            return 1;
    }
    return 0;
}

static int silenced(void *arg, const char *target)
{
    struct alerting *a = arg;
    const struct config *cfg = suite_config(a->su);
    size_t i, n = 0;

    for (i = 0; i < cfg->ntargets; i++) {
        int s = (i < a->nsilenced && a->silenced[i] == 1) ||
                silence_window(cfg, cfg->targets[i].name);

        if (target && strcmp(target, cfg->targets[i].name) == 0)
            return s;
        n += (size_t)s;
    }
    return target == NULL && cfg->ntargets > 0 && n == cfg->ntargets;
}

static void on_silences(struct redisReply *reply, void *arg)
{
    struct alerting *a = arg;
    const struct config *cfg = suite_config(a->su);
    size_t i;

    a->silence_asked = 0;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY ||
        reply->elements != cfg->ntargets || a->nsilenced != cfg->ntargets)
        return;
    for (i = 0; i < cfg->ntargets; i++) {
        int s = reply->element[i]->type != REDIS_REPLY_NIL;

        if (a->silenced[i] >= 0 && s != a->silenced[i])
            pwlog(PWLOG_NOTICE, s ? "alert.silenced" : "alert.unsilenced",
                  "pages for target %s %s", cfg->targets[i].name,
                  s ? "silenced" : "no longer silenced");
        a->silenced[i] = (signed char)s;
    }
}

static void ask_silences(struct alerting *a)
{
    const struct config *cfg = suite_config(a->su);
    struct sbuf *keys;
    const char **argv;
    size_t i;

    if (a->silence_asked || !redis_up(a->redis) || cfg->ntargets == 0)
        return;
    keys = xcalloc(cfg->ntargets, sizeof(*keys));
    argv = xcalloc(cfg->ntargets + 1, sizeof(*argv));
    argv[0] = "MGET";
    for (i = 0; i < cfg->ntargets; i++) {
        sbuf_init(&keys[i], 0);
        keys_name(&keys[i], cfg->key_prefix, "control", NULL);
        sbuf_adds(&keys[i], ":silence:");
        keys_escape(&keys[i], cfg->targets[i].name,
                    strlen(cfg->targets[i].name));
        argv[1 + i] = keys[i].buf;
    }
    a->silence_asked = 1;
    redis_command(a->redis, on_silences, a, (int)cfg->ntargets + 1, argv,
                  NULL);
    for (i = 0; i < cfg->ntargets; i++)
        sbuf_release(&keys[i]);
    free(keys);
    free(argv);
}

static void reset_silences(struct alerting *a)
{
    size_t n = suite_config(a->su)->ntargets;

    free(a->silenced);
    a->silenced = xcalloc(n ? n : 1, 1);
    memset(a->silenced, -1, n ? n : 1); /* unknown until asked */
    a->nsilenced = n;
}

/* ---- Connectivity --------------------------------------------------- */

static void arm_connectivity(struct alerting *a);

static void on_connectivity(struct http_client *c, const struct http_resp *r,
                            void *arg)
{
    struct alerting *a = arg;
    int ok = r->result == CURLE_OK;

    (void)c;
    a->conn_busy = 0;
    if (a->restored)
        alert_connectivity(a->am, ok,
                           ok ? NULL
                              : (r->error[0] ? r->error
                                             : curl_easy_strerror(r->result)));
    arm_connectivity(a);
}

/* Names the connectivity check's URL may use: secrets and the
 * environment, as everywhere in the configuration. */
static pw_status conn_lookup(const char *path, void *arg, struct sbuf *out)
{
    struct alerting *a = arg;
    const char *v;

    if (strncmp(path, "secret.", 7) == 0)
        return secrets_get(suite_secrets(a->su), path + 7, out);
    if (strncmp(path, "env.", 4) == 0) {
        v = getenv(path + 4);
        return v ? sbuf_adds(out, v) : PW_ERR_INVALID;
    }
    return PW_ERR_INVALID;
}

static void check_connectivity(void *arg)
{
    struct alerting *a = arg;
    const struct config *cfg = suite_config(a->su);
    struct http_req req;

    a->conn_timer = NULL;
    if (cfg->alerting.connectivity_check == NULL || a->conn_busy)
        return;
    sbuf_reset(&a->conn_url);
    if (tmpl_render(cfg->alerting.connectivity_check, conn_lookup, a,
                    &a->conn_url, NULL) != PW_OK) {
        pwlog(PWLOG_ERROR, "alert.connectivity",
              "the connectivity_check URL cannot be rendered");
        arm_connectivity(a);
        return;
    }
    memset(&req, 0, sizeof(req));
    req.method = "GET";
    req.url = a->conn_url.buf;
    req.timeout_ms = CONNECTIVITY_TIMEOUT_MS;
    req.body_cap = 64 << 10;
    if (a->conn == NULL)
        a->conn = http_client_new(a->loop);
    a->conn_busy = 1;
    http_send(a->conn, &req, on_connectivity, a);
}

static void arm_connectivity(struct alerting *a)
{
    const struct config *cfg = suite_config(a->su);

    if (a->conn_timer) {
        loop_timer_cancel(a->conn_timer);
        a->conn_timer = NULL;
    }
    if (cfg->alerting.connectivity_check && !a->conn_busy)
        a->conn_timer = loop_after(
            a->loop,
            cfg->alerting.connectivity_every_ms
                ? (unsigned long)cfg->alerting.connectivity_every_ms
                : 30000,
            check_connectivity, a);
}

/* ---- The sink -------------------------------------------------------- */

static void keep_waiting(struct alerting *a, const struct alert_obs *o)
{
    const char *const *src[] = { &o->test_id, &o->scenario, &o->target,
                                 &o->severity, &o->status, &o->check,
                                 &o->step, &o->message, &o->request,
                                 &o->excerpt, &o->run_id };
    size_t n = sizeof(src) / sizeof(src[0]), i, len = 0;
    struct waiting *w;
    char *p;

    if (a->nwaiting == MAX_WAITING) {
        a->dropped_waiting++;
        return;
    }
    XGROW(a->waiting, a->nwaiting + 1, a->walloc);
    w = &a->waiting[a->nwaiting++];
    w->o = *o;
    for (i = 0; i < n; i++)
        len += *src[i] ? strlen(*src[i]) + 1 : 0;
    p = w->mem = xmalloc(len ? len : 1);
    {
        const char **dst[] = { &w->o.test_id, &w->o.scenario, &w->o.target,
                               &w->o.severity, &w->o.status, &w->o.check,
                               &w->o.step, &w->o.message, &w->o.request,
                               &w->o.excerpt, &w->o.run_id };

        for (i = 0; i < n; i++) {
            if (*src[i] == NULL)
                continue;
            len = strlen(*src[i]) + 1;
            memcpy(p, *src[i], len);
            *dst[i] = p;
            p += len;
        }
    }
}

static void on_result(struct result_sink *s, const struct run_result *r)
{
    struct alerting *a = ((struct alert_sink *)s)->a;
    const char *scn = r->sc ? scenario_name(r->sc) : "";
    struct alert_obs o;
    struct pw_result pr;

    memset(&pr, 0, sizeof(pr));
    pr.test_id = r->test_id;
    pr.scenario = scn;
    pr.target = r->target;
    pr.status = run_status_name(r->status);
    pr.step = r->step;
    pr.message = r->message;
    pr.excerpt = r->excerpt;
    pr.run_id = r->run_id;
    pr.runner = a->runner;
    pr.duration_ms = r->duration_ms;
    pr.started = (long long)r->started;
    pr.requests = r->requests;
    reporters_result(a->reps, &pr);

    memset(&o, 0, sizeof(o));
    o.test_id = r->test_id;
    o.scenario = scn;
    o.target = r->target;
    o.severity = r->sc ? severity_name(scenario_severity(r->sc)) : "error";
    if (r->sc) {
        o.trigger_after = scenario_trigger_after(r->sc);
        o.resolve_after = scenario_resolve_after(r->sc);
    }
    o.failed = r->status != RUN_PASS;
    /* A timeout is no answer too: what the target-level rule asks. */
    o.transport = o.failed && r->check &&
                  (strcmp(r->check, "transport") == 0 ||
                   strcmp(r->check, "timeout") == 0);
    o.status = pr.status;
    o.check = r->check;
    o.step = r->step;
    o.message = r->message;
    o.request = r->request;
    o.excerpt = r->excerpt;
    o.run_id = r->run_id;
    o.duration_ms = r->duration_ms;
    o.at = (long long)r->started;
    if (a->restored)
        alert_observe(a->am, &o);
    else
        keep_waiting(a, &o);
}

static void sink_free(struct result_sink *s)
{
    (void)s; /* alerting_free() owns it */
}

static const struct sink_ops alert_sink_ops = {
    "alerting", on_result, NULL, sink_free
};

/* ---- Events to the outbox ------------------------------------------- */

static void on_event(void *arg, const struct pw_alert *ev)
{
    struct alerting *a = arg;

    pwlog(ev->action == PW_ALERT_RESOLVE ? PWLOG_NOTICE : PWLOG_WARN,
          ev->action == PW_ALERT_RESOLVE ? "alert.resolve" : "alert.trigger",
          "%s%s", ev->update ? "(update) " : "", ev->summary);
    outbox_push(a->ob, ev, NULL);
}

static size_t dest_count(void *arg)
{
    return reporters_count(((struct alerting *)arg)->reps);
}

static const char *dest_name(void *arg, size_t i)
{
    return reporters_name(((struct alerting *)arg)->reps, i);
}

static void dest_deliver(void *arg, size_t i, const struct pw_alert *ev,
                         outbox_answer_fn *done, void *done_arg)
{
    reporters_deliver(((struct alerting *)arg)->reps, i, ev, done, done_arg);
}

static void on_tick(void *arg)
{
    struct alerting *a = arg;

    a->tick = loop_after(a->loop, TICK_MS, on_tick, a);
    ask_silences(a);
    restore(a);
    give_up_restore(a);
    if (a->restored)
        alert_tick(a->am);
}

static void opts_of(const struct config *cfg, const char *runner,
                    struct alert_opts *o)
{
    alert_opts_default(o);
    const struct alerting_conf *ac = &cfg->alerting;

    if (ac->trigger_after)
        o->trigger_after = ac->trigger_after;
    if (ac->resolve_after)
        o->resolve_after = ac->resolve_after;
    o->window_failures = ac->window_failures;
    o->window_of = ac->window_of;
    if (ac->flap_changes)
        o->flap_flips = ac->flap_changes;
    if (ac->flap_runs)
        o->flap_window = ac->flap_runs;
    o->group_by = ac->group_by == GROUP_BY_TEST ? ALERT_GROUP_TEST
                                                : ALERT_GROUP_SCENARIO;
    o->prefix = cfg->key_prefix;
    o->runner = runner;
    o->public_url = cfg->public_url;
}

struct alerting *alerting_new(struct suite *su, struct loop *l,
                              struct redis *redis, const char *runner,
                              struct diag *d)
{
    const struct config *cfg = suite_config(su);
    struct alerting *a = xcalloc(1, sizeof(*a));
    struct reporter_env env = { l, redis, cfg->key_prefix, runner,
                                suite_secrets(su) };
    struct alert_callbacks cb = { on_event, silenced, on_save, a };
    struct outbox_dest dest = { dest_count, dest_name, dest_deliver, a };
    struct alert_opts o;

    a->reps = reporters_load(cfg, &env, d);
    if (a->reps == NULL) {
        free(a);
        return NULL;
    }
    a->sink.base.ops = &alert_sink_ops;
    a->sink.a = a;
    a->su = suite_ref(su);
    a->loop = l;
    a->redis = redis;
    a->prefix = xstrdup(cfg->key_prefix);
    a->runner = xstrdup(runner);
    sbuf_init(&a->conn_url, 0);
    a->started = clock_mono();
    opts_of(cfg, a->runner, &o);
    o.prefix = a->prefix;
    a->am = alert_new(&o, &cb);
    define_all(a);
    a->ob = outbox_new(l, redis, a->prefix, a->runner, &dest);
    reset_silences(a);
    redis_watch(redis, on_redis, a);
    a->tick = loop_after(l, 0, on_tick, a);
    arm_connectivity(a);
    return a;
}

struct result_sink *alerting_sink(struct alerting *a)
{
    return &a->sink.base;
}

int alerting_reload(struct alerting *a, struct suite *su, struct diag *d)
{
    const struct config *cfg = suite_config(su);
    struct reporter_env env = { a->loop, a->redis, cfg->key_prefix,
                                a->runner, suite_secrets(su) };
    struct reporters *reps = reporters_load(cfg, &env, d), *old;
    struct outbox_dest dest = { dest_count, dest_name, dest_deliver, a };

    if (reps == NULL)
        return -1;
    old = a->reps;
    a->reps = reps;
    outbox_set_dest(a->ob, &dest);
    reporters_free(old);
    suite_unref(a->su);
    a->su = suite_ref(su);
    reset_silences(a);
    if (a->restored)
        define_all(a);
    arm_connectivity(a);
    return 0;
}

void alerting_flush(struct alerting *a, unsigned long timeout_ms,
                    void (*done)(void *arg), void *arg)
{
    reporters_flush(a->reps);
    outbox_flush(a->ob, timeout_ms, done, arg);
}

void alerting_free(struct alerting *a)
{
    size_t i;

    if (a == NULL)
        return;
    redis_unwatch(a->redis, on_redis, a);
    if (a->tick)
        loop_timer_cancel(a->tick);
    if (a->conn_timer)
        loop_timer_cancel(a->conn_timer);
    http_client_free(a->conn);
    sbuf_release(&a->conn_url);
    outbox_free(a->ob);
    reporters_free(a->reps);
    alert_free(a->am);
    for (i = 0; i < a->nwaiting; i++)
        free(a->waiting[i].mem);
    free(a->waiting);
    free(a->silenced);
    free(a->prefix);
    free(a->runner);
    suite_unref(a->su);
    free(a);
}

/* ---- prodwatch alert test ------------------------------------------- */

struct probe {
    struct loop *loop;
    struct reporters *reps;
    size_t i, n;
    int phase; /* 0: trigger, 1: resolve */
    int failed;
    char dedup[256], summary[256];
    const char *runner;
};

static void send_probe(struct probe *p);

static void on_probe(void *arg, enum pw_outcome outcome,
                     unsigned long retry_after_ms, const char *why)
{
    struct probe *p = arg;
    static const char *const words[] = { "delivered", "not delivered (the "
                                                      "daemon would retry)",
                                         "rejected" };

    (void)retry_after_ms;
    printf("%s: %s %s%s%s\n", reporters_name(p->reps, p->i),
           p->phase ? "resolve" : "trigger", words[outcome],
           why && *why ? ": " : "", why && *why ? why : "");
    fflush(stdout);
    if (outcome != PW_DELIVERED) {
        p->failed = 1;
        p->phase = 1; /* no resolve for a trigger that did not go */
    }
    if (p->phase == 0) {
        p->phase = 1;
        send_probe(p);
        return;
    }
    p->phase = 0;
    p->i++;
    if (--p->n == 0) {
        loop_stop(p->loop);
        return;
    }
    send_probe(p);
}

static void send_probe(struct probe *p)
{
    struct pw_alert ev;
    long long now = (long long)clock_now();

    memset(&ev, 0, sizeof(ev));
    ev.action = p->phase ? PW_ALERT_RESOLVE : PW_ALERT_TRIGGER;
    ev.test = 1;
    ev.level = PW_LEVEL_RUNNER;
    ev.kind = "test";
    ev.dedup_key = p->dedup;
    ev.summary = p->summary;
    ev.severity = "error";
    ev.source = p->runner;
    ev.check = "test";
    ev.message = "a test alert sent by `prodwatch alert test`";
    ev.details = "{\"test\":true}";
    ev.since = now;
    ev.at = now;
    reporters_deliver(p->reps, p->i, &ev, on_probe, p);
}

static int alert_test(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "reporter", required_argument, NULL, 'r' },
        { "timeout", required_argument, NULL, 't' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *config = NULL, *only = NULL;
    uint64_t timeout_ms = 30000;
    struct pw_err err;
    struct diag *d;
    struct suite *su;
    struct loop *l;
    struct redis *redis = NULL;
    struct reporters *reps;
    struct probe p;
    char host[128] = "";
    int ch, rc;

    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":c:r:t:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            config = optarg;
            break;
        case 'r':
            only = optarg;
            break;
        case 't':
            if (units_duration(optarg, &timeout_ms, &err) != PW_OK ||
                timeout_ms == 0) {
                fprintf(stderr, "prodwatch alert test: --timeout: %s\n",
                        timeout_ms == 0 ? "must be more than 0" : err.msg);
                return CLI_EXIT_USAGE;
            }
            break;
        case 'h':
            printf("usage: prodwatch alert test [-c FILE] [--reporter NAME] "
                   "[--timeout DURATION]\n");
            return 0;
        default:
            return cli_bad_option(ch, argv);
        }
    }
    rc = cli_no_operands(argc, argv);
    if (rc >= 0)
        return rc;
    d = diag_new();
    su = suite_load(cli_config_path(config), d);
    if (su == NULL) {
        diag_print(d, stderr);
        diag_free(d);
        return CLI_EXIT_USAGE;
    }
    l = loop_new();
    redis = redis_new(l, suite_config(su)->redis, NULL);
    gethostname(host, sizeof(host) - 1);
    {
        struct reporter_env env = { l, redis, suite_config(su)->key_prefix,
                                    host, suite_secrets(su) };

        reps = reporters_load(suite_config(su), &env, d);
    }
    /* A reporter that never answers is reported as such, not waited on
     * for the daemon's minute. */
    if (reps)
        reporters_set_watchdog(reps, (unsigned long)timeout_ms);
    rc = 0;
    memset(&p, 0, sizeof(p));
    if (reps == NULL) {
        diag_print(d, stderr);
        rc = CLI_EXIT_USAGE;
    } else if (reporters_count(reps) == 0) {
        fprintf(stderr, "prodwatch alert test: no reporters configured\n");
        rc = CLI_EXIT_FAIL;
    } else if (only && reporters_find(reps, only) < 0) {
        fprintf(stderr, "prodwatch alert test: no reporter named '%s'\n",
                only);
        rc = CLI_EXIT_USAGE;
    } else {
        p.loop = l;
        p.reps = reps;
        p.runner = host;
        p.n = only ? 1 : reporters_count(reps);
        p.i = only ? (size_t)reporters_find(reps, only) : 0;
        snprintf(p.dedup, sizeof(p.dedup), "%s:test:%s:%lld",
                 suite_config(su)->key_prefix, host,
                 (long long)clock_now());
        snprintf(p.summary, sizeof(p.summary),
                 "[TEST] prodwatch alert test from %s: checking the route "
                 "of pages; not an incident",
                 host);
        send_probe(&p);
        loop_run(l);
        rc = p.failed ? CLI_EXIT_FAIL : 0;
    }
    reporters_free(reps);
    if (redis)
        redis_close(redis);
    redis_free(redis);
    loop_free(l);
    suite_unref(su);
    diag_free(d);
    return rc;
}

int alerting_main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "test") != 0) {
        fprintf(stderr, "usage: prodwatch alert test [-c FILE] "
                        "[--reporter NAME]\n");
        return CLI_EXIT_USAGE;
    }
    return alert_test(argc - 1, argv + 1);
}

/* ---- What the HTTP listener shows ------------------------------------ */

void alerting_visit(const struct alerting *a,
                    int (*fn)(const char *dedup_key, enum pw_alert_level level,
                              const char *summary, int triggered,
                              long long since, void *arg),
                    void *arg)
{
    alert_visit(a->am, fn, arg);
}

size_t alerting_incidents_open(const struct alerting *a)
{
    struct alert_stats st;

    alert_stats(a->am, &st);
    return st.incidents_open;
}

size_t alerting_reporters(const struct alerting *a)
{
    return reporters_count(a->reps);
}

const char *alerting_reporter_name(const struct alerting *a, size_t i)
{
    return reporters_name(a->reps, i);
}

int alerting_deliveries(const struct alerting *a, size_t i,
                        struct outbox_stats *st)
{
    return outbox_stats(a->ob, reporters_name(a->reps, i), st);
}

int alerting_silenced(struct alerting *a, const char *target)
{
    return silenced(a, target);
}
