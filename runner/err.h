/* err.h -- one status enum for the whole project, with a message buffer.
 *
 * Every fallible function returns a pw_status and, when the caller passes a
 * struct pw_err, fills in one human-readable line.  A NULL struct pw_err means
 * "I only want the code".  The message never contains secrets: callers format
 * names and positions, never rendered values of secret.* templates.
 */
#ifndef PW_ERR_H
#define PW_ERR_H

#include <stdarg.h>

typedef enum {
    PW_OK = 0,
    PW_ERR_IO,      /* a system call failed; the message carries strerror */
    PW_ERR_PARSE,   /* bad YAML, template, regex, jq, duration, ... */
    PW_ERR_INVALID, /* well-formed input that breaks a rule */
    PW_ERR_USAGE,   /* bad command line */
    PW_ERR_TOOBIG,  /* input over a configured cap */
    PW_ERR_TIMEOUT,
    PW_ERR_BUSY,    /* held by another process (a locked file) */
    PW_ERR_LAST /* never returned; keep last */
} pw_status;

#define PW_ERR_LEN 256

struct pw_err {
    pw_status code;
    char msg[PW_ERR_LEN];
};

/* Record <code> and a printf-style message in <err>; NULL <err> is allowed.
 * Returns <code>, so call sites read "return pw_err_set(err, ...);".
 */
pw_status pw_err_set(struct pw_err *err, pw_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A static description of <code>; never NULL. */
const char *pw_strerror(pw_status code);

#endif /* PW_ERR_H */
