/* fuzz_util.h -- shared by the libFuzzer harnesses: the loaders read files,
 * so each input is written to a private temporary file first. */
#ifndef PW_FUZZ_UTIL_H
#define PW_FUZZ_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *fuzz_write(const char *tag, const uint8_t *data, size_t size)
{
    static char path[256];
    const char *dir = getenv("TMPDIR");
    FILE *f;

    snprintf(path, sizeof(path), "%s/pw-fuzz-%s-%ld.yaml",
             dir && *dir ? dir : "/tmp", tag, (long)getpid());
    f = fopen(path, "wb");
    if (f == NULL)
        abort();
    if (size && fwrite(data, 1, size, f) != size)
        abort();
    fclose(f);
    return path;
}

#endif /* PW_FUZZ_UTIL_H */
