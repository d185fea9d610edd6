/* template.h -- "{{ ... }}" templates, compiled once, rendered many times.
 *
 * Syntax: text with embedded expressions "{{ expr }}", where
 *
 *     expr    := primary ( "|" filter )*
 *     primary := path | func "(" [ primary ( "," primary )* ] ")"
 *              | "string" | 'string' | number
 *     path    := name ( "." segment )*          e.g. matrix.locale, user_id
 *     filter  := name [ "(" args ")" ]          e.g. urlencode, json
 *
 * Functions: uuid(), now() (RFC 3339, UTC), unix() (epoch seconds),
 * random_int(min, max), random_hex(nbytes).  Filters: urlencode, json,
 * base64, upper, lower, trim.  Unknown functions and filters, wrong argument
 * counts and unclosed braces are compile errors.  Variable paths are not
 * resolved here: the loader checks each reference (tmpl_ref_at()) against
 * what the scenario can know, and rendering asks a lookup callback, so an
 * unknown name is always an error, never an empty string.
 *
 * A compiled template is immutable; it can be shared by any number of
 * concurrent renders.
 */
#ifndef PW_TEMPLATE_H
#define PW_TEMPLATE_H

#include <stddef.h>

#include "err.h"
#include "sbuf.h"

struct tmpl;

/* Compile <len> bytes of <src>.  On success returns a new template (caller
 * owns; free with tmpl_free()).  On failure returns NULL, sets <err> (may
 * be NULL) and stores in *<err_off> (may be NULL) the byte offset in <src>
 * where the problem is. */
struct tmpl *tmpl_compile(const char *src, size_t len, struct pw_err *err,
                          size_t *err_off);

/* Release <t>.  NULL is a no-op. */
void tmpl_free(struct tmpl *t);

/* The source text <t> was compiled from; borrowed until tmpl_free(). */
const char *tmpl_source(const struct tmpl *t);

/* Whether <t> has no expressions at all (renders to its source). */
int tmpl_is_literal(const struct tmpl *t);

/* Variable references in order of appearance: the dotted path
 * ("matrix.locale") and, in *<off>, its byte offset in the source.
 * Borrowed until tmpl_free().  <i> < tmpl_ref_count(). */
size_t tmpl_ref_count(const struct tmpl *t);
const char *tmpl_ref_at(const struct tmpl *t, size_t i, size_t *off);

/* Look up variable <path> for a render: append its value to <out> and
 * return PW_OK, or return PW_ERR_INVALID if the name is unknown. */
typedef pw_status tmpl_lookup_fn(const char *path, void *arg, struct sbuf *out);

/* Render <t> into <out>, resolving variables through <lookup>(<arg>).
 * Returns PW_OK; PW_ERR_INVALID with the name in <err> when a lookup
 * fails; PW_ERR_TOOBIG when <out>'s cap is reached.  The message never
 * includes a rendered value, so secrets cannot leak through it. */
pw_status tmpl_render(const struct tmpl *t, tmpl_lookup_fn *lookup, void *arg,
                      struct sbuf *out, struct pw_err *err);

#endif /* PW_TEMPLATE_H */
