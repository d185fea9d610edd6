/* check_docs.c -- scenario pages: plain words, counting, escaping, caps. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../runner/docs.h"
#include "../runner/result.h"
#include "testutil.h"

static const char CONFIG[] = "redis: redis://127.0.0.1:1/0\n"
                             "scenarios: [ \"sc-*.yaml\" ]\n"
                             "targets:\n"
                             "  eu: { base_url: \"http://127.0.0.1:1\" }\n"
                             "  us: { base_url: \"http://127.0.0.1:2\" }\n";

static const char SHOP[] =
    "name: shop\n"
    "description: \"Buys <script>alert(1)</script> & pays\"\n"
    "tags: [critical]\n"
    "every: 5m\n"
    "targets: [eu, us]\n"
    "matrix:\n"
    "  pay: [card, paypal]\n"
    "steps:\n"
    "  - name: Given a registered user\n"
    "    request:\n"
    "      method: POST\n"
    "      url: \"{{ target.base_url }}/api/users\"\n"
    "      headers: { Authorization: \"Bearer {{ secret.token }}\","
    " X-Key: \"{{ secret.key }}\" }\n"
    "      json: { email: \"a@b\" }\n"
    "    expect:\n"
    "      status: 201\n"
    "      duration: \"<= 800ms\"\n"
    "      checks:\n"
    "        - { jq: .id, type: number }\n"
    "        - { header: Content-Type, matches: \"^application/json\" }\n"
    "    capture: { user_id: { jq: .id } }\n"
    "    cleanup:\n"
    "      method: DELETE\n"
    "      url: \"{{ target.base_url }}/api/users/{{ user_id }}\"\n"
    "      expect: { status: [200, 204, 404] }\n"
    "  - name: When the user pays by {{ matrix.pay }}\n"
    "    request: { method: POST, url: \"{{ target.base_url }}/pay\" }\n"
    "    retry: { attempts: 3, delay: 1s }\n"
    "  - name: Then the order is listed\n"
    "    request: { url: \"{{ target.base_url }}/orders\" }\n"
    "    expect: { status: 2xx }\n";

static const char WIDE[] = "name: wide\n"
                           "targets: [eu]\n"
                           "matrix:\n"
                           "  a: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n"
                           "  b: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n"
                           "  c: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n"
                           "  d: [1, 2]\n"
                           "steps:\n"
                           "  - name: ping\n"
                           "    request: { url: \"{{ target.base_url }}\" }\n";

/* A scenario named like the index, with a description of several
 * paragraphs whose lines would be Markdown blocks, and matrix values that
 * hold the separators a list would use. */
static const char ODD[] = "name: index\n"
                          "description: |\n"
                          "  First line\n"
                          "  second <line>\n"
                          "\n"
                          "  # Not a heading\n"
                          "    - not a list\n"
                          "targets: [eu]\n"
                          "matrix:\n"
                          "  v: [\"a,b=c\", \"d|e\", x]\n"
                          "steps:\n"
                          "  - name: ping\n"
                          "    request: { url: \"{{ target.base_url }}\" }\n";

static struct suite *s;
static char cfg_dir[512]; /* where setup() wrote the configuration */

static void setup(void)
{
    struct diag *d = diag_new();
    const char *cfg;

    tu_write("sc-shop.yaml", SHOP);
    tu_write("sc-wide.yaml", WIDE);
    tu_write("sc-odd.yaml", ODD);
    cfg = tu_write("docs.yaml", CONFIG);
    snprintf(cfg_dir, sizeof(cfg_dir), "%.*s",
             (int)(strrchr(cfg, '/') - cfg), cfg);
    s = suite_load(cfg, d);
    if (s == NULL) {
        char *t = tu_diag_text(d);

        ck_abort_msg("suite: %s", t);
    }
    diag_free(d);
}

static void teardown(void)
{
    suite_free(s);
}

/* Results by test id, as a feeder would give them. */
struct fake {
    const char *id;
    struct docs_result r;
};

static const struct fake FAKES[] = {
    { "shop@eu[pay=card]", { RUN_PASS, NULL, NULL, 1000, 2000 } },
    { "shop@eu[pay=paypal]",
      { RUN_FAIL, "When the user pays by paypal", "status 502, want 2xx",
        1500, 2100 } },
    { "shop@us[pay=card]",
      { RUN_FAIL, "Then the order is listed", "listed: status 500", 1700,
        2200 } },
    { "shop@us[pay=paypal]",
      { RUN_ERROR, "Given a registered user", "connect: refused", 1800,
        2300 } },
};

static int fake_result(const char *id, struct docs_result *r, void *arg)
{
    size_t i;

    (void)arg;
    for (i = 0; i < sizeof(FAKES) / sizeof(FAKES[0]); i++)
        if (strcmp(FAKES[i].id, id) == 0) {
            *r = FAKES[i].r;
            return 1;
        }
    return 0;
}

/* Pages of <su> in format <f>, with the fake results or none. */
static void src_init(struct docs_src *src, const struct suite *su,
                     enum docs_format f, int results)
{
    memset(src, 0, sizeof(*src));
    src->suite = su;
    src->format = f;
    src->result = results ? fake_result : NULL;
}

static char *render(enum docs_format f, const char *name, int results)
{
    struct docs_src src;
    struct sbuf b = SBUF_INIT;

    src_init(&src, s, f, results);
    docs_scenario(&b, &src, suite_find_scenario(s, name));
    ck_assert_int_eq(sbuf_failed(&b), PW_OK);
    return sbuf_take(&b, NULL);
}

#define HAS(page, text)                                                        \
    ck_assert_msg(strstr((page), (text)) != NULL, "missing: %s", (text))
#define HASNT(page, text)                                                      \
    ck_assert_msg(strstr((page), (text)) == NULL, "present: %s", (text))

START_TEST(test_docs_plain_words)
{
    char *md = render(DOCS_MD, "shop", 0);

    HAS(md, "**Given** a registered user");
    HAS(md, "**When** the user pays by {{ matrix.pay }}");
    HAS(md, "POST `{{ target.base_url }}/api/users` with a JSON body");
    HAS(md, "the status is 201");
    HAS(md, "answers within 800ms");
    HAS(md, "`.id` is a number");
    HAS(md, "header `Content-Type` matches `^application/json`");
    HAS(md, "Remembers `user_id` from `.id`");
    HAS(md, "Retried up to 2 times, 1s apart");
    HAS(md, "Afterwards, DELETE `{{ target.base_url }}/api/users/"
            "{{ user_id }}`");
    HAS(md, "expecting status 200, 204 or 404");
    HAS(md, "the status is 2xx");
    HAS(md, "| card |");
    HAS(md, "| paypal |");
    HAS(md, "2 permutations in all.");
    /* Steps in order. */
    ck_assert_ptr_nonnull(strstr(md, "3. **Then**"));
    ck_assert_msg(strstr(md, "1. **Given**") < strstr(md, "2. **When**"),
                  "out of order");
    ck_assert_msg(strstr(md, "2. **When**") < strstr(md, "3. **Then**"),
                  "out of order");
    free(md);
}
END_TEST

START_TEST(test_docs_secrets_never_rendered)
{
    char *md = render(DOCS_MD, "shop", 1);
    char *html = render(DOCS_HTML, "shop", 1);

    /* The template is shown; an Authorization value is not even that. */
    HAS(md, "`{{ secret.key }}`");
    HAS(md, "header `Authorization`,");
    HASNT(md, "secret.token");
    HASNT(html, "secret.token");
    free(md);
    free(html);
}
END_TEST

START_TEST(test_docs_step_counting)
{
    char *html = render(DOCS_HTML, "shop", 1);
    const char *s1, *s2, *s3, *eu, *us;

    s1 = strstr(html, "data-step=\"1\"");
    s2 = strstr(html, "data-step=\"2\"");
    s3 = strstr(html, "data-step=\"3\"");
    ck_assert_ptr_nonnull(s1);
    ck_assert_ptr_nonnull(s2);
    ck_assert_ptr_nonnull(s3);
    /* Step 1 on eu: both tests passed it. */
    eu = strstr(s1, "data-target=\"eu\"");
    ck_assert_msg(eu < s2, "out of order");
    HAS(eu, "<td class=\"state\">passed</td><td class=\"passed\">2</td>"
            "<td class=\"failed\">0</td><td class=\"error\">0</td>"
            "<td class=\"unreached\">0</td>");
    /* Step 2 on eu: one passed it, one failed at it, with its message. */
    eu = strstr(s2, "data-target=\"eu\"");
    HAS(s2, "<tr class=\"result failed\" data-target=\"eu\"><td "
            "class=\"target\">eu</td><td class=\"state\">failed</td><td "
            "class=\"passed\">1</td><td class=\"failed\">1</td><td "
            "class=\"error\">0</td><td class=\"unreached\">0</td>");
    ck_assert_msg(strstr(eu, "status 502, want 2xx") < s3, "message");
    /* Step 3 on eu: the failed one did not reach it. */
    eu = strstr(s3, "data-target=\"eu\"");
    HAS(eu, "<td class=\"passed\">1</td><td class=\"failed\">0</td>"
            "<td class=\"error\">0</td><td class=\"unreached\">1</td>");
    /* us: one test in error at step 1, one failed at step 3. */
    us = strstr(s3, "data-target=\"us\"");
    HAS(us, "<td class=\"state\">failed</td><td class=\"passed\">0</td>"
            "<td class=\"failed\">1</td><td class=\"error\">0</td>"
            "<td class=\"unreached\">1</td><td class=\"norun\">0</td>");
    HAS(us, "listed: status 500");
    free(html);
}
END_TEST

START_TEST(test_docs_step_index)
{
    const struct scenario *sc = suite_find_scenario(s, "shop");

    ck_assert_int_eq(docs_step_index(sc, "Given a registered user"), 0);
    ck_assert_int_eq(docs_step_index(sc, "When the user pays by card"), 1);
    ck_assert_int_eq(docs_step_index(sc, "When the user pays by "), 1);
    ck_assert_int_eq(docs_step_index(sc, "When the user pays"), -1);
    ck_assert_int_eq(docs_step_index(sc, "Then the order is listed"), 2);
    ck_assert_int_eq(docs_step_index(sc, NULL), -1);
}
END_TEST

START_TEST(test_docs_html_escaped)
{
    char *html = render(DOCS_HTML, "shop", 1);
    char *md = render(DOCS_MD, "shop", 1);

    HAS(html, "Buys &lt;script&gt;alert(1)&lt;/script&gt; &amp; pays");
    HASNT(html, "<script");
    HASNT(md, "<script");
    /* Self-contained: nothing fetched from anywhere. */
    HASNT(html, "src=");
    HASNT(html, "http://127");
    HASNT(html, "<link");
    free(html);
    free(md);
}
END_TEST

START_TEST(test_docs_permutation_cap)
{
    struct docs_src src;
    struct sbuf b = SBUF_INIT;
    const char *last;

    src_init(&src, s, DOCS_MD, 0);
    docs_scenario(&b, &src, suite_find_scenario(s, "wide"));
    HAS(b.buf, "| 1000 |");
    HASNT(b.buf, "| 1001 |");
    HAS(b.buf, "2000 permutations in all; 1000 more not listed here");
    HAS(b.buf, "prodwatch expand --scenario wide");
    last = strstr(b.buf, "2000 permutations");
    ck_assert_ptr_nonnull(last);
    sbuf_release(&b);
}
END_TEST

START_TEST(test_docs_index_and_names)
{
    struct docs_src src;
    struct sbuf b = SBUF_INIT;

    src_init(&src, s, DOCS_HTML, 1);
    docs_index(&b, &src, NULL);
    HAS(b.buf, "<a href=\"shop.html\">shop</a>");
    HAS(b.buf, "<td class=\"state-failing\">failing</td>");
    HAS(b.buf, "<td class=\"state-unknown\">no results</td>");
    sbuf_reset(&b);
    docs_file_name(&b, "../a b/ü");
    ck_assert_str_eq(b.buf, "~2e.~2fa~20b~2f~c3~bc");
    sbuf_release(&b);
}
END_TEST

/* A test in error is not counted as failed, in either format: on us, one
 * test is in error at step 1 (the other passed it). */
START_TEST(test_docs_errors_apart)
{
    char *html = render(DOCS_HTML, "shop", 1);
    char *md = render(DOCS_MD, "shop", 1);
    const char *s1 = strstr(html, "data-step=\"1\""), *us;

    ck_assert_ptr_nonnull(s1);
    us = strstr(s1, "data-target=\"us\"");
    ck_assert_ptr_nonnull(us);
    HAS(html, "<tr class=\"result error\" data-target=\"us\"><td "
              "class=\"target\">us</td><td class=\"state\">in error</td><td "
              "class=\"passed\">1</td><td class=\"failed\">0</td><td "
              "class=\"error\">1</td><td class=\"unreached\">0</td>");
    HAS(us, "connect: refused");
    HAS(md, "| Failed | In error | Not reached |");
    HAS(md, "| us | in error | 1 | 0 | 1 | 0 | 0 |");
    HAS(md, "| us | failed | 0 | 1 | 0 | 1 | 0 |");
    free(html);
    free(md);
}
END_TEST

/* Ages are only said when the renderer is given a time to count from. */
START_TEST(test_docs_ages_only_when_asked)
{
    struct docs_src src;
    struct sbuf b = SBUF_INIT;

    src_init(&src, s, DOCS_MD, 1);
    docs_scenario(&b, &src, suite_find_scenario(s, "shop"));
    HAS(b.buf, "1970-01-01 00:16 UTC |");
    HASNT(b.buf, " ago)");
    sbuf_reset(&b);
    src.now = 2000;
    docs_scenario(&b, &src, suite_find_scenario(s, "shop"));
    HAS(b.buf, "1970-01-01 00:16 UTC (16m ago)");
    sbuf_release(&b);
}
END_TEST

START_TEST(test_docs_defined_in)
{
    char *md = render(DOCS_MD, "shop", 0);
    char *html = render(DOCS_HTML, "shop", 0);
    struct diag *d = diag_new();
    struct sbuf cfg = SBUF_INIT, page = SBUF_INIT;
    struct docs_src src;
    struct suite *s2;

    HAS(md, "**Defined in**: sc-shop.yaml, line 1");
    HAS(html, "sc-shop.yaml, line 1");
    HASNT(md, cfg_dir);
    HASNT(html, cfg_dir);
    /* Under the configuration's directory: the path from there; outside
     * it: the base name. */
    tu_mkdir("site");
    tu_mkdir("site/scenarios");
    tu_write("site/scenarios/deep.yaml", WIDE);
    sbuf_addf(&cfg,
              "redis: redis://127.0.0.1:1/0\n"
              "scenarios: [ \"scenarios/*.yaml\", \"../sc-shop.yaml\", "
              "\"%s/sc-odd.yaml\" ]\n"
              "targets:\n"
              "  eu: { base_url: \"http://127.0.0.1:1\" }\n"
              "  us: { base_url: \"http://127.0.0.1:2\" }\n",
              cfg_dir);
    s2 = suite_load(tu_write("site/prodwatch.yaml", cfg.buf), d);
    ck_assert_ptr_nonnull(s2);
    src_init(&src, s2, DOCS_MD, 0);
    docs_scenario(&page, &src, suite_find_scenario(s2, "wide"));
    HAS(page.buf, "**Defined in**: scenarios/deep.yaml, line 1");
    sbuf_reset(&page);
    docs_scenario(&page, &src, suite_find_scenario(s2, "shop"));
    HAS(page.buf, "**Defined in**: sc-shop.yaml, line 1");
    sbuf_reset(&page);
    docs_scenario(&page, &src, suite_find_scenario(s2, "index"));
    HAS(page.buf, "**Defined in**: sc-odd.yaml, line 1");
    HASNT(page.buf, cfg_dir);
    suite_free(s2);
    diag_free(d);
    sbuf_release(&cfg);
    sbuf_release(&page);
    free(md);
    free(html);
}
END_TEST

START_TEST(test_docs_matrix_values_apart)
{
    char *md = render(DOCS_MD, "index", 0);
    char *html = render(DOCS_HTML, "index", 0);

    HAS(md, "| v | `a,b=c`, `d\\|e`, `x` |");
    HAS(html, "<td class=\"values\"><code>a,b=c</code>, <code>d|e</code>, "
              "<code>x</code></td>");
    free(md);
    free(html);
}
END_TEST

START_TEST(test_docs_paragraphs_kept)
{
    char *md = render(DOCS_MD, "index", 0);
    char *html = render(DOCS_HTML, "index", 0);

    HAS(md, "\n\nFirst line  \nsecond &lt;line&gt;\n\n"
            "\\# Not a heading  \n\\- not a list\n\n");
    HAS(html, "<p>First line<br>\nsecond &lt;line&gt;</p>\n"
              "<p># Not a heading<br>\n- not a list</p>\n");
    free(md);
    free(html);
}
END_TEST

/* No scenario's file is the index's, nor another's on a file system that
 * ignores case. */
START_TEST(test_docs_file_names_apart)
{
    struct docs_src src;
    struct sbuf b = SBUF_INIT;

    docs_file_name(&b, "index");
    ck_assert_str_eq(b.buf, "~69ndex");
    sbuf_reset(&b);
    docs_file_name(&b, "Index");
    ck_assert_str_eq(b.buf, "~49ndex");
    sbuf_reset(&b);
    docs_file_name(&b, "index2");
    ck_assert_str_eq(b.buf, "index2");
    sbuf_reset(&b);
    docs_file_name(&b, "A");
    ck_assert_str_eq(b.buf, "~41");
    sbuf_reset(&b);
    docs_file_name(&b, "a");
    ck_assert_str_eq(b.buf, "a");
    sbuf_reset(&b);
    src_init(&src, s, DOCS_MD, 0);
    docs_index(&b, &src, NULL);
    HAS(b.buf, "[index](~69ndex.md)");
    HASNT(b.buf, "(index.md)");
    sbuf_release(&b);
}
END_TEST

static Suite *docs_suite(void)
{
    Suite *su = suite_create("docs");
    TCase *tc = tcase_create("render");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_docs_plain_words);
    tcase_add_test(tc, test_docs_secrets_never_rendered);
    tcase_add_test(tc, test_docs_step_counting);
    tcase_add_test(tc, test_docs_step_index);
    tcase_add_test(tc, test_docs_html_escaped);
    tcase_add_test(tc, test_docs_permutation_cap);
    tcase_add_test(tc, test_docs_index_and_names);
    tcase_add_test(tc, test_docs_errors_apart);
    tcase_add_test(tc, test_docs_ages_only_when_asked);
    tcase_add_test(tc, test_docs_defined_in);
    tcase_add_test(tc, test_docs_matrix_values_apart);
    tcase_add_test(tc, test_docs_paragraphs_kept);
    tcase_add_test(tc, test_docs_file_names_apart);
    suite_add_tcase(su, tc);
    return su;
}

int main(void)
{
    return pw_run_suite(docs_suite());
}
