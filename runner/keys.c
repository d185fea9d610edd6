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

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int keys_unescape(struct sbuf *out, const char *esc)
{
    const char *p;

    for (p = esc; *p; p++) {
        int hi, lo;

        if (*p != '%') {
            sbuf_addc(out, *p);
            continue;
        }
        hi = hexval(p[1]);
        lo = hi < 0 ? -1 : hexval(p[2]);
        if (lo < 0)
            return -1;
        sbuf_addc(out, (char)(hi * 16 + lo));
        p += 2;
    }
    return 0;
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
