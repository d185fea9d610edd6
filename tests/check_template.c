/* check_template.c -- template compiler and renderer. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "template.h"
#include "testutil.h"

/* Variables for renders: a few names with fixed values. */
static pw_status lookup(const char *path, void *arg, struct sbuf *out)
{
    (void)arg;
    if (strcmp(path, "user_id") == 0)
        return sbuf_adds(out, "42");
    if (strcmp(path, "matrix.locale") == 0)
        return sbuf_adds(out, "fr");
    if (strcmp(path, "odd") == 0)
        return sbuf_adds(out, " a/b c&d=é ");
    return PW_ERR_INVALID;
}

static char *render(const char *src)
{
    struct pw_err err;
    struct tmpl *t = tmpl_compile(src, strlen(src), &err, NULL);
    struct sbuf out = SBUF_INIT;

    ck_assert_msg(t != NULL, "'%s' should compile: %s", src, err.msg);
    ck_assert_int_eq(tmpl_render(t, lookup, NULL, &out, &err), PW_OK);
    tmpl_free(t);
    return sbuf_take(&out, NULL);
}

static void assert_render(const char *src, const char *want)
{
    char *got = render(src);

    ck_assert_str_eq(got, want);
    free(got);
}

static void assert_compile_error(const char *src, size_t off, const char *msg)
{
    struct pw_err err;
    size_t got_off = 999;
    struct tmpl *t = tmpl_compile(src, strlen(src), &err, &got_off);

    ck_assert_msg(t == NULL, "'%s' should not compile", src);
    ck_assert_str_eq(err.msg, msg);
    ck_assert_uint_eq(got_off, off);
}

START_TEST(test_template_text_and_variables)
{
    struct tmpl *t;

    assert_render("plain text", "plain text");
    assert_render("", "");
    assert_render("/users/{{ user_id }}", "/users/42");
    assert_render("{{user_id}}{{ matrix.locale }}!", "42fr!");
    assert_render("a { b } {c}", "a { b } {c}");
    assert_render("{{ \"{{\" }} literal", "{{ literal");
    assert_render("{{ 'a}}b' }}", "a}}b");
    t = tmpl_compile("x", 1, NULL, NULL);
    ck_assert(tmpl_is_literal(t));
    tmpl_free(t);
    t = tmpl_compile("{{ x }}", 7, NULL, NULL);
    ck_assert(!tmpl_is_literal(t));
    tmpl_free(t);
}
END_TEST

START_TEST(test_template_refs_have_offsets)
{
    const char *src = "{{ target.base_url }}/u/{{ user_id | urlencode }}"
                      "{{ random_int(1, vars.max) }}";
    struct tmpl *t = tmpl_compile(src, strlen(src), NULL, NULL);
    size_t off;

    ck_assert_ptr_nonnull(t);
    ck_assert_uint_eq(tmpl_ref_count(t), 3);
    ck_assert_str_eq(tmpl_ref_at(t, 0, &off), "target.base_url");
    ck_assert_uint_eq(off, 3);
    ck_assert_str_eq(tmpl_ref_at(t, 1, &off), "user_id");
    ck_assert_uint_eq(off, 27);
    ck_assert_str_eq(tmpl_ref_at(t, 2, &off), "vars.max");
    ck_assert_uint_eq(off, 66);
    ck_assert_str_eq(tmpl_source(t), src);
    tmpl_free(t);
}
END_TEST

START_TEST(test_template_syntax_errors)
{
    assert_compile_error("a {{ user_id", 2,
                         "unclosed '{{': add the closing '}}'");
    assert_compile_error("{{ }}", 0, "empty '{{ }}'");
    assert_compile_error("{{ nope() }}", 3, "unknown function 'nope()'");
    assert_compile_error("{{ x | shout }}", 7,
                         "unknown filter 'shout' (filters: urlencode, json, "
                         "base64, upper, lower, trim)");
    assert_compile_error("{{ uuid(1) }}", 3,
                         "function uuid() takes 0 arguments, not 1");
    assert_compile_error("{{ random_int(1) }}", 3,
                         "function random_int() takes 2 arguments, not 1");
    assert_compile_error("{{ a b }}", 5,
                         "expected '|' or '}}' after the expression");
    assert_compile_error("{{ a. }}", 5, "expected a name after '.'");
    assert_compile_error("{{ \"abc }}", 0,
                         "unclosed '{{': add the closing "
                         "'}}'");
    assert_compile_error("{{ a | }}", 7, "expected a filter name after '|'");
    assert_compile_error("{{ @ }}", 3,
                         "unexpected '@': expected a name, a "
                         "function call or a literal");
}
END_TEST

START_TEST(test_template_filters)
{
    assert_render("{{ odd | urlencode }}", "%20a%2Fb%20c%26d%3D%C3%A9%20");
    assert_render("{{ odd | trim }}", "a/b c&d=é");
    assert_render("{{ matrix.locale | upper }}", "FR");
    assert_render("{{ 'MiXeD' | lower }}", "mixed");
    assert_render("{{ 'say \"hi\"' | json }}", "\"say \\\"hi\\\"\"");
    assert_render("{{ '' | base64 }}|{{ 'f' | base64 }}|{{ 'fo' | base64 }}|"
                  "{{ 'foo' | base64 }}|{{ 'foobar' | base64 }}",
                  "|Zg==|Zm8=|Zm9v|Zm9vYmFy");
    assert_render("{{ user_id | json | base64 }}", "IjQyIg==");
}
END_TEST

START_TEST(test_template_functions)
{
    char *s = render("{{ uuid() }}");
    char *a, *b;
    size_t i;

    ck_assert_uint_eq(strlen(s), 36);
    for (i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23)
            ck_assert_int_eq(s[i], '-');
        else
            ck_assert(isxdigit((unsigned char)s[i]));
    }
    ck_assert_int_eq(s[14], '4');
    free(s);
    a = render("{{ uuid() }}");
    b = render("{{ uuid() }}");
    ck_assert_str_ne(a, b);
    free(a);
    free(b);
    for (i = 0; i < 200; i++) {
        long v;

        s = render("{{ random_int(-3, 3) }}");
        v = strtol(s, NULL, 10);
        ck_assert(v >= -3 && v <= 3);
        free(s);
    }
    /* The widest bounds: no overflow (UBSan watches), values in range. */
    for (i = 0; i < 50; i++) {
        s = render("{{ random_int(-9223372036854775808, "
                   "9223372036854775807) }}");
        errno = 0;
        (void)strtoll(s, NULL, 10);
        ck_assert_int_eq(errno, 0);
        free(s);
        s = render("{{ random_int(-9223372036854775808, -9223372036854775807) "
                   "}}");
        ck_assert(strcmp(s, "-9223372036854775808") == 0 ||
                  strcmp(s, "-9223372036854775807") == 0);
        free(s);
        s = render(
            "{{ random_int(9223372036854775806, 9223372036854775807) }}");
        ck_assert(strcmp(s, "9223372036854775806") == 0 ||
                  strcmp(s, "9223372036854775807") == 0);
        free(s);
    }
    s = render("{{ random_hex(4) }}");
    ck_assert_uint_eq(strlen(s), 8);
    free(s);
    s = render("{{ now() }}");
    ck_assert_uint_eq(strlen(s), 20);
    ck_assert_int_eq(s[10], 'T');
    ck_assert_int_eq(s[19], 'Z');
    free(s);
}
END_TEST

/* Bounds that are not numbers, or do not fit, are refused rather than
 * clamped or read as 0. */
START_TEST(test_template_random_int_bad_bounds)
{
    static const char *const srcs[] = {
        "{{ random_int(0, 9223372036854775808) }}",
        "{{ random_int(-9223372036854775809, 0) }}",
        "{{ random_int('x', 3) }}",
        "{{ random_int(1, '2x') }}",
    };
    size_t i;

    for (i = 0; i < sizeof(srcs) / sizeof(srcs[0]); i++) {
        struct pw_err err;
        struct tmpl *t = tmpl_compile(srcs[i], strlen(srcs[i]), &err, NULL);
        struct sbuf out = SBUF_INIT;

        ck_assert_ptr_nonnull(t);
        ck_assert_int_eq(tmpl_render(t, lookup, NULL, &out, &err),
                         PW_ERR_INVALID);
        ck_assert_str_eq(err.msg, "random_int(): bounds must be whole numbers "
                                  "from -9223372036854775808 to "
                                  "9223372036854775807");
        sbuf_release(&out);
        tmpl_free(t);
    }
}
END_TEST

START_TEST(test_template_unknown_name_fails_render)
{
    struct pw_err err;
    struct tmpl *t = tmpl_compile("a{{ secret.token }}b", 20, NULL, NULL);
    struct sbuf out = SBUF_INIT;

    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(tmpl_render(t, lookup, NULL, &out, &err), PW_ERR_INVALID);
    ck_assert_str_eq(err.msg, "unknown name 'secret.token'");
    sbuf_release(&out);
    tmpl_free(t);
}
END_TEST

START_TEST(test_template_render_respects_cap)
{
    struct pw_err err;
    struct tmpl *t = tmpl_compile("{{ odd }}{{ odd }}", 18, NULL, NULL);
    struct sbuf out;

    sbuf_init(&out, 16);
    ck_assert_int_eq(tmpl_render(t, lookup, NULL, &out, &err), PW_ERR_TOOBIG);
    ck_assert_str_eq(err.msg, "rendered text exceeds 16 bytes");
    ck_assert_uint_le(out.len, 16);
    sbuf_release(&out);
    tmpl_free(t);
}
END_TEST

static Suite *template_suite(void)
{
    Suite *s = suite_create("template");
    TCase *tc = tcase_create("Compile");
    TCase *tr = tcase_create("Render");

    tcase_add_test(tc, test_template_text_and_variables);
    tcase_add_test(tc, test_template_refs_have_offsets);
    tcase_add_test(tc, test_template_syntax_errors);
    tcase_add_test(tc, test_template_random_int_bad_bounds);
    tcase_add_test(tr, test_template_filters);
    tcase_add_test(tr, test_template_functions);
    tcase_add_test(tr, test_template_unknown_name_fails_render);
    tcase_add_test(tr, test_template_render_respects_cap);
    suite_add_tcase(s, tc);
    suite_add_tcase(s, tr);
    return s;
}

int main(void)
{
    return pw_run_suite(template_suite());
}
