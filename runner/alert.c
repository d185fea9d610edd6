/* alert.c -- tests, pairs, targets and incidents, kept in hash tables.
 *
 * Only trouble has an entry: a test appears at its first failure and goes
 * again once it is ok with no failure left in the part of its history a
 * rule can still see, so a passing test costs one or two hash lookups and
 * no memory.  A pair (scenario x target) and a target are small and few:
 * they exist for every declared pair and hold the counters the target rule
 * needs (failing tests, failing tests whose last run got an answer).
 *
 * What to page is decided in one place, reconcile(): every incident that
 * is open knows whether it is wanted (not held back by a target or runner
 * incident above it, not silenced) and whether it is triggered, and the
 * difference becomes a trigger, an update or a resolve.  Whatever changed
 * during alert_define_*() or alert_restore() -- which must not call back --
 * is settled by sweep() at the start of the next call that may.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "alert.h"
#include "clock.h"
#include "log.h"
#include "sbuf.h"
#include "xalloc.h"

/* test.flags */
#define F_FAILING   0x01u
#define F_FLAPPING  0x02u
#define F_TRANSPORT 0x04u /* the last run failed without an HTTP answer */
#define F_MEMBER    (F_FAILING | F_FLAPPING)

#define DEDUP_MAX    255
#define SUMMARY_MAX  1024
#define DETAILS_MAX  50      /* members listed in details */
#define DETAILS_BYTES 32768  /* and no more once the details are this big */
#define FIELD_MAX    1024    /* bytes kept of a failure's step, message... */
#define UPDATE_EVERY 60.0    /* seconds between updates of one incident */
/* How long a scenario incident whose members all failed without an answer
 * waits for the target's other scenarios to show whether the whole target
 * is down: long enough for their next runs, short enough that a page is
 * late rather than lost when they never run. */
#define HOLD_MAX     300.0

enum sev { SEV_INFO, SEV_WARNING, SEV_ERROR, SEV_CRITICAL };
static const char *const sev_names[] = { "info", "warning", "error",
                                         "critical" };
static const char *const level_names[] = { "test", "scenario", "target",
                                           "runner" };

/* ---- A chained hash table of nodes keyed by strings ---- */

struct hnode {
    struct hnode *next;
    char *key; /* owned */
    uint64_t hash;
};

struct htab {
    struct hnode **b;
    size_t nb, n; /* nb: a power of two, or 0 before the first insert */
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 14695981039346656037ull;

    while (*s) {
        h ^= (unsigned char)*s++;
        h *= 1099511628211ull;
    }
    return h;
}

static struct hnode *ht_find(const struct htab *t, const char *key)
{
    uint64_t h;
    struct hnode *n;

    if (t->nb == 0)
        return NULL;
    h = hash_str(key);
    for (n = t->b[h & (t->nb - 1)]; n; n = n->next)
        if (n->hash == h && strcmp(n->key, key) == 0)
            return n;
    return NULL;
}

/* Insert <n> (key not present) and give it a copy of <key>. */
static void ht_insert(struct htab *t, struct hnode *n, const char *key)
{
    size_t i;

    n->key = xstrdup(key);
    n->hash = hash_str(key);
    if (t->n + 1 > t->nb) {
        size_t nb = t->nb ? t->nb * 2 : 16;
        struct hnode **b = xcalloc(nb, sizeof(*b));

        for (i = 0; i < t->nb; i++) {
            struct hnode *m = t->b[i], *next;

            for (; m; m = next) {
                next = m->next;
                m->next = b[m->hash & (nb - 1)];
                b[m->hash & (nb - 1)] = m;
            }
        }
        free(t->b);
        t->b = b;
        t->nb = nb;
    }
    i = n->hash & (t->nb - 1);
    n->next = t->b[i];
    t->b[i] = n;
    t->n++;
}

/* Unlink <n> and free its key (not <n>). */
static void ht_remove(struct htab *t, struct hnode *n)
{
    struct hnode **p = &t->b[n->hash & (t->nb - 1)];

    while (*p != n)
        p = &(*p)->next;
    *p = n->next;
    t->n--;
    free(n->key);
    n->key = NULL;
}

/* Every node of <t>, in a new array of t->n (caller frees): a snapshot, so
 * that visiting may remove nodes. */
static struct hnode **ht_list(const struct htab *t)
{
    struct hnode **v = xmalloc((t->n + 1) * sizeof(*v));
    size_t i, k = 0;
    struct hnode *n;

    for (i = 0; i < t->nb; i++)
        for (n = t->b[i]; n; n = n->next)
            v[k++] = n;
    return v;
}

/* ---- The state ---- */

struct target;
struct pair;
struct incident;

struct test {
    struct hnode h; /* key: the test id; first, so a node is a test */
    struct pair *pair;
    struct incident *inc;          /* while a member */
    struct test *mprev, *mnext;    /* the members of <inc> */
    unsigned flags, consec_fail, consec_pass, nhist;
    unsigned trigger_after, resolve_after;
    uint64_t hist;                 /* bit 0: the latest run; 1: failed */
    long long since;               /* when it became a member */
    unsigned long seq;             /* a.seq at its latest failure */
    enum sev sev;
    /* Its latest failure (owned; NULL until one is seen here). */
    char *status, *check, *step, *message, *request, *excerpt, *run_id;
    double duration_ms;
};

struct pair {
    struct hnode h; /* key: scenario "\x1f" target */
    char *scenario; /* owned */
    struct target *tg;
    struct pair *tnext; /* the pairs of <tg> */
    size_t ntests;      /* declared; 0: not known */
    int defined, seen, gone;
    size_t nfailing;    /* tests of the pair with F_FAILING */
    size_t nanswered;   /* of those, whose last run got an answer */
    double last_answer; /* wall time of the latest run with an answer */
};

struct target {
    struct hnode h; /* key: the target's name */
    struct pair *pairs;
    struct incident *incs; /* every incident of this target, its own too */
    struct incident *inc;  /* the target incident, while open */
    int latch;             /* a run got an answer while the counts said
                              "unreachable": no target incident until the
                              counts say otherwise once */
};

struct incident {
    struct hnode h; /* key: the identity ("scenario:checkout@prod-eu") */
    enum pw_alert_level level;
    struct pair *pair;  /* scenario and test levels */
    struct target *tg;  /* all but the runner level */
    struct incident *tprev, *tnext;
    struct test *members;
    size_t nmembers;
    char *dedup_key;    /* owned */
    char *summary;      /* owned: as last sent, or NULL */
    int triggered, dirty;
    long long since;
    double opened;      /* wall time, for the hold */
    double last_sent;   /* wall time of the latest trigger or update */
    uint64_t sumhash;   /* of the summary and details last sent */
};

struct alert {
    struct alert_opts o;
    char *prefix, *runner, *public_url; /* owned copies of o's */
    struct alert_callbacks cb;
    struct htab tests, pairs, targets, incs;
    struct incident *runner_inc;
    size_t nlower;        /* open incidents below the runner level */
    size_t nfailing, nflapping;
    unsigned long seq, events;
    unsigned conn_fail;   /* consecutive failed connectivity checks */
    int suspect;          /* the runner suspects its own network */
    char *conn_msg;
    int sweep;            /* define or restore changed things */
    int ticking;          /* inside alert_tick(): updates may go */
};

static void reconcile_all(struct alert *a);

void alert_opts_default(struct alert_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->trigger_after = 3;
    o->resolve_after = 2;
    o->flap_flips = 6;
    o->flap_window = 20;
    o->group_by = ALERT_GROUP_SCENARIO;
}

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

/* A copy of <s> of at most <max> bytes, cut on a UTF-8 boundary: what a
 * page says of one failure stays small whatever a run reported (a step
 * name of 30 KB, say), so no event outgrows its endpoint's limit. */
static char *dup_cut(const char *s, size_t max)
{
    size_t n;
    char *d;

    if (s == NULL)
        return NULL;
    n = strlen(s);
    if (n <= max)
        return xstrdup(s);
    n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    d = xmalloc(n + 4);
    memcpy(d, s, n);
    memcpy(d + n, "...", 4);
    return d;
}

static void replace(char **dst, const char *s)
{
    free(*dst);
    *dst = dup_or_null(s);
}

static uint64_t mask(unsigned bits)
{
    return bits >= 64 ? ~0ull : (1ull << bits) - 1;
}

static enum sev sev_parse(const char *s)
{
    unsigned i;

    for (i = 0; s && i < 4; i++)
        if (strcmp(s, sev_names[i]) == 0)
            return (enum sev)i;
    return SEV_ERROR;
}

/* ---- Persistence helpers ---- */

/* Names go into the saved strings %-escaped, so a space cannot split a
 * field; "-" stands for none. */
static void esc(struct sbuf *b, const char *s)
{
    if (!s) {
        sbuf_addc(b, '-');
        return;
    }
    if (*s == '\0') {
        sbuf_adds(b, "%00");
        return;
    }
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c <= 0x20 || c == '%' || c == 0x7f || (c == '-' && s[1] == '\0'))
            sbuf_addf(b, "%%%02X", c);
        else
            sbuf_addc(b, (char)c);
    }
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decode a field written by esc() into a new string (NULL for none), or
 * return -1 when it is malformed. */
static int unesc(const char *f, char **out)
{
    struct sbuf b = SBUF_INIT;

    *out = NULL;
    if (strcmp(f, "-") == 0)
        return 0;
    if (strcmp(f, "%00") == 0) {
        *out = xstrdup("");
        return 0;
    }
    for (; *f; f++) {
        int hi, lo;

        if (*f != '%') {
            sbuf_addc(&b, *f);
            continue;
        }
        hi = hexval(f[1]);
        lo = hi < 0 ? -1 : hexval(f[2]);
        if (lo < 0 || hi * 16 + lo == 0) {
            sbuf_release(&b);
            return -1;
        }
        sbuf_addc(&b, (char)(hi * 16 + lo));
        f += 2;
    }
    *out = sbuf_take(&b, NULL);
    return 0;
}

/* Split the last two fields of a saved string, <rest> ("scenario target"),
 * and decode them; -1 when malformed. */
static int two_names(const char *rest, char **first, char **second)
{
    const char *sp = strchr(rest, ' ');
    char *f1;
    int rc;

    *first = *second = NULL;
    if (!sp || strchr(sp + 1, ' ') || sp == rest || !sp[1])
        return -1;
    f1 = xstrndup(rest, (size_t)(sp - rest));
    rc = unesc(f1, first) < 0 || unesc(sp + 1, second) < 0 ? -1 : 0;
    free(f1);
    if (rc < 0) {
        free(*first);
        free(*second);
        *first = *second = NULL;
    }
    return rc;
}

static void save(struct alert *a, const char *kind, const char *key,
                 const char *value)
{
    if (a->cb.save)
        a->cb.save(a->cb.arg, kind, key, value);
}

static void test_save(struct alert *a, const struct test *t)
{
    struct sbuf b = SBUF_INIT;

    sbuf_addf(&b, "v1 %x %u %u %016llx %u %lld %u %u %s ", t->flags,
              t->consec_fail, t->consec_pass, (unsigned long long)t->hist,
              t->nhist, t->since, t->trigger_after, t->resolve_after,
              sev_names[t->sev]);
    esc(&b, t->pair->scenario);
    sbuf_addc(&b, ' ');
    esc(&b, t->pair->tg->h.key);
    save(a, "test", t->h.key, b.buf);
    sbuf_release(&b);
}

static void incident_save(struct alert *a, const struct incident *inc)
{
    struct sbuf b = SBUF_INIT;

    sbuf_addf(&b, "v1 %d %d %lld %.3f %016llx ", (int)inc->level,
              inc->triggered, inc->since, inc->last_sent,
              (unsigned long long)inc->sumhash);
    esc(&b, inc->pair ? inc->pair->scenario : NULL);
    sbuf_addc(&b, ' ');
    esc(&b, inc->tg ? inc->tg->h.key : NULL);
    save(a, "incident", inc->h.key, b.buf);
    sbuf_release(&b);
}

/* ---- Targets and pairs ---- */

static struct target *target_get(struct alert *a, const char *name)
{
    struct target *tg = (struct target *)ht_find(&a->targets, name);

    if (!tg) {
        tg = xcalloc(1, sizeof(*tg));
        ht_insert(&a->targets, &tg->h, name);
    }
    return tg;
}

static void pair_key(struct sbuf *b, const char *scenario, const char *target)
{
    sbuf_reset(b);
    sbuf_adds(b, scenario);
    sbuf_addc(b, '\x1f');
    sbuf_adds(b, target);
}

static struct pair *pair_find(const struct alert *a, const char *scenario,
                              const char *target)
{
    struct sbuf k = SBUF_INIT;
    struct pair *p;

    pair_key(&k, scenario, target);
    p = (struct pair *)ht_find(&a->pairs, k.buf);
    sbuf_release(&k);
    return p;
}

static struct pair *pair_get(struct alert *a, const char *scenario,
                             const char *target)
{
    struct pair *p = pair_find(a, scenario, target);
    struct sbuf k = SBUF_INIT;

    if (p)
        return p;
    p = xcalloc(1, sizeof(*p));
    p->scenario = xstrdup(scenario);
    p->tg = target_get(a, target);
    p->tnext = p->tg->pairs;
    p->tg->pairs = p;
    pair_key(&k, scenario, target);
    ht_insert(&a->pairs, &p->h, k.buf);
    sbuf_release(&k);
    return p;
}

static void pair_free(struct alert *a, struct pair *p)
{
    struct pair **pp = &p->tg->pairs;

    while (*pp != p)
        pp = &(*pp)->tnext;
    *pp = p->tnext;
    ht_remove(&a->pairs, &p->h);
    free(p->scenario);
    free(p);
}

/* Whether every scenario declared on <tg> has failing tests, all of
 * whose last runs failed without an answer. */
static int target_counts(const struct target *tg)
{
    const struct pair *p;
    size_t n = 0;

    for (p = tg->pairs; p; p = p->tnext) {
        if (p->nanswered > 0)
            return 0;
        if (!p->defined || p->gone)
            continue;
        if (p->nfailing == 0)
            return 0;
        n++;
    }
    return n > 0;
}

/* ---- Tests ---- */

/* Add (<sign> 1) or take away (-1) what <t> contributes to the counters. */
static void account(struct alert *a, const struct test *t, int sign)
{
    size_t d = (size_t)(long)sign; /* wraps to subtract */

    if (t->flags & F_FAILING) {
        a->nfailing += d;
        t->pair->nfailing += d;
        if (!(t->flags & F_TRANSPORT))
            t->pair->nanswered += d;
    }
    if (t->flags & F_FLAPPING)
        a->nflapping += d;
}

static void test_clear_failure(struct test *t)
{
    free(t->status);
    free(t->check);
    free(t->step);
    free(t->message);
    free(t->request);
    free(t->excerpt);
    free(t->run_id);
}

static unsigned test_flips(const struct alert *a, const struct test *t)
{
    unsigned w = a->o.flap_window;

    if (w < 2)
        return 0;
    return (unsigned)__builtin_popcountll((t->hist ^ (t->hist >> 1)) &
                                          mask(w - 1));
}

/* Whether nothing a rule can see is left of <t>: it may go. */
static int test_clean(const struct alert *a, const struct test *t)
{
    unsigned keep = a->o.flap_window;

    if (a->o.window_of > keep)
        keep = a->o.window_of;
    if (keep < 1)
        keep = 1;
    return !(t->flags & F_MEMBER) && t->consec_fail == 0 &&
           (t->hist & mask(keep)) == 0;
}

static void test_free(struct alert *a, struct test *t)
{
    ht_remove(&a->tests, &t->h);
    test_clear_failure(t);
    free(t);
}

/* Take run <o> into <t>'s history and rules. */
static void test_record(struct alert *a, struct test *t,
                        const struct alert_obs *o)
{
    unsigned was = t->flags, flips;
    int failed = o->failed != 0;

    t->trigger_after = o->trigger_after ? o->trigger_after : a->o.trigger_after;
    t->resolve_after = o->resolve_after ? o->resolve_after : a->o.resolve_after;
    t->sev = sev_parse(o->severity);
    t->hist = (t->hist << 1) | (uint64_t)failed;
    if (t->nhist < 64)
        t->nhist++;
    if (failed) {
        t->consec_fail++;
        t->consec_pass = 0;
        t->flags = o->transport ? t->flags | F_TRANSPORT
                                : t->flags & ~F_TRANSPORT;
        t->seq = ++a->seq;
        test_clear_failure(t);
        t->status = dup_or_null(o->status);
        t->check = dup_or_null(o->check);
        t->step = dup_cut(o->step, FIELD_MAX);
        t->message = dup_cut(o->message, FIELD_MAX);
        t->request = dup_cut(o->request, FIELD_MAX);
        t->excerpt = dup_cut(o->excerpt, FIELD_MAX);
        t->run_id = dup_or_null(o->run_id);
        t->duration_ms = o->duration_ms;
    } else {
        t->consec_pass++;
        t->consec_fail = 0;
        t->flags &= ~F_TRANSPORT;
    }

    if (failed && !(t->flags & F_FAILING)) {
        int by_window = a->o.window_of > 0 && a->o.window_failures > 0 &&
                        (unsigned)__builtin_popcountll(
                            t->hist & mask(a->o.window_of)) >=
                            a->o.window_failures;

        if (t->consec_fail >= t->trigger_after || by_window)
            t->flags |= F_FAILING;
    } else if (!failed && (t->flags & F_FAILING) &&
               t->consec_pass >= t->resolve_after) {
        t->flags &= ~F_FAILING;
    }
    flips = test_flips(a, t);
    if (!(t->flags & F_FLAPPING) && flips > a->o.flap_flips)
        t->flags |= F_FLAPPING;
    else if ((t->flags & F_FLAPPING) && !failed &&
             flips <= a->o.flap_flips / 2)
        t->flags &= ~F_FLAPPING;
    if ((t->flags & F_MEMBER) && !(was & F_MEMBER))
        t->since = (long long)clock_now();
}

/* ---- Incidents ---- */

static void dedup_key(struct sbuf *b, const char *prefix,
                      enum pw_alert_level level, const char *identity)
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    unsigned i;

    sbuf_addf(b, "%s:%s", prefix, identity);
    if (b->len <= DEDUP_MAX)
        return;
    SHA256((const unsigned char *)identity, strlen(identity), md);
    sbuf_reset(b);
    sbuf_addf(b, "%s:%s:sha256:", prefix, level_names[level]);
    if (b->len + 2 * SHA256_DIGEST_LENGTH > DEDUP_MAX) {
        /* A prefix too long to keep: hash it in as well. */
        sbuf_reset(b);
        sbuf_addf(b, "%s:%s", prefix, identity);
        SHA256((const unsigned char *)b->buf, b->len, md);
        sbuf_reset(b);
        sbuf_adds(b, "sha256:");
    }
    for (i = 0; i < SHA256_DIGEST_LENGTH; i++)
        sbuf_addf(b, "%02x", md[i]);
}

static struct incident *incident_new(struct alert *a, const char *identity,
                                     enum pw_alert_level level,
                                     struct pair *p, struct target *tg)
{
    struct incident *inc = xcalloc(1, sizeof(*inc));
    struct sbuf b = SBUF_INIT;

    inc->level = level;
    inc->pair = p;
    inc->tg = tg;
    inc->since = (long long)clock_now();
    inc->opened = clock_wall();
    ht_insert(&a->incs, &inc->h, identity);
    dedup_key(&b, a->prefix, level, identity);
    inc->dedup_key = sbuf_take(&b, NULL);
    if (tg) {
        inc->tnext = tg->incs;
        if (tg->incs)
            tg->incs->tprev = inc;
        tg->incs = inc;
    }
    if (level == PW_LEVEL_RUNNER)
        a->runner_inc = inc;
    else
        a->nlower++;
    if (level == PW_LEVEL_TARGET)
        tg->inc = inc;
    return inc;
}

static void incident_identity(const struct alert *a, const struct test *t,
                              struct sbuf *b)
{
    if (a->o.group_by == ALERT_GROUP_TEST)
        sbuf_addf(b, "test:%s", t->h.key);
    else
        sbuf_addf(b, "scenario:%s@%s", t->pair->scenario,
                  t->pair->tg->h.key);
}

static void emit(struct alert *a, struct incident *inc,
                 enum pw_alert_action action, int update);

/* Close <inc>: resolve it when it was paged, forget it. */
static void incident_close(struct alert *a, struct incident *inc)
{
    if (inc->triggered)
        emit(a, inc, PW_ALERT_RESOLVE, 0);
    save(a, "incident", inc->h.key, NULL);
    if (inc->tg) {
        if (inc->tprev)
            inc->tprev->tnext = inc->tnext;
        else
            inc->tg->incs = inc->tnext;
        if (inc->tnext)
            inc->tnext->tprev = inc->tprev;
        if (inc->tg->inc == inc)
            inc->tg->inc = NULL;
    }
    if (a->runner_inc == inc)
        a->runner_inc = NULL;
    else
        a->nlower--;
    ht_remove(&a->incs, &inc->h);
    free(inc->dedup_key);
    free(inc->summary);
    free(inc);
}

static void member_add(struct incident *inc, struct test *t)
{
    t->inc = inc;
    t->mprev = NULL;
    t->mnext = inc->members;
    if (inc->members)
        inc->members->mprev = t;
    inc->members = t;
    inc->nmembers++;
    inc->dirty = 1;
}

static void member_remove(struct test *t)
{
    struct incident *inc = t->inc;

    if (t->mprev)
        t->mprev->mnext = t->mnext;
    else
        inc->members = t->mnext;
    if (t->mnext)
        t->mnext->mprev = t->mprev;
    inc->nmembers--;
    inc->dirty = 1;
    t->inc = NULL;
    t->mprev = t->mnext = NULL;
}

/* Put <t> into the incident it belongs to, or take it out, as its flags
 * say.  <quiet>: open incidents without saving them (restore). */
static void membership(struct alert *a, struct test *t, int quiet)
{
    if ((t->flags & F_MEMBER) && !t->inc) {
        struct sbuf id = SBUF_INIT;
        struct incident *inc;

        incident_identity(a, t, &id);
        inc = (struct incident *)ht_find(&a->incs, id.buf);
        if (!inc) {
            inc = incident_new(a, id.buf,
                               a->o.group_by == ALERT_GROUP_TEST
                                   ? PW_LEVEL_TEST
                                   : PW_LEVEL_SCENARIO,
                               t->pair, t->pair->tg);
            if (!quiet)
                incident_save(a, inc);
        }
        sbuf_release(&id);
        member_add(inc, t);
        if (quiet)
            inc->dirty = 0; /* what was sent before the restart stands */
    } else if (!(t->flags & F_MEMBER) && t->inc) {
        struct incident *inc = t->inc;

        member_remove(t);
        if (inc->nmembers == 0)
            incident_close(a, inc);
    }
}

/* The member of <inc> (any incident of <tg> when <inc> is NULL) that
 * failed last, or NULL. */
static const struct test *latest(const struct incident *inc,
                                 const struct target *tg)
{
    const struct test *best = NULL, *t;
    const struct incident *i;

    for (i = inc ? inc : (tg ? tg->incs : NULL); i;
         i = inc ? NULL : i->tnext)
        for (t = i->members; t; t = t->mnext)
            if (t->status && (!best || t->seq > best->seq))
                best = t;
    return best;
}

static int all_flapping(const struct incident *inc)
{
    const struct test *t;

    for (t = inc->members; t; t = t->mnext)
        if (!(t->flags & F_FLAPPING))
            return 0;
    return inc->nmembers > 0;
}

static const char *incident_kind(const struct incident *inc)
{
    switch (inc->level) {
    case PW_LEVEL_TARGET:
        return "unreachable";
    case PW_LEVEL_RUNNER:
        return "network";
    default:
        return all_flapping(inc) ? "flapping" : "failing";
    }
}

/* The highest severity among the members of <inc>'s reach. */
static enum sev incident_sev(const struct alert *a, const struct incident *inc)
{
    enum sev s = SEV_INFO;
    const struct test *t;
    size_t i;

    if (inc->level == PW_LEVEL_SCENARIO || inc->level == PW_LEVEL_TEST) {
        for (t = inc->members; t; t = t->mnext)
            if (t->sev > s)
                s = t->sev;
        return s;
    }
    for (i = 0; i < a->incs.nb; i++) {
        const struct hnode *n;

        for (n = a->incs.b[i]; n; n = n->next) {
            const struct incident *o = (const struct incident *)n;

            if (o->level > PW_LEVEL_SCENARIO ||
                (inc->level == PW_LEVEL_TARGET && o->tg != inc->tg))
                continue;
            for (t = o->members; t; t = t->mnext)
                if (t->sev > s)
                    s = t->sev;
        }
    }
    return s;
}

/* Distinct targets with an open incident below the runner level. */
static size_t failing_targets(const struct alert *a, struct sbuf *names)
{
    size_t i, n = 0;
    const struct hnode *h;

    for (i = 0; i < a->targets.nb; i++)
        for (h = a->targets.b[i]; h; h = h->next) {
            const struct target *tg = (const struct target *)h;

            if (!tg->incs)
                continue;
            if (names && n < DETAILS_MAX) {
                sbuf_adds(names, n ? "," : "");
                sbuf_add_json_str(names, tg->h.key, strlen(tg->h.key));
            }
            n++;
        }
    return n;
}

/* Cut <b> to SUMMARY_MAX bytes, at the start of a UTF-8 character. */
static void cut_utf8(struct sbuf *b)
{
    size_t n = b->len;

    if (n <= SUMMARY_MAX)
        return;
    n = SUMMARY_MAX;
    while (n > 0 && ((unsigned char)b->buf[n] & 0xC0) == 0x80)
        n--;
    b->buf[n] = '\0';
    b->len = n;
}

static void summary_build(const struct alert *a, const struct incident *inc,
                          struct sbuf *b)
{
    const struct test *lt = latest(inc->level <= PW_LEVEL_SCENARIO ? inc
                                                                   : NULL,
                                   inc->tg);
    const struct test *t;

    switch (inc->level) {
    case PW_LEVEL_RUNNER: {
        size_t n = failing_targets(a, NULL);

        sbuf_addf(b,
                  "runner %s cannot reach its connectivity check: "
                  "suspecting its own network; %zu target%s failing",
                  a->runner, n, n == 1 ? "" : "s");
        break;
    }
    case PW_LEVEL_TARGET:
        sbuf_addf(b, "%s unreachable: every scenario fails without an answer",
                  inc->tg->h.key);
        if (lt && lt->message)
            sbuf_addf(b, " (%s)", lt->message);
        break;
    default:
        if (inc->level == PW_LEVEL_TEST)
            sbuf_adds(b, inc->members ? inc->members->h.key : inc->h.key);
        else
            sbuf_addf(b, "%s@%s", inc->pair->scenario, inc->pair->tg->h.key);
        if (all_flapping(inc)) {
            unsigned most = 0;

            for (t = inc->members; t; t = t->mnext)
                if (test_flips(a, t) > most)
                    most = test_flips(a, t);
            sbuf_addf(b, ": flapping: %u changes in the last %u runs", most,
                      a->o.flap_window);
            break;
        }
        sbuf_adds(b, ": ");
        if (lt && lt->step)
            sbuf_addf(b, "'%s' ", lt->step);
        sbuf_adds(b, "failed");
        if (inc->level == PW_LEVEL_SCENARIO && inc->pair->ntests > 1)
            sbuf_addf(b, " on %zu of %zu permutations", inc->nmembers,
                      inc->pair->ntests);
        else if (inc->level == PW_LEVEL_SCENARIO && inc->nmembers > 1)
            sbuf_addf(b, " on %zu permutations", inc->nmembers);
        if (lt && lt->message)
            sbuf_addf(b, ": %s", lt->message);
    }
    cut_utf8(b);
}

static void json_key_str(struct sbuf *b, const char *key, const char *val)
{
    if (!val)
        return;
    sbuf_addf(b, ",\"%s\":", key);
    sbuf_add_json_str(b, val, strlen(val));
}

static void details_members(const struct alert *a, const struct incident *inc,
                            struct sbuf *b)
{
    const struct test *t;
    size_t n = 0, nflap = 0, listed = 0;

    sbuf_adds(b, "{\"failing\":[");
    for (t = inc->members; t; t = t->mnext) {
        if (t->flags & F_FLAPPING)
            nflap++;
        n++;
        if (listed >= DETAILS_MAX || b->len > DETAILS_BYTES)
            continue;
        sbuf_adds(b, listed++ ? ",{\"test\":" : "{\"test\":");
        sbuf_add_json_str(b, t->h.key,
                          strlen(t->h.key) < FIELD_MAX ? strlen(t->h.key)
                                                       : FIELD_MAX);
        json_key_str(b, "status", t->status);
        json_key_str(b, "step", t->step);
        json_key_str(b, "check", t->check);
        json_key_str(b, "message", t->message);
        sbuf_addf(b, ",\"since\":%lld,\"consecutive_failures\":%u", t->since,
                  t->consec_fail);
        if (t->status)
            sbuf_addf(b, ",\"duration_ms\":%.1f", t->duration_ms);
        if (t->flags & F_FLAPPING)
            sbuf_addf(b, ",\"flapping\":true,\"changes\":%u",
                      test_flips(a, t));
        sbuf_addc(b, '}');
    }
    sbuf_adds(b, "]");
    if (n > listed)
        sbuf_addf(b, ",\"more\":%zu", n - listed);
    sbuf_addf(b, ",\"failing_count\":%zu,\"tests\":%zu,\"flapping\":%zu}", n,
              inc->pair->ntests, nflap);
}

static void details_build(const struct alert *a, const struct incident *inc,
                          struct sbuf *b)
{
    const struct pair *p;
    size_t n = 0, total = 0;

    switch (inc->level) {
    case PW_LEVEL_RUNNER:
        sbuf_adds(b, "{\"connectivity\":");
        sbuf_add_json_str(b, a->conn_msg ? a->conn_msg : "",
                          a->conn_msg ? strlen(a->conn_msg) : 0);
        sbuf_addf(b, ",\"failed_checks\":%u,\"targets\":[", a->conn_fail);
        n = failing_targets(a, b);
        sbuf_addf(b, "],\"failing_targets\":%zu}", n);
        break;
    case PW_LEVEL_TARGET:
        sbuf_adds(b, "{\"scenarios\":[");
        for (p = inc->tg->pairs; p; p = p->tnext) {
            if (p->nfailing == 0)
                continue;
            total += p->nfailing;
            if (n++ >= DETAILS_MAX)
                continue;
            sbuf_adds(b, n > 1 ? ",{\"scenario\":" : "{\"scenario\":");
            sbuf_add_json_str(b, p->scenario, strlen(p->scenario));
            sbuf_addf(b, ",\"failing\":%zu,\"tests\":%zu}", p->nfailing,
                      p->ntests);
        }
        sbuf_adds(b, "]");
        if (n > DETAILS_MAX)
            sbuf_addf(b, ",\"more\":%zu", n - DETAILS_MAX);
        sbuf_addf(b, ",\"failing_count\":%zu}", total);
        break;
    default:
        details_members(a, inc, b);
    }
}

static void emit(struct alert *a, struct incident *inc,
                 enum pw_alert_action action, int update)
{
    struct sbuf sum = SBUF_INIT, det = SBUF_INIT;
    const struct test *lt = NULL;
    struct pw_alert ev;

    memset(&ev, 0, sizeof(ev));
    if (action == PW_ALERT_TRIGGER || !inc->summary) {
        summary_build(a, inc, &sum);
        details_build(a, inc, &det);
        replace(&inc->summary, sum.buf);
    } else {
        sbuf_adds(&det, "{}");
    }
    if (inc->level != PW_LEVEL_RUNNER)
        lt = latest(inc->level <= PW_LEVEL_SCENARIO ? inc : NULL, inc->tg);
    ev.action = action;
    ev.update = update;
    ev.level = inc->level;
    ev.kind = incident_kind(inc);
    ev.dedup_key = inc->dedup_key;
    ev.summary = inc->summary;
    ev.severity = sev_names[incident_sev(a, inc)];
    ev.scenario = inc->pair ? inc->pair->scenario : NULL;
    ev.target = inc->tg ? inc->tg->h.key : NULL;
    ev.source = a->runner;
    if (lt) {
        ev.check = lt->check;
        ev.step = lt->step;
        ev.message = lt->message;
        ev.request = lt->request;
        ev.excerpt = lt->excerpt;
        ev.run_id = lt->run_id;
    } else if (inc->level == PW_LEVEL_RUNNER) {
        ev.check = "connectivity";
        ev.message = a->conn_msg;
    }
    ev.link = a->public_url;
    ev.details = sbuf_failed(&det) ? "{}" : det.buf;
    ev.since = inc->since;
    ev.at = (long long)clock_now();
    if (action == PW_ALERT_TRIGGER) {
        inc->sumhash = hash_str(sum.buf) ^ (hash_str(det.buf) * 31);
        inc->last_sent = clock_wall();
        inc->dirty = 0;
    }
    a->events++;
    if (a->cb.event)
        a->cb.event(a->cb.arg, &ev);
    sbuf_release(&sum);
    sbuf_release(&det);
}

/* ---- What to page ---- */

/* Whether an incident above <inc> speaks for it. */
static int blocked(const struct alert *a, const struct incident *inc)
{
    switch (inc->level) {
    case PW_LEVEL_RUNNER:
        return 0;
    case PW_LEVEL_TARGET:
        return a->runner_inc != NULL;
    default:
        return a->runner_inc != NULL || inc->tg->inc != NULL;
    }
}

/* Whether <inc> has a member whose latest run failed, or that flaps: a
 * member on its way back (passing, not yet resolve_after times) is no
 * reason for a first page. */
static int active(const struct incident *inc)
{
    const struct test *t;

    if (inc->level > PW_LEVEL_SCENARIO)
        return 1;
    for (t = inc->members; t; t = t->mnext)
        if (t->consec_fail > 0 || (t->flags & F_FLAPPING))
            return 1;
    return 0;
}

/* Whether <inc>, all of whose members failed without an answer, should
 * wait: another scenario declared on its target has not failed and has not
 * got an answer since <inc> opened, so the whole target may be going
 * down, and then one target incident is the page to send. */
static int held(const struct incident *inc, double now)
{
    const struct test *t;
    const struct pair *p;

    if (inc->level > PW_LEVEL_SCENARIO || now - inc->opened >= HOLD_MAX)
        return 0;
    for (t = inc->members; t; t = t->mnext)
        if (!(t->flags & F_TRANSPORT))
            return 0;
    for (p = inc->tg->pairs; p; p = p->tnext)
        if (p != inc->pair && p->defined && !p->gone && p->nfailing == 0 &&
            p->last_answer <= inc->opened)
            return 1;
    return 0;
}

static int silenced(const struct alert *a, const struct incident *inc)
{
    if (!a->cb.silenced)
        return 0;
    return a->cb.silenced(a->cb.arg, inc->tg ? inc->tg->h.key : NULL);
}

/* Bring <inc>'s pages in line with its state.  Pass 0 only takes back
 * pages an incident above now speaks for, pass 1 sends triggers and
 * updates, so a target's page never precedes the resolves it replaces.
 * Updates wait for alert_tick(): a round of runs changes many members in
 * a moment, and one update after it says more than one per member. */
static void reconcile(struct alert *a, struct incident *inc, int pass)
{
    double now;

    if (pass == 0) {
        if (inc->triggered && blocked(a, inc)) {
            emit(a, inc, PW_ALERT_RESOLVE, 0);
            inc->triggered = 0;
            incident_save(a, inc);
        }
        return;
    }
    if (blocked(a, inc))
        return;
    now = clock_wall();
    if (!inc->triggered) {
        if (!active(inc) || held(inc, now) || silenced(a, inc))
            return;
        emit(a, inc, PW_ALERT_TRIGGER, 0);
        inc->triggered = 1;
        incident_save(a, inc);
    } else if (a->ticking && inc->dirty &&
               now - inc->last_sent >= UPDATE_EVERY && !silenced(a, inc)) {
        struct sbuf s = SBUF_INIT, d = SBUF_INIT;
        uint64_t h;

        summary_build(a, inc, &s);
        details_build(a, inc, &d);
        h = hash_str(s.buf) ^ (hash_str(d.buf) * 31);
        sbuf_release(&s);
        sbuf_release(&d);
        if (h == inc->sumhash) {
            inc->dirty = 0;
            return;
        }
        emit(a, inc, PW_ALERT_TRIGGER, 1);
        incident_save(a, inc);
    }
}

static void reconcile_target(struct alert *a, struct target *tg)
{
    struct incident *inc;
    int pass;

    for (pass = 0; pass < 2; pass++) {
        if (a->runner_inc)
            reconcile(a, a->runner_inc, pass);
        for (inc = tg->incs; inc; inc = inc->tnext)
            if (inc->level == PW_LEVEL_TARGET)
                reconcile(a, inc, pass);
        for (inc = tg->incs; inc; inc = inc->tnext)
            if (inc->level != PW_LEVEL_TARGET)
                reconcile(a, inc, pass);
    }
}

static void reconcile_all(struct alert *a)
{
    struct hnode **v = ht_list(&a->incs);
    size_t i, n = a->incs.n;
    int pass, lv;

    /* Highest level first within each pass; reconcile closes nothing, so
     * the snapshot stays valid. */
    for (pass = 0; pass < 2; pass++)
        for (lv = PW_LEVEL_RUNNER;; lv--) {
            for (i = 0; i < n; i++)
                if ((int)((struct incident *)v[i])->level == lv)
                    reconcile(a, (struct incident *)v[i], pass);
            if (lv == PW_LEVEL_TEST)
                break;
        }
    free(v);
}

/* Open or close <tg>'s incident as its counts say.  <answered>: a run on
 * the target just got an HTTP answer or passed. */
static void target_update(struct alert *a, struct target *tg, int answered)
{
    int counts = target_counts(tg);

    if (!counts)
        tg->latch = 0;
    else if (answered)
        tg->latch = 1;
    if (counts && !tg->latch && !tg->inc) {
        struct sbuf id = SBUF_INIT;

        sbuf_addf(&id, "target:%s", tg->h.key);
        incident_save(a, incident_new(a, id.buf, PW_LEVEL_TARGET, NULL, tg));
        sbuf_release(&id);
    } else if ((!counts || tg->latch) && tg->inc)
        incident_close(a, tg->inc);
}

/* Open or close the runner incident; returns whether it changed. */
static int runner_update(struct alert *a)
{
    int want = a->suspect && a->nlower > 0;

    if (want && !a->runner_inc) {
        struct sbuf id = SBUF_INIT;

        sbuf_addf(&id, "runner:%s", a->runner);
        incident_save(a, incident_new(a, id.buf, PW_LEVEL_RUNNER, NULL, NULL));
        sbuf_release(&id);
        return 1;
    }
    if (!want && a->runner_inc) {
        incident_close(a, a->runner_inc);
        return 1;
    }
    return 0;
}

/* ---- Settling what define and restore changed ---- */

static void sweep(struct alert *a)
{
    struct hnode **v;
    size_t i, n;

    a->sweep = 0;
    /* Tests of pairs no longer declared go, and with them their part of
     * any incident. */
    v = ht_list(&a->tests);
    n = a->tests.n;
    for (i = 0; i < n; i++) {
        struct test *t = (struct test *)v[i];

        if (!t->pair->gone)
            continue;
        account(a, t, -1);
        t->flags &= ~F_MEMBER;
        membership(a, t, 0);
        save(a, "test", t->h.key, NULL);
        test_free(a, t);
    }
    free(v);
    /* Restored incidents no test came back for. */
    v = ht_list(&a->incs);
    n = a->incs.n;
    for (i = 0; i < n; i++) {
        struct incident *inc = (struct incident *)v[i];

        if (inc->level <= PW_LEVEL_SCENARIO &&
            (inc->nmembers == 0 || inc->pair->gone))
            incident_close(a, inc);
    }
    free(v);
    v = ht_list(&a->pairs);
    n = a->pairs.n;
    for (i = 0; i < n; i++)
        if (((struct pair *)v[i])->gone)
            pair_free(a, (struct pair *)v[i]);
    free(v);
    v = ht_list(&a->targets);
    n = a->targets.n;
    for (i = 0; i < n; i++)
        target_update(a, (struct target *)v[i], 0);
    free(v);
    runner_update(a);
    reconcile_all(a);
}

/* ---- The interface ---- */

struct alert *alert_new(const struct alert_opts *o,
                        const struct alert_callbacks *cb)
{
    struct alert *a = xcalloc(1, sizeof(*a));

    a->o = *o;
    if (a->o.flap_window > 64)
        a->o.flap_window = 64;
    if (a->o.window_of > 64)
        a->o.window_of = 64;
    if (a->o.trigger_after == 0)
        a->o.trigger_after = 1;
    if (a->o.resolve_after == 0)
        a->o.resolve_after = 1;
    a->prefix = xstrdup(o->prefix ? o->prefix : "prodwatch");
    a->runner = xstrdup(o->runner ? o->runner : "runner");
    a->public_url = dup_or_null(o->public_url);
    a->o.prefix = a->prefix;
    a->o.runner = a->runner;
    a->o.public_url = a->public_url;
    if (cb)
        a->cb = *cb;
    return a;
}

static void ht_free_all(struct htab *t, void (*fn)(struct hnode *))
{
    size_t i;
    struct hnode *n, *next;

    for (i = 0; i < t->nb; i++)
        for (n = t->b[i]; n; n = next) {
            next = n->next;
            free(n->key);
            fn(n);
        }
    free(t->b);
}

static void free_test(struct hnode *n)
{
    test_clear_failure((struct test *)n);
    free(n);
}

static void free_pair(struct hnode *n)
{
    free(((struct pair *)n)->scenario);
    free(n);
}

static void free_incident(struct hnode *n)
{
    free(((struct incident *)n)->dedup_key);
    free(((struct incident *)n)->summary);
    free(n);
}

void alert_free(struct alert *a)
{
    if (!a)
        return;
    ht_free_all(&a->tests, free_test);
    ht_free_all(&a->pairs, free_pair);
    ht_free_all(&a->targets, (void (*)(struct hnode *))free);
    ht_free_all(&a->incs, free_incident);
    free(a->prefix);
    free(a->runner);
    free(a->public_url);
    free(a->conn_msg);
    free(a);
}

void alert_define_begin(struct alert *a)
{
    size_t i;
    struct hnode *n;

    for (i = 0; i < a->pairs.nb; i++)
        for (n = a->pairs.b[i]; n; n = n->next)
            ((struct pair *)n)->seen = 0;
}

void alert_define(struct alert *a, const char *scenario, const char *target,
                  size_t ntests)
{
    struct pair *p = pair_get(a, scenario, target);

    p->ntests = ntests;
    p->seen = 1;
    p->defined = 1;
    p->gone = 0;
}

void alert_define_end(struct alert *a)
{
    size_t i;
    struct hnode *n;

    for (i = 0; i < a->pairs.nb; i++)
        for (n = a->pairs.b[i]; n; n = n->next) {
            struct pair *p = (struct pair *)n;

            if (!p->seen) {
                p->gone = 1;
                p->defined = 0;
            }
        }
    a->sweep = 1;
}

static int restore_test(struct alert *a, const char *key, const char *value)
{
    unsigned flags, cf, cp, nhist, ta, ra;
    unsigned long long hist;
    long long since;
    char sev[16];
    char *scenario = NULL, *target = NULL;
    struct test *t;
    int end = 0;

    if (sscanf(value, "v1 %x %u %u %llx %u %lld %u %u %15s %n", &flags, &cf,
               &cp, &hist, &nhist, &since, &ta, &ra, sev, &end) != 9 ||
        end == 0 || two_names(value + end, &scenario, &target) < 0 ||
        !scenario || !target || nhist > 64 ||
        (flags & ~(F_MEMBER | F_TRANSPORT))) {
        free(scenario);
        free(target);
        return -1;
    }
    t = (struct test *)ht_find(&a->tests, key);
    if (t) {
        account(a, t, -1);
    } else {
        t = xcalloc(1, sizeof(*t));
        ht_insert(&a->tests, &t->h, key);
        t->pair = pair_get(a, scenario, target);
    }
    t->flags = flags;
    t->consec_fail = cf;
    t->consec_pass = cp;
    t->hist = hist;
    t->nhist = nhist;
    t->since = since;
    t->trigger_after = ta ? ta : a->o.trigger_after;
    t->resolve_after = ra ? ra : a->o.resolve_after;
    t->sev = sev_parse(sev);
    account(a, t, 1);
    if (t->inc && !(flags & F_MEMBER)) {
        member_remove(t); /* an empty incident goes at the sweep */
    } else if (!t->inc) {
        membership(a, t, 1);
    }
    free(scenario);
    free(target);
    return 0;
}

static int restore_incident(struct alert *a, const char *key,
                            const char *value)
{
    int level, triggered;
    long long since;
    double last_sent;
    unsigned long long sumhash;
    char *scenario = NULL, *target = NULL;
    struct incident *inc;
    struct pair *p = NULL;
    struct target *tg = NULL;
    int end = 0;

    if (sscanf(value, "v1 %d %d %lld %lf %llx %n", &level, &triggered, &since,
               &last_sent, &sumhash, &end) != 5 ||
        end == 0 || level < PW_LEVEL_TEST || level > PW_LEVEL_RUNNER ||
        two_names(value + end, &scenario, &target) < 0 ||
        (level != PW_LEVEL_RUNNER && !target) ||
        (level <= PW_LEVEL_SCENARIO && !scenario)) {
        free(scenario);
        free(target);
        return -1;
    }
    if (level <= PW_LEVEL_SCENARIO)
        p = pair_get(a, scenario, target);
    if (target)
        tg = target_get(a, target);
    free(scenario);
    free(target);
    inc = (struct incident *)ht_find(&a->incs, key);
    if (!inc) {
        if (level == PW_LEVEL_RUNNER && a->runner_inc)
            return -1;
        if (level == PW_LEVEL_TARGET && tg->inc)
            return -1;
        inc = incident_new(a, key, (enum pw_alert_level)level, p, tg);
    } else if ((int)inc->level != level) {
        return -1;
    }
    inc->triggered = triggered != 0;
    inc->since = since;
    inc->last_sent = last_sent;
    inc->sumhash = sumhash;
    inc->dirty = 0;
    if (level == PW_LEVEL_RUNNER) {
        /* It was open because the network was suspect: stay so until the
         * check says otherwise. */
        a->suspect = 1;
        a->conn_fail = a->o.trigger_after;
    }
    return 0;
}

int alert_restore(struct alert *a, const char *kind, const char *key,
                  const char *value)
{
    int rc = -1;

    if (key && value && strcmp(kind, "test") == 0)
        rc = restore_test(a, key, value);
    else if (key && value && strcmp(kind, "incident") == 0)
        rc = restore_incident(a, key, value);
    if (rc < 0)
        pwlog(PWLOG_WARN, "alert.restore", "cannot read saved %s state %s",
              kind ? kind : "?", key ? key : "?");
    a->sweep = 1;
    return rc;
}

void alert_observe(struct alert *a, const struct alert_obs *o)
{
    int answered = !o->failed || !o->transport;
    struct test *t;
    struct pair *p;
    struct target *tg;

    if (a->sweep)
        sweep(a);
    t = (struct test *)ht_find(&a->tests, o->test_id);
    if (!t && !o->failed) {
        /* The common case: a healthy test stays without an entry.  The
         * pair still learns the target answered. */
        p = pair_find(a, o->scenario, o->target);
        if (p) {
            p->last_answer = clock_wall();
            if (p->tg->incs) {
                target_update(a, p->tg, 1);
                reconcile_target(a, p->tg);
            }
        }
        return;
    }
    if (!t) {
        t = xcalloc(1, sizeof(*t));
        ht_insert(&a->tests, &t->h, o->test_id);
        t->pair = pair_get(a, o->scenario, o->target);
    } else {
        account(a, t, -1);
    }
    p = t->pair;
    tg = p->tg;
    if (answered)
        p->last_answer = clock_wall();
    test_record(a, t, o);
    account(a, t, 1);
    membership(a, t, 0);
    if (test_clean(a, t)) {
        save(a, "test", t->h.key, NULL);
        test_free(a, t);
    } else {
        test_save(a, t);
    }
    target_update(a, tg, answered);
    if (runner_update(a))
        reconcile_all(a);
    else
        reconcile_target(a, tg);
}

void alert_connectivity(struct alert *a, int ok, const char *message)
{
    if (a->sweep)
        sweep(a);
    if (ok) {
        a->conn_fail = 0;
        a->suspect = 0;
    } else {
        a->conn_fail++;
        replace(&a->conn_msg, message);
        if (a->conn_fail >= a->o.trigger_after)
            a->suspect = 1;
    }
    runner_update(a);
    reconcile_all(a);
}

void alert_tick(struct alert *a)
{
    if (a->sweep)
        sweep(a);
    runner_update(a);
    a->ticking = 1;
    reconcile_all(a);
    a->ticking = 0;
}

void alert_stats(const struct alert *a, struct alert_stats *st)
{
    size_t i;
    const struct hnode *n;

    memset(st, 0, sizeof(*st));
    st->tests_tracked = a->tests.n;
    st->tests_failing = a->nfailing;
    st->tests_flapping = a->nflapping;
    st->incidents_open = a->incs.n;
    for (i = 0; i < a->incs.nb; i++)
        for (n = a->incs.b[i]; n; n = n->next)
            st->incidents_triggered += ((const struct incident *)n)->triggered
                                           ? 1
                                           : 0;
    st->events = a->events;
}

void alert_save_all(struct alert *a)
{
    struct hnode **v = ht_list(&a->tests);
    size_t i, n = a->tests.n;

    for (i = 0; i < n; i++)
        test_save(a, (const struct test *)v[i]);
    free(v);
    v = ht_list(&a->incs);
    n = a->incs.n;
    for (i = 0; i < n; i++)
        incident_save(a, (const struct incident *)v[i]);
    free(v);
}

void alert_visit(const struct alert *a,
                 int (*fn)(const char *dedup_key, enum pw_alert_level level,
                           const char *summary, int triggered,
                           long long since, void *arg),
                 void *arg)
{
    struct hnode **v = ht_list(&a->incs);
    size_t i, n = a->incs.n;
    struct sbuf s = SBUF_INIT;
    int stop = 0;

    for (i = 0; i < n && !stop; i++) {
        const struct incident *inc = (const struct incident *)v[i];

        sbuf_reset(&s);
        summary_build(a, inc, &s);
        stop = fn(inc->dedup_key, inc->level, s.buf, inc->triggered,
                  inc->since, arg);
    }
    sbuf_release(&s);
    free(v);
}
