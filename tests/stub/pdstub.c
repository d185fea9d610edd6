/* pdstub.c -- a loopback stand-in for PagerDuty's Events API (and for any
 * webhook) in the tests.
 *
 *   pdstub --listen 127.0.0.1:0 --port-file F --log FILE
 *
 * Every request but the control ones below is recorded as one JSON line
 * in FILE, written and flushed before the answer leaves:
 *
 *   {"method":"POST","path":"/v2/enqueue","headers":{...},
 *    "body":"<the body, as a JSON string>","status":202}
 *
 * Each POST is answered with the status at the head of a queue, each
 * queued status used once, then the default (202 at start).  202 (and
 * any 2xx) carries PagerDuty's {"status":"success","message":"Event
 * processed","dedup_key":...}, 400 its {"status":"invalid event",...},
 * 429 its throttle body.  Other methods are answered 405.
 *
 *   POST /_answers  body "429 500 202": replaces the queue
 *   POST /_default  body "500": sets the default
 *
 * Only loopback addresses are accepted for --listen: what a test points
 * at the stub must never be reachable from elsewhere.  SIGTERM or SIGINT
 * ends it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jq.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "json.h"

#define STUB_QUEUE_MAX 256
#define STUB_BODY_MAX  (1 << 20)

struct stub {
    struct event_base *base;
    FILE *log;
    int queue[STUB_QUEUE_MAX];
    size_t qhead, qlen;
    int fallback; /* the default status */
};

/* Parse "429 500 202" into <out>; the count, or -1 when a token is not a
 * status between 100 and 599 or there are too many. */
static int parse_statuses(const char *s, int *out, size_t max)
{
    size_t n = 0;
    char *end;
    long v;

    for (;;) {
        while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == ',')
            s++;
        if (*s == '\0')
            return (int)n;
        errno = 0;
        v = strtol(s, &end, 10);
        if (end == s || errno || v < 100 || v > 599 || n >= max)
            return -1;
        out[n++] = (int)v;
        s = end;
    }
}

static char *body_of(struct evhttp_request *req, size_t *len)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    char *s = malloc(n + 1);

    if (s == NULL)
        return NULL;
    evbuffer_copyout(in, s, n);
    s[n] = '\0';
    *len = n;
    return s;
}

static void reply(struct evhttp_request *req, int status, const char *body)
{
    struct evbuffer *out = evbuffer_new();

    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "application/json");
    if (out)
        evbuffer_add(out, body, strlen(body));
    evhttp_send_reply(req, status, status < 300 ? "OK" : "Stub", out);
    if (out)
        evbuffer_free(out);
}

static void control(struct stub *st, struct evhttp_request *req,
                    const char *path, const char *body)
{
    int statuses[STUB_QUEUE_MAX];
    int n = parse_statuses(body, statuses, STUB_QUEUE_MAX);

    if (n < 0 || (strcmp(path, "/_default") == 0 && n != 1)) {
        reply(req, 400, "{\"error\":\"statuses from 100 to 599\"}");
        return;
    }
    if (strcmp(path, "/_default") == 0) {
        st->fallback = statuses[0];
    } else if (strcmp(path, "/_answers") == 0) {
        memcpy(st->queue, statuses, (size_t)n * sizeof(int));
        st->qhead = 0;
        st->qlen = (size_t)n;
    } else {
        reply(req, 404, "{\"error\":\"no such control\"}");
        return;
    }
    reply(req, 200, "{\"ok\":true}");
}

static int next_status(struct stub *st)
{
    int s;

    if (st->qlen == 0)
        return st->fallback;
    s = st->queue[st->qhead++];
    st->qlen--;
    return s;
}

/* PagerDuty's answer for <status>, echoing the event's dedup key. */
static void answer_body(int status, const char *body, size_t len,
                        struct jw *out)
{
    jv v = jv_parse_sized(body, (int)len);
    jv key = jv_invalid();

    if (jv_get_kind(v) == JV_KIND_OBJECT)
        key = jv_object_get(jv_copy(v), jv_string("dedup_key"));
    jv_free(v);
    jw_open(out);
    if (status >= 200 && status < 300) {
        jw_kstr(out, "status", "success");
        jw_kstr(out, "message", "Event processed");
        if (jv_get_kind(key) == JV_KIND_STRING)
            jw_kstr(out, "dedup_key", jv_string_value(key));
    } else if (status == 400) {
        jw_kstr(out, "status", "invalid event");
        jw_kstr(out, "message", "Event object is invalid");
        jw_key(out, "errors");
        jw_open_array(out);
        jw_str(out, "Length of 'routing_key' is incorrect (should be 32 "
                    "characters)");
        jw_close_array(out);
    } else if (status == 429) {
        jw_kstr(out, "status", "throttle event");
        jw_kstr(out, "message",
                "Requests for this service are arriving "
                "too quickly. Please retry later.");
    } else {
        jw_kstr(out, "status", "error");
        jw_kstr(out, "message", "stub answer");
    }
    jw_close(out);
    jv_free(key);
}

static const char *method_name(enum evhttp_cmd_type m)
{
    switch (m) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    default:
        return "OTHER";
    }
}

static void record(struct stub *st, struct evhttp_request *req,
                   const char *path, const char *body, size_t len, int status)
{
    struct evkeyvalq *hs = evhttp_request_get_input_headers(req);
    struct evkeyval *kv;
    struct jw line;

    jw_init(&line);
    jw_open(&line);
    jw_kstr(&line, "method", method_name(evhttp_request_get_command(req)));
    jw_kstr(&line, "path", path);
    jw_key(&line, "headers");
    jw_open(&line);
    for (kv = hs->tqh_first; kv; kv = kv->next.tqe_next)
        jw_kstr(&line, kv->key, kv->value);
    jw_close(&line);
    jw_key(&line, "body");
    jw_strn(&line, body, len);
    jw_kint(&line, "status", status);
    jw_close(&line);
    if (!jw_failed(&line)) {
        fprintf(st->log, "%s\n", line.buf);
        fflush(st->log);
    }
    jw_release(&line);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct stub *st = arg;
    const char *uri = evhttp_request_get_uri(req);
    struct evhttp_uri *parsed = evhttp_uri_parse(uri);
    const char *path = parsed ? evhttp_uri_get_path(parsed) : NULL;
    int post = evhttp_request_get_command(req) == EVHTTP_REQ_POST;
    size_t len = 0;
    char *body = body_of(req, &len);
    struct jw out;
    int status;

    if (path == NULL || path[0] == '\0')
        path = "/";
    if (body == NULL) {
        reply(req, 500, "{\"error\":\"out of memory\"}");
    } else if (post && strncmp(path, "/_", 2) == 0) {
        control(st, req, path, body);
    } else {
        status = post ? next_status(st) : 405;
        jw_init(&out);
        if (post)
            answer_body(status, body, len, &out);
        else
            jw_raw(&out, "{\"error\":\"POST only\"}", 21);
        /* Recorded before the answer: once a client has its answer, the
         * log already shows the request. */
        record(st, req, path, body, len, status);
        reply(req, status, jw_failed(&out) ? "{}" : out.buf);
        jw_release(&out);
    }
    free(body);
    if (parsed)
        evhttp_uri_free(parsed);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct stub *st = arg;

    (void)sig;
    (void)what;
    event_base_loopexit(st->base, NULL);
}

static int loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;

    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return 0;
}

/* Write <port> to <path> whole: a test polling the file never reads half
 * a number. */
static int write_port(const char *path, int port)
{
    char tmp[4096];
    FILE *f;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return -1;
    f = fopen(tmp, "w");
    if (f == NULL)
        return -1;
    fprintf(f, "%d\n", port);
    if (fclose(f) != 0)
        return -1;
    return rename(tmp, path);
}

static int usage(void)
{
    fprintf(stderr, "usage: pdstub --listen 127.0.0.1:PORT "
                    "[--port-file FILE] [--log FILE]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *listen = NULL, *port_file = NULL, *log_path = NULL;
    struct evhttp_bound_socket *sock;
    struct event *sigint, *sigterm;
    struct sockaddr_storage ss;
    ev_socklen_t sslen = sizeof(ss);
    struct stub st;
    struct evhttp *http;
    char host[64];
    const char *colon;
    int i, port;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc)
            listen = argv[++i];
        else if (strcmp(argv[i], "--port-file") == 0 && i + 1 < argc)
            port_file = argv[++i];
        else if (strcmp(argv[i], "--log") == 0 && i + 1 < argc)
            log_path = argv[++i];
        else
            return usage();
    }
    if (listen == NULL)
        return usage();
    colon = strrchr(listen, ':');
    if (colon == NULL || (size_t)(colon - listen) >= sizeof(host))
        return usage();
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    if (host[0] == '[' && colon[-1] == ']') {
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = '\0';
    }
    if (!loopback(host)) {
        fprintf(stderr, "pdstub: %s is not a loopback address\n", host);
        return 2;
    }
    port = atoi(colon + 1);
    memset(&st, 0, sizeof(st));
    st.fallback = 202;
    st.log = log_path ? fopen(log_path, "a") : stdout;
    if (st.log == NULL) {
        fprintf(stderr, "pdstub: %s: %s\n", log_path, strerror(errno));
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    st.base = event_base_new();
    http = st.base ? evhttp_new(st.base) : NULL;
    if (http == NULL) {
        fprintf(stderr, "pdstub: cannot set up libevent\n");
        return 1;
    }
    evhttp_set_gencb(http, on_request, &st);
    evhttp_set_max_body_size(http, STUB_BODY_MAX);
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
                                         EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                         EVHTTP_REQ_HEAD);
    sock = evhttp_bind_socket_with_handle(http, host, (ev_uint16_t)port);
    if (sock == NULL) {
        fprintf(stderr, "pdstub: cannot listen on %s: %s\n", listen,
                strerror(errno));
        return 1;
    }
    getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&ss,
                &sslen);
    port =
        ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                       : ((struct sockaddr_in *)&ss)->sin_port);
    if (port_file && write_port(port_file, port) != 0) {
        fprintf(stderr, "pdstub: cannot write %s: %s\n", port_file,
                strerror(errno));
        return 1;
    }
    sigint = evsignal_new(st.base, SIGINT, on_signal, &st);
    sigterm = evsignal_new(st.base, SIGTERM, on_signal, &st);
    evsignal_add(sigint, NULL);
    evsignal_add(sigterm, NULL);
    event_base_dispatch(st.base);
    event_free(sigint);
    event_free(sigterm);
    evhttp_free(http);
    event_base_free(st.base);
    if (st.log != stdout)
        fclose(st.log);
    return 0;
}
