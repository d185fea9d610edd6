/* journal.h -- where registered cleanups wait until they have run.
 *
 * A cleanup is registered the moment its step succeeds, already rendered
 * (method, URL, headers, body, accepted statuses), so that it can run
 * without the scenario that made it: at the end of the run, or -- with a
 * persistent journal -- after a crash, by the next start or `sweep`.  An
 * entry leaves the journal only once its request succeeded.
 *
 * The interface is a table of operations so that the service can back it
 * with Redis; journal_memory_new() gives the in-process one used by
 * `once`.
 */
#ifndef PW_JOURNAL_H
#define PW_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "scenario.h"

/* One rendered cleanup request.  All strings owned by the entry. */
struct journal_entry {
    char *test_id;
    char *step; /* name of the step that registered it */
    char *method;
    char *url;
    char **headers; /* "Name: value" */
    size_t nheaders;
    char *body; /* NULL: none */
    size_t body_len;
    struct status_range *status; /* accepted; none: below 400 */
    size_t nstatus;
    char *user, *password;
    unsigned long timeout_ms;
};

struct journal;

struct journal_ops {
    /* Store a copy of <e>; returns an id (never 0) for journal_done(). */
    uint64_t (*add)(struct journal *j, const struct journal_entry *e);
    /* Forget entry <id>: its cleanup succeeded. */
    void (*done)(struct journal *j, uint64_t id);
    /* Entries still pending. */
    size_t (*pending)(struct journal *j);
    void (*free)(struct journal *j);
};

struct journal {
    const struct journal_ops *ops;
};

/* An in-memory journal; free with journal_free(). */
struct journal *journal_memory_new(void);

static inline uint64_t journal_add(struct journal *j,
                                   const struct journal_entry *e)
{
    return j->ops->add(j, e);
}

static inline void journal_done(struct journal *j, uint64_t id)
{
    j->ops->done(j, id);
}

static inline size_t journal_pending(struct journal *j)
{
    return j->ops->pending(j);
}

/* Release <j>.  NULL is a no-op. */
static inline void journal_free(struct journal *j)
{
    if (j)
        j->ops->free(j);
}

/* Deep-copy <src> into <dst> / release <e>'s contents. */
void journal_entry_copy(struct journal_entry *dst,
                        const struct journal_entry *src);
void journal_entry_release(struct journal_entry *e);

#endif /* PW_JOURNAL_H */
