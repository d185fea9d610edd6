/* webhook.c -- alert events (and optionally results) as JSON POSTs.
 *
 *   - webhook:
 *       url: https://hooks.example.com/prodwatch     # required
 *       headers: { Authorization: "Bearer {{ secret.hook }}" }
 *       secret: "{{ secret.hook_hmac }}"   # signs each body
 *       events: alerts                      # or alerts+results
 *
 * An alert is the whole struct pw_alert with "type":"alert"; a result the
 * whole struct pw_result with "type":"result".  With a secret, each
 * request carries X-Prodwatch-Signature: sha256=<hex HMAC-SHA256 of the
 * exact body>, so the receiver can tell the sender and that nothing was
 * changed on the way.
 *
 * Alerts are delivered through the host's queue (retried on 408, 429, 5xx
 * and no answer).  Results are sent once, without retry: a lost result is
 * one data point, and queueing every run would outgrow any outage.  At
 * most WH_RESULTS_IN_FLIGHT result requests wait at a time; past that,
 * results are dropped and counted, so a slow receiver cannot grow the
 * daemon's memory.
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delivery.h"
#include "json.h"
#include "prodwatch/reporter.h"

#define WH_RESULTS_IN_FLIGHT 64
#define WH_MAX_HEADERS       32
#define WH_SIG_HEADER        "X-Prodwatch-Signature: sha256="

struct webhook {
    struct pw_host *h;
    const struct pw_host_api *api;
    const char *url;
    const char *secret; /* NULL: unsigned */
    int results;        /* events: alerts+results */
    /* Content-Type, the configured headers, and room for the signature,
     * which differs per request and so is set just before each one. */
    char *headers[WH_MAX_HEADERS + 2];
    size_t nheaders;
    int bad_header;
    struct dv dv;
    unsigned results_in_flight;
    unsigned long results_dropped;
};

static int header_ok(const char *s)
{
    return strpbrk(s, "\r\n") == NULL;
}

static void add_header(void *arg, const char *key, const char *value)
{
    struct webhook *w = arg;
    const struct pw_conf *map =
        w->api->conf_get(w->h, w->api->conf_root(w->h), "headers");
    const struct pw_conf *at = map ? w->api->conf_get(w->h, map, key) : NULL;
    size_t n;
    char *line;

    if (value == NULL || key[0] == '\0' || strpbrk(key, ": \t") ||
        !header_ok(key) || !header_ok(value)) {
        w->api->conf_error(w->h, at,
                           "header \"%s\": a name without ':' or blanks "
                           "and a value on one line",
                           key);
        w->bad_header = 1;
        return;
    }
    if (w->nheaders >= WH_MAX_HEADERS + 1) {
        w->api->conf_error(w->h, at, "more than %d headers", WH_MAX_HEADERS);
        w->bad_header = 1;
        return;
    }
    n = strlen(key) + strlen(value) + 3;
    line = malloc(n);
    if (line == NULL) {
        w->bad_header = 1;
        return;
    }
    snprintf(line, n, "%s: %s", key, value);
    w->headers[w->nheaders++] = line;
}

static void wh_destroy(void *self)
{
    struct webhook *w = self;
    size_t i;

    dv_release(&w->dv);
    for (i = 0; i < w->nheaders; i++)
        free(w->headers[i]);
    free(w);
}

static void *wh_create(struct pw_host *h, const struct pw_host_api *api)
{
    static const char *const known[] = { "url", "headers", "secret", "events",
                                         NULL };
    const struct pw_conf *root = api->conf_root(h);
    const char *events = "alerts";
    struct webhook *w = calloc(1, sizeof(*w));
    int bad = 0;

    if (w == NULL) {
        api->log(h, PW_LOG_ERROR, "out of memory");
        return NULL;
    }
    w->h = h;
    w->api = api;
    dv_init(&w->dv, h, api);
    w->headers[w->nheaders++] = strdup("Content-Type: application/json");
    api->conf_known(h, root, known);
    if (api->conf_url(h, root, "url", 1, &w->url) != 1)
        bad = 1;
    if (api->conf_map(h, root, "headers", 0, add_header, w) < 0 ||
        w->bad_header)
        bad = 1;
    if (api->conf_string(h, root, "secret", 0, &w->secret) < 0)
        bad = 1;
    else if (w->secret && w->secret[0] == '\0') {
        api->conf_error(h, api->conf_get(h, root, "secret"), "secret is empty");
        bad = 1;
    }
    if (api->conf_string(h, root, "events", 0, &events) < 0) {
        bad = 1;
    } else if (strcmp(events, "alerts+results") == 0) {
        w->results = 1;
    } else if (strcmp(events, "alerts") != 0) {
        api->conf_error(h, api->conf_get(h, root, "events"),
                        "events is \"alerts\" or \"alerts+results\", "
                        "not \"%s\"",
                        events);
        bad = 1;
    }
    if (bad || w->headers[0] == NULL) {
        wh_destroy(w);
        return NULL;
    }
    return w;
}

/* Sign <body> into the last header slot when a secret is set; returns
 * the number of headers to send. */
static size_t sign(struct webhook *w, const char *body, size_t len, char *sig,
                   size_t sigsz)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0, i;
    size_t pre = strlen(WH_SIG_HEADER);

    if (w->secret == NULL)
        return w->nheaders;
    if (HMAC(EVP_sha256(), w->secret, (int)strlen(w->secret),
             (const unsigned char *)body, len, md, &mdlen) == NULL ||
        pre + 2 * mdlen + 1 > sigsz)
        return 0;
    memcpy(sig, WH_SIG_HEADER, pre);
    for (i = 0; i < mdlen; i++)
        snprintf(sig + pre + 2 * i, 3, "%02x", md[i]);
    w->headers[w->nheaders] = sig;
    return w->nheaders + 1;
}

/* Post <body> (taken); 0, or -1 when it could not start. */
static int post(struct webhook *w, char *body, size_t len, dv_done_fn *done,
                void *token)
{
    char sig[sizeof(WH_SIG_HEADER) + 2 * EVP_MAX_MD_SIZE + 1];
    size_t n;
    int rc;

    if (body == NULL)
        return -1;
    n = sign(w, body, len, sig, sizeof(sig));
    if (n == 0) {
        free(body);
        return -1;
    }
    /* dv_post() copies the headers; the slot is cleared so that no later
     * request sends a stale signature from this stack frame. */
    rc = dv_post(&w->dv, w->url, (const char *const *)w->headers, n, body, len,
                 done, w, token);
    w->headers[w->nheaders] = NULL;
    return rc;
}

static void on_alert_answer(void *self, void *token,
                            const struct pw_http_response *r)
{
    struct webhook *w = self;
    char why[512];
    unsigned long retry_ms;
    enum pw_outcome out =
        dv_judge(r, DV_RETRY_408, why, sizeof(why), &retry_ms);

    w->api->delivered(w->h, token, out, retry_ms, why);
}

static void wh_on_alert(void *self, const struct pw_alert *a, void *token)
{
    struct webhook *w = self;
    struct jw b;
    size_t len;
    char *body;

    jw_init(&b);
    jw_alert(&b, a);
    body = jw_take(&b, &len);
    jw_release(&b);
    if (post(w, body, len, on_alert_answer, token) < 0)
        w->api->delivered(w->h, token, PW_RETRY, 0,
                          "the request could not start");
}

static void on_result_answer(void *self, void *token,
                             const struct pw_http_response *r)
{
    struct webhook *w = self;
    char why[512];
    unsigned long retry_ms;

    (void)token;
    w->results_in_flight--;
    if (dv_judge(r, 0, why, sizeof(why), &retry_ms) != PW_DELIVERED)
        w->api->log(w->h, PW_LOG_WARNING, "result not delivered: %s", why);
}

static void wh_on_result(void *self, const struct pw_result *r)
{
    struct webhook *w = self;
    struct jw b;
    size_t len;
    char *body;

    if (!w->results)
        return;
    if (w->results_in_flight >= WH_RESULTS_IN_FLIGHT) {
        /* Logged at powers of two so a long outage stays a few lines. */
        w->results_dropped++;
        if ((w->results_dropped & (w->results_dropped - 1)) == 0)
            w->api->log(w->h, PW_LOG_WARNING,
                        "receiver is slow: %lu results dropped so far",
                        w->results_dropped);
        return;
    }
    jw_init(&b);
    jw_result(&b, r);
    body = jw_take(&b, &len);
    jw_release(&b);
    if (post(w, body, len, on_result_answer, NULL) < 0) {
        w->api->log(w->h, PW_LOG_WARNING, "result not sent");
        return;
    }
    w->results_in_flight++;
}

const struct pw_reporter pw_reporter = { PW_REPORTER_ABI, "webhook",
                                         wh_create,       wh_on_result,
                                         wh_on_alert,     NULL,
                                         wh_destroy };
