/* log.h -- one line per event on stderr, for people and for journald.
 *
 * A line names its level and an event (a short dotted word such as
 * "redis.lost" or "config.reload") and says the rest in words.  Text lines
 * start with the syslog priority ("<4>") when stderr is connected to the
 * journal -- journald then files the level and adds the time itself --
 * and with an ISO 8601 UTC time otherwise.  With json set, each line is
 * one JSON object {"ts","level","event","msg"}.
 *
 * Every line passes through the redaction of the secrets set with
 * log_set_secrets(): no secret reaches the log, however a caller built
 * the message.  Logging state is process-wide: one process, one stderr.
 */
#ifndef PW_LOG_H
#define PW_LOG_H

enum pwlog_level {
    PWLOG_ERROR,
    PWLOG_WARN,
    PWLOG_NOTICE,
    PWLOG_INFO,
    PWLOG_DEBUG
};

struct secrets;

/* Log lines at <min> and above (more severe), as JSON when <json>. */
void log_setup(enum pwlog_level min, int json);

/* "error", "warn", "notice", "info", "debug" into *<out>: returns 0, or
 * -1 for any other word. */
int log_parse_level(const char *word, enum pwlog_level *out);

/* Redact the secrets of <s> (borrowed; NULL: none) from every line until
 * the next call.  A reload passes the new suite's secrets. */
void log_set_secrets(const struct secrets *s);

/* Whether a line at <level> would be written. */
int log_enabled(enum pwlog_level level);

/* Write one line: <fmt> is printf-like; newlines and control bytes in the
 * result are shown escaped, so one event is always one line. */
void pwlog(enum pwlog_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* PW_LOG_H */
