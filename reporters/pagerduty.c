/* pagerduty.c -- the PagerDuty Events API v2 reporter.
 *
 *   - pagerduty:
 *       routing_key: "{{ secret.pagerduty }}"   # required
 *       url: https://events.pagerduty.com/v2/enqueue
 *       rate_per_minute: 120
 *
 * A trigger carries the incident's facts; a resolve only its dedup key.
 * The host queues, orders and retries events; this file turns one event
 * into one request and the answer into an outcome.  PagerDuty throttles
 * each routing key (about 120 events a minute), and a 429 there costs a
 * round trip and counts against the key, so events are held back here
 * first: a token bucket of rate_per_minute tokens, one token back every
 * 60 s / rate_per_minute.  The bucket is per instance, so per routing key
 * as long as each key has one entry.  Its refill runs on host timers, not
 * on a clock of its own, so time in it is the daemon's.
 *
 * The routing key is a secret: it goes into request bodies only, never
 * into a log line or a `why`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delivery.h"
#include "json.h"
#include "prodwatch/reporter.h"

#define PD_DEFAULT_URL  "https://events.pagerduty.com/v2/enqueue"
#define PD_DEFAULT_RATE 120
#define PD_SUMMARY_MAX  1024

struct pd {
    struct pw_host *h;
    const struct pw_host_api *api;
    const char *routing_key; /* the host's; lives as long as we do */
    const char *url;
    struct dv dv;
    long long cap;           /* tokens when full */
    long long tokens;        /* events that may leave now */
    unsigned long refill_ms; /* one token back every this often */
    struct pw_timer *refill; /* armed while not full */
};

static const char *const pd_headers[] = { "Content-Type: application/json" };

static void *pd_create(struct pw_host *h, const struct pw_host_api *api)
{
    static const char *const known[] = { "routing_key", "url",
                                         "rate_per_minute", NULL };
    const struct pw_conf *root = api->conf_root(h);
    const char *key = NULL, *url = PD_DEFAULT_URL;
    long long rate = PD_DEFAULT_RATE;
    struct pd *pd;
    int bad = 0;

    api->conf_known(h, root, known);
    if (api->conf_string(h, root, "routing_key", 1, &key) != 1)
        bad = 1;
    else if (key[0] == '\0') {
        api->conf_error(h, api->conf_get(h, root, "routing_key"),
                        "routing_key is empty");
        bad = 1;
    }
    if (api->conf_url(h, root, "url", 0, &url) < 0)
        bad = 1;
    if (api->conf_int(h, root, "rate_per_minute", 0, 1, 60000, &rate) < 0)
        bad = 1;
    if (bad)
        return NULL;
    pd = calloc(1, sizeof(*pd));
    if (pd == NULL) {
        api->log(h, PW_LOG_ERROR, "out of memory");
        return NULL;
    }
    pd->h = h;
    pd->api = api;
    pd->routing_key = key;
    pd->url = url;
    dv_init(&pd->dv, h, api);
    pd->cap = pd->tokens = rate;
    pd->refill_ms = (unsigned long)(60000 / rate);
    return pd;
}

static void pd_destroy(void *self)
{
    struct pd *pd = self;

    /* The host has cancelled our requests and timers already. */
    dv_release(&pd->dv);
    free(pd);
}

static void arm_refill(struct pd *pd);

static void on_refill(void *arg)
{
    struct pd *pd = arg;

    pd->refill = NULL;
    if (pd->tokens < pd->cap)
        pd->tokens++;
    arm_refill(pd);
}

static void arm_refill(struct pd *pd)
{
    if (pd->refill || pd->tokens >= pd->cap)
        return;
    pd->refill = pd->api->timer_add(pd->h, pd->refill_ms, on_refill, pd);
    /* Without a timer the bucket would stay empty for good: better to
     * risk a 429 than to stop paging. */
    if (pd->refill == NULL)
        pd->tokens = pd->cap;
}

static const char *severity(const char *s)
{
    static const char *const ok[] = { "critical", "error", "warning", "info" };
    size_t i;

    for (i = 0; s && i < sizeof(ok) / sizeof(ok[0]); i++)
        if (strcmp(s, ok[i]) == 0)
            return ok[i];
    return "error";
}

static void trigger_body(struct pd *pd, const struct pw_alert *a, struct jw *b)
{
    const char *summary = a->summary ? a->summary : "prodwatch alert";
    const char *source = a->source;
    const char *component = a->scenario;
    char ts[40];

    if (source == NULL && pd->api->runner_id)
        source = pd->api->runner_id(pd->h);
    if (a->level == PW_LEVEL_TARGET || component == NULL)
        component = a->target;
    jw_open(b);
    jw_kstr(b, "routing_key", pd->routing_key);
    jw_kstr(b, "event_action", "trigger");
    jw_kstr(b, "dedup_key", a->dedup_key);
    jw_key(b, "payload");
    jw_open(b);
    jw_key(b, "summary");
    jw_strn(b, summary, jw_cut(summary, strlen(summary), PD_SUMMARY_MAX));
    jw_kstr(b, "source", source ? source : "prodwatch");
    jw_kstr(b, "severity", severity(a->severity));
    if (a->at > 0) {
        jw_iso8601(a->at, ts, sizeof(ts));
        jw_kstr(b, "timestamp", ts);
    }
    jw_kopt(b, "component", component);
    jw_kopt(b, "group", a->target);
    jw_kopt(b, "class", a->check);
    jw_key(b, "custom_details");
    jw_open(b);
    if (a->details && jr_is_object(a->details, strlen(a->details)))
        jw_members(b, a->details);
    jw_kopt(b, "step", a->step);
    jw_kopt(b, "message", a->message);
    jw_kopt(b, "request", a->request);
    jw_kopt(b, "excerpt", a->excerpt);
    jw_kopt(b, "run_id", a->run_id);
    jw_kopt(b, "kind", a->kind);
    jw_kstr(b, "level", jw_level_name(a->level));
    if (a->test)
        jw_kbool(b, "test", 1);
    jw_close(b);
    jw_close(b); /* payload */
    if (a->link) {
        jw_key(b, "links");
        jw_open_array(b);
        jw_open(b);
        jw_kstr(b, "href", a->link);
        jw_kstr(b, "text", "prodwatch status");
        jw_close(b);
        jw_close_array(b);
    }
    jw_kstr(b, "client", "prodwatch");
    jw_kopt(b, "client_url", a->link);
    jw_close(b);
}

static void resolve_body(struct pd *pd, const struct pw_alert *a, struct jw *b)
{
    jw_open(b);
    jw_kstr(b, "routing_key", pd->routing_key);
    jw_kstr(b, "event_action", "resolve");
    jw_kstr(b, "dedup_key", a->dedup_key);
    jw_close(b);
}

static void on_answer(void *self, void *token, const struct pw_http_response *r)
{
    struct pd *pd = self;
    char why[1024], msg[256], errs[256];
    unsigned long retry_ms;
    enum pw_outcome out = dv_judge(r, 0, why, sizeof(why), &retry_ms);

    /* PagerDuty says what it refused and why in its body. */
    if (out == PW_REJECTED && r->body) {
        int has_msg =
            jr_member(r->body, r->body_len, "message", msg, sizeof(msg));
        int has_errs =
            jr_member(r->body, r->body_len, "errors", errs, sizeof(errs));

        if (has_msg || has_errs)
            snprintf(why, sizeof(why), "HTTP %ld: %s%s%s", r->status,
                     has_msg ? msg : "", has_msg && has_errs ? ": " : "",
                     has_errs ? errs : "");
    }
    pd->api->delivered(pd->h, token, out, retry_ms, why);
}

static void pd_on_alert(void *self, const struct pw_alert *a, void *token)
{
    struct pd *pd = self;
    struct jw b;
    size_t len;
    char *body, why[96];

    if (pd->tokens <= 0) {
        snprintf(why, sizeof(why), "over the budget of %lld events a minute",
                 pd->cap);
        pd->api->delivered(pd->h, token, PW_RETRY, pd->refill_ms, why);
        return;
    }
    jw_init(&b);
    if (a->action == PW_ALERT_RESOLVE)
        resolve_body(pd, a, &b);
    else
        trigger_body(pd, a, &b);
    body = jw_take(&b, &len);
    jw_release(&b);
    if (body == NULL) {
        pd->api->delivered(pd->h, token, PW_RETRY, 0, "out of memory");
        return;
    }
    if (dv_post(&pd->dv, pd->url, pd_headers, 1, body, len, on_answer, pd,
                token) < 0) {
        pd->api->delivered(pd->h, token, PW_RETRY, 0,
                           "the request could not start");
        return;
    }
    pd->tokens--;
    arm_refill(pd);
}

const struct pw_reporter pw_reporter = {
    PW_REPORTER_ABI, "pagerduty", pd_create, NULL, pd_on_alert, NULL, pd_destroy
};
