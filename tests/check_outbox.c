/* check_outbox.c -- the alert outbox against a real redis-server, with a
 * destination that answers from a script. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "clock.h"
#include "keys.h"
#include "log.h"
#include "loop.h"
#include "outbox.h"
#include "redis.h"
#include "sbuf.h"
#include "testutil.h"
#include "xalloc.h"

#define PREFIX "pwt"
#define RUNNER "vm 1" /* escaped in keys */
#define NNAMES 3
#define MAXGOT 64
#define MAXSCRIPT 32

static const char *const all_names[NNAMES] = { "pd", "hook", "slack" };

/* One instance of the test destination: answers from <script>, then
 * <dflt> forever. */
struct tinst {
    enum pw_outcome script[MAXSCRIPT];
    unsigned long after[MAXSCRIPT];
    size_t nscript, pos;
    enum pw_outcome dflt;
    unsigned long dflt_after;
    char *got[MAXGOT]; /* summaries of what was accepted, in order */
    size_t ngot;
    size_t attempts;
    int hold_next;     /* keep the next answer until release() */
};

struct fixture {
    struct tu_redis srv;
    struct loop *loop;
    struct redis *redis;
    redisContext *conn;
    struct outbox *ob;
    size_t cur[NNAMES]; /* the current destination: indexes of all_names */
    size_t ncur;
    struct tinst ti[NNAMES];
    size_t answering;   /* answers scheduled and not yet given */
    int check_redis;    /* assert the event is in Redis when handed over */
    struct answer *held;
    int flushed;
};

static struct fixture fx;

struct answer {
    outbox_answer_fn *done;
    void *arg;
    enum pw_outcome out;
    unsigned long after;
};

static size_t dest_count(void *arg)
{
    (void)arg;
    return fx.ncur;
}

static const char *dest_name(void *arg, size_t i)
{
    (void)arg;
    return all_names[fx.cur[i]];
}

static size_t name_index(const char *name)
{
    size_t k;

    for (k = 0; k < NNAMES; k++)
        if (strcmp(all_names[k], name) == 0)
            return k;
    ck_abort_msg("no instance %s", name);
    return 0;
}

static char *key_of(const char *name)
{
    struct sbuf b = SBUF_INIT;

    keys_name(&b, PREFIX, "outbox", RUNNER);
    sbuf_addc(&b, ':');
    keys_escape(&b, name, strlen(name));
    return sbuf_take(&b, NULL);
}

static void on_answer_timer(void *arg)
{
    struct answer *an = arg;

    fx.answering--;
    an->done(an->arg, an->out, an->after,
             an->out == PW_DELIVERED ? NULL : "scripted");
    free(an);
}

/* The event must already be in the instance's list while Redis is up. */
static void assert_in_redis(const char *name, const struct pw_alert *a)
{
    char *json = alert_to_json(a);
    char *key = key_of(name);
    redisReply *rep = redisCommand(fx.conn, "LRANGE %s 0 -1", key);
    size_t i;
    int found = 0;

    ck_assert_ptr_nonnull(rep);
    ck_assert_int_eq(rep->type, REDIS_REPLY_ARRAY);
    for (i = 0; i < rep->elements; i++)
        found |= strcmp(rep->element[i]->str, json) == 0;
    ck_assert_msg(found, "%s handed over before it was in %s", a->summary,
                  key);
    freeReplyObject(rep);
    free(key);
    free(json);
}

static void dest_deliver(void *arg, size_t i, const struct pw_alert *a,
                         outbox_answer_fn *done, void *done_arg)
{
    struct tinst *t = &fx.ti[fx.cur[i]];
    struct answer *an = xmalloc(sizeof(*an));

    (void)arg;
    if (fx.check_redis && redis_up(fx.redis))
        assert_in_redis(all_names[fx.cur[i]], a);
    t->attempts++;
    if (t->pos < t->nscript) {
        an->out = t->script[t->pos];
        an->after = t->after[t->pos++];
    } else {
        an->out = t->dflt;
        an->after = t->dflt_after;
    }
    if (an->out == PW_DELIVERED) {
        ck_assert_uint_lt(t->ngot, MAXGOT);
        t->got[t->ngot++] = xstrdup(a->summary);
    }
    an->done = done;
    an->arg = done_arg;
    fx.answering++;
    if (t->hold_next) {
        t->hold_next = 0;
        ck_assert_ptr_null(fx.held);
        fx.held = an;
        return;
    }
    loop_after(fx.loop, 2, on_answer_timer, an);
}

/* Give the answer kept back by hold_next. */
static void release(void)
{
    ck_assert_ptr_nonnull(fx.held);
    loop_after(fx.loop, 0, on_answer_timer, fx.held);
    fx.held = NULL;
}

static const struct outbox_dest dest = { dest_count, dest_name,
                                         dest_deliver, NULL };

static void script(const char *name, enum pw_outcome out, unsigned long after,
                   size_t times)
{
    struct tinst *t = &fx.ti[name_index(name)];

    while (times--) {
        ck_assert_uint_lt(t->nscript, MAXSCRIPT);
        t->script[t->nscript] = out;
        t->after[t->nscript++] = after;
    }
}

static void use(const char *names)
{
    char buf[64], *save = NULL, *w;

    snprintf(buf, sizeof(buf), "%s", names);
    fx.ncur = 0;
    for (w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save))
        fx.cur[fx.ncur++] = name_index(w);
}

static int is_up(void *arg)
{
    (void)arg;
    return redis_up(fx.redis);
}

static int is_down(void *arg)
{
    (void)arg;
    return !redis_up(fx.redis);
}

static void start(const char *names)
{
    memset(&fx, 0, sizeof(fx));
    log_setup(PWLOG_DEBUG, 0);
    tu_redis_start(&fx.srv);
    fx.conn = tu_redis_conn(&fx.srv);
    fx.loop = loop_new();
    fx.redis = redis_new(fx.loop, fx.srv.url, NULL);
    ck_assert_ptr_nonnull(fx.redis);
    use(names);
    fx.check_redis = 1;
    ck_assert(tu_loop_until(fx.loop, is_up, NULL, 5));
}

static void open_outbox(void)
{
    fx.ob = outbox_new(fx.loop, fx.redis, PREFIX, RUNNER, &dest);
}

static int nothing_answering(void *arg)
{
    (void)arg;
    return fx.answering == 0;
}

static void finish(void)
{
    size_t k, j;

    /* The daemon's order: the connection closes, then its users go. */
    ck_assert(tu_loop_until(fx.loop, nothing_answering, NULL, 5));
    redis_close(fx.redis);
    outbox_free(fx.ob);
    redis_free(fx.redis);
    loop_free(fx.loop);
    if (fx.conn)
        redisFree(fx.conn);
    tu_redis_kill(&fx.srv);
    for (k = 0; k < NNAMES; k++)
        for (j = 0; j < fx.ti[k].ngot; j++)
            free(fx.ti[k].got[j]);
}

static void fill_alert(struct pw_alert *a, const char *summary, int resolve)
{
    memset(a, 0, sizeof(*a));
    a->action = resolve ? PW_ALERT_RESOLVE : PW_ALERT_TRIGGER;
    a->level = PW_LEVEL_SCENARIO;
    a->kind = "failing";
    a->dedup_key = "pwt:checkout@prod-eu";
    a->summary = summary;
    a->severity = "critical";
    a->scenario = "checkout";
    a->target = "prod-eu";
    a->source = "runner-1";
    a->details = "{}";
    a->since = (long long)clock_now() - 60;
    a->at = (long long)clock_now();
}

static void push(const char *summary, int resolve, const char *only)
{
    struct pw_alert a;

    fill_alert(&a, summary, resolve);
    outbox_push(fx.ob, &a, only);
}

/* What <name> accepted, comma-separated. */
static void assert_got(const char *name, const char *want)
{
    const struct tinst *t = &fx.ti[name_index(name)];
    struct sbuf b = SBUF_INIT;
    size_t j;

    for (j = 0; j < t->ngot; j++) {
        if (j)
            sbuf_addc(&b, ',');
        sbuf_adds(&b, t->got[j]);
    }
    ck_assert_str_eq(b.buf, want);
    sbuf_release(&b);
}

struct got_want {
    const char *name;
    size_t n;
};

static int got_n(void *arg)
{
    const struct got_want *g = arg;

    return fx.ti[name_index(g->name)].ngot >= g->n;
}

static void wait_got(const char *name, size_t n, double seconds)
{
    struct got_want g = { name, n };

    ck_assert_msg(tu_loop_until(fx.loop, got_n, &g, seconds),
                  "%s accepted %zu of %zu", name,
                  fx.ti[name_index(name)].ngot, n);
}

static long long llen(const char *name)
{
    char *key = key_of(name);
    redisReply *rep = redisCommand(fx.conn, "LLEN %s", key);
    long long n;

    ck_assert_ptr_nonnull(rep);
    ck_assert_int_eq(rep->type, REDIS_REPLY_INTEGER);
    n = rep->integer;
    freeReplyObject(rep);
    free(key);
    return n;
}

struct len_want {
    const char *name;
    long long n;
};

static int llen_is(void *arg)
{
    const struct len_want *w = arg;

    return llen(w->name) == w->n;
}

static void wait_llen(const char *name, long long n)
{
    struct len_want w = { name, n };

    ck_assert_msg(tu_loop_until(fx.loop, llen_is, &w, 20),
                  "%s holds %lld, not %lld", name, llen(name), n);
}

/* The summaries in <name>'s list, comma-separated. */
static void assert_list(const char *name, const char *want)
{
    char *key = key_of(name);
    redisReply *rep = redisCommand(fx.conn, "LRANGE %s 0 -1", key);
    struct sbuf b = SBUF_INIT;
    size_t i;

    ck_assert_ptr_nonnull(rep);
    for (i = 0; i < rep->elements; i++) {
        struct pw_alert a;
        void *mem;

        ck_assert_int_eq(alert_from_json(rep->element[i]->str, &a, &mem), 0);
        if (i)
            sbuf_addc(&b, ',');
        sbuf_adds(&b, a.summary);
        free(mem);
    }
    ck_assert_str_eq(b.buf, want);
    sbuf_release(&b);
    freeReplyObject(rep);
    free(key);
}

static struct outbox_stats stats(const char *name)
{
    struct outbox_stats st;

    ck_assert_int_eq(outbox_stats(fx.ob, name, &st), 0);
    return st;
}

static void on_flushed(void *arg)
{
    (void)arg;
    fx.flushed = 1;
}

static int is_flushed(void *arg)
{
    (void)arg;
    return fx.flushed;
}

/* Whether "pd" was handed at least *<arg> events. */
static int attempted(void *arg)
{
    return fx.ti[0].attempts >= *(const size_t *)arg;
}

static void wait_attempts(size_t n)
{
    ck_assert(tu_loop_until(fx.loop, attempted, &n, 5));
}

/* An outbox on "pd" that has delivered e0: its list has been read. */
static void start_delivered(void)
{
    start("pd");
    open_outbox();
    push("e0", 0, NULL);
    wait_got("pd", 1, 5);
    ck_assert(tu_loop_until(fx.loop, nothing_answering, NULL, 5));
}

static void flush_wait(unsigned long timeout_ms, double seconds)
{
    fx.flushed = 0;
    outbox_flush(fx.ob, timeout_ms, on_flushed, NULL);
    ck_assert_int_eq(fx.flushed, 0); /* never inside the call */
    ck_assert(tu_loop_until(fx.loop, is_flushed, NULL, seconds));
}

/* -- JSON ---------------------------------------------------------------- */

static void assert_same_str(const char *a, const char *b)
{
    if (!a || !b)
        ck_assert_ptr_eq(a, b);
    else
        ck_assert_str_eq(a, b);
}

static void assert_same_alert(const struct pw_alert *x,
                              const struct pw_alert *y)
{
    ck_assert_int_eq(x->action, y->action);
    ck_assert_int_eq(x->update, y->update);
    ck_assert_int_eq(x->test, y->test);
    ck_assert_int_eq(x->level, y->level);
    assert_same_str(x->kind, y->kind);
    assert_same_str(x->dedup_key, y->dedup_key);
    assert_same_str(x->summary, y->summary);
    assert_same_str(x->severity, y->severity);
    assert_same_str(x->scenario, y->scenario);
    assert_same_str(x->target, y->target);
    assert_same_str(x->source, y->source);
    assert_same_str(x->check, y->check);
    assert_same_str(x->step, y->step);
    assert_same_str(x->message, y->message);
    assert_same_str(x->request, y->request);
    assert_same_str(x->excerpt, y->excerpt);
    assert_same_str(x->run_id, y->run_id);
    assert_same_str(x->link, y->link);
    assert_same_str(x->details, y->details);
    ck_assert_int_eq(x->since, y->since);
    ck_assert_int_eq(x->at, y->at);
}

static void round_trip(const struct pw_alert *a)
{
    char *json = alert_to_json(a), *again;
    struct pw_alert b;
    void *mem;

    ck_assert_int_eq(alert_from_json(json, &b, &mem), 0);
    assert_same_alert(a, &b);
    again = alert_to_json(&b);
    ck_assert_str_eq(json, again);
    free(again);
    free(mem);
    free(json);
}

START_TEST(test_outbox_json_round_trip)
{
    struct pw_alert a = {
        PW_ALERT_RESOLVE, 1, 1, PW_LEVEL_RUNNER, "network",
        "pwt:runner:r1", "r1: its own network is down: \"quoted\", \\ and \t",
        "warning", "checkout", "prod-eu", "r1", "transport", "When the user pays",
        "connect: refused", "POST https://shop.example/pay",
        "{\"error\":\"bad\u00e9\"}\n<html>\x01", "0123456789abcdef0123456789abcdef",
        "https://status.example/t/1", "{\"failing\":[\"a\",\"b\"],\"n\":3}",
        1700000000, -5
    };
    struct pw_alert none;

    round_trip(&a);
    a.action = PW_ALERT_TRIGGER;
    a.level = PW_LEVEL_TEST;
    a.update = 0;
    a.since = 9007199254740991LL;
    round_trip(&a);
    a.level = PW_LEVEL_TARGET;
    round_trip(&a);
    memset(&none, 0, sizeof(none));
    round_trip(&none); /* every string NULL */
    none.level = PW_LEVEL_SCENARIO;
    none.summary = "";
    round_trip(&none);
}
END_TEST

static void assert_refused(const char *json)
{
    struct pw_alert a;
    void *mem = (void *)1;

    ck_assert_msg(alert_from_json(json, &a, &mem) == -1, "accepted %s",
                  json ? json : "NULL");
    ck_assert_ptr_null(mem);
    ck_assert_ptr_null(a.summary);
}

START_TEST(test_outbox_json_hostile)
{
    struct pw_alert a;
    char *json, *cut, *huge;
    size_t n, i;
    static const char *const bad[] = {
        "", "null", "[]", "\"x\"", "{}", "nan", "{\"a\" \"b\"}", "[\"x\" \"y\"]",
        "{\"action\":\"page\",\"update\":false,\"test\":false,"
        "\"level\":\"test\",\"since\":0,\"at\":0}",
        "{\"action\":\"trigger\",\"update\":false,\"test\":false,"
        "\"level\":\"galaxy\",\"since\":0,\"at\":0}",
        "{\"action\":1,\"update\":false,\"test\":false,"
        "\"level\":\"test\",\"since\":0,\"at\":0}",
        "{\"action\":\"trigger\",\"update\":\"yes\",\"test\":false,"
        "\"level\":\"test\",\"since\":0,\"at\":0}",
        "{\"action\":\"trigger\",\"update\":false,\"test\":false,"
        "\"level\":\"test\",\"since\":\"0\",\"at\":0}",
        "{\"action\":\"trigger\",\"update\":false,\"test\":false,"
        "\"level\":\"test\",\"since\":0.5,\"at\":0}",
        "{\"action\":\"trigger\",\"update\":false,\"test\":false,"
        "\"level\":\"test\",\"since\":1e300,\"at\":0}",
        "{\"action\":\"trigger\",\"update\":false,\"test\":false,"
        "\"level\":\"test\",\"since\":0}",
        "{\"action\":\"trigger\",\"update\":false,\"test\":false,"
        "\"level\":\"test\",\"since\":0,\"at\":0,\"summary\":5}",
        "{\"action\":\"trigger\",\"update\":false,\"test\":false,"
        "\"level\":\"test\",\"since\":0,\"at\":0,\"details\":{}}",
        "{\"action\":\"trigger\",\"update\":false,\"test\":false,"
        "\"level\":\"test\",\"since\":0,\"at\":0,\"summary\":\"a\\u0000b\"}",
    };

    assert_refused(NULL);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_refused(bad[i]);
    /* Every cut of a real event is refused. */
    fill_alert(&a, "cut me", 0);
    a.excerpt = "{\"k\":[1,2,3]}";
    json = alert_to_json(&a);
    n = strlen(json);
    for (i = 0; i < n; i++) {
        cut = xstrndup(json, i);
        assert_refused(cut);
        free(cut);
    }
    /* Too big to be one of ours. */
    huge = xmalloc(2 * 1024 * 1024 + 64);
    n = (size_t)sprintf(huge, "{\"action\":\"trigger\",\"summary\":\"");
    memset(huge + n, 'x', 2 * 1024 * 1024);
    strcpy(huge + n + 2 * 1024 * 1024, "\"}");
    assert_refused(huge);
    /* Deep nesting is refused, not a crash. */
    memset(huge, '[', 100000);
    huge[100000] = '\0';
    assert_refused(huge);
    free(huge);
    free(json);
}
END_TEST

/* -- Delivery ------------------------------------------------------------ */

START_TEST(test_outbox_order_with_retries)
{
    struct outbox_stats st;

    start("pd");
    open_outbox();
    script("pd", PW_RETRY, 20, 3);
    push("trigger", 0, NULL);
    push("update", 0, NULL);
    push("resolve", 1, NULL);
    wait_got("pd", 3, 10);
    assert_got("pd", "trigger,update,resolve");
    ck_assert_uint_eq(fx.ti[0].attempts, 6);
    flush_wait(5000, 6);
    st = stats("pd");
    ck_assert_uint_eq(st.delivered, 3);
    ck_assert_uint_eq(st.retried, 3);
    ck_assert_uint_eq(st.rejected, 0);
    ck_assert_uint_eq(st.pending, 0);
    ck_assert_int_eq(st.last, PW_DELIVERED);
    ck_assert_int_eq(llen("pd"), 0);
    ck_assert_int_eq(outbox_stats(fx.ob, "nobody", &st), -1);
    finish();
}
END_TEST

START_TEST(test_outbox_rejected_dropped)
{
    struct outbox_stats st;

    start("pd");
    open_outbox();
    script("pd", PW_REJECTED, 0, 1);
    push("refused", 0, NULL);
    push("taken", 0, NULL);
    wait_got("pd", 1, 5);
    flush_wait(5000, 6);
    assert_got("pd", "taken");
    st = stats("pd");
    ck_assert_uint_eq(st.rejected, 1);
    ck_assert_uint_eq(st.delivered, 1);
    ck_assert_uint_eq(st.pending, 0);
    ck_assert_int_eq(llen("pd"), 0);
    /* The latest answer's reason is kept. */
    script("pd", PW_REJECTED, 0, 1);
    push("refused again", 0, NULL);
    flush_wait(5000, 6);
    st = stats("pd");
    ck_assert_uint_eq(st.rejected, 2);
    ck_assert_int_eq(st.last, PW_REJECTED);
    ck_assert_str_eq(st.last_why, "scripted");
    finish();
}
END_TEST

START_TEST(test_outbox_restart_loses_nothing)
{
    struct outbox_stats st;
    char s[16];
    int i;

    start("pd,hook");
    open_outbox();
    script("pd", PW_DELIVERED, 0, 1);
    script("pd", PW_RETRY, 60000, 1); /* e1 waits a minute */
    script("hook", PW_RETRY, 60000, 1);
    for (i = 0; i < 5; i++) {
        snprintf(s, sizeof(s), "e%d", i);
        push(s, i == 4, NULL);
    }
    wait_got("pd", 1, 5);
    ck_assert(tu_loop_until(fx.loop, nothing_answering, NULL, 5));
    st = stats("pd");
    ck_assert_uint_eq(st.retried, 1);
    ck_assert_uint_eq(st.pending, 4);
    flush_wait(5000, 6); /* nothing in flight, all written */
    outbox_free(fx.ob);
    assert_list("pd", "e1,e2,e3,e4");
    assert_list("hook", "e0,e1,e2,e3,e4");

    /* A new start on the same Redis: all pending, in order, once. */
    open_outbox();
    push("e5", 0, NULL);
    wait_got("pd", 6, 5);
    wait_got("hook", 6, 5);
    assert_got("pd", "e0,e1,e2,e3,e4,e5");
    assert_got("hook", "e0,e1,e2,e3,e4,e5");
    flush_wait(5000, 6);
    ck_assert_int_eq(llen("pd"), 0);
    ck_assert_int_eq(llen("hook"), 0);
    st = stats("pd");
    ck_assert_uint_eq(st.delivered, 5);
    ck_assert_uint_eq(st.retried, 0);
    finish();
}
END_TEST

START_TEST(test_outbox_redis_down_then_up)
{
    struct outbox_stats st;

    start_delivered();
    tu_redis_kill(&fx.srv);
    redisFree(fx.conn);
    fx.conn = NULL;
    ck_assert(tu_loop_until(fx.loop, is_down, NULL, 5));
    /* e1 goes out from memory, and its answer waits for Redis to be
     * back; then it is retried. */
    fx.ti[0].hold_next = 1;
    script("pd", PW_RETRY, 20, 1);
    push("e1", 0, NULL);
    push("e2", 1, NULL);
    push("e3", 0, NULL);
    wait_attempts(2);
    ck_assert_ptr_nonnull(fx.held);
    tu_redis_start(&fx.srv);
    fx.conn = tu_redis_conn(&fx.srv);
    ck_assert(tu_loop_until(fx.loop, is_up, NULL, 10));
    wait_llen("pd", 3);
    assert_list("pd", "e1,e2,e3");
    release();
    wait_got("pd", 4, 5);
    assert_got("pd", "e0,e1,e2,e3");
    flush_wait(5000, 6);
    ck_assert_int_eq(llen("pd"), 0);
    st = stats("pd");
    ck_assert_uint_eq(st.delivered, 4);
    ck_assert_uint_eq(st.retried, 1);
    finish();
}
END_TEST

/* Redis stops answering with an RPUSH on its way: the write may or may
 * not have happened.  Nothing is lost, and nothing stays behind. */
START_TEST(test_outbox_lost_reply_no_duplicate)
{
    start_delivered();
    redis_set_ping_ms(fx.redis, 200);
    fx.check_redis = 0;
    ck_assert_int_eq(kill(fx.srv.pid, SIGSTOP), 0);
    push("e1", 0, NULL);
    ck_assert(tu_loop_until(fx.loop, is_down, NULL, 10));
    ck_assert_int_eq(kill(fx.srv.pid, SIGCONT), 0);
    ck_assert(tu_loop_until(fx.loop, is_up, NULL, 10));
    wait_got("pd", 2, 5);
    flush_wait(5000, 6);
    assert_got("pd", "e0,e1");
    ck_assert_int_eq(llen("pd"), 0);
    finish();
}
END_TEST

START_TEST(test_outbox_flush_times_out_while_down)
{
    start_delivered();
    tu_redis_kill(&fx.srv);
    ck_assert(tu_loop_until(fx.loop, is_down, NULL, 5));
    script("pd", PW_RETRY, 60000, 1);
    push("e1", 0, NULL);
    ck_assert(tu_loop_until(fx.loop, nothing_answering, NULL, 5));
    /* e1 cannot be written: the flush ends at its timeout. */
    flush_wait(200, 5);
    ck_assert_uint_eq(stats("pd").pending, 1);
    redisFree(fx.conn);
    fx.conn = NULL;
    finish();
}
END_TEST

START_TEST(test_outbox_instances_independent)
{
    struct outbox_stats st;

    start("pd,hook,slack");
    open_outbox();
    fx.ti[name_index("pd")].dflt = PW_RETRY;
    fx.ti[name_index("pd")].dflt_after = 20;
    push("a", 0, NULL);
    push("b", 0, NULL);
    push("c", 1, NULL);
    push("only-slack", 0, "slack");
    wait_got("hook", 3, 5);
    wait_got("slack", 4, 5);
    assert_got("hook", "a,b,c");
    assert_got("slack", "a,b,c,only-slack");
    assert_got("pd", "");
    st = stats("pd");
    ck_assert_uint_eq(st.pending, 3);
    ck_assert_uint_ge(st.retried, 1);
    ck_assert_int_eq(st.last, PW_RETRY);
    ck_assert_str_eq(st.last_why, "scripted");
    /* The stuck one recovers and catches up, in order. */
    fx.ti[name_index("pd")].dflt = PW_DELIVERED;
    wait_got("pd", 3, 5);
    assert_got("pd", "a,b,c");
    flush_wait(5000, 6);
    finish();
}
END_TEST

START_TEST(test_outbox_reload_keeps_queues)
{
    struct outbox_stats st;

    start("pd,hook");
    open_outbox();
    fx.ti[name_index("hook")].dflt = PW_RETRY;
    fx.ti[name_index("hook")].dflt_after = 30;
    push("a", 0, NULL);
    wait_got("pd", 1, 5);
    ck_assert(tu_loop_until(fx.loop, nothing_answering, NULL, 5));
    /* hook keeps its name and its queue; pd goes; slack comes. */
    use("slack,hook");
    outbox_set_dest(fx.ob, &dest);
    push("b", 0, NULL);
    fx.ti[name_index("hook")].dflt = PW_DELIVERED;
    wait_got("hook", 2, 5);
    wait_got("slack", 1, 5);
    assert_got("hook", "a,b");
    assert_got("slack", "b");
    assert_got("pd", "a");
    flush_wait(5000, 6);
    st = stats("hook");
    ck_assert_uint_eq(st.delivered, 2);
    ck_assert_uint_ge(st.retried, 1);
    finish();
}
END_TEST

START_TEST(test_outbox_garbage_skipped)
{
    struct pw_alert a;
    char *key = NULL, *e[3];
    int i;

    start("pd");
    key = key_of("pd");
    for (i = 0; i < 3; i++) {
        char s[8];

        snprintf(s, sizeof(s), "e%d", i);
        fill_alert(&a, s, 0);
        e[i] = alert_to_json(&a);
    }
    freeReplyObject(redisCommand(fx.conn, "RPUSH %s %s %s %s %s %s %s", key,
                                 e[0], "not json", "{\"action\":\"trigger\"}",
                                 e[1], "[1,2", e[2]));
    ck_assert_int_eq(llen("pd"), 6);
    open_outbox();
    wait_got("pd", 3, 5);
    assert_got("pd", "e0,e1,e2");
    flush_wait(5000, 6);
    ck_assert_int_eq(llen("pd"), 0);
    ck_assert_uint_eq(stats("pd").delivered, 3);
    for (i = 0; i < 3; i++)
        free(e[i]);
    free(key);
    finish();
}
END_TEST

START_TEST(test_outbox_stale_dropped)
{
    struct pw_alert a;
    struct outbox_stats st;

    start("pd");
    open_outbox();
    fill_alert(&a, "yesterday", 0);
    a.at = (long long)clock_now() - OUTBOX_MAX_AGE_S - 60;
    outbox_push(fx.ob, &a, NULL);
    push("now", 0, NULL);
    wait_got("pd", 1, 5);
    flush_wait(5000, 6);
    assert_got("pd", "now");
    st = stats("pd");
    ck_assert_uint_eq(st.dropped, 1);
    ck_assert_uint_eq(st.delivered, 1);
    ck_assert_int_eq(llen("pd"), 0);
    finish();
}
END_TEST

START_TEST(test_outbox_cap_drops_oldest)
{
    struct outbox_stats st;
    redisReply *rep;
    char s[16], *key;
    int i;

    start("pd");
    fx.check_redis = 0;
    open_outbox();
    fx.ti[0].hold_next = 1;
    push("e0", 0, NULL);
    wait_attempts(1);
    for (i = 1; i <= OUTBOX_MAX_EVENTS + 4; i++) {
        snprintf(s, sizeof(s), "e%d", i);
        push(s, 0, NULL);
    }
    st = stats("pd");
    ck_assert_uint_eq(st.pending, OUTBOX_MAX_EVENTS);
    ck_assert_uint_eq(st.dropped, 5);
    wait_llen("pd", OUTBOX_MAX_EVENTS);
    /* The one in flight stays; the five after it went. */
    key = key_of("pd");
    rep = redisCommand(fx.conn, "LRANGE %s 0 1", key);
    ck_assert_ptr_nonnull(rep);
    ck_assert_uint_eq(rep->elements, 2);
    ck_assert_ptr_nonnull(strstr(rep->element[0]->str, "\"e0\""));
    ck_assert_ptr_nonnull(strstr(rep->element[1]->str, "\"e6\""));
    freeReplyObject(rep);
    free(key);
    fx.held->out = PW_RETRY;
    fx.held->after = 60000;
    release();
    flush_wait(5000, 6);
    ck_assert_uint_eq(stats("pd").retried, 1);
    finish();
}
END_TEST

/* The waits the outbox logged, from the captured log in <path>. */
static size_t logged_waits(const char *path, const char *inst,
                           unsigned long *waits, size_t max)
{
    FILE *f = fopen(path, "r");
    char line[1024];
    size_t n = 0;

    ck_assert_ptr_nonnull(f);
    while (n < max && fgets(line, sizeof(line), f)) {
        const char *p = strstr(line, "outbox.retry");
        char want[64];

        snprintf(want, sizeof(want), " %s: ", inst);
        if (!p || !strstr(p, want))
            continue;
        p = strstr(p, "retry in ");
        ck_assert_ptr_nonnull(p);
        waits[n++] = strtoul(p + 9, NULL, 10);
        ck_assert_ptr_null(strstr(line, "pwt:checkout")); /* no body */
    }
    fclose(f);
    return n;
}

static int retried_n(void *arg)
{
    return stats("pd").retried >= *(unsigned long *)arg;
}

START_TEST(test_outbox_backoff_grows)
{
    const char *path;
    unsigned long waits[8], three = 3;
    int saved, fd;
    size_t n;

    start("pd,hook");
    path = tu_write("outbox.log", "");
    fflush(stderr);
    saved = dup(2);
    fd = open(path, O_WRONLY | O_APPEND);
    ck_assert_int_ge(fd, 0);
    dup2(fd, 2);
    close(fd);
    open_outbox();
    script("pd", PW_RETRY, 0, 3); /* the outbox's own backoff */
    script("hook", PW_RETRY, 10UL * 3600 * 1000, 1); /* asks for 10 h */
    push("slow", 0, NULL);
    ck_assert(tu_loop_until(fx.loop, retried_n, &three, 8));
    ck_assert(tu_loop_until(fx.loop, nothing_answering, NULL, 5));
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    n = logged_waits(path, "pd", waits, 8);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_ge(waits[0], 800);
    ck_assert_uint_le(waits[0], 1200);
    ck_assert_uint_ge(waits[1], 1600);
    ck_assert_uint_le(waits[1], 2400);
    ck_assert_uint_ge(waits[2], 3200);
    ck_assert_uint_le(waits[2], 4800);
    n = logged_waits(path, "hook", waits, 8);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(waits[0], 3600UL * 1000); /* capped at an hour */
    finish();
}
END_TEST

static Suite *outbox_suite(void)
{
    Suite *s = suite_create("outbox");
    TCase *json = tcase_create("json");
    TCase *q = tcase_create("queue");

    tcase_add_test(json, test_outbox_json_round_trip);
    tcase_add_test(json, test_outbox_json_hostile);
    suite_add_tcase(s, json);
    tcase_set_timeout(q, 60);
    tcase_add_test(q, test_outbox_order_with_retries);
    tcase_add_test(q, test_outbox_rejected_dropped);
    tcase_add_test(q, test_outbox_restart_loses_nothing);
    tcase_add_test(q, test_outbox_redis_down_then_up);
    tcase_add_test(q, test_outbox_lost_reply_no_duplicate);
    tcase_add_test(q, test_outbox_flush_times_out_while_down);
    tcase_add_test(q, test_outbox_instances_independent);
    tcase_add_test(q, test_outbox_reload_keeps_queues);
    tcase_add_test(q, test_outbox_garbage_skipped);
    tcase_add_test(q, test_outbox_stale_dropped);
    tcase_add_test(q, test_outbox_cap_drops_oldest);
    tcase_add_test(q, test_outbox_backoff_grows);
    suite_add_tcase(s, q);
    return s;
}

int main(void)
{
    return pw_run_suite(outbox_suite());
}
