/* check_sbuf.c -- the capped string buffer. */
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"
#include "testutil.h"

START_TEST(test_sbuf_append_and_take)
{
    struct sbuf b = SBUF_INIT;
    size_t len;
    char *s;

    ck_assert_str_eq(b.buf, "");
    ck_assert_int_eq(sbuf_adds(&b, "abc"), PW_OK);
    ck_assert_int_eq(sbuf_addc(&b, '-'), PW_OK);
    ck_assert_int_eq(sbuf_addf(&b, "%d/%s", 42, "x"), PW_OK);
    ck_assert_str_eq(b.buf, "abc-42/x");
    s = sbuf_take(&b, &len);
    ck_assert_str_eq(s, "abc-42/x");
    ck_assert_uint_eq(len, 8);
    ck_assert_str_eq(b.buf, "");
    ck_assert_uint_eq(b.len, 0);
    free(s);
}
END_TEST

START_TEST(test_sbuf_long_format_grows)
{
    struct sbuf b = SBUF_INIT;
    char big[1000];

    memset(big, 'q', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    ck_assert_int_eq(sbuf_addf(&b, "<%s>", big), PW_OK);
    ck_assert_uint_eq(b.len, 1001);
    ck_assert_int_eq(b.buf[0], '<');
    ck_assert_int_eq(b.buf[1000], '>');
    sbuf_release(&b);
}
END_TEST

START_TEST(test_sbuf_cap_refuses_and_keeps_content)
{
    struct sbuf b;

    sbuf_init(&b, 5);
    ck_assert_int_eq(sbuf_adds(&b, "abcd"), PW_OK);
    ck_assert_int_eq(sbuf_failed(&b), PW_OK);
    ck_assert_int_eq(sbuf_adds(&b, "ef"), PW_ERR_TOOBIG);
    ck_assert_str_eq(b.buf, "abcd");
    ck_assert_uint_eq(b.len, 4);
    ck_assert_int_eq(sbuf_failed(&b), PW_ERR_TOOBIG);
    sbuf_release(&b);
}
END_TEST

/* The bug this rule closes: a URL built from parts, one of which did not
 * fit, came out with that part missing and the rest in place. */
START_TEST(test_sbuf_failed_stays_failed)
{
    struct sbuf b;

    sbuf_init(&b, 16);
    ck_assert_int_eq(sbuf_adds(&b, "/api/"), PW_OK);
    ck_assert_int_eq(sbuf_adds(&b, "a-very-long-user-id"), PW_ERR_TOOBIG);
    /* Each of these would fit on its own. */
    ck_assert_int_eq(sbuf_adds(&b, "/orders"), PW_ERR_TOOBIG);
    ck_assert_int_eq(sbuf_addc(&b, 'x'), PW_ERR_TOOBIG);
    ck_assert_int_eq(sbuf_add(&b, "y", 1), PW_ERR_TOOBIG);
    ck_assert_int_eq(sbuf_addf(&b, "%d", 7), PW_ERR_TOOBIG);
    ck_assert_int_eq(sbuf_add_printable(&b, "z", 1), PW_ERR_TOOBIG);
    ck_assert_int_eq(sbuf_add_json_str(&b, "z", 1), PW_ERR_TOOBIG);
    ck_assert_str_eq(b.buf, "/api/");
    ck_assert_uint_eq(b.len, 5);
    ck_assert_int_eq(sbuf_failed(&b), PW_ERR_TOOBIG);
    sbuf_release(&b);
}
END_TEST

START_TEST(test_sbuf_long_format_past_cap_fails)
{
    struct sbuf b;
    char big[400];

    memset(big, 'q', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    sbuf_init(&b, 300);
    ck_assert_int_eq(sbuf_addf(&b, "%s", big), PW_ERR_TOOBIG);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_int_eq(sbuf_failed(&b), PW_ERR_TOOBIG);
    ck_assert_int_eq(sbuf_addf(&b, "%s", "ok"), PW_ERR_TOOBIG);
    ck_assert_str_eq(b.buf, "");
    sbuf_release(&b);
}
END_TEST

/* A capped printable excerpt stops at the cap; no later piece, such as a
 * closing quote, lands after the cut. */
START_TEST(test_sbuf_piecewise_append_fails_whole)
{
    struct sbuf b;

    sbuf_init(&b, 6);
    ck_assert_int_eq(sbuf_add_json_str(&b, "abcdef", 6), PW_ERR_TOOBIG);
    ck_assert_str_eq(b.buf, "\"abcde");
    ck_assert_int_eq(sbuf_failed(&b), PW_ERR_TOOBIG);
    ck_assert_int_eq(sbuf_adds(&b, "\""), PW_ERR_TOOBIG);
    ck_assert_str_eq(b.buf, "\"abcde");
    sbuf_release(&b);
}
END_TEST

START_TEST(test_sbuf_emptying_clears_failure)
{
    struct sbuf b;
    char *s;

    sbuf_init(&b, 4);
    ck_assert_int_eq(sbuf_adds(&b, "toolong"), PW_ERR_TOOBIG);
    sbuf_reset(&b);
    ck_assert_int_eq(sbuf_failed(&b), PW_OK);
    ck_assert_int_eq(sbuf_adds(&b, "ok"), PW_OK);
    ck_assert_str_eq(b.buf, "ok");

    ck_assert_int_eq(sbuf_adds(&b, "toolong"), PW_ERR_TOOBIG);
    sbuf_release(&b);
    ck_assert_int_eq(sbuf_failed(&b), PW_OK);
    ck_assert_uint_eq(b.cap, 4);
    ck_assert_int_eq(sbuf_adds(&b, "abcd"), PW_OK);

    ck_assert_int_eq(sbuf_addc(&b, 'e'), PW_ERR_TOOBIG);
    s = sbuf_take(&b, NULL);
    ck_assert_str_eq(s, "abcd");
    free(s);
    ck_assert_int_eq(sbuf_failed(&b), PW_OK);
    ck_assert_int_eq(sbuf_adds(&b, "wxyz"), PW_OK);
    sbuf_release(&b);
}
END_TEST

START_TEST(test_sbuf_integers_as_printf_writes_them)
{
    static const long long v[] = { 0, 7, -7, 10, 1234567890123LL,
                                   -9223372036854775807LL - 1,
                                   9223372036854775807LL };
    struct sbuf b = SBUF_INIT, f = SBUF_INIT;
    size_t i;

    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        sbuf_add_int(&b, v[i]);
        sbuf_addc(&b, ' ');
        sbuf_addf(&f, "%lld ", v[i]);
    }
    sbuf_add_uint(&b, 18446744073709551615ULL);
    sbuf_addf(&f, "%llu", 18446744073709551615ULL);
    ck_assert_str_eq(b.buf, f.buf);
    sbuf_release(&b);
    sbuf_release(&f);
}
END_TEST

START_TEST(test_sbuf_uncapped_never_fails)
{
    struct sbuf b = SBUF_INIT;

    ck_assert_int_eq(sbuf_failed(&b), PW_OK);
    ck_assert_int_eq(sbuf_add(&b, "", 0), PW_OK);
    ck_assert_int_eq(sbuf_adds(&b, "x"), PW_OK);
    ck_assert_int_eq(sbuf_failed(&b), PW_OK);
    sbuf_release(&b);
}
END_TEST

START_TEST(test_sbuf_json_escapes_and_repairs_utf8)
{
    struct sbuf b = SBUF_INIT;

    sbuf_add_json_str(&b, "a\"b\\c\n\x01\xc3\xa9\xff", 10);
    ck_assert_str_eq(b.buf,
                     "\"a\\\"b\\\\c\\u000a\\u0001\xc3\xa9\xef\xbf\xbd\"");
    sbuf_reset(&b);
    /* A truncated multi-byte sequence and an encoded surrogate. */
    sbuf_add_json_str(&b, "\xe2\x82 \xed\xa0\x80", 6);
    ck_assert_str_eq(b.buf,
                     "\"\xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd"
                     "\xef\xbf\xbd\"");
    sbuf_release(&b);
}
END_TEST

static Suite *sbuf_suite(void)
{
    Suite *s = suite_create("sbuf");
    TCase *tc = tcase_create("Core");

    tcase_add_test(tc, test_sbuf_append_and_take);
    tcase_add_test(tc, test_sbuf_long_format_grows);
    tcase_add_test(tc, test_sbuf_cap_refuses_and_keeps_content);
    tcase_add_test(tc, test_sbuf_failed_stays_failed);
    tcase_add_test(tc, test_sbuf_long_format_past_cap_fails);
    tcase_add_test(tc, test_sbuf_piecewise_append_fails_whole);
    tcase_add_test(tc, test_sbuf_emptying_clears_failure);
    tcase_add_test(tc, test_sbuf_uncapped_never_fails);
    tcase_add_test(tc, test_sbuf_integers_as_printf_writes_them);
    tcase_add_test(tc, test_sbuf_json_escapes_and_repairs_utf8);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pw_run_suite(sbuf_suite());
}
