/* check_config.c -- prodwatch.yaml loading and validation. */
#include <stdlib.h>
#include <string.h>

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
    struct config *cfg =
        load("redis: redis://10.0.0.5:6380/2\n"
             "key_prefix: pw\n"
             "scenarios: [ \"a/*.yaml\", \"b/*.yaml\" ]\n"
             "secrets_dir: /run/secrets\n"
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
             "    ca_file: /etc/ssl/canary.pem\n"
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
    ck_assert_str_eq(cfg->secrets_dir, "/run/secrets");
    ck_assert_uint_eq(cfg->ntargets, 2);
    ck_assert_str_eq(cfg->targets[0].name, "prod-eu");
    ck_assert_double_eq_tol(cfg->targets[0].rate, 2.0, 1e-9);
    ck_assert_str_eq(cfg->targets[0].vars[0].name, "tenant");
    ck_assert_str_eq(tmpl_source(cfg->targets[0].vars[0].value), "acme");
    ck_assert_str_eq(cfg->targets[1].channel, "canary");
    ck_assert_str_eq(cfg->targets[1].ca_file, "/etc/ssl/canary.pem");
    ck_assert_ptr_eq(config_target(cfg, "canary"), &cfg->targets[1]);
    ck_assert_ptr_null(config_target(cfg, "nope"));
    ck_assert_uint_eq(cfg->concurrency, 4);
    ck_assert_double_eq_tol(cfg->rate, 5.0, 1e-9);
    ck_assert_uint_eq(cfg->nwindows, 1);
    ck_assert_uint_eq(cfg->windows[0].days, DAY_BIT(1) | DAY_BIT(5));
    ck_assert_uint_eq(cfg->windows[0].start_min, 22 * 60 + 30);
    ck_assert_uint_eq(cfg->windows[0].end_min, 5 * 60);
    ck_assert_uint_eq(cfg->trigger_after, 5);
    ck_assert_uint_eq(cfg->resolve_after, 1);
    ck_assert_uint_eq(cfg->nreporters, 4);
    ck_assert_int_eq(cfg->reporters[0].kind, REP_PAGERDUTY);
    ck_assert_str_eq(tmpl_source(cfg->reporters[0].routing_key),
                     "{{ secret.pagerduty }}");
    ck_assert_int_eq(cfg->reporters[3].kind, REP_PLUGIN);
    ck_assert_ptr_nonnull(cfg->reporters[3].plugin_config);
    free(msgs);
    config_free(cfg);
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
    ck_assert_uint_eq(cfg->concurrency, 8);
    ck_assert_uint_eq(cfg->trigger_after, 3);
    ck_assert_uint_eq(cfg->resolve_after, 2);
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
                  "  - pagerduty: { url: https://x }\n"
                  "  - email: { to: x }\n",
                  "c.yaml:1:8: redis must be redis://HOST:PORT[/DB] or "
                  "unix:/PATH, not 'http://localhost'\n"
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
                  "c.yaml:15:5: pagerduty needs a routing_key\n"
                  "c.yaml:16:5: unknown key 'email' in reporters\n");
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

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("Load");
    TCase *te = tcase_create("Errors");

    tcase_add_test(tc, test_config_full_example);
    tcase_add_test(tc, test_config_defaults);
    tcase_add_test(te, test_config_unknown_keys_suggest);
    tcase_add_test(te, test_config_bad_values_all_reported);
    tcase_add_test(te, test_config_structure_errors);
    suite_add_tcase(s, tc);
    suite_add_tcase(s, te);
    return s;
}

int main(void)
{
    return pw_run_suite(config_suite());
}
