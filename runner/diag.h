/* diag.h -- a list of located problems, reported all at once.
 *
 * Loaders do not stop at the first mistake: they add every problem they find
 * to a struct diag and carry on, so that `prodwatch check` shows the whole
 * list in one pass.  Each entry is "file:line:col: message"; lines and
 * columns are 1-based, as editors count them.  Entries keep the order of the
 * files they were added for and, inside a file, are sorted by position when
 * printed.  A diag holds at most DIAG_MAX entries and counts the rest.
 */
#ifndef PW_DIAG_H
#define PW_DIAG_H

#include <stddef.h>
#include <stdio.h>

#define DIAG_MAX 1000

struct diag;

/* A source position.  <file> is borrowed; diag_add() copies what it needs. */
struct pos {
    const char *file;
    unsigned line; /* 1-based; 0 when unknown */
    unsigned col;  /* 1-based; 0 when unknown */
};

/* A new, empty list; free with diag_free(). */
struct diag *diag_new(void);

/* Release <d>.  NULL is a no-op. */
void diag_free(struct diag *d);

/* Add a problem at <p>.  The message is copied. */
void diag_add(struct diag *d, struct pos p, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Number of problems added, including those past DIAG_MAX. */
size_t diag_count(const struct diag *d);

/* The <i>th entry (i < min(count, DIAG_MAX)) formatted as
 * "file:line:col: message", in print order.  Borrowed: valid until the next
 * diag_add() or diag_free(). */
const char *diag_at(struct diag *d, size_t i);

/* Print every entry, one a line, to <out>, then a line saying how many were
 * left out if any were. */
void diag_print(struct diag *d, FILE *out);

#endif /* PW_DIAG_H */
