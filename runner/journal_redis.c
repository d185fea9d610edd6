/* journal_redis.c -- cleanup intents in Redis, spooled while it is away. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <jv.h>

#include "clock.h"
#include "journal_redis.h"
#include "keys.h"
#include "log.h"
#include "loop.h"
#include "redis.h"
#include "spool.h"
#include "xalloc.h"

#define HEARTBEAT_TTL_MS 30000 /* refreshed every third of it */

/* Replayed commands awaiting replies at most: a spool of any length
 * replays without crowding the connection's other users out. */
#define REPLAY_BATCH 1000

/* While Redis refuses writes, spooled intents are offered again after
 * this long, doubling up to the cap (as the store does for results). */
#define RETRY_MIN_MS 1000
#define RETRY_MAX_MS 30000

/* KEYS[1] this runner's hash, KEYS[2] {p}:cleanups; ARGV[1] the prefix,
 * ARGV[2] this runner (escaped).  Moves the intents of runners without a
 * heartbeat into KEYS[1]; returns KEYS[1] whole. */
static const char SWEEP[] =
    "for _, r in ipairs(redis.call('SMEMBERS', KEYS[2])) do\n"
    "  if r ~= ARGV[2] and\n"
    "     redis.call('EXISTS', ARGV[1] .. ':runner:' .. r) == 0 then\n"
    "    local h = ARGV[1] .. ':cleanup:' .. r\n"
    "    local kv = redis.call('HGETALL', h)\n"
    "    for i = 1, #kv, 2 do\n"
    "      redis.call('HSET', KEYS[1], kv[i], kv[i + 1])\n"
    "    end\n"
    "    redis.call('DEL', h)\n"
    "    redis.call('SREM', KEYS[2], r)\n"
    "    if #kv > 0 then redis.call('SADD', KEYS[2], ARGV[2]) end\n"
    "  end\n"
    "end\n"
    "return redis.call('HGETALL', KEYS[1])\n";

struct answer {
    journal_added_fn *fn;
    void *arg;
    uint64_t id;
    int durable;
    struct answer *next;
};

struct jr {
    struct journal j;
    struct redis *redis;
    struct spool *spool;
    char *prefix, *runner, *version;
    char *hash, *set, *beat_key, *runner_esc;
    char instance[17];
    uint64_t next_id;
    size_t pending;
    double started;
    char **swept; /* field of swept id (1 << 63 | index) */
    size_t nswept, swept_alloc;
    struct answer *answers, **answers_tail;
    struct event *answer_ev, *beat_ev, *retry_ev;
    size_t replaying;    /* replayed commands not yet answered */
    int replay_active;   /* a pass over the spool is under way */
    int replay_failed;   /* ... and a command of it was not done */
    int logged_refusal;  /* the current refusal episode has been logged */
    uint64_t replay_pos;
    unsigned long replay_gen;
    unsigned retry_ms;
    journal_beat_fn *describe; /* more heartbeat fields, or NULL */
    uint64_t beat_ttl_ms;
    void *describe_arg;
};

struct add_ctx {
    struct jr *jr;
    char *field, *json;
    journal_added_fn *fn;
    void *arg;
    uint64_t id;
};

static void field_of(const struct jr *jr, uint64_t id, char *buf, size_t n)
{
    snprintf(buf, n, "%s-%llu", jr->instance, (unsigned long long)id);
}

static void answer_later(struct jr *jr, journal_added_fn *fn, void *arg,
                         uint64_t id, int durable)
{
    struct answer *a = xmalloc(sizeof(*a));

    a->fn = fn;
    a->arg = arg;
    a->id = id;
    a->durable = durable;
    a->next = NULL;
    *jr->answers_tail = a;
    jr->answers_tail = &a->next;
    event_active(jr->answer_ev, EV_TIMEOUT, 0);
}

static void on_answers(evutil_socket_t fd, short what, void *arg)
{
    struct jr *jr = arg;
    struct answer *a = jr->answers;

    (void)fd;
    (void)what;
    jr->answers = NULL;
    jr->answers_tail = &jr->answers;
    while (a) {
        struct answer *next = a->next;

        a->fn(a->id, a->durable, a->arg);
        free(a);
        a = next;
    }
}

/* A spool record: 'A' field NUL json, or 'D' field. */
static int spool_put(struct jr *jr, char op, const char *field,
                     const char *json, int sync)
{
    struct sbuf b = SBUF_INIT;
    struct pw_err err = { PW_OK, "" };
    int rc = 0;

    sbuf_addc(&b, op);
    sbuf_adds(&b, field);
    if (json) {
        sbuf_addc(&b, '\0');
        sbuf_adds(&b, json);
    }
    if (sbuf_failed(&b) ||
        spool_append(jr->spool, b.buf, b.len, &err) != PW_OK ||
        (sync && spool_sync(jr->spool, &err) != PW_OK)) {
        pwlog(PWLOG_ERROR, "journal.spool", "cannot spool a cleanup "
              "intent: %s", err.msg);
        rc = -1;
    }
    sbuf_release(&b);
    return rc;
}

/* Offer the spool again after the backoff (Redis is up but did not take
 * a write); a reconnect replays it sooner. */
static void retry_later(struct jr *jr)
{
    struct timeval tv;

    if (evtimer_pending(jr->retry_ev, NULL))
        return;
    tv.tv_sec = jr->retry_ms / 1000;
    tv.tv_usec = (suseconds_t)(jr->retry_ms % 1000) * 1000;
    evtimer_add(jr->retry_ev, &tv);
    jr->retry_ms = jr->retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS
                                                   : jr->retry_ms * 2;
}

static void refused(struct jr *jr, const struct redisReply *reply)
{
    if (!reply || reply->type != REDIS_REPLY_ERROR || jr->logged_refusal)
        return;
    jr->logged_refusal = 1;
    pwlog(PWLOG_WARN, "journal.refused", "Redis refuses cleanup intents "
          "(spooled and retried with backoff): %s", reply->str);
}

static void accepted(struct jr *jr)
{
    jr->retry_ms = RETRY_MIN_MS;
    if (!jr->logged_refusal)
        return;
    jr->logged_refusal = 0;
    pwlog(PWLOG_NOTICE, "journal.accepted", "Redis takes cleanup intents "
          "again");
}

static void on_hset(struct redisReply *reply, void *arg)
{
    struct add_ctx *c = arg;
    struct jr *jr = c->jr;
    int durable = 1;

    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        refused(jr, reply);
        durable = spool_put(jr, 'A', c->field, c->json, 1) == 0;
        if (durable)
            retry_later(jr);
    } else {
        accepted(jr);
    }
    if (!durable)
        jr->pending--;
    c->fn(durable ? c->id : 0, durable, c->arg);
    free(c->field);
    free(c->json);
    free(c);
}

static void jr_add(struct journal *j, const struct journal_intent *in,
                   journal_added_fn *added, void *arg)
{
    struct jr *jr = (struct jr *)j;
    struct sbuf json = SBUF_INIT;
    char field[64];
    uint64_t id = ++jr->next_id;

    journal_intent_json(&json, in);
    field_of(jr, id, field, sizeof(field));
    jr->pending++;
    if (redis_up(jr->redis) && !sbuf_failed(&json)) {
        struct add_ctx *c = xmalloc(sizeof(*c));
        const char *sadd[3] = { "SADD", jr->set, jr->runner_esc };
        const char *hset[4] = { "HSET", jr->hash, field, json.buf };

        c->jr = jr;
        c->field = xstrdup(field);
        c->json = xstrdup(json.buf);
        c->fn = added;
        c->arg = arg;
        c->id = id;
        redis_command(jr->redis, NULL, NULL, 3, sadd, NULL);
        redis_command(jr->redis, on_hset, c, 4, hset, NULL);
        redis_flush(jr->redis); /* a run waits for it */
    } else {
        int ok = !sbuf_failed(&json) &&
                 spool_put(jr, 'A', field, json.buf, 1) == 0;

        if (!ok)
            jr->pending--;
        answer_later(jr, added, arg, ok ? id : 0, ok);
    }
    sbuf_release(&json);
}

static void jr_done(struct journal *j, uint64_t id)
{
    struct jr *jr = (struct jr *)j;
    char buf[64];
    const char *field = buf;

    if (id >> 63) {
        size_t i = (size_t)(id & ~(1ULL << 63));

        if (i >= jr->nswept || !jr->swept[i])
            return;
        field = jr->swept[i];
    } else {
        field_of(jr, id, buf, sizeof(buf));
    }
    if (jr->pending)
        jr->pending--;
    if (spool_records(jr->spool))
        spool_put(jr, 'D', field, NULL, 0);
    if (redis_up(jr->redis)) {
        const char *argv[3] = { "HDEL", jr->hash, field };

        redis_command(jr->redis, NULL, NULL, 3, argv, NULL);
    } else if (!spool_records(jr->spool)) {
        spool_put(jr, 'D', field, NULL, 0);
    }
    if (id >> 63) {
        free(jr->swept[id & ~(1ULL << 63)]);
        jr->swept[id & ~(1ULL << 63)] = NULL;
    }
}

static size_t jr_pending(struct journal *j)
{
    return ((struct jr *)j)->pending;
}

static void on_state(int up, void *arg);

static void jr_free(struct journal *j)
{
    struct jr *jr = (struct jr *)j;
    size_t i;

    if (!jr)
        return;
    redis_unwatch(jr->redis, on_state, jr);
    if (spool_dirty(jr->spool))
        spool_sync(jr->spool, NULL);
    while (jr->answers) {
        struct answer *next = jr->answers->next;

        free(jr->answers);
        jr->answers = next;
    }
    for (i = 0; i < jr->nswept; i++)
        free(jr->swept[i]);
    free(jr->swept);
    event_free(jr->answer_ev);
    event_free(jr->beat_ev);
    event_free(jr->retry_ev);
    free(jr->prefix);
    free(jr->runner);
    free(jr->version);
    free(jr->hash);
    free(jr->set);
    free(jr->beat_key);
    free(jr->runner_esc);
    free(jr);
}

static const struct journal_ops jr_ops = {
    jr_add, jr_done, jr_pending, jr_free,
};

static void heartbeat(struct jr *jr)
{
    struct sbuf b = SBUF_INIT;
    char host[256] = "", ttl[24];
    const char *argv[5];

    gethostname(host, sizeof(host) - 1);
    sbuf_adds(&b, "{\"id\":");
    sbuf_add_json_str(&b, jr->runner, strlen(jr->runner));
    sbuf_addf(&b, ",\"pid\":%ld,\"host\":", (long)getpid());
    sbuf_add_json_str(&b, host, strlen(host));
    sbuf_adds(&b, ",\"version\":");
    sbuf_add_json_str(&b, jr->version, strlen(jr->version));
    sbuf_addf(&b, ",\"started\":%.3f,\"beat\":%.3f", jr->started,
              clock_wall());
    if (jr->describe)
        jr->describe(&b, jr->describe_arg);
    sbuf_addc(&b, '}');
    argv[0] = "SET";
    argv[1] = jr->beat_key;
    argv[2] = b.buf;
    snprintf(ttl, sizeof(ttl), "%llu", (unsigned long long)jr->beat_ttl_ms);
    argv[3] = "PX";
    argv[4] = ttl;
    redis_command(jr->redis, NULL, NULL, 5, argv, NULL);
    sbuf_release(&b);
}

static void on_beat(evutil_socket_t fd, short what, void *arg)
{
    struct jr *jr = arg;

    (void)fd;
    (void)what;
    if (redis_up(jr->redis))
        heartbeat(jr);
}

static void replay_more(struct jr *jr);

static void on_replayed(struct redisReply *reply, void *arg)
{
    struct jr *jr = arg;

    jr->replaying--;
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        /* Refused, or not sent (connection lost, too many in flight):
         * the spool stays whole and the pass starts again later. */
        refused(jr, reply);
        jr->replay_failed = 1;
    } else {
        accepted(jr);
    }
    if (!jr->replay_failed) {
        replay_more(jr);
        return;
    }
    if (jr->replaying)
        return;
    jr->replay_active = 0;
    jr->replay_failed = 0;
    retry_later(jr);
}

/* Send the next spooled intents and tombstones, in order, up to
 * REPLAY_BATCH awaiting replies; empty the spool once the last of them
 * is answered. */
static void replay_more(struct jr *jr)
{
    struct sbuf rec = SBUF_INIT;
    struct pw_err err = { PW_OK, "" };

    if (spool_generation(jr->spool) != jr->replay_gen) {
        /* Rewritten (records dropped at the cap): start over. */
        jr->replay_gen = spool_generation(jr->spool);
        jr->replay_pos = 0;
    }
    while (jr->replaying < REPLAY_BATCH &&
           spool_read(jr->spool, &jr->replay_pos, &rec)) {
        const char *nul = memchr(rec.buf, '\0', rec.len);
        char *field;

        if (rec.len < 2)
            continue;
        field = xstrndup(rec.buf + 1, nul ? (size_t)(nul - rec.buf - 1)
                                          : rec.len - 1);
        if (rec.buf[0] == 'A' && nul) {
            const char *argv[4] = { "HSET", jr->hash, field, nul + 1 };

            jr->replaying++;
            redis_command(jr->redis, on_replayed, jr, 4, argv, NULL);
        } else if (rec.buf[0] == 'D') {
            const char *argv[3] = { "HDEL", jr->hash, field };

            jr->replaying++;
            redis_command(jr->redis, on_replayed, jr, 3, argv, NULL);
        }
        free(field);
    }
    sbuf_release(&rec);
    if (jr->replaying || jr->replay_pos < spool_bytes(jr->spool))
        return;
    jr->replay_active = 0;
    if (spool_truncate(jr->spool, &err) != PW_OK)
        pwlog(PWLOG_ERROR, "journal.spool", "%s", err.msg);
}

static void replay(struct jr *jr)
{
    const char *sadd[3] = { "SADD", jr->set, jr->runner_esc };

    if (jr->replay_active || !spool_records(jr->spool) ||
        !redis_up(jr->redis))
        return;
    jr->replay_active = 1;
    jr->replay_gen = spool_generation(jr->spool);
    jr->replay_pos = 0;
    redis_command(jr->redis, NULL, NULL, 3, sadd, NULL);
    replay_more(jr);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    replay(arg);
}

static void on_state(int up, void *arg)
{
    struct jr *jr = arg;

    if (!up)
        return;
    heartbeat(jr);
    evtimer_del(jr->retry_ev);
    replay(jr);
}

static char *key_of(const char *prefix, const char *kind, const char *name)
{
    struct sbuf b = SBUF_INIT;

    keys_name(&b, prefix, kind, name);
    return sbuf_take(&b, NULL);
}

struct journal *journal_redis_new(struct loop *loop, struct redis *redis,
                                  const char *prefix, const char *runner_id,
                                  struct spool *spool, const char *version)
{
    struct jr *jr = xcalloc(1, sizeof(*jr));
    struct event_base *base = loop_base(loop);
    struct timeval tv = { HEARTBEAT_TTL_MS / 3000, 0 };
    struct sbuf esc = SBUF_INIT;
    uint64_t x = (uint64_t)(clock_wall() * 1e6) ^ (uint64_t)getpid() << 40 ^
                 (uint64_t)(uintptr_t)jr;

    jr->j.ops = &jr_ops;
    jr->redis = redis;
    jr->spool = spool;
    jr->prefix = xstrdup(prefix);
    jr->runner = xstrdup(runner_id);
    jr->version = xstrdup(version ? version : "");
    jr->beat_ttl_ms = HEARTBEAT_TTL_MS;
    jr->hash = key_of(prefix, "cleanup", runner_id);
    jr->set = key_of(prefix, "cleanups", NULL);
    jr->beat_key = key_of(prefix, "runner", runner_id);
    keys_escape(&esc, runner_id, strlen(runner_id));
    jr->runner_esc = sbuf_take(&esc, NULL);
    snprintf(jr->instance, sizeof(jr->instance), "%016llx",
             (unsigned long long)(x * 0x9e3779b97f4a7c15ULL));
    jr->started = clock_wall();
    jr->answers_tail = &jr->answers;
    jr->answer_ev = event_new(base, -1, 0, on_answers, jr);
    jr->beat_ev = event_new(base, -1, EV_PERSIST, on_beat, jr);
    jr->retry_ev = evtimer_new(base, on_retry, jr);
    jr->retry_ms = RETRY_MIN_MS;
    event_add(jr->beat_ev, &tv);
    redis_watch(redis, on_state, jr);
    if (redis_up(redis))
        on_state(1, jr);
    return &jr->j;
}

void journal_redis_beat_ttl(struct journal *j, uint64_t ttl_ms)
{
    struct jr *jr = (struct jr *)j;
    struct timeval tv;

    if (ttl_ms < 300)
        ttl_ms = 300;
    jr->beat_ttl_ms = ttl_ms;
    tv.tv_sec = (time_t)(ttl_ms / 3000);
    tv.tv_usec = (suseconds_t)(ttl_ms / 3 % 1000 * 1000);
    event_del(jr->beat_ev);
    event_add(jr->beat_ev, &tv);
}

void journal_redis_describe(struct journal *j, journal_beat_fn *fn, void *arg)
{
    struct jr *jr = (struct jr *)j;

    jr->describe = fn;
    jr->describe_arg = arg;
    if (redis_up(jr->redis))
        heartbeat(jr); /* say it now, not in up to 10 s */
}

struct sweep_ctx {
    struct jr *jr;
    journal_sweep_fn *each;
    journal_swept_fn *end;
    void *arg;
};

static void on_swept(struct redisReply *reply, void *arg)
{
    struct sweep_ctx *c = arg;
    struct jr *jr = c->jr;
    size_t i, n = 0;

    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
        if (reply && reply->type == REDIS_REPLY_ERROR)
            pwlog(PWLOG_ERROR, "journal.sweep", "sweep refused: %s",
                  reply->str);
        c->end(0, 0, c->arg);
        free(c);
        return;
    }
    for (i = 0; i + 1 < reply->elements; i += 2) {
        const char *field = reply->element[i]->str;
        const redisReply *v = reply->element[i + 1];
        struct journal_parsed p;
        uint64_t id;

        if (!field || strncmp(field, jr->instance, 16) == 0)
            continue; /* ours: its run is still going */
        if (journal_intent_parse(v->str, v->len, &p) < 0) {
            pwlog(PWLOG_ERROR, "journal.sweep", "dropping an unreadable "
                  "cleanup intent (%s)", field);
            {
                const char *argv[3] = { "HDEL", jr->hash, field };

                redis_command(jr->redis, NULL, NULL, 3, argv, NULL);
            }
            continue;
        }
        XGROW(jr->swept, jr->nswept + 1, jr->swept_alloc);
        jr->swept[jr->nswept] = xstrdup(field);
        id = 1ULL << 63 | jr->nswept;
        jr->nswept++;
        jr->pending++;
        n++;
        c->each(id, &p.in, c->arg);
        journal_parsed_release(&p);
    }
    c->end(n, 1, c->arg);
    free(c);
}

void journal_redis_sweep(struct journal *j, journal_sweep_fn *each,
                         journal_swept_fn *end, void *arg)
{
    struct jr *jr = (struct jr *)j;
    struct sweep_ctx *c = xmalloc(sizeof(*c));
    const char *argv[7] = { "EVAL", SWEEP, "2", jr->hash, jr->set,
                            jr->prefix, jr->runner_esc };

    c->jr = jr;
    c->each = each;
    c->end = end;
    c->arg = arg;
    redis_command(jr->redis, on_swept, c, 7, argv, NULL);
}

static void add_named(struct sbuf *out, const struct journal_named *nv,
                      size_t n)
{
    size_t i;

    sbuf_addc(out, '{');
    for (i = 0; i < n; i++) {
        if (i)
            sbuf_addc(out, ',');
        sbuf_add_json_str(out, nv[i].name, strlen(nv[i].name));
        sbuf_addc(out, ':');
        sbuf_add_json_str(out, nv[i].value, strlen(nv[i].value));
    }
    sbuf_addc(out, '}');
}

#define JSTR(out, s) sbuf_add_json_str((out), (s) ? (s) : "", \
                                       (s) ? strlen(s) : 0)

void journal_intent_json(struct sbuf *out, const struct journal_intent *in)
{
    size_t i;

    sbuf_adds(out, "{\"run_id\":");
    JSTR(out, in->run_id);
    sbuf_adds(out, ",\"test_id\":");
    JSTR(out, in->test_id);
    sbuf_adds(out, ",\"scenario\":");
    JSTR(out, in->scenario);
    sbuf_adds(out, ",\"target\":");
    JSTR(out, in->target);
    sbuf_addf(out, ",\"step\":%u,\"registered\":%.3f,\"row\":[", in->step,
              in->registered);
    for (i = 0; i < in->nrow; i++) {
        if (i)
            sbuf_addc(out, ',');
        JSTR(out, in->row[i]);
    }
    sbuf_adds(out, "],\"vars\":");
    add_named(out, in->vars, in->nvars);
    sbuf_adds(out, ",\"caps\":");
    add_named(out, in->caps, in->ncaps);
    sbuf_addc(out, '}');
}

/* Take string <s> (consumed) into <p>; NULL when it is not one. */
static char *take_str(struct journal_parsed *p, jv s)
{
    char *c = NULL;

    if (jv_get_kind(s) == JV_KIND_STRING) {
        c = xstrdup(jv_string_value(s));
        p->strs[p->nstrs++] = c;
    }
    jv_free(s);
    return c;
}

/* Fill <out>[0..] from object <obj> (consumed) of strings; returns the
 * count, or -1. */
static int take_named(struct journal_parsed *p, jv obj,
                      struct journal_named *out)
{
    jv keys;
    int i, n;

    if (jv_get_kind(obj) != JV_KIND_OBJECT) {
        jv_free(obj);
        return -1;
    }
    keys = jv_keys(jv_copy(obj));
    n = jv_array_length(jv_copy(keys));
    for (i = 0; i < n; i++) {
        jv k = jv_array_get(jv_copy(keys), i);

        out[i].value = take_str(p, jv_object_get(jv_copy(obj), jv_copy(k)));
        out[i].name = take_str(p, k);
        if (!out[i].value || !out[i].name) {
            n = -1;
            break;
        }
    }
    jv_free(keys);
    jv_free(obj);
    return n;
}

static int obj_len(jv v, const char *key, jv_kind kind)
{
    jv x = jv_object_get(jv_copy(v), jv_string(key));
    int n = -1;

    if (jv_get_kind(x) == kind)
        n = kind == JV_KIND_ARRAY ? jv_array_length(jv_copy(x))
                                  : jv_object_length(jv_copy(x));
    jv_free(x);
    return n;
}

static double num(jv v, const char *key)
{
    jv x = jv_object_get(jv_copy(v), jv_string(key));
    double d = jv_get_kind(x) == JV_KIND_NUMBER ? jv_number_value(x) : -1;

    jv_free(x);
    return d;
}

int journal_intent_parse(const char *json, size_t len,
                         struct journal_parsed *out)
{
    jv v;
    int nrow, nvars, ncaps, i, ok = 1;
    double step;

    memset(out, 0, sizeof(*out));
    if (!json || len > SPOOL_MAX_RECORD)
        return -1;
    v = jv_parse_sized(json, (int)len);
    if (jv_get_kind(v) != JV_KIND_OBJECT) {
        jv_free(v);
        return -1;
    }
    nrow = obj_len(v, "row", JV_KIND_ARRAY);
    nvars = obj_len(v, "vars", JV_KIND_OBJECT);
    ncaps = obj_len(v, "caps", JV_KIND_OBJECT);
    step = num(v, "step");
    if (nrow < 0 || nvars < 0 || ncaps < 0 || step < 0 ||
        step > 4294967295.0) {
        jv_free(v);
        return -1;
    }
    out->strs = xcalloc(4 + (size_t)nrow + 2 * ((size_t)nvars + ncaps) + 1,
                        sizeof(char *));
    out->row = xcalloc((size_t)nrow + 1, sizeof(char *));
    out->named = xcalloc((size_t)nvars + ncaps + 1, sizeof(*out->named));
    out->in.run_id = take_str(out, jv_object_get(jv_copy(v),
                                                 jv_string("run_id")));
    out->in.test_id = take_str(out, jv_object_get(jv_copy(v),
                                                  jv_string("test_id")));
    out->in.scenario = take_str(out, jv_object_get(jv_copy(v),
                                                   jv_string("scenario")));
    out->in.target = take_str(out, jv_object_get(jv_copy(v),
                                                 jv_string("target")));
    ok = out->in.run_id && out->in.test_id && out->in.scenario &&
         out->in.target;
    for (i = 0; ok && i < nrow; i++) {
        jv row = jv_object_get(jv_copy(v), jv_string("row"));

        out->row[i] = take_str(out, jv_array_get(row, i));
        ok = out->row[i] != NULL;
    }
    if (ok)
        ok = take_named(out, jv_object_get(jv_copy(v), jv_string("vars")),
                        out->named) == nvars &&
             take_named(out, jv_object_get(jv_copy(v), jv_string("caps")),
                        out->named + nvars) == ncaps;
    out->in.step = (unsigned)step;
    out->in.registered = num(v, "registered");
    out->in.row = out->row;
    out->in.nrow = (size_t)nrow;
    out->in.vars = out->named;
    out->in.nvars = (size_t)nvars;
    out->in.caps = out->named + nvars;
    out->in.ncaps = (size_t)ncaps;
    jv_free(v);
    if (!ok) {
        journal_parsed_release(out);
        return -1;
    }
    return 0;
}

void journal_parsed_release(struct journal_parsed *p)
{
    size_t i;

    for (i = 0; i < p->nstrs; i++)
        free(p->strs[i]);
    free(p->strs);
    free(p->row);
    free(p->named);
    memset(p, 0, sizeof(*p));
}
