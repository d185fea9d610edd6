/* docs_cmd.h -- `prodwatch docs`: scenario pages written as files.
 *
 * Reads the configuration and, when Redis answers, each selected test's
 * last result ({p}:test:{id}); renders with docs.h.
 */
#ifndef PW_DOCS_CMD_H
#define PW_DOCS_CMD_H

/* `prodwatch docs [-c FILE] [--format md|html] [-o DIR] [--scenario NAME]
 * [--target T] [--tag T]`: one page per selected scenario and an index
 * into DIR (created if missing), or the Markdown pages on stdout without
 * -o (HTML needs -o: usage error).  Pages carry dates, never ages.
 * Redis being unreachable gives a warning on stderr and pages without
 * results.  Returns 0, 1 when a file or stdout cannot be written (said
 * on stderr), 2 on bad configuration or usage. */
int docs_main(int argc, char **argv);

#endif /* PW_DOCS_CMD_H */
