/* keys.h -- the names of every Redis key prodwatch reads or writes.
 *
 * One place builds them, so the daemon, the control commands and the
 * documentation (README, prodwatch.yaml(5)) agree.  Every key starts with
 * the configured key_prefix and a colon.  A name taken from the suite (a
 * test id, a scenario or target name, a runner id) is escaped before it
 * becomes part of a key: '%', '{', '}', bytes below 0x21 and 0x7f are
 * written as %XX, so no value can form a Redis Cluster hash tag, add a
 * separator or change what a key means.
 *
 *   {p}:results                 stream, one entry per run (capped)
 *   {p}:tests                   sorted set: test id -> last run (unix s)
 *   {p}:test:{id}               hash: the test's state
 *   {p}:runs:{id}               list: the test's last runs, JSON, newest first
 *   {p}:scenario:{name}         hash: counters runs pass fail error
 *   {p}:target:{name}           hash: counters runs pass fail error
 *   {p}:control:pause           string: all probing paused while it exists
 *   {p}:control:pause:{target}  string: one target paused
 *   {p}:control:silence:{target} string with a TTL: pages suppressed
 *   {p}:runner:{runner}         string with a TTL: heartbeat (JSON)
 *   {p}:cleanup:{runner}        hash: the runner's pending cleanups
 *   {p}:cleanups                set: runners that may have pending cleanups
 *   {p}:seq:{runner}            string: the last result number written
 *   {p}:outbox:{runner}:{instance}  list: alert events a reporter
 *                               instance of the runner has yet to take,
 *                               JSON, oldest first
 *   {p}:alert:{runner}:test     hash: the alert state of tests in trouble
 *   {p}:alert:{runner}:incident hash: the runner's open incidents
 *   {p}:kv:{instance}:{key}     string (TTL optional): a reporter plugin's
 *                               own store (reporters.h); {key} escaped too
 */
#ifndef PW_KEYS_H
#define PW_KEYS_H

#include <stddef.h>

#include "sbuf.h"

/* Append <name> (<len> bytes) escaped as above to <out>. */
void keys_escape(struct sbuf *out, const char *name, size_t len);

/* Append "<prefix>:<kind>" to <out>, and ":<escaped name>" when <name>
 * is not NULL: keys_name(&b, "prodwatch", "test", id). */
void keys_name(struct sbuf *out, const char *prefix, const char *kind,
               const char *name);

#endif /* PW_KEYS_H */
