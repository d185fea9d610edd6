/* demo_shop.c -- a small shop API to probe: the project's demo target.
 *
 * It behaves like a real JSON API (users, login tokens, orders; create,
 * read, list by filter, delete) and can be told to misbehave, so the
 * examples, the tests and the benchmarks have something real to run
 * against on loopback:
 *
 *   POST   /admin/faults  {"path": "/api/orders", "mode": "status",
 *                          "status": 500, "delay_ms": 0, "times": 1}
 *   DELETE /admin/faults  clear every fault
 *   GET    /admin/stats   {"users": N, "orders": N, "requests": N,
 *                          "probes": N, "max_1s": N}
 *                          (probes: requests other than /admin ones)
 *   POST   /admin/reset   forget every record
 *
 * Fault modes: status (answer <status>), slow (wait <delay_ms>, then
 * answer normally), wrong_body (200 with an HTML page), drop (close the
 * connection without answering), huge (a 4 MiB body), trickle (one byte
 * every <delay_ms>).  A fault applies to paths starting with <path>, at
 * most <times> times (0: until cleared).
 *
 * The same misbehaviours are also at fixed addresses, for scenarios that
 * want them without any set-up: /fault/status?code=N, /fault/slow?ms=N,
 * /fault/wrong_body, /fault/drop, /fault/huge, /fault/trickle?ms=N, and
 * /fault/flaky?key=K&fail=N, which answers 503 to the first N requests
 * with key K and 200 after that.
 *
 * And for the client's own features: /util/redirect?to=PATH answers 302
 * to PATH; /util/cookie/set?v=V sets cookie "probe=V"; /util/cookie/get
 * returns the cookie it was sent as {"cookie": "..."}; /util/echo returns
 * the request's URI, method, headers and body as JSON; /util/bytes?body=N
 * &headers=M answers N bytes of body and about M bytes of extra headers
 * (lines of at most 8000 bytes), to try a client's caps (N at most
 * UTIL_MAX_BODY, M at most UTIL_MAX_HEADERS).
 *
 * With --access-log FILE it writes a line per probe request (admin ones
 * excluded): the Unix time of its arrival in milliseconds and its URI, so
 * a test can count the runs of each test and the rate at the target.
 *
 * With --tls it serves HTTPS with a self-signed certificate made at start.
 * It listens on loopback only unless told otherwise.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jv.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#define MAX_RECORDS 100000
#define MAX_FAULTS  16
#define HUGE_BYTES  (4u << 20)
/* /util/bytes: a little over the largest caps a client may set, so that
 * passing one can be tried, and no more. */
#define UTIL_MAX_BODY    (65u << 20)
#define UTIL_MAX_HEADERS (1100u << 10)
#define UTIL_HEADER_LINE 8000

struct user {
    long id;
    char *email, *password, *locale, *plan, *tenant, *token;
};

struct order {
    long id, user_id, quantity;
    char *item, *payment, *shipping, *status;
};

struct fault {
    char path[128];
    char mode[16];
    int status;
    long delay_ms;
    long times; /* remaining; 0 = unlimited */
    int used;
};

struct trickle {
    struct evhttp_request *req;
    struct event *ev;
    long delay_ms;
    int left;
};

struct delayed {
    struct evhttp_request *req;
    struct event *ev;
};

static struct event_base *base;
static struct user *users;
static size_t nusers, users_alloc;
static struct order *orders;
static size_t norders, orders_alloc;
static long next_id = 1;
static struct fault faults[MAX_FAULTS];
static size_t nfaults;
static unsigned long nrequests;

/* The busiest second seen at this target: the most probe requests (admin
 * ones excluded) whose arrival times fit in one window of one second,
 * wherever it starts -- what a rate promise is judged by.  Arrival times
 * of the last second are kept in a ring. */
#define RATE_RING 65536
static double arrivals[RATE_RING];
static size_t arr_head, arr_len;
static unsigned long max_1s, nprobes;
static FILE *access_log;

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);

    if (q == NULL) {
        fprintf(stderr, "demo: out of memory\n");
        abort();
    }
    return q;
}

static char *dup_or_empty(jv v)
{
    char *s;

    if (jv_get_kind(v) == JV_KIND_STRING) {
        s = strdup(jv_string_value(v));
    } else if (jv_get_kind(v) == JV_KIND_NUMBER) {
        char buf[64];

        snprintf(buf, sizeof(buf), "%.17g", jv_number_value(v));
        s = strdup(buf);
    } else {
        s = strdup("");
    }
    jv_free(v);
    if (s == NULL)
        abort();
    return s;
}

static void reply_json(struct evhttp_request *req, int code, jv body)
{
    struct evbuffer *buf = evbuffer_new();
    jv text = jv_dump_string(body, 0);

    evbuffer_add(buf, jv_string_value(text),
                 (size_t)jv_string_length_bytes(jv_copy(text)));
    jv_free(text);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "application/json");
    evhttp_send_reply(req, code,
                      code < 300   ? "OK"
                      : code < 500 ? "Client Error"
                                   : "Server Error",
                      buf);
    evbuffer_free(buf);
}

static void reply_error(struct evhttp_request *req, int code, const char *msg)
{
    reply_json(req, code, JV_OBJECT(jv_string("error"), jv_string(msg)));
}

static jv body_json(struct evhttp_request *req)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    char *data = malloc(len + 1);
    jv v;

    if (data == NULL)
        abort();
    evbuffer_copyout(in, data, len);
    data[len] = '\0';
    v = len ? jv_parse_sized(data, (int)len) : jv_object();
    free(data);
    return v;
}

static jv user_json(const struct user *u)
{
    return JV_OBJECT(jv_string("id"), jv_number((double)u->id),
                     jv_string("email"), jv_string(u->email),
                     jv_string("locale"), jv_string(u->locale),
                     jv_string("plan"), jv_string(u->plan), jv_string("tenant"),
                     jv_string(u->tenant));
}

static jv order_json(const struct order *o)
{
    return JV_OBJECT(
        jv_string("order_id"), jv_number((double)o->id), jv_string("user_id"),
        jv_number((double)o->user_id), jv_string("item"), jv_string(o->item),
        jv_string("quantity"), jv_number((double)o->quantity),
        jv_string("payment"), jv_string(o->payment), jv_string("shipping"),
        jv_string(o->shipping), jv_string("status"), jv_string(o->status));
}

static struct user *find_user(long id)
{
    size_t i;

    for (i = 0; i < nusers; i++)
        if (users[i].id == id)
            return &users[i];
    return NULL;
}

static void free_user(struct user *u)
{
    free(u->email);
    free(u->password);
    free(u->locale);
    free(u->plan);
    free(u->tenant);
    free(u->token);
}

static void free_order(struct order *o)
{
    free(o->item);
    free(o->payment);
    free(o->shipping);
    free(o->status);
}

/* A bearer token, when sent, must be the user's. */
static int auth_ok(struct evhttp_request *req, const struct user *u)
{
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(req),
                                       "Authorization");

    if (h == NULL)
        return 1;
    return strncmp(h, "Bearer ", 7) == 0 && u->token &&
           strcmp(h + 7, u->token) == 0;
}

static void create_user(struct evhttp_request *req)
{
    jv in = body_json(req);
    struct user *u;
    size_t i;

    if (jv_get_kind(in) != JV_KIND_OBJECT) {
        jv_free(in);
        reply_error(req, 400, "body must be a JSON object");
        return;
    }
    if (jv_get_kind(jv_object_get(jv_copy(in), jv_string("email"))) !=
        JV_KIND_STRING) {
        jv_free(in);
        reply_error(req, 422, "email is required");
        return;
    }
    if (nusers >= MAX_RECORDS) {
        jv_free(in);
        reply_error(req, 507, "too many users");
        return;
    }
    if (nusers == users_alloc) {
        users_alloc = users_alloc ? users_alloc * 2 : 64;
        users = xrealloc(users, users_alloc * sizeof(*users));
    }
    u = &users[nusers];
    memset(u, 0, sizeof(*u));
    u->email = dup_or_empty(jv_object_get(jv_copy(in), jv_string("email")));
    for (i = 0; i < nusers; i++)
        if (strcmp(users[i].email, u->email) == 0) {
            free(u->email);
            jv_free(in);
            reply_error(req, 409, "email already registered");
            return;
        }
    u->id = next_id++;
    u->password =
        dup_or_empty(jv_object_get(jv_copy(in), jv_string("password")));
    u->locale = dup_or_empty(jv_object_get(jv_copy(in), jv_string("locale")));
    u->plan = dup_or_empty(jv_object_get(jv_copy(in), jv_string("plan")));
    u->tenant = dup_or_empty(jv_object_get(jv_copy(in), jv_string("tenant")));
    if (u->plan[0] == '\0') {
        free(u->plan);
        u->plan = strdup("free");
    }
    nusers++;
    jv_free(in);
    reply_json(req, 201, user_json(u));
}

static void login(struct evhttp_request *req)
{
    jv in = body_json(req);
    char *email, *password;
    size_t i;

    if (jv_get_kind(in) != JV_KIND_OBJECT) {
        jv_free(in);
        reply_error(req, 400, "body must be a JSON object");
        return;
    }
    email = dup_or_empty(jv_object_get(jv_copy(in), jv_string("email")));
    password = dup_or_empty(jv_object_get(jv_copy(in), jv_string("password")));
    jv_free(in);
    for (i = 0; i < nusers; i++) {
        char tok[64];

        if (strcmp(users[i].email, email) != 0 ||
            strcmp(users[i].password, password) != 0)
            continue;
        snprintf(tok, sizeof(tok), "tok-%ld-%08lx", users[i].id,
                 (unsigned long)random());
        free(users[i].token);
        users[i].token = strdup(tok);
        reply_json(req, 200, JV_OBJECT(jv_string("token"), jv_string(tok)));
        free(email);
        free(password);
        return;
    }
    free(email);
    free(password);
    reply_error(req, 401, "wrong email or password");
}

static void create_order(struct evhttp_request *req)
{
    jv in = body_json(req);
    struct order *o;
    char *uid;
    long user_id;

    if (jv_get_kind(in) != JV_KIND_OBJECT) {
        jv_free(in);
        reply_error(req, 400, "body must be a JSON object");
        return;
    }
    uid = dup_or_empty(jv_object_get(jv_copy(in), jv_string("user_id")));
    user_id = strtol(uid, NULL, 10);
    free(uid);
    if (find_user(user_id) == NULL) {
        jv_free(in);
        reply_error(req, 422, "unknown user_id");
        return;
    }
    if (norders >= MAX_RECORDS) {
        jv_free(in);
        reply_error(req, 507, "too many orders");
        return;
    }
    if (norders == orders_alloc) {
        orders_alloc = orders_alloc ? orders_alloc * 2 : 64;
        orders = xrealloc(orders, orders_alloc * sizeof(*orders));
    }
    o = &orders[norders++];
    o->id = next_id++;
    o->user_id = user_id;
    o->item = dup_or_empty(jv_object_get(jv_copy(in), jv_string("item")));
    o->payment = dup_or_empty(jv_object_get(jv_copy(in), jv_string("payment")));
    o->shipping =
        dup_or_empty(jv_object_get(jv_copy(in), jv_string("shipping")));
    {
        jv q = jv_object_get(jv_copy(in), jv_string("quantity"));

        o->quantity =
            jv_get_kind(q) == JV_KIND_NUMBER ? (long)jv_number_value(q) : 1;
        jv_free(q);
    }
    o->status = strdup(strcmp(o->payment, "invoice") == 0 ? "pending" : "paid");
    jv_free(in);
    reply_json(req, 201, order_json(o));
}

static long path_id(const char *path, const char *prefix)
{
    char *end;
    long id = strtol(path + strlen(prefix), &end, 10);

    return *end == '\0' && id > 0 ? id : -1;
}

static const char *query_param(struct evhttp_request *req, const char *name,
                               struct evkeyvalq *q)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *query = evhttp_uri_get_query(uri);

    TAILQ_INIT(q);
    if (query == NULL || evhttp_parse_query_str(query, q) != 0)
        return NULL;
    return evhttp_find_header(q, name);
}

static void route_users(struct evhttp_request *req, const char *path,
                        enum evhttp_cmd_type cmd)
{
    struct evkeyvalq q;
    long id;
    size_t i;

    if (strcmp(path, "/api/users") == 0) {
        if (cmd == EVHTTP_REQ_POST) {
            create_user(req);
        } else if (cmd == EVHTTP_REQ_GET) {
            const char *email = query_param(req, "email", &q);
            jv list = jv_array();

            for (i = 0; i < nusers; i++)
                if (email == NULL || strcmp(email, users[i].email) == 0)
                    list = jv_array_append(list, user_json(&users[i]));
            evhttp_clear_headers(&q);
            reply_json(req, 200, list);
        } else {
            reply_error(req, 405, "method not allowed");
        }
        return;
    }
    id = path_id(path, "/api/users/");
    for (i = 0; i < nusers; i++)
        if (users[i].id == id)
            break;
    if (i == nusers) {
        reply_error(req, 404, "no such user");
        return;
    }
    if (!auth_ok(req, &users[i])) {
        reply_error(req, 401, "bad token");
        return;
    }
    if (cmd == EVHTTP_REQ_GET) {
        reply_json(req, 200, user_json(&users[i]));
    } else if (cmd == EVHTTP_REQ_DELETE) {
        free_user(&users[i]);
        users[i] = users[--nusers];
        evhttp_send_reply(req, 204, "No Content", NULL);
    } else {
        reply_error(req, 405, "method not allowed");
    }
}

static void route_orders(struct evhttp_request *req, const char *path,
                         enum evhttp_cmd_type cmd)
{
    struct evkeyvalq q;
    long id;
    size_t i;

    if (strcmp(path, "/api/orders") == 0) {
        if (cmd == EVHTTP_REQ_POST) {
            create_order(req);
        } else if (cmd == EVHTTP_REQ_GET) {
            const char *uid = query_param(req, "user_id", &q);
            jv list = jv_array();

            for (i = 0; i < norders; i++)
                if (uid == NULL || strtol(uid, NULL, 10) == orders[i].user_id)
                    list = jv_array_append(list, order_json(&orders[i]));
            evhttp_clear_headers(&q);
            reply_json(req, 200, list);
        } else {
            reply_error(req, 405, "method not allowed");
        }
        return;
    }
    id = path_id(path, "/api/orders/");
    for (i = 0; i < norders; i++)
        if (orders[i].id == id)
            break;
    if (i == norders) {
        reply_error(req, 404, "no such order");
    } else if (cmd == EVHTTP_REQ_GET) {
        reply_json(req, 200, order_json(&orders[i]));
    } else if (cmd == EVHTTP_REQ_DELETE) {
        free_order(&orders[i]);
        orders[i] = orders[--norders];
        evhttp_send_reply(req, 204, "No Content", NULL);
    } else {
        reply_error(req, 405, "method not allowed");
    }
}

static void reset_data(void)
{
    size_t i;

    for (i = 0; i < nusers; i++)
        free_user(&users[i]);
    for (i = 0; i < norders; i++)
        free_order(&orders[i]);
    nusers = norders = 0;
    arr_len = 0;
    max_1s = nprobes = 0;
}

static double mono_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void count_arrival(void)
{
    double now = mono_now();

    while (arr_len && arrivals[arr_head] <= now - 1.0) {
        arr_head = (arr_head + 1) % RATE_RING;
        arr_len--;
    }
    if (arr_len == RATE_RING) { /* more than the ring per second: keep max */
        arr_head = (arr_head + 1) % RATE_RING;
        arr_len--;
    }
    nprobes++;
    arrivals[(arr_head + arr_len) % RATE_RING] = now;
    arr_len++;
    if (arr_len > max_1s)
        max_1s = arr_len;
}

static void route_admin(struct evhttp_request *req, const char *path,
                        enum evhttp_cmd_type cmd)
{
    if (strcmp(path, "/admin/stats") == 0) {
        reply_json(req, 200,
                   JV_OBJECT(jv_string("users"), jv_number((double)nusers),
                             jv_string("orders"), jv_number((double)norders),
                             jv_string("requests"),
                             jv_number((double)nrequests), jv_string("probes"),
                             jv_number((double)nprobes), jv_string("max_1s"),
                             jv_number((double)max_1s)));
    } else if (strcmp(path, "/admin/reset") == 0 && cmd == EVHTTP_REQ_POST) {
        reset_data();
        reply_json(req, 200, JV_OBJECT(jv_string("ok"), jv_true()));
    } else if (strcmp(path, "/admin/faults") == 0 && cmd == EVHTTP_REQ_DELETE) {
        nfaults = 0;
        reply_json(req, 200, JV_OBJECT(jv_string("ok"), jv_true()));
    } else if (strcmp(path, "/admin/faults") == 0 && cmd == EVHTTP_REQ_POST) {
        jv in = body_json(req);
        struct fault *f;
        char *s;

        if (jv_get_kind(in) != JV_KIND_OBJECT || nfaults == MAX_FAULTS) {
            jv_free(in);
            reply_error(req, 400, "a fault is a JSON object");
            return;
        }
        f = &faults[nfaults++];
        memset(f, 0, sizeof(*f));
        s = dup_or_empty(jv_object_get(jv_copy(in), jv_string("path")));
        snprintf(f->path, sizeof(f->path), "%s", s);
        free(s);
        s = dup_or_empty(jv_object_get(jv_copy(in), jv_string("mode")));
        snprintf(f->mode, sizeof(f->mode), "%s", s);
        free(s);
        s = dup_or_empty(jv_object_get(jv_copy(in), jv_string("status")));
        f->status = atoi(s) ? atoi(s) : 500;
        free(s);
        s = dup_or_empty(jv_object_get(jv_copy(in), jv_string("delay_ms")));
        f->delay_ms = atol(s) ? atol(s) : 1000;
        free(s);
        s = dup_or_empty(jv_object_get(jv_copy(in), jv_string("times")));
        f->times = atol(s);
        free(s);
        jv_free(in);
        reply_json(req, 200, JV_OBJECT(jv_string("ok"), jv_true()));
    } else {
        reply_error(req, 404, "no such admin endpoint");
    }
}

/* A query number from 0 to <max>; -1 when it is not one. */
static long query_size(struct evhttp_request *req, const char *name, long max)
{
    struct evkeyvalq q;
    const char *v = query_param(req, name, &q);
    char *end;
    long n = 0;

    if (v) {
        n = strtol(v, &end, 10);
        if (end == v || *end != '\0' || n < 0 || n > max)
            n = -1;
    }
    evhttp_clear_headers(&q);
    return n;
}

static void util_bytes(struct evhttp_request *req)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    long body = query_size(req, "body", UTIL_MAX_BODY);
    long headers = query_size(req, "headers", UTIL_MAX_HEADERS);
    char chunk[UTIL_HEADER_LINE + 1];
    struct evbuffer *b;
    long n;
    int i = 0;

    if (body < 0 || headers < 0) {
        reply_error(req, 400,
                    "body and headers must be byte counts within "
                    "the demo's limits");
        return;
    }
    memset(chunk, 'A', UTIL_HEADER_LINE);
    for (n = headers; n > 0; n -= UTIL_HEADER_LINE) {
        char name[32];

        chunk[n < UTIL_HEADER_LINE ? n : UTIL_HEADER_LINE] = '\0';
        snprintf(name, sizeof(name), "X-Pad-%d", ++i);
        evhttp_add_header(out, name, chunk);
        chunk[n < UTIL_HEADER_LINE ? n : UTIL_HEADER_LINE] = 'A';
    }
    b = evbuffer_new();
    for (n = body; n > 0; n -= UTIL_HEADER_LINE)
        evbuffer_add(b, chunk,
                     n < UTIL_HEADER_LINE ? (size_t)n : UTIL_HEADER_LINE);
    evhttp_add_header(out, "Content-Type", "text/plain");
    evhttp_send_reply(req, 200, "OK", b);
    evbuffer_free(b);
}

static void route_util(struct evhttp_request *req, const char *path)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    struct evkeyvalq q;
    const char *v;

    if (strcmp(path, "/util/redirect") == 0) {
        v = query_param(req, "to", &q);
        evhttp_add_header(out, "Location", v && v[0] == '/' ? v : "/");
        evhttp_send_reply(req, 302, "Found", NULL);
        evhttp_clear_headers(&q);
    } else if (strcmp(path, "/util/cookie/set") == 0) {
        char cookie[256];

        v = query_param(req, "v", &q);
        snprintf(cookie, sizeof(cookie), "probe=%s; Path=/",
                 v && !strpbrk(v, ";\r\n") ? v : "");
        evhttp_add_header(out, "Set-Cookie", cookie);
        reply_json(req, 200, JV_OBJECT(jv_string("ok"), jv_true()));
        evhttp_clear_headers(&q);
    } else if (strcmp(path, "/util/cookie/get") == 0) {
        const char *c = evhttp_find_header(in, "Cookie");
        const char *p = c ? strstr(c, "probe=") : NULL;
        char value[256] = "";

        if (p)
            sscanf(p + 6, "%255[^;]", value);
        reply_json(req, 200, JV_OBJECT(jv_string("cookie"), jv_string(value)));
    } else if (strcmp(path, "/util/bytes") == 0) {
        util_bytes(req);
    } else if (strcmp(path, "/util/echo") == 0) {
        struct evbuffer *body = evhttp_request_get_input_buffer(req);
        size_t len = evbuffer_get_length(body);
        char *data = malloc(len + 1);
        struct evkeyval *h;
        jv headers = jv_object();

        if (data == NULL)
            abort();
        evbuffer_copyout(body, data, len);
        data[len] = '\0';
        TAILQ_FOREACH(h, in, next)
        headers =
            jv_object_set(headers, jv_string(h->key), jv_string(h->value));
        reply_json(req, 200,
                   JV_OBJECT(jv_string("uri"),
                             jv_string(evhttp_request_get_uri(req)),
                             jv_string("method"),
                             jv_number(evhttp_request_get_command(req)),
                             jv_string("headers"), headers, jv_string("body"),
                             jv_string(data)));
        free(data);
    } else {
        reply_error(req, 404, "not found");
    }
}

static void route(struct evhttp_request *req)
{
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);

    if (path == NULL)
        path = "/";
    if (strcmp(path, "/healthz") == 0)
        reply_json(req, 200, JV_OBJECT(jv_string("status"), jv_string("ok")));
    else if (strcmp(path, "/api/login") == 0 && cmd == EVHTTP_REQ_POST)
        login(req);
    else if (strncmp(path, "/api/users", 10) == 0)
        route_users(req, path, cmd);
    else if (strncmp(path, "/api/orders", 11) == 0)
        route_orders(req, path, cmd);
    else if (strncmp(path, "/admin/", 7) == 0)
        route_admin(req, path, cmd);
    else if (strncmp(path, "/util/", 6) == 0)
        route_util(req, path);
    else
        reply_error(req, 404, "not found");
}

static void on_delay_done(evutil_socket_t fd, short what, void *arg)
{
    struct delayed *d = arg;
    const char *path =
        evhttp_uri_get_path(evhttp_request_get_evhttp_uri(d->req));

    (void)fd;
    (void)what;
    if (path && strncmp(path, "/fault/", 7) == 0)
        reply_json(d->req, 200, JV_OBJECT(jv_string("slow"), jv_true()));
    else
        route(d->req);
    event_free(d->ev);
    free(d);
}

static void on_trickle(evutil_socket_t fd, short what, void *arg)
{
    struct trickle *t = arg;
    struct timeval tv = { t->delay_ms / 1000, (t->delay_ms % 1000) * 1000 };
    struct evbuffer *b;

    (void)fd;
    (void)what;
    if (t->left-- <= 0) {
        evhttp_send_reply_end(t->req);
        event_free(t->ev);
        free(t);
        return;
    }
    b = evbuffer_new();
    evbuffer_add(b, "x", 1);
    evhttp_send_reply_chunk(t->req, b);
    evbuffer_free(b);
    evtimer_add(t->ev, &tv);
}

static struct fault *match_fault(const char *path)
{
    size_t i;

    for (i = 0; i < nfaults; i++) {
        struct fault *f = &faults[i];

        if (strncmp(path, f->path, strlen(f->path)) != 0)
            continue;
        if (f->times && f->used >= f->times)
            continue;
        f->used++;
        return f;
    }
    return NULL;
}

#define MAX_FLAKY 1024

struct flaky {
    char key[64];
    long seen;
};

static struct flaky flaky[MAX_FLAKY];
static size_t nflaky;

/* /fault/flaky: fail the first <fail> requests of each key. */
static void fault_flaky(struct evhttp_request *req)
{
    struct evkeyvalq q;
    const char *key = query_param(req, "key", &q);
    const char *fail = evhttp_find_header(&q, "fail");
    long limit = fail ? atol(fail) : 1;
    size_t i;

    for (i = 0; key && i < nflaky; i++)
        if (strcmp(flaky[i].key, key) == 0)
            break;
    if (key && i == nflaky) {
        /* Oldest keys make room: the table is a window, not a log. */
        i = nflaky < MAX_FLAKY ? nflaky++ : (size_t)(random() % MAX_FLAKY);
        snprintf(flaky[i].key, sizeof(flaky[i].key), "%s", key);
        flaky[i].seen = 0;
    }
    if (key && flaky[i].seen++ < limit)
        reply_error(req, 503, "flaky: try again");
    else
        reply_json(req, 200, JV_OBJECT(jv_string("ok"), jv_true()));
    evhttp_clear_headers(&q);
}

static long query_long(struct evhttp_request *req, const char *name,
                       long fallback)
{
    struct evkeyvalq q;
    const char *v = query_param(req, name, &q);
    long n = v ? atol(v) : fallback;

    evhttp_clear_headers(&q);
    return n;
}

static void on_request(struct evhttp_request *req, void *arg)
{
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    struct fault *f;

    (void)arg;
    nrequests++;
    if (path == NULL || strncmp(path, "/admin/", 7) != 0) {
        count_arrival();
        if (access_log) {
            struct timespec ts;

            clock_gettime(CLOCK_REALTIME, &ts);
            fprintf(access_log, "%lld %s\n",
                    (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000,
                    evhttp_request_get_uri(req));
        }
    }
    if (path && strncmp(path, "/fault/", 7) == 0) {
        static struct fault fixed;

        memset(&fixed, 0, sizeof(fixed));
        snprintf(fixed.mode, sizeof(fixed.mode), "%s", path + 7);
        fixed.status = (int)query_long(req, "code", 500);
        fixed.delay_ms = query_long(req, "ms", 1000);
        if (strcmp(fixed.mode, "flaky") == 0) {
            fault_flaky(req);
            return;
        }
        f = &fixed;
    } else {
        f = path && strncmp(path, "/admin/", 7) != 0 ? match_fault(path) : NULL;
    }
    if (f == NULL) {
        route(req);
        return;
    }
    if (strcmp(f->mode, "status") == 0) {
        reply_error(req, f->status, "injected fault");
    } else if (strcmp(f->mode, "wrong_body") == 0) {
        struct evbuffer *b = evbuffer_new();

        evbuffer_add_printf(b, "<html><body>Maintenance</body></html>");
        evhttp_add_header(evhttp_request_get_output_headers(req),
                          "Content-Type", "text/html");
        evhttp_send_reply(req, 200, "OK", b);
        evbuffer_free(b);
    } else if (strcmp(f->mode, "drop") == 0) {
        evhttp_connection_free(evhttp_request_get_connection(req));
    } else if (strcmp(f->mode, "huge") == 0) {
        struct evbuffer *b = evbuffer_new();
        char chunk[4096];
        size_t n;

        memset(chunk, 'A', sizeof(chunk));
        for (n = 0; n < HUGE_BYTES; n += sizeof(chunk))
            evbuffer_add(b, chunk, sizeof(chunk));
        evhttp_send_reply(req, 200, "OK", b);
        evbuffer_free(b);
    } else if (strcmp(f->mode, "slow") == 0) {
        struct delayed *d = calloc(1, sizeof(*d));
        struct timeval tv = { f->delay_ms / 1000, (f->delay_ms % 1000) * 1000 };

        d->req = req;
        d->ev = evtimer_new(base, on_delay_done, d);
        evtimer_add(d->ev, &tv);
    } else if (strcmp(f->mode, "trickle") == 0) {
        struct trickle *t = calloc(1, sizeof(*t));
        struct timeval now = { 0, 0 };

        t->req = req;
        t->delay_ms = f->delay_ms;
        t->left = 1000;
        t->ev = evtimer_new(base, on_trickle, t);
        evhttp_send_reply_start(req, 200, "OK");
        evtimer_add(t->ev, &now);
    } else {
        route(req);
    }
}

/* ---- TLS ---- */

static SSL_CTX *make_tls_context(void)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *cert = X509_new();
    X509_NAME *name;

    if (ctx == NULL || key == NULL || cert == NULL)
        return NULL;
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 30L * 24 * 3600);
    X509_set_pubkey(cert, key);
    name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               (const unsigned char *)"localhost", -1, -1, 0);
    X509_set_issuer_name(cert, name);
    if (!X509_sign(cert, key, EVP_sha256()) ||
        SSL_CTX_use_certificate(ctx, cert) != 1 ||
        SSL_CTX_use_PrivateKey(ctx, key) != 1)
        return NULL;
    X509_free(cert);
    EVP_PKEY_free(key);
    return ctx;
}

static struct bufferevent *make_tls_bev(struct event_base *b, void *arg)
{
    return bufferevent_openssl_socket_new(
        b, -1, SSL_new(arg), BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    (void)arg;
    event_base_loopexit(base, NULL);
}

int main(int argc, char **argv)
{
    const char *listen = "127.0.0.1:8080", *port_file = NULL;
    struct evhttp_bound_socket *sock;
    struct event *sigint, *sigterm;
    struct sockaddr_storage ss;
    ev_socklen_t sslen = sizeof(ss);
    char host[256];
    struct evhttp *http;
    SSL_CTX *tls = NULL;
    const char *colon;
    int i, port;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
            listen = argv[++i];
        } else if (strcmp(argv[i], "--port-file") == 0 && i + 1 < argc) {
            port_file = argv[++i];
        } else if (strcmp(argv[i], "--access-log") == 0 && i + 1 < argc) {
            access_log = fopen(argv[++i], "a");
            if (access_log == NULL) {
                fprintf(stderr, "demo: cannot open %s: %s\n", argv[i],
                        strerror(errno));
                return 1;
            }
            setvbuf(access_log, NULL, _IOLBF, 0);
        } else if (strcmp(argv[i], "--tls") == 0) {
            tls = make_tls_context();
            if (tls == NULL) {
                fprintf(stderr, "demo: cannot set up TLS\n");
                return 1;
            }
        } else {
            fprintf(stderr, "usage: prodwatch-demo [--listen HOST:PORT] "
                            "[--tls] [--port-file FILE] "
                            "[--access-log FILE]\n");
            return 2;
        }
    }
    colon = strrchr(listen, ':');
    if (colon == NULL || (size_t)(colon - listen) >= sizeof(host)) {
        fprintf(stderr, "demo: --listen wants HOST:PORT\n");
        return 2;
    }
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    port = atoi(colon + 1);
    signal(SIGPIPE, SIG_IGN);
    base = event_base_new();
    http = evhttp_new(base);
    evhttp_set_gencb(http, on_request, NULL);
    evhttp_set_max_body_size(http, 1 << 20);
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
                                         EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                         EVHTTP_REQ_PATCH | EVHTTP_REQ_HEAD);
    if (tls)
        evhttp_set_bevcb(http, make_tls_bev, tls);
    sock = evhttp_bind_socket_with_handle(http, host, (ev_uint16_t)port);
    if (sock == NULL) {
        fprintf(stderr, "demo: cannot listen on %s: %s\n", listen,
                strerror(errno));
        return 1;
    }
    getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&ss,
                &sslen);
    port =
        ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                       : ((struct sockaddr_in *)&ss)->sin_port);
    printf("demo shop listening on %s://%s:%d\n", tls ? "https" : "http", host,
           port);
    fflush(stdout);
    if (port_file) {
        FILE *f = fopen(port_file, "w");

        if (f) {
            fprintf(f, "%d\n", port);
            fclose(f);
        }
    }
    sigint = evsignal_new(base, SIGINT, on_signal, NULL);
    sigterm = evsignal_new(base, SIGTERM, on_signal, NULL);
    evsignal_add(sigint, NULL);
    evsignal_add(sigterm, NULL);
    event_base_dispatch(base);
    event_free(sigint);
    event_free(sigterm);
    evhttp_free(http);
    event_base_free(base);
    reset_data();
    free(users);
    free(orders);
    if (tls)
        SSL_CTX_free(tls);
    return 0;
}
