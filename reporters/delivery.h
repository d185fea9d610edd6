/* delivery.h -- what the HTTP reporters share: requests in flight and the
 * meaning of an answer.
 *
 * A struct dv lives in the plugin instance.  dv_post() starts a request
 * through the host and keeps its body until the answer; the host cancels
 * whatever is still in flight, without callbacks, before the plugin's
 * destroy(), which then calls dv_release() to free those requests.
 *
 * Compiled into each plugin; every symbol is hidden.
 */
#ifndef PW_REPORTERS_DELIVERY_H
#define PW_REPORTERS_DELIVERY_H

#include <stddef.h>

#include "prodwatch/reporter.h"

#define DV_HIDDEN __attribute__((visibility("hidden")))

/* Retry-After values past this are clamped: an hour is already longer
 * than any page should wait. */
#define DV_RETRY_AFTER_MAX_MS 3600000UL

struct dv_call;

struct dv {
    struct pw_host *h;
    const struct pw_host_api *api;
    struct dv_call *calls; /* in flight */
    unsigned ncalls;
};

/* Runs once per answer, from the loop: <self> and <token> as given to
 * dv_post(), <r> the host's (borrowed for the call). */
typedef void dv_done_fn(void *self, void *token,
                        const struct pw_http_response *r);

DV_HIDDEN void dv_init(struct dv *d, struct pw_host *h,
                       const struct pw_host_api *api);

/* Free every request still recorded (the host has cancelled them). */
DV_HIDDEN void dv_release(struct dv *d);

/* POST <len> bytes of <body> (taken: freed after the answer) to <url> with
 * <nheaders> <headers> ("Name: value"; copied, so they may be the
 * caller's stack).
 * <done> runs later with <self> and <token>.  Returns 0, or -1 when the
 * request could not start (<body> is freed, <done> never runs). */
DV_HIDDEN int dv_post(struct dv *d, const char *url, const char *const *headers,
                      size_t nheaders, char *body, size_t len, dv_done_fn *done,
                      void *self, void *token);

/* Flags for dv_judge(). */
#define DV_RETRY_408 1 /* a request timeout is worth another try */

/* The outcome an answer means: 2xx delivered; no answer, 429 and 5xx
 * retried (<*retry_ms> from Retry-After in seconds, else 0); 408 retried
 * with DV_RETRY_408; anything else (other 4xx, a redirect) rejected.
 * <why> (<whysz> bytes) says what came back, for the log. */
DV_HIDDEN enum pw_outcome dv_judge(const struct pw_http_response *r, int flags,
                                   char *why, size_t whysz,
                                   unsigned long *retry_ms);

#endif /* PW_REPORTERS_DELIVERY_H */
