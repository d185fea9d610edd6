/* fuzz_config.c -- libFuzzer harness for the configuration loader. */
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "diag.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct diag *d = diag_new();
    struct config *cfg = config_load(fuzz_write("config", data, size), d);
    size_t i;

    /* Every message must be formatted, whatever the input. */
    for (i = 0; i < diag_count(d) && i < DIAG_MAX; i++)
        if (diag_at(d, i) == NULL)
            abort();
    config_free(cfg);
    diag_free(d);
    return 0;
}
