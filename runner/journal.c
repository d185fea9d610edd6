/* journal.c -- the in-memory cleanup journal. */
#include <stdlib.h>
#include <string.h>

#include "journal.h"
#include "xalloc.h"

struct mem_entry {
    uint64_t id;
    struct journal_entry e;
};

struct mem_journal {
    struct journal base;
    struct mem_entry *items;
    size_t n, alloc;
    uint64_t next_id;
};

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

void journal_entry_copy(struct journal_entry *dst,
                        const struct journal_entry *src)
{
    size_t i;

    memset(dst, 0, sizeof(*dst));
    dst->test_id = dup_or_null(src->test_id);
    dst->step = dup_or_null(src->step);
    dst->method = dup_or_null(src->method);
    dst->url = dup_or_null(src->url);
    dst->nheaders = src->nheaders;
    dst->headers = xcalloc(src->nheaders ? src->nheaders : 1, sizeof(char *));
    for (i = 0; i < src->nheaders; i++)
        dst->headers[i] = xstrdup(src->headers[i]);
    if (src->body)
        dst->body = xstrndup(src->body, src->body_len);
    dst->body_len = src->body_len;
    dst->nstatus = src->nstatus;
    dst->status =
        xcalloc(src->nstatus ? src->nstatus : 1, sizeof(*dst->status));
    if (src->nstatus)
        memcpy(dst->status, src->status, src->nstatus * sizeof(*src->status));
    dst->user = dup_or_null(src->user);
    dst->password = dup_or_null(src->password);
    dst->timeout_ms = src->timeout_ms;
}

void journal_entry_release(struct journal_entry *e)
{
    size_t i;

    free(e->test_id);
    free(e->step);
    free(e->method);
    free(e->url);
    for (i = 0; i < e->nheaders; i++)
        free(e->headers[i]);
    free(e->headers);
    free(e->body);
    free(e->status);
    free(e->user);
    if (e->password)
        memset(e->password, 0, strlen(e->password));
    free(e->password);
    memset(e, 0, sizeof(*e));
}

static uint64_t mem_add(struct journal *j, const struct journal_entry *e)
{
    struct mem_journal *m = (struct mem_journal *)j;

    XGROW(m->items, m->n + 1, m->alloc);
    m->items[m->n].id = ++m->next_id;
    journal_entry_copy(&m->items[m->n].e, e);
    return m->items[m->n++].id;
}

static void mem_done(struct journal *j, uint64_t id)
{
    struct mem_journal *m = (struct mem_journal *)j;
    size_t i;

    for (i = 0; i < m->n; i++) {
        if (m->items[i].id != id)
            continue;
        journal_entry_release(&m->items[i].e);
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

    for (i = 0; i < m->n; i++)
        journal_entry_release(&m->items[i].e);
    free(m->items);
    free(m);
}

static const struct journal_ops mem_ops = { mem_add, mem_done, mem_pending,
                                            mem_free };

struct journal *journal_memory_new(void)
{
    struct mem_journal *m = xcalloc(1, sizeof(*m));

    m->base.ops = &mem_ops;
    return &m->base;
}
