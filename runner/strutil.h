/* strutil.h -- small string helpers shared by the loaders. */
#ifndef PW_STRUTIL_H
#define PW_STRUTIL_H

#include <stddef.h>

/* Edit distance between <a> and <b> (insertions, deletions, substitutions
 * and swaps of neighbours), computed on at most 64 characters of each. */
size_t str_distance(const char *a, const char *b);

/* The candidate closest to <word> by edit distance, if close enough to be
 * a likely typo (at most a third of the word's length, and at least 1);
 * NULL otherwise.  <cands> holds <n> strings; NULL entries are skipped.
 * The result is one of <cands>, borrowed. */
const char *str_suggest(const char *word, const char *const *cands, size_t n);

/* Whether <s> is a valid identifier: [A-Za-z_][A-Za-z0-9_-]*. */
int str_is_ident(const char *s);

/* <path> as named from the directory that is the first <dirlen> bytes of
 * <dir>: unchanged when absolute or when <dirlen> is 0, else joined to it
 * with a '/'.  Returns a new string; caller frees. */
char *str_path_under(const char *dir, size_t dirlen, const char *path);

#endif /* PW_STRUTIL_H */
