/* testutil.h -- helpers shared by the Check unit tests. */
#ifndef PW_TESTUTIL_H
#define PW_TESTUTIL_H

#include <check.h>

#include "config.h"
#include "diag.h"
#include "jqset.h"
#include "scenario.h"

/* Run <s> with Check's default runner; returns the process exit code. */
int pw_run_suite(Suite *s);

/* Write <text> to a new file named <name> in a per-process temporary
 * directory; returns its path (static storage, valid until the next
 * call). */
const char *tu_write(const char *name, const char *text);

/* Make directory <name> (and nothing above it) in the temporary directory
 * of tu_write(); returns its path (static storage, valid until the next
 * call). */
const char *tu_mkdir(const char *name);

/* The temporary directory of tu_write(), without a trailing slash. */
const char *tu_tmpdir(void);

/* Every entry of <d>, one a line, as a new string (caller frees).  Files
 * written by tu_write() appear by their base name. */
char *tu_diag_text(struct diag *d);

/* A config with targets "prod" (vars tenant, region) and "canary" (vars
 * tenant) and a secrets directory holding "pw" and "token", loaded from
 * text; caller frees with config_free(). */
struct config *tu_config(void);

/* Load scenario <text> (written to a file named "s.yaml") against
 * tu_config(); problems land in *<diag_text> (caller frees; may be "").
 * jq programs are compiled too, so their errors show.  Returns the
 * scenario or NULL; free it with tu_scenario_free(). */
struct scenario *tu_scenario(const char *text, char **diag_text);
void tu_scenario_free(struct scenario *sc);

/* The jqset of the last tu_scenario() call. */
struct jqset *tu_jq(void);

#endif /* PW_TESTUTIL_H */
