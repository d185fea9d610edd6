/* slack.c -- alert events as Slack incoming-webhook messages.
 *
 *   - slack:
 *       url: "{{ secret.slack_webhook }}"   # required
 *       channel: "#oncall"                  # optional
 *       updates: false                      # post updates of open incidents
 *
 * One message per trigger and per resolve, with the facts a person acts
 * on: the summary, severity, failing step, message, request and the
 * status link.  Updates of an incident already posted are skipped unless
 * `updates: true`: in a channel, a new message per changed permutation
 * is noise.  The webhook URL itself is the credential, so it is never
 * logged.
 */
#include <stdlib.h>
#include <string.h>

#include "delivery.h"
#include "json.h"
#include "prodwatch/reporter.h"

struct slack {
    struct pw_host *h;
    const struct pw_host_api *api;
    const char *url;
    const char *channel; /* NULL: the webhook's own */
    int updates;
    struct dv dv;
};

static const char *const slack_headers[] = { "Content-Type: application/json" };

static void *slack_create(struct pw_host *h, const struct pw_host_api *api)
{
    static const char *const known[] = { "url", "channel", "updates", NULL };
    const struct pw_conf *root = api->conf_root(h);
    const char *url = NULL, *channel = NULL;
    int updates = 0, bad = 0;
    struct slack *s;

    api->conf_known(h, root, known);
    if (api->conf_url(h, root, "url", 1, &url) != 1)
        bad = 1;
    if (api->conf_string(h, root, "channel", 0, &channel) < 0)
        bad = 1;
    if (api->conf_bool(h, root, "updates", 0, &updates) < 0)
        bad = 1;
    if (bad)
        return NULL;
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        api->log(h, PW_LOG_ERROR, "out of memory");
        return NULL;
    }
    s->h = h;
    s->api = api;
    s->url = url;
    s->channel = channel && channel[0] ? channel : NULL;
    s->updates = updates;
    dv_init(&s->dv, h, api);
    return s;
}

static void slack_destroy(void *self)
{
    struct slack *s = self;

    dv_release(&s->dv);
    free(s);
}

/* Slack reads &, < and > in message text as markup. */
static void text(struct jw *t, const char *s)
{
    const char *p;

    for (p = s; *p; p++) {
        if (*p == '&')
            jw_raw(t, "&amp;", 5);
        else if (*p == '<')
            jw_raw(t, "&lt;", 4);
        else if (*p == '>')
            jw_raw(t, "&gt;", 4);
        else
            jw_raw(t, p, 1);
    }
}

static void line(struct jw *t, const char *label, const char *value,
                 const char *quote)
{
    if (value == NULL || value[0] == '\0')
        return;
    jw_raw(t, "\n", 1);
    text(t, label);
    jw_raw(t, ": ", 2);
    text(t, quote);
    text(t, value);
    text(t, quote);
}

/* The message text, unescaped for JSON yet. */
static void message(const struct pw_alert *a, struct jw *t)
{
    int resolve = a->action == PW_ALERT_RESOLVE;

    text(t, resolve ? ":large_green_circle: " : ":red_circle: ");
    if (a->test)
        text(t, "[TEST] ");
    if (resolve)
        text(t, "Resolved: ");
    else if (a->update)
        text(t, "Still failing: ");
    jw_raw(t, "*", 1);
    text(t, a->summary ? a->summary : "prodwatch alert");
    jw_raw(t, "*", 1);
    if (!resolve) {
        line(t, "Severity", a->severity, "");
        line(t, "Step", a->step, "");
        line(t, "Message", a->message, "");
        line(t, "Request", a->request, "`");
    }
    if (a->link) {
        jw_raw(t, "\n<", 2);
        text(t, a->link);
        jw_raw(t, "|prodwatch status>", 18);
    }
}

static void on_answer(void *self, void *token, const struct pw_http_response *r)
{
    struct slack *s = self;
    char why[512];
    unsigned long retry_ms;
    enum pw_outcome out = dv_judge(r, 0, why, sizeof(why), &retry_ms);

    s->api->delivered(s->h, token, out, retry_ms, why);
}

static void slack_on_alert(void *self, const struct pw_alert *a, void *token)
{
    struct slack *s = self;
    struct jw t, b;
    size_t len;
    char *body;

    if (a->action == PW_ALERT_TRIGGER && a->update && !s->updates) {
        s->api->delivered(s->h, token, PW_DELIVERED, 0, NULL);
        return;
    }
    jw_init(&t);
    jw_init(&b);
    message(a, &t);
    jw_open(&b);
    jw_key(&b, "text");
    jw_strn(&b, t.buf, t.len);
    jw_kopt(&b, "channel", s->channel);
    jw_close(&b);
    body = jw_failed(&t) ? NULL : jw_take(&b, &len);
    jw_release(&t);
    jw_release(&b);
    if (body == NULL) {
        s->api->delivered(s->h, token, PW_RETRY, 0, "out of memory");
        return;
    }
    if (dv_post(&s->dv, s->url, slack_headers, 1, body, len, on_answer, s,
                token) < 0)
        s->api->delivered(s->h, token, PW_RETRY, 0,
                          "the request could not start");
}

const struct pw_reporter pw_reporter = { PW_REPORTER_ABI, "slack",
                                         slack_create,    NULL,
                                         slack_on_alert,  NULL,
                                         slack_destroy };
