/* expand.c -- test ids and the walk over every selected test. */
#include <string.h>

#include "expand.h"

static void add_escaped(struct sbuf *out, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c < 0x20 || c == 0x7f || strchr(",=[]%", c))
            sbuf_addf(out, "%%%02X", c);
        else
            sbuf_addc(out, (char)c);
    }
}

void expand_test_id(struct sbuf *out, const struct scenario *sc,
                    const char *target, const char *const *row)
{
    const struct matrix *m = scenario_matrix(sc);
    size_t np = m ? matrix_param_count(m) : 0, i;

    sbuf_addf(out, "%s@%s", scenario_name(sc), target);
    if (np == 0 || row == NULL)
        return;
    sbuf_addc(out, '[');
    for (i = 0; i < np; i++) {
        if (i)
            sbuf_addc(out, ',');
        sbuf_adds(out, matrix_param_name(m, i));
        sbuf_addc(out, '=');
        add_escaped(out, row[i]);
    }
    sbuf_addc(out, ']');
}

pw_status expand_each(const struct suite *s, const struct expand_filter *f,
                      expand_fn *fn, void *arg, struct pw_err *err)
{
    const struct config *cfg = suite_config(s);
    struct sbuf id = SBUF_INIT;
    size_t i, t;

    for (i = 0; i < suite_scenario_count(s); i++) {
        struct scenario *sc = suite_scenario(s, i);

        if (f && f->scenario && strcmp(f->scenario, scenario_name(sc)) != 0)
            continue;
        if (f && f->tag && !scenario_has_tag(sc, f->tag))
            continue;
        for (t = 0; t < cfg->ntargets; t++) {
            const char *target = cfg->targets[t].name;
            struct matrix_iter it;
            const char *const *row;
            pw_status rc;

            if (!scenario_runs_on(sc, target))
                continue;
            if (f && f->target && strcmp(f->target, target) != 0)
                continue;
            rc = matrix_iter_init(&it, scenario_matrix(sc), err);
            if (rc != PW_OK) {
                sbuf_release(&id);
                return rc;
            }
            while (matrix_iter_next(&it, &row)) {
                sbuf_reset(&id);
                expand_test_id(&id, sc, target, row);
                if (fn(sc, target, row, id.buf, arg)) {
                    matrix_iter_release(&it);
                    sbuf_release(&id);
                    return PW_OK;
                }
            }
            matrix_iter_release(&it);
        }
    }
    sbuf_release(&id);
    return PW_OK;
}
