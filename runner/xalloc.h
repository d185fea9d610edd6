/* xalloc.h -- allocation that never returns NULL.
 *
 * Running out of memory is not an error prodwatch can report usefully, so
 * these abort with a message instead (as Redis zmalloc and git xmalloc do).
 * That keeps small APIs free of allocation-failure paths.  Anything sized by
 * outside input must be capped by its caller before it gets here.
 */
#ifndef PW_XALLOC_H
#define PW_XALLOC_H

#include <stddef.h>

/* Like malloc/calloc/realloc/strdup/strndup, but abort on failure.  A zero
 * size still returns a unique pointer that must be freed. */
void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* Grow <*items> (of <elsize> bytes each) so it can hold at least <need>
 * elements; <*alloc> tracks the capacity.  Growth is geometric. */
void xgrow(void **items, size_t elsize, size_t need, size_t *alloc);

#define XGROW(arr, need, alloc)                                                \
    xgrow((void **)&(arr), sizeof(*(arr)), (need), &(alloc))

#endif /* PW_XALLOC_H */
