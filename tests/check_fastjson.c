/* check_fastjson.c -- the fast path for jq paths against libjq itself: a
 * generated corpus of documents, valid and broken, times every supported
 * shape of path, evaluated both ways and compared value by value, print by
 * print, error by error. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fastjson.h"
#include "fastjson_diff.h"
#include "sbuf.h"
#include "testutil.h"

/* Paths of every supported shape, with indexes in and out of range, keys
 * that are missing or duplicated, and types that make jq fail. */
static const char *const fast_exprs[] = {
    ".",
    ".a",
    ".b",
    ".id",
    ".status",
    ".items",
    ".a.b",
    ".a.a.a",
    ".a[0]",
    ".a[-1]",
    ".items[0].id",
    ".items[-1].status",
    ".[0]",
    ".[1]",
    ".[-1]",
    ".[-2]",
    ".[7]",
    ".[-9]",
    ".[0][0]",
    ".[0].a",
    ".[\"a\"]",
    ".[\"a\"][1]",
    ".\"x y\"",
    ".\"\xc3\xa9\"",
    ".\"\"",
    ".\"a\\\"b\"",
    ". | length",
    ".a | length",
    ".items|length",
    ".[0] | length",
    ".b.a | length",
    ".id | length",
    ".\"x y\" | length",
    ".[-1]|length",
};

/* Programs that must stay with libjq. */
static const char *const slow_exprs[] = {
    "..", ".a?", ".[]", "length", ".a | length | . + 1", ".a.b | .c",
    /* Names that are not UTF-8, which jq reads with U+FFFD in them. */
    ".\"\xff\"", ".[\"\xc3\"]", ".\"\xe0\x80\x80\"", ".\"\xed\xa0\x80\"",
    ".[1.5]", ".[\"\\u00e9\"]", ".[\"a\\(1)\"]", "keys", ".a,.b", ".[9999999999]",
};

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
    /* xorshift64*: deterministic, so a failure can be replayed. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 2685821657736338717ULL) >> 33) % n;
}

/* The first NCOMMON numbers and strings are common; the rest, which send
 * the whole body to libjq or are rare in real bodies, come one time in
 * ten, so that most documents still take the fast path. */
#define NCOMMON 12
static const char *const numbers[] = {
    "0", "-0.0", "0.0", "1", "-1", "7", "42", "1e2", "1E-2", "2.5E+3",
    "0.1", "3.14159", "-0", "-0e0", "123.456e-7", "9007199254740993",
    "12345678901234567890", "18446744073709551615", "18446744073709551616",
    "-9223372036854775808", "-9223372036854775809",
    "1.7976931348623157e308", "1e400", "-1e400", "1e-400", "-1e-400",
    "5e-324", "100000000000000000000000000000.5",
};

static const char *const strings[] = {
    "\"\"", "\"ok\"", "\"a\"", "\"x y\"", "\"\\u00e9\"", "\"\xc3\xa9t\xc3\xa9\"",
    "\"\\ud83d\\ude00\"", "\"\\n\\t\\\"\\\\\\/\"", "\"\\u0000\"",
    "\"\\b\\f\\r\"", "\"a\\\"b\"", "\"\xe2\x82\xac\xf0\x9f\x98\x80\"",
    "\"id\"", "\"\\ud800\"", "\"\\udc00x\"", "\"a\\ud800\\u0041\"",
};

/* An entry of <list> (<n> long): a common one nine times in ten. */
static const char *pick(const char *const *list, uint32_t n)
{
    return list[rnd(10) ? rnd(NCOMMON) : rnd(n)];
}

static const char *const keys[] = {
    "\"a\"", "\"b\"", "\"id\"", "\"items\"", "\"status\"", "\"x y\"",
    "\"\\u00e9\"", "\"\xc3\xa9\"", "\"\"", "\"a\\\"b\"", "\"\\u0061\"",
};

static void ws(struct sbuf *b)
{
    static const char *const spaces[] = { "", "", "", " ", "\n", "\t", "\r\n  " };

    sbuf_adds(b, spaces[rnd(7)]);
}

static void gen_value(struct sbuf *b, int depth)
{
    /* Bodies are mostly objects and arrays; deeper, anything goes. */
    uint32_t k = depth > 4 ? rnd(5) : depth == 0 ? 4 + rnd(5) : rnd(9);
    uint32_t i, n;

    switch (k) {
    case 0:
    case 1:
        sbuf_adds(b, pick(numbers, sizeof(numbers) / sizeof(numbers[0])));
        return;
    case 2:
    case 3:
        sbuf_adds(b, pick(strings, sizeof(strings) / sizeof(strings[0])));
        return;
    case 4:
        sbuf_adds(b, rnd(3) == 0 ? "null" : rnd(2) ? "true" : "false");
        return;
    case 5:
    case 6:
        n = rnd(6);
        sbuf_addc(b, '[');
        for (i = 0; i < n; i++) {
            if (i)
                sbuf_addc(b, ',');
            ws(b);
            gen_value(b, depth + 1);
            ws(b);
        }
        sbuf_addc(b, ']');
        return;
    default:
        n = rnd(6);
        sbuf_addc(b, '{');
        for (i = 0; i < n; i++) {
            if (i)
                sbuf_addc(b, ',');
            ws(b);
            sbuf_adds(b, keys[rnd(sizeof(keys) / sizeof(keys[0]))]);
            ws(b);
            sbuf_addc(b, ':');
            ws(b);
            gen_value(b, depth + 1);
        }
        sbuf_addc(b, '}');
        return;
    }
}

/* Break <b> in one of the ways bodies come broken. */
static void mutate(struct sbuf *b)
{
    static const char bytes[] = ",:[]{}\"x\\0-.e\xff\x01\xc3 ";
    size_t at = b->len ? rnd((uint32_t)b->len) : 0;
    char c = bytes[rnd(sizeof(bytes) - 1)];
    struct sbuf t = SBUF_INIT;

    if (b->len == 0)
        return;
    switch (rnd(4)) {
    case 0: /* cut short */
        b->len = at;
        b->buf[at] = '\0';
        return;
    case 1: /* a byte dropped */
        memmove(b->buf + at, b->buf + at + 1, b->len - at);
        b->len--;
        return;
    case 2: /* a byte put in */
        sbuf_add(&t, b->buf, at);
        sbuf_addc(&t, c);
        sbuf_add(&t, b->buf + at, b->len - at);
        break;
    default: /* a second value, or trailing text */
        sbuf_add(&t, b->buf, b->len);
        sbuf_adds(&t, rnd(2) ? " 1" : "x");
        break;
    }
    sbuf_release(b);
    *b = t;
}

/* Arrays and objects nested <depth> deep around a value: about jq's
 * parser limit and the fast parser's. */
static void gen_deep(struct sbuf *b, int depth)
{
    int i;
    int objects = (int)rnd(3); /* 0: arrays, 1: objects, 2: mixed */

    for (i = 0; i < depth; i++)
        sbuf_adds(b, objects == 1 || (objects == 2 && i % 2) ? "{\"a\":"
                                                             : "[");
    sbuf_adds(b, "1");
    for (i = depth - 1; i >= 0; i--)
        sbuf_addc(b, objects == 1 || (objects == 2 && i % 2) ? '}' : ']');
}

static void gen_doc(struct sbuf *b)
{
    static const int depths[] = { 99, 100, 101, 127, 128, 129, 130, 200, 257 };
    uint32_t kind = rnd(20);

    if (kind == 0) {
        gen_deep(b, depths[rnd(sizeof(depths) / sizeof(depths[0]))]);
        return;
    }
    if (kind == 1) {
        static const char *const odd[] = {
            "",        " ",     "\xef\xbb\xbf{\"a\":1}", "nan", "[nan]",
            "{\"a\":01}", "[1,]", "{\"a\" \"b\"}",       "\"a\x01\"",
            "[\"\xff\"]", "tru",  "[1 2]", "{\"a\":1}{}", "[.5]",
        };

        sbuf_adds(b, odd[rnd(sizeof(odd) / sizeof(odd[0]))]);
        return;
    }
    ws(b);
    gen_value(b, 0);
    ws(b);
    if (kind < 5)
        mutate(b);
}

static struct jqset *exprs_set(size_t *nfast)
{
    struct jqset *s = jqset_new();
    struct diag *d = diag_new();
    struct pos p = { "t", 1, 1 };
    size_t i;

    for (i = 0; i < sizeof(fast_exprs) / sizeof(fast_exprs[0]); i++)
        jqset_add(s, fast_exprs[i], p);
    for (i = 0; i < sizeof(slow_exprs) / sizeof(slow_exprs[0]); i++)
        jqset_add(s, slow_exprs[i], p);
    ck_assert_int_eq(jqset_compile(s, d), PW_OK);
    diag_free(d);
    *nfast = sizeof(fast_exprs) / sizeof(fast_exprs[0]);
    return s;
}

START_TEST(test_fastjson_shapes)
{
    size_t nfast, i;
    struct jqset *s = exprs_set(&nfast);

    for (i = 0; i < jqset_count(s); i++)
        ck_assert_msg((jqset_fast(s, i) != NULL) == (i < nfast),
                      "expression %zu: fast path %s", i,
                      jqset_fast(s, i) ? "taken" : "not taken");
    jqset_free(s);
}
END_TEST

START_TEST(test_fastjson_differential)
{
    size_t nfast, i, j, pairs = 0, fast_pairs = 0, answered = 0;
    struct jqset *s = exprs_set(&nfast);
    char why[512];

    rng_state = 0x9e3779b97f4a7c15ULL;
    for (i = 0; i < 1500; i++) {
        struct sbuf doc = SBUF_INIT;

        gen_doc(&doc);
        for (j = 0; j < jqset_count(s); j++) {
            int fast;

            if (!fjdiff_compare(s, j, doc.buf ? doc.buf : "", doc.len, &fast,
                                why, sizeof(why)))
                ck_abort_msg("document %zu %.300s\nexpression %s: %s", i,
                             doc.buf ? doc.buf : "", j < nfast
                                 ? fast_exprs[j]
                                 : slow_exprs[j - nfast],
                             why);
            ck_assert_msg(!fast || j < nfast, "slow expression answered fast");
            answered += fast;
            fast_pairs += j < nfast;
            pairs++;
        }
        sbuf_release(&doc);
    }
    /* The comparison proves something only if the fast path answers: on
     * about a third of the pairs it could (the rest are broken bodies and
     * paths that are errors in jq). */
    ck_assert_uint_ge(pairs, 50000);
    ck_assert_msg(answered * 4 > fast_pairs, "fast path answered %zu of %zu",
                  answered, fast_pairs);
    jqset_free(s);
}
END_TEST

/* One parser serves every view: a view whose body another one replaced
 * in the parser reads its own body again, not the other's. */
START_TEST(test_fastjson_views_share)
{
    size_t nfast;
    struct jqset *s = exprs_set(&nfast);
    struct http_resp r1, r2;
    struct resp_view v1, v2;
    struct pw_err err;
    jv out;

    memset(&r1, 0, sizeof(r1));
    memset(&r2, 0, sizeof(r2));
    sbuf_init(&r1.body, 0);
    sbuf_init(&r2.body, 0);
    sbuf_adds(&r1.body, "{\"a\":\"one\"}");
    sbuf_adds(&r2.body, "{\"a\":\"two\"}");
    resp_view_init(&v1, &r1, s);
    resp_view_init(&v2, &r2, s);
    ck_assert_int_eq(resp_view_jq(&v1, 1, &out, &err), PW_OK);
    ck_assert_str_eq(jv_string_value(out), "one");
    jv_free(out);
    ck_assert_int_eq(resp_view_jq(&v2, 1, &out, &err), PW_OK);
    ck_assert_str_eq(jv_string_value(out), "two");
    jv_free(out);
    ck_assert_int_eq(resp_view_jq(&v1, 1, &out, &err), PW_OK);
    ck_assert_str_eq(jv_string_value(out), "one");
    jv_free(out);
    ck_assert_int_eq(v1.parsed, 0);
    resp_view_release(&v1);
    resp_view_release(&v2);
    sbuf_release(&r1.body);
    sbuf_release(&r2.body);
    jqset_free(s);
}
END_TEST

/* A body parsed where it lies, with exactly FASTJSON_PADDING bytes after
 * it and those bytes not zero: the same answers as from a copy, and (under
 * AddressSanitizer) no read past the padding, whatever the body ends
 * with. */
START_TEST(test_fastjson_in_place)
{
    static const char *const bodies[] = {
        "\"s\"", "7", "-0.5", "true", "null", "[]", "{}", "[1,2,3]",
        "{\"a\":\"x\\\"y\",\"b\":[0]}", "\"0123456789abcdefghij\"",
        "1234567890123456789", "{\"a\\u0062\":1} ", "[\"\\ud83d\\ude00\"]",
        "[1 2]", "{\"a\":}", "\"open", "",
    };
    const char *const paths[] = { ".", ".a", ".[0]", ". | length", ".ab" };
    struct fastjson *fj = fastjson_new();
    size_t i, j;

    for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        size_t len = strlen(bodies[i]);
        char *buf = malloc(len + FASTJSON_PADDING);
        unsigned long t1, t2;

        ck_assert_ptr_nonnull(buf);
        memcpy(buf, bodies[i], len);
        memset(buf + len, '"', FASTJSON_PADDING);
        for (j = 0; j < sizeof(paths) / sizeof(paths[0]); j++) {
            struct fastjson_expr *e = fastjson_compile(paths[j]);
            jv a = jv_invalid(), b = jv_invalid();
            int ra, rb;

            ck_assert_ptr_nonnull(e);
            t1 = fastjson_parse(fj, bodies[i], len);
            ra = t1 && fastjson_eval(fj, t1, e, &a);
            t2 = fastjson_parse_in_place(fj, buf, len);
            ck_assert_int_eq(t1 != 0, t2 != 0);
            rb = t2 && fastjson_eval(fj, t2, e, &b);
            ck_assert_msg(ra == rb, "%s on %s: %d vs %d", paths[j],
                          bodies[i], ra, rb);
            if (ra)
                ck_assert_msg(jv_equal(jv_copy(a), jv_copy(b)), "%s on %s",
                              paths[j], bodies[i]);
            jv_free(a);
            jv_free(b);
            fastjson_expr_free(e);
        }
        free(buf);
    }
    fastjson_free(fj);
}
END_TEST

static Suite *fastjson_suite(void)
{
    Suite *s = suite_create("fastjson");
    TCase *tc = tcase_create("Core");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_fastjson_shapes);
    tcase_add_test(tc, test_fastjson_differential);
    tcase_add_test(tc, test_fastjson_views_share);
    tcase_add_test(tc, test_fastjson_in_place);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pw_run_suite(fastjson_suite());
}
