/* run.c -- the scenario run state machine. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "expect.h"
#include "http.h"
#include "run.h"
#include "secret.h"
#include "xalloc.h"

#define RENDER_CAP (4u << 20) /* a rendered request body or URL */

struct named {
    char *name;
    char *value;
};

/* One rendered request.  Strings owned, except <status>. */
struct rendered {
    char *step; /* of a cleanup: the step whose record it removes */
    char *method;
    char *url;
    char **headers; /* "Name: value" */
    size_t nheaders;
    char *body; /* NULL: none */
    size_t body_len;
    /* A cleanup's accepted statuses, borrowed from the scenario, which
     * outlives the run; none: 2xx. */
    const struct status_range *status;
    size_t nstatus;
    char *user, *password;
    unsigned long timeout_ms;
    size_t body_cap, header_cap; /* a cleanup's response caps; 0: http's */
};

struct pending_cleanup {
    uint64_t id;       /* journal id; 0 when the journal did not keep it */
    struct rendered e; /* our copy, to send */
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
    time_t started;
    double t0, deadline; /* monotonic seconds */
    struct named *vars;  /* rendered scenario vars */
    size_t nvars;
    struct named *caps;
    size_t ncaps, caps_alloc;
    int secrets; /* secret reads so far */

    struct redact taint; /* strings rendered from a secret */

    size_t step;
    unsigned attempt;
    struct http_client *http;
    struct http_req req;      /* the request being sent */
    struct rendered cur; /* the step's rendered request */
    struct rendered hop; /* the redirect being followed, when hops */
    unsigned hops;            /* redirects followed in this attempt */
    int hop_made;             /* a hop's answer says a record may exist */
    double hops_ms;           /* their time, for the duration check */
    struct http_resp resp;    /* the response being judged (shallow) */
    struct resp_view view;    /* its view, while judging */
    enum run_status verdict;  /* before the checks: a refused redirect */
    struct apart *apart;      /* jq programs running in children */
    size_t napart, apart_left;
    struct event *apart_timer;
    double apart_t0;           /* when the children started */
    struct event *deadline_ev; /* the scenario's timeout, while steps run */
    loop_timer_fn *waiting;    /* the step call the throttle will make */
    char *target_host;         /* host of the target's base URL */
    char *step_name;

    char *cleanup_note; /* why a cleanup could not be registered */
    struct pending_cleanup *cleanups;
    size_t ncleanups, cleanups_alloc;
    size_t cleanup_at; /* cleanups left to run (stack depth) */
    loop_timer_fn *registered; /* what follows the journal's answer */

    /* The judged attempt, kept while its intent is registered. */
    enum run_status judged;
    int judged_transport;
    size_t caps_before;

    struct step_record *records; /* one per step attempted */
    size_t nrecords;

    enum run_status status;
    char *fail_step;
    char *fail_request; /* "METHOD URL" of the failing request */
    struct sbuf last_req; /* "METHOD URL" of the step's latest request */
    const char *fail_check;
    struct sbuf message;
    double duration_ms;
    unsigned requests;
    unsigned cleanups_failed;
    run_done_fn *done;
    void *arg;
    run_cleaned_fn *cleaned; /* set instead of <done> by run_clean() */
    double wait_t0; /* when the current wait (throttle, journal) began */
    double waited;  /* seconds the steps spent waiting for either */
    int have_resp;  /* r->resp is this step's latest response */
    char *excerpt;  /* of the failing response's body */
    int cancelled;  /* run_cancel(): stop at the next chance */
    int leave_held; /* run_cancel(): a held target's cleanups stay behind */
    int cleanup_waiting;            /* send_cleanup() awaits the throttle */
    struct loop_timer *retry_timer; /* a retry's delay, while it runs */
    int steps_over; /* only cleanups are left */
    enum clean_outcome clean;
};

const char *run_status_name(enum run_status s)
{
    return s == RUN_PASS ? "pass" : s == RUN_FAIL ? "fail" : "error";
}

static double mono_s(void)
{
    return clock_mono();
}

/* The throttle's index for the run's target. */
static size_t slot(const struct run *r)
{
    return r->env.slots ? r->env.slots[r->target] : r->target;
}

/* A wait that must not count in the run's duration is over. */
static void end_wait(struct run *r)
{
    if (r->wait_t0 > 0)
        r->waited += mono_s() - r->wait_t0;
    r->wait_t0 = 0;
}

/* ---- Template lookups ---- */

static pw_status config_lookup(const char *path, void *arg, struct sbuf *out);

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

static void time_text(time_t t, char *buf, size_t size)
{
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* A run id: 128 bits, unique across runs and runners, not secret.  The
 * generator is seeded once from the kernel; a getrandom() per run cost a
 * system call on the hot path. */
static void new_run_id(char out[33])
{
    static uint64_t state;
    static int seeded;
    static const char hex[] = "0123456789abcdef";
    uint64_t w[2];
    size_t i;

    if (!seeded) {
        if (getrandom(&state, sizeof(state), 0) != (ssize_t)sizeof(state))
            state = (uint64_t)(clock_wall() * 1e6) ^ (uint64_t)getpid() << 32;
        seeded = 1;
    }
    for (i = 0; i < 2; i++) { /* splitmix64 */
        uint64_t z = (state += 0x9e3779b97f4a7c15ULL);

        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        w[i] = z ^ (z >> 31);
    }
    for (i = 0; i < 32; i++)
        out[i] = hex[(w[i / 16] >> (60 - 4 * (i % 16))) & 15];
    out[32] = '\0';
}

/* Names any template can use: secrets and the environment. */
static pw_status config_lookup(const char *path, void *arg, struct sbuf *out)
{
    struct run *r = arg;
    const char *v;

    if (strncmp(path, "secret.", 7) == 0) {
        r->secrets++;
        return secrets_get(r->env.secrets, path + 7, out);
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
    if (strcmp(path, "run.started") == 0) {
        time_text(r->started, buf, sizeof(buf));
        return sbuf_adds(out, buf);
    }
    if (strcmp(path, "test.id") == 0)
        return sbuf_adds(out, r->test_id);
    if (strcmp(path, "test.scenario") == 0)
        return sbuf_adds(out, scenario_name(r->sc));
    if (strcmp(path, "test.target") == 0)
        return sbuf_adds(out, r->tg->name);
    if (strcmp(path, "now") == 0) {
        time_text(clock_now(), buf, sizeof(buf));
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
    size_t from = out->len;
    int secrets = r->secrets;

    if (out->cap == 0)
        out->cap = RENDER_CAP;
    if (tmpl_render(t, run_lookup, r, out, &err) == PW_OK) {
        /* Whatever a secret went into is secret too, in every form. */
        if (r->secrets != secrets)
            redact_add(&r->taint, out->buf + from, out->len - from);
        return 1;
    }
    sbuf_reset(&r->message);
    sbuf_addf(&r->message, "%s: %s", what, err.msg);
    return 0;
}

/* ---- Requests ---- */

static void rendered_release(struct rendered *e)
{
    size_t i;

    free(e->step);
    free(e->method);
    free(e->url);
    for (i = 0; i < e->nheaders; i++)
        free(e->headers[i]);
    free(e->headers);
    free(e->body);
    free(e->user);
    if (e->password)
        memset(e->password, 0, strlen(e->password));
    free(e->password);
    memset(e, 0, sizeof(*e));
}

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

/* Take <h> (a "Name: value" line) into <e>'s headers. */
static void add_header(struct rendered *e, char *h)
{
    e->headers = xrealloc(e->headers, (e->nheaders + 1) * sizeof(char *));
    e->headers[e->nheaders++] = h;
}

static int header_is(const char *h, const char *name)
{
    size_t n = strlen(name);

    return strncasecmp(h, name, n) == 0 && h[n] == ':';
}

static int has_header(const struct rendered *e, const char *name)
{
    size_t i;

    for (i = 0; i < e->nheaders; i++)
        if (header_is(e->headers[i], name))
            return 1;
    return 0;
}

/* Render request <rq> into <e> (released first).  On failure the reason
 * is in the run's message. */
static int render_request(struct run *r, const struct request *rq,
                          struct rendered *e)
{
    struct sbuf url = SBUF_INIT, body = SBUF_INIT, v = SBUF_INIT;
    const char *ctype = NULL;
    size_t i;

    rendered_release(e);
    e->method = xstrdup(rq->method);
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
        add_header(e, sbuf_take(&h, NULL));
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
        if (sbuf_failed(&body)) {
            sbuf_reset(&r->message);
            sbuf_addf(&r->message,
                      "request too large: the body passes %u bytes",
                      RENDER_CAP);
            goto fail;
        }
        e->body = sbuf_take(&body, &e->body_len);
        if (ctype && !has_header(e, "Content-Type")) {
            struct sbuf h = SBUF_INIT;

            sbuf_addf(&h, "Content-Type: %s", ctype);
            add_header(e, sbuf_take(&h, NULL));
        }
    }
    if (rq->auth == AUTH_BASIC) {
        sbuf_reset(&v);
        if (!render(r, rq->user, "user", &v))
            goto fail;
        e->user = xstrdup(v.buf);
        sbuf_reset(&v);
        if (!render(r, rq->password, "password", &v))
            goto fail;
        e->password = xstrdup(v.buf);
    } else if (rq->auth == AUTH_BEARER) {
        struct sbuf h = SBUF_INIT;

        sbuf_adds(&h, "Authorization: Bearer ");
        if (!render(r, rq->token, "bearer", &h) || strpbrk(h.buf, "\r\n")) {
            sbuf_release(&h);
            goto fail;
        }
        add_header(e, sbuf_take(&h, NULL));
    }
    /* A buffer that passed its cap stays failed: never send what is left
     * of a URL or body cut short. */
    if (sbuf_failed(&url)) {
        sbuf_reset(&r->message);
        sbuf_addf(&r->message, "request too large: the URL passes %u bytes",
                  RENDER_CAP);
        goto fail;
    }
    e->url = sbuf_take(&url, NULL);
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
static void set_req(struct run *r, const struct rendered *e,
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
    r->req.body_cap = e->body_cap;
    r->req.header_cap = e->header_cap;
}

/* The cap that applies, of a cleanup's own <own>, its step's <step> and
 * its target's <target> (the first one set wins); 0 leaves http's
 * default. */
static size_t pick_cap(size_t own, size_t step, size_t target)
{
    return own ? own : step ? step : target;
}

/* "response too large: ..." for <resp>, whose headers were capped at
 * <header_cap> (0: http's default). */
static void add_too_big(struct sbuf *m, const struct http_resp *resp,
                        size_t header_cap)
{
    if (resp->too_big == HTTP_TOO_BIG_BODY)
        sbuf_addf(m, "response too large: over %zu bytes of body",
                  resp->body.cap);
    else
        sbuf_addf(m,
                  "response too large: over %d headers or %zu bytes of "
                  "headers",
                  HTTP_MAX_HEADERS,
                  header_cap ? header_cap : (size_t)HTTP_HEADERS_CAP);
}

/* Why the answer to step <st>'s request passed a cap: which cap, and
 * where it was set, so the reader knows what to raise. */
static void say_too_big(struct run *r, const struct step *st,
                        const struct http_resp *resp)
{
    int body = resp->too_big == HTTP_TOO_BIG_BODY;
    const char *key = body ? "max_body" : "max_headers";
    size_t step = body ? st->req.max_body : st->req.max_headers;
    size_t target = body ? r->tg->max_body : r->tg->max_headers;

    add_too_big(&r->message, resp, pick_cap(0, step, target));
    if (step)
        sbuf_addf(&r->message, " (the step's %s)", key);
    else if (target)
        sbuf_addf(&r->message, " (target '%s''s %s)", r->tg->name, key);
    else
        sbuf_addf(&r->message, " (the default; %s raises it)", key);
}

/* ---- Finishing ---- */

static void run_free(struct run *r)
{
    size_t i;

    if (r->deadline_ev)
        event_free(r->deadline_ev);
    http_client_free(r->http);
    rendered_release(&r->cur);
    rendered_release(&r->hop);
    free(r->target_host);
    redact_release(&r->taint);
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
        rendered_release(&r->cleanups[i].e);
    free(r->cleanups);
    for (i = 0; i < r->nrecords; i++)
        free((char *)r->records[i].name);
    free(r->records);
    free(r->cleanup_note);
    free(r->excerpt);
    free(r->step_name);
    free(r->fail_step);
    free(r->fail_request);
    sbuf_release(&r->last_req);
    sbuf_release(&r->message);
    free(r);
}

/* Hide every secret, and everything rendered from one, in <b>. */
static void redact_run(const struct run *r, struct sbuf *b)
{
    const struct redact *sets[2];

    sets[0] = secrets_redact(r->env.secrets);
    sets[1] = &r->taint;
    redact_apply(sets, 2, b);
}

/* <s> (may be NULL), redacted, as a new string. */
static char *redacted_copy(const struct run *r, const char *s)
{
    struct sbuf b = SBUF_INIT;

    if (s == NULL)
        return NULL;
    sbuf_adds(&b, s);
    redact_run(r, &b);
    return sbuf_take(&b, NULL);
}

static void report(struct run *r)
{
    struct run_result res;
    char *step;
    size_t i;

    /* Nothing leaves a run unredacted: messages quote responses, jq
     * errors and rendered names, any of which may carry a secret. */
    redact_run(r, &r->message);
    step = redacted_copy(r, r->fail_step);
    free(r->fail_step);
    r->fail_step = step;
    step = redacted_copy(r, r->fail_request);
    free(r->fail_request);
    r->fail_request = step;
    for (i = 0; i < r->nrecords; i++) {
        char *name = redacted_copy(r, r->records[i].name);

        free((char *)r->records[i].name);
        r->records[i].name = name;
    }
    if (r->cleaned) {
        r->cleaned(r->clean, r->message.len ? r->message.buf : NULL, r->arg);
        run_free(r);
        return;
    }
    memset(&res, 0, sizeof(res));
    res.status = r->status;
    res.run_id = r->run_id;
    if (r->excerpt) {
        struct sbuf x = SBUF_INIT;

        sbuf_adds(&x, r->excerpt);
        redact_run(r, &x);
        free(r->excerpt);
        r->excerpt = sbuf_take(&x, NULL);
    }
    res.excerpt = r->excerpt;
    res.test_id = r->test_id;
    res.sc = r->sc;
    res.target = r->tg->name;
    res.step = r->fail_step;
    res.request = r->fail_request;
    res.check = r->status == RUN_PASS ? NULL : r->fail_check;
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
    /* Without its own expectation a cleanup must answer 2xx: a redirect
     * (not followed) deleted nothing. */
    int ok = resp->result == CURLE_OK && !resp->too_big &&
             (pc->e.nstatus
                  ? expect_status_ok(pc->e.status, pc->e.nstatus, resp->status)
                  : resp->status >= 200 && resp->status < 300);

    (void)c;
    if (ok) {
        journal_done(r->env.journal, pc->id);
    } else {
        r->cleanups_failed++;
        r->clean = CLEAN_FAILED;
        if (r->status == RUN_PASS) {
            /* The journeys passed but production keeps garbage: say so. */
            sbuf_reset(&r->message);
            if (resp->too_big) {
                sbuf_addf(&r->message, "cleanup of step '%s' failed: ",
                          pc->e.step);
                add_too_big(&r->message, resp, pc->e.header_cap);
            } else if (resp->result != CURLE_OK)
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
    struct rendered *e = &r->cleanups[r->cleanup_at].e;

    r->cleanup_waiting = 0;
    set_req(r, e, e->timeout_ms);
    r->requests++;
    http_send(r->http, &r->req, on_cleanup_response, r);
}

/* A stopping run does not wait for a held target: the cleanups left
 * (their intents are durable) stay in the journal for a sweep. */
static void leave_cleanups(void *arg)
{
    struct run *r = arg;
    size_t i, kept = 0, lost;

    for (i = 0; i < r->cleanup_at; i++)
        kept += r->cleanups[i].id != 0;
    lost = r->cleanup_at - kept;
    r->cleanups_failed += (unsigned)r->cleanup_at;
    r->cleanup_at = 0;
    if (r->message.len)
        sbuf_adds(&r->message, "; ");
    if (kept)
        sbuf_addf(&r->message, "%zu cleanup%s left in the journal: target held",
                  kept, kept == 1 ? "" : "s");
    if (kept && lost)
        sbuf_adds(&r->message, "; ");
    if (lost)
        sbuf_addf(&r->message, "%zu cleanup%s not sent: target held", lost,
                  lost == 1 ? "" : "s");
    report(r);
}

static void next_cleanup(struct run *r)
{
    if (r->cleanup_at == 0) {
        report(r);
        return;
    }
    if (r->leave_held && throttle_held(r->env.throttle, slot(r))) {
        leave_cleanups(r);
        return;
    }
    r->cleanup_at--;
    r->cleanup_waiting = 1;
    throttle_acquire(r->env.throttle, slot(r), send_cleanup, r);
}

/* The steps are over: record the outcome, then clean up. */
static void finish_steps(struct run *r, enum run_status status)
{
    if (r->deadline_ev) {
        event_free(r->deadline_ev);
        r->deadline_ev = NULL;
    }
    r->status = status;
    r->steps_over = 1;
    end_wait(r);
    r->duration_ms = (mono_s() - r->t0 - r->waited) * 1000.0;
    if (status != RUN_PASS && r->have_resp && r->resp.result == CURLE_OK &&
        r->resp.body.len) {
        struct sbuf x = SBUF_INIT;

        sbuf_add_printable(&x, r->resp.body.buf,
                           r->resp.body.len < 200 ? r->resp.body.len : 200);
        r->excerpt = sbuf_take(&x, NULL);
    }
    if (status != RUN_PASS && r->step_name)
        r->fail_step = xstrdup(r->step_name);
    if (status != RUN_PASS) {
        if (r->last_req.len)
            r->fail_request = xstrdup(r->last_req.buf);
        if (!r->have_resp)
            r->fail_check = "timeout"; /* the run's deadline came first */
        else if (r->resp.result == CURLE_OPERATION_TIMEDOUT)
            r->fail_check = "timeout";
        else if (r->resp.result != CURLE_OK)
            r->fail_check = "transport";
        else if (strncmp(r->message.buf, "status", 6) == 0 &&
                 (r->message.buf[6] == ' ' || r->message.buf[6] == ':'))
            r->fail_check = "status";
        else
            r->fail_check = "response";
    }
    if (r->cleanup_note) {
        /* A record that may stay behind is news whatever the verdict. */
        if (status == RUN_PASS || r->message.len == 0)
            sbuf_reset(&r->message);
        else
            sbuf_adds(&r->message, "; ");
        sbuf_adds(&r->message, r->cleanup_note);
    }
    r->cleanup_at = r->ncleanups;
    next_cleanup(r);
}

/* Stop the steps of a cancelled run; its cleanups still run. */
static void cancel_now(struct run *r)
{
    sbuf_reset(&r->message);
    sbuf_adds(&r->message, "cancelled: stopping");
    finish_steps(r, RUN_ERROR);
}

/* ---- Steps ---- */

static void begin_step(struct run *r);
static void finish_steps(struct run *r, enum run_status status);
static void cancel_now(struct run *r);
static int should_retry(const struct run *r, const struct step *st,
                        const struct http_resp *resp, int transport);
static void drop_captures(struct run *r, size_t keep);
static void forget_hops(struct run *r);

static void on_intent_added(uint64_t id, int durable, void *arg)
{
    struct run *r = arg;
    loop_timer_fn *then = r->registered;

    r->registered = NULL;
    end_wait(r);
    r->cleanups[r->ncleanups - 1].id = durable ? id : 0;
    if (!durable) {
        /* The record cannot be found again after a crash: make no more,
         * but still remove the ones we know of. */
        sbuf_reset(&r->message);
        sbuf_adds(&r->message,
                  "cleanup journal unavailable; no further request sent");
        finish_steps(r, RUN_ERROR);
        return;
    }
    if (r->cancelled) {
        cancel_now(r);
        return;
    }
    then(r);
}

/* Whether <v> holds anything a secret went into. */
static int tainted(const struct run *r, const char *v)
{
    const struct redact *sets[2];

    sets[0] = secrets_redact(r->env.secrets);
    sets[1] = &r->taint;
    return redact_found(sets, 2, v, strlen(v));
}

/* Tell the journal how to render the cleanup of the current step again;
 * <then>(r) follows its answer. */
static void add_intent(struct run *r, loop_timer_fn *then)
{
    struct journal_intent in;
    struct journal_named *vars, *caps;
    size_t i;

    vars = xcalloc(r->nvars + 1, sizeof(*vars));
    caps = xcalloc(r->ncaps + 1, sizeof(*caps));
    memset(&in, 0, sizeof(in));
    in.run_id = r->run_id;
    in.test_id = r->test_id;
    in.scenario = scenario_name(r->sc);
    in.target = r->tg->name;
    in.step = (unsigned)r->step;
    in.row = (const char *const *)r->row;
    in.nrow = r->nrow;
    for (i = 0; i < r->nvars; i++) {
        if (tainted(r, r->vars[i].value))
            continue;
        vars[in.nvars].name = r->vars[i].name;
        vars[in.nvars++].value = r->vars[i].value;
    }
    in.vars = vars;
    /* A capture can hold a secret too (a response that echoes a header):
     * it is left out, so a sweep cannot render the cleanup and says which
     * capture it lacks rather than storing the secret. */
    for (i = 0; i < r->ncaps; i++) {
        if (tainted(r, r->caps[i].value))
            continue;
        caps[in.ncaps].name = r->caps[i].name;
        caps[in.ncaps++].value = r->caps[i].value;
    }
    in.caps = caps;
    in.registered = clock_wall();
    r->registered = then;
    r->wait_t0 = mono_s();
    journal_add(r->env.journal, &in, on_intent_added, r);
    free(vars);
    free(caps);
}

/* What a rendered cleanup of step <st> is sent and judged with. */
static void cleanup_terms(const struct run *r, const struct step *st,
                          struct rendered *e)
{
    e->step = xstrdup(r->step_name);
    e->status = st->cleanup_expect.status;
    e->nstatus = st->cleanup_expect.nstatus;
    e->timeout_ms = (unsigned long)st->cleanup->timeout_ms;
    e->body_cap =
        pick_cap(st->cleanup->max_body, st->req.max_body, r->tg->max_body);
    e->header_cap = pick_cap(st->cleanup->max_headers, st->req.max_headers,
                             r->tg->max_headers);
}

/* Register the cleanup of step <st> for the record its latest attempt may
 * have made: render it with the captures taken so far (the run keeps that
 * copy to send at its end) and give the journal its intent.  Returns 1
 * when <then>(r) will follow the journal's answer, 0 when the cleanup
 * could not be rendered (noted on the run: the record may stay) and the
 * caller goes on at once. */
static int register_cleanup(struct run *r, const struct step *st,
                            loop_timer_fn *then)
{
    struct pending_cleanup *pc;
    struct rendered e;
    struct sbuf saved = SBUF_INIT;

    memset(&e, 0, sizeof(e));
    /* Rendering reports into the run's message, which may already hold
     * the step's failure. */
    sbuf_add(&saved, r->message.buf, r->message.len);
    sbuf_reset(&r->message);
    if (!render_request(r, st->cleanup, &e)) {
        r->cleanups_failed++;
        if (r->cleanup_note == NULL) {
            struct sbuf note = SBUF_INIT;

            sbuf_addf(&note,
                      "cleanup of step '%s' not registered, a record may "
                      "remain: %s",
                      r->step_name, r->message.buf);
            r->cleanup_note = sbuf_take(&note, NULL);
        }
        rendered_release(&e);
        sbuf_reset(&r->message);
        sbuf_add(&r->message, saved.buf, saved.len);
        sbuf_release(&saved);
        return 0;
    }
    sbuf_reset(&r->message);
    sbuf_add(&r->message, saved.buf, saved.len);
    sbuf_release(&saved);
    cleanup_terms(r, st, &e);
    XGROW(r->cleanups, r->ncleanups + 1, r->cleanups_alloc);
    pc = &r->cleanups[r->ncleanups++];
    pc->id = 0;
    pc->e = e;
    add_intent(r, then);
    return 1;
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

/* Wait for the throttle before a step's request (or hop); the wait can be
 * withdrawn when the run's time is up. */
static void wait_for_slot(struct run *r, loop_timer_fn *fn)
{
    r->waiting = fn;
    r->wait_t0 = mono_s();
    /* The time may have run out while nothing was waiting (checks in
     * children): say so now rather than after a slot. */
    if (r->cancelled || mono_s() >= r->deadline) {
        fn(r);
        return;
    }
    throttle_acquire(r->env.throttle, slot(r), fn, r);
}

static void retry_step(void *arg)
{
    struct run *r = arg;

    r->retry_timer = NULL;
    r->attempt++;
    sbuf_reset(&r->message);
    wait_for_slot(r, send_step);
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
    rec->total_ms = resp->total_ms + r->hops_ms;
}

/* ---- Redirects ----
 *
 * curl is never asked to follow a redirect: it would send the hops past
 * the throttle, take them to any host, carry custom headers (an API key)
 * along and, with a custom method set, keep a POST a POST after a 303.
 * Each hop is a request of ours instead. */

/* The host of <url> in lower case, or NULL.  Caller frees. */
static char *url_host(const char *url)
{
    CURLU *u = curl_url();
    char *host = NULL, *out = NULL, *p;

    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
        out = xstrdup(host);
        for (p = out; *p; p++)
            *p = (char)tolower((unsigned char)*p);
    }
    curl_free(host);
    curl_url_cleanup(u);
    return out;
}

/* "scheme://host:port" of <url> (lower case, default ports filled in),
 * or NULL.  Caller frees. */
static char *url_origin(const char *url)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *out = NULL, *p;
    struct sbuf b = SBUF_INIT;

    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) ==
            CURLUE_OK) {
        sbuf_addf(&b, "%s://%s:%s", scheme, host, port);
        out = sbuf_take(&b, NULL);
        for (p = out; *p; p++)
            *p = (char)tolower((unsigned char)*p);
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return out;
}

/* <location> resolved against <base>, if it is an http(s) URL; caller
 * frees.  NULL otherwise. */
static char *url_resolve(const char *base, const char *location)
{
    CURLU *u = curl_url();
    char *url = NULL, *scheme = NULL, *out = NULL;

    if (u && curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
        curl_url_set(u, CURLUPART_URL, location, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0) &&
        curl_url_get(u, CURLUPART_URL, &url, 0) == CURLUE_OK)
        out = xstrdup(url);
    curl_free(url);
    curl_free(scheme);
    curl_url_cleanup(u);
    return out;
}

static int host_allowed(struct run *r, const struct request *rq,
                        const char *host)
{
    size_t i;

    if (r->target_host == NULL) {
        struct sbuf base = SBUF_INIT;

        if (tmpl_render(r->tg->base_url, config_lookup, r, &base, NULL) ==
            PW_OK)
            r->target_host = url_host(base.buf);
        sbuf_release(&base);
    }
    if (r->target_host && strcmp(host, r->target_host) == 0)
        return 1;
    for (i = 0; i < rq->nredirect_hosts; i++)
        if (strcmp(host, rq->redirect_hosts[i]) == 0)
            return 1;
    return 0;
}

/* Whether <n> bytes at <v> hold no secret, so they may go to another
 * origin. */
static int value_crosses(const struct run *r, const char *v, size_t n)
{
    const struct redact *sets[2];

    sets[0] = secrets_redact(r->env.secrets);
    sets[1] = &r->taint;
    return !redact_found(sets, 2, v, n);
}

/* Whether header line <h> may go to another origin: nothing that
 * authenticates, and nothing that holds a secret. */
static int header_crosses(const struct run *r, const char *h)
{
    if (header_is(h, "Authorization") || header_is(h, "Cookie") ||
        header_is(h, "Proxy-Authorization"))
        return 0;
    return value_crosses(r, h, strlen(h));
}

/* If <resp> is a redirect the step follows, prepare the next hop in
 * r->hop and return 1; return -1 with the reason in the message when it
 * must not be followed (the step fails); 0 when it is no redirect to
 * follow. */
static int prepare_hop(struct run *r, const struct step *st,
                       const struct http_resp *resp)
{
    const struct rendered *from = r->hops ? &r->hop : &r->cur;
    const char *location = http_resp_header(resp, "Location");
    long code = resp->status;
    struct rendered next;
    char *url, *host, *old_origin, *new_origin;
    int same_origin, downgrade, to_get;
    size_t i;

    if (st->req.max_redirects == 0 || location == NULL ||
        (code != 301 && code != 302 && code != 303 && code != 307 &&
         code != 308))
        return 0;
    if (r->hops >= st->req.max_redirects) {
        sbuf_addf(&r->message, "too many redirects: more than %u",
                  st->req.max_redirects);
        return -1;
    }
    url = url_resolve(from->url, location);
    host = url ? url_host(url) : NULL;
    if (host == NULL) {
        sbuf_adds(&r->message,
                  "redirect to a location that is not an http(s) URL");
        free(url);
        return -1;
    }
    if (!host_allowed(r, &st->req, host)) {
        sbuf_addf(&r->message,
                  "redirect to host '%s' not followed: only the target's "
                  "host and redirect_hosts may be reached",
                  host);
        free(url);
        free(host);
        return -1;
    }
    free(host);
    /* A hop to another scheme, host or port is another origin: nothing
     * that authenticates or holds a secret goes along, and nothing goes
     * from https back to cleartext at all. */
    old_origin = url_origin(from->url);
    new_origin = url_origin(url);
    same_origin =
        old_origin && new_origin && strcmp(old_origin, new_origin) == 0;
    downgrade = old_origin && new_origin &&
                strncmp(old_origin, "https:", 6) == 0 &&
                strncmp(new_origin, "http:", 5) == 0;
    free(old_origin);
    free(new_origin);
    if (downgrade) {
        sbuf_adds(&r->message, "redirect from https to http not followed");
        free(url);
        return -1;
    }
    /* What browsers and curl do: 303 turns anything but HEAD into GET,
     * 301 and 302 turn a POST into GET; 307 and 308 keep method and
     * body. */
    to_get =
        (code == 303 && strcmp(from->method, "HEAD") != 0) ||
        ((code == 301 || code == 302) && strcmp(from->method, "POST") == 0);
    if (!same_origin && !to_get && from->body &&
        !value_crosses(r, from->body, from->body_len)) {
        sbuf_adds(&r->message, "redirect to another origin not followed: "
                               "the request body holds a secret");
        free(url);
        return -1;
    }
    memset(&next, 0, sizeof(next));
    next.method = xstrdup(to_get ? "GET" : from->method);
    next.url = url;
    for (i = 0; i < from->nheaders; i++) {
        const char *h = from->headers[i];

        if (to_get &&
            (header_is(h, "Content-Type") || header_is(h, "Content-Length")))
            continue;
        if (!same_origin && !header_crosses(r, h))
            continue;
        add_header(&next, xstrdup(h));
    }
    if (!to_get && from->body) {
        next.body = xmalloc(from->body_len + 1);
        memcpy(next.body, from->body, from->body_len + 1);
        next.body_len = from->body_len;
    }
    if (same_origin && from->user) {
        next.user = xstrdup(from->user);
        next.password = xstrdup(from->password ? from->password : "");
    }
    rendered_release(&r->hop);
    r->hop = next;
    /* A POST answered "303 See Other" has usually made what it points to,
     * whatever the page it points to says. */
    if (strcmp(from->method, "GET") != 0 && strcmp(from->method, "HEAD") != 0)
        r->hop_made = 1;
    r->hops++;
    r->hops_ms += resp->total_ms;
    return 1;
}

/* ---- Judging a step ---- */

/* Whether the request of <resp> may have made a record on the target:
 * it reached the server and was not refused. */
static int may_have_made(const struct http_resp *resp)
{
    if (!resp->request_sent)
        return 0;
    if (resp->result != CURLE_OK || resp->too_big)
        return resp->status == 0 || resp->status < 400 || resp->status >= 500;
    return resp->status < 400 || resp->status >= 500;
}

/* Take every capture of <st> that <view> holds.  When <msg> is not NULL
 * (the checks passed) a capture that finds nothing fails the step with
 * its reason there; returns 0 then. */
static int take_captures(struct run *r, const struct step *st,
                         struct resp_view *view, struct sbuf *msg)
{
    struct sbuf ignored = SBUF_INIT;
    size_t i;
    int ok = 1;

    for (i = 0; i < st->ncaptures; i++) {
        struct sbuf v = SBUF_INIT;

        sbuf_reset(&ignored);
        if (!expect_capture(&st->captures[i], view, &v,
                            ok && msg ? msg : &ignored)) {
            sbuf_release(&v);
            if (msg)
                ok = 0;
            continue;
        }
        XGROW(r->caps, r->ncaps + 1, r->caps_alloc);
        r->caps[r->ncaps].name = xstrdup(st->captures[i].name);
        r->caps[r->ncaps].value = sbuf_take(&v, NULL);
        r->ncaps++;
    }
    sbuf_release(&ignored);
    return ok;
}

static void drop_captures(struct run *r, size_t keep)
{
    while (r->ncaps > keep) {
        r->ncaps--;
        free(r->caps[r->ncaps].name);
        free(r->caps[r->ncaps].value);
    }
}

static void send_hop(void *arg);
static void retry_step(void *arg);

/* The attempt is over: the next one starts from the step's own request. */
static void forget_hops(struct run *r)
{
    rendered_release(&r->hop);
    r->hops = 0;
    r->hops_ms = 0;
    r->hop_made = 0;
}

/* The judged attempt's cleanup is registered: retry, stop or go on. */
static void after_registered(void *arg)
{
    struct run *r = arg;
    const struct step *st = scenario_step(r->sc, r->step);

    if (r->cancelled) {
        /* Its request was aborted, or answered meanwhile: no retry, no
         * next step. */
        forget_hops(r);
        cancel_now(r);
        return;
    }
    if (r->judged != RUN_PASS) {
        /* A retry starts from the step's own request, without this
         * attempt's captures. */
        drop_captures(r, r->caps_before);
        forget_hops(r);
        if (should_retry(r, st, &r->resp, r->judged_transport)) {
            r->retry_timer = loop_after(
                r->env.loop, (unsigned long)st->retry.delay_ms, retry_step, r);
            return;
        }
        finish_steps(r, r->judged);
        return;
    }
    forget_hops(r);
    r->step++;
    begin_step(r);
}

/* The step's attempt is judged: register its cleanup, then retry, stop
 * or go on.  <caps_before> is how many captures there were before it. */
static void after_judging(struct run *r, enum run_status verdict, int transport,
                          size_t caps_before)
{
    const struct step *st = scenario_step(r->sc, r->step);

    r->judged = verdict;
    r->judged_transport = transport;
    r->caps_before = caps_before;
    /* Each attempt that may have made a record gets its own cleanup. */
    if (st->cleanup && (may_have_made(&r->resp) || r->hop_made) &&
        register_cleanup(r, st, after_registered))
        return;
    after_registered(r);
}

/* Judge the response in r->view with every jq result at hand. */
static void judge(struct run *r)
{
    const struct step *st = scenario_step(r->sc, r->step);
    struct expect_env env = { run_lookup, r, &r->secrets };
    enum run_status verdict = r->verdict;
    size_t caps_before = r->ncaps;

    if (verdict == RUN_PASS) {
        int judged = expect_check(&st->expect, &r->view, &env, &r->message);

        if (judged <= 0)
            verdict = judged < 0 ? RUN_ERROR : RUN_FAIL;
    }
    /* Taken whatever the verdict: the cleanup of a record made by a failed
     * attempt needs them as much. */
    if (!take_captures(r, st, &r->view,
                       verdict == RUN_PASS ? &r->message : NULL))
        verdict = RUN_FAIL;
    resp_view_release(&r->view);
    after_judging(r, verdict, 0, caps_before);
}

/* ---- jq programs that run in a child ----
 *
 * A program outside jqset's bounded class runs in a child process with a
 * time limit.  Its result is waited for on the loop, never by blocking
 * it, so one slow check does not hold up the other runs. */

struct apart {
    struct run *r;
    size_t idx;
    struct jqset_job *job; /* NULL once finished */
    struct event *ev;
};

static void apart_finish(struct apart *a, int timed_out)
{
    struct pw_err err;
    jv out;
    pw_status rc;

    if (a->job == NULL)
        return;
    rc = jqset_job_finish(a->job, timed_out, &out, &err);
    a->job = NULL;
    if (a->ev) {
        event_free(a->ev);
        a->ev = NULL;
    }
    resp_view_preset(&a->r->view, a->idx, rc, out, &err);
    a->r->apart_left--;
}

static void apart_done(struct run *r)
{
    free(r->apart);
    r->apart = NULL;
    r->napart = 0;
    if (r->apart_timer) {
        event_free(r->apart_timer);
        r->apart_timer = NULL;
    }
    judge(r);
}

static void on_apart_readable(evutil_socket_t fd, short what, void *arg)
{
    struct apart *a = arg;
    struct run *r = a->r;

    (void)fd;
    (void)what;
    if (!jqset_job_read(a->job))
        return;
    apart_finish(a, 0);
    if (r->apart_left == 0)
        apart_done(r);
}

/* The limit is on the CPU time a child used, so a verdict does not
 * depend on how busy the machine is; wall time is only a backstop. */
static void on_apart_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct run *r = arg;
    double waited = mono_s() - r->apart_t0;
    long least = JQSET_TIME_LIMIT_MS;
    size_t i;

    (void)fd;
    (void)what;
    for (i = 0; i < r->napart; i++) {
        struct apart *a = &r->apart[i];
        long used;

        if (a->job == NULL)
            continue;
        used = jqset_job_cpu_ms(a->job);
        if (used < 0 || used >= JQSET_TIME_LIMIT_MS ||
            waited * 1000.0 >= JQSET_WALL_LIMIT_MS) {
            apart_finish(a, 1);
            continue;
        }
        if (JQSET_TIME_LIMIT_MS - used < least)
            least = JQSET_TIME_LIMIT_MS - used;
    }
    if (r->apart_left == 0) {
        apart_done(r);
        return;
    }
    {
        /* Starved children get the CPU time they have not had yet. */
        long ms = least < 50 ? 50 : least;
        struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

        evtimer_add(r->apart_timer, &tv);
    }
}

static int listed_idx(const struct run *r, size_t idx)
{
    size_t i;

    for (i = 0; i < r->napart; i++)
        if (r->apart[i].idx == idx)
            return 1;
    return 0;
}

static void add_apart(struct run *r, size_t idx, size_t *alloc)
{
    if (jqset_in_process(r->env.jq, idx) || listed_idx(r, idx))
        return;
    XGROW(r->apart, r->napart + 1, *alloc);
    memset(&r->apart[r->napart], 0, sizeof(r->apart[0]));
    r->apart[r->napart].r = r;
    r->apart[r->napart].idx = idx;
    r->napart++;
}

/* Start in children the jq programs of <st> that run apart (the checks'
 * only when <checks>).  Returns 1 when the run must wait for them. */
static int start_apart(struct run *r, const struct step *st, int checks)
{
    struct timeval tv = { JQSET_TIME_LIMIT_MS / 1000,
                          (JQSET_TIME_LIMIT_MS % 1000) * 1000 };
    size_t i, alloc = 0;
    jv doc;

    for (i = 0; checks && i < st->expect.nchecks; i++)
        if (st->expect.checks[i].subject == SUBJ_JQ)
            add_apart(r, st->expect.checks[i].jq, &alloc);
    for (i = 0; i < st->ncaptures; i++)
        if (st->captures[i].kind == CAP_JQ)
            add_apart(r, st->captures[i].jq, &alloc);
    doc = r->napart ? resp_view_json(&r->view) : jv_invalid();
    if (!jv_is_valid(doc)) {
        /* Nothing to start, or a body that is no JSON: judging says so. */
        jv_free(doc);
        free(r->apart);
        r->apart = NULL;
        r->napart = 0;
        return 0;
    }
    r->apart_left = r->napart;
    for (i = 0; i < r->napart; i++) {
        struct apart *a = &r->apart[i];

        a->job = jqset_job_start(r->env.jq, a->idx, jv_copy(doc));
        if (jqset_job_fd(a->job) < 0) {
            apart_finish(a, 0); /* could not start: the reason is kept */
            continue;
        }
        a->ev = event_new(loop_base(r->env.loop), jqset_job_fd(a->job),
                          EV_READ | EV_PERSIST, on_apart_readable, a);
        event_add(a->ev, NULL);
    }
    jv_free(doc);
    if (r->apart_left == 0) {
        free(r->apart);
        r->apart = NULL;
        r->napart = 0;
        return 0;
    }
    r->apart_t0 = mono_s();
    r->apart_timer = evtimer_new(loop_base(r->env.loop), on_apart_timeout, r);
    evtimer_add(r->apart_timer, &tv);
    return 1;
}

static void on_step_response(struct http_client *c, const struct http_resp *raw,
                             void *arg)
{
    struct run *r = arg;
    const struct step *st = scenario_step(r->sc, r->step);
    int hop;

    (void)c;
    /* Shallow, with the hops' time added; <raw> stays valid until the
     * run's next request. */
    r->resp = *raw;
    r->have_resp = 1;
    r->resp.total_ms += r->hops_ms;
    record_step(r, raw);
    sbuf_reset(&r->message);
    r->verdict = RUN_PASS;
    if (r->resp.too_big) {
        say_too_big(r, st, &r->resp);
        after_judging(r, RUN_FAIL, 0, r->ncaps);
        return;
    }
    if (r->resp.result != CURLE_OK) {
        int tls = tls_failure(r->resp.result);

        if (r->resp.result == CURLE_OPERATION_TIMEDOUT)
            sbuf_addf(&r->message, "timed out after %lums", r->req.timeout_ms);
        else
            sbuf_addf(&r->message, "%s: %s", tls ? "TLS" : "transport",
                      r->resp.error[0] ? r->resp.error
                                       : curl_easy_strerror(r->resp.result));
        after_judging(r, tls ? RUN_FAIL : RUN_ERROR, 1, r->ncaps);
        return;
    }
    hop = prepare_hop(r, st, &r->resp);
    if (hop > 0) {
        wait_for_slot(r, send_hop);
        return;
    }
    if (hop < 0)
        r->verdict = RUN_FAIL;
    resp_view_init(&r->view, &r->resp, r->env.jq);
    if (start_apart(r, st, r->verdict == RUN_PASS))
        return;
    judge(r);
}

static void end_timed_out(void *arg)
{
    finish_steps(arg, RUN_ERROR);
}

/* The scenario's time is up before the step's next request. */
static void timed_out(struct run *r)
{
    const struct step *st = scenario_step(r->sc, r->step);

    sbuf_reset(&r->message);
    sbuf_addf(&r->message, "the run timed out after %llums",
              (unsigned long long)scenario_timeout_ms(r->sc));
    /* Out of time between hops: an earlier hop may have made a record. */
    if (st->cleanup && r->hop_made &&
        register_cleanup(r, st, end_timed_out))
        return;
    finish_steps(r, RUN_ERROR);
}

/* Send the step's request, or its current redirect hop. */
static void send_current(struct run *r)
{
    const struct step *st = scenario_step(r->sc, r->step);
    double left_ms = (r->deadline - mono_s()) * 1000.0;
    unsigned long timeout = (unsigned long)st->req.timeout_ms;
    int want_cert = 0;
    size_t i;

    r->waiting = NULL;
    end_wait(r);
    r->have_resp = 0;
    if (r->cancelled) {
        cancel_now(r);
        return;
    }

    if (left_ms < 1) {
        timed_out(r);
        return;
    }
    if ((double)timeout > left_ms)
        timeout = (unsigned long)left_ms;
    for (i = 0; i < st->expect.nchecks; i++)
        if (st->expect.checks[i].subject == SUBJ_TLS_DAYS_LEFT)
            want_cert = 1;
    set_req(r, r->hops ? &r->hop : &r->cur, timeout);
    r->req.connect_timeout_ms = (unsigned long)st->req.connect_timeout_ms;
    r->req.body_cap = pick_cap(0, st->req.max_body, r->tg->max_body);
    r->req.header_cap = pick_cap(0, st->req.max_headers, r->tg->max_headers);
    r->req.want_cert = want_cert;
    r->requests++;
    sbuf_reset(&r->last_req);
    sbuf_adds(&r->last_req, r->req.method);
    sbuf_addc(&r->last_req, ' ');
    sbuf_adds(&r->last_req, r->req.url);
    http_send(r->http, &r->req, on_step_response, r);
}

static void send_step(void *arg)
{
    send_current(arg);
}

static void send_hop(void *arg)
{
    send_current(arg);
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
    sbuf_reset(&r->last_req);
    if (!render(r, st->name, "name", &name)) {
        r->step_name = xstrdup(tmpl_source(st->name));
        sbuf_release(&name);
        finish_steps(r, RUN_ERROR);
        return;
    }
    r->step_name = sbuf_take(&name, NULL);
    if (!render_request(r, &st->req, &r->cur)) {
        finish_steps(r, RUN_ERROR);
        return;
    }
    r->attempt = 1;
    wait_for_slot(r, send_step);
}

/* The scenario's timeout passed while a step waited for the throttle:
 * withdraw the wait and end the steps.  (A request in flight has its own
 * timeout, cut to the time left.) */
static void on_run_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct run *r = arg;

    (void)fd;
    (void)what;
    if (r->waiting == NULL ||
        !throttle_cancel(r->env.throttle, slot(r), r->waiting, r))
        return;
    r->waiting = NULL;
    timed_out(r);
}

static void start_first_step(void *arg)
{
    struct run *r = arg;
    size_t i;

    if (r->cancelled) {
        cancel_now(r);
        return;
    }
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

static void cancel_soon(void *arg)
{
    cancel_now(arg);
}

void run_cancel(struct run *r)
{
    r->leave_held = 1;
    if (r->cleanup_waiting && throttle_held(r->env.throttle, slot(r)) &&
        throttle_cancel(r->env.throttle, slot(r), send_cleanup, r)) {
        r->cleanup_waiting = 0;
        r->cleanup_at++; /* it was taken off the stack to be sent */
        loop_after(r->env.loop, 0, leave_cleanups, r);
        return;
    }
    if (r->steps_over || r->cancelled)
        return;
    r->cancelled = 1;
    /* From the loop, never inside this call: the caller may be walking
     * the list of runs this one's end would change. */
    if (r->waiting &&
        throttle_cancel(r->env.throttle, slot(r), r->waiting, r)) {
        r->waiting = NULL;
        end_wait(r);
        loop_after(r->env.loop, 0, cancel_soon, r);
    } else if (r->retry_timer) {
        loop_timer_cancel(r->retry_timer);
        r->retry_timer = NULL;
        loop_after(r->env.loop, 0, cancel_soon, r);
    } else {
        /* A request in flight ends now, as an error from the loop; the
         * journal's answer or a check in a child is awaited as usual, and
         * the run stops right after. */
        http_abort(r->http);
    }
}

struct run *run_start(const struct run_env *env, const struct scenario *sc,
                      size_t target, const char *const *row,
                      const char *test_id, run_done_fn *done, void *arg)
{
    struct run *r = xcalloc(1, sizeof(*r));
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
    new_run_id(r->run_id);
    r->started = clock_now();
    r->t0 = mono_s();
    r->deadline = r->t0 + (double)scenario_timeout_ms(sc) / 1000.0;
    r->vars = xcalloc(scenario_var_count(sc) + 1, sizeof(*r->vars));
    r->http = http_client_new(env->loop);
    {
        uint64_t ms = scenario_timeout_ms(sc);
        struct timeval tv = { (time_t)(ms / 1000),
                              (suseconds_t)(ms % 1000 * 1000) };

        r->deadline_ev = evtimer_new(loop_base(env->loop), on_run_deadline, r);
        evtimer_add(r->deadline_ev, &tv);
    }
    sbuf_init(&r->message, 0);
    sbuf_init(&r->last_req, 0);
    r->done = done;
    r->arg = arg;
    loop_after(env->loop, 0, start_first_step, r);
    return r;
}

/* ---- Cleanup from an intent ---- */

/* The scenario var <i> of an intent, or NULL when the intent left it
 * out (a secret went into it). */
static const char *intent_var(const struct journal_intent *in,
                              const char *name)
{
    size_t i;

    for (i = 0; i < in->nvars; i++)
        if (strcmp(in->vars[i].name, name) == 0)
            return in->vars[i].value;
    return NULL;
}

static void clean_unrenderable(void *arg)
{
    struct run *r = arg;

    r->clean = CLEAN_UNRENDERABLE;
    report(r);
}

/* Rebuild in <r> what the run of <in> knew when it registered the
 * intent; returns 0 with the reason in the run's message otherwise. */
static int clean_prepare(struct run *r, const struct suite *s,
                         const struct journal_intent *in)
{
    const struct config *cfg = suite_config(s);
    const struct step *st;
    struct pending_cleanup *pc;
    struct sbuf name = SBUF_INIT;
    size_t i;

    r->sc = suite_find_scenario(s, in->scenario);
    if (r->sc == NULL) {
        sbuf_addf(&r->message, "scenario '%s' is gone", in->scenario);
        return 0;
    }
    for (i = 0; i < cfg->ntargets; i++)
        if (strcmp(cfg->targets[i].name, in->target) == 0)
            break;
    if (i == cfg->ntargets) {
        sbuf_addf(&r->message, "target '%s' is gone", in->target);
        return 0;
    }
    r->target = i;
    r->tg = &cfg->targets[i];
    if (in->step >= scenario_step_count(r->sc) ||
        scenario_step(r->sc, in->step)->cleanup == NULL ||
        in->nrow != (in->nrow ? matrix_param_count(scenario_matrix(r->sc))
                              : 0)) {
        sbuf_addf(&r->message, "scenario '%s' changed: step %u or its "
                  "cleanup is gone", in->scenario, in->step);
        return 0;
    }
    r->nrow = in->nrow;
    r->row = xcalloc(r->nrow ? r->nrow : 1, sizeof(char *));
    for (i = 0; i < r->nrow; i++)
        r->row[i] = xstrdup(in->row[i]);
    for (i = 0; i < in->ncaps; i++) {
        XGROW(r->caps, r->ncaps + 1, r->caps_alloc);
        r->caps[r->ncaps].name = xstrdup(in->caps[i].name);
        r->caps[r->ncaps].value = xstrdup(in->caps[i].value);
        r->ncaps++;
    }
    /* In order, as the run rendered them: a var left out (a secret went
     * into it) is rendered again from its template, seeing the ones
     * before it. */
    r->vars = xcalloc(scenario_var_count(r->sc) + 1, sizeof(*r->vars));
    for (i = 0; i < scenario_var_count(r->sc); i++) {
        const struct kv *var = scenario_var(r->sc, i);
        const char *kept = intent_var(in, var->name);
        struct sbuf v = SBUF_INIT;

        if (kept) {
            sbuf_adds(&v, kept);
        } else if (!render(r, var->value, var->name, &v)) {
            sbuf_release(&v);
            return 0;
        }
        r->vars[r->nvars].name = xstrdup(var->name);
        r->vars[r->nvars].value = sbuf_take(&v, NULL);
        r->nvars++;
    }
    r->step = in->step;
    st = scenario_step(r->sc, r->step);
    if (!render(r, st->name, "name", &name)) {
        sbuf_release(&name);
        return 0;
    }
    r->step_name = sbuf_take(&name, NULL);
    XGROW(r->cleanups, 1, r->cleanups_alloc);
    pc = &r->cleanups[r->ncleanups];
    memset(pc, 0, sizeof(*pc));
    if (!render_request(r, st->cleanup, &pc->e)) {
        rendered_release(&pc->e);
        return 0;
    }
    r->ncleanups = 1;
    cleanup_terms(r, st, &pc->e);
    return 1;
}

void run_clean(const struct run_env *env, const struct suite *s,
               const struct journal_intent *in, uint64_t journal_id,
               run_cleaned_fn *cleaned, void *arg)
{
    struct run *r = xcalloc(1, sizeof(*r));

    r->env = *env;
    r->test_id = xstrdup(in->test_id);
    snprintf(r->run_id, sizeof(r->run_id), "%s", in->run_id);
    /* The run's start is not kept; the intent's registration is the
     * nearest time known. */
    r->started = (time_t)in->registered;
    r->http = http_client_new(env->loop);
    sbuf_init(&r->message, 0);
    sbuf_init(&r->last_req, 0);
    r->status = RUN_PASS;
    r->clean = CLEAN_OK;
    r->cleaned = cleaned;
    r->arg = arg;
    if (!clean_prepare(r, s, in)) {
        loop_after(env->loop, 0, clean_unrenderable, r);
        return;
    }
    r->cleanups[0].id = journal_id;
    r->cleanup_at = 1;
    next_cleanup(r);
}
