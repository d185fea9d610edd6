/* metrics.c -- results kept in memory for /metrics and /api/status. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "metrics.h"
#include "scenario.h"
#include "xalloc.h"

/* Upper bounds of the run duration histogram, seconds. */
static const double dur_le[] = { 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60 };
#define NDUR (sizeof(dur_le) / sizeof(dur_le[0]))

#define RATE_WINDOW_S 10.0

enum { CLASS_2XX, CLASS_3XX, CLASS_4XX, CLASS_5XX, CLASS_ERROR, NCLASS };
static const char *const class_name[NCLASS] = { "2xx", "3xx", "4xx", "5xx",
                                                "error" };

/* Names to dense indexes: open addressing over slots holding index + 1. */
struct strmap {
    char **keys;
    size_t n, alloc;
    uint32_t *slots;
    size_t cap; /* a power of two, at least twice n */
};

struct test {
    char *scenario, *target;
    int status;
    time_t since, last_run;
    double duration_ms;
    unsigned long runs, failures;
    char *message, *step;
    struct metrics_run hist[METRICS_HISTORY]; /* a ring */
    size_t hnext, hn;
};

struct pair {
    char *scenario, *target;
    uint64_t le[NDUR]; /* not cumulative: each bucket its own */
    uint64_t count;
    double sum;
};

struct tgt {
    uint64_t cls[NCLASS];
    uint64_t requests;
    uint64_t snap_req; /* requests at snap_t */
    double snap_t;
    double rate;
    int have_rate;
};

struct metrics {
    struct result_sink sink; /* first: the sink is the metrics */
    struct strmap test_ids, pair_ids, target_ids;
    struct test *tests;
    size_t tests_alloc;
    struct pair *pairs;
    size_t pairs_alloc;
    struct tgt *tgts;
    size_t tgts_alloc;
    double started;
};

/* ---- the name maps ---------------------------------------------------- */

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static long strmap_find(const struct strmap *m, const char *key)
{
    size_t i;

    if (m->cap == 0)
        return -1;
    for (i = hash(key) & (m->cap - 1); m->slots[i];
         i = (i + 1) & (m->cap - 1))
        if (strcmp(m->keys[m->slots[i] - 1], key) == 0)
            return (long)m->slots[i] - 1;
    return -1;
}

static void strmap_place(struct strmap *m, size_t idx)
{
    size_t i;

    for (i = hash(m->keys[idx]) & (m->cap - 1); m->slots[i];
         i = (i + 1) & (m->cap - 1))
        ;
    m->slots[i] = (uint32_t)idx + 1;
}

/* The index of <key>, added when new (*<added> set then). */
static size_t strmap_get(struct strmap *m, const char *key, int *added)
{
    long found = strmap_find(m, key);
    size_t i;

    *added = found < 0;
    if (found >= 0)
        return (size_t)found;
    if ((m->n + 1) * 2 > m->cap) {
        m->cap = m->cap ? m->cap * 2 : 64;
        free(m->slots);
        m->slots = xcalloc(m->cap, sizeof(*m->slots));
        for (i = 0; i < m->n; i++)
            strmap_place(m, i);
    }
    XGROW(m->keys, m->n + 1, m->alloc);
    m->keys[m->n] = xstrdup(key);
    strmap_place(m, m->n);
    return m->n++;
}

static void strmap_release(struct strmap *m)
{
    size_t i;

    for (i = 0; i < m->n; i++)
        free(m->keys[i]);
    free(m->keys);
    free(m->slots);
}

/* ---- the sink ---------------------------------------------------------- */

static void set_opt(char **dst, const char *v)
{
    free(*dst);
    *dst = v ? xstrdup(v) : NULL;
}

static size_t status_class(long status)
{
    if (status >= 200 && status < 300)
        return CLASS_2XX;
    if (status >= 300 && status < 400)
        return CLASS_3XX;
    if (status >= 400 && status < 500)
        return CLASS_4XX;
    if (status >= 500 && status < 600)
        return CLASS_5XX;
    return CLASS_ERROR;
}

static struct tgt *target_of(struct metrics *m, const char *name)
{
    int added;
    size_t i = strmap_get(&m->target_ids, name, &added);

    if (added) {
        XGROW(m->tgts, i + 1, m->tgts_alloc);
        memset(&m->tgts[i], 0, sizeof(m->tgts[i]));
        m->tgts[i].snap_t = clock_mono();
    }
    return &m->tgts[i];
}

static void observe_pair(struct metrics *m, const char *scenario,
                         const char *target, double seconds)
{
    struct sbuf key = SBUF_INIT;
    struct pair *p;
    size_t i, b;
    int added;

    /* A unit separator cannot occur in a scenario's name. */
    sbuf_addf(&key, "%s\x1f%s", scenario, target);
    i = strmap_get(&m->pair_ids, key.buf ? key.buf : "", &added);
    sbuf_release(&key);
    if (added) {
        XGROW(m->pairs, i + 1, m->pairs_alloc);
        memset(&m->pairs[i], 0, sizeof(m->pairs[i]));
        m->pairs[i].scenario = xstrdup(scenario);
        m->pairs[i].target = xstrdup(target);
    }
    p = &m->pairs[i];
    for (b = 0; b < NDUR && seconds > dur_le[b]; b++)
        ;
    if (b < NDUR)
        p->le[b]++;
    p->count++;
    p->sum += seconds;
}

static void on_result(struct result_sink *s, const struct run_result *r)
{
    struct metrics *m = (struct metrics *)s;
    const char *scenario = r->sc ? scenario_name(r->sc) : "";
    struct tgt *tg = target_of(m, r->target);
    struct test *t;
    size_t i;
    int added;

    i = strmap_get(&m->test_ids, r->test_id, &added);
    if (added) {
        XGROW(m->tests, i + 1, m->tests_alloc);
        memset(&m->tests[i], 0, sizeof(m->tests[i]));
        m->tests[i].status = -1;
    }
    t = &m->tests[i];
    /* A reload may move a test id to another scenario file's name. */
    if (t->scenario == NULL || strcmp(t->scenario, scenario) != 0)
        set_opt(&t->scenario, scenario);
    if (t->target == NULL || strcmp(t->target, r->target) != 0)
        set_opt(&t->target, r->target);
    if (t->status != (int)r->status)
        t->since = r->started;
    t->status = (int)r->status;
    t->last_run = r->started;
    t->duration_ms = r->duration_ms;
    t->runs++;
    if (r->status != RUN_PASS)
        t->failures++;
    set_opt(&t->message, r->message);
    set_opt(&t->step, r->step);
    t->hist[t->hnext].started = r->started;
    t->hist[t->hnext].duration_ms = r->duration_ms;
    t->hist[t->hnext].status = (int)r->status;
    t->hnext = (t->hnext + 1) % METRICS_HISTORY;
    if (t->hn < METRICS_HISTORY)
        t->hn++;
    observe_pair(m, scenario, r->target, r->duration_ms / 1000.0);
    /* A step's last attempt is what the run saw of the target; retries
     * and cleanups are in the request count only. */
    for (i = 0; i < r->nsteps; i++)
        tg->cls[status_class(r->steps[i].status)]++;
    tg->requests += r->requests;
}

static void sink_free(struct result_sink *s)
{
    (void)s; /* metrics_free() does it */
}

static const struct sink_ops metrics_ops = {
    "metrics", on_result, NULL, sink_free,
};

struct metrics *metrics_new(void)
{
    struct metrics *m = xcalloc(1, sizeof(*m));

    m->sink.ops = &metrics_ops;
    m->started = clock_mono();
    return m;
}

struct result_sink *metrics_sink(struct metrics *m)
{
    return &m->sink;
}

void metrics_free(struct metrics *m)
{
    size_t i;

    if (m == NULL)
        return;
    for (i = 0; i < m->test_ids.n; i++) {
        free(m->tests[i].scenario);
        free(m->tests[i].target);
        free(m->tests[i].message);
        free(m->tests[i].step);
    }
    for (i = 0; i < m->pair_ids.n; i++) {
        free(m->pairs[i].scenario);
        free(m->pairs[i].target);
    }
    free(m->tests);
    free(m->pairs);
    free(m->tgts);
    strmap_release(&m->test_ids);
    strmap_release(&m->pair_ids);
    strmap_release(&m->target_ids);
    free(m);
}

void metrics_tick(struct metrics *m, double now)
{
    size_t i;

    for (i = 0; i < m->target_ids.n; i++) {
        struct tgt *tg = &m->tgts[i];
        double span = now - tg->snap_t;

        if (span < RATE_WINDOW_S)
            continue;
        tg->rate = (double)(tg->requests - tg->snap_req) / span;
        tg->have_rate = 1;
        tg->snap_req = tg->requests;
        tg->snap_t = now;
    }
}

static double tgt_rate(const struct tgt *tg)
{
    double span;

    if (tg->have_rate)
        return tg->rate;
    span = clock_mono() - tg->snap_t;
    return span > 0 ? (double)(tg->requests - tg->snap_req) / span : 0;
}

double metrics_rate(const struct metrics *m, const char *target)
{
    long i = strmap_find(&m->target_ids, target);

    return i < 0 ? 0 : tgt_rate(&m->tgts[i]);
}

double metrics_rate_all(const struct metrics *m)
{
    double sum = 0;
    size_t i;

    for (i = 0; i < m->target_ids.n; i++)
        sum += tgt_rate(&m->tgts[i]);
    return sum;
}

size_t metrics_tests(const struct metrics *m)
{
    return m->test_ids.n;
}

static void fill(const struct metrics *m, size_t i, struct metrics_test *out)
{
    const struct test *t = &m->tests[i];
    size_t k, first = (t->hnext + METRICS_HISTORY - t->hn) % METRICS_HISTORY;

    out->id = m->test_ids.keys[i];
    out->scenario = t->scenario;
    out->target = t->target;
    out->status = t->status;
    out->since = t->since;
    out->last_run = t->last_run;
    out->duration_ms = t->duration_ms;
    out->runs = t->runs;
    out->failures = t->failures;
    out->message = t->message;
    out->step = t->step;
    out->nhistory = t->hn;
    for (k = 0; k < t->hn; k++)
        out->history[k] = t->hist[(first + k) % METRICS_HISTORY];
}

int metrics_find(const struct metrics *m, const char *id,
                 struct metrics_test *t)
{
    long i = strmap_find(&m->test_ids, id);

    if (i < 0)
        return 0;
    fill(m, (size_t)i, t);
    return 1;
}

void metrics_visit(const struct metrics *m,
                   int (*fn)(const struct metrics_test *t, void *arg),
                   void *arg)
{
    struct metrics_test t;
    size_t i;

    for (i = 0; i < m->test_ids.n; i++) {
        fill(m, i, &t);
        if (fn(&t, arg))
            break;
    }
}

/* ---- the text format -------------------------------------------------- */

void prom_head(struct sbuf *out, const char *name, const char *type,
               const char *help)
{
    sbuf_addf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void prom_label(struct sbuf *out, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\')
            sbuf_adds(out, "\\\\");
        else if (*v == '"')
            sbuf_adds(out, "\\\"");
        else if (*v == '\n')
            sbuf_adds(out, "\\n");
        else
            sbuf_addc(out, *v);
    }
}

void prom_value(struct sbuf *out, double v)
{
    if (isnan(v))
        sbuf_adds(out, "NaN");
    else if (isinf(v))
        sbuf_adds(out, v > 0 ? "+Inf" : "-Inf");
    else
        sbuf_addf(out, "%.17g", v);
}

static void test_labels(struct sbuf *out, const char *name,
                        const struct test *t, const char *id)
{
    sbuf_addf(out, "%s{scenario=\"", name);
    prom_label(out, t->scenario);
    sbuf_adds(out, "\",target=\"");
    prom_label(out, t->target);
    sbuf_adds(out, "\",test=\"");
    prom_label(out, id);
    sbuf_adds(out, "\"} ");
}

static void write_tests(const struct metrics *m, struct sbuf *out)
{
    static const struct {
        const char *name, *type, *help;
    } series[] = {
        { "prodwatch_test_status", "gauge",
          "Last status of the test: 0 pass, 1 fail, 2 error, -1 unknown." },
        { "prodwatch_test_last_duration_seconds", "gauge",
          "Duration of the test's last run (steps only)." },
        { "prodwatch_test_runs_total", "counter", "Runs of the test." },
        { "prodwatch_test_failures_total", "counter",
          "Runs of the test that failed or ended in error." },
    };
    size_t s, i;

    for (s = 0; s < sizeof(series) / sizeof(series[0]); s++) {
        prom_head(out, series[s].name, series[s].type, series[s].help);
        for (i = 0; i < m->test_ids.n; i++) {
            const struct test *t = &m->tests[i];

            test_labels(out, series[s].name, t, m->test_ids.keys[i]);
            if (s == 0)
                sbuf_addf(out, "%d\n", t->status);
            else if (s == 1) {
                prom_value(out, t->duration_ms / 1000.0);
                sbuf_addc(out, '\n');
            } else
                sbuf_addf(out, "%lu\n", s == 2 ? t->runs : t->failures);
        }
    }
}

static void pair_labels(struct sbuf *out, const char *name,
                        const struct pair *p)
{
    sbuf_addf(out, "%s{scenario=\"", name);
    prom_label(out, p->scenario);
    sbuf_adds(out, "\",target=\"");
    prom_label(out, p->target);
    sbuf_addc(out, '"');
}

static void write_pairs(const struct metrics *m, struct sbuf *out)
{
    size_t i, b;

    prom_head(out, "prodwatch_run_duration_seconds", "histogram",
              "Run durations (steps only) per scenario and target.");
    for (i = 0; i < m->pair_ids.n; i++) {
        const struct pair *p = &m->pairs[i];
        uint64_t cum = 0;

        for (b = 0; b < NDUR; b++) {
            cum += p->le[b];
            pair_labels(out, "prodwatch_run_duration_seconds_bucket", p);
            sbuf_adds(out, ",le=\"");
            prom_value(out, dur_le[b]);
            sbuf_addf(out, "\"} %llu\n", (unsigned long long)cum);
        }
        pair_labels(out, "prodwatch_run_duration_seconds_bucket", p);
        sbuf_addf(out, ",le=\"+Inf\"} %llu\n", (unsigned long long)p->count);
        pair_labels(out, "prodwatch_run_duration_seconds_sum", p);
        sbuf_adds(out, "} ");
        prom_value(out, p->sum);
        sbuf_addc(out, '\n');
        pair_labels(out, "prodwatch_run_duration_seconds_count", p);
        sbuf_addf(out, "} %llu\n", (unsigned long long)p->count);
    }
}

static void write_targets(const struct metrics *m, struct sbuf *out)
{
    size_t i, c;

    prom_head(out, "prodwatch_target_requests_total", "counter",
              "Steps' answers from the target by status class (the last "
              "attempt of each step; error: no answer).");
    for (i = 0; i < m->target_ids.n; i++)
        for (c = 0; c < NCLASS; c++) {
            sbuf_adds(out, "prodwatch_target_requests_total{target=\"");
            prom_label(out, m->target_ids.keys[i]);
            sbuf_addf(out, "\",class=\"%s\"} %llu\n", class_name[c],
                      (unsigned long long)m->tgts[i].cls[c]);
        }
}

void metrics_write_prom(const struct metrics *m, struct sbuf *out,
                        int per_test)
{
    if (per_test)
        write_tests(m, out);
    write_pairs(m, out);
    write_targets(m, out);
}
