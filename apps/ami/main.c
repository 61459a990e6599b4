/*
 * ami: the openami command-line tool. Global options, then a sub-command.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "ami/common.h"
#include "cli.h"

#define AMI_COMMAND(n) extern const struct ami_command ami_cmd_##n;
#include "ami_commands.inc"
#undef AMI_COMMAND

static const struct ami_command *const commands[] = {
#define AMI_COMMAND(n) &ami_cmd_##n,
#include "ami_commands.inc"
#undef AMI_COMMAND
};

static void usage(FILE *out)
{
    fprintf(out, "Usage: ami [--json] [-v] COMMAND [ARGS...]\n"
                 "       ami --help | --version\n\n"
                 "openami: read, decode and simulate smart meters (DLMS/COSEM, DSMR P1,\n"
                 "IEC 62056-21).\n\nCommands:\n");
    for (size_t i = 0; i < AMI_COUNTOF(commands); i++)
        fprintf(out, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(out, "\nGlobal options:\n"
                 "  --json         machine-readable JSON output (also accepted after COMMAND)\n"
                 "  -v, --verbose  more detail on stderr (repeatable)\n"
                 "  -h, --help     this help; 'ami COMMAND --help' for a command's options\n"
                 "  -V, --version  print the version\n\n"
                 "Exit status: 0 success, 1 meter/data/protocol error, 2 usage error.\n");
}

int main(int argc, char **argv)
{
    struct ami_cli cli = {0};
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {"json", no_argument, NULL, 'J'},
        {"verbose", no_argument, NULL, 'v'},
        {NULL, 0, NULL, 0},
    };
    int c;
    /* '+' stops at the first non-option: the sub-command parses the rest. */
    while ((c = getopt_long(argc, argv, "+hVv", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            usage(stdout);
            return AMI_EXIT_OK;
        case 'V':
            printf("ami (openami) %s\n", ami_version());
            return AMI_EXIT_OK;
        case 'J':
            cli.json = true;
            break;
        case 'v':
            cli.verbose++;
            break;
        default:
            fprintf(stderr, "Try 'ami --help'.\n");
            return AMI_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return AMI_EXIT_USAGE;
    }
    const char *name = argv[optind];
    static char help_opt[] = "--help";
    char *help_argv[3] = {NULL, help_opt, NULL};
    if (!strcmp(name, "help")) {
        if (optind + 1 >= argc) {
            usage(stdout);
            return AMI_EXIT_OK;
        }
        /* `ami help CMD` is `ami CMD --help`. */
        help_argv[0] = argv[optind + 1];
        argv = help_argv;
        argc = 2;
        optind = 0;
        name = argv[0];
    }
    for (size_t i = 0; i < AMI_COUNTOF(commands); i++) {
        if (!strcmp(name, commands[i]->name)) {
            char **sub = argv + optind;
            int subc = argc - optind;
            optind = 1;
            return commands[i]->run(&cli, subc, sub);
        }
    }
    fprintf(stderr, "ami: unknown command '%s'\nTry 'ami --help'.\n", name);
    return AMI_EXIT_USAGE;
}
