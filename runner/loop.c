/* loop.c -- libevent driving libcurl's multi socket interface.
 *
 * The shape of curl's docs/examples/multi-event.c: handle_socket
 * (CURLMOPT_SOCKETFUNCTION) keeps one event per socket, start_timeout
 * (CURLMOPT_TIMERFUNCTION) arms one timer, on_sock_ready and on_curl_timer
 * call curl_multi_socket_action, and check_multi_info() drains finished
 * transfers.  libcurl is never called from inside its own callbacks.
 */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "loop.h"
#include "xalloc.h"

struct xfer {
    loop_done_fn *done;
    void *arg;
    CURL *easy;        /* once aborted */
    struct xfer *next; /* in the loop's list of aborted transfers */
};

struct sock {
    struct event *ev;
    curl_socket_t fd;
};

struct loop {
    struct event_base *base;
    CURLM *multi;
    CURLSH *share;
    struct event *timer;
    unsigned active;
    struct loop_timer *delays; /* pending loop_after() timers */
    struct xfer *aborted;      /* to complete from the loop, oldest first */
    struct loop_timer *abort_timer;
    CURL *spares[LOOP_SPARES]; /* easy handles kept for the next runs */
    size_t nspares;
};

struct loop_timer {
    struct loop *l;
    loop_timer_fn *fn;
    void *arg;
    struct event *ev;
    struct loop_timer *prev, *next;
};

static void check_multi_info(struct loop *l)
{
    CURLMsg *msg;
    int left;

    for (msg = curl_multi_info_read(l->multi, &left); msg != NULL;
         msg = curl_multi_info_read(l->multi, &left)) {
        CURL *easy;
        struct xfer *x = NULL;
        CURLcode result;

        if (msg->msg != CURLMSG_DONE)
            continue;
        easy = msg->easy_handle;
        result = msg->data.result;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
        curl_multi_remove_handle(l->multi, easy);
        l->active--;
        if (x) {
            loop_done_fn *done = x->done;
            void *arg = x->arg;

            free(x);
            curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
            done(easy, result, arg);
        }
    }
}

static void on_sock_ready(evutil_socket_t fd, short what, void *arg)
{
    struct loop *l = arg;
    int flags = 0, running;

    if (what & EV_READ)
        flags |= CURL_CSELECT_IN;
    if (what & EV_WRITE)
        flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(l->multi, fd, flags, &running);
    check_multi_info(l);
}

static void on_curl_timer(evutil_socket_t fd, short what, void *arg)
{
    struct loop *l = arg;
    int running;

    (void)fd;
    (void)what;
    curl_multi_socket_action(l->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_multi_info(l);
}

/* CURLMOPT_TIMERFUNCTION: only (re)arm or delete our timer. */
static int start_timeout(CURLM *multi, long timeout_ms, void *userp)
{
    struct loop *l = userp;
    struct timeval tv;

    (void)multi;
    if (timeout_ms < 0) {
        evtimer_del(l->timer);
        return 0;
    }
    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = (timeout_ms % 1000) * 1000;
    evtimer_add(l->timer, &tv);
    return 0;
}

/* CURLMOPT_SOCKETFUNCTION: keep one persistent event per socket. */
static int handle_socket(CURL *easy, curl_socket_t fd, int action, void *userp,
                         void *socketp)
{
    struct loop *l = userp;
    struct sock *s = socketp;
    short kind;

    (void)easy;
    if (action == CURL_POLL_REMOVE) {
        if (s) {
            event_free(s->ev);
            free(s);
            curl_multi_assign(l->multi, fd, NULL);
        }
        return 0;
    }
    kind = (short)(EV_PERSIST | (action & CURL_POLL_IN ? EV_READ : 0) |
                   (action & CURL_POLL_OUT ? EV_WRITE : 0));
    if (s == NULL) {
        s = xcalloc(1, sizeof(*s));
        s->fd = fd;
        curl_multi_assign(l->multi, fd, s);
    } else {
        event_free(s->ev);
    }
    s->ev = event_new(l->base, fd, kind, on_sock_ready, l);
    event_add(s->ev, NULL);
    return 0;
}

struct loop *loop_new(void)
{
    struct loop *l = xcalloc(1, sizeof(*l));
    struct event_config *ec = event_config_new();

    curl_global_init(CURL_GLOBAL_DEFAULT);
    /* Precise timers: without them libevent reads the coarse monotonic
     * clock, which moves in kernel ticks (4 ms at 250 Hz), and every timer --
     * a test falling due, a throttle slot -- fires up to a tick late.
     * The price is a timerfd_settime() at each turn of the loop, which
     * the schedule's tick grid keeps to one per several runs. */
    if (ec)
        event_config_set_flag(ec, EVENT_BASE_FLAG_PRECISE_TIMER);
    /* Callbacks scheduled for the next turn (loop_after(0)) run in the
     * pass that activated them; after 64 callbacks the loop looks at the
     * sockets again, so no chain of them starves I/O. */
    if (ec)
        event_config_set_max_dispatch_interval(ec, NULL, 64, 0);
    l->base = ec ? event_base_new_with_config(ec) : NULL;
    if (ec)
        event_config_free(ec);
    l->multi = curl_multi_init();
    l->share = curl_share_init();
    if (l->base == NULL || l->multi == NULL || l->share == NULL) {
        fprintf(stderr, "prodwatch: cannot initialise libevent/libcurl\n");
        abort();
    }
    curl_share_setopt(l->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(l->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    l->timer = evtimer_new(l->base, on_curl_timer, l);
    curl_multi_setopt(l->multi, CURLMOPT_SOCKETFUNCTION, handle_socket);
    curl_multi_setopt(l->multi, CURLMOPT_SOCKETDATA, l);
    curl_multi_setopt(l->multi, CURLMOPT_TIMERFUNCTION, start_timeout);
    curl_multi_setopt(l->multi, CURLMOPT_TIMERDATA, l);
    curl_multi_setopt(l->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    /* Bound the connection cache: a probe never needs many sockets to one
     * target, and production should never see a flood of them. */
    curl_multi_setopt(l->multi, CURLMOPT_MAXCONNECTS, 64L);
    return l;
}

static void unlink_delay(struct loop_timer *d)
{
    if (d->prev)
        d->prev->next = d->next;
    else
        d->l->delays = d->next;
    if (d->next)
        d->next->prev = d->prev;
    event_free(d->ev);
}

void loop_free(struct loop *l)
{
    if (l == NULL)
        return;
    while (l->delays) {
        struct loop_timer *d = l->delays;

        unlink_delay(d);
        free(d);
    }
    while (l->aborted) {
        struct xfer *x = l->aborted;

        l->aborted = x->next;
        free(x);
    }
    while (l->nspares)
        curl_easy_cleanup(l->spares[--l->nspares]);
    curl_multi_cleanup(l->multi);
    curl_share_cleanup(l->share);
    event_free(l->timer);
    event_base_free(l->base);
    free(l);
}

CURL *loop_spare_take(struct loop *l)
{
    return l->nspares ? l->spares[--l->nspares] : NULL;
}

int loop_spare_give(struct loop *l, CURL *easy)
{
    if (l->nspares == LOOP_SPARES)
        return 0;
    l->spares[l->nspares++] = easy;
    return 1;
}

struct event_base *loop_base(struct loop *l)
{
    return l->base;
}

int loop_add(struct loop *l, CURL *easy, loop_done_fn *done, void *arg)
{
    struct xfer *x = xcalloc(1, sizeof(*x));

    x->done = done;
    x->arg = arg;
    curl_easy_setopt(easy, CURLOPT_PRIVATE, x);
    curl_easy_setopt(easy, CURLOPT_SHARE, l->share);
    if (curl_multi_add_handle(l->multi, easy) != CURLM_OK) {
        curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
        free(x);
        return PW_ERR_IO;
    }
    l->active++;
    return PW_OK;
}

/* Complete the aborted transfers, each as its own turn would: the list
 * is taken first, so a callback that aborts another one arms a new
 * turn. */
static void on_aborted(void *arg)
{
    struct loop *l = arg;
    struct xfer *x = l->aborted;

    l->aborted = NULL;
    l->abort_timer = NULL;
    while (x) {
        struct xfer *next = x->next;
        loop_done_fn *done = x->done;
        void *done_arg = x->arg;
        CURL *easy = x->easy;

        free(x);
        done(easy, CURLE_ABORTED_BY_CALLBACK, done_arg);
        x = next;
    }
}

int loop_abort(struct loop *l, CURL *easy)
{
    struct xfer *x = NULL, **xp;

    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
    if (x == NULL)
        return 0;
    curl_multi_remove_handle(l->multi, easy);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
    l->active--;
    x->easy = easy;
    x->next = NULL;
    for (xp = &l->aborted; *xp; xp = &(*xp)->next)
        ;
    *xp = x;
    if (l->abort_timer == NULL)
        l->abort_timer = loop_after(l, 0, on_aborted, l);
    return 1;
}

static void on_delay(evutil_socket_t fd, short what, void *arg)
{
    struct loop_timer *d = arg;
    loop_timer_fn *fn = d->fn;
    void *fn_arg = d->arg;

    (void)fd;
    (void)what;
    /* Gone from the list before the call, so the callback may free what
     * the handle pointed to, or cancel other timers. */
    unlink_delay(d);
    free(d);
    fn(fn_arg);
}

struct loop_timer *loop_after(struct loop *l, unsigned long ms,
                              loop_timer_fn *fn, void *arg)
{
    struct loop_timer *d = xcalloc(1, sizeof(*d));
    struct timeval tv = { (time_t)(ms / 1000),
                          (suseconds_t)((ms % 1000) * 1000) };

    d->l = l;
    d->fn = fn;
    d->arg = arg;
    d->ev = evtimer_new(l->base, on_delay, d);
    d->next = l->delays;
    if (l->delays)
        l->delays->prev = d;
    l->delays = d;
    /* "Next turn of the loop" needs no clock: activating the event
     * spares the timer queue and, with precise timers, a timerfd_settime
     * system call or two. */
    if (ms == 0)
        event_active(d->ev, EV_TIMEOUT, 1);
    else
        evtimer_add(d->ev, &tv);
    return d;
}

void loop_timer_cancel(struct loop_timer *t)
{
    if (t == NULL)
        return;
    unlink_delay(t);
    free(t);
}

unsigned loop_active(const struct loop *l)
{
    return l->active;
}

void loop_run(struct loop *l)
{
    event_base_dispatch(l->base);
}

void loop_stop(struct loop *l)
{
    event_base_loopbreak(l->base);
}
