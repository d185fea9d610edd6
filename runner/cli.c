/* cli.c -- command dispatch, `check` and `expand`. */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "alerting.h"
#include "cli.h"
#include "control.h"
#include "docs_cmd.h"
#include "service.h"
#include "expand.h"
#include "once.h"
#include "reporters.h"
#include "sbuf.h"
#include "suite.h"
#include "xalloc.h"

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
            "          [--format text|json] [--stats]  print each test, one a\n"
            "          line (--stats: per scenario, its rows and their cost)\n"
            "  once    [-c FILE] [--scenario NAME] [--target T] [--tag T]\n"
            "          [--junit FILE] [--json]  run each selected test once\n"
            "  run     [-c FILE] [--scenario NAME] [--target T] [--tag T]\n"
            "          [--log-level L] [--log-format text|json] [--runner-id ID]\n"
            "          [--grace DURATION]  the service: every test, forever\n"
            "  sweep   [-c FILE] [--runner-id ID]  run pending cleanups of "
            "stopped runners\n"
            "  status  [-c FILE] [--target T] [--scenario NAME]\n"
            "          [--status pass|fail|error] [--json]  each test's state\n"
            "  pause   [-c FILE] [--target T]  stop probing (fleet-wide)\n"
            "  resume  [-c FILE] [--target T]  start probing again\n"
            "  silence --target T --for DURATION [-c FILE]  no pages for a "
            "while\n"
            "  docs    [-c FILE] [--format md|html] [-o DIR] [--scenario "
            "NAME]\n"
            "          [--target T] [--tag T]  each scenario as a page with "
            "its results\n"
            "  alert test [-c FILE] [--reporter NAME] [--timeout DURATION]\n"
            "          a marked test page and its resolve through each "
            "reporter\n"
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
    struct expand_filter filter; /* its lists point into the ones below */
    const char **scenarios, **targets, **tags; /* each argc long */
    int json;
    int stats; /* expand --stats */
};

static void opts_release(struct opts *o)
{
    free(o->scenarios);
    free(o->targets);
    free(o->tags);
}

const char *cli_config_path(const char *given)
{
    const char *env = getenv("PRODWATCH_CONFIG");

    if (given)
        return given;
    if (env && *env)
        return env;
    return CLI_DEFAULT_CONFIG;
}

/* Parse the options of a command.  Returns -1 to go on, else an exit
 * code. */
#define OPT_SELECT 1 /* --scenario --target --tag */
#define OPT_ONCE   2 /* --junit --json */
#define OPT_FORMAT 4 /* --format */
#define OPT_STATS  8 /* --stats */

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
        { "stats", no_argument, NULL, 'S' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int ch;

    memset(o, 0, sizeof(*o));
    /* Selectors may repeat: one slot per argument is always enough. */
    o->scenarios = xcalloc((size_t)argc + 1, sizeof(char *));
    o->targets = xcalloc((size_t)argc + 1, sizeof(char *));
    o->tags = xcalloc((size_t)argc + 1, sizeof(char *));
    o->filter.scenarios = o->scenarios;
    o->filter.targets = o->targets;
    o->filter.tags = o->tags;
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
            if (!(allowed & (ch == 'f' ? OPT_FORMAT : OPT_SELECT))) {
                /* argv[optind - 1] may be the value, not the option. */
                fprintf(stderr, "prodwatch %s: unknown option '--%s'\n",
                        argv[0],
                        ch == 's'   ? "scenario"
                        : ch == 't' ? "target"
                        : ch == 'g' ? "tag"
                                    : "format");
                return CLI_EXIT_USAGE;
            }
            if (ch == 's')
                o->scenarios[o->filter.nscenarios++] = optarg;
            else if (ch == 't')
                o->targets[o->filter.ntargets++] = optarg;
            else if (ch == 'g')
                o->tags[o->filter.ntags++] = optarg;
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
                fprintf(stderr, "prodwatch %s: unknown option '--%s'\n",
                        argv[0], ch == 'j' ? "junit" : "json");
                return CLI_EXIT_USAGE;
            }
            if (ch == 'j')
                o->junit = optarg;
            else
                o->json_lines = 1;
            break;
        case 'S':
            if (!(allowed & OPT_STATS)) {
                fprintf(stderr, "prodwatch %s: unknown option '--stats'\n",
                        argv[0]);
                return CLI_EXIT_USAGE;
            }
            o->stats = 1;
            break;
        case 'h':
            usage(stdout);
            return CLI_EXIT_OK;
        default:
            return cli_bad_option(ch, argv);
        }
    }
    return cli_no_operands(argc, argv);
}

int cli_bad_option(int ch, char **argv)
{
    if (ch == ':')
        fprintf(stderr, "prodwatch %s: option '%s' needs a value\n", argv[0],
                argv[optind - 1]);
    else
        fprintf(stderr, "prodwatch %s: unknown option '%s'\n", argv[0],
                argv[optind - 1]);
    return CLI_EXIT_USAGE;
}

int cli_no_operands(int argc, char **argv)
{
    if (optind < argc) {
        fprintf(stderr, "prodwatch %s: unexpected argument '%s'\n", argv[0],
                argv[optind]);
        return CLI_EXIT_USAGE;
    }
    return -1;
}

static void print_problems(struct diag *d)
{
    size_t n = diag_count(d);

    diag_print(d, stderr);
    fprintf(stderr, "%zu problem%s found\n", n, n == 1 ? "" : "s");
}

/* Load the suite, printing every problem.  NULL on failure. */
static struct suite *load_or_report(const char *path)
{
    struct diag *d = diag_new();
    struct suite *s = suite_load(path, d);

    if (s == NULL)
        print_problems(d);
    diag_free(d);
    return s;
}

/* Have every reporter plugin read its settings, as the service would, so
 * their mistakes show with file:line:col too.  Returns 1 when all are
 * good. */
static int check_reporters(const struct config *cfg)
{
    struct diag *d = diag_new();
    struct reporters *r = reporters_load(cfg, NULL, d);

    if (r == NULL)
        print_problems(d);
    reporters_free(r);
    diag_free(d);
    return r != NULL;
}

static int cmd_check(int argc, char **argv)
{
    struct opts o;
    struct suite *s;
    uint64_t tests;
    int rc = parse_opts(argc, argv, &o, 0);

    if (rc < 0) {
        s = load_or_report(cli_config_path(o.config));
        rc = CLI_EXIT_USAGE;
    } else {
        s = NULL;
    }
    if (s && !check_reporters(suite_config(s))) {
        suite_free(s);
        s = NULL;
        rc = CLI_EXIT_USAGE;
    }
    if (s) {
        /* Counted, not enumerated: a suite near the cap checks at once. */
        tests = suite_test_count(s);
        printf("%s: ok: %zu scenario%s, %zu target%s, %llu test%s\n",
               cli_config_path(o.config), suite_scenario_count(s),
               suite_scenario_count(s) == 1 ? "" : "s",
               suite_config(s)->ntargets,
               suite_config(s)->ntargets == 1 ? "" : "s",
               (unsigned long long)tests, tests == 1 ? "" : "s");
        rc = CLI_EXIT_OK;
    }
    suite_free(s);
    opts_release(&o);
    return rc;
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
    struct suite *s = load_or_report(cli_config_path(o->config));
    size_t i;

    if (s == NULL)
        return NULL;
    for (i = 0; i < o->filter.nscenarios; i++) {
        if (suite_find_scenario(s, o->scenarios[i]) == NULL) {
            fprintf(stderr, "prodwatch %s: no scenario named '%s'\n", cmd,
                    o->scenarios[i]);
            suite_free(s);
            return NULL;
        }
    }
    for (i = 0; i < o->filter.ntags; i++) {
        size_t k, n = suite_scenario_count(s);

        for (k = 0; k < n; k++)
            if (scenario_has_tag(suite_scenario(s, k), o->tags[i]))
                break;
        if (k == n) {
            /* A mistyped tag would silently shrink a gate. */
            fprintf(stderr, "prodwatch %s: no scenario is tagged '%s'\n", cmd,
                    o->tags[i]);
            suite_free(s);
            return NULL;
        }
    }
    for (i = 0; i < o->filter.ntargets; i++) {
        if (config_target(suite_config(s), o->targets[i]) == NULL) {
            fprintf(stderr, "prodwatch %s: no target named '%s'\n", cmd,
                    o->targets[i]);
            suite_free(s);
            return NULL;
        }
    }
    return s;
}

/* expand --stats: per selected scenario, what its matrix costs. */
static int print_stats(const struct suite *s, const struct opts *o,
                       struct pw_err *err)
{
    size_t n = suite_scenario_count(s), i;
    uint64_t *tests = xcalloc(n ? n : 1, sizeof(uint64_t));
    struct expand_iter x;
    struct expand_test t;
    int more, rc = CLI_EXIT_OK;

    /* Tests per scenario, counted by a walk of the selected ones. */
    expand_iter_init(&x, s, &o->filter);
    while ((more = expand_iter_next(&x, &t, err)) == 1)
        tests[t.sc_index]++;
    expand_iter_release(&x);
    if (more < 0) {
        free(tests);
        return CLI_EXIT_USAGE;
    }
    for (i = 0; i < n && rc == CLI_EXIT_OK; i++) {
        const struct scenario *sc = suite_scenario(s, i);
        struct matrix *m = scenario_matrix(sc);
        struct matrix_stats st;
        char cov[16];

        if (tests[i] == 0)
            continue;
        if (matrix_stats(m, &st, err) != PW_OK) {
            rc = CLI_EXIT_USAGE;
            break;
        }
        if (st.strength == 0)
            snprintf(cov, sizeof(cov), "all");
        else if (st.strength == 2)
            snprintf(cov, sizeof(cov), "pairwise");
        else
            snprintf(cov, sizeof(cov), "%u-wise", st.strength);
        if (o->json) {
            struct sbuf b = SBUF_INIT;

            sbuf_adds(&b, "{\"scenario\":");
            sbuf_add_json_str(&b, scenario_name(sc), strlen(scenario_name(sc)));
            sbuf_addf(&b,
                      ",\"coverage\":\"%s\",\"parameters\":%zu,\"rows\":%llu,"
                      "\"lower_bound\":%llu,\"tests\":%llu",
                      cov, matrix_param_count(m), (unsigned long long)st.rows,
                      (unsigned long long)st.lower_bound,
                      (unsigned long long)tests[i]);
            if (st.strength)
                sbuf_addf(&b, ",\"required\":%llu,\"build_ms\":%.3f",
                          (unsigned long long)st.required, st.build_ms);
            sbuf_addc(&b, '}');
            printf("%s\n", b.buf);
            sbuf_release(&b);
            continue;
        }
        printf("%s: %s, %zu parameter%s, %llu row%s", scenario_name(sc), cov,
               matrix_param_count(m), matrix_param_count(m) == 1 ? "" : "s",
               (unsigned long long)st.rows, st.rows == 1 ? "" : "s");
        if (st.strength)
            printf(" (lower bound %llu; %llu %s required; built in %.1f ms)",
                   (unsigned long long)st.lower_bound,
                   (unsigned long long)st.required,
                   st.strength == 2   ? "pairs"
                   : st.strength == 3 ? "triples"
                                      : "tuples",
                   st.build_ms);
        printf("; %llu test%s\n", (unsigned long long)tests[i],
               tests[i] == 1 ? "" : "s");
    }
    free(tests);
    return rc;
}

static int cmd_expand(int argc, char **argv)
{
    struct opts o;
    struct suite *s = NULL;
    struct pw_err err;
    int rc = parse_opts(argc, argv, &o, OPT_SELECT | OPT_FORMAT | OPT_STATS);

    if (rc < 0) {
        s = load_selected(&o, "expand");
        rc = CLI_EXIT_USAGE;
    }
    if (s && o.stats) {
        rc = print_stats(s, &o, &err);
        if (rc != CLI_EXIT_OK)
            fprintf(stderr, "prodwatch expand: %s\n", err.msg);
    } else if (s) {
        rc = CLI_EXIT_OK;
        if (expand_each(s, &o.filter, print_test, &o, &err) != PW_OK) {
            fprintf(stderr, "prodwatch expand: %s\n", err.msg);
            rc = CLI_EXIT_USAGE;
        }
    }
    suite_free(s);
    opts_release(&o);
    return rc;
}

static int cmd_once(int argc, char **argv)
{
    struct once_opts oo;
    struct opts o;
    struct suite *s = NULL;
    int rc = parse_opts(argc, argv, &o, OPT_SELECT | OPT_ONCE);

    if (rc < 0) {
        s = load_selected(&o, "once");
        rc = CLI_EXIT_USAGE;
    }
    if (s) {
        memset(&oo, 0, sizeof(oo));
        oo.filter = o.filter;
        oo.junit = o.junit;
        oo.json = o.json_lines;
        rc = once_run(s, &oo);
    }
    suite_free(s);
    opts_release(&o);
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
        { "run", service_run_main },
        { "sweep", service_sweep_main },
        { "status", control_status_main },
        { "pause", control_pause_main },
        { "resume", control_resume_main },
        { "silence", control_silence_main },
        { "docs", docs_main },
        { "alert", alerting_main },
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
