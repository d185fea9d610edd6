/* load.h -- shared helpers for the YAML loaders (config, scenario).
 *
 * A struct loadctx carries the file being loaded and the diag list; every
 * helper reports problems there with the node's position and returns a
 * neutral value, so a loader can keep walking and find every mistake in
 * one pass.  Internal to the loaders.
 */
#ifndef PW_LOAD_H
#define PW_LOAD_H

#include <stdint.h>

#include "diag.h"
#include "template.h"
#include "ydoc.h"

struct loadctx {
    const struct ydoc *doc;
    struct diag *d;
    size_t errors_before;    /* diag_count() when loading started */
    const char *secrets_dir; /* where secret.NAME must exist; NULL: unchecked */
};

/* Report a problem at node <n>. */
void load_err(struct loadctx *c, const struct ynode *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Whether anything was reported since <c> was set up. */
int load_failed(const struct loadctx *c);

/* Require <n> to be a mapping / list / scalar, reporting "<what> must be
 * ..." otherwise.  Return 1 when it is. */
int load_want_map(struct loadctx *c, const struct ynode *n, const char *what);
int load_want_seq(struct loadctx *c, const struct ynode *n, const char *what);
int load_want_scalar(struct loadctx *c, const struct ynode *n,
                     const char *what);

/* Report every key of mapping <map> not in the NULL-terminated <allowed>
 * list, suggesting the closest allowed key. */
void load_check_keys(struct loadctx *c, const struct ynode *map,
                     const char *const *allowed, const char *what);

/* Scalar conversions.  On a problem they report it and return the
 * fallback / NULL / 0. */
const char *load_str(struct loadctx *c, const struct ynode *n,
                     const char *what);
int load_bool(struct loadctx *c, const struct ynode *n, const char *what,
              int fallback);
long long load_int(struct loadctx *c, const struct ynode *n, long long min,
                   long long max, const char *what, long long fallback);
uint64_t load_duration(struct loadctx *c, const struct ynode *n,
                       const char *what, uint64_t fallback);
double load_rate(struct loadctx *c, const struct ynode *n, const char *what,
                 double fallback);
/* A size (units_size()) from 1 byte to <max> bytes. */
uint64_t load_size(struct loadctx *c, const struct ynode *n, const char *what,
                   uint64_t max, uint64_t fallback);

/* Whether scalar <n> is a plain (unquoted) YAML number / bool / null. */
int load_is_number(const struct ynode *n);
int load_is_bool(const struct ynode *n);
int load_is_null(const struct ynode *n);

/* The position of byte <off> inside scalar <n>'s value: exact for
 * single-line plain and quoted scalars, the scalar's start otherwise. */
struct pos load_pos_in(const struct loadctx *c, const struct ynode *n,
                       size_t off);

/* Check secret.NAME references against <dir> (borrowed; must outlive
 * <c>'s use) from now on, if it is a directory that can be searched; stop
 * checking otherwise, since then the machine loading the file is not the
 * one that runs it (or the directory was already reported). */
void load_set_secrets_dir(struct loadctx *c, const char *dir);

/* Report at <p> when secret <name> has no readable regular file in the
 * secrets directory.  A no-op when secrets are not checked. */
void load_check_secret(struct loadctx *c, const char *name, struct pos p);

/* Report at <n> unless <path> (as resolved) is a readable regular file;
 * <what> names the setting.  Opens without blocking, so a FIFO cannot
 * hang the loader. */
void load_check_file(struct loadctx *c, const struct ynode *n, const char *path,
                     const char *what);

/* The whole of regular file <path> (as resolved), at most <max> bytes,
 * read as load_check_file() opens it: a new buffer (caller frees) with a
 * NUL after its *<len> bytes, or NULL when it cannot be read or is larger,
 * reported at <n> with <what> naming the setting. */
char *load_read_file(struct loadctx *c, const struct ynode *n, const char *path,
                     const char *what, size_t max, size_t *len);

/* Compile scalar <n> as a template; NULL (reported) on a syntax error. */
struct tmpl *load_tmpl(struct loadctx *c, const struct ynode *n,
                       const char *what);

#endif /* PW_LOAD_H */
