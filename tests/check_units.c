/* check_units.c -- durations, rates and sizes. */
#include "testutil.h"
#include "units.h"

START_TEST(test_units_durations)
{
    static const struct {
        const char *text;
        uint64_t ms;
    } ok[] = {
        { "500ms", 500 },
        { "10s", 10000 },
        { "5m", 300000 },
        { "1h", 3600000 },
        { "1d", 86400000 },
        { "1m30s", 90000 },
        { "2h15m10s250ms", 8110250 },
        { "0s", 0 },
    };
    size_t i;

    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        uint64_t ms = 1;

        ck_assert_msg(units_duration(ok[i].text, &ms, NULL) == PW_OK,
                      "'%s' should parse", ok[i].text);
        ck_assert_uint_eq(ms, ok[i].ms);
    }
}
END_TEST

START_TEST(test_units_bad_durations)
{
    static const struct {
        const char *text, *msg;
    } bad[] = {
        { "", "empty duration" },
        { "10", "bad duration '10': missing unit; use ms, s, m, h or d" },
        { "5x", "bad duration '5x': unknown unit; use ms, s, m, h or d" },
        { "1s1m", "bad duration '1s1m': units must go from largest to "
                  "smallest, each once" },
        { "ms", "bad duration 'ms': expected a whole number then a unit "
                "(ms, s, m, h, d), like 500ms or 5m" },
        { "1.5s", "bad duration '1.5s': expected a whole number then a unit "
                  "(ms, s, m, h, d), like 500ms or 5m" },
        { "400d", "bad duration '400d': longer than 365d" },
        { "99999999999999999999999d",
          "bad duration "
          "'99999999999999999999999d': longer than 365d" },
        { " 5s", "bad duration ' 5s': expected a whole number then a unit "
                 "(ms, s, m, h, d), like 500ms or 5m" },
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct pw_err err;
        uint64_t ms;

        ck_assert_int_eq(units_duration(bad[i].text, &ms, &err), PW_ERR_PARSE);
        ck_assert_str_eq(err.msg, bad[i].msg);
    }
}
END_TEST

START_TEST(test_units_rates)
{
    struct pw_err err;
    double r;

    ck_assert_int_eq(units_rate("5/s", &r, NULL), PW_OK);
    ck_assert_double_eq_tol(r, 5.0, 1e-9);
    ck_assert_int_eq(units_rate("300/m", &r, NULL), PW_OK);
    ck_assert_double_eq_tol(r, 5.0, 1e-9);
    ck_assert_int_eq(units_rate("0.5/s", &r, NULL), PW_OK);
    ck_assert_double_eq_tol(r, 0.5, 1e-9);
    ck_assert_int_eq(units_rate("36/h", &r, NULL), PW_OK);
    ck_assert_double_eq_tol(r, 0.01, 1e-9);

    ck_assert_int_eq(units_rate("5", &r, &err), PW_ERR_PARSE);
    ck_assert_str_eq(err.msg, "bad rate '5': expected <number>/<unit>, "
                              "like 5/s or 300/m");
    ck_assert_int_eq(units_rate("5/x", &r, &err), PW_ERR_PARSE);
    ck_assert_str_eq(err.msg, "bad rate '5/x': unit must be s, m or h");
    ck_assert_int_eq(units_rate("0/s", &r, &err), PW_ERR_PARSE);
    ck_assert_str_eq(err.msg, "bad rate '0/s': expected a positive number "
                              "before '/'");
    ck_assert_int_eq(units_rate("-1/s", &r, &err), PW_ERR_PARSE);
    ck_assert_int_eq(units_rate("/s", &r, &err), PW_ERR_PARSE);
    ck_assert_int_eq(units_rate("nan/s", &r, &err), PW_ERR_PARSE);
    ck_assert_int_eq(units_rate("5x/s", &r, &err), PW_ERR_PARSE);
}
END_TEST

START_TEST(test_units_format_round_trips)
{
    static const uint64_t values[] = { 0,     1,       999,      1000,
                                       90000, 8110250, 86400000, UNITS_MAX_MS };
    size_t i;

    for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        char buf[64];
        uint64_t back = 0;

        units_format_duration(values[i], buf, sizeof(buf));
        ck_assert_int_eq(units_duration(buf, &back, NULL), PW_OK);
        ck_assert_uint_eq(back, values[i]);
    }
    {
        char buf[64];

        ck_assert_str_eq(units_format_duration(90000, buf, sizeof(buf)),
                         "1m30s");
    }
}
END_TEST

START_TEST(test_units_format_ago)
{
    static const struct {
        long long s;
        const char *text;
    } cases[] = {
        { -5, "0s ago" },      { 0, "0s ago" },     { 119, "119s ago" },
        { 120, "2m ago" },     { 7199, "119m ago" }, { 7200, "2h ago" },
        { 172799, "47h ago" }, { 172800, "2d ago" }, { 864000, "10d ago" },
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[32];

        ck_assert_str_eq(units_format_ago(cases[i].s, buf, sizeof(buf)),
                         cases[i].text);
    }
}
END_TEST

START_TEST(test_units_sizes)
{
    static const struct {
        const char *text;
        uint64_t bytes;
    } ok[] = {
        { "0", 0 },
        { "1048576", 1048576 },
        { "100B", 100 },
        { "512KiB", 512 << 10 },
        { "4MiB", 4 << 20 },
        { "64MiB", 64 << 20 },
        { "2GiB", 2ULL << 30 },
        { "17179869183GiB", 17179869183ULL << 30 },
    };
    static const struct {
        const char *text, *msg;
    } bad[] = {
        { "", "bad size '': expected a whole number of bytes, optionally "
              "with a unit (B, KiB, MiB, GiB), like 512KiB or 4MiB" },
        { "MiB", "bad size 'MiB': expected a whole number of bytes, "
                 "optionally with a unit (B, KiB, MiB, GiB), like 512KiB "
                 "or 4MiB" },
        { "-1", "bad size '-1': a size cannot be negative" },
        { "-4MiB", "bad size '-4MiB': a size cannot be negative" },
        { "4MB", "bad size '4MB': unknown unit 'MB'; use B, KiB, MiB or GiB "
                 "(1MiB = 1048576 bytes)" },
        { "4 MiB", "bad size '4 MiB': unknown unit ' MiB'; use B, KiB, MiB "
                   "or GiB (1MiB = 1048576 bytes)" },
        { "1.5MiB", "bad size '1.5MiB': unknown unit '.5MiB'; use B, KiB, "
                    "MiB or GiB (1MiB = 1048576 bytes)" },
        { "17179869184GiB1", "bad size '17179869184GiB1': unknown unit "
                             "'GiB1'; use B, KiB, MiB or GiB (1MiB = "
                             "1048576 bytes)" },
        { "17179869184GiB", "bad size '17179869184GiB': too large" },
        { "99999999999999999999", "bad size '99999999999999999999': too "
                                  "large" },
    };
    size_t i;

    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        uint64_t b = 1;

        ck_assert_msg(units_size(ok[i].text, &b, NULL) == PW_OK,
                      "'%s' should parse", ok[i].text);
        ck_assert_uint_eq(b, ok[i].bytes);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct pw_err err;
        uint64_t b = 7;

        ck_assert_msg(units_size(bad[i].text, &b, &err) == PW_ERR_PARSE,
                      "'%s' should not parse", bad[i].text);
        ck_assert_str_eq(err.msg, bad[i].msg);
        ck_assert_uint_eq(b, 7);
    }
}
END_TEST

START_TEST(test_units_format_sizes)
{
    static const struct {
        uint64_t bytes;
        const char *text;
    } cases[] = {
        { 0, "0B" },
        { 1000, "1000B" },
        { 1024, "1KiB" },
        { 1536 << 10, "1536KiB" },
        { 4 << 20, "4MiB" },
        { 3ULL << 30, "3GiB" },
        { (1 << 20) + 1, "1048577B" },
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[32];
        uint64_t back = 1;

        ck_assert_str_eq(units_format_size(cases[i].bytes, buf, sizeof(buf)),
                         cases[i].text);
        ck_assert_int_eq(units_size(buf, &back, NULL), PW_OK);
        ck_assert_uint_eq(back, cases[i].bytes);
    }
}
END_TEST

static Suite *units_suite(void)
{
    Suite *s = suite_create("units");
    TCase *tc = tcase_create("Core");

    tcase_add_test(tc, test_units_durations);
    tcase_add_test(tc, test_units_bad_durations);
    tcase_add_test(tc, test_units_rates);
    tcase_add_test(tc, test_units_format_round_trips);
    tcase_add_test(tc, test_units_format_ago);
    tcase_add_test(tc, test_units_sizes);
    tcase_add_test(tc, test_units_format_sizes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pw_run_suite(units_suite());
}
