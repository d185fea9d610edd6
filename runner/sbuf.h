/* sbuf.h -- a growable string buffer with an optional size cap.
 *
 * Invariants: <buf> is never NULL and always NUL-terminated, <len> is the
 * number of bytes before that NUL, and <len> never exceeds <cap> when <cap>
 * is non-zero.  Once an append fails, the buffer is failed (<failed> is not
 * PW_OK) and stays failed: every later append appends nothing and fails
 * too, even one that would fit, so <buf> holds what was appended before
 * the failure and never a string with a piece missing from its middle (a
 * URL cut short, a message that drops a part).  Only emptying it --
 * sbuf_init(), sbuf_reset(), sbuf_release(), sbuf_take() -- clears the
 * mark.  So a series of appends can go unchecked, followed by one
 * sbuf_failed() test before the result is used.
 *
 * A struct sbuf lives in the caller's storage: start it with sbuf_init()
 * (or SBUF_INIT for an uncapped one) and end it with sbuf_release() or
 * sbuf_take().
 *
 * The cap is how bytes from outside (HTTP bodies, files) are bounded: an
 * append that would pass it appends nothing and returns PW_ERR_TOOBIG.
 */
#ifndef PW_SBUF_H
#define PW_SBUF_H

#include <stdarg.h>
#include <stddef.h>

#include "err.h"

struct sbuf {
    char *buf;    /* never NULL; points at sbuf_empty until first append */
    size_t len;   /* bytes used, not counting the NUL */
    size_t alloc; /* bytes allocated; 0 while buf is sbuf_empty */
    size_t cap;   /* maximum len; 0 means unlimited */
    pw_status failed; /* PW_OK, or what the first failed append returned */
};

extern char sbuf_empty[];
#define SBUF_INIT                                                              \
    {                                                                          \
        sbuf_empty, 0, 0, 0, PW_OK                                             \
    }

/* Start <b> empty, holding at most <cap> bytes (0: no limit). */
void sbuf_init(struct sbuf *b, size_t cap);

/* Free <b>'s storage and leave it empty and reusable (same cap). */
void sbuf_release(struct sbuf *b);

/* Empty <b> but keep its storage; <b> is no longer failed. */
void sbuf_reset(struct sbuf *b);

/* Hand the string over: the caller owns the result (free with free()) and
 * <b> is left empty.  <*len> receives the length when <len> is not NULL. */
char *sbuf_take(struct sbuf *b, size_t *len);

/* Make room for <n> more bytes (and the NUL), so that appending that many
 * does not reallocate.  Appends nothing: the cap is checked by appends. */
void sbuf_reserve(struct sbuf *b, size_t n);

/* Append <n> bytes of <data>.  Returns PW_OK, or PW_ERR_TOOBIG (nothing
 * appended) when the cap would be passed.  A failed <b> appends nothing
 * and returns the status it first failed with. */
pw_status sbuf_add(struct sbuf *b, const void *data, size_t n);

/* Append a NUL-terminated string / one byte / a formatted string.  Each
 * appends all or nothing, and fails like sbuf_add() does. */
pw_status sbuf_adds(struct sbuf *b, const char *s);
pw_status sbuf_addc(struct sbuf *b, char c);

/* Append <v> in decimal (a '-' first when negative): sbuf_addf()'s
 * result without its cost, for answers that write numbers by the
 * thousand. */
pw_status sbuf_add_int(struct sbuf *b, long long v);
pw_status sbuf_add_uint(struct sbuf *b, unsigned long long v);
pw_status sbuf_addf(struct sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
pw_status sbuf_vaddf(struct sbuf *b, const char *fmt, va_list ap);

/* Append <s> as a JSON string literal, quotes included.  Bytes that are not
 * valid UTF-8 are replaced by U+FFFD so the output is always valid JSON. */
pw_status sbuf_add_json_str(struct sbuf *b, const char *s, size_t n);

/* Append <n> bytes of <s> for display in one line: control bytes become
 * spaces and bytes that are not valid UTF-8 become U+FFFD, so the result
 * is safe in a terminal, a JSON string or an XML attribute. */
pw_status sbuf_add_printable(struct sbuf *b, const char *s, size_t n);
/* Unlike the appends above, these two append piece by piece: when one
 * fails, a part of <s> may be in <buf>, and <b> is failed. */

/* PW_OK (zero) while every append to <b> has succeeded since it was last
 * emptied; otherwise the status of the first one that failed, so that
 * "if (sbuf_failed(&b))" reads as a question and still says why. */
pw_status sbuf_failed(const struct sbuf *b);

#endif /* PW_SBUF_H */
