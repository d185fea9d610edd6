/* service.h -- `prodwatch run` and `prodwatch sweep`.
 *
 * `run` is the service: it loads the suite, schedules every selected test
 * every `every` on the engine, writes each result to Redis (spooled to the
 * state directory while Redis is away), journals every cleanup in Redis,
 * obeys the fleet's control keys, talks to systemd (READY, STATUS,
 * WATCHDOG, STOPPING), reloads on SIGHUP and stops gracefully on SIGTERM
 * or SIGINT.  It logs one line per event on stderr.
 *
 * `sweep` sends every pending cleanup of runners that are gone -- and of
 * this runner's earlier process, when it is not running -- now.
 */
#ifndef PW_SERVICE_H
#define PW_SERVICE_H

/* `prodwatch run [-c FILE] [--scenario S] [--target T] [--tag T]
 * [--log-level L] [--log-format text|json] [--runner-id ID]
 * [--grace DURATION]`.  Returns the exit code: 0 after a clean stop, 2 on
 * a bad configuration or usage, 1 when the service could not start. */
int service_run_main(int argc, char **argv);

/* `prodwatch sweep [-c FILE] [--runner-id ID]`: 0 when every pending
 * cleanup was sent and accepted, 1 when some are left (or Redis could not
 * be reached), 2 on a bad configuration or usage. */
int service_sweep_main(int argc, char **argv);

#endif /* PW_SERVICE_H */
