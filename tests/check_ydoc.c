/* check_ydoc.c -- YAML to positioned tree, and its failure modes. */
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"
#include "testutil.h"
#include "ydoc.h"

/* Load <text>; store the diagnostics text in *<msgs> (caller frees). */
static struct ydoc *load(const char *text, char **msgs)
{
    struct diag *d = diag_new();
    struct ydoc *doc = ydoc_load_mem("t.yaml", text, strlen(text), d);

    *msgs = tu_diag_text(d);
    diag_free(d);
    return doc;
}

START_TEST(test_ydoc_positions)
{
    char *msgs;
    struct ydoc *doc =
        load("name: x\nsteps:\n  - name: a\n    url: \"b\"\n", &msgs);
    const struct ynode *root, *steps, *url;

    ck_assert_ptr_nonnull(doc);
    ck_assert_str_eq(msgs, "");
    root = ydoc_root(doc);
    ck_assert_int_eq(root->kind, Y_MAP);
    steps = ymap_get(root, "steps");
    ck_assert_int_eq(steps->kind, Y_SEQ);
    ck_assert_uint_eq(steps->len, 1);
    url = ymap_get(steps->items[0], "url");
    ck_assert_str_eq(url->str, "b");
    ck_assert_uint_eq(url->line, 4);
    ck_assert_uint_eq(url->col, 10);
    ck_assert(url->quoted);
    ck_assert(!ymap_get(root, "name")->quoted);
    ck_assert_ptr_null(ymap_get(root, "nope"));
    free(msgs);
    ydoc_free(doc);
}
END_TEST

START_TEST(test_ydoc_syntax_error_has_position)
{
    char *msgs;
    struct ydoc *doc = load("a: [1, 2\nb: 3\n", &msgs);

    ck_assert_ptr_null(doc);
    ck_assert_str_eq(msgs,
                     "t.yaml:2:2: YAML syntax error: did not find "
                     "expected ',' or ']' (while parsing a flow sequence at "
                     "line 1)\n");
    free(msgs);
    doc = load("a: 1\n  b: 2\n", &msgs);
    ck_assert_ptr_null(doc);
    ck_assert_str_eq(msgs, "t.yaml:2:4: YAML syntax error: mapping values "
                           "are not allowed in this context\n");
    free(msgs);
}
END_TEST

START_TEST(test_ydoc_duplicate_and_complex_keys)
{
    char *msgs;
    struct ydoc *doc = load("a: 1\nb: 2\na: 3\n? [x]\n: 4\n", &msgs);

    ck_assert_ptr_null(doc);
    ck_assert_str_eq(msgs,
                     "t.yaml:3:1: duplicate key 'a' (first set at line 1)\n"
                     "t.yaml:4:3: a mapping key must be a plain string, not "
                     "a list\n");
    free(msgs);
}
END_TEST

START_TEST(test_ydoc_aliases_expand)
{
    char *msgs;
    struct ydoc *doc = load("base: &h { X-A: 1 }\nuse: *h\n", &msgs);
    const struct ynode *use;

    ck_assert_ptr_nonnull(doc);
    use = ymap_get(ydoc_root(doc), "use");
    ck_assert_int_eq(use->kind, Y_MAP);
    ck_assert_str_eq(ymap_get(use, "X-A")->str, "1");
    free(msgs);
    ydoc_free(doc);
    doc = load("use: *missing\n", &msgs);
    ck_assert_ptr_null(doc);
    ck_assert_str_eq(msgs, "t.yaml:1:6: unknown anchor '*missing'\n");
    free(msgs);
}
END_TEST

/* Found by the fuzzer: an anchor inside a value dropped as a duplicate key
 * must stay valid for a later alias. */
START_TEST(test_ydoc_alias_into_dropped_value)
{
    char *msgs;
    struct ydoc *doc = load("m: 1\nm: [&en en, fr]\nl: *en\n", &msgs);

    ck_assert_ptr_null(doc);
    ck_assert_str_eq(msgs, "t.yaml:2:1: duplicate key 'm' (first set at line "
                           "1)\n");
    free(msgs);
}
END_TEST

START_TEST(test_ydoc_billion_laughs_is_refused)
{
    struct sbuf b = SBUF_INIT;
    char *msgs;
    struct ydoc *doc;
    int i;

    sbuf_adds(&b, "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for (i = 1; i < 9; i++)
        sbuf_addf(&b,
                  "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, "
                  "*a%d, *a%d, *a%d]\n",
                  i, i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1,
                  i - 1, i - 1);
    doc = load(b.buf, &msgs);
    ck_assert_ptr_null(doc);
    ck_assert_ptr_nonnull(strstr(msgs, "document too large (too many "
                                       "nodes; an alias loop?)"));
    free(msgs);
    sbuf_release(&b);
}
END_TEST

START_TEST(test_ydoc_limits_and_empty)
{
    struct sbuf b = SBUF_INIT;
    char *msgs;
    int i;

    ck_assert_ptr_null(load("", &msgs));
    ck_assert_str_eq(msgs, "t.yaml:1:1: the file is empty\n");
    free(msgs);
    ck_assert_ptr_null(load("a: 1\n---\nb: 2\n", &msgs));
    ck_assert_str_eq(msgs, "t.yaml:2:1: only one YAML document is allowed "
                           "per file\n");
    free(msgs);
    for (i = 0; i < 100; i++)
        sbuf_addc(&b, '[');
    ck_assert_ptr_null(load(b.buf, &msgs));
    ck_assert_ptr_nonnull(strstr(msgs, "nesting too deep"));
    free(msgs);
    sbuf_release(&b);
}
END_TEST

START_TEST(test_ydoc_missing_file)
{
    struct diag *d = diag_new();
    char *msgs;

    ck_assert_ptr_null(ydoc_load_file("/nonexistent/x.yaml", d));
    msgs = tu_diag_text(d);
    ck_assert_str_eq(msgs, "/nonexistent/x.yaml: cannot open: No such file "
                           "or directory\n");
    free(msgs);
    diag_free(d);
}
END_TEST

static Suite *ydoc_suite(void)
{
    Suite *s = suite_create("ydoc");
    TCase *tc = tcase_create("Tree");
    TCase *te = tcase_create("Errors");

    tcase_add_test(tc, test_ydoc_positions);
    tcase_add_test(tc, test_ydoc_aliases_expand);
    tcase_add_test(te, test_ydoc_syntax_error_has_position);
    tcase_add_test(te, test_ydoc_duplicate_and_complex_keys);
    tcase_add_test(te, test_ydoc_alias_into_dropped_value);
    tcase_add_test(te, test_ydoc_billion_laughs_is_refused);
    tcase_add_test(te, test_ydoc_limits_and_empty);
    tcase_add_test(te, test_ydoc_missing_file);
    suite_add_tcase(s, tc);
    suite_add_tcase(s, te);
    return s;
}

int main(void)
{
    return pw_run_suite(ydoc_suite());
}
