/* fuzz_scenario.c -- libFuzzer harness for the scenario loader and the
 * matrix expander (rows are walked, up to a bound, for loaded files). */
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "diag.h"
#include "expand.h"
#include "fuzz_util.h"
#include "jqset.h"
#include "scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char config_yaml[] =
    "targets:\n"
    "  prod: { base_url: \"http://127.0.0.1:1\", vars: { tenant: a } }\n"
    "  canary: { base_url: \"http://127.0.0.1:2\", vars: { tenant: b } }\n";

static struct config *cfg;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct diag *d = diag_new();
    struct jqset *jq = jqset_new();
    struct scenario *sc;

    if (cfg == NULL) {
        cfg = config_load(fuzz_write("cfg", (const uint8_t *)config_yaml,
                                     sizeof(config_yaml) - 1),
                          d);
        if (cfg == NULL)
            abort();
    }
    sc = scenario_load(fuzz_write("scenario", data, size), cfg, jq, d);
    if (sc) {
        struct matrix_iter it;
        struct sbuf id = SBUF_INIT;
        const char *const *row;
        size_t n = 0;

        if (matrix_iter_init(&it, scenario_matrix(sc), NULL) == PW_OK) {
            while (n++ < 1000 && matrix_iter_next(&it, &row)) {
                sbuf_reset(&id);
                expand_test_id(&id, sc, "prod", row);
            }
            matrix_iter_release(&it);
        }
        sbuf_release(&id);
    }
    scenario_free(sc);
    jqset_free(jq);
    diag_free(d);
    return 0;
}
