/* fuzz_template.c -- libFuzzer harness for the template compiler and
 * renderer. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"
#include "template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static pw_status lookup(const char *path, void *arg, struct sbuf *out)
{
    (void)arg;
    if (strcmp(path, "missing") == 0)
        return PW_ERR_INVALID;
    return sbuf_adds(out, "v\xc3\xa9\"\x01");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pw_err err;
    size_t off = 0, i;
    struct tmpl *t = tmpl_compile((const char *)data, size, &err, &off);
    struct sbuf out;

    if (t == NULL) {
        if (off > size)
            abort(); /* an error must point inside the input */
        return 0;
    }
    for (i = 0; i < tmpl_ref_count(t); i++) {
        size_t roff;

        tmpl_ref_at(t, i, &roff);
        if (roff >= size)
            abort();
    }
    sbuf_init(&out, 1 << 16);
    tmpl_render(t, lookup, NULL, &out, &err);
    sbuf_release(&out);
    tmpl_free(t);
    return 0;
}
