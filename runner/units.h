/* units.h -- durations ("500ms", "1m30s"), rates ("5/s", "300/m") and
 * sizes ("512KiB", "4MiB").
 *
 * The spellings are the ones people write in YAML; parsed values are plain
 * integers and doubles so nothing downstream re-parses text.
 */
#ifndef PW_UNITS_H
#define PW_UNITS_H

#include <stdint.h>

#include "err.h"

/* Longest duration accepted: 365 days, in milliseconds. */
#define UNITS_MAX_MS (365ULL * 24 * 3600 * 1000)

/* Parse a duration: one or more <integer><unit> groups with units ms, s, m,
 * h, d ("250ms", "10s", "1h30m").  Stores milliseconds in *<ms>.
 * Returns PW_OK, or PW_ERR_PARSE with a reason in <err> (may be NULL). */
pw_status units_duration(const char *s, uint64_t *ms, struct pw_err *err);

/* Parse a rate "<number>/<unit>" with unit s, m or h ("5/s", "300/m",
 * "0.5/s").  Stores events per second in *<per_sec>, which is > 0.
 * Returns PW_OK or PW_ERR_PARSE as above. */
pw_status units_rate(const char *s, double *per_sec, struct pw_err *err);

/* Parse a size: a whole number of bytes, optionally followed by a binary
 * unit B, KiB, MiB or GiB ("1048576", "512KiB", "4MiB").  Decimal units
 * (KB, MB, GB) are refused rather than guessed at: a cap that is 5% off
 * is a cap nobody meant.  Stores bytes in *<bytes>; 0 is a valid result
 * (a caller that needs more says so).  Returns PW_OK, or PW_ERR_PARSE with
 * a reason in <err> (may be NULL). */
pw_status units_size(const char *s, uint64_t *bytes, struct pw_err *err);

/* Format <bytes> as the largest binary unit that divides it exactly
 * ("4MiB", "1536KiB", "1000B") into <buf> of <size> bytes.  Returns
 * <buf>. */
char *units_format_size(uint64_t bytes, char *buf, unsigned size);

/* Format <ms> as the shortest duration string ("1m30s", "250ms", "0s")
 * into <buf> of <size> bytes.  Returns <buf>. */
char *units_format_duration(uint64_t ms, char *buf, unsigned size);

/* Format an age of <seconds> in one rounded-down unit, as people read it
 * on a status line ("45s ago", "12m ago", "5h ago", "3d ago"; seconds up
 * to 2 minutes, minutes up to 2 hours, hours up to 2 days) into <buf> of
 * <size> bytes.  A negative age (clocks apart) reads "0s ago".  Returns
 * <buf>. */
char *units_format_ago(long long seconds, char *buf, unsigned size);

/* Counts that saturate at UINT64_MAX instead of wrapping: the size of a
 * suite may be astronomically large, and "too many" must stay "too many". */
static inline uint64_t units_sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static inline uint64_t units_sat_mul(uint64_t a, uint64_t b)
{
    if (a == 0 || b == 0)
        return 0;
    return a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

#endif /* PW_UNITS_H */
