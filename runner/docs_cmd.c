/* docs_cmd.c -- `prodwatch docs`: the living documentation as files. */
#include <errno.h>
#include <getopt.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "docs.h"
#include "docs_cmd.h"
#include "keys.h"
#include "redisaddr.h"
#include "result.h"
#include "xalloc.h"

/* The last result of one test, as read from its hash. */
struct known {
    char *id;
    struct docs_result r;
    char *step, *message;
};

struct known_set {
    struct known *v;
    size_t n, alloc;
};

static int by_id(const void *a, const void *b)
{
    return strcmp(((const struct known *)a)->id,
                  ((const struct known *)b)->id);
}

static int find_known(const char *id, struct docs_result *r, void *arg)
{
    const struct known_set *ks = arg;
    struct known key, *k;

    key.id = (char *)id;
    k = bsearch(&key, ks->v, ks->n, sizeof(*ks->v), by_id);
    if (k == NULL)
        return 0;
    *r = k->r;
    return 1;
}

static void known_release(struct known_set *ks)
{
    size_t i;

    for (i = 0; i < ks->n; i++) {
        free(ks->v[i].id);
        free(ks->v[i].step);
        free(ks->v[i].message);
    }
    free(ks->v);
}

#define NFIELDS 5
static const char *const fields[NFIELDS] = { "status", "step", "message",
                                             "since", "last_run" };

static const char *field(const redisReply *r, size_t i)
{
    const redisReply *e = r->element[i];

    return e->type == REDIS_REPLY_STRING && e->len > 0 ? e->str : NULL;
}

/* Take the replies to the <n> HMGETs appended for <ids>. */
static int take_replies(redisContext *c, struct known_set *ks, char **ids,
                        size_t n)
{
    redisReply *r;
    const char *st;
    size_t i;
    int ok = 1;

    for (i = 0; i < n; i++) {
        if (redisGetReply(c, (void **)&r) != REDIS_OK) {
            ok = 0;
            break;
        }
        st = r->type == REDIS_REPLY_ARRAY && r->elements == NFIELDS
                 ? field(r, 0)
                 : NULL;
        if (st) {
            struct known *k;

            XGROW(ks->v, ks->n + 1, ks->alloc);
            k = &ks->v[ks->n++];
            memset(k, 0, sizeof(*k));
            k->id = xstrdup(ids[i]);
            k->r.status = strcmp(st, "pass") == 0   ? RUN_PASS
                          : strcmp(st, "fail") == 0 ? RUN_FAIL
                                                    : RUN_ERROR;
            k->step = field(r, 1) ? xstrdup(field(r, 1)) : NULL;
            k->message = field(r, 2) ? xstrdup(field(r, 2)) : NULL;
            k->r.step = k->step;
            k->r.message = k->message;
            k->r.since = field(r, 3) ? (time_t)atoll(field(r, 3)) : 0;
            k->r.last_run = field(r, 4) ? (time_t)atoll(field(r, 4)) : 0;
        }
        freeReplyObject(r);
    }
    for (i = 0; i < n; i++)
        free(ids[i]);
    return ok;
}

#define BATCH 1000 /* HMGETs in flight at once */

/* Read the hash of every selected test, pipelined BATCH at a time.
 * Returns 0, or -1 with a reason in <why> when Redis cannot be read. */
static int read_known(const struct suite *s, const struct expand_filter *f,
                      struct known_set *ks, struct sbuf *why)
{
    const struct config *cfg = suite_config(s);
    redisContext *c = redisaddr_connect(cfg->redis, NULL);
    struct expand_iter x;
    struct expand_test t;
    struct sbuf key = SBUF_INIT;
    char *ids[BATCH];
    size_t n = 0;
    int ok = 1, more = 1;

    if (c == NULL) {
        sbuf_adds(why, "cannot connect");
        return -1;
    }
    expand_iter_init(&x, s, f);
    while (ok && more) {
        const char *argv[2 + NFIELDS];

        more = expand_iter_next(&x, &t, NULL) == 1;
        if (more) {
            sbuf_reset(&key);
            keys_name(&key, cfg->key_prefix, "test", t.id);
            argv[0] = "HMGET";
            argv[1] = key.buf;
            memcpy(argv + 2, fields, sizeof(fields));
            redisAppendCommandArgv(c, 2 + NFIELDS, argv, NULL);
            ids[n++] = xstrdup(t.id);
        }
        if (n == BATCH || (!more && n > 0)) {
            ok = take_replies(c, ks, ids, n);
            n = 0;
        }
    }
    expand_iter_release(&x);
    sbuf_release(&key);
    if (!ok)
        sbuf_adds(why, c->errstr[0] ? c->errstr : "no reply");
    redisFree(c);
    qsort(ks->v, ks->n, sizeof(*ks->v), by_id);
    return ok ? 0 : -1;
}

/* mkdir -p */
static int make_dir(const char *dir)
{
    char *p = xstrdup(dir), *c;
    int rc = 0;

    for (c = p + 1; rc == 0 && *c; c++)
        if (*c == '/') {
            *c = '\0';
            if (mkdir(p, 0777) != 0 && errno != EEXIST)
                rc = -1;
            *c = '/';
        }
    if (rc == 0 && mkdir(p, 0777) != 0 && errno != EEXIST)
        rc = -1;
    free(p);
    return rc;
}

static int write_file(const char *dir, const char *base, const char *ext,
                      const struct sbuf *body)
{
    struct sbuf path = SBUF_INIT;
    FILE *fp;
    int ok, err = 0;

    sbuf_addf(&path, "%s/%s%s", dir, base, ext);
    errno = 0;
    fp = fopen(path.buf, "w");
    ok = fp && fwrite(body->buf, 1, body->len, fp) == body->len;
    if (!ok)
        err = errno;
    /* A full disk may only show when the buffer is flushed at close. */
    if (fp && fclose(fp) != 0 && ok) {
        ok = 0;
        err = errno;
    }
    if (!ok)
        fprintf(stderr, "prodwatch docs: cannot write %s: %s\n", path.buf,
                strerror(err ? err : EIO));
    sbuf_release(&path);
    return ok;
}

/* Write <body> to stdout and flush it, so a full disk or a closed pipe
 * is said at once and the exit status tells it. */
static int write_stdout(const struct sbuf *body)
{
    int ok;

    errno = 0;
    ok = fwrite(body->buf, 1, body->len, stdout) == body->len &&
         fflush(stdout) == 0;

    if (!ok || ferror(stdout)) {
        fprintf(stderr, "prodwatch docs: cannot write stdout: %s\n",
                strerror(errno ? errno : EIO));
        return 0;
    }
    return 1;
}

struct dopts {
    const char *config, *dir;
    enum docs_format format;
    struct expand_filter f;
    const char **names; /* argc long each, for the filter */
};

static int parse(int argc, char **argv, struct dopts *o)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "format", required_argument, NULL, 'f' },
        { "output", required_argument, NULL, 'o' },
        { "scenario", required_argument, NULL, 's' },
        { "target", required_argument, NULL, 't' },
        { "tag", required_argument, NULL, 'g' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char **sc, **tg, **tag;
    int ch, rc;

    memset(o, 0, sizeof(*o));
    o->names = xcalloc(3 * ((size_t)argc + 1), sizeof(char *));
    sc = o->names;
    tg = sc + argc + 1;
    tag = tg + argc + 1;
    o->f.scenarios = sc;
    o->f.targets = tg;
    o->f.tags = tag;
    optind = 1;
    opterr = 0;
    for (ch = getopt_long(argc, argv, ":c:o:h", longopts, NULL); ch != -1;
         ch = getopt_long(argc, argv, ":c:o:h", longopts, NULL)) {
        switch (ch) {
        case 'c':
            o->config = optarg;
            break;
        case 'o':
            o->dir = optarg;
            break;
        case 'f':
            if (strcmp(optarg, "md") == 0 || strcmp(optarg, "markdown") == 0)
                o->format = DOCS_MD;
            else if (strcmp(optarg, "html") == 0)
                o->format = DOCS_HTML;
            else {
                fprintf(stderr,
                        "prodwatch docs: --format must be md or html\n");
                return CLI_EXIT_USAGE;
            }
            break;
        case 's':
            sc[o->f.nscenarios++] = optarg;
            break;
        case 't':
            tg[o->f.ntargets++] = optarg;
            break;
        case 'g':
            tag[o->f.ntags++] = optarg;
            break;
        case 'h':
            printf("usage: prodwatch docs [-c FILE] [--format md|html] "
                   "[-o DIR]\n"
                   "       [--scenario NAME] [--target T] [--tag T]\n");
            return CLI_EXIT_OK;
        default:
            return cli_bad_option(ch, argv);
        }
    }
    rc = cli_no_operands(argc, argv);
    if (rc >= 0)
        return rc;
    /* Pages back to back are no HTML document, and one page alone would
     * link to an index that is not there: HTML is files only. */
    if (o->format == DOCS_HTML && o->dir == NULL) {
        fprintf(stderr, "prodwatch docs: --format html writes one file per "
                        "page: use -o DIR\n");
        return CLI_EXIT_USAGE;
    }
    return -1;
}

static struct suite *load(const struct dopts *o)
{
    struct diag *d = diag_new();
    struct suite *s = suite_load(cli_config_path(o->config), d);
    size_t i;

    if (s == NULL) {
        diag_print(d, stderr);
        fprintf(stderr, "prodwatch docs: invalid configuration\n");
    }
    diag_free(d);
    for (i = 0; s && i < o->f.ntargets; i++)
        if (config_target(suite_config(s), o->f.targets[i]) == NULL) {
            fprintf(stderr, "prodwatch docs: no target named '%s'\n",
                    o->f.targets[i]);
            suite_free(s);
            s = NULL;
        }
    for (i = 0; s && i < o->f.nscenarios; i++)
        if (suite_find_scenario(s, o->f.scenarios[i]) == NULL) {
            fprintf(stderr, "prodwatch docs: no scenario named '%s'\n",
                    o->f.scenarios[i]);
            suite_free(s);
            s = NULL;
        }
    return s;
}

static int write_pages(const struct dopts *o, const struct docs_src *src)
{
    const char *ext = o->format == DOCS_MD ? ".md" : ".html";
    struct sbuf page = SBUF_INIT, name = SBUF_INIT;
    size_t i;
    int ok = 1;

    if (o->dir && make_dir(o->dir) != 0) {
        fprintf(stderr, "prodwatch docs: %s: %s\n", o->dir, strerror(errno));
        return CLI_EXIT_FAIL;
    }
    for (i = 0; ok && i < suite_scenario_count(src->suite); i++) {
        const struct scenario *sc = suite_scenario(src->suite, i);

        if (!docs_selected(sc, &o->f))
            continue;
        sbuf_reset(&page);
        docs_scenario(&page, src, sc);
        if (o->dir == NULL) {
            ok = write_stdout(&page);
            continue;
        }
        sbuf_reset(&name);
        docs_file_name(&name, scenario_name(sc));
        ok = write_file(o->dir, name.buf, ext, &page);
    }
    if (ok && o->dir) {
        sbuf_reset(&page);
        docs_index(&page, src, &o->f);
        ok = write_file(o->dir, "index", ext, &page);
    }
    sbuf_release(&page);
    sbuf_release(&name);
    return ok ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

int docs_main(int argc, char **argv)
{
    struct dopts o;
    struct suite *s;
    struct known_set ks = { NULL, 0, 0 };
    struct sbuf why = SBUF_INIT;
    struct docs_src src;
    int rc = parse(argc, argv, &o);

    if (rc >= 0) {
        free(o.names);
        return rc;
    }
    s = load(&o);
    if (s == NULL) {
        free(o.names);
        return CLI_EXIT_USAGE;
    }
    memset(&src, 0, sizeof(src));
    src.suite = s;
    src.targets = o.f.targets;
    src.ntargets = o.f.ntargets;
    src.format = o.format;
    src.links = DOCS_LINK_FILES;
    /* Files are read long after they are written: no "ago" on them. */
    src.now = 0;
    /* Pages without results beat no pages: Redis being away is said, not
     * fatal. */
    if (read_known(s, &o.f, &ks, &why) == 0) {
        src.result = find_known;
        src.arg = &ks;
    } else {
        fprintf(stderr,
                "prodwatch docs: warning: redis unreachable (%s): pages "
                "written without results\n",
                why.buf);
    }
    rc = write_pages(&o, &src);
    known_release(&ks);
    sbuf_release(&why);
    suite_free(s);
    free(o.names);
    return rc;
}
