/* outbox.c -- alert events queued per reporter instance, kept in Redis.
 *
 * Each instance has a FIFO in memory that mirrors its Redis list.  An item
 * is written (RPUSH) once the list has been read back at start, so what
 * the list held comes first; it is handed to the instance once written
 * (or at once while Redis is down); its answer removes it from both.
 *
 * Removal is LREM <key> 1 <json> rather than LPOP.  In the steady state
 * the two are the same (the head is the event just answered), but a
 * removal whose reply was lost with the connection can be sent again
 * without ever taking the next event, and an entry that is not an event
 * can be taken out wherever it sits.  A write whose reply was lost is
 * sent again only if the list does not hold the event already.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <jv.h>

#include "clock.h"
#include "jsonscan.h"
#include "keys.h"
#include "log.h"
#include "loop.h"
#include "outbox.h"
#include "redis.h"
#include "sbuf.h"
#include "xalloc.h"

/* The largest entry read back as an event: far above what the alert state
 * machine writes (summary 1 KiB, an excerpt, a details object), far below
 * what would hurt. */
#define OUTBOX_JSON_MAX (1024 * 1024)

#define BACKOFF_FIRST_MS 1000UL
#define BACKOFF_MAX_MS (5UL * 60 * 1000)
#define RETRY_AFTER_MAX_MS (3600UL * 1000)

enum wstate {
    W_NO,    /* not in Redis */
    W_SENT,  /* RPUSH sent, no reply yet */
    W_YES,   /* in Redis */
    W_NEVER  /* Redis refused it: delivered from memory only */
};

struct cmd;

struct item {
    struct item *next;
    char *json;
    size_t len;
    long long at;       /* Unix seconds it was raised */
    int resolve;        /* its action, for the log */
    enum wstate w;
    struct cmd *wcmd;   /* the RPUSH in flight while W_SENT */
    int unsure;         /* an RPUSH of it went without a reply */
};

/* A removal not yet done because Redis was away. */
struct owed {
    struct owed *next;
    char *json;
    size_t len;
};

struct inst;

/* Outlives the outbox while a Redis reply or an answer is due: whoever
 * arrives late finds o NULL and only frees its own context. */
struct anchor {
    struct outbox *o;
    unsigned refs;
};

struct cmd {
    struct anchor *an;
    struct inst *in;
    struct item *it;   /* RPUSH: the item, NULL once it is gone */
    char *json;        /* LREM: the value, to send again when lost */
    size_t len;
};

struct ticket {
    struct anchor *an;
    struct inst *in;   /* NULL once nobody waits for the answer */
};

struct inst {
    struct outbox *o;
    char *name;
    char *key;
    size_t index;
    int active;              /* <name> is one of the current dest's */
    int recovered;           /* the list has been read back */
    int recovering;          /* ... the read is under way */
    long long trimmed;       /* entries past the cap found at the read */
    struct item *head, **tail;
    size_t n;
    size_t unwritten;        /* items W_NO or W_SENT */
    struct owed *owed;
    struct ticket *flight;   /* the head is with the instance */
    struct loop_timer *retry;
    unsigned attempts;       /* of the head */
    struct outbox_stats st;
};

struct flush_waiter {
    struct flush_waiter *next;
    void (*done)(void *arg);
    void *arg;
};

struct outbox {
    struct loop *loop;
    struct redis *redis;
    char *prefix;
    char *runner;
    struct outbox_dest dest;
    struct anchor *an;
    struct inst **insts;
    size_t ninsts, insts_alloc;
    size_t ncmds;            /* Redis commands awaiting their reply */
    struct loop_timer *kick;
    struct loop_timer *flush_timer;
    struct flush_waiter *waiters;
    uint64_t rng;
};

static void on_state(int up, void *arg);
static void on_kick(void *arg);
static void write_item(struct inst *in, struct item *it);

/* -- JSON ---------------------------------------------------------------- */

static const char *const action_words[] = { "trigger", "resolve" };
static const char *const level_words[] = { "test", "scenario", "target",
                                           "runner" };

/* The optional strings of struct pw_alert, by name, in JSON order. */
#define ALERT_STRINGS(X)                                                       \
    X(kind) X(dedup_key) X(summary) X(severity) X(scenario) X(target)          \
    X(source) X(check) X(step) X(message) X(request) X(excerpt) X(run_id)      \
    X(link) X(details)

static void add_str_field(struct sbuf *b, const char *name, const char *v)
{
    sbuf_addf(b, ",\"%s\":", name);
    if (v)
        sbuf_add_json_str(b, v, strlen(v));
    else
        sbuf_adds(b, "null");
}

char *alert_to_json(const struct pw_alert *a)
{
    struct sbuf b = SBUF_INIT;
    unsigned act = (unsigned)a->action < 2 ? (unsigned)a->action : 0;
    unsigned lvl = (unsigned)a->level < 4 ? (unsigned)a->level : 0;

    sbuf_addf(&b, "{\"action\":\"%s\",\"update\":%s,\"test\":%s,"
                  "\"level\":\"%s\"",
              action_words[act], a->update ? "true" : "false",
              a->test ? "true" : "false", level_words[lvl]);
#define X(f) add_str_field(&b, #f, a->f);
    ALERT_STRINGS(X)
#undef X
    sbuf_addf(&b, ",\"since\":%lld,\"at\":%lld}", a->since, a->at);
    return sbuf_take(&b, NULL);
}

static int word_index(jv v, const char *const *words, size_t n)
{
    const char *s;
    size_t i;

    if (jv_get_kind(v) != JV_KIND_STRING)
        return -1;
    s = jv_string_value(v);
    for (i = 0; i < n; i++)
        if (strcmp(s, words[i]) == 0)
            return (int)i;
    return -1;
}

static int get_bool(jv obj, const char *key, int *out)
{
    jv v = jv_object_get(jv_copy(obj), jv_string(key));
    jv_kind k = jv_get_kind(v);

    jv_free(v);
    if (k != JV_KIND_TRUE && k != JV_KIND_FALSE)
        return -1;
    *out = k == JV_KIND_TRUE;
    return 0;
}

static int get_int(jv obj, const char *key, long long *out)
{
    jv v = jv_object_get(jv_copy(obj), jv_string(key));
    double d;

    if (jv_get_kind(v) != JV_KIND_NUMBER) {
        jv_free(v);
        return -1;
    }
    d = jv_number_value(v);
    jv_free(v);
    /* Beyond 2^53 a double no longer holds every integer: not ours. */
    if (!(d >= -9007199254740992.0 && d <= 9007199254740992.0) ||
        d != (double)(long long)d)
        return -1;
    *out = (long long)d;
    return 0;
}

/* The length of string <key> of <obj> plus its NUL into *<need> (0 when
 * null or absent); -1 when it is something else or holds a NUL. */
static int str_need(jv obj, const char *key, size_t *need)
{
    jv v = jv_object_get(jv_copy(obj), jv_string(key));
    jv_kind k = jv_get_kind(v);
    int rc = 0;

    *need = 0;
    if (k == JV_KIND_STRING) {
        size_t len = (size_t)jv_string_length_bytes(jv_copy(v));

        if (memchr(jv_string_value(v), '\0', len))
            rc = -1;
        *need = len + 1;
    } else if (k != JV_KIND_NULL && k != JV_KIND_INVALID) {
        rc = -1;
    }
    jv_free(v);
    return rc;
}

static const char *str_copy(jv obj, const char *key, char **pos)
{
    jv v = jv_object_get(jv_copy(obj), jv_string(key));
    char *s = NULL;

    if (jv_get_kind(v) == JV_KIND_STRING) {
        size_t len = strlen(jv_string_value(v));

        s = *pos;
        memcpy(s, jv_string_value(v), len + 1);
        *pos += len + 1;
    }
    jv_free(v);
    return s;
}

int alert_from_json(const char *json, struct pw_alert *a, void **mem)
{
    jv v, w;
    size_t n, need, total = 0;
    int act, lvl;
    char *pos;

    memset(a, 0, sizeof(*a));
    *mem = NULL;
    if (!json)
        return -1;
    n = strlen(json);
    if (n > OUTBOX_JSON_MAX || !jsonscan_structure(json, n, NULL, NULL))
        return -1;
    v = jv_parse_sized(json, (int)n);
    if (jv_get_kind(v) != JV_KIND_OBJECT) {
        jv_free(v);
        return -1;
    }
    w = jv_object_get(jv_copy(v), jv_string("action"));
    act = word_index(w, action_words, 2);
    jv_free(w);
    w = jv_object_get(jv_copy(v), jv_string("level"));
    lvl = word_index(w, level_words, 4);
    jv_free(w);
    if (act < 0 || lvl < 0 || get_bool(v, "update", &a->update) ||
        get_bool(v, "test", &a->test) || get_int(v, "since", &a->since) ||
        get_int(v, "at", &a->at))
        goto bad;
#define X(f)                                                                   \
    if (str_need(v, #f, &need))                                                \
        goto bad;                                                              \
    total += need;
    ALERT_STRINGS(X)
#undef X
    a->action = (enum pw_alert_action)act;
    a->level = (enum pw_alert_level)lvl;
    pos = xmalloc(total + 1);
    *mem = pos;
#define X(f) a->f = str_copy(v, #f, &pos);
    ALERT_STRINGS(X)
#undef X
    jv_free(v);
    return 0;
bad:
    jv_free(v);
    memset(a, 0, sizeof(*a));
    return -1;
}

/* -- Redis --------------------------------------------------------------- */

static struct cmd *cmd_new(struct inst *in)
{
    struct cmd *c = xcalloc(1, sizeof(*c));

    c->an = in->o->an;
    c->an->refs++;
    c->in = in;
    in->o->ncmds++;
    return c;
}

static void anchor_drop(struct anchor *an)
{
    if (--an->refs == 0 && !an->o)
        free(an);
}

/* Release <c>; returns its outbox, or NULL when the outbox is gone. */
static struct outbox *cmd_done(struct cmd *c)
{
    struct outbox *o = c->an->o;

    if (o)
        o->ncmds--;
    anchor_drop(c->an);
    free(c->json);
    free(c);
    return o;
}

static void schedule_kick(struct outbox *o)
{
    if (!o->kick)
        o->kick = loop_after(o->loop, 0, on_kick, o);
}

static void set_w(struct inst *in, struct item *it, enum wstate w)
{
    int was = it->w == W_NO || it->w == W_SENT;
    int is = w == W_NO || w == W_SENT;

    it->w = w;
    if (was && !is)
        in->unwritten--;
    else if (!was && is)
        in->unwritten++;
}

static void owe(struct inst *in, char *json, size_t len)
{
    struct owed *ow = xmalloc(sizeof(*ow));

    ow->json = json;
    ow->len = len;
    ow->next = in->owed;
    in->owed = ow;
}

static void on_removed(struct redisReply *reply, void *arg)
{
    struct cmd *c = arg;
    struct inst *in = c->in;

    if (!c->an->o) {
        cmd_done(c);
        return;
    }
    if (!reply) {
        owe(in, c->json, c->len); /* sent again when Redis is back */
        c->json = NULL;
    } else if (reply->type == REDIS_REPLY_ERROR) {
        pwlog(PWLOG_WARN, "outbox.redis", "%s: LREM failed: %s", in->name,
              reply->str);
    }
    schedule_kick(cmd_done(c));
}

static void send_removal(struct inst *in, char *json, size_t len)
{
    struct cmd *c = cmd_new(in);
    const char *argv[4] = { "LREM", in->key, "1", json };
    size_t argvlen[4] = { 4, strlen(in->key), 1, len };

    c->json = json;
    c->len = len;
    redis_command(in->o->redis, on_removed, c, 4, argv, argvlen);
}

/* Take <json> (owned) out of <in>'s list, now or once Redis is back. */
static void remove_json(struct inst *in, char *json, size_t len)
{
    if (redis_up(in->o->redis))
        send_removal(in, json, len);
    else
        owe(in, json, len);
}

static void on_written(struct redisReply *reply, void *arg)
{
    struct cmd *c = arg;
    struct inst *in = c->in;
    struct item *it = c->it;

    if (c->an->o && it) {
        it->wcmd = NULL;
        if (!reply) {
            set_w(in, it, W_NO);
            it->unsure = 1;
        } else if (reply->type == REDIS_REPLY_ERROR) {
            pwlog(PWLOG_WARN, "outbox.redis",
                  "%s: RPUSH failed, the event waits in memory only: %s",
                  in->name, reply->str);
            set_w(in, it, W_NEVER);
        } else {
            set_w(in, it, W_YES);
        }
    }
    if (c->an->o)
        schedule_kick(c->an->o);
    cmd_done(c);
}

/* RPUSH, unless the event is there: the connection may have been lost
 * after Redis ran the first RPUSH and before its reply came. */
static const char push_again[] =
    "if redis.call('LPOS', KEYS[1], ARGV[1]) then return 0 end\n"
    "return redis.call('RPUSH', KEYS[1], ARGV[1])\n";

static void write_item(struct inst *in, struct item *it)
{
    struct cmd *c = cmd_new(in);
    const char *eval[5] = { "EVAL", push_again, "1", in->key, it->json };
    size_t evallen[5] = { 4, sizeof(push_again) - 1, 1, strlen(in->key),
                          it->len };
    const char *push[3] = { "RPUSH", in->key, it->json };
    size_t pushlen[3] = { 5, strlen(in->key), it->len };

    c->it = it;
    it->wcmd = c;
    set_w(in, it, W_SENT);
    if (it->unsure)
        redis_command(in->o->redis, on_written, c, 5, eval, evallen);
    else
        redis_command(in->o->redis, on_written, c, 3, push, pushlen);
}

/* Once Redis is up and the list was read: removals owed, then writes. */
static void sync_inst(struct inst *in)
{
    struct item *it;

    if (!redis_up(in->o->redis) || !in->recovered)
        return;
    while (in->owed) {
        struct owed *ow = in->owed;

        in->owed = ow->next;
        send_removal(in, ow->json, ow->len);
        free(ow);
    }
    for (it = in->head; it && in->unwritten; it = it->next)
        if (it->w == W_NO)
            write_item(in, it);
}

/* -- The queue ----------------------------------------------------------- */

static struct item *item_new(char *json, size_t len,
                             const struct pw_alert *a)
{
    struct item *it = xcalloc(1, sizeof(*it));

    it->json = json;
    it->len = len;
    it->at = a->at > 0 ? a->at : (long long)clock_now();
    it->resolve = a->action == PW_ALERT_RESOLVE;
    return it;
}

/* Unlink <it> (after <prev>, or the head when NULL) and forget it in
 * Redis too. */
static void item_drop(struct inst *in, struct item *prev, struct item *it)
{
    if (prev)
        prev->next = it->next;
    else
        in->head = it->next;
    if (in->tail == &it->next)
        in->tail = prev ? &prev->next : &in->head;
    in->n--;
    if (it->wcmd)
        it->wcmd->it = NULL;
    if (it->w == W_YES || it->w == W_SENT || it->unsure)
        remove_json(in, it->json, it->len); /* after the RPUSH, if sent */
    else
        free(it->json);
    set_w(in, it, W_NEVER);
    free(it);
}

static void append(struct inst *in, struct item *it)
{
    *in->tail = it;
    in->tail = &it->next;
    in->n++;
    if (it->w == W_NO || it->w == W_SENT)
        in->unwritten++;
}

/* Drop the oldest items past OUTBOX_MAX_EVENTS, never the one in flight. */
static void enforce_cap(struct inst *in)
{
    unsigned long dropped = 0;

    while (in->n > OUTBOX_MAX_EVENTS) {
        struct item *prev = in->flight ? in->head : NULL;

        item_drop(in, prev, prev ? prev->next : in->head);
        if (!prev && in->retry) {
            loop_timer_cancel(in->retry);
            in->retry = NULL;
        }
        if (!prev)
            in->attempts = 0;
        dropped++;
    }
    if (dropped) {
        in->st.dropped += dropped;
        pwlog(PWLOG_WARN, "outbox.dropped",
              "%s: %lu oldest events dropped: more than %d waiting",
              in->name, dropped, OUTBOX_MAX_EVENTS);
    }
}

static void on_recovered(struct redisReply *reply, void *arg)
{
    struct cmd *c = arg;
    struct inst *in = c->in;
    struct item *found = NULL, **ftail = &found;
    size_t i, nfound = 0;
    unsigned long garbage = 0;

    if (!c->an->o) {
        cmd_done(c);
        return;
    }
    in->recovering = 0;
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
        if (reply)
            pwlog(PWLOG_WARN, "outbox.redis", "%s: cannot read %s: %s",
                  in->name, in->key,
                  reply->type == REDIS_REPLY_ERROR ? reply->str
                                                   : "not a list");
        schedule_kick(cmd_done(c));
        return; /* read again when Redis is back */
    }
    for (i = 0; i < reply->elements; i++) {
        const redisReply *e = reply->element[i];
        struct pw_alert a;
        void *mem = NULL;
        int ok = e->type == REDIS_REPLY_STRING && strlen(e->str) == e->len &&
                 alert_from_json(e->str, &a, &mem) == 0;

        if (!ok) {
            if (e->type == REDIS_REPLY_STRING)
                send_removal(in, xstrndup(e->str, e->len), e->len);
            garbage++;
            continue;
        }
        *ftail = item_new(xstrndup(e->str, e->len), e->len, &a);
        (*ftail)->w = W_YES;
        ftail = &(*ftail)->next;
        nfound++;
        free(mem);
    }
    if (in->trimmed) {
        in->st.dropped += (unsigned long)in->trimmed;
        pwlog(PWLOG_WARN, "outbox.dropped",
              "%s: %lld oldest events of %s dropped: more than %d waiting",
              in->name, in->trimmed, in->key, OUTBOX_MAX_EVENTS);
    }
    if (garbage)
        pwlog(PWLOG_WARN, "outbox.garbage",
              "%s: %lu entries of %s that are not events skipped", in->name,
              garbage, in->key);
    /* What waited in the list was raised before anything of this start. */
    if (found) {
        *ftail = in->head;
        if (!in->head)
            in->tail = ftail;
        in->head = found;
        in->n += nfound;
    }
    in->recovered = 1;
    if (nfound)
        pwlog(PWLOG_INFO, "outbox.recovered", "%s: %zu pending events",
              in->name, nfound);
    enforce_cap(in);
    sync_inst(in);
    schedule_kick(cmd_done(c));
}

static void on_length(struct redisReply *reply, void *arg)
{
    struct cmd *c = arg;

    if (c->an->o && reply && reply->type == REDIS_REPLY_INTEGER)
        c->in->trimmed = reply->integer > OUTBOX_MAX_EVENTS
                             ? reply->integer - OUTBOX_MAX_EVENTS
                             : 0;
    cmd_done(c);
}

/* Read <in>'s list back, its oldest past the cap dropped first. */
static void recover(struct inst *in)
{
    struct outbox *o = in->o;
    char max[32];
    const char *len[2] = { "LLEN", in->key };
    const char *trim[4] = { "LTRIM", in->key, max, "-1" };
    const char *range[4] = { "LRANGE", in->key, "0", "-1" };

    if (in->recovered || in->recovering || !redis_up(o->redis))
        return;
    in->recovering = 1;
    in->trimmed = 0;
    snprintf(max, sizeof(max), "-%d", OUTBOX_MAX_EVENTS);
    redis_command(o->redis, on_length, cmd_new(in), 2, len, NULL);
    redis_command(o->redis, NULL, NULL, 4, trim, NULL);
    redis_command(o->redis, on_recovered, cmd_new(in), 4, range, NULL);
    redis_flush(o->redis);
}

static struct inst *inst_new(struct outbox *o, const char *name)
{
    struct inst *in = xcalloc(1, sizeof(*in));
    struct sbuf key = SBUF_INIT;

    in->o = o;
    in->name = xstrdup(name);
    keys_name(&key, o->prefix, "outbox", o->runner);
    sbuf_addc(&key, ':');
    keys_escape(&key, name, strlen(name));
    in->key = sbuf_take(&key, NULL);
    in->tail = &in->head;
    in->st.last = PW_DELIVERED;
    xgrow((void **)&o->insts, sizeof(*o->insts), o->ninsts + 1,
          &o->insts_alloc);
    o->insts[o->ninsts++] = in;
    return in;
}

static struct inst *inst_find(const struct outbox *o, const char *name)
{
    size_t i;

    for (i = 0; i < o->ninsts; i++)
        if (strcmp(o->insts[i]->name, name) == 0)
            return o->insts[i];
    return NULL;
}

/* -- Delivery ------------------------------------------------------------ */

static uint64_t next_rand(struct outbox *o)
{
    uint64_t z = (o->rng += 0x9e3779b97f4a7c15ULL); /* splitmix64 */

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* The wait before attempt <attempts> + 1: 1 s doubling to 5 min, within
 * +-20%, so that runners restarted together do not retry in step. */
static unsigned long backoff_ms(struct outbox *o, unsigned attempts)
{
    unsigned long base = BACKOFF_FIRST_MS;
    double f = 0.8 + 0.4 * (double)(next_rand(o) >> 11) / 9007199254740992.0;

    while (attempts > 1 && base < BACKOFF_MAX_MS) {
        base *= 2;
        attempts--;
    }
    if (base > BACKOFF_MAX_MS)
        base = BACKOFF_MAX_MS;
    return (unsigned long)((double)base * f);
}

static const char *action_of(const struct item *it)
{
    return it->resolve ? "resolve" : "trigger";
}

static void on_retry(void *arg)
{
    struct inst *in = arg;

    in->retry = NULL;
    schedule_kick(in->o);
}

static void set_why(struct inst *in, enum pw_outcome outcome, const char *why)
{
    in->st.last = outcome;
    snprintf(in->st.last_why, sizeof(in->st.last_why), "%s", why ? why : "");
}

static void on_answer(void *arg, enum pw_outcome outcome,
                      unsigned long retry_after_ms, const char *why)
{
    struct ticket *t = arg;
    struct inst *in = t->in;
    struct outbox *o = t->an->o;
    struct item *it;
    unsigned long wait;

    anchor_drop(t->an);
    free(t);
    if (!o || !in || in->flight != t)
        return;
    in->flight = NULL;
    it = in->head;
    set_why(in, outcome, why);
    if (outcome == PW_RETRY) {
        wait = retry_after_ms ? retry_after_ms : backoff_ms(o, in->attempts);
        if (wait > RETRY_AFTER_MAX_MS)
            wait = RETRY_AFTER_MAX_MS;
        in->st.retried++;
        pwlog(PWLOG_NOTICE, "outbox.retry",
              "%s: %s attempt %u failed (%s); retry in %lu ms", in->name,
              action_of(it), in->attempts, why ? why : "no reason given",
              wait);
        in->retry = loop_after(o->loop, wait, on_retry, in);
        schedule_kick(o);
        return;
    }
    if (outcome == PW_REJECTED) {
        in->st.rejected++;
        pwlog(PWLOG_ERROR, "outbox.rejected", "%s: %s rejected, dropped: %s",
              in->name, action_of(it), why ? why : "no reason given");
    } else {
        in->st.delivered++;
        pwlog(PWLOG_INFO, "outbox.delivered", "%s: %s delivered (attempt %u)",
              in->name, action_of(it), in->attempts);
    }
    in->attempts = 0;
    item_drop(in, NULL, it);
    schedule_kick(o);
}

/* Hand the head of <in> over, when its turn has come. */
static void deliver_head(struct inst *in)
{
    struct outbox *o = in->o;
    struct item *it;
    struct pw_alert a;
    struct ticket *t;
    void *mem;

    while (in->active && in->recovered && !in->flight && !in->retry &&
           in->head) {
        it = in->head;
        if (redis_up(o->redis) && (it->w == W_NO || it->w == W_SENT)) {
            if (it->w == W_NO)
                write_item(in, it);
            return; /* handed over once Redis holds it */
        }
        if ((long long)clock_now() - it->at > OUTBOX_MAX_AGE_S) {
            in->st.dropped++;
            pwlog(PWLOG_WARN, "outbox.dropped",
                  "%s: %s raised %lld s ago dropped: older than %d s",
                  in->name, action_of(it), (long long)clock_now() - it->at,
                  OUTBOX_MAX_AGE_S);
            in->attempts = 0;
            item_drop(in, NULL, it);
            continue;
        }
        if (alert_from_json(it->json, &a, &mem) != 0) {
            /* Cannot happen: what is queued was read back when it came. */
            pwlog(PWLOG_ERROR, "outbox.garbage", "%s: unreadable %s dropped",
                  in->name, action_of(it));
            in->st.dropped++;
            item_drop(in, NULL, it);
            continue;
        }
        t = xmalloc(sizeof(*t));
        t->an = o->an;
        t->an->refs++;
        t->in = in;
        in->flight = t;
        in->attempts++;
        o->dest.deliver(o->dest.arg, in->index, &a, on_answer, t);
        free(mem);
    }
}

static int busy(const struct outbox *o)
{
    size_t i;

    if (o->ncmds)
        return 1;
    for (i = 0; i < o->ninsts; i++) {
        const struct inst *in = o->insts[i];

        if (in->flight || in->unwritten || in->owed)
            return 1;
    }
    return 0;
}

/* Call the flush waiters; <o> may be gone when this returns. */
static void flush_done(struct outbox *o)
{
    struct flush_waiter *w = o->waiters;

    o->waiters = NULL;
    if (o->flush_timer)
        loop_timer_cancel(o->flush_timer);
    o->flush_timer = NULL;
    while (w) {
        struct flush_waiter *next = w->next;

        w->done(w->arg);
        free(w);
        w = next;
    }
}

static void on_kick(void *arg)
{
    struct outbox *o = arg;
    size_t i;

    o->kick = NULL;
    for (i = 0; i < o->ninsts; i++)
        deliver_head(o->insts[i]);
    /* A flush lets what can go now go, so `alert test` sees outcomes and
     * a stop delivers what it can; what waits to be retried stays. */
    if (o->waiters && !busy(o))
        flush_done(o);
}

static void on_flush_timeout(void *arg)
{
    struct outbox *o = arg;

    o->flush_timer = NULL;
    flush_done(o);
}

/* -- The outbox ---------------------------------------------------------- */

static void adopt_dest(struct outbox *o, const struct outbox_dest *dest)
{
    size_t i, n = dest->count(dest->arg);

    o->dest = *dest;
    for (i = 0; i < o->ninsts; i++)
        o->insts[i]->active = 0;
    for (i = 0; i < n; i++) {
        const char *name = dest->name(dest->arg, i);
        struct inst *in = inst_find(o, name);

        if (!in)
            in = inst_new(o, name);
        in->index = i;
        in->active = 1;
        recover(in);
    }
}

struct outbox *outbox_new(struct loop *l, struct redis *redis,
                          const char *prefix, const char *runner,
                          const struct outbox_dest *dest)
{
    struct outbox *o = xcalloc(1, sizeof(*o));

    o->loop = l;
    o->redis = redis;
    o->prefix = xstrdup(prefix);
    o->runner = xstrdup(runner);
    o->an = xcalloc(1, sizeof(*o->an));
    o->an->o = o;
    o->an->refs = 1;
    if (getrandom(&o->rng, sizeof(o->rng), 0) != (ssize_t)sizeof(o->rng))
        o->rng = (uint64_t)(clock_wall() * 1e6) ^ ((uint64_t)getpid() << 32);
    adopt_dest(o, dest);
    redis_watch(redis, on_state, o);
    return o;
}

static void on_state(int up, void *arg)
{
    struct outbox *o = arg;
    size_t i;

    if (!up)
        return;
    for (i = 0; i < o->ninsts; i++) {
        recover(o->insts[i]);
        sync_inst(o->insts[i]);
    }
    schedule_kick(o);
}

void outbox_set_dest(struct outbox *o, const struct outbox_dest *dest)
{
    size_t i;

    adopt_dest(o, dest);
    for (i = 0; i < o->ninsts; i++) {
        struct inst *in = o->insts[i];

        if (in->flight) {
            /* The old destination goes away and will answer nobody:
             * the event goes again to the new instance of that name
             * (a reload often keeps them all). */
            anchor_drop(in->flight->an);
            free(in->flight);
            in->flight = NULL;
        }
    }
    schedule_kick(o);
}

void outbox_push(struct outbox *o, const struct pw_alert *a, const char *only)
{
    char *json = alert_to_json(a);
    size_t i, len = strlen(json);

    if (len > OUTBOX_JSON_MAX) {
        pwlog(PWLOG_ERROR, "outbox.dropped",
              "a %s of %zu bytes dropped: more than %d",
              a->action == PW_ALERT_RESOLVE ? "resolve" : "trigger", len,
              OUTBOX_JSON_MAX);
        free(json);
        return;
    }

    for (i = 0; i < o->ninsts; i++) {
        struct inst *in = o->insts[i];
        struct item *it;

        if (!in->active || (only && strcmp(in->name, only) != 0))
            continue;
        it = item_new(xstrndup(json, len), len, a);
        append(in, it);
        if (in->recovered && redis_up(o->redis))
            write_item(in, it);
        enforce_cap(in);
    }
    free(json);
    schedule_kick(o);
}

void outbox_flush(struct outbox *o, unsigned long timeout_ms,
                  void (*done)(void *arg), void *arg)
{
    struct flush_waiter *w = xmalloc(sizeof(*w));

    w->done = done;
    w->arg = arg;
    w->next = o->waiters;
    o->waiters = w;
    if (o->flush_timer)
        loop_timer_cancel(o->flush_timer);
    o->flush_timer = loop_after(o->loop, timeout_ms, on_flush_timeout, o);
    redis_flush(o->redis);
    schedule_kick(o);
}

int outbox_stats(const struct outbox *o, const char *instance,
                 struct outbox_stats *st)
{
    const struct inst *in = inst_find(o, instance);

    if (!in)
        return -1;
    *st = in->st;
    st->pending = in->n;
    return 0;
}

static void inst_free(struct inst *in)
{
    struct item *it = in->head;

    while (it) {
        struct item *next = it->next;

        if (it->wcmd)
            it->wcmd->it = NULL;
        free(it->json);
        free(it);
        it = next;
    }
    while (in->owed) {
        struct owed *next = in->owed->next;

        free(in->owed->json);
        free(in->owed);
        in->owed = next;
    }
    if (in->flight)
        in->flight->in = NULL; /* its answer, if any, finds nobody */
    if (in->retry)
        loop_timer_cancel(in->retry);
    free(in->name);
    free(in->key);
    free(in);
}

void outbox_free(struct outbox *o)
{
    size_t i, lost = 0;

    if (!o)
        return;
    redis_unwatch(o->redis, on_state, o);
    for (i = 0; i < o->ninsts; i++) {
        const struct item *it;

        for (it = o->insts[i]->head; it; it = it->next)
            lost += it->w == W_NO;
    }
    if (lost)
        pwlog(PWLOG_ERROR, "outbox.lost",
              "%zu events not yet in Redis are lost", lost);
    for (i = 0; i < o->ninsts; i++)
        inst_free(o->insts[i]);
    free(o->insts);
    if (o->kick)
        loop_timer_cancel(o->kick);
    if (o->flush_timer)
        loop_timer_cancel(o->flush_timer);
    while (o->waiters) {
        struct flush_waiter *next = o->waiters->next;

        free(o->waiters);
        o->waiters = next;
    }
    o->an->o = NULL;
    anchor_drop(o->an);
    free(o->prefix);
    free(o->runner);
    free(o);
}
