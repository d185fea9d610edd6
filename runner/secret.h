/* secret.h -- secret values: read once, and never let out.
 *
 * A struct secrets reads each file of the secrets directory the first time
 * a template names it ({{ secret.NAME }}) and keeps the value for the life
 * of the loaded configuration, so a run never touches the disk for it.
 *
 * Redaction follows the value, not the place it was rendered: every secret
 * read, and every string derived from one (a rendered variable, header or
 * basic-auth pair -- see redact_add()), is remembered with its common
 * encodings: as is, URL-encoded (upper and lower case hex, '+' for a
 * space), JSON-escaped once and twice, HTML-escaped, JSON with HTML
 * characters escaped (\u0026), as printed in a one-line message, and
 * base64 (standard and URL-safe alphabets, at each of the three byte
 * alignments, so it is found inside the base64 of a longer string such as
 * "user:password").  redact_apply() replaces each of them with "[secret]"
 * in anything that leaves the process, and also the first bytes (at least
 * 4) of any of them when a value was cut short right after ("..."), as
 * failure messages and jq's errors do.  Base64 pieces shorter than 3
 * characters are not searched for: they would blank out ordinary text.
 */
#ifndef PW_SECRET_H
#define PW_SECRET_H

#include <stddef.h>

#include "err.h"
#include "sbuf.h"

#define SECRET_MAX (64u << 10) /* bytes of one secret file */
#define REDACTED   "[secret]"

/* A set of values to hide, with their encodings.  Caller's storage: start
 * with REDACT_INIT, end with redact_release(). */
struct redact {
    char **forms; /* longest first */
    size_t nforms, alloc;
};
#define REDACT_INIT                                                            \
    {                                                                          \
        NULL, 0, 0                                                             \
    }

/* Remember <value> (<len> bytes, copied) and its encodings.  Empty values
 * are ignored; a value already known costs nothing more. */
void redact_add(struct redact *r, const char *value, size_t len);

/* Whether any form of <sets>[0..<n>) (NULL sets are skipped) occurs in
 * <text>. */
int redact_found(const struct redact *const *sets, size_t n, const char *text,
                 size_t len);

/* Replace, in place, every form of <sets>[0..<n>) found in <b> with
 * REDACTED. */
void redact_apply(const struct redact *const *sets, size_t n, struct sbuf *b);

/* Forget everything; <r> is empty and reusable. */
void redact_release(struct redact *r);

struct secrets;

/* Secrets read from directory <dir> (copied).  Free with secrets_free(). */
struct secrets *secrets_new(const char *dir);

/* Forget every value (the memory is wiped).  NULL is a no-op. */
void secrets_free(struct secrets *s);

/* Append secret <name> to <out>: the file <dir>/<name>, trailing newlines
 * dropped, read on first use.  Returns PW_OK, or PW_ERR_INVALID when the
 * name is not a plain file name, the file cannot be read or holds more
 * than SECRET_MAX bytes (never saying more: the caller names the secret,
 * not its content). */
pw_status secrets_get(struct secrets *s, const char *name, struct sbuf *out);

/* Every secret read so far, with its encodings.  Borrowed. */
const struct redact *secrets_redact(const struct secrets *s);

#endif /* PW_SECRET_H */
