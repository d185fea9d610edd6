/* fuzz_response.c -- libFuzzer harness for judging hostile responses.
 *
 * One fixed scenario, loaded once, holds a representative set of checks
 * (jq paths, lengths and types, header matches, regex groups, body text,
 * size and digest, a TLS check with no certificate) and captures.  Each
 * input is a response:
 *
 *     HTTP/1.1 200 OK        optional status line
 *     Name: value            header lines, up to the first empty line
 *
 *     body                   the rest, as it came
 *
 * An input without an empty line is all body, with no headers.
 * and every check and capture is run on it, one at a time so that an early
 * failure does not hide the later ones.  Nothing may crash, and every
 * message must be one line of printable, valid UTF-8.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "diag.h"
#include "expect.h"
#include "fuzz_util.h"
#include "jqset.h"
#include "scenario.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char config_yaml[] =
    "targets:\n"
    "  prod: { base_url: \"http://127.0.0.1:1\", vars: { tenant: a } }\n";

static const char scenario_yaml[] =
    "name: response\n"
    "vars: { want: ok }\n"
    "steps:\n"
    "  - name: judge\n"
    "    request: { url: \"{{ target.base_url }}/\" }\n"
    "    expect:\n"
    "      status: [2xx, 304]\n"
    "      duration: \"< 800ms\"\n"
    "      checks:\n"
    "        - { jq: .id, type: number }\n"
    "        - { jq: \".items[0].id\", eq: \"7\", ne: 8, gt: 6, le: 7,"
    " in: [1, 7] }\n"
    "        - { jq: \".items | length\", ge: 1, lt: 1000 }\n"
    "        - { jq: \".[] | length\", exists: true }\n"
    "        - { jq: .name, eq: \"{{ want }}\", matches: \"^o\","
    " contains: k }\n"
    "        - { jq: .tags, contains: b, type: array }\n"
    "        - { jq: .obj, contains: k, type: object }\n"
    "        - { jq: .missing, exists: false }\n"
    "        - { jq: .flag, eq: true, type: boolean }\n"
    "        - { jq: .nothing, type: \"null\" }\n"
    "        - { jq: .s, type: string, ne: \"{{ secret.token }}\" }\n"
    "        - { jq: \"[.. | numbers] | add\", gt: 0 }\n"
    "        - { jq: \".a.b.c[3]\", eq: 1.5e308 }\n"
    "        - { jq: \"keys\", contains: id }\n"
    "        - { header: Content-Type, matches: \"^application/json\" }\n"
    "        - { header: content-type, contains: json }\n"
    "        - { header: X-Count, ge: 42, lt: 43 }\n"
    "        - { header: X-Missing, exists: false }\n"
    "        - { header: Location, eq: \"{{ want }}\", in: [a, b] }\n"
    "        - { regex: \"order ([0-9]+)\", eq: 12 }\n"
    "        - { regex: \"(?i)token=([a-z0-9]+)\", exists: true }\n"
    "        - { regex: \"(?s)<title>(.*?)</title>\", contains: Shop }\n"
    "        - { regex: \"missing\", exists: false }\n"
    "        - { body: text, contains: Welcome }\n"
    "        - { body: text, matches: \"^\\\\{\" }\n"
    "        - { body: size, lt: 100000, gt: 0 }\n"
    "        - { body: sha256, eq: "
    "\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\" }\n"
    "        - { tls_days_left: true, gt: 14 }\n"
    "        - { tls_days_left: true, exists: false }\n"
    "    capture:\n"
    "      id: { jq: .id }\n"
    "      first: { jq: \".items[0]\" }\n"
    "      all: { jq: . }\n"
    "      ctype: { header: content-type }\n"
    "      order: { regex: \"order ([0-9]+)\" }\n"
    "      title: { regex: \"(?s)<title>(.*?)</title>\" }\n"
    "      code: { status: true }\n";

/* Loaded once and kept for the life of the process, as the runner keeps
 * its suite. */
static struct config *cfg;
static struct jqset *jq;
static struct scenario *sc;
static const struct step *step;

static pw_status lookup(const char *path, void *arg, struct sbuf *out)
{
    int *secret = arg;

    if (strcmp(path, "want") == 0)
        return sbuf_adds(out, "ok");
    if (strcmp(path, "secret.token") == 0) {
        (*secret)++;
        return sbuf_adds(out, "s3cr3t");
    }
    return PW_ERR_INVALID;
}

/* Whether <s> is one line of printable, valid UTF-8 (as sbuf.c judges
 * sequences: no overlongs, no surrogates, nothing past U+10FFFF). */
static int printable_utf8(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, len, k;
    unsigned int cp;

    while (i < n) {
        if (p[i] < 0x20 || p[i] == 0x7f)
            return 0;
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        if (p[i] >= 0xc2 && p[i] <= 0xdf) {
            len = 2;
            cp = p[i] & 0x1f;
        } else if (p[i] >= 0xe0 && p[i] <= 0xef) {
            len = 3;
            cp = p[i] & 0x0f;
        } else if (p[i] >= 0xf0 && p[i] <= 0xf4) {
            len = 4;
            cp = p[i] & 0x07;
        } else {
            return 0;
        }
        if (len > n - i)
            return 0;
        for (k = 1; k < len; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
            return 0;
        i += len;
    }
    return 1;
}

static void check_msg(const struct sbuf *msg)
{
    if (!printable_utf8(msg->buf, msg->len)) {
        fprintf(stderr, "bad message (%zu bytes): %s\n", msg->len, msg->buf);
        abort();
    }
}

/* Where the body starts: after the first empty line, or at the start when
 * there is none (then it is all body). */
static size_t body_start(const char *p, size_t n)
{
    size_t i, line = 0;

    for (i = 0; i < n; i++) {
        if (p[i] != '\n')
            continue;
        if (i == line || (i == line + 1 && p[line] == '\r'))
            return i + 1;
        line = i + 1;
    }
    return 0;
}

/* Split <data> into a status line, header lines and a body, the way
 * http.c's header callback would have stored them. */
static void parse(const uint8_t *data, size_t size, struct http_resp *r)
{
    const char *p = (const char *)data, *end = p + size;
    const char *body = p + body_start(p, size);

    r->status = 200;
    while (p < body) {
        const char *nl = memchr(p, '\n', (size_t)(body - p));
        const char *colon, *v, *d;
        size_t len = (size_t)(nl - p);

        if (len > 0 && p[len - 1] == '\r')
            len--;
        if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
            d = memchr(p, ' ', len);
            r->status = 0;
            for (d = d ? d + 1 : p + len;
                 d < p + len && *d >= '0' && *d <= '9' && r->status < 100000;
                 d++)
                r->status = r->status * 10 + (*d - '0');
        } else if ((colon = memchr(p, ':', len)) != NULL &&
                   r->nheaders < HTTP_MAX_HEADERS) {
            v = colon + 1;
            while (v < p + len && (*v == ' ' || *v == '\t'))
                v++;
            r->headers = xrealloc(r->headers,
                                  (r->nheaders + 1) * sizeof(*r->headers));
            r->headers[r->nheaders].name = xstrndup(p, (size_t)(colon - p));
            r->headers[r->nheaders].value =
                xstrndup(v, (size_t)(p + len - v));
            r->nheaders++;
        }
        p = nl + 1;
    }
    sbuf_init(&r->body, HTTP_BODY_CAP);
    if (sbuf_add(&r->body, body, (size_t)(end - body)) != PW_OK)
        r->too_big = HTTP_TOO_BIG_BODY;
}

/* Run every check and capture on the response in <data>. */
static void judge(const uint8_t *data, size_t size)
{
    static struct status_range any = { 0, 999 };
    struct http_resp r;
    struct resp_view v;
    struct sbuf msg = SBUF_INIT, out = SBUF_INIT;
    int secret = 0;
    struct expect_env env = { lookup, &secret, &secret };
    struct expect one;
    size_t i;

    memset(&r, 0, sizeof(r));
    parse(data, size, &r);
    r.total_ms = 12;
    r.cert_days_left = -1; /* plain HTTP: no certificate */
    resp_view_init(&v, &r, jq);

    expect_check(&step->expect, &v, &env, &msg);
    check_msg(&msg);
    /* Each check on its own, whatever the status. */
    memset(&one, 0, sizeof(one));
    one.status = &any;
    one.nstatus = 1;
    one.nchecks = 1;
    for (i = 0; i < step->expect.nchecks; i++) {
        one.checks = &step->expect.checks[i];
        sbuf_reset(&msg);
        expect_check(&one, &v, &env, &msg);
        check_msg(&msg);
    }
    for (i = 0; i < step->ncaptures; i++) {
        sbuf_reset(&msg);
        sbuf_reset(&out);
        if (expect_capture(&step->captures[i], &v, &out, &msg) == 0)
            check_msg(&msg);
    }

    resp_view_release(&v);
    for (i = 0; i < r.nheaders; i++) {
        free(r.headers[i].name);
        free(r.headers[i].value);
    }
    free(r.headers);
    sbuf_release(&r.body);
    sbuf_release(&msg);
    sbuf_release(&out);
}

static void setup(void)
{
    struct diag *d = diag_new();
    const char *path;
    size_t i;

    jq = jqset_new();
    path = fuzz_write("cfg", (const uint8_t *)config_yaml,
                      sizeof(config_yaml) - 1);
    cfg = config_load(path, d);
    unlink(path);
    if (cfg) {
        path = fuzz_write("scenario", (const uint8_t *)scenario_yaml,
                          sizeof(scenario_yaml) - 1);
        sc = scenario_load(path, cfg, jq, d);
        unlink(path);
    }
    if (sc == NULL || jqset_compile(jq, d) != PW_OK) {
        for (i = 0; i < diag_count(d) && i < DIAG_MAX; i++)
            fprintf(stderr, "%s\n", diag_at(d, i));
        abort();
    }
    diag_free(d);
    step = scenario_step(sc, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (step == NULL)
        setup();
    judge(data, size);
    return 0;
}
