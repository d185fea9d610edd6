/* check_journal_redis.c -- the Redis journal against a real redis-server. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "journal_redis.h"
#include "loop.h"
#include "redis.h"
#include "sbuf.h"
#include "result.h"
#include "spool.h"
#include "store.h"
#include "testutil.h"

struct side {
    struct redis *redis;
    struct spool *spool;
    struct journal *j;
};

static struct tu_redis srv;
static struct loop *lp;
static uint64_t last_id;
static int answers, durable_answers;
static size_t swept_n;
static int sweep_ended;
static char swept_run[64];
static char swept_cap[64];

static const struct journal_named caps[] = { { "user_id", "42" } };
static const struct journal_named vars[] = { { "email", "p@example.com" } };
static const char *const row[] = { "en", "{odd} %x" };

static void intent(struct journal_intent *in, const char *run_id)
{
    memset(in, 0, sizeof(*in));
    in->run_id = run_id;
    in->test_id = "shop@prod[locale=en]";
    in->scenario = "shop";
    in->target = "prod";
    in->step = 1;
    in->row = row;
    in->nrow = 2;
    in->vars = vars;
    in->nvars = 1;
    in->caps = caps;
    in->ncaps = 1;
    in->registered = 1700000000.5;
}

static void open_side(struct side *s, const char *runner, const char *dir)
{
    s->redis = redis_new(lp, srv.url, NULL);
    ck_assert_ptr_nonnull(s->redis);
    s->spool = spool_open(dir, "journal.spool", 0, NULL);
    ck_assert_ptr_nonnull(s->spool);
    s->j = journal_redis_new(lp, s->redis, "pwt", runner, s->spool, "t");
}

static int drained(void *arg)
{
    return redis_inflight(((struct side *)arg)->redis) == 0;
}

static void close_side(struct side *s)
{
    /* done() is fire and forget: let its HDEL reach the server. */
    ck_assert(tu_loop_until(lp, drained, s, 5));
    redis_close(s->redis);
    journal_free(s->j);
    redis_free(s->redis);
    spool_close(s->spool);
}

static void on_added(uint64_t id, int durable, void *arg)
{
    (void)arg;
    last_id = id;
    answers++;
    durable_answers += durable;
}

static int answered(void *arg)
{
    return answers >= *(int *)arg;
}

static int up(void *arg)
{
    return redis_up(((struct side *)arg)->redis);
}

static void on_each(uint64_t id, const struct journal_intent *in, void *arg)
{
    struct journal *j = arg;

    swept_n++;
    snprintf(swept_run, sizeof(swept_run), "%s", in->run_id);
    ck_assert_uint_eq(in->ncaps, 1);
    snprintf(swept_cap, sizeof(swept_cap), "%s=%s", in->caps[0].name,
             in->caps[0].value);
    ck_assert_uint_eq(in->nrow, 2);
    ck_assert_str_eq(in->row[1], "{odd} %x");
    journal_done(j, id);
}

static void on_end(size_t n, int ok, void *arg)
{
    (void)arg;
    (void)n;
    sweep_ended = ok ? 1 : -1;
}

static int ended(void *arg)
{
    (void)arg;
    return sweep_ended != 0;
}

static long long hlen(const char *key)
{
    redisContext *c = tu_redis_conn(&srv);
    redisReply *rep = redisCommand(c, "HLEN %s", key);
    long long n = rep->integer;

    freeReplyObject(rep);
    redisFree(c);
    return n;
}

static void setup(void)
{
    memset(&srv, 0, sizeof(srv));
    tu_redis_start(&srv);
    lp = loop_new();
    answers = durable_answers = 0;
    swept_n = 0;
    sweep_ended = 0;
}

static void teardown(void)
{
    loop_free(lp);
    tu_redis_kill(&srv);
}

START_TEST(test_journal_redis_add_done)
{
    struct side a;
    struct journal_intent in;
    int want = 1;

    open_side(&a, "runner-a", tu_mkdir("a"));
    ck_assert(tu_loop_until(lp, up, &a, 5));
    intent(&in, "00000000000000000000000000000001");
    journal_add(a.j, &in, on_added, NULL);
    ck_assert_int_eq(answers, 0); /* never inside the call */
    ck_assert(tu_loop_until(lp, answered, &want, 5));
    ck_assert_int_eq(durable_answers, 1);
    ck_assert_uint_ne(last_id, 0);
    ck_assert_uint_eq(journal_pending(a.j), 1);
    ck_assert_int_eq(hlen("pwt:cleanup:runner-a"), 1);
    journal_done(a.j, last_id);
    ck_assert_uint_eq(journal_pending(a.j), 0);
    close_side(&a);
    ck_assert_int_eq(hlen("pwt:cleanup:runner-a"), 0);
}
END_TEST

START_TEST(test_journal_redis_sweeps_dead_runner)
{
    struct side a, b;
    struct journal_intent in;
    redisContext *c;
    redisReply *rep;
    int want = 1;

    open_side(&a, "runner-a", tu_mkdir("a"));
    ck_assert(tu_loop_until(lp, up, &a, 5));
    intent(&in, "0000000000000000000000000000dead");
    journal_add(a.j, &in, on_added, NULL);
    ck_assert(tu_loop_until(lp, answered, &want, 5));
    close_side(&a); /* dies without done */

    open_side(&b, "runner-b", tu_mkdir("b"));
    ck_assert(tu_loop_until(lp, up, &b, 5));
    /* A's heartbeat still lives: nothing to claim. */
    journal_redis_sweep(b.j, on_each, on_end, b.j);
    ck_assert(tu_loop_until(lp, ended, NULL, 5));
    ck_assert_uint_eq(swept_n, 0);

    c = tu_redis_conn(&srv);
    rep = redisCommand(c, "DEL pwt:runner:runner-a");
    freeReplyObject(rep);
    sweep_ended = 0;
    journal_redis_sweep(b.j, on_each, on_end, b.j);
    ck_assert(tu_loop_until(lp, ended, NULL, 5));
    ck_assert_int_eq(sweep_ended, 1);
    ck_assert_uint_eq(swept_n, 1);
    ck_assert_str_eq(swept_run, "0000000000000000000000000000dead");
    ck_assert_str_eq(swept_cap, "user_id=42");
    ck_assert_uint_eq(journal_pending(b.j), 0);
    close_side(&b);
    ck_assert_int_eq(hlen("pwt:cleanup:runner-a"), 0);
    ck_assert_int_eq(hlen("pwt:cleanup:runner-b"), 0);
    redisFree(c);
}
END_TEST

START_TEST(test_journal_redis_spools_while_down)
{
    struct side a;
    struct journal_intent in;
    int want = 1;

    open_side(&a, "runner-a", tu_mkdir("a"));
    ck_assert(tu_loop_until(lp, up, &a, 5));
    tu_redis_kill(&srv);
    intent(&in, "0000000000000000000000000000abcd");
    journal_add(a.j, &in, on_added, NULL);
    ck_assert(tu_loop_until(lp, answered, &want, 5));
    ck_assert_int_eq(durable_answers, 1);
    ck_assert_uint_ge(spool_records(a.spool), 1);
    ck_assert_int_eq(spool_dirty(a.spool), 0); /* fsynced */
    tu_redis_start(&srv);
    ck_assert(tu_loop_until(lp, up, &a, 10));
    close_side(&a);

    /* The same runner id restarting adopts its earlier intent. */
    open_side(&a, "runner-a", tu_mkdir("a"));
    ck_assert(tu_loop_until(lp, up, &a, 5));
    journal_redis_sweep(a.j, on_each, on_end, a.j);
    ck_assert(tu_loop_until(lp, ended, NULL, 5));
    ck_assert_uint_eq(swept_n, 1);
    ck_assert_str_eq(swept_run, "0000000000000000000000000000abcd");
    close_side(&a);
    ck_assert_int_eq(hlen("pwt:cleanup:runner-a"), 0);
}
END_TEST

static int flushed;

static void on_flushed(void *arg)
{
    (void)arg;
    flushed = 1;
}

static int is_flushed(void *arg)
{
    (void)arg;
    return flushed;
}

static int spool_empty(void *arg)
{
    return spool_records(arg) == 0;
}

static void config_set(const char *name, const char *v)
{
    redisContext *c = tu_redis_conn(&srv);
    redisReply *rep = redisCommand(c, "CONFIG SET %s %s", name, v);

    ck_assert_ptr_nonnull(rep);
    ck_assert_int_ne(rep->type, REDIS_REPLY_ERROR);
    freeReplyObject(rep);
    redisFree(c);
}

START_TEST(test_journal_redis_retries_refused_intent)
{
    struct side a;
    struct journal_intent in;
    int want = 1;

    open_side(&a, "runner-a", tu_mkdir("a"));
    ck_assert(tu_loop_until(lp, up, &a, 5));
    config_set("maxmemory-policy", "noeviction");
    config_set("maxmemory", "1");
    intent(&in, "00000000000000000000000000000001");
    journal_add(a.j, &in, on_added, NULL);
    ck_assert(tu_loop_until(lp, answered, &want, 5));
    ck_assert_int_eq(durable_answers, 1);
    ck_assert_uint_eq(spool_records(a.spool), 1);
    ck_assert_int_eq(hlen("pwt:cleanup:runner-a"), 0);
    config_set("maxmemory", "0");
    /* Taken once Redis accepts writes again, on the same connection. */
    ck_assert(tu_loop_until(lp, spool_empty, a.spool, 10));
    ck_assert_uint_eq(redis_connects(a.redis), 1);
    ck_assert_int_eq(hlen("pwt:cleanup:runner-a"), 1);
    journal_done(a.j, last_id);
    close_side(&a);
    ck_assert_int_eq(hlen("pwt:cleanup:runner-a"), 0);
}
END_TEST

/* More records than the connection lets wait for replies at once. */
START_TEST(test_journal_redis_replays_long_spool)
{
    const char *dir = tu_mkdir("a");
    struct side a;
    struct spool *sp, *results;
    struct result_sink *store;
    struct store_stats stats;
    struct sbuf rec = SBUF_INIT;
    struct run_result r;
    unsigned i;

    sp = spool_open(dir, "journal.spool", 0, NULL);
    ck_assert_ptr_nonnull(sp);
    for (i = 0; i < 70000; i++) {
        sbuf_reset(&rec);
        if (i < 50000)
            sbuf_addf(&rec, "Aold-%u", i);
        else
            sbuf_addf(&rec, "Dold-%u", i - 50000);
        if (i < 50000)
            sbuf_add(&rec, "\0{}", 3);
        ck_assert_int_eq(spool_append(sp, rec.buf, rec.len, NULL), PW_OK);
    }
    ck_assert_int_eq(spool_sync(sp, NULL), PW_OK);
    spool_close(sp);
    sbuf_release(&rec);

    open_side(&a, "runner-a", dir);
    ck_assert_uint_eq(spool_records(a.spool), 70000);
    results = spool_open(tu_mkdir("r"), "results.spool", 0, NULL);
    ck_assert_ptr_nonnull(results);
    store = store_new(lp, a.redis, "pwt", "runner-a", results, NULL);
    ck_assert(tu_loop_until(lp, up, &a, 5));
    memset(&r, 0, sizeof(r));
    r.status = RUN_PASS;
    r.run_id = "00000000000000000000000000000001";
    r.test_id = "shop@prod";
    r.target = "prod";
    r.started = 1700000000;
    for (i = 0; i < 100; i++)
        store->ops->result(store, &r);
    /* The store's results share the connection with the replay. */
    flushed = 0;
    store->ops->flush(store, on_flushed, NULL);
    ck_assert(tu_loop_until(lp, is_flushed, NULL, 30));
    store_stats(store, &stats);
    ck_assert_uint_eq(stats.written, 100);
    ck_assert(tu_loop_until(lp, spool_empty, a.spool, 30));
    ck_assert_int_eq(hlen("pwt:cleanup:runner-a"), 50000 - 20000);
    store->ops->free(store);
    close_side(&a);
    spool_close(results);
}
END_TEST

START_TEST(test_journal_redis_json_round_trip)
{
    struct journal_intent in;
    struct journal_parsed p;
    struct sbuf b = SBUF_INIT;
    static const char *const bad[] = {
        "", "[]", "{", "{\"run_id\":1}", "nul", "{\"row\":[1]}",
        "{\"run_id\":\"a\",\"test_id\":\"b\",\"scenario\":\"c\","
        "\"target\":\"d\",\"step\":-1,\"row\":[],\"vars\":{},\"caps\":{}}",
        "{\"run_id\":\"a\",\"test_id\":\"b\",\"scenario\":\"c\","
        "\"target\":\"d\",\"step\":1,\"row\":[],\"vars\":{\"x\":2},"
        "\"caps\":{}}",
    };
    size_t i;

    intent(&in, "0123456789abcdef0123456789abcdef");
    journal_intent_json(&b, &in);
    ck_assert_int_eq(journal_intent_parse(b.buf, b.len, &p), 0);
    ck_assert_str_eq(p.in.run_id, in.run_id);
    ck_assert_str_eq(p.in.test_id, in.test_id);
    ck_assert_uint_eq(p.in.step, 1);
    ck_assert_str_eq(p.in.row[1], "{odd} %x");
    ck_assert_str_eq(p.in.vars[0].name, "email");
    ck_assert_str_eq(p.in.caps[0].value, "42");
    ck_assert(p.in.registered > 1700000000.4 &&
              p.in.registered < 1700000000.6);
    journal_parsed_release(&p);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_int_eq(journal_intent_parse(bad[i], strlen(bad[i]), &p),
                         -1);
    sbuf_release(&b);
}
END_TEST

static Suite *journal_redis_suite(void)
{
    Suite *s = suite_create("journal_redis");
    TCase *tc = tcase_create("redis");
    TCase *tj = tcase_create("json");

    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_journal_redis_add_done);
    tcase_add_test(tc, test_journal_redis_sweeps_dead_runner);
    tcase_add_test(tc, test_journal_redis_spools_while_down);
    tcase_add_test(tc, test_journal_redis_replays_long_spool);
    tcase_add_test(tc, test_journal_redis_retries_refused_intent);
    suite_add_tcase(s, tc);
    tcase_add_test(tj, test_journal_redis_json_round_trip);
    suite_add_tcase(s, tj);
    return s;
}

int main(void)
{
    return pw_run_suite(journal_redis_suite());
}
