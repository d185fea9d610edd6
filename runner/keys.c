/* keys.c -- Redis key names, escaped. */
#include <string.h>

#include "keys.h"

static int needs_escape(unsigned char c)
{
    return c == '%' || c == '{' || c == '}' || c <= 0x20 || c == 0x7f;
}

void keys_escape(struct sbuf *out, const char *name, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];

        if (needs_escape(c))
            sbuf_addf(out, "%%%02X", c);
        else
            sbuf_addc(out, (char)c);
    }
}

void keys_name(struct sbuf *out, const char *prefix, const char *kind,
               const char *name)
{
    sbuf_adds(out, prefix);
    sbuf_addc(out, ':');
    sbuf_adds(out, kind);
    if (name) {
        sbuf_addc(out, ':');
        keys_escape(out, name, strlen(name));
    }
}
