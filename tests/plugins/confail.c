/* confail.c -- a plugin whose settings are always wrong somewhere: each
 * getter reports at the value's position, and create() gives up. */
#include <stddef.h>

#include "prodwatch/reporter.h"

static void *confail_create(struct pw_host *h, const struct pw_host_api *api)
{
    static const char *const known[] = { "retries", "url", "every", NULL };
    long long retries;
    unsigned long long every;
    const char *url, *missing;

    api->conf_known(h, NULL, known);
    api->conf_int(h, NULL, "retries", 1, 0, 5, &retries);
    api->conf_url(h, NULL, "url", 1, &url);
    api->conf_duration(h, NULL, "every", 0, &every);
    if (api->conf_string(h, NULL, "channel", 1, &missing) != 1)
        api->conf_error(h, NULL, "confail wants a channel too");
    return NULL;
}

static void confail_destroy(void *self)
{
    (void)self;
}

const struct pw_reporter pw_reporter = { PW_REPORTER_ABI, "confail",
                                         confail_create, NULL,
                                         NULL, NULL,
                                         confail_destroy };
