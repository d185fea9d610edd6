/* control.c -- status, pause, resume, silence: Redis keys for the fleet. */
#include <getopt.h>
#include <hiredis/hiredis.h>
#include <jv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli.h"
#include "clock.h"
#include "config.h"
#include "control.h"
#include "keys.h"
#include "redisaddr.h"
#include "sbuf.h"
#include "units.h"
#include "xalloc.h"

struct copts {
    const char *config;
    const char **targets, **scenarios; /* argc long, NULL-ended */
    size_t ntargets, nscenarios;
    const char *status; /* pass, fail, error or NULL */
    const char *for_;   /* silence --for */
    int json, fleet;
};

enum {
    C_TARGET = 1,
    C_SCENARIO = 2,
    C_STATUS = 4,
    C_JSON = 8,
    C_FOR = 16,
    C_FLEET = 32
};

static void copts_release(struct copts *o)
{
    free(o->targets);
    free(o->scenarios);
}

/* Returns -1 to go on, else an exit code. */
static int parse(int argc, char **argv, struct copts *o, int allowed)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "target", required_argument, NULL, 't' },
        { "scenario", required_argument, NULL, 's' },
        { "status", required_argument, NULL, 'S' },
        { "json", no_argument, NULL, 'J' },
        { "for", required_argument, NULL, 'f' },
        { "fleet", no_argument, NULL, 'F' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    static const struct {
        int ch, bit;
    } bits[] = { { 't', C_TARGET }, { 's', C_SCENARIO }, { 'S', C_STATUS },
                 { 'J', C_JSON },   { 'f', C_FOR },     { 'F', C_FLEET } };
    int ch;
    size_t i;

    memset(o, 0, sizeof(*o));
    o->targets = xcalloc((size_t)argc + 1, sizeof(char *));
    o->scenarios = xcalloc((size_t)argc + 1, sizeof(char *));
    optind = 1;
    opterr = 0;
    for (ch = getopt_long(argc, argv, ":c:h", longopts, NULL); ch != -1;
         ch = getopt_long(argc, argv, ":c:h", longopts, NULL)) {
        for (i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
            if (bits[i].ch == ch && !(allowed & bits[i].bit)) {
                fprintf(stderr, "prodwatch %s: unknown option '%s'\n",
                        argv[0], argv[optind - 1]);
                return CLI_EXIT_USAGE;
            }
        switch (ch) {
        case 'c':
            o->config = optarg;
            break;
        case 't':
            o->targets[o->ntargets++] = optarg;
            break;
        case 's':
            o->scenarios[o->nscenarios++] = optarg;
            break;
        case 'S':
            if (strcmp(optarg, "pass") != 0 && strcmp(optarg, "fail") != 0 &&
                strcmp(optarg, "error") != 0) {
                fprintf(stderr,
                        "prodwatch %s: --status must be pass, fail or "
                        "error\n",
                        argv[0]);
                return CLI_EXIT_USAGE;
            }
            o->status = optarg;
            break;
        case 'J':
            o->json = 1;
            break;
        case 'f':
            o->for_ = optarg;
            break;
        case 'F':
            o->fleet = 1;
            break;
        case 'h':
            printf("usage: prodwatch %s [-c FILE]%s%s%s%s%s%s\n", argv[0],
                   allowed & C_TARGET ? " [--target T]" : "",
                   allowed & C_FOR ? " --for DURATION" : "",
                   allowed & C_SCENARIO ? " [--scenario S]" : "",
                   allowed & C_STATUS ? " [--status pass|fail|error]" : "",
                   allowed & C_FLEET ? " [--fleet]" : "",
                   allowed & C_JSON ? " [--json]" : "");
            return CLI_EXIT_OK;
        default:
            return cli_bad_option(ch, argv);
        }
    }
    if (o->fleet && (o->ntargets || o->nscenarios || o->status)) {
        fprintf(stderr, "prodwatch %s: --fleet lists runners; it takes no "
                        "--target, --scenario or --status\n",
                argv[0]);
        return CLI_EXIT_USAGE;
    }
    return cli_no_operands(argc, argv);
}

/* The configuration, with every problem printed; NULL on failure. */
static struct config *load_config(const char *cmd, const struct copts *o)
{
    struct diag *d = diag_new();
    struct config *cfg = config_load(cli_config_path(o->config), d);
    size_t i;

    if (cfg == NULL) {
        diag_print(d, stderr);
        fprintf(stderr, "prodwatch %s: invalid configuration\n", cmd);
    }
    diag_free(d);
    for (i = 0; cfg && i < o->ntargets; i++)
        if (config_target(cfg, o->targets[i]) == NULL) {
            fprintf(stderr, "prodwatch %s: no target named '%s'\n", cmd,
                    o->targets[i]);
            config_free(cfg);
            cfg = NULL;
        }
    return cfg;
}

/* Load the configuration and connect to its Redis, the start of every
 * control command: -1 to go on, else the exit code (with *<cfg> or *<c>
 * left for the caller to release). */
static int open_redis(const char *cmd, const struct copts *o,
                      struct config **cfg, redisContext **c)
{
    *cfg = load_config(cmd, o);
    if (*cfg == NULL)
        return CLI_EXIT_USAGE;
    *c = redisaddr_connect((*cfg)->redis, cmd);
    return *c ? -1 : CLI_EXIT_FAIL;
}

/* A reply that is an error (or none at all), reported; 0 when fine. */
static int failed(const char *cmd, redisContext *c, redisReply *r)
{
    if (r == NULL) {
        fprintf(stderr, "prodwatch %s: redis: %s\n", cmd,
                c->errstr[0] ? c->errstr : "no reply");
        return 1;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "prodwatch %s: redis: %s\n", cmd, r->str);
        freeReplyObject(r);
        return 1;
    }
    return 0;
}

/* Run one command given as an argument vector; 0 on success. */
static int command(const char *cmd, redisContext *c, int argc,
                   const char **argv)
{
    redisReply *r = redisCommandArgv(c, argc, argv, NULL);

    if (failed(cmd, c, r))
        return -1;
    freeReplyObject(r);
    return 0;
}

static char *control_key(const struct config *cfg, const char *what,
                         const char *target)
{
    struct sbuf b = SBUF_INIT;

    keys_name(&b, cfg->key_prefix, "control", NULL);
    sbuf_addc(&b, ':');
    sbuf_adds(&b, what);
    if (target) {
        sbuf_addc(&b, ':');
        keys_escape(&b, target, strlen(target));
    }
    return sbuf_take(&b, NULL);
}

/* What a control key holds: who set it and when, for `status`. */
static char *control_value(const char *what)
{
    struct sbuf b = SBUF_INIT;
    const char *user = getenv("USER");

    sbuf_addf(&b, "{\"%s\":%lld,\"by\":", what, (long long)clock_now());
    sbuf_add_json_str(&b, user ? user : "", user ? strlen(user) : 0);
    sbuf_addc(&b, '}');
    return sbuf_take(&b, NULL);
}

static int set_pause(int argc, char **argv, int paused)
{
    struct copts o;
    struct config *cfg = NULL;
    redisContext *c = NULL;
    int rc = parse(argc, argv, &o, C_TARGET);
    size_t i;

    if (rc < 0)
        rc = open_redis(argv[0], &o, &cfg, &c);
    /* `resume` alone resumes everything: the pauses of single targets
     * too, or "resumed on every target" would not be true. */
    if (c && rc < 0 && !paused && o.ntargets == 0) {
        for (i = 0; i < cfg->ntargets; i++) {
            char *key = control_key(cfg, "pause", cfg->targets[i].name);
            const char *del[] = { "DEL", key };

            if (command(argv[0], c, 2, del))
                rc = CLI_EXIT_FAIL;
            free(key);
        }
    }
    for (i = 0; c && rc < 0 && i < (o.ntargets ? o.ntargets : 1); i++) {
        char *key = control_key(cfg, "pause", o.ntargets ? o.targets[i] : NULL);
        char *val = control_value("paused");
        const char *set[] = { "SET", key, val };
        const char *del[] = { "DEL", key };

        if (paused ? command(argv[0], c, 3, set) : command(argv[0], c, 2, del))
            rc = CLI_EXIT_FAIL;
        free(key);
        free(val);
    }
    if (rc < 0) {
        if (o.ntargets == 0)
            printf("probing %s on every target\n",
                   paused ? "paused" : "resumed");
        for (i = 0; i < o.ntargets; i++)
            printf("probing %s on target %s\n", paused ? "paused" : "resumed",
                   o.targets[i]);
        rc = CLI_EXIT_OK;
    }
    if (c)
        redisFree(c);
    config_free(cfg);
    copts_release(&o);
    return rc;
}

int control_pause_main(int argc, char **argv)
{
    return set_pause(argc, argv, 1);
}

int control_resume_main(int argc, char **argv)
{
    return set_pause(argc, argv, 0);
}

int control_silence_main(int argc, char **argv)
{
    struct copts o;
    struct config *cfg = NULL;
    redisContext *c = NULL;
    struct pw_err err;
    uint64_t ms = 0;
    int rc = parse(argc, argv, &o, C_TARGET | C_FOR);
    size_t i;

    if (rc < 0 && (o.ntargets == 0 || o.for_ == NULL)) {
        fprintf(stderr, "prodwatch silence: --target and --for are "
                        "required\n");
        rc = CLI_EXIT_USAGE;
    }
    /* "--for 0" lifts a silence: a bare 0 needs no unit. */
    if (rc < 0 && strcmp(o.for_, "0") != 0 &&
        units_duration(o.for_, &ms, &err) != PW_OK) {
        fprintf(stderr, "prodwatch silence: --for: %s\n", err.msg);
        rc = CLI_EXIT_USAGE;
    }
    if (rc < 0)
        rc = open_redis(argv[0], &o, &cfg, &c);
    for (i = 0; c && rc < 0 && i < o.ntargets; i++) {
        char *key = control_key(cfg, "silence", o.targets[i]);
        char *val = control_value("since");
        char px[32];
        const char *set[] = { "SET", key, val, "PX", px };
        const char *del[] = { "DEL", key };

        snprintf(px, sizeof(px), "%llu", (unsigned long long)ms);
        if (ms ? command(argv[0], c, 5, set) : command(argv[0], c, 2, del))
            rc = CLI_EXIT_FAIL;
        free(key);
        free(val);
    }
    for (i = 0; rc < 0 && i < o.ntargets; i++) {
        if (ms)
            printf("target %s silenced for %s\n", o.targets[i], o.for_);
        else
            printf("target %s no longer silenced\n", o.targets[i]);
    }
    if (rc < 0)
        rc = CLI_EXIT_OK;
    if (c)
        redisFree(c);
    config_free(cfg);
    copts_release(&o);
    return rc;
}

/* ---- status ---------------------------------------------------------- */

#define NFIELDS 8
static const char *const fields[NFIELDS] = {
    "status",  "since",  "last_run",             "duration_ms",
    "message", "target", "consecutive_failures", "scenario"
};
enum { F_STATUS, F_SINCE, F_LAST, F_DUR, F_MSG, F_TARGET, F_FAILS, F_SCEN };

struct row {
    char *id;
    char *f[NFIELDS]; /* NULL when absent */
};

static int matches(const char *v, const char *const *names, size_t n)
{
    size_t i;

    if (n == 0)
        return 1;
    for (i = 0; v && i < n; i++)
        if (strcmp(v, names[i]) == 0)
            return 1;
    return 0;
}

static void add_age(struct sbuf *b, const char *unix_s, time_t now)
{
    long long t = unix_s ? atoll(unix_s) : 0;
    char buf[32];

    if (t <= 0) {
        sbuf_adds(b, "-");
        return;
    }
    sbuf_adds(b, units_format_ago((long long)now - t, buf, sizeof(buf)));
}

/* A number as JSON writes it: what the store writes in numeric fields,
 * checked, since anyone may write to Redis. */
static int is_number(const char *v)
{
    char *end;

    if (*v == '\0' || *v == '+' || *v == '.' || strchr(v, 'x') ||
        strchr(v, 'X') || strpbrk(v, "iInN"))
        return 0;
    strtod(v, &end);
    return *end == '\0';
}

static void print_json(const struct row *rows, size_t n)
{
    struct sbuf b = SBUF_INIT;
    size_t i, k;

    for (i = 0; i < n; i++) {
        sbuf_adds(&b, "{\"test\":");
        sbuf_add_json_str(&b, rows[i].id, strlen(rows[i].id));
        for (k = 0; k < NFIELDS; k++) {
            const char *v = rows[i].f[k];

            if (v == NULL)
                continue;
            sbuf_addf(&b, ",\"%s\":", fields[k]);
            if ((k == F_SINCE || k == F_LAST || k == F_FAILS || k == F_DUR) &&
                is_number(v))
                sbuf_adds(&b, v);
            else
                sbuf_add_json_str(&b, v, strlen(v));
        }
        sbuf_adds(&b, "}\n");
        fputs(b.buf, stdout);
        sbuf_reset(&b);
    }
    sbuf_release(&b);
}

static void print_table(const struct row *rows, size_t n)
{
    struct sbuf line = SBUF_INIT;
    time_t now = clock_now();
    size_t i, w = 4;

    for (i = 0; i < n; i++)
        if (strlen(rows[i].id) > w)
            w = strlen(rows[i].id);
    printf("%-*s  %-6s %-10s %-10s %9s %5s  %s\n", (int)w, "TEST", "STATUS",
           "SINCE", "LAST RUN", "DURATION", "FAILS", "MESSAGE");
    for (i = 0; i < n; i++) {
        const struct row *r = &rows[i];
        struct sbuf since = SBUF_INIT, last = SBUF_INIT;

        add_age(&since, r->f[F_SINCE], now);
        add_age(&last, r->f[F_LAST], now);
        sbuf_reset(&line);
        if (r->f[F_MSG])
            sbuf_add_printable(&line, r->f[F_MSG], strlen(r->f[F_MSG]));
        printf("%-*s  %-6s %-10s %-10s %7.0fms %5s  %s\n", (int)w, r->id,
               r->f[F_STATUS] ? r->f[F_STATUS] : "-", since.buf, last.buf,
               r->f[F_DUR] ? atof(r->f[F_DUR]) : 0.0,
               r->f[F_FAILS] ? r->f[F_FAILS] : "0", line.buf ? line.buf : "");
        sbuf_release(&since);
        sbuf_release(&last);
    }
    sbuf_release(&line);
}

/* The paused and silenced controls, one line each, above the table. */
static int print_controls(redisContext *c, const struct config *cfg)
{
    struct sbuf pat = SBUF_INIT;
    redisReply *r;
    char *all = control_key(cfg, "pause", NULL);
    size_t i;
    int rc = 0;

    keys_name(&pat, cfg->key_prefix, "control", NULL);
    sbuf_adds(&pat, ":*");
    r = redisCommand(c, "EXISTS %s", all);
    if (failed("status", c, r))
        rc = -1;
    else {
        if (r->integer)
            printf("paused: every target\n");
        freeReplyObject(r);
    }
    for (i = 0; rc == 0 && i < cfg->ntargets; i++) {
        char *pk = control_key(cfg, "pause", cfg->targets[i].name);
        char *sk = control_key(cfg, "silence", cfg->targets[i].name);

        r = redisCommand(c, "EXISTS %s", pk);
        if (failed("status", c, r))
            rc = -1;
        else {
            if (r->integer)
                printf("paused: target %s\n", cfg->targets[i].name);
            freeReplyObject(r);
        }
        r = rc ? NULL : redisCommand(c, "PTTL %s", sk);
        if (rc == 0 && failed("status", c, r))
            rc = -1;
        else if (r) {
            if (r->integer > 0)
                printf("silenced: target %s for %llds more\n",
                       cfg->targets[i].name,
                       (long long)(r->integer + 999) / 1000);
            freeReplyObject(r);
        }
        free(pk);
        free(sk);
    }
    free(all);
    sbuf_release(&pat);
    return rc;
}

static int by_id(const void *a, const void *b)
{
    return strcmp(((const struct row *)a)->id, ((const struct row *)b)->id);
}

/* Read every test's hash: the ids from {p}:tests, then one pipelined
 * HMGET each.  Returns the number of rows kept, or -1. */
static long read_rows(redisContext *c, const struct config *cfg,
                      const struct copts *o, struct row **out)
{
    struct sbuf key = SBUF_INIT;
    redisReply *ids, *r;
    struct row *rows;
    size_t i, k, n = 0;
    long kept = -1;

    keys_name(&key, cfg->key_prefix, "tests", NULL);
    ids = redisCommand(c, "ZRANGE %s 0 -1", key.buf);
    if (failed("status", c, ids)) {
        sbuf_release(&key);
        return -1;
    }
    rows = xcalloc(ids->elements + 1, sizeof(*rows));
    for (i = 0; i < ids->elements; i++) {
        const char *argv[2 + NFIELDS];

        sbuf_reset(&key);
        keys_name(&key, cfg->key_prefix, "test", ids->element[i]->str);
        argv[0] = "HMGET";
        argv[1] = key.buf;
        for (k = 0; k < NFIELDS; k++)
            argv[2 + k] = fields[k];
        redisAppendCommandArgv(c, 2 + NFIELDS, argv, NULL);
    }
    for (i = 0; i < ids->elements; i++) {
        if (redisGetReply(c, (void **)&r) != REDIS_OK) {
            failed("status", c, NULL);
            goto out;
        }
        if (r->type != REDIS_REPLY_ARRAY || r->elements != NFIELDS ||
            r->element[F_STATUS]->type != REDIS_REPLY_STRING) {
            /* Expired since it was listed: the test is gone. */
            freeReplyObject(r);
            continue;
        }
        rows[n].id = xstrdup(ids->element[i]->str);
        for (k = 0; k < NFIELDS; k++)
            if (r->element[k]->type == REDIS_REPLY_STRING)
                rows[n].f[k] = xstrdup(r->element[k]->str);
        freeReplyObject(r);
        if (matches(rows[n].f[F_TARGET], o->targets, o->ntargets) &&
            matches(rows[n].f[F_SCEN], o->scenarios, o->nscenarios) &&
            (o->status == NULL || strcmp(rows[n].f[F_STATUS], o->status) == 0))
            n++;
        else {
            free(rows[n].id);
            for (k = 0; k < NFIELDS; k++)
                free(rows[n].f[k]);
            memset(&rows[n], 0, sizeof(rows[n]));
        }
    }
    qsort(rows, n, sizeof(*rows), by_id);
    kept = (long)n;
out:
    if (kept < 0) {
        for (i = 0; i < n; i++) {
            free(rows[i].id);
            for (k = 0; k < NFIELDS; k++)
                free(rows[i].f[k]);
        }
        free(rows);
        rows = NULL;
    }
    *out = rows;
    freeReplyObject(ids);
    sbuf_release(&key);
    return kept;
}

/* ---- status --fleet ---------------------------------------------------- */

struct runner_row {
    jv beat; /* the heartbeat object */
    char *sort;
};

static int by_location(const void *a, const void *b)
{
    return strcmp(((const struct runner_row *)a)->sort,
                  ((const struct runner_row *)b)->sort);
}

/* Field <name> of <o> as text: a string as it is, a number without
 * decimals unless it has some, "-" when absent or of another type. */
static void field_text(struct sbuf *b, jv o, const char *name)
{
    jv v = jv_object_get(jv_copy(o), jv_string(name));

    if (jv_get_kind(v) == JV_KIND_STRING)
        sbuf_add_printable(b, jv_string_value(v),
                           (size_t)jv_string_length_bytes(jv_copy(v)));
    else if (jv_get_kind(v) == JV_KIND_NUMBER)
        sbuf_addf(b, "%.*f", jv_number_value(v) == (long long)jv_number_value(v)
                                 ? 0 : 2,
                  jv_number_value(v));
    else
        sbuf_addc(b, '-');
    jv_free(v);
}

static double field_num(jv o, const char *name)
{
    jv v = jv_object_get(jv_copy(o), jv_string(name));
    double d = jv_get_kind(v) == JV_KIND_NUMBER ? jv_number_value(v) : 0;

    jv_free(v);
    return d;
}

/* Every heartbeat under {p}:runner:*, sorted by location and id; returns
 * the count, or -1 when Redis failed (reported). */
static long read_runners(redisContext *c, const struct config *cfg,
                         struct runner_row **out)
{
    struct sbuf pat = SBUF_INIT, key = SBUF_INIT;
    struct runner_row *rows = NULL;
    size_t n = 0, alloc = 0, i;
    char cursor[32] = "0";
    const char *p;

    /* The MATCH pattern: the key's start with glob characters quoted. */
    keys_name(&key, cfg->key_prefix, "runner", NULL);
    for (p = key.buf; *p; p++) {
        if (strchr("*?[]\\", *p))
            sbuf_addc(&pat, '\\');
        sbuf_addc(&pat, *p);
    }
    sbuf_adds(&pat, ":*");
    do {
        redisReply *r = redisCommand(c, "SCAN %s MATCH %s COUNT 1000", cursor,
                                     pat.buf);

        if (failed("status", c, r) || r->type != REDIS_REPLY_ARRAY ||
            r->elements != 2) {
            if (r && r->type != REDIS_REPLY_ERROR)
                freeReplyObject(r);
            for (i = 0; i < n; i++) {
                jv_free(rows[i].beat);
                free(rows[i].sort);
            }
            free(rows);
            sbuf_release(&pat);
            sbuf_release(&key);
            return -1;
        }
        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
        for (i = 0; i < r->element[1]->elements; i++) {
            redisReply *g = redisCommand(c, "GET %b", r->element[1]->element[i]->str,
                                         r->element[1]->element[i]->len);
            jv beat;

            /* Gone since the scan, or not ours to read: skipped. */
            if (g == NULL || g->type != REDIS_REPLY_STRING) {
                if (g)
                    freeReplyObject(g);
                continue;
            }
            beat = jv_parse_sized(g->str, (int)g->len);
            freeReplyObject(g);
            if (jv_get_kind(beat) != JV_KIND_OBJECT) {
                jv_free(beat);
                continue;
            }
            XGROW(rows, n + 1, alloc);
            rows[n].beat = beat;
            sbuf_reset(&key);
            field_text(&key, beat, "location");
            sbuf_addc(&key, '\n');
            field_text(&key, beat, "id");
            rows[n].sort = sbuf_take(&key, NULL);
            n++;
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    if (n)
        qsort(rows, n, sizeof(*rows), by_location);
    sbuf_release(&pat);
    sbuf_release(&key);
    *out = rows;
    return (long)n;
}

static void print_fleet(const struct runner_row *rows, size_t n, int json)
{
    double now = clock_wall();
    size_t i;

    if (!json && n == 0) {
        printf("no runner has a heartbeat in Redis\n");
        return;
    }
    if (!json)
        printf("%-20s %-12s %-10s %-20s %7s %7s %9s %7s %8s %s\n", "RUNNER",
               "LOCATION", "VERSION", "HOST", "PID", "TESTS", "IN-FLIGHT",
               "RUNS/S", "UP", "SEEN");
    for (i = 0; i < n; i++) {
        jv o = rows[i].beat;
        char up[32], seen[32];
        struct sbuf f[5];
        size_t k;

        if (json) {
            jv s = jv_dump_string(jv_copy(o), 0);

            printf("%s\n", jv_string_value(s));
            jv_free(s);
            continue;
        }
        for (k = 0; k < 5; k++)
            sbuf_init(&f[k], 0);
        field_text(&f[0], o, "id");
        field_text(&f[1], o, "location");
        field_text(&f[2], o, "version");
        field_text(&f[3], o, "host");
        field_text(&f[4], o, "runs_per_s");
        /* Whole seconds: "3h12m5s", not milliseconds. */
        units_format_duration(
            1000 * (uint64_t)(now - field_num(o, "started") > 0
                                  ? now - field_num(o, "started")
                                  : 0),
            up, sizeof(up));
        units_format_ago((long long)(now - field_num(o, "beat")), seen,
                         sizeof(seen));
        printf("%-20s %-12s %-10s %-20s %7.0f %7.0f %9.0f %7s %8s %s\n",
               f[0].buf, f[1].buf, f[2].buf, f[3].buf, field_num(o, "pid"),
               field_num(o, "tests"), field_num(o, "in_flight"), f[4].buf, up,
               seen);
        for (k = 0; k < 5; k++)
            sbuf_release(&f[k]);
    }
}

static int fleet_main(const char *cmd, const struct copts *o)
{
    struct config *cfg = NULL;
    redisContext *c = NULL;
    struct runner_row *rows = NULL;
    long n, i;
    int rc = open_redis(cmd, o, &cfg, &c);

    if (rc < 0) {
        n = read_runners(c, cfg, &rows);
        if (n < 0) {
            rc = CLI_EXIT_FAIL;
        } else {
            print_fleet(rows, (size_t)n, o->json);
            rc = CLI_EXIT_OK;
        }
        for (i = 0; i < n; i++) {
            jv_free(rows[i].beat);
            free(rows[i].sort);
        }
        free(rows);
    }
    if (c)
        redisFree(c);
    config_free(cfg);
    return rc;
}

int control_status_main(int argc, char **argv)
{
    struct copts o;
    struct config *cfg = NULL;
    redisContext *c = NULL;
    struct row *rows = NULL;
    long n = -1, i;
    size_t k;
    int rc = parse(argc, argv, &o,
                   C_TARGET | C_SCENARIO | C_STATUS | C_JSON | C_FLEET);

    if (rc < 0 && o.fleet) {
        rc = fleet_main(argv[0], &o);
        copts_release(&o);
        return rc;
    }
    if (rc < 0)
        rc = open_redis(argv[0], &o, &cfg, &c);
    if (c && rc < 0 && !o.json && print_controls(c, cfg) < 0)
        rc = CLI_EXIT_FAIL;
    if (c && rc < 0)
        n = read_rows(c, cfg, &o, &rows);
    if (rc < 0 && n < 0)
        rc = CLI_EXIT_FAIL;
    if (rc < 0) {
        if (o.json)
            print_json(rows, (size_t)n);
        else if (n == 0)
            printf(o.ntargets || o.nscenarios || o.status
                       ? "no test matches the selection\n"
                       : "no results yet\n");
        else
            print_table(rows, (size_t)n);
        rc = CLI_EXIT_OK;
    }
    for (i = 0; i < n; i++) {
        free(rows[i].id);
        for (k = 0; k < NFIELDS; k++)
            free(rows[i].f[k]);
    }
    free(rows);
    if (c)
        redisFree(c);
    config_free(cfg);
    copts_release(&o);
    return rc;
}
