/* delivery.c -- see delivery.h. */
#include "delivery.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dv_call {
    struct dv_call *prev, *next;
    struct dv *d;
    char *body;
    char **headers; /* copies: the caller's may be gone by the answer */
    size_t nheaders;
    dv_done_fn *done;
    void *self;
    void *token;
};

void dv_init(struct dv *d, struct pw_host *h, const struct pw_host_api *api)
{
    d->h = h;
    d->api = api;
    d->calls = NULL;
    d->ncalls = 0;
}

static void unlink_call(struct dv_call *c)
{
    struct dv *d = c->d;

    if (c->prev)
        c->prev->next = c->next;
    else
        d->calls = c->next;
    if (c->next)
        c->next->prev = c->prev;
    d->ncalls--;
    while (c->nheaders)
        free(c->headers[--c->nheaders]);
    free(c->headers);
    free(c->body);
    free(c);
}

void dv_release(struct dv *d)
{
    while (d->calls)
        unlink_call(d->calls);
}

static void on_answer(void *arg, const struct pw_http_response *r)
{
    struct dv_call *c = arg;
    dv_done_fn *done = c->done;
    void *self = c->self, *token = c->token;

    /* Freed first: <done> may start the next request or even end the
     * instance's interest in this one. */
    unlink_call(c);
    done(self, token, r);
}

int dv_post(struct dv *d, const char *url, const char *const *headers,
            size_t nheaders, char *body, size_t len, dv_done_fn *done,
            void *self, void *token)
{
    struct pw_http_request req;
    struct dv_call *c = calloc(1, sizeof(*c));

    if (c == NULL || body == NULL) {
        free(c);
        free(body);
        return -1;
    }
    c->d = d;
    c->body = body;
    c->headers = calloc(nheaders ? nheaders : 1, sizeof(*c->headers));
    for (; c->headers && c->nheaders < nheaders; c->nheaders++) {
        c->headers[c->nheaders] = strdup(headers[c->nheaders]);
        if (c->headers[c->nheaders] == NULL)
            break;
    }
    c->done = done;
    c->self = self;
    c->token = token;
    memset(&req, 0, sizeof(req));
    req.method = "POST";
    req.url = url;
    req.headers = (const char *const *)c->headers;
    req.nheaders = nheaders;
    req.body = body;
    req.body_len = len;
    c->next = d->calls;
    if (d->calls)
        d->calls->prev = c;
    d->calls = c;
    d->ncalls++;
    if (c->headers == NULL || c->nheaders < nheaders || d->api->http == NULL ||
        d->api->http(d->h, &req, on_answer, c) < 0) {
        unlink_call(c);
        return -1;
    }
    return 0;
}

static unsigned long retry_after(const struct pw_http_response *r)
{
    const char *v = r->header ? r->header(r, "Retry-After") : NULL;
    unsigned long long s = 0;

    if (v == NULL)
        return 0;
    while (*v == ' ')
        v++;
    /* An HTTP date instead of seconds is left to the host's backoff. */
    if (*v < '0' || *v > '9')
        return 0;
    while (*v >= '0' && *v <= '9' && s < DV_RETRY_AFTER_MAX_MS)
        s = s * 10 + (unsigned long long)(*v++ - '0');
    s *= 1000;
    return s > DV_RETRY_AFTER_MAX_MS ? DV_RETRY_AFTER_MAX_MS : (unsigned long)s;
}

enum pw_outcome dv_judge(const struct pw_http_response *r, int flags, char *why,
                         size_t whysz, unsigned long *retry_ms)
{
    long st = r->status;

    *retry_ms = 0;
    if (st == 0) {
        snprintf(why, whysz, "no answer: %s",
                 r->error ? r->error : "unknown error");
        return PW_RETRY;
    }
    snprintf(why, whysz, "HTTP %ld", st);
    if (st >= 200 && st < 300)
        return PW_DELIVERED;
    if (st == 429 || st >= 500 || (st == 408 && (flags & DV_RETRY_408))) {
        *retry_ms = retry_after(r);
        return PW_RETRY;
    }
    return PW_REJECTED;
}
