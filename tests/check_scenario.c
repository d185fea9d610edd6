/* check_scenario.c -- scenario loading, validation and error positions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "expand.h"
#include "sbuf.h"
#include "suite.h"
#include "testutil.h"
#include "xalloc.h"

/* <msgs> (freed) with every mention of the temporary directory taken out,
 * so messages that quote a resolved path can be compared whole. */
static char *strip_tmpdir(char *msgs)
{
    char dir[512];
    char *out = xmalloc(strlen(msgs) + 1), *o = out;
    const char *p = msgs;
    size_t dlen;

    snprintf(dir, sizeof(dir), "%s/", tu_tmpdir());
    dlen = strlen(dir);
    while (*p) {
        if (strncmp(p, dir, dlen) == 0) {
            p += dlen;
            continue;
        }
        *o++ = *p++;
    }
    *o = '\0';
    free(msgs);
    return out;
}

/* Load <text>: it must fail with <want>, where messages quoting a path
 * in the temporary directory quote it without the directory. */
static void assert_errors(const char *text, const char *want)
{
    char *msgs;
    struct scenario *sc = tu_scenario(text, &msgs);

    ck_assert_ptr_null(sc);
    msgs = strip_tmpdir(msgs);
    ck_assert_str_eq(msgs, want);
    free(msgs);
    tu_scenario_free(NULL);
}

static const char good[] =
    "name: checkout\n"
    "description: A shopper buys one item\n"
    "tags: [critical, shop]\n"
    "severity: critical\n"
    "every: 5m\n"
    "timeout: 2m\n"
    "targets: [prod, canary]\n"
    "matrix:\n"
    "  locale: [en, fr, de]\n"
    "  payment: [card, paypal]\n"
    "  exclude:\n"
    "    - { locale: de, payment: paypal }\n"
    "  include:\n"
    "    - { locale: ja, payment: card }\n"
    "coverage: pairwise\n"
    "vars:\n"
    "  email: \"probe+{{ run.id }}@example.com\"\n"
    "  greeting: \"{{ email }} in {{ target.vars.tenant }}\"\n"
    "steps:\n"
    "  - name: Given a registered user\n"
    "    request:\n"
    "      method: POST\n"
    "      url: \"{{ target.base_url }}/api/users\"\n"
    "      headers: { X-Prodwatch-Probe: \"{{ test.id }}\" }\n"
    "      json: { email: \"{{ email }}\", n: 3, ok: true, tags: [a, b] }\n"
    "      timeout: 10s\n"
    "    expect:\n"
    "      status: 201\n"
    "      duration: \"< 800ms\"\n"
    "      checks:\n"
    "        - { jq: .id, type: number }\n"
    "        - { header: Content-Type, matches: \"^application/json\" }\n"
    "        - { body: text, contains: Welcome }\n"
    "        - { regex: \"order ([0-9]+)\", eq: \"42\" }\n"
    "        - { tls_days_left: true, gt: 14 }\n"
    "        - { jq: .state, in: [new, active] }\n"
    "    capture:\n"
    "      user_id: { jq: .id }\n"
    "      session: { header: Set-Cookie }\n"
    "    cleanup:\n"
    "      method: DELETE\n"
    "      url: \"{{ target.base_url }}/api/users/{{ user_id }}\"\n"
    "      expect: { status: [200, 204, 404] }\n"
    "  - name: When the user pays by {{ matrix.payment }}\n"
    "    request:\n"
    "      method: POST\n"
    "      url: \"{{ target.base_url }}/api/orders?u={{ user_id | "
    "urlencode }}\"\n"
    "      auth: { basic: { user: \"{{ email }}\", password: "
    "\"{{ secret.pw }}\" } }\n"
    "      form: { locale: \"{{ matrix.locale }}\" }\n"
    "    retry: { attempts: 3, delay: 2s, on: [error, 5xx, fail] }\n"
    "    expect: { status: [2xx, 302] }\n";

START_TEST(test_scenario_good_file)
{
    char *msgs;
    struct scenario *sc = tu_scenario(good, &msgs);
    const struct step *st;
    const struct check *ck;

    ck_assert_str_eq(msgs, "");
    ck_assert_ptr_nonnull(sc);
    ck_assert_str_eq(scenario_name(sc), "checkout");
    ck_assert_str_eq(scenario_description(sc), "A shopper buys one item");
    ck_assert_uint_eq(scenario_tag_count(sc), 2);
    ck_assert(scenario_has_tag(sc, "shop"));
    ck_assert(!scenario_has_tag(sc, "slow"));
    ck_assert_int_eq(scenario_severity(sc), SEV_CRITICAL);
    ck_assert_uint_eq(scenario_every_ms(sc), 300000);
    ck_assert_uint_eq(scenario_timeout_ms(sc), 120000);
    ck_assert(scenario_runs_on(sc, "canary"));
    ck_assert_uint_eq(matrix_param_count(scenario_matrix(sc)), 2);
    ck_assert_uint_eq(matrix_strength(scenario_matrix(sc)), 2);
    ck_assert_uint_eq(scenario_var_count(sc), 2);
    ck_assert_uint_eq(scenario_step_count(sc), 2);

    st = scenario_step(sc, 0);
    ck_assert_str_eq(st->req.method, "POST");
    ck_assert_uint_eq(st->req.timeout_ms, 10000);
    ck_assert_uint_eq(st->req.nheaders, 1);
    ck_assert_int_eq(st->req.json->kind, TV_MAP);
    ck_assert_int_eq(st->req.json->items[1]->kind, TV_NUM);
    ck_assert_int_eq(st->req.json->items[2]->kind, TV_BOOL);
    ck_assert_int_eq(st->req.json->items[3]->kind, TV_SEQ);
    ck_assert_uint_eq(st->expect.nstatus, 1);
    ck_assert_uint_eq(st->expect.status[0].lo, 201);
    ck_assert_int_eq(st->expect.duration_op, OP_LT);
    ck_assert_uint_eq(st->expect.duration_ms, 800);
    ck_assert_uint_eq(st->expect.nchecks, 6);
    ck = &st->expect.checks[0];
    ck_assert_int_eq(ck->subject, SUBJ_JQ);
    ck_assert_int_eq(ck->ops[0].op, OP_TYPE);
    ck_assert_str_eq(ck->ops[0].type_name, "number");
    ck_assert_int_eq(st->expect.checks[1].ops[0].op, OP_MATCHES);
    ck_assert_ptr_nonnull(st->expect.checks[1].ops[0].re);
    ck_assert_int_eq(st->expect.checks[2].subject, SUBJ_BODY_TEXT);
    ck_assert_ptr_nonnull(st->expect.checks[3].re);
    ck_assert_int_eq(st->expect.checks[4].subject, SUBJ_TLS_DAYS_LEFT);
    ck_assert_double_eq_tol(st->expect.checks[4].ops[0].number, 14, 1e-9);
    ck_assert_int_eq(st->expect.checks[5].ops[0].op, OP_IN);
    ck_assert_uint_eq(st->ncaptures, 2);
    ck_assert_str_eq(st->captures[0].name, "user_id");
    ck_assert_int_eq(st->captures[1].kind, CAP_HEADER);
    ck_assert_ptr_nonnull(st->cleanup);
    ck_assert_str_eq(st->cleanup->method, "DELETE");
    ck_assert_uint_eq(st->cleanup_expect.nstatus, 3);
    ck_assert_uint_eq(st->retry.attempts, 1);

    st = scenario_step(sc, 1);
    ck_assert_int_eq(st->req.auth, AUTH_BASIC);
    ck_assert_uint_eq(st->req.nform, 1);
    ck_assert_uint_eq(st->retry.attempts, 3);
    ck_assert_uint_eq(st->retry.delay_ms, 2000);
    ck_assert_uint_eq(st->retry.on,
                      RETRY_ON_ERROR | RETRY_ON_5XX | RETRY_ON_FAIL);
    ck_assert_uint_eq(st->expect.nstatus, 2);
    ck_assert_uint_eq(st->expect.status[0].lo, 200);
    ck_assert_uint_eq(st->expect.status[0].hi, 299);
    ck_assert_ptr_null(st->cleanup);
    free(msgs);
    tu_scenario_free(sc);
}
END_TEST

START_TEST(test_scenario_jq_checks_evaluate)
{
    char *msgs;
    struct scenario *sc = tu_scenario(good, &msgs);
    const struct check *ck = &scenario_step(sc, 0)->expect.checks[0];
    jv out;

    ck_assert_ptr_nonnull(sc);
    ck_assert_int_eq(jqset_eval(tu_jq(), ck->jq,
                                jv_parse("{\"id\": 7, \"state\": \"new\"}"),
                                &out, NULL),
                     PW_OK);
    ck_assert_int_eq(jv_get_kind(out), JV_KIND_NUMBER);
    ck_assert_int_eq((int)jv_number_value(out), 7);
    jv_free(out);
    free(msgs);
    tu_scenario_free(sc);
}
END_TEST

START_TEST(test_scenario_unknown_keys_and_types)
{
    assert_errors("name: s\n"
                  "tgas: [x]\n"
                  "every: often\n"
                  "steps:\n"
                  "  - name: a\n"
                  "    requets: { url: http://x }\n"
                  "    request: { url: http://x, metod: GET, timeout: 5 }\n"
                  "    expect: { status: ok, checks: { jq: .a } }\n",
                  "s.yaml:2:1: unknown key 'tgas' in a scenario; did you "
                  "mean 'tags'?\n"
                  "s.yaml:3:8: every: bad duration 'often': expected a whole "
                  "number then a unit (ms, s, m, h, d), like 500ms or 5m\n"
                  "s.yaml:6:5: unknown key 'requets' in a step; did you mean "
                  "'request'?\n"
                  "s.yaml:7:31: unknown key 'metod' in request; did you mean "
                  "'method'?\n"
                  "s.yaml:7:52: timeout: bad duration '5': missing unit; use "
                  "ms, s, m, h or d\n"
                  "s.yaml:8:23: status must be a code such as 200, a class "
                  "such as 2xx, or a list of them, not 'ok'\n"
                  "s.yaml:8:35: checks must be a list, not a mapping\n");
}
END_TEST

START_TEST(test_scenario_template_names)
{
    assert_errors("name: s\n"
                  "matrix:\n"
                  "  color: [red, blue]\n"
                  "vars:\n"
                  "  a: \"{{ b }}\"\n"
                  "  b: \"x\"\n"
                  "steps:\n"
                  "  - name: one\n"
                  "    request:\n"
                  "      url: \"{{ target.base_url }}/{{ matrix.colour }}\"\n"
                  "      headers: { X-A: \"{{ user_id }}\", X-B: "
                  "\"{{ target.vars.region }}\" }\n"
                  "      body: \"{{ emial }} {{ run.idd }} {{ nope.x }}\"\n"
                  "  - name: two\n"
                  "    request: { url: \"{{ target.base_url }}\" }\n"
                  "    capture:\n"
                  "      user_id: { jq: .id }\n",
                  "s.yaml:5:10: var 'b' is used before it is defined\n"
                  "s.yaml:10:38: unknown matrix parameter 'colour'; did you "
                  "mean 'matrix.color'?\n"
                  "s.yaml:11:27: 'user_id' is used before it is captured (by "
                  "step 'two')\n"
                  "s.yaml:11:49: unknown name 'target.vars.region': not every "
                  "target of this scenario defines var 'region'\n"
                  "s.yaml:12:17: unknown name 'emial'\n"
                  "s.yaml:12:29: unknown name 'run.idd'; did you mean "
                  "'run.id'?\n"
                  "s.yaml:12:43: unknown name 'nope.x'\n");
}
END_TEST

START_TEST(test_scenario_regex_jq_and_template_syntax)
{
    assert_errors("name: s\n"
                  "steps:\n"
                  "  - name: a\n"
                  "    request: { url: \"{{ target.base_url }}/{{ x \" }\n"
                  "    expect:\n"
                  "      checks:\n"
                  "        - { regex: \"order ([0-9]+\", eq: \"1\" }\n"
                  "        - { header: X, matches: \"a**\" }\n"
                  "        - { jq: \".a | (\", exists: true }\n"
                  "        - { jq: \".a | nosuchfn\", exists: true }\n"
                  "        - { jq: .a, type: numbr }\n"
                  "        - { jq: .a }\n"
                  "        - { jq: .a, header: X, eq: 1 }\n",
                  "s.yaml:4:44: url: unclosed '{{': add the closing '}}'\n"
                  "s.yaml:7:34: regex: regex error at offset 13: missing "
                  "closing parenthesis\n"
                  "s.yaml:8:36: matches: regex error at offset 2: quantifier "
                  "does not follow a repeatable item\n"
                  "s.yaml:9:17: jq program has an unclosed '('\n"
                  "s.yaml:10:17: jq: nosuchfn/0 is not defined\n"
                  "s.yaml:11:27: unknown type 'numbr'; did you mean 'number'? "
                  "(string, number, boolean, null, array, object)\n"
                  "s.yaml:12:11: a check needs an operator: eq, ne, lt, le, "
                  "gt, ge, matches, contains, exists, type or in\n"
                  "s.yaml:13:11: a check takes one subject (jq, header, body, "
                  "regex, tls_days_left or status), not 2\n");
}
END_TEST

START_TEST(test_scenario_steps_targets_matrix)
{
    assert_errors("name: s\n"
                  "targets: [prod, prdo, prod]\n"
                  "coverage: twowise\n"
                  "matrix:\n"
                  "  a: [1, 2, 1]\n"
                  "  b: []\n"
                  "  exclude:\n"
                  "    - { a: 3 }\n"
                  "    - { c: 1 }\n"
                  "  include:\n"
                  "    - { a: 9 }\n"
                  "steps:\n"
                  "  - name: a\n"
                  "    request: { url: /relative }\n"
                  "  - name: a\n"
                  "    request: { url: \"{{ target.base_url }}\", json: {}, "
                  "body: x }\n"
                  "    capture: { x: { jq: .a }, x2: { status: true, jq: .b } "
                  "}\n",
                  "s.yaml:2:17: unknown target 'prdo'; did you mean 'prod'?\n"
                  "s.yaml:2:23: target 'prod' is listed twice\n"
                  "s.yaml:3:11: coverage must be all, pairwise or N-wise "
                  "(2-wise to 6-wise), not 'twowise'\n"
                  "s.yaml:5:13: duplicate value '1' in matrix parameter 'a'\n"
                  "s.yaml:6:6: matrix parameter 'b' has no values\n"
                  "s.yaml:8:12: exclude value '3' is not one of a's values\n"
                  "s.yaml:9:9: exclude names unknown matrix parameter 'c'\n"
                  "s.yaml:11:7: include entry lacks matrix parameter 'b'\n"
                  "s.yaml:14:21: url must start with http://, https:// or a "
                  "template such as {{ target.base_url }}\n"
                  "s.yaml:15:11: duplicate step name 'a' (also step 1)\n"
                  "s.yaml:16:14: a request takes at most one of json, body "
                  "and form\n"
                  "s.yaml:17:35: a capture takes one of jq, header, regex or "
                  "status\n");
}
END_TEST

/* coverage_effort: a whole number from 0 to 1000, reported where written;
 * the matrix it names is given the effort. */
START_TEST(test_scenario_coverage_effort)
{
    static const char *const bad[][2] = {
        { "1001", "s.yaml:3:18: coverage_effort must be between 0 and 1000, "
                  "not 1001\n" },
        { "-1", "s.yaml:3:18: coverage_effort must be between 0 and 1000, "
                "not -1\n" },
        { "lots", "s.yaml:3:18: coverage_effort must be a whole number, not "
                  "'lots'\n" },
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char yaml[256];

        snprintf(yaml, sizeof(yaml),
                 "name: s\n"
                 "coverage: pairwise\n"
                 "coverage_effort: %s\n"
                 "matrix: { a: [1, 2], b: [1, 2], c: [1, 2] }\n"
                 "steps:\n"
                 "  - name: a\n"
                 "    request: { url: \"{{ target.base_url }}\" }\n",
                 bad[i][0]);
        assert_errors(yaml, bad[i][1]);
    }
    {
        char *msgs;
        struct scenario *sc = tu_scenario(
            "name: s\n"
            "coverage: pairwise\n"
            "coverage_effort: 0\n"
            "matrix: { a: [1, 2], b: [1, 2], c: [1, 2] }\n"
            "steps:\n"
            "  - name: a\n"
            "    request: { url: \"{{ target.base_url }}\" }\n",
            &msgs);

        ck_assert_msg(sc != NULL, "%s", msgs);
        ck_assert_uint_eq(matrix_effort(scenario_matrix(sc)), 0);
        tu_scenario_free(sc);
        free(msgs);
    }
}
END_TEST

/* 256 matrix parameters load (pairwise over two values each: the 12 rows
 * of the binary construction); a 257th is refused where it is written. */
START_TEST(test_scenario_256_parameters)
{
    struct sbuf y;
    char *msgs;
    struct scenario *sc;
    uint64_t n = 0;
    int i;

    sbuf_init(&y, 0);
    sbuf_adds(&y, "name: s\ncoverage: pairwise\nmatrix:\n");
    for (i = 0; i < 256; i++)
        sbuf_addf(&y, "  p%d: [a, b]\n", i);
    sbuf_adds(&y, "steps:\n  - name: a\n"
                  "    request: { url: \"{{ target.base_url }}\" }\n");
    sc = tu_scenario(y.buf, &msgs);
    ck_assert_msg(sc != NULL, "%s", msgs);
    ck_assert_int_eq(matrix_count(scenario_matrix(sc), UINT64_MAX, &n, NULL),
                     PW_OK);
    ck_assert_uint_eq(n, 12);
    tu_scenario_free(sc);
    free(msgs);
    sbuf_release(&y);

    sbuf_init(&y, 0);
    sbuf_adds(&y, "name: s\nmatrix:\n");
    for (i = 0; i < 257; i++)
        sbuf_addf(&y, "  p%d: [a, b]\n", i);
    sbuf_adds(&y, "steps:\n  - name: a\n"
                  "    request: { url: \"{{ target.base_url }}\" }\n");
    assert_errors(y.buf, "s.yaml:259:3: too many matrix parameters (at most "
                          "256)\n");
    sbuf_release(&y);
}
END_TEST

START_TEST(test_scenario_missing_basics)
{
    assert_errors("description: nothing else\n",
                  "s.yaml:1:1: a scenario needs a name\n"
                  "s.yaml:1:1: a scenario needs steps\n");
    assert_errors("name: s\nsteps: []\n", "s.yaml:2:8: steps is empty\n");
    assert_errors("name: s\nsteps:\n  - request: { method: get }\n",
                  "s.yaml:3:5: a step needs a name\n"
                  "s.yaml:3:14: a request needs a url\n"
                  "s.yaml:3:24: method must be an upper-case HTTP method "
                  "such as GET or POST, not 'get'\n");
}
END_TEST

/* A suite across several files: duplicate names are caught there. */
START_TEST(test_scenario_duplicate_names_in_suite)
{
    struct diag *d = diag_new();
    struct suite *s;
    char *msgs;

    tu_write("a.scn.yaml", "name: dup\nsteps:\n  - name: x\n    request: "
                           "{ url: http://x }\n");
    tu_write("b.scn.yaml", "\n\nname: dup\nsteps:\n  - name: x\n    request: "
                           "{ url: http://x }\n");
    s = suite_load(tu_write("suite.yaml",
                            "scenarios: [\"*.scn.yaml\", "
                            "\"none/*.yaml\"]\ntargets:\n  a: { base_url: "
                            "http://x }\n"),
                   d);
    ck_assert_ptr_null(s);
    msgs = tu_diag_text(d);
    ck_assert_ptr_nonnull(strstr(msgs, "suite.yaml:1:27: 'none/*.yaml' "
                                       "matches no scenario file\n"));
    ck_assert_ptr_nonnull(strstr(msgs, "b.scn.yaml:3:1: duplicate scenario "
                                       "name 'dup' (also in "));
    free(msgs);
    diag_free(d);
}
END_TEST

/* The rows of a covering array, as value indices, and their count. */
static size_t cover_rows(const struct suite *s, const char *name,
                         size_t **out)
{
    struct matrix *m = scenario_matrix(suite_find_scenario(s, name));
    struct matrix_iter it;
    const char *const *row;
    size_t k = matrix_param_count(m), n = 0, i;

    *out = NULL;
    ck_assert_int_eq(matrix_iter_init(&it, m, NULL), PW_OK);
    while (matrix_iter_next(&it, &row)) {
        *out = xrealloc(*out, (n + 1) * k * sizeof(size_t));
        for (i = 0; i < k; i++)
            (*out)[n * k + i] = (size_t)matrix_find_value(m, i, row[i]);
        n++;
    }
    matrix_iter_release(&it);
    return n;
}

/* A reload keeps the covering array of a scenario whose matrix kept its
 * shape, and builds anew one that changed: its new exclude is honoured. */
START_TEST(test_suite_reload_keeps_arrays)
{
    static const char head[] = "name: wide\ncoverage: pairwise\nmatrix:\n"
                               "  a: [1, 2, 3, 4]\n  b: [1, 2, 3, 4]\n"
                               "  c: [1, 2, 3]\n  d: [1, 2, 3, 4]\n"
                               "  e: [1, 2]\n";
    static const char tail[] = "steps:\n  - name: x\n    request: "
                               "{ url: http://x }\n";
    struct diag *d = diag_new();
    struct suite *s1, *s2, *s3;
    char *cfg;
    size_t *r1, *r2, *r3, n1, n2, n3, i;
    char text[512];

    snprintf(text, sizeof(text), "%s%s", head, tail);
    tu_write("w.scn.yaml", text);
    /* tu_write() reuses its path buffer: keep the config's. */
    cfg = xstrdup(tu_write("suite.yaml", "scenarios: [\"*.scn.yaml\"]\n"
                                         "targets:\n"
                                         "  a: { base_url: http://x }\n"));
    s1 = suite_load(cfg, d);
    ck_assert_ptr_nonnull(s1);
    s2 = suite_reload(cfg, s1, d);
    ck_assert_ptr_nonnull(s2);
    n1 = cover_rows(s1, "wide", &r1);
    n2 = cover_rows(s2, "wide", &r2);
    ck_assert_uint_eq(n1, n2);
    ck_assert_int_eq(memcmp(r1, r2, n1 * 5 * sizeof(size_t)), 0);
    {
        struct matrix_stats st;

        /* Taken over, not built: no time spent on it. */
        ck_assert_int_eq(matrix_stats(scenario_matrix(suite_find_scenario(
                                          s2, "wide")),
                                      &st, NULL),
                         PW_OK);
        ck_assert(st.build_ms == 0.0);
    }

    snprintf(text, sizeof(text), "%s  exclude:\n    - { a: \"1\", b: \"1\" }\n%s",
             head, tail);
    tu_write("w.scn.yaml", text);
    s3 = suite_reload(cfg, s2, d);
    ck_assert_msg(s3 != NULL, "%s", tu_diag_text(d));
    n3 = cover_rows(s3, "wide", &r3);
    for (i = 0; i < n3; i++)
        ck_assert(!(r3[i * 5] == 0 && r3[i * 5 + 1] == 0));
    free(r1);
    free(r2);
    free(r3);
    suite_free(s1);
    suite_free(s2);
    suite_free(s3);
    free(cfg);
    diag_free(d);
}
END_TEST

/* A zero timeout would time every run out: refused where it is written,
 * for the scenario and for a request. */
START_TEST(test_scenario_zero_timeouts)
{
    assert_errors("name: s\n"
                  "timeout: 0s\n"
                  "steps:\n"
                  "  - name: a\n"
                  "    request: { url: http://x, timeout: 0ms }\n",
                  "s.yaml:2:10: timeout must be more than 0s\n"
                  "s.yaml:5:40: timeout must be more than 0s\n");
}
END_TEST

/* Excludes that leave no row make a scenario that can never run. */
START_TEST(test_scenario_excludes_remove_everything)
{
    assert_errors("name: s\n"
                  "matrix:\n"
                  "  a: [x, y]\n"
                  "  b: [u]\n"
                  "  exclude:\n"
                  "    - { a: x }\n"
                  "    - { a: y, b: u }\n"
                  "steps:\n"
                  "  - name: a\n"
                  "    request: { url: http://x }\n",
                  "s.yaml:5:3: the excludes remove every row of the "
                  "matrix: this scenario would never run\n");
    /* the same with pairwise coverage, which never enumerates */
    assert_errors("name: s\n"
                  "matrix:\n"
                  "  a: [x, y]\n"
                  "  b: [u]\n"
                  "  c: [1, 2]\n"
                  "  exclude:\n"
                  "    - { b: u }\n"
                  "coverage: pairwise\n"
                  "steps:\n"
                  "  - name: a\n"
                  "    request: { url: http://x }\n",
                  "s.yaml:6:3: the excludes remove every row of the "
                  "matrix: this scenario would never run\n");
}
END_TEST

/* Load a suite of one scenario <text> under config <cfg_text> (written
 * to suite.yaml, scenarios "*.scn.yaml"); the diagnostics in *<msgs>. */
static struct suite *load_suite(const char *cfg_text, const char *text,
                                char **msgs)
{
    struct diag *d = diag_new();
    struct suite *s;

    tu_write("one.scn.yaml", text);
    s = suite_load(tu_write("suite.yaml", cfg_text), d);
    *msgs = tu_diag_text(d);
    diag_free(d);
    return s;
}

/* A scenario of 2^k rows over 60 parameters (k with two values, the rest
 * with one) and the given coverage line. */
static char *wide_scenario(int k, const char *coverage)
{
    struct sbuf b = SBUF_INIT;
    int i;

    sbuf_adds(&b, "name: wide\nmatrix:\n");
    for (i = 0; i < 60; i++)
        sbuf_addf(&b, "  p%d: [%s]\n", i, i < k ? "a, b" : "a");
    sbuf_adds(&b, coverage);
    sbuf_adds(&b, "steps:\n  - name: a\n    request: { url: http://x }\n");
    return sbuf_take(&b, NULL);
}

static int count_cb(const struct scenario *sc, const char *target,
                    const char *const *row, const char *id, void *arg)
{
    (void)sc;
    (void)target;
    (void)row;
    (void)id;
    ++*(size_t *)arg;
    return 0;
}

/* The suite counts its tests without enumerating them and refuses more
 * than limits.max_tests, at the matrix key (or the coverage key that
 * decides the size). */
START_TEST(test_scenario_suite_test_limit)
{
    static const char two[] = "targets:\n"
                              "  a: { base_url: http://x }\n"
                              "  b: { base_url: http://x }\n"
                              "scenarios: [\"*.scn.yaml\"]\n";
    static const char capped[] = "targets:\n"
                                 "  a: { base_url: http://x }\n"
                                 "  b: { base_url: http://x }\n"
                                 "scenarios: [\"*.scn.yaml\"]\n"
                                 "limits: { max_tests: 16 }\n";
    char *text, *msgs;
    struct suite *s;
    size_t n = 0;

    /* 2^60 rows x 2 targets: refused at once */
    text = wide_scenario(60, "coverage: all\n");
    s = load_suite(two, text, &msgs);
    ck_assert_ptr_null(s);
    ck_assert_str_eq(msgs, "one.scn.yaml:2:1: scenario 'wide' has "
                           "2305843009213693952 tests (1152921504606846976 "
                           "rows x 2 targets), more than limits.max_tests "
                           "(1000000); use pairwise coverage or excludes, or "
                           "raise the limit\n");
    free(msgs);
    free(text);
    /* 2^19 x 2 is 1048576: just over the default */
    text = wide_scenario(19, "");
    s = load_suite(two, text, &msgs);
    ck_assert_ptr_null(s);
    ck_assert_ptr_nonnull(strstr(msgs, "has 1048576 tests (524288 rows x 2"));
    free(msgs);
    free(text);
    /* 8 rows x 2 targets = 16: exactly the raised limit */
    text = wide_scenario(3, "");
    s = load_suite(capped, text, &msgs);
    ck_assert_str_eq(msgs, "");
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(suite_test_count(s), 16);
    ck_assert_int_eq(expand_each(s, NULL, count_cb, &n, NULL), PW_OK);
    ck_assert_uint_eq(n, 16);
    suite_free(s);
    free(msgs);
    free(text);
    /* 16 rows: over it */
    text = wide_scenario(4, "");
    s = load_suite(capped, text, &msgs);
    ck_assert_ptr_null(s);
    ck_assert_str_eq(msgs, "one.scn.yaml:2:1: scenario 'wide' has 32 tests "
                           "(16 rows x 2 targets), more than "
                           "limits.max_tests (16); use pairwise coverage or "
                           "excludes, or raise the limit\n");
    free(msgs);
    free(text);
    /* 3-wise over 60 parameters of 1000 values: at least 10^9 rows,
     * reported at the coverage key without building anything */
    {
        struct sbuf b = SBUF_INIT;
        int i, j;

        sbuf_adds(&b, "name: huge\nmatrix:\n");
        for (i = 0; i < 60; i++) {
            sbuf_addf(&b, "  p%d: [", i);
            for (j = 0; j < 1000; j++)
                sbuf_addf(&b, "%sv%d", j ? ", " : "", j);
            sbuf_adds(&b, "]\n");
        }
        sbuf_adds(&b, "coverage: 3-wise\nsteps:\n  - name: a\n"
                      "    request: { url: http://x }\n");
        text = sbuf_take(&b, NULL);
    }
    s = load_suite(two, text, &msgs);
    ck_assert_ptr_null(s);
    ck_assert_str_eq(msgs, "one.scn.yaml:63:1: scenario 'huge' has at least "
                           "2000000000 tests (at least 1000000000 rows x 2 "
                           "targets), more than limits.max_tests (1000000); "
                           "use pairwise coverage or excludes, or raise the "
                           "limit\n");
    free(msgs);
    free(text);
}
END_TEST

/* Scenario files that are not regular files are refused without being
 * opened for reading (a FIFO would block), and a directory glob cannot
 * read is reported with its errno, not as "matches nothing". */
START_TEST(test_scenario_unreadable_files)
{
    static const char cfg[] = "targets: { a: { base_url: http://x } }\n"
                              "scenarios: [\"fifo/*.yaml\", \"loop/*.yaml\"]\n";
    char path[600], *msgs;
    struct suite *s;

    tu_mkdir("fifo");
    snprintf(path, sizeof(path), "%s/fifo/f.yaml", tu_tmpdir());
    unlink(path);
    ck_assert_int_eq(mkfifo(path, 0600), 0);
    snprintf(path, sizeof(path), "%s/loop", tu_tmpdir());
    unlink(path);
    ck_assert_int_eq(symlink("loop", path), 0);
    s = load_suite(cfg, "name: x\n", &msgs);
    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(msgs, "fifo/f.yaml: not a regular file\n") != NULL,
                  "%s", msgs);
    ck_assert_msg(
        strstr(msgs, "suite.yaml:2:28: 'loop/*.yaml': cannot read ") != NULL &&
            strstr(msgs, "/loop: Too many levels of symbolic "
                         "links\n") != NULL,
        "%s", msgs);
    free(msgs);
    unlink(path);
    if (geteuid() != 0) {
        /* root reads any directory */
        snprintf(path, sizeof(path), "%s/fifo", tu_tmpdir());
        chmod(path, 0);
        s = load_suite(cfg, "name: x\n", &msgs);
        chmod(path, 0700);
        ck_assert_ptr_null(s);
        ck_assert_msg(strstr(msgs, "/fifo: Permission denied\n") != NULL, "%s",
                      msgs);
        free(msgs);
    }
    snprintf(path, sizeof(path), "%s/fifo/f.yaml", tu_tmpdir());
    unlink(path);
}
END_TEST

/* An oversized file is reported with its real size, not the read cap. */
START_TEST(test_scenario_file_size_reported)
{
    char *msgs;
    struct suite *s;
    const char *big = tu_write("big.scn.yaml", "");

    ck_assert_int_eq(truncate(big, 100L << 20), 0);
    s = load_suite("targets: { a: { base_url: http://x } }\n"
                   "scenarios: [\"big.scn.yaml\"]\n",
                   "name: x\n", &msgs);
    ck_assert_ptr_null(s);
    ck_assert_str_eq(msgs, "big.scn.yaml: file is 104857600 bytes; the limit "
                           "is 8388608\n");
    free(msgs);
    unlink(tu_write("big.scn.yaml", ""));
}
END_TEST

/* secret.NAME must have its file in the secrets directory. */
START_TEST(test_scenario_secret_files)
{
    char *msgs;
    struct scenario *sc = tu_scenario("name: s\n"
                                      "steps:\n"
                                      "  - name: a\n"
                                      "    request:\n"
                                      "      url: http://x\n"
                                      "      headers: { A: \"{{ secret.pw }}\","
                                      " B: \"{{ secret.nope }}\" }\n",
                                      &msgs);

    ck_assert_ptr_null(sc);
    ck_assert_msg(strncmp(msgs, "s.yaml:6:47: secret 'nope': ", 28) == 0 &&
                      strstr(msgs, "/test-secrets/nope: No such file or "
                                   "directory\n") != NULL &&
                      strchr(msgs, '\n')[1] == '\0',
                  "%s", msgs);
    free(msgs);
    tu_scenario_free(NULL);
}
END_TEST

START_TEST(test_scenario_response_caps)
{
    char *msgs;
    struct scenario *sc =
        tu_scenario("name: s\n"
                    "steps:\n"
                    "  - name: a\n"
                    "    request: { url: http://x, max_body: 16MiB, "
                    "max_headers: 100KiB }\n"
                    "    cleanup: { url: http://x, max_body: 2MiB }\n"
                    "  - name: b\n"
                    "    request: { url: http://x }\n",
                    &msgs);
    const struct step *st;

    ck_assert_str_eq(msgs, "");
    ck_assert_ptr_nonnull(sc);
    st = scenario_step(sc, 0);
    ck_assert_uint_eq(st->req.max_body, 16 << 20);
    ck_assert_uint_eq(st->req.max_headers, 100 << 10);
    ck_assert_uint_eq(st->cleanup->max_body, 2 << 20);
    ck_assert_uint_eq(st->cleanup->max_headers, 0);
    st = scenario_step(sc, 1);
    ck_assert_uint_eq(st->req.max_body, 0);
    ck_assert_uint_eq(st->req.max_headers, 0);
    free(msgs);
    tu_scenario_free(sc);
    assert_errors("name: s\n"
                  "steps:\n"
                  "  - name: a\n"
                  "    request: { url: http://x, max_body: 0, "
                  "max_headers: 512KiB }\n"
                  "    cleanup: { url: http://x, max_body: 100MiB, "
                  "max_header: 1KiB }\n"
                  "  - name: b\n"
                  "    request:\n"
                  "      url: http://x\n"
                  "      max_body: -3\n"
                  "      max_headers: 1 MiB\n",
                  "s.yaml:4:41: max_body must be more than 0\n"
                  "s.yaml:4:57: max_headers must be at most 256KiB, not "
                  "512KiB\n"
                  "s.yaml:5:41: max_body must be at most 64MiB, not 100MiB\n"
                  "s.yaml:5:49: unknown key 'max_header' in cleanup; did you "
                  "mean 'max_headers'?\n"
                  "s.yaml:9:17: max_body: bad size '-3': a size cannot be "
                  "negative\n"
                  "s.yaml:10:20: max_headers: bad size '1 MiB': unknown unit "
                  "' MiB'; use B, KiB, MiB or GiB (1MiB = 1048576 bytes)\n");
}
END_TEST

static const char values_scenario[] =
    "name: s\n"
    "matrix:\n"
    "  site: { values_from: v.txt }\n"
    "  plan: [free, pro]\n"
    "  exclude:\n"
    "    - { site: b.example, plan: pro }\n"
    "  include:\n"
    "    - { site: c.example, plan: gold }\n"
    "steps:\n"
    "  - name: a\n"
    "    request: { url: \"http://x/{{ matrix.site }}\" }\n";

/* Every row of <sc>'s matrix, "v,v" a line. */
static char *matrix_rows(struct scenario *sc)
{
    struct matrix_iter it;
    const char *const *row;
    struct sbuf b = SBUF_INIT;
    size_t i;

    ck_assert_int_eq(matrix_iter_init(&it, scenario_matrix(sc), NULL), PW_OK);
    while (matrix_iter_next(&it, &row)) {
        for (i = 0; i < matrix_param_count(scenario_matrix(sc)); i++) {
            sbuf_adds(&b, i ? "," : "");
            sbuf_adds(&b, row[i]);
        }
        sbuf_addc(&b, '\n');
    }
    matrix_iter_release(&it);
    return sbuf_take(&b, NULL);
}

START_TEST(test_scenario_values_from)
{
    char *msgs, *rows;
    struct scenario *sc;

    /* Comments, blank lines, CRLF and the blanks around a value go. */
    tu_write("v.txt", "# sites to probe\n"
                      "a.example\r\n"
                      "\n"
                      "  b.example\t\n"
                      "   \n"
                      "#c.example is down\n"
                      "c.example");
    sc = tu_scenario(values_scenario, &msgs);
    ck_assert_str_eq(msgs, "");
    ck_assert_ptr_nonnull(sc);
    rows = matrix_rows(sc);
    ck_assert_str_eq(rows, "a.example,free\n"
                           "a.example,pro\n"
                           "b.example,free\n"
                           "c.example,free\n"
                           "c.example,pro\n"
                           "c.example,gold\n");
    free(rows);
    free(msgs);
    tu_scenario_free(sc);
}
END_TEST

START_TEST(test_scenario_values_from_errors)
{
    FILE *f;
    size_t i;

    tu_write("v.txt", "a.example\n"
                      "b.example\n"
                      "  a.example\n"
                      "c.example\n"
                      "b.example\r\n");
    assert_errors(values_scenario,
                  "v.txt:3:3: duplicate value 'a.example' in matrix "
                  "parameter 'site'\n"
                  "v.txt:5:1: duplicate value 'b.example' in matrix "
                  "parameter 'site'\n");
    f = fopen(tu_write("v.txt", ""), "w");
    ck_assert_ptr_nonnull(f);
    fwrite("a\nb\0c\nc\n", 1, 8, f);
    fclose(f);
    assert_errors("name: s\n"
                  "matrix: { site: { values_from: v.txt } }\n"
                  "steps: [ { name: a, request: { url: http://x } } ]\n",
                  "v.txt:2:1: a matrix value must not contain NUL "
                  "characters\n");
    tu_write("v.txt", "# nothing yet\n\n");
    tu_mkdir("vdir");
    /* A file that cannot be read is named as resolved. */
    assert_errors("name: s\n"
                  "matrix:\n"
                  "  a: { values_from: v.txt }\n"
                  "  b: { values_from: missing.txt }\n"
                  "  c: { values_from: vdir }\n"
                  "  d: { values_from: \"\" }\n"
                  "  e: { values_form: v.txt }\n"
                  "  f: { values_from: [v.txt] }\n"
                  "  g: plain\n"
                  "  exclude:\n"
                  "    - { b: x }\n"
                  "steps: [ { name: a, request: { url: http://x } } ]\n",
                  "s.yaml:3:21: values_from 'v.txt' has no values\n"
                  "s.yaml:4:21: values_from 'missing.txt': No such file or "
                  "directory\n"
                  "s.yaml:5:21: values_from 'vdir' is not a regular file\n"
                  "s.yaml:6:21: values_from must name a file\n"
                  "s.yaml:7:6: matrix parameter 'e' needs a list of values "
                  "or values_from: FILE\n"
                  "s.yaml:7:8: unknown key 'values_form' in a matrix "
                  "parameter; did you mean 'values_from'?\n"
                  "s.yaml:8:21: values_from must be a single value, not a "
                  "list\n"
                  "s.yaml:9:6: matrix parameter 'g' needs a list of values "
                  "or values_from: FILE\n");
    /* One value too many, and one byte too many. */
    f = fopen(tu_write("v.txt", ""), "w");
    ck_assert_ptr_nonnull(f);
    for (i = 0; i <= MATRIX_MAX_VALUES; i++)
        fprintf(f, "v%zu\n", i);
    fclose(f);
    ck_assert_int_eq(truncate(tu_write("big.txt", ""), 16L << 20 | 1), 0);
    assert_errors("name: s\n"
                  "matrix:\n"
                  "  a: { values_from: v.txt }\n"
                  "  b: { values_from: big.txt }\n"
                  "steps: [ { name: a, request: { url: http://x } } ]\n",
                  "s.yaml:3:21: values_from 'v.txt' has more than 100000 "
                  "values\n"
                  "s.yaml:4:21: values_from 'big.txt' is larger than "
                  "16MiB\n");
    unlink(tu_write("big.txt", ""));
}
END_TEST

/* 100,000 values load, written inline or in a file, and give the same
 * test ids; one more is refused. */
START_TEST(test_scenario_many_values)
{
    struct sbuf y = SBUF_INIT;
    FILE *f;
    char *msgs;
    struct scenario *a, *b;
    struct matrix *ma, *mb;
    size_t i;

    f = fopen(tu_write("v.txt", ""), "w");
    ck_assert_ptr_nonnull(f);
    sbuf_adds(&y, "name: s\nmatrix:\n  site: [");
    for (i = 0; i < MATRIX_MAX_VALUES; i++) {
        fprintf(f, "site-%zu.example\n", i);
        sbuf_addf(&y, "%ssite-%zu.example", i ? ", " : "", i);
    }
    fclose(f);
    sbuf_adds(&y, "]\nsteps: [ { name: a, request: { url: http://x } } ]\n");
    a = tu_scenario(y.buf, &msgs);
    ck_assert_str_eq(msgs, "");
    free(msgs);
    ma = scenario_matrix(a);
    ck_assert_uint_eq(matrix_value_count(ma, 0), MATRIX_MAX_VALUES);
    b = tu_scenario("name: s\n"
                    "matrix: { site: { values_from: v.txt } }\n"
                    "steps: [ { name: a, request: { url: http://x } } ]\n",
                    &msgs);
    ck_assert_str_eq(msgs, "");
    free(msgs);
    mb = scenario_matrix(b);
    ck_assert_uint_eq(matrix_value_count(mb, 0), MATRIX_MAX_VALUES);
    for (i = 0; i < MATRIX_MAX_VALUES; i += 997)
        ck_assert_str_eq(matrix_value(ma, 0, i), matrix_value(mb, 0, i));
    ck_assert_int_eq(matrix_find_value(mb, 0, "site-99999.example"), 99999);
    ck_assert_int_eq(matrix_find_value(mb, 0, "site-100000.example"), -1);
    tu_scenario_free(a);
    tu_scenario_free(b);
    sbuf_reset(&y);
    sbuf_adds(&y, "name: s\nmatrix:\n  site: [");
    for (i = 0; i <= MATRIX_MAX_VALUES; i++)
        sbuf_addf(&y, "%s%zu", i ? ", " : "", i);
    sbuf_adds(&y, "]\nsteps: [ { name: a, request: { url: http://x } } ]\n");
    assert_errors(y.buf, "s.yaml:3:9: matrix parameter 'site' has more than "
                         "100000 values\n");
    sbuf_release(&y);
}
END_TEST

static Suite *scenario_suite(void)
{
    Suite *s = suite_create("scenario");
    TCase *tc = tcase_create("Load");
    TCase *te = tcase_create("Errors");

    tcase_set_timeout(tc, 60);
    tcase_set_timeout(te, 60);
    tcase_add_test(tc, test_scenario_good_file);
    tcase_add_test(tc, test_scenario_jq_checks_evaluate);
    tcase_add_test(te, test_scenario_unknown_keys_and_types);
    tcase_add_test(te, test_scenario_template_names);
    tcase_add_test(te, test_scenario_regex_jq_and_template_syntax);
    tcase_add_test(te, test_scenario_steps_targets_matrix);
    tcase_add_test(te, test_scenario_missing_basics);
    tcase_add_test(te, test_scenario_coverage_effort);
    tcase_add_test(te, test_scenario_256_parameters);
    tcase_add_test(te, test_suite_reload_keeps_arrays);
    tcase_add_test(te, test_scenario_duplicate_names_in_suite);
    tcase_add_test(te, test_scenario_zero_timeouts);
    tcase_add_test(te, test_scenario_secret_files);
    tcase_add_test(te, test_scenario_excludes_remove_everything);
    tcase_add_test(te, test_scenario_suite_test_limit);
    tcase_add_test(te, test_scenario_unreadable_files);
    tcase_add_test(te, test_scenario_file_size_reported);
    tcase_add_test(te, test_scenario_response_caps);
    tcase_add_test(tc, test_scenario_values_from);
    tcase_add_test(te, test_scenario_values_from_errors);
    tcase_add_test(tc, test_scenario_many_values);
    suite_add_tcase(s, tc);
    suite_add_tcase(s, te);
    return s;
}

int main(void)
{
    return pw_run_suite(scenario_suite());
}
