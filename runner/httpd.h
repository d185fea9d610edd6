/* httpd.h -- the daemon's HTTP listener: health, metrics, API, status page.
 *
 * On the service's loop (libevent's evhttp), it answers from memory only
 * -- never waits on Redis or a probe -- and serves nothing but:
 *
 *   /healthz, /readyz  200 "ok" when the loop turned within 5 s and Redis
 *                      has not been away longer than the configured
 *                      health.redis_down_after; else 503 and the reason
 *   /livez             the loop only
 *   /metrics           Prometheus text format 0.0.4
 *   /api/status        JSON: runner, tests, incidents, paused, silenced,
 *                      scenarios (name, description, severity, every_ms,
 *                      tags) and targets (name, channel, paused, silenced)
 *   /api/test/ID       JSON: one test's facts and its last results
 *   /docs/             HTML: the living documentation's index
 *   /docs/NAME         HTML: scenario NAME's page with its results
 *   /, /statuspage.css, /statuspage.js
 *                      the status page (statuspage.h)
 *
 * Any other path is a 404; a method other than GET or HEAD a 405.
 * Requests are capped (headers 8 KiB, no body), connections too (128
 * open at once: at the cap the listener stops accepting until one
 * closes), and a connection that has not sent a whole request within 10 s
 * of opening or of its last request is cut.  Long answers (/metrics,
 * /api/status) go out a piece at a time, never holding the loop.
 *
 * Everything in struct httpd_src is borrowed and must outlive the
 * listener.  Single-threaded, on the loop's thread.
 */
#ifndef PW_HTTPD_H
#define PW_HTTPD_H

#include <stddef.h>

#include "err.h"

struct alerting;
struct engine;
struct loop;
struct metrics;
struct redis;
struct result_sink;
struct schedule;
struct spool;
struct suite;

/* What the service knows that changes: read at every request. */
struct httpd_facts {
    struct suite *suite; /* the current one */
    int all_paused;      /* 1 paused, 0 not, -1 not known yet */
    unsigned long reloads;
};

struct httpd_src {
    struct engine *engine;
    struct schedule *sched;
    struct result_sink *store; /* from store_new() */
    struct spool *journal_spool;
    struct alerting *alerting;
    struct redis *redis;
    struct metrics *metrics;
    const char *runner_id;
    const char *version;
    void (*facts)(void *arg, struct httpd_facts *f);
    /* Whether probing of target <i> of the current config is paused. */
    int (*held)(size_t target, void *arg);
    void *arg;
};

struct httpd;

/* Listen on <listen> ("HOST:PORT") on loop <l> for <src> (copied; what
 * it points to is borrowed).  NULL with <err> set when the address
 * cannot be bound. */
struct httpd *httpd_new(struct loop *l, const char *listen,
                        const struct httpd_src *src, struct pw_err *err);

/* The address it was asked to listen on.  Borrowed. */
const char *httpd_listen(const struct httpd *h);

/* The port it listens on (the one the system chose for port 0). */
int httpd_port(const struct httpd *h);

/* Send <out> (consumed) as the answer to <req> with <code>: for a HEAD
 * request only its length.  For every answer of the listener. */
struct evbuffer;
struct evhttp_request;
void httpd_send(struct evhttp_request *req, int code, const char *reason,
                struct evbuffer *out);

/* Close the listener and every connection.  NULL is a no-op. */
void httpd_free(struct httpd *h);

#endif /* PW_HTTPD_H */
