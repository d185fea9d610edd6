/* run.c -- the scenario run state machine. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "expect.h"
#include "http.h"
#include "run.h"
#include "xalloc.h"

#define SECRET_MAX (64u << 10)
#define RENDER_CAP (4u << 20) /* a rendered request body or URL */

struct named {
    char *name;
    char *value;
};

struct pending_cleanup {
    uint64_t id;            /* journal id */
    struct journal_entry e; /* our copy, to send */
};

struct run {
    struct run_env env;
    const struct scenario *sc;
    const struct target *tg;
    size_t target;
    char **row;
    size_t nrow;
    char *test_id;
    char run_id[33];
    char started_text[32];
    time_t started;
    double t0, deadline; /* monotonic seconds */
    struct named *vars;  /* rendered scenario vars */
    size_t nvars;
    struct named *caps;
    size_t ncaps, caps_alloc;
    int secrets; /* secret reads so far */

    size_t step;
    unsigned attempt;
    struct http_client *http;
    struct http_req req;      /* the request being sent */
    struct journal_entry cur; /* the rendered request: what a cleanup
                                 journals is exactly this */
    char *step_name;

    char *cleanup_note; /* why a cleanup could not be registered */
    struct pending_cleanup *cleanups;
    size_t ncleanups, cleanups_alloc;
    size_t cleanup_at; /* cleanups left to run (stack depth) */

    struct step_record *records; /* one per step attempted */
    size_t nrecords;

    enum run_status status;
    char *fail_step;
    struct sbuf message;
    double duration_ms;
    unsigned requests;
    unsigned cleanups_failed;
    run_done_fn *done;
    void *arg;
};

const char *run_status_name(enum run_status s)
{
    return s == RUN_PASS ? "pass" : s == RUN_FAIL ? "fail" : "error";
}

static double mono_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- Template lookups ---- */

static pw_status config_lookup(const char *path, void *arg, struct sbuf *out);

/* Read secret <name> from the secrets directory; trailing newlines are
 * dropped.  Never logged. */
static pw_status read_secret(const struct run *r, const char *name,
                             struct sbuf *out)
{
    struct sbuf path = SBUF_INIT, value;
    char buf[4096];
    FILE *f;
    size_t n;
    pw_status rc = PW_OK;

    if (name[0] == '\0' || name[0] == '.' || strchr(name, '/'))
        return PW_ERR_INVALID;
    sbuf_addf(&path, "%s/%s", r->env.cfg->secrets_dir, name);
    f = fopen(path.buf, "r");
    sbuf_release(&path);
    if (f == NULL)
        return PW_ERR_INVALID;
    sbuf_init(&value, SECRET_MAX);
    do {
        n = fread(buf, 1, sizeof(buf), f);
        rc = sbuf_add(&value, buf, n);
    } while (rc == PW_OK && n > 0);
    fclose(f);
    while (value.len > 0 && (value.buf[value.len - 1] == '\n' ||
                             value.buf[value.len - 1] == '\r'))
        value.buf[--value.len] = '\0';
    if (rc == PW_OK)
        rc = sbuf_add(out, value.buf, value.len);
    memset(value.buf, 0, value.len);
    sbuf_release(&value);
    return rc == PW_ERR_TOOBIG ? PW_ERR_INVALID : rc;
}

static const char *find_named(const struct named *list, size_t n,
                              const char *name)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strcmp(list[i].name, name) == 0)
            return list[i].value;
    return NULL;
}

static pw_status target_var(struct run *r, const char *name, struct sbuf *out)
{
    size_t i;

    for (i = 0; i < r->tg->nvars; i++)
        if (strcmp(r->tg->vars[i].name, name) == 0)
            return tmpl_render(r->tg->vars[i].value, config_lookup, r, out,
                               NULL);
    return PW_ERR_INVALID;
}

static void now_text(char *buf, size_t size)
{
    time_t t = time(NULL);
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Names any template can use: secrets and the environment. */
static pw_status config_lookup(const char *path, void *arg, struct sbuf *out)
{
    struct run *r = arg;
    const char *v;

    if (strncmp(path, "secret.", 7) == 0) {
        r->secrets++;
        return read_secret(r, path + 7, out);
    }
    if (strncmp(path, "env.", 4) == 0) {
        v = getenv(path + 4);
        return v ? sbuf_adds(out, v) : PW_ERR_INVALID;
    }
    return PW_ERR_INVALID;
}

static pw_status run_lookup(const char *path, void *arg, struct sbuf *out)
{
    struct run *r = arg;
    const struct matrix *m = scenario_matrix(r->sc);
    const char *v;
    char buf[32];
    int p;

    if (strncmp(path, "matrix.", 7) == 0) {
        p = matrix_find_param(m, path + 7);
        return p >= 0 && r->row ? sbuf_adds(out, r->row[p]) : PW_ERR_INVALID;
    }
    if (strcmp(path, "target.name") == 0)
        return sbuf_adds(out, r->tg->name);
    if (strcmp(path, "target.channel") == 0)
        return sbuf_adds(out, r->tg->channel);
    if (strcmp(path, "target.base_url") == 0)
        return tmpl_render(r->tg->base_url, config_lookup, r, out, NULL);
    if (strncmp(path, "target.vars.", 12) == 0)
        return target_var(r, path + 12, out);
    if (strcmp(path, "run.id") == 0)
        return sbuf_adds(out, r->run_id);
    if (strcmp(path, "run.started") == 0)
        return sbuf_adds(out, r->started_text);
    if (strcmp(path, "test.id") == 0)
        return sbuf_adds(out, r->test_id);
    if (strcmp(path, "test.scenario") == 0)
        return sbuf_adds(out, scenario_name(r->sc));
    if (strcmp(path, "test.target") == 0)
        return sbuf_adds(out, r->tg->name);
    if (strcmp(path, "now") == 0) {
        now_text(buf, sizeof(buf));
        return sbuf_adds(out, buf);
    }
    if (strncmp(path, "vars.", 5) == 0)
        path += 5;
    else if (strchr(path, '.'))
        return config_lookup(path, arg, out);
    v = find_named(r->vars, r->nvars, path);
    if (v == NULL)
        v = find_named(r->caps, r->ncaps, path);
    if (v)
        return sbuf_adds(out, v);
    return target_var(r, path, out);
}

/* Render <t> for this run into <out> (capped); on failure describe it in
 * the run's message with <what>. */
static int render(struct run *r, const struct tmpl *t, const char *what,
                  struct sbuf *out)
{
    struct pw_err err;

    if (out->cap == 0)
        out->cap = RENDER_CAP;
    if (tmpl_render(t, run_lookup, r, out, &err) == PW_OK)
        return 1;
    sbuf_reset(&r->message);
    sbuf_addf(&r->message, "%s: %s", what, err.msg);
    return 0;
}

/* ---- Requests ---- */

static void url_escape(struct sbuf *out, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (isalnum(c) || strchr("-_.~", c))
            sbuf_addc(out, (char)c);
        else
            sbuf_addf(out, "%%%02X", c);
    }
}

static int render_json(struct run *r, const struct tval *v, struct sbuf *out)
{
    struct sbuf s = SBUF_INIT;
    size_t i;

    switch (v->kind) {
    case TV_NULL:
        sbuf_adds(out, "null");
        return 1;
    case TV_BOOL:
    case TV_NUM:
        sbuf_adds(out, v->text);
        return 1;
    case TV_STR:
        if (!render(r, v->str, "json", &s)) {
            sbuf_release(&s);
            return 0;
        }
        sbuf_add_json_str(out, s.buf, s.len);
        sbuf_release(&s);
        return 1;
    case TV_SEQ:
    case TV_MAP:
        sbuf_addc(out, v->kind == TV_SEQ ? '[' : '{');
        for (i = 0; i < v->n; i++) {
            if (i)
                sbuf_addc(out, ',');
            if (v->kind == TV_MAP) {
                sbuf_add_json_str(out, v->keys[i], strlen(v->keys[i]));
                sbuf_addc(out, ':');
            }
            if (!render_json(r, v->items[i], out))
                return 0;
        }
        sbuf_addc(out, v->kind == TV_SEQ ? ']' : '}');
        return 1;
    }
    return 0;
}

static void clear_request(struct run *r)
{
    journal_entry_release(&r->cur);
}

static void add_header(struct run *r, char *h)
{
    struct journal_entry *c = &r->cur;

    c->headers = xrealloc(c->headers, (c->nheaders + 1) * sizeof(char *));
    c->headers[c->nheaders++] = h;
}

static int has_header(const struct run *r, const char *name)
{
    size_t i, n = strlen(name);

    for (i = 0; i < r->cur.nheaders; i++)
        if (strncasecmp(r->cur.headers[i], name, n) == 0 &&
            r->cur.headers[i][n] == ':')
            return 1;
    return 0;
}

/* Render request <rq> into the run's current request fields. */
static int render_request(struct run *r, const struct request *rq)
{
    struct sbuf url = SBUF_INIT, body = SBUF_INIT, v = SBUF_INIT;
    const char *ctype = NULL;
    size_t i;

    clear_request(r);
    r->cur.method = xstrdup(rq->method);
    if (!render(r, rq->url, "url", &url))
        goto fail;
    for (i = 0; i < rq->nquery; i++) {
        sbuf_reset(&v);
        if (!render(r, rq->query[i].value, "query", &v))
            goto fail;
        sbuf_addc(&url, i == 0 && !strchr(url.buf, '?') ? '?' : '&');
        url_escape(&url, rq->query[i].name);
        sbuf_addc(&url, '=');
        url_escape(&url, v.buf);
    }
    for (i = 0; i < rq->nheaders; i++) {
        struct sbuf h = SBUF_INIT;

        sbuf_addf(&h, "%s: ", rq->headers[i].name);
        if (!render(r, rq->headers[i].value, "headers", &h)) {
            sbuf_release(&h);
            goto fail;
        }
        if (strpbrk(h.buf, "\r\n")) {
            sbuf_release(&h);
            sbuf_reset(&r->message);
            sbuf_addf(&r->message, "header %s: value has a line break",
                      rq->headers[i].name);
            goto fail;
        }
        add_header(r, sbuf_take(&h, NULL));
    }
    if (rq->json) {
        if (!render_json(r, rq->json, &body))
            goto fail;
        ctype = "application/json";
    } else if (rq->nform) {
        for (i = 0; i < rq->nform; i++) {
            sbuf_reset(&v);
            if (!render(r, rq->form[i].value, "form", &v))
                goto fail;
            if (i)
                sbuf_addc(&body, '&');
            url_escape(&body, rq->form[i].name);
            sbuf_addc(&body, '=');
            url_escape(&body, v.buf);
        }
        ctype = "application/x-www-form-urlencoded";
    } else if (rq->body) {
        if (!render(r, rq->body, "body", &body))
            goto fail;
    }
    if (rq->json || rq->nform || rq->body) {
        r->cur.body = sbuf_take(&body, &r->cur.body_len);
        if (ctype && !has_header(r, "Content-Type")) {
            struct sbuf h = SBUF_INIT;

            sbuf_addf(&h, "Content-Type: %s", ctype);
            add_header(r, sbuf_take(&h, NULL));
        }
    }
    if (rq->auth == AUTH_BASIC) {
        sbuf_reset(&v);
        if (!render(r, rq->user, "user", &v))
            goto fail;
        r->cur.user = xstrdup(v.buf);
        sbuf_reset(&v);
        if (!render(r, rq->password, "password", &v))
            goto fail;
        r->cur.password = xstrdup(v.buf);
    } else if (rq->auth == AUTH_BEARER) {
        struct sbuf h = SBUF_INIT;

        sbuf_adds(&h, "Authorization: Bearer ");
        if (!render(r, rq->token, "bearer", &h) || strpbrk(h.buf, "\r\n")) {
            sbuf_release(&h);
            goto fail;
        }
        add_header(r, sbuf_take(&h, NULL));
    }
    r->cur.url = sbuf_take(&url, NULL);
    sbuf_release(&v);
    sbuf_release(&body);
    return 1;
fail:
    if (r->message.len == 0)
        sbuf_adds(&r->message, "cannot render the request");
    sbuf_release(&url);
    sbuf_release(&v);
    sbuf_release(&body);
    return 0;
}

/* Point the run's http_req at the rendered request <e> (borrowed), with the
 * target's TLS settings and the probe's test id. */
static void set_req(struct run *r, const struct journal_entry *e,
                    unsigned long timeout_ms)
{
    memset(&r->req, 0, sizeof(r->req));
    r->req.method = e->method;
    r->req.url = e->url;
    r->req.headers = (const char *const *)e->headers;
    r->req.nheaders = e->nheaders;
    r->req.body = e->body;
    r->req.body_len = e->body_len;
    r->req.user = e->user;
    r->req.password = e->password;
    r->req.timeout_ms = timeout_ms ? timeout_ms : 1;
    r->req.ca_file = r->tg->ca_file;
    r->req.client_cert = r->tg->client_cert;
    r->req.client_key = r->tg->client_key;
    r->req.insecure = r->tg->insecure;
    r->req.test_id = r->test_id;
}

/* ---- Finishing ---- */

static void run_free(struct run *r)
{
    size_t i;

    http_client_free(r->http);
    clear_request(r);
    for (i = 0; i < r->nrow; i++)
        free(r->row[i]);
    free(r->row);
    free(r->test_id);
    for (i = 0; i < r->nvars; i++) {
        free(r->vars[i].name);
        free(r->vars[i].value);
    }
    free(r->vars);
    for (i = 0; i < r->ncaps; i++) {
        free(r->caps[i].name);
        free(r->caps[i].value);
    }
    free(r->caps);
    for (i = 0; i < r->ncleanups; i++)
        journal_entry_release(&r->cleanups[i].e);
    free(r->cleanups);
    for (i = 0; i < r->nrecords; i++)
        free((char *)r->records[i].name);
    free(r->records);
    free(r->cleanup_note);
    free(r->step_name);
    free(r->fail_step);
    sbuf_release(&r->message);
    free(r);
}

static void report(struct run *r)
{
    struct run_result res;

    memset(&res, 0, sizeof(res));
    res.status = r->status;
    res.test_id = r->test_id;
    res.sc = r->sc;
    res.target = r->tg->name;
    res.step = r->fail_step;
    res.message = r->message.len ? r->message.buf : NULL;
    res.duration_ms = r->duration_ms;
    res.requests = r->requests;
    res.cleanups_failed = r->cleanups_failed;
    res.started = r->started;
    res.steps = r->records;
    res.nsteps = r->nrecords;
    r->done(&res, r->arg);
    run_free(r);
}

static void next_cleanup(struct run *r);

static void on_cleanup_response(struct http_client *c,
                                const struct http_resp *resp, void *arg)
{
    struct run *r = arg;
    struct pending_cleanup *pc = &r->cleanups[r->cleanup_at];
    int ok = resp->result == CURLE_OK && !resp->too_big &&
             expect_status_ok(pc->e.status, pc->e.nstatus, resp->status);

    (void)c;
    if (ok) {
        journal_done(r->env.journal, pc->id);
    } else {
        r->cleanups_failed++;
        if (r->status == RUN_PASS) {
            /* The journeys passed but production keeps garbage: say so. */
            sbuf_reset(&r->message);
            if (resp->result != CURLE_OK)
                sbuf_addf(&r->message, "cleanup of step '%s' failed: %s",
                          pc->e.step,
                          resp->error[0] ? resp->error
                                         : curl_easy_strerror(resp->result));
            else
                sbuf_addf(&r->message,
                          "cleanup of step '%s' failed: status %ld", pc->e.step,
                          resp->status);
        }
    }
    next_cleanup(r);
}

static void send_cleanup(void *arg)
{
    struct run *r = arg;
    struct journal_entry *e = &r->cleanups[r->cleanup_at].e;

    set_req(r, e, e->timeout_ms);
    r->requests++;
    http_send(r->http, &r->req, on_cleanup_response, r);
}

static void next_cleanup(struct run *r)
{
    if (r->cleanup_at == 0) {
        report(r);
        return;
    }
    r->cleanup_at--;
    throttle_acquire(r->env.throttle, r->target, send_cleanup, r);
}

/* The steps are over: record the outcome, then clean up. */
static void finish_steps(struct run *r, enum run_status status)
{
    r->status = status;
    r->duration_ms = (mono_s() - r->t0) * 1000.0;
    if (status != RUN_PASS && r->step_name)
        r->fail_step = xstrdup(r->step_name);
    if (status == RUN_PASS && r->cleanup_note) {
        sbuf_reset(&r->message);
        sbuf_adds(&r->message, r->cleanup_note);
    }
    r->cleanup_at = r->ncleanups;
    next_cleanup(r);
}

/* ---- Steps ---- */

static void begin_step(struct run *r);

static void register_cleanup(struct run *r, const struct step *st)
{
    struct pending_cleanup *pc;
    struct journal_entry e;

    memset(&e, 0, sizeof(e));
    if (!render_request(r, st->cleanup)) {
        /* Nothing to journal: say so, since a record may stay behind. */
        r->cleanups_failed++;
        if (r->cleanup_note == NULL) {
            struct sbuf note = SBUF_INIT;

            sbuf_addf(&note, "cleanup of step '%s' not registered: %s",
                      r->step_name, r->message.buf);
            r->cleanup_note = sbuf_take(&note, NULL);
        }
        return;
    }
    e = r->cur; /* shallow: journal_entry_copy() takes the copies */
    e.test_id = r->test_id;
    e.step = r->step_name;
    e.status = st->cleanup_expect.status;
    e.nstatus = st->cleanup_expect.nstatus;
    e.timeout_ms = (unsigned long)st->cleanup->timeout_ms;
    XGROW(r->cleanups, r->ncleanups + 1, r->cleanups_alloc);
    pc = &r->cleanups[r->ncleanups++];
    journal_entry_copy(&pc->e, &e);
    pc->id = journal_add(r->env.journal, &e);
}

static int should_retry(const struct run *r, const struct step *st,
                        const struct http_resp *resp, int transport)
{
    unsigned on = st->retry.on;
    double after = mono_s() + (double)st->retry.delay_ms / 1000.0;

    if (r->attempt >= st->retry.attempts || after >= r->deadline)
        return 0;
    if (transport)
        return (on & RETRY_ON_ERROR) != 0;
    if (resp->status >= 500 && (on & RETRY_ON_5XX))
        return 1;
    if (resp->status >= 400 && resp->status < 500 && (on & RETRY_ON_4XX))
        return 1;
    return (on & RETRY_ON_FAIL) != 0;
}

static void send_step(void *arg);

static void retry_step(void *arg)
{
    struct run *r = arg;

    r->attempt++;
    sbuf_reset(&r->message);
    throttle_acquire(r->env.throttle, r->target, send_step, r);
}

static int tls_failure(CURLcode rc)
{
    return rc == CURLE_PEER_FAILED_VERIFICATION ||
           rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_SSL_CERTPROBLEM ||
           rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_SSL_ISSUER_ERROR;
}

/* Keep the timings of the step's latest attempt. */
static void record_step(struct run *r, const struct http_resp *resp)
{
    struct step_record *rec;

    if (r->nrecords <= r->step) {
        r->records = xrealloc(r->records, (r->step + 1) * sizeof(*r->records));
        rec = &r->records[r->step];
        rec->name = xstrdup(r->step_name ? r->step_name : "");
        r->nrecords = r->step + 1;
    }
    rec = &r->records[r->step];
    rec->attempts = r->attempt;
    rec->status = resp->status;
    rec->dns_ms = resp->dns_ms;
    rec->connect_ms = resp->connect_ms;
    rec->tls_ms = resp->tls_ms;
    rec->first_byte_ms = resp->first_byte_ms;
    rec->total_ms = resp->total_ms;
}

static void on_step_response(struct http_client *c,
                             const struct http_resp *resp, void *arg)
{
    struct run *r = arg;
    const struct step *st = scenario_step(r->sc, r->step);
    struct expect_env env = { run_lookup, r, &r->secrets };
    struct resp_view view;
    enum run_status verdict = RUN_PASS;
    int transport = 0;
    size_t i, caps_before = r->ncaps;

    (void)c;
    record_step(r, resp);
    sbuf_reset(&r->message);
    if (resp->too_big) {
        verdict = RUN_FAIL;
        if (resp->too_big == HTTP_TOO_BIG_BODY)
            sbuf_addf(&r->message, "response too large: over %zu bytes of body",
                      resp->body.cap);
        else
            sbuf_addf(&r->message,
                      "response too large: over %d headers or %u bytes "
                      "of headers",
                      HTTP_MAX_HEADERS, HTTP_HEADER_CAP * 4);
    } else if (resp->result != CURLE_OK) {
        transport = 1;
        verdict = tls_failure(resp->result) ? RUN_FAIL : RUN_ERROR;
        if (resp->result == CURLE_OPERATION_TIMEDOUT)
            sbuf_addf(&r->message, "timed out after %lums", r->req.timeout_ms);
        else
            sbuf_addf(&r->message, "%s: %s",
                      tls_failure(resp->result) ? "TLS" : "transport",
                      resp->error[0] ? resp->error
                                     : curl_easy_strerror(resp->result));
    } else {
        resp_view_init(&view, resp, r->env.jq);
        if (!expect_check(&st->expect, &view, &env, &r->message))
            verdict = RUN_FAIL;
        for (i = 0; verdict == RUN_PASS && i < st->ncaptures; i++) {
            struct sbuf v = SBUF_INIT;

            if (!expect_capture(&st->captures[i], &view, &v, &r->message)) {
                verdict = RUN_FAIL;
                sbuf_release(&v);
                break;
            }
            XGROW(r->caps, r->ncaps + 1, r->caps_alloc);
            r->caps[r->ncaps].name = xstrdup(st->captures[i].name);
            r->caps[r->ncaps].value = sbuf_take(&v, NULL);
            r->ncaps++;
        }
        resp_view_release(&view);
        /* A capture that failed takes the attempt's others with it, so a
         * retry starts clean. */
        while (verdict != RUN_PASS && r->ncaps > caps_before) {
            r->ncaps--;
            free(r->caps[r->ncaps].name);
            free(r->caps[r->ncaps].value);
        }
    }
    if (verdict != RUN_PASS) {
        if (should_retry(r, st, resp, transport)) {
            loop_after(r->env.loop, (unsigned long)st->retry.delay_ms,
                       retry_step, r);
            return;
        }
        finish_steps(r, verdict);
        return;
    }
    if (st->cleanup)
        register_cleanup(r, st);
    r->step++;
    begin_step(r);
}

static void send_step(void *arg)
{
    struct run *r = arg;
    const struct step *st = scenario_step(r->sc, r->step);
    double left_ms = (r->deadline - mono_s()) * 1000.0;
    unsigned long timeout = (unsigned long)st->req.timeout_ms;
    int want_cert = 0;
    size_t i;

    if (left_ms < 1) {
        sbuf_reset(&r->message);
        sbuf_addf(&r->message, "the run timed out after %llums",
                  (unsigned long long)scenario_timeout_ms(r->sc));
        finish_steps(r, RUN_ERROR);
        return;
    }
    if ((double)timeout > left_ms)
        timeout = (unsigned long)left_ms;
    for (i = 0; i < st->expect.nchecks; i++)
        if (st->expect.checks[i].subject == SUBJ_TLS_DAYS_LEFT)
            want_cert = 1;
    set_req(r, &r->cur, timeout);
    r->req.connect_timeout_ms = (unsigned long)st->req.connect_timeout_ms;
    r->req.max_redirects = st->req.max_redirects;
    r->req.want_cert = want_cert;
    r->requests++;
    http_send(r->http, &r->req, on_step_response, r);
}

static void begin_step(struct run *r)
{
    const struct step *st;
    struct sbuf name = SBUF_INIT;

    if (r->step >= scenario_step_count(r->sc)) {
        free(r->step_name);
        r->step_name = NULL;
        finish_steps(r, RUN_PASS);
        return;
    }
    st = scenario_step(r->sc, r->step);
    free(r->step_name);
    r->step_name = NULL;
    sbuf_reset(&r->message);
    if (!render(r, st->name, "name", &name)) {
        r->step_name = xstrdup(tmpl_source(st->name));
        sbuf_release(&name);
        finish_steps(r, RUN_ERROR);
        return;
    }
    r->step_name = sbuf_take(&name, NULL);
    if (!render_request(r, &st->req)) {
        finish_steps(r, RUN_ERROR);
        return;
    }
    r->attempt = 1;
    throttle_acquire(r->env.throttle, r->target, send_step, r);
}

static void start_first_step(void *arg)
{
    struct run *r = arg;
    size_t i;

    for (i = 0; i < scenario_var_count(r->sc); i++) {
        const struct kv *var = scenario_var(r->sc, i);
        struct sbuf v = SBUF_INIT;

        if (!render(r, var->value, var->name, &v)) {
            sbuf_release(&v);
            finish_steps(r, RUN_ERROR);
            return;
        }
        r->vars[r->nvars].name = xstrdup(var->name);
        r->vars[r->nvars].value = sbuf_take(&v, NULL);
        r->nvars++;
    }
    begin_step(r);
}

void run_start(const struct run_env *env, const struct scenario *sc,
               size_t target, const char *const *row, const char *test_id,
               run_done_fn *done, void *arg)
{
    struct run *r = xcalloc(1, sizeof(*r));
    unsigned char rnd[16];
    struct tm tm;
    size_t i;

    r->env = *env;
    r->sc = sc;
    r->target = target;
    r->tg = &env->cfg->targets[target];
    r->test_id = xstrdup(test_id);
    r->nrow = row ? matrix_param_count(scenario_matrix(sc)) : 0;
    r->row = xcalloc(r->nrow ? r->nrow : 1, sizeof(char *));
    for (i = 0; i < r->nrow; i++)
        r->row[i] = xstrdup(row[i]);
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        for (i = 0; i < sizeof(rnd); i++)
            rnd[i] = (unsigned char)rand();
    for (i = 0; i < sizeof(rnd); i++)
        snprintf(r->run_id + 2 * i, 3, "%02x", rnd[i]);
    r->started = time(NULL);
    gmtime_r(&r->started, &tm);
    strftime(r->started_text, sizeof(r->started_text), "%Y-%m-%dT%H:%M:%SZ",
             &tm);
    r->t0 = mono_s();
    r->deadline = r->t0 + (double)scenario_timeout_ms(sc) / 1000.0;
    r->vars = xcalloc(scenario_var_count(sc) + 1, sizeof(*r->vars));
    r->http = http_client_new(env->loop);
    sbuf_init(&r->message, 0);
    r->done = done;
    r->arg = arg;
    loop_after(env->loop, 0, start_first_step, r);
}
