/* redis.c -- one asynchronous Redis connection, reconnected with backoff. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "clock.h"
#include "log.h"
#include "loop.h"
#include "redis.h"
#include "redisaddr.h"
#include "sbuf.h"
#include "xalloc.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define CONNECT_TIMEOUT_MS 2000
#define MAX_WATCHERS 8

enum conn_state {
    CONN_DOWN,
    CONN_ASKING, /* asking a Sentinel where the master is */
    CONN_CONNECTING,
    CONN_HANDSHAKE,
    CONN_UP
};

struct watcher {
    redis_state_fn *fn;
    void *arg;
};

/* A command issued, until its callback has run. */
struct cmd {
    struct redis *r;
    redis_reply_fn *fn;
    void *arg;
    struct cmd *next; /* in the fail-fast queue only */
};

struct redis {
    struct event_base *base;
    char *host; /* NULL for a unix socket */
    int port;
    char *path;
    char *password;
    int db;
    struct redisaddr_host *sentinels; /* NULL: host and port are Redis's */
    size_t nsentinels, next_sentinel, asked;
    char *master;
    redisAsyncContext *sac; /* the Sentinel being asked */
    int found;              /* it named the master */
    redisAsyncContext *vac; /* a Sentinel asked whether it still is */
    int v_answered;         /* ... and it answered */
    struct master_check {
        redis_master_fn *fn;
        void *arg;
    } *checks;              /* waiting for that answer */
    size_t nchecks, checks_alloc;
    struct event *check_ev; /* answers them from the loop */
    int check_result;

    redisAsyncContext *ac;
    enum conn_state state;
    int closing; /* redis_close(): no reconnect, callbacks still run */
    int freeing; /* redis_free(): no callback reaches the callers */
    unsigned backoff_ms;
    uint64_t rng;
    int ping_outstanding;
    unsigned ping_ms;
    int logged_down; /* the current outage has been logged */

    struct event *retry_ev, *timeout_ev, *ping_ev, *fail_ev;
    struct cmd *fail_head, **fail_tail;

    struct sbuf fmt; /* the command being written, reused */

    struct watcher watchers[MAX_WATCHERS];
    size_t nwatchers;
    size_t inflight;
    unsigned long connects;
};

static void start_connect(struct redis *r);

/* The URL is parsed where the fleet commands parse it; the message never
 * repeats it, as it may carry a password. */
static int parse_url(struct redis *r, const char *url, struct pw_err *err)
{
    struct redisaddr a;

    if (redisaddr_parse(url, &a) < 0)
        return pw_err_set(err, PW_ERR_PARSE,
                          "the redis URL is not redis://[:PASSWORD@]HOST"
                          "[:PORT][/DB], unix:/PATH[?db=DB] or sentinel://"
                          "[:PASSWORD@]HOST[:PORT][,HOST[:PORT]...]/MASTER"
                          "[/DB]");
    /* The strings move into <r>. */
    r->host = a.host;
    r->port = a.port;
    r->path = a.path;
    r->password = a.password;
    r->db = a.db;
    r->sentinels = a.sentinels;
    r->nsentinels = a.nsentinels;
    r->master = a.master;
    return 0;
}

static void tv_ms(struct timeval *tv, unsigned ms)
{
    tv->tv_sec = ms / 1000;
    tv->tv_usec = (suseconds_t)(ms % 1000) * 1000;
}

/* xorshift64*: jitter needs no quality, only that two runners restarted
 * together do not retry in lock step. */
static unsigned jitter(struct redis *r, unsigned span)
{
    uint64_t x = r->rng;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->rng = x;
    return span ? (unsigned)((x * 2685821657736338717ULL) >> 33) % span : 0;
}

static void schedule_retry(struct redis *r)
{
    struct timeval tv;
    unsigned delay = r->backoff_ms + jitter(r, r->backoff_ms / 4 + 1);

    r->state = CONN_DOWN;
    if (r->closing)
        return;
    r->backoff_ms = r->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
                                                       : r->backoff_ms * 2;
    tv_ms(&tv, delay);
    evtimer_add(r->retry_ev, &tv);
}

static void notify(struct redis *r, int up)
{
    size_t i;

    for (i = 0; i < r->nwatchers; i++)
        r->watchers[i].fn(up, r->watchers[i].arg);
}

static void log_failure(struct redis *r, const char *why)
{
    if (r->logged_down) {
        pwlog(PWLOG_DEBUG, "redis.retry", "still no Redis: %s", why);
        return;
    }
    r->logged_down = 1;
    pwlog(PWLOG_WARN, "redis.down", "Redis unreachable: %s; retrying with "
          "backoff", why);
}

/* A context that died after it connected: hiredis has run the callbacks
 * of every command in flight (with NULL) and frees it after this. */
static void on_disconnect(const redisAsyncContext *ac, int status)
{
    struct redis *r = ac->data;
    int was_up;

    (void)status;
    r->ac = NULL;
    if (r->freeing)
        return;
    was_up = r->state == CONN_UP;
    evtimer_del(r->timeout_ev);
    evtimer_del(r->ping_ev);
    r->ping_outstanding = 0;
    if (r->closing) {
        /* Closed on purpose: the callers hear "down", nothing is logged
         * and nothing retried. */
        r->state = CONN_DOWN;
        if (was_up)
            notify(r, 0);
        return;
    }
    log_failure(r, ac->errstr[0] ? ac->errstr : "connection closed");
    schedule_retry(r);
    if (was_up)
        notify(r, 0);
}

static void drop(struct redis *r, const char *why)
{
    redisAsyncContext *ac = r->ac;

    if (!ac)
        return;
    if (r->state == CONN_CONNECTING) {
        /* Not connected yet: hiredis calls no disconnect callback. */
        r->ac = NULL;
        redisAsyncFree(ac);
        log_failure(r, why);
        schedule_retry(r);
        return;
    }
    /* A server that hangs is dropped again after every attempt: only the
     * first loss of an outage is worth a warning (redis.up ends it). */
    pwlog(r->logged_down ? PWLOG_DEBUG : PWLOG_WARN, "redis.lost",
          "dropping the Redis connection: %s", why);
    r->logged_down = 1;
    redisAsyncFree(ac);
}

static int reply_ok(const redisReply *reply)
{
    return reply && reply->type != REDIS_REPLY_ERROR;
}

static void on_auth(redisAsyncContext *ac, void *reply, void *privdata)
{
    redisReply *rep = reply;

    (void)privdata;
    if (rep && !reply_ok(rep)) {
        pwlog(PWLOG_ERROR, "redis.auth", "Redis refused AUTH: %s",
              rep->str);
        redisAsyncFree(ac); /* deferred by hiredis: we are in its callback */
    }
}

static void went_up(struct redis *r);
static void on_role(redisAsyncContext *ac, void *reply, void *privdata);

static void on_select(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct redis *r = privdata;
    redisReply *rep = reply;

    if (!rep || r->state != CONN_HANDSHAKE)
        return;
    if (!reply_ok(rep)) {
        pwlog(PWLOG_ERROR, "redis.select", "Redis refused SELECT %d: %s",
              r->db, rep->str);
        redisAsyncFree(ac);
        return;
    }
    if (r->nsentinels) {
        /* A Sentinel may name a master that is a replica by now (a
         * failover under way): only a master counts as up. */
        const char *argv[1] = { "ROLE" };

        redisAsyncCommandArgv(ac, on_role, r, 1, argv, NULL);
        return;
    }
    went_up(r);
}

static void on_role(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct redis *r = privdata;
    redisReply *rep = reply;

    if (!rep || r->state != CONN_HANDSHAKE)
        return;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 1 ||
        rep->element[0]->type != REDIS_REPLY_STRING ||
        strcmp(rep->element[0]->str, "master") != 0) {
        pwlog(PWLOG_DEBUG, "redis.role", "%s:%d is not the master (yet); "
              "asking the Sentinels again", r->host, r->port);
        redisAsyncFree(ac);
        return;
    }
    went_up(r);
}

static void went_up(struct redis *r)
{
    struct timeval tv;

    evtimer_del(r->timeout_ev);
    r->state = CONN_UP;
    r->backoff_ms = BACKOFF_MIN_MS;
    r->connects++;
    r->logged_down = 0;
    tv_ms(&tv, r->ping_ms);
    evtimer_add(r->ping_ev, &tv);
    if (r->nsentinels)
        pwlog(PWLOG_NOTICE, "redis.up", "connected to Redis master '%s' at "
              "%s:%d (database %d)", r->master, r->host, r->port, r->db);
    else
        pwlog(PWLOG_NOTICE, "redis.up", "connected to Redis (database %d)",
              r->db);
    notify(r, 1);
}

static void on_connect(const redisAsyncContext *cac, int status)
{
    struct redis *r = cac->data;
    redisAsyncContext *ac = r->ac;
    char db[16];

    if (status != REDIS_OK) {
        /* hiredis frees the context after this callback. */
        r->ac = NULL;
        evtimer_del(r->timeout_ev);
        log_failure(r, cac->errstr[0] ? cac->errstr : "connect failed");
        schedule_retry(r);
        return;
    }
    r->state = CONN_HANDSHAKE;
    if (r->password) {
        const char *argv[2] = { "AUTH", r->password };

        redisAsyncCommandArgv(ac, on_auth, r, 2, argv, NULL);
    }
    snprintf(db, sizeof(db), "%d", r->db);
    {
        const char *argv[2] = { "SELECT", db };

        redisAsyncCommandArgv(ac, on_select, r, 2, argv, NULL);
    }
}

/* Our own libevent adapter for hiredis.  The stock one writes every
 * command in a system call of its own as soon as the loop turns; at a
 * few thousand results a second that is a write (and a wake-up of
 * Redis) per result.  This one corks: once connected, commands issued
 * within CORK_US go out together in one write, unless redis_flush() asks
 * for them sooner.  Reads stay armed for the
 * life of the connection instead of being re-added after each reply. */
#define CORK_US 5000

struct adapter {
    redisAsyncContext *ac;
    struct event *rev, *wev, *cork;
};

static void ad_read(evutil_socket_t fd, short what, void *arg)
{
    struct adapter *a = arg;

    (void)fd;
    (void)what;
    redisAsyncHandleRead(a->ac);
}

static void ad_write(evutil_socket_t fd, short what, void *arg)
{
    struct adapter *a = arg;

    (void)fd;
    (void)what;
    redisAsyncHandleWrite(a->ac);
}

static void ad_add_read(void *p)
{
    struct adapter *a = p;

    if (!event_pending(a->rev, EV_READ, NULL))
        event_add(a->rev, NULL);
}

static void ad_del_read(void *p)
{
    event_del(((struct adapter *)p)->rev);
}

static void ad_add_write(void *p)
{
    struct adapter *a = p;
    struct timeval tv = { 0, CORK_US };

    /* Until connected, writability is how the connect completes. */
    if (!(a->ac->c.flags & REDIS_CONNECTED)) {
        event_add(a->wev, NULL);
        return;
    }
    if (!evtimer_pending(a->cork, NULL) && !event_pending(a->wev, EV_WRITE, NULL))
        evtimer_add(a->cork, &tv);
}

static void ad_del_write(void *p)
{
    struct adapter *a = p;

    event_del(a->wev);
    evtimer_del(a->cork);
}

static void ad_cleanup(void *p)
{
    struct adapter *a = p;

    event_free(a->rev);
    event_free(a->wev);
    event_free(a->cork);
    free(a);
}

static void attach(redisAsyncContext *ac, struct event_base *base)
{
    struct adapter *a = xcalloc(1, sizeof(*a));
    int fd = ac->c.fd;

    a->ac = ac;
    a->rev = event_new(base, fd, EV_READ | EV_PERSIST, ad_read, a);
    a->wev = event_new(base, fd, EV_WRITE, ad_write, a);
    a->cork = evtimer_new(base, ad_write, a);
    ac->ev.addRead = ad_add_read;
    ac->ev.delRead = ad_del_read;
    ac->ev.addWrite = ad_add_write;
    ac->ev.delWrite = ad_del_write;
    ac->ev.cleanup = ad_cleanup;
    ac->ev.data = a;
    event_add(a->rev, NULL);
    event_add(a->wev, NULL);
}

/* ---- Asking the Sentinels ---- */

/* A connection to the next Sentinel in turn, on the loop, or NULL. */
static redisAsyncContext *sentinel_context(struct redis *r,
                                           redisConnectCallback *connected,
                                           redisDisconnectCallback *gone)
{
    const struct redisaddr_host *h =
        &r->sentinels[r->next_sentinel++ % r->nsentinels];
    redisAsyncContext *ac = redisAsyncConnect(h->host, h->port);

    if (!ac || ac->err) {
        if (ac)
            redisAsyncFree(ac);
        return NULL;
    }
    ac->data = r;
    attach(ac, r->base);
    redisAsyncSetConnectCallback(ac, connected);
    redisAsyncSetDisconnectCallback(ac, gone);
    return ac;
}

static void connect_master(struct redis *r);
static void ask_sentinel(struct redis *r);

static void on_s_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct redis *r = privdata;
    redisReply *rep = reply;

    if (rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
        rep->element[0]->type == REDIS_REPLY_STRING &&
        rep->element[1]->type == REDIS_REPLY_STRING) {
        free(r->host);
        r->host = xstrdup(rep->element[0]->str);
        r->port = atoi(rep->element[1]->str);
        r->found = 1;
    }
    redisAsyncDisconnect(ac); /* on_s_disconnect goes on */
}

/* The Sentinel's connection is gone: connect to the master it named, or
 * ask the next Sentinel, or -- all asked -- try again after the backoff. */
static void s_done(struct redis *r, const char *why)
{
    const struct redisaddr_host *h =
        &r->sentinels[(r->next_sentinel + r->nsentinels - 1) % r->nsentinels];

    r->sac = NULL;
    evtimer_del(r->timeout_ev);
    if (r->closing)
        return;
    if (r->found) {
        connect_master(r);
        return;
    }
    pwlog(PWLOG_DEBUG, "redis.sentinel", "Sentinel %s:%d: %s", h->host,
          h->port, why);
    if (r->asked < r->nsentinels) {
        ask_sentinel(r);
        return;
    }
    log_failure(r, "no Sentinel named the master");
    schedule_retry(r);
}

static void on_s_disconnect(const redisAsyncContext *ac, int status)
{
    (void)status;
    s_done(ac->data, "no answer naming the master");
}

static void on_s_connect(const redisAsyncContext *cac, int status)
{
    struct redis *r = cac->data;
    const char *argv[3] = { "SENTINEL", "get-master-addr-by-name",
                            r->master };

    if (status != REDIS_OK) {
        /* hiredis frees the context after this callback. */
        s_done(r, cac->errstr[0] ? cac->errstr : "connect failed");
        return;
    }
    redisAsyncCommandArgv(r->sac, on_s_reply, r, 3, argv, NULL);
}

static void ask_sentinel(struct redis *r)
{
    struct timeval tv;

    r->asked++;
    r->state = CONN_ASKING;
    r->sac = sentinel_context(r, on_s_connect, on_s_disconnect);
    if (r->sac == NULL) {
        if (r->asked < r->nsentinels) {
            ask_sentinel(r);
            return;
        }
        log_failure(r, "no Sentinel reachable");
        schedule_retry(r);
        return;
    }
    tv_ms(&tv, CONNECT_TIMEOUT_MS);
    evtimer_add(r->timeout_ev, &tv);
}

static void start_connect(struct redis *r)
{
    if (r->nsentinels) {
        /* Where the master is now, every time: after a failover it is
         * elsewhere. */
        r->found = 0;
        r->asked = 0;
        ask_sentinel(r);
        return;
    }
    connect_master(r);
}

static void connect_master(struct redis *r)
{
    redisAsyncContext *ac;
    struct timeval tv;

    ac = r->host ? redisAsyncConnect(r->host, r->port)
                 : redisAsyncConnectUnix(r->path);
    if (!ac || ac->err) {
        log_failure(r, ac ? ac->errstr : "out of memory");
        if (ac)
            redisAsyncFree(ac);
        schedule_retry(r);
        return;
    }
    ac->data = r;
    r->ac = ac;
    r->state = CONN_CONNECTING;
    attach(ac, r->base);
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    tv_ms(&tv, CONNECT_TIMEOUT_MS);
    evtimer_add(r->timeout_ev, &tv);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    start_connect(arg);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct redis *r = arg;

    (void)fd;
    (void)what;
    if (r->state == CONN_ASKING) {
        if (r->sac)
            redisAsyncFree(r->sac); /* on_s_disconnect, or none if it
                                     * had not connected */
        if (r->sac) {
            r->sac = NULL;
            s_done(r, "timed out");
        }
        return;
    }
    drop(r, r->state == CONN_CONNECTING ? "connect timed out"
                                        : "no answer to AUTH/SELECT");
}

static void on_pong(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct redis *r = privdata;

    (void)ac;
    if (reply)
        r->ping_outstanding = 0;
}

/* ---- Is the master still the master? ---- */

/* Answer every redis_check_master() waiting, from the loop. */
static void answer_checks(struct redis *r, int still)
{
    r->check_result = still;
    if (r->nchecks)
        event_active(r->check_ev, EV_TIMEOUT, 0);
}

static void on_check(evutil_socket_t fd, short what, void *arg)
{
    struct redis *r = arg;
    struct master_check *c = r->checks;
    size_t i, n = r->nchecks;

    (void)fd;
    (void)what;
    r->checks = NULL;
    r->nchecks = r->checks_alloc = 0;
    for (i = 0; i < n; i++)
        if (!r->freeing)
            c[i].fn(r->check_result, c[i].arg);
    free(c);
}

static void on_v_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct redis *r = privdata;
    redisReply *rep = reply;
    int moved;

    if (rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
        rep->element[0]->type == REDIS_REPLY_STRING &&
        rep->element[1]->type == REDIS_REPLY_STRING) {
        r->v_answered = 1;
        moved = r->host && (strcmp(rep->element[0]->str, r->host) != 0 ||
                            atoi(rep->element[1]->str) != r->port);
        answer_checks(r, !moved && r->state == CONN_UP);
        if (moved && r->state == CONN_UP) {
            pwlog(PWLOG_NOTICE, "redis.failover",
                  "the Sentinels name a new master for '%s': %s:%s",
                  r->master, rep->element[0]->str, rep->element[1]->str);
            drop(r, "a failover moved the master");
        }
    }
    redisAsyncDisconnect(ac);
}

static void on_v_disconnect(const redisAsyncContext *ac, int status)
{
    struct redis *r = ac->data;

    (void)status;
    r->vac = NULL;
    /* No Sentinel answered: nothing says the master moved. */
    if (!r->v_answered)
        answer_checks(r, r->state == CONN_UP);
}

static void on_v_connect(const redisAsyncContext *cac, int status)
{
    struct redis *r = cac->data;
    const char *argv[3] = { "SENTINEL", "get-master-addr-by-name",
                            r->master };

    if (status != REDIS_OK) {
        r->vac = NULL; /* hiredis frees it after this callback */
        answer_checks(r, r->state == CONN_UP);
        return;
    }
    redisAsyncCommandArgv(r->vac, on_v_reply, r, 3, argv, NULL);
}

/* Ask one Sentinel, in turn, where the master is: a client that only
 * waited for its connection to break would go on writing to an old
 * master that Sentinel has not demoted yet, and lose those writes when
 * it is. */
static void verify_master(struct redis *r)
{
    if (r->vac) {
        redisAsyncFree(r->vac); /* the last one never answered */
        r->vac = NULL;
    }
    r->v_answered = 0;
    r->vac = sentinel_context(r, on_v_connect, on_v_disconnect);
    if (r->vac == NULL)
        answer_checks(r, r->state == CONN_UP);
}

static void on_ping(evutil_socket_t fd, short what, void *arg)
{
    struct redis *r = arg;
    const char *argv[1] = { "PING" };
    struct timeval tv;

    (void)fd;
    (void)what;
    if (r->state != CONN_UP)
        return;
    if (r->ping_outstanding) {
        drop(r, "no answer to PING");
        return;
    }
    r->ping_outstanding = 1;
    redisAsyncCommandArgv(r->ac, on_pong, r, 1, argv, NULL);
    if (r->nsentinels)
        verify_master(r);
    tv_ms(&tv, r->ping_ms);
    evtimer_add(r->ping_ev, &tv);
}

static void run_failed(struct redis *r)
{
    struct cmd *c = r->fail_head;

    r->fail_head = NULL;
    r->fail_tail = &r->fail_head;
    while (c) {
        struct cmd *next = c->next;

        if (c->fn && !r->freeing)
            c->fn(NULL, c->arg);
        free(c);
        c = next;
    }
}

static void on_fail(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    run_failed(arg);
}

struct redis *redis_new(struct loop *loop, const char *url,
                        struct pw_err *err)
{
    struct redis *r = xcalloc(1, sizeof(*r));

    sbuf_init(&r->fmt, 0);

    if (parse_url(r, url, err) != PW_OK) {
        free(r->host);
        free(r->path);
        free(r->password);
        free(r);
        return NULL;
    }
    r->base = loop_base(loop);
    r->backoff_ms = BACKOFF_MIN_MS;
    r->ping_ms = 3000;
    r->rng = (uint64_t)(clock_wall() * 1e6) ^ ((uint64_t)getpid() << 32) ^
             (uint64_t)(uintptr_t)r;
    if (!r->rng)
        r->rng = 1;
    r->retry_ev = evtimer_new(r->base, on_retry, r);
    r->timeout_ev = evtimer_new(r->base, on_timeout, r);
    r->ping_ev = evtimer_new(r->base, on_ping, r);
    r->fail_ev = event_new(r->base, -1, 0, on_fail, r);
    r->check_ev = event_new(r->base, -1, 0, on_check, r);
    r->fail_tail = &r->fail_head;
    event_active(r->retry_ev, EV_TIMEOUT, 0);
    return r;
}

/* Free every connection of <r>, the Sentinels' too, and fail what
 * waits. */
static void free_contexts(struct redis *r)
{
    if (r->sac)
        redisAsyncFree(r->sac);
    r->sac = NULL;
    if (r->vac)
        redisAsyncFree(r->vac);
    r->vac = NULL;
    if (r->ac)
        redisAsyncFree(r->ac);
    r->ac = NULL;
    run_failed(r);
}

void redis_close(struct redis *r)
{
    if (!r || r->closing)
        return;
    r->closing = 1;
    evtimer_del(r->retry_ev);
    evtimer_del(r->timeout_ev);
    evtimer_del(r->ping_ev);
    free_contexts(r); /* every waiting callback gets NULL */
    r->check_result = 0;
    on_check(-1, 0, r); /* the callers go next: answer them now */
}

void redis_free(struct redis *r)
{
    if (!r)
        return;
    r->freeing = 1;
    r->closing = 1;
    free_contexts(r);
    event_free(r->retry_ev);
    event_free(r->timeout_ev);
    event_free(r->ping_ev);
    event_free(r->fail_ev);
    event_free(r->check_ev);
    free(r->checks);
    sbuf_release(&r->fmt);
    free(r->host);
    free(r->path);
    free(r->password);
    {
        size_t i;

        for (i = 0; i < r->nsentinels; i++)
            free(r->sentinels[i].host);
        free(r->sentinels);
        free(r->master);
    }
    free(r);
}

int redis_watch(struct redis *r, redis_state_fn *fn, void *arg)
{
    if (r->nwatchers == MAX_WATCHERS)
        return -1;
    r->watchers[r->nwatchers].fn = fn;
    r->watchers[r->nwatchers].arg = arg;
    r->nwatchers++;
    return 0;
}

void redis_unwatch(struct redis *r, redis_state_fn *fn, void *arg)
{
    size_t i;

    for (i = 0; i < r->nwatchers; i++) {
        if (r->watchers[i].fn == fn && r->watchers[i].arg == arg) {
            memmove(&r->watchers[i], &r->watchers[i + 1],
                    (r->nwatchers - i - 1) * sizeof(r->watchers[0]));
            r->nwatchers--;
            return;
        }
    }
}

int redis_up(const struct redis *r)
{
    return r->state == CONN_UP;
}

static void on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct cmd *c = privdata;

    c->r->inflight--;
    /* The master became a replica under us (a failover): find the new
     * one.  Sentinel drops our connection too, but not always first. */
    if (reply && c->r->nsentinels && c->r->state == CONN_UP &&
        ((redisReply *)reply)->type == REDIS_REPLY_ERROR &&
        strncmp(((redisReply *)reply)->str, "READONLY", 8) == 0 &&
        ac == c->r->ac)
        drop(c->r, "the master became a replica");
    /* While freeing, the callers may be gone already: what they wait for
     * will never come, and they were told so by freeing us last. */
    if (c->fn && !c->r->freeing)
        c->fn(reply, c->arg);
    free(c);
}

static void fail_later(struct redis *r, struct cmd *c)
{
    c->next = NULL;
    *r->fail_tail = c;
    r->fail_tail = &c->next;
    event_active(r->fail_ev, EV_TIMEOUT, 0);
}

/* Append "<tag><n>\r\n". */
static void resp_len(struct sbuf *b, char tag, size_t n)
{
    char tmp[32];
    size_t i = sizeof(tmp);

    tmp[--i] = '\n';
    tmp[--i] = '\r';
    do {
        tmp[--i] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    tmp[--i] = tag;
    sbuf_add(b, tmp + i, sizeof(tmp) - i);
}

/* The command in Redis's protocol, written here rather than by hiredis,
 * whose formatter (a printf per argument) cost more than the rest of a
 * result's write. */
static void resp_command(struct sbuf *b, int argc, const char **argv,
                         const size_t *argvlen)
{
    int i;

    sbuf_reset(b);
    resp_len(b, '*', (size_t)argc);
    for (i = 0; i < argc; i++) {
        size_t n = argvlen ? argvlen[i] : strlen(argv[i]);

        resp_len(b, '$', n);
        sbuf_add(b, argv[i], n);
        sbuf_add(b, "\r\n", 2);
    }
}

void redis_command(struct redis *r, redis_reply_fn *fn, void *arg, int argc,
                   const char **argv, const size_t *argvlen)
{
    struct cmd *c = xmalloc(sizeof(*c));

    c->r = r;
    c->fn = fn;
    c->arg = arg;
    if (r->state != CONN_UP || r->inflight >= REDIS_MAX_INFLIGHT) {
        fail_later(r, c);
        return;
    }
    resp_command(&r->fmt, argc, argv, argvlen);
    if (sbuf_failed(&r->fmt) ||
        redisAsyncFormattedCommand(r->ac, on_reply, c, r->fmt.buf,
                                   r->fmt.len) != REDIS_OK) {
        fail_later(r, c);
        return;
    }
    r->inflight++;
}

void redis_flush(struct redis *r)
{
    struct adapter *a;

    if (r->state != CONN_UP || r->ac == NULL)
        return;
    a = r->ac->ev.data;
    if (a && evtimer_pending(a->cork, NULL)) {
        evtimer_del(a->cork);
        event_active(a->cork, EV_TIMEOUT, 1);
    }
}

int redis_sentinel(const struct redis *r)
{
    return r->nsentinels > 0;
}

void redis_check_master(struct redis *r, redis_master_fn *fn, void *arg)
{
    XGROW(r->checks, r->nchecks + 1, r->checks_alloc);
    r->checks[r->nchecks].fn = fn;
    r->checks[r->nchecks].arg = arg;
    r->nchecks++;
    if (!r->nsentinels || r->state != CONN_UP || r->closing) {
        answer_checks(r, r->nsentinels == 0 && r->state == CONN_UP);
        return;
    }
    if (r->vac == NULL || r->nchecks == 1)
        verify_master(r);
}

size_t redis_inflight(const struct redis *r)
{
    return r->inflight;
}

unsigned long redis_connects(const struct redis *r)
{
    return r->connects;
}

void redis_set_ping_ms(struct redis *r, unsigned ms)
{
    r->ping_ms = ms ? ms : 1;
}
