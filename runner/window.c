/* window.c -- evaluating throttle windows in their own time zones. */
#include <stdlib.h>
#include <string.h>

#include "window.h"
#include "xalloc.h"

/* Local time of <now> in zone <tz> (NULL: UTC).  glibc has no per-call
 * zone, so TZ is switched and restored; the process is single-threaded. */
static void local_tm(time_t now, const char *tz, struct tm *out)
{
    const char *old;
    char *saved = NULL;

    if (tz == NULL) {
        gmtime_r(&now, out);
        return;
    }
    old = getenv("TZ");
    if (old)
        saved = xstrdup(old);
    setenv("TZ", tz, 1);
    tzset();
    localtime_r(&now, out);
    if (saved) {
        setenv("TZ", saved, 1);
        free(saved);
    } else {
        unsetenv("TZ");
    }
    tzset();
}

static int is_open(const struct window *w, time_t now)
{
    struct tm tm;
    unsigned min, day;

    local_tm(now, w->timezone, &tm);
    min = (unsigned)(tm.tm_hour * 60 + tm.tm_min);
    day = (unsigned)tm.tm_wday;
    if (w->start_min == w->end_min) /* the whole day */
        return (w->days & DAY_BIT(day)) != 0;
    if (w->start_min < w->end_min)
        return (w->days & DAY_BIT(day)) && min >= w->start_min &&
               min < w->end_min;
    /* Wraps midnight: the part after midnight belongs to the day the
     * window opened. */
    if (min >= w->start_min)
        return (w->days & DAY_BIT(day)) != 0;
    if (min < w->end_min)
        return (w->days & DAY_BIT((day + 6) % 7)) != 0;
    return 0;
}

const struct window *window_active(const struct window *w, size_t n, time_t now)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (is_open(&w[i], now))
            return &w[i];
    return NULL;
}

unsigned window_recheck_s(time_t now)
{
    return (unsigned)(60 - now % 60);
}
