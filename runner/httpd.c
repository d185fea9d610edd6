/* httpd.c -- /healthz, /metrics and /api/status on the service's loop. */
#include <arpa/inet.h>
#include <math.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "alerting.h"
#include "clock.h"
#include "config.h"
#include "docs.h"
#include "engine.h"
#include "jsonscan.h"
#include "keys.h"
#include "httpd.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "redis.h"
#include "schedule.h"
#include "spool.h"
#include "statuspage.h"
#include "store.h"
#include "suite.h"
#include "xalloc.h"

#define MAX_HEADERS     8192
#define MAX_CONNECTIONS 128
/* A connection must finish sending a request within this long after it
 * opened or after its last request began, unless an answer to it is
 * going out: a client that trickles or idles cannot hold a slot. */
#define REQUEST_DEADLINE_S 10.0
#define TIMEOUT_S       10
#define STAMP_MS        1000
#define STALL_S         5.0
#define PER_TEST_CAP    10000 /* tests beyond which per-test series stop */
/* A long answer (/metrics, /api/status of many tests) is made and sent a
 * piece of about this size at a time, the next once the last has gone
 * out, so that no turn of the loop spends more than a fraction of a
 * millisecond on it and probing is never held up. */
#define PIECE_BYTES     (32 * 1024)

struct stream;

/* One accepted connection.  We hold a reference on its bufferevent, so
 * that we can tell when libevent has let it go (its callbacks are then
 * cleared) without touching freed memory; dropping ours closes it. */
struct conn {
    struct bufferevent *bev;
    struct evhttp_connection *evcon; /* learnt at its first request */
    double since;  /* accepted, or its last request began (monotonic) */
    int live;      /* libevent has set it up */
    int cut;       /* shut down for missing its deadline */
};

struct httpd {
    struct httpd_src src;
    struct loop *loop;
    struct evhttp *http;
    char *listen;
    int port;
    struct loop_timer *stamp_timer;
    double stamp;       /* the loop's last turn seen, monotonic */
    double redis_down;  /* since when Redis is away; 0: up */
    int watching;
    int per_test_capped; /* said once in the log */
    /* Open connections, each counted from its accept (evhttp_set_bevcb)
     * until libevent lets it go: at MAX_CONNECTIONS the listener stops
     * accepting, so the listener never takes the descriptors the probes
     * need. */
    struct conn conns[MAX_CONNECTIONS];
    size_t nconns;
    struct evconnlistener *listener;
    int paused;             /* the listener is stopped at the cap */
    struct loop_timer *sweep_timer;
    struct pending *pending; /* /api/test requests waiting on Redis */
    struct stream *streams;  /* long answers being sent */
};

static void conns_sweep(struct httpd *h);

/* ---- the loop's heartbeat and Redis' absence -------------------------- */

static void on_stamp(void *arg)
{
    struct httpd *h = arg;

    h->stamp = clock_mono();
    metrics_tick(h->src.metrics, h->stamp);
    conns_sweep(h);
    h->stamp_timer = loop_after(h->loop, STAMP_MS, on_stamp, h);
}

static void on_redis(int up, void *arg)
{
    struct httpd *h = arg;

    if (up)
        h->redis_down = 0;
    else if (h->redis_down == 0)
        h->redis_down = clock_mono();
}

/* ---- answers ---------------------------------------------------------- */

/* Send <out> (consumed) as the answer to <req>: to a HEAD request, only
 * the length the body would have, for libevent sends a body whatever the
 * method and a keep-alive client would read it as the next answer. */
void httpd_send(struct evhttp_request *req, int code, const char *reason,
                struct evbuffer *out)
{
    struct evkeyvalq *hd = evhttp_request_get_output_headers(req);
    char len[32];

    if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
        snprintf(len, sizeof(len), "%zu", evbuffer_get_length(out));
        evhttp_remove_header(hd, "Content-Length");
        evhttp_add_header(hd, "Content-Length", len);
        evbuffer_drain(out, evbuffer_get_length(out));
    }
    evhttp_send_reply(req, code, reason, NULL);
}

static void reply(struct evhttp_request *req, int code, const char *reason,
                  const char *type, const struct sbuf *body)
{
    struct evbuffer *out = evhttp_request_get_output_buffer(req);
    struct evkeyvalq *hd = evhttp_request_get_output_headers(req);

    evhttp_add_header(hd, "Content-Type", type);
    evhttp_add_header(hd, "Cache-Control", "no-store");
    if (sbuf_failed(body) == PW_OK && body->buf)
        evbuffer_add(out, body->buf, body->len);
    else if (sbuf_failed(body) != PW_OK) {
        code = 500;
        reason = "Internal Server Error";
        evbuffer_drain(out, evbuffer_get_length(out));
        evbuffer_add_printf(out, "out of memory\n");
    }
    httpd_send(req, code, reason, out);
}

static void reply_text(struct evhttp_request *req, int code,
                       const char *reason, const char *text)
{
    struct sbuf b = SBUF_INIT;

    sbuf_adds(&b, text);
    sbuf_addc(&b, '\n');
    reply(req, code, reason, "text/plain; charset=utf-8", &b);
    sbuf_release(&b);
}

static const struct config *cur_config(const struct httpd *h,
                                       struct httpd_facts *f)
{
    h->src.facts(h->src.arg, f);
    return suite_config(f->suite);
}

/* The first reason found not to be healthy into <why>: 0, or -1. */
static int unhealthy(const struct httpd *h, int loop_only, struct sbuf *why)
{
    struct httpd_facts f;
    const struct config *cfg = cur_config(h, &f);
    double now = clock_mono();

    if (now - h->stamp > STALL_S) {
        sbuf_addf(why, "loop stalled: last turn %.1fs ago", now - h->stamp);
        return -1;
    }
    if (loop_only)
        return 0;
    if (h->redis_down > 0 &&
        (now - h->redis_down) * 1000.0 >= (double)cfg->redis_down_after_ms) {
        sbuf_addf(why, "redis unreachable for %.0fs", now - h->redis_down);
        return -1;
    }
    return 0;
}

static void serve_health(struct httpd *h, struct evhttp_request *req,
                         int loop_only)
{
    struct sbuf why = SBUF_INIT;

    if (unhealthy(h, loop_only, &why) < 0)
        reply_text(req, 503, "Service Unavailable", why.buf);
    else
        reply_text(req, 200, "OK", "ok");
    sbuf_release(&why);
}

/* ---- /metrics --------------------------------------------------------- */

static void gauge(struct sbuf *b, const char *name, const char *type,
                  const char *help, double v)
{
    prom_head(b, name, type, help);
    sbuf_addf(b, "%s ", name);
    prom_value(b, v);
    sbuf_addc(b, '\n');
}

static void target_gauge(struct sbuf *b, const char *name, const char *target,
                         double v)
{
    sbuf_addf(b, "%s{target=\"", name);
    prom_label(b, target);
    sbuf_adds(b, "\"} ");
    prom_value(b, v);
    sbuf_addc(b, '\n');
}

static void write_rates(const struct httpd *h, const struct config *cfg,
                        struct sbuf *b)
{
    size_t i;

    prom_head(b, "prodwatch_request_rate", "gauge",
              "Achieved requests per second (over about 10 s), per target; "
              "without a target label, in all.");
    sbuf_adds(b, "prodwatch_request_rate ");
    prom_value(b, metrics_rate_all(h->src.metrics));
    sbuf_addc(b, '\n');
    for (i = 0; i < cfg->ntargets; i++)
        target_gauge(b, "prodwatch_request_rate", cfg->targets[i].name,
                     metrics_rate(h->src.metrics, cfg->targets[i].name));
    prom_head(b, "prodwatch_request_rate_limit", "gauge",
              "Configured requests per second, per target; without a target "
              "label, in all (+Inf: unlimited).");
    sbuf_adds(b, "prodwatch_request_rate_limit ");
    prom_value(b, cfg->rate > 0 ? cfg->rate : INFINITY);
    sbuf_addc(b, '\n');
    for (i = 0; i < cfg->ntargets; i++)
        target_gauge(b, "prodwatch_request_rate_limit", cfg->targets[i].name,
                     cfg->targets[i].rate > 0 ? cfg->targets[i].rate
                                              : INFINITY);
}

static void write_lateness(const struct httpd *h, struct sbuf *b)
{
    static const double le[] = { 0.001, 0.005, 0.01, 0.05, 0.1,
                                 0.5,   1,     5,    10,   60 };
    uint64_t counts[sizeof(le) / sizeof(le[0])], total;
    double sum;
    size_t i;

    schedule_lateness(h->src.sched, le, sizeof(le) / sizeof(le[0]), counts,
                      &total, &sum);
    prom_head(b, "prodwatch_schedule_lateness_seconds", "histogram",
              "How late runs started after their due time.");
    for (i = 0; i < sizeof(le) / sizeof(le[0]); i++) {
        sbuf_adds(b, "prodwatch_schedule_lateness_seconds_bucket{le=\"");
        prom_value(b, le[i]);
        sbuf_addf(b, "\"} %llu\n", (unsigned long long)counts[i]);
    }
    sbuf_addf(b,
              "prodwatch_schedule_lateness_seconds_bucket{le=\"+Inf\"} %llu\n"
              "prodwatch_schedule_lateness_seconds_sum ",
              (unsigned long long)total);
    prom_value(b, sum);
    sbuf_addf(b, "\nprodwatch_schedule_lateness_seconds_count %llu\n",
              (unsigned long long)total);
}

static void write_alerts(const struct httpd *h, struct sbuf *b)
{
    static const char *const outcome[] = { "delivered", "retried", "rejected",
                                           "dropped" };
    size_t i, k, n = alerting_reporters(h->src.alerting);

    prom_head(b, "prodwatch_alert_deliveries_total", "counter",
              "Alert events handed to each reporter, by outcome.");
    for (i = 0; i < n; i++) {
        struct outbox_stats st;
        unsigned long v[4];

        memset(&st, 0, sizeof(st));
        alerting_deliveries(h->src.alerting, i, &st);
        v[0] = st.delivered;
        v[1] = st.retried;
        v[2] = st.rejected;
        v[3] = st.dropped;
        for (k = 0; k < 4; k++) {
            sbuf_adds(b, "prodwatch_alert_deliveries_total{reporter=\"");
            prom_label(b, alerting_reporter_name(h->src.alerting, i));
            sbuf_addf(b, "\",outcome=\"%s\"} %lu\n", outcome[k], v[k]);
        }
    }
    gauge(b, "prodwatch_alerts_open", "gauge", "Incidents open now.",
          (double)alerting_incidents_open(h->src.alerting));
}

static int per_test(struct httpd *h, const struct config *cfg)
{
    if (!cfg->metrics_per_test)
        return 0;
    if (metrics_tests(h->src.metrics) <= PER_TEST_CAP)
        return 1;
    if (!h->per_test_capped) {
        h->per_test_capped = 1;
        pwlog(PWLOG_WARN, "metrics.per_test",
              "more than %d tests: per-test series are left out of /metrics "
              "(the scenario x target histograms stay)",
              PER_TEST_CAP);
    }
    return 0;
}

/* The runner's own series: a few lines, written at the end. */
static void write_runner_series(struct httpd *h, struct sbuf *b)
{
    struct httpd_facts f;
    const struct config *cfg = cur_config(h, &f);
    struct engine_stats es;
    struct sched_stats ss;
    struct store_stats st;

    engine_stats(h->src.engine, &es);
    schedule_stats(h->src.sched, clock_mono(), &ss);
    store_stats(h->src.store, &st);
    gauge(b, "prodwatch_tests", "gauge", "Tests scheduled.",
          (double)ss.tests);
    gauge(b, "prodwatch_runs_in_flight", "gauge", "Runs in flight.",
          (double)es.runs_in_flight);
    gauge(b, "prodwatch_queue_depth", "gauge",
          "Tests due and not started yet.", (double)ss.due_now);
    gauge(b, "prodwatch_throttle_waiting", "gauge",
          "Requests waiting for their slot in the throttle.",
          (double)es.throttle_waiting);
    write_rates(h, cfg, b);
    write_lateness(h, b);
    prom_head(b, "prodwatch_spool_bytes", "gauge",
              "Bytes kept on disk while Redis is away, per spool.");
    sbuf_addf(b, "prodwatch_spool_bytes{spool=\"results\"} %llu\n",
              (unsigned long long)st.spool_bytes);
    sbuf_addf(b, "prodwatch_spool_bytes{spool=\"journal\"} %llu\n",
              (unsigned long long)(h->src.journal_spool
                                       ? spool_bytes(h->src.journal_spool)
                                       : 0));
    gauge(b, "prodwatch_redis_up", "gauge",
          "1 while the Redis connection is up.",
          redis_up(h->src.redis) ? 1 : 0);
    write_alerts(h, b);
    gauge(b, "prodwatch_config_reloads_total", "counter",
          "Configurations reloaded and taken.", (double)f.reloads);
    prom_head(b, "prodwatch_build_info", "gauge", "The running version.");
    sbuf_adds(b, "prodwatch_build_info{version=\"");
    prom_label(b, h->src.version);
    sbuf_adds(b, "\"} 1\n");
}

/* ---- /api ------------------------------------------------------------- */

static const char *level_word(enum pw_alert_level l)
{
    static const char *const names[] = { "test", "scenario", "target",
                                         "runner" };

    return (size_t)l < sizeof(names) / sizeof(names[0]) ? names[l] : "?";
}

static const char *status_word(int st)
{
    return st < 0 ? "unknown" : run_status_name((enum run_status)st);
}

static void json_opt(struct sbuf *b, const char *s)
{
    if (s)
        sbuf_add_json_str(b, s, strlen(s));
    else
        sbuf_adds(b, "null");
}

static void json_test(struct sbuf *b, const char *id, int sched_status,
                      const struct metrics_test *t)
{
    char strip[METRICS_HISTORY];
    unsigned long long tenths;
    size_t i;

    /* Written without printf: /api/status holds thousands of these. */
    sbuf_adds(b, "{\"id\":");
    sbuf_add_json_str(b, id, strlen(id));
    sbuf_adds(b, ",\"scenario\":");
    json_opt(b, t ? t->scenario : NULL);
    sbuf_adds(b, ",\"target\":");
    json_opt(b, t ? t->target : NULL);
    sbuf_adds(b, ",\"status\":\"");
    sbuf_adds(b, status_word(t ? t->status : sched_status));
    if (t == NULL) {
        sbuf_adds(b, "\",\"since\":null,\"last_run\":null,"
                     "\"duration_ms\":null,\"message\":null,\"step\":null,"
                     "\"runs\":0,\"failures\":0,\"history\":\"\"}");
        return;
    }
    sbuf_adds(b, "\",\"since\":");
    sbuf_add_int(b, (long long)t->since);
    sbuf_adds(b, ",\"last_run\":");
    sbuf_add_int(b, (long long)t->last_run);
    sbuf_adds(b, ",\"duration_ms\":");
    tenths = t->duration_ms > 0
                 ? (unsigned long long)(t->duration_ms * 10.0 + 0.5)
                 : 0;
    sbuf_add_uint(b, tenths / 10);
    sbuf_addc(b, '.');
    sbuf_addc(b, (char)('0' + tenths % 10));
    sbuf_adds(b, ",\"message\":");
    json_opt(b, t->message);
    sbuf_adds(b, ",\"step\":");
    json_opt(b, t->step);
    sbuf_adds(b, ",\"runs\":");
    sbuf_add_uint(b, t->runs);
    sbuf_adds(b, ",\"failures\":");
    sbuf_add_uint(b, t->failures);
    sbuf_adds(b, ",\"history\":\"");
    /* One letter a run, oldest first: p pass, f fail, e error.  Ten
     * thousand tests' strips stay a few hundred kilobytes. */
    for (i = 0; i < t->nhistory; i++)
        strip[i] = "pfe?"[t->history[i] & 3];
    sbuf_add(b, strip, t->nhistory);
    sbuf_add(b, "\"}", 2);
}

struct test_walk {
    struct httpd *h;
    struct sbuf *b;
    size_t n;
    size_t budget; /* stop once b holds this much; 0: never */
};

static int walk_test(const char *id, double due, int status, void *arg)
{
    struct test_walk *w = arg;
    struct metrics_test t;
    int known = metrics_find(w->h->src.metrics, id, &t);

    (void)due;
    if (w->n++)
        sbuf_addc(w->b, ',');
    json_test(w->b, id, status, known ? &t : NULL);
    return w->budget && w->b->len >= w->budget;
}

static int walk_incident(const char *dedup_key, enum pw_alert_level level,
                         const char *summary, int triggered, long long since,
                         void *arg)
{
    struct test_walk *w = arg;

    if (w->n++)
        sbuf_addc(w->b, ',');
    sbuf_adds(w->b, "{\"dedup_key\":");
    json_opt(w->b, dedup_key);
    sbuf_addf(w->b, ",\"level\":\"%s\",\"summary\":", level_word(level));
    json_opt(w->b, summary);
    sbuf_addf(w->b, ",\"triggered\":%s,\"since\":%lld}",
              triggered ? "true" : "false", since);
    return 0;
}

/* What the status page draws its grid from: the scenarios with what a
 * reader filters on, and the targets with their state. */
static void json_suite(const struct httpd *h, const struct suite *s,
                       struct sbuf *b)
{
    const struct config *cfg = suite_config(s);
    size_t i, k, n = suite_scenario_count(s);

    sbuf_adds(b, ",\"scenarios\":[");
    for (i = 0; i < n; i++) {
        const struct scenario *sc = suite_scenario(s, i);

        sbuf_adds(b, i ? ",{\"name\":" : "{\"name\":");
        json_opt(b, scenario_name(sc));
        sbuf_adds(b, ",\"description\":");
        json_opt(b, scenario_description(sc));
        sbuf_addf(b, ",\"severity\":\"%s\",\"every_ms\":%llu,\"tags\":[",
                  severity_name(scenario_severity(sc)),
                  (unsigned long long)scenario_every_ms(sc));
        for (k = 0; k < scenario_tag_count(sc); k++) {
            if (k)
                sbuf_addc(b, ',');
            json_opt(b, scenario_tag(sc, k));
        }
        sbuf_adds(b, "]}");
    }
    sbuf_adds(b, "],\"targets\":[");
    for (i = 0; i < cfg->ntargets; i++) {
        sbuf_adds(b, i ? ",{\"name\":" : "{\"name\":");
        json_opt(b, cfg->targets[i].name);
        sbuf_adds(b, ",\"channel\":");
        json_opt(b, cfg->targets[i].channel);
        sbuf_addf(b, ",\"paused\":%s,\"silenced\":%s}",
                  h->src.held(i, h->src.arg) ? "true" : "false",
                  alerting_silenced(h->src.alerting, cfg->targets[i].name)
                      ? "true"
                      : "false");
    }
    sbuf_addc(b, ']');
}

/* /api/status up to its tests' array, opened. */
static void status_head(struct httpd *h, struct sbuf *b)
{
    struct httpd_facts f;
    struct engine_stats es;

    cur_config(h, &f);
    engine_stats(h->src.engine, &es);
    sbuf_adds(b, "{\"runner\":{\"id\":");
    json_opt(b, h->src.runner_id);
    sbuf_adds(b, ",\"version\":");
    json_opt(b, h->src.version);
    sbuf_addf(b, ",\"tests\":%zu,\"runs_in_flight\":%u,\"redis_up\":%s,"
                 "\"config_reloads\":%lu},\"tests\":[",
              schedule_count(h->src.sched), es.runs_in_flight,
              redis_up(h->src.redis) ? "true" : "false", f.reloads);
}

/* /api/status from its tests' array, closed, to the end.  <complete>: 0
 * when a reload came while the tests were being listed. */
static void status_tail(struct httpd *h, struct sbuf *b, int complete)
{
    struct httpd_facts f;
    const struct config *cfg = cur_config(h, &f);
    struct test_walk w = { h, b, 0, 0 };
    size_t i, n;

    sbuf_addf(b, "],\"tests_complete\":%s,\"incidents\":[",
              complete ? "true" : "false");
    alerting_visit(h->src.alerting, walk_incident, &w);
    sbuf_addf(b, "],\"paused\":{\"all\":%s,\"targets\":[",
              f.all_paused == 1 ? "true" : "false");
    for (i = n = 0; i < cfg->ntargets; i++)
        if (h->src.held(i, h->src.arg)) {
            if (n++)
                sbuf_addc(b, ',');
            json_opt(b, cfg->targets[i].name);
        }
    sbuf_adds(b, "]},\"silenced\":[");
    for (i = n = 0; i < cfg->ntargets; i++)
        if (alerting_silenced(h->src.alerting, cfg->targets[i].name)) {
            if (n++)
                sbuf_addc(b, ',');
            json_opt(b, cfg->targets[i].name);
        }
    sbuf_addc(b, ']');
    json_suite(h, f.suite, b);
    sbuf_adds(b, "}\n");
}

/* ---- long answers, a piece at a time ------------------------------------ */

enum stream_kind { STREAM_METRICS, STREAM_STATUS };

struct stream {
    struct stream *next;
    struct httpd *h;
    struct evhttp_request *req;
    struct evhttp_connection *conn;
    const char *type;
    enum stream_kind kind;
    int started; /* the status line and headers are out */
    int head;    /* /api/status: its head is written */
    int per_test;                /* /metrics */
    struct metrics_cursor mc;    /* /metrics */
    size_t pos, ntests;          /* /api/status: schedule position, listed */
    unsigned long gen;           /* /api/status: the schedule's generation */
};

/* Append the next piece of <st>'s answer to <b>, stopping once <b> holds
 * <budget> bytes: 1 when the answer is complete. */
static int stream_fill(struct stream *st, struct sbuf *b, size_t budget)
{
    struct httpd *h = st->h;

    if (st->kind == STREAM_METRICS) {
        if (!metrics_write_prom_part(h->src.metrics, b, st->per_test, &st->mc,
                                     budget))
            return 0;
        write_runner_series(h, b);
        return 1;
    }
    if (!st->head) {
        st->head = 1;
        st->gen = schedule_generation(h->src.sched);
        status_head(h, b);
    }
    if (schedule_generation(h->src.sched) != st->gen) {
        status_tail(h, b, 0); /* positions no longer mean the same tests */
        return 1;
    }
    while (st->pos < schedule_count(h->src.sched)) {
        struct test_walk w = { h, b, st->ntests, budget };

        st->pos = schedule_visit_from(h->src.sched, st->pos, walk_test, &w);
        st->ntests = w.n;
        if (b->len >= budget)
            return 0;
    }
    status_tail(h, b, 1);
    return 1;
}

static void stream_free(struct stream *st)
{
    struct stream **pp;

    for (pp = &st->h->streams; *pp; pp = &(*pp)->next)
        if (*pp == st) {
            *pp = st->next;
            break;
        }
    free(st);
}

static void stream_next(struct evhttp_connection *c, void *arg);

/* Make and send the next piece.  The first piece of an answer that fits
 * in it goes as a plain reply with its length; a longer one goes chunked
 * (HTTP/1.1; to an HTTP/1.0 client, until the connection closes). */
static void stream_send(struct stream *st)
{
    struct sbuf b = SBUF_INIT;
    struct evbuffer *piece;
    int done;

    if (evhttp_request_get_connection(st->req) == NULL) {
        /* The client went away: the request is ours to free. */
        evhttp_send_reply_end(st->req);
        stream_free(st);
        return;
    }
    done = stream_fill(st, &b, PIECE_BYTES);
    if (sbuf_failed(&b) != PW_OK && st->started) {
        /* Cut short: a client sees a chunked answer without its end. */
        evhttp_connection_free(st->conn);
        sbuf_release(&b);
        return;
    }
    if (!st->started && (done || sbuf_failed(&b) != PW_OK)) {
        reply(st->req, 200, "OK", st->type, &b);
        sbuf_release(&b);
        stream_free(st);
        return;
    }
    if (!st->started) {
        struct evkeyvalq *hd = evhttp_request_get_output_headers(st->req);

        evhttp_add_header(hd, "Content-Type", st->type);
        evhttp_add_header(hd, "Cache-Control", "no-store");
        evhttp_send_reply_start(st->req, 200, "OK");
        st->started = 1;
    }
    piece = evbuffer_new();
    if (piece == NULL || evbuffer_add(piece, b.buf, b.len) != 0) {
        if (piece)
            evbuffer_free(piece);
        sbuf_release(&b);
        evhttp_connection_free(st->conn);
        return;
    }
    sbuf_release(&b);
    if (done) {
        evhttp_send_reply_chunk(st->req, piece);
        evhttp_send_reply_end(st->req);
        stream_free(st);
    } else {
        /* stream_next() runs once this piece has gone out, from the
         * loop. */
        evhttp_send_reply_chunk_with_cb(st->req, piece, stream_next, st);
    }
    evbuffer_free(piece);
}

static void stream_next(struct evhttp_connection *c, void *arg)
{
    (void)c;
    stream_send(arg);
}

/* Answer <req> with a long answer of <kind>.  A HEAD request is answered
 * whole (libevent sends no piece of it, so none would ever go out). */
static void stream_start(struct httpd *h, struct evhttp_request *req,
                         enum stream_kind kind, const char *type,
                         int per_test)
{
    struct stream *st = xcalloc(1, sizeof(*st));

    st->h = h;
    st->req = req;
    st->conn = evhttp_request_get_connection(req);
    st->kind = kind;
    st->type = type;
    st->per_test = per_test;
    st->next = h->streams;
    h->streams = st;
    if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
        struct sbuf b = SBUF_INIT;

        while (!stream_fill(st, &b, (size_t)-1))
            ;
        reply(req, 200, "OK", type, &b);
        sbuf_release(&b);
        stream_free(st);
        return;
    }
    stream_send(st);
}

/* Connection <c> is closing: its answers in progress end with it. */
static void streams_closed(struct httpd *h, struct evhttp_connection *c)
{
    struct stream *st = h->streams, *next;

    for (; st; st = next) {
        next = st->next;
        if (st->conn != c)
            continue;
        /* A request cut off from its connection is ours to free; one
         * still on it goes with the connection. */
        if (evhttp_request_get_connection(st->req) == NULL)
            evhttp_send_reply_end(st->req);
        stream_free(st);
    }
}

static void serve_metrics(struct httpd *h, struct evhttp_request *req)
{
    struct httpd_facts f;

    stream_start(h, req, STREAM_METRICS,
                 "text/plain; version=0.0.4; charset=utf-8",
                 per_test(h, cur_config(h, &f)));
}

static void serve_status(struct httpd *h, struct evhttp_request *req)
{
    stream_start(h, req, STREAM_STATUS, "application/json", 0);
}

/* A /api/test/ID request waiting for the test's runs from Redis. */
struct pending {
    struct pending *next;
    struct httpd *h; /* NULL once the listener is gone */
    struct evhttp_request *req;
    struct sbuf body; /* the answer so far, without its closing brace */
};

static void unlink_pending(struct httpd *h, struct pending *p)
{
    struct pending **pp;

    for (pp = &h->pending; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            return;
        }
}

/* End the answer: the runs of <reply> (an LRANGE of {p}:runs:{id}),
 * or null and the reason when Redis did not answer. */
static void on_runs(struct redisReply *r, void *arg)
{
    struct pending *p = arg;
    size_t i, n = 0;

    if (p->h == NULL) { /* the listener went first and answered */
        sbuf_release(&p->body);
        free(p);
        return;
    }
    unlink_pending(p->h, p);
    if (r && r->type == REDIS_REPLY_ARRAY) {
        sbuf_adds(&p->body, ",\"last_runs\":[");
        for (i = 0; i < r->elements; i++) {
            const redisReply *e = r->element[i];

            /* What the store wrote; anything else in the key is left out
             * rather than let it break the answer's JSON. */
            if (e->type != REDIS_REPLY_STRING || e->len == 0 ||
                e->str[0] != '{' ||
                !jsonscan_structure(e->str, e->len, NULL, NULL))
                continue;
            if (n++)
                sbuf_addc(&p->body, ',');
            sbuf_add(&p->body, e->str, e->len);
        }
        sbuf_adds(&p->body, "]}\n");
    } else {
        sbuf_addf(&p->body, ",\"last_runs\":null,\"last_runs_error\":\"%s\"}\n",
                  r ? "redis answered an error" : "redis unreachable");
    }
    reply(p->req, 200, "OK", "application/json", &p->body);
    sbuf_release(&p->body);
    free(p);
}

static void serve_test(struct httpd *h, struct evhttp_request *req,
                       const char *enc)
{
    char *id = evhttp_uridecode(enc, 0, NULL);
    int status = -1, scheduled = 0;
    struct httpd_facts f;
    struct metrics_test t;
    struct sbuf key = SBUF_INIT;
    struct pending *p;
    const char *argv[4];
    int known;

    if (id == NULL) {
        reply_text(req, 400, "Bad Request", "bad test id");
        return;
    }
    known = metrics_find(h->src.metrics, id, &t);
    if (!known)
        scheduled = schedule_find(h->src.sched, id, &status);
    if (!known && !scheduled) {
        reply_text(req, 404, "Not Found", "no such test");
        free(id);
        return;
    }
    p = xcalloc(1, sizeof(*p));
    p->h = h;
    p->req = req;
    json_test(&p->body, id, status, known ? &t : NULL);
    /* Its closing brace goes: the runs follow. */
    if (sbuf_failed(&p->body) == PW_OK && p->body.len > 0)
        p->body.buf[--p->body.len] = '\0';
    keys_name(&key, cur_config(h, &f)->key_prefix, "runs", id);
    argv[0] = "LRANGE";
    argv[1] = key.buf;
    argv[2] = "0";
    argv[3] = "-1";
    p->next = h->pending;
    h->pending = p;
    /* The reply comes from the loop, never inside this call. */
    redis_command(h->src.redis, on_runs, p, 4, argv, NULL);
    redis_flush(h->src.redis);
    sbuf_release(&key);
    free(id);
}

/* ---- living documentation --------------------------------------------- */

static int docs_result_of(const char *id, struct docs_result *r, void *arg)
{
    const struct httpd *h = arg;
    struct metrics_test t;

    if (!metrics_find(h->src.metrics, id, &t))
        return 0;
    r->status = t.status;
    r->step = t.step;
    r->message = t.message;
    r->since = t.since;
    r->last_run = t.last_run;
    return 1;
}

/* /docs/ (the index) and /docs/NAME (one scenario), from the current
 * suite and the results in memory. */
static void serve_docs(struct httpd *h, struct evhttp_request *req,
                       const char *enc)
{
    struct httpd_facts f;
    struct docs_src src;
    const struct scenario *sc = NULL;
    struct sbuf b = SBUF_INIT;
    char *name = NULL;

    cur_config(h, &f);
    memset(&src, 0, sizeof(src));
    src.suite = f.suite;
    src.result = docs_result_of;
    src.arg = h;
    src.format = DOCS_HTML;
    src.links = DOCS_LINK_SERVED;
    src.now = clock_now();
    if (*enc != '\0') {
        name = evhttp_uridecode(enc, 0, NULL);
        sc = name ? suite_find_scenario(f.suite, name) : NULL;
        if (sc == NULL) {
            reply_text(req, 404, "Not Found", "no such scenario");
            free(name);
            return;
        }
    }
    if (sc)
        docs_scenario(&b, &src, sc);
    else
        docs_index(&b, &src, NULL);
    statuspage_headers(req, STATUSPAGE_CSP_NO_SCRIPT);
    reply(req, 200, "OK", "text/html; charset=utf-8", &b);
    sbuf_release(&b);
    free(name);
}

/* ---- requests and connections ----------------------------------------- */

/* Whether an answer to <c> is being made or sent. */
static int conn_busy(const struct httpd *h, const struct conn *c)
{
    const struct stream *st;
    const struct pending *p;

    if (evbuffer_get_length(bufferevent_get_output(c->bev)) > 0)
        return 1;
    if (c->evcon == NULL)
        return 0;
    for (st = h->streams; st; st = st->next)
        if (st->conn == c->evcon)
            return 1;
    for (p = h->pending; p; p = p->next)
        if (evhttp_request_get_connection(p->req) == c->evcon)
            return 1;
    return 0;
}

/* Let go of the connections libevent has closed, cut those past their
 * deadline, and accept again below the cap. */
static void conns_sweep(struct httpd *h)
{
    double now = clock_mono();
    size_t i = 0;

    while (i < h->nconns) {
        struct conn *c = &h->conns[i];
        bufferevent_data_cb rd, wr;
        bufferevent_event_cb ev;

        bufferevent_getcb(c->bev, &rd, &wr, &ev, NULL);
        if (rd || wr || ev) {
            c->live = 1;
            if (!c->cut && now - c->since > REQUEST_DEADLINE_S &&
                !conn_busy(h, c)) {
                /* libevent sees the end and closes it. */
                c->cut = 1;
                shutdown(bufferevent_getfd(c->bev), SHUT_RDWR);
            }
            i++;
            continue;
        }
        if (!c->live && now - c->since < 1.0) { /* being set up */
            i++;
            continue;
        }
        bufferevent_decref(c->bev);
        h->conns[i] = h->conns[--h->nconns];
    }
    if (h->paused && h->nconns < MAX_CONNECTIONS && h->listener) {
        h->paused = 0;
        evconnlistener_enable(h->listener);
    }
}

static void on_sweep(void *arg)
{
    struct httpd *h = arg;

    h->sweep_timer = NULL;
    conns_sweep(h);
}

/* libevent asks for the bufferevent of each connection it accepts. */
static struct bufferevent *on_accept(struct event_base *base, void *arg)
{
    struct httpd *h = arg;
    struct bufferevent *bev;

    conns_sweep(h);
    bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (bev == NULL)
        return NULL;
    /* The listener stops in the call that reaches the cap, so no other
     * connection comes before one closes; one that did anyway would go
     * uncounted, not refused. */
    if (h->nconns == MAX_CONNECTIONS)
        return bev;
    bufferevent_incref(bev);
    h->conns[h->nconns].bev = bev;
    h->conns[h->nconns].evcon = NULL;
    h->conns[h->nconns].since = clock_mono();
    h->conns[h->nconns].live = 0;
    h->conns[h->nconns].cut = 0;
    if (++h->nconns == MAX_CONNECTIONS && h->listener && !h->paused) {
        h->paused = 1;
        evconnlistener_disable(h->listener);
        pwlog(PWLOG_WARN, "http.busy",
              "%d connections open: not accepting more until one closes",
              MAX_CONNECTIONS);
    }
    return bev;
}

static void on_conn_close(struct evhttp_connection *c, void *arg)
{
    struct httpd *h = arg;

    streams_closed(h, c);
    /* Its bufferevent is freed after this returns: let it go then. */
    if (h->sweep_timer == NULL)
        h->sweep_timer = loop_after(h->loop, 0, on_sweep, h);
}

/* A request began on its connection: learn the connection, restart its
 * deadline. */
static void admit(struct httpd *h, struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev;
    size_t i;

    if (evcon == NULL)
        return;
    bev = evhttp_connection_get_bufferevent(evcon);
    for (i = 0; i < h->nconns; i++)
        if (h->conns[i].bev == bev) {
            if (h->conns[i].evcon == NULL) {
                h->conns[i].evcon = evcon;
                evhttp_connection_set_closecb(evcon, on_conn_close, h);
            }
            h->conns[i].since = clock_mono();
            return;
        }
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct httpd *h = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);

    admit(h, req);
    /* "//x" is a host to the URI parser, not a path: nothing of ours. */
    if (uri && evhttp_uri_get_host(uri) != NULL) {
        reply_text(req, 404, "Not Found", "not found");
        return;
    }
    if (path == NULL || *path == '\0')
        path = "/";
    if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
                          "GET, HEAD");
        reply_text(req, 405, "Method Not Allowed", "only GET and HEAD");
    } else if (strcmp(path, "/healthz") == 0 || strcmp(path, "/readyz") == 0)
        serve_health(h, req, 0);
    else if (strcmp(path, "/livez") == 0)
        serve_health(h, req, 1);
    else if (strcmp(path, "/metrics") == 0)
        serve_metrics(h, req);
    else if (strcmp(path, "/api/status") == 0)
        serve_status(h, req);
    else if (strncmp(path, "/api/test/", 10) == 0 && path[10] != '\0')
        serve_test(h, req, path + 10);
    else if (strcmp(path, "/docs") == 0) {
        /* The index's links are relative to /docs/. */
        evhttp_add_header(evhttp_request_get_output_headers(req), "Location",
                          "/docs/");
        reply_text(req, 301, "Moved Permanently", "see /docs/");
    } else if (strncmp(path, "/docs/", 6) == 0)
        serve_docs(h, req, path + 6);
    else if (!statuspage_serve(req, path))
        reply_text(req, 404, "Not Found", "not found");
}

/* ---- the listener ----------------------------------------------------- */

static int bind_to(struct httpd *h, const char *listen, struct pw_err *err)
{
    const char *colon = strrchr(listen, ':');
    struct evhttp_bound_socket *bs;
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char host[256];
    size_t n;

    if (colon == NULL || colon == listen)
        return pw_err_set(err, PW_ERR_INVALID,
                          "listen '%s' is not HOST:PORT", listen);
    n = (size_t)(colon - listen);
    /* [::1]:9464 */
    if (listen[0] == '[' && n >= 2 && listen[n - 1] == ']') {
        listen++;
        n -= 2;
    }
    if (n >= sizeof(host))
        return pw_err_set(err, PW_ERR_INVALID, "listen host too long");
    memcpy(host, listen, n);
    host[n] = '\0';
    bs = evhttp_bind_socket_with_handle(h->http, host,
                                        (ev_uint16_t)atoi(colon + 1));
    if (bs == NULL)
        return pw_err_set(err, PW_ERR_IO, "cannot listen on %s", h->listen);
    h->listener = evhttp_bound_socket_get_listener(bs);
    if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss,
                    &len) == 0)
        h->port = ntohs(ss.ss_family == AF_INET6
                            ? ((struct sockaddr_in6 *)&ss)->sin6_port
                            : ((struct sockaddr_in *)&ss)->sin_port);
    return PW_OK;
}

struct httpd *httpd_new(struct loop *l, const char *listen,
                        const struct httpd_src *src, struct pw_err *err)
{
    struct httpd *h = xcalloc(1, sizeof(*h));

    h->src = *src;
    h->loop = l;
    h->listen = xstrdup(listen);
    h->http = evhttp_new(loop_base(l));
    if (h->http == NULL) {
        pw_err_set(err, PW_ERR_IO, "cannot make an HTTP server");
        httpd_free(h);
        return NULL;
    }
    evhttp_set_max_headers_size(h->http, MAX_HEADERS);
    evhttp_set_max_body_size(h->http, 0);
    evhttp_set_timeout(h->http, TIMEOUT_S);
    /* Every method reaches on_request, which answers 405 itself. */
    evhttp_set_allowed_methods(h->http,
                               EVHTTP_REQ_GET | EVHTTP_REQ_POST |
                                   EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
                                   EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                                   EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT |
                                   EVHTTP_REQ_PATCH);
    evhttp_set_gencb(h->http, on_request, h);
    evhttp_set_bevcb(h->http, on_accept, h);
    if (bind_to(h, listen, err) != PW_OK) {
        httpd_free(h);
        return NULL;
    }
    h->stamp = clock_mono();
    h->stamp_timer = loop_after(l, STAMP_MS, on_stamp, h);
    h->watching = redis_watch(src->redis, on_redis, h) == 0;
    if (!redis_up(src->redis))
        h->redis_down = clock_mono();
    return h;
}

const char *httpd_listen(const struct httpd *h)
{
    return h->listen;
}

int httpd_port(const struct httpd *h)
{
    return h->port;
}

void httpd_free(struct httpd *h)
{
    if (h == NULL)
        return;
    /* Requests still waiting on Redis are answered now; their commands'
     * callbacks find them orphaned and only free them. */
    while (h->pending) {
        struct pending *p = h->pending;

        h->pending = p->next;
        p->h = NULL;
        reply_text(p->req, 503, "Service Unavailable", "shutting down");
    }
    if (h->watching)
        redis_unwatch(h->src.redis, on_redis, h);
    if (h->stamp_timer)
        loop_timer_cancel(h->stamp_timer);
    /* Freeing the server closes every connection, and with each its
     * answers in progress (streams_closed()); any left are only memory. */
    if (h->http)
        evhttp_free(h->http);
    while (h->streams)
        stream_free(h->streams);
    if (h->sweep_timer)
        loop_timer_cancel(h->sweep_timer);
    while (h->nconns)
        bufferevent_decref(h->conns[--h->nconns].bev);
    free(h->listen);
    free(h);
}
