/*
 * ami obis: parse OBIS codes written in any accepted form and print them in every style.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <getopt.h>
#include <string.h>

#include "ami/error.h"
#include "ami/json.h"
#include "ami/obis.h"
#include "cli.h"

static void help(FILE *out)
{
    fprintf(out, "Usage: ami obis [--json] CODE...\n\n"
                 "Parses each OBIS code (IEC 62056-61) and prints it in every style:\n"
                 "canonical (1-0:1.8.0.255), star (1-0:1.8.0*255), short (1-0:1.8.0, F = 255\n"
                 "omitted) and 12 hex digits (0100010800FF).\n\n"
                 "Accepted forms: A-B:C.D.E.F, A-B:C.D.E*F, A-B:C.D.E&F, A-B:C.D.E (F = 255),\n"
                 "A.B.C.D.E.F and 12 hex digits. No white space.\n\n"
                 "  --json      one JSON array, an object per code\n"
                 "  -h, --help  this help\n\n"
                 "Exit status: 0 all codes valid, 1 a code was rejected, 2 usage error.\n");
}

static int run(struct ami_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'J'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool json = cli->json;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'J':
            json = true;
            break;
        case 'h':
            help(stdout);
            return AMI_EXIT_OK;
        default:
            return cli_usage("obis", "bad option");
        }
    }
    if (optind >= argc)
        return cli_usage("obis", "give at least one OBIS code");

    static const char *const names[] = {"obis", "star", "short", "hex"};
    int status = AMI_EXIT_OK;
    ami_jw w;
    if (json) {
        ami_jw_init_file(&w, stdout);
        ami_jw_arr_begin(&w);
    }
    for (int i = optind; i < argc; i++) {
        const char *in = argv[i];
        ami_obis o;
        int rc = ami_obis_parse(in, strlen(in), &o);
        if (rc < 0) {
            status = cli_fail("obis", in, "obis", "%s",
                              rc == AMI_E_RANGE ? "value group above 255"
                                                : "not an OBIS code (A-B:C.D.E.F, A-B:C.D.E*F, "
                                                  "A-B:C.D.E, A.B.C.D.E.F or 12 hex digits)");
            if (json) {
                ami_jw_obj_begin(&w);
                ami_jw_key(&w, "input");
                ami_jw_str(&w, in);
                ami_jw_key(&w, "error");
                ami_jw_str(&w, ami_errname(rc));
                ami_jw_obj_end(&w);
            }
            continue;
        }
        char s[4][AMI_OBIS_STRLEN];
        for (int k = 0; k < 4; k++)
            (void)ami_obis_format(&o, (enum ami_obis_style)k, s[k], sizeof s[k]);
        if (json) {
            ami_jw_obj_begin(&w);
            ami_jw_key(&w, "input");
            ami_jw_str(&w, in);
            for (int k = 0; k < 4; k++) {
                ami_jw_key(&w, names[k]);
                ami_jw_str(&w, s[k]);
            }
            ami_jw_key(&w, "groups");
            ami_jw_arr_begin(&w);
            for (int k = 0; k < 6; k++)
                ami_jw_uint(&w, o.v[k]);
            ami_jw_arr_end(&w);
            ami_jw_obj_end(&w);
        } else {
            printf("%s  star %s  short %s  hex %s\n", s[0], s[1], s[2], s[3]);
        }
    }
    if (json) {
        ami_jw_arr_end(&w);
        fputc('\n', stdout);
    }
    return status;
}

const struct ami_command ami_cmd_obis = {"obis", "parse OBIS codes and print them in every style",
                                         run};
