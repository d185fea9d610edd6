/* secret.c -- the secret cache and value-following redaction. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "secret.h"
#include "xalloc.h"

struct secret {
    char *name;
    char *value;
    size_t len;
    int ok; /* the file was read; otherwise the lookup fails again */
};

struct secrets {
    char *dir;
    struct secret *list;
    size_t n, alloc;
    struct redact redact;
};

/* ---- Redaction ---- */

#define BASE64_MIN    3 /* characters of a base64 piece worth hiding */
#define TRUNCATED_MIN 4 /* bytes of a cut-short secret worth hiding */

static void add_form(struct redact *r, const char *form, size_t len)
{
    size_t i, at;

    if (len == 0)
        return;
    for (i = 0; i < r->nforms; i++)
        if (strlen(r->forms[i]) == len && memcmp(r->forms[i], form, len) == 0)
            return;
    XGROW(r->forms, r->nforms + 1, r->alloc);
    /* Longest first, so a long form is replaced before a shorter one that
     * it contains could split it. */
    for (at = 0; at < r->nforms && strlen(r->forms[at]) >= len; at++)
        ;
    memmove(r->forms + at + 1, r->forms + at,
            (r->nforms - at) * sizeof(*r->forms));
    r->forms[at] = xstrndup(form, len);
    r->nforms++;
}

/* URL-encoded, with upper and lower case hex, and the form encoding's '+'
 * for a space. */
static void add_url_forms(struct redact *r, const char *v, size_t len)
{
    size_t i, k;

    for (k = 0; k < 3; k++) {
        struct sbuf b = SBUF_INIT;

        for (i = 0; i < len; i++) {
            unsigned char c = (unsigned char)v[i];

            if (isalnum(c) || strchr("-_.~", c))
                sbuf_addc(&b, (char)c);
            else if (k == 2 && c == ' ')
                sbuf_addc(&b, '+');
            else
                sbuf_addf(&b, k == 1 ? "%%%02x" : "%%%02X", c);
        }
        add_form(r, b.buf, b.len);
        sbuf_release(&b);
    }
}

/* As HTML and XML escape it, and as JSON encoders that escape HTML
 * characters (\u0026) write it. */
static void add_markup_forms(struct redact *r, const char *v, size_t len)
{
    struct sbuf html = SBUF_INIT, num = SBUF_INIT, js = SBUF_INIT;
    size_t i;

    for (i = 0; i < len; i++) {
        char c = v[i];

        switch (c) {
        case '&':
            sbuf_adds(&html, "&amp;");
            sbuf_adds(&num, "&amp;");
            sbuf_adds(&js, "\\u0026");
            break;
        case '<':
            sbuf_adds(&html, "&lt;");
            sbuf_adds(&num, "&lt;");
            sbuf_adds(&js, "\\u003c");
            break;
        case '>':
            sbuf_adds(&html, "&gt;");
            sbuf_adds(&num, "&gt;");
            sbuf_adds(&js, "\\u003e");
            break;
        case '"':
            sbuf_adds(&html, "&quot;");
            sbuf_adds(&num, "&#34;");
            sbuf_adds(&js, "\\\"");
            break;
        case '\'':
            sbuf_adds(&html, "&#39;");
            sbuf_adds(&num, "&#x27;");
            sbuf_addc(&js, c);
            break;
        case '\\':
            sbuf_addc(&html, c);
            sbuf_addc(&num, c);
            sbuf_adds(&js, "\\\\");
            break;
        default:
            sbuf_addc(&html, c);
            sbuf_addc(&num, c);
            sbuf_addc(&js, c);
        }
    }
    add_form(r, html.buf, html.len);
    add_form(r, num.buf, num.len);
    add_form(r, js.buf, js.len);
    sbuf_release(&html);
    sbuf_release(&num);
    sbuf_release(&js);
}

/* As JSON encoders write it inside a string: control characters as \t,
 * \n, \r, \b, \f (jq and most encoders); with '/' as "\/" (PHP);
 * with everything past ASCII as \uXXXX (Python's default); and both. */
static void add_json_forms(struct redact *r, const char *v, size_t len)
{
    int variant;

    for (variant = 0; variant < 4; variant++) {
        struct sbuf b = SBUF_INIT;
        size_t i = 0;

        while (i < len) {
            unsigned char c = (unsigned char)v[i];

            if (c >= 0xc0 && (variant & 2)) {
                /* One UTF-8 sequence as \uXXXX (a surrogate pair past
                 * U+FFFF); a sequence cut short goes byte by byte. */
                unsigned extra = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : 1;
                unsigned cp = extra == 3   ? c & 7u
                              : extra == 2 ? c & 15u
                                           : c & 31u;
                unsigned k;

                if (i + extra < len) {
                    for (k = 1; k <= extra; k++)
                        cp = cp << 6 | ((unsigned char)v[i + k] & 63u);
                    if (cp > 0xffff) {
                        cp -= 0x10000;
                        sbuf_addf(&b, "\\u%04x\\u%04x", 0xd800 + (cp >> 10),
                                  0xdc00 + (cp & 0x3ff));
                    } else {
                        sbuf_addf(&b, "\\u%04x", cp);
                    }
                    i += extra + 1;
                    continue;
                }
            }
            switch (c) {
            case '"':
                sbuf_adds(&b, "\\\"");
                break;
            case '\\':
                sbuf_adds(&b, "\\\\");
                break;
            case '/':
                sbuf_adds(&b, variant & 1 ? "\\/" : "/");
                break;
            case '\t':
                sbuf_adds(&b, "\\t");
                break;
            case '\n':
                sbuf_adds(&b, "\\n");
                break;
            case '\r':
                sbuf_adds(&b, "\\r");
                break;
            case '\b':
                sbuf_adds(&b, "\\b");
                break;
            case '\f':
                sbuf_adds(&b, "\\f");
                break;
            default:
                if (c < 0x20)
                    sbuf_addf(&b, "\\u%04x", c);
                else
                    sbuf_addc(&b, (char)c);
            }
            i++;
        }
        add_form(r, b.buf, b.len);
        sbuf_release(&b);
    }
}

/* The base64 characters that depend on <v> alone when it starts at byte
 * <align> of a longer string: what any encoding of a string holding <v>
 * at that alignment contains. */
static void add_base64_forms(struct redact *r, const char *v, size_t len)
{
    static const char std[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    static const char url[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t align;

    for (align = 0; align < 3; align++) {
        size_t n = align + len + 2, i, first, last;
        unsigned char *in = xcalloc(n + 3, 1);
        char *out_std = xmalloc(n / 3 * 4 + 8);
        char *out_url = xmalloc(n / 3 * 4 + 8);
        size_t o = 0;

        memcpy(in + align, v, len);
        for (i = 0; i + 3 <= n + 2; i += 3) {
            unsigned w =
                (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
            int k;

            for (k = 3; k >= 0; k--) {
                out_std[o] = std[(w >> (6 * k)) & 63];
                out_url[o] = url[(w >> (6 * k)) & 63];
                o++;
            }
        }
        /* Character c covers bits [6c, 6c + 6); keep those inside the
         * value's bits [8 align, 8 (align + len)). */
        first = (8 * align + 5) / 6;
        last = 8 * (align + len) / 6; /* exclusive */
        if (last > first && last - first >= BASE64_MIN) {
            add_form(r, out_std + first, last - first);
            add_form(r, out_url + first, last - first);
        }
        free(in);
        free(out_std);
        free(out_url);
    }
}

void redact_add(struct redact *r, const char *value, size_t len)
{
    struct sbuf b = SBUF_INIT, twice = SBUF_INIT;
    int level;

    if (len == 0)
        return;
    add_form(r, value, len);
    add_url_forms(r, value, len);
    add_markup_forms(r, value, len);
    add_base64_forms(r, value, len);
    add_json_forms(r, value, len);
    /* JSON-escaped up to three times: a server's JSON, put in a string by
     * a check (tojson), quoted in one of our messages. */
    sbuf_add(&b, value, len);
    for (level = 0; level < 3; level++) {
        sbuf_reset(&twice);
        sbuf_add_json_str(&twice, b.buf, b.len);
        if (twice.len < 2)
            break;
        sbuf_reset(&b);
        sbuf_add(&b, twice.buf + 1, twice.len - 2); /* without the quotes */
        add_form(r, b.buf, b.len);
    }
    sbuf_reset(&b);
    sbuf_add_printable(&b, value, len);
    add_form(r, b.buf, b.len);
    /* In one letter case: ascii_downcase, header values, DNS names. */
    for (level = 0; level < 2; level++) {
        size_t i;

        sbuf_reset(&b);
        for (i = 0; i < len; i++)
            sbuf_addc(&b, (char)(level ? toupper((unsigned char)value[i])
                                       : tolower((unsigned char)value[i])));
        add_form(r, b.buf, b.len);
    }
    sbuf_release(&b);
    sbuf_release(&twice);
}

/* Matching uses memmem() per form, whose cost is linear in the text, so
 * a large body checked against long secrets stays cheap whatever its
 * content. */

struct hit {
    size_t at, len; /* len 0: none */
};

/* The earliest whole form of <sets> in <text>[<from>, <len>), the longest
 * at a tie. */
static struct hit first_form(const struct redact *const *sets, size_t n,
                             const char *text, size_t len, size_t from)
{
    struct hit h = { 0, 0 };
    size_t i, k;

    for (i = 0; i < n; i++) {
        for (k = 0; sets[i] && k < sets[i]->nforms; k++) {
            const char *f = sets[i]->forms[k];
            size_t fl = strlen(f);
            const char *m = memmem(text + from, len - from, f, fl);
            size_t at;

            if (m == NULL)
                continue;
            at = (size_t)(m - text);
            if (h.len == 0 || at < h.at || (at == h.at && fl > h.len)) {
                h.at = at;
                h.len = fl;
            }
        }
    }
    return h;
}

/* The longest beginning of a form, at least TRUNCATED_MIN bytes, that
 * ends exactly at <end> and starts at or after <from>. */
static size_t prefix_before(const struct redact *const *sets, size_t n,
                            const char *text, size_t from, size_t end)
{
    size_t i, k, best = 0;

    for (i = 0; i < n; i++) {
        for (k = 0; sets[i] && k < sets[i]->nforms; k++) {
            const char *f = sets[i]->forms[k];
            size_t l = strlen(f);

            if (l > end - from)
                l = end - from;
            for (; l >= TRUNCATED_MIN && l > best; l--)
                if (memcmp(text + end - l, f, l) == 0) {
                    best = l;
                    break;
                }
        }
    }
    return best;
}

/* The earliest beginning of a form cut short in <text>[<from>, <len>):
 * right before "..." or "\"...", the marks failure messages and jq's
 * errors put after a value they shortened. */
static struct hit first_cut(const struct redact *const *sets, size_t n,
                            const char *text, size_t len, size_t from)
{
    struct hit h = { 0, 0 };
    size_t at = from;
    const char *m;

    while (at < len && (m = memmem(text + at, len - at, "...", 3)) != NULL) {
        size_t end = (size_t)(m - text), l;

        if (end > from && text[end - 1] == '"') {
            l = prefix_before(sets, n, text, from, end - 1);
            if (l) {
                h.at = end - 1 - l;
                h.len = l;
                return h;
            }
        }
        l = prefix_before(sets, n, text, from, end);
        if (l) {
            h.at = end - l;
            h.len = l;
            return h;
        }
        at = end + 1;
    }
    return h;
}

int redact_found(const struct redact *const *sets, size_t n, const char *text,
                 size_t len)
{
    return first_form(sets, n, text, len, 0).len != 0 ||
           first_cut(sets, n, text, len, 0).len != 0;
}

void redact_apply(const struct redact *const *sets, size_t n, struct sbuf *b)
{
    struct sbuf out;
    size_t at = 0;

    if (!redact_found(sets, n, b->buf, b->len))
        return;
    sbuf_init(&out, 0);
    while (at < b->len) {
        struct hit f = first_form(sets, n, b->buf, b->len, at);
        struct hit c = first_cut(sets, n, b->buf, b->len, at);

        if (c.len && (f.len == 0 || c.at < f.at))
            f = c;
        if (f.len == 0) {
            sbuf_add(&out, b->buf + at, b->len - at);
            break;
        }
        sbuf_add(&out, b->buf + at, f.at - at);
        sbuf_adds(&out, REDACTED);
        at = f.at + f.len;
    }
    memset(b->buf, 0, b->len);
    sbuf_reset(b);
    sbuf_add(b, out.buf, out.len);
    sbuf_release(&out);
}

void redact_release(struct redact *r)
{
    size_t i;

    for (i = 0; i < r->nforms; i++) {
        memset(r->forms[i], 0, strlen(r->forms[i]));
        free(r->forms[i]);
    }
    free(r->forms);
    r->forms = NULL;
    r->nforms = r->alloc = 0;
}

/* ---- The cache ---- */

struct secrets *secrets_new(const char *dir)
{
    struct secrets *s = xcalloc(1, sizeof(*s));

    s->dir = xstrdup(dir ? dir : "");
    return s;
}

void secrets_free(struct secrets *s)
{
    size_t i;

    if (s == NULL)
        return;
    for (i = 0; i < s->n; i++) {
        free(s->list[i].name);
        if (s->list[i].value) {
            memset(s->list[i].value, 0, s->list[i].len);
            free(s->list[i].value);
        }
    }
    free(s->list);
    redact_release(&s->redact);
    free(s->dir);
    free(s);
}

static void read_one(const struct secrets *s, struct secret *sec)
{
    struct sbuf path = SBUF_INIT, value;
    char buf[4096];
    FILE *f;
    size_t n;
    pw_status rc = PW_OK;

    sbuf_addf(&path, "%s/%s", s->dir, sec->name);
    f = fopen(path.buf, "r");
    sbuf_release(&path);
    if (f == NULL)
        return;
    sbuf_init(&value, SECRET_MAX);
    do {
        n = fread(buf, 1, sizeof(buf), f);
        rc = sbuf_add(&value, buf, n);
    } while (rc == PW_OK && n > 0);
    if (ferror(f))
        rc = PW_ERR_IO;
    fclose(f);
    memset(buf, 0, sizeof(buf));
    while (value.len > 0 && (value.buf[value.len - 1] == '\n' ||
                             value.buf[value.len - 1] == '\r'))
        value.buf[--value.len] = '\0';
    if (rc == PW_OK) {
        sec->len = value.len;
        sec->value = xstrndup(value.buf, value.len);
        sec->ok = 1;
    }
    memset(value.buf, 0, value.len);
    sbuf_release(&value);
}

pw_status secrets_get(struct secrets *s, const char *name, struct sbuf *out)
{
    struct secret *sec = NULL;
    size_t i;

    if (name[0] == '\0' || name[0] == '.' || strchr(name, '/'))
        return PW_ERR_INVALID;
    for (i = 0; i < s->n && sec == NULL; i++)
        if (strcmp(s->list[i].name, name) == 0)
            sec = &s->list[i];
    if (sec == NULL) {
        XGROW(s->list, s->n + 1, s->alloc);
        sec = &s->list[s->n++];
        memset(sec, 0, sizeof(*sec));
        sec->name = xstrdup(name);
    }
    if (!sec->ok) {
        /* A missing file is looked for again: it may be deployed later. */
        read_one(s, sec);
        if (!sec->ok)
            return PW_ERR_INVALID;
        redact_add(&s->redact, sec->value, sec->len);
    }
    return sbuf_add(out, sec->value, sec->len) == PW_OK ? PW_OK
                                                        : PW_ERR_INVALID;
}

const struct redact *secrets_redact(const struct secrets *s)
{
    return &s->redact;
}
