/* statuspage.h -- the status page the HTTP listener serves at "/".
 *
 * The page is three static files built into the binary (statuspage.html,
 * .css and .js, turned into C at build time by embed.sh): it asks the
 * listener for /api/status (same origin) and draws everything itself, so
 * nothing here depends on the runner's state and the page never asks
 * another host for anything.
 *
 * Each file is answered with its type, "Cache-Control: no-cache" and an
 * ETag (a hash of its bytes: a conditional request that matches is a
 * 304), and with strict headers: a Content-Security-Policy allowing only
 * the page's own origin (no inline script or style), nosniff and no
 * referrer.
 */
#ifndef PW_STATUSPAGE_H
#define PW_STATUSPAGE_H

#include <stddef.h>

struct evhttp_request;

/* One embedded file.  A value; what it points to is static. */
struct statuspage_file {
    const char *path; /* as requested: "/", "/statuspage.css", ... */
    const char *type; /* Content-Type */
    const unsigned char *data;
    size_t len;
};

/* Fill *<f> with the file served at <path>: 1, or 0 when <path> is none
 * of them. */
int statuspage_find(const char *path, struct statuspage_file *f);

/* Length of an ETag with its quotes and NUL. */
#define STATUSPAGE_ETAG_LEN 20

/* Write the ETag of <f> ("\"" 16 hex digits "\"") into <buf>. */
void statuspage_etag(const struct statuspage_file *f,
                     char buf[STATUSPAGE_ETAG_LEN]);

/* Answer <req> (GET or HEAD) with the file at <path>: 1 when it is one
 * of the page's, else 0 and <req> is left untouched. */
int statuspage_serve(struct evhttp_request *req, const char *path);

/* A Content-Security-Policy for a page with no script at all and its
 * style inline (the living documentation's pages). */
#define STATUSPAGE_CSP_NO_SCRIPT                                             \
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; " \
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/* Add the strict headers every page of the listener carries: <csp> as
 * the Content-Security-Policy, nosniff, no referrer, no framing. */
void statuspage_headers(struct evhttp_request *req, const char *csp);

#endif /* PW_STATUSPAGE_H */
