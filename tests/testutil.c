/* testutil.c -- helpers shared by the Check unit tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "clock.h"
#include "loop.h"
#include "sbuf.h"
#include "testutil.h"
#include "clock.h"

int pw_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* One fresh directory per process (Check forks a process per test): made
 * with mkdtemp(), so a directory left by an earlier process with the same
 * pid can never leak its files into a test, and removed at exit by the
 * process that made it. */
static char tu_dir_path[256];
static pid_t tu_dir_owner;

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void tu_dir_remove(void)
{
    if (tu_dir_owner == getpid() && tu_dir_path[0])
        nftw(tu_dir_path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static const char *tu_dir(void)
{
    const char *tmp = getenv("TMPDIR");

    if (tu_dir_owner == getpid())
        return tu_dir_path;
    snprintf(tu_dir_path, sizeof(tu_dir_path), "%s/pw-test-XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tu_dir_path));
    if (tu_dir_owner == 0)
        atexit(tu_dir_remove);
    tu_dir_owner = getpid();
    return tu_dir_path;
}

const char *tu_write(const char *name, const char *text)
{
    static char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", tu_dir(), name);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return path;
}

const char *tu_mkdir(const char *name)
{
    static char path[512];

    snprintf(path, sizeof(path), "%s/%s", tu_dir(), name);
    mkdir(path, 0700);
    return path;
}

const char *tu_tmpdir(void)
{
    return tu_dir();
}

char *tu_diag_text(struct diag *d)
{
    struct sbuf b = SBUF_INIT;
    const char *dir = tu_dir();
    size_t i, dlen = strlen(dir);

    for (i = 0; i < diag_count(d) && i < DIAG_MAX; i++) {
        const char *line = diag_at(d, i);

        /* Files written by tu_write() are reported by their base name. */
        if (strncmp(line, dir, dlen) == 0 && line[dlen] == '/')
            line += dlen + 1;
        sbuf_adds(&b, line);
        sbuf_addc(&b, '\n');
    }
    return sbuf_take(&b, NULL);
}

/* secrets_dir is explicit so that secret.NAME checks do not depend on
 * whether this machine has /etc/prodwatch/secrets. */
static const char test_config[] = "secrets_dir: test-secrets\n"
                                  "targets:\n"
                                  "  prod:\n"
                                  "    base_url: https://shop.example.com\n"
                                  "    vars: { tenant: acme, region: eu }\n"
                                  "  canary:\n"
                                  "    base_url: https://canary.example.com\n"
                                  "    vars: { tenant: acme }\n";

struct config *tu_config(void)
{
    struct diag *d = diag_new();
    struct config *cfg;

    tu_mkdir("test-secrets");
    tu_write("test-secrets/pw", "pw\n");
    tu_write("test-secrets/token", "token\n");
    cfg = config_load(tu_write("prodwatch.yaml", test_config), d);

    ck_assert_msg(cfg != NULL, "test config does not load");
    diag_free(d);
    return cfg;
}

static struct config *last_cfg;
static struct jqset *last_jq;

struct scenario *tu_scenario(const char *text, char **diag_text)
{
    struct diag *d = diag_new();
    struct scenario *sc;

    config_free(last_cfg);
    jqset_free(last_jq);
    last_cfg = tu_config();
    last_jq = jqset_new();
    sc = scenario_load(tu_write("s.yaml", text), last_cfg, last_jq, d);
    if (jqset_compile(last_jq, d) != PW_OK) {
        scenario_free(sc);
        sc = NULL;
    }
    *diag_text = tu_diag_text(d);
    diag_free(d);
    return sc;
}

void tu_scenario_free(struct scenario *sc)
{
    scenario_free(sc);
    config_free(last_cfg);
    jqset_free(last_jq);
    last_cfg = NULL;
    last_jq = NULL;
}

struct jqset *tu_jq(void)
{
    return last_jq;
}

static int free_port(void)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int port;

    ck_assert_int_ge(fd, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

void tu_redis_start(struct tu_redis *r)
{
    char port[16];
    double until;
    int i;

    if (!r->port) {
        r->port = free_port();
        snprintf(r->dir, sizeof(r->dir), "%s/redis-%d", tu_tmpdir(),
                 r->port);
        ck_assert_int_eq(mkdir(r->dir, 0700), 0);
        snprintf(r->url, sizeof(r->url), "redis://127.0.0.1:%d/0", r->port);
    }
    snprintf(port, sizeof(port), "%d", r->port);
    r->pid = fork();
    ck_assert_int_ge(r->pid, 0);
    if (r->pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);

        dup2(devnull, 1);
        execlp("redis-server", "redis-server", "--port", port, "--bind",
               "127.0.0.1", "--dir", r->dir, "--save", "",
               "--appendonly", "yes", "--appendfsync", "always",
               "--daemonize", "no", "--loglevel", "warning", (char *)NULL);
        _exit(127);
    }
    until = clock_mono() + 10;
    for (i = 0; clock_mono() < until; i++) {
        redisContext *c = tu_redis_conn(r);
        redisReply *rep = c->err ? NULL : redisCommand(c, "PING");
        int ok = rep && rep->type == REDIS_REPLY_STATUS;

        if (rep)
            freeReplyObject(rep);
        redisFree(c);
        if (ok)
            return;
        usleep(20000);
    }
    ck_abort_msg("redis-server did not start on port %d", r->port);
}

void tu_redis_kill(struct tu_redis *r)
{
    if (!r->pid)
        return;
    kill(r->pid, SIGKILL);
    waitpid(r->pid, NULL, 0);
    r->pid = 0;
}

struct redisContext *tu_redis_conn(const struct tu_redis *r)
{
    struct timeval tv = { 2, 0 };
    redisContext *c = redisConnectWithTimeout("127.0.0.1", r->port, tv);

    ck_assert_ptr_nonnull(c);
    return c;
}

static void tu_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

int tu_loop_until(struct loop *l, int (*cond)(void *), void *arg,
                  double seconds)
{
    double until = clock_mono() + seconds;
    struct timeval tv = { 0, 5000 };
    struct event *tick = event_new(loop_base(l), -1, EV_PERSIST, tu_tick,
                                   NULL);
    int ok;

    /* The tick bounds each turn, so the deadline is checked even when
     * nothing else happens. */
    event_add(tick, &tv);
    for (;;) {
        ok = cond(arg);
        if (ok || clock_mono() >= until)
            break;
        event_base_loop(loop_base(l), EVLOOP_ONCE);
    }
    event_free(tick);
    return ok;
}

double tu_fake_mono = 1000.0, tu_fake_wall = 1.7e9;

static double fake_mono_now(void *arg)
{
    (void)arg;
    return tu_fake_mono;
}

static double fake_wall_now(void *arg)
{
    (void)arg;
    return tu_fake_wall;
}

static const struct clock_source fake_clock = { fake_mono_now, fake_wall_now,
                                                NULL };

void tu_clock_fake(void)
{
    tu_fake_mono = 1000.0;
    tu_fake_wall = 1.7e9;
    clock_set_source(&fake_clock);
}

void tu_clock_real(void)
{
    clock_set_source(NULL);
}

void tu_clock_advance(double sec)
{
    tu_fake_mono += sec;
    tu_fake_wall += sec;
}
