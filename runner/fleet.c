/* fleet.c -- the claim script and the registration of a runner's tests. */
#include <hiredis/hiredis.h>
#include <math.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "fleet.h"
#include "keys.h"
#include "log.h"
#include "loop.h"
#include "redis.h"
#include "sbuf.h"
#include "schedule.h"
#include "xalloc.h"

/* Claims go out at most this often while nothing is due soon, and at
 * least this far apart while tests wait and no room freed. */
#define CLAIM_IDLE_MS 1000
#define CLAIM_BUSY_MS 50
/* Tests registered per command: big enough to be few, small enough not
 * to hold Redis up. */
#define REGISTER_CHUNK 256
/* A lease goes back at most this long after its run ended. */
#define RELEASE_MS     10
/* Most instants claimed ahead and waiting: at 250 ms ahead, enough for
 * 16,000 runs/s, and few enough that a runner falling behind leaves the
 * rest to the others. */
#define FLEET_AHEAD_MAX 4096
/* A rate's span starts this far after Redis granted it (us): it reaches
 * the runner before it begins, and no slot of it is lost to the way. */
#define GRANT_LEAD_US  "10000"
/* Behind Sentinel, how long a replica may take to confirm a claim. */
#define CONFIRM_MS     "100"
/* Claims unconfirmed by any replica this long (s) run on the master's
 * word alone: no replica at all is not a failover under way. */
#define UNREPLICATED_S 3.0
#define REPLAN_MS      300000
#define RETRY_MS       2000
/* Without Redis, a runner probes on alone at the next turn of the loop:
 * the on-call engineer must not go blind while Redis is away, and a
 * runner that lost Redis cannot know whether the others did too.  A
 * runner cut off from a Redis the others still reach runs tests they run
 * too, until it is back: probing twice for a while is the price of
 * probing at all.  (Waiting a lease, or even a second, first changed
 * which incident a Redis outage opened, and when.) */
#define ALONE_AFTER_MS 1

/* KEYS: due, every, lease, owner, members.
 * ARGV: runner, ahead ms, room, lease ms, then three lists, each a count
 * and that many ids: leases to give back, leases to renew, tests this
 * runner does not know (dropped from the schedule; the runners that have
 * them put them back when they next register).
 * Returns: Redis time (ms), the earliest due instant left (-1: none),
 * runners that claimed within a lease, instants skipped, runs taken over,
 * then id, instant pairs. */
/* KEYS: due, every, lease, owner, members.
 * ARGV: runner, ahead ms, room (instants due now it may take), room
 * ahead (instants due within <ahead>), lease ms, then three lists, each a
 * count and that many ids: leases to give back, leases to renew, tests
 * this runner does not know (dropped from the schedule; the runners that
 * have them put them back when they next register).
 * Returns: Redis time (ms), the earliest due instant left (-1: none),
 * runners that claimed within a lease, instants skipped, runs taken over,
 * then id, instant pairs. */
static const char CLAIM[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local me, ahead = ARGV[1], tonumber(ARGV[2])\n"
    "local room, later, ttl = tonumber(ARGV[3]), tonumber(ARGV[4]),"
    " tonumber(ARGV[5])\n"
    "local i = 6\n"
    "local function list()\n"
    "  local n = tonumber(ARGV[i]); local first = i + 1\n"
    "  i = i + 1 + n\n"
    "  return first, first + n - 1\n"
    "end\n"
    "local a, b = list()\n"
    "for k = a, b do\n"
    "  local id = ARGV[k]\n"
    "  if redis.call('HGET', KEYS[4], id) == me then\n"
    "    redis.call('ZREM', KEYS[3], id); redis.call('HDEL', KEYS[4], id)\n"
    "  end\n"
    "end\n"
    "a, b = list()\n"
    "for k = a, b do\n"
    "  if redis.call('HGET', KEYS[4], ARGV[k]) == me then\n"
    "    redis.call('ZADD', KEYS[3], 'XX', now + ttl, ARGV[k])\n"
    "  end\n"
    "end\n"
    "a, b = list()\n"
    "for k = a, b do\n"
    "  local id = ARGV[k]\n"
    "  redis.call('ZREM', KEYS[1], id); redis.call('HDEL', KEYS[2], id)\n"
    "  if redis.call('HGET', KEYS[4], id) == me then\n"
    "    redis.call('ZREM', KEYS[3], id); redis.call('HDEL', KEYS[4], id)\n"
    "  end\n"
    "end\n"
    "redis.call('ZADD', KEYS[5], now, me)\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now - 10 * ttl)\n"
    "local out = { now, -1, redis.call('ZCOUNT', KEYS[5], now - ttl, '+inf'),"
    " 0, 0 }\n"
    "if room > 0 then\n"
    "  for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now,"
    " 'LIMIT', 0, room)) do\n"
    "    redis.call('ZADD', KEYS[3], now + ttl, id)\n"
    "    redis.call('HSET', KEYS[4], id, me)\n"
    "    out[#out + 1] = id; out[#out + 1] = now\n"
    "    out[5] = out[5] + 1; room = room - 1\n"
    "  end\n"
    "end\n"
    "local function claim(lo, hi, max)\n"
    "  if max <= 0 then return end\n"
    "  local due = redis.call('ZRANGEBYSCORE', KEYS[1], lo, hi,"
    " 'WITHSCORES', 'LIMIT', 0, max)\n"
    "  for j = 1, #due, 2 do\n"
    "    local id, at = due[j], tonumber(due[j + 1])\n"
    "    local every = tonumber(redis.call('HGET', KEYS[2], id))\n"
    "    if not every or every <= 0 then\n"
    "      redis.call('ZREM', KEYS[1], id)\n"
    "    else\n"
    "      local nx = at + every\n"
    "      if nx <= now then\n"
    "        nx = at + every * (math.floor((now - at) / every) + 1)\n"
    "      end\n"
    "      redis.call('ZADD', KEYS[1], nx, id)\n"
    "      local held = redis.call('ZSCORE', KEYS[3], id)\n"
    "      if held and tonumber(held) > now and\n"
    "         redis.call('HGET', KEYS[4], id) ~= me then\n"
    "        out[4] = out[4] + 1\n"
    "      else\n"
    "        local run = at > now and at or now\n"
    "        redis.call('ZADD', KEYS[3], run + ttl, id)\n"
    "        redis.call('HSET', KEYS[4], id, me)\n"
    "        out[#out + 1] = id; out[#out + 1] = run\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "claim('-inf', now, room)\n"
    "claim('(' .. now, now + ahead, later)\n"
    "local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')\n"
    "if #first == 2 then out[2] = tonumber(first[2]) end\n"
    "return out\n";

/* KEYS[1]: the target's rate.  ARGV: the spacing of its requests (us),
 * how many, the lead (us).  GCRA over the fleet: the theoretical time of
 * the target's next request moves on by the span granted, from itself or
 * from now plus the lead -- the reply's way back, so that the span has
 * not begun when the runner hears of it.  Returns Redis time, the span's
 * start and its end (us). */
static const char GRANT[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
    "local sp, k = tonumber(ARGV[1]), tonumber(ARGV[2])\n"
    "local tat = tonumber(redis.call('GET', KEYS[1]) or '0') or 0\n"
    "if tat < now + tonumber(ARGV[3]) then tat = now + tonumber(ARGV[3]) end\n"
    "local to = tat + k * sp\n"
    "redis.call('SET', KEYS[1], string.format('%.0f', to), 'PX',\n"
    "  math.floor((to - now) / 1000) + 1000)\n"
    "return { now, tat, to }\n";

/* A list of owned strings, for the claim's arguments. */
struct strs {
    char **v;
    size_t n, alloc;
};

struct fleet {
    struct loop *loop;
    struct redis *redis;
    struct schedule *sched;
    char *due, *every, *lease, *owner, *members, *runner;
    uint64_t lease_ms;
    fleet_room_fn *room;
    fleet_changed_fn *changed;
    void *arg;
    int active;       /* claiming: the schedule is in fleet mode */
    int reg_pending;  /* registration replies outstanding */
    int reg_failed;   /* ... and one of them was an error */
    unsigned long reg_gen; /* replies of an older registration are ignored */
    int calling;      /* a claim is on its way */
    size_t asked;     /* ... asking for this many instants */
    int backlog;      /* the last claim filled the room it had */
    int kicked;       /* a run ended while a claim was on its way */
    double claim_due; /* when the claim timer fires (monotonic) */
    int stopped;      /* no new claims */
    double next_renew;
    char *prefix;
    struct loop_timer *claim_timer, *alone_timer, *replan_timer;
    /* Leases to give back and tests to drop, kept until a claim that
     * carried them is answered: a lease given back and lost would run
     * out and send its test to another runner again. */
    struct strs released, unknown;
    size_t sent_released, sent_unknown;
    struct fleet_stats st;
    /* The last claim's instants, until a replica confirmed it. */
    struct strs held;
    long long *held_at, held_now, held_first;
    double held_mono; /* when Redis answered (monotonic) */
    size_t held_at_alloc;
    int confirming; /* a WAIT follows the claim on its way */
    int waiting_only; /* ... whose answer only says if a replica is back */
    double replicated_at; /* a replica last confirmed a claim */
    char claim_sha[41], grant_sha[41];
    size_t plan_pos;       /* where registration goes on from */
    unsigned long plan_gen; /* the schedule's generation it walks */
};

static void strs_add(struct strs *s, const char *str)
{
    XGROW(s->v, s->n + 1, s->alloc);
    s->v[s->n++] = xstrdup(str);
}

static void strs_clear(struct strs *s)
{
    size_t i;

    for (i = 0; i < s->n; i++)
        free(s->v[i]);
    s->n = 0;
}

static void strs_free(struct strs *s)
{
    strs_clear(s);
    free(s->v);
    s->v = NULL;
    s->alloc = 0;
}

/* Drop the first <n> strings of <s>, keeping those added since. */
static void drop_sent(struct strs *s, size_t n)
{
    size_t i;

    if (n == 0)
        return; /* s->v may be NULL: not even a zero-length move */
    for (i = 0; i < n; i++)
        free(s->v[i]);
    memmove(s->v, s->v + n, (s->n - n) * sizeof(*s->v));
    s->n -= n;
}

static void sha_of(const char *script, char out[41])
{
    unsigned char md[SHA_DIGEST_LENGTH];
    size_t i;

    SHA1((const unsigned char *)script, strlen(script), md);
    for (i = 0; i < SHA_DIGEST_LENGTH; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Load both scripts; EVALSHA after it on the same connection finds them. */
static void load_scripts(struct fleet *f)
{
    const char *claim[3] = { "SCRIPT", "LOAD", CLAIM };
    const char *grant[3] = { "SCRIPT", "LOAD", GRANT };

    redis_command(f->redis, NULL, NULL, 3, claim, NULL);
    redis_command(f->redis, NULL, NULL, 3, grant, NULL);
}

static int noscript(const struct redisReply *reply)
{
    return reply && reply->type == REDIS_REPLY_ERROR &&
           strncmp(reply->str, "NOSCRIPT", 8) == 0;
}

static char *key(const char *prefix, const char *loc, const char *kind)
{
    struct sbuf b;

    sbuf_init(&b, 0);
    sbuf_addf(&b, "%s:fleet:{%s}:%s", prefix, loc, kind);
    return sbuf_take(&b, NULL);
}

static void cancel(struct loop_timer **t)
{
    if (*t)
        loop_timer_cancel(*t);
    *t = NULL;
}

static void claim_later(struct fleet *f, unsigned long ms);
static void register_tests(struct fleet *f);

static void on_replan(void *arg)
{
    struct fleet *f = arg;

    f->replan_timer = NULL;
    register_tests(f);
}

/* ---- Alone or in the fleet ---- */

static unsigned long alone_ms(const struct fleet *f)
{
    return f->lease_ms < ALONE_AFTER_MS ? (unsigned long)f->lease_ms
                                        : ALONE_AFTER_MS;
}

static void set_active(struct fleet *f, int on)
{
    if (f->active == on)
        return;
    f->active = on;
    schedule_set_fleet(f->sched, on);
    if (on)
        pwlog(PWLOG_INFO, "fleet.joined",
              "claiming tests with the fleet in Redis (%s)", f->due);
    else
        pwlog(PWLOG_WARN, "fleet.alone",
              "no Redis for %lu ms: every test runs on this runner on its "
              "own phase until Redis is back", alone_ms(f));
    f->changed(f->arg);
}

/* How long without Redis before a runner goes on alone. */
static void on_alone(void *arg)
{
    struct fleet *f = arg;

    f->alone_timer = NULL;
    set_active(f, 0);
}

static void alone_later(struct fleet *f)
{
    if (f->alone_timer == NULL && f->active)
        f->alone_timer = loop_after(f->loop, alone_ms(f), on_alone, f);
}

/* ---- Claiming ---- */

static void add_arg(struct strs *a, const char *s)
{
    strs_add(a, s);
}

static void add_num(struct strs *a, long long v)
{
    char buf[32];

    snprintf(buf, sizeof(buf), "%lld", v);
    strs_add(a, buf);
}

static void add_released(const char *id, void *arg)
{
    add_arg(arg, id);
}

/* Append a count and the ids <fn> hands out, the count first. */
static size_t add_list(struct strs *a, size_t (*fn)(struct schedule *,
                                                     sched_id_fn *, void *),
                       struct schedule *s)
{
    size_t at = a->n, n;

    add_arg(a, "0");
    n = fn(s, add_released, a);
    free(a->v[at]);
    a->v[at] = xmalloc(24);
    snprintf(a->v[at], 24, "%zu", n);
    return n;
}

/* Append the count of <l> and its strings. */
static void add_strs(struct strs *a, const struct strs *l)
{
    size_t i;

    add_num(a, (long long)l->n);
    for (i = 0; i < l->n; i++)
        add_arg(a, l->v[i]);
}

/* Queue the claims held back until a replica had them (or at once,
 * without Sentinel), then decide when to claim next. */
static void apply_claims(struct fleet *f)
{
    size_t i, got = f->held.n;

    /* Placed as when Redis answered: a confirmation that took a while
     * makes a run late, never moves its instant. */
    for (i = 0; i < got; i++)
        if (!schedule_claim(f->sched, f->held.v[i],
                            f->held_mono +
                                (double)(f->held_at[i] - f->held_now) / 1000.0))
            strs_add(&f->unknown, f->held.v[i]);
    strs_clear(&f->held);
    f->st.claimed += got;
    f->backlog = f->asked > 0 && got >= f->asked;
    if (got)
        f->changed(f->arg);
    if (f->stopped) {
        claim_later(f, 1);
    } else if (f->backlog || f->kicked) {
        claim_later(f, f->kicked ? RELEASE_MS : CLAIM_BUSY_MS);
    } else if (f->held_first < 0) {
        claim_later(f, CLAIM_IDLE_MS);
    } else {
        long long wait = f->held_first - f->held_now - FLEET_AHEAD_MS / 2;

        if (wait < CLAIM_BUSY_MS)
            wait = CLAIM_BUSY_MS;
        if (wait > CLAIM_IDLE_MS)
            wait = CLAIM_IDLE_MS;
        claim_later(f, (unsigned long)wait);
    }
}

static void on_claimed(struct redisReply *reply, void *arg)
{
    struct fleet *f = arg;
    size_t i;

    if (noscript(reply)) {
        /* Redis lost its scripts (a restart, a failover, SCRIPT FLUSH). */
        f->calling = 0;
        f->confirming = 0;
        load_scripts(f);
        claim_later(f, 1);
        return;
    }
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY ||
        reply->elements < 5) {
        if (reply && reply->type == REDIS_REPLY_ERROR)
            pwlog(PWLOG_WARN, "fleet.claim", "Redis refused the claim: %s",
                  reply->str);
        /* The leases it gave back are lost with it; they run out. */
        f->calling = 0;
        f->confirming = 0;
        claim_later(f, RETRY_MS);
        return;
    }
    f->st.calls++;
    if (!f->confirming)
        f->st.released += f->sent_released;
    f->held_mono = clock_mono();
    f->held_now = reply->element[0]->integer;
    f->held_first = reply->element[1]->integer;
    f->st.members = (unsigned)reply->element[2]->integer;
    f->st.skipped += (uint64_t)reply->element[3]->integer;
    f->st.taken_over += (uint64_t)reply->element[4]->integer;
    if (reply->element[3]->integer || reply->element[4]->integer)
        pwlog(PWLOG_DEBUG, "fleet.claim",
              "%lld instants skipped (running elsewhere), %lld runs taken "
              "over from runners whose lease ran out",
              reply->element[3]->integer, reply->element[4]->integer);
    if (!f->confirming) {
        drop_sent(&f->released, f->sent_released);
        drop_sent(&f->unknown, f->sent_unknown);
    }
    strs_clear(&f->held);
    XGROW(f->held_at, reply->elements / 2 + 1, f->held_at_alloc);
    for (i = 5; i + 1 < reply->elements; i += 2) {
        const redisReply *id = reply->element[i];

        if (id->type != REDIS_REPLY_STRING)
            continue;
        f->held_at[f->held.n] = reply->element[i + 1]->integer;
        strs_add(&f->held, id->str);
    }
    if (f->confirming && clock_mono() - f->replicated_at > UNREPLICATED_S) {
        /* No replica has confirmed anything for a while: the WAIT would
         * only time out, and then the Sentinels would be asked what the
         * 3-second check (redis.c) asks them anyway.  It still tells when
         * a replica is back. */
        f->confirming = 0;
        f->waiting_only = 1;
        drop_sent(&f->released, f->sent_released);
        drop_sent(&f->unknown, f->sent_unknown);
        f->st.released += f->sent_released;
    }
    if (f->confirming)
        return; /* on_confirmed goes on */
    f->calling = 0;
    apply_claims(f);
}

/* Behind Sentinel: the WAIT sent after a claim.  A claim that reached a
 * master a failover left behind is lost, and the new master hands the
 * same instants out again: such claims are not run (those instants run
 * late instead, from the new master). */
/* Run the claims held back (<run> 1) or drop them. */
static void claims_confirmed(struct fleet *f, int run)
{
    f->calling = 0;
    /* Leases given back to a master left behind are given back again to
     * the new one; without that, they would run out there and send
     * those tests, already run, to another runner. */
    if (run) {
        f->st.released += f->sent_released;
        drop_sent(&f->released, f->sent_released);
        drop_sent(&f->unknown, f->sent_unknown);
    }
    if (!run) {
        size_t i;

        /* Their leases go back: left to run out, they would hand these
         * instants to a runner again, as if never run, after the next
         * ones ran.  The instants are missed instead. */
        for (i = 0; i < f->held.n; i++)
            strs_add(&f->released, f->held.v[i]);
        if (f->held.n)
            pwlog(PWLOG_DEBUG, "fleet.unconfirmed",
                  "a claim of %zu instants went to a master left behind by "
                  "a failover: not run from it", f->held.n);
        strs_clear(&f->held);
    }
    apply_claims(f);
}

static void on_claim_checked(int still_master, void *arg)
{
    struct fleet *f = arg;

    /* As for results (store.c): a replica that stopped confirming may be
     * the one being promoted; only a while without any lets this master's
     * word stand alone. */
    claims_confirmed(f, still_master && clock_mono() - f->replicated_at >
                                            UNREPLICATED_S);
}

static void on_confirmed(struct redisReply *reply, void *arg)
{
    struct fleet *f = arg;

    if (reply && reply->type == REDIS_REPLY_INTEGER && reply->integer >= 1)
        f->replicated_at = clock_mono();
    if (f->waiting_only) {
        f->waiting_only = 0;
        return; /* the claim went on without it */
    }
    if (!f->confirming)
        return; /* the claim itself failed and said so */
    f->confirming = 0;
    if (reply && reply->type == REDIS_REPLY_INTEGER && reply->integer < 1) {
        /* No replica in time: away, or a failover left this master
         * behind.  The Sentinels tell which. */
        redis_check_master(f->redis, on_claim_checked, f);
        return;
    }
    claims_confirmed(f, reply != NULL);
}

static void claim(struct fleet *f)
{
    struct strs a = { NULL, 0, 0 };
    size_t room = 0, later = 0, queued = schedule_queued(f->sched);
    double now = clock_mono();

    if (f->calling || !redis_up(f->redis))
        return;
    cancel(&f->claim_timer);
    schedule_released(f->sched, add_released, &f->released);
    /* Stopping, a claim only gives leases back. */
    if (f->stopped && f->released.n == 0 && f->unknown.n == 0)
        return;
    if (f->active && !f->stopped) {
        room = f->room(f->arg);
        later = queued < FLEET_AHEAD_MAX ? FLEET_AHEAD_MAX - queued : 0;
    }
    add_arg(&a, "EVALSHA");
    add_arg(&a, f->claim_sha);
    add_arg(&a, "5");
    add_arg(&a, f->due);
    add_arg(&a, f->every);
    add_arg(&a, f->lease);
    add_arg(&a, f->owner);
    add_arg(&a, f->members);
    add_arg(&a, f->runner);
    add_num(&a, FLEET_AHEAD_MS);
    add_num(&a, (long long)room);
    add_num(&a, (long long)later);
    add_num(&a, (long long)f->lease_ms);
    add_strs(&a, &f->released);
    f->sent_released = f->released.n;
    if (now >= f->next_renew) {
        add_list(&a, schedule_running_leased, f->sched);
        f->next_renew = now + (double)f->lease_ms / 3000.0;
    } else {
        add_arg(&a, "0");
    }
    add_strs(&a, &f->unknown);
    f->sent_unknown = f->unknown.n;
    f->calling = 1;
    f->kicked = 0;
    f->asked = room + later;
    redis_command(f->redis, on_claimed, f, (int)a.n, (const char **)a.v,
                  NULL);
    if (redis_sentinel(f->redis)) {
        const char *wait[3] = { "WAIT", "1", CONFIRM_MS };

        f->confirming = 1;
        redis_command(f->redis, on_confirmed, f, 3, wait, NULL);
    }
    redis_flush(f->redis);
    strs_free(&a);
}

static void on_claim_timer(void *arg)
{
    struct fleet *f = arg;

    f->claim_timer = NULL;
    claim(f);
}

static void claim_later(struct fleet *f, unsigned long ms)
{
    cancel(&f->claim_timer);
    f->claim_due = clock_mono() + (double)ms / 1e3;
    f->claim_timer = loop_after(f->loop, ms ? ms : 1, on_claim_timer, f);
}

void fleet_kick(struct fleet *f)
{
    if (f == NULL || !f->active)
        return;
    if (f->calling) {
        f->kicked = 1;
        return;
    }
    /* A run ended: its lease goes back within RELEASE_MS, so the runner
     * that claims the test's next instant finds it free, and the runs
     * that end meanwhile go back with it, in one script. */
    if (f->claim_timer == NULL || f->claim_due > clock_mono() + RELEASE_MS / 1e3)
        claim_later(f, RELEASE_MS);
}

void fleet_stop_claiming(struct fleet *f)
{
    if (f)
        f->stopped = 1;
}

void fleet_give_back(struct fleet *f)
{
    if (f == NULL)
        return;
    f->stopped = 1;
    cancel(&f->claim_timer);
    claim(f); /* when one is on its way, its answer sends this */
}

/* ---- Registering ---- */

/* Chunks of a registration on their way at once: the next goes out as
 * one is answered, so a million tests never sit in the connection's
 * buffer together. */
#define REGISTER_WINDOW 4

struct reg {
    struct fleet *f;
    unsigned long gen;
};

struct plan {
    struct fleet *f;
    struct strs every, due; /* HSET and ZADD arguments being built */
};

static void send_chunks(struct fleet *f);

static void on_registered(struct redisReply *reply, void *arg)
{
    struct reg *r = arg;
    struct fleet *f = r->f;
    unsigned long gen = r->gen;

    free(r);
    if (f == NULL || gen != f->reg_gen)
        return;
    f->reg_pending--;
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        if (reply && !f->reg_failed)
            pwlog(PWLOG_WARN, "fleet.register",
                  "Redis refused the tests' registration: %s", reply->str);
        f->reg_failed = 1;
    }
    if (!f->reg_failed && f->plan_pos < schedule_count(f->sched)) {
        send_chunks(f);
        return;
    }
    if (f->reg_pending > 0)
        return;
    if (f->reg_failed) {
        cancel(&f->replan_timer);
        f->replan_timer = loop_after(f->loop, RETRY_MS, on_replan, f);
        return;
    }
    cancel(&f->alone_timer);
    set_active(f, 1);
    claim(f);
}

static void send_reg(struct fleet *f, struct strs *a)
{
    struct reg *r = xmalloc(sizeof(*r));

    r->f = f;
    r->gen = f->reg_gen;
    f->reg_pending++;
    redis_command(f->redis, on_registered, r, (int)a->n, (const char **)a->v,
                  NULL);
}

static void plan_one(const char *id, uint64_t every_ms, int64_t first_wall_ms,
                     void *arg)
{
    struct plan *p = arg;

    add_arg(&p->every, id);
    add_num(&p->every, (long long)every_ms);
    add_num(&p->due, (long long)first_wall_ms);
    add_arg(&p->due, id);
}

/* Send chunks until REGISTER_WINDOW are on their way or every test is. */
static void send_chunks(struct fleet *f)
{
    struct plan p;

    memset(&p, 0, sizeof(p));
    p.f = f;
    if (schedule_generation(f->sched) != f->plan_gen) {
        f->plan_gen = schedule_generation(f->sched);
        f->plan_pos = 0; /* positions changed: from the start again */
    }
    while (f->reg_pending < REGISTER_WINDOW &&
           f->plan_pos < schedule_count(f->sched)) {
        add_arg(&p.every, "HSET");
        add_arg(&p.every, f->every);
        add_arg(&p.due, "ZADD");
        add_arg(&p.due, f->due);
        add_arg(&p.due, "NX");
        f->plan_pos = schedule_plan_from(f->sched, f->plan_pos,
                                         REGISTER_CHUNK, plan_one, &p);
        if (p.every.n > 2) {
            send_reg(f, &p.every);
            send_reg(f, &p.due);
        }
        strs_clear(&p.every);
        strs_clear(&p.due);
    }
    strs_free(&p.every);
    strs_free(&p.due);
    redis_flush(f->redis);
}

static void register_tests(struct fleet *f)
{
    const char *ping[] = { "PING" };

    cancel(&f->replan_timer);
    if (!redis_up(f->redis))
        return;
    f->reg_gen++;
    f->reg_pending = 0;
    f->reg_failed = 0;
    f->plan_gen = schedule_generation(f->sched);
    f->plan_pos = 0;
    /* A PING first: with no test at all, its answer still ends the
     * registration. */
    send_reg(f, &(struct strs){ (char **)ping, 1, 1 });
    send_chunks(f);
    f->replan_timer = loop_after(f->loop, REPLAN_MS, on_replan, f);
}

void fleet_replan(struct fleet *f)
{
    if (f == NULL)
        return;
    cancel(&f->replan_timer);
    register_tests(f);
}

/* ---- Redis coming and going ---- */

static void on_redis(int up, void *arg)
{
    struct fleet *f = arg;

    if (up) {
        load_scripts(f);
        cancel(&f->replan_timer);
        register_tests(f);
        return;
    }
    cancel(&f->claim_timer);
    cancel(&f->replan_timer);
    f->reg_gen++; /* replies still due are of a connection now gone */
    f->reg_pending = 0;
    alone_later(f);
}

struct fleet *fleet_new(struct loop *loop, struct redis *redis,
                        struct schedule *sched, const char *prefix,
                        const char *location, const char *runner_id,
                        uint64_t lease_ttl_ms, fleet_room_fn *room,
                        fleet_changed_fn *changed, void *arg)
{
    struct fleet *f = xcalloc(1, sizeof(*f));
    const char *loc = location ? location : "default";

    f->loop = loop;
    f->redis = redis;
    f->sched = sched;
    f->due = key(prefix, loc, "due");
    f->every = key(prefix, loc, "every");
    f->lease = key(prefix, loc, "lease");
    f->owner = key(prefix, loc, "owner");
    f->members = key(prefix, loc, "members");
    f->runner = xstrdup(runner_id);
    f->prefix = xstrdup(prefix);
    f->lease_ms = lease_ttl_ms;
    f->room = room;
    f->changed = changed;
    f->arg = arg;
    f->active = 1;
    sha_of(CLAIM, f->claim_sha);
    sha_of(GRANT, f->grant_sha);
    schedule_set_fleet(sched, 1);
    redis_watch(redis, on_redis, f);
    if (redis_up(redis)) {
        load_scripts(f);
        register_tests(f);
    } else
        alone_later(f);
    return f;
}

void fleet_free(struct fleet *f)
{
    if (f == NULL)
        return;
    redis_unwatch(f->redis, on_redis, f);
    cancel(&f->claim_timer);
    cancel(&f->alone_timer);
    cancel(&f->replan_timer);
    strs_free(&f->unknown);
    strs_free(&f->released);
    strs_free(&f->held);
    free(f->held_at);
    free(f->due);
    free(f->every);
    free(f->lease);
    free(f->owner);
    free(f->members);
    free(f->runner);
    free(f->prefix);
    free(f);
}

void fleet_stats(const struct fleet *f, struct fleet_stats *st)
{
    *st = f->st;
    st->active = f->active;
}

/* ---- Rates ---- */

struct grant {
    struct fleet *f;
    fleet_granted_fn *fn;
    void *arg;
};

static void on_granted(struct redisReply *reply, void *arg)
{
    struct grant g = *(struct grant *)arg;
    double mono = clock_mono();
    long long now, from, to;

    free(arg);
    if (noscript(reply))
        load_scripts(g.f);
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY ||
        reply->elements != 3 ||
        reply->element[0]->type != REDIS_REPLY_INTEGER) {
        g.fn(0, 0, g.arg);
        return;
    }
    now = reply->element[0]->integer;
    from = reply->element[1]->integer;
    to = reply->element[2]->integer;
    g.fn(mono + (double)(from - now) / 1e6, mono + (double)(to - now) / 1e6,
         g.arg);
}

void fleet_ask_rate(struct fleet *f, const char *target, double spacing,
                    unsigned k, fleet_granted_fn *fn, void *arg)
{
    struct grant *g = xmalloc(sizeof(*g));
    struct sbuf key = SBUF_INIT;
    char sp[32], n[16];
    const char *argv[7];

    g->f = f;
    g->fn = fn;
    g->arg = arg;
    keys_name(&key, f->prefix, "rate", target);
    snprintf(sp, sizeof(sp), "%.0f", ceil(spacing * 1e6));
    snprintf(n, sizeof(n), "%u", k);
    argv[0] = "EVALSHA";
    argv[1] = f->grant_sha;
    argv[2] = "1";
    argv[3] = key.buf;
    argv[4] = sp;
    argv[5] = n;
    argv[6] = GRANT_LEAD_US;
    redis_command(f->redis, on_granted, g, 7, argv, NULL);
    redis_flush(f->redis);
    sbuf_release(&key);
}

int fleet_active(const struct fleet *f)
{
    return f != NULL && f->active;
}
