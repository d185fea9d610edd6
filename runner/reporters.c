/* reporters.c -- loading reporter plugins and serving their host API. */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "config.h"
#include "http.h"
#include "keys.h"
#include "load.h"
#include "log.h"
#include "loop.h"
#include "redis.h"
#include "reporters.h"
#include "secret.h"
#include "strutil.h"
#include "xalloc.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.0.0"
#endif
#ifndef REPORTER_DIR
#define REPORTER_DIR "/usr/local/lib/prodwatch/reporters"
#endif

#define WATCHDOG_MS      60000UL
#define HTTP_TIMEOUT_MS  10000UL
#define HTTP_TIMEOUT_MAX_MS 30000UL /* well within the watchdog */
#define HTTP_REPLY_CAP   (64u << 10)
#define KV_MAX           (64u << 10)

struct host_timer {
    struct pw_host *h;
    struct loop_timer *lt;
    pw_timer_fn *fn;
    void *arg;
    struct host_timer *next;
};

/* An HTTP request or a kv_get whose plugin may be gone by the time the
 * answer comes: the host then only frees it (h is NULL: orphaned). */
struct host_call {
    struct pw_host *h;
    struct http_client *http;
    struct loop_timer *lt; /* kv_get without Redis: the answer's turn */
    pw_http_fn *http_done;
    pw_kv_fn *kv_done;
    void *arg;
    struct host_call *next;
};

struct delivery {
    struct pw_host *h;
    uintptr_t token; /* a number, not a pointer: a late answer can never
                        be taken for a newer event's */
    reporter_delivered_fn *done;
    void *arg;
    struct loop_timer *watchdog, *answer;
    enum pw_outcome outcome;
    unsigned long retry_after_ms;
    char *why;
    struct delivery *next;
};

struct pw_host {
    struct reporters *set;
    const struct pw_reporter *rep;
    void *dl;
    void *self;
    char *name;
    int named; /* by `name:` in the configuration */
    char *event; /* "reporter.<name>" */
    char *file;
    const struct ynode *root;
    struct pos pos;
    struct loadctx lc;
    int creating;
    char **strings; /* rendered settings: they live as long as <self> */
    size_t nstrings;
    struct host_timer *timers;
    struct host_call *calls;
    struct delivery *deliveries;
    uintptr_t next_token;
};

struct reporters {
    struct pw_host **hosts;
    size_t n;
    int live; /* an environment was given */
    struct loop *loop;
    struct redis *redis;
    char *prefix, *runner;
    struct secrets *secrets;
    struct secrets *own_secrets; /* check mode: read for the check only */
    struct diag *late; /* problems with settings read after create() */
    unsigned long watchdog_ms;
};

/* Settings absent from the file read as an empty map. */
static const struct ynode empty_map = { .kind = Y_MAP };

/* -- Logging ------------------------------------------------------------ */

static void host_vlog(struct pw_host *h, enum pwlog_level level,
                      const char *fmt, va_list ap)
{
    struct sbuf msg = SBUF_INIT;
    const struct redact *sets[1];

    if (!log_enabled(level))
        return;
    sbuf_vaddf(&msg, fmt, ap);
    /* pwlog() redacts what the service told it; a reporter's settings
     * may have read secrets it does not know yet (`prodwatch check`). */
    sets[0] = h->set->secrets ? secrets_redact(h->set->secrets) : NULL;
    redact_apply(sets, 1, &msg);
    pwlog(level, h->event, "%s", msg.buf);
    sbuf_release(&msg);
}

static void host_log_at(struct pw_host *h, enum pwlog_level level,
                        const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void host_log_at(struct pw_host *h, enum pwlog_level level,
                        const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    host_vlog(h, level, fmt, ap);
    va_end(ap);
}

static void api_log(struct pw_host *h, enum pw_log_level level,
                    const char *fmt, ...)
{
    va_list ap;

    if ((unsigned)level > PW_LOG_DEBUG)
        level = PW_LOG_ERROR;
    va_start(ap, fmt);
    /* The two enums list the same levels in the same order. */
    host_vlog(h, (enum pwlog_level)level, fmt, ap);
    va_end(ap);
}

/* -- Settings ----------------------------------------------------------- */

static const struct ynode *conf_node(struct pw_host *h,
                                     const struct pw_conf *c)
{
    return c ? (const struct ynode *)(const void *)c : h->root;
}

static struct pos node_pos(struct pw_host *h, const struct ynode *n)
{
    if (n == NULL || n == &empty_map)
        return h->pos;
    return ynode_pos(h->lc.doc, n);
}

/* Problems found outside create() have no `prodwatch check` to print
 * them: they are logged. */
static void late_flush(struct pw_host *h)
{
    struct reporters *r = h->set;
    size_t i, n;

    if (h->creating || diag_count(r->late) == 0)
        return;
    n = diag_count(r->late) < DIAG_MAX ? diag_count(r->late) : DIAG_MAX;
    for (i = 0; i < n; i++)
        host_log_at(h, PWLOG_ERROR, "%s", diag_at(r->late, i));
    diag_free(r->late);
    r->late = diag_new();
    h->lc.d = r->late;
}

/* The value of <key> in <map>; reports a missing <required> one. */
static const struct ynode *conf_find(struct pw_host *h,
                                     const struct pw_conf *map,
                                     const char *key, int required)
{
    const struct ynode *m = conf_node(h, map);
    const struct ynode *v = ymap_get(m, key);

    if (v == NULL && required)
        diag_add(h->lc.d, node_pos(h, m), "%s needs %s", h->rep->name, key);
    return v;
}

/* 1 when nothing was reported since <before>, else -1. */
static int conf_outcome(struct pw_host *h, size_t before)
{
    int ok = diag_count(h->lc.d) == before;

    late_flush(h);
    return ok ? 1 : -1;
}

static int absent(struct pw_host *h, int required)
{
    late_flush(h);
    return required ? -1 : 0;
}

static const struct pw_conf *api_conf_root(struct pw_host *h)
{
    return (const struct pw_conf *)(const void *)h->root;
}

static const struct pw_conf *api_conf_get(struct pw_host *h,
                                          const struct pw_conf *map,
                                          const char *key)
{
    return (const struct pw_conf *)(const void *)conf_find(h, map, key, 0);
}

struct render_ctx {
    struct pw_host *h;
    int placeholder; /* secrets cannot be read here: stand-ins will do */
};

static pw_status conf_lookup(const char *path, void *arg, struct sbuf *out)
{
    struct render_ctx *rc = arg;
    const char *v;

    if (strncmp(path, "secret.", 7) == 0) {
        if (rc->placeholder)
            return sbuf_adds(out, REDACTED);
        return secrets_get(rc->h->set->secrets, path + 7, out);
    }
    if (strncmp(path, "env.", 4) == 0) {
        v = getenv(path + 4);
        return v ? sbuf_adds(out, v) : PW_ERR_INVALID;
    }
    return PW_ERR_INVALID;
}

/* Render scalar <v> as a configuration template into a string kept as
 * long as the reporter; NULL (reported) when it cannot be. */
static const char *conf_render(struct pw_host *h, const struct ynode *v,
                               const char *what)
{
    struct render_ctx rc = { h, 0 };
    struct sbuf out = SBUF_INIT;
    struct pw_err err;
    struct tmpl *t;
    char *s;
    size_t before = diag_count(h->lc.d);

    if (!load_want_scalar(&h->lc, v, what))
        return NULL;
    t = config_tmpl(&h->lc, v, what);
    /* A name it reported (a missing secret) would fail again here. */
    if (t == NULL || diag_count(h->lc.d) != before) {
        tmpl_free(t);
        return NULL;
    }
    /* `prodwatch check` on a machine without the secrets directory checks
     * the shape of the settings, not the secrets' values. */
    rc.placeholder = !h->set->live && h->lc.secrets_dir == NULL;
    if (tmpl_render(t, conf_lookup, &rc, &out, &err) != PW_OK) {
        load_err(&h->lc, v, "%s: %s", what, err.msg);
        tmpl_free(t);
        sbuf_release(&out);
        return NULL;
    }
    tmpl_free(t);
    s = sbuf_take(&out, NULL);
    h->strings = xrealloc(h->strings, (h->nstrings + 1) * sizeof(char *));
    h->strings[h->nstrings++] = s;
    return s;
}

static int api_conf_string(struct pw_host *h, const struct pw_conf *map,
                           const char *key, int required, const char **out)
{
    const struct ynode *v = conf_find(h, map, key, required);
    size_t before = diag_count(h->lc.d);
    const char *s;

    if (v == NULL)
        return absent(h, required);
    s = conf_render(h, v, key);
    if (s)
        *out = s;
    return conf_outcome(h, before);
}

static int api_conf_int(struct pw_host *h, const struct pw_conf *map,
                        const char *key, int required, long long min,
                        long long max, long long *out)
{
    const struct ynode *v = conf_find(h, map, key, required);
    size_t before = diag_count(h->lc.d);
    long long x;

    if (v == NULL)
        return absent(h, required);
    x = load_int(&h->lc, v, min, max, key, 0);
    if (diag_count(h->lc.d) == before)
        *out = x;
    return conf_outcome(h, before);
}

static int api_conf_bool(struct pw_host *h, const struct pw_conf *map,
                         const char *key, int required, int *out)
{
    const struct ynode *v = conf_find(h, map, key, required);
    size_t before = diag_count(h->lc.d);
    int x;

    if (v == NULL)
        return absent(h, required);
    x = load_bool(&h->lc, v, key, 0);
    if (diag_count(h->lc.d) == before)
        *out = x;
    return conf_outcome(h, before);
}

static int api_conf_duration(struct pw_host *h, const struct pw_conf *map,
                             const char *key, int required,
                             unsigned long long *out)
{
    const struct ynode *v = conf_find(h, map, key, required);
    size_t before = diag_count(h->lc.d);
    uint64_t ms;

    if (v == NULL)
        return absent(h, required);
    ms = load_duration(&h->lc, v, key, 0);
    if (diag_count(h->lc.d) == before)
        *out = ms;
    return conf_outcome(h, before);
}

static int api_conf_url(struct pw_host *h, const struct pw_conf *map,
                        const char *key, int required, const char **out)
{
    const struct ynode *v = conf_find(h, map, key, required);
    size_t before = diag_count(h->lc.d);
    const char *s, *host;

    if (v == NULL)
        return absent(h, required);
    s = conf_render(h, v, key);
    if (s == NULL)
        return conf_outcome(h, before);
    host = strncmp(s, "http://", 7) == 0    ? s + 7
           : strncmp(s, "https://", 8) == 0 ? s + 8
                                            : NULL;
    /* A rendered value is never quoted in the message: it may hold a
     * secret. */
    if (host == NULL)
        load_err(&h->lc, v, "%s must start with http:// or https://", key);
    else if (*host == '\0' || *host == '/' || *host == ':')
        load_err(&h->lc, v, "%s has no host", key);
    else
        *out = s;
    return conf_outcome(h, before);
}

static int api_conf_map(struct pw_host *h, const struct pw_conf *map,
                        const char *key, int required,
                        void (*fn)(void *arg, const char *key,
                                   const char *value),
                        void *arg)
{
    const struct ynode *v = conf_find(h, map, key, required);
    size_t before = diag_count(h->lc.d), i;

    if (v == NULL)
        return absent(h, required);
    if (load_want_map(&h->lc, v, key))
        for (i = 0; i < v->len; i++) {
            const char *s = conf_render(h, v->pairs[i].value, key);

            if (s)
                fn(arg, v->pairs[i].key->str, s);
        }
    return conf_outcome(h, before);
}

static void api_conf_known(struct pw_host *h, const struct pw_conf *map,
                           const char *const *known)
{
    const struct ynode *m = conf_node(h, map);

    if (m != &empty_map)
        load_check_keys(&h->lc, m, known, h->rep->name);
    late_flush(h);
}

static void api_conf_error(struct pw_host *h, const struct pw_conf *node,
                           const char *fmt, ...)
{
    struct sbuf msg = SBUF_INIT;
    va_list ap;

    va_start(ap, fmt);
    sbuf_vaddf(&msg, fmt, ap);
    va_end(ap);
    diag_add(h->lc.d,
             node ? node_pos(h, conf_node(h, node)) : h->pos, "%s",
             msg.buf);
    sbuf_release(&msg);
    late_flush(h);
}

/* -- HTTP --------------------------------------------------------------- */

static void call_unlink(struct host_call *c)
{
    struct host_call **p;

    if (c->h == NULL)
        return;
    for (p = &c->h->calls; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            break;
        }
    c->h = NULL;
}

struct host_response {
    struct pw_http_response pub; /* first: the plugin's pointer is ours */
    const struct http_resp *resp;
};

static const char *response_header(const struct pw_http_response *r,
                                   const char *name)
{
    const struct host_response *hr = (const struct host_response *)r;

    return http_resp_header(hr->resp, name);
}

static void on_http_done(struct http_client *client,
                         const struct http_resp *resp, void *arg)
{
    struct host_call *c = arg;
    struct host_response hr;
    int got = resp->result == CURLE_OK ||
              (resp->too_big == HTTP_TOO_BIG_BODY && resp->status > 0);

    (void)client;
    if (c->h) {
        memset(&hr, 0, sizeof(hr));
        hr.resp = resp;
        /* An answer longer than the cap is still an answer: its status
         * says what the far end did with the event. */
        hr.pub.status = got ? resp->status : 0;
        hr.pub.error = got ? NULL
                       : resp->error[0] ? resp->error
                                        : curl_easy_strerror(resp->result);
        hr.pub.body = resp->body.buf;
        hr.pub.body_len = resp->body.len;
        hr.pub.header = response_header;
        call_unlink(c);
        c->http_done(c->arg, &hr.pub);
    }
    http_client_free(c->http);
    free(c);
}

static int api_http(struct pw_host *h, const struct pw_http_request *req,
                    pw_http_fn *done, void *arg)
{
    struct http_req hr;
    struct host_call *c;

    if (!h->set->live) {
        host_log_at(h, PWLOG_DEBUG, "no HTTP while checking settings");
        return -1;
    }
    if (req == NULL || req->url == NULL || done == NULL)
        return -1;
    memset(&hr, 0, sizeof(hr));
    hr.method = req->method ? req->method : "GET";
    hr.url = req->url;
    hr.headers = req->headers;
    hr.nheaders = req->nheaders;
    hr.body = req->body;
    hr.body_len = req->body ? req->body_len : 0;
    hr.timeout_ms = req->timeout_ms ? req->timeout_ms : HTTP_TIMEOUT_MS;
    /* A request must end before the delivery watchdog hands its event
     * over again: a late first answer could land after what follows. */
    if (hr.timeout_ms > HTTP_TIMEOUT_MAX_MS)
        hr.timeout_ms = HTTP_TIMEOUT_MAX_MS;
    hr.body_cap = HTTP_REPLY_CAP;
    c = xcalloc(1, sizeof(*c));
    c->h = h;
    c->http = http_client_new(h->set->loop);
    c->http_done = done;
    c->arg = arg;
    c->next = h->calls;
    h->calls = c;
    /* Straight to the loop: the targets' throttle is about the targets,
     * and a reporter talks to other hosts. */
    http_send(c->http, &hr, on_http_done, c);
    return 0;
}

/* -- Timers ------------------------------------------------------------- */

static void timer_unlink(struct host_timer *t)
{
    struct host_timer **p;

    for (p = &t->h->timers; *p; p = &(*p)->next)
        if (*p == t) {
            *p = t->next;
            return;
        }
}

static void on_timer(void *arg)
{
    struct host_timer *t = arg;
    pw_timer_fn *fn = t->fn;
    void *fn_arg = t->arg;

    timer_unlink(t);
    free(t);
    fn(fn_arg);
}

static struct pw_timer *api_timer_add(struct pw_host *h, unsigned long ms,
                                      pw_timer_fn *fn, void *arg)
{
    struct host_timer *t;

    if (!h->set->live) {
        host_log_at(h, PWLOG_DEBUG, "no timers while checking settings");
        return NULL;
    }
    t = xcalloc(1, sizeof(*t));
    t->h = h;
    t->fn = fn;
    t->arg = arg;
    t->next = h->timers;
    h->timers = t;
    t->lt = loop_after(h->set->loop, ms, on_timer, t);
    return (struct pw_timer *)(void *)t;
}

static void api_timer_cancel(struct pw_host *h, struct pw_timer *pt)
{
    struct host_timer *t;

    /* Only a timer still pending is touched: one that fired is freed
     * already, and cancelling it is a no-op, not a use after free. */
    for (t = h->timers; t; t = t->next)
        if ((struct pw_timer *)(void *)t == pt)
            break;
    if (t == NULL)
        return;
    loop_timer_cancel(t->lt);
    timer_unlink(t);
    free(t);
}

/* -- kv ------------------------------------------------------------------ */

static void kv_key(struct pw_host *h, const char *key, struct sbuf *out)
{
    keys_name(out, h->set->prefix, "kv", h->name);
    sbuf_addc(out, ':');
    keys_escape(out, key, strlen(key));
}

/* Whether kv may go to Redis now; logs why not. */
static int kv_usable(struct pw_host *h, const char *key, size_t len)
{
    if (!h->set->live) {
        host_log_at(h, PWLOG_DEBUG, "no kv store while checking settings");
        return 0;
    }
    if (key == NULL || strlen(key) > KV_MAX || len > KV_MAX) {
        host_log_at(h, PWLOG_WARN, "kv key or value over %u bytes: ignored",
                    KV_MAX);
        return 0;
    }
    return h->set->redis != NULL;
}

static void api_kv_set(struct pw_host *h, const char *key, const char *value,
                       size_t len, unsigned long ttl_s)
{
    struct sbuf k = SBUF_INIT;
    const char *argv[5];
    size_t argvlen[5];
    char ttl[24];
    int argc = 3;

    if (value == NULL || !kv_usable(h, key, len))
        return;
    kv_key(h, key, &k);
    argv[0] = "SET";
    argvlen[0] = 3;
    argv[1] = k.buf;
    argvlen[1] = k.len;
    argv[2] = value;
    argvlen[2] = len;
    if (ttl_s) {
        snprintf(ttl, sizeof(ttl), "%lu", ttl_s);
        argv[3] = "EX";
        argvlen[3] = 2;
        argv[4] = ttl;
        argvlen[4] = strlen(ttl);
        argc = 5;
    }
    redis_command(h->set->redis, NULL, NULL, argc, argv, argvlen);
    sbuf_release(&k);
}

static void api_kv_del(struct pw_host *h, const char *key)
{
    struct sbuf k = SBUF_INIT;
    const char *argv[2];

    if (!kv_usable(h, key, 0))
        return;
    kv_key(h, key, &k);
    argv[0] = "DEL";
    argv[1] = k.buf;
    redis_command(h->set->redis, NULL, NULL, 2, argv, NULL);
    sbuf_release(&k);
}

static void on_kv_reply(struct redisReply *reply, void *arg)
{
    struct host_call *c = arg;
    struct pw_host *h = c->h;

    if (h) {
        call_unlink(c);
        if (reply && reply->type == REDIS_REPLY_STRING)
            c->kv_done(c->arg, reply->str, reply->len);
        else
            c->kv_done(c->arg, NULL, 0);
    }
    free(c);
}

static void on_kv_none(void *arg)
{
    struct host_call *c = arg;

    c->lt = NULL;
    on_kv_reply(NULL, c);
}

static void api_kv_get(struct pw_host *h, const char *key, pw_kv_fn *fn,
                       void *arg)
{
    struct sbuf k = SBUF_INIT;
    struct host_call *c;
    const char *argv[2];

    if (!h->set->live) {
        host_log_at(h, PWLOG_DEBUG, "no kv store while checking settings");
        return;
    }
    c = xcalloc(1, sizeof(*c));
    c->h = h;
    c->kv_done = fn;
    c->arg = arg;
    c->next = h->calls;
    h->calls = c;
    if (!kv_usable(h, key, 0)) {
        c->lt = loop_after(h->set->loop, 0, on_kv_none, c);
        return;
    }
    kv_key(h, key, &k);
    argv[0] = "GET";
    argv[1] = k.buf;
    redis_command(h->set->redis, on_kv_reply, c, 2, argv, NULL);
    sbuf_release(&k);
}

/* -- Deliveries ---------------------------------------------------------- */

static void delivery_unlink(struct delivery *d)
{
    struct delivery **p;

    for (p = &d->h->deliveries; *p; p = &(*p)->next)
        if (*p == d) {
            *p = d->next;
            return;
        }
}

static void on_answer(void *arg)
{
    struct delivery *d = arg;

    delivery_unlink(d);
    d->done(d->arg, d->outcome, d->retry_after_ms, d->why);
    free(d->why);
    free(d);
}

/* Record the outcome of <d> and hand it over at the loop's next turn: the
 * plugin may answer from inside on_alert(), and so from inside
 * reporters_deliver(). */
static void delivery_answer(struct delivery *d, enum pw_outcome outcome,
                            unsigned long retry_after_ms, const char *why)
{
    if (d->watchdog) {
        loop_timer_cancel(d->watchdog);
        d->watchdog = NULL;
    }
    d->outcome = outcome;
    d->retry_after_ms = outcome == PW_RETRY ? retry_after_ms : 0;
    d->why = why ? xstrdup(why) : NULL;
    d->answer = loop_after(d->h->set->loop, 0, on_answer, d);
}

static void on_watchdog(void *arg)
{
    struct delivery *d = arg;
    char why[96];

    d->watchdog = NULL;
    snprintf(why, sizeof(why), "no answer from the reporter within %lu ms",
             d->h->set->watchdog_ms);
    host_log_at(d->h, PWLOG_WARN, "%s: the event will be tried again", why);
    delivery_unlink(d);
    d->done(d->arg, PW_RETRY, 0, why);
    free(d);
}

static void api_delivered(struct pw_host *h, void *token,
                          enum pw_outcome outcome,
                          unsigned long retry_after_ms, const char *why)
{
    struct delivery *d;

    for (d = h->deliveries; d; d = d->next)
        if (d->token == (uintptr_t)token && d->answer == NULL)
            break;
    if (d == NULL) {
        host_log_at(h, PWLOG_WARN,
                    "answered an event that is not waiting for an answer "
                    "(twice, or after %lu ms): ignored",
                    h->set->watchdog_ms);
        return;
    }
    if (outcome != PW_DELIVERED && outcome != PW_RETRY &&
        outcome != PW_REJECTED) {
        host_log_at(h, PWLOG_WARN, "answered with outcome %d: taken as retry",
                    (int)outcome);
        outcome = PW_RETRY;
    }
    delivery_answer(d, outcome, retry_after_ms, why);
}

static void deliveries_cancel(struct pw_host *h)
{
    while (h->deliveries) {
        struct delivery *d = h->deliveries;

        h->deliveries = d->next;
        loop_timer_cancel(d->watchdog);
        loop_timer_cancel(d->answer);
        free(d->why);
        free(d);
    }
}

/* -- Facts ----------------------------------------------------------------- */

static const char *api_runner_id(struct pw_host *h)
{
    return h->set->runner;
}

static const char *api_key_prefix(struct pw_host *h)
{
    return h->set->prefix;
}

static const char *api_version(struct pw_host *h)
{
    (void)h;
    return PACKAGE_VERSION;
}

static const struct pw_host_api host_api = {
    PW_REPORTER_ABI,   api_conf_root,     api_conf_get,
    api_conf_string,   api_conf_int,      api_conf_bool,
    api_conf_duration, api_conf_url,      api_conf_map,
    api_conf_known,    api_conf_error,    api_log,
    api_http,          api_timer_add,     api_timer_cancel,
    api_kv_set,        api_kv_get,        api_kv_del,
    api_delivered,     api_runner_id,     api_key_prefix,
    api_version
};

/* -- Loading --------------------------------------------------------------- */

/* Cancel, without callbacks, everything <h>'s plugin started. */
static void host_cancel(struct pw_host *h)
{
    while (h->timers) {
        struct host_timer *t = h->timers;

        h->timers = t->next;
        loop_timer_cancel(t->lt);
        free(t);
    }
    while (h->calls) {
        struct host_call *c = h->calls;

        h->calls = c->next;
        c->h = NULL;
        if (c->lt) {
            loop_timer_cancel(c->lt);
            free(c);
        } else if (c->http) {
            /* Freed when the loop completes the abort. */
            http_abort(c->http);
        }
        /* A kv_get is freed when Redis answers, as it always does. */
    }
    deliveries_cancel(h);
}

static void host_free(struct pw_host *h)
{
    size_t i;

    if (h == NULL)
        return;
    if (h->self) {
        host_cancel(h);
        h->rep->destroy(h->self);
        /* What destroy() started cannot run: the plugin is gone. */
        host_cancel(h);
    }
    if (h->dl)
        dlclose(h->dl);
    for (i = 0; i < h->nstrings; i++)
        free(h->strings[i]);
    free(h->strings);
    free(h->name);
    free(h->event);
    free(h->file);
    free(h);
}

static const char *reporter_dir(void)
{
    const char *dir = getenv("PRODWATCH_REPORTER_DIR");

    return dir && *dir ? dir : REPORTER_DIR;
}

/* The instance name of the <rep>-named plugin: "#2", "#3"... for
 * repeats. */
static char *instance_name(const struct reporters *r, const char *base)
{
    struct sbuf b = SBUF_INIT;
    unsigned k = 1;
    size_t i;

    for (i = 0; i < r->n; i++)
        if (!r->hosts[i]->named && strcmp(r->hosts[i]->rep->name, base) == 0)
            k++;
    sbuf_adds(&b, base);
    if (k > 1)
        sbuf_addf(&b, "#%u", k);
    return sbuf_take(&b, NULL);
}

/* Open the shared object of <rc> and check it is a reporter of our ABI.
 * NULL (reported at the entry) when it is not. */
static struct pw_host *host_open(struct reporters *r, const struct config *cfg,
                                 const struct reporter_conf *rc,
                                 struct diag *d)
{
    struct pw_host *h = xcalloc(1, sizeof(*h));
    struct sbuf file = SBUF_INIT;
    const char *err;
    size_t i;

    h->set = r;
    h->pos = rc->pos;
    if (rc->path) {
        /* dlopen() searches the library path for a name without a slash:
         * the file meant is the one beside the configuration. */
        if (strchr(rc->path, '/') == NULL)
            sbuf_adds(&file, "./");
        sbuf_adds(&file, rc->path);
    } else {
        sbuf_addf(&file, "%s/%s.so", reporter_dir(), rc->kind);
    }
    h->file = sbuf_take(&file, NULL);
    if (rc->path == NULL && access(h->file, F_OK) != 0) {
        diag_add(d, rc->pos, "unknown reporter '%s' (there is no %s)",
                 rc->kind, h->file);
        goto fail;
    }
    h->dl = dlopen(h->file, RTLD_NOW | RTLD_LOCAL);
    if (h->dl == NULL) {
        size_t n = strlen(h->file);

        err = dlerror();
        /* dlerror() names the file itself: say it once. */
        if (err && strncmp(err, h->file, n) == 0 && strncmp(err + n, ": ", 2) == 0)
            err += n + 2;
        diag_add(d, rc->pos, "%s: cannot open: %s", h->file,
                 err ? err : "unknown error");
        goto fail;
    }
    dlerror();
    h->rep = dlsym(h->dl, PW_REPORTER_SYMBOL);
    if (h->rep == NULL) {
        diag_add(d, rc->pos,
                 "%s: no symbol " PW_REPORTER_SYMBOL
                 " (is it a prodwatch reporter?)",
                 h->file);
        goto fail;
    }
    if (h->rep->abi != PW_REPORTER_ABI) {
        diag_add(d, rc->pos,
                 "%s: built for reporter ABI %u, this prodwatch speaks %d",
                 h->file, h->rep->abi, PW_REPORTER_ABI);
        goto fail;
    }
    if (h->rep->name == NULL || !str_is_ident(h->rep->name) ||
        h->rep->create == NULL || h->rep->destroy == NULL) {
        diag_add(d, rc->pos,
                 "%s: its " PW_REPORTER_SYMBOL
                 " lacks a name (letters, digits, '_', '-'), create() or "
                 "destroy()",
                 h->file);
        goto fail;
    }
    /* A name given keeps an instance's queue and store its own whatever
     * the order of the list; otherwise the plugin's, numbered. */
    h->named = rc->name != NULL;
    h->name = rc->name ? xstrdup(rc->name) : instance_name(r, h->rep->name);
    for (i = 0; i < r->n; i++)
        if (strcmp(r->hosts[i]->name, h->name) == 0) {
            diag_add(d, rc->pos, "two reporters are named '%s'", h->name);
            goto fail;
        }
    h->event = xmalloc(strlen(h->name) + sizeof("reporter."));
    sprintf(h->event, "reporter.%s", h->name);
    h->root = rc->settings ? rc->settings : &empty_map;
    h->lc.doc = cfg->doc;
    h->lc.d = d;
    h->lc.errors_before = diag_count(d);
    load_set_secrets_dir(&h->lc, cfg->secrets_dir);
    return h;
fail:
    h->rep = NULL;
    host_free(h);
    return NULL;
}

/* Run the plugin's create(); 0 (reported) when it refused its settings. */
static int host_create(struct pw_host *h, struct diag *d)
{
    size_t before = diag_count(d);

    h->creating = 1;
    h->self = h->rep->create(h, &host_api);
    h->creating = 0;
    if (h->self && diag_count(d) == before)
        return 1;
    if (diag_count(d) == before)
        diag_add(d, h->pos, "%s: reporter %s refused its settings", h->file,
                 h->name);
    if (h->self) {
        host_cancel(h);
        h->rep->destroy(h->self);
        host_cancel(h);
        h->self = NULL;
    }
    return 0;
}

struct reporters *reporters_load(const struct config *cfg,
                                 const struct reporter_env *env,
                                 struct diag *d)
{
    struct reporters *r = xcalloc(1, sizeof(*r));
    size_t i, failed = 0;

    r->hosts = xcalloc(cfg->nreporters ? cfg->nreporters : 1,
                       sizeof(*r->hosts));
    r->watchdog_ms = WATCHDOG_MS;
    r->late = diag_new();
    if (env) {
        r->live = 1;
        r->loop = env->loop;
        r->redis = env->redis;
        r->prefix = xstrdup(env->prefix ? env->prefix : cfg->key_prefix);
        r->runner = xstrdup(env->runner ? env->runner : "");
        r->secrets = env->secrets;
    } else {
        r->prefix = xstrdup(cfg->key_prefix);
        r->runner = xstrdup("");
    }
    if (r->secrets == NULL)
        r->secrets = r->own_secrets = secrets_new(cfg->secrets_dir);
    for (i = 0; i < cfg->nreporters; i++) {
        struct pw_host *h = host_open(r, cfg, &cfg->reporters[i], d);

        if (h == NULL) {
            failed++;
            continue;
        }
        r->hosts[r->n++] = h;
        if (!host_create(h, d))
            failed++;
        else if (!r->live) {
            h->rep->destroy(h->self);
            h->self = NULL;
        }
        h->lc.d = r->late;
    }
    if (failed) {
        reporters_free(r);
        return NULL;
    }
    return r;
}

void reporters_free(struct reporters *r)
{
    size_t i;

    if (r == NULL)
        return;
    reporters_flush(r);
    for (i = 0; i < r->n; i++)
        host_free(r->hosts[i]);
    free(r->hosts);
    free(r->prefix);
    free(r->runner);
    secrets_free(r->own_secrets);
    diag_free(r->late);
    free(r);
}

void reporters_set_watchdog(struct reporters *r, unsigned long ms)
{
    r->watchdog_ms = ms ? ms : WATCHDOG_MS;
}

size_t reporters_count(const struct reporters *r)
{
    return r ? r->n : 0;
}

const char *reporters_name(const struct reporters *r, size_t i)
{
    return r->hosts[i]->name;
}

long reporters_find(const struct reporters *r, const char *name)
{
    size_t i;

    for (i = 0; r && i < r->n; i++)
        if (strcmp(r->hosts[i]->name, name) == 0)
            return (long)i;
    return -1;
}

void reporters_result(struct reporters *r, const struct pw_result *res)
{
    size_t i;

    for (i = 0; r && i < r->n; i++)
        if (r->hosts[i]->self && r->hosts[i]->rep->on_result)
            r->hosts[i]->rep->on_result(r->hosts[i]->self, res);
}

void reporters_deliver(struct reporters *r, size_t i,
                       const struct pw_alert *a, reporter_delivered_fn *done,
                       void *arg)
{
    struct pw_host *h = r->hosts[i];
    struct delivery *d = xcalloc(1, sizeof(*d));

    d->h = h;
    d->token = ++h->next_token;
    d->done = done;
    d->arg = arg;
    d->next = h->deliveries;
    h->deliveries = d;
    if (h->self == NULL || h->rep->on_alert == NULL) {
        delivery_answer(d, PW_DELIVERED, 0, NULL);
        return;
    }
    d->watchdog = loop_after(r->loop, r->watchdog_ms, on_watchdog, d);
    h->rep->on_alert(h->self, a, (void *)d->token);
}

void reporters_flush(struct reporters *r)
{
    size_t i;

    for (i = 0; r && i < r->n; i++)
        if (r->hosts[i]->self && r->hosts[i]->rep->flush)
            r->hosts[i]->rep->flush(r->hosts[i]->self);
}
