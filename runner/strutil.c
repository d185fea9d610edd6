/* strutil.c -- edit distance and suggestions. */
#include <ctype.h>
#include <string.h>

#include "strutil.h"

#define DIST_MAX 64

size_t str_distance(const char *a, const char *b)
{
    size_t la = strnlen(a, DIST_MAX), lb = strnlen(b, DIST_MAX);
    size_t row[DIST_MAX + 1];
    size_t i, j;

    for (j = 0; j <= lb; j++)
        row[j] = j;
    for (i = 1; i <= la; i++) {
        size_t diag = row[0];

        row[0] = i;
        for (j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);

            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            if (up + 1 < best)
                best = up + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
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
        if (d <= limit && d < best_d) {
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
