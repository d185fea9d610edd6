/* probe.h -- what the test plugin saw, for check_reporters_host.c.
 *
 * The test finds the plugin's one instance of this struct by dlopen()ing
 * the same file (the loader hands back the handle it already has) and
 * looking up PROBE_SYMBOL.  Test code only: a real plugin keeps its state
 * in the instance create() returns.
 */
#ifndef PW_TEST_PROBE_H
#define PW_TEST_PROBE_H

#include <stddef.h>

#define PROBE_SYMBOL "good_probe"

struct probe {
    int created, destroyed, flushed;
    int results;
    int alerts;
    int check_http, check_timer; /* what http/timer_add gave in check mode */
    long http_status;            /* of GET <url>small */
    char http_body[64];
    char http_header[64];        /* its X-Test header */
    long big_status;             /* of GET <url>big */
    size_t big_len;
    int http_answers;
    int timer_fired, long_timer_fired;
    int kv_answers;
    char kv_value[128]; /* the first get, after a set */
    int kv_after_del_null; /* the second get, after a del */
};

#endif /* PW_TEST_PROBE_H */
