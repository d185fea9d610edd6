/* testutil.c -- helpers shared by the Check unit tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sbuf.h"
#include "testutil.h"

int pw_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* One fresh directory per process (Check forks a process per test): made
 * with mkdtemp(), so a directory left by an earlier process with the same
 * pid can never leak its files into a test, and removed at exit by the
 * process that made it. */
static char tu_dir_path[256];
static pid_t tu_dir_owner;

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void tu_dir_remove(void)
{
    if (tu_dir_owner == getpid() && tu_dir_path[0])
        nftw(tu_dir_path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static const char *tu_dir(void)
{
    const char *tmp = getenv("TMPDIR");

    if (tu_dir_owner == getpid())
        return tu_dir_path;
    snprintf(tu_dir_path, sizeof(tu_dir_path), "%s/pw-test-XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tu_dir_path));
    if (tu_dir_owner == 0)
        atexit(tu_dir_remove);
    tu_dir_owner = getpid();
    return tu_dir_path;
}

const char *tu_write(const char *name, const char *text)
{
    static char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", tu_dir(), name);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return path;
}

const char *tu_mkdir(const char *name)
{
    static char path[512];

    snprintf(path, sizeof(path), "%s/%s", tu_dir(), name);
    mkdir(path, 0700);
    return path;
}

const char *tu_tmpdir(void)
{
    return tu_dir();
}

char *tu_diag_text(struct diag *d)
{
    struct sbuf b = SBUF_INIT;
    const char *dir = tu_dir();
    size_t i, dlen = strlen(dir);

    for (i = 0; i < diag_count(d) && i < DIAG_MAX; i++) {
        const char *line = diag_at(d, i);

        /* Files written by tu_write() are reported by their base name. */
        if (strncmp(line, dir, dlen) == 0 && line[dlen] == '/')
            line += dlen + 1;
        sbuf_adds(&b, line);
        sbuf_addc(&b, '\n');
    }
    return sbuf_take(&b, NULL);
}

/* secrets_dir is explicit so that secret.NAME checks do not depend on
 * whether this machine has /etc/prodwatch/secrets. */
static const char test_config[] = "secrets_dir: test-secrets\n"
                                  "targets:\n"
                                  "  prod:\n"
                                  "    base_url: https://shop.example.com\n"
                                  "    vars: { tenant: acme, region: eu }\n"
                                  "  canary:\n"
                                  "    base_url: https://canary.example.com\n"
                                  "    vars: { tenant: acme }\n";

struct config *tu_config(void)
{
    struct diag *d = diag_new();
    struct config *cfg;

    tu_mkdir("test-secrets");
    tu_write("test-secrets/pw", "pw\n");
    tu_write("test-secrets/token", "token\n");
    cfg = config_load(tu_write("prodwatch.yaml", test_config), d);

    ck_assert_msg(cfg != NULL, "test config does not load");
    diag_free(d);
    return cfg;
}

static struct config *last_cfg;
static struct jqset *last_jq;

struct scenario *tu_scenario(const char *text, char **diag_text)
{
    struct diag *d = diag_new();
    struct scenario *sc;

    config_free(last_cfg);
    jqset_free(last_jq);
    last_cfg = tu_config();
    last_jq = jqset_new();
    sc = scenario_load(tu_write("s.yaml", text), last_cfg, last_jq, d);
    if (jqset_compile(last_jq, d) != PW_OK) {
        scenario_free(sc);
        sc = NULL;
    }
    *diag_text = tu_diag_text(d);
    diag_free(d);
    return sc;
}

void tu_scenario_free(struct scenario *sc)
{
    scenario_free(sc);
    config_free(last_cfg);
    jqset_free(last_jq);
    last_cfg = NULL;
    last_jq = NULL;
}

struct jqset *tu_jq(void)
{
    return last_jq;
}
