/* docs.h -- scenarios rendered as living documentation.
 *
 * A scenario's page reads as a specification: its description, tags,
 * severity, period and targets; its steps in order as Given/When/Then
 * sentences with their requests, expectations, captures, retries and
 * cleanups in plain words; its matrix and the permutations it covers; and,
 * per target, how many of the scenario's tests passed each step, failed
 * at it or did not reach it.  An index page lists the scenarios with
 * their overall state.
 *
 * Templates are shown as written ("{{ secret.token }}"), never rendered,
 * so no secret can reach a page.  Markdown escapes what a renderer would
 * take as markup or HTML; HTML pages are self-contained (inline CSS, no
 * script, no outside request) and escape every byte of text.
 *
 * Results come through a callback, so the command line feeds them from
 * Redis and the daemon from its metrics.  Rendering walks every test of
 * the scenario once per page (memory stays flat: one matrix row at a
 * time) and lists at most DOCS_MAX_ROWS permutations.
 */
#ifndef PW_DOCS_H
#define PW_DOCS_H

#include <stddef.h>
#include <time.h>

#include "expand.h"
#include "sbuf.h"
#include "suite.h"

#define DOCS_MAX_ROWS 1000 /* permutations listed on a page */

enum docs_format { DOCS_MD, DOCS_HTML };

/* How pages link to each other: as files written side by side
 * ("<safe name>.html") or as the daemon serves them ("/docs/<name>"). */
enum docs_links { DOCS_LINK_FILES, DOCS_LINK_SERVED };

/* A test's last result, as the feeder knows it.  Strings are borrowed
 * for the time of the renderer's use of this record only. */
struct docs_result {
    int status;          /* enum run_status */
    const char *step;    /* the failing step's name as run; NULL: none */
    const char *message; /* the last message; NULL: none */
    time_t since;        /* the status holds since (wall, s); 0: unknown */
    time_t last_run;     /* wall, s; 0: unknown */
};

/* Fill *<r> for test <id>: return 1, or 0 when the test has no result. */
typedef int docs_result_fn(const char *id, struct docs_result *r,
                           void *arg);

/* What a page is made from.  Everything is borrowed for the call. */
struct docs_src {
    const struct suite *suite;
    const char *const *targets; /* the targets shown; none: all */
    size_t ntargets;
    docs_result_fn *result; /* NULL: pages without results */
    void *arg;
    enum docs_format format;
    enum docs_links links;
    size_t max_rows; /* permutations listed; 0 means DOCS_MAX_ROWS */
    /* For "since" ages ("19s ago"), which only a page served at once may
     * carry; 0: dates only, as in any page that is kept. */
    time_t now;
};

/* Append the page of <sc> (a scenario of <src>->suite) to <out>. */
void docs_scenario(struct sbuf *out, const struct docs_src *src,
                   const struct scenario *sc);

/* Append the index of the scenarios <f> selects (NULL: all; only its
 * scenario and tag lists count) to <out>: each with its description and
 * overall state (failing, passing, partly run or no results). */
void docs_index(struct sbuf *out, const struct docs_src *src,
                const struct expand_filter *f);

/* Whether <sc> is one of those <f> selects by name and tag (NULL: all). */
int docs_selected(const struct scenario *sc, const struct expand_filter *f);

/* Append a file name for scenario <name> (without extension) to <out>:
 * lower-case letters, digits, '-', '_' and '.' kept, every other byte
 * written as '~' and two hex digits, and so is the first byte of a
 * leading '.' or of the name "index" (the index's file).  Two names never
 * share a file, none leaves the directory, and none is the index's; upper
 * case is escaped so that this holds on a file system that ignores case
 * too ("A" is "~41", "a" is "a"). */
void docs_file_name(struct sbuf *out, const char *name);

/* The index of the step of <sc> named <name> as a run names it (its
 * template rendered), or -1 when no step matches. */
long docs_step_index(const struct scenario *sc, const char *name);

#endif /* PW_DOCS_H */
