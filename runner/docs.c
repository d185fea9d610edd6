/* docs.c -- scenarios as pages that read as specifications. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "docs.h"
#include "result.h"
#include "template.h"
#include "units.h"
#include "xalloc.h"

/* Where a page is written, and how. */
struct page {
    struct sbuf *out;
    enum docs_format f;
};

static void raw(struct page *p, const char *s)
{
    sbuf_adds(p->out, s);
}

/* Text that is never markup: in Markdown, the characters a renderer acts
 * on are backslash-escaped and <, >, & become entities (a wiki passes
 * HTML through); in HTML, every special character is an entity.  Line
 * breaks become spaces so a value never starts a new block. */
static void text(struct page *p, const char *s)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '<')
            sbuf_adds(p->out, "&lt;");
        else if (c == '>')
            sbuf_adds(p->out, "&gt;");
        else if (c == '&')
            sbuf_adds(p->out, "&amp;");
        else if (c == '"' && p->f == DOCS_HTML)
            sbuf_adds(p->out, "&quot;");
        else if (c == '\'' && p->f == DOCS_HTML)
            sbuf_adds(p->out, "&#39;");
        else if (c == '\n' || c == '\r' || c == '\t')
            sbuf_addc(p->out, ' ');
        else if (c < 0x20 || c == 0x7f)
            sbuf_addf(p->out, "\\x%02x", c);
        else if (p->f == DOCS_MD && strchr("\\`*_[]|", c))
            sbuf_addf(p->out, "\\%c", c);
        else
            sbuf_addc(p->out, (char)c);
    }
}

/* Literal text such as a template or a jq program.  A Markdown code span
 * takes no escapes, so it is fenced by one backtick more than the longest
 * run inside, and <, > and & are left as they are (a code span shows them
 * literally).  In a table cell (<in_table>) a '|' would end the cell, so
 * it is written "\|", which a table takes as a pipe even in a code span
 * and which a code span elsewhere would show as it is.  An empty value
 * cannot be a code span: it is said in words. */
static void code_in(struct page *p, const char *s, int in_table)
{
    size_t run = 0, longest = 0, i;
    const char *c;

    if (*s == '\0') {
        text(p, "(empty)");
        return;
    }
    if (p->f == DOCS_HTML) {
        raw(p, "<code>");
        text(p, s);
        raw(p, "</code>");
        return;
    }
    for (c = s; *c; c++) {
        run = *c == '`' ? run + 1 : 0;
        if (run > longest)
            longest = run;
    }
    for (i = 0; i <= longest; i++)
        sbuf_addc(p->out, '`');
    if (*s == '`' || (*s && s[strlen(s) - 1] == '`'))
        sbuf_addc(p->out, ' ');
    for (c = s; *c; c++) {
        if (*c == '\n' || *c == '\r' || (unsigned char)*c < 0x20)
            sbuf_addc(p->out, ' ');
        else if (*c == '|' && in_table)
            sbuf_adds(p->out, "\\|");
        else
            sbuf_addc(p->out, *c);
    }
    if (*s == '`' || (*s && s[strlen(s) - 1] == '`'))
        sbuf_addc(p->out, ' ');
    for (i = 0; i <= longest; i++)
        sbuf_addc(p->out, '`');
}

static void code(struct page *p, const char *s)
{
    code_in(p, s, 0);
}

static void heading(struct page *p, int level, const char *cls)
{
    if (p->f == DOCS_MD) {
        sbuf_addf(p->out, "\n%.*s ", level, "######");
        return;
    }
    sbuf_addf(p->out, "<h%d", level);
    if (cls)
        sbuf_addf(p->out, " class=\"%s\"", cls);
    raw(p, ">");
}

static void heading_end(struct page *p, int level)
{
    if (p->f == DOCS_MD)
        raw(p, "\n\n");
    else
        sbuf_addf(p->out, "</h%d>\n", level);
}

static void item(struct page *p, const char *cls)
{
    if (p->f == DOCS_MD)
        raw(p, "- ");
    else
        sbuf_addf(p->out, "<li class=\"%s\">", cls);
}

static void item_end(struct page *p)
{
    raw(p, p->f == DOCS_MD ? "\n" : "</li>\n");
}

static void list(struct page *p, const char *cls)
{
    if (p->f == DOCS_HTML)
        sbuf_addf(p->out, "<ul class=\"%s\">\n", cls);
}

static void list_end(struct page *p)
{
    raw(p, p->f == DOCS_MD ? "\n" : "</ul>\n");
}

static void strong(struct page *p, const char *s)
{
    raw(p, p->f == DOCS_MD ? "**" : "<strong>");
    text(p, s);
    raw(p, p->f == DOCS_MD ? "**" : "</strong>");
}

/* Table cells: Markdown pipes, HTML cells with a class. */
static void row_start(struct page *p, const char *cls, const char *target)
{
    if (p->f == DOCS_MD) {
        raw(p, "|");
        return;
    }
    sbuf_addf(p->out, "<tr class=\"%s\"", cls);
    if (target) {
        raw(p, " data-target=\"");
        text(p, target);
        raw(p, "\"");
    }
    raw(p, ">");
}

static void row_end(struct page *p)
{
    raw(p, p->f == DOCS_MD ? "\n" : "</tr>\n");
}

static void cell(struct page *p, const char *cls, const char *s)
{
    if (p->f == DOCS_MD) {
        raw(p, " ");
        text(p, s);
        raw(p, " |");
        return;
    }
    sbuf_addf(p->out, "<td class=\"%s\">", cls);
    text(p, s);
    raw(p, "</td>");
}

static void header_row(struct page *p, const char *const *names, size_t n)
{
    size_t i;

    if (p->f == DOCS_HTML)
        raw(p, "<table>\n<tr>");
    else
        raw(p, "\n|");
    for (i = 0; i < n; i++) {
        if (p->f == DOCS_HTML) {
            raw(p, "<th>");
            text(p, names[i]);
            raw(p, "</th>");
        } else {
            raw(p, " ");
            text(p, names[i]);
            raw(p, " |");
        }
    }
    if (p->f == DOCS_HTML) {
        raw(p, "</tr>\n");
        return;
    }
    raw(p, "\n|");
    for (i = 0; i < n; i++)
        raw(p, " --- |");
    raw(p, "\n");
}

static void table_end(struct page *p)
{
    raw(p, p->f == DOCS_MD ? "\n" : "</table>\n");
}

static void para(struct page *p, const char *s)
{
    raw(p, p->f == DOCS_MD ? "" : "<p>");
    text(p, s);
    raw(p, p->f == DOCS_MD ? "\n\n" : "</p>\n");
}

/* Whether line <s> (up to <e>) is blank: spaces and tabs only. */
static int blank_line(const char *s, const char *e)
{
    for (; s < e; s++)
        if (*s != ' ' && *s != '\t' && *s != '\r')
            return 0;
    return 1;
}

/* One line of a paragraph, without its indentation (an indented line
 * would be a code block in Markdown).  In Markdown a line may also start
 * a block (a heading, a list, a quote, a fence, a setext underline), so a
 * first character that would do so is backslash-escaped. */
static void line_text(struct page *p, const char *s, const char *e)
{
    struct sbuf b = SBUF_INIT;
    const char *d;

    while (s < e && (*s == ' ' || *s == '\t'))
        s++;
    if (p->f == DOCS_MD) {
        for (d = s; d < e && *d >= '0' && *d <= '9'; d++)
            ;
        if (s < e && (strchr("#-+=>~", *s) ||
                      (d > s && d < e && (*d == '.' || *d == ')'))))
            raw(p, "\\");
    }
    while (e > s && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
        e--;
    sbuf_add(&b, s, (size_t)(e - s));
    text(p, b.buf ? b.buf : "");
    sbuf_release(&b);
}

/* Free text such as a description: paragraphs (split at blank lines) and
 * the line breaks inside them kept, every line escaped. */
static void paras(struct page *p, const char *s)
{
    const char *e;
    int open = 0;

    for (; *s; s = *e ? e + 1 : e) {
        e = strchr(s, '\n');
        if (e == NULL)
            e = s + strlen(s);
        if (blank_line(s, e)) {
            if (open)
                raw(p, p->f == DOCS_MD ? "\n\n" : "</p>\n");
            open = 0;
            continue;
        }
        if (open)
            raw(p, p->f == DOCS_MD ? "  \n" : "<br>\n");
        else
            raw(p, p->f == DOCS_MD ? "" : "<p>");
        open = 1;
        line_text(p, s, e);
    }
    if (open)
        raw(p, p->f == DOCS_MD ? "\n\n" : "</p>\n");
}

/* ---- Time ----------------------------------------------------------- */

static void add_time(struct sbuf *b, time_t t, time_t now)
{
    struct tm tm;
    char buf[32];

    if (t <= 0) {
        sbuf_adds(b, "-");
        return;
    }
    gmtime_r(&t, &tm);
    strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M UTC", &tm);
    sbuf_adds(b, buf);
    if (now > 0)
        sbuf_addf(b, " (%s)",
                  units_format_ago((long long)(now - t), buf, sizeof(buf)));
}

/* ---- Step names ----------------------------------------------------- */

/* Whether <name> is what template source <pat> renders to for some
 * values: each "{{ ... }}" matches any run of bytes.  Step names hold a
 * few expressions at most, so backtracking stays cheap. */
static int pattern_matches(const char *pat, const char *name, int depth)
{
    const char *end;

    if (depth > 8)
        return 0;
    while (*pat) {
        if (pat[0] == '{' && pat[1] == '{') {
            end = strstr(pat + 2, "}}");
            if (end == NULL)
                break;
            for (;; name++) {
                if (pattern_matches(end + 2, name, depth + 1))
                    return 1;
                if (*name == '\0')
                    return 0;
            }
        }
        if (*pat != *name)
            return 0;
        pat++;
        name++;
    }
    return strcmp(pat, name) == 0;
}

long docs_step_index(const struct scenario *sc, const char *name)
{
    size_t i, n = scenario_step_count(sc);

    if (name == NULL)
        return -1;
    /* A name as written wins over a pattern that happens to match it. */
    for (i = 0; i < n; i++)
        if (strcmp(tmpl_source(scenario_step(sc, i)->name), name) == 0)
            return (long)i;
    for (i = 0; i < n; i++)
        if (pattern_matches(tmpl_source(scenario_step(sc, i)->name), name,
                            0))
            return (long)i;
    return -1;
}

/* ---- The tests of a scenario ------------------------------------- */

static int target_shown(const struct docs_src *src, const struct scenario *sc,
                        const char *target)
{
    size_t i;

    if (!scenario_runs_on(sc, target))
        return 0;
    if (src->ntargets == 0)
        return 1;
    for (i = 0; i < src->ntargets; i++)
        if (strcmp(src->targets[i], target) == 0)
            return 1;
    return 0;
}

typedef void test_fn(size_t target, const struct docs_result *r, void *arg);

/* <fn> for every test of <sc> on every shown target, with its result
 * (NULL when it has none).  Returns -1 with <err> set when the covering
 * array cannot be built. */
static int each_test(const struct docs_src *src, const struct scenario *sc,
                     test_fn *fn, void *arg, struct pw_err *err)
{
    const struct config *cfg = suite_config(src->suite);
    struct sbuf id = SBUF_INIT;
    struct matrix_iter it;
    const char *const *row;
    struct docs_result r;
    size_t t;

    for (t = 0; t < cfg->ntargets; t++) {
        const char *target = cfg->targets[t].name;

        if (!target_shown(src, sc, target))
            continue;
        if (matrix_iter_init(&it, scenario_matrix((struct scenario *)sc),
                             err) != PW_OK) {
            sbuf_release(&id);
            return -1;
        }
        while (matrix_iter_next(&it, &row)) {
            sbuf_reset(&id);
            expand_test_id(&id, sc, target,
                           matrix_param_count(scenario_matrix(
                               (struct scenario *)sc))
                               ? row
                               : NULL);
            memset(&r, 0, sizeof(r));
            if (src->result && src->result(id.buf, &r, src->arg))
                fn(t, &r, arg);
            else
                fn(t, NULL, arg);
        }
        matrix_iter_release(&it);
    }
    sbuf_release(&id);
    return 0;
}

/* Per target and step: what the tests' last results say. */
struct cell {
    unsigned long passed, failed, errored, unreached;
    time_t since;     /* failed or in error: earliest; passed only: latest */
    time_t msg_at;    /* last_run of the failure <msg> comes from */
    char *msg;
};

struct tally {
    const struct scenario *sc;
    size_t nsteps;
    struct cell *cells;      /* [target * nsteps + step] */
    unsigned long *norun;    /* per target: tests without a result */
    unsigned long *unplaced; /* per target: failed at no known step */
    unsigned long *tests;    /* per target */
};

static void tally_test(size_t t, const struct docs_result *r, void *arg)
{
    struct tally *ty = arg;
    struct cell *row = &ty->cells[t * ty->nsteps];
    long k;
    size_t i;

    ty->tests[t]++;
    if (r == NULL) {
        ty->norun[t]++;
        return;
    }
    if (r->status == RUN_PASS) {
        for (i = 0; i < ty->nsteps; i++) {
            row[i].passed++;
            if (r->since > row[i].since)
                row[i].since = r->since;
        }
        return;
    }
    k = docs_step_index(ty->sc, r->step);
    if (k < 0) {
        ty->unplaced[t]++;
        return;
    }
    for (i = 0; i < ty->nsteps; i++) {
        struct cell *c = &row[i];

        if (i < (size_t)k) {
            c->passed++;
            continue;
        }
        if (i > (size_t)k) {
            c->unreached++;
            continue;
        }
        if ((c->failed == 0 && c->errored == 0) ||
            (r->since > 0 && r->since < c->since))
            c->since = r->since;
        /* A test in error is kept apart from one that failed, as the
         * status page does: the step could not be checked at all. */
        if (r->status == RUN_ERROR)
            c->errored++;
        else
            c->failed++;
        if (r->message && (c->msg == NULL || r->last_run >= c->msg_at)) {
            free(c->msg);
            c->msg = xstrdup(r->message);
            c->msg_at = r->last_run;
        }
    }
}

static void tally_release(struct tally *ty, size_t ntargets)
{
    size_t i;

    for (i = 0; i < ntargets * ty->nsteps; i++)
        free(ty->cells[i].msg);
    free(ty->cells);
    free(ty->norun);
    free(ty->unplaced);
    free(ty->tests);
}

/* ---- Plain words ---------------------------------------------------- */

static int sensitive_header(const char *name)
{
    static const char *const names[] = { "authorization", "cookie",
                                         "proxy-authorization", "x-api-key" };
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcasecmp(name, names[i]) == 0)
            return 1;
    return 0;
}

static void say_request(struct page *p, const struct request *rq)
{
    char dur[32];
    size_t i;

    text(p, rq->method);
    raw(p, " ");
    code(p, tmpl_source(rq->url));
    if (rq->json) {
        text(p, " with a JSON body");
        if (rq->json->kind == TV_MAP && rq->json->n > 0) {
            text(p, " (");
            for (i = 0; i < rq->json->n; i++) {
                if (i)
                    text(p, ", ");
                code(p, rq->json->keys[i]);
            }
            text(p, ")");
        }
    } else if (rq->body) {
        text(p, " with the body ");
        code(p, tmpl_source(rq->body));
    } else if (rq->nform) {
        text(p, " with a form (");
        for (i = 0; i < rq->nform; i++) {
            if (i)
                text(p, ", ");
            code(p, rq->form[i].name);
        }
        text(p, ")");
    }
    for (i = 0; i < rq->nquery; i++) {
        text(p, i ? ", " : ", query ");
        code(p, rq->query[i].name);
        text(p, " = ");
        code(p, tmpl_source(rq->query[i].value));
    }
    for (i = 0; i < rq->nheaders; i++) {
        text(p, ", header ");
        code(p, rq->headers[i].name);
        if (!sensitive_header(rq->headers[i].name)) {
            text(p, ": ");
            code(p, tmpl_source(rq->headers[i].value));
        }
    }
    if (rq->auth == AUTH_BASIC)
        text(p, ", with basic authentication");
    else if (rq->auth == AUTH_BEARER)
        text(p, ", with a bearer token");
    if (rq->timeout_ms) {
        text(p, "; gives up after ");
        text(p, units_format_duration(rq->timeout_ms, dur, sizeof(dur)));
    }
}

static void say_status(struct page *p, const struct expect *e,
                       const char *lead)
{
    struct sbuf b = SBUF_INIT;
    size_t i;

    if (e->nstatus == 0) {
        text(p, lead);
        text(p, "below 400");
        return;
    }
    for (i = 0; i < e->nstatus; i++) {
        const struct status_range *r = &e->status[i];

        if (i)
            sbuf_adds(&b, i + 1 == e->nstatus ? " or " : ", ");
        if (r->lo == r->hi)
            sbuf_addf(&b, "%u", r->lo);
        else if (r->lo % 100 == 0 && r->hi == r->lo + 99)
            sbuf_addf(&b, "%uxx", r->lo / 100);
        else
            sbuf_addf(&b, "%u to %u", r->lo, r->hi);
    }
    text(p, lead);
    text(p, b.buf);
    sbuf_release(&b);
}

/* A typed operand as written: scalars as their text, lists joined. */
static void say_tval(struct page *p, const struct tval *v)
{
    size_t i;

    if (v == NULL)
        return;
    switch (v->kind) {
    case TV_NULL:
        code(p, "null");
        break;
    case TV_BOOL:
    case TV_NUM:
        code(p, v->text);
        break;
    case TV_STR:
        code(p, tmpl_source(v->str));
        break;
    case TV_SEQ:
        for (i = 0; i < v->n; i++) {
            if (i)
                text(p, i + 1 == v->n ? " or " : ", ");
            say_tval(p, v->items[i]);
        }
        break;
    case TV_MAP:
        text(p, "an object");
        break;
    }
}

static void say_subject(struct page *p, const struct check *c)
{
    switch (c->subject) {
    case SUBJ_JQ:
        code(p, c->text);
        break;
    case SUBJ_HEADER:
        text(p, "header ");
        code(p, c->text);
        break;
    case SUBJ_BODY_TEXT:
        text(p, "the body");
        break;
    case SUBJ_BODY_SIZE:
        text(p, "the body's size");
        break;
    case SUBJ_BODY_SHA256:
        text(p, "the body's SHA-256");
        break;
    case SUBJ_REGEX:
        text(p, "the first match of ");
        code(p, c->text);
        break;
    case SUBJ_TLS_DAYS_LEFT:
        text(p, "the certificate's days left");
        break;
    case SUBJ_STATUS:
        text(p, "the status");
        break;
    }
}

static void say_op(struct page *p, const struct check_op *o)
{
    char num[64];

    snprintf(num, sizeof(num), "%.15g", o->number);
    switch (o->op) {
    case OP_EQ:
        text(p, "is ");
        say_tval(p, o->operand);
        break;
    case OP_NE:
        text(p, "is not ");
        say_tval(p, o->operand);
        break;
    case OP_LT:
        text(p, "is less than ");
        text(p, num);
        break;
    case OP_LE:
        text(p, "is at most ");
        text(p, num);
        break;
    case OP_GT:
        text(p, "is more than ");
        text(p, num);
        break;
    case OP_GE:
        text(p, "is at least ");
        text(p, num);
        break;
    case OP_MATCHES:
        text(p, "matches ");
        code(p, o->pattern ? o->pattern : "?");
        break;
    case OP_CONTAINS:
        text(p, "contains ");
        say_tval(p, o->operand);
        break;
    case OP_EXISTS:
        text(p, o->flag ? "exists" : "does not exist");
        break;
    case OP_TYPE:
        text(p, strcmp(o->type_name, "array") == 0 ||
                        strcmp(o->type_name, "object") == 0
                    ? "is an "
                    : "is a ");
        text(p, o->type_name);
        break;
    case OP_IN:
        text(p, "is one of ");
        say_tval(p, o->operand);
        break;
    }
}

static void say_expect(struct page *p, const struct expect *e)
{
    char dur[32];
    size_t i, k;

    item(p, "expect");
    text(p, "Expects: ");
    say_status(p, e, "the status is ");
    item_end(p);
    if (e->duration_ms) {
        item(p, "expect");
        text(p, e->duration_op == OP_LT ? "Expects: answers in less than "
                                        : "Expects: answers within ");
        text(p, units_format_duration(e->duration_ms, dur, sizeof(dur)));
        item_end(p);
    }
    for (i = 0; i < e->nchecks; i++)
        for (k = 0; k < e->checks[i].nops; k++) {
            item(p, "expect");
            text(p, "Expects: ");
            say_subject(p, &e->checks[i]);
            text(p, " ");
            say_op(p, &e->checks[i].ops[k]);
            item_end(p);
        }
}

static void say_capture(struct page *p, const struct capture *c)
{
    item(p, "capture");
    text(p, "Remembers ");
    code(p, c->name);
    text(p, " from ");
    if (c->kind == CAP_JQ) {
        code(p, c->text);
    } else if (c->kind == CAP_HEADER) {
        text(p, "header ");
        code(p, c->text);
    } else if (c->kind == CAP_REGEX) {
        text(p, "the first match of ");
        code(p, c->text);
    } else {
        text(p, "the status");
    }
    item_end(p);
}

static void say_retry(struct page *p, const struct retry *r)
{
    static const struct {
        unsigned bit;
        const char *what;
    } on[] = { { RETRY_ON_ERROR, "no answer" },
               { RETRY_ON_5XX, "a 5xx status" },
               { RETRY_ON_4XX, "a 4xx status" },
               { RETRY_ON_FAIL, "a failed expectation" } };
    struct sbuf b = SBUF_INIT;
    char dur[32];
    size_t i, n = 0;

    if (r->attempts <= 1)
        return;
    sbuf_addf(&b, "Retried up to %u time%s", r->attempts - 1,
              r->attempts == 2 ? "" : "s");
    if (r->delay_ms)
        sbuf_addf(&b, ", %s apart",
                  units_format_duration(r->delay_ms, dur, sizeof(dur)));
    for (i = 0; i < sizeof(on) / sizeof(on[0]); i++)
        if (r->on & on[i].bit) {
            sbuf_adds(&b, n++ ? " or " : ", on ");
            sbuf_adds(&b, on[i].what);
        }
    item(p, "retry");
    text(p, b.buf);
    item_end(p);
    sbuf_release(&b);
}

static void say_cleanup(struct page *p, const struct step *st)
{
    if (st->cleanup == NULL)
        return;
    item(p, "cleanup");
    text(p, "Afterwards, ");
    say_request(p, st->cleanup);
    text(p, ", expecting status ");
    say_status(p, &st->cleanup_expect, "");
    item_end(p);
}

/* "Given a user" as **Given** a user; other names as they are. */
static void say_step_name(struct page *p, const char *name)
{
    static const char *const kws[] = { "Given", "When", "Then", "And",
                                       "But" };
    size_t i, n;

    for (i = 0; i < sizeof(kws) / sizeof(kws[0]); i++) {
        n = strlen(kws[i]);
        if (strncmp(name, kws[i], n) == 0 && (name[n] == ' ')) {
            raw(p, p->f == DOCS_MD ? "**" : "<span class=\"kw\">");
            text(p, kws[i]);
            raw(p, p->f == DOCS_MD ? "**" : "</span>");
            text(p, name + n);
            return;
        }
    }
    text(p, name);
}

/* ---- Results -------------------------------------------------------- */

static const char *cell_state(const struct cell *c)
{
    if (c->failed)
        return "failed";
    if (c->errored)
        return "in error";
    if (c->passed && c->unreached == 0)
        return "passed";
    if (c->passed)
        return "partly reached";
    if (c->unreached)
        return "not reached";
    return "no result";
}

static void say_results(struct page *p, const struct docs_src *src,
                        const struct tally *ty, size_t step)
{
    static const char *const cols[] = {
        "Target",      "Result",    "Passed", "Failed",      "In error",
        "Not reached", "No result", "Since",  "Last failure"
    };
    const struct config *cfg = suite_config(src->suite);
    struct sbuf b = SBUF_INIT;
    size_t t;

    if (src->result == NULL)
        return;
    header_row(p, cols, sizeof(cols) / sizeof(cols[0]));
    for (t = 0; t < cfg->ntargets; t++) {
        const struct cell *c = &ty->cells[t * ty->nsteps + step];
        const char *state = cell_state(c);
        char cls[32];

        if (ty->tests[t] == 0)
            continue;
        snprintf(cls, sizeof(cls), "result %s",
                 c->failed    ? "failed"
                 : c->errored ? "error"
                 : c->passed  ? "passed"
                              : "unknown");
        row_start(p, cls, cfg->targets[t].name);
        cell(p, "target", cfg->targets[t].name);
        cell(p, "state", state);
        sbuf_reset(&b);
        sbuf_addf(&b, "%lu", c->passed);
        cell(p, "passed", b.buf);
        sbuf_reset(&b);
        sbuf_addf(&b, "%lu", c->failed);
        cell(p, "failed", b.buf);
        sbuf_reset(&b);
        sbuf_addf(&b, "%lu", c->errored);
        cell(p, "error", b.buf);
        sbuf_reset(&b);
        sbuf_addf(&b, "%lu", c->unreached);
        cell(p, "unreached", b.buf);
        sbuf_reset(&b);
        sbuf_addf(&b, "%lu", ty->norun[t] + ty->unplaced[t]);
        cell(p, "norun", b.buf);
        sbuf_reset(&b);
        add_time(&b, c->failed || c->errored || c->passed ? c->since : 0,
                 src->now);
        cell(p, "since", b.buf);
        cell(p, "message", c->msg ? c->msg : "");
        row_end(p);
    }
    table_end(p);
    sbuf_release(&b);
}

static void say_step(struct page *p, const struct docs_src *src,
                     const struct tally *ty, size_t i)
{
    const struct step *st = scenario_step(ty->sc, i);
    size_t k;

    if (p->f == DOCS_HTML)
        sbuf_addf(p->out, "<section class=\"step\" data-step=\"%zu\">\n",
                  i + 1);
    heading(p, 3, "step-name");
    sbuf_addf(p->out, "%zu. ", i + 1);
    say_step_name(p, tmpl_source(st->name));
    heading_end(p, 3);
    list(p, "facts");
    item(p, "request");
    text(p, "Request: ");
    say_request(p, &st->req);
    item_end(p);
    say_expect(p, &st->expect);
    for (k = 0; k < st->ncaptures; k++)
        say_capture(p, &st->captures[k]);
    say_retry(p, &st->retry);
    say_cleanup(p, st);
    list_end(p);
    say_results(p, src, ty, i);
    if (p->f == DOCS_HTML)
        raw(p, "</section>\n");
}

/* ---- Matrix --------------------------------------------------------- */

static void say_matrix(struct page *p, const struct docs_src *src,
                       const struct scenario *sc)
{
    struct matrix *m = scenario_matrix((struct scenario *)sc);
    size_t np = matrix_param_count(m), i, v, max, shown = 0;
    const char **names;
    struct matrix_iter it;
    const char *const *row;
    struct pw_err err;
    struct sbuf b = SBUF_INIT;
    uint64_t total = 0;
    static const char *const pv[] = { "Parameter", "Values" };

    if (np == 0)
        return;
    heading(p, 2, NULL);
    text(p, "Matrix");
    heading_end(p, 2);
    header_row(p, pv, 2);
    for (i = 0; i < np; i++) {
        row_start(p, "param", NULL);
        cell(p, "name", matrix_param_name(m, i));
        /* Each value a code span of its own: a value holding ", " or
         * "=" is still one value. */
        raw(p, p->f == DOCS_MD ? " " : "<td class=\"values\">");
        for (v = 0; v < matrix_value_count(m, i); v++) {
            if (v)
                text(p, ", ");
            code_in(p, matrix_value(m, i, v), 1);
        }
        raw(p, p->f == DOCS_MD ? " |" : "</td>");
        row_end(p);
    }
    table_end(p);
    sbuf_reset(&b);
    if (matrix_strength(m) >= 2)
        sbuf_addf(&b,
                  "Coverage: %u-wise (every combination of %u values "
                  "appears in at least one permutation; excluded "
                  "combinations never do).",
                  matrix_strength(m), matrix_strength(m));
    else
        sbuf_adds(&b, "Coverage: all (every combination, minus the "
                      "excluded ones, plus the included ones).");
    para(p, b.buf);
    for (i = 0; i < matrix_exclude_count(m); i++) {
        const int *ex = matrix_exclude(m, i);

        sbuf_reset(&b);
        sbuf_adds(&b, "Never: ");
        for (v = shown = 0; v < np; v++)
            if (ex[v] >= 0)
                sbuf_addf(&b, "%s%s = %s", shown++ ? ", " : "",
                          matrix_param_name(m, v),
                          matrix_value(m, v, (size_t)ex[v]));
        sbuf_addc(&b, '.');
        para(p, b.buf);
    }
    for (i = 0; i < matrix_include_count(m); i++) {
        const char *const *in = matrix_include(m, i);

        sbuf_reset(&b);
        sbuf_adds(&b, "Always also: ");
        for (v = 0; v < np; v++)
            sbuf_addf(&b, "%s%s = %s", v ? ", " : "",
                      matrix_param_name(m, v), in[v]);
        sbuf_addc(&b, '.');
        para(p, b.buf);
    }
    shown = 0;

    max = src->max_rows ? src->max_rows : DOCS_MAX_ROWS;
    if (matrix_iter_init(&it, m, &err) != PW_OK) {
        para(p, err.msg);
        sbuf_release(&b);
        return;
    }
    names = xcalloc(np + 1, sizeof(*names));
    names[0] = "#";
    for (i = 0; i < np; i++)
        names[i + 1] = matrix_param_name(m, i);
    heading(p, 2, NULL);
    text(p, "Permutations");
    heading_end(p, 2);
    header_row(p, names, np + 1);
    while (matrix_iter_next(&it, &row)) {
        total++;
        if (shown >= max)
            continue;
        shown++;
        row_start(p, "perm", NULL);
        sbuf_reset(&b);
        sbuf_addf(&b, "%zu", shown);
        cell(p, "n", b.buf);
        for (i = 0; i < np; i++)
            cell(p, "v", row[i]);
        row_end(p);
    }
    matrix_iter_release(&it);
    table_end(p);
    sbuf_reset(&b);
    if (total > shown)
        sbuf_addf(&b,
                  "%llu permutations in all; %llu more not listed here: "
                  "`prodwatch expand --scenario %s` lists them all.",
                  (unsigned long long)total,
                  (unsigned long long)(total - shown), scenario_name(sc));
    else
        sbuf_addf(&b, "%llu permutation%s in all.", (unsigned long long)total,
                  total == 1 ? "" : "s");
    para(p, b.buf);
    free(names);
    sbuf_release(&b);
}

/* ---- Pages ---------------------------------------------------------- */

static const char CSS[] =
    "body{font:15px/1.45 system-ui,sans-serif;max-width:60em;margin:1em "
    "auto;padding:0 1em;color:#222}"
    "h1,h2,h3{line-height:1.2}code{background:#f3f3f3;padding:0 .2em;"
    "word-break:break-all}table{border-collapse:collapse;margin:.5em 0;"
    "font-size:13px}td,th{border:1px solid #ccc;padding:.2em .5em;"
    "text-align:left;vertical-align:top}.kw{font-weight:bold;color:#555}"
    "tr.failed td.state,.state-failing{color:#fff;background:#c62828}"
    "tr.error td.state{color:#fff;background:#6a1b9a}"
    "tr.passed td.state,.state-passing{color:#fff;background:#2e7d32}"
    "tr.unknown td.state,.state-unknown{background:#ddd}"
    ".step{border-left:3px solid #ccc;padding-left:.8em;margin:1em 0}"
    "td.message{font-family:monospace;max-width:30em}";

static void page_start(struct page *p, const char *title)
{
    if (p->f == DOCS_MD) {
        raw(p, "# ");
        text(p, title);
        raw(p, "\n\n");
        return;
    }
    raw(p, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta "
           "charset=\"utf-8\">\n<meta name=\"viewport\" "
           "content=\"width=device-width,initial-scale=1\">\n<title>");
    text(p, title);
    raw(p, "</title>\n<style>");
    raw(p, CSS);
    raw(p, "</style></head>\n<body>\n<h1>");
    text(p, title);
    raw(p, "</h1>\n");
}

static void page_end(struct page *p)
{
    if (p->f == DOCS_HTML)
        raw(p, "</body></html>\n");
}

static void link_to(struct page *p, const struct docs_src *src,
                    const char *name)
{
    struct sbuf href = SBUF_INIT;
    const char *c;

    if (src->links == DOCS_LINK_FILES) {
        docs_file_name(&href, name);
        sbuf_adds(&href, p->f == DOCS_MD ? ".md" : ".html");
    } else {
        /* Served next to the index, at /docs/NAME: a relative link,
         * percent-encoded. */
        for (c = name; *c; c++) {
            unsigned char u = (unsigned char)*c;

            if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') ||
                (u >= '0' && u <= '9') || strchr("-_.~@", u))
                sbuf_addc(&href, (char)u);
            else
                sbuf_addf(&href, "%%%02X", u);
        }
    }
    if (p->f == DOCS_MD) {
        raw(p, "[");
        text(p, name);
        raw(p, "](");
        text(p, href.buf);
        raw(p, ")");
    } else {
        raw(p, "<a href=\"");
        text(p, href.buf);
        raw(p, "\">");
        text(p, name);
        raw(p, "</a>");
    }
    sbuf_release(&href);
}

/* Where a scenario file is, as a reader can use it: relative to the
 * configuration's directory <dir> when under it, else its base name.
 * Never the absolute path: it says nothing to a reader and tells the
 * layout of the machine to anyone the daemon serves. */
static void defined_in(struct sbuf *b, const char *dir, const char *file)
{
    size_t n = strlen(dir);
    const char *rel = NULL, *base = strrchr(file, '/');

    if (strcmp(dir, ".") == 0 && file[0] != '/')
        rel = file;
    else if (n > 0 && strncmp(file, dir, n) == 0)
        rel = dir[n - 1] == '/' ? file + n : file[n] == '/' ? file + n + 1
                                                             : NULL;
    while (rel && strncmp(rel, "./", 2) == 0)
        rel += 2;
    if (rel && (strncmp(rel, "../", 3) == 0 || strstr(rel, "/../")))
        rel = NULL;
    sbuf_adds(b, rel && *rel ? rel : base ? base + 1 : file);
}

static void fact(struct page *p, const char *label, const char *value)
{
    item(p, "fact");
    strong(p, label);
    text(p, ": ");
    text(p, value);
    item_end(p);
}

static void say_head(struct page *p, const struct docs_src *src,
                     const struct scenario *sc, const struct tally *ty)
{
    const struct config *cfg = suite_config(src->suite);
    struct sbuf b = SBUF_INIT;
    char dur[32];
    size_t i;
    unsigned long tests = 0;

    if (scenario_description(sc))
        paras(p, scenario_description(sc));
    list(p, "facts");
    for (i = 0; i < scenario_tag_count(sc); i++) {
        sbuf_adds(&b, i ? ", " : "");
        sbuf_adds(&b, scenario_tag(sc, i));
    }
    fact(p, "Tags", b.len ? b.buf : "none");
    fact(p, "Severity", severity_name(scenario_severity(sc)));
    fact(p, "Runs every",
         units_format_duration(scenario_every_ms(sc), dur, sizeof(dur)));
    sbuf_reset(&b);
    for (i = 0; i < cfg->ntargets; i++) {
        if (!target_shown(src, sc, cfg->targets[i].name))
            continue;
        sbuf_adds(&b, b.len ? ", " : "");
        sbuf_adds(&b, cfg->targets[i].name);
        tests += ty->tests[i];
    }
    fact(p, "Targets", b.len ? b.buf : "none selected");
    sbuf_reset(&b);
    sbuf_addf(&b, "%lu", tests);
    fact(p, "Tests", b.buf);
    sbuf_reset(&b);
    defined_in(&b, cfg->dir, scenario_file(sc));
    sbuf_addf(&b, ", line %u", scenario_pos(sc).line);
    fact(p, "Defined in", b.buf);
    list_end(p);
    sbuf_release(&b);
}

/* Tests whose failing step is not one of the scenario's (renamed since,
 * or failed before any step), said once per target. */
static void say_unplaced(struct page *p, const struct docs_src *src,
                         const struct tally *ty)
{
    const struct config *cfg = suite_config(src->suite);
    struct sbuf b = SBUF_INIT;
    size_t t;

    for (t = 0; t < cfg->ntargets; t++) {
        if (ty->unplaced[t] == 0)
            continue;
        sbuf_reset(&b);
        sbuf_addf(&b,
                  "On %s, %lu test%s failed at no step of this version "
                  "of the scenario.",
                  cfg->targets[t].name, ty->unplaced[t],
                  ty->unplaced[t] == 1 ? "" : "s");
        para(p, b.buf);
    }
    sbuf_release(&b);
}

void docs_scenario(struct sbuf *out, const struct docs_src *src,
                   const struct scenario *sc)
{
    const struct config *cfg = suite_config(src->suite);
    struct page pg = { out, src->format };
    struct page *p = &pg;
    struct tally ty;
    struct sbuf title = SBUF_INIT;
    struct pw_err err;
    size_t i;
    int walked;

    memset(&ty, 0, sizeof(ty));
    ty.sc = sc;
    ty.nsteps = scenario_step_count(sc);
    ty.cells = xcalloc(cfg->ntargets * ty.nsteps + 1, sizeof(*ty.cells));
    ty.norun = xcalloc(cfg->ntargets + 1, sizeof(*ty.norun));
    ty.unplaced = xcalloc(cfg->ntargets + 1, sizeof(*ty.unplaced));
    ty.tests = xcalloc(cfg->ntargets + 1, sizeof(*ty.tests));
    err.msg[0] = '\0';
    walked = each_test(src, sc, tally_test, &ty, &err) == 0;

    sbuf_addf(&title, "Scenario: %s", scenario_name(sc));
    page_start(p, title.buf);
    sbuf_release(&title);
    say_head(p, src, sc, &ty);
    if (!walked)
        para(p, err.msg);
    if (src->links == DOCS_LINK_SERVED || p->f == DOCS_HTML) {
        raw(p, p->f == DOCS_MD ? "" : "<p>");
        text(p, "Back to ");
        if (p->f == DOCS_MD)
            raw(p, src->links == DOCS_LINK_FILES ? "[the index](index.md)"
                                                 : "[the index](./)");
        else
            raw(p, src->links == DOCS_LINK_FILES
                       ? "<a href=\"index.html\">the index</a>"
                       : "<a href=\"./\">the index</a>");
        raw(p, p->f == DOCS_MD ? "\n\n" : "</p>\n");
    }
    heading(p, 2, NULL);
    text(p, "Steps");
    heading_end(p, 2);
    say_unplaced(p, src, &ty);
    for (i = 0; i < ty.nsteps; i++)
        say_step(p, src, &ty, i);
    say_matrix(p, src, sc);
    page_end(p);
    tally_release(&ty, cfg->ntargets);
}

int docs_selected(const struct scenario *sc, const struct expand_filter *f)
{
    size_t i;
    int ok;

    if (f == NULL)
        return 1;
    ok = f->nscenarios == 0;
    for (i = 0; !ok && i < f->nscenarios; i++)
        ok = strcmp(f->scenarios[i], scenario_name(sc)) == 0;
    if (!ok)
        return 0;
    ok = f->ntags == 0;
    for (i = 0; !ok && i < f->ntags; i++)
        ok = scenario_has_tag(sc, f->tags[i]);
    return ok;
}

/* The overall state of a scenario, for the index. */
struct overall {
    unsigned long passing, failing, norun;
};

static void count_test(size_t t, const struct docs_result *r, void *arg)
{
    struct overall *o = arg;

    (void)t;
    if (r == NULL)
        o->norun++;
    else if (r->status == RUN_PASS)
        o->passing++;
    else
        o->failing++;
}

void docs_index(struct sbuf *out, const struct docs_src *src,
                const struct expand_filter *f)
{
    static const char *const cols[] = { "Scenario", "State", "Passing",
                                        "Failing", "No result",
                                        "Description" };
    struct page pg = { out, src->format };
    struct page *p = &pg;
    struct sbuf b = SBUF_INIT;
    struct pw_err err;
    size_t i;

    page_start(p, "Living documentation");
    para(p, src->result ? "Each scenario with the last results of its tests."
                        : "Each scenario (no results were available).");
    header_row(p, cols, sizeof(cols) / sizeof(cols[0]));
    for (i = 0; i < suite_scenario_count(src->suite); i++) {
        const struct scenario *sc = suite_scenario(src->suite, i);
        struct overall o = { 0, 0, 0 };
        const char *state, *cls;

        if (!docs_selected(sc, f))
            continue;
        if (each_test(src, sc, count_test, &o, &err) != 0)
            state = "too large", cls = "state-unknown";
        else if (o.failing)
            state = "failing", cls = "state-failing";
        else if (o.passing && o.norun)
            state = "partly run", cls = "state-unknown";
        else if (o.passing)
            state = "passing", cls = "state-passing";
        else
            state = "no results", cls = "state-unknown";
        row_start(p, "scenario", NULL);
        if (p->f == DOCS_HTML)
            raw(p, "<td class=\"name\">");
        else
            raw(p, " ");
        link_to(p, src, scenario_name(sc));
        raw(p, p->f == DOCS_HTML ? "</td>" : " |");
        cell(p, cls, state);
        sbuf_reset(&b);
        sbuf_addf(&b, "%lu", o.passing);
        cell(p, "passing", b.buf);
        sbuf_reset(&b);
        sbuf_addf(&b, "%lu", o.failing);
        cell(p, "failing", b.buf);
        sbuf_reset(&b);
        sbuf_addf(&b, "%lu", o.norun);
        cell(p, "norun", b.buf);
        cell(p, "description",
             scenario_description(sc) ? scenario_description(sc) : "");
        row_end(p);
    }
    table_end(p);
    page_end(p);
    sbuf_release(&b);
}

void docs_file_name(struct sbuf *out, const char *name)
{
    /* The index's own name is taken: a scenario called so has its first
     * byte escaped, as a leading '.' has. */
    int first_escaped = name[0] == '.' || strcmp(name, "index") == 0;
    const char *c;

    for (c = name; *c; c++) {
        unsigned char u = (unsigned char)*c;

        if (((u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || u == '-' ||
             u == '_' || u == '.') &&
            !(c == name && first_escaped))
            sbuf_addc(out, (char)u);
        else
            sbuf_addf(out, "~%02x", u);
    }
}
