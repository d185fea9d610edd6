/* err.c -- status codes and their messages. */
#include <stdio.h>

#include "err.h"

pw_status pw_err_set(struct pw_err *err, pw_status code, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return code;
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return code;
}

const char *pw_strerror(pw_status code)
{
    static const char *const names[PW_ERR_LAST] = {
        [PW_OK] = "success",
        [PW_ERR_IO] = "input/output error",
        [PW_ERR_PARSE] = "parse error",
        [PW_ERR_INVALID] = "invalid input",
        [PW_ERR_USAGE] = "usage error",
        [PW_ERR_TOOBIG] = "input too large",
        [PW_ERR_TIMEOUT] = "timed out",
        [PW_ERR_BUSY] = "in use",
    };

    if ((int)code < 0 || code >= PW_ERR_LAST)
        return "unknown error";
    return names[code];
}
