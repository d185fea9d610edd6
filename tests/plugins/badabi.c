/* badabi.c -- a plugin built for a later ABI: the host must refuse it. */
#include <stddef.h>

#include "prodwatch/reporter.h"

static void *never(struct pw_host *h, const struct pw_host_api *api)
{
    (void)h;
    (void)api;
    return NULL;
}

static void none(void *self)
{
    (void)self;
}

const struct pw_reporter pw_reporter = { PW_REPORTER_ABI + 1,
                                         "badabi",
                                         never,
                                         NULL,
                                         NULL,
                                         NULL,
                                         none };
