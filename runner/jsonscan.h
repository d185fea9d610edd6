/* jsonscan.h -- the shape of a JSON text, checked without building it.
 *
 * libjq 1.6 leaks the value it has just read when a second value follows
 * without a separator ({"a" "b"}, ["x" "y"]): a target answering that on
 * every probe would grow the daemon forever.  jsonscan_structure() walks
 * the tokens of a body -- strings, literals, brackets, colons, commas --
 * and checks only how they follow each other, in one pass, with no
 * allocation.  What it accepts goes to libjq, which still judges every
 * literal, number and escape; what it refuses never reaches libjq.  It is
 * lenient wherever libjq is (control bytes and invalid UTF-8 inside
 * strings, a leading byte-order mark, `nan`), so no body libjq would parse
 * is refused.
 */
#ifndef PW_JSONSCAN_H
#define PW_JSONSCAN_H

#include <stddef.h>

/* Nesting past which the walk stops judging and leaves the body to libjq,
 * whose own limit (256) is lower and fails first. */
#define JSONSCAN_MAX_DEPTH 1024

/* Check the structure of the <n> bytes at <s>.  Returns 1 when it is one
 * JSON value (or nests deeper than JSONSCAN_MAX_DEPTH); otherwise 0 with a
 * short reason in *<why> (static text) and its byte offset in *<at>.
 * <why> and <at> may be NULL. */
int jsonscan_structure(const char *s, size_t n, const char **why, size_t *at);

#endif /* PW_JSONSCAN_H */
