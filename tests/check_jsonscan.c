/* check_jsonscan.c -- the shape check in front of libjq's parser. */
#include <jv.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jsonscan.h"
#include "testutil.h"

static int scan(const char *s)
{
    return jsonscan_structure(s, strlen(s), NULL, NULL);
}

START_TEST(test_jsonscan_accepts_json)
{
    static const char *const good[] = {
        "1",
        "\"x\"",
        "null",
        " true ",
        "[]",
        "{}",
        "[1,2,[3,{}]]",
        "{\"a\":1,\"b\":[true,false,null],\"c\":{\"d\":\"e\"}}",
        "\xEF\xBB\xBF{\"bom\":1}",
        "{\"q\":\"a\\\"b\\\\\"}",
        "nan",
        "\"\xff raw bytes\"",
        "-1.5e+10",
        "[\n\t1 ,\r\n 2 ]",
    };
    size_t i;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        ck_assert_msg(scan(good[i]), "refused %s", good[i]);
}
END_TEST

START_TEST(test_jsonscan_refuses_broken_shapes)
{
    static const struct {
        const char *text, *why;
        size_t at;
    } bad[] = {
        { "{\"a\" \"b\"}", "expected ':'", 5 },
        { "{\"a\":1 \"b\":2}", "two values without ',' between", 7 },
        { "[\"x\" \"y\"]", "two values without ',' between", 5 },
        { "1 2", "more than one value", 2 },
        { "[1,]", "expected a value", 3 },
        { "{1:2}", "an object key is not a string", 1 },
        { "[1}", "brackets do not match", 2 },
        { "]", "a closing bracket with nothing open", 0 },
        { "[1", "the text ends inside a value", 2 },
        { "\"abc", "a string does not end", 0 },
        { "", "no value", 0 },
        { "<html>", "unexpected character", 0 },
    };
    size_t i, at;
    const char *why;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why = NULL;
        at = 999;
        ck_assert_msg(
            !jsonscan_structure(bad[i].text, strlen(bad[i].text), &why, &at),
            "accepted %s", bad[i].text);
        ck_assert_str_eq(why, bad[i].why);
        ck_assert_uint_eq(at, bad[i].at);
    }
}
END_TEST

/* Whether libjq parses <s>, asked in a child that ends with _exit(): on
 * some broken shapes libjq leaks, and the leak checker must not see it. */
static int jq_parses(const char *s)
{
    pid_t pid = fork();
    int st = 0;

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        jv v = jv_parse_sized(s, (int)strlen(s));

        _exit(jv_is_valid(v) ? 0 : 1);
    }
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFEXITED(st));
    return WEXITSTATUS(st) == 0;
}

/* Random token strings: every one libjq parses must pass the shape check
 * (the check may pass more, libjq judges those). */
START_TEST(test_jsonscan_never_refuses_what_jq_parses)
{
    static const char *const tok[] = {
        "{", "}",    "[",   "]",      ":", ",",        "\"a\"", "\"b\\\"c\"",
        "1", "true", "nan", "-2.5e3", " ", "\"\xff\"", "null",
    };
    char buf[256];
    unsigned seed = 12345;
    size_t n, k, accepted = 0, parsed = 0;

    for (n = 0; n < 3000; n++) {
        size_t len = 1 + (size_t)(rand_r(&seed) % 10);

        buf[0] = '\0';
        for (k = 0; k < len; k++)
            strcat(buf, tok[rand_r(&seed) % (sizeof(tok) / sizeof(tok[0]))]);
        if (scan(buf)) {
            accepted++;
            continue; /* libjq may still refuse it: not our question */
        }
        ck_assert_msg(!jq_parses(buf), "refused what jq parses: %s", buf);
        parsed++;
    }
    /* Both sides were exercised. */
    ck_assert_uint_gt(accepted, 100);
    ck_assert_uint_gt(parsed, 100);
}
END_TEST

START_TEST(test_jsonscan_deep_is_left_to_jq)
{
    size_t n = JSONSCAN_MAX_DEPTH + 10, i;
    char *s = malloc(2 * n + 1);

    for (i = 0; i < n; i++) {
        s[i] = '[';
        s[n + i] = ']';
    }
    s[2 * n] = '\0';
    ck_assert(scan(s));
    s[2 * n - 1] = '}';
    ck_assert(scan(s)); /* past the limit: libjq's depth error decides */
    free(s);
}
END_TEST

static Suite *jsonscan_suite(void)
{
    Suite *s = suite_create("jsonscan");
    TCase *tc = tcase_create("Core");

    tcase_add_test(tc, test_jsonscan_accepts_json);
    tcase_add_test(tc, test_jsonscan_refuses_broken_shapes);
    tcase_add_test(tc, test_jsonscan_never_refuses_what_jq_parses);
    tcase_add_test(tc, test_jsonscan_deep_is_left_to_jq);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pw_run_suite(jsonscan_suite());
}
