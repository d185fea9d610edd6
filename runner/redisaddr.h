/* redisaddr.h -- where Redis is: the configuration's redis URL.
 *
 * "redis://[:PASSWORD@]HOST[:PORT][/DB]" (HOST may be an IPv6 address in
 * brackets), "unix:/PATH[?db=DB]", or
 * "sentinel://[:PASSWORD@]HOST[:PORT][,HOST[:PORT]...]/MASTER[/DB]": the
 * Redis Sentinels (port 26379 unless given) to ask for the address of the
 * master named MASTER, whose PASSWORD and DB these are.  The daemon
 * connects asynchronously and the fleet commands synchronously, both from
 * one parse.
 */
#ifndef PW_REDISADDR_H
#define PW_REDISADDR_H

#include <hiredis/hiredis.h>

/* Most Sentinels one URL may name. */
#define REDISADDR_MAX_SENTINELS 16

struct redisaddr_host {
    char *host;
    int port;
};

struct redisaddr {
    char *host;      /* NULL for a unix socket or Sentinels */
    int port;        /* 6379 unless given */
    char *path;      /* unix socket path, or NULL */
    int db;          /* 0 unless given */
    char *password;  /* NULL: no AUTH */
    struct redisaddr_host *sentinels; /* NULL unless sentinel:// */
    size_t nsentinels;
    char *master;    /* the master's name at the Sentinels */
};

/* Parse <url> into *<a> (caller releases with redisaddr_release()).
 * Returns 0, or -1 when the URL is not one of the forms above. */
int redisaddr_parse(const char *url, struct redisaddr *a);

void redisaddr_release(struct redisaddr *a);

/* Ask Sentinel <s> (blocking, <timeout_ms> to connect and to answer) for
 * the address of master <master>: 0 with a new string in *<host> (caller
 * frees) and the port in *<port>, or -1 with the reason in <why>. */
int redisaddr_ask_sentinel(const struct redisaddr_host *s, const char *master,
                           unsigned timeout_ms, char **host, int *port,
                           char *why, size_t whylen);

/* A blocking connection for a command-line tool: connected, authenticated
 * and with DB selected, with 2 s connect and 5 s command timeouts.
 * Problems are printed to stderr as "prodwatch <cmd>: ..." (nothing
 * when <cmd> is NULL: a daemon logs its own way) and give NULL.
 * Free with redisFree(). */
redisContext *redisaddr_connect(const char *url, const char *cmd);

#endif /* PW_REDISADDR_H */
