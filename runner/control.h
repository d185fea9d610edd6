/* control.h -- the fleet commands: status, pause, resume, silence.
 *
 * They talk to Redis only, through the keys of keys.h, so they reach every
 * runner on the same Redis: a runner polls the control keys and obeys
 * within a second.  They load the configuration file (for the Redis
 * address, the key prefix and the target names) but no scenario.
 */
#ifndef PW_CONTROL_H
#define PW_CONTROL_H

/* `prodwatch status [-c FILE] [--target T] [--scenario S]
 * [--status pass|fail|error] [--json]`: the state of every test. */
int control_status_main(int argc, char **argv);

/* `prodwatch pause [-c FILE] [--target T]` and `resume`: stop or restart
 * probing, everywhere or of one target. */
int control_pause_main(int argc, char **argv);
int control_resume_main(int argc, char **argv);

/* `prodwatch silence --target T --for DURATION [-c FILE]`: suppress pages
 * of target T for a while (`--for 0` lifts a silence). */
int control_silence_main(int argc, char **argv);

#endif /* PW_CONTROL_H */
