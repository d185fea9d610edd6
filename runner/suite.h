/* suite.h -- a configuration with every scenario it names, loaded whole.
 *
 * suite_load() is what `check` validates and what the service starts from:
 * the config, each scenario file its globs match (sorted, so the order is
 * stable), and the jq programs of all of them compiled together.  Scenario
 * names are unique within a suite, and a suite holds at most
 * limits.max_tests tests (counted, not enumerated, at load).  Immutable
 * after loading, except that covering arrays are built on first use and
 * secrets are read on first use (once per load: a reload reads them
 * again).
 *
 * A suite is reference-counted so that runs started from it keep it
 * while a reload replaces it for new runs; single-threaded like the rest.
 */
#ifndef PW_SUITE_H
#define PW_SUITE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "diag.h"
#include "jqset.h"
#include "scenario.h"
#include "secret.h"

struct suite;

/* Load the configuration at <config_path> and everything it names.  Every
 * problem in every file goes to <d>.  Returns a new suite (caller owns;
 * suite_free()) when there were no problems, NULL otherwise. */
struct suite *suite_load(const char *config_path, struct diag *d);

/* suite_load(), for a reload: a scenario whose matrix has the shape of
 * the same-named scenario's in <prev> (NULL: none) takes over the covering
 * array <prev> built instead of building it again, so a reload costs only
 * what changed.  <prev> is only read. */
struct suite *suite_reload(const char *config_path, const struct suite *prev,
                           struct diag *d);

/* Take one more reference on <s>; returns <s>. */
struct suite *suite_ref(struct suite *s);

/* Drop one reference; the last one releases <s>.  NULL is a no-op.
 * suite_free() is the same call, for the owner of the first reference. */
void suite_unref(struct suite *s);
void suite_free(struct suite *s);

/* Accessors; borrowed until suite_free(). */
const struct config *suite_config(const struct suite *s);
size_t suite_scenario_count(const struct suite *s);
struct scenario *suite_scenario(const struct suite *s, size_t i);
/* The scenario named <name>, or NULL. */
struct scenario *suite_find_scenario(const struct suite *s, const char *name);
struct jqset *suite_jq(const struct suite *s);
/* The suite's secrets (from config secrets_dir), read once per load and
 * the redaction of every run started from it. */
struct secrets *suite_secrets(const struct suite *s);
/* The number of tests in the suite: the sum over scenarios of matrix rows
 * times targets, without any filter.  At most limits.max_tests. */
uint64_t suite_test_count(const struct suite *s);

#endif /* PW_SUITE_H */
