/* jqset.c -- batched compilation and indexed evaluation of jq programs. */
#include <jq.h>
#include <stdlib.h>
#include <string.h>

#include "jqset.h"
#include "sbuf.h"
#include "xalloc.h"

struct jqexpr {
    char *text;
    struct pos pos;
    char *file; /* owned copy of pos.file */
    int ok;     /* passed precheck and compiled */
};

struct jqchunk {
    jq_state *jq; /* the combined program of this chunk */
};

struct jqset {
    struct jqexpr *items;
    size_t n, alloc;
    struct jqchunk *chunks;
    size_t nchunks;
    size_t *chunk_of; /* items index -> chunk */
    size_t *slot;     /* items index -> definition number in its chunk */
    char first_msg[PW_ERR_LEN];
    int have_msg;
};

/* Expressions per jq_state.  Binding jq's builtins costs time linear in
 * the program size, but the parser and binder grow worse than linearly
 * past a few hundred definitions (and bison's stack overflows near ten
 * thousand), so the set is compiled in chunks. */
#define CHUNK 128

#define DEF_PREFIX "_pw"

struct jqset *jqset_new(void)
{
    return xcalloc(1, sizeof(struct jqset));
}

void jqset_free(struct jqset *s)
{
    size_t i;

    if (s == NULL)
        return;
    for (i = 0; i < s->n; i++) {
        free(s->items[i].text);
        free(s->items[i].file);
    }
    free(s->items);
    free(s->slot);
    free(s->chunk_of);
    for (i = 0; i < s->nchunks; i++)
        if (s->chunks[i].jq)
            jq_teardown(&s->chunks[i].jq);
    free(s->chunks);
    free(s);
}

size_t jqset_add(struct jqset *s, const char *expr, struct pos p)
{
    struct jqexpr *e;

    XGROW(s->items, s->n + 1, s->alloc);
    e = &s->items[s->n];
    e->text = xstrdup(expr);
    e->file = xstrdup(p.file ? p.file : "<input>");
    e->pos = p;
    e->pos.file = e->file;
    e->ok = 0;
    return s->n++;
}

size_t jqset_count(const struct jqset *s)
{
    return s->n;
}

pw_status jqset_precheck(const char *expr, struct pw_err *err)
{
    char stack[256];
    size_t depth = 0;
    const char *p;
    int in_str = 0;

    for (p = expr; *p && (*p == ' ' || *p == '\t' || *p == '\n'); p++)
        ;
    if (*p == '\0')
        return pw_err_set(err, PW_ERR_PARSE, "empty jq program");
    for (p = expr; *p; p++) {
        char c = *p, open;

        if (in_str) {
            if (c == '\\' && p[1] == '(') {
                if (depth == sizeof(stack))
                    goto deep;
                stack[depth++] = 'I'; /* interpolation: back to string */
                in_str = 0;
                p++;
            } else if (c == '\\' && p[1]) {
                p++;
            } else if (c == '"') {
                in_str = 0;
            }
            continue;
        }
        switch (c) {
        case '"':
            in_str = 1;
            break;
        case '#':
            while (p[1] && p[1] != '\n')
                p++;
            break;
        case '(':
        case '[':
        case '{':
            if (depth == sizeof(stack))
                goto deep;
            stack[depth++] = c;
            break;
        case ')':
        case ']':
        case '}':
            open = c == ')' ? '(' : c == ']' ? '[' : '{';
            if (depth == 0 || (stack[depth - 1] != open &&
                               !(open == '(' && stack[depth - 1] == 'I')))
                return pw_err_set(err, PW_ERR_PARSE,
                                  "jq program has an unmatched '%c' at "
                                  "offset %zu",
                                  c, (size_t)(p - expr));
            if (stack[--depth] == 'I')
                in_str = 1;
            break;
        default:
            break;
        }
    }
    if (in_str)
        return pw_err_set(err, PW_ERR_PARSE,
                          "jq program has an unterminated string");
    if (depth)
        return pw_err_set(err, PW_ERR_PARSE, "jq program has an unclosed '%c'",
                          stack[depth - 1] == 'I' ? '(' : stack[depth - 1]);
    return PW_OK;
deep:
    return pw_err_set(err, PW_ERR_PARSE, "jq program nested too deeply");
}

static void on_jq_error(void *data, jv msg)
{
    struct jqset *s = data;
    const char *text, *cut;
    size_t len;

    if (s->have_msg || jv_get_kind(msg) != JV_KIND_STRING) {
        jv_free(msg);
        return;
    }
    text = jv_string_value(msg);
    if (strncmp(text, "jq: error: ", 11) == 0)
        text += 11;
    len = strlen(text);
    cut = strstr(text, " at <top-level>");
    if (cut)
        len = (size_t)(cut - text);
    cut = strstr(text, " (Unix shell quoting issues?)");
    if (cut && (size_t)(cut - text) < len)
        len = (size_t)(cut - text);
    if (len >= sizeof(s->first_msg))
        len = sizeof(s->first_msg) - 1;
    memcpy(s->first_msg, text, len);
    s->first_msg[len] = '\0';
    s->have_msg = 1;
    jv_free(msg);
}

/* Emit the selector over definitions [lo, hi) into <b>. */
static void emit_select(struct sbuf *b, size_t lo, size_t hi)
{
    size_t mid;

    if (hi - lo == 1) {
        sbuf_addf(b, DEF_PREFIX "%zu", lo);
        return;
    }
    mid = lo + (hi - lo) / 2;
    sbuf_addf(b, "if $pw_i < %zu then ", mid);
    emit_select(b, lo, mid);
    sbuf_adds(b, " else ");
    emit_select(b, mid, hi);
    sbuf_adds(b, " end");
}

/* Compile items <idx>[0..n) as one program into a new jq_state stored in
 * *<out> (NULL for a throw-away check).  Returns 1 on success. */
static int compile_group(struct jqset *s, const size_t *idx, size_t n,
                         jq_state **out)
{
    struct sbuf prog = SBUF_INIT;
    jq_state *jq = jq_init();
    size_t i;
    int ok;

    if (jq == NULL) {
        fprintf(stderr, "prodwatch: cannot initialise libjq\n");
        abort();
    }
    for (i = 0; i < n; i++)
        sbuf_addf(&prog, "def " DEF_PREFIX "%zu: (%s\n);\n", i,
                  s->items[idx[i]].text);
    /* The selector references every definition even for a trial compile:
     * jq drops unreferenced definitions before binding their names. */
    sbuf_adds(&prog, ".[0] as $pw_i | .[1] | ");
    emit_select(&prog, 0, n);
    s->have_msg = 0;
    jq_set_error_cb(jq, on_jq_error, s);
    ok = jq_compile(jq, prog.buf);
    sbuf_release(&prog);
    if (ok && out)
        *out = jq;
    else
        jq_teardown(&jq);
    return ok;
}

/* Find the expressions in idx[0..n) that do not compile, knowing the group
 * as a whole does not, and report each. */
static void bisect(struct jqset *s, size_t *idx, size_t n, struct diag *d)
{
    size_t half = n / 2;

    if (n == 1) {
        jq_state *jq = jq_init();
        struct jqexpr *e = &s->items[idx[0]];

        s->have_msg = 0;
        jq_set_error_cb(jq, on_jq_error, s);
        if (!jq_compile(jq, e->text)) {
            e->ok = 0;
            diag_add(d, e->pos, "jq: %s",
                     s->have_msg ? s->first_msg : "does not compile");
        } else {
            /* Compiles alone but not among others: should not happen. */
            e->ok = 0;
            diag_add(d, e->pos, "jq: program does not compile");
        }
        jq_teardown(&jq);
        return;
    }
    if (!compile_group(s, idx, half, NULL))
        bisect(s, idx, half, d);
    if (!compile_group(s, idx + half, n - half, NULL))
        bisect(s, idx + half, n - half, d);
}

/* Compile the expressions <idx>[0..n) into chunk <c>: find and report
 * the ones that fail, then build the chunk from the rest. */
static pw_status compile_chunk(struct jqset *s, size_t *idx, size_t n, size_t c,
                               struct diag *d)
{
    pw_status rc = PW_OK;
    size_t i, good = 0;

    if (!compile_group(s, idx, n, &s->chunks[c].jq)) {
        rc = PW_ERR_PARSE;
        bisect(s, idx, n, d);
        for (i = 0; i < n; i++)
            if (s->items[idx[i]].ok)
                idx[good++] = idx[i];
        n = good;
        if (n > 0 && !compile_group(s, idx, n, &s->chunks[c].jq)) {
            /* Each compiles alone but not together: keep none. */
            for (i = 0; i < n; i++) {
                s->items[idx[i]].ok = 0;
                diag_add(d, s->items[idx[i]].pos,
                         "jq: program does not compile with the others");
            }
            n = 0;
        }
    }
    for (i = 0; i < n; i++) {
        s->chunk_of[idx[i]] = c;
        s->slot[idx[i]] = i;
    }
    return rc;
}

pw_status jqset_compile(struct jqset *s, struct diag *d)
{
    size_t *idx = xcalloc(s->n ? s->n : 1, sizeof(*idx));
    size_t i, n = 0, start;
    pw_status rc = PW_OK;
    struct pw_err err;

    for (i = 0; i < s->n; i++) {
        if (jqset_precheck(s->items[i].text, &err) != PW_OK) {
            diag_add(d, s->items[i].pos, "%s", err.msg);
            rc = PW_ERR_PARSE;
            continue;
        }
        s->items[i].ok = 1;
        idx[n++] = i;
    }
    s->slot = xcalloc(s->n ? s->n : 1, sizeof(*s->slot));
    s->chunk_of = xcalloc(s->n ? s->n : 1, sizeof(*s->chunk_of));
    s->chunks = xcalloc(n / CHUNK + 1, sizeof(*s->chunks));
    for (start = 0; start < n; start += CHUNK) {
        size_t len = n - start < CHUNK ? n - start : CHUNK;

        if (compile_chunk(s, idx + start, len, s->nchunks++, d) != PW_OK)
            rc = PW_ERR_PARSE;
    }
    free(idx);
    return rc;
}

pw_status jqset_eval(struct jqset *s, size_t idx, jv input, jv *out,
                     struct pw_err *err)
{
    jv result;

    jq_state *jq;

    if (idx >= s->n || !s->items[idx].ok || s->chunks == NULL ||
        s->chunks[s->chunk_of[idx]].jq == NULL) {
        jv_free(input);
        *out = jv_invalid();
        return pw_err_set(err, PW_ERR_INVALID, "jq program did not compile");
    }
    jq = s->chunks[s->chunk_of[idx]].jq;
    jq_start(jq, JV_ARRAY(jv_number((double)s->slot[idx]), input), 0);
    result = jq_next(jq);
    if (!jv_is_valid(result) && jv_invalid_has_msg(jv_copy(result))) {
        jv msg = jv_invalid_get_msg(result);

        if (jv_get_kind(msg) == JV_KIND_STRING) {
            pw_err_set(err, PW_ERR_INVALID, "jq: %s", jv_string_value(msg));
        } else {
            msg = jv_dump_string(msg, 0);
            pw_err_set(err, PW_ERR_INVALID, "jq: %s", jv_string_value(msg));
        }
        jv_free(msg);
        *out = jv_invalid();
        return PW_ERR_INVALID;
    }
    *out = result;
    return PW_OK;
}
