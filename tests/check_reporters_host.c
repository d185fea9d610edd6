/* check_reporters_host.c -- the reporter plugin host: loading, settings,
 * and the host API on a real loop, with a private redis-server and a
 * loopback HTTP server. */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "loop.h"
#include "plugins/probe.h"
#include "redis.h"
#include "reporters.h"
#include "secret.h"
#include "testutil.h"

#define SECRET_VALUE "s3cr3t-tok-4242"

/* The test plugin <name>'s file; the last four calls' answers stay
 * valid, so one printf can name several. */
static const char *plugin(const char *name)
{
    static char paths[4][512];
    static unsigned next;
    const char *dir = getenv("TEST_PLUGINS");
    char *path = paths[next++ % 4];

    ck_assert_ptr_nonnull(dir);
    snprintf(path, sizeof(paths[0]), "%s/%s.so", dir, name);
    return path;
}

/* The config <reporters> (the text under "reporters:"), with a secret
 * "tok" in its secrets directory. */
static struct config *load_cfg(const char *reporters)
{
    struct diag *d = diag_new();
    struct config *cfg;
    char *text, *msgs;
    size_t n;

    tu_mkdir("keys");
    tu_write("keys/tok", SECRET_VALUE "\n");
    n = strlen(reporters) + 200;
    text = malloc(n);
    snprintf(text, n,
             "secrets_dir: keys\n"
             "targets:\n"
             "  a: { base_url: http://127.0.0.1:1/ }\n"
             "reporters:\n%s",
             reporters);
    cfg = config_load(tu_write("c.yaml", text), d);
    msgs = tu_diag_text(d);
    ck_assert_msg(cfg != NULL, "%s", msgs);
    free(msgs);
    free(text);
    diag_free(d);
    return cfg;
}

/* Load <reporters> in check mode: the problems, one a line (caller
 * frees); <ok> says whether the set loaded. */
static char *check_load(const char *reporters, int *ok)
{
    struct config *cfg = load_cfg(reporters);
    struct diag *d = diag_new();
    struct reporters *r = reporters_load(cfg, NULL, d);
    char *msgs = tu_diag_text(d);

    *ok = r != NULL;
    reporters_free(r);
    diag_free(d);
    config_free(cfg);
    return msgs;
}

/* The test's own reference on the good plugin: its probe stays readable
 * after the host unloads it. */
static void *held;

static void hold(void)
{
    held = dlopen(plugin("good"), RTLD_NOW | RTLD_LOCAL);
    ck_assert_msg(held != NULL, "%s", dlerror());
}

static void release(void)
{
    dlclose(held);
}

static struct probe *probe(void)
{
    struct probe *p = dlsym(held, PROBE_SYMBOL);

    ck_assert_ptr_nonnull(p);
    return p;
}

START_TEST(test_reporters_host_refusals)
{
    char buf[1024], *msgs;
    int ok;

    snprintf(buf, sizeof(buf),
             "  - plugin: { path: %s }\n"
             "  - plugin: { path: %s }\n"
             "  - plugin: { path: %s }\n",
             plugin("badabi"), plugin("nosym"), plugin("absent"));
    msgs = check_load(buf, &ok);
    ck_assert(!ok);
    snprintf(buf, sizeof(buf),
             "c.yaml:5:5: %s: built for reporter ABI 2, this prodwatch "
             "speaks 1\n"
             "c.yaml:6:5: %s: no symbol pw_reporter (is it a prodwatch "
             "reporter?)\n",
             plugin("badabi"), plugin("nosym"));
    ck_assert_msg(strncmp(msgs, buf, strlen(buf)) == 0, "%s", msgs);
    snprintf(buf, sizeof(buf), "c.yaml:7:5: %s: cannot open: ",
             plugin("absent"));
    ck_assert_msg(strstr(msgs, buf) != NULL, "%s", msgs);
    ck_assert_msg(strstr(msgs, "No such file") != NULL, "%s", msgs);
    free(msgs);
}
END_TEST

START_TEST(test_reporters_host_builtin_dir)
{
    char *msgs;
    int ok;

    setenv("PRODWATCH_REPORTER_DIR", getenv("TEST_PLUGINS"), 1);
    msgs = check_load("  - good: { retries: 2 }\n"
                      "  - nothere: {}\n",
                      &ok);
    ck_assert(!ok);
    ck_assert_msg(strstr(msgs, "c.yaml:6:5: unknown reporter 'nothere' "
                               "(there is no ") != NULL,
                  "%s", msgs);
    free(msgs);
    probe()->created = probe()->destroyed = 0;
    msgs = check_load("  - good: { retries: 2 }\n"
                      "  - good:\n",
                      &ok);
    ck_assert_msg(ok, "%s", msgs);
    ck_assert_str_eq(msgs, "");
    /* Check mode: each one created and destroyed at once. */
    ck_assert_int_eq(probe()->created, 2);
    ck_assert_int_eq(probe()->destroyed, 2);
    free(msgs);
    unsetenv("PRODWATCH_REPORTER_DIR");
}
END_TEST

START_TEST(test_reporters_host_conf_errors)
{
    char buf[1024], *msgs;
    int ok;

    snprintf(buf, sizeof(buf),
             "  - plugin:\n"
             "      path: %s\n"
             "      config:\n"
             "        retries: 9\n"
             "        url: ftp://x\n"
             "        every: soon\n"
             "        colour: blue\n"
             "  - plugin:\n"
             "      path: %s\n"
             "      config: { token: \"{{ secret.nope }}\", retries: x }\n"
             "  - plugin: { path: %s }\n",
             plugin("confail"), plugin("good"), plugin("confail"));
    msgs = check_load(buf, &ok);
    ck_assert(!ok);
    ck_assert_msg(
        strstr(msgs,
               "c.yaml:5:5: confail wants a channel too\n"
               "c.yaml:8:9: confail needs channel\n"
               "c.yaml:8:18: retries must be between 0 and 5, not 9\n"
               "c.yaml:9:14: url must start with http:// or https://\n"
               "c.yaml:10:16: every: ") != NULL,
        "%s", msgs);
    ck_assert_msg(strstr(msgs, "c.yaml:11:9: unknown key 'colour' in "
                               "confail\n") != NULL,
                  "%s", msgs);
    /* The missing secret is named once, where it is used. */
    ck_assert_msg(strstr(msgs, "c.yaml:14:28: secret 'nope': ") != NULL,
                  "%s", msgs);
    ck_assert_msg(strstr(msgs, "token") == NULL, "%s", msgs);
    ck_assert_msg(strstr(msgs, "c.yaml:14:54: retries must be a whole "
                               "number, not 'x'\n") != NULL,
                  "%s", msgs);
    /* Required settings missing from an entry without any. */
    ck_assert_msg(strstr(msgs, "c.yaml:15:5: confail needs retries\n"
                               "c.yaml:15:5: confail needs url\n") != NULL,
                  "%s", msgs);
    free(msgs);
}
END_TEST

START_TEST(test_reporters_host_check_mode_refuses_io)
{
    char buf[512], *msgs;
    int ok;

    snprintf(buf, sizeof(buf),
             "  - plugin: { path: %s, config: { probe_in_create: true } }\n",
             plugin("good"));
    msgs = check_load(buf, &ok);
    ck_assert_msg(ok, "%s", msgs);
    ck_assert_int_eq(probe()->check_http, -1);
    ck_assert_int_eq(probe()->check_timer, 0);
    free(msgs);
}
END_TEST

/* -- Live: a loop, Redis, and a loopback HTTP server ------------------- */

static struct tu_redis srv;
static struct loop *lp;
static struct redis *rd;
static struct secrets *secrets;
static struct evhttp *web;
static int web_port;

static void on_web(struct evhttp_request *req, void *arg)
{
    struct evbuffer *b = evbuffer_new();
    const char *uri = evhttp_request_get_uri(req);

    (void)arg;
    if (strcmp(uri, "/big") == 0) {
        char chunk[1024];
        int i;

        memset(chunk, 'x', sizeof(chunk));
        for (i = 0; i < 100; i++)
            evbuffer_add(b, chunk, sizeof(chunk));
    } else {
        evbuffer_add_printf(b, "hello");
    }
    evhttp_add_header(evhttp_request_get_output_headers(req), "X-Test",
                      "yes");
    evhttp_send_reply(req, 200, "OK", b);
    evbuffer_free(b);
}

static int is_up(void *arg)
{
    (void)arg;
    return redis_up(rd);
}

static void live_setup(void)
{
    struct evhttp_bound_socket *s;
    struct sockaddr_storage ss;
    ev_socklen_t len = sizeof(ss);

    hold();
    memset(&srv, 0, sizeof(srv));
    tu_redis_start(&srv);
    lp = loop_new();
    rd = redis_new(lp, srv.url, NULL);
    ck_assert(tu_loop_until(lp, is_up, NULL, 5));
    secrets = secrets_new(tu_mkdir("keys"));
    web = evhttp_new(loop_base(lp));
    s = evhttp_bind_socket_with_handle(web, "127.0.0.1", 0);
    ck_assert_ptr_nonnull(s);
    getsockname(evhttp_bound_socket_get_fd(s), (struct sockaddr *)&ss, &len);
    web_port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    evhttp_set_gencb(web, on_web, NULL);
    memset(probe(), 0, sizeof(struct probe));
}

static void live_teardown(void)
{
    evhttp_free(web);
    redis_close(rd);
    redis_free(rd);
    secrets_free(secrets);
    loop_free(lp);
    tu_redis_kill(&srv);
    release();
}

static struct reporters *live_load(struct config **cfg)
{
    char buf[1024];
    struct reporter_env env = { lp, rd, "pwt", "runner-1", secrets };
    struct diag *d = diag_new();
    struct reporters *r;
    char *msgs;

    snprintf(buf, sizeof(buf),
             "  - plugin:\n"
             "      path: %s\n"
             "      config:\n"
             "        url: http://127.0.0.1:%d/\n"
             "        token: \"Bearer {{ secret.tok }}\"\n"
             "  - plugin: { path: %s }\n",
             plugin("good"), web_port, plugin("good"));
    *cfg = load_cfg(buf);
    r = reporters_load(*cfg, &env, d);
    msgs = tu_diag_text(d);
    ck_assert_msg(r != NULL, "%s", msgs);
    free(msgs);
    diag_free(d);
    return r;
}

static int http_and_kv_done(void *arg)
{
    (void)arg;
    return probe()->http_answers == 2 && probe()->kv_answers == 2 &&
           probe()->timer_fired == 1;
}

START_TEST(test_reporters_host_results_http_timers_kv)
{
    struct pw_result res = { 0 };
    struct config *cfg;
    struct reporters *r = live_load(&cfg);

    ck_assert_uint_eq(reporters_count(r), 2);
    ck_assert_str_eq(reporters_name(r, 0), "good");
    ck_assert_str_eq(reporters_name(r, 1), "good#2");
    ck_assert_int_eq(reporters_find(r, "good#2"), 1);
    ck_assert_int_eq(reporters_find(r, "good#3"), -1);
    res.test_id = "checkout@a[x=1]";
    res.status = "fail";
    reporters_result(r, &res);
    /* Both instances saw it; only the first has a url to call. */
    ck_assert_int_eq(probe()->results, 2);
    ck_assert_int_eq(probe()->http_answers, 0);
    ck_assert(tu_loop_until(lp, http_and_kv_done, NULL, 10));
    ck_assert_int_eq(probe()->http_status, 200);
    ck_assert_str_eq(probe()->http_body, "hello");
    ck_assert_str_eq(probe()->http_header, "yes");
    /* The body is cut at 64 KiB; the status still counts. */
    ck_assert_int_eq(probe()->big_status, 200);
    ck_assert_uint_le(probe()->big_len, 64 * 1024);
    ck_assert_str_eq(probe()->kv_value, "checkout@a[x=1]");
    ck_assert_int_eq(probe()->kv_after_del_null, 1);
    ck_assert_int_eq(probe()->long_timer_fired, 0);
    reporters_free(r);
    /* Flushed, then destroyed; the long timer died with them, unfired. */
    ck_assert_int_eq(probe()->flushed, 2);
    ck_assert_int_eq(probe()->destroyed, 2);
    config_free(cfg);
}
END_TEST

START_TEST(test_reporters_host_cancel_in_flight)
{
    struct pw_result res = { 0 };
    struct config *cfg;
    struct reporters *r = live_load(&cfg);

    res.test_id = "t";
    reporters_result(r, &res);
    /* Requests, timers and kv reads all in flight: freed under them. */
    reporters_free(r);
    config_free(cfg);
    tu_loop_until(lp, http_and_kv_done, NULL, 0.5);
    ck_assert_int_eq(probe()->http_answers, 0);
    ck_assert_int_eq(probe()->kv_answers, 0);
    ck_assert_int_eq(probe()->timer_fired, 0);
}
END_TEST

struct answers {
    int n;
    enum pw_outcome last;
    unsigned long retry;
    char why[128];
};

static void on_delivered(void *arg, enum pw_outcome outcome,
                         unsigned long retry_after_ms, const char *why)
{
    struct answers *a = arg;

    a->n++;
    a->last = outcome;
    a->retry = retry_after_ms;
    snprintf(a->why, sizeof(a->why), "%s", why ? why : "");
}

static int answered(void *arg)
{
    return ((struct answers *)arg)->n > 0;
}

static void deliver(struct reporters *r, const char *how, struct answers *a,
                    double wait_s)
{
    struct pw_alert al = { 0 };

    memset(a, 0, sizeof(*a));
    al.summary = how;
    al.details = "{}";
    reporters_deliver(r, 0, &al, on_delivered, a);
    /* Never inside the call, even when the plugin answered in it. */
    ck_assert_int_eq(a->n, 0);
    ck_assert_msg(tu_loop_until(lp, answered, a, wait_s), "%s", how);
    /* And only once. */
    tu_loop_until(lp, answered, &(struct answers){ 0 }, 0.1);
    ck_assert_int_eq(a->n, 1);
}

START_TEST(test_reporters_host_deliveries)
{
    struct config *cfg;
    struct reporters *r = live_load(&cfg);
    struct answers a;

    deliver(r, "answer", &a, 2);
    ck_assert_int_eq(a.last, PW_DELIVERED);
    deliver(r, "late", &a, 2);
    ck_assert_int_eq(a.last, PW_DELIVERED);
    ck_assert_str_eq(a.why, "late");
    deliver(r, "reject", &a, 2);
    ck_assert_int_eq(a.last, PW_REJECTED);
    ck_assert_str_eq(a.why, "bad event");
    deliver(r, "twice", &a, 2);
    ck_assert_int_eq(a.last, PW_RETRY);
    ck_assert_uint_eq(a.retry, 1500);
    reporters_set_watchdog(r, 100);
    deliver(r, "never", &a, 2);
    ck_assert_int_eq(a.last, PW_RETRY);
    ck_assert_msg(strstr(a.why, "no answer") != NULL, "%s", a.why);
    ck_assert_int_eq(probe()->alerts, 5);
    /* One left unanswered when the set goes: its callback never runs. */
    memset(&a, 0, sizeof(a));
    reporters_deliver(r, 0,
                      &(struct pw_alert){ .summary = "never", .details = "{}" },
                      on_delivered, &a);
    reporters_free(r);
    tu_loop_until(lp, answered, &a, 0.3);
    ck_assert_int_eq(a.n, 0);
    config_free(cfg);
}
END_TEST

static int count_in(const char *path, const char *what)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    int n = 0;

    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof(line), f))
        if (strstr(line, what))
            n++;
    fclose(f);
    return n;
}

START_TEST(test_reporters_host_secret_not_logged)
{
    char path[400];
    struct config *cfg;
    struct reporters *r;
    FILE *log;
    int saved = dup(2);

    snprintf(path, sizeof(path), "%s/log", tu_tmpdir());
    log = fopen(path, "w");
    ck_assert_ptr_nonnull(log);
    log_setup(PWLOG_DEBUG, 0);
    dup2(fileno(log), 2);
    r = live_load(&cfg);
    reporters_free(r);
    config_free(cfg);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    fclose(log);
    ck_assert_int_eq(count_in(path, "reporter.good: token is Bearer [secret]"),
                     1);
    ck_assert_int_eq(count_in(path, SECRET_VALUE), 0);
    ck_assert_int_eq(count_in(path, "s3cr3t"), 0);
}
END_TEST

static Suite *reporters_host_suite(void)
{
    Suite *s = suite_create("reporters_host");
    TCase *tl = tcase_create("Load");
    TCase *tv = tcase_create("Live");

    tcase_add_checked_fixture(tl, hold, release);
    tcase_add_test(tl, test_reporters_host_refusals);
    tcase_add_test(tl, test_reporters_host_builtin_dir);
    tcase_add_test(tl, test_reporters_host_conf_errors);
    tcase_add_test(tl, test_reporters_host_check_mode_refuses_io);
    tcase_add_checked_fixture(tv, live_setup, live_teardown);
    tcase_set_timeout(tv, 60);
    tcase_add_test(tv, test_reporters_host_results_http_timers_kv);
    tcase_add_test(tv, test_reporters_host_cancel_in_flight);
    tcase_add_test(tv, test_reporters_host_deliveries);
    tcase_add_test(tv, test_reporters_host_secret_not_logged);
    suite_add_tcase(s, tl);
    suite_add_tcase(s, tv);
    return s;
}

int main(void)
{
    return pw_run_suite(reporters_host_suite());
}
