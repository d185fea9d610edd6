/* check_jqset.c -- batched jq compilation and indexed evaluation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static Suite *jqset_suite(void)
{
    Suite *s = suite_create("jqset");
    TCase *tc = tcase_create("Core");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_jqset_many_select_by_index);
    tcase_add_test(tc, test_jqset_bad_ones_reported_good_ones_work);
    tcase_add_test(tc, test_jqset_runtime_errors_and_empty_output);
    tcase_add_test(tc, test_jqset_precheck);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pw_run_suite(jqset_suite());
}
