/* alert.h -- the alert state machine: results in, incidents out.
 *
 * Per test (permutation x target) it keeps the few facts the rules need:
 * consecutive failures and passes, the outcomes of the last 64 runs as a
 * bit history, and whether the test counts as failing or flapping.
 *
 *   ok -> failing   after trigger_after consecutive failures (the
 *                   scenario's own value when it sets one), or when
 *                   window_failures of the last window_of runs failed;
 *   failing -> ok   after resolve_after consecutive passes;
 *   flapping        a test whose outcome changed more than flap_flips
 *                   times in its last flap_window runs: it joins its
 *                   incident as flapping (kind "flapping" when every
 *                   member flaps), one page, not one per flip; it stops
 *                   flapping once its last flap_window runs change no
 *                   more than flap_flips / 2 times and it passes.
 *
 * Failing tests are grouped into incidents, for people:
 *
 *   - group_by scenario (the default): one incident per scenario x target,
 *     whose details list the failing permutations and change as they do
 *     (an update is sent when the set changes, at most once a minute);
 *     group_by test: one incident per test;
 *   - when every scenario defined on a target has failing tests and every
 *     failing run there failed at the transport level (no HTTP answer),
 *     one target incident ("prod-eu unreachable") replaces them: the
 *     scenario incidents are not paged, or resolved if they were;
 *   - when the connectivity check fails as well (alert_connectivity()),
 *     the runner suspects its own network: one runner incident, and no
 *     target or scenario incident is paged while it is open.
 *
 * An incident opens when its first member starts failing and resolves
 * when its last member is ok again.  A trigger is held back while the
 * incident's target is silenced (the silenced callback); an incident still
 * open when the silence ends is triggered then (alert_tick()).  An
 * incident resolved before it was ever triggered sends nothing.
 *
 * State survives restarts: every change of a test's or an incident's
 * state goes to the save callback as a short string, and alert_restore()
 * takes those strings back before the first result, so a restart neither
 * re-pages an open incident nor forgets one.  A test that is ok with a
 * clean history is dropped (memory stays proportional to trouble, not to
 * the number of tests).
 *
 * Events leave through the event callback as struct pw_alert (the
 * plugin ABI's record), valid during the call only.  dedup_key is
 * "<prefix>:<level>:<identity>" (level test, scenario, target or
 * runner), or "<prefix>:<level>:sha256:<hex>" when that would pass 255
 * bytes: stable across restarts and runners.  Nothing here reads a clock
 * but clock.h, and nothing calls back later: the callbacks run inside
 * alert_observe(), alert_connectivity() and alert_tick() only.
 */
#ifndef PW_ALERT_H
#define PW_ALERT_H

#include <stddef.h>

#include "prodwatch/reporter.h"

enum alert_group { ALERT_GROUP_SCENARIO, ALERT_GROUP_TEST };

struct alert_opts {
    unsigned trigger_after;  /* default 3 */
    unsigned resolve_after;  /* default 2 */
    unsigned window_failures, window_of; /* 0, 0: no windowed rule */
    unsigned flap_flips;     /* default 6 */
    unsigned flap_window;    /* default 20 (at most 64) */
    enum alert_group group_by;
    const char *prefix;      /* key prefix: the start of dedup keys */
    const char *runner;      /* the runner's id: pw_alert.source */
    const char *public_url;  /* NULL: no links */
};

/* Fill <o> with the defaults above (prefix and runner NULL). */
void alert_opts_default(struct alert_opts *o);

/* One finished run, as the state machine sees it.  Strings are redacted
 * and borrowed for the call. */
struct alert_obs {
    const char *test_id;
    const char *scenario;
    const char *target;
    const char *severity;  /* the scenario's: critical|error|warning|info */
    unsigned trigger_after, resolve_after; /* the scenario's; 0: default */
    int failed;            /* fail or error */
    int transport;         /* failed without any HTTP answer */
    const char *status;    /* "pass", "fail", "error" */
    const char *check;     /* what failed ("status", "transport", ...) */
    const char *step, *message, *request, *excerpt, *run_id;
    double duration_ms;
    long long at;          /* Unix seconds the run started */
};

struct alert_callbacks {
    /* An event to deliver. */
    void (*event)(void *arg, const struct pw_alert *ev);
    /* Whether pages for <target> are silenced now (NULL target: the
     * runner level, silenced when every target is). */
    int (*silenced)(void *arg, const char *target);
    /* Keep <value> under <key> (kind "test" or "incident"); value NULL:
     * forget the key. */
    void (*save)(void *arg, const char *kind, const char *key,
                 const char *value);
    void *arg;
};

struct alert;

/* A state machine with options <o> (copied) and callbacks <cb>. */
struct alert *alert_new(const struct alert_opts *o,
                        const struct alert_callbacks *cb);
void alert_free(struct alert *a);

/* Declare the tests a scenario has on a target (call for every pair at
 * load and at each reload; pairs not declared again are forgotten, and
 * their open incidents resolve).  Starts with alert_define_begin(). */
void alert_define_begin(struct alert *a);
void alert_define(struct alert *a, const char *scenario, const char *target,
                  size_t ntests);
void alert_define_end(struct alert *a);

/* Take back a string the save callback was given.  Returns 0, or -1 when
 * it cannot be read (it is then ignored, and logged). */
int alert_restore(struct alert *a, const char *kind, const char *key,
                  const char *value);

/* Hand every test and incident state to the save callback again: after
 * the store of those strings lost some (it was unreachable). */
void alert_save_all(struct alert *a);

/* Take one result. */
void alert_observe(struct alert *a, const struct alert_obs *o);

/* The outcome of the runner's own connectivity check. */
void alert_connectivity(struct alert *a, int ok, const char *message);

/* Re-check what time changes: silences that ended, rate of updates.
 * Call about once a second. */
void alert_tick(struct alert *a);

/* Counts for status and metrics. */
struct alert_stats {
    size_t tests_tracked; /* tests with an entry: trouble, not size */
    size_t tests_failing, tests_flapping;
    size_t incidents_open, incidents_triggered;
    unsigned long events;
};
void alert_stats(const struct alert *a, struct alert_stats *st);

/* Visit open incidents: <fn>(dedup_key, level, summary, triggered,
 * since, arg); stops when <fn> returns non-zero. */
void alert_visit(const struct alert *a,
                 int (*fn)(const char *dedup_key, enum pw_alert_level level,
                           const char *summary, int triggered,
                           long long since, void *arg),
                 void *arg);

#endif /* PW_ALERT_H */
