/* check_reporters.c -- the built reporter plugins, loaded with dlopen()
 * as the daemon loads them, driven through a test host that records what
 * they ask for (requests, timers, log lines, config errors) instead of
 * doing it, and answers their requests as the far end would. */
#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <jq.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../reporters/json.h"
#include "prodwatch/reporter.h"
#include "sbuf.h"
#include "testutil.h"

#define TH_MAX 400
#define TH_KEY "R0UT1NGKEY0123456789abcdefABCDEF" /* a routing key */

/* One settings node: a scalar (value) or a map (kids). */
struct pw_conf {
    char key[64];
    char *value;
    struct pw_conf *kids;
    size_t nkids;
};

struct th_req {
    char *url;
    char *headers; /* "Name: value\n" each */
    char *body;
    size_t body_len;
    pw_http_fn *done;
    void *arg;
    int answered;
};

struct pw_timer {
    unsigned long ms;
    pw_timer_fn *fn;
    void *arg;
    int live;
};

struct th_delivery {
    void *token;
    enum pw_outcome outcome;
    unsigned long retry_ms;
    char why[512];
};

/* The test host: one reporter instance's world. */
struct pw_host {
    struct pw_conf root;
    struct sbuf errors; /* conf_known / conf_error / missing keys */
    struct sbuf logs;
    struct th_req req[TH_MAX];
    size_t nreq;
    struct pw_timer timers[TH_MAX];
    size_t ntimers;
    struct th_delivery dlv[TH_MAX];
    size_t ndlv;
    void *dl;
    const struct pw_reporter *rep;
    void *self;
};

/* -- Settings ----------------------------------------------------------- */

static struct pw_conf *conf_add(struct pw_conf *map, const char *key)
{
    size_t i;

    for (i = 0; i < map->nkids; i++)
        if (strcmp(map->kids[i].key, key) == 0)
            return &map->kids[i];
    map->kids = realloc(map->kids, (map->nkids + 1) * sizeof(*map->kids));
    ck_assert_ptr_nonnull(map->kids);
    memset(&map->kids[map->nkids], 0, sizeof(*map->kids));
    snprintf(map->kids[map->nkids].key, sizeof(map->kids->key), "%s", key);
    return &map->kids[map->nkids++];
}

/* "a.b" = v makes map a with key b. */
static void conf_set(struct pw_host *h, const char *path, const char *value)
{
    char key[64];
    const char *dot = strchr(path, '.');
    struct pw_conf *node = &h->root;

    if (dot) {
        snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
        node = conf_add(node, key);
        path = dot + 1;
    }
    node = conf_add(node, path);
    node->value = strdup(value);
}

static void conf_free(struct pw_conf *c)
{
    size_t i;

    for (i = 0; i < c->nkids; i++)
        conf_free(&c->kids[i]);
    free(c->kids);
    free(c->value);
}

static const struct pw_conf *th_conf_root(struct pw_host *h)
{
    return &h->root;
}

static const struct pw_conf *
th_conf_get(struct pw_host *h, const struct pw_conf *map, const char *key)
{
    size_t i;

    (void)h;
    for (i = 0; map && i < map->nkids; i++)
        if (strcmp(map->kids[i].key, key) == 0)
            return &map->kids[i];
    return NULL;
}

static void th_conf_error(struct pw_host *h, const struct pw_conf *node,
                          const char *fmt, ...)
{
    va_list ap;

    sbuf_addf(&h->errors, "%s: ", node ? node->key : "(entry)");
    va_start(ap, fmt);
    sbuf_vaddf(&h->errors, fmt, ap);
    va_end(ap);
    sbuf_add(&h->errors, "\n", 1);
}

/* The scalar <key> of <map>: 1 and *<v>, 0 absent, -1 a map. */
static int scalar(struct pw_host *h, const struct pw_conf *map, const char *key,
                  int required, const char **v)
{
    const struct pw_conf *c = th_conf_get(h, map, key);

    if (c == NULL) {
        if (required)
            th_conf_error(h, NULL, "missing required key \"%s\"", key);
        return 0;
    }
    if (c->value == NULL) {
        th_conf_error(h, c, "not a scalar");
        return -1;
    }
    *v = c->value;
    return 1;
}

static int th_conf_string(struct pw_host *h, const struct pw_conf *map,
                          const char *key, int required, const char **out)
{
    return scalar(h, map, key, required, out);
}

static int th_conf_int(struct pw_host *h, const struct pw_conf *map,
                       const char *key, int required, long long min,
                       long long max, long long *out)
{
    const char *v;
    char *end;
    long long n;
    int rc = scalar(h, map, key, required, &v);

    if (rc != 1)
        return rc;
    errno = 0;
    n = strtoll(v, &end, 10);
    if (*v == '\0' || *end || errno || n < min || n > max) {
        th_conf_error(h, th_conf_get(h, map, key),
                      "an integer from %lld to %lld", min, max);
        return -1;
    }
    *out = n;
    return 1;
}

static int th_conf_bool(struct pw_host *h, const struct pw_conf *map,
                        const char *key, int required, int *out)
{
    const char *v;
    int rc = scalar(h, map, key, required, &v);

    if (rc != 1)
        return rc;
    if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0) {
        th_conf_error(h, th_conf_get(h, map, key), "true or false");
        return -1;
    }
    *out = v[0] == 't';
    return 1;
}

static int th_conf_duration(struct pw_host *h, const struct pw_conf *map,
                            const char *key, int required,
                            unsigned long long *out)
{
    long long ms;
    int rc = th_conf_int(h, map, key, required, 0, 1LL << 40, &ms);

    if (rc == 1)
        *out = (unsigned long long)ms;
    return rc;
}

static int th_conf_url(struct pw_host *h, const struct pw_conf *map,
                       const char *key, int required, const char **out)
{
    const char *v;
    int rc = scalar(h, map, key, required, &v);

    if (rc != 1)
        return rc;
    if (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0) {
        th_conf_error(h, th_conf_get(h, map, key), "not an http(s) URL");
        return -1;
    }
    *out = v;
    return 1;
}

static int th_conf_map(
    struct pw_host *h, const struct pw_conf *map, const char *key, int required,
    void (*fn)(void *arg, const char *key, const char *value), void *arg)
{
    const struct pw_conf *c = th_conf_get(h, map, key);
    size_t i;

    if (c == NULL) {
        if (required)
            th_conf_error(h, NULL, "missing required key \"%s\"", key);
        return 0;
    }
    if (c->value) {
        th_conf_error(h, c, "not a map");
        return -1;
    }
    for (i = 0; i < c->nkids; i++)
        fn(arg, c->kids[i].key, c->kids[i].value);
    return 1;
}

static void th_conf_known(struct pw_host *h, const struct pw_conf *map,
                          const char *const *known)
{
    size_t i, k;

    for (i = 0; i < map->nkids; i++) {
        for (k = 0; known[k]; k++)
            if (strcmp(known[k], map->kids[i].key) == 0)
                break;
        if (known[k] == NULL)
            th_conf_error(h, &map->kids[i], "unknown key \"%s\"",
                          map->kids[i].key);
    }
}

/* -- The rest of the API ------------------------------------------------ */

static void th_log(struct pw_host *h, enum pw_log_level level, const char *fmt,
                   ...)
{
    va_list ap;

    sbuf_addf(&h->logs, "%d ", (int)level);
    va_start(ap, fmt);
    sbuf_vaddf(&h->logs, fmt, ap);
    va_end(ap);
    sbuf_add(&h->logs, "\n", 1);
}

static int th_http(struct pw_host *h, const struct pw_http_request *rq,
                   pw_http_fn *done, void *arg)
{
    struct th_req *r;
    struct sbuf hs = SBUF_INIT;
    size_t i;

    ck_assert_uint_lt(h->nreq, TH_MAX);
    ck_assert_str_eq(rq->method, "POST");
    r = &h->req[h->nreq++];
    r->url = strdup(rq->url);
    for (i = 0; i < rq->nheaders; i++)
        sbuf_addf(&hs, "%s\n", rq->headers[i]);
    r->headers = sbuf_take(&hs, NULL);
    r->body = malloc(rq->body_len + 1);
    memcpy(r->body, rq->body, rq->body_len);
    r->body[rq->body_len] = '\0';
    r->body_len = rq->body_len;
    r->done = done;
    r->arg = arg;
    return 0;
}

static struct pw_timer *th_timer_add(struct pw_host *h, unsigned long ms,
                                     pw_timer_fn *fn, void *arg)
{
    struct pw_timer *t;

    ck_assert_uint_lt(h->ntimers, TH_MAX);
    t = &h->timers[h->ntimers++];
    t->ms = ms;
    t->fn = fn;
    t->arg = arg;
    t->live = 1;
    return t;
}

static void th_timer_cancel(struct pw_host *h, struct pw_timer *t)
{
    (void)h;
    t->live = 0;
}

static void th_kv_set(struct pw_host *h, const char *key, const char *value,
                      size_t len, unsigned long ttl_s)
{
    (void)h;
    (void)key;
    (void)value;
    (void)len;
    (void)ttl_s;
    ck_abort_msg("no plugin here keeps state in Redis");
}

static void th_kv_get(struct pw_host *h, const char *key, pw_kv_fn *fn,
                      void *arg)
{
    (void)h;
    (void)key;
    (void)fn;
    (void)arg;
    ck_abort_msg("no plugin here keeps state in Redis");
}

static void th_kv_del(struct pw_host *h, const char *key)
{
    (void)h;
    (void)key;
    ck_abort_msg("no plugin here keeps state in Redis");
}

static void th_delivered(struct pw_host *h, void *token,
                         enum pw_outcome outcome, unsigned long retry_after_ms,
                         const char *why)
{
    struct th_delivery *d;

    ck_assert_uint_lt(h->ndlv, TH_MAX);
    d = &h->dlv[h->ndlv++];
    d->token = token;
    d->outcome = outcome;
    d->retry_ms = retry_after_ms;
    snprintf(d->why, sizeof(d->why), "%s", why ? why : "");
}

static const char *th_runner_id(struct pw_host *h)
{
    (void)h;
    return "runner-1";
}

static const char *th_key_prefix(struct pw_host *h)
{
    (void)h;
    return "pw";
}

static const char *th_version(struct pw_host *h)
{
    (void)h;
    return "0.1.0";
}

static const struct pw_host_api th_api = {
    PW_REPORTER_ABI, th_conf_root,  th_conf_get,      th_conf_string,
    th_conf_int,     th_conf_bool,  th_conf_duration, th_conf_url,
    th_conf_map,     th_conf_known, th_conf_error,    th_log,
    th_http,         th_timer_add,  th_timer_cancel,  th_kv_set,
    th_kv_get,       th_kv_del,     th_delivered,     th_runner_id,
    th_key_prefix,   th_version
};

/* -- Loading and driving ------------------------------------------------ */

static struct pw_host *th_new(void)
{
    struct pw_host *h = calloc(1, sizeof(*h));

    ck_assert_ptr_nonnull(h);
    sbuf_init(&h->errors, 0);
    sbuf_init(&h->logs, 0);
    return h;
}

static const struct pw_reporter *th_dlopen(struct pw_host *h, const char *path)
{
    h->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    ck_assert_msg(h->dl != NULL, "dlopen %s: %s", path, dlerror());
    h->rep = dlsym(h->dl, PW_REPORTER_SYMBOL);
    ck_assert_msg(h->rep != NULL, "%s exports no pw_reporter", path);
    ck_assert_uint_eq(h->rep->abi, PW_REPORTER_ABI);
    return h->rep;
}

/* Load built-in plugin <name> from PRODWATCH_REPORTER_DIR. */
static const struct pw_reporter *th_load(struct pw_host *h, const char *name)
{
    const char *dir = getenv("PRODWATCH_REPORTER_DIR");
    char path[1024];

    ck_assert_msg(dir != NULL, "PRODWATCH_REPORTER_DIR is not set");
    snprintf(path, sizeof(path), "%s/%s.so", dir, name);
    th_dlopen(h, path);
    ck_assert_str_eq(h->rep->name, name);
    return h->rep;
}

/* create(); returns the instance or NULL. */
static void *th_create(struct pw_host *h)
{
    h->self = h->rep->create(h, &th_api);
    return h->self;
}

static void th_free(struct pw_host *h)
{
    size_t i;

    if (h->self)
        h->rep->destroy(h->self);
    for (i = 0; i < h->nreq; i++) {
        free(h->req[i].url);
        free(h->req[i].headers);
        free(h->req[i].body);
    }
    conf_free(&h->root);
    sbuf_release(&h->errors);
    sbuf_release(&h->logs);
    if (h->dl)
        dlclose(h->dl);
    free(h);
}

struct th_resp {
    struct pw_http_response r;
    const char *retry_after;
};

static const char *th_header(const struct pw_http_response *r, const char *name)
{
    const struct th_resp *t = (const struct th_resp *)r;

    if (strcasecmp(name, "Retry-After") == 0)
        return t->retry_after;
    return NULL;
}

/* Answer request <i> with <status> (0: no answer) and <body>. */
static void th_answer(struct pw_host *h, size_t i, long status,
                      const char *body, const char *retry_after)
{
    struct th_resp t;

    ck_assert_uint_lt(i, h->nreq);
    ck_assert(!h->req[i].answered);
    memset(&t, 0, sizeof(t));
    t.r.status = status;
    t.r.error = status ? NULL : "Connection refused";
    t.r.body = body ? body : "";
    t.r.body_len = strlen(t.r.body);
    t.r.header = th_header;
    t.retry_after = retry_after;
    h->req[i].answered = 1;
    h->req[i].done(h->req[i].arg, &t.r);
}

/* Fire every live timer armed so far; returns how many fired. */
static int th_fire(struct pw_host *h)
{
    size_t i, n = h->ntimers;
    int fired = 0;

    for (i = 0; i < n; i++) {
        if (h->timers[i].live) {
            h->timers[i].live = 0;
            h->timers[i].fn(h->timers[i].arg);
            fired++;
        }
    }
    return fired;
}

/* -- JSON checks with jq's C API ---------------------------------------- */

/* The value at <path> ("payload.custom_details.step", "links.0.href") of
 * JSON <text>: a string as itself, anything else as JSON text, "<none>"
 * when absent; static storage, valid until the next call. */
static const char *jpath(const char *text, const char *path)
{
    static char out[4096];
    jv v = jv_parse(text);
    char seg[128];
    const char *p = path, *dot;

    ck_assert_msg(jv_is_valid(v), "not JSON: %s", text);
    while (*p) {
        dot = strchr(p, '.');
        snprintf(seg, sizeof(seg), "%.*s",
                 (int)(dot ? (size_t)(dot - p) : strlen(p)), p);
        if (jv_get_kind(v) == JV_KIND_ARRAY)
            v = jv_array_get(v, atoi(seg));
        else if (jv_get_kind(v) == JV_KIND_OBJECT)
            v = jv_object_get(v, jv_string(seg));
        else {
            jv_free(v);
            v = jv_invalid();
        }
        if (!jv_is_valid(v) || jv_get_kind(v) == JV_KIND_NULL) {
            jv_free(v);
            return "<none>";
        }
        p = dot ? dot + 1 : p + strlen(p);
    }
    if (jv_get_kind(v) == JV_KIND_STRING) {
        snprintf(out, sizeof(out), "%s", jv_string_value(v));
        jv_free(v);
    } else {
        jv s = jv_dump_string(v, 0);

        snprintf(out, sizeof(out), "%s", jv_string_value(s));
        jv_free(s);
    }
    return out;
}

/* How many keys the object at top level of <text> has. */
static int jkeys(const char *text)
{
    jv v = jv_parse(text);
    int n;

    ck_assert(jv_get_kind(v) == JV_KIND_OBJECT);
    n = jv_object_length(v);
    return n;
}

static struct pw_alert sample_alert(void)
{
    struct pw_alert a;

    memset(&a, 0, sizeof(a));
    a.action = PW_ALERT_TRIGGER;
    a.level = PW_LEVEL_SCENARIO;
    a.kind = "failing";
    a.dedup_key = "pw:incident:5f0c9e";
    a.summary = "checkout@prod-eu: 'When the user pays' failed on 3 of 9 "
                "permutations: status 502, expected 201";
    a.severity = "critical";
    a.scenario = "checkout";
    a.target = "prod-eu";
    a.source = "runner-eu-1";
    a.check = "status";
    a.step = "When the user pays";
    a.message = "status 502, expected 201";
    a.request = "POST http://127.0.0.1:1/orders";
    a.excerpt = "<html>bad gateway</html>";
    a.run_id = "0123456789abcdef0123456789abcdef";
    a.link = "http://127.0.0.1:1/status/checkout";
    a.details = "{\"failing\":[\"locale=en\",\"locale=de\"],\"of\":9}";
    a.since = 1714564800;
    a.at = 1714564860;
    return a;
}

static struct pw_host *pd_host(void)
{
    struct pw_host *h = th_new();

    th_load(h, "pagerduty");
    conf_set(h, "routing_key", TH_KEY);
    conf_set(h, "url", "http://127.0.0.1:9/v2/enqueue");
    ck_assert_ptr_nonnull(th_create(h));
    ck_assert_str_eq(h->errors.buf, "");
    return h;
}

/* -- PagerDuty ---------------------------------------------------------- */

START_TEST(test_reporters_pd_trigger_body)
{
    struct pw_host *h = pd_host();
    struct pw_alert a = sample_alert();
    const char *b;

    h->rep->on_alert(h->self, &a, (void *)1);
    ck_assert_uint_eq(h->nreq, 1);
    ck_assert_uint_eq(h->ndlv, 0); /* answered later, not inside */
    ck_assert_str_eq(h->req[0].url, "http://127.0.0.1:9/v2/enqueue");
    ck_assert_ptr_nonnull(
        strstr(h->req[0].headers, "Content-Type: application/json\n"));
    b = h->req[0].body;
    ck_assert_str_eq(jpath(b, "routing_key"), TH_KEY);
    ck_assert_str_eq(jpath(b, "event_action"), "trigger");
    ck_assert_str_eq(jpath(b, "dedup_key"), "pw:incident:5f0c9e");
    ck_assert_str_eq(jpath(b, "payload.summary"), a.summary);
    ck_assert_str_eq(jpath(b, "payload.source"), "runner-eu-1");
    ck_assert_str_eq(jpath(b, "payload.severity"), "critical");
    ck_assert_str_eq(jpath(b, "payload.component"), "checkout");
    ck_assert_str_eq(jpath(b, "payload.group"), "prod-eu");
    ck_assert_str_eq(jpath(b, "payload.class"), "status");
    ck_assert_str_eq(jpath(b, "payload.timestamp"), "2024-05-01T12:01:00Z");
    ck_assert_str_eq(jpath(b, "payload.custom_details.failing"),
                     "[\"locale=en\",\"locale=de\"]");
    ck_assert_str_eq(jpath(b, "payload.custom_details.of"), "9");
    ck_assert_str_eq(jpath(b, "payload.custom_details.step"), a.step);
    ck_assert_str_eq(jpath(b, "payload.custom_details.message"), a.message);
    ck_assert_str_eq(jpath(b, "payload.custom_details.request"), a.request);
    ck_assert_str_eq(jpath(b, "payload.custom_details.excerpt"), a.excerpt);
    ck_assert_str_eq(jpath(b, "payload.custom_details.run_id"), a.run_id);
    ck_assert_str_eq(jpath(b, "payload.custom_details.kind"), "failing");
    ck_assert_str_eq(jpath(b, "payload.custom_details.level"), "scenario");
    ck_assert_str_eq(jpath(b, "payload.custom_details.test"), "<none>");
    ck_assert_str_eq(jpath(b, "links.0.href"), a.link);
    ck_assert_str_eq(jpath(b, "links.0.text"), "prodwatch status");
    ck_assert_str_eq(jpath(b, "client"), "prodwatch");
    ck_assert_str_eq(jpath(b, "client_url"), a.link);
    th_answer(h, 0, 202, "{\"status\":\"success\"}", NULL);
    ck_assert_uint_eq(h->ndlv, 1);
    ck_assert_ptr_eq(h->dlv[0].token, (void *)1);
    ck_assert_int_eq(h->dlv[0].outcome, PW_DELIVERED);
    th_free(h);
}
END_TEST

/* A target-level incident names the target as the component; a test
 * alert says so; a runner-level one without target, link or details has
 * none of those keys rather than nulls PagerDuty would refuse. */
START_TEST(test_reporters_pd_levels)
{
    struct pw_host *h = pd_host();
    struct pw_alert a = sample_alert();
    const char *b;

    a.level = PW_LEVEL_TARGET;
    a.scenario = NULL;
    a.test = 1;
    a.severity = "bogus";
    h->rep->on_alert(h->self, &a, (void *)1);
    b = h->req[0].body;
    ck_assert_str_eq(jpath(b, "payload.component"), "prod-eu");
    ck_assert_str_eq(jpath(b, "payload.custom_details.test"), "true");
    ck_assert_str_eq(jpath(b, "payload.severity"), "error");

    a = sample_alert();
    a.level = PW_LEVEL_RUNNER;
    a.scenario = a.target = a.link = a.source = NULL;
    a.details = "not json";
    h->rep->on_alert(h->self, &a, (void *)2);
    b = h->req[1].body;
    ck_assert_str_eq(jpath(b, "payload.component"), "<none>");
    ck_assert_str_eq(jpath(b, "payload.group"), "<none>");
    ck_assert_str_eq(jpath(b, "payload.source"), "runner-1");
    ck_assert_str_eq(jpath(b, "links"), "<none>");
    ck_assert_str_eq(jpath(b, "client_url"), "<none>");
    ck_assert_str_eq(jpath(b, "payload.custom_details.level"), "runner");
    ck_assert_ptr_null(strstr(b, ":null"));
    th_free(h);
}
END_TEST

START_TEST(test_reporters_pd_resolve_body)
{
    struct pw_host *h = pd_host();
    struct pw_alert a = sample_alert();
    const char *b;

    a.action = PW_ALERT_RESOLVE;
    h->rep->on_alert(h->self, &a, (void *)7);
    b = h->req[0].body;
    ck_assert_int_eq(jkeys(b), 3);
    ck_assert_str_eq(jpath(b, "routing_key"), TH_KEY);
    ck_assert_str_eq(jpath(b, "event_action"), "resolve");
    ck_assert_str_eq(jpath(b, "dedup_key"), "pw:incident:5f0c9e");
    th_free(h);
}
END_TEST

START_TEST(test_reporters_pd_summary_cut)
{
    struct pw_host *h = pd_host();
    struct pw_alert a = sample_alert();
    char big[2100];

    memset(big, 'x', 2000);
    big[2000] = '\0';
    a.summary = big;
    h->rep->on_alert(h->self, &a, (void *)1);
    ck_assert_uint_eq(strlen(jpath(h->req[0].body, "payload.summary")), 1024);
    /* A two-byte character across the cut is left out whole. */
    memset(big, 'y', 1023);
    memcpy(big + 1023, "\xc3\xa9zz", 5);
    h->rep->on_alert(h->self, &a, (void *)2);
    ck_assert_uint_eq(strlen(jpath(h->req[1].body, "payload.summary")), 1023);
    th_free(h);
}
END_TEST

START_TEST(test_reporters_pd_outcomes)
{
    static const char bad[] =
        "{\"status\":\"invalid event\",\"message\":\"Event object is "
        "invalid\",\"errors\":[\"'payload.severity' is missing\"]}";
    struct pw_host *h = pd_host();
    struct pw_alert a = sample_alert();
    size_t i;

    for (i = 0; i < 7; i++)
        h->rep->on_alert(h->self, &a, (void *)(i + 1));
    ck_assert_uint_eq(h->nreq, 7);
    th_answer(h, 0, 202, "{}", NULL);
    th_answer(h, 1, 400, bad, NULL);
    th_answer(h, 2, 429, "{}", "7");
    th_answer(h, 3, 500, "oops", NULL);
    th_answer(h, 4, 0, NULL, NULL);
    th_answer(h, 5, 404, "", NULL);
    th_answer(h, 6, 429, "{}", "Wed, 21 Oct 2015 07:28:00 GMT");
    ck_assert_uint_eq(h->ndlv, 7);
    for (i = 0; i < 7; i++)
        ck_assert_ptr_eq(h->dlv[i].token, (void *)(i + 1));
    ck_assert_int_eq(h->dlv[0].outcome, PW_DELIVERED);
    ck_assert_int_eq(h->dlv[1].outcome, PW_REJECTED);
    ck_assert_ptr_nonnull(strstr(h->dlv[1].why, "Event object is invalid"));
    ck_assert_ptr_nonnull(
        strstr(h->dlv[1].why, "'payload.severity' is missing"));
    ck_assert_int_eq(h->dlv[2].outcome, PW_RETRY);
    ck_assert_uint_eq(h->dlv[2].retry_ms, 7000);
    ck_assert_int_eq(h->dlv[3].outcome, PW_RETRY);
    ck_assert_uint_eq(h->dlv[3].retry_ms, 0);
    ck_assert_int_eq(h->dlv[4].outcome, PW_RETRY);
    ck_assert_ptr_nonnull(strstr(h->dlv[4].why, "no answer"));
    ck_assert_int_eq(h->dlv[5].outcome, PW_REJECTED);
    ck_assert_int_eq(h->dlv[6].outcome, PW_RETRY);
    ck_assert_uint_eq(h->dlv[6].retry_ms, 0);
    /* The routing key is in bodies only. */
    for (i = 0; i < h->ndlv; i++)
        ck_assert_ptr_null(strstr(h->dlv[i].why, TH_KEY));
    ck_assert_ptr_null(strstr(h->logs.buf, TH_KEY));
    th_free(h);
}
END_TEST

START_TEST(test_reporters_pd_budget)
{
    struct pw_host *h = pd_host();
    struct pw_alert a = sample_alert();
    size_t i;

    for (i = 0; i < 120; i++)
        h->rep->on_alert(h->self, &a, (void *)(i + 1));
    ck_assert_uint_eq(h->nreq, 120);
    ck_assert_uint_eq(h->ndlv, 0);
    /* The 121st in the same minute waits, without a request. */
    h->rep->on_alert(h->self, &a, (void *)121);
    ck_assert_uint_eq(h->nreq, 120);
    ck_assert_uint_eq(h->ndlv, 1);
    ck_assert_ptr_eq(h->dlv[0].token, (void *)121);
    ck_assert_int_eq(h->dlv[0].outcome, PW_RETRY);
    ck_assert_uint_eq(h->dlv[0].retry_ms, 500);
    ck_assert_ptr_nonnull(strstr(h->dlv[0].why, "120 events a minute"));
    /* One refill period later one more may leave, and only one. */
    ck_assert_uint_eq(h->ntimers, 1);
    ck_assert_uint_eq(h->timers[0].ms, 500);
    ck_assert_int_eq(th_fire(h), 1);
    h->rep->on_alert(h->self, &a, (void *)122);
    h->rep->on_alert(h->self, &a, (void *)123);
    ck_assert_uint_eq(h->nreq, 121);
    ck_assert_uint_eq(h->ndlv, 2);
    ck_assert_int_eq(h->dlv[1].outcome, PW_RETRY);
    /* Answers do not give tokens back: the budget counts events sent. */
    for (i = 0; i < 121; i++)
        th_answer(h, i, 202, "{}", NULL);
    h->rep->on_alert(h->self, &a, (void *)124);
    ck_assert_uint_eq(h->nreq, 121);
    th_free(h);
}
END_TEST

START_TEST(test_reporters_pd_rate_setting)
{
    struct pw_host *h = th_new();
    struct pw_alert a = sample_alert();

    th_load(h, "pagerduty");
    conf_set(h, "routing_key", TH_KEY);
    conf_set(h, "rate_per_minute", "2");
    ck_assert_ptr_nonnull(th_create(h));
    h->rep->on_alert(h->self, &a, (void *)1);
    h->rep->on_alert(h->self, &a, (void *)2);
    h->rep->on_alert(h->self, &a, (void *)3);
    ck_assert_uint_eq(h->nreq, 2);
    ck_assert_str_eq(h->req[0].url, "https://events.pagerduty.com/v2/enqueue");
    ck_assert_uint_eq(h->dlv[0].retry_ms, 30000);
    th_free(h);
}
END_TEST

START_TEST(test_reporters_pd_bad_config)
{
    struct pw_host *h = th_new();

    th_load(h, "pagerduty");
    conf_set(h, "url", "ftp://127.0.0.1/x");
    conf_set(h, "rate_per_minute", "0");
    conf_set(h, "routng_key", TH_KEY);
    ck_assert_ptr_null(th_create(h));
    ck_assert_ptr_nonnull(
        strstr(h->errors.buf, "missing required key \"routing_key\""));
    ck_assert_ptr_nonnull(strstr(h->errors.buf, "unknown key \"routng_key\""));
    ck_assert_ptr_nonnull(strstr(h->errors.buf, "url: not an http(s) URL"));
    ck_assert_ptr_nonnull(strstr(h->errors.buf, "rate_per_minute: an int"));
    ck_assert_uint_eq(h->nreq, 0);
    th_free(h);

    h = th_new();
    th_load(h, "pagerduty");
    conf_set(h, "routing_key", "");
    ck_assert_ptr_null(th_create(h));
    ck_assert_ptr_nonnull(strstr(h->errors.buf, "routing_key is empty"));
    th_free(h);
}
END_TEST

/* -- Webhook ------------------------------------------------------------ */

static const char *header_value(const char *headers, const char *name)
{
    static char out[512];
    const char *p = headers;
    size_t n = strlen(name);

    while (p && *p) {
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *e = strchr(p, '\n');

            snprintf(out, sizeof(out), "%.*s", (int)(e - p - n - 2), p + n + 2);
            return out;
        }
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    return NULL;
}

START_TEST(test_reporters_webhook_hmac)
{
    static const char secret[] = "s3cr3t-hmac-key";
    struct pw_host *h = th_new();
    struct pw_alert a = sample_alert();
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0, i;
    char want[2 * EVP_MAX_MD_SIZE + 8] = "sha256=";
    const char *b, *sig;

    th_load(h, "webhook");
    conf_set(h, "url", "http://127.0.0.1:9/hook");
    conf_set(h, "secret", secret);
    conf_set(h, "headers.Authorization", "Bearer t0ken");
    conf_set(h, "headers.X-Team", "shop");
    ck_assert_ptr_nonnull(th_create(h));
    ck_assert_str_eq(h->errors.buf, "");
    h->rep->on_alert(h->self, &a, (void *)1);
    h->rep->on_alert(h->self, &a, (void *)2);
    ck_assert_uint_eq(h->nreq, 2);
    b = h->req[0].body;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)b,
         h->req[0].body_len, md, &mdlen);
    ck_assert_uint_eq(mdlen, 32);
    for (i = 0; i < mdlen; i++)
        snprintf(want + 7 + 2 * i, 3, "%02x", md[i]);
    sig = header_value(h->req[0].headers, "X-Prodwatch-Signature");
    ck_assert_ptr_nonnull(sig);
    ck_assert_str_eq(sig, want);
    ck_assert_str_eq(header_value(h->req[0].headers, "Authorization"),
                     "Bearer t0ken");
    ck_assert_str_eq(header_value(h->req[0].headers, "X-Team"), "shop");
    ck_assert_str_eq(header_value(h->req[0].headers, "Content-Type"),
                     "application/json");
    /* Every field of the alert. */
    ck_assert_str_eq(jpath(b, "type"), "alert");
    ck_assert_str_eq(jpath(b, "action"), "trigger");
    ck_assert_str_eq(jpath(b, "update"), "false");
    ck_assert_str_eq(jpath(b, "level"), "scenario");
    ck_assert_str_eq(jpath(b, "summary"), a.summary);
    ck_assert_str_eq(jpath(b, "excerpt"), a.excerpt);
    ck_assert_str_eq(jpath(b, "details.of"), "9");
    ck_assert_str_eq(jpath(b, "since"), "1714564800");
    ck_assert_int_eq(jkeys(b), 22);
    /* Alerts only by default: results are not posted. */
    {
        struct pw_result r = { "t@p", "t",  "p",        "pass", NULL, NULL,
                               NULL,  "00", "runner-1", 1.5,    1,    1 };

        h->rep->on_result(h->self, &r);
        ck_assert_uint_eq(h->nreq, 2);
    }
    th_answer(h, 0, 408, "", NULL);
    th_answer(h, 1, 403, "", NULL);
    ck_assert_int_eq(h->dlv[0].outcome, PW_RETRY);
    ck_assert_int_eq(h->dlv[1].outcome, PW_REJECTED);
    th_free(h);
}
END_TEST

START_TEST(test_reporters_webhook_results)
{
    struct pw_host *h = th_new();
    struct pw_result r = { "checkout@prod[locale=en]",
                           "checkout",
                           "prod",
                           "fail",
                           "pay",
                           "status 502",
                           "bad\x01gateway",
                           "0123",
                           "runner-1",
                           12.25,
                           1714564800,
                           3 };
    size_t i;

    th_load(h, "webhook");
    conf_set(h, "url", "http://127.0.0.1:9/hook");
    conf_set(h, "events", "alerts+results");
    ck_assert_ptr_nonnull(th_create(h));
    h->rep->on_result(h->self, &r);
    ck_assert_uint_eq(h->nreq, 1);
    ck_assert_ptr_null(
        header_value(h->req[0].headers, "X-Prodwatch-Signature"));
    ck_assert_str_eq(jpath(h->req[0].body, "type"), "result");
    ck_assert_str_eq(jpath(h->req[0].body, "test_id"), r.test_id);
    ck_assert_str_eq(jpath(h->req[0].body, "excerpt"), "bad\x01gateway");
    ck_assert_str_eq(jpath(h->req[0].body, "duration_ms"), "12.25");
    ck_assert_str_eq(jpath(h->req[0].body, "requests"), "3");
    /* A slow receiver: at most 64 wait, the rest are dropped and said. */
    for (i = 0; i < 100; i++)
        h->rep->on_result(h->self, &r);
    ck_assert_uint_eq(h->nreq, 64);
    ck_assert_ptr_nonnull(strstr(h->logs.buf, "results dropped"));
    th_answer(h, 0, 500, "", NULL);
    ck_assert_ptr_nonnull(strstr(h->logs.buf, "result not delivered"));
    h->rep->on_result(h->self, &r);
    ck_assert_uint_eq(h->nreq, 65);
    ck_assert_uint_eq(h->ndlv, 0);
    th_free(h);
}
END_TEST

START_TEST(test_reporters_webhook_bad_config)
{
    struct pw_host *h = th_new();

    th_load(h, "webhook");
    conf_set(h, "events", "everything");
    conf_set(h, "headers.Bad Name", "x");
    conf_set(h, "headers.X-Ok", "two\r\nlines");
    ck_assert_ptr_null(th_create(h));
    ck_assert_ptr_nonnull(strstr(h->errors.buf, "missing required key "
                                                "\"url\""));
    ck_assert_ptr_nonnull(strstr(h->errors.buf, "Bad Name: header"));
    ck_assert_ptr_nonnull(strstr(h->errors.buf, "X-Ok: header"));
    ck_assert_ptr_nonnull(strstr(h->errors.buf, "\"everything\""));
    th_free(h);
}
END_TEST

/* -- Slack -------------------------------------------------------------- */

START_TEST(test_reporters_slack_messages)
{
    struct pw_host *h = th_new();
    struct pw_alert a = sample_alert();
    const char *text;

    th_load(h, "slack");
    conf_set(h, "url", "http://127.0.0.1:9/services/T/B/x");
    conf_set(h, "channel", "#oncall");
    ck_assert_ptr_nonnull(th_create(h));
    a.test = 1;
    h->rep->on_alert(h->self, &a, (void *)1);
    ck_assert_uint_eq(h->nreq, 1);
    ck_assert_str_eq(jpath(h->req[0].body, "channel"), "#oncall");
    text = jpath(h->req[0].body, "text");
    ck_assert_ptr_nonnull(strstr(text, ":red_circle: [TEST] *checkout@"));
    ck_assert_ptr_nonnull(strstr(text, "Severity: critical"));
    ck_assert_ptr_nonnull(strstr(text, "Step: When the user pays"));
    ck_assert_ptr_nonnull(strstr(text, "Message: status 502"));
    ck_assert_ptr_nonnull(
        strstr(text, "Request: `POST http://127.0.0.1:1/orders`"));
    ck_assert_ptr_nonnull(
        strstr(text, "<http://127.0.0.1:1/status/checkout|prodwatch status>"));
    /* An update of an open incident is not posted by default. */
    a.update = 1;
    h->rep->on_alert(h->self, &a, (void *)2);
    ck_assert_uint_eq(h->nreq, 1);
    ck_assert_uint_eq(h->ndlv, 1);
    ck_assert_int_eq(h->dlv[0].outcome, PW_DELIVERED);
    a.update = 0;
    a.test = 0;
    a.action = PW_ALERT_RESOLVE;
    a.summary = "a <b> & c";
    h->rep->on_alert(h->self, &a, (void *)3);
    text = jpath(h->req[1].body, "text");
    ck_assert_ptr_nonnull(
        strstr(text, ":large_green_circle: Resolved: *a &lt;b&gt; &amp; c*"));
    ck_assert_ptr_null(strstr(text, "[TEST]"));
    th_answer(h, 0, 200, "ok", NULL);
    th_answer(h, 1, 400, "invalid_payload", NULL);
    ck_assert_int_eq(h->dlv[1].outcome, PW_DELIVERED);
    ck_assert_int_eq(h->dlv[2].outcome, PW_REJECTED);
    th_free(h);
}
END_TEST

START_TEST(test_reporters_slack_updates)
{
    struct pw_host *h = th_new();
    struct pw_alert a = sample_alert();

    th_load(h, "slack");
    conf_set(h, "url", "http://127.0.0.1:9/services/T/B/x");
    conf_set(h, "updates", "true");
    ck_assert_ptr_nonnull(th_create(h));
    a.update = 1;
    h->rep->on_alert(h->self, &a, (void *)1);
    ck_assert_uint_eq(h->nreq, 1);
    ck_assert_ptr_nonnull(
        strstr(jpath(h->req[0].body, "text"), "Still failing: "));
    ck_assert_str_eq(jpath(h->req[0].body, "channel"), "<none>");
    th_answer(h, 0, 429, "", "3");
    ck_assert_int_eq(h->dlv[0].outcome, PW_RETRY);
    ck_assert_uint_eq(h->dlv[0].retry_ms, 3000);
    th_free(h);
}
END_TEST

/* -- JSON lines --------------------------------------------------------- */

/* The lines of file <path>, each checked to be one JSON object; returns
 * the count and leaves line <want> (0-based) in <line>. */
static int jsonl_lines(const char *path, int want, char *line, size_t n)
{
    FILE *f = fopen(path, "r");
    char buf[8192];
    int count = 0;

    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    while (fgets(buf, sizeof(buf), f)) {
        size_t len = strlen(buf);
        jv v;

        ck_assert_msg(len > 0 && buf[len - 1] == '\n', "a line cut short");
        v = jv_parse(buf);
        ck_assert_msg(jv_get_kind(v) == JV_KIND_OBJECT, "not JSON: %s", buf);
        jv_free(v);
        if (count == want)
            snprintf(line, n, "%s", buf);
        count++;
    }
    fclose(f);
    return count;
}

START_TEST(test_reporters_jsonl_lines)
{
    struct pw_host *h = th_new();
    struct pw_result r = { "t@p[a=1]",
                           "t",
                           "p",
                           "fail",
                           "pay",
                           "bad \"quote\"\n\tand \xff\xfe bytes \xc3\xa9",
                           "\xed\xa0\x80 surrogate, \xc0\xaf overlong",
                           "0123",
                           "runner-1",
                           1.0 / 3,
                           1714564800,
                           2 };
    struct pw_alert a = sample_alert();
    char path[512], line[8192];
    struct stat st;
    int i;

    snprintf(path, sizeof(path), "%s/results.jsonl", tu_tmpdir());
    th_load(h, "jsonl");
    conf_set(h, "path", path);
    ck_assert_ptr_nonnull(th_create(h));
    ck_assert_str_eq(h->errors.buf, "");
    /* create() made nothing: `prodwatch check` runs it too. */
    ck_assert_int_eq(stat(path, &st), -1);
    for (i = 0; i < 5; i++)
        h->rep->on_result(h->self, &r);
    h->rep->on_alert(h->self, &a, (void *)9);
    ck_assert_uint_eq(h->ndlv, 1);
    ck_assert_int_eq(h->dlv[0].outcome, PW_DELIVERED);
    ck_assert_int_eq(jsonl_lines(path, 0, line, sizeof(line)), 6);
    ck_assert_str_eq(jpath(line, "type"), "result");
    ck_assert_str_eq(jpath(line, "message"),
                     "bad \"quote\"\n\tand \xef\xbf\xbd\xef\xbf\xbd bytes "
                     "\xc3\xa9");
    ck_assert_str_eq(jpath(line, "excerpt"),
                     "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd surrogate, "
                     "\xef\xbf\xbd\xef\xbf\xbd overlong");
    ck_assert_str_eq(jpath(line, "duration_ms"), "0.333");
    ck_assert_int_eq(jsonl_lines(path, 5, line, sizeof(line)), 6);
    ck_assert_str_eq(jpath(line, "type"), "alert");
    ck_assert_str_eq(jpath(line, "dedup_key"), a.dedup_key);
    th_free(h);

    /* After logrotate renames it, the recreated reporter starts anew. */
    {
        char rotated[600];

        snprintf(rotated, sizeof(rotated), "%s.1", path);
        ck_assert_int_eq(rename(path, rotated), 0);
        h = th_new();
        th_load(h, "jsonl");
        conf_set(h, "path", path);
        conf_set(h, "alerts", "false");
        ck_assert_ptr_nonnull(th_create(h));
        h->rep->on_result(h->self, &r);
        h->rep->on_alert(h->self, &a, (void *)1);
        ck_assert_int_eq(h->dlv[0].outcome, PW_DELIVERED);
        ck_assert_int_eq(jsonl_lines(path, 0, line, sizeof(line)), 1);
        ck_assert_int_eq(jsonl_lines(rotated, 0, line, sizeof(line)), 6);
        th_free(h);
    }
}
END_TEST

START_TEST(test_reporters_jsonl_errors)
{
    struct pw_host *h = th_new();
    struct pw_result r = { "t@p", "t",    "p",        "pass", NULL, NULL,
                           NULL,  "0123", "runner-1", 1,      1,    1 };
    struct pw_alert a = sample_alert();
    char path[512];

    th_load(h, "jsonl");
    conf_set(h, "path", "relative/results.jsonl");
    conf_set(h, "results", "yes");
    ck_assert_ptr_null(th_create(h));
    ck_assert_ptr_nonnull(strstr(h->errors.buf, "path must be absolute"));
    ck_assert_ptr_nonnull(strstr(h->errors.buf, "results: true or false"));
    th_free(h);

    h = th_new();
    th_load(h, "jsonl");
    snprintf(path, sizeof(path), "%s/no/such/dir/x.jsonl", tu_tmpdir());
    conf_set(h, "path", path);
    ck_assert_ptr_null(th_create(h));
    ck_assert_ptr_nonnull(strstr(h->errors.buf, "cannot create"));
    th_free(h);

    /* A file that cannot be written: logged a few times, never fatal;
     * an alert is handed back for a retry. */
    h = th_new();
    th_load(h, "jsonl");
    conf_set(h, "path", "/dev/full");
    ck_assert_ptr_nonnull(th_create(h));
    for (int i = 0; i < 9; i++)
        h->rep->on_result(h->self, &r);
    h->rep->on_alert(h->self, &a, (void *)1);
    ck_assert_int_eq(h->dlv[0].outcome, PW_RETRY);
    {
        int lines = 0;
        const char *p;

        for (p = strstr(h->logs.buf, "cannot write"); p;
             p = strstr(p + 1, "cannot write"))
            lines++;
        ck_assert_int_eq(lines, 4); /* 1st, 2nd, 4th, 8th */
    }
    th_free(h);
}
END_TEST

/* -- Every plugin, and the example -------------------------------------- */

START_TEST(test_reporters_exports)
{
    static const char *const names[] = { "pagerduty", "webhook", "slack",
                                         "jsonl" };
    size_t i;

    for (i = 0; i < 4; i++) {
        struct pw_host *h = th_new();

        th_load(h, names[i]);
        ck_assert_ptr_nonnull(h->rep->create);
        ck_assert_ptr_nonnull(h->rep->on_alert);
        ck_assert_ptr_nonnull(h->rep->destroy);
        /* Helpers stay inside: only pw_reporter is exported. */
        ck_assert_ptr_null(dlsym(h->dl, "jw_init"));
        ck_assert_ptr_null(dlsym(h->dl, "dv_post"));
        th_free(h);
    }
}
END_TEST

START_TEST(test_reporters_example)
{
    const char *top = getenv("TOP_BUILDDIR");
    struct pw_host *h = th_new();
    struct pw_alert a = sample_alert();
    struct pw_result r = { "t@p", "t",    "p",        "fail", NULL, NULL,
                           NULL,  "0123", "runner-1", 1,      1,    1 };
    char path[1024];

    ck_assert_ptr_nonnull(top);
    snprintf(path, sizeof(path), "%s/contrib/reporter-example/.libs/example.so",
             top);
    th_dlopen(h, path);
    ck_assert_str_eq(h->rep->name, "example");
    conf_set(h, "prefix_text", "shop team");
    ck_assert_ptr_nonnull(th_create(h));
    h->rep->on_alert(h->self, &a, (void *)5);
    ck_assert_int_eq(h->dlv[0].outcome, PW_DELIVERED);
    ck_assert_ptr_nonnull(strstr(h->logs.buf, "shop team: trigger "
                                              "pw:incident:5f0c9e"));
    h->rep->on_result(h->self, &r);
    h->rep->on_result(h->self, &r);
    h->rep->flush(h->self);
    ck_assert_ptr_nonnull(strstr(h->logs.buf, "shop team: 2 results, 2 "
                                              "failed"));
    th_free(h);
}
END_TEST

/* -- The stand-in for PagerDuty ---------------------------------------- */

struct stub {
    pid_t pid;
    int port;
    char log[512];
};

static void stub_start(struct stub *st, const char *listen_at)
{
    const char *bin = getenv("PDSTUB");
    char port_file[512];
    int i;
    FILE *f;

    ck_assert_msg(bin != NULL, "PDSTUB is not set");
    snprintf(port_file, sizeof(port_file), "%s/pd.port", tu_tmpdir());
    snprintf(st->log, sizeof(st->log), "%s/pd.log", tu_tmpdir());
    unlink(port_file);
    st->pid = fork();
    ck_assert_int_ge(st->pid, 0);
    if (st->pid == 0) {
        execl(bin, bin, "--listen", listen_at, "--port-file", port_file,
              "--log", st->log, (char *)NULL);
        _exit(127);
    }
    /* Bounded: 10 s for the port file. */
    for (i = 0; i < 1000; i++) {
        f = fopen(port_file, "r");
        if (f) {
            int ok = fscanf(f, "%d", &st->port) == 1;

            fclose(f);
            if (ok)
                return;
        }
        usleep(10000);
    }
    ck_abort_msg("pdstub wrote no port file");
}

static int stub_stop(struct stub *st)
{
    int status;

    kill(st->pid, SIGTERM);
    ck_assert_int_eq(waitpid(st->pid, &status, 0), st->pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static size_t sink(char *p, size_t size, size_t n, void *arg)
{
    sbuf_add(arg, p, size * n);
    return size * n;
}

/* POST <body> to the stub's <path>; the status, the answer in <out>. */
static long stub_post(const struct stub *st, const char *path, const char *body,
                      struct sbuf *out)
{
    CURL *c = curl_easy_init();
    struct curl_slist *hs = curl_slist_append(NULL, "Content-Type: "
                                                    "application/json");
    char url[256];
    long status = 0;

    sbuf_reset(out);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", st->port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hs);
    curl_easy_cleanup(c);
    return status;
}

START_TEST(test_reporters_pdstub)
{
    static const char ev[] = "{\"routing_key\":\"k\",\"dedup_key\":\"d1\","
                             "\"text\":\"caf\xc3\xa9 \\\"q\\\"\"}";
    static const long want[] = { 429, 500, 202, 202, 400, 400 };
    struct sbuf out = SBUF_INIT;
    struct stub st;
    char line[8192];
    size_t i;

    stub_start(&st, "127.0.0.1:0");
    ck_assert_int_eq(stub_post(&st, "/_answers", "429 500 202", &out), 200);
    for (i = 0; i < 4; i++)
        ck_assert_int_eq(stub_post(&st, "/v2/enqueue", ev, &out), want[i]);
    ck_assert_str_eq(jpath(out.buf, "status"), "success");
    ck_assert_str_eq(jpath(out.buf, "dedup_key"), "d1");
    ck_assert_int_eq(stub_post(&st, "/_default", "400", &out), 200);
    ck_assert_int_eq(stub_post(&st, "/v2/enqueue", ev, &out), 400);
    ck_assert_str_eq(jpath(out.buf, "message"), "Event object is invalid");
    ck_assert_str_ne(jpath(out.buf, "errors.0"), "<none>");
    ck_assert_int_eq(stub_post(&st, "/v2/enqueue", "not json", &out), 400);
    ck_assert_int_eq(stub_post(&st, "/_answers", "99 x", &out), 400);
    ck_assert_int_eq(stub_post(&st, "/_default", "200 201", &out), 400);
    /* Control requests are not recorded; every event is, in order. */
    for (i = 0; i < 6; i++) {
        ck_assert_int_eq(jsonl_lines(st.log, (int)i, line, sizeof(line)), 6);
        ck_assert_str_eq(jpath(line, "path"), "/v2/enqueue");
        ck_assert_str_eq(jpath(line, "status"), want[i] == 202   ? "202"
                                                : want[i] == 429 ? "429"
                                                : want[i] == 500 ? "500"
                                                                 : "400");
        ck_assert_str_eq(jpath(line, "headers.Content-Type"),
                         "application/json");
    }
    jsonl_lines(st.log, 0, line, sizeof(line));
    ck_assert_str_eq(jpath(line, "body"), ev);
    ck_assert_int_eq(stub_stop(&st), 0);
    sbuf_release(&out);
}
END_TEST

START_TEST(test_reporters_pdstub_loopback_only)
{
    const char *bin = getenv("PDSTUB");
    char cmd[1024];

    ck_assert_ptr_nonnull(bin);
    snprintf(cmd, sizeof(cmd), "'%s' --listen 0.0.0.0:0 2>/dev/null", bin);
    ck_assert_int_eq(WEXITSTATUS(system(cmd)), 2);
    snprintf(cmd, sizeof(cmd), "'%s' --listen localhost:0 2>/dev/null", bin);
    ck_assert_int_eq(WEXITSTATUS(system(cmd)), 2);
}
END_TEST

/* -- The JSON writer itself --------------------------------------------- */

START_TEST(test_reporters_json_escape)
{
    static const char in[] = "a\"b\\c\x01\x1f\x7f/\xe2\x82\xac\xf0\x9f\x98\x80"
                             "\xe2\x82\xf4\x90\x80\x80\x80";
    struct jw b;

    jw_init(&b);
    jw_strn(&b, in, sizeof(in) - 1);
    ck_assert_str_eq(b.buf, "\"a\\\"b\\\\c\\u0001\\u001f\x7f/\xe2\x82\xac"
                            "\xf0\x9f\x98\x80\xef\xbf\xbd\xef\xbf\xbd"
                            "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                            "\xef\xbf\xbd\xef\xbf\xbd\"");
    /* Overlong forms of '/' in three and four bytes. */
    jw_reset(&b);
    jw_strn(&b, "\xe0\x80\xaf|\xf0\x80\x80\xaf", 8);
    ck_assert_str_eq(b.buf, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|"
                            "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                            "\xef\xbf\xbd\"");
    jw_reset(&b);
    jw_strn(&b, "x\0y", 3);
    ck_assert_str_eq(b.buf, "\"x\\u0000y\"");
    jw_release(&b);
    {
        static const char ok[] = " {\"a\":[1,{\"b\":\"}\"}],\"c\":null} ";

        ck_assert(jr_is_object(ok, strlen(ok)));
    }
    ck_assert(!jr_is_object("{\"a\":1", 6));
    ck_assert(!jr_is_object("{\"a\":1}x", 8));
    ck_assert(!jr_is_object("[]", 2));
}
END_TEST

static Suite *reporters_suite(void)
{
    Suite *s = suite_create("reporters");
    TCase *pd = tcase_create("pagerduty");
    TCase *other = tcase_create("others");

    tcase_add_test(pd, test_reporters_pd_trigger_body);
    tcase_add_test(pd, test_reporters_pd_levels);
    tcase_add_test(pd, test_reporters_pd_resolve_body);
    tcase_add_test(pd, test_reporters_pd_summary_cut);
    tcase_add_test(pd, test_reporters_pd_outcomes);
    tcase_add_test(pd, test_reporters_pd_budget);
    tcase_add_test(pd, test_reporters_pd_rate_setting);
    tcase_add_test(pd, test_reporters_pd_bad_config);
    suite_add_tcase(s, pd);
    tcase_add_test(other, test_reporters_webhook_hmac);
    tcase_add_test(other, test_reporters_webhook_results);
    tcase_add_test(other, test_reporters_webhook_bad_config);
    tcase_add_test(other, test_reporters_slack_messages);
    tcase_add_test(other, test_reporters_slack_updates);
    tcase_add_test(other, test_reporters_jsonl_lines);
    tcase_add_test(other, test_reporters_jsonl_errors);
    tcase_add_test(other, test_reporters_exports);
    tcase_add_test(other, test_reporters_example);
    tcase_add_test(other, test_reporters_json_escape);
    tcase_add_test(other, test_reporters_pdstub);
    tcase_add_test(other, test_reporters_pdstub_loopback_only);
    suite_add_tcase(s, other);
    return s;
}

int main(void)
{
    return pw_run_suite(reporters_suite());
}
