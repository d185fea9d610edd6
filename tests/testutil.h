/* testutil.h -- helpers shared by the Check unit tests. */
#ifndef PW_TESTUTIL_H
#define PW_TESTUTIL_H

#include <check.h>
#include <sys/types.h>

#include "config.h"
#include "diag.h"
#include "jqset.h"
#include "scenario.h"

/* Run <s> with Check's default runner; returns the process exit code. */
int pw_run_suite(Suite *s);

/* A fake clock (clock.h) the tests drive: tu_clock_fake() installs it at
 * monotonic 1000 s and wall 1.7e9 s (a checked fixture's setup),
 * tu_clock_real() puts the real one back, tu_clock_advance() moves both;
 * a restart is a jump of both through the two variables. */
extern double tu_fake_mono, tu_fake_wall;
void tu_clock_fake(void);
void tu_clock_real(void);
void tu_clock_advance(double sec);

/* Write <text> to a new file named <name> in a per-process temporary
 * directory; returns its path (static storage, valid until the next
 * call). */
const char *tu_write(const char *name, const char *text);

/* Make directory <name> (and nothing above it) in the temporary directory
 * of tu_write(); returns its path (static storage, valid until the next
 * call). */
const char *tu_mkdir(const char *name);

/* The temporary directory of tu_write(), without a trailing slash. */
const char *tu_tmpdir(void);

/* Every entry of <d>, one a line, as a new string (caller frees).  Files
 * written by tu_write() appear by their base name. */
char *tu_diag_text(struct diag *d);

/* A config with targets "prod" (vars tenant, region) and "canary" (vars
 * tenant) and a secrets directory holding "pw" and "token", loaded from
 * text; caller frees with config_free(). */
struct config *tu_config(void);

/* Load scenario <text> (written to a file named "s.yaml") against
 * tu_config(); problems land in *<diag_text> (caller frees; may be "").
 * jq programs are compiled too, so their errors show.  Returns the
 * scenario or NULL; free it with tu_scenario_free(). */
struct scenario *tu_scenario(const char *text, char **diag_text);
void tu_scenario_free(struct scenario *sc);

/* The jqset of the last tu_scenario() call. */
struct jqset *tu_jq(void);

/* A private redis-server on a free loopback port, with its data (an
 * append-only file, fsynced at every write, so what it acknowledged
 * survives SIGKILL) in its own directory under tu_tmpdir(). */
struct tu_redis {
    pid_t pid;     /* 0 while not running */
    int port;      /* chosen by the first tu_redis_start() */
    char dir[300];
    char url[64];  /* redis://127.0.0.1:PORT/0 */
};

/* Start <r> (zeroed the first time), on the same port and data as before
 * when it ran already; returns when it answers PING (fails the test
 * after 10 s). */
void tu_redis_start(struct tu_redis *r);

/* SIGKILL <r> and reap it.  No-op when not running. */
void tu_redis_kill(struct tu_redis *r);

/* A blocking connection to <r> for the test's own checks; caller frees
 * with redisFree(). */
struct redisContext *tu_redis_conn(const struct tu_redis *r);

/* Run <l> until <cond>(<arg>) holds, for at most <seconds>; returns
 * whether it held. */
struct loop;
int tu_loop_until(struct loop *l, int (*cond)(void *), void *arg,
                  double seconds);

#endif /* PW_TESTUTIL_H */
