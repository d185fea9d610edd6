/* fastjson.h -- jq paths answered from a parse that does not build a tree.
 *
 * Most jq checks are paths: .status, .items[0].id, ."a b", .["x"],
 * .[-1], chained, the identity ., each optionally followed by | length.
 * For those, libjq would build a jv for every value of the body and free
 * it again.  This module instead finds and checks the body's tokens once
 * with simdjson's first stage and a validating pass over them (no value is
 * built, the buffers are reused from body to body), walks only the values
 * the path reads, stepping over the others whole, and builds a jv only
 * for the value the path selects.
 *
 * It answers only when it is sure to give what libjq 1.6 would: the same
 * jv, down to how numbers print.  Whenever it is not -- a body simdjson
 * refuses (invalid JSON, invalid UTF-8, lone surrogate escapes, integers
 * beyond 64 bits, numbers past a double, nesting past FASTJSON_MAX_DEPTH,
 * anything jq reads more leniently), an evaluation that is an error in jq
 * (indexing a number, .[0] on an object, length of a boolean), a value jq
 * reads differently (-0) -- it says so, and the caller asks libjq, which
 * gives its own result or message.
 *
 * A struct fastjson holds one parsed body at a time and is single-threaded.
 * Compiled expressions are immutable and may be shared.
 */
#ifndef PW_FASTJSON_H
#define PW_FASTJSON_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* jv.h (libjq 1.6) declares C functions without saying so to C++. */
#include <jv.h>

/* Nesting of arrays and objects past which the parser gives up.  jq 1.6
 * refuses past 256 entries of its parse stack, where an open object takes
 * two (itself and its pending key): 100 levels stay clear of that. */
#define FASTJSON_MAX_DEPTH 100

struct fastjson_expr;
struct fastjson;

/* Compile jq program <expr> when it is a supported path (see above).
 * Returns NULL for any other program, which then stays with libjq.  The
 * caller owns the result; free it with fastjson_expr_free().  <expr> must
 * already be known to compile with libjq. */
struct fastjson_expr *fastjson_compile(const char *expr);

/* Release <e>.  NULL is a no-op. */
void fastjson_expr_free(struct fastjson_expr *e);

/* A new parser with no body; free with fastjson_free(). */
struct fastjson *fastjson_new(void);

/* Release <fj>.  NULL is a no-op. */
void fastjson_free(struct fastjson *fj);

/* Parse the <len> bytes at <body> (copied: <body> need not outlive the
 * call), replacing the body parsed before.  Returns a ticket, never 0, that
 * names this body for fastjson_eval(); 0 when the parser is not sure the
 * body reads in jq as it reads here, in which case only libjq may judge it.
 * Cost: linear in <len>, no allocation but when <len> passes every body
 * seen before. */
unsigned long fastjson_parse(struct fastjson *fj, const char *body,
                             size_t len);

/* Bytes that fastjson_parse_in_place() may read past a body's end. */
#define FASTJSON_PADDING 64

/* fastjson_parse() without the copy: <body> must be followed by
 * FASTJSON_PADDING readable bytes (any content), and stay unchanged and
 * alive while its ticket is used. */
unsigned long fastjson_parse_in_place(struct fastjson *fj, const char *body,
                                      size_t len);

/* Whether the body of <ticket> is still the one parsed: 0 for ticket 0,
 * and once another body was parsed. */
int fastjson_holds(const struct fastjson *fj, unsigned long ticket);

/* Evaluate <e> on the body of <ticket>.  Returns 1 and stores jq's output
 * in *<out> (the caller frees it with jv_free()); 0 when the answer is not
 * sure, or the body of <ticket> is no longer the one parsed (another body
 * was parsed since): then *<out> is untouched and the caller must ask
 * libjq.  Cost: one step per value the path passes over (an array or
 * object is passed in one step), plus parsing and building the value it
 * selects. */
int fastjson_eval(struct fastjson *fj, unsigned long ticket,
                  const struct fastjson_expr *e, jv *out);

#ifdef __cplusplus
}
#endif

#endif /* PW_FASTJSON_H */
