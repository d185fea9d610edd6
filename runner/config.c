/* config.c -- loading and validating prodwatch.yaml. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "redisaddr.h"
#include "load.h"
#include "strutil.h"
#include "xalloc.h"

#define DEFAULT_REDIS       "redis://127.0.0.1:6379/0"
#define DEFAULT_PREFIX      "prodwatch"
#define DEFAULT_SCENARIOS   "scenarios/*.yaml"
#define DEFAULT_SECRETS     "/etc/prodwatch/secrets"
#define DEFAULT_STATE       "/var/lib/prodwatch"
#define DEFAULT_LISTEN      "127.0.0.1:9464"
#define DEFAULT_TARGET_RATE 5.0
#define DEFAULT_CONCURRENCY 8
#define DEFAULT_MAX_TESTS   1000000
#define DEFAULT_REDIS_DOWN_AFTER_MS 30000
#define DEFAULT_LEASE_TTL_MS 30000
#define MAX_MAX_TESTS       1000000000000LL

void kv_free_array(struct kv *kv, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        free(kv[i].name);
        tmpl_free(kv[i].value);
    }
    free(kv);
}

static void free_strings(char **v, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void config_free(struct config *cfg)
{
    size_t i;

    if (cfg == NULL)
        return;
    free(cfg->path);
    free(cfg->dir);
    free(cfg->redis);
    free(cfg->key_prefix);
    free_strings(cfg->scenarios, cfg->nscenarios);
    free(cfg->scenario_pos);
    free(cfg->secrets_dir);
    free(cfg->state_dir);
    free(cfg->listen);
    for (i = 0; i < cfg->ntargets; i++) {
        struct target *t = &cfg->targets[i];

        free(t->name);
        tmpl_free(t->base_url);
        free(t->channel);
        kv_free_array(t->vars, t->nvars);
        free(t->ca_file);
        free(t->client_cert);
        free(t->client_key);
        free_strings(t->locations, t->nlocations);
    }
    free(cfg->targets);
    for (i = 0; i < cfg->nwindows; i++)
        free(cfg->windows[i].timezone);
    free(cfg->windows);
    for (i = 0; i < cfg->alerting.nsilences; i++) {
        struct silence *si = &cfg->alerting.silences[i];

        free(si->when.timezone);
        free_strings(si->targets, si->ntargets);
    }
    free(cfg->alerting.silences);
    tmpl_free(cfg->alerting.connectivity_check);
    free(cfg->public_url);
    free(cfg->location);
    for (i = 0; i < cfg->nreporters; i++) {
        free(cfg->reporters[i].kind);
        free(cfg->reporters[i].name);
        free(cfg->reporters[i].path);
    }
    free(cfg->reporters);
    ydoc_free(cfg->doc);
    free(cfg);
}

char *config_resolve(const struct config *cfg, const char *path)
{
    if (strcmp(cfg->dir, ".") == 0)
        return xstrdup(path);
    return str_path_under(cfg->dir, strlen(cfg->dir), path);
}

const struct target *config_target(const struct config *cfg, const char *name)
{
    size_t i;

    for (i = 0; i < cfg->ntargets; i++)
        if (strcmp(cfg->targets[i].name, name) == 0)
            return &cfg->targets[i];
    return NULL;
}

/* Config templates may only read secrets and the environment: nothing else
 * exists when the config is rendered. */
struct tmpl *config_tmpl(struct loadctx *c, const struct ynode *n,
                         const char *what)
{
    struct tmpl *t = load_tmpl(c, n, what);
    size_t i;

    if (t == NULL)
        return NULL;
    for (i = 0; i < tmpl_ref_count(t); i++) {
        size_t off;
        const char *ref = tmpl_ref_at(t, i, &off);
        const char *dot = strchr(ref, '.');

        if (dot && strncmp(ref, "secret.", 7) == 0 &&
            strchr(dot + 1, '.') == NULL) {
            load_check_secret(c, dot + 1, load_pos_in(c, n, off));
            continue;
        }
        if (dot && strncmp(ref, "env.", 4) == 0 && strchr(dot + 1, '.') == NULL)
            continue;
        diag_add(c->d, load_pos_in(c, n, off),
                 "%s: unknown name '%s' (the configuration can use "
                 "secret.NAME and env.NAME)",
                 what, ref);
    }
    return t;
}

static char *dup_str(struct loadctx *c, const struct ynode *n, const char *what)
{
    const char *s = load_str(c, n, what);

    return s ? xstrdup(s) : NULL;
}

/* A path setting, resolved against the configuration's directory. */
static char *dup_path(struct loadctx *c, const struct config *cfg,
                      const struct ynode *n, const char *what)
{
    const char *s = load_str(c, n, what);

    if (s == NULL)
        return NULL;
    if (*s == '\0') {
        load_err(c, n, "%s must not be empty", what);
        return NULL;
    }
    return config_resolve(cfg, s);
}

/* A file the TLS library will read at the first request: check it now,
 * so a wrong path is a configuration error and not a failed test. */
static char *dup_file(struct loadctx *c, const struct config *cfg,
                      const struct ynode *n, const char *what)
{
    char *path = dup_path(c, cfg, n, what);

    if (path)
        load_check_file(c, n, path, what);
    return path;
}

static void set_str(char **dst, char *value)
{
    if (value) {
        free(*dst);
        *dst = value;
    }
}

static struct kv *load_kv_map(struct loadctx *c, const struct ynode *n,
                              const char *what, size_t *count)
{
    struct kv *kv;
    size_t i, k = 0;

    *count = 0;
    if (!load_want_map(c, n, what))
        return NULL;
    kv = xcalloc(n->len ? n->len : 1, sizeof(*kv));
    for (i = 0; i < n->len; i++) {
        struct tmpl *t = config_tmpl(c, n->pairs[i].value, what);

        if (t == NULL)
            continue;
        kv[k].name = xstrdup(n->pairs[i].key->str);
        kv[k].value = t;
        kv[k].pos = ynode_pos(c->doc, n->pairs[i].key);
        k++;
    }
    *count = k;
    return kv;
}

static void check_url_literal(struct loadctx *c, const struct ynode *n,
                              const char *what)
{
    if (n->kind != Y_SCALAR || strncmp(n->str, "{{", 2) == 0)
        return;
    if (strncmp(n->str, "http://", 7) != 0 &&
        strncmp(n->str, "https://", 8) != 0)
        load_err(c, n, "%s must start with http:// or https://", what);
}

static void load_target(struct loadctx *c, const struct config *cfg,
                        const struct ynode *key, const struct ynode *n,
                        struct target *t)
{
    static const char *const keys[] = {
        "base_url", "channel",     "rate",       "vars",
        "ca_file",  "client_cert", "client_key", "insecure",
        "max_body", "max_headers", "locations", NULL
    };
    const struct ynode *v;

    t->name = xstrdup(key->str);
    t->pos = ynode_pos(c->doc, key);
    t->rate = DEFAULT_TARGET_RATE;
    t->channel = xstrdup("stable");
    if (!str_is_ident(key->str))
        load_err(c, key,
                 "target name '%s' must be letters, digits, '_' "
                 "or '-'",
                 key->str);
    if (!load_want_map(c, n, "a target"))
        return;
    load_check_keys(c, n, keys, "a target");
    v = ymap_get(n, "base_url");
    if (v == NULL) {
        load_err(c, key, "target '%s' has no base_url", key->str);
    } else {
        t->base_url = config_tmpl(c, v, "base_url");
        check_url_literal(c, v, "base_url");
    }
    v = ymap_get(n, "channel");
    if (v)
        set_str(&t->channel, dup_str(c, v, "channel"));
    v = ymap_get(n, "rate");
    if (v)
        t->rate = load_rate(c, v, "rate", t->rate);
    v = ymap_get(n, "vars");
    if (v)
        t->vars = load_kv_map(c, v, "vars", &t->nvars);
    v = ymap_get(n, "ca_file");
    if (v)
        t->ca_file = dup_file(c, cfg, v, "ca_file");
    v = ymap_get(n, "client_cert");
    if (v)
        t->client_cert = dup_file(c, cfg, v, "client_cert");
    v = ymap_get(n, "client_key");
    if (v)
        t->client_key = dup_file(c, cfg, v, "client_key");
    v = ymap_get(n, "insecure");
    if (v)
        t->insecure = load_bool(c, v, "insecure", 0);
    v = ymap_get(n, "max_body");
    if (v)
        t->max_body = (size_t)load_size(c, v, "max_body", CAP_MAX_BODY, 0);
    v = ymap_get(n, "max_headers");
    if (v)
        t->max_headers =
            (size_t)load_size(c, v, "max_headers", CAP_MAX_HEADERS, 0);
    v = ymap_get(n, "locations");
    if (v)
        load_locations(c, v, &t->locations, &t->nlocations);
    if (t->client_key && !t->client_cert)
        load_err(c, n, "target '%s': client_key needs client_cert", key->str);
}

/* Parse "HH:MM" (00:00 to 24:00) into minutes after midnight. */
static int parse_hhmm(const char *s, unsigned *min)
{
    unsigned h, m;

    if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) ||
        s[2] != ':' || !isdigit((unsigned char)s[3]) ||
        !isdigit((unsigned char)s[4]))
        return 0;
    h = (unsigned)(s[0] - '0') * 10 + (unsigned)(s[1] - '0');
    m = (unsigned)(s[3] - '0') * 10 + (unsigned)(s[4] - '0');
    if (h > 24 || m > 59 || (h == 24 && m != 0))
        return 0;
    *min = h * 60 + m;
    return 1;
}

/* Parse "HH:MM-HH:MM" into <w>'s start and end. */
static int parse_hours(const char *s, struct window *w)
{
    return strlen(s) == 11 && s[5] == '-' && parse_hhmm(s, &w->start_min) &&
           parse_hhmm(s + 6, &w->end_min);
}

/* The days, hours and timezone of window <n>, a map of <keys> named
 * <what> ("a throttle window"); 0 when <n> is not even a map. */
static int load_window(struct loadctx *c, const struct ynode *n,
                       struct window *w, const char *const *keys,
                       const char *what)
{
    static const char *const days[] = { "sun", "mon", "tue", "wed",
                                        "thu", "fri", "sat" };
    const struct ynode *v;
    size_t i, j;

    w->days = 0x7f;
    w->end_min = 24 * 60;
    if (!load_want_map(c, n, what))
        return 0;
    load_check_keys(c, n, keys, what);
    v = ymap_get(n, "days");
    if (v && load_want_seq(c, v, "days")) {
        w->days = 0;
        for (i = 0; i < v->len; i++) {
            const char *d = load_str(c, v->items[i], "a day");

            if (d == NULL)
                continue;
            for (j = 0; j < 7; j++)
                if (strcmp(d, days[j]) == 0)
                    break;
            if (j == 7) {
                const char *hint = str_suggest(d, days, 7);

                load_err(c, v->items[i],
                         "unknown day '%s'%s%s%s (use mon, "
                         "tue, wed, thu, fri, sat, sun)",
                         d, hint ? "; did you mean '" : "", hint ? hint : "",
                         hint ? "'?" : "");
                continue;
            }
            w->days |= DAY_BIT(j);
        }
    }
    v = ymap_get(n, "hours");
    if (v) {
        const char *h = load_str(c, v, "hours");

        if (h && !parse_hours(h, w))
            load_err(c, v, "hours must look like \"01:00-05:00\", not '%s'", h);
        else if (h && w->start_min == w->end_min)
            load_err(c, v, "hours '%s' is an empty window", h);
    } else {
        load_err(c, n, "%s needs hours, like \"01:00-05:00\"", what);
    }
    v = ymap_get(n, "timezone");
    if (v) {
        const char *tz = load_str(c, v, "timezone");
        struct stat st;
        char path[512];

        if (tz && (tz[0] == '/' || strstr(tz, "..") || strlen(tz) > 200)) {
            load_err(c, v, "timezone '%s' is not an IANA zone name", tz);
        } else if (tz) {
            /* Only check where a zone database exists to check against. */
            snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", tz);
            if (stat("/usr/share/zoneinfo/UTC", &st) == 0 &&
                stat(path, &st) != 0)
                load_err(c, v, "unknown timezone '%s'", tz);
            w->timezone = xstrdup(tz);
        }
    }
    return 1;
}

static void load_throttle_window(struct loadctx *c, const struct ynode *n,
                                 struct window *w)
{
    static const char *const keys[] = { "days", "hours",       "timezone",
                                        "rate", "concurrency", NULL };
    const struct ynode *v;

    if (!load_window(c, n, w, keys, "a throttle window"))
        return;
    v = ymap_get(n, "rate");
    if (v)
        w->rate = load_rate(c, v, "rate", 0);
    v = ymap_get(n, "concurrency");
    if (v)
        w->concurrency = (unsigned)load_int(c, v, 1, 10000, "concurrency", 0);
}

static void load_throttle(struct loadctx *c, const struct ynode *n,
                          struct config *cfg)
{
    static const char *const keys[] = { "concurrency", "rate", "windows",
                                        NULL };
    const struct ynode *v;
    size_t i;

    if (!load_want_map(c, n, "throttle"))
        return;
    load_check_keys(c, n, keys, "throttle");
    v = ymap_get(n, "concurrency");
    if (v)
        cfg->concurrency = (unsigned)load_int(c, v, 1, 10000, "concurrency",
                                              DEFAULT_CONCURRENCY);
    v = ymap_get(n, "rate");
    if (v)
        cfg->rate = load_rate(c, v, "rate", 0);
    v = ymap_get(n, "windows");
    if (v && load_want_seq(c, v, "windows")) {
        cfg->windows = xcalloc(v->len ? v->len : 1, sizeof(*cfg->windows));
        cfg->nwindows = v->len;
        for (i = 0; i < v->len; i++)
            load_throttle_window(c, v->items[i], &cfg->windows[i]);
    }
}

/* A silence names targets of the configuration: a misspelt one would
 * silence nothing, at the worst moment. */
static void load_silence(struct loadctx *c, const struct config *cfg,
                         const struct ynode *n, struct silence *si)
{
    static const char *const keys[] = { "days", "hours", "timezone",
                                        "targets", NULL };
    const struct ynode *v;
    size_t i;

    if (!load_window(c, n, &si->when, keys, "a silence"))
        return;
    v = ymap_get(n, "targets");
    if (v == NULL || !load_want_seq(c, v, "targets"))
        return;
    if (v->len == 0)
        load_err(c, v, "targets is empty: leave it out to silence every "
                       "target");
    si->targets = xcalloc(v->len ? v->len : 1, sizeof(char *));
    for (i = 0; i < v->len; i++) {
        const char *t = load_str(c, v->items[i], "a target");

        if (t == NULL)
            continue;
        if (cfg->ntargets && config_target(cfg, t) == NULL)
            load_err(c, v->items[i], "unknown target '%s'", t);
        si->targets[si->ntargets++] = xstrdup(t);
    }
}

static void load_alert_window(struct loadctx *c, const struct ynode *n,
                              struct alerting_conf *a)
{
    static const char *const keys[] = { "failures", "of", NULL };
    const struct ynode *f, *of;

    if (!load_want_map(c, n, "window"))
        return;
    load_check_keys(c, n, keys, "window");
    f = ymap_get(n, "failures");
    of = ymap_get(n, "of");
    if (f == NULL || of == NULL) {
        load_err(c, n, "window needs failures and of, like "
                       "{ failures: 3, of: 5 }");
        return;
    }
    a->window_failures = (unsigned)load_int(c, f, 1, 64, "failures", 0);
    a->window_of = (unsigned)load_int(c, of, 1, 64, "of", 0);
    if (a->window_failures > a->window_of && a->window_of) {
        load_err(c, f, "failures (%u) must not be more than of (%u)",
                 a->window_failures, a->window_of);
        a->window_failures = a->window_of = 0;
    }
}

static void load_flapping(struct loadctx *c, const struct ynode *n,
                          struct alerting_conf *a)
{
    static const char *const keys[] = { "changes", "runs", NULL };
    const struct ynode *v;

    if (!load_want_map(c, n, "flapping"))
        return;
    load_check_keys(c, n, keys, "flapping");
    v = ymap_get(n, "runs");
    if (v)
        a->flap_runs = (unsigned)load_int(c, v, 2, 64, "runs", a->flap_runs);
    v = ymap_get(n, "changes");
    if (v) {
        a->flap_changes = (unsigned)load_int(c, v, 1, 63, "changes",
                                             a->flap_changes);
        if (a->flap_changes >= a->flap_runs)
            load_err(c, v, "changes must be fewer than runs (%u)",
                     a->flap_runs);
    }
}

static void load_alerting(struct loadctx *c, const struct ynode *n,
                          struct config *cfg)
{
    static const char *const keys[] = {
        "trigger_after",      "resolve_after",      "window",
        "group_by",           "connectivity_check", "connectivity_every",
        "flapping",           "silences",           NULL
    };
    struct alerting_conf *a = &cfg->alerting;
    const struct ynode *v;
    size_t i;

    if (!load_want_map(c, n, "alerting"))
        return;
    load_check_keys(c, n, keys, "alerting");
    v = ymap_get(n, "trigger_after");
    if (v)
        a->trigger_after = (unsigned)load_int(c, v, 1, 1000, "trigger_after",
                                              a->trigger_after);
    v = ymap_get(n, "resolve_after");
    if (v)
        a->resolve_after = (unsigned)load_int(c, v, 1, 1000, "resolve_after",
                                              a->resolve_after);
    v = ymap_get(n, "window");
    if (v)
        load_alert_window(c, v, a);
    v = ymap_get(n, "group_by");
    if (v && load_str(c, v, "group_by")) {
        if (strcmp(v->str, "test") == 0)
            a->group_by = GROUP_BY_TEST;
        else if (strcmp(v->str, "scenario") != 0)
            load_err(c, v, "group_by must be scenario or test, not '%s'",
                     v->str);
    }
    v = ymap_get(n, "connectivity_check");
    if (v) {
        a->connectivity_check = config_tmpl(c, v, "connectivity_check");
        check_url_literal(c, v, "connectivity_check");
    }
    v = ymap_get(n, "connectivity_every");
    if (v) {
        a->connectivity_every_ms = load_duration(c, v, "connectivity_every",
                                                 a->connectivity_every_ms);
        if (a->connectivity_every_ms < 1000)
            load_err(c, v, "connectivity_every must be at least 1s");
    }
    v = ymap_get(n, "flapping");
    if (v)
        load_flapping(c, v, a);
    v = ymap_get(n, "silences");
    if (v && load_want_seq(c, v, "silences")) {
        a->silences = xcalloc(v->len ? v->len : 1, sizeof(*a->silences));
        a->nsilences = v->len;
        for (i = 0; i < v->len; i++)
            load_silence(c, cfg, v->items[i], &a->silences[i]);
    }
}

/* `- NAME: {settings}` names the built-in NAME.so; `- plugin: {path,
 * config}` a file of the user's.  Settings are the plugin's business:
 * reporters_load() has it check them. */
static void load_reporter(struct loadctx *c, const struct config *cfg,
                          const struct ynode *n, struct reporter_conf *r)
{
    static const char *const pl_keys[] = { "path", "config", NULL };
    const struct ynode *body, *v;
    const char *kind;

    size_t i, k = 0;

    r->pos = ynode_pos(c->doc, n);
    if (!load_want_map(c, n, "a reporter"))
        return;
    /* The kind, and optionally `name:` beside it. */
    for (i = 0; i < n->len; i++)
        if (strcmp(n->pairs[i].key->str, "name") != 0)
            k = i;
    v = ymap_get(n, "name");
    if (n->len < 1 || n->len > 2 || (n->len == 2 && v == NULL) ||
        (n->len == 1 && v != NULL)) {
        load_err(c, n,
                 "a reporter is one key, its kind (pagerduty, webhook, "
                 "slack, jsonl) or plugin, with its settings below it, and "
                 "optionally a name: beside it");
        return;
    }
    if (v) {
        const char *nm = load_str(c, v, "name");

        if (nm && !str_is_ident(nm))
            load_err(c, v,
                     "reporter name '%s' must be letters, digits, '_' or '-'",
                     nm);
        else if (nm)
            r->name = xstrdup(nm);
    }
    kind = n->pairs[k].key->str;
    body = n->pairs[k].value;
    r->kind = xstrdup(kind);
    if (!str_is_ident(kind)) {
        load_err(c, n->pairs[0].key,
                 "reporter name '%s' must be letters, digits, '_' or '-'",
                 kind);
        return;
    }
    /* `- jsonl:` with nothing below is a reporter with no settings. */
    if (load_is_null(body) && strcmp(kind, "plugin") != 0)
        return;
    if (!load_want_map(c, body, kind))
        return;
    if (strcmp(kind, "plugin") != 0) {
        r->settings = body;
        return;
    }
    load_check_keys(c, body, pl_keys, kind);
    v = ymap_get(body, "path");
    if (v)
        r->path = dup_path(c, cfg, v, "path");
    else
        load_err(c, n, "plugin needs a path");
    v = ymap_get(body, "config");
    if (v && load_want_map(c, v, "config"))
        r->settings = v;
}

static void check_redis_url(struct loadctx *c, const struct ynode *n,
                            const char *url)
{
    const char *p;

    if (strncmp(url, "unix:", 5) == 0 && url[5] == '/')
        return;
    if (strncmp(url, "sentinel://", 11) == 0) {
        struct redisaddr a;

        if (redisaddr_parse(url, &a) < 0)
            load_err(c, n,
                     "redis must be sentinel://HOST[:PORT][,HOST[:PORT]...]"
                     "/MASTER[/DB] (at most %d Sentinels), not '%s'",
                     REDISADDR_MAX_SENTINELS, url);
        else
            redisaddr_release(&a);
        return;
    }
    if (strncmp(url, "redis://", 8) != 0) {
        load_err(c, n,
                 "redis must be redis://HOST:PORT[/DB], unix:/PATH or "
                 "sentinel://HOST[:PORT][,...]/MASTER, not '%s'",
                 url);
        return;
    }
    p = strrchr(url + 8, '@');
    p = p ? p + 1 : url + 8;
    if (*p == '\0' || *p == ':' || *p == '/')
        load_err(c, n, "redis URL '%s' has no host", url);
}

static void check_listen(struct loadctx *c, const struct ynode *n,
                         const char *listen)
{
    const char *colon = strrchr(listen, ':');
    char *end;
    long port;

    if (colon == NULL || colon == listen) {
        load_err(c, n, "listen must be HOST:PORT, like 127.0.0.1:9464");
        return;
    }
    port = strtol(colon + 1, &end, 10);
    if (*end != '\0' || port < 0 || port > 65535 || colon[1] == '\0')
        load_err(c, n, "listen port must be 0 to 65535");
}

/* An explicit secrets_dir must be there: otherwise every secret of every
 * run would be "unknown" at run time, not at check time. */
static void check_secrets_dir(struct loadctx *c, const struct ynode *n,
                              const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0) {
        load_err(c, n, "secrets_dir '%s': %s", dir, strerror(errno));
        return;
    }
    close(fd);
    if (access(dir, X_OK) != 0)
        load_err(c, n, "secrets_dir '%s': %s", dir, strerror(errno));
}

static void load_limits(struct loadctx *c, const struct ynode *n,
                        struct config *cfg)
{
    static const char *const keys[] = { "max_tests", NULL };
    const struct ynode *v;

    if (!load_want_map(c, n, "limits"))
        return;
    load_check_keys(c, n, keys, "limits");
    v = ymap_get(n, "max_tests");
    if (v) {
        cfg->max_tests = (uint64_t)load_int(c, v, 1, MAX_MAX_TESTS, "max_tests",
                                            DEFAULT_MAX_TESTS);
        cfg->max_tests_pos = ynode_pos(c->doc, v);
    }
}

static void load_health(struct loadctx *c, const struct ynode *n,
                        struct config *cfg)
{
    static const char *const keys[] = { "redis_down_after", NULL };
    const struct ynode *v;

    if (!load_want_map(c, n, "health"))
        return;
    load_check_keys(c, n, keys, "health");
    v = ymap_get(n, "redis_down_after");
    if (v)
        cfg->redis_down_after_ms = load_duration(c, v, "redis_down_after",
                                                 DEFAULT_REDIS_DOWN_AFTER_MS);
}

static int location_ok(const char *s)
{
    return str_is_ident(s) && strlen(s) <= 64;
}

void load_locations(struct loadctx *c, const struct ynode *n, char ***out,
                    size_t *nout)
{
    size_t i, j;

    if (!load_want_seq(c, n, "locations"))
        return;
    if (n->len == 0) {
        load_err(c, n, "locations is empty; leave it out to probe from "
                       "every location");
        return;
    }
    *out = xcalloc(n->len, sizeof(char *));
    for (i = 0; i < n->len; i++) {
        const char *s = load_str(c, n->items[i], "a location");

        if (s == NULL)
            continue;
        if (!location_ok(s)) {
            load_err(c, n->items[i],
                     "a location must be a name of letters, digits, '_' and "
                     "'-' (at most 64), not '%s'",
                     s);
            continue;
        }
        for (j = 0; j < *nout; j++)
            if (strcmp((*out)[j], s) == 0)
                break;
        if (j < *nout) {
            load_err(c, n->items[i], "location '%s' is listed twice", s);
            continue;
        }
        (*out)[(*nout)++] = xstrdup(s);
    }
}

int locations_include(char *const *list, size_t n, const char *location)
{
    size_t i;

    if (n == 0)
        return 1;
    if (location == NULL)
        location = "default";
    for (i = 0; i < n; i++)
        if (strcmp(list[i], location) == 0)
            return 1;
    return 0;
}

static void load_fleet(struct loadctx *c, const struct ynode *n,
                       struct config *cfg)
{
    static const char *const keys[] = { "lease_ttl", NULL };
    const struct ynode *v;

    if (!load_want_map(c, n, "fleet"))
        return;
    load_check_keys(c, n, keys, "fleet");
    v = ymap_get(n, "lease_ttl");
    if (v == NULL)
        return;
    cfg->lease_ttl_ms = load_duration(c, v, "lease_ttl", DEFAULT_LEASE_TTL_MS);
    /* Below a second, a claim's round trip and a busy loop could outlast
     * the lease of a run that is well; past an hour, a dead runner's tests
     * would wait that long. */
    if (cfg->lease_ttl_ms < 1000 || cfg->lease_ttl_ms > 3600000) {
        load_err(c, v, "lease_ttl must be between 1s and 1h");
        cfg->lease_ttl_ms = DEFAULT_LEASE_TTL_MS;
    }
}

static void load_metrics(struct loadctx *c, const struct ynode *n,
                         struct config *cfg)
{
    static const char *const keys[] = { "per_test", NULL };
    const struct ynode *v;

    if (!load_want_map(c, n, "metrics"))
        return;
    load_check_keys(c, n, keys, "metrics");
    v = ymap_get(n, "per_test");
    if (v)
        cfg->metrics_per_test = load_bool(c, v, "per_test", 1);
}

static void load_root(struct loadctx *c, const struct ynode *root,
                      struct config *cfg)
{
    static const char *const keys[] = {
        "redis",     "key_prefix", "scenarios", "secrets_dir",
        "state_dir", "listen",     "targets",   "throttle",
        "alerting",  "reporters",  "limits",    "public_url",
        "health",    "metrics",    "location",  "fleet",
        NULL
    };
    const struct ynode *v;
    size_t i;

    if (!load_want_map(c, root, "the configuration"))
        return;
    load_check_keys(c, root, keys, "the configuration");
    v = ymap_get(root, "redis");
    if (v) {
        set_str(&cfg->redis, dup_str(c, v, "redis"));
        check_redis_url(c, v, cfg->redis);
    }
    v = ymap_get(root, "key_prefix");
    if (v) {
        set_str(&cfg->key_prefix, dup_str(c, v, "key_prefix"));
        if (cfg->key_prefix[0] == '\0' || strpbrk(cfg->key_prefix, " \t\n{}"))
            load_err(c, v,
                     "key_prefix must be non-empty, without spaces or "
                     "braces");
    }
    v = ymap_get(root, "scenarios");
    if (v) {
        const struct ynode *list = v;

        if (v->kind == Y_SCALAR || load_want_seq(c, v, "scenarios")) {
            size_t n = v->kind == Y_SCALAR ? 1 : v->len;

            for (i = 0; i < cfg->nscenarios; i++)
                free(cfg->scenarios[i]);
            free(cfg->scenarios);
            free(cfg->scenario_pos);
            cfg->scenarios = xcalloc(n ? n : 1, sizeof(char *));
            cfg->scenario_pos = xcalloc(n ? n : 1, sizeof(struct pos));
            cfg->nscenarios = 0;
            for (i = 0; i < n; i++) {
                const struct ynode *item =
                    v->kind == Y_SCALAR ? v : list->items[i];
                char *s = dup_str(c, item, "a scenario glob");

                if (s == NULL)
                    continue;
                cfg->scenario_pos[cfg->nscenarios] = ynode_pos(c->doc, item);
                cfg->scenarios[cfg->nscenarios++] = s;
            }
        }
    }
    v = ymap_get(root, "secrets_dir");
    if (v) {
        set_str(&cfg->secrets_dir, dup_path(c, cfg, v, "secrets_dir"));
        check_secrets_dir(c, v, cfg->secrets_dir);
    }
    /* Templates below may name secrets; the default directory is only
     * checked against where it exists. */
    load_set_secrets_dir(c, cfg->secrets_dir);
    v = ymap_get(root, "state_dir");
    if (v)
        set_str(&cfg->state_dir, dup_path(c, cfg, v, "state_dir"));
    v = ymap_get(root, "listen");
    if (v && load_is_null(v)) {
        free(cfg->listen);
        cfg->listen = NULL;
    } else if (v) {
        set_str(&cfg->listen, dup_str(c, v, "listen"));
        /* A listener is opt-out: "off" (or nothing) says so plainly. */
        if (cfg->listen[0] == '\0' || strcmp(cfg->listen, "off") == 0) {
            free(cfg->listen);
            cfg->listen = NULL;
        } else {
            check_listen(c, v, cfg->listen);
        }
    }
    v = ymap_get(root, "health");
    if (v)
        load_health(c, v, cfg);
    v = ymap_get(root, "metrics");
    if (v)
        load_metrics(c, v, cfg);
    v = ymap_get(root, "fleet");
    if (v)
        load_fleet(c, v, cfg);
    v = ymap_get(root, "targets");
    if (v && load_want_map(c, v, "targets")) {
        cfg->targets = xcalloc(v->len ? v->len : 1, sizeof(*cfg->targets));
        cfg->ntargets = v->len;
        for (i = 0; i < v->len; i++)
            load_target(c, cfg, v->pairs[i].key, v->pairs[i].value,
                        &cfg->targets[i]);
        if (v->len == 0)
            load_err(c, v, "targets is empty: name at least one target");
    } else if (v == NULL) {
        load_err(c, root, "the configuration has no targets");
    }
    v = ymap_get(root, "throttle");
    if (v)
        load_throttle(c, v, cfg);
    v = ymap_get(root, "alerting");
    if (v)
        load_alerting(c, v, cfg);
    v = ymap_get(root, "public_url");
    if (v) {
        set_str(&cfg->public_url, dup_str(c, v, "public_url"));
        check_url_literal(c, v, "public_url");
    }
    v = ymap_get(root, "location");
    if (v) {
        set_str(&cfg->location, dup_str(c, v, "location"));
        if (cfg->location != NULL && !location_ok(cfg->location)) {
            load_err(c, v,
                     "location must be a name of letters, digits, '_' and "
                     "'-' (at most 64), not '%s'",
                     cfg->location);
        }
    }
    v = ymap_get(root, "limits");
    if (v)
        load_limits(c, v, cfg);
    v = ymap_get(root, "reporters");
    if (v && load_want_seq(c, v, "reporters")) {
        cfg->reporters = xcalloc(v->len ? v->len : 1, sizeof(*cfg->reporters));
        cfg->nreporters = v->len;
        for (i = 0; i < v->len; i++)
            load_reporter(c, cfg, v->items[i], &cfg->reporters[i]);
    }
}

struct config *config_load(const char *path, struct diag *d)
{
    struct config *cfg = xcalloc(1, sizeof(*cfg));
    struct loadctx c = { NULL, d, diag_count(d), NULL };
    const char *slash, *env;

    cfg->path = xstrdup(path);
    slash = strrchr(path, '/');
    cfg->dir = slash ? xstrndup(path, (size_t)(slash - path) + (slash == path))
                     : xstrdup(".");
    cfg->redis = xstrdup(DEFAULT_REDIS);
    cfg->key_prefix = xstrdup(DEFAULT_PREFIX);
    cfg->scenarios = xcalloc(1, sizeof(char *));
    cfg->scenarios[0] = xstrdup(DEFAULT_SCENARIOS);
    cfg->scenario_pos = xcalloc(1, sizeof(struct pos));
    cfg->scenario_pos[0].file = cfg->path;
    cfg->nscenarios = 1;
    env = getenv("CREDENTIALS_DIRECTORY");
    cfg->secrets_dir = xstrdup(env && *env ? env : DEFAULT_SECRETS);
    env = getenv("STATE_DIRECTORY");
    cfg->state_dir = xstrdup(env && *env ? env : DEFAULT_STATE);
    cfg->listen = xstrdup(DEFAULT_LISTEN);
    cfg->redis_down_after_ms = DEFAULT_REDIS_DOWN_AFTER_MS;
    cfg->lease_ttl_ms = DEFAULT_LEASE_TTL_MS;
    cfg->metrics_per_test = 1;
    cfg->concurrency = DEFAULT_CONCURRENCY;
    cfg->alerting.trigger_after = 3;
    cfg->alerting.resolve_after = 2;
    cfg->alerting.connectivity_every_ms = 30000;
    cfg->alerting.flap_changes = 6;
    cfg->alerting.flap_runs = 20;
    cfg->max_tests = DEFAULT_MAX_TESTS;
    cfg->max_tests_pos.file = cfg->path;

    cfg->doc = ydoc_load_file(path, d);
    if (cfg->doc == NULL) {
        config_free(cfg);
        return NULL;
    }
    c.doc = cfg->doc;
    load_root(&c, ydoc_root(cfg->doc), cfg);
    if (load_failed(&c)) {
        config_free(cfg);
        return NULL;
    }
    return cfg;
}
