/*
 * Shared helpers of the `ami` sub-commands (see cli.h).
 * SPDX-License-Identifier: Apache-2.0
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ami/error.h"

int cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "ami %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'ami %s --help'.\n", cmd);
    return AMI_EXIT_USAGE;
}

int cli_fail(const char *cmd, const char *what, const char *layer, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "ami %s: ", cmd);
    if (what)
        fprintf(stderr, "%s: ", what);
    if (layer)
        fprintf(stderr, "%s: ", layer);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return AMI_EXIT_ERROR;
}

int cli_dispatch(struct ami_cli *cli, int argc, char **argv, const char *usage,
                 const struct ami_subcommand *table)
{
    const char *cmd = argv[0];
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        FILE *out = argc < 2 ? stderr : stdout;
        fprintf(out, "Usage: %s\n\nCommands:\n", usage);
        for (const struct ami_subcommand *s = table; s->name; s++)
            fprintf(out, "  %-12s %s\n", s->name, s->summary);
        fprintf(out, "\nRun 'ami %s COMMAND --help' for the options of a command.\n", cmd);
        return argc < 2 ? AMI_EXIT_USAGE : AMI_EXIT_OK;
    }
    for (const struct ami_subcommand *s = table; s->name; s++) {
        if (!strcmp(argv[1], s->name)) {
            optind = 1;
            return s->run(cli, argc - 1, argv + 1);
        }
    }
    return cli_usage(cmd, "unknown command '%s'", argv[1]);
}

int cli_read_file(const char *path, size_t max, unsigned char **buf, size_t *len)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f)
        return AMI_E_IO;
    size_t cap = 4096, n = 0;
    unsigned char *b = malloc(cap);
    int rc = AMI_OK;
    while (b) {
        size_t got = fread(b + n, 1, cap - n, f);
        n += got;
        if (n < cap) {
            if (ferror(f))
                rc = AMI_E_IO;
            break;
        }
        if (cap >= max) {
            rc = AMI_E_TOO_LARGE;
            break;
        }
        size_t ncap = cap * 2 > max ? max : cap * 2;
        unsigned char *nb = realloc(b, ncap);
        if (!nb) {
            free(b);
            b = NULL;
            break;
        }
        b = nb;
        cap = ncap;
    }
    if (f != stdin)
        fclose(f);
    if (!b)
        return AMI_E_NOMEM;
    if (rc) {
        free(b);
        return rc;
    }
    *buf = b;
    *len = n;
    return AMI_OK;
}

bool cli_parse_long(const char *s, long min, long max, long *out)
{
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

bool cli_stdout_is_tty(void)
{
    return isatty(STDOUT_FILENO) == 1;
}
