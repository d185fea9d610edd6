/* clock.c -- real clocks, or a test's. */
#include "clock.h"

static const struct clock_source *source;

static double real_mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double real_wall(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double clock_mono(void)
{
    if (source && source->mono)
        return source->mono(source->arg);
    return real_mono();
}

uint64_t clock_mono_ms(void)
{
    return (uint64_t)(clock_mono() * 1000.0);
}

double clock_wall(void)
{
    if (source && source->wall)
        return source->wall(source->arg);
    return real_wall();
}

time_t clock_now(void)
{
    return (time_t)clock_wall();
}

void clock_set_source(const struct clock_source *src)
{
    source = src;
}
