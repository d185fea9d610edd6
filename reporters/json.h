/* json.h -- JSON for the reporter plugins: a writer and a small reader.
 *
 * A plugin sees only prodwatch/reporter.h, so it cannot use the daemon's
 * string buffers; this file is compiled into each plugin (and the test
 * stand-in) instead.  Every symbol here is hidden: a plugin exports
 * pw_reporter and nothing else.
 *
 * struct jw is a growable buffer in the caller's storage, always
 * NUL-terminated.  Start it with jw_init(), end it with jw_release() or
 * jw_take().  It fails sticky, as the daemon's sbuf does: when memory runs
 * out, <failed> is set, later appends do nothing, and one jw_failed()
 * check before use suffices.
 *
 * Strings are written as UTF-8: quotes, backslashes and control characters
 * are escaped, valid UTF-8 passes through, and each invalid byte becomes
 * U+FFFD, so what comes out always parses.  Separators are implicit: a
 * key or an array element written after another value gets its comma.
 */
#ifndef PW_REPORTERS_JSON_H
#define PW_REPORTERS_JSON_H

#include <stddef.h>

#include "prodwatch/reporter.h"

#define JW_HIDDEN __attribute__((visibility("hidden")))

struct jw {
    char *buf; /* never NULL after jw_init() */
    size_t len;
    size_t alloc;
    int failed;
};

JW_HIDDEN void jw_init(struct jw *b);
JW_HIDDEN void jw_release(struct jw *b);
/* Empty <b>, keeping its storage; clears the failure. */
JW_HIDDEN void jw_reset(struct jw *b);
/* The string, now the caller's (free()); <b> is left empty.  NULL when <b>
 * failed. */
JW_HIDDEN char *jw_take(struct jw *b, size_t *len);
JW_HIDDEN int jw_failed(const struct jw *b);

/* Append <n> bytes verbatim. */
JW_HIDDEN void jw_raw(struct jw *b, const char *s, size_t n);
/* Append the comma that separates this value from the one before it, if
 * the buffer does not end in an opening bracket, a colon or nothing. */
JW_HIDDEN void jw_sep(struct jw *b);
JW_HIDDEN void jw_open(struct jw *b);  /* "{" after its separator */
JW_HIDDEN void jw_close(struct jw *b); /* "}" */
JW_HIDDEN void jw_open_array(struct jw *b);
JW_HIDDEN void jw_close_array(struct jw *b);

/* A string value; NULL writes null.  jw_strn() writes <n> bytes of <s>
 * (which may hold NULs: each is escaped). */
JW_HIDDEN void jw_str(struct jw *b, const char *s);
JW_HIDDEN void jw_strn(struct jw *b, const char *s, size_t n);
/* The escaped text of <n> bytes of <s> without quotes, for composing one
 * string value from several pieces between jw_raw(b, "\"", 1) calls. */
JW_HIDDEN void jw_esc(struct jw *b, const char *s, size_t n);

/* "key": before a value. */
JW_HIDDEN void jw_key(struct jw *b, const char *key);
/* Key and value in one call. */
JW_HIDDEN void jw_kstr(struct jw *b, const char *key, const char *s);
/* As jw_kstr(), but writes nothing when <s> is NULL. */
JW_HIDDEN void jw_kopt(struct jw *b, const char *key, const char *s);
JW_HIDDEN void jw_kint(struct jw *b, const char *key, long long v);
/* A number with three decimals; null when not finite. */
JW_HIDDEN void jw_kdouble(struct jw *b, const char *key, double v);
JW_HIDDEN void jw_kbool(struct jw *b, const char *key, int v);

/* Append <n> bytes of <s> truncated to at most <max> bytes without cutting
 * a UTF-8 sequence in two. */
JW_HIDDEN size_t jw_cut(const char *s, size_t n, size_t max);

/* -- Reading ------------------------------------------------------------ */

/* Whether <n> bytes of <s> are one JSON object (whitespace around it
 * allowed), nested at most 64 deep. */
JW_HIDDEN int jr_is_object(const char *s, size_t n);

/* Append the members of the JSON object <obj> (as checked by
 * jr_is_object) to <b>, as if written one by one into an open object. */
JW_HIDDEN void jw_members(struct jw *b, const char *obj);

/* The top-level member <key> of the JSON object in <n> bytes of <s>,
 * decoded into <out> (at most <outsz> bytes, NUL-terminated, cut short
 * when longer): a string as its text, an array of strings as its
 * elements joined by "; ", anything else as its JSON text.  Returns 1
 * when found, 0 when <s> is not an object or has no such key. */
JW_HIDDEN int jr_member(const char *s, size_t n, const char *key, char *out,
                        size_t outsz);

/* -- The two records, whole --------------------------------------------- */

JW_HIDDEN const char *jw_action_name(enum pw_alert_action a);
JW_HIDDEN const char *jw_level_name(enum pw_alert_level l);

/* Every field of <a> as one JSON object with "type":"alert"; details is
 * embedded as an object (as a string when it is not one). */
JW_HIDDEN void jw_alert(struct jw *b, const struct pw_alert *a);
/* Every field of <r> as one JSON object with "type":"result". */
JW_HIDDEN void jw_result(struct jw *b, const struct pw_result *r);

/* ISO 8601 UTC ("2024-05-01T12:00:00Z") of Unix seconds <t> into <out>
 * (at least 32 bytes). */
JW_HIDDEN void jw_iso8601(long long t, char *out, size_t outsz);

#endif /* PW_REPORTERS_JSON_H */
