/* check_store.c -- the Redis store against a real redis-server. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "clock.h"
#include "keys.h"
#include "loop.h"
#include "redis.h"
#include "result.h"
#include "sbuf.h"
#include "scenario.h"
#include "spool.h"
#include "store.h"
#include "testutil.h"

#define PREFIX "pwt"

static const char scenario_text[] =
    "name: shop\n"
    "steps:\n"
    "  - name: Home\n"
    "    request: { url: \"{{ target.base_url }}/\" }\n";

struct fixture {
    struct tu_redis srv;
    struct loop *loop;
    struct redis *redis;
    struct spool *spool;
    struct result_sink *sink;
    struct scenario *sc;
    int flushed;
};

static struct fixture fx;

static void start(int with_server)
{
    char *msgs = NULL;

    memset(&fx, 0, sizeof(fx));
    fx.sc = tu_scenario(scenario_text, &msgs);
    ck_assert_msg(fx.sc != NULL, "%s", msgs);
    free(msgs);
    if (with_server)
        tu_redis_start(&fx.srv);
    fx.loop = loop_new();
}

static void open_store(const char *url, const char *spooldir)
{
    fx.redis = redis_new(fx.loop, url, NULL);
    ck_assert_ptr_nonnull(fx.redis);
    redis_set_ping_ms(fx.redis, 300);
    fx.spool = spool_open(spooldir, "results.spool", 0, NULL);
    ck_assert_ptr_nonnull(fx.spool);
    fx.sink = store_new(fx.loop, fx.redis, PREFIX, "runner-1", fx.spool,
                        NULL);
}

static void close_store(void)
{
    redis_close(fx.redis);
    fx.sink->ops->free(fx.sink);
    redis_free(fx.redis);
    spool_close(fx.spool);
    fx.sink = NULL;
}

static void finish(void)
{
    if (fx.sink)
        close_store();
    loop_free(fx.loop);
    tu_redis_kill(&fx.srv);
    tu_scenario_free(fx.sc);
}

static void give(const char *test_id, enum run_status status, unsigned n)
{
    struct step_record step = { "Home", 1, 200, 1, 2, 0, 3, 4 };
    struct run_result r;
    char run_id[33];

    memset(&r, 0, sizeof(r));
    snprintf(run_id, sizeof(run_id), "%032u", n);
    r.status = status;
    r.run_id = run_id;
    r.test_id = test_id;
    r.sc = fx.sc;
    r.target = "prod";
    r.step = status == RUN_PASS ? NULL : "Home";
    r.message = status == RUN_PASS ? NULL : "status 500, expected 200";
    r.excerpt = status == RUN_PASS ? NULL : "{\"error\":true}";
    r.duration_ms = 12.5;
    r.requests = 1;
    r.started = 1700000000 + (time_t)n;
    r.steps = &step;
    r.nsteps = 1;
    fx.sink->ops->result(fx.sink, &r);
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

static void flush_wait(double seconds)
{
    fx.flushed = 0;
    fx.sink->ops->flush(fx.sink, on_flushed, NULL);
    ck_assert_int_eq(fx.flushed, 0); /* never inside the call */
    ck_assert(tu_loop_until(fx.loop, is_flushed, NULL, seconds));
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

static int never(void *arg)
{
    (void)arg;
    return 0;
}

/* Run the loop for <seconds>: long enough, after "up", for the store to
 * have read the runner's last number from Redis. */
static void settle(double seconds)
{
    tu_loop_until(fx.loop, never, NULL, seconds);
}

/* A server, a store on it, connected and seeded. */
static void start_up(void)
{
    start(1);
    open_store(fx.srv.url, tu_mkdir("spool"));
    ck_assert(tu_loop_until(fx.loop, is_up, NULL, 5));
    settle(0.3);
}

static redisReply *cmd(redisContext *c, const char *fmt, const char *arg)
{
    redisReply *rep = redisCommand(c, fmt, arg);

    ck_assert_ptr_nonnull(rep);
    return rep;
}

static char *key(const char *kind, const char *name)
{
    struct sbuf b = SBUF_INIT;

    keys_name(&b, PREFIX, kind, name);
    return sbuf_take(&b, NULL);
}

static char *hget(redisContext *c, const char *k, const char *field)
{
    redisReply *rep = redisCommand(c, "HGET %s %s", k, field);
    char *v;

    ck_assert_ptr_nonnull(rep);
    ck_assert_int_eq(rep->type, REDIS_REPLY_STRING);
    v = strdup(rep->str);
    freeReplyObject(rep);
    return v;
}

/* The run ids of the stream, in order, checked to be 0..n-1. */
static void assert_stream_is(redisContext *c, unsigned n)
{
    redisReply *rep = cmd(c, "XRANGE %s - +", PREFIX ":results");
    size_t i;

    ck_assert_uint_eq(rep->elements, n);
    for (i = 0; i < rep->elements; i++) {
        redisReply *fields = rep->element[i]->element[1];
        size_t j;
        int found = 0;

        for (j = 0; j + 1 < fields->elements; j += 2) {
            if (strcmp(fields->element[j]->str, "run_id") == 0) {
                ck_assert_uint_eq(strtoul(fields->element[j + 1]->str,
                                          NULL, 10), i);
                found = 1;
            }
        }
        ck_assert(found);
    }
    freeReplyObject(rep);
}

START_TEST(test_store_writes_each_once)
{
    const char *odd = "shop@prod[q={a} b%20]";
    const char *ids[3] = { "shop@prod", "shop@canary", odd };
    enum run_status seq[6] = { RUN_PASS, RUN_FAIL, RUN_ERROR,
                               RUN_PASS, RUN_PASS, RUN_FAIL };
    redisContext *c;
    redisReply *rep;
    struct store_stats stats;
    char *k, *v;
    unsigned n = 0, i;
    size_t j;

    start_up();
    for (i = 0; i < 30; i++) {
        give(ids[i % 3], i % 3 == 2 ? seq[(i / 3) % 6] : RUN_PASS, n);
        n++;
    }
    flush_wait(10);
    store_stats(fx.sink, &stats);
    ck_assert_uint_eq(stats.results, 30);
    ck_assert_uint_eq(stats.written, 30);
    ck_assert_uint_eq(stats.duplicates, 0);
    ck_assert_uint_eq(stats.spooled, 0);

    c = tu_redis_conn(&fx.srv);
    assert_stream_is(c, 30);

    /* The odd id round-trips: its escaped key holds its state, and the
     * index and the stream carry it as it is. */
    k = key("test", odd);
    ck_assert_ptr_null(strchr(k, '{'));
    ck_assert_ptr_null(strchr(k, ' '));
    v = hget(c, k, "status");
    ck_assert_str_eq(v, "pass"); /* its 10th run: seq[9 % 6] */
    free(v);
    v = hget(c, k, "consecutive_failures");
    ck_assert_str_eq(v, "0");
    free(v);
    /* Runs 7, 8, 9 of it: fail, error, pass: pass since the last. */
    v = hget(c, k, "since");
    ck_assert_str_eq(v, "1700000029");
    free(v);
    v = hget(c, k, "scenario");
    ck_assert_str_eq(v, "shop");
    free(v);
    rep = redisCommand(c, "ZSCORE %s %s", PREFIX ":tests", odd);
    ck_assert_int_eq(rep->type, REDIS_REPLY_STRING);
    ck_assert_str_eq(rep->str, "1700000029");
    freeReplyObject(rep);
    rep = redisCommand(c, "TTL %s", k);
    ck_assert_int_gt(rep->integer, 6 * 24 * 3600);
    freeReplyObject(rep);
    free(k);

    k = key("test", "shop@prod");
    v = hget(c, k, "consecutive_failures");
    ck_assert_str_eq(v, "0");
    free(v);
    free(k);

    k = key("runs", odd);
    rep = cmd(c, "LRANGE %s 0 -1", k);
    ck_assert_uint_eq(rep->elements, 10);
    ck_assert_ptr_nonnull(strstr(rep->element[1]->str,
                                 "\"status\":\"error\""));
    ck_assert_ptr_nonnull(strstr(rep->element[1]->str,
                                 "\"excerpt\":\"{\\\"error\\\":true}\""));
    freeReplyObject(rep);
    free(k);

    k = key("scenario", "shop");
    v = hget(c, k, "runs");
    ck_assert_str_eq(v, "30");
    free(v);
    free(k);
    k = key("target", "prod");
    v = hget(c, k, "pass");
    ck_assert_uint_eq(strtoul(v, NULL, 10), 20 + 5);
    free(v);
    free(k);

    /* No key outside the prefix. */
    rep = redisCommand(c, "KEYS *");
    ck_assert_uint_gt(rep->elements, 5);
    for (j = 0; j < rep->elements; j++)
        ck_assert_msg(strncmp(rep->element[j]->str, PREFIX ":", 4) == 0,
                      "key %s", rep->element[j]->str);
    freeReplyObject(rep);
    redisFree(c);
    finish();
}
END_TEST

START_TEST(test_store_keeps_k_runs)
{
    redisContext *c;
    redisReply *rep;
    char *k;
    unsigned i;

    start_up();
    for (i = 0; i < 45; i++)
        give("shop@prod", RUN_FAIL, i);
    flush_wait(10);
    c = tu_redis_conn(&fx.srv);
    k = key("runs", "shop@prod");
    rep = cmd(c, "LLEN %s", k);
    ck_assert_int_eq(rep->integer, 20);
    freeReplyObject(rep);
    free(k);
    k = key("test", "shop@prod");
    rep = cmd(c, "HGET %s consecutive_failures", k);
    ck_assert_str_eq(rep->str, "45");
    freeReplyObject(rep);
    rep = cmd(c, "HGET %s since", k);
    ck_assert_str_eq(rep->str, "1700000000");
    freeReplyObject(rep);
    free(k);
    redisFree(c);
    finish();
}
END_TEST

static int written_at_least(void *arg)
{
    struct store_stats s;

    store_stats(fx.sink, &s);
    return s.written >= *(unsigned *)arg;
}

START_TEST(test_store_survives_redis_kill)
{
    struct store_stats stats;
    redisContext *c;
    unsigned want = 20, i;

    start_up();
    for (i = 0; i < 200; i++)
        give("shop@prod", RUN_PASS, i);
    /* Kill the server with part of the stream written and part of it in
     * flight. */
    ck_assert(tu_loop_until(fx.loop, written_at_least, &want, 10));
    tu_redis_kill(&fx.srv);
    ck_assert(tu_loop_until(fx.loop, is_down, NULL, 5));
    for (; i < 400; i++)
        give("shop@prod", i % 2 ? RUN_FAIL : RUN_PASS, i);
    store_stats(fx.sink, &stats);
    ck_assert_uint_gt(stats.spool_records, 200);
    /* A flush while Redis is down ends with everything in the spool. */
    flush_wait(5);
    tu_redis_start(&fx.srv);
    ck_assert(tu_loop_until(fx.loop, is_up, NULL, 10));
    for (; i < 500; i++)
        give("shop@prod", RUN_PASS, i);
    flush_wait(20);
    store_stats(fx.sink, &stats);
    ck_assert_uint_eq(stats.spool_records, 0);
    /* Results applied by the server but killed before their replies
     * are sent again, and skipped as duplicates. */
    ck_assert_uint_eq(stats.written + stats.duplicates, 500);

    c = tu_redis_conn(&fx.srv);
    assert_stream_is(c, 500);
    redisFree(c);
    finish();
}
END_TEST

START_TEST(test_store_spool_outlives_process)
{
    const char *dir = tu_mkdir("spool");
    struct store_stats stats;
    redisContext *c;
    unsigned i;

    start(0);
    /* No server yet: everything goes to the spool. */
    open_store("redis://127.0.0.1:1/0", dir);
    for (i = 0; i < 50; i++)
        give("shop@prod", RUN_PASS, i);
    flush_wait(5);
    close_store();

    tu_redis_start(&fx.srv);
    open_store(fx.srv.url, dir);
    ck_assert_uint_eq(spool_records(fx.spool), 50);
    ck_assert(tu_loop_until(fx.loop, is_up, NULL, 5));
    for (; i < 60; i++)
        give("shop@prod", RUN_PASS, i);
    flush_wait(10);
    store_stats(fx.sink, &stats);
    ck_assert_uint_eq(stats.written, 60);
    ck_assert_uint_eq(spool_records(fx.spool), 0);
    c = tu_redis_conn(&fx.srv);
    assert_stream_is(c, 60);
    redisFree(c);
    finish();
}
END_TEST

static void config_set(redisContext *c, const char *name, const char *v)
{
    redisReply *rep = redisCommand(c, "CONFIG SET %s %s", name, v);

    ck_assert_ptr_nonnull(rep);
    ck_assert_int_ne(rep->type, REDIS_REPLY_ERROR);
    freeReplyObject(rep);
}

static int spool_empty(void *arg)
{
    (void)arg;
    return spool_records(fx.spool) == 0;
}

START_TEST(test_store_keeps_refused_results)
{
    struct store_stats stats;
    redisContext *c;
    unsigned i;

    start_up();
    for (i = 0; i < 10; i++)
        give("shop@prod", RUN_PASS, i);
    flush_wait(10);
    c = tu_redis_conn(&fx.srv);
    /* Every write refused with OOM while results keep coming. */
    config_set(c, "maxmemory-policy", "noeviction");
    config_set(c, "maxmemory", "1");
    for (; i < 40; i++) {
        give("shop@prod", i % 3 ? RUN_PASS : RUN_FAIL, i);
        settle(0.05);
    }
    settle(1.5);
    store_stats(fx.sink, &stats);
    ck_assert_uint_gt(stats.rejected, 0);
    ck_assert_uint_lt(stats.written, 40);
    /* A flush while Redis refuses ends with everything in the spool. */
    flush_wait(5);
    store_stats(fx.sink, &stats);
    ck_assert_uint_eq(stats.spool_records, 40 - stats.written);
    config_set(c, "maxmemory", "0");
    for (; i < 50; i++)
        give("shop@prod", RUN_PASS, i);
    ck_assert(tu_loop_until(fx.loop, spool_empty, NULL, 40));
    flush_wait(5);
    store_stats(fx.sink, &stats);
    ck_assert_uint_eq(stats.spool_records, 0);
    ck_assert_uint_eq(stats.written, 50);
    assert_stream_is(c, 50);
    redisFree(c);
    finish();
}
END_TEST

START_TEST(test_store_seq_seeded_from_redis)
{
    struct store_stats stats;
    redisContext *c;
    redisReply *rep;
    char ahead[32];
    unsigned i;

    start(1);
    c = tu_redis_conn(&fx.srv);
    /* As if the clock had been set back an hour since the last write. */
    snprintf(ahead, sizeof(ahead), "%.0f", (clock_wall() + 3600) * 1e6);
    rep = redisCommand(c, "SET %s %s", PREFIX ":seq:runner-1", ahead);
    ck_assert_ptr_nonnull(rep);
    freeReplyObject(rep);
    open_store(fx.srv.url, tu_mkdir("spool"));
    ck_assert(tu_loop_until(fx.loop, is_up, NULL, 5));
    settle(0.3);
    for (i = 0; i < 10; i++)
        give("shop@prod", RUN_PASS, i);
    flush_wait(10);
    store_stats(fx.sink, &stats);
    ck_assert_uint_eq(stats.duplicates, 0);
    ck_assert_uint_eq(stats.written, 10);
    assert_stream_is(c, 10);
    redisFree(c);
    finish();
}
END_TEST

static int count_lines(const char *path, const char *what)
{
    FILE *f = fopen(path, "r");
    char line[1024];
    int n = 0;

    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof(line), f))
        n += strstr(line, what) != NULL;
    fclose(f);
    return n;
}

/* A server that hangs (stopped, its socket still accepting) is dropped
 * again and again; the outage is one warning, not one per attempt. */
START_TEST(test_store_hung_redis_warns_once)
{
    char path[400];
    FILE *log;
    int saved = dup(2);

    start(1);
    snprintf(path, sizeof(path), "%s/log", tu_tmpdir());
    log = fopen(path, "w");
    ck_assert_ptr_nonnull(log);
    dup2(fileno(log), 2);
    open_store(fx.srv.url, tu_mkdir("spool"));
    ck_assert(tu_loop_until(fx.loop, is_up, NULL, 5));
    kill(fx.srv.pid, SIGSTOP);
    ck_assert(tu_loop_until(fx.loop, is_down, NULL, 5));
    /* The connect timeout is 2 s: two more attempts meet the hung
     * server and are dropped. */
    settle(5.5);
    kill(fx.srv.pid, SIGCONT);
    ck_assert(tu_loop_until(fx.loop, is_up, NULL, 10));
    close_store();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    fclose(log);
    ck_assert_int_eq(count_lines(path, "warn redis.lost"), 1);
    ck_assert_int_eq(count_lines(path, "warn redis.down"), 0);
    ck_assert_int_eq(count_lines(path, "notice redis.up"), 2);
    finish();
}
END_TEST

static Suite *store_suite(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("redis");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_store_writes_each_once);
    tcase_add_test(tc, test_store_keeps_k_runs);
    tcase_add_test(tc, test_store_survives_redis_kill);
    tcase_add_test(tc, test_store_spool_outlives_process);
    tcase_add_test(tc, test_store_keeps_refused_results);
    tcase_add_test(tc, test_store_seq_seeded_from_redis);
    tcase_add_test(tc, test_store_hung_redis_warns_once);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pw_run_suite(store_suite());
}
