/*
 * ami crc: the CRC-16 of bytes given in hex or read from a file (HDLC FCS, DSMR P1 CRC).
 * SPDX-License-Identifier: Apache-2.0
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "ami/bytes.h"
#include "ami/crc.h"
#include "ami/json.h"
#include "cli.h"

static void help(FILE *out)
{
    fprintf(out, "Usage: ami crc [--x25 | --arc] [--json] (--hex HEX | FILE | -)\n\n"
                 "Computes a CRC-16 over the given bytes.\n\n"
                 "  --x25       CRC-16/X.25, the HDLC HCS/FCS (default); printed as the\n"
                 "              value and as the two bytes sent on the wire (low byte first)\n"
                 "  --arc       CRC-16/ARC, the DSMR P1 telegram CRC\n"
                 "  --hex HEX   the bytes in hex (spaces allowed) instead of a file\n"
                 "  --json      one JSON object\n"
                 "  -h, --help  this help\n");
}

static int run(struct ami_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"x25", no_argument, NULL, 'x'},       {"arc", no_argument, NULL, 'a'},
        {"hex", required_argument, NULL, 'H'}, {"json", no_argument, NULL, 'J'},
        {"help", no_argument, NULL, 'h'},      {NULL, 0, NULL, 0},
    };
    bool arc = false, json = cli->json;
    const char *hex = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'x':
            arc = false;
            break;
        case 'a':
            arc = true;
            break;
        case 'H':
            hex = optarg;
            break;
        case 'J':
            json = true;
            break;
        case 'h':
            help(stdout);
            return AMI_EXIT_OK;
        default:
            return cli_usage("crc", "bad option");
        }
    }
    if ((hex != NULL) == (optind < argc) || argc - optind > 1)
        return cli_usage("crc", "give either --hex HEX or one FILE");

    uint8_t *buf;
    size_t len;
    if (hex) {
        size_t cap = strlen(hex) / 2 + 1;
        buf = malloc(cap);
        if (!buf)
            return cli_fail("crc", NULL, NULL, "out of memory");
        int n = ami_hex_decode(hex, strlen(hex), buf, cap);
        if (n < 0) {
            free(buf);
            return cli_usage("crc", "--hex: %s", ami_strerror(n));
        }
        len = (size_t)n;
    } else {
        int rc = cli_read_file(argv[optind], (size_t)1 << 30, &buf, &len);
        if (rc < 0)
            return cli_fail("crc", argv[optind], NULL, "%s", ami_strerror(rc));
    }
    uint16_t crc = arc ? ami_crc16_arc(buf, len) : ami_crc16_x25(buf, len);
    free(buf);
    char value[5], wire[5];
    snprintf(value, sizeof value, "%04X", crc);
    snprintf(wire, sizeof wire, "%02X%02X", crc & 0xFF, crc >> 8);
    if (json) {
        ami_jw w;
        ami_jw_init_file(&w, stdout);
        ami_jw_obj_begin(&w);
        ami_jw_key(&w, "algorithm");
        ami_jw_str(&w, arc ? "CRC-16/ARC" : "CRC-16/X.25");
        ami_jw_key(&w, "length");
        ami_jw_uint(&w, len);
        ami_jw_key(&w, "crc");
        ami_jw_str(&w, value);
        if (!arc) {
            ami_jw_key(&w, "wire");
            ami_jw_str(&w, wire);
        }
        ami_jw_obj_end(&w);
        fputc('\n', stdout);
    } else if (arc) {
        printf("%s\n", value);
    } else {
        printf("%s (on the wire: %s)\n", value, wire);
    }
    return AMI_EXIT_OK;
}

const struct ami_command ami_cmd_crc = {"crc", "CRC-16/X.25 (HDLC) or CRC-16/ARC (P1) of bytes",
                                        run};
