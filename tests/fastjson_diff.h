/* fastjson_diff.h -- one jq expression on one body, evaluated the way a
 * check does (the fast path, libjq when it is not sure) and the way libjq
 * alone does, compared.  Shared by the differential unit test and the
 * fuzz harness, so both hold the fast path to the same standard.
 *
 * Included by exactly one file of each program: the functions are static.
 */
#ifndef PW_FASTJSON_DIFF_H
#define PW_FASTJSON_DIFF_H

#include <stdio.h>
#include <string.h>

#include "expect.h"
#include "fastjson.h"
#include "jqset.h"
#include "jsonscan.h"

/* The reference: the body read by libjq alone (after the shape check that
 * keeps libjq from leaking), then expression <idx> through jqset_eval(). */
static pw_status fjdiff_plain(struct jqset *s, size_t idx, const char *body,
                              size_t len, jv *out, struct pw_err *err)
{
    jv doc;

    *out = jv_invalid();
    if (len == 0 || !jsonscan_structure(body, len, NULL, NULL))
        return pw_err_set(err, PW_ERR_PARSE, "not JSON");
    doc = jv_parse_sized(body, (int)len);
    if (!jv_is_valid(doc)) {
        jv_free(doc);
        return pw_err_set(err, PW_ERR_PARSE, "not JSON");
    }
    return jqset_eval(s, idx, doc, out, err);
}

/* Whether <a> and <b> (both consumed) are the same jq output: equal, and
 * printed the same (key order, number formatting, -0).  NaN, which only
 * libjq reads (from `nan`), is equal to nothing: where both outputs came
 * from libjq (<fast> 0), printing the same is enough. */
static int fjdiff_same(jv a, jv b, int fast, char *why, size_t whylen)
{
    jv da, db;
    int same;

    if (!jv_is_valid(a) || !jv_is_valid(b)) {
        same = jv_is_valid(a) == jv_is_valid(b);
        if (!same)
            snprintf(why, whylen, "one has an output, the other none");
        jv_free(a);
        jv_free(b);
        return same;
    }
    if (fast && !jv_equal(jv_copy(a), jv_copy(b))) {
        da = jv_dump_string(a, 0);
        db = jv_dump_string(b, 0);
        snprintf(why, whylen, "%.200s vs %.200s", jv_string_value(da),
                 jv_string_value(db));
        jv_free(da);
        jv_free(db);
        return 0;
    }
    da = jv_dump_string(a, 0);
    db = jv_dump_string(b, 0);
    same = strcmp(jv_string_value(da), jv_string_value(db)) == 0;
    if (!same)
        snprintf(why, whylen, "printed %.200s vs %.200s", jv_string_value(da),
                 jv_string_value(db));
    jv_free(da);
    jv_free(db);
    return same;
}

/* Evaluate expression <idx> of <s> on the <len> bytes at <body> both
 * ways.  Returns 1 when they agree, 0 with the difference in <why>.  Sets
 * *<fast> when the fast path itself answered. */
static int fjdiff_compare(struct jqset *s, size_t idx, const char *body,
                          size_t len, int *fast, char *why, size_t whylen)
{
    struct http_resp r;
    struct resp_view v;
    struct pw_err e1 = { PW_OK, "" }, e2 = { PW_OK, "" };
    pw_status rc1, rc2;
    jv o1, o2;
    int same;

    *fast = 0;
    memset(&r, 0, sizeof(r));
    sbuf_init(&r.body, 0);
    sbuf_add(&r.body, body, len);
    resp_view_init(&v, &r, s);
    rc1 = resp_view_jq(&v, idx, &o1, &e1);
    *fast = v.fast != 0 && !v.parsed;
    resp_view_release(&v);
    sbuf_release(&r.body);
    rc2 = fjdiff_plain(s, idx, body, len, &o2, &e2);
    if (rc1 != rc2) {
        snprintf(why, whylen, "status %d (%.100s) vs %d (%.100s)", (int)rc1,
                 e1.msg, (int)rc2, e2.msg);
        jv_free(o1);
        jv_free(o2);
        return 0;
    }
    if (rc1 != PW_OK && rc1 != PW_ERR_PARSE && strcmp(e1.msg, e2.msg) != 0) {
        snprintf(why, whylen, "message \"%.100s\" vs \"%.100s\"", e1.msg,
                 e2.msg);
        jv_free(o1);
        jv_free(o2);
        return 0;
    }
    same = fjdiff_same(o1, o2, *fast, why, whylen);
    return same;
}

#endif /* PW_FASTJSON_DIFF_H */
