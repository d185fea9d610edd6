/* redis.h -- one asynchronous Redis connection on the loop, kept alive.
 *
 * A struct redis owns one hiredis async context, attached to the loop's
 * event_base, and nothing else touches that context.  It connects with a
 * timeout, sends AUTH (when the URL has a password) and SELECT (the URL's
 * database) and only then counts as up.  When the connection is lost or
 * cannot be made, it tries again with exponential backoff (100 ms doubling
 * to 5 s, each delay jittered by up to a quarter), forever, without ever
 * blocking the loop.  A PING every few seconds that goes unanswered for
 * as long again counts as a lost connection, so a dead server behind a
 * silent socket is noticed.
 *
 * Users follow the state with a watch callback (up/down) and issue
 * commands with redis_command(); every command's callback runs exactly
 * once, from the loop and never inside the call that issued it: with the
 * reply, or with NULL when the command could not be answered (Redis down,
 * connection lost, too many commands in flight).  Commands are never
 * queued while Redis is down, and at most REDIS_MAX_INFLIGHT wait for
 * their replies at once, so memory stays bounded.
 *
 * Ordering: replies come in the order commands were issued.  When the
 * connection is lost, the callbacks of every command in flight run (with
 * NULL), in order, before the watchers hear "down".
 */
#ifndef PW_REDIS_H
#define PW_REDIS_H

#include <stddef.h>

#include "err.h"

struct loop;
struct redis;
struct redisReply;

/* Commands waiting for a reply, at most. */
#define REDIS_MAX_INFLIGHT 65536

/* Called with each command's reply (borrowed: freed by hiredis after the
 * callback returns), or NULL when none came (see above).  An error reply
 * is a reply (type REDIS_REPLY_ERROR), not NULL. */
typedef void redis_reply_fn(struct redisReply *reply, void *arg);

/* Called on every change of state: <up> is 1 once connected and the
 * database selected, 0 when the connection is lost.  Never called for a
 * failed attempt while already down.  Must not free the struct redis. */
typedef void redis_state_fn(int up, void *arg);

/* A new connection to <url> ("redis://[:PASSWORD@]HOST[:PORT][/DB]" or
 * "unix:/PATH"), driven by <loop> (borrowed; must outlive the result).
 * The first attempt starts from the loop, not inside this call.  Returns
 * NULL and fills <err> (may be NULL) when <url> cannot be understood.
 * The caller owns the result: redis_close(), free what issued commands
 * through it, then redis_free(). */
struct redis *redis_new(struct loop *loop, const char *url,
                        struct pw_err *err);

/* Release <r>.  After redis_close(), only memory is left to free; without
 * it, commands still waiting get no callback at all (their callers may be
 * gone).  NULL is a no-op.  Not from inside a callback of <r>. */
void redis_free(struct redis *r);

/* Close the connection for good, before freeing what issued commands
 * through it: every command still waiting gets its callback (with NULL)
 * now, watchers hear "down" once, and nothing reconnects.  Then free the
 * callers, then redis_free().  Idempotent. */
void redis_close(struct redis *r);

/* Add watcher <fn>(<arg>) (at most 8; returns -1 beyond that, 0 else).
 * It hears every later change of state, from the loop. */
int redis_watch(struct redis *r, redis_state_fn *fn, void *arg);

/* Remove the watcher added with <fn> and <arg>, if any. */
void redis_unwatch(struct redis *r, redis_state_fn *fn, void *arg);

/* Whether <r> is up now. */
int redis_up(const struct redis *r);

/* Send the command of <argc> arguments <argv> (lengths <argvlen>; NULL:
 * NUL-terminated strings), all copied.  <fn>(reply, <arg>) runs once,
 * later, from the loop; <fn> may be NULL to ignore the reply. */
void redis_command(struct redis *r, redis_reply_fn *fn, void *arg, int argc,
                   const char **argv, const size_t *argvlen);

/* Send the commands queued so far at the next turn of the loop, rather
 * than after the few milliseconds commands are held so that many go out
 * in one write.  For a command something waits on. */
void redis_flush(struct redis *r);

/* Whether <r> finds its master through Redis Sentinel. */
int redis_sentinel(const struct redis *r);

/* Called with 1 when the Sentinels (asked now) still name the master
 * <r> is connected to, or none of them answered; 0 when they name
 * another (the connection is dropped to reach it) or <r> is not up. */
typedef void redis_master_fn(int still_master, void *arg);

/* Ask, behind Sentinel, whether the master is still the master: after a
 * WAIT no replica answered, to tell a replica that is away from a
 * failover under way.  <fn>(<arg>) runs once, from the loop (at once at
 * redis_close()); without Sentinel it gets 1 while up. */
void redis_check_master(struct redis *r, redis_master_fn *fn, void *arg);

/* Commands waiting for a reply now. */
size_t redis_inflight(const struct redis *r);

/* Times the connection came up since redis_new(). */
unsigned long redis_connects(const struct redis *r);

/* Milliseconds between PINGs (and the time a PING may take); default
 * 3000.  For tests that need a dead server noticed fast. */
void redis_set_ping_ms(struct redis *r, unsigned ms);

#endif /* PW_REDIS_H */
