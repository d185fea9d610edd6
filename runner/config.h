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

/* The most a target or a step may raise its response caps to.  Past
 * CAP_MAX_BODY a probe would hold more of one answer in memory than a
 * runner of thousands of tests can afford; past CAP_MAX_HEADERS libcurl
 * (7.84 and later) refuses the response itself, at 300 KiB of headers. */
#define CAP_MAX_BODY    (64u << 20)
#define CAP_MAX_HEADERS (256u << 10)

struct target {
    char *name;
    struct tmpl *base_url;
    char *channel; /* "stable" unless set */
    double rate;   /* requests/s to this target; 0 = unlimited */
    struct kv *vars;
    size_t nvars;
    char *ca_file; /* NULL: the system store */
    char *client_cert, *client_key;
    int insecure;       /* skip TLS verification (explicit only) */
    size_t max_body;    /* bytes of response body; 0: the default */
    size_t max_headers; /* bytes of response headers; 0: the default */
    char **locations;   /* probed only from these; none: from every one */
    size_t nlocations;
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

/* One entry of `reporters:`.  Its settings are read by the plugin itself
 * (reporters.h), through the host's getters over <settings>. */
struct reporter_conf {
    char *kind;     /* "pagerduty", ..., or "plugin" */
    char *name;     /* `name:` beside it; NULL: the plugin's, numbered */
    char *path;     /* plugin: the shared object, resolved; NULL: built-in */
    const struct ynode *settings; /* borrowed from the doc; NULL: none */
    struct pos pos; /* the entry */
};

/* A window in which pages are held back (alerting.silences). */
struct silence {
    struct window when;
    char **targets; /* NULL: every target */
    size_t ntargets;
};

enum alert_group_by { GROUP_BY_SCENARIO, GROUP_BY_TEST };

/* alerting: the rules of alert.h, with their defaults. */
struct alerting_conf {
    unsigned trigger_after, resolve_after;
    unsigned window_failures, window_of; /* 0, 0: no windowed rule */
    enum alert_group_by group_by;
    struct tmpl *connectivity_check;     /* NULL: none */
    uint64_t connectivity_every_ms;
    unsigned flap_changes, flap_runs;
    struct silence *silences;
    size_t nsilences;
};

/* Every path in the configuration (secrets_dir, state_dir, ca_file,
 * client_cert, client_key, a plugin path) is stored resolved: a
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
    char *listen; /* host:port; NULL: no listener (`listen: off` or "") */
    uint64_t redis_down_after_ms; /* health.redis_down_after */
    int metrics_per_test;         /* metrics.per_test (default 1) */
    struct target *targets;
    size_t ntargets;
    unsigned concurrency;
    double rate; /* overall requests/s; 0 = unlimited */
    struct window *windows;
    size_t nwindows;
    struct alerting_conf alerting;
    char *public_url; /* NULL: pages carry no links */
    char *location;   /* where this runner probes from; NULL: not said */
    uint64_t lease_ttl_ms; /* fleet.lease_ttl: a claimed run's lease */
    uint64_t max_tests;       /* limits.max_tests: most tests a suite holds */
    struct pos max_tests_pos; /* where it was set (or the file) */
    struct reporter_conf *reporters;
    size_t nreporters;
    struct ydoc *doc; /* kept for the reporters' settings */
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

struct loadctx;
/* Compile scalar <n> as a template that may read secret.NAME and env.NAME
 * only (what exists when the configuration is rendered), reporting any
 * other name; NULL (reported) when it cannot be used.  Caller owns. */
struct tmpl *config_tmpl(struct loadctx *c, const struct ynode *n,
                         const char *what);

/* Load a `locations:` list of <n> into *<out> (caller owns; each a name
 * as `location:` takes, none twice), reporting problems to <c>. */
void load_locations(struct loadctx *c, const struct ynode *n, char ***out,
                    size_t *nout);

/* Whether a runner at <location> (NULL: "default") probes what lists the
 * <n> locations of <list>: always when the list is empty. */
int locations_include(char *const *list, size_t n, const char *location);

/* Release the contents of <kv>[0..<n>) and the array itself. */
void kv_free_array(struct kv *kv, size_t n);

#endif /* PW_CONFIG_H */
