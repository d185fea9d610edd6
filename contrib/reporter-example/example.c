/* example.c -- a minimal third-party reporter for prodwatch.
 *
 * It logs one line per alert event, starting with the configured text,
 * and counts results, logging the count when the daemon stops or
 * reloads.  Configure it as
 *
 *   reporters:
 *     - plugin:
 *         path: example.so
 *         config: { prefix_text: "shop team" }
 *
 * It includes prodwatch/reporter.h only, as every plugin must.
 */
#include <stdlib.h>

#include <prodwatch/reporter.h>

struct example {
    struct pw_host *h;
    const struct pw_host_api *api;
    const char *prefix; /* the host's; lives as long as the instance */
    unsigned long results;
    unsigned long failed;
};

static void *example_create(struct pw_host *h, const struct pw_host_api *api)
{
    static const char *const known[] = { "prefix_text", NULL };
    const struct pw_conf *root = api->conf_root(h);
    const char *prefix = "prodwatch";
    struct example *e;

    api->conf_known(h, root, known);
    if (api->conf_string(h, root, "prefix_text", 0, &prefix) < 0)
        return NULL;
    e = calloc(1, sizeof(*e));
    if (e == NULL) {
        api->log(h, PW_LOG_ERROR, "out of memory");
        return NULL;
    }
    e->h = h;
    e->api = api;
    e->prefix = prefix;
    return e;
}

static void example_on_result(void *self, const struct pw_result *r)
{
    struct example *e = self;

    e->results++;
    if (r->status[0] != 'p') /* "fail" or "error" */
        e->failed++;
}

static void example_on_alert(void *self, const struct pw_alert *a, void *token)
{
    struct example *e = self;

    e->api->log(e->h, PW_LOG_NOTICE, "%s: %s%s %s: %s", e->prefix,
                a->test ? "[test] " : "",
                a->action == PW_ALERT_RESOLVE ? "resolve" : "trigger",
                a->dedup_key, a->summary ? a->summary : "");
    /* A log line cannot fail to arrive: delivered at once. */
    e->api->delivered(e->h, token, PW_DELIVERED, 0, NULL);
}

static void example_flush(void *self)
{
    struct example *e = self;

    e->api->log(e->h, PW_LOG_INFO, "%s: %lu results, %lu failed", e->prefix,
                e->results, e->failed);
}

static void example_destroy(void *self)
{
    free(self);
}

const struct pw_reporter pw_reporter = { PW_REPORTER_ABI,  "example",
                                         example_create,   example_on_result,
                                         example_on_alert, example_flush,
                                         example_destroy };
