/* cli.c -- command dispatch, `check` and `expand`. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "cli.h"
#include "expand.h"
#include "once.h"
#include "sbuf.h"
#include "suite.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.0.0"
#endif

static void usage(FILE *out)
{
    fprintf(out,
            "usage: prodwatch COMMAND [OPTIONS]\n"
            "\n"
            "Continuous production tests: scenarios run against live targets.\n"
            "\n"
            "Commands:\n"
            "  check   [-c FILE]            validate the config and every "
            "scenario\n"
            "  expand  [-c FILE] [--scenario NAME] [--target T] [--tag T]\n"
            "          [--format text|json] print each test, one a line\n"
            "  once    [-c FILE] [--scenario NAME] [--target T] [--tag T]\n"
            "          [--junit FILE] [--json]  run each selected test once\n"
            "\n"
            "Options:\n"
            "  -c, --config FILE  configuration file (default: "
            "$PRODWATCH_CONFIG,\n"
            "                     else " CLI_DEFAULT_CONFIG ")\n"
            "  -h, --help         show this help\n"
            "  -V, --version      show the version\n"
            "\n"
            "Exit status: 0 success, 1 a test failed (once), 2 invalid\n"
            "configuration or usage, 3 some runs could not complete (once).\n");
}

struct opts {
    const char *config;
    const char *junit;
    int json_lines;
    const char *scenario;
    const char *target;
    const char *tag;
    int json;
};

static const char *config_path(const struct opts *o)
{
    const char *env = getenv("PRODWATCH_CONFIG");

    if (o->config)
        return o->config;
    if (env && *env)
        return env;
    return CLI_DEFAULT_CONFIG;
}

/* Parse the options of a command.  Returns -1 to go on, else an exit
 * code. */
#define OPT_SELECT 1 /* --scenario --target --tag --format */
#define OPT_ONCE   2 /* --junit --json */

static int parse_opts(int argc, char **argv, struct opts *o, int allowed)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "scenario", required_argument, NULL, 's' },
        { "target", required_argument, NULL, 't' },
        { "tag", required_argument, NULL, 'g' },
        { "format", required_argument, NULL, 'f' },
        { "junit", required_argument, NULL, 'j' },
        { "json", no_argument, NULL, 'J' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int ch;

    memset(o, 0, sizeof(*o));
    optind = 1;
    opterr = 0;
    for (ch = getopt_long(argc, argv, ":c:h", longopts, NULL); ch != -1;
         ch = getopt_long(argc, argv, ":c:h", longopts, NULL)) {
        switch (ch) {
        case 'c':
            o->config = optarg;
            break;
        case 's':
        case 't':
        case 'g':
        case 'f':
            if (!(allowed & OPT_SELECT)) {
                fprintf(stderr, "prodwatch %s: unknown option '%s'\n", argv[0],
                        argv[optind - 1]);
                return CLI_EXIT_USAGE;
            }
            if (ch == 's')
                o->scenario = optarg;
            else if (ch == 't')
                o->target = optarg;
            else if (ch == 'g')
                o->tag = optarg;
            else if (strcmp(optarg, "json") == 0)
                o->json = 1;
            else if (strcmp(optarg, "text") != 0) {
                fprintf(stderr,
                        "prodwatch %s: --format must be text or "
                        "json\n",
                        argv[0]);
                return CLI_EXIT_USAGE;
            }
            break;
        case 'j':
        case 'J':
            if (!(allowed & OPT_ONCE)) {
                fprintf(stderr, "prodwatch %s: unknown option '%s'\n", argv[0],
                        argv[optind - 1]);
                return CLI_EXIT_USAGE;
            }
            if (ch == 'j')
                o->junit = optarg;
            else
                o->json_lines = 1;
            break;
        case 'h':
            usage(stdout);
            return CLI_EXIT_OK;
        case ':':
            fprintf(stderr, "prodwatch %s: option '%s' needs a value\n",
                    argv[0], argv[optind - 1]);
            return CLI_EXIT_USAGE;
        default:
            fprintf(stderr, "prodwatch %s: unknown option '%s'\n", argv[0],
                    argv[optind - 1]);
            return CLI_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "prodwatch %s: unexpected argument '%s'\n", argv[0],
                argv[optind]);
        return CLI_EXIT_USAGE;
    }
    return -1;
}

/* Load the suite, printing every problem.  NULL on failure. */
static struct suite *load_or_report(const char *path)
{
    struct diag *d = diag_new();
    struct suite *s = suite_load(path, d);

    if (s == NULL) {
        size_t n = diag_count(d);

        diag_print(d, stderr);
        fprintf(stderr, "%zu problem%s found\n", n, n == 1 ? "" : "s");
    }
    diag_free(d);
    return s;
}

static int count_test(const struct scenario *sc, const char *target,
                      const char *const *row, const char *id, void *arg)
{
    (void)sc;
    (void)target;
    (void)row;
    (void)id;
    (*(size_t *)arg)++;
    return 0;
}

static int cmd_check(int argc, char **argv)
{
    struct opts o;
    struct suite *s;
    struct pw_err err;
    size_t tests = 0;
    int rc = parse_opts(argc, argv, &o, 0);

    if (rc >= 0)
        return rc;
    s = load_or_report(config_path(&o));
    if (s == NULL)
        return CLI_EXIT_USAGE;
    if (expand_each(s, NULL, count_test, &tests, &err) != PW_OK) {
        fprintf(stderr, "%s\n", err.msg);
        suite_free(s);
        return CLI_EXIT_USAGE;
    }
    printf("%s: ok: %zu scenario%s, %zu target%s, %zu test%s\n",
           config_path(&o), suite_scenario_count(s),
           suite_scenario_count(s) == 1 ? "" : "s", suite_config(s)->ntargets,
           suite_config(s)->ntargets == 1 ? "" : "s", tests,
           tests == 1 ? "" : "s");
    suite_free(s);
    return CLI_EXIT_OK;
}

static int print_test(const struct scenario *sc, const char *target,
                      const char *const *row, const char *id, void *arg)
{
    const struct matrix *m = scenario_matrix(sc);
    const struct opts *o = arg;
    struct sbuf b = SBUF_INIT;
    size_t i;

    if (!o->json) {
        printf("%s\n", id);
        return 0;
    }
    sbuf_adds(&b, "{\"id\":");
    sbuf_add_json_str(&b, id, strlen(id));
    sbuf_adds(&b, ",\"scenario\":");
    sbuf_add_json_str(&b, scenario_name(sc), strlen(scenario_name(sc)));
    sbuf_adds(&b, ",\"target\":");
    sbuf_add_json_str(&b, target, strlen(target));
    sbuf_adds(&b, ",\"params\":{");
    for (i = 0; i < matrix_param_count(m); i++) {
        if (i)
            sbuf_addc(&b, ',');
        sbuf_add_json_str(&b, matrix_param_name(m, i),
                          strlen(matrix_param_name(m, i)));
        sbuf_addc(&b, ':');
        sbuf_add_json_str(&b, row[i], strlen(row[i]));
    }
    sbuf_adds(&b, "}}");
    printf("%s\n", b.buf);
    sbuf_release(&b);
    return 0;
}

/* Load the suite and check the names a selection uses.  NULL (reported)
 * on failure. */
static struct suite *load_selected(const struct opts *o, const char *cmd)
{
    struct suite *s = load_or_report(config_path(o));

    if (s == NULL)
        return NULL;
    if (o->scenario && suite_find_scenario(s, o->scenario) == NULL) {
        fprintf(stderr, "prodwatch %s: no scenario named '%s'\n", cmd,
                o->scenario);
        suite_free(s);
        return NULL;
    }
    if (o->target && config_target(suite_config(s), o->target) == NULL) {
        fprintf(stderr, "prodwatch %s: no target named '%s'\n", cmd, o->target);
        suite_free(s);
        return NULL;
    }
    return s;
}

static int cmd_expand(int argc, char **argv)
{
    struct expand_filter f;
    struct opts o;
    struct suite *s;
    struct pw_err err;
    int rc = parse_opts(argc, argv, &o, 1);

    if (rc >= 0)
        return rc;
    s = load_or_report(config_path(&o));
    if (s == NULL)
        return CLI_EXIT_USAGE;
    if (o.scenario && suite_find_scenario(s, o.scenario) == NULL) {
        fprintf(stderr, "prodwatch expand: no scenario named '%s'\n",
                o.scenario);
        suite_free(s);
        return CLI_EXIT_USAGE;
    }
    if (o.target && config_target(suite_config(s), o.target) == NULL) {
        fprintf(stderr, "prodwatch expand: no target named '%s'\n", o.target);
        suite_free(s);
        return CLI_EXIT_USAGE;
    }
    f.scenario = o.scenario;
    f.target = o.target;
    f.tag = o.tag;
    rc = CLI_EXIT_OK;
    if (expand_each(s, &f, print_test, &o, &err) != PW_OK) {
        fprintf(stderr, "prodwatch expand: %s\n", err.msg);
        rc = CLI_EXIT_USAGE;
    }
    suite_free(s);
    return rc;
}

static int cmd_once(int argc, char **argv)
{
    struct once_opts oo;
    struct opts o;
    struct suite *s;
    int rc = parse_opts(argc, argv, &o, OPT_SELECT | OPT_ONCE);

    if (rc >= 0)
        return rc;
    s = load_selected(&o, "once");
    if (s == NULL)
        return CLI_EXIT_USAGE;
    memset(&oo, 0, sizeof(oo));
    oo.filter.scenario = o.scenario;
    oo.filter.target = o.target;
    oo.filter.tag = o.tag;
    oo.junit = o.junit;
    oo.json = o.json_lines;
    rc = once_run(s, &oo);
    suite_free(s);
    return rc;
}

int cli_main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {
        { "check", cmd_check },
        { "expand", cmd_expand },
        { "once", cmd_once },
    };
    size_t i;

    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0 ||
        strcmp(argv[1], "version") == 0) {
        printf("prodwatch %s\n", PACKAGE_VERSION);
        return CLI_EXIT_OK;
    }
    for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (strcmp(argv[1], cmds[i].name) == 0)
            return cmds[i].fn(argc - 1, argv + 1);
    fprintf(stderr,
            "prodwatch: unknown command '%s'\n"
            "Run 'prodwatch --help' for the list of commands.\n",
            argv[1]);
    return CLI_EXIT_USAGE;
}
