/* redisaddr.c -- the redis URL, and connecting from a command. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "redisaddr.h"
#include "xalloc.h"

static int parse_int(const char *s, size_t n, int max, int *out)
{
    long v = 0;
    size_t i;

    if (n == 0 || n > 9)
        return -1;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v > max)
        return -1;
    *out = (int)v;
    return 0;
}

static int parse_unix(const char *p, struct redisaddr *a)
{
    const char *q = strchr(p, '?');

    if (p[0] != '/')
        return -1;
    if (q == NULL) {
        a->path = xstrdup(p);
        return 0;
    }
    if (strncmp(q, "?db=", 4) != 0 ||
        parse_int(q + 4, strlen(q + 4), 1 << 20, &a->db) < 0)
        return -1;
    a->path = xstrndup(p, (size_t)(q - p));
    return 0;
}

int redisaddr_parse(const char *url, struct redisaddr *a)
{
    const char *p, *at, *end, *slash, *colon;

    memset(a, 0, sizeof(*a));
    a->port = 6379;
    if (strncmp(url, "unix:", 5) == 0)
        return parse_unix(url + 5, a);
    if (strncmp(url, "redis://", 8) != 0)
        return -1;
    p = url + 8;
    slash = strchr(p, '/');
    end = slash ? slash : p + strlen(p);
    at = memchr(p, '@', (size_t)(end - p));
    if (at) {
        /* The user part is ignored: Redis before 6 knows passwords only. */
        const char *pw = memchr(p, ':', (size_t)(at - p));

        if (pw && at > pw + 1)
            a->password = xstrndup(pw + 1, (size_t)(at - pw - 1));
        p = at + 1;
    }
    if (*p == '[') {
        const char *close = memchr(p, ']', (size_t)(end - p));

        if (close == NULL || close == p + 1)
            goto bad;
        a->host = xstrndup(p + 1, (size_t)(close - p - 1));
        colon = close + 1 < end && close[1] == ':' ? close + 1 : NULL;
        if (!colon && close + 1 != end)
            goto bad;
    } else {
        colon = memchr(p, ':', (size_t)(end - p));
        if ((colon ? colon : end) == p)
            goto bad;
        a->host = xstrndup(p, (size_t)((colon ? colon : end) - p));
    }
    if (colon && parse_int(colon + 1, (size_t)(end - colon - 1), 65535,
                           &a->port) < 0)
        goto bad;
    if (slash && slash[1] &&
        parse_int(slash + 1, strlen(slash + 1), 1 << 20, &a->db) < 0)
        goto bad;
    return 0;
bad:
    redisaddr_release(a);
    return -1;
}

void redisaddr_release(struct redisaddr *a)
{
    free(a->host);
    free(a->path);
    if (a->password)
        memset(a->password, 0, strlen(a->password));
    free(a->password);
    memset(a, 0, sizeof(*a));
}

/* Send one setup command; 0 when Redis said OK. */
static int setup(redisContext *c, const char *cmd, const char *what,
                 redisReply *r)
{
    int ok = r && r->type != REDIS_REPLY_ERROR;

    if (!ok && cmd)
        fprintf(stderr, "prodwatch %s: redis %s: %s\n", cmd, what,
                r ? r->str : c->errstr);
    if (r)
        freeReplyObject(r);
    return ok ? 0 : -1;
}

redisContext *redisaddr_connect(const char *url, const char *cmd)
{
    struct timeval connect_tv = { 2, 0 }, io_tv = { 5, 0 };
    struct redisaddr a;
    redisContext *c;

    if (redisaddr_parse(url, &a) < 0) {
        if (cmd)
            fprintf(stderr, "prodwatch %s: bad redis URL\n", cmd);
        return NULL;
    }
    c = a.path ? redisConnectUnixWithTimeout(a.path, connect_tv)
               : redisConnectWithTimeout(a.host, a.port, connect_tv);
    if ((c == NULL || c->err) && cmd == NULL) {
        if (c)
            redisFree(c);
        redisaddr_release(&a);
        return NULL;
    }
    if (c == NULL || c->err) {
        if (a.path)
            fprintf(stderr, "prodwatch %s: cannot reach redis at %s: %s\n",
                    cmd, a.path, c ? c->errstr : "out of memory");
        else
            fprintf(stderr,
                    "prodwatch %s: cannot reach redis at %s port %d: %s\n",
                    cmd, a.host, a.port, c ? c->errstr : "out of memory");
        if (c)
            redisFree(c);
        redisaddr_release(&a);
        return NULL;
    }
    redisSetTimeout(c, io_tv);
    if ((a.password &&
         setup(c, cmd, "AUTH", redisCommand(c, "AUTH %s", a.password)) < 0) ||
        (a.db && setup(c, cmd, "SELECT",
                       redisCommand(c, "SELECT %d", a.db)) < 0)) {
        redisFree(c);
        c = NULL;
    }
    redisaddr_release(&a);
    return c;
}
