/* xalloc.c -- allocation that aborts on exhaustion. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

static void oom(size_t size)
{
    fprintf(stderr, "prodwatch: out of memory allocating %zu bytes\n", size);
    abort();
}

void *xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);

    if (p == NULL)
        oom(size);
    return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

    if (p == NULL)
        oom(nmemb * size);
    return p;
}

void *xrealloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);

    if (p == NULL)
        oom(size);
    return p;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);

    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void xgrow(void **items, size_t elsize, size_t need, size_t *alloc)
{
    size_t n;

    if (need <= *alloc)
        return;
    n = *alloc ? *alloc : 4;
    while (n < need)
        n *= 2;
    if (n > (size_t)-1 / elsize)
        oom((size_t)-1);
    *items = xrealloc(*items, n * elsize);
    *alloc = n;
}
