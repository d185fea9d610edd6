/* service.c -- `prodwatch run` (the service) and `prodwatch sweep`. */
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <hiredis/hiredis.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alerting.h"
#include "cli.h"
#include "clock.h"
#include "engine.h"
#include "fleet.h"
#include "httpd.h"
#include "journal_redis.h"
#include "keys.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "redis.h"
#include "redisaddr.h"
#include "reporters.h"
#include "schedule.h"
#include "service.h"
#include "spool.h"
#include "store.h"
#include "units.h"
#include "xalloc.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.0.0"
#endif

#define GRACE_MS_DEFAULT  30000  /* runs in flight may finish this long */
#define CONTROL_POLL_MS   500    /* a pause reaches us within a second */
#define STATUS_EVERY_MS   10000  /* STATUS= for systemd, stats at debug */
#define SWEEP_EVERY_MS    300000 /* dead runners' cleanups */
#define DRAIN_MS          5000   /* last Redis replies at exit */
#define SWEEP_WAIT_MS     5000   /* `sweep` waits this long for Redis */

struct svc_opts {
    const char *config;
    const char **scenarios, **targets, **tags; /* argc long */
    struct expand_filter filter;
    const char *runner_id;
    unsigned long grace_ms;
};

/* A run handed to the engine, until its result names it again. */
struct flying {
    char *id;
    struct sched_handle h;
};

struct service {
    struct svc_opts *o;
    char runner_id[256];
    struct suite *suite; /* a reference of our own */
    struct engine *engine;
    struct loop *loop;
    struct schedule *sched;
    struct fleet *fleet;
    int rates_shared;
    struct redis *redis;
    struct spool *rspool, *jspool;
    struct result_sink *store;  /* owned by the engine */
    struct alerting *alerting;
    struct metrics *metrics;
    struct httpd *httpd;
    unsigned long reloads;
    int alerts_flushed;
    struct journal *journal;    /* owned by the engine */
    struct loop_timer *due_timer, *control_timer, *status_timer;
    struct loop_timer *sweep_timer, *drain_timer;
    struct event *sighup, *sigterm, *sigint;
    struct notify_watchdog *wd;
    struct flying *fl;
    size_t nfl, fl_alloc;
    /* Holds as the control keys say: -1 not known yet. */
    int all_paused;
    signed char *paused; /* one per target of the current config */
    size_t npaused;
    int control_asked; /* an MGET is on its way */
    int stopping, sweeping;
    size_t sweep_left; /* cleanups of `sweep` not answered yet */
    unsigned long runs, runs_at_status;
    double status_t;
    double drain_until;
    unsigned long beat_runs; /* runs finished at the last heartbeat */
    double beat_t;           /* and when (monotonic); 0: none yet */
};

/* ---- options --------------------------------------------------------- */

static int parse(int argc, char **argv, struct svc_opts *o, int is_run)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "scenario", required_argument, NULL, 's' },
        { "target", required_argument, NULL, 't' },
        { "tag", required_argument, NULL, 'g' },
        { "log-level", required_argument, NULL, 'L' },
        { "log-format", required_argument, NULL, 'F' },
        { "runner-id", required_argument, NULL, 'R' },
        { "grace", required_argument, NULL, 'G' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    enum pwlog_level level = PWLOG_INFO;
    struct pw_err err;
    uint64_t ms;
    int ch, json = 0;

    memset(o, 0, sizeof(*o));
    o->grace_ms = GRACE_MS_DEFAULT;
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
        if (!is_run && (ch == 's' || ch == 't' || ch == 'g' || ch == 'G')) {
            fprintf(stderr, "prodwatch %s: unknown option '%s'\n", argv[0],
                    argv[optind - 1]);
            return CLI_EXIT_USAGE;
        }
        switch (ch) {
        case 'c':
            o->config = optarg;
            break;
        case 's':
            o->scenarios[o->filter.nscenarios++] = optarg;
            break;
        case 't':
            o->targets[o->filter.ntargets++] = optarg;
            break;
        case 'g':
            o->tags[o->filter.ntags++] = optarg;
            break;
        case 'L':
            if (log_parse_level(optarg, &level) < 0) {
                fprintf(stderr,
                        "prodwatch %s: --log-level must be error, warn, "
                        "notice, info or debug\n",
                        argv[0]);
                return CLI_EXIT_USAGE;
            }
            break;
        case 'F':
            if (strcmp(optarg, "json") == 0)
                json = 1;
            else if (strcmp(optarg, "text") != 0) {
                fprintf(stderr,
                        "prodwatch %s: --log-format must be text or json\n",
                        argv[0]);
                return CLI_EXIT_USAGE;
            }
            break;
        case 'R':
            if (*optarg == '\0' || strlen(optarg) > 200) {
                fprintf(stderr, "prodwatch %s: --runner-id must have 1 to "
                                "200 characters\n",
                        argv[0]);
                return CLI_EXIT_USAGE;
            }
            o->runner_id = optarg;
            break;
        case 'G':
            if (units_duration(optarg, &ms, &err) != PW_OK) {
                fprintf(stderr, "prodwatch %s: --grace: %s\n", argv[0],
                        err.msg);
                return CLI_EXIT_USAGE;
            }
            o->grace_ms = (unsigned long)ms;
            break;
        case 'h':
            if (is_run)
                printf("usage: prodwatch run [-c FILE] [--scenario NAME] "
                       "[--target T] [--tag T]\n"
                       "       [--log-level LEVEL] [--log-format text|json] "
                       "[--runner-id ID] [--grace DURATION]\n");
            else
                printf("usage: prodwatch sweep [-c FILE] [--runner-id ID] "
                       "[--log-level LEVEL] [--log-format text|json]\n");
            return CLI_EXIT_OK;
        default:
            return cli_bad_option(ch, argv);
        }
    }
    log_setup(level, json);
    return cli_no_operands(argc, argv);
}

static void opts_release(struct svc_opts *o)
{
    free(o->scenarios);
    free(o->targets);
    free(o->tags);
}

/* Every problem of a configuration that failed to load, one log line
 * each, so journald keeps them with their file:line:col. */
static void log_diag(struct diag *d, const char *event)
{
    size_t i, n = diag_count(d);

    for (i = 0; i < n; i++)
        pwlog(PWLOG_ERROR, event, "%s", diag_at(d, i));
}

/* <prev>: the suite a reload replaces, whose covering arrays it may keep;
 * NULL at start. */
static struct suite *load(const char *path, const struct suite *prev,
                          const char *event)
{
    struct diag *d = diag_new();
    struct suite *s = suite_reload(path, prev, d);

    if (s == NULL) {
        log_diag(d, event);
        pwlog(PWLOG_ERROR, event, "%zu problem%s in %s", diag_count(d),
              diag_count(d) == 1 ? "" : "s", path);
    }
    diag_free(d);
    return s;
}

/* The names of a selection must exist, as for `once`. */
static int check_selection(const struct suite *s, const struct svc_opts *o)
{
    const struct config *cfg = suite_config(s);
    size_t i;

    for (i = 0; i < o->filter.nscenarios; i++)
        if (suite_find_scenario(s, o->scenarios[i]) == NULL) {
            pwlog(PWLOG_ERROR, "config.selection", "no scenario named '%s'",
                  o->scenarios[i]);
            return -1;
        }
    for (i = 0; i < o->filter.ntargets; i++)
        if (config_target(cfg, o->targets[i]) == NULL) {
            pwlog(PWLOG_ERROR, "config.selection", "no target named '%s'",
                  o->targets[i]);
            return -1;
        }
    return 0;
}

static void runner_id(char *out, size_t size, const char *given)
{
    if (given) {
        snprintf(out, size, "%s", given);
        return;
    }
    if (gethostname(out, size - 1) != 0 || out[0] == '\0')
        snprintf(out, size, "prodwatch");
    out[size - 1] = '\0';
}

static int make_state_dir(const char *dir)
{
    if (mkdir(dir, 0700) == 0 || errno == EEXIST)
        return 0;
    pwlog(PWLOG_ERROR, "state.dir", "cannot create the state directory %s: "
                                    "%s",
          dir, strerror(errno));
    return -1;
}

/* Redis, its two spools, the store and the journal: the parts both
 * commands need.  0, or -1 (logged). */
/* What the heartbeat says of this runner besides who it is: where it
 * probes from and how loaded it is, for `prodwatch status --fleet`. */
static void describe(struct sbuf *b, void *arg)
{
    struct service *v = arg;
    const char *loc = suite_config(v->suite)->location;
    struct engine_stats es;
    double now = clock_mono(), rate = 0;

    engine_stats(v->engine, &es);
    if (v->beat_t > 0 && now > v->beat_t)
        rate = (double)(es.runs_finished - v->beat_runs) / (now - v->beat_t);
    v->beat_t = now;
    v->beat_runs = es.runs_finished;
    sbuf_adds(b, ",\"location\":");
    if (loc)
        sbuf_add_json_str(b, loc, strlen(loc));
    else
        sbuf_adds(b, "null");
    sbuf_addf(b, ",\"tests\":%zu,\"in_flight\":%u,\"runs\":%lu,"
                 "\"runs_per_s\":%.2f",
              v->sched ? schedule_count(v->sched) : 0, es.runs_in_flight,
              es.runs_finished, rate);
}

static int open_store(struct service *v, int with_store)
{
    const struct config *cfg = suite_config(v->suite);
    struct store_opts so;
    struct pw_err err;

    if (make_state_dir(cfg->state_dir) < 0)
        return -1;
    v->redis = redis_new(v->loop, cfg->redis, &err);
    if (v->redis == NULL) {
        pwlog(PWLOG_ERROR, "redis.config", "%s", err.msg);
        return -1;
    }
    v->jspool = spool_open(cfg->state_dir, "journal", 0, &err);
    /* `sweep` beside a running daemon: the daemon's journal spool is its
     * own; the sweep's deletions, should Redis go away, get a spool of
     * their own. */
    if (v->jspool == NULL && err.code == PW_ERR_BUSY && !with_store)
        v->jspool = spool_open(cfg->state_dir, "journal-sweep", 0, &err);
    if (v->jspool == NULL) {
        pwlog(PWLOG_ERROR, "spool.open", "%s", err.msg);
        return -1;
    }
    v->journal = journal_redis_new(v->loop, v->redis, cfg->key_prefix,
                                   v->runner_id, v->jspool, PACKAGE_VERSION);
    engine_set_journal(v->engine, v->journal);
    if (!with_store)
        return 0;
    journal_redis_describe(v->journal, describe, v);
    journal_redis_beat_ttl(v->journal, cfg->lease_ttl_ms);
    v->rspool = spool_open(cfg->state_dir, "results", 0, &err);
    if (v->rspool == NULL) {
        pwlog(PWLOG_ERROR, "spool.open", "%s", err.msg);
        return -1;
    }
    store_opts_default(&so);
    so.location = cfg->location;
    /* Behind Sentinel a failover may promote a replica that lacks what
     * the old master acknowledged: a result counts once a replica has
     * it. */
    so.wait_replicas = redis_sentinel(v->redis) ? 1 : 0;
    v->store = store_new(v->loop, v->redis, cfg->key_prefix, v->runner_id,
                         v->rspool, &so);
    engine_add_sink(v->engine, v->store);
    return 0;
}

/* ---- sweeping cleanups of runs that did not finish ------------------- */

static void on_swept_one(enum clean_outcome outcome, const char *message,
                         void *arg)
{
    struct service *v = arg;

    if (outcome == CLEAN_FAILED)
        pwlog(PWLOG_WARN, "sweep.failed", "a cleanup failed, it stays in "
                                          "the journal: %s",
              message);
    else if (outcome == CLEAN_UNRENDERABLE)
        pwlog(PWLOG_ERROR, "sweep.unrenderable",
              "a cleanup cannot be rendered, it stays in the journal: %s",
              message);
    v->sweep_left--;
}

static void on_sweep_each(uint64_t id, const struct journal_intent *in,
                          void *arg)
{
    struct service *v = arg;

    v->sweep_left++;
    pwlog(PWLOG_INFO, "sweep.cleanup",
          "cleaning up after run %s of %s (step %u), left by a runner "
          "that stopped",
          in->run_id, in->test_id, in->step + 1);
    engine_clean(v->engine, in, id, on_swept_one, v);
}

static int runner_alive(const struct config *cfg, const char *id,
                        const char *cmd, long *pid_out);

/* ---- the run command's events ---------------------------------------- */

static int target_held(size_t target, void *arg)
{
    struct service *v = arg;

    return v->all_paused == 1 ||
           (target < v->npaused && v->paused[target] == 1);
}

static void on_due(void *arg)
{
    struct service *v = arg;

    v->due_timer = NULL;
    engine_kick(v->engine);
}

/* One timer for the earliest due test. */
static void arm_due(struct service *v)
{
    double next = schedule_next_due(v->sched), wait;

    if (v->due_timer)
        loop_timer_cancel(v->due_timer);
    v->due_timer = NULL;
    if (isinf(next) || v->stopping)
        return;
    wait = (next - clock_mono()) * 1000.0;
    v->due_timer = loop_after(v->loop, wait < 1 ? 1 : (unsigned long)ceil(wait),
                              on_due, v);
}

/* Instants due now the runner may claim: enough to keep every slot busy
 * until the next claim comes back. */
static size_t fleet_room(void *arg)
{
    struct service *v = arg;
    struct engine_stats es;
    size_t want = 2 * (size_t)suite_config(v->suite)->concurrency, have;

    engine_stats(v->engine, &es);
    have = es.runs_in_flight + schedule_queued_due(v->sched, clock_mono());
    return v->stopping || have >= want ? 0 : want - have;
}

/* A grant asked for a throttle slot, until Redis answers. */
struct rate_ask {
    struct service *v;
    size_t slot;
    unsigned long gen;
};

static void on_rate_granted(double from, double to, void *arg)
{
    struct rate_ask *a = arg;

    engine_rate_granted(a->v->engine, a->slot, a->gen, from, to);
    free(a);
}

static void ask_rate(size_t slot, double spacing, unsigned k,
                     unsigned long gen, void *arg)
{
    struct service *v = arg;
    struct rate_ask *a = xmalloc(sizeof(*a));

    a->v = v;
    a->slot = slot;
    a->gen = gen;
    fleet_ask_rate(v->fleet, engine_slot_name(v->engine, slot), spacing, k,
                   on_rate_granted, a);
}

static void fleet_changed(void *arg)
{
    struct service *v = arg;
    int active = fleet_active(v->fleet);

    /* Alone, each runner keeps to its share of every rate: the fleet it
     * last saw, so together they still keep the sum. */
    if (active != v->rates_shared) {
        struct fleet_stats fs;

        fleet_stats(v->fleet, &fs);
        v->rates_shared = active;
        engine_share_rates(v->engine, active ? ask_rate : NULL, v,
                           fs.members > 1 ? fs.members : 1);
    }
    if (!v->stopping)
        arm_due(v);
}

static int feed_next(void *arg, struct engine_test *t)
{
    struct service *v = arg;
    struct sched_test st;

    if (v->stopping)
        return 0;
    if (!schedule_pop(v->sched, clock_mono(), target_held, v, &st)) {
        arm_due(v);
        return 0;
    }
    XGROW(v->fl, v->nfl + 1, v->fl_alloc);
    v->fl[v->nfl].id = xstrdup(st.id);
    v->fl[v->nfl].h = st.handle;
    v->nfl++;
    t->sc = st.sc;
    t->target = st.target;
    t->row = st.row;
    t->id = st.id;
    return 1;
}

/* The service's own sink: the schedule learns each test's status, and
 * the log says when a test starts failing or recovers -- not once per
 * passing run, so a healthy day does not flood the journal. */
struct svc_sink {
    struct result_sink base;
    struct service *v;
};

static void svc_result(struct result_sink *s, const struct run_result *r)
{
    struct service *v = ((struct svc_sink *)s)->v;
    int prev = -1;
    size_t i;

    v->runs++;
    for (i = 0; i < v->nfl; i++)
        if (strcmp(v->fl[i].id, r->test_id) == 0) {
            prev = schedule_done(v->sched, v->fl[i].h, r->status);
            free(v->fl[i].id);
            v->fl[i] = v->fl[--v->nfl];
            fleet_kick(v->fleet);
            break;
        }
    if (r->status != RUN_PASS && prev != (int)r->status)
        pwlog(PWLOG_WARN, "test.failing", "%s %s: step '%s': %s", r->test_id,
              run_status_name(r->status), r->step ? r->step : "-",
              r->message ? r->message : "");
    else if (r->status == RUN_PASS && prev > (int)RUN_PASS)
        pwlog(PWLOG_NOTICE, "test.recovered", "%s passes again", r->test_id);
    /* A record left on the target is worth a line every time: the
     * journal keeps it and the next sweep tries again. */
    if (r->cleanups_failed)
        pwlog(PWLOG_WARN, "cleanup.failed",
              "%s: %u cleanup%s failed, kept in the journal for the next "
              "sweep%s%s",
              r->test_id, r->cleanups_failed,
              r->cleanups_failed == 1 ? "" : "s", r->message ? ": " : "",
              r->message ? r->message : "");
    if (log_enabled(PWLOG_DEBUG))
        pwlog(PWLOG_DEBUG, "run.result", "%s %s %.0fms%s%s", r->test_id,
              run_status_name(r->status), r->duration_ms,
              r->message ? ": " : "", r->message ? r->message : "");
}

static void svc_sink_free(struct result_sink *s)
{
    free(s);
}

static const struct sink_ops svc_sink_ops = {
    "service", svc_result, NULL, svc_sink_free,
};

/* The control keys: pause of everything or of one target. */
static void on_control(struct redisReply *reply, void *arg)
{
    struct service *v = arg;
    const struct config *cfg = suite_config(v->suite);
    size_t i;
    int all;

    v->control_asked = 0;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY ||
        reply->elements != 1 + v->npaused)
        return; /* down, or a reload changed the targets: ask again */
    all = reply->element[0]->type != REDIS_REPLY_NIL;
    if (all != v->all_paused) {
        /* The first answer after a start says nothing new when it finds
         * no pause. */
        if (v->all_paused >= 0 || all)
            pwlog(PWLOG_NOTICE, all ? "control.paused" : "control.resumed",
                  "probing %s on every target", all ? "paused" : "resumed");
        v->all_paused = all;
        engine_hold_all(v->engine, all);
    }
    for (i = 0; i < v->npaused; i++) {
        int held = reply->element[1 + i]->type != REDIS_REPLY_NIL;

        if (held == v->paused[i])
            continue;
        if (v->paused[i] >= 0 || held)
            pwlog(PWLOG_NOTICE, held ? "control.paused" : "control.resumed",
                  "probing %s on target %s", held ? "paused" : "resumed",
                  cfg->targets[i].name);
        v->paused[i] = (signed char)held;
        engine_hold_target(v->engine, cfg->targets[i].name, held);
    }
    if (!all && !v->stopping)
        engine_kick(v->engine);
}

static void ask_control(struct service *v)
{
    const struct config *cfg = suite_config(v->suite);
    struct sbuf *keys;
    const char **argv;
    size_t i, n = 1 + v->npaused;

    if (v->control_asked || !redis_up(v->redis))
        return;
    keys = xcalloc(n, sizeof(*keys));
    argv = xcalloc(n + 1, sizeof(*argv));
    argv[0] = "MGET";
    for (i = 0; i < n; i++) {
        keys_name(&keys[i], cfg->key_prefix, "control", NULL);
        sbuf_adds(&keys[i], ":pause");
        if (i > 0) {
            sbuf_addc(&keys[i], ':');
            keys_escape(&keys[i], cfg->targets[i - 1].name,
                        strlen(cfg->targets[i - 1].name));
        }
        argv[1 + i] = keys[i].buf;
    }
    v->control_asked = 1;
    redis_command(v->redis, on_control, v, (int)n + 1, argv, NULL);
    for (i = 0; i < n; i++)
        sbuf_release(&keys[i]);
    free(keys);
    free(argv);
}

static void on_control_timer(void *arg)
{
    struct service *v = arg;

    v->control_timer = loop_after(v->loop, CONTROL_POLL_MS, on_control_timer, v);
    ask_control(v);
}

static void status_line(struct service *v, int final)
{
    struct sched_stats st;
    struct store_stats ss;
    struct engine_stats es;
    struct sbuf line = SBUF_INIT;
    double now = clock_mono(), per_min;

    schedule_stats(v->sched, now, &st);
    store_stats(v->store, &ss);
    engine_stats(v->engine, &es);
    per_min = now > v->status_t
                  ? (double)(v->runs - v->runs_at_status) * 60.0 /
                        (now - v->status_t)
                  : 0;
    v->runs_at_status = v->runs;
    v->status_t = now;
    sbuf_addf(&line, "%zu tests, %.0f runs/min, %zu failing, Redis %s",
              st.tests, per_min, st.failing, ss.redis_up ? "up" : "down");
    if (ss.spool_records)
        sbuf_addf(&line, " (%llu results spooled)",
                  (unsigned long long)ss.spool_records);
    if (v->all_paused == 1)
        sbuf_adds(&line, ", paused");
    notify_status(line.buf);
    pwlog(final ? PWLOG_NOTICE : PWLOG_DEBUG, "service.stats",
          "%s; runs %lu, in flight %u, requests %lu, lateness p50 %.1fms "
          "p99 %.1fms max %.1fms, cycle x%.2f, skipped %llu, results "
          "written %llu, duplicates %llu, spooled %llu, spool dropped %llu",
          line.buf, v->runs, es.runs_in_flight, es.requests, st.late_p50_ms,
          st.late_p99_ms, st.late_max_ms, st.cycle_stretch,
          (unsigned long long)st.skipped, (unsigned long long)ss.written,
          (unsigned long long)ss.duplicates, (unsigned long long)ss.spooled,
          (unsigned long long)ss.spool_dropped);
    sbuf_release(&line);
}

static void on_status_timer(void *arg)
{
    struct service *v = arg;

    v->status_timer = loop_after(v->loop, STATUS_EVERY_MS, on_status_timer, v);
    status_line(v, 0);
}

static void on_sweep_end(size_t n, int ok, void *arg)
{
    struct service *v = arg;

    v->sweeping = 0;
    if (n)
        pwlog(PWLOG_NOTICE, "sweep.found",
              "%zu cleanup%s left by runners that stopped", n,
              n == 1 ? "" : "s");
    else if (!ok)
        pwlog(PWLOG_DEBUG, "sweep.later", "Redis is away; sweeping later");
}

static void start_sweep(struct service *v)
{
    /* Cleanups handed out before and not answered yet would be handed
     * out again. */
    if (v->sweeping || v->sweep_left || v->stopping || !redis_up(v->redis))
        return;
    v->sweeping = 1;
    journal_redis_sweep(v->journal, on_sweep_each, on_sweep_end, v);
}

/* A runner of a fleet that stops heart-beating is dead after its lease
 * time; its cleanups are swept within about that much again. */
static unsigned long sweep_every(const struct service *v)
{
    uint64_t lease = suite_config(v->suite)->lease_ttl_ms;

    return lease < SWEEP_EVERY_MS ? (unsigned long)lease : SWEEP_EVERY_MS;
}

static void on_sweep_timer(void *arg)
{
    struct service *v = arg;

    v->sweep_timer = loop_after(v->loop, sweep_every(v), on_sweep_timer, v);
    start_sweep(v);
}

static void on_redis_state(int up, void *arg)
{
    struct service *v = arg;

    if (up) {
        start_sweep(v);
        ask_control(v);
    }
}

static void reset_holds(struct service *v)
{
    const struct config *cfg = suite_config(v->suite);

    free(v->paused);
    v->npaused = cfg->ntargets;
    v->paused = xcalloc(v->npaused + 1, 1);
    memset(v->paused, -1, v->npaused);
}

static int same_str(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

/* ---- the HTTP listener ------------------------------------------------ */

static void http_facts(void *arg, struct httpd_facts *f)
{
    struct service *v = arg;

    f->suite = v->suite;
    f->all_paused = v->all_paused;
    f->reloads = v->reloads;
}

/* A listener on the current config's `listen`, or NULL (logged) when it
 * is off or cannot be bound: probing goes on without it. */
/* A listener on <listen>; NULL when it cannot be bound, said in the log
 * unless <quiet> (a first try that may fail on purpose). */
static struct httpd *open_httpd_at(struct service *v, const char *listen,
                                   int quiet)
{
    struct httpd_src src;
    struct httpd *h;
    struct pw_err err;

    memset(&src, 0, sizeof(src));
    src.engine = v->engine;
    src.sched = v->sched;
    src.store = v->store;
    src.journal_spool = v->jspool;
    src.alerting = v->alerting;
    src.redis = v->redis;
    src.metrics = v->metrics;
    src.runner_id = v->runner_id;
    src.version = PACKAGE_VERSION;
    src.facts = http_facts;
    src.held = target_held;
    src.arg = v;
    h = httpd_new(v->loop, listen, &src, &err);
    if (h == NULL && !quiet)
        pwlog(PWLOG_ERROR, "http.listen",
              "%s: no /metrics, /healthz or /api; probing goes on", err.msg);
    else if (h)
        pwlog(PWLOG_INFO, "http.listen", "serving /metrics, /healthz and "
                                         "/api on %s (port %d)",
              listen, httpd_port(h));
    return h;
}

static struct httpd *open_httpd(struct service *v)
{
    const struct config *cfg = suite_config(v->suite);

    return cfg->listen ? open_httpd_at(v, cfg->listen, 0) : NULL;
}

/* `listen` changed in a reload: the new address, or none. */
static void rebind(struct service *v)
{
    const struct config *cfg = suite_config(v->suite);
    struct httpd *h;

    if (cfg->listen == NULL) {
        httpd_free(v->httpd);
        v->httpd = NULL;
        pwlog(PWLOG_NOTICE, "http.off", "listen is off: the HTTP listener "
                                        "is closed");
        return;
    }
    /* The new address first, so that the old one keeps answering when
     * the new cannot be had; then, as the new one may share the old one's
     * port, once more without the old. */
    h = v->httpd ? open_httpd_at(v, cfg->listen, 1) : NULL;
    if (h == NULL) {
        char *was = v->httpd ? xstrdup(httpd_listen(v->httpd)) : NULL;

        httpd_free(v->httpd);
        v->httpd = NULL;
        h = open_httpd_at(v, cfg->listen, 0);
        if (h == NULL && was) {
            h = open_httpd_at(v, was, 0);
            if (h)
                pwlog(PWLOG_ERROR, "http.rebind",
                      "cannot listen on %s: still on %s", cfg->listen, was);
        }
        free(was);
        v->httpd = h;
        if (h == NULL || strcmp(httpd_listen(h), cfg->listen) != 0)
            return;
    } else {
        httpd_free(v->httpd);
        v->httpd = h;
    }
    pwlog(PWLOG_NOTICE, "http.rebind", "listen changed: now on %s",
          cfg->listen);
}

static void reload(struct service *v)
{
    const struct config *old = suite_config(v->suite), *cfg;
    struct suite *s;
    struct pw_err err;
    size_t before = schedule_count(v->sched);
    int relisten;

    notify_reloading();
    pwlog(PWLOG_NOTICE, "config.reload", "reloading %s",
          cli_config_path(v->o->config));
    s = load(cli_config_path(v->o->config), v->suite, "config.rejected");
    if (s && check_selection(s, v->o) < 0) {
        suite_unref(s);
        s = NULL;
    }
    if (s) {
        /* Reporter settings are checked before anything changes. */
        struct diag *d = diag_new();
        struct reporters *r = reporters_load(suite_config(s), NULL, d);

        if (r == NULL) {
            log_diag(d, "config.rejected");
            suite_unref(s);
            s = NULL;
        }
        reporters_free(r);
        diag_free(d);
    }
    if (s && schedule_reload(v->sched, s, &v->o->filter, &err) != PW_OK) {
        pwlog(PWLOG_ERROR, "config.rejected", "%s", err.msg);
        suite_unref(s);
        s = NULL;
    }
    if (s)
        fleet_replan(v->fleet);
    if (s == NULL) {
        pwlog(PWLOG_ERROR, "config.rejected",
              "the new configuration is not valid; still running the one "
              "loaded before");
        notify_ready();
        return;
    }
    cfg = suite_config(s);
    relisten = !same_str(cfg->listen, old->listen);
    if (!same_str(cfg->redis, old->redis) ||
        !same_str(cfg->key_prefix, old->key_prefix) ||
        !same_str(cfg->state_dir, old->state_dir) ||
        !same_str(cfg->location, old->location) ||
        cfg->lease_ttl_ms != old->lease_ttl_ms)
        pwlog(PWLOG_WARN, "config.restart",
              "redis, key_prefix, state_dir, location and fleet take effect "
              "at the next start; still using the ones loaded at start");
    engine_set_suite(v->engine, s);
    suite_unref(v->suite);
    v->suite = s;
    log_set_secrets(suite_secrets(s));
    {
        struct diag *d = diag_new();

        if (alerting_reload(v->alerting, s, d) < 0) {
            log_diag(d, "config.reporters");
            pwlog(PWLOG_ERROR, "config.reporters",
                  "the reporters could not be reloaded; the ones loaded "
                  "before go on");
        }
        diag_free(d);
    }
    reset_holds(v);
    v->reloads++;
    if (relisten)
        rebind(v);
    v->control_asked = 0;
    ask_control(v);
    pwlog(PWLOG_NOTICE, "config.reloaded", "%zu tests scheduled (%zu before)",
          schedule_count(v->sched), before);
    notify_ready();
    engine_kick(v->engine);
}

static void on_stopped(void *arg)
{
    (void)arg; /* engine_stop() ends the loop after this */
}

static void cancel_timer(struct loop_timer **t)
{
    if (*t)
        loop_timer_cancel(*t);
    *t = NULL;
}

static void begin_stop(struct service *v, const char *why)
{
    v->stopping = 1;
    notify_stopping();
    pwlog(PWLOG_NOTICE, "service.stopping",
          "%s: starting no new run; %zu in flight may finish within %lu ms, "
          "then their cleanups run",
          why, v->nfl, v->o->grace_ms);
    /* The control poll goes on: a resume during the stop lets held
     * cleanups go. */
    cancel_timer(&v->due_timer);
    cancel_timer(&v->sweep_timer);
    fleet_stop_claiming(v->fleet);
    engine_stop(v->engine, v->o->grace_ms, on_stopped, v);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct service *v = arg;

    (void)what;
    if (sig == SIGHUP) {
        if (!v->stopping)
            reload(v);
        return;
    }
    if (v->stopping) {
        pwlog(PWLOG_WARN, "service.killed",
              "second signal: stopping now; the cleanups of runs in flight "
              "stay in the journal for the next start");
        _exit(1);
    }
    begin_stop(v, sig == SIGINT ? "interrupted" : "terminated");
}

/* After the engine stopped: the journal's last deletions and the store's
 * last writes get their answers, for at most DRAIN_MS. */
static void on_alerts_flushed(void *arg)
{
    ((struct service *)arg)->alerts_flushed = 1;
}

static void on_drain(void *arg)
{
    struct service *v = arg;

    v->drain_timer = NULL;
    if (((redis_inflight(v->redis) == 0 && v->alerts_flushed) ||
         !redis_up(v->redis)) ||
        clock_mono() > v->drain_until) {
        loop_stop(v->loop);
        return;
    }
    v->drain_timer = loop_after(v->loop, 10, on_drain, v);
}

static void drain(struct service *v)
{
    if (v->redis == NULL)
        return;
    v->drain_until = clock_mono() + DRAIN_MS / 1000.0;
    v->alerts_flushed = v->alerting == NULL;
    if (v->alerting)
        alerting_flush(v->alerting, DRAIN_MS, on_alerts_flushed, v);
    /* The leases of the runs that ended go back now, or the fleet would
     * run those tests again when the leases run out. */
    fleet_give_back(v->fleet);
    v->drain_timer = loop_after(v->loop, 0, on_drain, v);
    loop_run(v->loop);
    cancel_timer(&v->drain_timer);
}

static void service_release(struct service *v)
{
    httpd_free(v->httpd);
    v->httpd = NULL;
    cancel_timer(&v->due_timer);
    cancel_timer(&v->control_timer);
    cancel_timer(&v->status_timer);
    cancel_timer(&v->sweep_timer);
    if (v->sighup)
        event_free(v->sighup);
    if (v->sigterm)
        event_free(v->sigterm);
    if (v->sigint)
        event_free(v->sigint);
    notify_watchdog_stop(v->wd);
    if (v->redis)
        redis_unwatch(v->redis, on_redis_state, v);
    /* The store and the journal use Redis, which uses the loop: Redis
     * answers what waits (the store spools it), they go, then Redis,
     * then the loop. */
    redis_close(v->redis);
    fleet_free(v->fleet);
    engine_close(v->engine);
    alerting_free(v->alerting);
    redis_free(v->redis);
    spool_close(v->rspool);
    spool_close(v->jspool);
    engine_free(v->engine);
    metrics_free(v->metrics);
    schedule_free(v->sched);
    while (v->nfl)
        free(v->fl[--v->nfl].id);
    free(v->fl);
    free(v->paused);
    log_set_secrets(NULL);
    suite_unref(v->suite);
}

/* Raise the soft limit on open files to the hard one: the default soft
 * limit (1024) is far below what a busy runner's connections to targets,
 * Redis and the listener's clients may need, and the hard one is what the
 * administrator allowed (systemd: LimitNOFILE). */
static void raise_nofile(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max)
        return;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        pwlog(PWLOG_DEBUG, "service.nofile", "cannot raise the open-file "
                                              "limit: %s", strerror(errno));
}

int service_run_main(int argc, char **argv)
{
    struct svc_opts o;
    struct service v;
    struct svc_sink *sink;
    struct engine_feed feed;
    struct pw_err err;
    long pid;
    int rc = parse(argc, argv, &o, 1);

    memset(&v, 0, sizeof(v));
    v.o = &o;
    v.all_paused = -1;
    if (rc >= 0) {
        opts_release(&o);
        return rc;
    }
    signal(SIGPIPE, SIG_IGN);
    raise_nofile();
    v.suite = load(cli_config_path(o.config), NULL, "config.invalid");
    if (v.suite == NULL || check_selection(v.suite, &o) < 0) {
        suite_unref(v.suite);
        opts_release(&o);
        return CLI_EXIT_USAGE;
    }
    log_set_secrets(suite_secrets(v.suite));
    runner_id(v.runner_id, sizeof(v.runner_id), o.runner_id);
    /* Two daemons under one id would take each other's cleanups for
     * those of a crashed process, and number their results alike. */
    if (runner_alive(suite_config(v.suite), v.runner_id, "run", &pid)) {
        pwlog(PWLOG_ERROR, "runner.taken",
              "runner id '%s' is in use by a running daemon (%s); give this "
              "one another --runner-id",
              v.runner_id, pid ? "a process of this host" : "another host");
        suite_unref(v.suite);
        opts_release(&o);
        return CLI_EXIT_FAIL;
    }
    v.sched = schedule_new(v.suite, &o.filter, &err);
    if (v.sched == NULL) {
        pwlog(PWLOG_ERROR, "config.invalid", "%s", err.msg);
        suite_unref(v.suite);
        opts_release(&o);
        return CLI_EXIT_USAGE;
    }
    v.engine = engine_new(v.suite);
    v.loop = engine_loop(v.engine);
    rc = 0;
    if (open_store(&v, 1) < 0)
        rc = CLI_EXIT_FAIL;
    if (rc == 0) {
        struct diag *d = diag_new();

        v.alerting = alerting_new(v.suite, v.loop, v.redis, v.runner_id, d);
        if (v.alerting == NULL) {
            log_diag(d, "config.invalid");
            rc = CLI_EXIT_USAGE;
        }
        diag_free(d);
    }
    if (rc == 0) {
        engine_add_sink(v.engine, alerting_sink(v.alerting));
        v.metrics = metrics_new();
        engine_add_sink(v.engine, metrics_sink(v.metrics));
        sink = xcalloc(1, sizeof(*sink));
        sink->base.ops = &svc_sink_ops;
        sink->v = &v;
        engine_add_sink(v.engine, &sink->base);
        feed.next = feed_next;
        feed.arg = &v;
        engine_set_feed(v.engine, &feed);
        v.fleet = fleet_new(v.loop, v.redis, v.sched,
                            suite_config(v.suite)->key_prefix,
                            suite_config(v.suite)->location, v.runner_id,
                            suite_config(v.suite)->lease_ttl_ms, fleet_room,
                            fleet_changed, &v);
        v.rates_shared = 1;
        engine_share_rates(v.engine, ask_rate, &v, 1);
        reset_holds(&v);
        redis_watch(v.redis, on_redis_state, &v);
        v.sighup = evsignal_new(loop_base(v.loop), SIGHUP, on_signal, &v);
        v.sigterm = evsignal_new(loop_base(v.loop), SIGTERM, on_signal, &v);
        v.sigint = evsignal_new(loop_base(v.loop), SIGINT, on_signal, &v);
        evsignal_add(v.sighup, NULL);
        evsignal_add(v.sigterm, NULL);
        evsignal_add(v.sigint, NULL);
        v.wd = notify_watchdog_start(loop_base(v.loop));
        v.control_timer = loop_after(v.loop, CONTROL_POLL_MS, on_control_timer,
                                     &v);
        v.status_timer = loop_after(v.loop, STATUS_EVERY_MS, on_status_timer,
                                    &v);
        v.sweep_timer = loop_after(v.loop, sweep_every(&v), on_sweep_timer, &v);
        v.status_t = clock_mono();
        v.httpd = open_httpd(&v);
        pwlog(PWLOG_NOTICE, "service.ready",
              "runner %s: %zu tests scheduled from %s", v.runner_id,
              schedule_count(v.sched), cli_config_path(o.config));
        notify_ready();
        engine_kick(v.engine);
        engine_run(v.engine);
        drain(&v);
        status_line(&v, 1);
        pwlog(PWLOG_NOTICE, "service.stopped", "stopped cleanly");
    }
    service_release(&v);
    opts_release(&o);
    return rc;
}

/* ---- sweep ----------------------------------------------------------- */

/* Whether a daemon of runner id <id> is alive: its heartbeat is in Redis
 * and names either another host or a process of this one that still
 * runs.  Its pid goes to *<pid_out> (0 for another host).  Without Redis
 * nothing is known: 0. */
static int runner_alive(const struct config *cfg, const char *id,
                        const char *cmd, long *pid_out)
{
    redisContext *c = redisaddr_connect(cfg->redis, NULL);
    struct sbuf key = SBUF_INIT;
    redisReply *r;
    char host[256] = "", want[300];
    const char *p;
    long pid = 0;
    int alive = 0;

    *pid_out = 0;
    if (c == NULL) {
        pwlog(PWLOG_DEBUG, "runner.check",
              "%s: Redis unreachable; cannot tell whether runner '%s' runs "
              "elsewhere",
              cmd, id);
        return 0;
    }
    keys_name(&key, cfg->key_prefix, "runner", id);
    r = redisCommand(c, "GET %s", key.buf);
    gethostname(host, sizeof(host) - 1);
    snprintf(want, sizeof(want), "\"host\":\"%s\"", host);
    if (r && r->type == REDIS_REPLY_STRING && strstr(r->str, want) == NULL) {
        alive = 1; /* another host's: it cannot be checked from here */
    } else if (r && r->type == REDIS_REPLY_STRING &&
               (p = strstr(r->str, "\"pid\":")) != NULL) {
        pid = strtol(p + 6, NULL, 10);
        alive = pid > 0 && pid != (long)getpid() &&
                (kill((pid_t)pid, 0) == 0 || errno == EPERM);
        *pid_out = pid;
    }
    if (r)
        freeReplyObject(r);
    redisFree(c);
    sbuf_release(&key);
    return alive;
}

struct sweep_cmd {
    struct service v;
    size_t cleaned, left;
    int redis_seen, ended;
};

static void sweep_cmd_done(struct sweep_cmd *w)
{
    if (!w->ended) {
        w->ended = 1;
        engine_stop(w->v.engine, ENGINE_NO_GRACE, on_stopped, &w->v);
    }
}

static void on_cmd_cleaned(enum clean_outcome outcome, const char *message,
                           void *arg)
{
    struct sweep_cmd *w = arg;

    if (outcome == CLEAN_OK)
        w->cleaned++;
    else {
        w->left++;
        fprintf(stderr, "prodwatch sweep: %s\n", message ? message : "");
    }
    w->v.sweep_left--;
    if (!w->v.sweeping && w->v.sweep_left == 0)
        sweep_cmd_done(w);
}

static void on_cmd_each(uint64_t id, const struct journal_intent *in,
                        void *arg)
{
    struct sweep_cmd *w = arg;

    w->v.sweep_left++;
    engine_clean(w->v.engine, in, id, on_cmd_cleaned, w);
}

static void on_cmd_end(size_t n, int ok, void *arg)
{
    struct sweep_cmd *w = arg;

    (void)n;
    w->v.sweeping = 0;
    if (!ok) {
        fprintf(stderr, "prodwatch sweep: Redis went away during the "
                        "sweep\n");
        w->left++;
    }
    if (w->v.sweep_left == 0)
        sweep_cmd_done(w);
}

static void on_cmd_redis(int up, void *arg)
{
    struct sweep_cmd *w = arg;

    if (!up || w->redis_seen)
        return;
    w->redis_seen = 1;
    w->v.sweeping = 1;
    journal_redis_sweep(w->v.journal, on_cmd_each, on_cmd_end, w);
}

static void on_cmd_wait(void *arg)
{
    struct sweep_cmd *w = arg;

    w->v.drain_timer = NULL;
    if (w->redis_seen)
        return;
    fprintf(stderr, "prodwatch sweep: Redis is unreachable\n");
    w->left++;
    sweep_cmd_done(w);
}

int service_sweep_main(int argc, char **argv)
{
    struct svc_opts o;
    struct sweep_cmd w;
    long pid;
    char own[200];
    int rc = parse(argc, argv, &o, 0);

    memset(&w, 0, sizeof(w));
    w.v.o = &o;
    if (rc >= 0) {
        opts_release(&o);
        return rc;
    }
    w.v.suite = load(cli_config_path(o.config), NULL, "config.invalid");
    if (w.v.suite == NULL) {
        opts_release(&o);
        return CLI_EXIT_USAGE;
    }
    log_set_secrets(suite_secrets(w.v.suite));
    runner_id(own, sizeof(own), o.runner_id);
    /* A running daemon of this id keeps its own cleanups: the sweep then
     * takes only those of runners that are gone, under a name of its own. */
    if (runner_alive(suite_config(w.v.suite), own, "sweep", &pid))
        snprintf(w.v.runner_id, sizeof(w.v.runner_id), "%s/sweep-%ld", own,
                 (long)getpid());
    else
        snprintf(w.v.runner_id, sizeof(w.v.runner_id), "%s", own);
    w.v.engine = engine_new(w.v.suite);
    w.v.loop = engine_loop(w.v.engine);
    if (open_store(&w.v, 0) < 0) {
        service_release(&w.v);
        opts_release(&o);
        return CLI_EXIT_FAIL;
    }
    redis_watch(w.v.redis, on_cmd_redis, &w);
    w.v.drain_timer = loop_after(w.v.loop, SWEEP_WAIT_MS, on_cmd_wait, &w);
    engine_run(w.v.engine);
    cancel_timer(&w.v.drain_timer);
    drain(&w.v);
    redis_unwatch(w.v.redis, on_cmd_redis, &w);
    if (w.redis_seen)
        printf("%zu cleaned, %zu left\n", w.cleaned, w.left);
    rc = w.left ? CLI_EXIT_FAIL : CLI_EXIT_OK;
    service_release(&w.v);
    opts_release(&o);
    return rc;
}
