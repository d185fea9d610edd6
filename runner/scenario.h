/* scenario.h -- a parsed, validated scenario: a factory of tests.
 *
 * A scenario is loaded once from YAML and never changes afterwards: the
 * scheduler and every run share it read-only, so it needs no locking.
 * Steps, checks and captures belong to their scenario and live exactly as
 * long as it does; the records below are plain read-only structs.
 *
 * jq programs are not compiled here: each is added to the suite's shared
 * struct jqset and referred to by index (see jqset.h for why).  Regular
 * expressions are compiled here, with PCRE2.
 */
#ifndef PW_SCENARIO_H
#define PW_SCENARIO_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "diag.h"
#include "jqset.h"
#include "matrix.h"
#include "template.h"

/* A YAML value with its strings compiled as templates: JSON bodies and
 * typed operands. */
enum tval_kind { TV_NULL, TV_BOOL, TV_NUM, TV_STR, TV_SEQ, TV_MAP };

struct tval {
    enum tval_kind kind;
    char *text;          /* TV_BOOL/TV_NUM: the literal as written */
    struct tmpl *str;    /* TV_STR */
    struct tval **items; /* TV_SEQ, TV_MAP (values) */
    char **keys;         /* TV_MAP */
    size_t n;
};

enum auth_kind { AUTH_NONE, AUTH_BASIC, AUTH_BEARER };

struct request {
    char *method; /* upper case; GET by default */
    struct tmpl *url;
    struct kv *headers, *query, *form;
    size_t nheaders, nquery, nform;
    struct tval *json; /* at most one of json, body, form */
    struct tmpl *body;
    enum auth_kind auth;
    struct tmpl *user, *password, *token;
    uint64_t timeout_ms; /* whole request */
    uint64_t connect_timeout_ms;
    size_t max_body;        /* response body cap; 0: the target's */
    size_t max_headers;     /* response headers cap; 0: the target's */
    unsigned max_redirects; /* 0: redirects are not followed */
    char **redirect_hosts;  /* hosts besides the target's a redirect may
                               lead to (lower case) */
    size_t nredirect_hosts;
    struct pos pos;
};

enum subject_kind {
    SUBJ_JQ,
    SUBJ_HEADER,
    SUBJ_BODY_TEXT,
    SUBJ_BODY_SIZE,
    SUBJ_BODY_SHA256,
    SUBJ_REGEX,
    SUBJ_TLS_DAYS_LEFT,
    SUBJ_STATUS
};

enum op_kind {
    OP_EQ,
    OP_NE,
    OP_LT,
    OP_LE,
    OP_GT,
    OP_GE,
    OP_MATCHES,
    OP_CONTAINS,
    OP_EXISTS,
    OP_TYPE,
    OP_IN
};

struct check_op {
    enum op_kind op;
    struct tval *operand; /* eq ne contains: scalar; in: list */
    double number;        /* lt le gt ge */
    int flag;             /* exists */
    char *type_name;      /* type: string number boolean null array object */
    pcre2_code *re;       /* matches */
    char *pattern;        /* matches: its source, for the docs */
    struct pos pos;
};

struct check {
    enum subject_kind subject;
    char *text;     /* header name, jq or regex source */
    size_t jq;      /* SUBJ_JQ: index in the suite's jqset */
    pcre2_code *re; /* SUBJ_REGEX */
    struct check_op *ops;
    size_t nops;
    struct pos pos;
};

/* An accepted status: lo..hi inclusive ("2xx" is 200..299). */
struct status_range {
    unsigned lo, hi;
};

struct expect {
    struct status_range *status; /* none: any status below 400 */
    size_t nstatus;
    enum op_kind duration_op; /* OP_LT or OP_LE */
    uint64_t duration_ms;     /* 0: no duration limit */
    struct check *checks;
    size_t nchecks;
};

enum capture_kind { CAP_JQ, CAP_HEADER, CAP_REGEX, CAP_STATUS };

struct capture {
    char *name;
    enum capture_kind kind;
    char *text; /* jq, header name or regex source */
    size_t jq;
    pcre2_code *re;
    struct pos pos;
};

#define RETRY_ON_ERROR 1u /* transport error or timeout */
#define RETRY_ON_5XX   2u
#define RETRY_ON_4XX   4u
#define RETRY_ON_FAIL  8u /* any failed expectation */

struct retry {
    unsigned attempts; /* total tries; 1 = no retry */
    uint64_t delay_ms;
    unsigned on; /* RETRY_ON_* mask */
};

struct step {
    struct tmpl *name;
    struct request req;
    struct expect expect;
    struct capture *captures;
    size_t ncaptures;
    struct request *cleanup; /* NULL when the step has none */
    struct expect cleanup_expect;
    struct retry retry;
    struct pos pos;
};

enum severity { SEV_CRITICAL, SEV_ERROR, SEV_WARNING, SEV_INFO };

struct scenario;

/* Load and validate the scenario file <path> against <cfg> (targets and
 * their vars).  jq programs are added to <jq>, which the caller compiles
 * afterwards.  Every problem goes to <d>.  Returns a new scenario (caller
 * owns; scenario_free()) or NULL when the file had problems. */
struct scenario *scenario_load(const char *path, const struct config *cfg,
                               struct jqset *jq, struct diag *d);

/* Release <sc>.  NULL is a no-op. */
void scenario_free(struct scenario *sc);

/* Accessors.  Returned pointers are borrowed: valid until scenario_free(). */
const char *scenario_name(const struct scenario *sc);
const char *scenario_file(const struct scenario *sc);
struct pos scenario_pos(const struct scenario *sc);
const char *scenario_description(const struct scenario *sc);
size_t scenario_tag_count(const struct scenario *sc);
const char *scenario_tag(const struct scenario *sc, size_t i);
int scenario_has_tag(const struct scenario *sc, const char *tag);
enum severity scenario_severity(const struct scenario *sc);

/* The scenario's own trigger_after / resolve_after (alerting), or 0 when
 * it keeps the configuration's. */
unsigned scenario_trigger_after(const struct scenario *sc);
unsigned scenario_resolve_after(const struct scenario *sc);
uint64_t scenario_every_ms(const struct scenario *sc);
uint64_t scenario_timeout_ms(const struct scenario *sc);
/* Targets named in the file; 0 means every configured target. */
size_t scenario_target_count(const struct scenario *sc);
const char *scenario_target(const struct scenario *sc, size_t i);
int scenario_runs_on(const struct scenario *sc, const char *target);
struct matrix *scenario_matrix(const struct scenario *sc);
/* Where errors about the number of tests point: the coverage key when it
 * asks for t-wise coverage, else the matrix key, else the scenario. */
struct pos scenario_size_pos(const struct scenario *sc);
size_t scenario_var_count(const struct scenario *sc);
const struct kv *scenario_var(const struct scenario *sc, size_t i);
size_t scenario_step_count(const struct scenario *sc);
const struct step *scenario_step(const struct scenario *sc, size_t i);

/* Name of severity <s>: "critical", "error", "warning" or "info". */
const char *severity_name(enum severity s);

/* Whether a runner at <location> (NULL: "default") probes <sc>: its
 * `locations:` list names it, or it has none. */
int scenario_probed_from(const struct scenario *sc, const char *location);

#endif /* PW_SCENARIO_H */
