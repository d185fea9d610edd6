/* load.c -- helpers shared by the config and scenario loaders. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "load.h"
#include "sbuf.h"
#include "strutil.h"
#include "units.h"
#include "xalloc.h"

void load_err(struct loadctx *c, const struct ynode *n, const char *fmt, ...)
{
    struct sbuf b = SBUF_INIT;
    va_list ap;

    va_start(ap, fmt);
    sbuf_vaddf(&b, fmt, ap);
    va_end(ap);
    diag_add(c->d, ynode_pos(c->doc, n), "%s", b.buf);
    sbuf_release(&b);
}

int load_failed(const struct loadctx *c)
{
    return diag_count(c->d) > c->errors_before;
}

int load_want_map(struct loadctx *c, const struct ynode *n, const char *what)
{
    if (n->kind == Y_MAP)
        return 1;
    load_err(c, n, "%s must be a mapping (key: value), not %s", what,
             ynode_kind_name(n));
    return 0;
}

int load_want_seq(struct loadctx *c, const struct ynode *n, const char *what)
{
    if (n->kind == Y_SEQ)
        return 1;
    load_err(c, n, "%s must be a list, not %s", what, ynode_kind_name(n));
    return 0;
}

int load_want_scalar(struct loadctx *c, const struct ynode *n, const char *what)
{
    if (n->kind == Y_SCALAR)
        return 1;
    load_err(c, n, "%s must be a single value, not %s", what,
             ynode_kind_name(n));
    return 0;
}

void load_check_keys(struct loadctx *c, const struct ynode *map,
                     const char *const *allowed, const char *what)
{
    size_t i, n = 0;

    while (allowed[n])
        n++;
    for (i = 0; i < map->len; i++) {
        const char *key = map->pairs[i].key->str;
        const char *hint;
        size_t j;

        for (j = 0; j < n; j++)
            if (strcmp(key, allowed[j]) == 0)
                break;
        if (j < n)
            continue;
        hint = str_suggest(key, allowed, n);
        if (hint)
            load_err(c, map->pairs[i].key,
                     "unknown key '%s' in %s; did you mean '%s'?", key, what,
                     hint);
        else
            load_err(c, map->pairs[i].key, "unknown key '%s' in %s", key, what);
    }
}

const char *load_str(struct loadctx *c, const struct ynode *n, const char *what)
{
    if (!load_want_scalar(c, n, what))
        return NULL;
    if (strlen(n->str) != n->len) {
        load_err(c, n, "%s must not contain NUL characters", what);
        return NULL;
    }
    return n->str;
}

int load_is_null(const struct ynode *n)
{
    return n->kind == Y_SCALAR && !n->quoted &&
           (n->len == 0 || strcmp(n->str, "~") == 0 ||
            strcmp(n->str, "null") == 0 || strcmp(n->str, "Null") == 0 ||
            strcmp(n->str, "NULL") == 0);
}

int load_is_bool(const struct ynode *n)
{
    static const char *const words[] = { "true", "false", "True", "False",
                                         "TRUE", "FALSE", NULL };
    size_t i;

    if (n->kind != Y_SCALAR || n->quoted)
        return 0;
    for (i = 0; words[i]; i++)
        if (strcmp(n->str, words[i]) == 0)
            return 1;
    return 0;
}

int load_is_number(const struct ynode *n)
{
    char *end;

    if (n->kind != Y_SCALAR || n->quoted || n->len == 0)
        return 0;
    if (!(isdigit((unsigned char)n->str[0]) || n->str[0] == '-' ||
          n->str[0] == '+' || n->str[0] == '.'))
        return 0;
    errno = 0;
    (void)strtod(n->str, &end);
    return *end == '\0' && errno == 0;
}

int load_bool(struct loadctx *c, const struct ynode *n, const char *what,
              int fallback)
{
    if (!load_want_scalar(c, n, what))
        return fallback;
    if (!load_is_bool(n)) {
        load_err(c, n, "%s must be true or false, not '%s'", what, n->str);
        return fallback;
    }
    return n->str[0] == 't' || n->str[0] == 'T';
}

long long load_int(struct loadctx *c, const struct ynode *n, long long min,
                   long long max, const char *what, long long fallback)
{
    long long v;
    char *end;

    if (!load_want_scalar(c, n, what))
        return fallback;
    errno = 0;
    v = strtoll(n->str, &end, 10);
    if (n->quoted || n->len == 0 || *end != '\0' || errno != 0) {
        load_err(c, n, "%s must be a whole number, not '%s'", what, n->str);
        return fallback;
    }
    if (v < min || v > max) {
        load_err(c, n, "%s must be between %lld and %lld, not %lld", what, min,
                 max, v);
        return fallback;
    }
    return v;
}

uint64_t load_duration(struct loadctx *c, const struct ynode *n,
                       const char *what, uint64_t fallback)
{
    struct pw_err err;
    uint64_t ms;

    if (!load_want_scalar(c, n, what))
        return fallback;
    if (units_duration(n->str, &ms, &err) != PW_OK) {
        load_err(c, n, "%s: %s", what, err.msg);
        return fallback;
    }
    return ms;
}

double load_rate(struct loadctx *c, const struct ynode *n, const char *what,
                 double fallback)
{
    struct pw_err err;
    double r;

    if (!load_want_scalar(c, n, what))
        return fallback;
    if (units_rate(n->str, &r, &err) != PW_OK) {
        load_err(c, n, "%s: %s", what, err.msg);
        return fallback;
    }
    return r;
}

uint64_t load_size(struct loadctx *c, const struct ynode *n, const char *what,
                   uint64_t max, uint64_t fallback)
{
    struct pw_err err;
    char a[32], b[32];
    uint64_t bytes;

    if (!load_want_scalar(c, n, what))
        return fallback;
    if (units_size(n->str, &bytes, &err) != PW_OK) {
        load_err(c, n, "%s: %s", what, err.msg);
        return fallback;
    }
    if (bytes == 0) {
        load_err(c, n, "%s must be more than 0", what);
        return fallback;
    }
    if (bytes > max) {
        load_err(c, n, "%s must be at most %s, not %s", what,
                 units_format_size(max, a, sizeof(a)),
                 units_format_size(bytes, b, sizeof(b)));
        return fallback;
    }
    return bytes;
}

struct pos load_pos_in(const struct loadctx *c, const struct ynode *n,
                       size_t off)
{
    struct pos p = ynode_pos(c->doc, n);

    if (n->kind == Y_SCALAR && !n->block && n->end_line == n->line)
        p.col += (unsigned)off + (n->quoted ? 1 : 0);
    return p;
}

struct tmpl *load_tmpl(struct loadctx *c, const struct ynode *n,
                       const char *what)
{
    struct pw_err err;
    struct tmpl *t;
    size_t off = 0;

    if (load_str(c, n, what) == NULL)
        return NULL;
    t = tmpl_compile(n->str, n->len, &err, &off);
    if (t == NULL)
        diag_add(c->d, load_pos_in(c, n, off), "%s: %s", what, err.msg);
    return t;
}

/* Open <path> for reading without blocking (a FIFO would otherwise wait
 * for a writer) and require a regular file.  Returns 0, an errno value,
 * or -1 when it is something other than a regular file. */
static int readable_file(const char *path)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC), e;

    if (fd < 0)
        return errno;
    e = fstat(fd, &st) != 0 ? errno : S_ISREG(st.st_mode) ? 0 : -1;
    close(fd);
    return e;
}

void load_check_file(struct loadctx *c, const struct ynode *n, const char *path,
                     const char *what)
{
    int e = readable_file(path);

    if (e == -1)
        load_err(c, n, "%s '%s' is not a regular file", what, path);
    else if (e != 0)
        load_err(c, n, "%s '%s': %s", what, path, strerror(e));
}

char *load_read_file(struct loadctx *c, const struct ynode *n, const char *path,
                     const char *what, size_t max, size_t *len)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    char *buf = NULL, sz[32];
    size_t got = 0, alloc = 0;
    ssize_t k = 1;

    if (fd < 0) {
        load_err(c, n, "%s '%s': %s", what, path, strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        load_err(c, n, "%s '%s' is not a regular file", what, path);
        close(fd);
        return NULL;
    }
    /* The bytes read are what counts, not st_size: the file may change
     * under us.  One byte past <max> tells "larger". */
    if ((uint64_t)st.st_size > max) {
        got = max + 1;
        k = 0;
    } else {
        alloc = (size_t)st.st_size + 2;
        buf = xmalloc(alloc);
    }
    while (k != 0 && got <= max) {
        if (got + 1 >= alloc) {
            alloc = alloc * 2 < max + 2 ? alloc * 2 : max + 2;
            buf = xrealloc(buf, alloc);
        }
        k = read(fd, buf + got, alloc - 1 - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            load_err(c, n, "%s '%s': %s", what, path, strerror(errno));
            free(buf);
            close(fd);
            return NULL;
        }
        got += (size_t)k;
    }
    close(fd);
    if (got > max) {
        load_err(c, n, "%s '%s' is larger than %s", what, path,
                 units_format_size(max, sz, sizeof(sz)));
        free(buf);
        return NULL;
    }
    buf[got] = '\0';
    *len = got;
    return buf;
}

void load_set_secrets_dir(struct loadctx *c, const char *dir)
{
    struct stat st;

    c->secrets_dir = NULL;
    if (dir && stat(dir, &st) == 0 && S_ISDIR(st.st_mode) &&
        access(dir, X_OK) == 0)
        c->secrets_dir = dir;
}

void load_check_secret(struct loadctx *c, const char *name, struct pos p)
{
    struct sbuf path = SBUF_INIT;
    int e;

    if (c->secrets_dir == NULL)
        return;
    /* The same rule as when the secret is read: a plain file name. */
    if (name[0] == '\0' || name[0] == '.' || strchr(name, '/')) {
        diag_add(c->d, p, "secret name '%s' must be a plain file name", name);
        return;
    }
    sbuf_addf(&path, "%s/%s", c->secrets_dir, name);
    e = readable_file(path.buf);
    if (e == -1)
        diag_add(c->d, p, "secret '%s': %s is not a regular file", name,
                 path.buf);
    else if (e != 0)
        diag_add(c->d, p, "secret '%s': %s: %s", name, path.buf, strerror(e));
    sbuf_release(&path);
}
