/* schedule_mem.c -- memory and speed of the scheduler at scale.
 *
 * Loads the suite at argv[1] with suite_load(), schedules every test, and
 * prints the process RSS before and after, the schedule's own bytes per
 * test, the load and build times, and the pop throughput over argv[2]
 * pops (default 1,000,000) with every test due: the work of one full
 * cycle of a suite that has fallen behind.  Each popped test's result goes
 * to the metrics the HTTP listener serves (a failing one in ten), so the
 * RSS after popping shows what the metrics keep once every test has run.
 * Built by `make bench`; run by
 * tests/bench/schedule_mem.sh, which writes the suite.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "diag.h"
#include "metrics.h"
#include "schedule.h"
#include "suite.h"

/* Resident set size in kB, from /proc/self/status. */
static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;

    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    fclose(f);
    return kb;
}

int main(int argc, char **argv)
{
    struct diag *d = diag_new();
    struct suite *su;
    struct schedule *s;
    struct sched_stats st;
    struct sched_test t;
    struct pw_err err;
    struct metrics *m = metrics_new();
    struct result_sink *sink = metrics_sink(m);
    struct step_record rec = { "Get item", 1, 200, 0, 0, 0, 0, 3 };
    struct run_result r = { 0 };
    long rss0, rss1, rss2;
    double t0, t1, t2, t3, now;
    unsigned long max_pops, pops = 0;
    size_t n;

    if (argc < 2) {
        fprintf(stderr, "usage: schedule_mem CONFIG [POPS]\n");
        return 2;
    }
    max_pops = argc > 2 ? strtoul(argv[2], NULL, 10) : 1000000;
    rss0 = rss_kb();
    t0 = clock_mono();
    su = suite_load(argv[1], d);
    if (su == NULL) {
        fprintf(stderr, "%s\n", diag_count(d) ? diag_at(d, 0) : "load failed");
        return 1;
    }
    t1 = clock_mono();
    s = schedule_new(su, NULL, &err);
    if (s == NULL) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    t2 = clock_mono();
    rss1 = rss_kb();
    n = schedule_count(s);
    /* Pop as if a whole period had passed: every test is due. */
    now = t2 + 366.0 * 86400;
    r.run_id = "0123456789abcdef0123456789abcdef";
    r.steps = &rec;
    r.nsteps = 1;
    r.requests = 1;
    r.duration_ms = 3;
    while (pops < max_pops && schedule_pop(s, now, NULL, NULL, &t)) {
        r.test_id = t.id;
        r.sc = t.sc;
        r.target = t.target_name;
        r.started = (time_t)clock_wall();
        r.status = pops % 10 == 9 ? RUN_FAIL : RUN_PASS;
        r.step = r.status == RUN_FAIL ? "Get item" : NULL;
        r.message = r.status == RUN_FAIL ? "status: expected 200, got 503"
                                         : NULL;
        sink->ops->result(sink, &r);
        schedule_done(s, t.handle, r.status);
        pops++;
    }
    t3 = clock_mono();
    rss2 = rss_kb();
    schedule_stats(s, now, &st);
    printf("tests: %zu\n", n);
    printf("load (suite_load): %.2f s\n", t1 - t0);
    printf("schedule_new: %.2f s\n", t2 - t1);
    printf("schedule memory: %zu bytes, %.1f bytes per test\n",
           schedule_memory_bytes(s),
           (double)schedule_memory_bytes(s) / (double)(n ? n : 1));
    printf("process RSS: %.1f MB at start, %.1f MB loaded and scheduled "
           "(%.1f bytes per test), %.1f MB after popping\n",
           rss0 / 1024.0, rss1 / 1024.0,
           (double)rss1 * 1024.0 / (double)(n ? n : 1), rss2 / 1024.0);
    printf("pops: %lu in %.2f s, %.0f pops/s (each rendering row and id, "
           "and one result to the metrics)\n",
           pops, t3 - t2, (double)pops / (t3 - t2));
    printf("metrics: %zu tests, %.1f bytes per test (RSS growth while "
           "popping; one in ten failing)\n",
           metrics_tests(m),
           (double)(rss2 - rss1) * 1024.0 /
               (double)(metrics_tests(m) ? metrics_tests(m) : 1));
    printf("popped %llu, skipped %llu\n", (unsigned long long)st.popped,
           (unsigned long long)st.skipped);
    metrics_free(m);
    schedule_free(s);
    suite_free(su);
    diag_free(d);
    return 0;
}
