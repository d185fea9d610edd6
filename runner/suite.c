/* suite.c -- loading a configuration and all of its scenarios. */
#include <glob.h>
#include <stdlib.h>
#include <string.h>

#include "suite.h"
#include "xalloc.h"

struct suite {
    struct config *cfg;
    struct scenario **scenarios;
    size_t n, alloc;
    struct jqset *jq;
};

void suite_free(struct suite *s)
{
    size_t i;

    if (s == NULL)
        return;
    for (i = 0; i < s->n; i++)
        scenario_free(s->scenarios[i]);
    free(s->scenarios);
    jqset_free(s->jq);
    config_free(s->cfg);
    free(s);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Expand every glob of the config into a sorted list without repeats. */
static char **scenario_paths(const struct config *cfg, struct diag *d,
                             size_t *count)
{
    char **paths = NULL;
    size_t n = 0, alloc = 0, i, j, k;

    for (i = 0; i < cfg->nscenarios; i++) {
        const char *pat = cfg->scenarios[i];
        char *full;
        glob_t g;
        int rc;

        if (pat[0] == '/' || strcmp(cfg->dir, ".") == 0) {
            full = xstrdup(pat);
        } else {
            full = xmalloc(strlen(cfg->dir) + strlen(pat) + 2);
            sprintf(full, "%s/%s", cfg->dir, pat);
        }
        rc = glob(full, 0, NULL, &g);
        if (rc == GLOB_NOMATCH) {
            diag_add(d, cfg->scenario_pos[i], "'%s' matches no scenario file",
                     pat);
        } else if (rc != 0) {
            diag_add(d, cfg->scenario_pos[i], "cannot read '%s'", pat);
        } else {
            for (j = 0; j < g.gl_pathc; j++) {
                XGROW(paths, n + 1, alloc);
                paths[n++] = xstrdup(g.gl_pathv[j]);
            }
        }
        if (rc == 0 || rc == GLOB_NOMATCH)
            globfree(&g);
        free(full);
    }
    if (n > 1)
        qsort(paths, n, sizeof(char *), cmp_str);
    for (i = 0, k = 0; i < n; i++) {
        if (k > 0 && strcmp(paths[k - 1], paths[i]) == 0) {
            free(paths[i]);
            continue;
        }
        paths[k++] = paths[i];
    }
    *count = k;
    return paths;
}

struct suite *suite_load(const char *config_path, struct diag *d)
{
    size_t before = diag_count(d), npaths = 0, i, j;
    struct suite *s = xcalloc(1, sizeof(*s));
    char **paths;

    s->cfg = config_load(config_path, d);
    if (s->cfg == NULL) {
        suite_free(s);
        return NULL;
    }
    s->jq = jqset_new();
    paths = scenario_paths(s->cfg, d, &npaths);
    for (i = 0; i < npaths; i++) {
        struct scenario *sc = scenario_load(paths[i], s->cfg, s->jq, d);

        if (sc == NULL)
            continue;
        for (j = 0; j < s->n; j++)
            if (strcmp(scenario_name(s->scenarios[j]), scenario_name(sc)) == 0)
                break;
        if (j < s->n) {
            struct pos first = scenario_pos(s->scenarios[j]);

            diag_add(d, scenario_pos(sc),
                     "duplicate scenario name '%s' "
                     "(also in %s)",
                     scenario_name(sc), first.file);
            scenario_free(sc);
            continue;
        }
        XGROW(s->scenarios, s->n + 1, s->alloc);
        s->scenarios[s->n++] = sc;
    }
    for (i = 0; i < npaths; i++)
        free(paths[i]);
    free(paths);
    jqset_compile(s->jq, d);
    if (diag_count(d) > before) {
        suite_free(s);
        return NULL;
    }
    return s;
}

const struct config *suite_config(const struct suite *s)
{
    return s->cfg;
}
size_t suite_scenario_count(const struct suite *s)
{
    return s->n;
}
struct jqset *suite_jq(const struct suite *s)
{
    return s->jq;
}

struct scenario *suite_scenario(const struct suite *s, size_t i)
{
    return s->scenarios[i];
}

struct scenario *suite_find_scenario(const struct suite *s, const char *name)
{
    size_t i;

    for (i = 0; i < s->n; i++)
        if (strcmp(scenario_name(s->scenarios[i]), name) == 0)
            return s->scenarios[i];
    return NULL;
}
