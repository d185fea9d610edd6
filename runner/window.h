/* window.h -- which throttle window of the configuration is open now.
 *
 * A window (config.h, struct window) names days, an hour range that may
 * wrap midnight and an IANA time zone; while it is open its rate and
 * concurrency replace the overall ones.  When several are open the first
 * one listed wins, as in the configuration file.
 */
#ifndef PW_WINDOW_H
#define PW_WINDOW_H

#include <stddef.h>
#include <time.h>

#include "config.h"

/* The first window of <w>[0..<n>) open at <now>, or NULL.  Borrowed. */
const struct window *window_active(const struct window *w, size_t n,
                                   time_t now);

/* Seconds from <now> until the answer of window_active() may change:
 * the next minute boundary in every zone (zones differ by whole or half
 * hours and quarter hours, so minutes suffice).  At least 1. */
unsigned window_recheck_s(time_t now);

#endif /* PW_WINDOW_H */
