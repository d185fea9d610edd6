/* once.h -- `prodwatch once`: every selected test, once, as a gate.
 *
 * Runs each selected permutation on each selected target under the
 * configured limits (concurrency cap, request rates), prints one line per
 * test as it finishes and a summary, and optionally writes a JUnit XML
 * report and JSON lines.  Exit codes follow the product contract.
 */
#ifndef PW_ONCE_H
#define PW_ONCE_H

#include "expand.h"
#include "suite.h"

#define ONCE_EXIT_PASS       0
#define ONCE_EXIT_FAIL       1 /* an expectation failed */
#define ONCE_EXIT_INCOMPLETE 3 /* no failure, but runs could not complete */

struct once_opts {
    struct expand_filter filter;
    const char *junit; /* path, or NULL */
    int json;          /* JSON lines instead of text lines */
    int quiet;         /* summary only */
};

/* Run the tests of <s> selected by <o>; returns the exit code.  A JUnit
 * file that cannot be written is reported and counts as incomplete. */
int once_run(struct suite *s, const struct once_opts *o);

#endif /* PW_ONCE_H */
