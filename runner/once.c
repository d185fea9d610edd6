/* once.c -- run every selected test once, print and report. */
#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "journal.h"
#include "loop.h"
#include "once.h"
#include "run.h"
#include "sbuf.h"
#include "throttle.h"
#include "window.h"
#include "xalloc.h"

struct once;

/* One test: from its start to its line of output, and -- only when a
 * JUnit report is asked for -- until the report is written.  Tests are
 * taken from the expansion as runs can start, so memory follows what is
 * in flight, not the size of the suite. */
struct job {
    struct once *w;
    const struct scenario *sc;
    size_t target;
    char *id;
    /* result */
    enum run_status status;
    char *step, *message;
    char *steps_json; /* per-step timings, for --json */
    double duration_ms;
    int finished;
};

struct once {
    const struct once_opts *o;
    const struct config *cfg;
    struct run_env env;
    struct expand_iter tests;
    int tests_left;            /* the expansion may yield more */
    struct expand_test peeked; /* taken from <tests>, not started yet */
    int have_peeked;
    struct job **kept; /* every test, in expansion order (JUnit only) */
    size_t nkept, kept_alloc;
    size_t running, finished;
    char *slowest_id;
    double slowest_ms;
    unsigned concurrency;
    size_t passed, failed, errored;
    size_t passed_unclean; /* passed, but a cleanup failed */
    unsigned cleanups_failed;
    unsigned long requests;
    int interrupted;   /* SIGINT/SIGTERM: start nothing new */
    int output_failed; /* stdout refused a write: start nothing new */
    struct event *sigint, *sigterm;
    struct event *window_timer; /* re-reads the throttle windows */
};

static size_t target_index(const struct config *cfg, const char *name)
{
    size_t i;

    for (i = 0; i < cfg->ntargets; i++)
        if (strcmp(cfg->targets[i].name, name) == 0)
            return i;
    return 0;
}

/* The next selected test, or 0 at the end (or on an expansion error,
 * reported). */
static int next_test(struct once *w, struct expand_test *t)
{
    struct pw_err err;
    int rc;

    if (w->have_peeked) {
        *t = w->peeked;
        w->have_peeked = 0;
        return 1;
    }
    if (!w->tests_left)
        return 0;
    rc = expand_iter_next(&w->tests, t, &err);
    if (rc < 0)
        fprintf(stderr, "prodwatch once: %s\n", err.msg);
    if (rc <= 0)
        w->tests_left = 0;
    return rc > 0;
}

static struct job *job_new(struct once *w, const struct expand_test *t)
{
    struct job *j = xcalloc(1, sizeof(*j));

    j->w = w;
    j->sc = t->sc;
    j->target = target_index(w->cfg, t->target);
    j->id = xstrdup(t->id);
    if (w->o->junit) {
        XGROW(w->kept, w->nkept + 1, w->kept_alloc);
        w->kept[w->nkept++] = j;
    }
    return j;
}

static void job_free(struct job *j)
{
    free(j->id);
    free(j->step);
    free(j->message);
    free(j->steps_json);
    free(j);
}

static void print_json_line(const struct job *j, const struct config *cfg)
{
    struct sbuf b = SBUF_INIT;
    const char *target = cfg->targets[j->target].name;

    sbuf_adds(&b, "{\"test\":");
    sbuf_add_json_str(&b, j->id, strlen(j->id));
    sbuf_adds(&b, ",\"scenario\":");
    sbuf_add_json_str(&b, scenario_name(j->sc), strlen(scenario_name(j->sc)));
    sbuf_adds(&b, ",\"target\":");
    sbuf_add_json_str(&b, target, strlen(target));
    sbuf_addf(&b, ",\"status\":\"%s\",\"duration_ms\":%.1f",
              run_status_name(j->status), j->duration_ms);
    if (j->step) {
        sbuf_adds(&b, ",\"step\":");
        sbuf_add_json_str(&b, j->step, strlen(j->step));
    }
    if (j->message) {
        sbuf_adds(&b, ",\"message\":");
        sbuf_add_json_str(&b, j->message, strlen(j->message));
    }
    sbuf_addf(&b, ",\"steps\":%s", j->steps_json);
    sbuf_addf(&b, ",\"ts\":%lld}", (long long)time(NULL));
    printf("%s\n", b.buf);
    sbuf_release(&b);
}

/* A closed pipe or a full disk costs the report, never a cleanup: stop
 * starting runs, let those in flight finish and clean up, and say so. */
static void check_output(struct once *w)
{
    if (w->output_failed || (fflush(stdout) == 0 && !ferror(stdout)))
        return;
    w->output_failed = 1;
    fprintf(stderr,
            "prodwatch once: cannot write to standard output: %s; "
            "finishing %zu run%s in flight and their cleanups\n",
            strerror(errno), w->running, w->running == 1 ? "" : "s");
}

static void start_more(struct once *w);

static int stopping(const struct once *w)
{
    return w->interrupted || w->output_failed;
}

/* Apply the throttle window open now: its rate and concurrency replace
 * the overall ones while it lasts. */
static void apply_window(struct once *w)
{
    const struct window *win =
        window_active(w->cfg->windows, w->cfg->nwindows, time(NULL));
    double rate = w->cfg->rate;

    w->concurrency = w->cfg->concurrency ? w->cfg->concurrency : 1;
    if (win) {
        /* A window that sets no rate keeps the overall one: it never
         * means "unlimited". */
        if (win->rate > 0)
            rate = win->rate;
        if (win->concurrency)
            w->concurrency = win->concurrency;
    }
    throttle_set_rate(w->env.throttle, rate);
}

static void on_window_timer(evutil_socket_t fd, short what, void *arg)
{
    struct once *w = arg;
    struct timeval tv = { (time_t)window_recheck_s(time(NULL)), 0 };

    (void)fd;
    (void)what;
    apply_window(w);
    start_more(w);
    evtimer_add(w->window_timer, &tv);
}

static char *steps_json(const struct run_result *r)
{
    struct sbuf b = SBUF_INIT;
    size_t i;

    sbuf_addc(&b, '[');
    for (i = 0; i < r->nsteps; i++) {
        const struct step_record *s = &r->steps[i];

        sbuf_adds(&b, i ? ",{\"name\":" : "{\"name\":");
        sbuf_add_json_str(&b, s->name, strlen(s->name));
        sbuf_addf(&b,
                  ",\"attempts\":%u,\"status\":%ld,\"dns_ms\":%.2f,"
                  "\"connect_ms\":%.2f,\"tls_ms\":%.2f,\"first_byte_ms\":%.2f,"
                  "\"total_ms\":%.2f}",
                  s->attempts, s->status, s->dns_ms, s->connect_ms, s->tls_ms,
                  s->first_byte_ms, s->total_ms);
    }
    sbuf_addc(&b, ']');
    return sbuf_take(&b, NULL);
}

static void on_run_done(const struct run_result *r, void *arg)
{
    struct job *j = arg;
    struct once *w = j->w;

    j->status = r->status;
    j->duration_ms = r->duration_ms;
    j->step = r->step ? xstrdup(r->step) : NULL;
    j->message = r->message && r->message[0] ? xstrdup(r->message) : NULL;
    if (w->o->json)
        j->steps_json = steps_json(r);
    j->finished = 1;
    w->running--;
    w->finished++;
    if (w->slowest_id == NULL || j->duration_ms > w->slowest_ms) {
        free(w->slowest_id);
        w->slowest_id = xstrdup(j->id);
        w->slowest_ms = j->duration_ms;
    }
    w->requests += r->requests;
    w->cleanups_failed += r->cleanups_failed;
    if (r->status == RUN_PASS)
        w->passed++;
    else if (r->status == RUN_FAIL)
        w->failed++;
    else
        w->errored++;
    if (r->status == RUN_PASS && j->message)
        w->passed_unclean++;
    if (w->output_failed) {
        /* Nothing more reaches a reader. */
    } else if (w->o->json) {
        print_json_line(j, w->cfg);
    } else if (!w->o->quiet) {
        printf("%-5s %s  %.0fms",
               r->status == RUN_PASS   ? "PASS"
               : r->status == RUN_FAIL ? "FAIL"
                                       : "ERROR",
               j->id, j->duration_ms);
        if (j->step)
            printf("  step '%s'", j->step);
        if (j->message)
            printf(": %s", j->message);
        printf("\n");
    }
    check_output(w);
    if (!w->o->junit)
        job_free(j);
    start_more(w);
    if (w->running == 0)
        loop_stop(w->env.loop);
}

/* The first signal lets the runs in flight finish -- their cleanups
 * included, so production keeps nothing -- and starts no more; a second
 * one ends the process at once. */
static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct once *w = arg;

    (void)what;
    if (w->interrupted) {
        fprintf(stderr, "prodwatch once: stopped; cleanups of the runs in "
                        "flight did not run\n");
        _exit(ONCE_EXIT_INCOMPLETE);
    }
    w->interrupted = 1;
    fprintf(stderr,
            "prodwatch once: %s: finishing %zu run%s in flight and "
            "their cleanups; signal again to stop now\n",
            sig == SIGINT ? "interrupted" : "terminated", w->running,
            w->running == 1 ? "" : "s");
    if (w->running == 0)
        loop_stop(w->env.loop);
}

static void start_more(struct once *w)
{
    struct expand_test t;

    while (!stopping(w) && w->running < w->concurrency && next_test(w, &t)) {
        struct job *j = job_new(w, &t);

        w->running++;
        /* run_start() copies the row and id: <t> is the walk's. */
        run_start(&w->env, j->sc, j->target, t.row, j->id, on_run_done, j);
    }
}

/* After an interrupt: the tests never started, counted, and kept as
 * skipped when a JUnit report wants them. */
static size_t rest_not_run(struct once *w)
{
    struct expand_test t;
    size_t n = 0;

    while (next_test(w, &t)) {
        n++;
        if (w->o->junit)
            job_new(w, &t);
    }
    return n;
}

/* Write <s> as XML attribute text: escaped, one line, valid UTF-8. */
static void xml_escape(FILE *f, const char *s)
{
    struct sbuf clean = SBUF_INIT;
    const char *p;

    if (s == NULL)
        return;
    sbuf_add_printable(&clean, s, strlen(s));
    for (p = clean.buf; *p; p++) {
        if (*p == '<')
            fputs("&lt;", f);
        else if (*p == '>')
            fputs("&gt;", f);
        else if (*p == '&')
            fputs("&amp;", f);
        else if (*p == '"')
            fputs("&quot;", f);
        else if ((unsigned char)p[0] == 0xef && (unsigned char)p[1] == 0xbf &&
                 ((unsigned char)p[2] == 0xbe || (unsigned char)p[2] == 0xbf)) {
            /* U+FFFE and U+FFFF are valid UTF-8 but not XML. */
            fputs("\xef\xbf\xbd", f);
            p += 2;
        } else
            fputc(*p, f);
    }
    sbuf_release(&clean);
}

/* A passed test that carries a message: a cleanup failed or could not be
 * registered. */
static int cleanup_problem(const struct job *j)
{
    return j->finished && j->status == RUN_PASS && j->message != NULL;
}

/* Counts of the group of kept tests [<from>, <to>) for its testsuite. */
static void write_suite(FILE *f, struct job *const *jobs, size_t from,
                        size_t to)
{
    size_t k, fails = 0, errs = 0, skips = 0;
    double t = 0;

    for (k = from; k < to; k++) {
        skips += !jobs[k]->finished;
        fails += jobs[k]->finished && jobs[k]->status == RUN_FAIL;
        errs += jobs[k]->finished &&
                (jobs[k]->status == RUN_ERROR || cleanup_problem(jobs[k]));
        t += jobs[k]->duration_ms / 1000.0;
    }
    fprintf(f, "  <testsuite name=\"");
    xml_escape(f, scenario_name(jobs[from]->sc));
    fprintf(f,
            "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
            "skipped=\"%zu\" time=\"%.3f\">\n",
            to - from, fails, errs, skips, t);
    for (k = from; k < to; k++) {
        const struct job *j = jobs[k];

        fprintf(f, "    <testcase classname=\"");
        xml_escape(f, scenario_name(j->sc));
        fprintf(f, "\" name=\"");
        xml_escape(f, j->id);
        fprintf(f, "\" time=\"%.3f\"", j->duration_ms / 1000.0);
        if (!j->finished) {
            fprintf(f, ">\n      <skipped message=\"not run: "
                       "interrupted\"/>\n    </testcase>\n");
            continue;
        }
        if (cleanup_problem(j)) {
            /* The journey passed, but the target may keep a record: the
             * gate is incomplete, as the exit status says. */
            fprintf(f, ">\n      <error message=\"");
            xml_escape(f, j->message);
            fprintf(f, "\" type=\"cleanup\"/>\n    </testcase>\n");
            continue;
        }
        if (j->status == RUN_PASS) {
            fprintf(f, "/>\n");
            continue;
        }
        fprintf(f, ">\n      <%s message=\"",
                j->status == RUN_FAIL ? "failure" : "error");
        if (j->step) {
            fprintf(f, "step '");
            xml_escape(f, j->step);
            fprintf(f, "': ");
        }
        xml_escape(f, j->message);
        fprintf(f, "\" type=\"%s\"/>\n    </testcase>\n",
                j->status == RUN_FAIL ? "assertion" : "incomplete");
    }
    fprintf(f, "  </testsuite>\n");
}

static int write_junit(const struct once *w, const char *path, double wall_s)
{
    FILE *f = fopen(path, "w");
    size_t i, from;

    if (f == NULL) {
        fprintf(stderr, "prodwatch once: cannot write %s: %s\n", path,
                strerror(errno));
        return 0;
    }
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(f,
            "<testsuites name=\"prodwatch\" tests=\"%zu\" failures=\"%zu\" "
            "errors=\"%zu\" time=\"%.3f\">\n",
            w->nkept, w->failed, w->errored + w->passed_unclean, wall_s);
    /* One testsuite per scenario, in suite order: the expansion yields a
     * scenario's tests together, and <kept> is in expansion order. */
    for (from = 0, i = 1; i <= w->nkept; i++) {
        if (i == w->nkept || w->kept[i]->sc != w->kept[from]->sc) {
            write_suite(f, w->kept, from, i);
            from = i;
        }
    }
    fprintf(f, "</testsuites>\n");
    if (fclose(f) != 0) {
        fprintf(stderr, "prodwatch once: cannot write %s: %s\n", path,
                strerror(errno));
        return 0;
    }
    return 1;
}

static double mono_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int once_run(const struct suite *s, const struct once_opts *o)
{
    struct once w;
    double t0, wall;
    size_t i, not_run = 0;
    int code, junit_ok = 1;

    memset(&w, 0, sizeof(w));
    w.o = o;
    w.cfg = suite_config(s);
    expand_iter_init(&w.tests, s, &o->filter);
    w.tests_left = 1;
    w.have_peeked = next_test(&w, &w.peeked);
    if (!w.have_peeked) {
        int broken = w.tests.status != PW_OK;

        /* A gate that selects nothing must not pass silently. */
        if (!broken)
            fprintf(stderr, "prodwatch once: no test matches the "
                            "selection\n");
        expand_iter_release(&w.tests);
        return 2;
    }
    /* A reader that goes away must not kill the process before the runs
     * in flight have cleaned up; write errors are checked instead. */
    signal(SIGPIPE, SIG_IGN);
    w.env.loop = loop_new();
    w.env.jq = suite_jq(s);
    w.env.cfg = w.cfg;
    w.env.journal = journal_memory_new(w.env.loop);
    w.env.secrets = secrets_new(w.cfg->secrets_dir);
    w.env.throttle = throttle_new(w.env.loop, w.cfg->ntargets, w.cfg->rate);
    for (i = 0; i < w.cfg->ntargets; i++)
        throttle_set_target_rate(w.env.throttle, i, w.cfg->targets[i].rate);
    apply_window(&w);
    if (w.cfg->nwindows) {
        struct timeval tv = { (time_t)window_recheck_s(time(NULL)), 0 };

        w.window_timer =
            evtimer_new(loop_base(w.env.loop), on_window_timer, &w);
        evtimer_add(w.window_timer, &tv);
    }
    w.sigint = evsignal_new(loop_base(w.env.loop), SIGINT, on_signal, &w);
    w.sigterm = evsignal_new(loop_base(w.env.loop), SIGTERM, on_signal, &w);
    evsignal_add(w.sigint, NULL);
    evsignal_add(w.sigterm, NULL);
    t0 = mono_s();
    start_more(&w);
    loop_run(w.env.loop);
    wall = mono_s() - t0;
    event_free(w.sigint);
    event_free(w.sigterm);
    if (w.window_timer)
        event_free(w.window_timer);
    if (stopping(&w)) {
        not_run = rest_not_run(&w);
        fprintf(stderr, "prodwatch once: %zu test%s not run\n", not_run,
                not_run == 1 ? "" : "s");
    }
    if (!o->json && !w.output_failed) {
        printf("%zu passed, %zu failed, %zu errored in %.2fs", w.passed,
               w.failed, w.errored, wall);
        /* Of the tests that ran: one never started took no time. */
        if (w.slowest_id)
            printf("; slowest %s (%.0fms)", w.slowest_id, w.slowest_ms);
        printf("\n");
    }
    check_output(&w);
    if (w.cleanups_failed)
        fprintf(stderr,
                "prodwatch once: %u cleanup%s failed; records may "
                "remain on the target\n",
                w.cleanups_failed, w.cleanups_failed == 1 ? "" : "s");
    if (o->junit)
        junit_ok = write_junit(&w, o->junit, wall);
    if (w.tests.status != PW_OK)
        code = 2; /* a covering array could not be built: bad config */
    else if (w.failed)
        code = ONCE_EXIT_FAIL;
    else if (w.errored || !junit_ok || w.cleanups_failed || stopping(&w))
        code = ONCE_EXIT_INCOMPLETE;
    else
        code = ONCE_EXIT_PASS;
    for (i = 0; i < w.nkept; i++)
        job_free(w.kept[i]);
    free(w.kept);
    free(w.slowest_id);
    expand_iter_release(&w.tests);
    throttle_free(w.env.throttle);
    journal_free(w.env.journal);
    secrets_free(w.env.secrets);
    loop_free(w.env.loop);
    return code;
}
