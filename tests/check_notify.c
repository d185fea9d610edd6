/* check_notify.c -- sd_notify messages received on a real AF_UNIX
 * datagram socket standing in for the service manager. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#include "clock.h"
#include "notify.h"
#include "testutil.h"

static int mgr = -1; /* the manager's socket, per test (Check forks) */

static void setup(void)
{
    struct sockaddr_un sa;
    const char *dir = tu_tmpdir();

    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    ck_assert_int_lt(snprintf(sa.sun_path, sizeof sa.sun_path, "%s/notify",
                              dir),
                     (int)sizeof sa.sun_path);
    mgr = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(mgr, 0);
    unlink(sa.sun_path);
    ck_assert_int_eq(bind(mgr, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(setenv("NOTIFY_SOCKET", sa.sun_path, 1), 0);
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
}

static void teardown(void)
{
    if (mgr >= 0)
        close(mgr);
    mgr = -1;
    unsetenv("NOTIFY_SOCKET");
}

/* The next datagram, waiting at most <ms>; "" when none came. */
static const char *recv_msg(int ms)
{
    static char buf[2048];
    struct pollfd p = { mgr, POLLIN, 0 };
    ssize_t n;

    buf[0] = '\0';
    if (poll(&p, 1, ms) != 1)
        return buf;
    n = recv(mgr, buf, sizeof buf - 1, MSG_DONTWAIT);
    ck_assert_int_ge(n, 0);
    buf[n] = '\0';
    return buf;
}

START_TEST(test_notify_lifecycle_messages)
{
    ck_assert_int_eq(notify_ready(), 1);
    ck_assert_str_eq(recv_msg(1000), "READY=1");
    ck_assert_int_eq(notify_status("12 tests, 3.0 runs/min, 0 failing"), 1);
    ck_assert_str_eq(recv_msg(1000),
                     "STATUS=12 tests, 3.0 runs/min, 0 failing");
    ck_assert_int_eq(notify_reloading(), 1);
    ck_assert_str_eq(recv_msg(1000), "RELOADING=1");
    ck_assert_int_eq(notify_ready(), 1);
    ck_assert_str_eq(recv_msg(1000), "READY=1");
    ck_assert_int_eq(notify_stopping(), 1);
    ck_assert_str_eq(recv_msg(1000), "STOPPING=1");
    ck_assert_str_eq(recv_msg(50), "");
}
END_TEST

/* A status built from outside text cannot smuggle in a field of its own. */
START_TEST(test_notify_status_one_line)
{
    ck_assert_int_eq(notify_status("redis down\nREADY=1\r\tx"), 1);
    ck_assert_str_eq(recv_msg(1000), "STATUS=redis down READY=1  x");
}
END_TEST

START_TEST(test_notify_status_capped)
{
    char line[4000];
    const char *got;

    memset(line, 'a', sizeof line - 1);
    line[sizeof line - 1] = '\0';
    ck_assert_int_eq(notify_status(line), 1);
    got = recv_msg(1000);
    ck_assert_uint_eq(strlen(got), strlen("STATUS=") + 1024);
}
END_TEST

START_TEST(test_notify_without_manager)
{
    unsetenv("NOTIFY_SOCKET");
    ck_assert_int_eq(notify_ready(), 0);
    ck_assert_int_eq(notify_status("x"), 0);
    ck_assert_int_eq(notify_stopping(), 0);
    ck_assert_str_eq(recv_msg(50), "");
}
END_TEST

START_TEST(test_notify_manager_gone)
{
    ck_assert_int_eq(setenv("NOTIFY_SOCKET", "/nonexistent/notify", 1), 0);
    ck_assert_int_eq(notify_ready(), -1);
}
END_TEST

static void set_watchdog(const char *usec, long pid)
{
    char pidbuf[32];

    snprintf(pidbuf, sizeof pidbuf, "%ld", pid);
    ck_assert_int_eq(setenv("WATCHDOG_USEC", usec, 1), 0);
    ck_assert_int_eq(setenv("WATCHDOG_PID", pidbuf, 1), 0);
}

struct pets {
    struct event_base *base;
    double t[8];
    int n;
};

static void on_manager_readable(evutil_socket_t fd, short what, void *arg)
{
    struct pets *p = arg;

    (void)fd;
    (void)what;
    ck_assert_str_eq(recv_msg(0), "WATCHDOG=1");
    p->t[p->n++] = clock_mono();
    if (p->n == 4)
        event_base_loopbreak(p->base);
}

/* A 200 ms watchdog is petted every 100 ms from the loop, and not before
 * the loop runs.  A hang becomes a failure after 3 s. */
START_TEST(test_notify_watchdog_pets_from_loop)
{
    struct pets p = { event_base_new(), { 0 }, 0 };
    struct notify_watchdog *wd;
    struct event *rd;
    struct timeval tv = { 3, 0 };
    double start;
    int i;

    ck_assert_ptr_nonnull(p.base);
    set_watchdog("200000", (long)getpid());
    start = clock_mono();
    wd = notify_watchdog_start(p.base);
    ck_assert_ptr_nonnull(wd);
    ck_assert_uint_eq(notify_watchdog_interval_usec(wd), 100000);
    ck_assert_str_eq(recv_msg(0), "");
    rd = event_new(p.base, mgr, EV_READ | EV_PERSIST, on_manager_readable,
                   &p);
    event_add(rd, NULL);
    event_base_loopexit(p.base, &tv);
    event_base_dispatch(p.base);
    ck_assert_int_eq(p.n, 4);
    /* Timers never fire early; a pet may come late on a busy machine. */
    ck_assert_double_ge(p.t[0] - start, 0.095);
    for (i = 1; i < 4; i++)
        ck_assert_double_ge(p.t[i] - start, 0.095 * (i + 1));
    event_free(rd);
    notify_watchdog_stop(wd);
    event_base_free(p.base);
}
END_TEST

/* A loop that does not run does not pet: that is what lets systemd
 * restart a stalled service. */
START_TEST(test_notify_watchdog_stalled_loop_is_silent)
{
    struct event_base *base = event_base_new();
    struct notify_watchdog *wd;

    set_watchdog("100000", (long)getpid());
    wd = notify_watchdog_start(base);
    ck_assert_ptr_nonnull(wd);
    usleep(250000);
    ck_assert_str_eq(recv_msg(0), "");
    notify_watchdog_stop(wd);
    event_base_free(base);
}
END_TEST

/* A watchdog meant for another process (a parent whose environment we
 * inherited), or none at all, starts nothing. */
START_TEST(test_notify_watchdog_not_ours)
{
    struct event_base *base = event_base_new();

    set_watchdog("200000", (long)getppid());
    ck_assert_ptr_null(notify_watchdog_start(base));
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    ck_assert_ptr_null(notify_watchdog_start(base));
    notify_watchdog_stop(NULL);
    event_base_free(base);
}
END_TEST

static Suite *notify_suite(void)
{
    Suite *s = suite_create("notify");
    TCase *tc = tcase_create("messages");
    TCase *wd = tcase_create("watchdog");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_notify_lifecycle_messages);
    tcase_add_test(tc, test_notify_status_one_line);
    tcase_add_test(tc, test_notify_status_capped);
    tcase_add_test(tc, test_notify_without_manager);
    tcase_add_test(tc, test_notify_manager_gone);
    suite_add_tcase(s, tc);
    tcase_add_checked_fixture(wd, setup, teardown);
    tcase_add_test(wd, test_notify_watchdog_pets_from_loop);
    tcase_add_test(wd, test_notify_watchdog_stalled_loop_is_silent);
    tcase_add_test(wd, test_notify_watchdog_not_ours);
    suite_add_tcase(s, wd);
    return s;
}

int main(void)
{
    return pw_run_suite(notify_suite());
}
