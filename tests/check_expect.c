/* check_expect.c -- judging responses: operators, subjects, messages and
 * captures, on responses built in memory. */
#include <stdlib.h>
#include <string.h>

#include "expect.h"
#include "testutil.h"

static struct scenario *sc;
static char *msgs;

/* One step whose expect block is <expect_yaml> (indented for "    "). */
static void load(const char *expect_yaml)
{
    struct sbuf y = SBUF_INIT;

    sbuf_adds(&y, "name: e\n"
                  "vars: { want: ok }\n"
                  "steps:\n"
                  "  - name: s\n"
                  "    request: { url: http://x }\n"
                  "    expect:\n");
    sbuf_adds(&y, expect_yaml);
    sbuf_adds(&y, "    capture:\n"
                  "      id: { jq: .id }\n"
                  "      ctype: { header: content-type }\n"
                  "      order: { regex: \"order ([0-9]+)\" }\n"
                  "      code: { status: true }\n");
    sc = tu_scenario(y.buf, &msgs);
    ck_assert_msg(sc != NULL, "%s", msgs);
    sbuf_release(&y);
}

static void unload(void)
{
    free(msgs);
    tu_scenario_free(sc);
    sc = NULL;
}

static pw_status lookup(const char *path, void *arg, struct sbuf *out)
{
    int *secrets = arg;

    if (strcmp(path, "want") == 0)
        return sbuf_adds(out, "ok");
    if (strcmp(path, "secret.token") == 0) {
        (*secrets)++;
        return sbuf_adds(out, "s3cr3t");
    }
    return PW_ERR_INVALID;
}

static struct http_header hdrs[] = {
    { (char *)"Content-Type", (char *)"application/json; charset=utf-8" },
    { (char *)"X-Count", (char *)"42" },
};

/* Judge <body> (status 200, 12 ms) with the loaded expectations; returns
 * the verdict and leaves the message in <msg>. */
static int judge(const char *body, long status, struct sbuf *msg)
{
    struct http_resp r;
    struct resp_view v;
    int secrets = 0;
    struct expect_env env = { lookup, &secrets, &secrets };
    int ok;

    memset(&r, 0, sizeof(r));
    r.status = status;
    r.total_ms = 12;
    r.cert_days_left = HTTP_CERT_UNKNOWN;
    sbuf_init(&r.body, 0);
    sbuf_adds(&r.body, body);
    r.headers = hdrs;
    r.nheaders = 2;
    resp_view_init(&v, &r, tu_jq());
    sbuf_reset(msg);
    ok = expect_check(&scenario_step(sc, 0)->expect, &v, &env, msg);
    resp_view_release(&v);
    sbuf_release(&r.body);
    return ok;
}

static void assert_verdict(const char *body, long status, int want,
                           const char *want_msg)
{
    struct sbuf m = SBUF_INIT;
    int ok = judge(body, status, &m);

    ck_assert_msg(ok == want, "verdict %d, wanted %d (%s)", ok, want, m.buf);
    if (want_msg)
        ck_assert_str_eq(m.buf, want_msg);
    sbuf_release(&m);
}

START_TEST(test_expect_status_and_duration)
{
    load("      status: [2xx, 304]\n      duration: \"< 10ms\"\n");
    assert_verdict("{}", 404, 0, "status: expected 2xx or 304, got 404");
    assert_verdict("{}", 204, 0, "duration: expected < 10ms, got 12ms");
    unload();
    load("      duration: \"<= 12ms\"\n");
    assert_verdict("{}", 302, 1, NULL);
    assert_verdict("{}", 500, 0, "status: expected below 400, got 500");
    unload();
}
END_TEST

START_TEST(test_expect_jq_operators)
{
    load("      checks:\n"
         "        - { jq: .id, eq: \"7\", ne: 8, gt: 6, le: 7, in: [1, 7] }\n"
         "        - { jq: .name, eq: \"{{ want }}\", matches: \"^o\" }\n"
         "        - { jq: .tags, contains: b, type: array }\n"
         "        - { jq: .obj, contains: k, type: object }\n"
         "        - { jq: .missing, exists: false }\n"
         "        - { jq: .flag, eq: true, type: boolean }\n");
    assert_verdict("{\"id\": 7, \"name\": \"ok\", \"tags\": [\"a\", \"b\"], "
                   "\"obj\": {\"k\": 1}, \"flag\": true}",
                   200, 1, NULL);
    assert_verdict("{\"id\": 9, \"name\": \"ok\"}", 200, 0,
                   "jq .id eq: expected \"7\", got 9");
    assert_verdict("{\"id\": 7, \"name\": \"no\"}", 200, 0,
                   "jq .name eq: expected \"ok\", got \"no\"");
    assert_verdict("{\"id\": 7, \"name\": \"ok\", \"tags\": \"abc\", "
                   "\"obj\": {}}",
                   200, 0, "jq .tags type: expected array, got string \"abc\"");
    assert_verdict(
        "<html>", 200, 0,
        "jq .id: the body is not JSON: unexpected character at byte 0");
    unload();
}
END_TEST

START_TEST(test_expect_other_subjects)
{
    load("      checks:\n"
         "        - { header: content-type, contains: json }\n"
         "        - { header: X-Count, ge: 42, lt: 43 }\n"
         "        - { header: X-Missing, exists: false }\n"
         "        - { body: text, contains: \"order 12\" }\n"
         "        - { body: size, eq: 14 }\n"
         "        - { body: sha256, eq: "
         "\"89e56592e7ebd6ec3ef4880efededd5ca39ccb12e153ed23e48672600fdb3638\" "
         "}\n");
    assert_verdict("{} order 12 !!", 200, 1, NULL);
    assert_verdict("{} order 13 !!", 200, 0,
                   "body contains: expected \"order 12\", got \"{} order 13 "
                   "!!\"");
    unload();
    load("      checks:\n"
         "        - { regex: \"order ([0-9]+)\", eq: 12 }\n"
         "        - { regex: \"missing\", exists: false }\n"
         "        - { body: sha256, eq: "
         "\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\" "
         "}\n");
    assert_verdict("", 200, 0,
                   "regex order ([0-9]+) eq: expected 12, got "
                   "nothing");
    unload();
    load("      checks:\n"
         "        - { body: sha256, eq: "
         "\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\" "
         "}\n"
         "        - { tls_days_left: true, exists: false }\n");
    assert_verdict("", 200, 1, NULL);
    unload();
}
END_TEST

START_TEST(test_expect_messages_are_safe)
{
    load("      checks:\n"
         "        - { jq: .t, eq: \"{{ secret.token }}\" }\n");
    assert_verdict("{\"t\": \"guess\"}", 200, 0,
                   "jq .t eq: expected (secret), got \"guess\"");
    unload();
    load("      checks:\n"
         "        - { body: text, contains: zzz }\n");
    /* Control bytes and invalid UTF-8 never reach a message as they are;
     * long values are cut. */
    assert_verdict("a\x01\xff"
                   "bcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstu"
                   "vwxyz",
                   200, 0,
                   "body contains: expected \"zzz\", got \"a \xef\xbf\xbd"
                   "bcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrst\""
                   "...");
    unload();
}
END_TEST

/* jq 1.6 refuses to parse JSON nested past its stack of 256 (an object
 * takes two entries); that is a limit of the parser, not a broken body. */
START_TEST(test_expect_deep_json_names_the_limit)
{
    struct sbuf deep = SBUF_INIT;
    int i;

    load("      checks:\n"
         "        - { jq: .a, exists: true }\n");
    for (i = 0; i < 129; i++)
        sbuf_adds(&deep, "{\"a\":");
    sbuf_adds(&deep, "1");
    for (i = 0; i < 129; i++)
        sbuf_adds(&deep, "}");
    assert_verdict(deep.buf, 200, 0,
                   "jq .a: the body is nested deeper than jq's limit "
                   "(256 levels of arrays, 128 of objects)");
    sbuf_release(&deep);
    assert_verdict("{\"a\": ", 200, 0,
                   "jq .a: the body is not JSON: the text ends inside a "
                   "value at byte 6");
    /* Shapes on which libjq 1.6 leaks never reach it (LeakSanitizer
     * watches this test in the sanitizer build). */
    assert_verdict("{\"a\" \"b\"}", 200, 0,
                   "jq .a: the body is not JSON: expected ':' at byte 5");
    assert_verdict("[\"x\" \"y\"]", 200, 0,
                   "jq .a: the body is not JSON: two values without ',' "
                   "between at byte 5");
    unload();
}
END_TEST

/* Values are quoted as JSON strings are, so a quote inside one cannot be
 * mistaken for its end. */
START_TEST(test_expect_quotes_inside_values_escaped)
{
    load("      checks:\n"
         "        - { jq: .q, eq: \"b\\\\\\\"c\" }\n");
    assert_verdict("{\"q\": \"\\\"a\\\"\"}", 200, 0,
                   "jq .q eq: expected \"b\\\\\\\"c\", got \"\\\"a\\\"\"");
    unload();
}
END_TEST

/* Each comparison shows its operator next to the expected value. */
START_TEST(test_expect_comparisons_show_operator)
{
    static const struct {
        const char *check, *msg;
    } cases[] = {
        { "gt: 14", "jq .n gt: expected > 14, got 3" },
        { "ge: 14", "jq .n ge: expected >= 14, got 3" },
        { "lt: 2", "jq .n lt: expected < 2, got 3" },
        { "le: 2.5", "jq .n le: expected <= 2.5, got 3" },
        { "ne: 3", "jq .n ne: expected != 3, got 3" },
        { "eq: 4", "jq .n eq: expected 4, got 3" },
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sbuf y = SBUF_INIT;

        sbuf_addf(&y, "      checks:\n        - { jq: .n, %s }\n",
                  cases[i].check);
        load(y.buf);
        assert_verdict("{\"n\": 3}", 200, 0, cases[i].msg);
        unload();
        sbuf_release(&y);
    }
}
END_TEST

/* Bodies of a few KB need more than PCRE2's default 32 KiB JIT stack;
 * running out must not read as "no match". */
START_TEST(test_expect_regex_on_long_bodies)
{
    struct sbuf body = SBUF_INIT;
    int i;

    load("      checks:\n"
         "        - { body: text, matches: \"^(x|y)*$\" }\n");
    for (i = 0; i < 3000; i++)
        sbuf_addc(&body, 'x');
    assert_verdict(body.buf, 200, 1, NULL);
    unload();
    load("      checks:\n"
         "        - { regex: '\"description\": \"((?:[^\"\\\\]|\\\\.)*)\"',"
         " exists: true }\n");
    sbuf_reset(&body);
    sbuf_adds(&body, "{\"id\": 1, \"description\": \"");
    for (i = 0; i < 5000; i++)
        sbuf_adds(&body, i % 100 == 0 ? "\\\"" : "d");
    sbuf_adds(&body, "\"}");
    assert_verdict(body.buf, 200, 1, NULL);
    unload();
    sbuf_release(&body);
}
END_TEST

/* Catastrophic backtracking is cut off by the match limit and reported as
 * an engine error, for both the operator and the subject. */
START_TEST(test_expect_regex_engine_error_is_an_error)
{
    const char *hostile = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab";

    load("      checks:\n"
         "        - { body: text, matches: \"^(a|a?)+$\" }\n");
    assert_verdict(hostile, 200, -1,
                   "body matches: regex engine error: match limit exceeded");
    unload();
    load("      checks:\n"
         "        - { regex: \"^((a|a?)+)$\", exists: false }\n");
    assert_verdict(hostile, 200, -1,
                   "regex ^((a|a?)+)$: regex engine error: match limit "
                   "exceeded");
    unload();
}
END_TEST

START_TEST(test_expect_captures)
{
    struct http_resp r;
    struct resp_view v;
    struct sbuf out = SBUF_INIT, m = SBUF_INIT;
    const struct step *st;

    load("      status: 200\n");
    st = scenario_step(sc, 0);
    memset(&r, 0, sizeof(r));
    r.status = 201;
    sbuf_init(&r.body, 0);
    sbuf_adds(&r.body, "{\"id\": 17, \"note\": \"order 99\"}");
    r.headers = hdrs;
    r.nheaders = 2;
    resp_view_init(&v, &r, tu_jq());
    ck_assert(expect_capture(&st->captures[0], &v, &out, &m));
    ck_assert_str_eq(out.buf, "17");
    sbuf_reset(&out);
    ck_assert(expect_capture(&st->captures[1], &v, &out, &m));
    ck_assert_str_eq(out.buf, "application/json; charset=utf-8");
    sbuf_reset(&out);
    ck_assert(expect_capture(&st->captures[2], &v, &out, &m));
    ck_assert_str_eq(out.buf, "99");
    sbuf_reset(&out);
    ck_assert(expect_capture(&st->captures[3], &v, &out, &m));
    ck_assert_str_eq(out.buf, "201");
    resp_view_release(&v);
    sbuf_reset(&r.body);
    sbuf_adds(&r.body, "{\"other\": 1}");
    resp_view_init(&v, &r, tu_jq());
    sbuf_reset(&out);
    ck_assert(!expect_capture(&st->captures[0], &v, &out, &m));
    ck_assert_str_eq(m.buf, "capture id: jq .id found nothing");
    resp_view_release(&v);
    sbuf_release(&r.body);
    sbuf_release(&out);
    sbuf_release(&m);
    unload();
}
END_TEST

static Suite *expect_suite(void)
{
    Suite *s = suite_create("expect");
    TCase *tc = tcase_create("Judge");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_expect_status_and_duration);
    tcase_add_test(tc, test_expect_jq_operators);
    tcase_add_test(tc, test_expect_other_subjects);
    tcase_add_test(tc, test_expect_messages_are_safe);
    tcase_add_test(tc, test_expect_captures);
    tcase_add_test(tc, test_expect_regex_on_long_bodies);
    tcase_add_test(tc, test_expect_regex_engine_error_is_an_error);
    tcase_add_test(tc, test_expect_deep_json_names_the_limit);
    tcase_add_test(tc, test_expect_quotes_inside_values_escaped);
    tcase_add_test(tc, test_expect_comparisons_show_operator);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pw_run_suite(expect_suite());
}
