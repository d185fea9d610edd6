/* journal.h -- where cleanups wait, durably, until they have run.
 *
 * When a step that may have made a record is over, its run registers the
 * step's cleanup here as an *intent*: what is needed to render the
 * cleanup request again later, by this process or another one after a
 * crash -- never the rendered request, which may carry a secret (an
 * Authorization header built from {{ secret.x }} is rendered again at
 * sweep time).  The run keeps its own rendered copy to send at its end.
 *
 * Operations are asynchronous: add() answers through a callback from the
 * loop (never inside the call) once the intent is durable -- acknowledged
 * by Redis, or fsynced to the local spool while Redis is away -- and the
 * run sends no further request before that answer.  done() forgets an
 * intent whose cleanup succeeded (fire and forget).
 *
 * The interface is a table of operations so that the service backs it
 * with Redis (and a local spool); journal_memory_new() gives the
 * in-process one used by `once`.
 */
#ifndef PW_JOURNAL_H
#define PW_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

struct loop;

/* A name and its value, both borrowed. */
struct journal_named {
    const char *name;
    const char *value;
};

/* Everything a cleanup needs to be rendered again.  All borrowed; add()
 * copies what it keeps. */
struct journal_intent {
    const char *run_id;   /* 32 hex digits: {{ run.id }} */
    const char *test_id;  /* {{ test.id }} */
    const char *scenario; /* scenario name */
    const char *target;   /* target name */
    unsigned step;        /* index of the step whose cleanup it is */
    const char *const *row; /* matrix values, in matrix order */
    size_t nrow;
    /* The run's rendered vars that no secret went into; a var rendered
     * from a secret is left out and rendered again from its template. */
    const struct journal_named *vars;
    size_t nvars;
    const struct journal_named *caps; /* values captured so far */
    size_t ncaps;
    double registered; /* wall clock, seconds */
};

/* <durable> is 1 when the intent will outlive this process, 0 when it
 * could not be kept anywhere (the run must then stop making records).
 * <id> (never 0 when durable) is for journal_done(). */
typedef void journal_added_fn(uint64_t id, int durable, void *arg);

struct journal;

struct journal_ops {
    void (*add)(struct journal *j, const struct journal_intent *in,
                journal_added_fn *added, void *arg);
    void (*done)(struct journal *j, uint64_t id);
    size_t (*pending)(struct journal *j); /* intents not yet done */
    void (*free)(struct journal *j);
};

struct journal {
    const struct journal_ops *ops;
};

/* An in-memory journal for `once`: add() answers durable from loop <l>
 * (borrowed; must outlive the journal) on its next turn.  Intents do not
 * outlive the process, which is all `once` promises.  Answers not given
 * yet when the journal is freed are never given. */
struct journal *journal_memory_new(struct loop *l);

/* Register intent <in> (borrowed during the call); <added>(<id>,
 * <durable>, <arg>) is called once, from the loop, never inside this
 * call. */
static inline void journal_add(struct journal *j,
                               const struct journal_intent *in,
                               journal_added_fn *added, void *arg)
{
    j->ops->add(j, in, added, arg);
}

/* Forget intent <id>: its cleanup succeeded.  0 is a no-op. */
static inline void journal_done(struct journal *j, uint64_t id)
{
    if (id)
        j->ops->done(j, id);
}

/* Intents added and not done. */
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

#endif /* PW_JOURNAL_H */
