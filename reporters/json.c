/* json.c -- see json.h. */
#include "json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Deeper nesting than this in a reply or in details is refused rather
 * than followed, so a hostile body cannot exhaust the stack. */
#define JR_MAX_DEPTH 64

void jw_init(struct jw *b)
{
    b->buf = malloc(64);
    b->alloc = b->buf ? 64 : 0;
    b->len = 0;
    b->failed = b->buf == NULL;
    if (b->buf)
        b->buf[0] = '\0';
}

void jw_release(struct jw *b)
{
    free(b->buf);
    b->buf = NULL;
    b->len = b->alloc = 0;
}

void jw_reset(struct jw *b)
{
    if (b->buf == NULL) {
        jw_init(b);
        return;
    }
    b->len = 0;
    b->buf[0] = '\0';
    b->failed = 0;
}

char *jw_take(struct jw *b, size_t *len)
{
    char *s = b->failed ? NULL : b->buf;

    if (len)
        *len = s ? b->len : 0;
    if (s == NULL)
        free(b->buf);
    b->buf = NULL;
    jw_init(b);
    return s;
}

int jw_failed(const struct jw *b)
{
    return b->failed;
}

static int grow(struct jw *b, size_t more)
{
    size_t want;
    char *p;

    if (b->failed)
        return -1;
    if (b->len + more + 1 <= b->alloc)
        return 0;
    want = b->alloc ? b->alloc : 64;
    while (want < b->len + more + 1)
        want *= 2;
    p = realloc(b->buf, want);
    if (p == NULL) {
        b->failed = 1;
        return -1;
    }
    b->buf = p;
    b->alloc = want;
    return 0;
}

void jw_raw(struct jw *b, const char *s, size_t n)
{
    if (grow(b, n) < 0)
        return;
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    b->buf[b->len] = '\0';
}

static void raw_s(struct jw *b, const char *s)
{
    jw_raw(b, s, strlen(s));
}

void jw_sep(struct jw *b)
{
    char last;

    if (b->len == 0 || b->failed)
        return;
    last = b->buf[b->len - 1];
    if (last != '{' && last != '[' && last != ':')
        jw_raw(b, ",", 1);
}

void jw_open(struct jw *b)
{
    jw_sep(b);
    jw_raw(b, "{", 1);
}

void jw_close(struct jw *b)
{
    jw_raw(b, "}", 1);
}

void jw_open_array(struct jw *b)
{
    jw_sep(b);
    jw_raw(b, "[", 1);
}

void jw_close_array(struct jw *b)
{
    jw_raw(b, "]", 1);
}

/* The length of the valid UTF-8 sequence at <s> (at most <n> bytes), or 0
 * when the bytes there are not one: overlong forms, surrogates and code
 * points past U+10FFFF are invalid too. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len, i;
    unsigned long cp;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
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
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
        return 0;
    return len;
}

void jw_esc(struct jw *b, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, run, k;
    char u[8];

    while (i < n) {
        /* Plain bytes are copied in runs, not one by one. */
        run = 0;
        while (i + run < n && s[i + run] >= 0x20 && s[i + run] < 0x80 &&
               s[i + run] != '"' && s[i + run] != '\\')
            run++;
        if (run) {
            jw_raw(b, (const char *)s + i, run);
            i += run;
            continue;
        }
        switch (s[i]) {
        case '"':
            jw_raw(b, "\\\"", 2);
            break;
        case '\\':
            jw_raw(b, "\\\\", 2);
            break;
        case '\n':
            jw_raw(b, "\\n", 2);
            break;
        case '\r':
            jw_raw(b, "\\r", 2);
            break;
        case '\t':
            jw_raw(b, "\\t", 2);
            break;
        default:
            if (s[i] < 0x20) {
                snprintf(u, sizeof(u), "\\u%04x", s[i]);
                jw_raw(b, u, 6);
                break;
            }
            k = utf8_len(s + i, n - i);
            if (k == 0) {
                jw_raw(b, "\xef\xbf\xbd", 3);
                break;
            }
            jw_raw(b, (const char *)s + i, k);
            i += k;
            continue;
        }
        i++;
    }
}

void jw_strn(struct jw *b, const char *s, size_t n)
{
    jw_sep(b);
    jw_raw(b, "\"", 1);
    jw_esc(b, s, n);
    jw_raw(b, "\"", 1);
}

void jw_str(struct jw *b, const char *s)
{
    if (s == NULL) {
        jw_sep(b);
        jw_raw(b, "null", 4);
        return;
    }
    jw_strn(b, s, strlen(s));
}

void jw_key(struct jw *b, const char *key)
{
    jw_str(b, key);
    jw_raw(b, ":", 1);
}

void jw_kstr(struct jw *b, const char *key, const char *s)
{
    jw_key(b, key);
    jw_str(b, s);
}

void jw_kopt(struct jw *b, const char *key, const char *s)
{
    if (s)
        jw_kstr(b, key, s);
}

void jw_kint(struct jw *b, const char *key, long long v)
{
    char num[32];

    jw_key(b, key);
    snprintf(num, sizeof(num), "%lld", v);
    raw_s(b, num);
}

void jw_kdouble(struct jw *b, const char *key, double v)
{
    char num[64];

    jw_key(b, key);
    if (!isfinite(v)) {
        raw_s(b, "null");
        return;
    }
    snprintf(num, sizeof(num), "%.3f", v);
    raw_s(b, num);
}

void jw_kbool(struct jw *b, const char *key, int v)
{
    jw_key(b, key);
    raw_s(b, v ? "true" : "false");
}

size_t jw_cut(const char *s, size_t n, size_t max)
{
    if (n <= max)
        return n;
    n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
        n--;
    return n;
}

/* -- Reading ------------------------------------------------------------ */

static const char *ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* Past the string that opens at <p> ('"'), or NULL. */
static const char *skip_string(const char *p, const char *end)
{
    for (p++; p < end; p++) {
        if (*p == '"')
            return p + 1;
        if (*p == '\\') {
            p++;
            if (p >= end)
                return NULL;
        } else if ((unsigned char)*p < 0x20) {
            return NULL;
        }
    }
    return NULL;
}

static const char *skip_value(const char *p, const char *end, int depth);

static const char *skip_compound(const char *p, const char *end, int depth)
{
    char close = *p == '{' ? '}' : ']';
    int object = *p == '{';

    if (depth >= JR_MAX_DEPTH)
        return NULL;
    p = ws(p + 1, end);
    if (p < end && *p == close)
        return p + 1;
    for (;;) {
        if (object) {
            if (p >= end || *p != '"')
                return NULL;
            p = skip_string(p, end);
            if (p == NULL)
                return NULL;
            p = ws(p, end);
            if (p >= end || *p != ':')
                return NULL;
            p++;
        }
        p = skip_value(p, end, depth + 1);
        if (p == NULL)
            return NULL;
        p = ws(p, end);
        if (p < end && *p == ',') {
            p = ws(p + 1, end);
            continue;
        }
        if (p < end && *p == close)
            return p + 1;
        return NULL;
    }
}

/* Past the value at <p> (after whitespace), or NULL when it is not one.
 * Numbers and literals are checked loosely: their characters only. */
static const char *skip_value(const char *p, const char *end, int depth)
{
    const char *start;

    p = ws(p, end);
    if (p >= end)
        return NULL;
    if (*p == '"')
        return skip_string(p, end);
    if (*p == '{' || *p == '[')
        return skip_compound(p, end, depth);
    start = p;
    while (p < end && *p && strchr("0123456789+-.eEtruefalsn", *p))
        p++;
    return p > start ? p : NULL;
}

int jr_is_object(const char *s, size_t n)
{
    const char *end = s + n, *p = ws(s, end);

    if (p >= end || *p != '{')
        return 0;
    p = skip_compound(p, end, 0);
    return p != NULL && ws(p, end) == end;
}

void jw_members(struct jw *b, const char *obj)
{
    const char *open = strchr(obj, '{'), *close = strrchr(obj, '}');
    const char *p;

    if (open == NULL || close == NULL || close < open)
        return;
    p = ws(open + 1, close);
    if (p == close)
        return;
    jw_sep(b);
    jw_raw(b, p, (size_t)(close - p));
}

static unsigned hex4(const char *p)
{
    unsigned v = 0;
    int i;

    for (i = 0; i < 4; i++) {
        char c = p[i];

        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return 0xfffd;
    }
    return v;
}

/* Decode the string at <p> (checked by skip_string, ending before <end>)
 * onto <out>; surrogate pairs and NULs come out as U+FFFD. */
static void decode_string(const char *p, const char *end, struct jw *out)
{
    char u[4];

    for (p++; p < end && *p != '"'; p++) {
        if (*p != '\\') {
            jw_raw(out, p, 1);
            continue;
        }
        p++;
        switch (*p) {
        case 'n':
            jw_raw(out, "\n", 1);
            break;
        case 't':
            jw_raw(out, "\t", 1);
            break;
        case 'r':
            jw_raw(out, "\r", 1);
            break;
        case 'b':
        case 'f':
            jw_raw(out, " ", 1);
            break;
        case 'u': {
            unsigned cp = end - p > 4 ? hex4(p + 1) : 0xfffd;

            p += end - p > 4 ? 4 : 0;
            if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff))
                cp = 0xfffd;
            if (cp < 0x80) {
                u[0] = (char)cp;
                jw_raw(out, u, 1);
            } else if (cp < 0x800) {
                u[0] = (char)(0xc0 | (cp >> 6));
                u[1] = (char)(0x80 | (cp & 0x3f));
                jw_raw(out, u, 2);
            } else {
                u[0] = (char)(0xe0 | (cp >> 12));
                u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
                u[2] = (char)(0x80 | (cp & 0x3f));
                jw_raw(out, u, 3);
            }
            break;
        }
        default:
            jw_raw(out, p, 1);
            break;
        }
    }
}

static void copy_out(const struct jw *v, char *out, size_t outsz)
{
    size_t n;

    if (outsz == 0)
        return;
    n = v->failed ? 0 : jw_cut(v->buf, v->len, outsz - 1);
    memcpy(out, v->buf, n);
    out[n] = '\0';
}

int jr_member(const char *s, size_t n, const char *key, char *out, size_t outsz)
{
    const char *end = s + n, *p, *k, *v, *e;
    size_t klen = strlen(key);
    struct jw val;
    int found = 0;

    if (!jr_is_object(s, n))
        return 0;
    p = ws(ws(s, end) + 1, end);
    while (p < end && *p == '"') {
        k = p;
        p = skip_string(p, end);
        v = ws(ws(p, end) + 1, end); /* past ':' */
        e = skip_value(v, end, 1);
        if ((size_t)(p - k) == klen + 2 && memcmp(k + 1, key, klen) == 0) {
            found = 1;
            break;
        }
        p = ws(ws(e, end), end);
        if (p < end && *p == ',')
            p = ws(p + 1, end);
    }
    if (!found)
        return 0;
    jw_init(&val);
    if (*v == '"') {
        decode_string(v, e, &val);
    } else if (*v == '[') {
        /* PagerDuty's "errors": a list of strings, for one log line. */
        const char *q = ws(v + 1, e);

        while (q < e && *q != ']') {
            const char *qe = skip_value(q, e, 2);

            if (val.len)
                jw_raw(&val, "; ", 2);
            if (*q == '"')
                decode_string(q, qe, &val);
            else
                jw_raw(&val, q, (size_t)(qe - q));
            q = ws(qe, e);
            if (q < e && *q == ',')
                q = ws(q + 1, e);
        }
    } else {
        jw_raw(&val, v, (size_t)(e - v));
    }
    copy_out(&val, out, outsz);
    jw_release(&val);
    return 1;
}

/* -- The two records ---------------------------------------------------- */

const char *jw_action_name(enum pw_alert_action a)
{
    return a == PW_ALERT_RESOLVE ? "resolve" : "trigger";
}

const char *jw_level_name(enum pw_alert_level l)
{
    switch (l) {
    case PW_LEVEL_TEST:
        return "test";
    case PW_LEVEL_SCENARIO:
        return "scenario";
    case PW_LEVEL_TARGET:
        return "target";
    case PW_LEVEL_RUNNER:
        return "runner";
    }
    return "unknown";
}

void jw_alert(struct jw *b, const struct pw_alert *a)
{
    const char *details = a->details ? a->details : "{}";

    jw_open(b);
    jw_kstr(b, "type", "alert");
    jw_kstr(b, "action", jw_action_name(a->action));
    jw_kbool(b, "update", a->update);
    jw_kbool(b, "test", a->test);
    jw_kstr(b, "level", jw_level_name(a->level));
    jw_kstr(b, "kind", a->kind);
    jw_kstr(b, "dedup_key", a->dedup_key);
    jw_kstr(b, "summary", a->summary);
    jw_kstr(b, "severity", a->severity);
    jw_kstr(b, "scenario", a->scenario);
    jw_kstr(b, "target", a->target);
    jw_kstr(b, "source", a->source);
    jw_kstr(b, "check", a->check);
    jw_kstr(b, "step", a->step);
    jw_kstr(b, "message", a->message);
    jw_kstr(b, "request", a->request);
    jw_kstr(b, "excerpt", a->excerpt);
    jw_kstr(b, "run_id", a->run_id);
    jw_kstr(b, "link", a->link);
    jw_key(b, "details");
    if (jr_is_object(details, strlen(details)))
        raw_s(b, details);
    else
        jw_str(b, details);
    jw_kint(b, "since", a->since);
    jw_kint(b, "at", a->at);
    jw_close(b);
}

void jw_result(struct jw *b, const struct pw_result *r)
{
    jw_open(b);
    jw_kstr(b, "type", "result");
    jw_kstr(b, "test_id", r->test_id);
    jw_kstr(b, "scenario", r->scenario);
    jw_kstr(b, "target", r->target);
    jw_kstr(b, "status", r->status);
    jw_kstr(b, "step", r->step);
    jw_kstr(b, "message", r->message);
    jw_kstr(b, "excerpt", r->excerpt);
    jw_kstr(b, "run_id", r->run_id);
    jw_kstr(b, "runner", r->runner);
    jw_kdouble(b, "duration_ms", r->duration_ms);
    jw_kint(b, "started", r->started);
    jw_kint(b, "requests", (long long)r->requests);
    jw_close(b);
}

void jw_iso8601(long long t, char *out, size_t outsz)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (gmtime_r(&tt, &tm) == NULL ||
        strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, outsz, "1970-01-01T00:00:00Z");
}
