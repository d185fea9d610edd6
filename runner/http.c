/* http.c -- building curl transfers and collecting capped responses. */
#include <ctype.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http.h"
#include "xalloc.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.0.0"
#endif

struct http_client {
    struct loop *loop;
    CURL *easy;
    struct curl_slist *headers;
    char *body;
    struct http_resp resp;
    size_t body_cap;
    size_t header_cap, line_cap;
    size_t header_bytes;
    int headers_ended; /* the blank line after the headers came */
    int want_cert;
    http_done_fn *done;
    void *arg;
    int configured; /* the per-run options are set */
    int tls_custom; /* TLS options of a target set: never a spare */
    int in_multi;   /* the transfer is in the loop: http_abort() may stop it */
};

static void resp_clear(struct http_resp *r)
{
    size_t i;

    for (i = 0; i < r->nheaders; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    free(r->headers);
    r->headers = NULL;
    r->nheaders = 0;
}

struct http_client *http_client_new(struct loop *l)
{
    struct http_client *c = xcalloc(1, sizeof(*c));

    c->loop = l;
    /* A spare was configured by an earlier run for a target without TLS
     * options of its own, and its cookies were erased when it was given
     * back: only the pointers to its client need setting again. */
    c->easy = loop_spare_take(l);
    if (c->easy) {
        c->configured = 1;
        curl_easy_setopt(c->easy, CURLOPT_ERRORBUFFER, c->resp.error);
        curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c);
        curl_easy_setopt(c->easy, CURLOPT_HEADERDATA, c);
    } else
        c->easy = curl_easy_init();
    if (c->easy == NULL) {
        fprintf(stderr, "prodwatch: cannot create a curl handle\n");
        abort();
    }
    sbuf_init(&c->resp.body, 0);
    return c;
}

void http_client_free(struct http_client *c)
{
    if (c == NULL)
        return;
    /* A run's cookie jar is its own: erased before anyone else's run. */
    if (!c->in_multi && c->configured && !c->tls_custom &&
        curl_easy_setopt(c->easy, CURLOPT_COOKIELIST, "ALL") == CURLE_OK &&
        loop_spare_give(c->loop, c->easy))
        c->easy = NULL;
    else
        curl_easy_cleanup(c->easy);
    curl_slist_free_all(c->headers);
    free(c->body);
    resp_clear(&c->resp);
    sbuf_release(&c->resp.body);
    free(c);
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct http_client *c = arg;
    struct sbuf *body = &c->resp.body;

    /* Sized once from Content-Length (the decoded length may differ; the
     * buffer still grows by doubling), rather than doubled up from 64
     * bytes with a copy at each step. */
    if (body->len == 0) {
        curl_off_t length = -1;

        if (curl_easy_getinfo(c->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T,
                              &length) == CURLE_OK &&
            length > 0 && (size_t)length <= c->body_cap)
            sbuf_reserve(body, (size_t)length + HTTP_BODY_SLACK);
    }
    if (sbuf_add(body, data, n) != PW_OK) {
        c->resp.too_big = HTTP_TOO_BIG_BODY;
        return 0; /* makes curl stop with CURLE_WRITE_ERROR */
    }
    (void)size;
    return n;
}

static long cert_days_left(CURL *easy);

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
    struct http_client *c = arg;
    struct http_resp *r = &c->resp;
    size_t len = n, name_len;
    const char *colon;

    (void)size;
    /* A new status line starts a new response (100 Continue). */
    if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        resp_clear(r);
        c->header_bytes = 0;
        c->headers_ended = 0;
        /* The connection is known now, handshake or not: read its
         * certificate while curl still holds it. */
        if (c->want_cert)
            r->cert_days_left = cert_days_left(c->easy);
        return n;
    }
    if ((len == 2 && data[0] == '\r' && data[1] == '\n') ||
        (len == 1 && data[0] == '\n')) {
        c->headers_ended = 1;
        return n;
    }
    c->header_bytes += len;
    if (c->header_bytes > c->header_cap || r->nheaders >= HTTP_MAX_HEADERS ||
        len > c->line_cap) {
        r->too_big = HTTP_TOO_BIG_HEADERS;
        return 0;
    }
    while (len > 0 && (data[len - 1] == '\r' || data[len - 1] == '\n'))
        len--;
    colon = memchr(data, ':', len);
    if (colon == NULL)
        return n;
    name_len = (size_t)(colon - data);
    colon++;
    while (colon < data + len && (*colon == ' ' || *colon == '\t'))
        colon++;
    r->headers = xrealloc(r->headers, (r->nheaders + 1) * sizeof(*r->headers));
    r->headers[r->nheaders].name = xstrndup(data, name_len);
    r->headers[r->nheaders].value =
        xstrndup(colon, (size_t)(data + len - colon));
    r->nheaders++;
    return n;
}

const char *http_resp_header(const struct http_resp *r, const char *name)
{
    size_t i;

    for (i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

/* Days until the leaf certificate of the connection <easy> is using
 * expires (negative once it has), or HTTP_CERT_UNKNOWN without TLS.  Read
 * from the TLS session itself rather than curl's certinfo, which is only
 * filled when a handshake happens: a reused connection has one too. */
static long cert_days_left(CURL *easy)
{
    struct curl_tlssessioninfo *ti = NULL;
    X509 *cert;
    int days = 0, secs = 0;
    long out = HTTP_CERT_UNKNOWN;

    if (curl_easy_getinfo(easy, CURLINFO_TLS_SSL_PTR, &ti) != CURLE_OK ||
        ti == NULL || ti->backend != CURLSSLBACKEND_OPENSSL ||
        ti->internals == NULL)
        return HTTP_CERT_UNKNOWN;
    cert = SSL_get1_peer_certificate((SSL *)ti->internals);
    if (cert == NULL)
        return HTTP_CERT_UNKNOWN;
    if (ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(cert)))
        out = days;
    X509_free(cert);
    return out;
}

static double info_ms(CURL *easy, CURLINFO what)
{
    curl_off_t us = 0;

    curl_easy_getinfo(easy, what, &us);
    return (double)us / 1000.0;
}

static void on_done(CURL *easy, CURLcode result, void *arg)
{
    struct http_client *c = arg;
    struct http_resp *r = &c->resp;

    c->in_multi = 0;
    r->result = result;
    if (result == CURLE_ABORTED_BY_CALLBACK && r->error[0] == '\0')
        snprintf(r->error, sizeof(r->error), "the transfer was aborted");
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &r->status);
    r->dns_ms = info_ms(easy, CURLINFO_NAMELOOKUP_TIME_T);
    r->connect_ms = info_ms(easy, CURLINFO_CONNECT_TIME_T);
    r->tls_ms = info_ms(easy, CURLINFO_APPCONNECT_TIME_T);
    r->first_byte_ms = info_ms(easy, CURLINFO_STARTTRANSFER_TIME_T);
    r->total_ms = info_ms(easy, CURLINFO_TOTAL_TIME_T);
    long sent = 0;

    curl_easy_getinfo(easy, CURLINFO_REQUEST_SIZE, &sent);
    r->request_sent = sent > 0;
    /* curl calls a response cut off after its status line a success:
     * the header block never ended, so nothing of it can be trusted. */
    if (result == CURLE_OK && !c->headers_ended) {
        r->result = CURLE_PARTIAL_FILE;
        snprintf(r->error, sizeof(r->error),
                 "the response ended before its headers did");
    }
    c->done(c, r, c->arg);
}

static void on_add_failed(void *arg)
{
    struct http_client *c = arg;

    c->resp.result = CURLE_FAILED_INIT;
    snprintf(c->resp.error, sizeof(c->resp.error),
             "could not start the transfer");
    c->done(c, &c->resp, c->arg);
}

/* Whether the environment names a proxy curl would use. */
static int proxy_in_env(void)
{
    static int known, found;
    static const char *const names[] = { "http_proxy", "https_proxy",
                                         "HTTPS_PROXY", "all_proxy",
                                         "ALL_PROXY" };
    size_t i;

    if (!known) {
        for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
            if (getenv(names[i]) && *getenv(names[i]))
                found = 1;
        known = 1;
    }
    return found;
}

void http_send(struct http_client *c, const struct http_req *req,
               http_done_fn *done, void *arg)
{
    CURL *e = c->easy;
    size_t i;
    int own_agent = 0;

    /* No curl_easy_reset() between requests: it would drop the list of
     * cookie files curl keeps (a leak in libcurl 7.88).  Every option that
     * can differ between two requests of a run is set each time instead;
     * the TLS settings come from the run's target and never change. */
    curl_slist_free_all(c->headers);
    c->headers = NULL;
    free(c->body);
    c->body = NULL;
    resp_clear(&c->resp);
    sbuf_release(&c->resp.body);
    c->body_cap = req->body_cap ? req->body_cap : HTTP_BODY_CAP;
    sbuf_init(&c->resp.body, c->body_cap);
    c->header_cap = req->header_cap ? req->header_cap : HTTP_HEADERS_CAP;
    c->line_cap =
        c->header_cap > HTTP_HEADERS_CAP ? c->header_cap : HTTP_HEADER_CAP;
    c->resp.too_big = 0;
    c->resp.status = 0;
    c->resp.error[0] = '\0';
    c->resp.cert_days_left = HTTP_CERT_UNKNOWN;
    c->resp.request_sent = 0;
    c->header_bytes = 0;
    c->headers_ended = 0;
    c->want_cert = req->want_cert;
    c->done = done;
    c->arg = arg;

    if (!c->configured) {
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->resp.error);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
        curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        /* Without proxy variables, say so once: curl would otherwise
         * read five of them from the environment at every request. */
        if (!proxy_in_env()) {
            curl_easy_setopt(e, CURLOPT_PROXY, "");
            curl_easy_setopt(e, CURLOPT_NOPROXY, "");
        }
        curl_easy_setopt(e, CURLOPT_COOKIEFILE, ""); /* the run's jar */
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(e, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS);
        curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
        /* A large body arrives in a quarter of the reads and callbacks of
         * curl's 16 KiB default; the pages are only touched as far as a
         * read fills them. */
        curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 262144L);
        curl_easy_setopt(e, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
        c->configured = 1;
    }
    /* A handle never leaves a run, and a run never changes target; a
     * spare comes from a run without TLS options, so setting them here
     * once is enough. */
    if (!c->tls_custom &&
        (req->ca_file || req->client_cert || req->client_key || req->insecure)) {
        if (req->ca_file)
            curl_easy_setopt(e, CURLOPT_CAINFO, req->ca_file);
        if (req->client_cert)
            curl_easy_setopt(e, CURLOPT_SSLCERT, req->client_cert);
        if (req->client_key)
            curl_easy_setopt(e, CURLOPT_SSLKEY, req->client_key);
        if (req->insecure) {
            curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
            curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
        }
        c->tls_custom = 1;
    }
    curl_easy_setopt(e, CURLOPT_URL, req->url);
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L); /* forget the last body */
    curl_easy_setopt(e, CURLOPT_NOBODY,
                     strcmp(req->method, "HEAD") == 0 ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)req->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)req->connect_timeout_ms);
    /* Redirects are followed by the caller, hop by hop, through the
     * throttle. */
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_USERNAME, req->user);
    curl_easy_setopt(e, CURLOPT_PASSWORD, req->user ? req->password : NULL);
    for (i = 0; i < req->nheaders; i++) {
        c->headers = curl_slist_append(c->headers, req->headers[i]);
        if (strncasecmp(req->headers[i], "User-Agent:", 11) == 0)
            own_agent = 1;
    }
    /* A header rather than CURLOPT_USERAGENT, which curl formats again
     * for every request. */
    if (!own_agent)
        c->headers = curl_slist_append(c->headers,
                                       "User-Agent: prodwatch/" PACKAGE_VERSION);
    if (req->test_id) {
        struct sbuf h = SBUF_INIT;

        sbuf_adds(&h, "X-Prodwatch-Probe: ");
        sbuf_adds(&h, req->test_id);
        c->headers = curl_slist_append(c->headers, h.buf);
        sbuf_release(&h);
    }
    if (req->body) {
        c->body = xstrndup(req->body, req->body_len);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)req->body_len);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, c->body);
    }
    /* After the body: POSTFIELDS switches the method to POST. */
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
    /* curl adds "Expect: 100-continue" to large bodies; probes should not
     * pay a round trip for it. */
    c->headers = curl_slist_append(c->headers, "Expect:");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->headers);
    if (loop_add(c->loop, e, on_done, c) != PW_OK)
        loop_after(c->loop, 0, on_add_failed, c);
    else
        c->in_multi = 1;
}

int http_abort(struct http_client *c)
{
    if (!c->in_multi || !loop_abort(c->loop, c->easy))
        return 0;
    c->in_multi = 0;
    return 1;
}
