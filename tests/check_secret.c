/* check_secret.c -- the secret cache and redaction by value. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "secret.h"
#include "testutil.h"

#define SECRET "Zq9-s3cr3t value+/=&\"x"

/* <text> after redaction with the forms of <secret>. */
static char *redacted(const char *secret, const char *text)
{
    struct redact r = REDACT_INIT;
    const struct redact *sets[1] = { &r };
    struct sbuf b = SBUF_INIT;

    redact_add(&r, secret, strlen(secret));
    sbuf_adds(&b, text);
    redact_apply(sets, 1, &b);
    redact_release(&r);
    return sbuf_take(&b, NULL);
}

static void assert_hidden(const char *secret, const char *text,
                          const char *want)
{
    char *got = redacted(secret, text);

    ck_assert_msg(strcmp(got, want) == 0, "%s -> %s, wanted %s", text, got,
                  want);
    free(got);
}

START_TEST(test_secret_every_encoding)
{
    /* as is, URL-encoded (both cases, '+' for space), JSON once and twice */
    assert_hidden(SECRET, "got \"" SECRET "\"", "got \"[secret]\"");
    assert_hidden(SECRET, "/e?k=Zq9-s3cr3t%20value%2B%2F%3D%26%22x&z=1",
                  "/e?k=[secret]&z=1");
    assert_hidden(SECRET, "k=Zq9-s3cr3t%20value%2b%2f%3d%26%22x", "k=[secret]");
    assert_hidden(SECRET, "next=Zq9-s3cr3t+value%2B%2F%3D%26%22x",
                  "next=[secret]");
    assert_hidden(SECRET, "\"Zq9-s3cr3t value+/=&\\\"x\"", "\"[secret]\"");
    assert_hidden(SECRET, "Zq9-s3cr3t value+/=&\\\\\\\"x", "[secret]");
    /* HTML and HTML-safe JSON */
    assert_hidden(SECRET, "bad key: Zq9-s3cr3t value+/=&amp;&quot;x",
                  "bad key: [secret]");
    assert_hidden(SECRET, "Zq9-s3cr3t value+/=\\u0026\\\"x", "[secret]");
    /* base64 of "probe:" + secret, inside a header */
    assert_hidden(SECRET, "Basic cHJvYmU6WnE5LXMzY3IzdCB2YWx1ZSsvPSYieA==",
                  "Basic cHJvYmU6[secret]A==");
    /* as JSON encoders write it: control characters, '\/', \uXXXX */
    assert_hidden("line1-abcd\tline2-efgh",
                  "{\"t\":\"line1-abcd\\tline2-efgh\"}",
                  "{\"t\":\"[secret]\"}");
    assert_hidden("AKIAab/cdEFgh+ij/KLmn", "got \"AKIAab\\/cdEFgh+ij\\/KLmn\"",
                  "got \"[secret]\"");
    assert_hidden("p\xc3\xa4ssw\xc3\xb6rd-\xc3\xa9-9876",
                  "p\\u00e4ssw\\u00f6rd-\\u00e9-9876", "[secret]");
    /* tojson twice, then quoted in a message; in one letter case */
    assert_hidden(SECRET,
                  "got \"\\\"\\\\\\\"Zq9-s3cr3t value+/=&\\\\\\\\\\\\\\\"x"
                  "\\\\\\\"\\\"\"",
                  "got \"\\\"\\\\\\\"[secret]\\\\\\\"\\\"\"");
    assert_hidden(SECRET, "zq9-s3cr3t value+/=&\"x", "[secret]");
    /* text without the secret is left alone */
    assert_hidden(SECRET, "nothing to hide...", "nothing to hide...");
}
END_TEST

START_TEST(test_secret_cut_short)
{
    /* a failure message cuts values at 60 bytes, jq at 10 characters */
    assert_hidden(SECRET, "got \"xxxxZq9-s3cr\"...", "got \"xxxx[secret]\"...");
    assert_hidden(SECRET, "string (\"Zq9-s3cr3t...) and number (1)",
                  "string (\"[secret]...) and number (1)");
    /* a short common start without the mark stays */
    assert_hidden(SECRET, "Zq9- is a prefix", "Zq9- is a prefix");
}
END_TEST

/* A large body against a long secret costs linear time. */
START_TEST(test_secret_large_text_is_cheap)
{
    size_t n = 1u << 20, k = 8192;
    char *secret = malloc(k + 1), *text = malloc(n + 1);
    struct redact r = REDACT_INIT;
    const struct redact *sets[1] = { &r };

    memset(secret, 'a', k - 1);
    secret[k - 1] = 'b';
    secret[k] = '\0';
    memset(text, 'a', n);
    text[n] = '\0';
    redact_add(&r, secret, k);
    ck_assert(!redact_found(sets, 1, text, n));
    text[n - 1] = 'b';
    ck_assert(redact_found(sets, 1, text, n));
    redact_release(&r);
    free(secret);
    free(text);
}
END_TEST

START_TEST(test_secret_short_values)
{
    /* 3 bytes: still found inside base64 at any alignment */
    /* the last character also holds padding bits: it may stay */
    assert_hidden("Zq9", "Basic cHJvYjpacTk=", "Basic cHJvYjp[secret]k=");
    assert_hidden("Zq9",
                  "Basic "
                  "WnE5",
                  "Basic [secret]");
}
END_TEST

START_TEST(test_secret_cache_reads_once)
{
    const char *dir = tu_mkdir("sec");
    struct secrets *s = secrets_new(dir);
    struct sbuf v = SBUF_INIT;
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/k", dir);
    f = fopen(path, "w");
    fputs("first\n", f);
    fclose(f);
    ck_assert_int_eq(secrets_get(s, "k", &v), PW_OK);
    ck_assert_str_eq(v.buf, "first");
    f = fopen(path, "w");
    fputs("second\n", f);
    fclose(f);
    sbuf_reset(&v);
    ck_assert_int_eq(secrets_get(s, "k", &v), PW_OK);
    ck_assert_str_eq(v.buf, "first"); /* read once per load */
    ck_assert_int_eq(secrets_get(s, "../k", &v), PW_ERR_INVALID);
    ck_assert_int_eq(secrets_get(s, "missing", &v), PW_ERR_INVALID);
    ck_assert(redact_found((const struct redact *const[]){ secrets_redact(s) },
                           1, "a first b", 9));
    sbuf_release(&v);
    secrets_free(s);
}
END_TEST

static Suite *secret_suite(void)
{
    Suite *s = suite_create("secret");
    TCase *tc = tcase_create("Core");

    tcase_add_test(tc, test_secret_every_encoding);
    tcase_add_test(tc, test_secret_cut_short);
    tcase_add_test(tc, test_secret_short_values);
    tcase_add_test(tc, test_secret_large_text_is_cheap);
    tcase_add_test(tc, test_secret_cache_reads_once);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pw_run_suite(secret_suite());
}
