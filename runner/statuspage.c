/* statuspage.c -- the embedded status page and its headers. */
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "httpd.h"
#include "statuspage.h"

/* From the source embed.sh generates at build time. */
extern const unsigned char embed_statuspage_html[], embed_statuspage_css[],
    embed_statuspage_js[];
extern const size_t embed_statuspage_html_len, embed_statuspage_css_len,
    embed_statuspage_js_len;

/* The script reads /api/status and /api/test/ID (connect-src) and sets
 * colours through the CSSOM, which style-src does not restrict; so no
 * 'unsafe-inline' anywhere. */
#define CSP                                                                  \
    "default-src 'self'; script-src 'self'; style-src 'self'; "              \
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; "          \
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

int statuspage_find(const char *path, struct statuspage_file *f)
{
    /* The lengths live in another unit, so they are no constant
     * expressions: the table is built at each call. */
    const struct statuspage_file files[] = {
        { "/", "text/html; charset=utf-8", embed_statuspage_html,
          embed_statuspage_html_len },
        { "/statuspage.css", "text/css; charset=utf-8", embed_statuspage_css,
          embed_statuspage_css_len },
        { "/statuspage.js", "text/javascript; charset=utf-8",
          embed_statuspage_js, embed_statuspage_js_len },
    };
    size_t i;

    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        if (strcmp(path, files[i].path) == 0) {
            *f = files[i];
            return 1;
        }
    return 0;
}

void statuspage_etag(const struct statuspage_file *f,
                     char buf[STATUSPAGE_ETAG_LEN])
{
    /* FNV-1a: the files are a few tens of KiB, hashed in microseconds,
     * so there is nothing to keep between requests. */
    uint64_t h = 0xcbf29ce484222325ull;
    size_t i;

    for (i = 0; i < f->len; i++) {
        h ^= f->data[i];
        h *= 0x100000001b3ull;
    }
    snprintf(buf, STATUSPAGE_ETAG_LEN, "\"%016llx\"", (unsigned long long)h);
}

int statuspage_serve(struct evhttp_request *req, const char *path)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    struct evkeyvalq *hd = evhttp_request_get_output_headers(req);
    struct statuspage_file f;
    char etag[STATUSPAGE_ETAG_LEN];
    const char *match;

    if (!statuspage_find(path, &f))
        return 0;
    statuspage_etag(&f, etag);
    evhttp_add_header(hd, "Content-Type", f.type);
    evhttp_add_header(hd, "Cache-Control", "no-cache");
    evhttp_add_header(hd, "ETag", etag);
    statuspage_headers(req, CSP);
    match = evhttp_find_header(in, "If-None-Match");
    if (match && strstr(match, etag)) {
        evhttp_send_reply(req, 304, "Not Modified", NULL);
        return 1;
    }
    evbuffer_add_reference(evhttp_request_get_output_buffer(req), f.data,
                           f.len, NULL, NULL);
    httpd_send(req, 200, "OK", evhttp_request_get_output_buffer(req));
    return 1;
}

void statuspage_headers(struct evhttp_request *req, const char *csp)
{
    struct evkeyvalq *hd = evhttp_request_get_output_headers(req);

    evhttp_add_header(hd, "Content-Security-Policy", csp);
    evhttp_add_header(hd, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(hd, "Referrer-Policy", "no-referrer");
    evhttp_add_header(hd, "X-Frame-Options", "DENY");
}
