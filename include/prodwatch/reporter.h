/* prodwatch/reporter.h -- the reporter plugin ABI.
 *
 * A reporter is a shared object that exports one symbol, named by
 * PW_REPORTER_SYMBOL: a `const struct pw_reporter` whose `abi` is the
 * PW_REPORTER_ABI it was built against.  prodwatch loads it with dlopen(),
 * refuses it (naming the file and the problem) when the symbol is missing
 * or the ABI differs, and then drives it through the callbacks below, all
 * on the daemon's one thread and event loop:
 *
 *   create()     once per `reporters:` entry, with the entry's settings;
 *                also run by `prodwatch check`, which then destroys it at
 *                once, so create() validates and must not send anything;
 *   on_result()  for every finished run (optional);
 *   on_alert()   for every alert event to deliver (optional); the plugin
 *                answers later, exactly once, through api->delivered();
 *   flush()      before the daemon stops or reloads (optional);
 *   destroy()    last.
 *
 * The host does what every reporter would otherwise redo: alert events
 * wait in a queue kept in Redis (a restart loses none), are retried with
 * exponential backoff and jitter when the plugin answers PW_RETRY, and
 * reach a plugin one at a time, in order, so a resolve never overtakes its
 * trigger.  A plugin never blocks: it has no thread and no socket of its
 * own, and makes HTTP requests through api->http(), which runs them on the
 * daemon's own curl multi.
 *
 * Every string the host hands over is UTF-8, NUL-terminated, redacted (no
 * secret value in it), and valid only during the call.  Names here carry
 * the pw_ prefix; nothing else of prodwatch is visible to a plugin.
 */
#ifndef PRODWATCH_REPORTER_H
#define PRODWATCH_REPORTER_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Raised whenever a struct or a callback below changes incompatibly. */
#define PW_REPORTER_ABI 1

/* The name of the one symbol a plugin exports. */
#define PW_REPORTER_SYMBOL "pw_reporter"

struct pw_host; /* the host's side of one reporter instance */
struct pw_conf; /* one node of the reporter's YAML settings */
struct pw_timer;

enum pw_log_level {
    PW_LOG_ERROR,
    PW_LOG_WARNING,
    PW_LOG_NOTICE,
    PW_LOG_INFO,
    PW_LOG_DEBUG
};

/* One finished run. */
struct pw_result {
    const char *test_id;  /* "checkout@prod-eu[locale=en,payment=card]" */
    const char *scenario;
    const char *target;
    const char *status;   /* "pass", "fail" or "error" */
    const char *step;     /* the step that failed, or NULL */
    const char *message;  /* one line, or NULL when all went well */
    const char *excerpt;  /* the start of the failing response, or NULL */
    const char *run_id;   /* 32 hex digits */
    const char *runner;   /* the runner's id */
    double duration_ms;
    long long started;    /* Unix seconds */
    unsigned requests;
};

enum pw_alert_action {
    PW_ALERT_TRIGGER, /* open, or new details of an open incident */
    PW_ALERT_RESOLVE
};

/* What an incident is about: one test, one scenario on one target, a
 * whole target, or the runner's own network. */
enum pw_alert_level {
    PW_LEVEL_TEST,
    PW_LEVEL_SCENARIO,
    PW_LEVEL_TARGET,
    PW_LEVEL_RUNNER
};

/* One alert event.  Optional strings are NULL when unknown. */
struct pw_alert {
    enum pw_alert_action action;
    int update;             /* a trigger of an incident already triggered:
                               the same incident with new details */
    int test;               /* sent by `prodwatch alert test`: not real */
    enum pw_alert_level level;
    const char *kind;       /* "failing", "flapping", "unreachable" or
                               "network" */
    const char *dedup_key;  /* the incident's identity: stable across
                               restarts and runners, at most 255 bytes */
    const char *summary;    /* one line for people, at most 1024 bytes */
    const char *severity;   /* "critical", "error", "warning" or "info" */
    const char *scenario;   /* NULL above the scenario level */
    const char *target;     /* NULL at the runner level */
    const char *source;     /* the runner's id */
    const char *check;      /* what failed: "status", "body", "transport",
                               "timeout", ... */
    const char *step;       /* the failing step */
    const char *message;    /* the failure, one line */
    const char *request;    /* "GET https://..." of the failing request */
    const char *excerpt;    /* the start of the failing response */
    const char *run_id;     /* the latest failing run */
    const char *link;       /* the status page, when public_url is set */
    const char *details;    /* a JSON object: failing permutations, step
                               timings, counts; never NULL ("{}") */
    long long since;        /* Unix seconds the incident opened */
    long long at;           /* Unix seconds of this event */
};

/* How a delivery went. */
enum pw_outcome {
    PW_DELIVERED, /* accepted by the far end */
    PW_RETRY,     /* try again later (429, 5xx, no answer) */
    PW_REJECTED   /* the far end refused it for good (400): logged,
                     counted, dropped */
};

/* One HTTP request.  Headers are "Name: value" lines. */
struct pw_http_request {
    const char *method; /* "POST", "GET", ... */
    const char *url;
    const char *const *headers;
    size_t nheaders;
    const char *body; /* may hold NULs; NULL for none */
    size_t body_len;
    unsigned long timeout_ms; /* 0: 10 s; at most 30 s */
};

struct pw_http_response {
    long status;       /* 0 when no response came back */
    const char *error; /* why there was none, or NULL */
    const char *body;  /* NUL-terminated; capped at 64 KiB */
    size_t body_len;
    /* The value of response header <name> (case-insensitive), or NULL. */
    const char *(*header)(const struct pw_http_response *r, const char *name);
};

typedef void pw_http_fn(void *arg, const struct pw_http_response *resp);
typedef void pw_timer_fn(void *arg);
typedef void pw_kv_fn(void *arg, const char *value, size_t len);

/* What the host offers a plugin.  Every function takes the plugin's own
 * struct pw_host, as handed to create(). */
struct pw_host_api {
    unsigned abi; /* PW_REPORTER_ABI of the host */

    /* -- Settings -------------------------------------------------------
     * The reporter's node: for `- pagerduty: {...}` the map under
     * pagerduty; for `- plugin: { path: ..., config: {...} }` the map under
     * config (an empty map when there is none).  Getters return 1 and set
     * *out when the key is there and valid, 0 when it is absent (reported
     * as an error when <required>), -1 when it is invalid (reported, with
     * the file, line and column of the value).  Strings are rendered
     * templates: "{{ secret.name }}" reads a secret; the result lives as
     * long as the reporter. */
    const struct pw_conf *(*conf_root)(struct pw_host *h);
    const struct pw_conf *(*conf_get)(struct pw_host *h,
                                      const struct pw_conf *map,
                                      const char *key);
    int (*conf_string)(struct pw_host *h, const struct pw_conf *map,
                       const char *key, int required, const char **out);
    int (*conf_int)(struct pw_host *h, const struct pw_conf *map,
                    const char *key, int required, long long min,
                    long long max, long long *out);
    int (*conf_bool)(struct pw_host *h, const struct pw_conf *map,
                     const char *key, int required, int *out);
    /* Durations like "30s", "5m"; *out in milliseconds. */
    int (*conf_duration)(struct pw_host *h, const struct pw_conf *map,
                         const char *key, int required,
                         unsigned long long *out);
    /* A URL (http or https); checked as far as it can be at load. */
    int (*conf_url)(struct pw_host *h, const struct pw_conf *map,
                    const char *key, int required, const char **out);
    /* A map of string to string (headers, say): calls <fn> per pair in
     * file order.  Returns as the getters above. */
    int (*conf_map)(struct pw_host *h, const struct pw_conf *map,
                    const char *key, int required,
                    void (*fn)(void *arg, const char *key, const char *value),
                    void *arg);
    /* Report every key of <map> not in <known> (NULL-terminated). */
    void (*conf_known)(struct pw_host *h, const struct pw_conf *map,
                       const char *const *known);
    /* Report a problem at <node> (NULL: the reporter's entry). */
    void (*conf_error)(struct pw_host *h, const struct pw_conf *node,
                       const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

    /* -- Logging: one line, secrets redacted, the reporter named. -------- */
    void (*log)(struct pw_host *h, enum pw_log_level level, const char *fmt,
                ...) __attribute__((format(printf, 3, 4)));

    /* -- HTTP on the daemon's curl multi.  <done> runs once, later, from
     * the loop (never inside this call).  Returns 0, or -1 when the
     * request could not even start (then <done> does not run). */
    int (*http)(struct pw_host *h, const struct pw_http_request *req,
                pw_http_fn *done, void *arg);

    /* -- Timers: <fn> runs once, later, from the loop. ------------------- */
    struct pw_timer *(*timer_add)(struct pw_host *h, unsigned long ms,
                                  pw_timer_fn *fn, void *arg);
    void (*timer_cancel)(struct pw_host *h, struct pw_timer *t);

    /* -- A small persistent store in Redis, private to the reporter
     * instance.  Keys and values are at most 64 KiB.  kv_get's <fn> runs
     * once, later, with value NULL when the key is absent or Redis is
     * unreachable. */
    void (*kv_set)(struct pw_host *h, const char *key, const char *value,
                   size_t len, unsigned long ttl_s /* 0: none */);
    void (*kv_get)(struct pw_host *h, const char *key, pw_kv_fn *fn,
                   void *arg);
    void (*kv_del)(struct pw_host *h, const char *key);

    /* -- Answer an on_alert(): exactly once per event, now or later.
     * <retry_after_ms> (PW_RETRY only, 0: the host's backoff) asks for a
     * later retry; <why> (may be NULL) is logged. */
    void (*delivered)(struct pw_host *h, void *token, enum pw_outcome outcome,
                      unsigned long retry_after_ms, const char *why);

    /* -- Facts. ---------------------------------------------------------- */
    const char *(*runner_id)(struct pw_host *h);
    const char *(*key_prefix)(struct pw_host *h);
    const char *(*version)(struct pw_host *h); /* prodwatch's */
};

/* The symbol a plugin exports. */
struct pw_reporter {
    unsigned abi;     /* PW_REPORTER_ABI */
    const char *name; /* "pagerduty"; used in logs and metrics */

    /* Read and check the settings through api; keep <h> and <api>.
     * Returns the instance, or NULL after reporting why through
     * conf_error() or log(). */
    void *(*create)(struct pw_host *h, const struct pw_host_api *api);
    void (*on_result)(void *self, const struct pw_result *r);
    /* Deliver <a>, then call api->delivered(h, <token>, ...) once. */
    void (*on_alert)(void *self, const struct pw_alert *a, void *token);
    void (*flush)(void *self);
    /* Free everything; requests still in flight are cancelled by the host
     * first, without their callbacks. */
    void (*destroy)(void *self);
};

#ifdef __cplusplus
}
#endif

#endif /* PRODWATCH_REPORTER_H */
