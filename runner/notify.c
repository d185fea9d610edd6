/* notify.c -- sd_notify messages and the loop's watchdog timer. */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "notify.h"
#include "sbuf.h"
#include "xalloc.h"

/* A status line longer than this says nothing more that a person reads in
 * `systemctl status`; the cap keeps one message well inside a datagram. */
#define STATUS_MAX 1024

struct notify_watchdog {
    struct event *timer;
    uint64_t interval_usec;
};

/* sd_notify() reads $NOTIFY_SOCKET itself, but checking first keeps the
 * no-manager case to one getenv() and lets us tell "nobody to tell" (0)
 * apart from "sent" (1) whatever libsystemd version answers. */
static int have_manager(void)
{
    const char *sock = getenv("NOTIFY_SOCKET");

    return sock != NULL && *sock != '\0';
}

static int send_state(const char *state)
{
    int rc;

    if (!have_manager())
        return 0;
    rc = sd_notify(0, state);
    if (rc > 0)
        return 1;
    return rc == 0 ? 0 : -1;
}

int notify_ready(void)
{
    return send_state("READY=1");
}

int notify_reloading(void)
{
    return send_state("RELOADING=1");
}

int notify_stopping(void)
{
    return send_state("STOPPING=1");
}

int notify_status(const char *line)
{
    struct sbuf b;
    size_t i;
    int rc;

    if (!have_manager())
        return 0;
    sbuf_init(&b, STATUS_MAX + sizeof "STATUS=");
    sbuf_adds(&b, "STATUS=");
    /* The message is newline-separated assignments: a newline inside the
     * status would start one (READY=1, say) that nobody meant to send. */
    for (i = 0; line[i] != '\0' && i < STATUS_MAX; i++) {
        unsigned char c = (unsigned char)line[i];

        sbuf_addc(&b, c < 0x20 || c == 0x7f ? ' ' : (char)c);
    }
    rc = sbuf_failed(&b) == PW_OK ? send_state(b.buf) : -1;
    sbuf_release(&b);
    return rc;
}

static void on_watchdog_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    send_state("WATCHDOG=1");
}

struct notify_watchdog *notify_watchdog_start(struct event_base *base)
{
    struct notify_watchdog *wd;
    uint64_t usec = 0;
    struct timeval tv;

    /* Also checks $WATCHDOG_PID: a child that inherited the environment
     * must not pet on its parent's behalf. */
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
        return NULL;
    wd = xcalloc(1, sizeof *wd);
    /* Half the interval, as sd_watchdog_enabled(3) advises: one late tick
     * of a busy but healthy loop must not cost a restart. */
    wd->interval_usec = usec / 2 > 0 ? usec / 2 : 1;
    wd->timer = event_new(base, -1, EV_PERSIST, on_watchdog_timer, wd);
    if (wd->timer == NULL) {
        free(wd);
        return NULL;
    }
    tv.tv_sec = (time_t)(wd->interval_usec / 1000000);
    tv.tv_usec = (suseconds_t)(wd->interval_usec % 1000000);
    if (event_add(wd->timer, &tv) != 0) {
        event_free(wd->timer);
        free(wd);
        return NULL;
    }
    return wd;
}

uint64_t notify_watchdog_interval_usec(const struct notify_watchdog *wd)
{
    return wd->interval_usec;
}

void notify_watchdog_stop(struct notify_watchdog *wd)
{
    if (wd == NULL)
        return;
    event_free(wd->timer);
    free(wd);
}
