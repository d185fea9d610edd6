/* ydoc.c -- libyaml events folded into a positioned node tree.
 *
 * Recursive descent over the event stream: one call per node.  Depth and
 * node count are capped so hostile files fail cleanly.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "sbuf.h"
#include "xalloc.h"
#include "ydoc.h"

struct anchor {
    char *name;
    const struct ynode *node;
};

struct ydoc {
    char *file;
    struct ynode *root;
};

struct builder {
    yaml_parser_t parser;
    /* Nodes left out of the tree (duplicate keys, complex keys) stay alive
     * until parsing ends: an anchor inside them may still be aliased. */
    struct ynode **dropped;
    size_t ndropped, dropped_alloc;
    struct ydoc *doc;
    struct diag *d;
    size_t nodes;
    struct anchor *anchors;
    size_t nanchors, anchors_alloc;
    int failed;
};

static void node_free(struct ynode *n)
{
    size_t i;

    if (n == NULL)
        return;
    if (n->kind == Y_SEQ) {
        for (i = 0; i < n->len; i++)
            node_free(n->items[i]);
        free(n->items);
    } else if (n->kind == Y_MAP) {
        for (i = 0; i < n->len; i++) {
            node_free(n->pairs[i].key);
            node_free(n->pairs[i].value);
        }
        free(n->pairs);
    }
    free(n->str);
    free(n);
}

void ydoc_free(struct ydoc *doc)
{
    if (doc == NULL)
        return;
    node_free(doc->root);
    free(doc->file);
    free(doc);
}

const struct ynode *ydoc_root(const struct ydoc *doc)
{
    return doc->root;
}

const char *ydoc_file(const struct ydoc *doc)
{
    return doc->file;
}

struct pos ynode_pos(const struct ydoc *doc, const struct ynode *n)
{
    struct pos p = { doc->file, n ? n->line : 0, n ? n->col : 0 };

    return p;
}

const char *ynode_kind_name(const struct ynode *n)
{
    switch (n->kind) {
    case Y_SCALAR:
        return "a scalar";
    case Y_SEQ:
        return "a list";
    case Y_MAP:
        return "a mapping";
    }
    return "a node";
}

const struct ynode *ymap_get(const struct ynode *map, const char *key)
{
    size_t i;

    if (map == NULL || map->kind != Y_MAP)
        return NULL;
    for (i = 0; i < map->len; i++)
        if (strcmp(map->pairs[i].key->str, key) == 0)
            return map->pairs[i].value;
    return NULL;
}

static void fail_at(struct builder *b, yaml_mark_t m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail_at(struct builder *b, yaml_mark_t m, const char *fmt, ...)
{
    struct pos p = { b->doc->file, (unsigned)m.line + 1,
                     (unsigned)m.column + 1 };
    char msg[PW_ERR_LEN];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    diag_add(b->d, p, "%s", msg);
    b->failed = 1;
}

static int next_event(struct builder *b, yaml_event_t *ev)
{
    yaml_parser_t *ps = &b->parser;
    struct sbuf msg = SBUF_INIT;

    if (yaml_parser_parse(ps, ev))
        return 1;
    sbuf_adds(&msg, "YAML syntax error: ");
    sbuf_adds(&msg, ps->problem ? ps->problem : "malformed input");
    if (ps->context)
        sbuf_addf(&msg, " (%s at line %zu)", ps->context,
                  (size_t)ps->context_mark.line + 1);
    fail_at(b, ps->problem_mark, "%s", msg.buf);
    sbuf_release(&msg);
    return 0;
}

static struct ynode *node_new(struct builder *b, enum ykind kind, yaml_mark_t m)
{
    struct ynode *n;

    if (++b->nodes > YDOC_MAX_NODES) {
        if (!b->failed)
            fail_at(b, m, "%s",
                    "document too large (too many nodes; "
                    "an alias loop?)");
        return NULL;
    }
    n = xcalloc(1, sizeof(*n));
    n->kind = kind;
    n->line = (unsigned)m.line + 1;
    n->col = (unsigned)m.column + 1;
    n->end_line = n->line;
    return n;
}

static struct ynode *node_copy(struct builder *b, const struct ynode *src,
                               yaml_mark_t m)
{
    struct ynode *n = node_new(b, src->kind, m);
    size_t i;

    if (n == NULL)
        return NULL;
    n->quoted = src->quoted;
    n->block = src->block;
    n->len = src->len;
    if (src->str)
        n->str = xstrndup(src->str, src->len);
    if (src->kind == Y_SEQ) {
        n->items = xcalloc(src->len, sizeof(*n->items));
        for (i = 0; i < src->len && !b->failed; i++)
            n->items[i] = node_copy(b, src->items[i], m);
    } else if (src->kind == Y_MAP) {
        n->pairs = xcalloc(src->len, sizeof(*n->pairs));
        for (i = 0; i < src->len && !b->failed; i++) {
            n->pairs[i].key = node_copy(b, src->pairs[i].key, m);
            n->pairs[i].value = node_copy(b, src->pairs[i].value, m);
        }
    }
    if (b->failed) {
        node_free(n);
        return NULL;
    }
    return n;
}

static void remember_anchor(struct builder *b, const yaml_char_t *name,
                            const struct ynode *n)
{
    if (name == NULL || n == NULL)
        return;
    XGROW(b->anchors, b->nanchors + 1, b->anchors_alloc);
    b->anchors[b->nanchors].name = xstrdup((const char *)name);
    b->anchors[b->nanchors].node = n;
    b->nanchors++;
}

static struct ynode *parse_node(struct builder *b, yaml_event_t *ev, int depth);

static void drop(struct builder *b, struct ynode *n)
{
    XGROW(b->dropped, b->ndropped + 1, b->dropped_alloc);
    b->dropped[b->ndropped++] = n;
}

/* Parse children until the closing event; <ev> is the start event. */
static int parse_children(struct builder *b, struct ynode *n, int depth)
{
    size_t alloc = 0;
    yaml_event_t ev;

    for (;;) {
        struct ynode *key, *val;
        size_t i;

        if (!next_event(b, &ev))
            return 0;
        if (ev.type == YAML_SEQUENCE_END_EVENT ||
            ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            return 1;
        }
        key = parse_node(b, &ev, depth + 1);
        if (key == NULL)
            return 0;
        if (n->kind == Y_SEQ) {
            XGROW(n->items, n->len + 1, alloc);
            n->items[n->len++] = key;
            continue;
        }
        if (!next_event(b, &ev)) {
            node_free(key);
            return 0;
        }
        val = parse_node(b, &ev, depth + 1);
        if (val == NULL) {
            node_free(key);
            return 0;
        }
        if (key->kind != Y_SCALAR) {
            struct pos p = { b->doc->file, key->line, key->col };

            diag_add(b->d, p,
                     "a mapping key must be a plain string, "
                     "not %s",
                     ynode_kind_name(key));
            b->failed = 1;
            drop(b, key);
            drop(b, val);
            continue;
        }
        for (i = 0; i < n->len; i++)
            if (strcmp(n->pairs[i].key->str, key->str) == 0)
                break;
        if (i < n->len) {
            struct pos p = { b->doc->file, key->line, key->col };

            diag_add(b->d, p, "duplicate key '%s' (first set at line %u)",
                     key->str, n->pairs[i].key->line);
            b->failed = 1;
            drop(b, key);
            drop(b, val);
            continue;
        }
        XGROW(n->pairs, n->len + 1, alloc);
        n->pairs[n->len].key = key;
        n->pairs[n->len].value = val;
        n->len++;
    }
}

/* Build the node that starts with <ev>, consuming its events.  Takes
 * ownership of <ev>.  NULL on a fatal error (already reported). */
static struct ynode *parse_node(struct builder *b, yaml_event_t *ev, int depth)
{
    struct ynode *n = NULL;
    const yaml_char_t *anchor = NULL;
    size_t i;

    if (depth > YDOC_MAX_DEPTH) {
        fail_at(b, ev->start_mark, "%s", "nesting too deep");
        yaml_event_delete(ev);
        return NULL;
    }
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        n = node_new(b, Y_SCALAR, ev->start_mark);
        if (n == NULL)
            break;
        n->str = xstrndup((const char *)ev->data.scalar.value,
                          ev->data.scalar.length);
        n->len = ev->data.scalar.length;
        n->end_line = (unsigned)ev->end_mark.line + 1;
        n->block = ev->data.scalar.style == YAML_LITERAL_SCALAR_STYLE ||
                   ev->data.scalar.style == YAML_FOLDED_SCALAR_STYLE;
        n->quoted =
            ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
            (ev->data.scalar.tag &&
             strcmp((const char *)ev->data.scalar.tag, YAML_STR_TAG) == 0);
        anchor = ev->data.scalar.anchor;
        remember_anchor(b, anchor, n);
        break;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        n = node_new(b, ev->type == YAML_SEQUENCE_START_EVENT ? Y_SEQ : Y_MAP,
                     ev->start_mark);
        if (n == NULL)
            break;
        anchor = ev->type == YAML_SEQUENCE_START_EVENT
                     ? ev->data.sequence_start.anchor
                     : ev->data.mapping_start.anchor;
        if (!parse_children(b, n, depth)) {
            node_free(n);
            n = NULL;
            break;
        }
        remember_anchor(b, anchor, n);
        break;
    case YAML_ALIAS_EVENT:
        for (i = b->nanchors; i > 0; i--)
            if (strcmp(b->anchors[i - 1].name,
                       (const char *)ev->data.alias.anchor) == 0)
                break;
        if (i == 0) {
            fail_at(b, ev->start_mark, "unknown anchor '*%s'",
                    (const char *)ev->data.alias.anchor);
            break;
        }
        n = node_copy(b, b->anchors[i - 1].node, ev->start_mark);
        break;
    default:
        fail_at(b, ev->start_mark, "%s", "unexpected YAML event");
        break;
    }
    yaml_event_delete(ev);
    return n;
}

static struct ynode *parse_stream(struct builder *b)
{
    yaml_event_t ev;
    struct ynode *root = NULL;

    if (!next_event(b, &ev))
        return NULL;
    yaml_event_delete(&ev); /* STREAM-START */
    if (!next_event(b, &ev))
        return NULL;
    if (ev.type == YAML_STREAM_END_EVENT) {
        yaml_event_delete(&ev);
        return NULL;
    }
    yaml_event_delete(&ev); /* DOCUMENT-START */
    if (!next_event(b, &ev))
        return NULL;
    root = parse_node(b, &ev, 0);
    if (root == NULL)
        return NULL;
    if (!next_event(b, &ev)) /* DOCUMENT-END */
        goto fail;
    yaml_event_delete(&ev);
    if (!next_event(b, &ev))
        goto fail;
    if (ev.type != YAML_STREAM_END_EVENT) {
        fail_at(b, ev.start_mark, "%s",
                "only one YAML document is allowed per file");
        yaml_event_delete(&ev);
        goto fail;
    }
    yaml_event_delete(&ev);
    return root;
fail:
    node_free(root);
    return NULL;
}

struct ydoc *ydoc_load_mem(const char *name, const char *buf, size_t len,
                           struct diag *d)
{
    struct builder b;
    size_t i;

    memset(&b, 0, sizeof(b));
    b.d = d;
    b.doc = xcalloc(1, sizeof(*b.doc));
    b.doc->file = xstrdup(name);
    if (len > YDOC_MAX_BYTES) {
        struct pos p = { b.doc->file, 0, 0 };

        diag_add(d, p, "file is %zu bytes; the limit is %u", len,
                 YDOC_MAX_BYTES);
        ydoc_free(b.doc);
        return NULL;
    }
    if (!yaml_parser_initialize(&b.parser)) {
        ydoc_free(b.doc);
        return NULL;
    }
    yaml_parser_set_input_string(&b.parser, (const unsigned char *)buf, len);
    b.doc->root = parse_stream(&b);
    yaml_parser_delete(&b.parser);
    for (i = 0; i < b.nanchors; i++)
        free(b.anchors[i].name);
    free(b.anchors);
    for (i = 0; i < b.ndropped; i++)
        node_free(b.dropped[i]);
    free(b.dropped);
    if (b.doc->root == NULL && !b.failed) {
        struct pos p = { b.doc->file, 1, 1 };

        diag_add(d, p, "the file is empty");
        b.failed = 1;
    }
    if (b.failed) {
        ydoc_free(b.doc);
        return NULL;
    }
    return b.doc;
}

static void report_errno(struct diag *d, const char *path, const char *what,
                         int e)
{
    struct pos p = { path, 0, 0 };

    diag_add(d, p, "%s: %s", what, strerror(e));
}

static void report_size(struct diag *d, const char *path, const char *more,
                        long long size)
{
    struct pos p = { path, 0, 0 };

    diag_add(d, p, "file is %s%lld bytes; the limit is %u", more, size,
             YDOC_MAX_BYTES);
}

struct ydoc *ydoc_load_file(const char *path, struct diag *d)
{
    struct sbuf content;
    struct ydoc *doc;
    struct stat st;
    char chunk[16384];
    ssize_t n;
    int fd;

    /* Without O_NONBLOCK a FIFO that a glob happens to match would wait
     * for a writer forever; only regular files are read at all. */
    fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        report_errno(d, path, "cannot open", errno);
        return NULL;
    }
    if (fstat(fd, &st) != 0) {
        report_errno(d, path, "cannot read", errno);
        close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        struct pos p = { path, 0, 0 };

        diag_add(d, p, "not a regular file");
        close(fd);
        return NULL;
    }
    /* Say the real size, not how far reading got. */
    if (st.st_size > (off_t)YDOC_MAX_BYTES) {
        report_size(d, path, "", (long long)st.st_size);
        close(fd);
        return NULL;
    }
    sbuf_init(&content, YDOC_MAX_BYTES);
    for (;;) {
        n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (sbuf_add(&content, chunk, (size_t)n) != PW_OK) {
            /* It grew while we read it. */
            report_size(d, path, "more than ", (long long)YDOC_MAX_BYTES);
            close(fd);
            sbuf_release(&content);
            return NULL;
        }
    }
    if (n < 0) {
        report_errno(d, path, "cannot read", errno);
        close(fd);
        sbuf_release(&content);
        return NULL;
    }
    close(fd);
    doc = ydoc_load_mem(path, content.buf, content.len, d);
    sbuf_release(&content);
    return doc;
}
