/* config.h -- the service configuration (prodwatch.yaml).
 *
 * Loaded once by config_load() and immutable afterwards; a reload builds a
 * new one and swaps it whole.  The structs below are plain read-only
 * records: every pointer in them is owned by the struct config and lives
 * until config_free().  String fields that may hold "{{ secret.X }}" or
 * "{{ env.X }}" are templates, rendered only where they are used, so a
 * secret's value never sits in this structure.
 */
#ifndef PW_CONFIG_H
#define PW_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "template.h"
#include "ydoc.h"

/* A name with a template value (target vars, headers, query, form). */
struct kv {
    char *name;
    struct tmpl *value;
    struct pos pos;
};

struct target {
    char *name;
    struct tmpl *base_url;
    char *channel; /* "stable" unless set */
    double rate;   /* requests/s to this target; 0 = unlimited */
    struct kv *vars;
    size_t nvars;
    char *ca_file; /* NULL: the system store */
    char *client_cert, *client_key;
    int insecure; /* skip TLS verification (explicit only) */
    struct pos pos;
};

#define DAY_BIT(d) (1u << (d)) /* d: 0 = Sunday ... 6 = Saturday */

struct window {
    unsigned days;        /* DAY_BIT mask; all days when not given */
    unsigned start_min;   /* minutes after midnight, local time */
    unsigned end_min;     /* exclusive; may be < start (wraps midnight) */
    char *timezone;       /* IANA name; NULL means UTC */
    double rate;          /* overall requests/s while inside */
    unsigned concurrency; /* 0: keep the default */
};

enum reporter_kind { REP_PAGERDUTY, REP_WEBHOOK, REP_JSONL, REP_PLUGIN };

struct reporter_conf {
    enum reporter_kind kind;
    struct tmpl *routing_key; /* pagerduty */
    struct tmpl *url;         /* pagerduty (endpoint), webhook */
    char *path;               /* jsonl file, plugin .so */
    struct kv *headers;       /* webhook */
    size_t nheaders;
    const struct ynode *plugin_config; /* plugin: borrowed from the doc */
    struct pos pos;
};

/* Every path in the configuration (secrets_dir, state_dir, ca_file,
 * client_cert, client_key, a jsonl or plugin path) is stored resolved: a
 * relative one is joined to the directory of the configuration file, as
 * the scenario globs are, so the same file means the same thing whatever
 * the current directory.  Paths taken from the environment
 * ($CREDENTIALS_DIRECTORY, $STATE_DIRECTORY) are used as given. */
struct config {
    char *path;  /* the file it was loaded from */
    char *dir;   /* its directory: globs and paths are relative to it */
    char *redis; /* redis://host:port/db or unix:/path */
    char *key_prefix;
    char **scenarios; /* globs, as written */
    struct pos *scenario_pos;
    size_t nscenarios;
    char *secrets_dir;
    char *state_dir;
    char *listen; /* host:port */
    struct target *targets;
    size_t ntargets;
    unsigned concurrency;
    double rate; /* overall requests/s; 0 = unlimited */
    struct window *windows;
    size_t nwindows;
    unsigned trigger_after, resolve_after;
    uint64_t max_tests;       /* limits.max_tests: most tests a suite holds */
    struct pos max_tests_pos; /* where it was set (or the file) */
    struct reporter_conf *reporters;
    size_t nreporters;
    struct ydoc *doc; /* kept for plugin_config */
};

/* Load and validate the configuration file <path>.  Every problem goes to
 * <d>.  Returns a new config (caller owns; config_free()) when the file
 * had no problems, NULL otherwise. */
struct config *config_load(const char *path, struct diag *d);

/* Release <cfg>.  NULL is a no-op. */
void config_free(struct config *cfg);

/* <path> as the configuration <cfg> means it: unchanged when absolute,
 * else joined to cfg->dir.  Returns a new string; caller frees. */
char *config_resolve(const struct config *cfg, const char *path);

/* The target named <name>, or NULL.  Borrowed. */
const struct target *config_target(const struct config *cfg, const char *name);

/* Release the contents of <kv>[0..<n>) and the array itself. */
void kv_free_array(struct kv *kv, size_t n);

#endif /* PW_CONFIG_H */
