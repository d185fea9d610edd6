/* reporters.h -- the host side of reporter plugins.
 *
 * Each entry of the configuration's `reporters:` list is one instance of
 * a plugin (include/prodwatch/reporter.h):
 *
 *   - NAME: { ... }              the built-in plugin NAME.so (pagerduty,
 *                                webhook, slack, jsonl) from the reporter
 *                                directory, with the map as its settings;
 *   - plugin: { path: P, config: { ... } }
 *                                the shared object P (relative to the
 *                                configuration file), with config as its
 *                                settings.
 *
 * The reporter directory is PRODWATCH_REPORTER_DIR from the environment
 * when set (tests and uninstalled builds), else the directory the
 * reporters were installed to.  Loading checks, in this order, that the
 * file opens, that it exports PW_REPORTER_SYMBOL, and that its ABI is
 * PW_REPORTER_ABI; each refusal is a diag error at the entry's position
 * naming the file and the problem.  Then the plugin's create() reads its
 * settings through the host API, whose getters report to the same diag
 * with file:line:col.
 *
 * Instance names are the plugin's name, with "#2", "#3"... appended to
 * repeats ("webhook", "webhook#2"): stable across reloads of the same
 * file, they key each instance's delivery queue and kv store in Redis
 * ({prefix}:outbox:{name}, {prefix}:kv:{name}:{key}).
 *
 * The host API runs HTTP requests on the loop's curl multi (never the
 * throttle of the targets: reporters talk to other hosts), timers on the
 * loop, kv on the given Redis connection; log lines go through pwlog()
 * with the instance's name, redacted.  Everything a plugin started is
 * cancelled, without callbacks, before its destroy() runs.
 */
#ifndef PW_REPORTERS_H
#define PW_REPORTERS_H

#include <stddef.h>

#include "prodwatch/reporter.h"

struct config;
struct diag;
struct loop;
struct redis;
struct secrets;

/* What live instances run on.  Pass NULL to reporters_load() to only
 * check the settings (`prodwatch check`): each plugin is created and
 * destroyed at once, and its host API has no loop, Redis or HTTP. */
struct reporter_env {
    struct loop *loop;
    struct redis *redis;   /* may be down; kv calls then do nothing */
    const char *prefix;    /* key prefix */
    const char *runner;    /* the runner's id */
    struct secrets *secrets; /* for "{{ secret.x }}" in settings */
};

struct reporters;

/* Load every reporter of <cfg>.  Problems go to <d> (file:line:col).
 * Returns the set (possibly empty), or NULL when any entry failed. */
struct reporters *reporters_load(const struct config *cfg,
                                 const struct reporter_env *env,
                                 struct diag *d);

/* Flush (the plugins' flush()), cancel what is in flight, destroy every
 * instance and unload.  NULL is a no-op. */
void reporters_free(struct reporters *r);

size_t reporters_count(const struct reporters *r);

/* Instance <i>'s name ("pagerduty", "webhook#2"). */
const char *reporters_name(const struct reporters *r, size_t i);

/* The index of the instance named <name>, or -1. */
long reporters_find(const struct reporters *r, const char *name);

/* Hand result <res> to every instance's on_result(). */
void reporters_result(struct reporters *r, const struct pw_result *res);

/* How one delivery went; see enum pw_outcome. */
typedef void reporter_delivered_fn(void *arg, enum pw_outcome outcome,
                                   unsigned long retry_after_ms,
                                   const char *why);

/* Hand alert <a> to instance <i>'s on_alert().  <done> runs exactly once,
 * from the loop, never inside this call (also when the plugin has no
 * on_alert: PW_DELIVERED; when the plugin never answers within 60 s:
 * PW_RETRY; when the set is freed first: never).  Only for a set loaded
 * with an environment. */
void reporters_deliver(struct reporters *r, size_t i,
                       const struct pw_alert *a, reporter_delivered_fn *done,
                       void *arg);

/* Answer PW_RETRY for an event the plugin has not answered after <ms>
 * instead of the default 60 s (0: the default), for tests. */
void reporters_set_watchdog(struct reporters *r, unsigned long ms);

/* Every instance's flush(). */
void reporters_flush(struct reporters *r);

#endif /* PW_REPORTERS_H */
