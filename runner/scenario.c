/* scenario.c -- loading and validating scenario files.
 *
 * The loader walks the YAML tree once, building the records of
 * scenario.h and reporting every problem with its position.  Template
 * references are checked against a scope that grows as the steps do, so
 * "a capture used before the step that captures it" is caught here.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "load.h"
#include "scenario.h"
#include "strutil.h"
#include "units.h"
#include "xalloc.h"

#define DEFAULT_EVERY_MS       (5 * 60 * 1000)
#define DEFAULT_TIMEOUT_MS     (10 * 1000)
#define DEFAULT_RUN_TIMEOUT_MS (5 * 60 * 1000)

struct capname {
    const char *name; /* borrowed from the YAML tree */
    size_t step;
};

struct scenario {
    char *file;
    struct pos pos;
    char *name;
    char *description;
    char **tags;
    size_t ntags;
    enum severity severity;
    unsigned trigger_after, resolve_after; /* 0: the configuration's */
    uint64_t every_ms, timeout_ms;
    char **targets;
    size_t ntargets;
    char **locations; /* probed only from these; none: every location */
    size_t nlocations;
    struct matrix *matrix;
    struct pos size_pos; /* the key deciding how many rows there are */
    struct kv *vars;
    size_t nvars;
    struct step *steps;
    size_t nsteps;
};

/* What a template may refer to at a given place. */
struct scope {
    const struct scenario *sc;
    size_t nvars;          /* scenario vars visible (earlier ones) */
    const char **all_vars; /* every var name of the file */
    size_t nall_vars;
    const char **tvars; /* vars every target of the scenario has */
    size_t ntvars;
    const struct capname *caps; /* every capture of the scenario */
    size_t ncaps;
    size_t step; /* captures from steps < step are visible */
    const char *const *step_names;
};

struct sload {
    struct loadctx c;
    struct scenario *sc;
    const struct config *cfg;
    struct jqset *jq;
    struct scope scope;
    struct capname *caps;
    size_t ncaps, caps_alloc;
    const char **step_names;
};

const char *severity_name(enum severity s)
{
    static const char *const names[] = { "critical", "error", "warning",
                                         "info" };

    return names[s];
}

/* ---- Freeing ---- */

static void tval_free(struct tval *v)
{
    size_t i;

    if (v == NULL)
        return;
    for (i = 0; i < v->n; i++) {
        tval_free(v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->text);
    tmpl_free(v->str);
    free(v);
}

static void request_release(struct request *r)
{
    free(r->method);
    tmpl_free(r->url);
    kv_free_array(r->headers, r->nheaders);
    kv_free_array(r->query, r->nquery);
    kv_free_array(r->form, r->nform);
    tval_free(r->json);
    tmpl_free(r->body);
    tmpl_free(r->user);
    tmpl_free(r->password);
    tmpl_free(r->token);
    for (size_t i = 0; i < r->nredirect_hosts; i++)
        free(r->redirect_hosts[i]);
    free(r->redirect_hosts);
}

static void expect_release(struct expect *e)
{
    size_t i, j;

    for (i = 0; i < e->nchecks; i++) {
        struct check *ck = &e->checks[i];

        for (j = 0; j < ck->nops; j++) {
            tval_free(ck->ops[j].operand);
            free(ck->ops[j].type_name);
            free(ck->ops[j].pattern);
            pcre2_code_free(ck->ops[j].re);
        }
        free(ck->ops);
        free(ck->text);
        pcre2_code_free(ck->re);
    }
    free(e->checks);
    free(e->status);
}

void scenario_free(struct scenario *sc)
{
    size_t i, j;

    if (sc == NULL)
        return;
    for (i = 0; i < sc->nsteps; i++) {
        struct step *st = &sc->steps[i];

        tmpl_free(st->name);
        request_release(&st->req);
        expect_release(&st->expect);
        for (j = 0; j < st->ncaptures; j++) {
            free(st->captures[j].name);
            free(st->captures[j].text);
            pcre2_code_free(st->captures[j].re);
        }
        free(st->captures);
        if (st->cleanup) {
            request_release(st->cleanup);
            free(st->cleanup);
        }
        expect_release(&st->cleanup_expect);
    }
    free(sc->steps);
    kv_free_array(sc->vars, sc->nvars);
    matrix_free(sc->matrix);
    for (i = 0; i < sc->ntags; i++)
        free(sc->tags[i]);
    free(sc->tags);
    for (i = 0; i < sc->ntargets; i++)
        free(sc->targets[i]);
    free(sc->targets);
    for (i = 0; i < sc->nlocations; i++)
        free(sc->locations[i]);
    free(sc->locations);
    free(sc->name);
    free(sc->description);
    free(sc->file);
    free(sc);
}

/* ---- Template scope ---- */

static int in_list(const char *s, const char *const *list, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (list[i] && strcmp(s, list[i]) == 0)
            return 1;
    return 0;
}

static const char *const roots[] = { "matrix", "target", "vars", "secret",
                                     "env",    "run",    "test", "now" };
static const char *const target_fields[] = { "name", "base_url", "channel",
                                             "vars" };
static const char *const run_fields[] = { "id", "started" };
static const char *const test_fields[] = { "id", "scenario", "target" };

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static int scope_has_var(const struct scope *s, const char *name)
{
    size_t i;

    for (i = 0; i < s->nvars; i++)
        if (strcmp(s->sc->vars[i].name, name) == 0)
            return 1;
    return in_list(name, s->tvars, s->ntvars);
}

/* Report <ref> (a dotted path) at <p> if it cannot exist in <s>. */
static void check_ref(struct sload *L, const struct scope *s, const char *ref,
                      struct pos p)
{
    const struct matrix *m = s->sc->matrix;
    char *copy = xstrdup(ref);
    char *segs[4] = { NULL, NULL, NULL, NULL };
    size_t n = 0, i;
    char *save = NULL, *tok;
    const char *hint = NULL;

    for (tok = strtok_r(copy, ".", &save); tok;
         tok = strtok_r(NULL, ".", &save))
        if (n < NELEM(segs))
            segs[n++] = tok;
        else
            n++;
    if (n > NELEM(segs))
        goto unknown;
    if (strcmp(segs[0], "matrix") == 0) {
        const char **names;
        size_t np = m ? matrix_param_count(m) : 0;

        if (n == 2 && m && matrix_find_param(m, segs[1]) >= 0)
            goto ok;
        if (np == 0) {
            diag_add(L->c.d, p,
                     "unknown name '%s': the scenario has no "
                     "matrix",
                     ref);
            goto done;
        }
        names = xcalloc(np, sizeof(char *));
        for (i = 0; i < np; i++)
            names[i] = matrix_param_name(m, i);
        hint = n == 2 ? str_suggest(segs[1], names, np) : NULL;
        if (hint)
            diag_add(L->c.d, p,
                     "unknown matrix parameter '%s'; did you "
                     "mean 'matrix.%s'?",
                     n == 2 ? segs[1] : ref, hint);
        else
            diag_add(L->c.d, p, "unknown matrix parameter in '%s'", ref);
        free(names);
        goto done;
    }
    if (strcmp(segs[0], "target") == 0) {
        if (n == 2 && strcmp(segs[1], "vars") != 0 &&
            in_list(segs[1], target_fields, NELEM(target_fields)))
            goto ok;
        if (n == 3 && strcmp(segs[1], "vars") == 0) {
            if (in_list(segs[2], s->tvars, s->ntvars))
                goto ok;
            diag_add(L->c.d, p,
                     "unknown name '%s': not every target of "
                     "this scenario defines var '%s'",
                     ref, segs[2]);
            goto done;
        }
        hint = n == 2
                   ? str_suggest(segs[1], target_fields, NELEM(target_fields))
                   : NULL;
        if (hint) {
            diag_add(L->c.d, p,
                     "unknown name '%s'; did you mean "
                     "'target.%s'?",
                     ref, hint);
            goto done;
        }
        goto unknown;
    }
    if (strcmp(segs[0], "vars") == 0) {
        if (n == 2 && scope_has_var(s, segs[1]))
            goto ok;
        goto unknown;
    }
    if (strcmp(segs[0], "secret") == 0 || strcmp(segs[0], "env") == 0) {
        if (n != 2)
            goto unknown;
        if (segs[0][0] == 's')
            load_check_secret(&L->c, segs[1], p);
        goto ok;
    }
    if (strcmp(segs[0], "run") == 0 || strcmp(segs[0], "test") == 0) {
        const char *const *f = segs[0][0] == 'r' ? run_fields : test_fields;
        size_t nf = segs[0][0] == 'r' ? NELEM(run_fields) : NELEM(test_fields);

        if (n == 2 && in_list(segs[1], f, nf))
            goto ok;
        hint = n == 2 ? str_suggest(segs[1], f, nf) : NULL;
        if (hint) {
            diag_add(L->c.d, p, "unknown name '%s'; did you mean '%s.%s'?", ref,
                     segs[0], hint);
            goto done;
        }
        goto unknown;
    }
    if (n == 1) {
        if (strcmp(segs[0], "now") == 0 || scope_has_var(s, segs[0]))
            goto ok;
        for (i = 0; i < s->ncaps; i++) {
            if (strcmp(s->caps[i].name, segs[0]) != 0)
                continue;
            if (s->caps[i].step < s->step)
                goto ok;
        }
        for (i = 0; i < s->ncaps; i++) {
            if (strcmp(s->caps[i].name, segs[0]) == 0) {
                diag_add(L->c.d, p,
                         "'%s' is used before it is captured "
                         "(by step '%s')",
                         ref, s->step_names[s->caps[i].step]);
                goto done;
            }
        }
        for (i = 0; i < s->nall_vars; i++) {
            if (strcmp(s->all_vars[i], segs[0]) == 0) {
                diag_add(L->c.d, p,
                         "var '%s' is used before it is "
                         "defined",
                         ref);
                goto done;
            }
        }
    }
unknown : {
    /* Suggest among every bare name that would have been valid. */
    size_t cap = s->nvars + s->ntvars + s->ncaps + NELEM(roots);
    const char **cands = xcalloc(cap, sizeof(char *));
    size_t k = 0;

    for (i = 0; i < s->nvars; i++)
        cands[k++] = s->sc->vars[i].name;
    for (i = 0; i < s->ntvars; i++)
        cands[k++] = s->tvars[i];
    for (i = 0; i < s->ncaps; i++)
        if (s->caps[i].step < s->step)
            cands[k++] = s->caps[i].name;
    for (i = 0; i < NELEM(roots); i++)
        cands[k++] = roots[i];
    hint = str_suggest(segs[0], cands, k);
    if (hint)
        diag_add(L->c.d, p, "unknown name '%s'; did you mean '%s'?", ref, hint);
    else
        diag_add(L->c.d, p, "unknown name '%s'", ref);
    free(cands);
}
ok:
done:
    free(copy);
}

static void check_tmpl_refs(struct sload *L, const struct ynode *n,
                            const struct tmpl *t)
{
    size_t i;

    for (i = 0; i < tmpl_ref_count(t); i++) {
        size_t off;
        const char *ref = tmpl_ref_at(t, i, &off);

        check_ref(L, &L->scope, ref, load_pos_in(&L->c, n, off));
    }
}

/* Compile scalar <n> as a template and check its names. */
static struct tmpl *s_tmpl(struct sload *L, const struct ynode *n,
                           const char *what)
{
    struct tmpl *t = load_tmpl(&L->c, n, what);

    if (t)
        check_tmpl_refs(L, n, t);
    return t;
}

/* ---- Small pieces ---- */

static struct kv *s_kv_map(struct sload *L, const struct ynode *n,
                           const char *what, size_t *count)
{
    struct kv *kv;
    size_t i, k = 0;

    *count = 0;
    if (!load_want_map(&L->c, n, what))
        return NULL;
    kv = xcalloc(n->len ? n->len : 1, sizeof(*kv));
    for (i = 0; i < n->len; i++) {
        struct tmpl *t = s_tmpl(L, n->pairs[i].value, what);

        if (t == NULL)
            continue;
        kv[k].name = xstrdup(n->pairs[i].key->str);
        kv[k].value = t;
        kv[k].pos = ynode_pos(L->c.doc, n->pairs[i].key);
        k++;
    }
    *count = k;
    return kv;
}

static struct tval *s_tval(struct sload *L, const struct ynode *n)
{
    struct tval *v = xcalloc(1, sizeof(*v));
    size_t i;

    switch (n->kind) {
    case Y_SCALAR:
        if (load_is_null(n)) {
            v->kind = TV_NULL;
        } else if (load_is_bool(n)) {
            v->kind = TV_BOOL;
            v->text = xstrdup(n->str[0] == 't' || n->str[0] == 'T' ? "true"
                                                                   : "false");
        } else if (load_is_number(n)) {
            v->kind = TV_NUM;
            v->text = xstrdup(n->str);
        } else {
            v->kind = TV_STR;
            v->str = s_tmpl(L, n, "a value");
        }
        break;
    case Y_SEQ:
        v->kind = TV_SEQ;
        v->n = n->len;
        v->items = xcalloc(n->len ? n->len : 1, sizeof(*v->items));
        for (i = 0; i < n->len; i++)
            v->items[i] = s_tval(L, n->items[i]);
        break;
    case Y_MAP:
        v->kind = TV_MAP;
        v->n = n->len;
        v->items = xcalloc(n->len ? n->len : 1, sizeof(*v->items));
        v->keys = xcalloc(n->len ? n->len : 1, sizeof(*v->keys));
        for (i = 0; i < n->len; i++) {
            v->keys[i] = xstrdup(n->pairs[i].key->str);
            v->items[i] = s_tval(L, n->pairs[i].value);
        }
        break;
    }
    return v;
}

static pcre2_code *s_regex(struct sload *L, const struct ynode *n,
                           const char *what)
{
    const char *src = load_str(&L->c, n, what);
    PCRE2_UCHAR msg[160];
    PCRE2_SIZE off = 0;
    pcre2_code *re;
    int code = 0;

    if (src == NULL)
        return NULL;
    re = pcre2_compile((PCRE2_SPTR)src, n->len,
                       PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &code, &off, NULL);
    if (re != NULL) {
        /* JIT where the platform has it; the interpreter otherwise. */
        pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
    } else {
        pcre2_get_error_message(code, msg, sizeof(msg));
        diag_add(L->c.d, load_pos_in(&L->c, n, off),
                 "%s: regex error at offset %zu: %s", what, (size_t)off,
                 (const char *)msg);
    }
    return re;
}

static size_t s_jq(struct sload *L, const struct ynode *n, const char *what)
{
    const char *src = load_str(&L->c, n, what);

    if (src == NULL)
        return (size_t)-1;
    return jqset_add(L->jq, src, ynode_pos(L->c.doc, n));
}

/* ---- Requests ---- */

static int valid_method(const char *m)
{
    const char *p;

    if (*m == '\0' || strlen(m) > 20)
        return 0;
    for (p = m; *p; p++)
        if (!isupper((unsigned char)*p))
            return 0;
    return 1;
}

static void check_url_literal(struct sload *L, const struct ynode *n)
{
    if (n->kind != Y_SCALAR || strncmp(n->str, "{{", 2) == 0)
        return;
    if (strncmp(n->str, "http://", 7) != 0 &&
        strncmp(n->str, "https://", 8) != 0)
        load_err(&L->c, n,
                 "url must start with http://, https:// or a "
                 "template such as {{ target.base_url }}");
}

static const char *const request_keys[] = { "method",
                                            "url",
                                            "headers",
                                            "query",
                                            "json",
                                            "body",
                                            "form",
                                            "auth",
                                            "timeout",
                                            "connect_timeout",
                                            "follow_redirects",
                                            "redirect_hosts",
                                            "max_body",
                                            "max_headers",
                                            NULL };

static void load_auth(struct sload *L, const struct ynode *n, struct request *r)
{
    static const char *const keys[] = { "basic", "bearer", NULL };
    static const char *const basic_keys[] = { "user", "password", NULL };
    const struct ynode *v;

    if (!load_want_map(&L->c, n, "auth"))
        return;
    load_check_keys(&L->c, n, keys, "auth");
    if (n->len != 1) {
        load_err(&L->c, n, "auth takes one of basic or bearer");
        return;
    }
    v = ymap_get(n, "bearer");
    if (v) {
        r->auth = AUTH_BEARER;
        r->token = s_tmpl(L, v, "bearer");
        return;
    }
    v = ymap_get(n, "basic");
    if (v && load_want_map(&L->c, v, "basic")) {
        const struct ynode *u = ymap_get(v, "user");
        const struct ynode *pw = ymap_get(v, "password");

        r->auth = AUTH_BASIC;
        load_check_keys(&L->c, v, basic_keys, "basic");
        if (u == NULL || pw == NULL) {
            load_err(&L->c, v, "basic auth needs user and password");
            return;
        }
        r->user = s_tmpl(L, u, "user");
        r->password = s_tmpl(L, pw, "password");
    }
}

/* Load the request keys of mapping <n> (other keys are the caller's). */
static void load_request(struct sload *L, const struct ynode *n,
                         struct request *r, const struct ynode *owner)
{
    const struct ynode *v;
    int bodies = 0;

    r->pos = ynode_pos(L->c.doc, n);
    r->method = xstrdup("GET");
    r->timeout_ms = DEFAULT_TIMEOUT_MS;
    v = ymap_get(n, "method");
    if (v) {
        const char *m = load_str(&L->c, v, "method");

        if (m && !valid_method(m)) {
            load_err(&L->c, v,
                     "method must be an upper-case HTTP method "
                     "such as GET or POST, not '%s'",
                     m);
        } else if (m) {
            free(r->method);
            r->method = xstrdup(m);
        }
    }
    v = ymap_get(n, "url");
    if (v) {
        r->url = s_tmpl(L, v, "url");
        check_url_literal(L, v);
    } else {
        load_err(&L->c, owner ? owner : n, "a request needs a url");
    }
    v = ymap_get(n, "headers");
    if (v)
        r->headers = s_kv_map(L, v, "headers", &r->nheaders);
    v = ymap_get(n, "query");
    if (v)
        r->query = s_kv_map(L, v, "query", &r->nquery);
    v = ymap_get(n, "form");
    if (v) {
        r->form = s_kv_map(L, v, "form", &r->nform);
        bodies++;
    }
    v = ymap_get(n, "json");
    if (v) {
        r->json = s_tval(L, v);
        bodies++;
    }
    v = ymap_get(n, "body");
    if (v) {
        r->body = s_tmpl(L, v, "body");
        bodies++;
    }
    if (bodies > 1)
        load_err(&L->c, n,
                 "a request takes at most one of json, body and "
                 "form");
    v = ymap_get(n, "auth");
    if (v)
        load_auth(L, v, r);
    v = ymap_get(n, "timeout");
    if (v) {
        r->timeout_ms = load_duration(&L->c, v, "timeout", r->timeout_ms);
        if (r->timeout_ms == 0)
            load_err(&L->c, v, "timeout must be more than 0s");
    }
    v = ymap_get(n, "connect_timeout");
    if (v)
        r->connect_timeout_ms = load_duration(&L->c, v, "connect_timeout", 0);
    v = ymap_get(n, "max_body");
    if (v)
        r->max_body = (size_t)load_size(&L->c, v, "max_body", CAP_MAX_BODY, 0);
    v = ymap_get(n, "max_headers");
    if (v)
        r->max_headers =
            (size_t)load_size(&L->c, v, "max_headers", CAP_MAX_HEADERS, 0);
    v = ymap_get(n, "follow_redirects");
    if (v) {
        if (load_is_bool(v))
            r->max_redirects =
                load_bool(&L->c, v, "follow_redirects", 0) ? 10 : 0;
        else
            r->max_redirects =
                (unsigned)load_int(&L->c, v, 0, 50, "follow_redirects", 0);
    }
    v = ymap_get(n, "redirect_hosts");
    if (v && load_want_seq(&L->c, v, "redirect_hosts")) {
        size_t i;

        if (r->max_redirects == 0)
            load_err(&L->c, v, "redirect_hosts needs follow_redirects");
        r->redirect_hosts = xcalloc(v->len ? v->len : 1, sizeof(char *));
        for (i = 0; i < v->len; i++) {
            const char *h = load_str(&L->c, v->items[i], "a host name");
            char *lc;

            if (h == NULL)
                continue;
            if (h[0] == '\0' || strpbrk(h, "/:@ ")) {
                load_err(&L->c, v->items[i],
                         "redirect_hosts: '%s' is not a host name", h);
                continue;
            }
            lc = xstrdup(h);
            for (char *p = lc; *p; p++)
                *p = (char)tolower((unsigned char)*p);
            r->redirect_hosts[r->nredirect_hosts++] = lc;
        }
    }
}

/* ---- Expectations ---- */

static void add_status(struct expect *e, unsigned lo, unsigned hi)
{
    e->status = xrealloc(e->status, (e->nstatus + 1) * sizeof(*e->status));
    e->status[e->nstatus].lo = lo;
    e->status[e->nstatus].hi = hi;
    e->nstatus++;
}

static void load_status_item(struct sload *L, const struct ynode *n,
                             struct expect *e)
{
    if (!load_want_scalar(&L->c, n, "status"))
        return;
    if (n->len == 3 && n->str[0] >= '1' && n->str[0] <= '5' &&
        (n->str[1] == 'x' || n->str[1] == 'X') &&
        (n->str[2] == 'x' || n->str[2] == 'X')) {
        unsigned c = (unsigned)(n->str[0] - '0');

        add_status(e, c * 100, c * 100 + 99);
        return;
    }
    if (!load_is_number(n)) {
        load_err(&L->c, n,
                 "status must be a code such as 200, a class such "
                 "as 2xx, or a list of them, not '%s'",
                 n->str);
        return;
    }
    {
        unsigned code = (unsigned)load_int(&L->c, n, 100, 599, "status", 0);

        if (code)
            add_status(e, code, code);
    }
}

static const char *const op_names[] = {
    [OP_EQ] = "eq",           [OP_NE] = "ne",
    [OP_LT] = "lt",           [OP_LE] = "le",
    [OP_GT] = "gt",           [OP_GE] = "ge",
    [OP_MATCHES] = "matches", [OP_CONTAINS] = "contains",
    [OP_EXISTS] = "exists",   [OP_TYPE] = "type",
    [OP_IN] = "in",
};

static const char *const check_keys[] = {
    "jq",     "header", "body",    "regex",    "tls_days_left",
    "status", "eq",     "ne",      "lt",       "le",
    "gt",     "ge",     "matches", "contains", "exists",
    "type",   "in",     NULL
};

static int is_scalar_operand(const struct ynode *n)
{
    return n->kind == Y_SCALAR;
}

static void load_op(struct sload *L, struct check *ck, enum op_kind op,
                    const struct ynode *v)
{
    static const char *const types[] = { "string", "number", "boolean",
                                         "null",   "array",  "object" };
    struct check_op *o = &ck->ops[ck->nops];
    size_t i;
    char *end;

    memset(o, 0, sizeof(*o));
    o->op = op;
    o->pos = ynode_pos(L->c.doc, v);
    switch (op) {
    case OP_EQ:
    case OP_NE:
    case OP_CONTAINS:
        if (!is_scalar_operand(v)) {
            load_err(&L->c, v, "'%s' takes a single value, not %s",
                     op_names[op], ynode_kind_name(v));
            return;
        }
        o->operand = s_tval(L, v);
        break;
    case OP_LT:
    case OP_LE:
    case OP_GT:
    case OP_GE:
        if (v->kind != Y_SCALAR || !load_is_number(v)) {
            load_err(&L->c, v, "'%s' needs a number", op_names[op]);
            return;
        }
        o->number = strtod(v->str, &end);
        break;
    case OP_MATCHES:
        o->re = s_regex(L, v, "matches");
        if (o->re == NULL)
            return;
        o->pattern = xstrdup(v->str);
        break;
    case OP_EXISTS:
        o->flag = load_bool(&L->c, v, "exists", 1);
        break;
    case OP_TYPE:
        if (ck->subject != SUBJ_JQ) {
            load_err(&L->c, v, "'type' only applies to jq checks");
            return;
        }
        if (load_str(&L->c, v, "type") == NULL)
            return;
        for (i = 0; i < NELEM(types); i++)
            if (strcmp(v->str, types[i]) == 0)
                break;
        if (i == NELEM(types)) {
            const char *hint = str_suggest(v->str, types, NELEM(types));

            load_err(&L->c, v,
                     "unknown type '%s'%s%s%s (string, number, "
                     "boolean, null, array, object)",
                     v->str, hint ? "; did you mean '" : "", hint ? hint : "",
                     hint ? "'?" : "");
            return;
        }
        o->type_name = xstrdup(v->str);
        break;
    case OP_IN:
        if (!load_want_seq(&L->c, v, "'in'"))
            return;
        for (i = 0; i < v->len; i++)
            if (!load_want_scalar(&L->c, v->items[i], "an 'in' value"))
                return;
        o->operand = s_tval(L, v);
        break;
    }
    ck->nops++;
}

static void load_check(struct sload *L, const struct ynode *n, struct check *ck)
{
    static const char *const subjects[] = {
        "jq", "header", "body", "regex", "tls_days_left", "status"
    };
    const struct ynode *subj = NULL;
    size_t i, nsubj = 0;

    memset(ck, 0, sizeof(*ck));
    ck->pos = ynode_pos(L->c.doc, n);
    ck->jq = (size_t)-1;
    if (!load_want_map(&L->c, n, "a check"))
        return;
    load_check_keys(&L->c, n, check_keys, "a check");
    for (i = 0; i < NELEM(subjects); i++) {
        const struct ynode *v = ymap_get(n, subjects[i]);

        if (v == NULL)
            continue;
        nsubj++;
        if (subj)
            continue;
        subj = v;
        switch (i) {
        case 0:
            ck->subject = SUBJ_JQ;
            ck->jq = s_jq(L, v, "jq");
            break;
        case 1:
            ck->subject = SUBJ_HEADER;
            break;
        case 2:
            if (load_str(&L->c, v, "body") == NULL)
                break;
            if (strcmp(v->str, "text") == 0)
                ck->subject = SUBJ_BODY_TEXT;
            else if (strcmp(v->str, "size") == 0)
                ck->subject = SUBJ_BODY_SIZE;
            else if (strcmp(v->str, "sha256") == 0)
                ck->subject = SUBJ_BODY_SHA256;
            else
                load_err(&L->c, v,
                         "body must be text, size or sha256, not "
                         "'%s'",
                         v->str);
            break;
        case 3:
            ck->subject = SUBJ_REGEX;
            ck->re = s_regex(L, v, "regex");
            break;
        case 4:
            ck->subject = SUBJ_TLS_DAYS_LEFT;
            break;
        case 5:
            ck->subject = SUBJ_STATUS;
            break;
        }
        if (i <= 1 || i == 3) {
            const char *s = load_str(&L->c, v, subjects[i]);

            if (s)
                ck->text = xstrdup(s);
        }
    }
    if (nsubj == 0) {
        load_err(&L->c, n,
                 "a check needs a subject: jq, header, body, "
                 "regex, tls_days_left or status");
        return;
    }
    if (nsubj > 1)
        load_err(&L->c, n,
                 "a check takes one subject (jq, header, body, "
                 "regex, tls_days_left or status), not %zu",
                 nsubj);
    ck->ops = xcalloc(NELEM(op_names), sizeof(*ck->ops));
    nsubj = 0; /* now counts operators written, valid or not */
    for (i = 0; i < NELEM(op_names); i++) {
        const struct ynode *v = ymap_get(n, op_names[i]);

        if (v == NULL)
            continue;
        nsubj++;
        load_op(L, ck, (enum op_kind)i, v);
    }
    if (nsubj == 0)
        load_err(&L->c, n,
                 "a check needs an operator: eq, ne, lt, le, gt, "
                 "ge, matches, contains, exists, type or in");
}

static void load_expect(struct sload *L, const struct ynode *n,
                        struct expect *e, int with_checks)
{
    static const char *const keys[] = { "status", "duration", "checks", NULL };
    static const char *const keys_short[] = { "status", "duration", NULL };
    const struct ynode *v;
    size_t i;

    if (!load_want_map(&L->c, n, "expect"))
        return;
    load_check_keys(&L->c, n, with_checks ? keys : keys_short, "expect");
    v = ymap_get(n, "status");
    if (v) {
        if (v->kind == Y_SEQ) {
            for (i = 0; i < v->len; i++)
                load_status_item(L, v->items[i], e);
            if (v->len == 0)
                load_err(&L->c, v, "status list is empty");
        } else {
            load_status_item(L, v, e);
        }
    }
    v = ymap_get(n, "duration");
    if (v && load_want_scalar(&L->c, v, "duration")) {
        const char *s = v->str;
        struct pw_err err;

        e->duration_op = OP_LT;
        if (s[0] == '<' && s[1] == '=') {
            e->duration_op = OP_LE;
            s += 2;
        } else if (s[0] == '<') {
            s++;
        } else if (s[0] == '>') {
            load_err(&L->c, v,
                     "duration can only be bounded from above, "
                     "like \"< 800ms\"");
            s = NULL;
        }
        while (s && *s == ' ')
            s++;
        if (s && units_duration(s, &e->duration_ms, &err) != PW_OK)
            load_err(&L->c, v, "duration: %s", err.msg);
    }
    if (with_checks && (v = ymap_get(n, "checks")) &&
        load_want_seq(&L->c, v, "checks")) {
        e->checks = xcalloc(v->len ? v->len : 1, sizeof(*e->checks));
        for (i = 0; i < v->len; i++) {
            load_check(L, v->items[i], &e->checks[e->nchecks]);
            e->nchecks++;
        }
    }
}

/* ---- Captures, retry, cleanup ---- */

static void load_captures(struct sload *L, const struct ynode *n,
                          struct step *st)
{
    static const char *const keys[] = { "jq", "header", "regex", "status",
                                        NULL };
    size_t i;

    if (!load_want_map(&L->c, n, "capture"))
        return;
    st->captures = xcalloc(n->len ? n->len : 1, sizeof(*st->captures));
    for (i = 0; i < n->len; i++) {
        const struct ynode *key = n->pairs[i].key, *v = n->pairs[i].value;
        struct capture *cp = &st->captures[st->ncaptures];
        const struct ynode *src;
        const char *kind;

        if (!str_is_ident(key->str) || strchr(key->str, '-')) {
            load_err(&L->c, key,
                     "capture name '%s' must be letters, digits "
                     "and '_'",
                     key->str);
            continue;
        }
        if (in_list(key->str, roots, NELEM(roots))) {
            load_err(&L->c, key, "capture name '%s' is reserved", key->str);
            continue;
        }
        if (!load_want_map(&L->c, v, "a capture"))
            continue;
        load_check_keys(&L->c, v, keys, "a capture");
        if (v->len != 1) {
            load_err(&L->c, v,
                     "a capture takes one of jq, header, regex or "
                     "status");
            continue;
        }
        memset(cp, 0, sizeof(*cp));
        cp->jq = (size_t)-1;
        cp->pos = ynode_pos(L->c.doc, key);
        /* The one key is known to be a capture kind: checked above. */
        src = v->pairs[0].value;
        kind = v->pairs[0].key->str;
        if (strcmp(kind, "jq") == 0) {
            cp->kind = CAP_JQ;
            cp->jq = s_jq(L, src, "jq");
        } else if (strcmp(kind, "header") == 0) {
            cp->kind = CAP_HEADER;
        } else if (strcmp(kind, "regex") == 0) {
            cp->kind = CAP_REGEX;
            cp->re = s_regex(L, src, "regex");
        } else if (strcmp(kind, "status") == 0) {
            cp->kind = CAP_STATUS;
            load_bool(&L->c, src, "status", 1);
        } else {
            continue;
        }
        if (cp->kind != CAP_STATUS) {
            const char *s = load_str(&L->c, src, "a capture source");

            cp->text = xstrdup(s ? s : "");
        }
        cp->name = xstrdup(key->str);
        st->ncaptures++;
    }
}

static void load_retry(struct sload *L, const struct ynode *n, struct retry *r)
{
    static const char *const keys[] = { "attempts", "delay", "on", NULL };
    static const char *const conds[] = { "error", "5xx", "4xx", "fail" };
    const struct ynode *v;
    size_t i, j;

    if (!load_want_map(&L->c, n, "retry"))
        return;
    load_check_keys(&L->c, n, keys, "retry");
    v = ymap_get(n, "attempts");
    if (v)
        r->attempts = (unsigned)load_int(&L->c, v, 1, 10, "attempts", 1);
    v = ymap_get(n, "delay");
    if (v)
        r->delay_ms = load_duration(&L->c, v, "delay", 1000);
    v = ymap_get(n, "on");
    if (v && load_want_seq(&L->c, v, "on")) {
        r->on = 0;
        for (i = 0; i < v->len; i++) {
            const char *s = load_str(&L->c, v->items[i], "a retry condition");

            if (s == NULL)
                continue;
            for (j = 0; j < NELEM(conds); j++)
                if (strcmp(s, conds[j]) == 0)
                    r->on |= 1u << j;
            if (!in_list(s, conds, NELEM(conds)))
                load_err(&L->c, v->items[i],
                         "unknown retry condition '%s' "
                         "(error, 5xx, 4xx, fail)",
                         s);
        }
    }
}

/* ---- Steps ---- */

/* Step names and capture names are gathered before any step is loaded,
 * so a reference to a later capture can say which step captures it. */
static void prescan_steps(struct sload *L, const struct ynode *steps)
{
    size_t i, j, k;

    L->step_names = xcalloc(steps->len ? steps->len : 1, sizeof(char *));
    for (i = 0; i < steps->len; i++) {
        const struct ynode *nm = ymap_get(steps->items[i], "name");
        const struct ynode *caps = ymap_get(steps->items[i], "capture");

        L->step_names[i] = nm && nm->kind == Y_SCALAR ? nm->str : "?";
        if (caps == NULL || caps->kind != Y_MAP)
            continue;
        for (j = 0; j < caps->len; j++) {
            const struct ynode *key = caps->pairs[j].key;

            for (k = 0; k < L->ncaps; k++)
                if (strcmp(L->caps[k].name, key->str) == 0)
                    break;
            if (k < L->ncaps) {
                load_err(&L->c, key, "'%s' is already captured by step '%s'",
                         key->str, L->step_names[L->caps[k].step]);
                continue;
            }
            /* A capture named like a variable would be hidden by it: a
             * cleanup would then act on the variable's record, not the
             * one the step made. */
            for (k = 0; k < L->sc->nvars; k++)
                if (strcmp(L->sc->vars[k].name, key->str) == 0)
                    break;
            if (k < L->sc->nvars) {
                load_err(&L->c, key,
                         "capture '%s' has the name of a variable in vars",
                         key->str);
                continue;
            }
            XGROW(L->caps, L->ncaps + 1, L->caps_alloc);
            L->caps[L->ncaps].name = key->str;
            L->caps[L->ncaps].step = i;
            L->ncaps++;
        }
    }
    L->scope.caps = L->caps;
    L->scope.ncaps = L->ncaps;
}

static void load_step(struct sload *L, const struct ynode *n, size_t idx)
{
    static const char *const keys[] = { "name",    "request", "expect",
                                        "capture", "cleanup", "retry",
                                        NULL };
    static const char *const cleanup_extra[] = { "expect" };
    struct step *st = &L->sc->steps[idx];
    const struct ynode *v;
    size_t i;

    st->pos = ynode_pos(L->c.doc, n);
    st->retry.attempts = 1;
    st->retry.delay_ms = 1000;
    st->retry.on = RETRY_ON_ERROR | RETRY_ON_5XX;
    L->scope.step = idx;
    if (!load_want_map(&L->c, n, "a step"))
        return;
    load_check_keys(&L->c, n, keys, "a step");
    v = ymap_get(n, "name");
    if (v) {
        st->name = s_tmpl(L, v, "name");
        for (i = 0; i < idx; i++)
            if (strcmp(L->step_names[i], L->step_names[idx]) == 0) {
                load_err(&L->c, v, "duplicate step name '%s' (also step %zu)",
                         L->step_names[idx], i + 1);
                break;
            }
    } else {
        load_err(&L->c, n, "a step needs a name");
    }
    v = ymap_get(n, "request");
    if (v) {
        if (load_want_map(&L->c, v, "request")) {
            load_check_keys(&L->c, v, request_keys, "request");
            load_request(L, v, &st->req, NULL);
        }
    } else {
        load_err(&L->c, n, "a step needs a request");
    }
    v = ymap_get(n, "expect");
    if (v)
        load_expect(L, v, &st->expect, 1);
    v = ymap_get(n, "retry");
    if (v)
        load_retry(L, v, &st->retry);
    v = ymap_get(n, "capture");
    if (v)
        load_captures(L, v, st);
    v = ymap_get(n, "cleanup");
    if (v && load_want_map(&L->c, v, "cleanup")) {
        const char *ck[NELEM(request_keys) + NELEM(cleanup_extra)];
        const struct ynode *e;
        size_t k = 0;

        for (i = 0; request_keys[i]; i++)
            ck[k++] = request_keys[i];
        ck[k++] = cleanup_extra[0];
        ck[k] = NULL;
        /* The cleanup runs after the step, so its captures are visible. */
        L->scope.step = idx + 1;
        load_check_keys(&L->c, v, ck, "cleanup");
        st->cleanup = xcalloc(1, sizeof(*st->cleanup));
        load_request(L, v, st->cleanup, NULL);
        /* A redirect answering a DELETE deleted nothing. */
        if (ymap_get(v, "follow_redirects"))
            load_err(&L->c, ymap_get(v, "follow_redirects"),
                     "a cleanup does not follow redirects: give the "
                     "final URL");
        e = ymap_get(v, "expect");
        if (e)
            load_expect(L, e, &st->cleanup_expect, 0);
        L->scope.step = idx;
    }
}

/* ---- Matrix ---- */

/* Most bytes a values_from file may have: 100,000 values of over 150
 * bytes each, and a bound on what loading one file may hold in memory. */
#define VALUES_FROM_MAX_BYTES (16u << 20)

#define NEEDS_VALUES                                                           \
    "matrix parameter '%s' needs a list of values or values_from: FILE"

/* Add value <s> of matrix parameter <p> (named <param>), written at <at>,
 * unless it repeats one. */
static void add_matrix_value(struct sload *L, struct matrix *m, size_t p,
                             const char *param, const char *s, struct pos at)
{
    if (matrix_find_value(m, p, s) >= 0) {
        diag_add(L->c.d, at, "duplicate value '%s' in matrix parameter '%s'", s,
                 param);
        return;
    }
    matrix_add_value(m, p, s);
}

/* <name> as scenario file <file> means it: unchanged when absolute, else
 * joined to the directory of <file>.  Returns a new string. */
static char *relative_to(const char *file, const char *name)
{
    const char *slash = strrchr(file, '/');

    return str_path_under(file, slash ? (size_t)(slash - file) + 1 : 0, name);
}

static int is_blank(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* The values of matrix parameter <p> from the file that mapping <n>
 * names with values_from: one a line, with the line's own position in
 * every message about a value. */
static void load_values_from(struct sload *L, struct matrix *m, size_t p,
                             const struct ynode *key, const struct ynode *n)
{
    static const char *const keys[] = { "values_from", NULL };
    const struct ynode *v = ymap_get(n, "values_from");
    const char *name;
    char *path, *buf, *line, *end;
    size_t len, nvalues = 0;
    struct pos at;

    load_check_keys(&L->c, n, keys, "a matrix parameter");
    if (v == NULL) {
        load_err(&L->c, n, NEEDS_VALUES, key->str);
        return;
    }
    name = load_str(&L->c, v, "values_from");
    if (name == NULL)
        return;
    if (*name == '\0') {
        load_err(&L->c, v, "values_from must name a file");
        return;
    }
    path = relative_to(L->sc->file, name);
    buf = load_read_file(&L->c, v, path, "values_from", VALUES_FROM_MAX_BYTES,
                         &len);
    at.file = path;
    at.line = 0;
    for (line = buf; buf && line <= buf + len; line = end + 1) {
        char *start = line, *stop;

        end = memchr(line, '\n', (size_t)(buf + len - line));
        if (end == NULL)
            end = buf + len;
        stop = end;
        at.line++;
        if (stop > start && stop[-1] == '\r')
            stop--;
        while (start < stop && is_blank(*start))
            start++;
        while (stop > start && is_blank(stop[-1]))
            stop--;
        if (start == stop || *start == '#')
            continue;
        at.col = (unsigned)(start - line) + 1;
        if (memchr(start, '\0', (size_t)(stop - start))) {
            diag_add(L->c.d, at,
                     "a matrix value must not contain NUL characters");
            continue;
        }
        if (++nvalues > MATRIX_MAX_VALUES) {
            load_err(&L->c, v, "values_from '%s' has more than %d values", name,
                     MATRIX_MAX_VALUES);
            break;
        }
        *stop = '\0';
        add_matrix_value(L, m, p, key->str, start, at);
    }
    if (buf && nvalues == 0)
        load_err(&L->c, v, "values_from '%s' has no values", name);
    free(buf);
    free(path);
}

static void load_matrix(struct sload *L, const struct ynode *n)
{
    struct matrix *m = matrix_new();
    const struct ynode *v;
    size_t i, j;

    L->sc->matrix = m;
    if (!load_want_map(&L->c, n, "matrix"))
        return;
    for (i = 0; i < n->len; i++) {
        const struct ynode *key = n->pairs[i].key, *vals = n->pairs[i].value;
        size_t p;

        if (strcmp(key->str, "exclude") == 0 ||
            strcmp(key->str, "include") == 0)
            continue;
        if (!str_is_ident(key->str)) {
            load_err(&L->c, key,
                     "matrix parameter '%s' must be letters, "
                     "digits, '_' or '-'",
                     key->str);
            continue;
        }
        if (matrix_param_count(m) == MATRIX_MAX_PARAMS) {
            load_err(&L->c, key, "too many matrix parameters (at most %d)",
                     MATRIX_MAX_PARAMS);
            break;
        }
        p = matrix_add_param(m, key->str);
        if (vals->kind == Y_MAP) {
            load_values_from(L, m, p, key, vals);
            continue;
        }
        if (vals->kind != Y_SEQ) {
            load_err(&L->c, vals, NEEDS_VALUES, key->str);
            continue;
        }
        if (vals->len == 0)
            load_err(&L->c, vals, "matrix parameter '%s' has no values",
                     key->str);
        if (vals->len > MATRIX_MAX_VALUES) {
            load_err(&L->c, vals,
                     "matrix parameter '%s' has more than %d "
                     "values",
                     key->str, MATRIX_MAX_VALUES);
            continue;
        }
        for (j = 0; j < vals->len; j++) {
            const char *s = load_str(&L->c, vals->items[j], "a matrix value");

            if (s != NULL)
                add_matrix_value(L, m, p, key->str, s,
                                 ynode_pos(L->c.doc, vals->items[j]));
        }
    }
    v = ymap_get(n, "exclude");
    if (v && load_want_seq(&L->c, v, "exclude")) {
        size_t np = matrix_param_count(m);
        int *ex = xcalloc(np ? np : 1, sizeof(int));
        const char **names = xcalloc(np ? np : 1, sizeof(char *));

        for (i = 0; i < np; i++)
            names[i] = matrix_param_name(m, i);
        for (i = 0; i < v->len; i++) {
            const struct ynode *e = v->items[i];
            int bad = 0;

            if (!load_want_map(&L->c, e, "an exclude entry"))
                continue;
            if (e->len == 0) {
                load_err(&L->c, e,
                         "an exclude entry needs at least one "
                         "parameter");
                continue;
            }
            for (j = 0; j < np; j++)
                ex[j] = -1;
            for (j = 0; j < e->len; j++) {
                const struct ynode *k = e->pairs[j].key;
                const struct ynode *val = e->pairs[j].value;
                int p = matrix_find_param(m, k->str), vi;
                const char *hint;

                if (p < 0) {
                    hint = str_suggest(k->str, names, np);
                    load_err(&L->c, k,
                             "exclude names unknown matrix "
                             "parameter '%s'%s%s%s",
                             k->str, hint ? "; did you mean '" : "",
                             hint ? hint : "", hint ? "'?" : "");
                    bad = 1;
                    continue;
                }
                if (load_str(&L->c, val, "an exclude value") == NULL) {
                    bad = 1;
                    continue;
                }
                vi = matrix_find_value(m, (size_t)p, val->str);
                /* A parameter left without values was reported already. */
                if (vi < 0 && matrix_value_count(m, (size_t)p) == 0) {
                    bad = 1;
                    continue;
                }
                if (vi < 0) {
                    load_err(&L->c, val,
                             "exclude value '%s' is not one of "
                             "%s's values",
                             val->str, k->str);
                    bad = 1;
                    continue;
                }
                ex[p] = vi;
            }
            if (!bad)
                matrix_add_exclude(m, ex);
        }
        free(ex);
        free(names);
    }
    v = ymap_get(n, "include");
    if (v && load_want_seq(&L->c, v, "include")) {
        size_t np = matrix_param_count(m);
        const char **row = xcalloc(np ? np : 1, sizeof(char *));

        for (i = 0; i < v->len; i++) {
            const struct ynode *e = v->items[i];
            int bad = 0;

            if (!load_want_map(&L->c, e, "an include entry"))
                continue;
            for (j = 0; j < np; j++)
                row[j] = NULL;
            for (j = 0; j < e->len; j++) {
                const struct ynode *k = e->pairs[j].key;
                int p = matrix_find_param(m, k->str);

                if (p < 0) {
                    load_err(&L->c, k,
                             "include names unknown matrix "
                             "parameter '%s'",
                             k->str);
                    bad = 1;
                    continue;
                }
                row[p] = load_str(&L->c, e->pairs[j].value, "an include value");
                if (row[p] == NULL)
                    bad = 1;
            }
            for (j = 0; j < np && !bad; j++)
                if (row[j] == NULL) {
                    load_err(&L->c, e,
                             "include entry lacks matrix parameter "
                             "'%s'",
                             matrix_param_name(m, j));
                    bad = 1;
                }
            if (!bad)
                matrix_add_include(m, row);
        }
        free(row);
    }
}

static void load_coverage(struct sload *L, const struct ynode *n)
{
    const char *s = load_str(&L->c, n, "coverage");
    unsigned t = 0;

    if (s == NULL)
        return;
    if (strcmp(s, "all") == 0)
        t = 0;
    else if (strcmp(s, "pairwise") == 0)
        t = 2;
    else if (s[0] >= '2' && s[0] <= '0' + MATRIX_MAX_STRENGTH &&
             strcmp(s + 1, "-wise") == 0)
        t = (unsigned)(s[0] - '0');
    else {
        load_err(&L->c, n,
                 "coverage must be all, pairwise or N-wise (2-wise "
                 "to %d-wise), not '%s'",
                 MATRIX_MAX_STRENGTH, s);
        return;
    }
    if (L->sc->matrix)
        matrix_set_strength(L->sc->matrix, t);
}

/* The key of <map> named <name>, or NULL. */
static const struct ynode *map_key(const struct ynode *map, const char *name)
{
    size_t i;

    for (i = 0; map->kind == Y_MAP && i < map->len; i++)
        if (strcmp(map->pairs[i].key->str, name) == 0)
            return map->pairs[i].key;
    return NULL;
}

/* Where to report the number of tests: the coverage key when it asks for a
 * covering array, the matrix key otherwise, the scenario without either. */
static struct pos size_pos(struct sload *L, const struct ynode *root)
{
    const struct matrix *m = L->sc->matrix;
    const struct ynode *k = NULL;
    struct pos p;

    if (matrix_strength(m) >= 2 && matrix_strength(m) < matrix_param_count(m))
        k = map_key(root, "coverage");
    if (k == NULL)
        k = map_key(root, "matrix");
    if (k == NULL)
        return L->sc->pos;
    p = ynode_pos(L->c.doc, k);
    p.file = L->sc->file;
    return p;
}

/* A matrix whose excludes leave no row is a scenario that can never run,
 * which is always a mistake: say so here rather than print "0 tests". */
static void check_matrix_runs(struct sload *L, const struct ynode *matrix)
{
    const struct ynode *at;
    struct pw_err err;
    uint64_t rows = 0;

    if (matrix == NULL || matrix->kind != Y_MAP)
        return;
    at = map_key(matrix, "exclude");
    if (at == NULL)
        at = map_key(ydoc_root(L->c.doc), "matrix");
    /* A limit of 0 keeps this cheap: no covering array is built. */
    if (matrix_count(L->sc->matrix, 0, &rows, &err) != PW_OK)
        load_err(&L->c, at, "%s", err.msg);
    else if (rows == 0)
        load_err(&L->c, at,
                 "the excludes remove every row of the matrix: this "
                 "scenario would never run");
}

/* ---- Top level ---- */

static void load_targets(struct sload *L, const struct ynode *n)
{
    const char **names;
    size_t i, j;

    if (!load_want_seq(&L->c, n, "targets"))
        return;
    names = xcalloc(L->cfg->ntargets ? L->cfg->ntargets : 1, sizeof(char *));
    for (i = 0; i < L->cfg->ntargets; i++)
        names[i] = L->cfg->targets[i].name;
    L->sc->targets = xcalloc(n->len ? n->len : 1, sizeof(char *));
    for (i = 0; i < n->len; i++) {
        const char *s = load_str(&L->c, n->items[i], "a target name");

        if (s == NULL)
            continue;
        if (config_target(L->cfg, s) == NULL) {
            const char *hint = str_suggest(s, names, L->cfg->ntargets);

            load_err(&L->c, n->items[i], "unknown target '%s'%s%s%s", s,
                     hint ? "; did you mean '" : "", hint ? hint : "",
                     hint ? "'?" : "");
            continue;
        }
        for (j = 0; j < L->sc->ntargets; j++)
            if (strcmp(L->sc->targets[j], s) == 0)
                break;
        if (j < L->sc->ntargets) {
            load_err(&L->c, n->items[i], "target '%s' is listed twice", s);
            continue;
        }
        L->sc->targets[L->sc->ntargets++] = xstrdup(s);
    }
    if (n->len == 0)
        load_err(&L->c, n,
                 "targets is empty; leave it out to run on every "
                 "target");
    free(names);
}

/* Vars that every target the scenario runs on defines. */
static void common_target_vars(struct sload *L)
{
    const struct config *cfg = L->cfg;
    const struct target *first = NULL;
    size_t i, j, k;

    for (i = 0; i < cfg->ntargets && first == NULL; i++)
        if (scenario_runs_on(L->sc, cfg->targets[i].name))
            first = &cfg->targets[i];
    if (first == NULL)
        return;
    L->scope.tvars = xcalloc(first->nvars ? first->nvars : 1, sizeof(char *));
    for (j = 0; j < first->nvars; j++) {
        int everywhere = 1;

        for (i = 0; i < cfg->ntargets && everywhere; i++) {
            const struct target *t = &cfg->targets[i];

            if (!scenario_runs_on(L->sc, t->name))
                continue;
            for (k = 0; k < t->nvars; k++)
                if (strcmp(t->vars[k].name, first->vars[j].name) == 0)
                    break;
            everywhere = k < t->nvars;
        }
        if (everywhere)
            L->scope.tvars[L->scope.ntvars++] = first->vars[j].name;
    }
}

static void load_vars(struct sload *L, const struct ynode *n)
{
    struct scenario *sc = L->sc;
    size_t i;

    if (!load_want_map(&L->c, n, "vars"))
        return;
    L->scope.all_vars = xcalloc(n->len ? n->len : 1, sizeof(char *));
    for (i = 0; i < n->len; i++)
        L->scope.all_vars[L->scope.nall_vars++] = n->pairs[i].key->str;
    sc->vars = xcalloc(n->len ? n->len : 1, sizeof(*sc->vars));
    for (i = 0; i < n->len; i++) {
        const struct ynode *key = n->pairs[i].key;
        struct tmpl *t;

        if (!str_is_ident(key->str) || in_list(key->str, roots, NELEM(roots))) {
            load_err(&L->c, key,
                     "var name '%s' must be letters, digits, '_' "
                     "or '-' and not one of matrix, target, vars, secret, "
                     "env, run, test, now",
                     key->str);
            continue;
        }
        /* A var sees only the vars above it. */
        L->scope.nvars = sc->nvars;
        t = s_tmpl(L, n->pairs[i].value, "a var");
        if (t == NULL)
            continue;
        sc->vars[sc->nvars].name = xstrdup(key->str);
        sc->vars[sc->nvars].value = t;
        sc->vars[sc->nvars].pos = ynode_pos(L->c.doc, key);
        sc->nvars++;
    }
    L->scope.nvars = sc->nvars;
}

/* Scenario names go into test ids and Redis keys: keep them plain. */
static int valid_name(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_' || *s == '-' ||
              *s == '.'))
            return 0;
    return 1;
}

static void load_scenario_root(struct sload *L, const struct ynode *root)
{
    static const char *const keys[] = { "name",     "description", "tags",
                                        "severity", "every",       "timeout",
                                        "targets",  "matrix",      "coverage",
                                        "coverage_effort", "vars", "steps",
                                        "trigger_after", "resolve_after",
                                        "locations", NULL };
    static const char *const sevs[] = { "critical", "error", "warning",
                                        "info" };
    struct scenario *sc = L->sc;
    const struct ynode *v;
    size_t i, matrix_errors;

    if (!load_want_map(&L->c, root, "a scenario"))
        return;
    load_check_keys(&L->c, root, keys, "a scenario");
    v = ymap_get(root, "name");
    if (v && load_str(&L->c, v, "name")) {
        if (!valid_name(v->str))
            load_err(&L->c, v,
                     "scenario name '%s' must be letters, digits, "
                     "'_', '-' or '.'",
                     v->str);
        sc->name = xstrdup(v->str);
    } else if (v == NULL) {
        load_err(&L->c, root, "a scenario needs a name");
    }
    v = ymap_get(root, "description");
    if (v && load_str(&L->c, v, "description"))
        sc->description = xstrdup(v->str);
    v = ymap_get(root, "tags");
    if (v && load_want_seq(&L->c, v, "tags")) {
        sc->tags = xcalloc(v->len ? v->len : 1, sizeof(char *));
        for (i = 0; i < v->len; i++) {
            const char *s = load_str(&L->c, v->items[i], "a tag");

            if (s)
                sc->tags[sc->ntags++] = xstrdup(s);
        }
    }
    v = ymap_get(root, "severity");
    if (v && load_str(&L->c, v, "severity")) {
        for (i = 0; i < NELEM(sevs); i++)
            if (strcmp(v->str, sevs[i]) == 0)
                sc->severity = (enum severity)i;
        if (!in_list(v->str, sevs, NELEM(sevs)))
            load_err(&L->c, v,
                     "severity must be critical, error, warning or "
                     "info, not '%s'",
                     v->str);
    }
    v = ymap_get(root, "locations");
    if (v)
        load_locations(&L->c, v, &sc->locations, &sc->nlocations);
    v = ymap_get(root, "trigger_after");
    if (v)
        sc->trigger_after =
            (unsigned)load_int(&L->c, v, 1, 1000, "trigger_after", 0);
    v = ymap_get(root, "resolve_after");
    if (v)
        sc->resolve_after =
            (unsigned)load_int(&L->c, v, 1, 1000, "resolve_after", 0);
    v = ymap_get(root, "every");
    if (v) {
        sc->every_ms = load_duration(&L->c, v, "every", sc->every_ms);
        if (sc->every_ms < 1000)
            load_err(&L->c, v, "every must be at least 1s");
    }
    v = ymap_get(root, "timeout");
    if (v) {
        sc->timeout_ms = load_duration(&L->c, v, "timeout", sc->timeout_ms);
        /* Zero would time every run out before its first request. */
        if (sc->timeout_ms == 0)
            load_err(&L->c, v, "timeout must be more than 0s");
    }
    v = ymap_get(root, "targets");
    if (v)
        load_targets(L, v);
    common_target_vars(L);
    v = ymap_get(root, "matrix");
    matrix_errors = diag_count(L->c.d);
    if (v)
        load_matrix(L, v);
    else
        sc->matrix = matrix_new();
    v = ymap_get(root, "coverage");
    if (v)
        load_coverage(L, v);
    v = ymap_get(root, "coverage_effort");
    if (v)
        matrix_set_effort(sc->matrix,
                          (unsigned)load_int(&L->c, v, 0, MATRIX_MAX_EFFORT,
                                             "coverage_effort",
                                             MATRIX_DEFAULT_EFFORT));
    sc->size_pos = size_pos(L, root);
    if (diag_count(L->c.d) == matrix_errors)
        check_matrix_runs(L, ymap_get(root, "matrix"));
    v = ymap_get(root, "vars");
    if (v)
        load_vars(L, v);
    v = ymap_get(root, "steps");
    if (v == NULL) {
        load_err(&L->c, root, "a scenario needs steps");
        return;
    }
    if (!load_want_seq(&L->c, v, "steps"))
        return;
    if (v->len == 0) {
        load_err(&L->c, v, "steps is empty");
        return;
    }
    prescan_steps(L, v);
    L->scope.step_names = L->step_names;
    sc->steps = xcalloc(v->len, sizeof(*sc->steps));
    sc->nsteps = v->len;
    for (i = 0; i < v->len; i++)
        load_step(L, v->items[i], i);
}

struct scenario *scenario_load(const char *path, const struct config *cfg,
                               struct jqset *jq, struct diag *d)
{
    struct sload L;
    struct ydoc *doc = ydoc_load_file(path, d);
    struct scenario *sc;

    if (doc == NULL)
        return NULL;
    memset(&L, 0, sizeof(L));
    sc = xcalloc(1, sizeof(*sc));
    sc->file = xstrdup(path);
    sc->pos = ynode_pos(doc, ydoc_root(doc));
    sc->pos.file = sc->file;
    sc->every_ms = DEFAULT_EVERY_MS;
    sc->timeout_ms = DEFAULT_RUN_TIMEOUT_MS;
    sc->severity = SEV_ERROR;
    L.c.doc = doc;
    L.c.d = d;
    L.c.errors_before = diag_count(d);
    load_set_secrets_dir(&L.c, cfg->secrets_dir);
    L.sc = sc;
    L.cfg = cfg;
    L.jq = jq;
    L.scope.sc = sc;
    load_scenario_root(&L, ydoc_root(doc));
    free(L.caps);
    free(L.step_names);
    free(L.scope.tvars);
    free(L.scope.all_vars);
    if (load_failed(&L.c)) {
        ydoc_free(doc);
        scenario_free(sc);
        return NULL;
    }
    ydoc_free(doc);
    return sc;
}

/* ---- Accessors ---- */

const char *scenario_name(const struct scenario *sc)
{
    return sc->name;
}
const char *scenario_file(const struct scenario *sc)
{
    return sc->file;
}
struct pos scenario_pos(const struct scenario *sc)
{
    return sc->pos;
}
size_t scenario_tag_count(const struct scenario *sc)
{
    return sc->ntags;
}
enum severity scenario_severity(const struct scenario *sc)
{
    return sc->severity;
}

unsigned scenario_trigger_after(const struct scenario *sc)
{
    return sc->trigger_after;
}

unsigned scenario_resolve_after(const struct scenario *sc)
{
    return sc->resolve_after;
}
uint64_t scenario_every_ms(const struct scenario *sc)
{
    return sc->every_ms;
}
uint64_t scenario_timeout_ms(const struct scenario *sc)
{
    return sc->timeout_ms;
}
size_t scenario_target_count(const struct scenario *sc)
{
    return sc->ntargets;
}
struct matrix *scenario_matrix(const struct scenario *sc)
{
    return sc->matrix;
}

struct pos scenario_size_pos(const struct scenario *sc)
{
    return sc->size_pos;
}
size_t scenario_var_count(const struct scenario *sc)
{
    return sc->nvars;
}
size_t scenario_step_count(const struct scenario *sc)
{
    return sc->nsteps;
}

const char *scenario_description(const struct scenario *sc)
{
    return sc->description ? sc->description : "";
}

const char *scenario_tag(const struct scenario *sc, size_t i)
{
    return sc->tags[i];
}

int scenario_has_tag(const struct scenario *sc, const char *tag)
{
    return in_list(tag, (const char *const *)sc->tags, sc->ntags);
}

const char *scenario_target(const struct scenario *sc, size_t i)
{
    return sc->targets[i];
}

int scenario_runs_on(const struct scenario *sc, const char *target)
{
    return sc->ntargets == 0 ||
           in_list(target, (const char *const *)sc->targets, sc->ntargets);
}

const struct kv *scenario_var(const struct scenario *sc, size_t i)
{
    return &sc->vars[i];
}

const struct step *scenario_step(const struct scenario *sc, size_t i)
{
    return &sc->steps[i];
}

int scenario_probed_from(const struct scenario *sc, const char *location)
{
    return locations_include(sc->locations, sc->nlocations, location);
}
