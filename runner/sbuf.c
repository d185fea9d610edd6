/* sbuf.c -- growable, capped string buffer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"
#include "xalloc.h"

char sbuf_empty[1];

void sbuf_init(struct sbuf *b, size_t cap)
{
    b->buf = sbuf_empty;
    b->len = 0;
    b->alloc = 0;
    b->cap = cap;
    b->failed = PW_OK;
}

void sbuf_release(struct sbuf *b)
{
    if (b->alloc)
        free(b->buf);
    sbuf_init(b, b->cap);
}

void sbuf_reset(struct sbuf *b)
{
    b->len = 0;
    b->buf[0] = '\0';
    b->failed = PW_OK;
}

char *sbuf_take(struct sbuf *b, size_t *len)
{
    char *s = b->alloc ? b->buf : xstrdup("");

    if (len)
        *len = b->len;
    sbuf_init(b, b->cap);
    return s;
}

static void grow(struct sbuf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    size_t n;

    if (need <= b->alloc)
        return;
    n = b->alloc ? b->alloc : 64;
    while (n < need)
        n *= 2;
    if (b->alloc) {
        b->buf = xrealloc(b->buf, n);
    } else {
        b->buf = xmalloc(n);
        b->buf[0] = '\0';
    }
    b->alloc = n;
}

/* Mark <b> failed with <rc> unless it already is; returns <rc>. */
static pw_status fail(struct sbuf *b, pw_status rc)
{
    if (b->failed == PW_OK)
        b->failed = rc;
    return rc;
}

/* Whether <n> more bytes may go into <b>: PW_OK, or the failure to return
 * (and record).  A failed buffer refuses everything, even a byte that would
 * fit, so what it holds is a prefix of what was appended, never a string
 * with a hole in it. */
static pw_status room(struct sbuf *b, size_t n)
{
    if (b->failed != PW_OK)
        return b->failed;
    if (b->cap && (n > b->cap || b->len > b->cap - n))
        return fail(b, PW_ERR_TOOBIG);
    return PW_OK;
}

pw_status sbuf_failed(const struct sbuf *b)
{
    return b->failed;
}

void sbuf_reserve(struct sbuf *b, size_t n)
{
    grow(b, n);
}

pw_status sbuf_add(struct sbuf *b, const void *data, size_t n)
{
    pw_status rc = room(b, n);

    if (rc != PW_OK)
        return rc;
    if (n == 0)
        return PW_OK;
    grow(b, n);
    memcpy(b->buf + b->len, data, n);
    b->len += n;
    b->buf[b->len] = '\0';
    return PW_OK;
}

pw_status sbuf_adds(struct sbuf *b, const char *s)
{
    return sbuf_add(b, s, strlen(s));
}

pw_status sbuf_addc(struct sbuf *b, char c)
{
    return sbuf_add(b, &c, 1);
}

pw_status sbuf_vaddf(struct sbuf *b, const char *fmt, va_list ap)
{
    char small[256];
    va_list cp;
    int n;
    pw_status rc;

    if (b->failed != PW_OK)
        return b->failed;
    va_copy(cp, ap);
    n = vsnprintf(small, sizeof(small), fmt, cp);
    va_end(cp);
    if (n < 0)
        return fail(b, PW_ERR_INVALID);
    if ((size_t)n < sizeof(small))
        return sbuf_add(b, small, (size_t)n);
    rc = room(b, (size_t)n);
    if (rc != PW_OK)
        return rc;
    grow(b, (size_t)n);
    vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return PW_OK;
}

pw_status sbuf_addf(struct sbuf *b, const char *fmt, ...)
{
    va_list ap;
    pw_status rc;

    va_start(ap, fmt);
    rc = sbuf_vaddf(b, fmt, ap);
    va_end(ap);
    return rc;
}

/* Length of the valid UTF-8 sequence at <s> (at most <n> bytes), 0 if the
 * bytes there are not one. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    size_t len, i;
    unsigned int cp;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        len = 2;
        cp = s[0] & 0x1f;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        len = 3;
        cp = s[0] & 0x0f;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        len = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}

/* Copy <n> bytes at <s>, replacing bytes that are not valid UTF-8 with
 * U+FFFD and control bytes with a JSON escape (<json>) or a space. */
static pw_status add_clean(struct sbuf *b, const char *s, size_t n, int json)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, k;
    pw_status rc = PW_OK;

    while (rc == PW_OK && i < n) {
        unsigned char c = p[i];

        /* Plain printable ASCII goes in runs: most text is all of it. */
        for (k = i; k < n && p[k] >= 0x20 && p[k] < 0x7f &&
                    !(json && (p[k] == '"' || p[k] == '\\'));
             k++)
            ;
        if (k > i) {
            size_t run = k - i;

            /* A capped buffer keeps what fits, as byte by byte would. */
            if (b->cap && b->len < b->cap && b->len + run > b->cap)
                run = b->cap - b->len;
            rc = sbuf_add(b, p + i, run);
            i += run;
            continue;
        }
        k = utf8_seq(p + i, n - i);
        if (json && (c == '"' || c == '\\')) {
            char esc[2] = { '\\', (char)c };
            rc = sbuf_add(b, esc, 2);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            rc = json ? sbuf_addf(b, "\\u%04x", c) : sbuf_addc(b, ' ');
            i++;
        } else if (k == 0) {
            rc = sbuf_adds(b, "\xef\xbf\xbd");
            i++;
        } else {
            rc = sbuf_add(b, p + i, k);
            i += k;
        }
    }
    return rc;
}

pw_status sbuf_add_uint(struct sbuf *b, unsigned long long v)
{
    char buf[24];
    size_t i = sizeof(buf);

    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return sbuf_add(b, buf + i, sizeof(buf) - i);
}

pw_status sbuf_add_int(struct sbuf *b, long long v)
{
    pw_status rc;

    if (v >= 0)
        return sbuf_add_uint(b, (unsigned long long)v);
    rc = sbuf_addc(b, '-');
    /* -(v + 1) + 1: no overflow for LLONG_MIN. */
    return rc == PW_OK ? sbuf_add_uint(b, (unsigned long long)(-(v + 1)) + 1)
                       : rc;
}

pw_status sbuf_add_json_str(struct sbuf *b, const char *s, size_t n)
{
    pw_status rc = sbuf_addc(b, '"');

    if (rc == PW_OK)
        rc = add_clean(b, s, n, 1);
    if (rc == PW_OK)
        rc = sbuf_addc(b, '"');
    return rc;
}

pw_status sbuf_add_printable(struct sbuf *b, const char *s, size_t n)
{
    return add_clean(b, s, n, 0);
}
