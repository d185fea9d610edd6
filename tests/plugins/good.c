/* good.c -- a reporter plugin for the host's tests: it uses every part of
 * the host API and writes what came back into its probe (probe.h).  What
 * it does with an alert depends on the alert's summary: "answer" answers
 * at once, "late" from a timer, "twice" twice, "reject" rejects, and
 * "never" never answers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prodwatch/reporter.h"
#include "probe.h"

/* The probe: test code (see probe.h). */
struct probe good_probe;

struct good {
    struct pw_host *h;
    const struct pw_host_api *api;
    const char *url;
    struct pw_timer *long_timer;
    void *late_token;
    int requested;
};

static void *good_create(struct pw_host *h, const struct pw_host_api *api)
{
    static const char *const known[] = { "url", "token", "mode", "retries",
                                         "probe_in_create", NULL };
    struct good *g = calloc(1, sizeof(*g));
    const char *token = NULL;
    long long retries = 1;
    int probe = 0;

    g->h = h;
    g->api = api;
    api->conf_known(h, api->conf_root(h), known);
    api->conf_url(h, NULL, "url", 0, &g->url);
    api->conf_int(h, NULL, "retries", 0, 0, 5, &retries);
    if (api->conf_string(h, NULL, "token", 0, &token) == 1)
        api->log(h, PW_LOG_NOTICE, "token is %s, retries %lld", token,
                 retries);
    api->conf_bool(h, NULL, "probe_in_create", 0, &probe);
    if (probe) {
        struct pw_http_request req = { "GET", "http://127.0.0.1:1/", NULL,
                                       0, NULL, 0, 0 };

        good_probe.check_http = api->http(h, &req, NULL, NULL);
        good_probe.check_timer = api->timer_add(h, 1, NULL, NULL) != NULL;
    }
    good_probe.created++;
    return g;
}

static void on_small(void *arg, const struct pw_http_response *r)
{
    const char *x = r->header(r, "x-test");

    (void)arg;
    good_probe.http_status = r->status;
    strncpy(good_probe.http_body, r->body, sizeof(good_probe.http_body) - 1);
    if (x)
        strncpy(good_probe.http_header, x,
                sizeof(good_probe.http_header) - 1);
    good_probe.http_answers++;
}

static void on_big(void *arg, const struct pw_http_response *r)
{
    (void)arg;
    good_probe.big_status = r->status;
    good_probe.big_len = r->body_len;
    good_probe.http_answers++;
}

static void on_timer(void *arg)
{
    (void)arg;
    good_probe.timer_fired++;
}

static void on_long_timer(void *arg)
{
    (void)arg;
    good_probe.long_timer_fired++;
}

static void on_get(void *arg, const char *value, size_t len)
{
    (void)arg;
    if (good_probe.kv_answers == 0 && value && len < sizeof(good_probe.kv_value))
        memcpy(good_probe.kv_value, value, len);
    if (good_probe.kv_answers == 1)
        good_probe.kv_after_del_null = value == NULL;
    good_probe.kv_answers++;
}

static void get(struct good *g, const char *url, pw_http_fn *fn)
{
    static const char *const headers[] = { "Accept: text/plain" };
    struct pw_http_request req = { "GET", url, headers, 1, NULL, 0, 2000 };

    g->api->http(g->h, &req, fn, g);
}

static void good_on_result(void *self, const struct pw_result *r)
{
    struct good *g = self;
    char url[512];

    good_probe.results++;
    if (g->requested++ || g->url == NULL)
        return;
    snprintf(url, sizeof(url), "%ssmall", g->url);
    get(g, url, on_small);
    snprintf(url, sizeof(url), "%sbig", g->url);
    get(g, url, on_big);
    g->api->timer_add(g->h, 20, on_timer, g);
    g->long_timer = g->api->timer_add(g->h, 100000, on_long_timer, g);
    g->api->kv_set(g->h, "last", r->test_id, strlen(r->test_id), 60);
    g->api->kv_get(g->h, "last", on_get, g);
    g->api->kv_del(g->h, "last");
    g->api->kv_get(g->h, "last", on_get, g);
}

static void on_late(void *arg)
{
    struct good *g = arg;

    g->api->delivered(g->h, g->late_token, PW_DELIVERED, 0, "late");
}

static void good_on_alert(void *self, const struct pw_alert *a, void *token)
{
    struct good *g = self;

    good_probe.alerts++;
    if (strcmp(a->summary, "answer") == 0) {
        g->api->delivered(g->h, token, PW_DELIVERED, 0, NULL);
    } else if (strcmp(a->summary, "twice") == 0) {
        g->api->delivered(g->h, token, PW_RETRY, 1500, "busy");
        g->api->delivered(g->h, token, PW_DELIVERED, 0, NULL);
    } else if (strcmp(a->summary, "reject") == 0) {
        g->api->delivered(g->h, token, PW_REJECTED, 0, "bad event");
    } else if (strcmp(a->summary, "late") == 0) {
        g->late_token = token;
        g->api->timer_add(g->h, 10, on_late, g);
    }
}

static void good_flush(void *self)
{
    (void)self;
    good_probe.flushed++;
}

static void good_destroy(void *self)
{
    good_probe.destroyed++;
    free(self);
}

const struct pw_reporter pw_reporter = {
    PW_REPORTER_ABI, "good",     good_create, good_on_result,
    good_on_alert,   good_flush, good_destroy
};
