/* jqset.c -- batched compilation and indexed evaluation of jq programs. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jq.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "clock.h"
#include "fastjson.h"
#include "jqset.h"
#include "sbuf.h"
#include "xalloc.h"

struct jqexpr {
    char *text;
    struct pos pos;
    char *file;     /* owned copy of pos.file */
    int ok;         /* passed precheck and compiled */
    int in_process; /* bounded by its input: no need to run apart */
    struct fastjson_expr *fast; /* a path fastjson answers, or NULL */
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
    struct fastjson *fj; /* made with the first fast path */
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
        fastjson_expr_free(s->items[i].fast);
    }
    fastjson_free(s->fj);
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
    e->in_process = 0;
    e->fast = NULL;
    return s->n++;
}

size_t jqset_count(const struct jqset *s)
{
    return s->n;
}

/* ---- Reading a program: refused names and the bounded class ---- */

/* Names that reach outside the response or the process: a check must not
 * be able to print the runner's environment (it may hold secrets), read
 * other inputs or files, write to the runner's streams or stop it. */
static const char *const refused_names[] = { "input",
                                             "inputs",
                                             "debug",
                                             "stderr",
                                             "halt",
                                             "halt_error",
                                             "env",
                                             "input_filename",
                                             "input_line_number",
                                             "import",
                                             "include",
                                             "modulemeta",
                                             "get_search_list",
                                             "get_prog_origin",
                                             "get_jq_origin",
                                             NULL };

/* Builtins whose cost is bounded by the size of their input, in jq 1.6.
 * Left out on purpose: everything that loops on its own (range, limit,
 * while, until, repeat, recurse(f)), or is quadratic in the input (join,
 * contains, inside, index, indices, walk, with_entries, from_entries,
 * map_values, transpose, sub, gsub), or emits a value per node that is
 * as long as the nesting is deep (path, paths, leaf_paths, tostream: size
 * times depth), or can abort on hostile values (implode, base32/64
 * decoding, the date functions). */
enum { B_GEN = 1, B_COLLECT = 2 };
static const struct {
    const char *name;
    int flags; /* B_GEN: may emit many outputs; B_COLLECT: emits one
                * whatever its arguments emit */
} bounded_names[] = {
    { "length", 0 },
    { "utf8bytelength", 0 },
    { "not", 0 },
    { "keys", 0 },
    { "keys_unsorted", 0 },
    { "values", 0 },
    { "has", 0 },
    { "in", 0 },
    { "map", B_COLLECT },
    { "del", B_COLLECT },
    { "to_entries", 0 },
    { "select", 0 },
    { "empty", 0 },
    { "error", B_COLLECT },
    { "any", B_COLLECT },
    { "all", B_COLLECT },
    { "flatten", 0 },
    { "add", 0 },
    { "floor", 0 },
    { "ceil", 0 },
    { "round", 0 },
    { "fabs", 0 },
    { "sqrt", 0 },
    { "pow", 0 },
    { "log", 0 },
    { "exp", 0 },
    { "log10", 0 },
    { "tostring", 0 },
    { "tonumber", 0 },
    { "type", 0 },
    { "infinite", 0 },
    { "nan", 0 },
    { "isinfinite", 0 },
    { "isnan", 0 },
    { "isnormal", 0 },
    { "sort", 0 },
    { "sort_by", B_COLLECT },
    { "group_by", B_COLLECT },
    { "min", 0 },
    { "max", 0 },
    { "min_by", B_COLLECT },
    { "max_by", B_COLLECT },
    { "unique", 0 },
    { "unique_by", B_COLLECT },
    { "reverse", 0 },
    { "startswith", 0 },
    { "endswith", 0 },
    { "ltrimstr", 0 },
    { "rtrimstr", 0 },
    { "explode", 0 },
    { "split", 0 },
    { "ascii_downcase", 0 },
    { "ascii_upcase", 0 },
    { "test", 0 },
    { "match", B_GEN },
    { "capture", B_GEN },
    { "scan", B_GEN },
    { "splits", B_GEN },
    { "tojson", 0 },
    { "fromjson", 0 },
    { "getpath", 0 },
    { "recurse", B_GEN },
    { "first", B_COLLECT },
    { "last", B_COLLECT },
    { "nth", B_COLLECT },
    { "isempty", B_COLLECT },
    { "objects", 0 },
    { "iterables", 0 },
    { "booleans", 0 },
    { "numbers", 0 },
    { "strings", 0 },
    { "nulls", 0 },
    { "arrays", 0 },
    { "scalars", 0 },
    { "now", 0 },
};

/* Keywords with a part in the bounded class; the others (def, reduce,
 * foreach, as, label, break, ...) bring variables, recursion or loops. */
static const char *const plain_keywords[] = { "try",  "catch", "else", "end",
                                              "true", "false", "null", NULL };

#define SCAN_DEPTH 512

struct scan_frame {
    char kind;   /* ( [ { I (string interpolation) f (if condition) */
    char call;   /* the ( of a call whose arguments re-emit its input */
    int gens_at; /* scan.gens when the frame opened */
};

/* What a pass over a program found.  A generator (.[], .., paths, ...)
 * emits up to one value per part of its input.  A re-emitter (a comma,
 * select(.[]), if .[] then ...) emits a value it was given more than once,
 * so two of them, or one and a generator, can multiply; so can a combining
 * operator (+, ==, an object's pairs, f(a; b), ...) between two
 * generators. */
struct scan {
    struct scan_frame stack[SCAN_DEPTH];
    size_t depth;
    int gens, reemits, combines, stars;
    int pluses;  /* '+' between two non-literals: each may double */
    int encodes; /* tojson and tostring, which may double a string */
    int slow;    /* something outside the bounded class */
    int prev;    /* kind of the previous token */
    double prev_num;
    int call_next;  /* the previous token names a call */
    int call_flags; /* its B_ flags */
};

enum { P_START, P_OPEN, P_OBJ_OPEN, P_OBJ_SEP, P_OP, P_TERM, P_NUM, P_STR };

static int ident_start(char c)
{
    return isalpha((unsigned char)c) || c == '_';
}

static int ident_char(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

static int in_list(const char *const *list, const char *w, size_t n)
{
    size_t i;

    for (i = 0; list[i]; i++)
        if (strlen(list[i]) == n && strncmp(list[i], w, n) == 0)
            return 1;
    return 0;
}

static int bounded_flags(const char *w, size_t n)
{
    size_t i;

    for (i = 0; i < sizeof(bounded_names) / sizeof(bounded_names[0]); i++)
        if (strlen(bounded_names[i].name) == n &&
            strncmp(bounded_names[i].name, w, n) == 0)
            return bounded_names[i].flags;
    return -1;
}

static const char *skip_space(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

static void scan_push(struct scan *sc, char kind)
{
    struct scan_frame *f;

    if (sc->depth == SCAN_DEPTH) {
        sc->slow = 1; /* unreachable after precheck but for if-frames */
        return;
    }
    f = &sc->stack[sc->depth++];
    f->kind = kind;
    f->call = 0;
    f->gens_at = sc->gens;
}

/* Close the innermost frame: a call or an if whose arguments generate
 * re-emits its input. */
static void scan_pop(struct scan *sc)
{
    struct scan_frame *f;

    if (sc->depth == 0)
        return;
    f = &sc->stack[--sc->depth];
    if ((f->call || f->kind == 'f') && sc->gens > f->gens_at)
        sc->reemits++;
}

/* Whether the token at <p> is a number literal no bigger than <max>. */
static int number_at(const char *p, double max)
{
    char *end;
    double v;

    p = skip_space(p);
    if (!isdigit((unsigned char)*p) &&
        !(*p == '.' && isdigit((unsigned char)p[1])))
        return 0;
    v = strtod(p, &end);
    return end != p && v <= max;
}

/* Whether a literal sits on either side of the binary operator ending
 * before <next>: then the other operand is paired with a constant. */
static int literal_beside(const struct scan *sc, const char *next, double max,
                          int strings)
{
    const char *q = skip_space(next);

    if (sc->prev == P_NUM && sc->prev_num <= max)
        return 1;
    if (number_at(q, max))
        return 1;
    return strings && (sc->prev == P_STR || *q == '"');
}

static pw_status refuse(struct pw_err *err, const char *name, size_t off)
{
    return pw_err_set(err, PW_ERR_PARSE,
                      "jq: '%s' is not allowed in a check (offset %zu)", name,
                      off);
}

/* An arithmetic operator at <p> of <len> bytes: assignment forms leave
 * the bounded class; '-' and '/' need a literal beside them (array
 * subtraction and string splitting are quadratic), '*' a number of at
 * most 100 (string repetition), and only once; more than three '+'
 * between non-literals could double a value at each stage. */
static void scan_operator(struct scan *sc, const char *p, size_t len)
{
    const char *next = p + len;
    int binary = sc->prev == P_TERM || sc->prev == P_NUM || sc->prev == P_STR;

    if (*next == '=' && !(len == 1 && (*p == '<' || *p == '>'))) {
        sc->slow = 1; /* +=, -=, *=, /=, %=, //= */
        return;
    }
    if (*p == '-' && !binary)
        return; /* negation */
    sc->combines++;
    if (*p == '-' && !literal_beside(sc, next, 1e308, 1))
        sc->slow = 1;
    if (*p == '/' && len == 1 && !literal_beside(sc, next, 1e308, 1))
        sc->slow = 1;
    if (*p == '*' && (++sc->stars > 1 || !literal_beside(sc, next, 100, 0)))
        sc->slow = 1;
    /* ".+." doubles a string or an array, and "(.+.)|(.+.)|..." doubles
     * it again at each stage: a few stay cheap (at most 8 times the body),
     * more go to the bounded child. */
    if (*p == '+' && !literal_beside(sc, next, 1e308, 1) && ++sc->pluses > 3)
        sc->slow = 1;
}

/* Walk <expr> (balanced, as jqset_precheck() found it) once: refuse the
 * names that reach outside the response, and tell in <sc> whether the
 * program stays in the bounded class. */
static pw_status scan_program(const char *expr, struct scan *sc,
                              struct pw_err *err)
{
    const char *p = expr;
    int in_str = 0, str_plain = 1;

    memset(sc, 0, sizeof(*sc));
    sc->prev = P_START;
    while (*p) {
        const char *start = p;
        char c = *p;

        if (in_str) {
            if (c == '\\' && p[1] == '(') {
                scan_push(sc, 'I');
                sc->combines++;
                str_plain = 0;
                in_str = 0;
                sc->prev = P_OPEN;
                p += 2;
            } else if (c == '\\' && p[1]) {
                p += 2;
            } else {
                if (c == '"') {
                    in_str = 0;
                    sc->prev = str_plain ? P_STR : P_TERM;
                }
                p++;
            }
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            p++;
            continue;
        }
        if (c == '#') {
            while (*p && *p != '\n')
                p++;
            continue;
        }
        if (c != '(')
            sc->call_next = 0;
        if (c == '"') {
            in_str = 1;
            str_plain = 1;
            p++;
            continue;
        }
        if (c == '$') {
            const char *w = skip_space(p + 1);
            size_t n = 0;

            while (ident_char(w[n]))
                n++;
            if (n == 3 && strncmp(w, "ENV", 3) == 0)
                return refuse(err, "$ENV", (size_t)(start - expr));
            if (n == 7 && strncmp(w, "__loc__", 7) == 0)
                return refuse(err, "$__loc__", (size_t)(start - expr));
            sc->slow = 1; /* a variable: bound by as, reduce or def */
            sc->prev = P_TERM;
            p = w + n;
            continue;
        }
        if (isdigit((unsigned char)c) ||
            (c == '.' && isdigit((unsigned char)p[1]))) {
            char *end;

            sc->prev_num = strtod(p, &end);
            p = end > p ? end : p + 1;
            sc->prev = P_NUM;
            continue;
        }
        if (c == '.' && p[1] == '.') {
            sc->gens++;
            sc->prev = P_TERM;
            p += 2;
            continue;
        }
        if (c == '.') {
            p++;
            while (ident_char(*p))
                p++; /* a field: data, whatever its name */
            sc->prev = P_TERM;
            continue;
        }
        if (c == '@') {
            size_t n = 0;

            p++;
            while (ident_char(p[n]))
                n++;
            if (n > 0 && p[n - 1] == 'd')
                sc->slow = 1; /* @base64d, @base32d */
            p += n;
            sc->prev = P_TERM;
            continue;
        }
        if (ident_start(c)) {
            size_t n = 0;
            int flags;

            while (ident_char(p[n]))
                n++;
            p += n;
            if (p[0] == ':' && p[1] == ':') {
                sc->slow = 1; /* a module's function */
                p += 2;
                continue;
            }
            if (sc->depth && sc->stack[sc->depth - 1].kind == '{' &&
                (sc->prev == P_OBJ_OPEN || sc->prev == P_OBJ_SEP)) {
                sc->prev = P_TERM; /* an object key, {env: 1} or {env} */
                continue;
            }
            if (in_list(refused_names, start, n)) {
                char name[32];

                snprintf(name, sizeof(name), "%.*s", (int)n, start);
                return refuse(err, name, (size_t)(start - expr));
            }
            if ((n == 2 && strncmp(start, "if", 2) == 0) ||
                (n == 4 && strncmp(start, "elif", 4) == 0)) {
                scan_push(sc, 'f');
                sc->prev = P_OPEN;
                continue;
            }
            if (n == 4 && strncmp(start, "then", 4) == 0) {
                if (sc->depth && sc->stack[sc->depth - 1].kind == 'f')
                    scan_pop(sc);
                sc->prev = P_OP;
                continue;
            }
            if ((n == 3 && strncmp(start, "and", 3) == 0) ||
                (n == 2 && strncmp(start, "or", 2) == 0)) {
                sc->combines++;
                sc->prev = P_OP;
                continue;
            }
            if (in_list(plain_keywords, start, n)) {
                sc->prev = strncmp(start, "try", 3) == 0 ||
                                   strncmp(start, "catch", 5) == 0 ||
                                   strncmp(start, "else", 4) == 0
                               ? P_OP
                               : P_TERM;
                continue;
            }
            flags = bounded_flags(start, n);
            /* Each tojson/tostring of a string escapes its quotes again:
             * chained, the text doubles at every stage. */
            if ((n == 6 && strncmp(start, "tojson", 6) == 0) ||
                (n == 8 && strncmp(start, "tostring", 8) == 0))
                if (++sc->encodes > 2)
                    sc->slow = 1;
            if (flags < 0) {
                sc->slow = 1;
            } else {
                if (flags & B_GEN)
                    sc->gens++;
                if (*skip_space(p) == '(') {
                    sc->call_next = 1;
                    sc->call_flags = flags;
                    if (n == 7 && strncmp(start, "recurse", 7) == 0)
                        sc->slow = 1; /* recurse(f) may never end */
                }
            }
            sc->prev = P_TERM;
            continue;
        }
        p++;
        switch (c) {
        case '(':
            scan_push(sc, '(');
            if (sc->call_next && sc->depth && !(sc->call_flags & B_COLLECT))
                sc->stack[sc->depth - 1].call = 1;
            sc->call_next = 0;
            sc->prev = P_OPEN;
            break;
        case '[':
            if (sc->prev == P_TERM || sc->prev == P_STR) {
                if (*skip_space(p) == ']') {
                    sc->gens++; /* .[] */
                    p = skip_space(p) + 1;
                    sc->prev = P_TERM;
                    break;
                }
                sc->combines++; /* .[e] pairs e with the input */
            }
            scan_push(sc, '[');
            sc->prev = P_OPEN;
            break;
        case '{':
            scan_push(sc, '{');
            sc->prev = P_OBJ_OPEN;
            break;
        case ')':
            if (sc->depth && sc->stack[sc->depth - 1].kind == 'I') {
                scan_pop(sc);
                in_str = 1;
                break;
            }
            /* fall through */
        case ']':
        case '}':
            while (sc->depth && sc->stack[sc->depth - 1].kind == 'f')
                scan_pop(sc);
            scan_pop(sc);
            sc->prev = P_TERM;
            break;
        case ',':
            if (sc->depth && sc->stack[sc->depth - 1].kind == '{') {
                sc->combines++;
                sc->prev = P_OBJ_SEP;
            } else {
                sc->reemits++;
                sc->prev = P_OP;
            }
            break;
        case ';':
        case ':':
            sc->combines++;
            sc->prev = P_OP;
            break;
        case '?':
            if (*p == '/' && p[1] == '/')
                sc->slow = 1; /* ?// destructuring */
            sc->prev = P_TERM;
            break;
        case '|':
            if (*p == '=')
                sc->slow = 1;
            sc->prev = P_OP;
            break;
        case '=':
            if (*p == '=') {
                sc->combines++;
                p++;
            } else {
                sc->slow = 1; /* assignment */
            }
            sc->prev = P_OP;
            break;
        case '!':
        case '<':
        case '>':
            if (*p == '=')
                p++;
            sc->combines++;
            sc->prev = P_OP;
            break;
        case '/':
            if (*p == '/') {
                p++;
                if (*p == '=')
                    sc->slow = 1;
                sc->combines++;
            } else {
                scan_operator(sc, start, 1);
            }
            sc->prev = P_OP;
            break;
        case '+':
        case '-':
        case '*':
        case '%':
            scan_operator(sc, start, 1);
            sc->prev = P_OP;
            break;
        default:
            sc->slow = 1;
            sc->prev = P_OP;
            break;
        }
    }
    return PW_OK;
}

/* Whether a program that scanned as <sc> runs in-process: only builtins
 * bounded by their input, and no two things whose outputs can multiply. */
static int scan_bounded(const struct scan *sc)
{
    if (sc->slow)
        return 0;
    if (sc->gens + sc->reemits <= 1)
        return 1;
    return sc->combines == 0 && sc->reemits == 0;
}

static pw_status precheck_names(const char *expr, struct pw_err *err)
{
    struct scan *sc = xmalloc(sizeof(*sc));
    pw_status rc = scan_program(expr, sc, err);

    free(sc);
    return rc;
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
    return precheck_names(expr, err);
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

    struct scan *sc = xmalloc(sizeof(*sc));

    for (i = 0; i < s->n; i++) {
        if (jqset_precheck(s->items[i].text, &err) != PW_OK) {
            diag_add(d, s->items[i].pos, "%s", err.msg);
            rc = PW_ERR_PARSE;
            continue;
        }
        scan_program(s->items[i].text, sc, NULL);
        s->items[i].in_process = scan_bounded(sc);
        s->items[i].ok = 1;
        idx[n++] = i;
    }
    free(sc);
    s->slot = xcalloc(s->n ? s->n : 1, sizeof(*s->slot));
    s->chunk_of = xcalloc(s->n ? s->n : 1, sizeof(*s->chunk_of));
    s->chunks = xcalloc(n / CHUNK + 1, sizeof(*s->chunks));
    for (start = 0; start < n; start += CHUNK) {
        size_t len = n - start < CHUNK ? n - start : CHUNK;

        if (compile_chunk(s, idx + start, len, s->nchunks++, d) != PW_OK)
            rc = PW_ERR_PARSE;
    }
    /* Paths are recognised now, so that evaluation only dispatches; only
     * programs libjq compiled qualify, so libjq stays the judge of what is
     * a program at all. */
    for (i = 0; i < s->n; i++) {
        if (!s->items[i].ok || !s->items[i].in_process)
            continue;
        s->items[i].fast = fastjson_compile(s->items[i].text);
        if (s->items[i].fast != NULL && s->fj == NULL)
            s->fj = fastjson_new();
    }
    free(idx);
    return rc;
}

int jqset_in_process(const struct jqset *s, size_t idx)
{
    return idx < s->n && s->items[idx].in_process;
}

const struct fastjson_expr *jqset_fast(const struct jqset *s, size_t idx)
{
    return idx < s->n && s->items[idx].ok ? s->items[idx].fast : NULL;
}

struct fastjson *jqset_fastjson(struct jqset *s)
{
    return s->fj;
}

/* ---- Running a program apart ---- */

/* What the child sends back: one tag byte, then the payload. */
#define MSG_VALUE 'V' /* the first output, as JSON text */
#define MSG_ERROR 'E' /* jq's message, prefixed "jq: " */
#define MSG_NONE  'N' /* no output */

/* The child's exit status when jq runs out of memory. */
#define EXIT_NOMEM 86

/* jq's message for the runtime error <result> (consumed), as in-process
 * evaluation gives it. */
static void error_text(jv result, struct sbuf *b)
{
    jv msg = jv_invalid_get_msg(result);

    if (jv_get_kind(msg) != JV_KIND_STRING)
        msg = jv_dump_string(msg, 0);
    sbuf_addf(b, "jq: %s", jv_string_value(msg));
    jv_free(msg);
}

static void on_child_nomem(void *data)
{
    (void)data;
    _exit(EXIT_NOMEM);
}

static void write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            _exit(1);
        buf += n;
        len -= (size_t)n;
    }
}

/* Cap the child: <JQSET_MEM_LIMIT> more address space than it has now,
 * and some CPU seconds in case the runner dies and cannot kill it. */
static void limit_child(void)
{
    struct rlimit rl;
    unsigned long pages = 0;
    FILE *f;

    f = fopen("/proc/self/statm", "r");
    if (f != NULL) {
        if (fscanf(f, "%lu", &pages) != 1)
            pages = 0;
        fclose(f);
    }
    if (pages > 0 && getrlimit(RLIMIT_AS, &rl) == 0) {
        rlim_t want =
            (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + JQSET_MEM_LIMIT;

        if (rl.rlim_max == RLIM_INFINITY || want < rl.rlim_max)
            rl.rlim_cur = rl.rlim_max = want;
        else
            rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_AS, &rl);
    }
    rl.rlim_cur = JQSET_TIME_LIMIT_MS / 1000 + 2;
    rl.rlim_max = rl.rlim_cur + 1;
    setrlimit(RLIMIT_CPU, &rl);
}

/* In the child: evaluate, report on <fd>, exit.  Never returns. */
static void child_eval(jq_state *jq, jv input, int fd)
{
    static const int sigs[] = { SIGTERM, SIGINT,  SIGHUP,  SIGQUIT,
                                SIGUSR1, SIGUSR2, SIGPIPE, SIGCHLD };
    struct sbuf b = SBUF_INIT;
    sigset_t all;
    size_t i;
    jv result;

    /* The runner's handlers would forward a signal to its event loop
     * through a shared socket; this process must just die of it. */
    for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        signal(sigs[i], SIG_DFL);
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
#ifdef __linux__
    prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
    limit_child();
    /* The runner's loop keeps its priority over a check that spins. */
    if (nice(10) < 0)
        errno = 0;
    jq_set_nomem_handler(jq, on_child_nomem, NULL);
    jq_start(jq, input, 0);
    result = jq_next(jq);
    if (jv_is_valid(result)) {
        jv text = jv_dump_string(result, 0);

        write_all(fd, "V", 1);
        write_all(fd, jv_string_value(text),
                  (size_t)jv_string_length_bytes(jv_copy(text)));
    } else if (jv_invalid_has_msg(jv_copy(result))) {
        error_text(result, &b);
        write_all(fd, "E", 1);
        write_all(fd, b.buf, b.len);
    } else {
        write_all(fd, "N", 1);
    }
    _exit(0);
}

struct jqset_job {
    pid_t pid;   /* 0 once reaped */
    int fd;      /* the read end of the child's report; -1 at its end */
    int too_big; /* the report passed JQSET_OUTPUT_MAX */
    struct sbuf report;
    struct pw_err start_err; /* why the child could not start, or PW_OK */
};

/* A job that never started, carrying why. */
static struct jqset_job *job_failed(const char *what, int e)
{
    struct jqset_job *j = xcalloc(1, sizeof(*j));

    j->fd = -1;
    sbuf_init(&j->report, 0);
    pw_err_set(&j->start_err, PW_ERR_IO, "cannot run jq program: %s: %s", what,
               strerror(e));
    return j;
}

/* Fork a child that evaluates <input> (consumed) with <jq> under the
 * limits of jqset.h and reports on a pipe. */
static struct jqset_job *job_start(jq_state *jq, jv input)
{
    struct jqset_job *j;
    int fds[2];
    pid_t pid;

    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
        jv_free(input);
        return job_failed("pipe", errno);
    }
    pid = fork();
    if (pid < 0) {
        int e = errno;

        close(fds[0]);
        close(fds[1]);
        jv_free(input);
        return job_failed("fork", e);
    }
    if (pid == 0) {
        close(fds[0]);
        /* The child writes with blocking semantics. */
        fcntl(fds[1], F_SETFL, 0);
        child_eval(jq, input, fds[1]);
    }
    jv_free(input);
    close(fds[1]);
    j = xcalloc(1, sizeof(*j));
    j->pid = pid;
    j->fd = fds[0];
    sbuf_init(&j->report, 0);
    return j;
}

int jqset_job_read(struct jqset_job *j)
{
    char buf[65536];

    while (j->fd >= 0) {
        ssize_t n = read(j->fd, buf, sizeof(buf));

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (n > 0 && j->report.len + (size_t)n <= JQSET_OUTPUT_MAX + 1) {
            sbuf_add(&j->report, buf, (size_t)n);
            continue;
        }
        if (n > 0)
            j->too_big = 1;
        close(j->fd);
        j->fd = -1;
    }
    return 1;
}

int jqset_job_fd(const struct jqset_job *j)
{
    return j->fd;
}

long jqset_job_cpu_ms(const struct jqset_job *j)
{
    char path[64], buf[1024], *p;
    unsigned long utime, stime;
    long ticks = sysconf(_SC_CLK_TCK);
    FILE *f;
    size_t n;

    if (j->pid <= 0 || ticks <= 0)
        return -1;
    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)j->pid);
    f = fopen(path, "r");
    if (f == NULL)
        return -1;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* Fields 14 and 15, counted after the command name in parentheses,
     * which may itself hold spaces. */
    p = strrchr(buf, ')');
    if (p == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
               &utime, &stime) != 2)
        return -1;
    return (long)((utime + stime) * 1000 / (unsigned long)ticks);
}

static pid_t reap(pid_t pid, int *status)
{
    pid_t r;

    do
        r = waitpid(pid, status, 0);
    while (r < 0 && errno == EINTR);
    return r;
}

pw_status jqset_job_finish(struct jqset_job *j, int timed_out, jv *out,
                           struct pw_err *err)
{
    const struct sbuf *b = &j->report;
    pw_status rc = PW_OK;
    int status = 0;

    *out = jv_invalid();
    if (j->start_err.code != PW_OK) {
        rc = pw_err_set(err, j->start_err.code, "%s", j->start_err.msg);
        goto done;
    }
    /* A child that finished just now has said all it had to say. */
    if (j->fd >= 0 && jqset_job_read(j) && !j->too_big)
        timed_out = 0;
    if (j->fd >= 0 || j->too_big)
        kill(j->pid, SIGKILL);
    if (j->fd >= 0) {
        close(j->fd);
        j->fd = -1;
    }
    if (reap(j->pid, &status) < 0) {
        rc = pw_err_set(err, PW_ERR_IO, "jq program: waitpid: %s",
                        strerror(errno));
        goto done;
    }
    if ((timed_out && !WIFEXITED(status)) ||
        (WIFSIGNALED(status) && WTERMSIG(status) == SIGXCPU)) {
        rc = JQSET_TIME_LIMIT_MS % 1000
                 ? pw_err_set(err, PW_ERR_TIMEOUT,
                              "jq program ran longer than %dms",
                              JQSET_TIME_LIMIT_MS)
                 : pw_err_set(err, PW_ERR_TIMEOUT,
                              "jq program ran longer than %ds",
                              JQSET_TIME_LIMIT_MS / 1000);
    } else if (j->too_big) {
        rc = pw_err_set(err, PW_ERR_TOOBIG,
                        "jq program output is larger than %lu MiB",
                        JQSET_OUTPUT_MAX >> 20);
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_NOMEM) {
        rc = pw_err_set(err, PW_ERR_TOOBIG,
                        "jq program ran out of memory (%lu MiB)",
                        JQSET_MEM_LIMIT >> 20);
    } else if (WIFSIGNALED(status)) {
        rc = pw_err_set(err, PW_ERR_IO, "jq program crashed (signal %d)",
                        WTERMSIG(status));
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || b->len == 0) {
        rc = pw_err_set(err, PW_ERR_IO, "jq program failed (exit status %d)",
                        WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    } else if (b->buf[0] == MSG_VALUE) {
        *out = jv_parse_sized(b->buf + 1, (int)(b->len - 1));
        if (!jv_is_valid(*out)) {
            jv_free(*out);
            *out = jv_invalid();
            rc = pw_err_set(err, PW_ERR_INVALID,
                            "jq program output cannot be read back");
        }
    } else if (b->buf[0] == MSG_ERROR) {
        rc = pw_err_set(err, PW_ERR_INVALID, "%.*s", (int)(b->len - 1),
                        b->buf + 1);
    }
done:
    sbuf_release(&j->report);
    free(j);
    return rc;
}

/* The blocking form: wait for the job with poll(), at most the time
 * limit. */
static pw_status eval_apart(jq_state *jq, jv input, jv *out, struct pw_err *err)
{
    struct jqset_job *j = job_start(jq, input);
    uint64_t t0 = clock_mono_ms();
    int timed_out = 0;

    while (!jqset_job_read(j)) {
        struct pollfd pfd = { j->fd, POLLIN, 0 };
        long left;

        left = JQSET_TIME_LIMIT_MS - (long)(clock_mono_ms() - t0);
        if (left <= 0 || poll(&pfd, 1, (int)left) == 0) {
            timed_out = 1;
            break;
        }
    }
    return jqset_job_finish(j, timed_out, out, err);
}

/* The chunk program and its input for expression <idx>, or NULL (input
 * consumed, error set) when it did not compile. */
static jq_state *prepare(struct jqset *s, size_t idx, jv *input,
                         struct pw_err *err)
{
    if (idx >= s->n || !s->items[idx].ok || s->chunks == NULL ||
        s->chunks[s->chunk_of[idx]].jq == NULL) {
        jv_free(*input);
        *input = jv_invalid();
        pw_err_set(err, PW_ERR_INVALID, "jq program did not compile");
        return NULL;
    }
    *input = JV_ARRAY(jv_number((double)s->slot[idx]), *input);
    return s->chunks[s->chunk_of[idx]].jq;
}

struct jqset_job *jqset_job_start(struct jqset *s, size_t idx, jv input)
{
    struct pw_err err;
    jq_state *jq = prepare(s, idx, &input, &err);
    struct jqset_job *j;

    if (jq == NULL) {
        j = job_failed("compile", EINVAL);
        j->start_err = err;
        return j;
    }
    return job_start(jq, input);
}

pw_status jqset_eval(struct jqset *s, size_t idx, jv input, jv *out,
                     struct pw_err *err)
{
    jv result;

    jq_state *jq = prepare(s, idx, &input, err);

    if (jq == NULL) {
        *out = jv_invalid();
        return PW_ERR_INVALID;
    }
    if (!s->items[idx].in_process)
        return eval_apart(jq, input, out, err);
    jq_start(jq, input, 0);
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
