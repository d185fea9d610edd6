/* metrics.c -- results kept in memory for /metrics and /api/status. */
#include <math.h>
#include <stdio.h>
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

/* Names to dense indexes: open addressing over slots holding index + 1.
 * The names sit end to end in one arena, found by offset, so a million
 * test ids cost their bytes and a few more each, not a malloc apiece. */
struct strmap {
    char *arena;
    size_t alen, aalloc;
    uint32_t *off; /* index -> offset in the arena */
    size_t n, alloc;
    uint32_t *slots;
    size_t cap; /* a power of two, at least twice n */
};

/* A test's facts: kept small, for there may be a million. */
struct test {
    uint32_t pair;           /* its scenario x target */
    uint32_t since, last_run; /* wall s */
    uint32_t runs, failures;
    uint32_t hist;           /* 2 bits a run, the newest lowest */
    float duration_ms;
    int8_t status;           /* -1: never ran */
    uint8_t hn;
    /* While the last run did not pass: a flags byte (FAIL_STEP,
     * FAIL_MESSAGE), then the step and the message, each NUL-ended. */
    char *fail;
};

#define FAIL_STEP 1
#define FAIL_MESSAGE 2

struct pair {
    char *scenario, *target;
    char *labels; /* scenario="...",target="...", escaped once */
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

static const char *strmap_key(const struct strmap *m, size_t i)
{
    return m->arena + m->off[i];
}

static long strmap_find(const struct strmap *m, const char *key)
{
    size_t i;

    if (m->cap == 0)
        return -1;
    for (i = hash(key) & (m->cap - 1); m->slots[i];
         i = (i + 1) & (m->cap - 1))
        if (strcmp(strmap_key(m, m->slots[i] - 1), key) == 0)
            return (long)m->slots[i] - 1;
    return -1;
}

static void strmap_place(struct strmap *m, size_t idx)
{
    size_t i;

    for (i = hash(strmap_key(m, idx)) & (m->cap - 1); m->slots[i];
         i = (i + 1) & (m->cap - 1))
        ;
    m->slots[i] = (uint32_t)idx + 1;
}

/* The index of <key>, added when new (*<added> set then). */
static size_t strmap_get(struct strmap *m, const char *key, int *added)
{
    long found = strmap_find(m, key);
    size_t i, len;

    *added = found < 0;
    if (found >= 0)
        return (size_t)found;
    len = strlen(key) + 1;
    XGROW(m->arena, m->alen + len, m->aalloc);
    memcpy(m->arena + m->alen, key, len);
    XGROW(m->off, m->n + 1, m->alloc);
    m->off[m->n] = (uint32_t)m->alen;
    m->alen += len;
    if ((m->n + 1) * 2 > m->cap) {
        m->cap = m->cap ? m->cap * 2 : 64;
        free(m->slots);
        m->slots = xcalloc(m->cap, sizeof(*m->slots));
        for (i = 0; i < m->n; i++)
            strmap_place(m, i);
    }
    strmap_place(m, m->n);
    return m->n++;
}

static void strmap_release(struct strmap *m)
{
    free(m->arena);
    free(m->off);
    free(m->slots);
}

/* ---- the sink ---------------------------------------------------------- */

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

/* Count a run of <seconds> in its scenario x target: the pair's index.
 * <hint> is the pair the test was in last time, or -1. */
static uint32_t observe_pair(struct metrics *m, long hint,
                             const char *scenario, const char *target,
                             double seconds)
{
    struct sbuf key = SBUF_INIT;
    struct pair *p;
    size_t i, b;
    int added = 0;

    /* A reload may move a test id to another scenario file's name: the
     * test's last pair is only a guess, checked. */
    if (hint >= 0 && strcmp(m->pairs[hint].scenario, scenario) == 0 &&
        strcmp(m->pairs[hint].target, target) == 0) {
        i = (size_t)hint;
    } else {
        /* A unit separator cannot occur in a scenario's name. */
        sbuf_addf(&key, "%s\x1f%s", scenario, target);
        i = strmap_get(&m->pair_ids, key.buf ? key.buf : "", &added);
        sbuf_release(&key);
    }
    if (added) {
        XGROW(m->pairs, i + 1, m->pairs_alloc);
        memset(&m->pairs[i], 0, sizeof(m->pairs[i]));
        m->pairs[i].scenario = xstrdup(scenario);
        m->pairs[i].target = xstrdup(target);
        sbuf_adds(&key, "{scenario=\"");
        prom_label(&key, scenario);
        sbuf_adds(&key, "\",target=\"");
        prom_label(&key, target);
        sbuf_adds(&key, "\",test=\"");
        m->pairs[i].labels = sbuf_take(&key, NULL);
    }
    p = &m->pairs[i];
    for (b = 0; b < NDUR && seconds > dur_le[b]; b++)
        ;
    if (b < NDUR)
        p->le[b]++;
    p->count++;
    p->sum += seconds;
    return (uint32_t)i;
}

static const char *fail_step(const char *fail)
{
    return fail && (fail[0] & FAIL_STEP) ? fail + 1 : NULL;
}

static const char *fail_message(const char *fail)
{
    if (fail == NULL || !(fail[0] & FAIL_MESSAGE))
        return NULL;
    return fail + 1 + ((fail[0] & FAIL_STEP) ? strlen(fail + 1) + 1 : 0);
}

static int same(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* Keep <step> and <message> in *<fail>, unless they are what it holds. */
static void set_fail(char **fail, const char *step, const char *message)
{
    size_t ls, lm;
    char *p;

    if (*fail && same(fail_step(*fail), step) &&
        same(fail_message(*fail), message))
        return;
    free(*fail);
    *fail = NULL;
    if (step == NULL && message == NULL)
        return;
    ls = step ? strlen(step) + 1 : 0;
    lm = message ? strlen(message) + 1 : 0;
    p = *fail = xmalloc(1 + ls + lm);
    *p++ = (char)((step ? FAIL_STEP : 0) | (message ? FAIL_MESSAGE : 0));
    if (step)
        memcpy(p, step, ls);
    if (message)
        memcpy(p + ls, message, lm);
}

static void on_result(struct result_sink *s, const struct run_result *r)
{
    struct metrics *m = (struct metrics *)s;
    const char *scenario = r->sc ? scenario_name(r->sc) : "";
    struct tgt *tg = target_of(m, r->target);
    uint32_t started = r->started > 0 ? (uint32_t)r->started : 0;
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
    t->pair = observe_pair(m, added ? -1 : (long)t->pair, scenario,
                           r->target, r->duration_ms / 1000.0);
    if (t->status != (int)r->status)
        t->since = started;
    t->status = (int8_t)r->status;
    t->last_run = started;
    t->duration_ms = (float)r->duration_ms;
    t->runs++;
    if (r->status != RUN_PASS)
        t->failures++;
    if (r->status == RUN_PASS)
        set_fail(&t->fail, NULL, NULL);
    else
        set_fail(&t->fail, r->step, r->message);
    t->hist = (t->hist << 2) | ((uint32_t)r->status & 3u);
    if (t->hn < METRICS_HISTORY)
        t->hn++;
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
    for (i = 0; i < m->test_ids.n; i++)
        free(m->tests[i].fail);
    for (i = 0; i < m->pair_ids.n; i++) {
        free(m->pairs[i].scenario);
        free(m->pairs[i].target);
        free(m->pairs[i].labels);
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
    size_t k;

    out->id = strmap_key(&m->test_ids, i);
    out->scenario = m->pairs[t->pair].scenario;
    out->target = m->pairs[t->pair].target;
    out->status = t->status;
    out->since = (time_t)t->since;
    out->last_run = (time_t)t->last_run;
    out->duration_ms = t->duration_ms;
    out->runs = t->runs;
    out->failures = t->failures;
    out->message = fail_message(t->fail);
    out->step = fail_step(t->fail);
    out->nhistory = t->hn;
    for (k = 0; k < t->hn; k++)
        out->history[k] = (int)((t->hist >> (2 * (t->hn - 1 - k))) & 3u);
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
    size_t n;

    while (*v) {
        n = strcspn(v, "\\\"\n");
        if (n)
            sbuf_add(out, v, n);
        v += n;
        if (*v == '\\')
            sbuf_adds(out, "\\\\");
        else if (*v == '"')
            sbuf_adds(out, "\\\"");
        else if (*v == '\n')
            sbuf_adds(out, "\\n");
        else
            break;
        v++;
    }
}

void prom_value(struct sbuf *out, double v)
{
    if (isnan(v))
        sbuf_adds(out, "NaN");
    else if (isinf(v))
        sbuf_adds(out, v > 0 ? "+Inf" : "-Inf");
    else {
        char buf[32];

        /* The shortest form that reads back as the same double: 0.05,
         * not 0.050000000000000003. */
        snprintf(buf, sizeof(buf), "%.15g", v);
        if (strtod(buf, NULL) != v)
            snprintf(buf, sizeof(buf), "%.17g", v);
        sbuf_adds(out, buf);
    }
}

static void test_labels(struct sbuf *out, const char *name,
                        const struct pair *p, const char *id)
{
    sbuf_adds(out, name);
    sbuf_adds(out, p->labels);
    prom_label(out, id);
    sbuf_add(out, "\"} ", 3);
}

/* A duration in seconds from milliseconds kept as a float: to the
 * microsecond, which is all a float of milliseconds holds, and without
 * printf, for there may be ten thousand of them in an answer. */
static void prom_seconds(struct sbuf *out, double ms)
{
    unsigned long long us;
    char frac[7];
    int i, n = 6;

    if (!(ms >= 0) || ms > 1e12) {
        prom_value(out, ms / 1000.0);
        return;
    }
    us = (unsigned long long)(ms * 1000.0 + 0.5);
    sbuf_add_uint(out, us / 1000000);
    for (i = 5; i >= 0; i--) {
        frac[i] = (char)('0' + us % 10);
        us /= 10;
    }
    while (n > 0 && frac[n - 1] == '0')
        n--;
    if (n) {
        sbuf_addc(out, '.');
        sbuf_add(out, frac, (size_t)n);
    }
}

static const struct {
    const char *name, *type, *help;
} test_series[] = {
    { "prodwatch_test_status", "gauge",
      "Last status of the test: 0 pass, 1 fail, 2 error." },
    { "prodwatch_test_last_duration_seconds", "gauge",
      "Duration of the test's last run (steps only)." },
    { "prodwatch_test_runs_total", "counter", "Runs of the test." },
    { "prodwatch_test_failures_total", "counter",
      "Runs of the test that failed or ended in error." },
};
#define NTEST_SERIES (sizeof(test_series) / sizeof(test_series[0]))

/* Series <s> of the tests from *<i> on, until <out> holds <budget> bytes:
 * 1 when the series is written to its end. */
static int write_tests(const struct metrics *m, struct sbuf *out, size_t s,
                       size_t *i, size_t budget)
{
    if (*i == 0)
        prom_head(out, test_series[s].name, test_series[s].type,
                  test_series[s].help);
    for (; *i < m->test_ids.n; ++*i) {
        const struct test *t = &m->tests[*i];

        if (out->len >= budget)
            return 0;
        test_labels(out, test_series[s].name, &m->pairs[t->pair],
                    strmap_key(&m->test_ids, *i));
        if (s == 0)
            sbuf_add_int(out, t->status);
        else if (s == 1)
            prom_seconds(out, t->duration_ms);
        else
            sbuf_add_uint(out, s == 2 ? t->runs : t->failures);
        sbuf_addc(out, '\n');
    }
    return 1;
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
            prom_label(out, strmap_key(&m->target_ids, i));
            sbuf_addf(out, "\",class=\"%s\"} %llu\n", class_name[c],
                      (unsigned long long)m->tgts[i].cls[c]);
        }
}

int metrics_write_prom_part(const struct metrics *m, struct sbuf *out,
                            int per_test, struct metrics_cursor *c,
                            size_t budget)
{
    while (c->part < NTEST_SERIES) {
        if (!per_test) {
            c->part = NTEST_SERIES;
            break;
        }
        if (!write_tests(m, out, c->part, &c->i, budget))
            return 0;
        c->part++;
        c->i = 0;
    }
    if (c->part == NTEST_SERIES) {
        /* A few series a scenario x target or a target: one piece. */
        write_pairs(m, out);
        write_targets(m, out);
        c->part++;
    }
    return 1;
}

void metrics_write_prom(const struct metrics *m, struct sbuf *out,
                        int per_test)
{
    struct metrics_cursor c = { 0, 0 };

    metrics_write_prom_part(m, out, per_test, &c, (size_t)-1);
}
