/*
 * Shared conventions of the `ami` sub-commands.
 *
 * Each sub-command lives in apps/ami/cmd_<name>.c and defines
 *     const struct ami_command ami_cmd_<name> = { "<name>", "summary", run };
 * The table is generated from the file names by CMake, so adding a file adds the command.
 *
 * Exit status, the same for every command:
 *   0 success; 1 a meter, data or protocol error (named on stderr: input, layer, cause);
 *   2 a usage error (bad option or argument; a hint to --help on stderr).
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_APP_CLI_H
#define AMI_APP_CLI_H

#include <stdbool.h>
#include <stdio.h>

enum { AMI_EXIT_OK = 0, AMI_EXIT_ERROR = 1, AMI_EXIT_USAGE = 2 };

/* Global state shared by sub-commands (options given before the sub-command name). */
struct ami_cli {
    bool json;   /* --json: machine-readable output */
    int verbose; /* -v, repeatable */
};

struct ami_command {
    const char *name;
    const char *summary;
    /* argv[0] is the command name; getopt_long may be used (optind is reset before the call). */
    int (*run)(struct ami_cli *cli, int argc, char **argv);
};

/* A nested sub-command table entry (e.g. `ami p1 read`). */
struct ami_subcommand {
    const char *name;
    const char *summary;
    int (*run)(struct ami_cli *cli, int argc, char **argv);
};

/*
 * Runs argv[1] from table (NULL-name terminated). Prints the list for --help/-h/no argument.
 * `usage` is the line shown under "Usage:" (e.g. "ami p1 COMMAND [OPTIONS]").
 */
int cli_dispatch(struct ami_cli *cli, int argc, char **argv, const char *usage,
                 const struct ami_subcommand *table);

/* Prints "ami <cmd>: <message>" and a hint to --help on stderr; returns AMI_EXIT_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Prints "ami <cmd>: <what>: <layer>: <message>" on stderr and returns AMI_EXIT_ERROR. `what`
 * names the input (a file, a port, a meter); `layer` the protocol layer ("crc", "hdlc",
 * "a-xdr", ...). Either may be NULL.
 */
int cli_fail(const char *cmd, const char *what, const char *layer, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Reads a whole file ("-" = stdin) into a malloc'd buffer, at most `max` bytes. */
int cli_read_file(const char *path, size_t max, unsigned char **buf, size_t *len);

/* Parses a decimal integer in [min, max]; returns false on any garbage. */
bool cli_parse_long(const char *s, long min, long max, long *out);

/* True when stdout is a terminal (readable tables) rather than a pipe. */
bool cli_stdout_is_tty(void);

#endif
