/*
 * ami axdr: decodes one A-XDR encoded COSEM Data value (Green Book 9.5) and prints it as an
 * indented tree or as JSON; --encode-check re-encodes it and compares.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "ami/ami.h"
#include "cli.h"

static void help(FILE *out)
{
    fprintf(out,
            "Usage: ami axdr [OPTIONS] (HEX | --file FILE | -)\n\n"
            "Decodes one A-XDR encoded COSEM Data value (the value of a GET response, a\n"
            "profile buffer, a SET or ACTION parameter) and prints it as an indented tree:\n"
            "one element per line, type names, integers in decimal, octet-strings in hex\n"
            "with their reading as a date-time, an OBIS code or text where one fits.\n\n"
            "  HEX               the value in hex (spaces allowed); give it quoted\n"
            "  --file FILE       read the value in hex from FILE (- = stdin)\n"
            "  --raw             with --file: FILE holds the bytes themselves, not hex\n"
            "  --json            one JSON document (see docs/axdr.md for its shape)\n"
            "  --trailing        accept bytes after the value (their count is reported)\n"
            "  --max-depth N     nesting limit (default 16, at most %d)\n"
            "  --max-nodes N     limit of decoded values (default 1000000)\n"
            "  --max-length N    longest string or element count (default 1048576)\n"
            "  -h, --help        this help\n\n"
            "Exit status: 0 decoded; 1 the bytes are not a valid value (the cause and the\n"
            "offset are named); 2 usage error.\n",
            AMI_AXDR_MAX_DEPTH);
}

static int sink_stdout(void *user, const char *s, size_t n)
{
    (void)user;
    return fwrite(s, 1, n, stdout) == n ? AMI_OK : AMI_E_IO;
}

static int run(struct ami_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"file", required_argument, NULL, 'f'},
        {"raw", no_argument, NULL, 'r'},
        {"json", no_argument, NULL, 'J'},
        {"trailing", no_argument, NULL, 't'},
        {"max-depth", required_argument, NULL, 'd'},
        {"max-nodes", required_argument, NULL, 'n'},
        {"max-length", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool json = cli->json, raw = false, trailing = false;
    const char *file = NULL;
    ami_axdr_limits lim;
    ami_axdr_limits_default(&lim);
    long val;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            file = optarg;
            break;
        case 'r':
            raw = true;
            break;
        case 'J':
            json = true;
            break;
        case 't':
            trailing = true;
            break;
        case 'd':
            if (!cli_parse_long(optarg, 0, AMI_AXDR_MAX_DEPTH, &val))
                return cli_usage("axdr", "--max-depth: expected 0..%d", AMI_AXDR_MAX_DEPTH);
            lim.max_depth = (unsigned)val;
            break;
        case 'n':
            if (!cli_parse_long(optarg, 1, 100000000, &val))
                return cli_usage("axdr", "--max-nodes: expected 1..100000000");
            lim.max_nodes = (uint32_t)val;
            break;
        case 'l':
            if (!cli_parse_long(optarg, 0, 0x7FFFFFFF, &val))
                return cli_usage("axdr", "--max-length: expected 0..2147483647");
            lim.max_length = (uint32_t)val;
            break;
        case 'h':
            help(stdout);
            return AMI_EXIT_OK;
        default:
            return cli_usage("axdr", "bad option");
        }
    }
    if ((file != NULL) == (optind < argc) || argc - optind > 1)
        return cli_usage("axdr", "give either HEX or --file FILE");
    if (raw && !file)
        return cli_usage("axdr", "--raw needs --file");

    const char *what = file ? file : "argument";
    uint8_t *text = NULL, *buf;
    size_t len;
    if (file) {
        int rc = cli_read_file(file, (size_t)1 << 28, &text, &len);
        if (rc < 0)
            return cli_fail("axdr", file, NULL, "%s", ami_strerror(rc));
    }
    if (raw) {
        buf = text;
    } else {
        const char *hex = file ? (const char *)text : argv[optind];
        size_t hexlen = file ? len : strlen(hex);
        buf = malloc(hexlen / 2 + 1);
        if (!buf) {
            free(text);
            return cli_fail("axdr", what, NULL, "out of memory");
        }
        int n = ami_hex_decode(hex, hexlen, buf, hexlen / 2 + 1);
        free(text);
        if (n < 0) {
            free(buf);
            if (file)
                return cli_fail("axdr", what, "hex", "%s", ami_strerror(n));
            return cli_usage("axdr", "HEX: %s", ami_strerror(n));
        }
        len = (size_t)n;
    }

    /* Nodes take sizeof(ami_axdr_value) bytes each; the arena holds max_nodes of them. */
    size_t cap = (size_t)lim.max_nodes * (sizeof(ami_axdr_value) + 16);
    void *mem = malloc(cap);
    if (!mem) {
        free(buf);
        return cli_fail("axdr", what, NULL, "out of memory");
    }
    ami_arena a;
    ami_arena_init(&a, mem, cap);
    ami_rd r;
    ami_rd_init(&r, buf, len);
    ami_axdr_value *v;
    int rc = ami_axdr_decode(&r, &a, &lim, &v);
    int status = AMI_EXIT_OK;
    if (rc != AMI_OK) {
        status = cli_fail("axdr", what, "a-xdr", "%s (%s) in the %zu bytes given", ami_strerror(rc),
                          ami_errname(rc), len);
    } else if (r.pos != len && !trailing) {
        status = cli_fail("axdr", what, "a-xdr",
                          "%zu bytes after the value (which ends at byte %zu); --trailing "
                          "accepts them",
                          len - r.pos, r.pos);
    } else if (json) {
        ami_jw w;
        ami_jw_init_file(&w, stdout);
        ami_jw_obj_begin(&w);
        ami_jw_key(&w, "length");
        ami_jw_uint(&w, r.pos);
        if (r.pos != len) {
            ami_jw_key(&w, "trailing");
            ami_jw_uint(&w, len - r.pos);
        }
        ami_jw_key(&w, "data");
        ami_axdr_to_json(v, &w);
        ami_jw_obj_end(&w);
        fputc('\n', stdout);
        if (ami_jw_error(&w))
            status = cli_fail("axdr", what, "json", "%s", ami_strerror(ami_jw_error(&w)));
    } else {
        rc = ami_axdr_format_text(v, sink_stdout, NULL);
        if (rc)
            status = cli_fail("axdr", what, "a-xdr", "rendering: %s", ami_strerror(rc));
        else if (r.pos != len)
            printf("(%zu trailing bytes)\n", len - r.pos);
    }
    free(mem);
    free(buf);
    return status;
}

const struct ami_command ami_cmd_axdr = {"axdr", "decode an A-XDR (COSEM Data) value", run};
