/* expect.h -- judging a response: expectations and captures.
 *
 * A struct resp_view wraps one response for judging: the body is parsed
 * as JSON at most once, on the first jq check or capture that needs it,
 * and shared by the rest.  Every verdict comes with a one-line message
 * naming the check, the expected and the actual value (truncated), short
 * enough for a page title.  Expected values that were rendered from a
 * secret are never printed.
 */
#ifndef PW_EXPECT_H
#define PW_EXPECT_H

#include <jv.h>

#include "http.h"
#include "jqset.h"
#include "sbuf.h"
#include "scenario.h"
#include "template.h"

/* The regex engine is bounded for hostile bodies: the JIT runs on its own
 * stack (grown from START up to MAX bytes, so long bodies match instead of
 * failing on PCRE2's default 32 KiB), and backtracking stops after
 * MATCH_LIMIT steps or DEPTH_LIMIT nested backtracking points.  A match that
 * hits a limit is an error with PCRE2's message, never "no match".  The
 * stack and limits are created on first use and kept for the life of the
 * process (one set: judging is single-threaded). */
#define EXPECT_RE_JIT_STACK_START (32 * 1024)
#define EXPECT_RE_JIT_STACK_MAX   (8 * 1024 * 1024)
#define EXPECT_RE_MATCH_LIMIT     10000000
#define EXPECT_RE_DEPTH_LIMIT     1000000

/* A jq result computed before judging (a program run in a child). */
struct resp_preset {
    size_t idx; /* the jqset expression */
    pw_status rc;
    jv out;
    struct pw_err err;
};

struct resp_view {
    const struct http_resp *resp;
    struct jqset *jq;
    jv json; /* parsed body, once <parsed> */
    int parsed;
    int fast_tried;     /* the fast parse was asked for */
    unsigned long fast; /* its ticket (fastjson_parse()), 0: not sure */
    struct resp_preset *pre; /* owned */
    size_t npre, pre_alloc;
};

/* Start / end a view of <r>; nothing is parsed until needed. */
void resp_view_init(struct resp_view *v, const struct http_resp *r,
                    struct jqset *jq);
void resp_view_release(struct resp_view *v);

/* The body parsed as JSON (a new reference; the caller frees it), parsed
 * at most once per view; invalid, with the reason, when it is not JSON. */
jv resp_view_json(struct resp_view *v);

/* Evaluate jq expression <idx> on the body: through the fast path when
 * it has one and is sure, else through libjq (or the result preset for
 * <idx>).  Returns PW_OK with the first output in *<out> (jv_invalid()
 * when there is none; the caller frees it); PW_ERR_PARSE when the body is
 * not JSON, with why in <err>; otherwise jqset_eval()'s code and message.
 * *<out> is jv_invalid() on every error. */
pw_status resp_view_jq(struct resp_view *v, size_t idx, jv *out,
                       struct pw_err *err);

/* Give the result of jq expression <idx> on this body, computed elsewhere
 * (jqset_job_finish()): checks and captures on <idx> use it instead of
 * evaluating.  <out> is consumed; <err> is copied when <rc> is not
 * PW_OK. */
void resp_view_preset(struct resp_view *v, size_t idx, pw_status rc, jv out,
                      const struct pw_err *err);

/* Renders operand templates; <secret> is set when a secret was read. */
struct expect_env {
    tmpl_lookup_fn *lookup;
    void *arg;
    int *secret;
};

/* Judge <e> on <v>.  Returns 1 when every expectation holds; 0 with the
 * first failure described in <msg>; -1, also described in <msg>, when a
 * check could not be evaluated at all: an engine error or limit (PCRE2's
 * match limit, a jq program past its time or memory limit) or an operand
 * that cannot be rendered.  That says nothing about the target: the run is
 * incomplete, not failed. */
int expect_check(const struct expect *e, struct resp_view *v,
                 const struct expect_env *env, struct sbuf *msg);

/* Whether <status> is accepted by <ranges>[0..<n>); no ranges accept any
 * status from 100 to 399. */
int expect_status_ok(const struct status_range *ranges, size_t n, long status);

/* Extract capture <cp> from <v> into <out>.  Returns 1, or 0 with the
 * reason in <msg> (the capture found nothing). */
int expect_capture(const struct capture *cp, struct resp_view *v,
                   struct sbuf *out, struct sbuf *msg);

#endif /* PW_EXPECT_H */
