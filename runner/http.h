/* http.h -- one probe HTTP exchange over the loop, with capped response.
 *
 * An http_client is the easy handle of one scenario run: every request of
 * the run (steps, retries and cleanups) goes through it in turn, so the
 * run has one cookie jar and keeps its connections warm.  A request is
 * described by plain rendered values (struct http_req); the response is
 * collected under hard caps -- the body (default 1 MiB), the number and
 * size of headers -- and a transfer that passes a cap stops at once with
 * <too_big> set, so a hostile target can never exhaust memory.
 *
 * Every request carries "User-Agent: prodwatch/VERSION" and, when a test id
 * is given, "X-Prodwatch-Probe: <test id>".
 */
#ifndef PW_HTTP_H
#define PW_HTTP_H

#include <curl/curl.h>
#include <limits.h>
#include <stddef.h>

#include "loop.h"
#include "sbuf.h"

#define HTTP_BODY_CAP    (1u << 20)
#define HTTP_MAX_HEADERS 100
#define HTTP_HEADER_CAP  (16u << 10)           /* one header line, by default */
#define HTTP_HEADERS_CAP (HTTP_HEADER_CAP * 4) /* all of them, by default */
/* Room a response body keeps after its end, so that a parser reading in
 * blocks (fastjson_parse_in_place()) need not copy it. */
#define HTTP_BODY_SLACK 64

#define HTTP_TOO_BIG_BODY    1
#define HTTP_TOO_BIG_HEADERS 2

struct http_header {
    char *name;
    char *value;
};

struct http_req {
    const char *method;
    const char *url;
    const char *const *headers; /* "Name: value" strings */
    size_t nheaders;
    const char *body; /* NULL: no body */
    size_t body_len;
    const char *user, *password; /* basic auth when user != NULL */
    unsigned long timeout_ms;
    unsigned long connect_timeout_ms; /* 0: curl's default */
    const char *ca_file, *client_cert, *client_key;
    int insecure;
    int want_cert; /* fill cert_days_left */
    const char *test_id;
    size_t body_cap; /* 0: HTTP_BODY_CAP */
    /* Bytes of header lines in all; 0: HTTP_HEADERS_CAP.  A cap above the
     * default also lifts the HTTP_HEADER_CAP on one line to itself. */
    size_t header_cap;
};

struct http_resp {
    CURLcode result; /* CURLE_OK when a response came back */
    char error[CURL_ERROR_SIZE];
    long status;
    struct sbuf body;
    int too_big; /* 0, or which cap was passed: HTTP_TOO_BIG_* */
    struct http_header *headers;
    size_t nheaders;
    double dns_ms, connect_ms, tls_ms, first_byte_ms, total_ms;
    long cert_days_left; /* HTTP_CERT_UNKNOWN when no certificate */
    int request_sent;    /* the request left: the server may have acted */
};

#define HTTP_CERT_UNKNOWN LONG_MIN

struct http_client;

/* Called when the exchange is over, whatever its outcome; <resp> is
 * borrowed until the next request or http_client_free(). */
typedef void http_done_fn(struct http_client *c, const struct http_resp *resp,
                          void *arg);

/* A client for one run on <l>; free with http_client_free(). */
struct http_client *http_client_new(struct loop *l);

/* Release <c>; it must not have a request in flight.  NULL is a no-op. */
void http_client_free(struct http_client *c);

/* Send <req> (copied as needed); <done> is called from the loop later,
 * never from inside this call.  One request at a time per client. */
void http_send(struct http_client *c, const struct http_req *req,
               http_done_fn *done, void *arg);

/* End <c>'s request in flight now instead of at its timeout: its <done>
 * is called from the loop, never inside this call, with <result>
 * CURLE_ABORTED_BY_CALLBACK (<request_sent> says whether it had left).
 * Returns 1, or 0 when no request is in flight. */
int http_abort(struct http_client *c);

/* The value of header <name> (case-insensitive) in <r>, or NULL. */
const char *http_resp_header(const struct http_resp *r, const char *name);

#endif /* PW_HTTP_H */
