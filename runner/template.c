/* template.c -- template compiler and renderer.
 *
 * The compiler is a hand-written recursive descent parser over the text
 * between "{{" and "}}"; the AST is a list of parts, each either literal
 * text or an expression with filters.  Rendering walks that list once.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "clock.h"
#include "template.h"
#include "xalloc.h"

#define MAX_NEST 16

enum ekind { E_PATH, E_CALL, E_STR, E_NUM };

struct texpr;

struct tfilter {
    int id; /* index into filters[] */
    struct texpr **args;
    size_t nargs;
};

struct texpr {
    enum ekind kind;
    int fn;     /* E_CALL: index into funcs[] */
    char *text; /* path, literal or function name */
    size_t off; /* offset in the source */
    struct texpr **args;
    size_t nargs;
    struct tfilter *filters;
    size_t nfilters;
};

struct tpart {
    char *text; /* literal text, or NULL for an expression */
    size_t len;
    struct texpr *e;
};

struct tref {
    const char *path; /* borrowed from the texpr */
    size_t off;
};

struct tmpl {
    char *src;
    struct tpart *parts;
    size_t nparts;
    struct tref *refs;
    size_t nrefs, refs_alloc;
};

struct fdef {
    const char *name;
    size_t min_args, max_args;
};

enum { F_UUID, F_NOW, F_UNIX, F_RANDOM_INT, F_RANDOM_HEX };
static const struct fdef funcs[] = {
    [F_UUID] = { "uuid", 0, 0 },
    [F_NOW] = { "now", 0, 0 },
    [F_UNIX] = { "unix", 0, 0 },
    [F_RANDOM_INT] = { "random_int", 2, 2 },
    [F_RANDOM_HEX] = { "random_hex", 1, 1 },
};

enum { X_URLENCODE, X_JSON, X_BASE64, X_UPPER, X_LOWER, X_TRIM };
static const struct fdef filters[] = {
    [X_URLENCODE] = { "urlencode", 0, 0 }, [X_JSON] = { "json", 0, 0 },
    [X_BASE64] = { "base64", 0, 0 },       [X_UPPER] = { "upper", 0, 0 },
    [X_LOWER] = { "lower", 0, 0 },         [X_TRIM] = { "trim", 0, 0 },
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void expr_free(struct texpr *e)
{
    size_t i, j;

    if (e == NULL)
        return;
    for (i = 0; i < e->nargs; i++)
        expr_free(e->args[i]);
    free(e->args);
    for (i = 0; i < e->nfilters; i++) {
        for (j = 0; j < e->filters[i].nargs; j++)
            expr_free(e->filters[i].args[j]);
        free(e->filters[i].args);
    }
    free(e->filters);
    free(e->text);
    free(e);
}

void tmpl_free(struct tmpl *t)
{
    size_t i;

    if (t == NULL)
        return;
    for (i = 0; i < t->nparts; i++) {
        free(t->parts[i].text);
        expr_free(t->parts[i].e);
    }
    free(t->parts);
    free(t->refs);
    free(t->src);
    free(t);
}

/* ---- Parser ---- */

struct parser {
    const char *s;   /* whole source */
    size_t pos, end; /* current offset and end of this {{ }} */
    struct pw_err *err;
    size_t err_off;
    int failed;
};

static void perr(struct parser *p, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void perr(struct parser *p, size_t off, const char *fmt, ...)
{
    char msg[PW_ERR_LEN];
    va_list ap;

    if (p->failed)
        return;
    p->failed = 1;
    p->err_off = off;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    pw_err_set(p->err, PW_ERR_PARSE, "%s", msg);
}

static void skip_ws(struct parser *p)
{
    while (p->pos < p->end && isspace((unsigned char)p->s[p->pos]))
        p->pos++;
}

static int is_name_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '-';
}

static size_t scan_name(struct parser *p)
{
    size_t start = p->pos;

    if (p->pos < p->end &&
        (isalpha((unsigned char)p->s[p->pos]) || p->s[p->pos] == '_'))
        while (p->pos < p->end && is_name_char(p->s[p->pos]))
            p->pos++;
    return p->pos - start;
}

static int lookup_def(const struct fdef *defs, size_t n, const char *name,
                      size_t len)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strlen(defs[i].name) == len &&
            strncmp(defs[i].name, name, len) == 0)
            return (int)i;
    return -1;
}

static struct texpr *parse_primary(struct parser *p, int depth);

static void parse_args(struct parser *p, struct texpr ***args, size_t *n,
                       int depth)
{
    size_t alloc = 0;

    p->pos++; /* '(' */
    skip_ws(p);
    if (p->pos < p->end && p->s[p->pos] == ')') {
        p->pos++;
        return;
    }
    for (;;) {
        struct texpr *a = parse_primary(p, depth + 1);

        if (a == NULL)
            return;
        XGROW(*args, *n + 1, alloc);
        (*args)[(*n)++] = a;
        skip_ws(p);
        if (p->pos < p->end && p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->end && p->s[p->pos] == ')') {
            p->pos++;
            return;
        }
        perr(p, p->pos, "expected ',' or ')' in argument list");
        return;
    }
}

static void check_arity(struct parser *p, const struct fdef *d, size_t n,
                        size_t off, const char *what)
{
    char msg[160];

    if (n >= d->min_args && n <= d->max_args)
        return;
    snprintf(msg, sizeof(msg), "%s %s() takes %zu argument%s, not %zu", what,
             d->name, d->max_args, d->max_args == 1 ? "" : "s", n);
    perr(p, off, "%s", msg);
}

static struct texpr *parse_primary(struct parser *p, int depth)
{
    struct texpr *e;
    size_t start;
    char c;

    skip_ws(p);
    if (depth > MAX_NEST) {
        perr(p, p->pos, "expression nested too deeply");
        return NULL;
    }
    if (p->pos >= p->end) {
        perr(p, p->pos, "expected a name, a function call or a literal");
        return NULL;
    }
    start = p->pos;
    c = p->s[p->pos];
    e = xcalloc(1, sizeof(*e));
    e->off = start;
    if (c == '"' || c == '\'') {
        struct sbuf lit = SBUF_INIT;

        e->kind = E_STR;
        p->pos++;
        while (p->pos < p->end && p->s[p->pos] != c) {
            if (p->s[p->pos] == '\\' && p->pos + 1 < p->end)
                p->pos++;
            sbuf_addc(&lit, p->s[p->pos]);
            p->pos++;
        }
        if (p->pos >= p->end) {
            sbuf_release(&lit);
            perr(p, start, "unterminated string literal");
            expr_free(e);
            return NULL;
        }
        p->pos++;
        e->text = sbuf_take(&lit, NULL);
        return e;
    }
    if (isdigit((unsigned char)c) || c == '-') {
        e->kind = E_NUM;
        p->pos++;
        while (p->pos < p->end &&
               (isdigit((unsigned char)p->s[p->pos]) || p->s[p->pos] == '.'))
            p->pos++;
        e->text = xstrndup(p->s + start, p->pos - start);
        return e;
    }
    if (scan_name(p) == 0) {
        char what[2] = { c, '\0' };

        perr(p, start,
             "unexpected '%s': expected a name, a function call "
             "or a literal",
             what);
        expr_free(e);
        return NULL;
    }
    if (p->pos < p->end && p->s[p->pos] == '(') {
        e->kind = E_CALL;
        e->text = xstrndup(p->s + start, p->pos - start);
        e->fn = lookup_def(funcs, NELEM(funcs), e->text, strlen(e->text));
        if (e->fn < 0) {
            perr(p, start, "unknown function '%s()'", e->text);
            expr_free(e);
            return NULL;
        }
        parse_args(p, &e->args, &e->nargs, depth);
        if (!p->failed)
            check_arity(p, &funcs[e->fn], e->nargs, start, "function");
        if (p->failed) {
            expr_free(e);
            return NULL;
        }
        return e;
    }
    e->kind = E_PATH;
    while (p->pos < p->end && p->s[p->pos] == '.') {
        size_t seg = ++p->pos;

        while (p->pos < p->end && is_name_char(p->s[p->pos]))
            p->pos++;
        if (p->pos == seg) {
            perr(p, seg, "expected a name after '.'");
            expr_free(e);
            return NULL;
        }
    }
    e->text = xstrndup(p->s + start, p->pos - start);
    return e;
}

static void add_refs(struct tmpl *t, const struct texpr *e)
{
    size_t i, j;

    if (e->kind == E_PATH) {
        XGROW(t->refs, t->nrefs + 1, t->refs_alloc);
        t->refs[t->nrefs].path = e->text;
        t->refs[t->nrefs].off = e->off;
        t->nrefs++;
    }
    for (i = 0; i < e->nargs; i++)
        add_refs(t, e->args[i]);
    for (i = 0; i < e->nfilters; i++)
        for (j = 0; j < e->filters[i].nargs; j++)
            add_refs(t, e->filters[i].args[j]);
}

static struct texpr *parse_expr(struct parser *p)
{
    struct texpr *e = parse_primary(p, 0);
    size_t alloc = 0;

    while (e && !p->failed) {
        struct tfilter *f;
        size_t start, len;

        skip_ws(p);
        if (p->pos >= p->end)
            break;
        if (p->s[p->pos] != '|') {
            perr(p, p->pos, "expected '|' or '}}' after the expression");
            break;
        }
        p->pos++;
        skip_ws(p);
        start = p->pos;
        len = scan_name(p);
        if (len == 0) {
            perr(p, start, "expected a filter name after '|'");
            break;
        }
        XGROW(e->filters, e->nfilters + 1, alloc);
        f = &e->filters[e->nfilters++];
        memset(f, 0, sizeof(*f));
        f->id = lookup_def(filters, NELEM(filters), p->s + start, len);
        if (f->id < 0) {
            char *name = xstrndup(p->s + start, len);

            perr(p, start,
                 "unknown filter '%s' (filters: urlencode, json, "
                 "base64, upper, lower, trim)",
                 name);
            free(name);
            break;
        }
        if (p->pos < p->end && p->s[p->pos] == '(')
            parse_args(p, &f->args, &f->nargs, 0);
        if (!p->failed)
            check_arity(p, &filters[f->id], f->nargs, start, "filter");
    }
    if (p->failed) {
        expr_free(e);
        return NULL;
    }
    return e;
}

static void add_text(struct tmpl *t, size_t *alloc, const char *s, size_t len)
{
    if (len == 0)
        return;
    XGROW(t->parts, t->nparts + 1, *alloc);
    t->parts[t->nparts].text = xstrndup(s, len);
    t->parts[t->nparts].len = len;
    t->parts[t->nparts].e = NULL;
    t->nparts++;
}

struct tmpl *tmpl_compile(const char *src, size_t len, struct pw_err *err,
                          size_t *err_off)
{
    struct tmpl *t = xcalloc(1, sizeof(*t));
    struct parser p = { src, 0, 0, err, 0, 0 };
    size_t alloc = 0, text_start = 0, i = 0;

    t->src = xstrndup(src, len);
    while (i + 1 < len) {
        const char *close;
        struct texpr *e;

        if (src[i] != '{' || src[i + 1] != '{') {
            i++;
            continue;
        }
        add_text(t, &alloc, src + text_start, i - text_start);
        close = NULL;
        /* The expression ends at the first "}}" outside a string. */
        {
            size_t j = i + 2;
            char q = 0;

            for (; j + 1 < len; j++) {
                if (q) {
                    if (src[j] == '\\')
                        j++;
                    else if (src[j] == q)
                        q = 0;
                } else if (src[j] == '"' || src[j] == '\'') {
                    q = src[j];
                } else if (src[j] == '}' && src[j + 1] == '}') {
                    close = src + j;
                    break;
                }
            }
        }
        if (close == NULL) {
            perr(&p, i, "unclosed '{{': add the closing '}}'");
            break;
        }
        p.pos = i + 2;
        p.end = (size_t)(close - src);
        skip_ws(&p);
        if (p.pos == p.end) {
            perr(&p, i, "empty '{{ }}'");
            break;
        }
        e = parse_expr(&p);
        if (e == NULL)
            break;
        XGROW(t->parts, t->nparts + 1, alloc);
        t->parts[t->nparts].text = NULL;
        t->parts[t->nparts].len = 0;
        t->parts[t->nparts].e = e;
        t->nparts++;
        i = p.end + 2;
        text_start = i;
    }
    if (p.failed) {
        if (err_off)
            *err_off = p.err_off;
        tmpl_free(t);
        return NULL;
    }
    add_text(t, &alloc, src + text_start, len - text_start);
    for (i = 0; i < t->nparts; i++)
        if (t->parts[i].e)
            add_refs(t, t->parts[i].e);
    return t;
}

const char *tmpl_source(const struct tmpl *t)
{
    return t->src;
}

int tmpl_is_literal(const struct tmpl *t)
{
    size_t i;

    for (i = 0; i < t->nparts; i++)
        if (t->parts[i].e)
            return 0;
    return 1;
}

size_t tmpl_ref_count(const struct tmpl *t)
{
    return t->nrefs;
}

const char *tmpl_ref_at(const struct tmpl *t, size_t i, size_t *off)
{
    if (off)
        *off = t->refs[i].off;
    return t->refs[i].path;
}

/* ---- Renderer ---- */

static void random_bytes(unsigned char *buf, size_t n)
{
    size_t got = 0;

    while (got < n) {
        ssize_t r = getrandom(buf + got, n - got, 0);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            /* No entropy source: fall back to something non-constant. */
            for (; got < n; got++)
                buf[got] = (unsigned char)(rand() & 0xff);
            return;
        }
        got += (size_t)r;
    }
}

static pw_status eval(const struct texpr *e, tmpl_lookup_fn *lookup, void *arg,
                      struct sbuf *out, struct pw_err *err);

/* Parse all of <s> as a decimal long long; 0 when it is not one or out of
 * range (strtoll would clamp silently). */
static int parse_ll(const char *s, long long *out)
{
    char *end;

    errno = 0;
    *out = strtoll(s, &end, 10);
    return end != s && *end == '\0' && errno == 0;
}

/* <lo> + <off>, where the result is known to lie in [lo, LLONG_MAX]; done
 * without signed overflow, which the plain sum would risk for a large
 * <off>. */
static long long add_offset(long long lo, unsigned long long off)
{
    unsigned long long u = (unsigned long long)lo + off;

    if (u <= (unsigned long long)LLONG_MAX)
        return (long long)u;
    /* u is the two's complement pattern of a negative number */
    return -(long long)(ULLONG_MAX - u) - 1;
}

static pw_status eval_call(const struct texpr *e, tmpl_lookup_fn *lookup,
                           void *arg, struct sbuf *out, struct pw_err *err)
{
    unsigned char rnd[64];
    struct sbuf a = SBUF_INIT, b = SBUF_INIT;
    pw_status rc = PW_OK;
    long long lo = 0, hi = 0;
    struct tm tm;
    time_t now;
    size_t i, n;

    switch (e->fn) {
    case F_UUID:
        random_bytes(rnd, 16);
        rnd[6] = (unsigned char)((rnd[6] & 0x0f) | 0x40);
        rnd[8] = (unsigned char)((rnd[8] & 0x3f) | 0x80);
        for (i = 0; i < 16 && rc == PW_OK; i++)
            rc = sbuf_addf(out, "%s%02x",
                           (i == 4 || i == 6 || i == 8 || i == 10) ? "-" : "",
                           rnd[i]);
        return rc;
    case F_NOW:
        now = clock_now();
        gmtime_r(&now, &tm);
        return sbuf_addf(out, "%04d-%02d-%02dT%02d:%02d:%02dZ",
                         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                         tm.tm_hour, tm.tm_min, tm.tm_sec);
    case F_UNIX:
        return sbuf_addf(out, "%lld", (long long)clock_now());
    case F_RANDOM_INT:
        rc = eval(e->args[0], lookup, arg, &a, err);
        if (rc == PW_OK)
            rc = eval(e->args[1], lookup, arg, &b, err);
        if (rc == PW_OK && !(parse_ll(a.buf, &lo) && parse_ll(b.buf, &hi)))
            rc = pw_err_set(err, PW_ERR_INVALID,
                            "random_int(): bounds must be whole numbers "
                            "from %lld to %lld",
                            LLONG_MIN, LLONG_MAX);
        sbuf_release(&a);
        sbuf_release(&b);
        if (rc != PW_OK)
            return rc;
        if (hi < lo)
            return pw_err_set(err, PW_ERR_INVALID,
                              "random_int(): max is less than min");
        {
            /* In unsigned arithmetic, where wrapping is defined: the span
             * of the full range is 2^64, which wraps to 0. */
            unsigned long long span =
                (unsigned long long)hi - (unsigned long long)lo + 1;
            unsigned long long r;

            random_bytes((unsigned char *)&r, sizeof(r));
            return sbuf_addf(out, "%lld", add_offset(lo, span ? r % span : r));
        }
    case F_RANDOM_HEX:
        rc = eval(e->args[0], lookup, arg, &a, err);
        n = (size_t)strtoul(a.buf, NULL, 10);
        sbuf_release(&a);
        if (rc != PW_OK)
            return rc;
        if (n == 0 || n > sizeof(rnd))
            return pw_err_set(err, PW_ERR_INVALID,
                              "random_hex(): length must be 1 to %zu",
                              sizeof(rnd));
        random_bytes(rnd, n);
        for (i = 0; i < n && rc == PW_OK; i++)
            rc = sbuf_addf(out, "%02x", rnd[i]);
        return rc;
    }
    return pw_err_set(err, PW_ERR_INVALID, "unknown function");
}

static pw_status apply_filter(int id, const struct sbuf *in, struct sbuf *out)
{
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *s = (const unsigned char *)in->buf;
    size_t n = in->len, i;
    pw_status rc = PW_OK;

    switch (id) {
    case X_URLENCODE:
        for (i = 0; i < n && rc == PW_OK; i++) {
            if (isalnum(s[i]) || s[i] == '-' || s[i] == '_' || s[i] == '.' ||
                s[i] == '~')
                rc = sbuf_addc(out, (char)s[i]);
            else
                rc = sbuf_addf(out, "%%%02X", s[i]);
        }
        return rc;
    case X_JSON:
        return sbuf_add_json_str(out, in->buf, n);
    case X_BASE64:
        for (i = 0; i + 2 < n && rc == PW_OK; i += 3) {
            char q[4] = { b64[s[i] >> 2],
                          b64[((s[i] & 3) << 4) | (s[i + 1] >> 4)],
                          b64[((s[i + 1] & 15) << 2) | (s[i + 2] >> 6)],
                          b64[s[i + 2] & 63] };
            rc = sbuf_add(out, q, 4);
        }
        if (rc == PW_OK && n - i == 1) {
            char q[4] = { b64[s[i] >> 2], b64[(s[i] & 3) << 4], '=', '=' };
            rc = sbuf_add(out, q, 4);
        } else if (rc == PW_OK && n - i == 2) {
            char q[4] = { b64[s[i] >> 2],
                          b64[((s[i] & 3) << 4) | (s[i + 1] >> 4)],
                          b64[(s[i + 1] & 15) << 2], '=' };
            rc = sbuf_add(out, q, 4);
        }
        return rc;
    case X_UPPER:
    case X_LOWER:
        for (i = 0; i < n && rc == PW_OK; i++)
            rc = sbuf_addc(
                out, (char)(id == X_UPPER ? toupper(s[i]) : tolower(s[i])));
        return rc;
    case X_TRIM:
        while (n > 0 && isspace(s[n - 1]))
            n--;
        for (i = 0; i < n && isspace(s[i]); i++)
            ;
        return sbuf_add(out, s + i, n - i);
    }
    return PW_ERR_INVALID;
}

static pw_status eval(const struct texpr *e, tmpl_lookup_fn *lookup, void *arg,
                      struct sbuf *out, struct pw_err *err)
{
    struct sbuf cur, next;
    pw_status rc = PW_OK;
    size_t i;

    sbuf_init(&cur, out->cap);
    switch (e->kind) {
    case E_STR:
    case E_NUM:
        rc = sbuf_adds(&cur, e->text);
        break;
    case E_CALL:
        rc = eval_call(e, lookup, arg, &cur, err);
        break;
    case E_PATH:
        rc = lookup(e->text, arg, &cur);
        if (rc == PW_ERR_INVALID)
            pw_err_set(err, rc, "unknown name '%s'", e->text);
        break;
    }
    for (i = 0; i < e->nfilters && rc == PW_OK; i++) {
        sbuf_init(&next, out->cap);
        rc = apply_filter(e->filters[i].id, &cur, &next);
        sbuf_release(&cur);
        cur = next;
    }
    if (rc == PW_OK)
        rc = sbuf_add(out, cur.buf, cur.len);
    if (rc == PW_ERR_TOOBIG)
        pw_err_set(err, rc, "rendered text exceeds %zu bytes", out->cap);
    sbuf_release(&cur);
    return rc;
}

pw_status tmpl_render(const struct tmpl *t, tmpl_lookup_fn *lookup, void *arg,
                      struct sbuf *out, struct pw_err *err)
{
    pw_status rc = PW_OK;
    size_t i;

    for (i = 0; i < t->nparts && rc == PW_OK; i++) {
        if (t->parts[i].e) {
            rc = eval(t->parts[i].e, lookup, arg, out, err);
            continue;
        }
        rc = sbuf_add(out, t->parts[i].text, t->parts[i].len);
        if (rc != PW_OK)
            pw_err_set(err, rc, "rendered text exceeds %zu bytes", out->cap);
    }
    return rc;
}
