/* strutil.c -- edit distance, suggestions and paths. */
#include <ctype.h>
#include <string.h>

#include "strutil.h"
#include "xalloc.h"

#define DIST_MAX 64

size_t str_distance(const char *a, const char *b)
{
    size_t la = strnlen(a, DIST_MAX), lb = strnlen(b, DIST_MAX);
    size_t prev2[DIST_MAX + 1], prev[DIST_MAX + 1], cur[DIST_MAX + 1];
    size_t i, j;

    /* Optimal string alignment: like Levenshtein, but swapping two
     * neighbours ("redsi" for "redis") is one edit, the commonest typo. */
    for (j = 0; j <= lb; j++)
        prev[j] = j;
    for (i = 1; i <= la; i++) {
        cur[0] = i;
        for (j = 1; j <= lb; j++) {
            size_t best = prev[j - 1] + (a[i - 1] != b[j - 1]);

            if (prev[j] + 1 < best)
                best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
                a[i - 2] == b[j - 1] && prev2[j - 2] + 1 < best)
                best = prev2[j - 2] + 1;
            cur[j] = best;
        }
        memcpy(prev2, prev, sizeof(prev));
        memcpy(prev, cur, sizeof(cur));
    }
    return prev[lb];
}

const char *str_suggest(const char *word, const char *const *cands, size_t n)
{
    size_t limit = strlen(word) / 3;
    size_t best_d = (size_t)-1;
    const char *best = NULL;
    size_t i;

    if (limit < 1)
        limit = 1;
    for (i = 0; i < n; i++) {
        size_t d;

        if (cands[i] == NULL || strcmp(cands[i], word) == 0)
            continue;
        d = str_distance(word, cands[i]);
        /* A word must keep something of itself to count as a typo. */
        if (d <= limit && d < strlen(word) && d < best_d) {
            best_d = d;
            best = cands[i];
        }
    }
    return best;
}

int str_is_ident(const char *s)
{
    if (!(isalpha((unsigned char)*s) || *s == '_'))
        return 0;
    for (s++; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_' || *s == '-'))
            return 0;
    return 1;
}

char *str_path_under(const char *dir, size_t dirlen, const char *path)
{
    size_t sep, plen = strlen(path);
    char *full;

    if (path[0] == '/' || dirlen == 0)
        return xstrdup(path);
    sep = dir[dirlen - 1] != '/';
    full = xmalloc(dirlen + sep + plen + 1);
    memcpy(full, dir, dirlen);
    if (sep)
        full[dirlen] = '/';
    memcpy(full + dirlen + sep, path, plen + 1);
    return full;
}
