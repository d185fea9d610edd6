/* units.c -- duration, rate and size parsing. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "units.h"

static const struct {
    const char *name;
    uint64_t ms;
} dur_units[] = {
    { "ms", 1 },      { "s", 1000 },     { "m", 60000 },
    { "h", 3600000 }, { "d", 86400000 },
};

pw_status units_duration(const char *s, uint64_t *ms, struct pw_err *err)
{
    const char *p = s;
    uint64_t total = 0;
    uint64_t last_unit = UINT64_MAX;

    if (*p == '\0')
        return pw_err_set(err, PW_ERR_PARSE, "empty duration");
    while (*p) {
        uint64_t n = 0;
        const char *start = p;
        size_t i, ulen = 0, best = 0;

        /* Past the cap the value stops growing but the digits are still
         * consumed, so the unit is found and the message is right. */
        while (isdigit((unsigned char)*p)) {
            if (n <= UNITS_MAX_MS)
                n = n * 10 + (uint64_t)(*p - '0');
            p++;
        }
        if (p == start || (!isalpha((unsigned char)*p) && *p != '\0'))
            return pw_err_set(err, PW_ERR_PARSE,
                              "bad duration '%s': expected a whole number "
                              "then a unit (ms, s, m, h, d), like 500ms or 5m",
                              s);
        while (isalpha((unsigned char)p[ulen]))
            ulen++;
        for (i = 0; i < sizeof(dur_units) / sizeof(dur_units[0]); i++)
            if (strlen(dur_units[i].name) == ulen &&
                strncmp(p, dur_units[i].name, ulen) == 0)
                break;
        if (ulen == 0 || i == sizeof(dur_units) / sizeof(dur_units[0]))
            return pw_err_set(err, PW_ERR_PARSE,
                              "bad duration '%s': %s; use ms, s, m, h or d", s,
                              ulen ? "unknown unit" : "missing unit");
        best = i;
        if (dur_units[best].ms >= last_unit)
            return pw_err_set(err, PW_ERR_PARSE,
                              "bad duration '%s': units must go from "
                              "largest to smallest, each once",
                              s);
        last_unit = dur_units[best].ms;
        if (n > UNITS_MAX_MS / dur_units[best].ms ||
            total + n * dur_units[best].ms > UNITS_MAX_MS)
            return pw_err_set(err, PW_ERR_PARSE,
                              "bad duration '%s': longer than 365d", s);
        total += n * dur_units[best].ms;
        p += ulen;
    }
    *ms = total;
    return PW_OK;
}

pw_status units_rate(const char *s, double *per_sec, struct pw_err *err)
{
    const char *slash = strchr(s, '/');
    char *end;
    double n;
    double div;

    if (slash == NULL || slash == s)
        return pw_err_set(err, PW_ERR_PARSE,
                          "bad rate '%s': expected <number>/<unit>, "
                          "like 5/s or 300/m",
                          s);
    if (!isdigit((unsigned char)s[0]))
        return pw_err_set(err, PW_ERR_PARSE,
                          "bad rate '%s': expected a positive number "
                          "before '/'",
                          s);
    n = strtod(s, &end);
    if (end != slash || !isfinite(n) || n <= 0 || n > 1e9)
        return pw_err_set(err, PW_ERR_PARSE,
                          "bad rate '%s': expected a positive number "
                          "before '/'",
                          s);
    if (strcmp(slash + 1, "s") == 0)
        div = 1;
    else if (strcmp(slash + 1, "m") == 0)
        div = 60;
    else if (strcmp(slash + 1, "h") == 0)
        div = 3600;
    else
        return pw_err_set(err, PW_ERR_PARSE,
                          "bad rate '%s': unit must be s, m or h", s);
    *per_sec = n / div;
    return PW_OK;
}

char *units_format_duration(uint64_t ms, char *buf, unsigned size)
{
    unsigned used = 0;
    size_t i;

    buf[0] = '\0';
    if (ms == 0) {
        snprintf(buf, size, "0s");
        return buf;
    }
    for (i = sizeof(dur_units) / sizeof(dur_units[0]); i > 0 && used < size;
         i--) {
        uint64_t u = dur_units[i - 1].ms;
        int n;

        if (ms < u)
            continue;
        n = snprintf(buf + used, size - used, "%llu%s",
                     (unsigned long long)(ms / u), dur_units[i - 1].name);
        if (n < 0)
            break;
        used += (unsigned)n;
        ms %= u;
    }
    return buf;
}

static const struct {
    const char *name;
    unsigned shift;
} size_units[] = {
    { "GiB", 30 },
    { "MiB", 20 },
    { "KiB", 10 },
    { "B", 0 },
};

#define NSIZE_UNITS (sizeof(size_units) / sizeof(size_units[0]))

pw_status units_size(const char *s, uint64_t *bytes, struct pw_err *err)
{
    const char *p = s;
    uint64_t n = 0;
    int over = 0;
    size_t i;

    if (*s == '-')
        return pw_err_set(err, PW_ERR_PARSE,
                          "bad size '%s': a size cannot be negative", s);
    while (isdigit((unsigned char)*p)) {
        if (n > (UINT64_MAX - 9) / 10)
            over = 1;
        else
            n = n * 10 + (uint64_t)(*p - '0');
        p++;
    }
    if (p == s)
        return pw_err_set(err, PW_ERR_PARSE,
                          "bad size '%s': expected a whole number of bytes, "
                          "optionally with a unit (B, KiB, MiB, GiB), like "
                          "512KiB or 4MiB",
                          s);
    for (i = 0; i < NSIZE_UNITS; i++)
        if (strcmp(p, size_units[i].name) == 0)
            break;
    if (*p == '\0')
        i = NSIZE_UNITS - 1; /* plain bytes */
    else if (i == NSIZE_UNITS)
        return pw_err_set(err, PW_ERR_PARSE,
                          "bad size '%s': unknown unit '%s'; use B, KiB, MiB "
                          "or GiB (1MiB = 1048576 bytes)",
                          s, p);
    if (over || n > UINT64_MAX >> size_units[i].shift)
        return pw_err_set(err, PW_ERR_PARSE, "bad size '%s': too large", s);
    *bytes = n << size_units[i].shift;
    return PW_OK;
}

char *units_format_size(uint64_t bytes, char *buf, unsigned size)
{
    size_t i;

    for (i = 0; i < NSIZE_UNITS; i++) {
        uint64_t unit = (uint64_t)1 << size_units[i].shift;

        if (bytes != 0 && bytes % unit == 0)
            break;
    }
    if (i == NSIZE_UNITS)
        i = NSIZE_UNITS - 1;
    snprintf(buf, size, "%llu%s",
             (unsigned long long)(bytes >> size_units[i].shift),
             size_units[i].name);
    return buf;
}

char *units_format_ago(long long seconds, char *buf, unsigned size)
{
    long long d = seconds < 0 ? 0 : seconds;

    if (d < 120)
        snprintf(buf, size, "%llds ago", d);
    else if (d < 7200)
        snprintf(buf, size, "%lldm ago", d / 60);
    else if (d < 172800)
        snprintf(buf, size, "%lldh ago", d / 3600);
    else
        snprintf(buf, size, "%lldd ago", d / 86400);
    return buf;
}
