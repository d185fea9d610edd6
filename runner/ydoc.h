/* ydoc.h -- a YAML file as a tree of positioned nodes.
 *
 * The loaders validate by walking a tree rather than reacting to parser
 * events, because a rule often needs a sibling ("a capture used before the
 * step that captures it").  Every node keeps the 1-based line and column it
 * started at so any rule can report "file:line:col".
 *
 * The tree is immutable once loaded and owned by its struct ydoc; nodes are
 * borrowed by whoever walks them and live until ydoc_free().  Mapping keys
 * are always scalars and never repeat (both are load errors).  Anchors are
 * accepted and aliases are expanded into copies, with a bound on the total
 * number of nodes so that a "billion laughs" file is an error, not an
 * out-of-memory.
 */
#ifndef PW_YDOC_H
#define PW_YDOC_H

#include <stddef.h>

#include "diag.h"

enum ykind { Y_SCALAR, Y_SEQ, Y_MAP };

struct ynode;

struct ypair {
    struct ynode *key; /* always a Y_SCALAR */
    struct ynode *value;
};

struct ynode {
    enum ykind kind;
    unsigned line, col;   /* 1-based start position */
    unsigned end_line;    /* line the node ends on (for scalars) */
    int quoted;           /* scalar written in quotes or as a block */
    int block;            /* scalar written as a | or > block */
    char *str;            /* Y_SCALAR: NUL-terminated value (may hold NULs) */
    size_t len;           /* Y_SCALAR: length of str; else number of items */
    struct ynode **items; /* Y_SEQ: <len> children */
    struct ypair *pairs;  /* Y_MAP: <len> key/value pairs, in file order */
};

struct ydoc;

/* Most bytes a YAML file may have, and most nodes a document may expand
 * into (aliases included). */
#define YDOC_MAX_BYTES (8u << 20)
#define YDOC_MAX_NODES 1000000u
#define YDOC_MAX_DEPTH 64

/* Parse the YAML file <path>.  Problems go to <d> with positions; the
 * result is NULL when the file could not be read or parsed.  Caller owns
 * the result; free with ydoc_free(). */
struct ydoc *ydoc_load_file(const char *path, struct diag *d);

/* Parse <len> bytes at <buf>, reporting positions against <name> (which is
 * copied).  As ydoc_load_file(). */
struct ydoc *ydoc_load_mem(const char *name, const char *buf, size_t len,
                           struct diag *d);

/* Release <doc> and every node.  NULL is a no-op. */
void ydoc_free(struct ydoc *doc);

/* The root node (never NULL for a loaded doc) and the file name, both
 * borrowed until ydoc_free(). */
const struct ynode *ydoc_root(const struct ydoc *doc);
const char *ydoc_file(const struct ydoc *doc);

/* The value for <key> in mapping <map>, or NULL if <map> is not a mapping
 * or has no such key. */
const struct ynode *ymap_get(const struct ynode *map, const char *key);

/* The position of <n> in <doc>'s file. */
struct pos ynode_pos(const struct ydoc *doc, const struct ynode *n);

/* Name of a node's kind for messages: "a string", "a list", "a mapping". */
const char *ynode_kind_name(const struct ynode *n);

#endif /* PW_YDOC_H */
