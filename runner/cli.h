/* cli.h -- the prodwatch command line.
 *
 * Commands print for people on stdout, problems on stderr, and exit with
 * the codes of the product contract: 0 success, 2 bad configuration or
 * usage.
 */
#ifndef PW_CLI_H
#define PW_CLI_H

#define CLI_EXIT_OK    0
#define CLI_EXIT_FAIL  1
#define CLI_EXIT_USAGE 2

#define CLI_DEFAULT_CONFIG "/etc/prodwatch/prodwatch.yaml"

/* The configuration file to use: <given> (-c) when not NULL, else
 * $PRODWATCH_CONFIG when set, else CLI_DEFAULT_CONFIG. */
const char *cli_config_path(const char *given);

/* For a command's option parser: report what getopt_long() returned for
 * a bad option (':' a missing value, anything else unknown) of command
 * argv[0] on stderr.  Returns CLI_EXIT_USAGE. */
int cli_bad_option(int ch, char **argv);

/* After a command's options: CLI_EXIT_USAGE (reported) when an argument
 * is left over, else -1 ("go on"). */
int cli_no_operands(int argc, char **argv);

/* Run the command line <argv> and return the process exit code. */
int cli_main(int argc, char **argv);

#endif /* PW_CLI_H */
