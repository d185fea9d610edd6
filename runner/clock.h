/* clock.h -- the one source of time.
 *
 * Every module asks this one for the time, so a test can replace both
 * clocks with its own and drive the scheduler, the throttle windows and
 * timestamps without sleeping.  Monotonic time measures durations and
 * orders due times; wall time stamps results and places throttle
 * windows.  Loop timers still wait in real time: a fake clock is for
 * code that computes with time, not for code that sleeps.
 */
#ifndef PW_CLOCK_H
#define PW_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Monotonic seconds since an arbitrary point. */
double clock_mono(void);

/* Monotonic milliseconds since an arbitrary point. */
uint64_t clock_mono_ms(void);

/* Wall-clock seconds since the epoch (UTC), with fractions. */
double clock_wall(void);

/* Wall-clock whole seconds since the epoch. */
time_t clock_now(void);

/* A replacement for both clocks: each function returns seconds.  A
 * NULL function keeps the real one. */
struct clock_source {
    double (*mono)(void *arg);
    double (*wall)(void *arg);
    void *arg;
};

/* Use <src> (borrowed; must outlive its use) from now on; NULL restores
 * the real clocks.  For tests. */
void clock_set_source(const struct clock_source *src);

#endif /* PW_CLOCK_H */
