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

/* "HOST[:PORT][,HOST[:PORT]...]/MASTER[/DB]" after "sentinel://" and the
 * password. */
static int parse_sentinels(const char *p, struct redisaddr *a)
{
    const char *slash = strchr(p, '/'), *name, *db;

    if (slash == NULL || slash == p)
        return -1;
    a->sentinels = xcalloc(REDISADDR_MAX_SENTINELS, sizeof(*a->sentinels));
    while (p < slash) {
        const char *comma = memchr(p, ',', (size_t)(slash - p));
        const char *end = comma ? comma : slash;
        const char *colon = memchr(p, ':', (size_t)(end - p));
        struct redisaddr_host *h;

        if (a->nsentinels == REDISADDR_MAX_SENTINELS || end == p ||
            colon == p)
            return -1;
        h = &a->sentinels[a->nsentinels++];
        h->host = xstrndup(p, (size_t)((colon ? colon : end) - p));
        h->port = 26379;
        if (colon &&
            parse_int(colon + 1, (size_t)(end - colon - 1), 65535, &h->port) < 0)
            return -1;
        p = comma ? comma + 1 : end;
    }
    name = slash + 1;
    db = strchr(name, '/');
    if ((db ? db : name + strlen(name)) == name)
        return -1;
    a->master = db ? xstrndup(name, (size_t)(db - name)) : xstrdup(name);
    if (db && db[1] && parse_int(db + 1, strlen(db + 1), 1 << 20, &a->db) < 0)
        return -1;
    return 0;
}

/* Take "[USER]:PASSWORD@" at <p> (before the first '/') into <a>; returns
 * what follows it.  The user part is ignored: Redis before 6 knows
 * passwords only. */
static const char *after_password(const char *p, struct redisaddr *a)
{
    const char *slash = strchr(p, '/');
    const char *end = slash ? slash : p + strlen(p);
    const char *at = memchr(p, '@', (size_t)(end - p)), *pw;

    if (at == NULL)
        return p;
    pw = memchr(p, ':', (size_t)(at - p));
    if (pw && at > pw + 1)
        a->password = xstrndup(pw + 1, (size_t)(at - pw - 1));
    return at + 1;
}

int redisaddr_parse(const char *url, struct redisaddr *a)
{
    const char *p, *end, *slash, *colon;

    memset(a, 0, sizeof(*a));
    a->port = 6379;
    if (strncmp(url, "unix:", 5) == 0)
        return parse_unix(url + 5, a);
    if (strncmp(url, "sentinel://", 11) == 0) {
        if (parse_sentinels(after_password(url + 11, a), a) < 0)
            goto bad;
        return 0;
    }
    if (strncmp(url, "redis://", 8) != 0)
        return -1;
    p = after_password(url + 8, a);
    slash = strchr(p, '/');
    end = slash ? slash : p + strlen(p);
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
    size_t i;

    for (i = 0; i < a->nsentinels; i++)
        free(a->sentinels[i].host);
    free(a->sentinels);
    free(a->master);
    free(a->host);
    free(a->path);
    if (a->password)
        memset(a->password, 0, strlen(a->password));
    free(a->password);
    memset(a, 0, sizeof(*a));
}

int redisaddr_ask_sentinel(const struct redisaddr_host *s, const char *master,
                           unsigned timeout_ms, char **host, int *port,
                           char *why, size_t whylen)
{
    struct timeval tv = { timeout_ms / 1000,
                          (suseconds_t)(timeout_ms % 1000) * 1000 };
    redisContext *c = redisConnectWithTimeout(s->host, s->port, tv);
    redisReply *r;
    int rc = -1;

    if (c == NULL || c->err) {
        snprintf(why, whylen, "Sentinel %s:%d: %s", s->host, s->port,
                 c ? c->errstr : "out of memory");
        if (c)
            redisFree(c);
        return -1;
    }
    redisSetTimeout(c, tv);
    r = redisCommand(c, "SENTINEL get-master-addr-by-name %s", master);
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[0]->type == REDIS_REPLY_STRING &&
        r->element[1]->type == REDIS_REPLY_STRING) {
        *host = xstrdup(r->element[0]->str);
        *port = atoi(r->element[1]->str);
        rc = 0;
    } else {
        snprintf(why, whylen, "Sentinel %s:%d knows no master '%s'%s%s",
                 s->host, s->port, master, r && r->type == REDIS_REPLY_ERROR
                 ? ": " : "", r && r->type == REDIS_REPLY_ERROR ? r->str : "");
    }
    if (r)
        freeReplyObject(r);
    redisFree(c);
    return rc;
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
    if (a.nsentinels) {
        char why[256] = "";
        size_t i;

        for (i = 0; i < a.nsentinels && a.host == NULL; i++)
            redisaddr_ask_sentinel(&a.sentinels[i], a.master, 1000, &a.host,
                                   &a.port, why, sizeof(why));
        if (a.host == NULL) {
            if (cmd)
                fprintf(stderr, "prodwatch %s: no Sentinel names the "
                        "master: %s\n", cmd, why);
            redisaddr_release(&a);
            return NULL;
        }
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
