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

void expand_iter_init(struct expand_iter *x, const struct suite *s,
                      const struct expand_filter *f)
{
    memset(x, 0, sizeof(*x));
    x->s = s;
    if (f)
        x->f = *f;
    sbuf_init(&x->id, 0);
}

void expand_iter_release(struct expand_iter *x)
{
    if (x->in_matrix)
        matrix_iter_release(&x->it);
    x->in_matrix = 0;
    sbuf_release(&x->id);
}

static int listed(const char *const *names, size_t n, const char *name)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return 1;
    return 0;
}

static int scenario_selected(const struct expand_iter *x,
                             const struct scenario *sc)
{
    const struct expand_filter *f = &x->f;
    size_t i;

    if (f->nscenarios &&
        !listed(f->scenarios, f->nscenarios, scenario_name(sc)))
        return 0;
    for (i = 0; i < f->ntags; i++)
        if (scenario_has_tag(sc, f->tags[i]))
            return 1;
    return f->ntags == 0;
}

static int target_selected(const struct expand_iter *x,
                           const struct scenario *sc, const char *target)
{
    if (!scenario_runs_on(sc, target))
        return 0;
    return x->f.ntargets == 0 || listed(x->f.targets, x->f.ntargets, target);
}

int expand_iter_next(struct expand_iter *x, struct expand_test *t,
                     struct pw_err *err)
{
    const struct config *cfg = suite_config(x->s);

    while (x->sc < suite_scenario_count(x->s)) {
        struct scenario *sc = suite_scenario(x->s, x->sc);
        const char *target;
        const char *const *row;

        if (!scenario_selected(x, sc) || x->tg >= cfg->ntargets) {
            x->sc++;
            x->tg = 0;
            continue;
        }
        target = cfg->targets[x->tg].name;
        if (!x->in_matrix) {
            if (!target_selected(x, sc, target)) {
                x->tg++;
                continue;
            }
            x->status = matrix_iter_init(&x->it, scenario_matrix(sc), err);
            if (x->status != PW_OK) {
                x->sc = suite_scenario_count(x->s);
                return -1;
            }
            x->in_matrix = 1;
        }
        if (!matrix_iter_next(&x->it, &row)) {
            matrix_iter_release(&x->it);
            x->in_matrix = 0;
            x->tg++;
            continue;
        }
        sbuf_reset(&x->id);
        expand_test_id(&x->id, sc, target, row);
        t->sc = sc;
        t->target = target;
        t->row = row;
        t->id = x->id.buf;
        t->sc_index = x->sc;
        t->target_index = x->tg;
        t->pos = matrix_iter_pos(&x->it);
        return 1;
    }
    return 0;
}

pw_status expand_each(const struct suite *s, const struct expand_filter *f,
                      expand_fn *fn, void *arg, struct pw_err *err)
{
    struct expand_iter x;
    struct expand_test t;
    pw_status rc;

    expand_iter_init(&x, s, f);
    while (expand_iter_next(&x, &t, err) == 1)
        if (fn(t.sc, t.target, t.row, t.id, arg))
            break;
    rc = x.status;
    expand_iter_release(&x);
    return rc;
}
