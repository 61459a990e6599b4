/*
 * ami decode: a protocol analyser for DLMS/COSEM. Takes an HDLC frame (or several), a TCP/UDP
 * wrapper PDU or a bare APDU in hex, detects the layer from the first bytes and prints every
 * layer down to the A-XDR data, as indented text or (--json) as one JSON document per input.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "ami/apdu.h"
#include "ami/bytes.h"
#include "ami/hdlc.h"
#include "ami/json.h"
#include "ami/wrapper.h"
#include "cli.h"

#define MAX_INPUT (1u << 20)
#define SCRATCH   (4u << 20)

static void help(FILE *out)
{
    fprintf(out,
            "Usage: ami decode [--json] [--lenient] [HEX...]\n\n"
            "Decodes DLMS/COSEM bytes layer by layer, like a protocol analyser. The layer is\n"
            "detected from the first bytes:\n"
            "  7E ...    HDLC frames (IEC 62056-46); several frames in a row are decoded in turn\n"
            "            and segmented I-frames reassembled into one APDU\n"
            "  00 01 ... a TCP/UDP wrapper PDU (IEC 62056-47)\n"
            "  other     an APDU: AARQ/AARE/RLRQ/RLRE, xDLMS (GET/SET/ACTION, notifications,\n"
            "            general-block-transfer, short-name services, InitiateRequest/Response,\n"
            "            exception and confirmed-service errors) or a ciphered APDU (its security\n"
            "            header; the contents need the keys)\n\n"
            "The HEX arguments together form one input (spaces allowed). Without them, each\n"
            "line of standard input is one input ('#' lines and blank lines are skipped; a\n"
            "leading TX/RX word is ignored).\n\n"
            "  --json      one JSON document per input (see docs/dlms.md)\n"
            "  --lenient   accept the deviations seen in the field that docs/dlms.md\n"
            "              lists (stray bytes after an APDU)\n"
            "  -h, --help  this help\n\n"
            "Exit status: 0 decoded, 1 an input is not valid (the layer and cause on stderr),\n"
            "2 usage error.\n");
}

typedef struct ctx {
    bool json;
    bool lenient;
    ami_arena scratch;
    const char *what; /* names the input in errors */
    /* HDLC reassembly, kept across stdin lines so a trace's segments join up: one buffer per
     * direction (0: unmarked, 1: TX, 2: RX; -1 while decoding the arguments). */
    int dir;
    uint8_t *reasm[3];
    size_t have[3];
} ctx;

static int out_sink(void *user, const char *s, size_t n)
{
    (void)user;
    return fwrite(s, 1, n, stdout) == n ? AMI_OK : AMI_E_IO;
}

/* Decodes and prints one APDU (text at `indent`, or the "apdu" member of the open object). */
static int show_apdu(ctx *c, ami_jw *jw, const uint8_t *p, size_t n, unsigned indent)
{
    ami_apdu_opts opts = {NULL, c->lenient ? AMI_APDU_LENIENT_TRAILING : 0};
    ami_apdu a;
    ami_arena_reset(&c->scratch);
    int rc = ami_apdu_decode(p, n, &c->scratch, &opts, &a);
    if (rc != AMI_OK) {
        if (jw) {
            ami_jw_key(jw, "apdu_error");
            ami_jw_str(jw, ami_strerror(rc));
        }
        char tag[64];
        snprintf(tag, sizeof tag, "%s (0x%02X)", n ? ami_apdu_tag_name(p[0]) : "empty",
                 n ? p[0] : 0);
        cli_fail("decode", c->what, "apdu", "%s: %s%s", tag, ami_strerror(rc),
                 rc == AMI_E_MALFORMED && !c->lenient ? " (try --lenient)" : "");
        return AMI_EXIT_ERROR;
    }
    if (jw) {
        ami_jw_key(jw, "apdu");
        ami_apdu_to_json(&a, &c->scratch, jw);
    } else if (ami_apdu_format_text(&a, &c->scratch, indent, out_sink, NULL) != AMI_OK) {
        return cli_fail("decode", c->what, NULL, "cannot write the output");
    }
    return AMI_EXIT_OK;
}

/* A run of HDLC frames; I/UI information fields are reassembled while segmented. */
static int show_hdlc(ctx *c, ami_jw *jw, const uint8_t *p, size_t n)
{
    if (c->dir < 0)
        c->dir = 0;
    if (!c->reasm[c->dir] && !(c->reasm[c->dir] = malloc(MAX_INPUT)))
        return cli_fail("decode", c->what, NULL, "out of memory");
    uint8_t *apdu = c->reasm[c->dir];
    size_t have = c->have[c->dir];
    int status = AMI_EXIT_OK;
    unsigned index = 0;
    if (jw) {
        ami_jw_key(jw, "frames");
        ami_jw_arr_begin(jw);
    }
    while (n && status == AMI_EXIT_OK) {
        ami_hdlc_frame f;
        int rc = ami_hdlc_frame_decode(p, n, 0, &f);
        index++;
        if (rc < 0) {
            status = cli_fail("decode", c->what, "hdlc", "frame %u: %s", index, ami_strerror(rc));
            break;
        }
        bool carries = (f.type == AMI_HDLC_I || f.type == AMI_HDLC_UI) && f.info_len;
        const uint8_t *info = f.info;
        size_t info_len = f.info_len;
        const char *llc = NULL;
        if (carries && have == 0 && info_len >= AMI_HDLC_LLC_LEN && info[0] == 0xE6) {
            if (!memcmp(info, ami_hdlc_llc_request, AMI_HDLC_LLC_LEN))
                llc = "request (E6 E6 00)";
            else if (!memcmp(info, ami_hdlc_llc_response, AMI_HDLC_LLC_LEN))
                llc = "response (E6 E7 00)";
            if (llc) {
                info += AMI_HDLC_LLC_LEN;
                info_len -= AMI_HDLC_LLC_LEN;
            }
        }
        if (jw) {
            ami_jw_obj_begin(jw);
            ami_jw_key(jw, "hdlc");
            ami_hdlc_frame_describe_json(&f, jw);
            if (llc) {
                ami_jw_key(jw, "llc");
                ami_jw_str(jw, llc);
            }
        } else {
            char line[512];
            if (ami_hdlc_frame_describe(&f, line, sizeof line) < 0)
                line[0] = 0;
            printf("HDLC frame %u: %s\n", index, line);
            if (llc)
                printf("  LLC: %s\n", llc);
        }
        if (carries) {
            if (have + info_len > MAX_INPUT) {
                status = cli_fail("decode", c->what, "hdlc", "reassembled APDU over %u bytes",
                                  MAX_INPUT);
            } else {
                memcpy(apdu + have, info, info_len);
                have += info_len;
                if (f.segmented) {
                    if (!jw)
                        printf("  segment: %zu bytes so far, more follow\n", have);
                } else {
                    if (!jw)
                        printf("  APDU (%zu bytes):\n", have);
                    status = show_apdu(c, jw, apdu, have, 4);
                    have = 0;
                }
            }
        }
        if (jw)
            ami_jw_obj_end(jw);
        size_t used = (size_t)rc;
        /* Frames in a row may share one flag: the closing flag then opens the next frame. */
        if (used < n && p[used] != 0x7E && p[used - 1] == 0x7E)
            used--;
        p += used;
        n -= used;
    }
    if (jw)
        ami_jw_arr_end(jw);
    c->have[c->dir] = status == AMI_EXIT_OK ? have : 0;
    return status;
}

static int show_wrapper(ctx *c, ami_jw *jw, const uint8_t *p, size_t n)
{
    ami_wrapper_msg m;
    int rc = ami_wrapper_datagram_decode(p, n, &m);
    if (rc != AMI_OK)
        return cli_fail("decode", c->what, "wrapper", "%s", ami_strerror(rc));
    if (jw) {
        ami_jw_key(jw, "wrapper");
        ami_wrapper_describe_json(&m, jw);
    } else {
        char line[256];
        if (ami_wrapper_describe(&m, line, sizeof line) < 0)
            line[0] = 0;
        printf("Wrapper: %s\n", line);
    }
    return show_apdu(c, jw, m.apdu, m.apdu_len, 2);
}

static int decode_one(ctx *c, const char *hex, size_t hexlen)
{
    uint8_t *buf = malloc(hexlen / 2 + 1);
    if (!buf)
        return cli_fail("decode", c->what, NULL, "out of memory");
    int n = ami_hex_decode(hex, hexlen, buf, hexlen / 2 + 1);
    if (n <= 0) {
        free(buf);
        const char *why = n < 0 ? ami_strerror(n) : "no bytes";
        /* A bad argument is a usage error; a bad line of input is a data error. */
        if (c->dir < 0)
            return cli_usage("decode", "%s: not hex: %s", c->what, why);
        return cli_fail("decode", c->what, "hex", "%s", why);
    }
    ami_jw jw;
    ami_jw *j = NULL;
    if (c->json) {
        ami_jw_init_file(&jw, stdout);
        j = &jw;
        ami_jw_obj_begin(j);
        ami_jw_key(j, "length");
        ami_jw_uint(j, (uint64_t)n);
    }
    int status;
    const uint8_t *p = buf;
    if (p[0] == 0x7E) {
        if (j) {
            ami_jw_key(j, "layer");
            ami_jw_str(j, "hdlc");
        }
        status = show_hdlc(c, j, p, (size_t)n);
    } else if (n >= 8 && ami_dec16be(p) == 0x0001) {
        if (j) {
            ami_jw_key(j, "layer");
            ami_jw_str(j, "wrapper");
        }
        status = show_wrapper(c, j, p, (size_t)n);
    } else {
        if (j) {
            ami_jw_key(j, "layer");
            ami_jw_str(j, "apdu");
        }
        status = show_apdu(c, j, p, (size_t)n, 0);
    }
    if (j) {
        ami_jw_obj_end(j);
        fputc('\n', stdout);
    }
    free(buf);
    return status;
}

static int run(struct ami_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'J'},
        {"lenient", no_argument, NULL, 'L'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    ctx c = {.json = cli->json};
    int o;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'J':
            c.json = true;
            break;
        case 'L':
            c.lenient = true;
            break;
        case 'h':
            help(stdout);
            return AMI_EXIT_OK;
        default:
            return cli_usage("decode", "bad option");
        }
    }
    void *scratch = malloc(SCRATCH);
    if (!scratch)
        return cli_fail("decode", NULL, NULL, "out of memory");
    ami_arena_init(&c.scratch, scratch, SCRATCH);
    int status = AMI_EXIT_OK;
    if (optind < argc) {
        /* All arguments form one input. */
        size_t total = 0;
        for (int i = optind; i < argc; i++)
            total += strlen(argv[i]) + 1;
        char *hex = malloc(total + 1);
        if (!hex) {
            free(scratch);
            return cli_fail("decode", NULL, NULL, "out of memory");
        }
        size_t at = 0;
        for (int i = optind; i < argc; i++) {
            size_t l = strlen(argv[i]);
            memcpy(hex + at, argv[i], l);
            at += l;
            hex[at++] = ' ';
        }
        hex[at] = 0;
        c.what = "argument";
        c.dir = -1;
        status = decode_one(&c, hex, at);
        free(hex);
    } else {
        char *line = NULL;
        size_t cap = 0;
        ssize_t got;
        unsigned lineno = 0;
        char what[32];
        while ((got = getline(&line, &cap, stdin)) >= 0) {
            lineno++;
            char *s = line;
            while (*s == ' ' || *s == '\t')
                s++;
            if (*s == '#' || *s == '\n' || *s == '\r' || *s == 0)
                continue;
            c.dir = 0;
            if ((!strncmp(s, "TX", 2) || !strncmp(s, "RX", 2)) && (s[2] == ' ' || s[2] == '\t')) {
                c.dir = s[0] == 'T' ? 1 : 2;
                s += 3;
            }
            char *semi = strchr(s, ';'); /* trace annotations after ';' */
            if (semi)
                *semi = 0;
            snprintf(what, sizeof what, "stdin line %u", lineno);
            c.what = what;
            int st = decode_one(&c, s, strlen(s));
            if (st > status)
                status = st;
        }
        free(line);
    }
    for (int d = 0; d < 3; d++) {
        if (c.have[d] && status == AMI_EXIT_OK)
            status = cli_fail("decode", c.what, "hdlc",
                              "the last frame is segmented: %zu APDU bytes without their end",
                              c.have[d]);
        free(c.reasm[d]);
    }
    free(scratch);
    return status;
}

const struct ami_command ami_cmd_decode = {
    "decode", "decode HDLC frames, wrapper PDUs and DLMS APDUs given in hex", run};
