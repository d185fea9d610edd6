/* journal.c -- the in-memory cleanup journal. */
#include <stdlib.h>
#include <string.h>

#include "journal.h"
#include "loop.h"
#include "xalloc.h"

/* An intent with every string owned. */
struct mem_intent {
    uint64_t id;
    char *run_id, *test_id, *scenario, *target;
    unsigned step;
    char **row;
    size_t nrow;
    struct journal_named *vars, *caps;
    size_t nvars, ncaps;
    double registered;
};

/* An add() not answered yet. */
struct mem_answer {
    struct mem_journal *m;
    struct loop_timer *timer;
    uint64_t id;
    journal_added_fn *added;
    void *arg;
    struct mem_answer *prev, *next;
};

struct mem_journal {
    struct journal base;
    struct loop *loop;
    struct mem_intent *items;
    size_t n, alloc;
    uint64_t next_id;
    struct mem_answer *answers;
};

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

static struct journal_named *copy_named(const struct journal_named *src,
                                        size_t n)
{
    struct journal_named *dst = xcalloc(n ? n : 1, sizeof(*dst));
    size_t i;

    for (i = 0; i < n; i++) {
        dst[i].name = xstrdup(src[i].name);
        dst[i].value = xstrdup(src[i].value);
    }
    return dst;
}

static void free_named(struct journal_named *list, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        free((char *)list[i].name);
        free((char *)list[i].value);
    }
    free(list);
}

static void intent_release(struct mem_intent *it)
{
    size_t i;

    free(it->run_id);
    free(it->test_id);
    free(it->scenario);
    free(it->target);
    for (i = 0; i < it->nrow; i++)
        free(it->row[i]);
    free(it->row);
    free_named(it->vars, it->nvars);
    free_named(it->caps, it->ncaps);
}

static void unlink_answer(struct mem_answer *a)
{
    if (a->prev)
        a->prev->next = a->next;
    else
        a->m->answers = a->next;
    if (a->next)
        a->next->prev = a->prev;
}

static void answer(void *arg)
{
    struct mem_answer *a = arg;
    journal_added_fn *added = a->added;
    uint64_t id = a->id;
    void *added_arg = a->arg;

    unlink_answer(a);
    free(a);
    added(id, 1, added_arg);
}

static void mem_add(struct journal *j, const struct journal_intent *in,
                    journal_added_fn *added, void *arg)
{
    struct mem_journal *m = (struct mem_journal *)j;
    struct mem_intent *it;
    struct mem_answer *a;
    size_t i;

    XGROW(m->items, m->n + 1, m->alloc);
    it = &m->items[m->n++];
    memset(it, 0, sizeof(*it));
    it->id = ++m->next_id;
    it->run_id = dup_or_null(in->run_id);
    it->test_id = dup_or_null(in->test_id);
    it->scenario = dup_or_null(in->scenario);
    it->target = dup_or_null(in->target);
    it->step = in->step;
    it->nrow = in->nrow;
    it->row = xcalloc(in->nrow ? in->nrow : 1, sizeof(char *));
    for (i = 0; i < in->nrow; i++)
        it->row[i] = xstrdup(in->row[i]);
    it->vars = copy_named(in->vars, in->nvars);
    it->nvars = in->nvars;
    it->caps = copy_named(in->caps, in->ncaps);
    it->ncaps = in->ncaps;
    it->registered = in->registered;

    a = xcalloc(1, sizeof(*a));
    a->m = m;
    a->id = it->id;
    a->added = added;
    a->arg = arg;
    a->next = m->answers;
    if (m->answers)
        m->answers->prev = a;
    m->answers = a;
    a->timer = loop_after(m->loop, 0, answer, a);
}

static void mem_done(struct journal *j, uint64_t id)
{
    struct mem_journal *m = (struct mem_journal *)j;
    size_t i;

    for (i = 0; i < m->n; i++) {
        if (m->items[i].id != id)
            continue;
        intent_release(&m->items[i]);
        m->items[i] = m->items[--m->n];
        return;
    }
}

static size_t mem_pending(struct journal *j)
{
    return ((struct mem_journal *)j)->n;
}

static void mem_free(struct journal *j)
{
    struct mem_journal *m = (struct mem_journal *)j;
    size_t i;

    while (m->answers) {
        struct mem_answer *a = m->answers;

        loop_timer_cancel(a->timer);
        unlink_answer(a);
        free(a);
    }
    for (i = 0; i < m->n; i++)
        intent_release(&m->items[i]);
    free(m->items);
    free(m);
}

static const struct journal_ops mem_ops = { mem_add, mem_done, mem_pending,
                                            mem_free };

struct journal *journal_memory_new(struct loop *l)
{
    struct mem_journal *m = xcalloc(1, sizeof(*m));

    m->base.ops = &mem_ops;
    m->loop = l;
    return &m->base;
}
