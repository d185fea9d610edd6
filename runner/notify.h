/* notify.h -- telling systemd how the service is doing (sd_notify).
 *
 * A thin layer over libsystemd's sd_notify(3): the service says READY when
 * its loop runs, RELOADING and READY again around a reload, STOPPING when
 * it begins to shut down, a one-line STATUS now and then, and pets the
 * watchdog from a timer on its own event loop.  Because the watchdog timer
 * runs on the loop, a loop that stalls stops petting and systemd restarts
 * the service: that is the point of putting it there rather than in a
 * thread.
 *
 * Without $NOTIFY_SOCKET (run by hand, or by a test) every call is a
 * cheap no-op.  Nothing here keeps state but the watchdog handle, which
 * its caller owns.
 */
#ifndef PW_NOTIFY_H
#define PW_NOTIFY_H

#include <stdint.h>

struct event_base;
struct notify_watchdog; /* opaque */

/* Each of the following sends one message to the service manager.  They
 * return 1 when it was sent, 0 when there is no manager to tell ($NOTIFY_SOCKET
 * unset), and -1 when sending failed (the service runs on; a manager that
 * misses READY times the start out and says so itself). */

/* "READY=1": the service is up; after a reload, the reload is over. */
int notify_ready(void);

/* "RELOADING=1": a reload (SIGHUP) has begun; follow with notify_ready()
 * whether or not the new configuration was taken. */
int notify_reloading(void);

/* "STOPPING=1": a graceful stop has begun. */
int notify_stopping(void);

/* "STATUS=<line>": a one-line summary that `systemctl status` shows.
 * <line> (borrowed) is sent as one line: newlines and other control bytes
 * become spaces, so no text can add a field of its own to the message. */
int notify_status(const char *line);

/* Start petting the watchdog on <base> (borrowed; must outlive the
 * handle) when the service manager asked for one ($WATCHDOG_USEC, and
 * $WATCHDOG_PID naming this process if set): "WATCHDOG=1" is sent from a
 * persistent timer every half interval.  The first one goes out half an
 * interval after this call, from the loop, never from inside it.
 *
 * Returns a new handle (caller owns; notify_watchdog_stop()) or NULL when
 * no watchdog is wanted or the timer could not be made. */
struct notify_watchdog *notify_watchdog_start(struct event_base *base);

/* The interval at which <wd> pets, in microseconds. */
uint64_t notify_watchdog_interval_usec(const struct notify_watchdog *wd);

/* Stop the timer and release <wd>.  NULL is a no-op.  Not from inside the
 * watchdog's own timer callback (which never calls out). */
void notify_watchdog_stop(struct notify_watchdog *wd);

#endif /* PW_NOTIFY_H */
