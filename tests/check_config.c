/* check_config.c -- prodwatch.yaml loading and validation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "testutil.h"

static struct config *load(const char *text, char **msgs)
{
    struct diag *d = diag_new();
    struct config *cfg = config_load(tu_write("c.yaml", text), d);

    *msgs = tu_diag_text(d);
    diag_free(d);
    return cfg;
}

static void assert_errors(const char *text, const char *want)
{
    char *msgs;
    struct config *cfg = load(text, &msgs);

    ck_assert_ptr_null(cfg);
    ck_assert_str_eq(msgs, want);
    free(msgs);
}

START_TEST(test_config_full_example)
{
    char *msgs;
    struct config *cfg;

    tu_mkdir("run-secrets");
    tu_write("run-secrets/pagerduty", "key\n");
    tu_write("canary.pem", "not checked here\n");
    cfg = load("redis: redis://10.0.0.5:6380/2\n"
               "key_prefix: pw\n"
               "scenarios: [ \"a/*.yaml\", \"b/*.yaml\" ]\n"
               "secrets_dir: run-secrets\n"
               "listen: 0.0.0.0:9000\n"
               "targets:\n"
               "  prod-eu:\n"
               "    base_url: https://shop.example.com\n"
               "    channel: stable\n"
               "    rate: 2/s\n"
               "    vars: { tenant: acme }\n"
               "    insecure: false\n"
               "  canary:\n"
               "    base_url: \"{{ env.CANARY_URL }}\"\n"
               "    channel: canary\n"
               "    ca_file: canary.pem\n"
               "throttle:\n"
               "  concurrency: 4\n"
               "  rate: 300/m\n"
               "  windows:\n"
               "    - days: [mon, fri]\n"
               "      hours: \"22:30-05:00\"\n"
               "      timezone: UTC\n"
               "      rate: 20/s\n"
               "alerting: { trigger_after: 5, resolve_after: 1 }\n"
               "reporters:\n"
               "  - pagerduty:\n"
               "      routing_key: \"{{ secret.pagerduty }}\"\n"
               "      url: http://127.0.0.1:9/v2/enqueue\n"
               "  - webhook: { url: \"https://hooks.example.com/x\" }\n"
               "  - jsonl: { path: /var/log/prodwatch/results.jsonl }\n"
               "  - plugin: { path: /usr/lib/x.so, config: { a: 1 } }\n",
               &msgs);

    ck_assert_str_eq(msgs, "");
    ck_assert_ptr_nonnull(cfg);
    ck_assert_str_eq(cfg->redis, "redis://10.0.0.5:6380/2");
    ck_assert_str_eq(cfg->key_prefix, "pw");
    ck_assert_uint_eq(cfg->nscenarios, 2);
    ck_assert_str_eq(cfg->scenarios[1], "b/*.yaml");
    ck_assert_str_eq(cfg->secrets_dir, tu_mkdir("run-secrets"));
    ck_assert_uint_eq(cfg->ntargets, 2);
    ck_assert_str_eq(cfg->targets[0].name, "prod-eu");
    ck_assert_double_eq_tol(cfg->targets[0].rate, 2.0, 1e-9);
    ck_assert_str_eq(cfg->targets[0].vars[0].name, "tenant");
    ck_assert_str_eq(tmpl_source(cfg->targets[0].vars[0].value), "acme");
    ck_assert_str_eq(cfg->targets[1].channel, "canary");
    ck_assert_str_eq(cfg->targets[1].ca_file, tu_write("canary.pem", "x"));
    ck_assert_ptr_eq(config_target(cfg, "canary"), &cfg->targets[1]);
    ck_assert_ptr_null(config_target(cfg, "nope"));
    ck_assert_uint_eq(cfg->concurrency, 4);
    ck_assert_double_eq_tol(cfg->rate, 5.0, 1e-9);
    ck_assert_uint_eq(cfg->nwindows, 1);
    ck_assert_uint_eq(cfg->windows[0].days, DAY_BIT(1) | DAY_BIT(5));
    ck_assert_uint_eq(cfg->windows[0].start_min, 22 * 60 + 30);
    ck_assert_uint_eq(cfg->windows[0].end_min, 5 * 60);
    ck_assert_uint_eq(cfg->alerting.trigger_after, 5);
    ck_assert_uint_eq(cfg->alerting.resolve_after, 1);
    ck_assert_uint_eq(cfg->nreporters, 4);
    ck_assert_str_eq(cfg->reporters[0].kind, "pagerduty");
    ck_assert_ptr_null(cfg->reporters[0].path);
    ck_assert_ptr_nonnull(
        ymap_get(cfg->reporters[0].settings, "routing_key"));
    ck_assert_uint_eq(cfg->reporters[0].pos.line, 27);
    ck_assert_uint_eq(cfg->reporters[0].pos.col, 5);
    ck_assert_str_eq(cfg->reporters[2].kind, "jsonl");
    ck_assert_str_eq(cfg->reporters[3].kind, "plugin");
    ck_assert_str_eq(cfg->reporters[3].path, "/usr/lib/x.so");
    ck_assert_ptr_nonnull(ymap_get(cfg->reporters[3].settings, "a"));
    free(msgs);
    config_free(cfg);
}
END_TEST

START_TEST(test_config_listen_health_metrics)
{
    static const char *const off[] = { "off", "\"\"", "" };
    char *msgs, text[256];
    struct config *cfg;
    size_t i;

    for (i = 0; i < sizeof(off) / sizeof(off[0]); i++) {
        snprintf(text, sizeof(text),
                 "listen: %s\ntargets:\n  a: { base_url: http://x }\n",
                 off[i]);
        cfg = load(text, &msgs);
        ck_assert_msg(cfg != NULL, "listen: %s: %s", off[i], msgs);
        ck_assert_ptr_null(cfg->listen);
        free(msgs);
        config_free(cfg);
    }
    cfg = load("health: { redis_down_after: 2s }\n"
               "metrics: { per_test: false }\n"
               "targets:\n  a: { base_url: http://x }\n",
               &msgs);
    ck_assert_ptr_nonnull(cfg);
    ck_assert_uint_eq(cfg->redis_down_after_ms, 2000);
    ck_assert_int_eq(cfg->metrics_per_test, 0);
    free(msgs);
    config_free(cfg);
    cfg = load("health: { down_after: 2s }\n"
               "targets:\n  a: { base_url: http://x }\n",
               &msgs);
    ck_assert_ptr_null(cfg);
    ck_assert_msg(strstr(msgs, "down_after") != NULL, "%s", msgs);
    free(msgs);
}
END_TEST

START_TEST(test_config_defaults)
{
    char *msgs;
    struct config *cfg = load("targets:\n  a: { base_url: http://x }\n", &msgs);

    ck_assert_ptr_nonnull(cfg);
    ck_assert_str_eq(cfg->redis, "redis://127.0.0.1:6379/0");
    ck_assert_str_eq(cfg->key_prefix, "prodwatch");
    ck_assert_str_eq(cfg->scenarios[0], "scenarios/*.yaml");
    ck_assert_str_eq(cfg->listen, "127.0.0.1:9464");
    ck_assert_uint_eq(cfg->redis_down_after_ms, 30000);
    ck_assert_int_eq(cfg->metrics_per_test, 1);
    ck_assert_uint_eq(cfg->concurrency, 8);
    ck_assert_uint_eq(cfg->alerting.trigger_after, 3);
    ck_assert_uint_eq(cfg->alerting.resolve_after, 2);
    ck_assert_uint_eq(cfg->alerting.window_of, 0);
    ck_assert_int_eq(cfg->alerting.group_by, GROUP_BY_SCENARIO);
    ck_assert_ptr_null(cfg->alerting.connectivity_check);
    ck_assert_uint_eq(cfg->alerting.connectivity_every_ms, 30000);
    ck_assert_uint_eq(cfg->alerting.flap_changes, 6);
    ck_assert_uint_eq(cfg->alerting.flap_runs, 20);
    ck_assert_uint_eq(cfg->alerting.nsilences, 0);
    ck_assert_ptr_null(cfg->public_url);
    ck_assert_uint_eq(cfg->nreporters, 0);
    ck_assert_uint_eq(cfg->max_tests, 1000000);
    ck_assert_str_eq(cfg->targets[0].channel, "stable");
    ck_assert_double_eq_tol(cfg->targets[0].rate, 5.0, 1e-9);
    free(msgs);
    config_free(cfg);
}
END_TEST

START_TEST(test_config_unknown_keys_suggest)
{
    assert_errors("redsi: redis://x\n"
                  "targets:\n"
                  "  a: { base_ulr: http://x, rate: 5/s }\n"
                  "throttle: { concurency: 3 }\n",
                  "c.yaml:1:1: unknown key 'redsi' in the configuration; did "
                  "you mean 'redis'?\n"
                  "c.yaml:3:3: target 'a' has no base_url\n"
                  "c.yaml:3:8: unknown key 'base_ulr' in a target; did you "
                  "mean 'base_url'?\n"
                  "c.yaml:4:13: unknown key 'concurency' in throttle; did "
                  "you mean 'concurrency'?\n");
}
END_TEST

/* location: a plain name, kept as written; anything else is refused
 * where it is written. */
START_TEST(test_config_location)
{
    char *msgs;
    struct config *cfg = load("location: eu-west_2\n"
                              "targets:\n  a: { base_url: http://x }\n",
                              &msgs);

    ck_assert_msg(cfg != NULL, "%s", msgs);
    ck_assert_str_eq(cfg->location, "eu-west_2");
    config_free(cfg);
    free(msgs);
    cfg = load("targets:\n  a: { base_url: http://x }\n", &msgs);
    ck_assert_ptr_nonnull(cfg);
    ck_assert_ptr_null(cfg->location);
    config_free(cfg);
    free(msgs);
    assert_errors("location: eu west\n"
                  "targets:\n  a: { base_url: http://x }\n",
                  "c.yaml:1:11: location must be a name of letters, digits, "
                  "'_' and '-' (at most 64), not 'eu west'\n");
    assert_errors("location: [eu]\n"
                  "targets:\n  a: { base_url: http://x }\n",
                  "c.yaml:1:11: location must be a single value, not a list\n");
}
END_TEST

/* fleet.lease_ttl: 30 s unless set, from a second to an hour. */
START_TEST(test_config_fleet)
{
    char *msgs;
    struct config *cfg = load("fleet: { lease_ttl: 5s }\n"
                              "targets:\n  a: { base_url: http://x }\n",
                              &msgs);

    ck_assert_msg(cfg != NULL, "%s", msgs);
    ck_assert_uint_eq(cfg->lease_ttl_ms, 5000);
    config_free(cfg);
    free(msgs);
    cfg = load("targets:\n  a: { base_url: http://x }\n", &msgs);
    ck_assert_ptr_nonnull(cfg);
    ck_assert_uint_eq(cfg->lease_ttl_ms, 30000);
    config_free(cfg);
    free(msgs);
    assert_errors("fleet: { lease_ttl: 500ms }\n"
                  "targets:\n  a: { base_url: http://x }\n",
                  "c.yaml:1:21: lease_ttl must be between 1s and 1h\n");
    cfg = load("targets:\n  a: { base_url: http://x, locations: [eu, us] }\n",
               &msgs);
    ck_assert_msg(cfg != NULL, "%s", msgs);
    ck_assert_uint_eq(cfg->targets[0].nlocations, 2);
    ck_assert_int_eq(locations_include(cfg->targets[0].locations, 2, "us"), 1);
    ck_assert_int_eq(locations_include(cfg->targets[0].locations, 2, NULL), 0);
    config_free(cfg);
    free(msgs);
    assert_errors("targets:\n  a: { base_url: http://x, locations: [eu, eu, "
                  "\"a b\"] }\n",
                  "c.yaml:2:44: location 'eu' is listed twice\n"
                  "c.yaml:2:48: a location must be a name of letters, "
                  "digits, '_' and '-' (at most 64), not 'a b'\n");
    cfg = load("redis: sentinel://:pw@127.0.0.1:26379,[::1]x/mymaster/2\n"
               "targets:\n  a: { base_url: http://x }\n", &msgs);
    ck_assert_ptr_null(cfg);
    free(msgs);
    cfg = load("redis: sentinel://:pw@127.0.0.1:26379,s2:26380/mymaster/2\n"
               "targets:\n  a: { base_url: http://x }\n", &msgs);
    ck_assert_msg(cfg != NULL, "%s", msgs);
    config_free(cfg);
    free(msgs);
    assert_errors("redis: sentinel://127.0.0.1:26379/\n"
                  "targets:\n  a: { base_url: http://x }\n",
                  "c.yaml:1:8: redis must be sentinel://HOST[:PORT][,HOST"
                  "[:PORT]...]/MASTER[/DB] (at most 16 Sentinels), not "
                  "'sentinel://127.0.0.1:26379/'\n");
    assert_errors("fleet: { lease_tl: 5s }\n"
                  "targets:\n  a: { base_url: http://x }\n",
                  "c.yaml:1:10: unknown key 'lease_tl' in fleet; did you mean "
                  "'lease_ttl'?\n");
}
END_TEST

START_TEST(test_config_bad_values_all_reported)
{
    assert_errors("redis: http://localhost\n"
                  "listen: 9464\n"
                  "targets:\n"
                  "  a:\n"
                  "    base_url: ftp://x\n"
                  "    rate: 5/x\n"
                  "    insecure: maybe\n"
                  "    vars: { k: \"{{ matrix.x }}\" }\n"
                  "throttle:\n"
                  "  concurrency: lots\n"
                  "  windows:\n"
                  "    - { days: [mon, tuz], hours: \"25:00-01:00\", "
                  "timezone: Mars/Olympus }\n"
                  "alerting: { trigger_after: 0 }\n"
                  "reporters:\n"
                  "  - pagerduty: 5\n"
                  "  - { jsonl: {}, slack: {} }\n",
                  "c.yaml:1:8: redis must be redis://HOST:PORT[/DB], "
                  "unix:/PATH or sentinel://HOST[:PORT][,...]/MASTER, not "
                  "'http://localhost'\n"
                  "c.yaml:2:9: listen must be HOST:PORT, like "
                  "127.0.0.1:9464\n"
                  "c.yaml:5:15: base_url must start with http:// or "
                  "https://\n"
                  "c.yaml:6:11: rate: bad rate '5/x': unit must be s, m or h\n"
                  "c.yaml:7:15: insecure must be true or false, not 'maybe'\n"
                  "c.yaml:8:20: vars: unknown name 'matrix.x' (the "
                  "configuration can use secret.NAME and env.NAME)\n"
                  "c.yaml:10:16: concurrency must be a whole number, not "
                  "'lots'\n"
                  "c.yaml:12:21: unknown day 'tuz'; did you mean 'tue'? (use "
                  "mon, tue, wed, thu, fri, sat, sun)\n"
                  "c.yaml:12:34: hours must look like \"01:00-05:00\", not "
                  "'25:00-01:00'\n"
                  "c.yaml:12:59: unknown timezone 'Mars/Olympus'\n"
                  "c.yaml:13:28: trigger_after must be between 1 and 1000, "
                  "not 0\n"
                  "c.yaml:15:16: pagerduty must be a mapping (key: value), not "
                  "a scalar\n"
                  "c.yaml:16:5: a reporter is one key, its kind (pagerduty, "
                  "webhook, slack, jsonl) or plugin, with its settings below "
                  "it, and optionally a name: beside it\n");
}
END_TEST

START_TEST(test_config_structure_errors)
{
    assert_errors("- just\n- a list\n",
                  "c.yaml:1:1: the configuration must be a mapping (key: "
                  "value), not a list\n");
    assert_errors("redis: redis://x\n",
                  "c.yaml:1:1: the configuration has no targets\n");
    assert_errors("targets: []\n",
                  "c.yaml:1:10: targets must be a mapping (key: value), not "
                  "a list\n");
    assert_errors("targets:\n  \"bad name\": { base_url: http://x }\n",
                  "c.yaml:2:3: target name 'bad name' must be letters, "
                  "digits, '_' or '-'\n");
}
END_TEST

/* Relative paths mean the same file wherever prodwatch is started: they
 * are joined to the configuration's directory, as the globs are. */
START_TEST(test_config_paths_relative_to_file)
{
    char *msgs, want[600], text[1200];
    struct config *cfg;
    const char *dir = tu_tmpdir();

    tu_mkdir("sec");
    tu_mkdir("tls");
    tu_write("tls/ca.pem", "x");
    tu_write("tls/me.pem", "x");
    tu_write("tls/me.key", "x");
    snprintf(text, sizeof(text),
             "secrets_dir: sec\n"
             "state_dir: state\n"
             "targets:\n"
             "  a:\n"
             "    base_url: http://x\n"
             "    ca_file: tls/ca.pem\n"
             "    client_cert: tls/me.pem\n"
             "    client_key: ./tls/me.key\n"
             "  b: { base_url: http://x, ca_file: %s/tls/ca.pem }\n"
             "reporters:\n"
             "  - plugin: { path: lib/x.so }\n"
             "  - plugin: { path: /usr/lib/x.so }\n",
             dir);
    cfg = load(text, &msgs);
    ck_assert_str_eq(msgs, "");
    ck_assert_ptr_nonnull(cfg);
    snprintf(want, sizeof(want), "%s/sec", dir);
    ck_assert_str_eq(cfg->secrets_dir, want);
    snprintf(want, sizeof(want), "%s/state", dir);
    ck_assert_str_eq(cfg->state_dir, want);
    snprintf(want, sizeof(want), "%s/tls/ca.pem", dir);
    ck_assert_str_eq(cfg->targets[0].ca_file, want);
    snprintf(want, sizeof(want), "%s/tls/me.pem", dir);
    ck_assert_str_eq(cfg->targets[0].client_cert, want);
    snprintf(want, sizeof(want), "%s/./tls/me.key", dir);
    ck_assert_str_eq(cfg->targets[0].client_key, want);
    snprintf(want, sizeof(want), "%s/lib/x.so", dir);
    ck_assert_str_eq(cfg->reporters[0].path, want);
    ck_assert_str_eq(cfg->reporters[1].path, "/usr/lib/x.so");
    snprintf(want, sizeof(want), "%s/tls/ca.pem", dir);
    ck_assert_str_eq(cfg->targets[1].ca_file, want);
    free(msgs);
    config_free(cfg);
}
END_TEST

/* Whether <msgs> holds a line starting with <head> and containing <tail>. */
static int has_line(const char *msgs, const char *head, const char *tail)
{
    const char *line = msgs;

    while (*line) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char buf[1024];

        snprintf(buf, sizeof(buf), "%.*s", (int)len, line);
        if (strncmp(buf, head, strlen(head)) == 0 && strstr(buf, tail))
            return 1;
        line += len + (end != NULL);
    }
    return 0;
}

/* TLS files and an explicit secrets_dir are checked when loading, each
 * error at its setting; a FIFO is refused, not opened for a writer. */
START_TEST(test_config_path_errors)
{
    char *msgs, fifo[600];
    struct config *cfg;

    tu_mkdir("adir");
    tu_write("afile", "x");
    snprintf(fifo, sizeof(fifo), "%s/afifo", tu_tmpdir());
    unlink(fifo);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    cfg = load("secrets_dir: afile\n"
               "targets:\n"
               "  a:\n"
               "    base_url: http://x\n"
               "    ca_file: nope.pem\n"
               "    client_cert: adir\n"
               "    client_key: afifo\n",
               &msgs);
    ck_assert_ptr_null(cfg);
    ck_assert_msg(has_line(msgs, "c.yaml:1:14: secrets_dir '",
                           "/afile': Not a directory"),
                  "%s", msgs);
    ck_assert_msg(has_line(msgs, "c.yaml:5:14: ca_file '",
                           "/nope.pem': No such file or directory"),
                  "%s", msgs);
    ck_assert_msg(
        has_line(msgs, "c.yaml:6:18: client_cert '", "/adir' is not a regular"),
        "%s", msgs);
    ck_assert_msg(
        has_line(msgs, "c.yaml:7:17: client_key '", "/afifo' is not a regular"),
        "%s", msgs);
    free(msgs);
    cfg = load("secrets_dir: missing\ntargets: { a: { base_url: http://x } }\n",
               &msgs);
    ck_assert_ptr_null(cfg);
    ck_assert_msg(has_line(msgs, "c.yaml:1:14: secrets_dir '",
                           "/missing': No such file or directory"),
                  "%s", msgs);
    free(msgs);
    if (geteuid() != 0) {
        /* root reads anything, so only an ordinary user can see this */
        const char *locked = tu_write("locked.pem", "x");

        chmod(locked, 0);
        cfg = load("targets:\n  a: { base_url: http://x, ca_file: locked.pem }"
                   "\n",
                   &msgs);
        ck_assert_ptr_null(cfg);
        ck_assert_msg(has_line(msgs, "c.yaml:2:42: ca_file '",
                               "/locked.pem': Permission denied"),
                      "%s", msgs);
        free(msgs);
    }
    unlink(fifo);
}
END_TEST

/* secret.NAME must name a file in secrets_dir, checked at its place in
 * the template. */
START_TEST(test_config_secret_files)
{
    char *msgs;
    struct config *cfg;

    tu_mkdir("keys");
    tu_write("keys/pd", "k\n");
    cfg =
        load("secrets_dir: keys\n"
             "targets:\n"
             "  a:\n"
             "    base_url: http://x\n"
             "    vars: { t: \"{{ secret.pd }}\", u: \"x{{ secret.nope }}\" }\n"
             "reporters:\n"
             "  - pagerduty: { routing_key: \"{{ secret.pd }}\" }\n",
             &msgs);
    ck_assert_ptr_null(cfg);
    ck_assert_msg(has_line(msgs, "c.yaml:5:43: secret 'nope': ",
                           "/keys/nope: No such file or directory"),
                  "%s", msgs);
    ck_assert_msg(strchr(msgs, '\n') == msgs + strlen(msgs) - 1,
                  "one error only: %s", msgs);
    free(msgs);
}
END_TEST

START_TEST(test_config_alerting)
{
    char *msgs;
    struct config *cfg;

    cfg = load("targets:\n"
               "  a: { base_url: http://x }\n"
               "  b: { base_url: http://y }\n"
               "alerting:\n"
               "  trigger_after: 4\n"
               "  window: { failures: 3, of: 5 }\n"
               "  group_by: test\n"
               "  connectivity_check: https://gw.example.com/\n"
               "  connectivity_every: 1m\n"
               "  flapping: { changes: 4, runs: 10 }\n"
               "  silences:\n"
               "    - { days: [sat, sun], hours: \"00:00-24:00\" }\n"
               "    - hours: \"02:00-03:00\"\n"
               "      timezone: UTC\n"
               "      targets: [ b ]\n"
               "public_url: https://status.example.com\n"
               "reporters:\n"
               "  - jsonl:\n"
               "  - webhook: { url: http://127.0.0.1:1/ }\n"
               "  - webhook: { url: http://127.0.0.1:2/ }\n",
               &msgs);
    ck_assert_str_eq(msgs, "");
    ck_assert_ptr_nonnull(cfg);
    ck_assert_uint_eq(cfg->alerting.trigger_after, 4);
    ck_assert_uint_eq(cfg->alerting.resolve_after, 2);
    ck_assert_uint_eq(cfg->alerting.window_failures, 3);
    ck_assert_uint_eq(cfg->alerting.window_of, 5);
    ck_assert_int_eq(cfg->alerting.group_by, GROUP_BY_TEST);
    ck_assert_str_eq(tmpl_source(cfg->alerting.connectivity_check),
                     "https://gw.example.com/");
    ck_assert_uint_eq(cfg->alerting.connectivity_every_ms, 60000);
    ck_assert_uint_eq(cfg->alerting.flap_changes, 4);
    ck_assert_uint_eq(cfg->alerting.flap_runs, 10);
    ck_assert_uint_eq(cfg->alerting.nsilences, 2);
    ck_assert_uint_eq(cfg->alerting.silences[0].when.days,
                      DAY_BIT(0) | DAY_BIT(6));
    ck_assert_uint_eq(cfg->alerting.silences[0].when.end_min, 24 * 60);
    ck_assert_ptr_null(cfg->alerting.silences[0].targets);
    ck_assert_uint_eq(cfg->alerting.silences[1].when.start_min, 120);
    ck_assert_uint_eq(cfg->alerting.silences[1].ntargets, 1);
    ck_assert_str_eq(cfg->alerting.silences[1].targets[0], "b");
    ck_assert_str_eq(cfg->public_url, "https://status.example.com");
    ck_assert_uint_eq(cfg->nreporters, 3);
    ck_assert_str_eq(cfg->reporters[0].kind, "jsonl");
    ck_assert_ptr_null(cfg->reporters[0].settings);
    ck_assert_str_eq(cfg->reporters[2].kind, "webhook");
    free(msgs);
    config_free(cfg);
}
END_TEST

START_TEST(test_config_alerting_errors)
{
    assert_errors("targets:\n"
                  "  a: { base_url: http://x }\n"
                  "alerting:\n"
                  "  window: { failures: 6, of: 5 }\n"
                  "  group_by: team\n"
                  "  connectivity_check: gopher://gw\n"
                  "  connectivity_every: 10ms\n"
                  "  flapping: { changes: 20, runs: 100 }\n"
                  "  silences:\n"
                  "    - { hours: \"01:00-02:00\", targets: [ a, c ], "
                  "rate: 1/s }\n"
                  "    - { days: [mon] }\n"
                  "  paging: yes\n"
                  "public_url: status.example.com\n"
                  "reporters:\n"
                  "  - plugin: { config: { a: 1 } }\n"
                  "  - \"web hook\": {}\n",
                  "c.yaml:4:23: failures (6) must not be more than of (5)\n"
                  "c.yaml:5:13: group_by must be scenario or test, not "
                  "'team'\n"
                  "c.yaml:6:23: connectivity_check must start with http:// "
                  "or https://\n"
                  "c.yaml:7:23: connectivity_every must be at least 1s\n"
                  "c.yaml:8:24: changes must be fewer than runs (20)\n"
                  "c.yaml:8:34: runs must be between 2 and 64, not 100\n"
                  "c.yaml:10:45: unknown target 'c'\n"
                  "c.yaml:10:50: unknown key 'rate' in a silence\n"
                  "c.yaml:11:7: a silence needs hours, like "
                  "\"01:00-05:00\"\n"
                  "c.yaml:12:3: unknown key 'paging' in alerting\n"
                  "c.yaml:13:13: public_url must start with http:// or "
                  "https://\n"
                  "c.yaml:15:5: plugin needs a path\n"
                  "c.yaml:16:5: reporter name 'web hook' must be letters, "
                  "digits, '_' or '-'\n");
}
END_TEST

START_TEST(test_config_limits)
{
    char *msgs;
    struct config *cfg = load(
        "limits: { max_tests: 5 }\ntargets: { a: { base_url: http://x } }\n",
        &msgs);

    ck_assert_str_eq(msgs, "");
    ck_assert_ptr_nonnull(cfg);
    ck_assert_uint_eq(cfg->max_tests, 5);
    ck_assert_uint_eq(cfg->max_tests_pos.line, 1);
    ck_assert_uint_eq(cfg->max_tests_pos.col, 22);
    free(msgs);
    config_free(cfg);
    assert_errors("limits: { max_tests: 0, max_test: 1 }\n"
                  "targets: { a: { base_url: http://x } }\n",
                  "c.yaml:1:22: max_tests must be between 1 and "
                  "1000000000000, not 0\n"
                  "c.yaml:1:25: unknown key 'max_test' in limits; did you "
                  "mean 'max_tests'?\n");
}
END_TEST

START_TEST(test_config_response_caps)
{
    char *msgs;
    struct config *cfg = load("targets:\n"
                              "  a: { base_url: http://x, max_body: 4MiB, "
                              "max_headers: 128KiB }\n"
                              "  b: { base_url: http://x, max_body: 524288 }\n"
                              "  c: { base_url: http://x }\n",
                              &msgs);

    ck_assert_str_eq(msgs, "");
    ck_assert_ptr_nonnull(cfg);
    ck_assert_uint_eq(config_target(cfg, "a")->max_body, 4 << 20);
    ck_assert_uint_eq(config_target(cfg, "a")->max_headers, 128 << 10);
    ck_assert_uint_eq(config_target(cfg, "b")->max_body, 512 << 10);
    ck_assert_uint_eq(config_target(cfg, "b")->max_headers, 0);
    ck_assert_uint_eq(config_target(cfg, "c")->max_body, 0);
    free(msgs);
    config_free(cfg);
    cfg = load("targets: { a: { base_url: http://x, max_body: 64MiB, "
               "max_headers: 256KiB } }\n",
               &msgs);
    ck_assert_str_eq(msgs, "");
    ck_assert_uint_eq(cfg->targets[0].max_body, CAP_MAX_BODY);
    ck_assert_uint_eq(cfg->targets[0].max_headers, CAP_MAX_HEADERS);
    free(msgs);
    config_free(cfg);
    assert_errors("targets:\n"
                  "  a: { base_url: http://x, max_body: 0, max_headers: 0 }\n"
                  "  b: { base_url: http://x, max_body: -1, max_headers: "
                  "1MiB }\n"
                  "  c: { base_url: http://x, max_body: 65MiB, max_headers: "
                  "4KB }\n"
                  "  d: { base_url: http://x, max_body: lots, max_headers: "
                  "[1] }\n"
                  "  e: { base_url: http://x, max_body: 67108865 }\n",
                  "c.yaml:2:38: max_body must be more than 0\n"
                  "c.yaml:2:54: max_headers must be more than 0\n"
                  "c.yaml:3:38: max_body: bad size '-1': a size cannot be "
                  "negative\n"
                  "c.yaml:3:55: max_headers must be at most 256KiB, not "
                  "1MiB\n"
                  "c.yaml:4:38: max_body must be at most 64MiB, not 65MiB\n"
                  "c.yaml:4:58: max_headers: bad size '4KB': unknown unit "
                  "'KB'; use B, KiB, MiB or GiB (1MiB = 1048576 bytes)\n"
                  "c.yaml:5:38: max_body: bad size 'lots': expected a whole "
                  "number of bytes, optionally with a unit (B, KiB, MiB, "
                  "GiB), like 512KiB or 4MiB\n"
                  "c.yaml:5:57: max_headers must be a single value, not a "
                  "list\n"
                  "c.yaml:6:38: max_body must be at most 64MiB, not "
                  "67108865B\n");
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("Load");
    TCase *te = tcase_create("Errors");

    tcase_add_test(tc, test_config_full_example);
    tcase_add_test(tc, test_config_defaults);
    tcase_add_test(tc, test_config_listen_health_metrics);
    tcase_add_test(tc, test_config_paths_relative_to_file);
    tcase_add_test(tc, test_config_limits);
    tcase_add_test(te, test_config_response_caps);
    tcase_add_test(te, test_config_path_errors);
    tcase_add_test(te, test_config_secret_files);
    tcase_add_test(te, test_config_unknown_keys_suggest);
    tcase_add_test(te, test_config_bad_values_all_reported);
    tcase_add_test(te, test_config_location);
    tcase_add_test(te, test_config_fleet);
    tcase_add_test(te, test_config_structure_errors);
    tcase_add_test(tc, test_config_alerting);
    tcase_add_test(te, test_config_alerting_errors);
    suite_add_tcase(s, tc);
    suite_add_tcase(s, te);
    return s;
}

int main(void)
{
    return pw_run_suite(config_suite());
}
