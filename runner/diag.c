/* diag.c -- collected, position-sorted problem reports. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "sbuf.h"
#include "xalloc.h"

struct entry {
    size_t file_rank; /* order in which the file first appeared */
    size_t seq;       /* insertion order, to keep the sort stable */
    unsigned line, col;
    char *text; /* "file:line:col: message" */
};

struct diag {
    struct entry *items;
    size_t n, alloc;
    size_t total;
    char **files; /* copies of distinct file names, first-seen order */
    size_t nfiles, files_alloc;
    int sorted;
};

struct diag *diag_new(void)
{
    return xcalloc(1, sizeof(struct diag));
}

void diag_free(struct diag *d)
{
    size_t i;

    if (d == NULL)
        return;
    for (i = 0; i < d->n; i++)
        free(d->items[i].text);
    free(d->items);
    for (i = 0; i < d->nfiles; i++)
        free(d->files[i]);
    free(d->files);
    free(d);
}

static size_t file_rank(struct diag *d, const char *file)
{
    size_t i;

    for (i = 0; i < d->nfiles; i++)
        if (strcmp(d->files[i], file) == 0)
            return i;
    XGROW(d->files, d->nfiles + 1, d->files_alloc);
    d->files[d->nfiles] = xstrdup(file);
    return d->nfiles++;
}

void diag_add(struct diag *d, struct pos p, const char *fmt, ...)
{
    struct sbuf b = SBUF_INIT;
    struct entry *e;
    va_list ap;

    d->total++;
    if (d->n >= DIAG_MAX)
        return;
    if (p.file == NULL)
        p.file = "<input>";
    if (p.line)
        sbuf_addf(&b, "%s:%u:%u: ", p.file, p.line, p.col ? p.col : 1);
    else
        sbuf_addf(&b, "%s: ", p.file);
    va_start(ap, fmt);
    sbuf_vaddf(&b, fmt, ap);
    va_end(ap);

    XGROW(d->items, d->n + 1, d->alloc);
    e = &d->items[d->n];
    e->file_rank = file_rank(d, p.file);
    e->seq = d->n;
    e->line = p.line;
    e->col = p.col;
    e->text = sbuf_take(&b, NULL);
    d->n++;
    d->sorted = 0;
}

size_t diag_count(const struct diag *d)
{
    return d->total;
}

static int entry_cmp(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;

    if (x->file_rank != y->file_rank)
        return x->file_rank < y->file_rank ? -1 : 1;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    if (x->col != y->col)
        return x->col < y->col ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

const char *diag_at(struct diag *d, size_t i)
{
    if (!d->sorted) {
        qsort(d->items, d->n, sizeof(*d->items), entry_cmp);
        d->sorted = 1;
    }
    return i < d->n ? d->items[i].text : NULL;
}

void diag_print(struct diag *d, FILE *out)
{
    size_t i;

    for (i = 0; i < d->n; i++)
        fprintf(out, "%s\n", diag_at(d, i));
    if (d->total > d->n)
        fprintf(out, "... and %zu more problems not shown\n", d->total - d->n);
}
