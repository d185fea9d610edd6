/* expect.c -- evaluating expectations and captures on a response. */
#include <math.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "expect.h"
#include "fastjson.h"
#include "jsonscan.h"
#include "xalloc.h"

#define SHOW_MAX 60 /* bytes of an actual value shown in a message */

void resp_view_init(struct resp_view *v, const struct http_resp *r,
                    struct jqset *jq)
{
    v->resp = r;
    v->jq = jq;
    v->json = jv_invalid();
    v->parsed = 0;
    v->fast_tried = 0;
    v->fast = 0;
    v->pre = NULL;
    v->npre = v->pre_alloc = 0;
}

void resp_view_release(struct resp_view *v)
{
    size_t i;

    jv_free(v->json);
    v->json = jv_invalid();
    v->parsed = 0;
    v->fast_tried = 0;
    v->fast = 0;
    for (i = 0; i < v->npre; i++)
        jv_free(v->pre[i].out);
    free(v->pre);
    v->pre = NULL;
    v->npre = v->pre_alloc = 0;
}

void resp_view_preset(struct resp_view *v, size_t idx, pw_status rc, jv out,
                      const struct pw_err *err)
{
    struct resp_preset *p;

    XGROW(v->pre, v->npre + 1, v->pre_alloc);
    p = &v->pre[v->npre++];
    p->idx = idx;
    p->rc = rc;
    p->out = out;
    memset(&p->err, 0, sizeof(p->err));
    if (rc != PW_OK && err)
        p->err = *err;
}

/* The preset result of expression <idx>, or NULL. */
static const struct resp_preset *preset_of(const struct resp_view *v,
                                           size_t idx)
{
    size_t i;

    for (i = 0; i < v->npre; i++)
        if (v->pre[i].idx == idx)
            return &v->pre[i];
    return NULL;
}

/* jq 1.6's parser keeps one stack entry per open array and two per open
 * object (the object and the pending key), and gives up past this many. */
#define JQ_PARSE_DEPTH 256

static jv body_json(struct resp_view *v)
{
    if (!v->parsed) {
        const struct sbuf *b = &v->resp->body;

        const char *why;
        size_t at;

        /* The shape first: libjq leaks on some broken shapes. */
        if (b->len == 0)
            v->json = jv_invalid();
        else if (!jsonscan_structure(b->buf, b->len, &why, &at))
            v->json = jv_invalid_with_msg(
                jv_string_fmt("shape: %s at byte %zu", why, at));
        else
            v->json = jv_parse_sized(b->buf, (int)b->len);
        v->parsed = 1;
    }
    return jv_copy(v->json);
}

jv resp_view_json(struct resp_view *v)
{
    return body_json(v);
}

/* Why <doc> (consumed), an invalid parse result, is not usable: a body
 * that is valid JSON but deeper than jq's parser accepts must not read as
 * a broken one. */
static void show_not_json(struct sbuf *m, jv doc)
{
    jv msg = jv_invalid_get_msg(doc);

    if (jv_get_kind(msg) == JV_KIND_STRING &&
        strstr(jv_string_value(msg), "Exceeds depth limit") != NULL)
        sbuf_addf(m,
                  "the body is nested deeper than jq's limit "
                  "(%d levels of arrays, %d of objects)",
                  JQ_PARSE_DEPTH, JQ_PARSE_DEPTH / 2);
    else if (jv_get_kind(msg) == JV_KIND_STRING &&
             strncmp(jv_string_value(msg), "shape: ", 7) == 0)
        sbuf_addf(m, "the body is not JSON: %s", jv_string_value(msg) + 7);
    else
        sbuf_adds(m, "the body is not JSON");
    jv_free(msg);
}

/* The body buffer's slack is what lets the fast path parse it in place. */
_Static_assert(HTTP_BODY_SLACK >= FASTJSON_PADDING,
               "a body's slack must cover the fast path's reads");

/* The answer of the fast path for expression <idx>, into *<out>; 0 when
 * there is none, or it is not sure.  The body is parsed on the first call
 * of a view, and again only if another view's body took the shared parser
 * in between (a view waits for jq programs running apart). */
static int fast_eval(struct resp_view *v, size_t idx, jv *out)
{
    const struct fastjson_expr *e = jqset_fast(v->jq, idx);
    struct fastjson *fj = jqset_fastjson(v->jq);
    const struct sbuf *b = &v->resp->body;

    if (e == NULL || fj == NULL || (v->fast_tried && v->fast == 0))
        return 0;
    if (!v->fast_tried || !fastjson_holds(fj, v->fast)) {
        v->fast = b->alloc >= b->len + 1 + FASTJSON_PADDING
                      ? fastjson_parse_in_place(fj, b->buf, b->len)
                      : fastjson_parse(fj, b->buf ? b->buf : "", b->len);
        v->fast_tried = 1;
    }
    return fastjson_eval(fj, v->fast, e, out);
}

pw_status resp_view_jq(struct resp_view *v, size_t idx, jv *out,
                       struct pw_err *err)
{
    const struct resp_preset *p = preset_of(v, idx);
    jv doc;

    *out = jv_invalid();
    if (p == NULL && fast_eval(v, idx, out))
        return PW_OK;
    doc = body_json(v);
    if (!jv_is_valid(doc)) {
        struct sbuf why = SBUF_INIT;

        show_not_json(&why, doc);
        pw_err_set(err, PW_ERR_PARSE, "%s", why.buf);
        sbuf_release(&why);
        return PW_ERR_PARSE;
    }
    if (p == NULL)
        return jqset_eval(v->jq, idx, doc, out, err);
    jv_free(doc);
    *out = jv_copy(p->out);
    if (p->rc != PW_OK && err)
        *err = p->err;
    return p->rc;
}

/* Append <n> bytes at <s> with the quotes and backslashes escaped as in a
 * JSON string, so a quote inside a value cannot pass for its end; other
 * bytes go through sbuf_add_printable(). */
static void add_escaped(struct sbuf *m, const char *s, size_t n)
{
    size_t start = 0, i;

    for (i = 0; i < n; i++) {
        if (s[i] != '"' && s[i] != '\\')
            continue;
        sbuf_add_printable(m, s + start, i - start);
        sbuf_addc(m, '\\');
        sbuf_addc(m, s[i]);
        start = i + 1;
    }
    sbuf_add_printable(m, s + start, n - start);
}

/* The match context every regex match in this module runs with; see
 * expect.h for the limits.  Created on first use and kept, since a JIT
 * stack costs an mmap and judging is single-threaded. */
static pcre2_match_context *match_ctx(void)
{
    static pcre2_match_context *ctx;
    static pcre2_jit_stack *stack;

    if (ctx != NULL)
        return ctx;
    ctx = pcre2_match_context_create(NULL);
    if (ctx == NULL) {
        fprintf(stderr, "prodwatch: out of memory\n");
        abort();
    }
    pcre2_set_match_limit(ctx, EXPECT_RE_MATCH_LIMIT);
    pcre2_set_depth_limit(ctx, EXPECT_RE_DEPTH_LIMIT);
    /* Without a JIT (or its stack) the interpreter runs, bounded by the
     * same limits. */
    stack = pcre2_jit_stack_create(EXPECT_RE_JIT_STACK_START,
                                   EXPECT_RE_JIT_STACK_MAX, NULL);
    if (stack != NULL)
        pcre2_jit_stack_assign(ctx, NULL, stack);
    return ctx;
}

/* Run <re> on <text> (len <len>) into <md>.  Returns pcre2_match()'s
 * code; for an engine error (anything below zero but "no match") also
 * appends PCRE2's message to <msg>. */
static int regex_run(const pcre2_code *re, const char *text, size_t len,
                     pcre2_match_data *md, struct sbuf *msg)
{
    int rc = pcre2_match(re, (PCRE2_SPTR)text, len, 0, 0, md, match_ctx());
    PCRE2_UCHAR why[120];

    if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) {
        if (pcre2_get_error_message(rc, why, sizeof(why)) < 0)
            snprintf((char *)why, sizeof(why), "error %d", rc);
        sbuf_addf(msg, "regex engine error: %s", (const char *)why);
    }
    return rc;
}

/* Append <s> (len <n>) for a message: printable, truncated, quoted. */
static void show_text(struct sbuf *m, const char *s, size_t n)
{
    size_t cut = n > SHOW_MAX ? SHOW_MAX : n;

    /* Do not cut a UTF-8 sequence in two. */
    while (cut < n && cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
        cut--;
    sbuf_addc(m, '"');
    add_escaped(m, s, cut);
    sbuf_adds(m, cut < n ? "\"..." : "\"");
}

static void show_jv(struct sbuf *m, jv x)
{
    if (!jv_is_valid(x)) {
        jv_free(x);
        sbuf_adds(m, "nothing");
        return;
    }
    if (jv_get_kind(x) == JV_KIND_STRING) {
        show_text(m, jv_string_value(x),
                  (size_t)jv_string_length_bytes(jv_copy(x)));
        jv_free(x);
        return;
    }
    x = jv_dump_string(x, 0);
    {
        const char *s = jv_string_value(x);
        size_t n = strlen(s), cut = n > SHOW_MAX ? SHOW_MAX : n;

        /* Never in the middle of a UTF-8 sequence: the replacement
         * character would hide a cut-short secret from redaction. */
        while (cut < n && cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
            cut--;
        sbuf_add_printable(m, s, cut);
        if (cut < n)
            sbuf_adds(m, "...");
    }
    jv_free(x);
}

static const char *op_name(enum op_kind op)
{
    static const char *const names[] = { "eq",      "ne",       "lt",
                                         "le",      "gt",       "ge",
                                         "matches", "contains", "exists",
                                         "type",    "in" };

    return names[op];
}

static const char *kind_name(jv x)
{
    switch (jv_get_kind(x)) {
    case JV_KIND_STRING:
        return "string";
    case JV_KIND_NUMBER:
        return "number";
    case JV_KIND_TRUE:
    case JV_KIND_FALSE:
        return "boolean";
    case JV_KIND_NULL:
        return "null";
    case JV_KIND_ARRAY:
        return "array";
    case JV_KIND_OBJECT:
        return "object";
    default:
        return "nothing";
    }
}

/* Text form of a scalar for matching: strings as they are, others as
 * JSON.  Caller frees. */
static char *as_text(jv x, size_t *len)
{
    char *s;

    if (jv_get_kind(x) == JV_KIND_STRING) {
        *len = (size_t)jv_string_length_bytes(jv_copy(x));
        s = xstrndup(jv_string_value(x), *len);
    } else {
        jv d = jv_dump_string(jv_copy(x), 0);

        s = xstrdup(jv_string_value(d));
        *len = strlen(s);
        jv_free(d);
    }
    return s;
}

/* A number from <x>: numbers, and strings that are whole numbers. */
static int as_number(jv x, double *out)
{
    char *end;

    if (jv_get_kind(x) == JV_KIND_NUMBER) {
        *out = jv_number_value(x);
        return 1;
    }
    if (jv_get_kind(x) == JV_KIND_STRING && jv_string_value(x)[0]) {
        *out = strtod(jv_string_value(x), &end);
        return *end == '\0' && isfinite(*out);
    }
    return 0;
}

/* Render a typed operand into a jv. */
static int operand(const struct tval *t, const struct expect_env *env, jv *out,
                   struct sbuf *msg)
{
    struct sbuf b = SBUF_INIT;
    struct pw_err err;
    size_t i;

    switch (t->kind) {
    case TV_NULL:
        *out = jv_null();
        return 1;
    case TV_BOOL:
        *out = jv_bool(strcmp(t->text, "true") == 0);
        return 1;
    case TV_NUM:
        *out = jv_number(strtod(t->text, NULL));
        return 1;
    case TV_STR:
        if (tmpl_render(t->str, env->lookup, env->arg, &b, &err) != PW_OK) {
            sbuf_addf(msg, "cannot render the expected value: %s", err.msg);
            sbuf_release(&b);
            return 0;
        }
        *out = jv_string_sized(b.buf, (int)b.len);
        sbuf_release(&b);
        return 1;
    case TV_SEQ:
        *out = jv_array();
        for (i = 0; i < t->n; i++) {
            jv item;

            if (!operand(t->items[i], env, &item, msg)) {
                jv_free(*out);
                return 0;
            }
            *out = jv_array_append(*out, item);
        }
        return 1;
    case TV_MAP:
        break;
    }
    *out = jv_null();
    return 1;
}

/* Loose equality: numbers compare as numbers even when one side is the
 * text of a number ("42" eq 42), since headers and templates are text.
 * <b> is the expected value. */
static int same(jv a, jv b)
{
    double x, y;
    int r;

    if (as_number(a, &x) && as_number(b, &y) &&
        (jv_get_kind(a) == JV_KIND_NUMBER || jv_get_kind(b) == JV_KIND_NUMBER))
        return x == y;
    /* Arrays and objects against text compare as compact JSON, since an
     * operand in YAML is a scalar. */
    if (jv_get_kind(b) == JV_KIND_STRING &&
        (jv_get_kind(a) == JV_KIND_ARRAY || jv_get_kind(a) == JV_KIND_OBJECT)) {
        jv text = jv_dump_string(jv_copy(a), 0);

        r = jv_equal(text, jv_copy(b));
        return r;
    }
    r = jv_equal(jv_copy(a), jv_copy(b));
    return r;
}

/* Apply <o> to subject <x> (borrowed).  Returns 1 when it holds. */
static int apply(const struct check_op *o, jv x, const struct expect_env *env,
                 const char *what, struct sbuf *expected, struct sbuf *msg)
{
    int secret_before = env->secret ? *env->secret : 0;
    int ok = 0;
    jv want = jv_invalid();
    double n;
    size_t i, len;
    char *text;

    switch (o->op) {
    case OP_EQ:
    case OP_NE:
    case OP_IN:
    case OP_CONTAINS:
        if (!operand(o->operand, env, &want, msg))
            return -1;
        break;
    default:
        break;
    }
    if (o->op == OP_NE)
        sbuf_adds(expected, "!= ");
    if (env->secret && *env->secret != secret_before)
        sbuf_adds(expected, "(secret)");
    else if (jv_is_valid(want))
        show_jv(expected, jv_copy(want));
    switch (o->op) {
    case OP_EQ:
        ok = jv_is_valid(x) && same(x, want);
        break;
    case OP_NE:
        ok = !jv_is_valid(x) || !same(x, want);
        break;
    case OP_IN:
        for (i = 0; jv_is_valid(x) &&
                    i < (size_t)jv_array_length(jv_copy(want)) && !ok;
             i++) {
            jv item = jv_array_get(jv_copy(want), (int)i);

            ok = same(x, item);
            jv_free(item);
        }
        break;
    case OP_LT:
    case OP_LE:
    case OP_GT:
    case OP_GE:
        sbuf_addf(expected, "%s %g",
                  o->op == OP_LT   ? "<"
                  : o->op == OP_LE ? "<="
                  : o->op == OP_GT ? ">"
                                   : ">=",
                  o->number);
        if (!as_number(x, &n))
            break;
        ok = o->op == OP_LT   ? n < o->number
             : o->op == OP_LE ? n <= o->number
             : o->op == OP_GT ? n > o->number
                              : n >= o->number;
        break;
    case OP_MATCHES: {
        pcre2_match_data *md;

        sbuf_adds(expected, "a match");
        if (!jv_is_valid(x) || jv_get_kind(x) == JV_KIND_NULL)
            break;
        text = as_text(x, &len);
        md = pcre2_match_data_create_from_pattern(o->re, NULL);
        {
            struct sbuf why = SBUF_INIT;
            int rc = regex_run(o->re, text, len, md, &why);

            ok = rc >= 0;
            if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) {
                sbuf_addf(msg, "%s matches: %s", what, why.buf);
                ok = -1;
            }
            sbuf_release(&why);
        }
        pcre2_match_data_free(md);
        free(text);
        break;
    }
    case OP_CONTAINS:
        if (jv_get_kind(x) == JV_KIND_ARRAY) {
            jv_array_foreach(x, j, item)
            {
                if (!ok)
                    ok = same(item, want);
                jv_free(item);
            }
        } else if (jv_get_kind(x) == JV_KIND_OBJECT &&
                   jv_get_kind(want) == JV_KIND_STRING) {
            ok = jv_object_has(jv_copy(x), jv_copy(want));
        } else if (jv_is_valid(x) && jv_get_kind(x) != JV_KIND_NULL) {
            char *w;
            size_t wl;

            text = as_text(x, &len);
            w = as_text(want, &wl);
            ok = memmem(text, len, w, wl) != NULL;
            free(text);
            free(w);
        }
        break;
    case OP_EXISTS:
        sbuf_adds(expected, o->flag ? "a value" : "nothing");
        ok = (jv_is_valid(x) && jv_get_kind(x) != JV_KIND_NULL) == o->flag;
        break;
    case OP_TYPE:
        sbuf_adds(expected, o->type_name);
        ok = strcmp(kind_name(x), o->type_name) == 0;
        break;
    }
    jv_free(want);
    return ok;
}

static void sha256_hex(const struct sbuf *b, char out[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    unsigned i;

    EVP_Digest(b->buf, b->len, md, &mdlen, EVP_sha256(), NULL);
    for (i = 0; i < 32; i++)
        snprintf(out + i * 2, 3, "%02x", md[i]);
}

/* Group 1 of the first match of <re> in the body (the whole match when the
 * pattern has no group), or jv_invalid().  An engine error sets *<bad> and
 * appends the reason to <msg>. */
static jv regex_subject(const pcre2_code *re, const struct sbuf *body,
                        struct sbuf *msg, int *bad)
{
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    PCRE2_SIZE *ov;
    int rc = regex_run(re, body->buf, body->len, md, msg);
    jv out = jv_invalid();

    *bad = rc < 0 && rc != PCRE2_ERROR_NOMATCH ? 2 : 0;
    if (rc > 0) {
        int g = rc > 1 ? 1 : 0;

        ov = pcre2_get_ovector_pointer(md);
        if (ov[2 * g] != PCRE2_UNSET)
            out = jv_string_sized(body->buf + ov[2 * g],
                                  (int)(ov[2 * g + 1] - ov[2 * g]));
    }
    pcre2_match_data_free(md);
    return out;
}

/* The subject of <ck> on <v>; describes it in <what>.  jv_invalid() when
 * absent; -1 in *<bad> with <msg> set when it cannot be computed. */
static jv subject(const struct check *ck, struct resp_view *v,
                  struct sbuf *what, struct sbuf *msg, int *bad)
{
    const struct http_resp *r = v->resp;
    struct sbuf why = SBUF_INIT;
    struct pw_err err;
    char hex[65];
    const char *h;
    jv out;

    *bad = 0;
    switch (ck->subject) {
    case SUBJ_JQ:
        sbuf_addf(what, "jq %s", ck->text);
        if (resp_view_jq(v, ck->jq, &out, &err) != PW_OK) {
            sbuf_addf(msg, "jq %s: %s", ck->text, err.msg);
            /* Past a limit, or a child that died: the check could not be
             * evaluated, which says nothing about the target. */
            *bad = err.code == PW_ERR_TIMEOUT || err.code == PW_ERR_TOOBIG ||
                           err.code == PW_ERR_IO
                       ? 2
                       : 1;
            return jv_invalid();
        }
        return out;
    case SUBJ_HEADER:
        sbuf_addf(what, "header %s", ck->text);
        h = http_resp_header(r, ck->text);
        return h ? jv_string(h) : jv_invalid();
    case SUBJ_BODY_TEXT:
        sbuf_adds(what, "body");
        return jv_string_sized(r->body.buf, (int)r->body.len);
    case SUBJ_BODY_SIZE:
        sbuf_adds(what, "body size");
        return jv_number((double)r->body.len);
    case SUBJ_BODY_SHA256:
        sbuf_adds(what, "body sha256");
        sha256_hex(&r->body, hex);
        return jv_string(hex);
    case SUBJ_REGEX:
        sbuf_addf(what, "regex %s", ck->text);
        out = regex_subject(ck->re, &r->body, &why, bad);
        if (*bad)
            sbuf_addf(msg, "regex %s: %s", ck->text, why.buf);
        sbuf_release(&why);
        return out;
    case SUBJ_TLS_DAYS_LEFT:
        sbuf_adds(what, "tls_days_left");
        /* Unknown (no TLS) is "nothing"; an expired one is negative. */
        return r->cert_days_left != HTTP_CERT_UNKNOWN
                   ? jv_number((double)r->cert_days_left)
                   : jv_invalid();
    case SUBJ_STATUS:
        sbuf_adds(what, "status");
        return jv_number((double)r->status);
    }
    return jv_invalid();
}

int expect_status_ok(const struct status_range *ranges, size_t n, long status)
{
    size_t i;

    if (n == 0)
        return status >= 100 && status < 400;
    for (i = 0; i < n; i++)
        if (status >= (long)ranges[i].lo && status <= (long)ranges[i].hi)
            return 1;
    return 0;
}

static void show_statuses(struct sbuf *m, const struct expect *e)
{
    size_t i;

    if (e->nstatus == 0) {
        sbuf_adds(m, "below 400");
        return;
    }
    for (i = 0; i < e->nstatus; i++) {
        if (i)
            sbuf_adds(m, i + 1 == e->nstatus ? " or " : ", ");
        if (e->status[i].lo == e->status[i].hi)
            sbuf_addf(m, "%u", e->status[i].lo);
        else
            sbuf_addf(m, "%cxx", '0' + e->status[i].lo / 100);
    }
}

int expect_check(const struct expect *e, struct resp_view *v,
                 const struct expect_env *env, struct sbuf *msg)
{
    const struct http_resp *r = v->resp;
    size_t i, j;

    if (!expect_status_ok(e->status, e->nstatus, r->status)) {
        sbuf_adds(msg, "status: expected ");
        show_statuses(msg, e);
        sbuf_addf(msg, ", got %ld", r->status);
        return 0;
    }
    if (e->duration_ms &&
        (e->duration_op == OP_LE ? r->total_ms > (double)e->duration_ms
                                 : r->total_ms >= (double)e->duration_ms)) {
        sbuf_addf(msg, "duration: expected %s %llums, got %.0fms",
                  e->duration_op == OP_LE ? "<=" : "<",
                  (unsigned long long)e->duration_ms, r->total_ms);
        return 0;
    }
    for (i = 0; i < e->nchecks; i++) {
        const struct check *ck = &e->checks[i];
        struct sbuf what = SBUF_INIT;
        int bad;
        jv x = subject(ck, v, &what, msg, &bad);

        if (bad) {
            sbuf_release(&what);
            return bad == 2 ? -1 : 0;
        }
        for (j = 0; j < ck->nops; j++) {
            struct sbuf expected = SBUF_INIT;
            int ok = apply(&ck->ops[j], x, env, what.buf, &expected, msg);

            if (ok == 1) {
                sbuf_release(&expected);
                continue;
            }
            if (ok == 0) {
                sbuf_addf(msg, "%s %s: expected %s, got ", what.buf,
                          op_name(ck->ops[j].op), expected.buf);
                if (ck->ops[j].op == OP_TYPE && jv_is_valid(x))
                    sbuf_addf(msg, "%s ", kind_name(x));
                show_jv(msg, jv_copy(x));
            }
            sbuf_release(&expected);
            sbuf_release(&what);
            jv_free(x);
            return ok;
        }
        sbuf_release(&what);
        jv_free(x);
    }
    return 1;
}

int expect_capture(const struct capture *cp, struct resp_view *v,
                   struct sbuf *out, struct sbuf *msg)
{
    struct pw_err err;
    const char *h;
    jv x;
    char *text;
    size_t len;

    switch (cp->kind) {
    case CAP_STATUS:
        sbuf_addf(out, "%ld", v->resp->status);
        return 1;
    case CAP_HEADER:
        h = http_resp_header(v->resp, cp->text);
        if (h == NULL) {
            sbuf_addf(msg, "capture %s: no header %s", cp->name, cp->text);
            return 0;
        }
        sbuf_adds(out, h);
        return 1;
    case CAP_REGEX: {
        struct sbuf why = SBUF_INIT;
        int bad;

        x = regex_subject(cp->re, &v->resp->body, &why, &bad);
        if (bad)
            sbuf_addf(msg, "capture %s: %s", cp->name, why.buf);
        sbuf_release(&why);
        if (bad)
            return 0;
        break;
    }
    case CAP_JQ:
        if (resp_view_jq(v, cp->jq, &x, &err) != PW_OK) {
            sbuf_addf(msg, "capture %s: %s", cp->name, err.msg);
            return 0;
        }
        break;
    default:
        return 0;
    }
    if (!jv_is_valid(x) || jv_get_kind(x) == JV_KIND_NULL) {
        jv_free(x);
        sbuf_addf(msg, "capture %s: %s %s found nothing", cp->name,
                  cp->kind == CAP_JQ ? "jq" : "regex", cp->text);
        return 0;
    }
    text = as_text(x, &len);
    sbuf_add(out, text, len);
    free(text);
    jv_free(x);
    return 1;
}
