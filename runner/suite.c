/* suite.c -- loading a configuration and all of its scenarios. */
#include <errno.h>
#include <glob.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suite.h"
#include "units.h"
#include "xalloc.h"

struct suite {
    struct config *cfg;
    struct scenario **scenarios;
    size_t n, alloc;
    struct jqset *jq;
    struct secrets *secrets;
    uint64_t ntests;
    unsigned refs;
};

struct suite *suite_ref(struct suite *s)
{
    s->refs++;
    return s;
}

void suite_unref(struct suite *s)
{
    suite_free(s);
}

void suite_free(struct suite *s)
{
    size_t i;

    if (s == NULL || --s->refs > 0)
        return;
    secrets_free(s->secrets);
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

/* The first directory glob() could not read, other than one that does
 * not exist (that is "matches no scenario file").  glob()'s error callback
 * takes no argument, so this is file state; loading is single-threaded. */
static struct {
    char *path;
    int err;
} glob_failure;

static int on_glob_error(const char *path, int err)
{
    if (err == ENOENT)
        return 0;
    if (glob_failure.path == NULL) {
        glob_failure.path = xstrdup(path);
        glob_failure.err = err;
    }
    return 1; /* stop: a partial list would silently drop scenarios */
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

        full = config_resolve(cfg, pat);
        rc = glob(full, 0, on_glob_error, &g);
        if (rc == GLOB_NOMATCH) {
            diag_add(d, cfg->scenario_pos[i], "'%s' matches no scenario file",
                     pat);
        } else if (rc == GLOB_ABORTED && glob_failure.path) {
            diag_add(d, cfg->scenario_pos[i], "'%s': cannot read %s: %s", pat,
                     glob_failure.path, strerror(glob_failure.err));
        } else if (rc != 0) {
            diag_add(d, cfg->scenario_pos[i], "cannot read '%s'", pat);
        } else {
            for (j = 0; j < g.gl_pathc; j++) {
                XGROW(paths, n + 1, alloc);
                paths[n++] = xstrdup(g.gl_pathv[j]);
            }
        }
        globfree(&g);
        free(glob_failure.path);
        glob_failure.path = NULL;
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

/* "N" or "at least N" for a count that may be a lower bound. */
static const char *count_text(char *buf, size_t len, uint64_t n, int exact)
{
    snprintf(buf, len, "%s%llu", exact ? "" : "at least ",
             (unsigned long long)n);
    return buf;
}

/* Count the tests of every scenario (rows times targets) without
 * enumerating them, and refuse a suite above limits.max_tests: a suite is
 * held and scheduled whole, so one careless "coverage: all" over many
 * parameters must fail here, in a second, and not in `once` an hour and
 * gigabytes later.  Reports at the scenario that passes the limit. */
static void count_tests(struct suite *s, struct diag *d)
{
    uint64_t max = s->cfg->max_tests, total = 0;
    size_t i, t;

    for (i = 0; i < s->n; i++) {
        struct scenario *sc = s->scenarios[i];
        struct matrix *m = scenario_matrix(sc);
        uint64_t rows = 0, tests;
        size_t ntargets = 0;
        struct pw_err err;
        char a[64], b[64];
        int exact;

        for (t = 0; t < s->cfg->ntargets; t++)
            if (scenario_runs_on(sc, s->cfg->targets[t].name))
                ntargets++;
        if (matrix_count(m, max, &rows, &err) != PW_OK) {
            diag_add(d, scenario_size_pos(sc), "%s", err.msg);
            return;
        }
        /* Above the limit a t-wise count may be a lower bound. */
        exact =
            rows < UINT64_MAX && (rows <= max || matrix_strength(m) < 2 ||
                                  matrix_strength(m) >= matrix_param_count(m));
        tests = units_sat_mul(rows, ntargets);
        total = units_sat_add(total, tests);
        if (tests == UINT64_MAX)
            exact = 0;
        if (total <= max)
            continue;
        if (tests > max)
            diag_add(d, scenario_size_pos(sc),
                     "scenario '%s' has %s tests (%s rows x %zu target%s), "
                     "more than limits.max_tests (%llu); use pairwise "
                     "coverage or excludes, or raise the limit",
                     scenario_name(sc), count_text(a, sizeof(a), tests, exact),
                     count_text(b, sizeof(b), rows, exact), ntargets,
                     ntargets == 1 ? "" : "s", (unsigned long long)max);
        else
            diag_add(d, scenario_size_pos(sc),
                     "scenario '%s' has %llu tests, which brings the suite "
                     "to %llu, more than limits.max_tests (%llu); use "
                     "pairwise coverage or excludes, or raise the limit",
                     scenario_name(sc), (unsigned long long)tests,
                     (unsigned long long)total, (unsigned long long)max);
        return;
    }
    s->ntests = total;
}

struct suite *suite_load(const char *config_path, struct diag *d)
{
    return suite_reload(config_path, NULL, d);
}

/* Covering arrays <prev> has built that fit a scenario of <s> of the same
 * name, taken over before counting builds the rest. */
static void adopt_arrays(struct suite *s, const struct suite *prev)
{
    size_t i;

    for (i = 0; i < s->n; i++) {
        struct scenario *old =
            suite_find_scenario(prev, scenario_name(s->scenarios[i]));

        if (old != NULL)
            matrix_adopt(scenario_matrix(s->scenarios[i]),
                         scenario_matrix(old));
    }
}

struct suite *suite_reload(const char *config_path, const struct suite *prev,
                           struct diag *d)
{
    size_t before = diag_count(d), npaths = 0, i, j;
    struct suite *s = xcalloc(1, sizeof(*s));
    char **paths;

    s->refs = 1;
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
    if (prev != NULL)
        adopt_arrays(s, prev);
    count_tests(s, d);
    if (diag_count(d) > before) {
        suite_free(s);
        return NULL;
    }
    s->secrets = secrets_new(s->cfg->secrets_dir);
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
uint64_t suite_test_count(const struct suite *s)
{
    return s->ntests;
}

struct jqset *suite_jq(const struct suite *s)
{
    return s->jq;
}

struct secrets *suite_secrets(const struct suite *s)
{
    return s->secrets;
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
