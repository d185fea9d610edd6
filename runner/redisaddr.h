/* redisaddr.h -- where Redis is: the configuration's redis URL.
 *
 * "redis://[:PASSWORD@]HOST[:PORT][/DB]" (HOST may be an IPv6 address in
 * brackets) or "unix:/PATH[?db=DB]".  The daemon connects asynchronously
 * and the fleet commands synchronously, both from one parse.
 */
#ifndef PW_REDISADDR_H
#define PW_REDISADDR_H

#include <hiredis/hiredis.h>

struct redisaddr {
    char *host;      /* NULL for a unix socket */
    int port;        /* 6379 unless given */
    char *path;      /* unix socket path, or NULL */
    int db;          /* 0 unless given */
    char *password;  /* NULL: no AUTH */
};

/* Parse <url> into *<a> (caller releases with redisaddr_release()).
 * Returns 0, or -1 when the URL is not one of the forms above. */
int redisaddr_parse(const char *url, struct redisaddr *a);

void redisaddr_release(struct redisaddr *a);

/* A blocking connection for a command-line tool: connected, authenticated
 * and with DB selected, with 2 s connect and 5 s command timeouts.
 * Problems are printed to stderr as "prodwatch <cmd>: ..." (nothing
 * when <cmd> is NULL: a daemon logs its own way) and give NULL.
 * Free with redisFree(). */
redisContext *redisaddr_connect(const char *url, const char *cmd);

#endif /* PW_REDISADDR_H */
