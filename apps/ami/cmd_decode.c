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
#include "ami/security.h"
#include "ami/wrapper.h"
#include "cli.h"
#include "keys.h"

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
            "  --ek HEX    global encryption key (16 or 32 bytes): ciphered APDUs (glo-, ded-,\n"
            "              general-glo/ded-ciphering) are decrypted and the plaintext APDU\n"
            "              decoded below them (with --json: fields plaintext and decrypted)\n"
            "  --ak HEX    authentication key, needed when the APDU is authenticated\n"
            "  --system-title HEX  the server's system title (8 bytes), used for service APDUs\n"
            "              that carry none: RX lines of a trace, and any unmarked input\n"
            "  --client-system-title HEX  the client's, for TX lines of a trace\n"
            "              (both are learnt from the AARQ and AARE when the trace has them;\n"
            "              general-ciphering APDUs carry their own)\n"
            "  --key-file FILE  keys as 'ek = HEX', 'ak = HEX', 'system_title = HEX' lines\n"
            "              (options win); keys are never printed\n"
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
    /* Decryption of ciphered APDUs (--ek/--ak/--system-title/--key-file). */
    struct cli_keys keys;
    bool decrypt;
    ami_sec_ctx sec;
    unsigned depth; /* 1 while decoding a decrypted APDU: no second level */
    /* System titles of the client [0] and the server [1]: from the options, else learnt from
     * the AARQ calling-AP-title and the AARE responding-AP-title. */
    uint8_t title[2][8];
    bool have_title[2];
} ctx;

/* The sender's system title for a service APDU: TX lines come from the client, RX lines and
 * unmarked input from the server. NULL when unknown. */
static const uint8_t *sender_title(const ctx *c)
{
    int who = c->dir == 1 ? 0 : 1;
    return c->have_title[who] ? c->title[who] : NULL;
}

/* Remembers a system title seen in an AARQ (who = 0) or AARE (who = 1), unless given. */
static void learn_title(ctx *c, int who, ami_view t)
{
    if (t.len == 8 && !c->have_title[who]) {
        memcpy(c->title[who], t.p, 8);
        c->have_title[who] = true;
    }
}

static int out_sink(void *user, const char *s, size_t n)
{
    (void)user;
    return fwrite(s, 1, n, stdout) == n ? AMI_OK : AMI_E_IO;
}

static int show_decrypted(ctx *c, ami_jw *jw, const uint8_t *p, size_t n, unsigned indent);

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
    if (!c->decrypt || c->depth > 0)
        return AMI_EXIT_OK;
    if (ami_apdu_is_ciphered(a.tag))
        return show_decrypted(c, jw, p, n, indent);
    /* A ciphered InitiateRequest/Response travels in the AARQ/AARE user-information. */
    if (a.tag == AMI_ACSE_AARQ || a.tag == AMI_ACSE_AARE) {
        int who = a.tag == AMI_ACSE_AARQ ? 0 : 1;
        const ami_acse_common *ac = who == 0 ? &a.u.aarq.c : &a.u.aare.c;
        learn_title(c, who, ac->ap_title);
        ami_view ui = ac->user_information;
        if (ac->has_user_information && ui.len && ami_apdu_is_ciphered(ui.p[0])) {
            int saved = c->dir;
            c->dir = who == 0 ? 1 : 2;
            int st = show_decrypted(c, jw, ui.p, ui.len, indent + 2);
            c->dir = saved;
            return st;
        }
    }
    return AMI_EXIT_OK;
}

/*
 * Decrypts a ciphered APDU with the keys given and decodes the plaintext below it. Nothing of
 * the payload is shown unless the tag verifies (for authenticated APDUs).
 */
static int show_decrypted(ctx *c, ami_jw *jw, const uint8_t *p, size_t n, unsigned indent)
{
    ami_sec_apdu s;
    int rc = ami_sec_apdu_parse(p, n, &s, NULL);
    if (rc == AMI_E_PROTOCOL)
        return cli_fail("decode", c->what, "security", "%s: decryption not supported",
                        ami_apdu_tag_name(p[0]));
    if (rc != AMI_OK)
        return cli_fail("decode", c->what, "security", "ciphered APDU: %s", ami_strerror(rc));
    const uint8_t *title = NULL;
    if (!s.system_title && !(title = sender_title(c)))
        return cli_fail("decode", c->what, "security", "%s carries no system title: give --%s",
                        ami_apdu_tag_name(s.tag),
                        c->dir == 1 ? "client-system-title" : "system-title");
    uint8_t *plain = malloc(s.payload_len ? s.payload_len : 1);
    if (!plain)
        return cli_fail("decode", c->what, NULL, "out of memory");
    size_t plen = 0;
    rc = ami_sec_apdu_decrypt(&c->sec, &s, title, plain, s.payload_len, &plen);
    int status;
    if (rc != AMI_OK) {
        const char *why = rc == AMI_E_AUTH ? "the authentication tag does not verify (wrong key "
                                             "or altered APDU): nothing decrypted is shown"
                                           : ami_strerror(rc);
        status =
            cli_fail("decode", c->what, "security", "SC %02X IC %u: %s", s.sc, (unsigned)s.ic, why);
    } else {
        bool authenticated = s.sc & AMI_SEC_SC_AUTH;
        if (jw) {
            ami_jw_key(jw, "security");
            ami_jw_obj_begin(jw);
            ami_jw_key(jw, "sc");
            ami_jw_uint(jw, s.sc);
            ami_jw_key(jw, "ic");
            ami_jw_uint(jw, s.ic);
            ami_jw_key(jw, "system_title");
            ami_jw_hex(jw, title ? title : s.system_title, 8);
            ami_jw_key(jw, "authenticated");
            ami_jw_bool(jw, authenticated);
            ami_jw_key(jw, "encrypted");
            ami_jw_bool(jw, (s.sc & AMI_SEC_SC_ENC) != 0);
            ami_jw_obj_end(jw);
            ami_jw_key(jw, "plaintext");
            ami_jw_hex(jw, plain, plen);
            ami_jw_key(jw, "decrypted");
            ami_jw_obj_begin(jw);
        } else {
            printf("%*sDecrypted (SC %02X, IC %u, %s):\n", (int)indent, "", s.sc, (unsigned)s.ic,
                   authenticated ? "tag verified" : "NOT authenticated: encryption only");
        }
        c->depth++;
        status = show_apdu(c, jw, plain, plen, indent + 2);
        c->depth--;
        if (jw)
            ami_jw_obj_end(jw);
    }
    ami_wipe(plain, s.payload_len);
    free(plain);
    return status;
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
        {"ek", required_argument, NULL, 'E'},
        {"ak", required_argument, NULL, 'A'},
        {"system-title", required_argument, NULL, 'S'},
        {"client-system-title", required_argument, NULL, 'C'},
        {"key-file", required_argument, NULL, 'K'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    ctx c = {.json = cli->json};
    const char *key_file = NULL;
    int o, rc = 0;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'E':
            rc = cli_key_set_hex("decode", "ek", optarg, &c.keys.ek);
            break;
        case 'A':
            rc = cli_key_set_hex("decode", "ak", optarg, &c.keys.ak);
            break;
        case 'S':
            rc = cli_key_set_hex("decode", "system-title", optarg, &c.keys.system_title);
            break;
        case 'C':
            rc = cli_key_set_hex("decode", "client-system-title", optarg,
                                 &c.keys.client_system_title);
            break;
        case 'K':
            key_file = optarg;
            break;
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
            rc = cli_usage("decode", "bad option");
        }
        if (rc) {
            cli_keys_wipe(&c.keys);
            return rc;
        }
    }
    if (key_file && (rc = cli_keys_load("decode", key_file, &c.keys)) != 0) {
        cli_keys_wipe(&c.keys);
        return rc;
    }
    if (c.keys.ek.len) {
        if (ami_sec_ctx_init(&c.sec) != AMI_OK) {
            cli_keys_wipe(&c.keys);
            return cli_fail("decode", NULL, "security", "cannot create a cipher context");
        }
        /* An analyser shows encryption-only APDUs too, flagged as not authenticated. */
        c.sec.accept |= AMI_SEC_ACCEPT_ENC;
        ami_sec_ctx_set_ek(&c.sec, c.keys.ek.v, c.keys.ek.len);
        if (c.keys.ak.len)
            ami_sec_ctx_set_ak(&c.sec, c.keys.ak.v, c.keys.ak.len);
        c.decrypt = true;
        if (c.keys.client_system_title.len) {
            memcpy(c.title[0], c.keys.client_system_title.v, 8);
            c.have_title[0] = true;
        }
        if (c.keys.system_title.len) {
            memcpy(c.title[1], c.keys.system_title.v, 8);
            c.have_title[1] = true;
        }
    } else if (c.keys.ak.len || c.keys.system_title.len || c.keys.client_system_title.len) {
        cli_keys_wipe(&c.keys);
        return cli_usage("decode", "--ak and the system titles need --ek");
    }
    /* The cipher context holds its own copies: wipe ours now (the system title is public). */
    ami_wipe(&c.keys.ek, sizeof c.keys.ek);
    ami_wipe(&c.keys.ak, sizeof c.keys.ak);
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
    if (c.decrypt)
        ami_sec_ctx_wipe(&c.sec);
    cli_keys_wipe(&c.keys);
    return status;
}

const struct ami_command ami_cmd_decode = {
    "decode", "decode HDLC frames, wrapper PDUs and DLMS APDUs given in hex", run};
