/* log.c -- event lines on stderr, redacted. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "sbuf.h"
#include "secret.h"

/* Process-wide by nature: there is one stderr.  Set at start and at
 * reload, read by every line. */
static enum pwlog_level min_level = PWLOG_INFO;
static int as_json;
static int to_journal = -1; /* unknown until the first line */
static const struct secrets *redact_from;

static const char *const level_names[] = { "error", "warn", "notice", "info",
                                           "debug" };
/* syslog priorities: err, warning, notice, info, debug */
static const int level_prio[] = { 3, 4, 5, 6, 7 };

void log_setup(enum pwlog_level min, int json)
{
    min_level = min;
    as_json = json;
}

int log_parse_level(const char *word, enum pwlog_level *out)
{
    size_t i;

    for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
        if (strcmp(word, level_names[i]) == 0) {
            *out = (enum pwlog_level)i;
            return 0;
        }
    return -1;
}

void log_set_secrets(const struct secrets *s)
{
    redact_from = s;
}

int log_enabled(enum pwlog_level level)
{
    return level <= min_level;
}

/* systemd sets $JOURNAL_STREAM to "device:inode" of the stream it gave
 * us; stderr is the journal only when it is still that stream. */
static int stderr_is_journal(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;

    if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2)
        return 0;
    if (fstat(2, &st) != 0)
        return 0;
    return (unsigned long long)st.st_dev == dev &&
           (unsigned long long)st.st_ino == ino;
}

static void add_time(struct sbuf *b)
{
    double now = clock_wall();
    time_t t = (time_t)now;
    struct tm tm;
    char buf[32];

    gmtime_r(&t, &tm);
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
    sbuf_addf(b, "%s.%03dZ", buf, (int)((now - (double)t) * 1000.0));
}

void pwlog(enum pwlog_level level, const char *event, const char *fmt, ...)
{
    struct sbuf msg = SBUF_INIT, line = SBUF_INIT;
    va_list ap;

    if (!log_enabled(level))
        return;
    va_start(ap, fmt);
    sbuf_vaddf(&msg, fmt, ap);
    va_end(ap);
    if (redact_from) {
        const struct redact *sets[1];

        sets[0] = secrets_redact(redact_from);
        redact_apply(sets, 1, &msg);
    }
    if (to_journal < 0)
        to_journal = stderr_is_journal();
    if (as_json) {
        sbuf_adds(&line, "{\"ts\":\"");
        add_time(&line);
        sbuf_addf(&line, "\",\"level\":\"%s\",\"event\":", level_names[level]);
        sbuf_add_json_str(&line, event, strlen(event));
        sbuf_adds(&line, ",\"msg\":");
        sbuf_add_json_str(&line, msg.buf ? msg.buf : "", msg.len);
        sbuf_addc(&line, '}');
    } else {
        if (to_journal)
            sbuf_addf(&line, "<%d>", level_prio[level]);
        else {
            add_time(&line);
            sbuf_addc(&line, ' ');
        }
        sbuf_addf(&line, "%s %s: ", level_names[level], event);
        sbuf_add_printable(&line, msg.buf ? msg.buf : "", msg.len);
    }
    sbuf_addc(&line, '\n');
    if (!sbuf_failed(&line))
        fwrite(line.buf, 1, line.len, stderr);
    sbuf_release(&msg);
    sbuf_release(&line);
}
