/* check_jqset.c -- batched jq compilation and indexed evaluation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jqset.h"
#include "testutil.h"

static struct pos at(unsigned line)
{
    struct pos p = { "j.yaml", line, 5 };

    return p;
}

static double eval_num(struct jqset *s, size_t idx, const char *json)
{
    jv out;
    double v;

    ck_assert_int_eq(jqset_eval(s, idx, jv_parse(json), &out, NULL), PW_OK);
    ck_assert_int_eq(jv_get_kind(out), JV_KIND_NUMBER);
    v = jv_number_value(out);
    jv_free(out);
    return v;
}

/* More expressions than fit one chunk, each distinct: every index must
 * select its own program. */
START_TEST(test_jqset_many_select_by_index)
{
    struct jqset *s = jqset_new();
    struct diag *d = diag_new();
    size_t idx[300], i;

    for (i = 0; i < 300; i++) {
        char expr[64];

        snprintf(expr, sizeof(expr), ".n + %zu", i);
        idx[i] = jqset_add(s, expr, at((unsigned)i + 1));
    }
    ck_assert_uint_eq(jqset_count(s), 300);
    ck_assert_int_eq(jqset_compile(s, d), PW_OK);
    ck_assert_uint_eq(diag_count(d), 0);
    for (i = 0; i < 300; i += 7)
        ck_assert_double_eq(eval_num(s, idx[i], "{\"n\": 1000}"),
                            1000.0 + (double)i);
    ck_assert_double_eq(eval_num(s, idx[299], "{\"n\": 1}"), 300.0);
    diag_free(d);
    jqset_free(s);
}
END_TEST

START_TEST(test_jqset_bad_ones_reported_good_ones_work)
{
    struct jqset *s = jqset_new();
    struct diag *d = diag_new();
    size_t good1 = jqset_add(s, ".a", at(1));
    size_t bad1 = jqset_add(s, ".a | nosuch(1)", at(2));
    size_t good2 = jqset_add(s, "[.b[] | . * 2] | add", at(3));
    size_t bad2 = jqset_add(s, ".a ]", at(4));
    size_t bad3 = jqset_add(s, ". as [$x | $x", at(5));
    char *msgs;
    jv out;

    (void)bad3;
    ck_assert_int_eq(jqset_compile(s, d), PW_ERR_PARSE);
    msgs = tu_diag_text(d);
    ck_assert_str_eq(msgs,
                     "j.yaml:2:5: jq: nosuch/1 is not defined\n"
                     "j.yaml:4:5: jq program has an unmatched ']' at offset "
                     "3\n"
                     "j.yaml:5:5: jq program has an unclosed '['\n");
    free(msgs);
    ck_assert_double_eq(eval_num(s, good1, "{\"a\": 5}"), 5.0);
    ck_assert_double_eq(eval_num(s, good2, "{\"b\": [1, 2, 3]}"), 12.0);
    ck_assert_int_eq(jqset_eval(s, bad1, jv_parse("{}"), &out, NULL),
                     PW_ERR_INVALID);
    ck_assert_int_eq(jqset_eval(s, bad2, jv_parse("{}"), &out, NULL),
                     PW_ERR_INVALID);
    diag_free(d);
    jqset_free(s);
}
END_TEST

START_TEST(test_jqset_runtime_errors_and_empty_output)
{
    struct jqset *s = jqset_new();
    struct diag *d = diag_new();
    size_t e = jqset_add(s, ".a.b", at(1));
    size_t empty = jqset_add(s, ".[] | select(. > 10)", at(2));
    struct pw_err err;
    jv out;

    ck_assert_int_eq(jqset_compile(s, d), PW_OK);
    ck_assert_int_eq(jqset_eval(s, e, jv_parse("{\"a\": 3}"), &out, &err),
                     PW_ERR_INVALID);
    ck_assert_str_eq(err.msg, "jq: Cannot index number with string \"b\"");
    ck_assert_int_eq(jqset_eval(s, empty, jv_parse("[1, 2]"), &out, &err),
                     PW_OK);
    ck_assert(!jv_is_valid(out));
    jv_free(out);
    diag_free(d);
    jqset_free(s);
}
END_TEST

START_TEST(test_jqset_precheck)
{
    struct pw_err err;

    ck_assert_int_eq(jqset_precheck(".a | (.b)", &err), PW_OK);
    ck_assert_int_eq(jqset_precheck("\"x)\\(.a | (1))y\" | length", &err),
                     PW_OK);
    ck_assert_int_eq(jqset_precheck(".a # comment with )\n| .b", &err), PW_OK);
    ck_assert_int_eq(jqset_precheck("  ", &err), PW_ERR_PARSE);
    ck_assert_str_eq(err.msg, "empty jq program");
    ck_assert_int_eq(jqset_precheck(".a); def evil: (.b", &err), PW_ERR_PARSE);
    ck_assert_str_eq(err.msg, "jq program has an unmatched ')' at offset 2");
    ck_assert_int_eq(jqset_precheck("\"abc", &err), PW_ERR_PARSE);
    ck_assert_str_eq(err.msg, "jq program has an unterminated string");
    ck_assert_int_eq(jqset_precheck("{a: [1}", &err), PW_ERR_PARSE);
}
END_TEST

/* Builtins that reach outside the response or the process are refused
 * before anything runs, with where they are. */
START_TEST(test_jqset_refuses_outside_world)
{
    static const struct {
        const char *expr, *msg;
    } cases[] = {
        { "env.HOME", "jq: 'env' is not allowed in a check (offset 0)" },
        { ".a | $ENV.PATH", "jq: '$ENV' is not allowed in a check (offset 5)" },
        { "\"\\(input)\"", "jq: 'input' is not allowed in a check (offset 3)" },
        { "[inputs]", "jq: 'inputs' is not allowed in a check (offset 1)" },
        { ".a | debug", "jq: 'debug' is not allowed in a check (offset 5)" },
        { "stderr", "jq: 'stderr' is not allowed in a check (offset 0)" },
        { "halt", "jq: 'halt' is not allowed in a check (offset 0)" },
        { "\"x\" | halt_error(1)",
          "jq: 'halt_error' is not allowed in a check (offset 6)" },
        { "input_filename",
          "jq: 'input_filename' is not allowed in a check (offset 0)" },
        { "$__loc__", "jq: '$__loc__' is not allowed in a check (offset 0)" },
        { "import \"m\" as m; .",
          "jq: 'import' is not allowed in a check (offset 0)" },
        { "include \"m\"; .",
          "jq: 'include' is not allowed in a check (offset 0)" },
        { "modulemeta",
          "jq: 'modulemeta' is not allowed in a check (offset 0)" },
        { "get_search_list",
          "jq: 'get_search_list' is not allowed in a check (offset 0)" },
        { "{a: .b} | {c: env}",
          "jq: 'env' is not allowed in a check (offset 14)" },
    };
    struct pw_err err;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ck_assert_msg(jqset_precheck(cases[i].expr, &err) == PW_ERR_PARSE,
                      "%s accepted", cases[i].expr);
        ck_assert_str_eq(err.msg, cases[i].msg);
    }
    /* The same names as fields, keys, strings and variables are data. */
    ck_assert_int_eq(jqset_precheck(".env | .input", &err), PW_OK);
    ck_assert_int_eq(jqset_precheck("{env: 1, input} | .\"halt\"", &err),
                     PW_OK);
    ck_assert_int_eq(jqset_precheck("\"env\" # env\n", &err), PW_OK);
    ck_assert_int_eq(jqset_precheck(". as $env | $env", &err), PW_OK);
}
END_TEST

/* The same refusal at load, reported at the expression's position. */
START_TEST(test_jqset_refused_at_load)
{
    struct jqset *s = jqset_new();
    struct diag *d = diag_new();
    size_t good = jqset_add(s, ".a", at(1));
    char *msgs;

    jqset_add(s, "$ENV | keys", at(2));
    ck_assert_int_eq(jqset_compile(s, d), PW_ERR_PARSE);
    msgs = tu_diag_text(d);
    ck_assert_str_eq(msgs, "j.yaml:2:5: jq: '$ENV' is not allowed in a check "
                           "(offset 0)\n");
    free(msgs);
    ck_assert_double_eq(eval_num(s, good, "{\"a\": 5}"), 5.0);
    diag_free(d);
    jqset_free(s);
}
END_TEST

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Programs that never finish, or would take all memory, end in an error
 * well within any scenario timeout, and the process goes on. */
START_TEST(test_jqset_runaway_programs_are_bounded)
{
    static const struct {
        const char *expr, *msg;
    } cases[] = {
        { "def f: f; f", "jq program ran longer than 1s" },
        { "last(range(1e10))", "jq program ran longer than 1s" },
        /* Slow to fill memory: either limit may come first. */
        { "[range(1e9)] | length", NULL },
        { "def f: [f]; f", NULL },
        /* Doubling a string reaches the bound in about a second of CPU:
         * on a busy machine the time limit may come first. */
        { "\"x\" | until(utf8bytelength > 1e12; . + .)", NULL },
        /* One allocation of 480 MB: past the bound at once. */
        { "[] | .[30000000] = 1 | length",
          "jq program ran out of memory (256 MiB)" },
    };
    struct jqset *s = jqset_new();
    struct diag *d = diag_new();
    size_t idx[6], good, i;
    struct pw_err err;
    double t0;
    jv out;

    for (i = 0; i < 6; i++)
        idx[i] = jqset_add(s, cases[i].expr, at((unsigned)i + 1));
    good = jqset_add(s, ".a + 1", at(9));
    ck_assert_int_eq(jqset_compile(s, d), PW_OK);
    for (i = 0; i < 6; i++) {
        t0 = now_s();
        ck_assert_int_ne(jqset_eval(s, idx[i], jv_parse("{}"), &out, &err),
                         PW_OK);
        ck_assert(!jv_is_valid(out));
        ck_assert_msg(now_s() - t0 < 10, "%s took %.1fs", cases[i].expr,
                      now_s() - t0);
#if defined(__SANITIZE_ADDRESS__)
        /* The sanitizer's allocator dies on its own when memory runs out. */
        ck_assert_msg(strncmp(err.msg, "jq program ", 11) == 0, "%s: %s",
                      cases[i].expr, err.msg);
        if (cases[i].msg && strstr(cases[i].msg, "memory") == NULL)
            ck_assert_str_eq(err.msg, cases[i].msg);
#else
        if (cases[i].msg)
            ck_assert_str_eq(err.msg, cases[i].msg);
        else
            ck_assert_msg(strncmp(err.msg, "jq program ", 11) == 0, "%s: %s",
                          cases[i].expr, err.msg);
#endif
        ck_assert_double_eq(eval_num(s, good, "{\"a\": 1}"), 2.0);
    }
    diag_free(d);
    jqset_free(s);
}
END_TEST

/* Programs whose cost is bounded by the body run in-process, as before;
 * the rest run apart and still give the same results and errors. */
START_TEST(test_jqset_isolated_programs_same_results)
{
    static const struct {
        const char *expr, *input, *want;
        int in_process;
    } cases[] = {
        { ".a.b", "{\"a\": {\"b\": [1, \"x\"]}}", "[1,\"x\"]", 1 },
        { ".items[] | select(.id == 2) | .name",
          "{\"items\": [{\"id\": 1, \"name\": \"a\"}, "
          "{\"id\": 2, \"name\": \"b\"}]}",
          "\"b\"", 1 },
        { "[.items[].price] | add",
          "{\"items\": [{\"price\": 2}, "
          "{\"price\": 3}]}",
          "5", 1 },
        { ".items | map(.id) | sort | length > 1",
          "{\"items\": [{\"id\": 2}, {\"id\": 1}]}", "true", 1 },
        { "(.name | test(\"^a\")) and (keys | length) == 1",
          "{\"name\": \"abc\"}", NULL, 1 },
        { ".name * 2 | length", "{\"name\": \"ab\"}", "4", 1 },
        { ".name * 1000 | length", "{\"name\": \"ab\"}", "2000", 0 },
        { "\"ab\" * .n | length", "{\"n\": 3}", "6", 0 },
        { ".end - 1", "{\"end\": 3}", "2", 1 },
        { ".end - .start", "{\"end\": 3, \"start\": 1}", "2", 0 },
        { "{id: .id, n: (.tags | length)}", "{\"id\": 3, \"tags\": [1, 2]}",
          "{\"id\":3,\"n\":2}", 1 },
        { ".a // \"none\"", "{}", "\"none\"", 1 },
        { "[.[] | .[]] | length", "[[1, 2], [3]]", "3", 1 },
        { "reduce .[] as $x (0; . + $x)", "[1, 2, 3]", "6", 0 },
        { "[range(3)]", "null", "[0,1,2]", 0 },
        { "def twice: . * 2; .n | twice", "{\"n\": 4}", "8", 0 },
        { "[.[] + .[]] | length", "[1, 2, 3]", "9", 0 },
        { ".[] | select(.[])", "[[true, true]]", "[true,true]", 0 },
        { ".a = 1", "{}", "{\"a\":1}", 0 },
        { "[limit(2; .[])]", "[\"\\\"q\\\"\", 2, 3]", "[\"\\\"q\\\"\",2]", 0 },
        { "first(range(10; 0; -1))", "null", "10", 0 },
        /* each stage doubles: three stay in, a fourth goes apart */
        { ".s | (.+.) | (.+.) | (.+.) | length", "{\"s\": \"ab\"}", "16", 1 },
        { ".s | (.+.) | (.+.) | (.+.) | (.+.) | length", "{\"s\": \"ab\"}",
          "32", 0 },
        { ".a + 1 + 2 + 3 + 4", "{\"a\": 1}", "11", 1 },
        /* a path per node, each as long as the nesting is deep */
        { "[paths] | length", "[[1, 2], 3]", "4", 0 },
        { ".a | tojson | tojson | length", "{\"a\": \"q\"}", "7", 1 },
        { ".a | tojson | tojson | tojson | length", "{\"a\": \"q\"}", "15", 0 },
    };
    struct jqset *s = jqset_new();
    struct diag *d = diag_new();
    size_t idx[sizeof(cases) / sizeof(cases[0])], i;
    struct pw_err err;
    jv out;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        idx[i] = jqset_add(s, cases[i].expr, at((unsigned)i + 1));
    ck_assert_int_eq(jqset_compile(s, d), PW_OK);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        jv text;

        ck_assert_msg(jqset_in_process(s, idx[i]) == cases[i].in_process,
                      "%s: in process %d", cases[i].expr,
                      jqset_in_process(s, idx[i]));
        ck_assert_msg(jqset_eval(s, idx[i], jv_parse(cases[i].input), &out,
                                 &err) == PW_OK,
                      "%s: %s", cases[i].expr, err.msg);
        text = jv_dump_string(out, 0);
        if (cases[i].want)
            ck_assert_str_eq(jv_string_value(text), cases[i].want);
        else
            ck_assert_str_eq(jv_string_value(text), "true");
        jv_free(text);
    }
    diag_free(d);
    jqset_free(s);
}
END_TEST

/* Runtime errors and empty output read the same whichever way a program
 * runs. */
START_TEST(test_jqset_isolated_errors_and_empty_output)
{
    struct jqset *s = jqset_new();
    struct diag *d = diag_new();
    size_t e = jqset_add(s, "def g: .a.b; g", at(1));
    size_t empty =
        jqset_add(s, "reduce .[] as $x (0; .) | select(. > 10)", at(2));
    struct pw_err err;
    jv out;

    ck_assert_int_eq(jqset_compile(s, d), PW_OK);
    ck_assert(!jqset_in_process(s, e));
    ck_assert_int_eq(jqset_eval(s, e, jv_parse("{\"a\": 3}"), &out, &err),
                     PW_ERR_INVALID);
    ck_assert_str_eq(err.msg, "jq: Cannot index number with string \"b\"");
    ck_assert_int_eq(jqset_eval(s, empty, jv_parse("[1, 2]"), &out, &err),
                     PW_OK);
    ck_assert(!jv_is_valid(out));
    jv_free(out);
    diag_free(d);
    jqset_free(s);
}
END_TEST

static Suite *jqset_suite(void)
{
    Suite *s = suite_create("jqset");
    TCase *tc = tcase_create("Core");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_jqset_many_select_by_index);
    tcase_add_test(tc, test_jqset_bad_ones_reported_good_ones_work);
    tcase_add_test(tc, test_jqset_runtime_errors_and_empty_output);
    tcase_add_test(tc, test_jqset_precheck);
    tcase_add_test(tc, test_jqset_refuses_outside_world);
    tcase_add_test(tc, test_jqset_refused_at_load);
    tcase_add_test(tc, test_jqset_runaway_programs_are_bounded);
    tcase_add_test(tc, test_jqset_isolated_programs_same_results);
    tcase_add_test(tc, test_jqset_isolated_errors_and_empty_output);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pw_run_suite(jqset_suite());
}
