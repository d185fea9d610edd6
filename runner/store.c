/* store.c -- results to Redis through one Lua script, spooled when away. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <openssl/sha.h>

#include "clock.h"
#include "keys.h"
#include "log.h"
#include "loop.h"
#include "redis.h"
#include "sbuf.h"
#include "scenario.h"
#include "spool.h"
#include "store.h"
#include "xalloc.h"

#define NKEYS 7
#define NARGS 16

/* While Redis refuses writes (OOM, MISCONF, READONLY, ...), the same
 * results are offered again after this long, doubling up to the cap. */
#define RETRY_MIN_MS 1000
#define RETRY_MAX_MS 30000

/* KEYS: seq, results, test, tests, runs, scenario, target.
 * ARGV: seq, maxlen, runs kept, ttl, test id, scenario, target, status,
 * duration_ms, ts, step, message, run_id, runner, run JSON, location
 * (absent from results spooled before locations: written empty).
 * Returns 1 when written, 0 when the number was not above the last one
 * (a replay of a result already written). */
static const char SCRIPT[] =
    "local seq = tonumber(ARGV[1])\n"
    "local last = tonumber(redis.call('GET', KEYS[1]) or '0')\n"
    "if seq <= last then return 0 end\n"
    "local ttl = ARGV[4]\n"
    "redis.call('SET', KEYS[1], ARGV[1], 'EX', ttl)\n"
    "redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*',\n"
    "  'test', ARGV[5], 'scenario', ARGV[6], 'target', ARGV[7],\n"
    "  'status', ARGV[8], 'duration_ms', ARGV[9], 'ts', ARGV[10],\n"
    "  'step', ARGV[11], 'message', ARGV[12], 'run_id', ARGV[13],\n"
    "  'runner', ARGV[14], 'location', ARGV[16] or '')\n"
    "local prev = redis.call('HMGET', KEYS[3], 'status',\n"
    "  'consecutive_failures', 'since')\n"
    "local cf = 0\n"
    "if ARGV[8] ~= 'pass' then cf = (tonumber(prev[2]) or 0) + 1 end\n"
    "local since = prev[3]\n"
    "if prev[1] ~= ARGV[8] or not since then since = ARGV[10] end\n"
    "redis.call('HSET', KEYS[3], 'status', ARGV[8], 'last_run', ARGV[10],\n"
    "  'duration_ms', ARGV[9], 'consecutive_failures', cf,\n"
    "  'since', since, 'scenario', ARGV[6], 'target', ARGV[7],\n"
    "  'step', ARGV[11], 'message', ARGV[12], 'run_id', ARGV[13])\n"
    "redis.call('EXPIRE', KEYS[3], ttl)\n"
    "redis.call('ZADD', KEYS[4], ARGV[10], ARGV[5])\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf',\n"
    "  '(' .. (tonumber(ARGV[10]) - tonumber(ttl)))\n"
    "redis.call('LPUSH', KEYS[5], ARGV[15])\n"
    "redis.call('LTRIM', KEYS[5], 0, tonumber(ARGV[3]) - 1)\n"
    "redis.call('EXPIRE', KEYS[5], ttl)\n"
    "for i = 6, 7 do\n"
    "  redis.call('HINCRBY', KEYS[i], 'runs', 1)\n"
    "  redis.call('HINCRBY', KEYS[i], ARGV[8], 1)\n"
    "  redis.call('EXPIRE', KEYS[i], ttl)\n"
    "end\n"
    "return 1\n";

/* A result sent and not yet answered for.  <rec> is its spool record (the
 * script's keys and arguments); <in_spool> says whether the spool holds
 * it too (a replayed result) or only memory does (sent directly). */
struct entry {
    struct store *st; /* NULL once the store is gone */
    struct entry *prev, *next;
    char *rec;
    size_t len;
    int in_spool;
    int lost;     /* answered without being written: to be sent again */
    int noscript; /* resent with EVAL */
    int written;  /* Redis wrote it; a replica has yet to confirm it */
    uint64_t n;   /* the order it was sent in */
};

/* A WAIT on its way: it answers for the results sent before it. */
struct replica_wait {
    struct store *st; /* NULL once the store is gone */
    uint64_t mark;    /* results numbered up to this one */
};

/* How long a WAIT may hold the connection up, in milliseconds. */
#define WAIT_MS 500
/* How long results may go unconfirmed by any replica before they count
 * as written without one (no replica at all is not a failover under way),
 * in seconds. */
#define UNREPLICATED_S 3.0

/* The GET of the seq key, outliving the store if need be. */
struct seed {
    struct store *st; /* NULL once the store is gone */
};

struct flush_wait {
    sink_flushed_fn *fn;
    void *arg;
    struct flush_wait *next;
};

struct store {
    struct result_sink sink;
    struct redis *redis;
    struct spool *spool;
    char *prefix;
    char *runner;
    struct store_opts opts;
    char sha[41];
    char *location; /* a copy of opts.location */

    struct entry *head, *tail;
    size_t inflight;
    unsigned resending; /* NOSCRIPT resends outstanding */
    uint64_t replay_pos;
    unsigned long replay_gen;
    uint64_t last_seq;
    int logged_reject; /* the current refusal episode has been logged */
    int held;          /* a write was not done: nothing is sent until
                        * every reply is in and the retry timer fires */
    int seeding;       /* the GET of the seq key is outstanding */
    unsigned retry_ms;
    struct seed *seed; /* outstanding, or NULL */
    uint64_t sent_n;   /* results sent, numbered */
    /* When a replica last confirmed results (monotonic), on any
     * connection: a failover moves the connection, and a Sentinel slow
     * to learn of it may send it back to the old master, where no
     * confirmation is the sign. */
    double replicated_at;
    int logged_alone;
    struct replica_wait *wait; /* outstanding, or NULL */

    struct event *sync_ev, *flush_ev, *retry_ev;
    int sync_armed;
    struct flush_wait *flushes;   /* waiting for the store to drain */
    struct flush_wait *finished;  /* to be told from the loop */
    struct store_stats stats;
    /* Kept from one result to the next, so encoding one allocates
     * nothing once they have grown. */
    struct sbuf rec, key, json;
};

void store_opts_default(struct store_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->stream_maxlen = 100000;
    o->runs_kept = 20;
    o->ttl_s = 7 * 24 * 3600;
    o->max_inflight = 1000;
    o->sync_ms = 100;
}

/* A record: a count, then each argument as a length and its bytes, all
 * lengths 32-bit little endian. */
static void rec_put(struct sbuf *b, const char *s, size_t n)
{
    unsigned char l[4] = { (unsigned char)n, (unsigned char)(n >> 8),
                           (unsigned char)(n >> 16),
                           (unsigned char)(n >> 24) };

    sbuf_add(b, l, 4);
    sbuf_add(b, s, n);
}

static void rec_puts(struct sbuf *b, const char *s)
{
    rec_put(b, s ? s : "", s ? strlen(s) : 0);
}

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

/* Split record <rec> into <argv>/<argvlen> (room for <max>); returns the
 * count, or -1 when <rec> is not a record. */
static int rec_split(const char *rec, size_t len, const char **argv,
                     size_t *argvlen, int max)
{
    const unsigned char *p = (const unsigned char *)rec;
    size_t off = 4;
    uint32_t n, i;

    if (len < 4)
        return -1;
    n = rd32(p);
    if (n > (uint32_t)max)
        return -1;
    for (i = 0; i < n; i++) {
        uint32_t l;

        if (len - off < 4)
            return -1;
        l = rd32(p + off);
        off += 4;
        if (len - off < l)
            return -1;
        argv[i] = rec + off;
        argvlen[i] = l;
        off += l;
    }
    return off == len ? (int)n : -1;
}

/* Numbers without printf: a result is written a few thousand times a
 * second, and printf's float path cost more than the rest of encoding. */
static void add_uint(struct sbuf *b, unsigned long long v)
{
    char tmp[24];
    size_t i = sizeof(tmp);

    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    sbuf_add(b, tmp + i, sizeof(tmp) - i);
}

static void add_int(struct sbuf *b, long long v)
{
    if (v < 0) {
        sbuf_addc(b, '-');
        add_uint(b, 0ull - (unsigned long long)v);
    } else
        add_uint(b, (unsigned long long)v);
}

/* <v> with one decimal, as "%.1f" prints it for the values a run has
 * (milliseconds, never negative, far below 2^53). */
static void add_tenths(struct sbuf *b, double v)
{
    unsigned long long t;

    if (!(v >= 0) || v > 1e15) {
        sbuf_addf(b, "%.1f", v);
        return;
    }
    t = (unsigned long long)(v * 10.0 + 0.5);
    add_uint(b, t / 10);
    sbuf_addc(b, '.');
    sbuf_addc(b, (char)('0' + t % 10));
}

/* A run as the JSON kept in {p}:runs:{id}. */
static void store_run_json(struct sbuf *out, const struct run_result *r)
{
    size_t i;

#define JSTR(s) sbuf_add_json_str(out, (s), strlen(s))
    sbuf_adds(out, "{\"run_id\":");
    JSTR(r->run_id ? r->run_id : "");
    sbuf_adds(out, ",\"status\":\"");
    sbuf_adds(out, run_status_name(r->status));
    sbuf_adds(out, "\",\"started\":");
    add_int(out, (long long)r->started);
    sbuf_adds(out, ",\"duration_ms\":");
    add_tenths(out, r->duration_ms);
    sbuf_adds(out, ",\"requests\":");
    add_uint(out, r->requests);
    if (r->step) {
        sbuf_adds(out, ",\"step\":");
        JSTR(r->step);
    }
    if (r->message) {
        sbuf_adds(out, ",\"message\":");
        JSTR(r->message);
    }
    if (r->excerpt) {
        sbuf_adds(out, ",\"excerpt\":");
        JSTR(r->excerpt);
    }
    sbuf_adds(out, ",\"steps\":[");
    for (i = 0; i < r->nsteps; i++) {
        const struct step_record *s = &r->steps[i];

        sbuf_adds(out, i ? ",{\"name\":" : "{\"name\":");
        JSTR(s->name ? s->name : "");
        sbuf_adds(out, ",\"attempts\":");
        add_uint(out, s->attempts);
        sbuf_adds(out, ",\"status\":");
        add_int(out, s->status);
        sbuf_adds(out, ",\"dns_ms\":");
        add_tenths(out, s->dns_ms);
        sbuf_adds(out, ",\"connect_ms\":");
        add_tenths(out, s->connect_ms);
        sbuf_adds(out, ",\"tls_ms\":");
        add_tenths(out, s->tls_ms);
        sbuf_adds(out, ",\"first_byte_ms\":");
        add_tenths(out, s->first_byte_ms);
        sbuf_adds(out, ",\"total_ms\":");
        add_tenths(out, s->total_ms);
        sbuf_addc(out, '}');
    }
    sbuf_adds(out, "]}");
#undef JSTR
}

static void encode(struct store *st, const struct run_result *r,
                   struct sbuf *b)
{
    struct sbuf k = st->key, json = st->json;
    const char *scn = r->sc ? scenario_name(r->sc) : "";
    uint64_t seq = (uint64_t)(clock_wall() * 1e6);

    if (seq <= st->last_seq)
        seq = st->last_seq + 1;
    st->last_seq = seq;

    sbuf_reset(b);
    sbuf_add(b, "\0\0\0\0", 4); /* the count, below */
    rec_puts(b, "7");
#define KEY(kind, name)                                                        \
    do {                                                                       \
        sbuf_reset(&k);                                                        \
        keys_name(&k, st->prefix, (kind), (name));                             \
        rec_put(b, k.buf, k.len);                                              \
    } while (0)
    KEY("seq", st->runner);
    KEY("results", NULL);
    KEY("test", r->test_id);
    KEY("tests", NULL);
    KEY("runs", r->test_id);
    KEY("scenario", scn);
    KEY("target", r->target);
#undef KEY
#define NUM(add, v)                                                            \
    do {                                                                       \
        sbuf_reset(&k);                                                        \
        add(&k, (v));                                                          \
        rec_put(b, k.buf, k.len);                                              \
    } while (0)
    NUM(add_uint, (unsigned long long)seq);
    NUM(add_uint, (unsigned long long)st->opts.stream_maxlen);
    NUM(add_uint, st->opts.runs_kept);
    NUM(add_uint, st->opts.ttl_s);
    rec_puts(b, r->test_id);
    rec_puts(b, scn);
    rec_puts(b, r->target);
    rec_puts(b, run_status_name(r->status));
    NUM(add_tenths, r->duration_ms);
    NUM(add_int, (long long)r->started);
#undef NUM
    rec_puts(b, r->step);
    rec_puts(b, r->message);
    rec_puts(b, r->run_id);
    rec_puts(b, st->runner);
    sbuf_reset(&json);
    store_run_json(&json, r);
    rec_put(b, json.buf, json.len);
    rec_puts(b, st->location);
    {
        unsigned n = 1 + NKEYS + NARGS;
        unsigned char c[4] = { (unsigned char)n, 0, 0, 0 };

        memcpy(b->buf, c, 4);
    }
    st->key = k;
    st->json = json;
}

/* The number a record carries, or 0. */
static uint64_t rec_seq(const char *rec, size_t len)
{
    const char *argv[1 + NKEYS + NARGS];
    size_t argvlen[1 + NKEYS + NARGS];
    char num[24];

    /* A record spooled by an earlier version may have fewer arguments;
     * its number is where it always was. */
    if (rec_split(rec, len, argv, argvlen, 1 + NKEYS + NARGS) <
            2 + NKEYS ||
        argvlen[1 + NKEYS] >= sizeof(num))
        return 0;
    memcpy(num, argv[1 + NKEYS], argvlen[1 + NKEYS]);
    num[argvlen[1 + NKEYS]] = '\0';
    return strtoull(num, NULL, 10);
}

static void on_reply(struct redisReply *reply, void *arg);
static void pump(struct store *st);
static void check_flush(struct store *st);

static void unlink_entry(struct store *st, struct entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        st->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        st->tail = e->prev;
    st->inflight--;
}

static void free_entry(struct entry *e)
{
    free(e->rec);
    free(e);
}

/* Send <e>'s script call; <e> is already in the list. */
static void send_entry(struct store *st, struct entry *e)
{
    const char *argv[2 + 1 + NKEYS + NARGS];
    size_t argvlen[2 + 1 + NKEYS + NARGS];
    int n = rec_split(e->rec, e->len, argv + 2, argvlen + 2,
                      1 + NKEYS + NARGS);

    if (n < 0) {
        /* Only a record this code did not write gets here (the CRC
         * passed): drop it rather than send garbage. */
        pwlog(PWLOG_ERROR, "store.record", "dropping a malformed spool "
              "record of %zu bytes", e->len);
        n = 0;
    }
    if (e->noscript) {
        argv[0] = "EVAL";
        argv[1] = SCRIPT;
        argvlen[1] = sizeof(SCRIPT) - 1;
    } else {
        argv[0] = "EVALSHA";
        argv[1] = st->sha;
        argvlen[1] = 40;
    }
    argvlen[0] = strlen(argv[0]);
    e->n = ++st->sent_n;
    e->written = 0;
    redis_command(st->redis, on_reply, e, n ? n + 2 : 1, argv, argvlen);
}

static struct entry *enqueue(struct store *st, const char *rec, size_t len,
                             int in_spool)
{
    struct entry *e = xcalloc(1, sizeof(*e));

    e->st = st;
    e->rec = xmalloc(len ? len : 1);
    memcpy(e->rec, rec, len);
    e->len = len;
    e->in_spool = in_spool;
    e->prev = st->tail;
    if (st->tail)
        st->tail->next = e;
    else
        st->head = e;
    st->tail = e;
    st->inflight++;
    send_entry(st, e);
    return e;
}

static void on_sync(evutil_socket_t fd, short what, void *arg)
{
    struct store *st = arg;
    struct pw_err err = { PW_OK, "" };

    (void)fd;
    (void)what;
    st->sync_armed = 0;
    if (spool_sync(st->spool, &err) != PW_OK)
        pwlog(PWLOG_ERROR, "spool.io", "%s", err.msg);
}

static void to_spool(struct store *st, const char *rec, size_t len)
{
    struct pw_err err = { PW_OK, "" };

    if (spool_append(st->spool, rec, len, &err) != PW_OK) {
        pwlog(PWLOG_ERROR, "store.lost", "a result could not be spooled: "
              "%s", err.msg);
        return;
    }
    st->stats.spooled++;
    if (!st->sync_armed) {
        struct timeval tv = { st->opts.sync_ms / 1000,
                              (suseconds_t)(st->opts.sync_ms % 1000) *
                                  1000 };

        st->sync_armed = 1;
        evtimer_add(st->sync_ev, &tv);
    }
}

static int can_send(const struct store *st)
{
    return redis_up(st->redis) && st->resending == 0 && !st->held &&
           !st->seeding && st->inflight < st->opts.max_inflight;
}

/* Send spooled records, in order, while there is room; empty the spool
 * once every one of them is acknowledged. */
static void pump(struct store *st)
{
    struct sbuf rec = SBUF_INIT;
    struct pw_err err = { PW_OK, "" };

    if (spool_records(st->spool) == 0 || !redis_up(st->redis))
        return;
    if (spool_generation(st->spool) != st->replay_gen) {
        st->replay_gen = spool_generation(st->spool);
        st->replay_pos = 0;
    }
    while (can_send(st) && spool_read(st->spool, &st->replay_pos, &rec))
        enqueue(st, rec.buf, rec.len, 1);
    sbuf_release(&rec);
    if (st->head || st->replay_pos < spool_bytes(st->spool))
        return;
    if (spool_truncate(st->spool, &err) != PW_OK) {
        pwlog(PWLOG_ERROR, "spool.io", "%s", err.msg);
        return;
    }
    st->replay_gen = spool_generation(st->spool);
    st->replay_pos = 0;
}

static void requeue_lost(struct store *st);
static void ask_replicas(struct store *st);

/* Stop sending; once every result in flight has its answer, put the
 * unwritten ones back at the front of the spool and try again after the
 * backoff.  Results answered as written meanwhile stay written. */
static void hold(struct store *st)
{
    struct entry *e;
    struct timeval tv;

    st->held = 1;
    for (e = st->head; e; e = e->next)
        if (!e->lost)
            return;
    if (evtimer_pending(st->retry_ev, NULL))
        return;
    requeue_lost(st);
    tv.tv_sec = st->retry_ms / 1000;
    tv.tv_usec = (suseconds_t)(st->retry_ms % 1000) * 1000;
    evtimer_add(st->retry_ev, &tv);
    st->retry_ms = st->retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS
                                                   : st->retry_ms * 2;
    check_flush(st);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    struct store *st = arg;

    (void)fd;
    (void)what;
    st->held = 0;
    pump(st);
    check_flush(st);
}

static void on_reply(struct redisReply *reply, void *arg)
{
    struct entry *e = arg;
    struct store *st = e->st;

    if (!st) {
        free_entry(e); /* the store is gone */
        return;
    }
    if (!reply) {
        /* The connection went away (the down watcher puts it back) or
         * the command was refused locally (too many in flight): either
         * way it is sent again later, in order. */
        e->lost = 1;
        hold(st);
        return;
    }
    if (reply->type == REDIS_REPLY_ERROR &&
        strncmp(reply->str, "NOSCRIPT", 8) == 0 && !e->noscript) {
        /* Until every call sent before the script was loaded again has
         * answered, nothing new is sent, so the resends keep the order. */
        e->noscript = 1;
        st->resending++;
        send_entry(st, e);
        return;
    }
    if (e->noscript)
        st->resending--;
    if (reply->type == REDIS_REPLY_ERROR) {
        /* OOM, MISCONF, READONLY, ...: a state of the server, not of the
         * result (the script is ours), so the result is kept and offered
         * again until Redis takes it. */
        st->stats.rejected++;
        if (!st->logged_reject)
            pwlog(PWLOG_WARN, "store.refused", "Redis refuses results "
                  "(kept and retried with backoff): %s", reply->str);
        st->logged_reject = 1;
        e->lost = 1;
        hold(st);
        return;
    }
    if (reply->type == REDIS_REPLY_INTEGER && reply->integer == 0)
        st->stats.duplicates++;
    else
        st->stats.written++;
    if (st->logged_reject) {
        pwlog(PWLOG_NOTICE, "store.accepted", "Redis takes results "
              "again");
        st->logged_reject = 0;
    }
    if (!st->held)
        st->retry_ms = RETRY_MIN_MS;
    if (st->opts.wait_replicas) {
        /* Kept until a replica has it too: a failover cannot lose it. */
        e->written = 1;
        ask_replicas(st);
        return;
    }
    unlink_entry(st, e);
    free_entry(e);
    if (st->held)
        hold(st);
    pump(st);
    check_flush(st);
}

/* Results up to <mark> that Redis wrote are confirmed (freed) or, not
 * confirmed, sent again after the backoff. */
static void settle(struct store *st, uint64_t mark, int confirmed)
{
    struct entry *e, *next;

    for (e = st->head; e; e = next) {
        next = e->next;
        if (!e->written || e->n > mark)
            continue;
        if (confirmed) {
            unlink_entry(st, e);
            free_entry(e);
        } else {
            /* Sent again: the new master writes it, or skips it as a
             * result it has. */
            e->written = 0;
            e->lost = 1;
        }
    }
    if (!confirmed) {
        if (!st->logged_reject)
            pwlog(PWLOG_WARN, "store.unreplicated", "results the master "
                  "wrote were not confirmed by a replica and a failover "
                  "is under way: kept and sent again");
        st->logged_reject = 1;
        hold(st);
        return;
    }
    if (st->held)
        hold(st);
    pump(st);
    ask_replicas(st);
    check_flush(st);
}

static void on_checked(int still_master, void *arg)
{
    struct replica_wait *w = arg;
    struct store *st = w->st;

    if (st) {
        /* Still the master, yet a replica that stopped confirming may be
         * the one a failover is promoting right now: only after a while
         * without any does this master's word stand alone. */
        int alone = clock_mono() - st->replicated_at > UNREPLICATED_S;

        if (still_master && alone && !st->logged_alone)
            pwlog(PWLOG_WARN, "store.no_replica", "no replica has confirmed "
                  "results for %.0f s: writing them on the master's word "
                  "alone until one does", UNREPLICATED_S);
        st->logged_alone = still_master && alone;
        st->wait = NULL;
        settle(st, w->mark, still_master && alone);
    }
    free(w);
}

static void on_wait(struct redisReply *reply, void *arg)
{
    struct replica_wait *w = arg;
    struct store *st = w->st;

    if (st == NULL) {
        free(w);
        return;
    }
    if (reply && reply->type == REDIS_REPLY_INTEGER &&
        reply->integer >= (long long)st->opts.wait_replicas)
        st->replicated_at = clock_mono();
    if (reply && reply->type == REDIS_REPLY_INTEGER &&
        reply->integer < (long long)st->opts.wait_replicas) {
        /* No replica in time: one that is away, or a failover under way
         * that left this master behind.  The Sentinels tell which; until
         * they do, no other WAIT is sent. */
        redis_check_master(st->redis, on_checked, w);
        return;
    }
    st->wait = NULL;
    settle(st, w->mark, reply && reply->type == REDIS_REPLY_INTEGER);
    free(w);
}

/* Ask Redis to confirm, once replicas have them, every result written
 * and not yet confirmed: one WAIT at a time, for all sent before it. */
static void ask_replicas(struct store *st)
{
    char n[16], ms[16];
    const char *argv[3] = { "WAIT", n, ms };
    struct entry *e;

    if (st->wait)
        return;
    for (e = st->head; e && !e->written; e = e->next)
        ;
    if (e == NULL)
        return;
    snprintf(n, sizeof(n), "%u", st->opts.wait_replicas);
    snprintf(ms, sizeof(ms), "%d", WAIT_MS);
    st->wait = xmalloc(sizeof(*st->wait));
    st->wait->st = st;
    st->wait->mark = st->sent_n;
    redis_command(st->redis, on_wait, st->wait, 3, argv, NULL);
}

/* Results in flight that only memory held go back to the front of the
 * spool, in order (they are older than anything spooled). */
static void requeue_lost(struct store *st)
{
    struct sbuf *recs = NULL;
    size_t n = 0, alloc = 0, i;
    struct entry *e, *next;
    struct pw_err err = { PW_OK, "" };

    for (e = st->head; e; e = next) {
        next = e->next;
        if (!e->in_spool) {
            XGROW(recs, n + 1, alloc);
            sbuf_init(&recs[n], 0);
            sbuf_add(&recs[n], e->rec, e->len);
            n++;
        }
        if (e->lost) {
            free_entry(e);
        } else {
            /* Still in flight (the store is being freed): its callback
             * frees it. */
            e->st = NULL;
            e->prev = e->next = NULL;
        }
    }
    st->head = st->tail = NULL;
    st->inflight = 0;
    st->resending = 0;
    st->replay_pos = 0;
    if (n && spool_records(st->spool) == 0) {
        for (i = 0; i < n; i++)
            to_spool(st, recs[i].buf, recs[i].len);
    } else if (n) {
        if (spool_prepend(st->spool, recs, n, &err) != PW_OK)
            pwlog(PWLOG_ERROR, "store.lost", "%zu results could not be "
                  "spooled: %s", n, err.msg);
        else
            st->stats.spooled += n;
    }
    for (i = 0; i < n; i++)
        sbuf_release(&recs[i]);
    free(recs);
}

static void on_seq(struct redisReply *reply, void *arg)
{
    struct seed *sd = arg;
    struct store *st = sd->st;

    free(sd);
    if (!st)
        return;
    st->seed = NULL;
    st->seeding = 0;
    if (reply && reply->type == REDIS_REPLY_STRING) {
        uint64_t seq = strtoull(reply->str, NULL, 10);

        if (seq > st->last_seq)
            st->last_seq = seq;
    }
    pump(st);
    check_flush(st);
}

static void on_state(int up, void *arg)
{
    struct store *st = arg;

    if (up) {
        const char *load[3] = { "SCRIPT", "LOAD", SCRIPT };
        const char *get[2] = { "GET", NULL };
        struct sbuf k = SBUF_INIT;

        /* Loaded before any EVALSHA on this connection. */
        redis_command(st->redis, NULL, NULL, 3, load, NULL);
        /* The last number Redis holds for this runner seeds ours before
         * anything new is sent: a clock set back (or a spool lost) must
         * not turn new results into "already written" ones. */
        keys_name(&k, st->prefix, "seq", st->runner);
        get[1] = k.buf;
        if (st->seed)
            st->seed->st = NULL;
        st->seed = xmalloc(sizeof(*st->seed));
        st->seed->st = st;
        st->seeding = 1;
        redis_command(st->redis, on_seq, st->seed, 2, get, NULL);
        sbuf_release(&k);
        st->held = 0;
        evtimer_del(st->retry_ev);
    } else {
        requeue_lost(st);
    }
    check_flush(st);
}

static void store_result(struct result_sink *s, const struct run_result *r)
{
    struct store *st = (struct store *)s;
    struct sbuf *rec = &st->rec;

    encode(st, r, rec);
    st->stats.results++;
    if (sbuf_failed(rec) || sbuf_failed(&st->key) || sbuf_failed(&st->json)) {
        pwlog(PWLOG_ERROR, "store.lost", "a result could not be encoded");
    } else if (spool_records(st->spool) == 0 && can_send(st)) {
        enqueue(st, rec->buf, rec->len, 0);
    } else {
        to_spool(st, rec->buf, rec->len);
        pump(st);
    }
}

static void on_flushed(evutil_socket_t fd, short what, void *arg)
{
    struct store *st = arg;
    struct flush_wait *w = st->finished;

    (void)fd;
    (void)what;
    st->finished = NULL;
    while (w) {
        struct flush_wait *next = w->next;

        w->fn(w->arg);
        free(w);
        w = next;
    }
}

/* Done when everything is acknowledged, or -- Redis being down -- in
 * the spool and synced. */
static void check_flush(struct store *st)
{
    struct pw_err err = { PW_OK, "" };
    struct flush_wait **tail;

    if (!st->flushes || st->head)
        return;
    if (spool_records(st->spool) && redis_up(st->redis) && !st->held)
        return;
    if (spool_sync(st->spool, &err) != PW_OK)
        pwlog(PWLOG_ERROR, "spool.io", "%s", err.msg);
    tail = &st->finished;
    while (*tail)
        tail = &(*tail)->next;
    *tail = st->flushes;
    st->flushes = NULL;
    event_active(st->flush_ev, EV_TIMEOUT, 0);
}

static void store_flush(struct result_sink *s, sink_flushed_fn *done,
                        void *arg)
{
    struct store *st = (struct store *)s;
    struct flush_wait *w = xmalloc(sizeof(*w));

    w->fn = done;
    w->arg = arg;
    w->next = st->flushes;
    st->flushes = w;
    check_flush(st);
}

static void store_free(struct result_sink *s)
{
    struct store *st = (struct store *)s;
    struct flush_wait *w, *next;
    struct pw_err err = { PW_OK, "" };

    if (!st)
        return;
    /* Whatever has no acknowledgement yet is kept for the next start. */
    requeue_lost(st);
    if (spool_sync(st->spool, &err) != PW_OK)
        pwlog(PWLOG_ERROR, "spool.io", "%s", err.msg);
    for (w = st->flushes; w; w = next) {
        next = w->next;
        free(w);
    }
    for (w = st->finished; w; w = next) {
        next = w->next;
        free(w);
    }
    redis_unwatch(st->redis, on_state, st);
    if (st->seed)
        st->seed->st = NULL;
    if (st->wait)
        st->wait->st = NULL;
    event_free(st->sync_ev);
    event_free(st->flush_ev);
    event_free(st->retry_ev);
    free(st->prefix);
    free(st->runner);
    free(st->location);
    sbuf_release(&st->rec);
    sbuf_release(&st->key);
    sbuf_release(&st->json);
    free(st);
}

static const struct sink_ops store_ops = {
    "redis", store_result, store_flush, store_free,
};

struct result_sink *store_new(struct loop *loop, struct redis *redis,
                              const char *prefix, const char *runner_id,
                              struct spool *spool,
                              const struct store_opts *opts)
{
    struct store *st = xcalloc(1, sizeof(*st));
    struct event_base *base = loop_base(loop);
    unsigned char md[SHA_DIGEST_LENGTH];
    struct sbuf rec = SBUF_INIT;
    uint64_t pos = 0;
    int i;

    sbuf_init(&st->rec, 0);
    sbuf_init(&st->key, 0);
    sbuf_init(&st->json, 0);
    st->sink.ops = &store_ops;
    st->redis = redis;
    st->spool = spool;
    st->prefix = xstrdup(prefix);
    st->runner = xstrdup(runner_id);
    if (opts)
        st->opts = *opts;
    else
        store_opts_default(&st->opts);
    st->location = xstrdup(st->opts.location ? st->opts.location : "default");
    if (st->opts.max_inflight == 0)
        st->opts.max_inflight = 1;
    if (st->opts.max_inflight > REDIS_MAX_INFLIGHT / 2)
        st->opts.max_inflight = REDIS_MAX_INFLIGHT / 2;
    if (st->opts.runs_kept == 0)
        st->opts.runs_kept = 1;
    SHA1((const unsigned char *)SCRIPT, sizeof(SCRIPT) - 1, md);
    for (i = 0; i < SHA_DIGEST_LENGTH; i++)
        snprintf(st->sha + 2 * i, 3, "%02x", md[i]);
    /* Numbers continue above those of a spool left by an earlier run. */
    while (spool_read(spool, &pos, &rec)) {
        uint64_t seq = rec_seq(rec.buf, rec.len);

        if (seq > st->last_seq)
            st->last_seq = seq;
    }
    sbuf_release(&rec);
    st->replay_gen = spool_generation(spool);
    st->sync_ev = evtimer_new(base, on_sync, st);
    st->flush_ev = event_new(base, -1, 0, on_flushed, st);
    st->retry_ev = evtimer_new(base, on_retry, st);
    st->retry_ms = RETRY_MIN_MS;
    redis_watch(redis, on_state, st);
    if (redis_up(redis))
        on_state(1, st);
    return &st->sink;
}

void store_stats(struct result_sink *s, struct store_stats *out)
{
    struct store *st = (struct store *)s;

    *out = st->stats;
    out->spool_bytes = spool_bytes(st->spool);
    out->spool_records = spool_records(st->spool);
    out->spool_dropped = spool_dropped(st->spool);
    out->inflight = st->inflight;
    out->redis_up = redis_up(st->redis);
}
