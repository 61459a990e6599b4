/*
 * ami dlms fw: firmware update of a meter through its Image transfer object (class 18, Blue
 * Book 4.4.6 "image transfer process"): initiate, transfer the blocks (resuming from
 * image_first_not_transferred_block_number, filling gaps from image_transferred_blocks_status),
 * verify (polling image_transfer_status while the meter answers temporary-failure), activate,
 * and the old and new firmware version. The image is an openami signed image (`ami fw sign`).
 * SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ami/ami.h"
#include "cli.h"
#include "dlms_conn.h"
#include "dlms_fw.h"

#define CMD "dlms fw"

typedef struct fw_opts {
    struct dlms_conn c; /* addresses, authentication, security, trace */
    const char *url, *path;
    ami_obis image, version, reason;
    long poll_ms, wait_s, max_blocks;
    bool json;
} fw_opts;

static void help(FILE *out)
{
    fprintf(out,
            "Usage: ami dlms fw URL IMAGE [OPTIONS]\n\n"
            "Updates the firmware of a meter with a signed image (ami fw sign) through its\n"
            "Image transfer object: initiate, transfer blocks (progress on stderr; a second\n"
            "run resumes where the meter's first not transferred block says), verify (polling\n"
            "image_transfer_status), activate; prints the old and new firmware version.\n\n"
            "URL: tcp://HOST:PORT, udp://HOST:PORT, hdlc+tcp://HOST:PORT, hdlc:/dev/tty...,\n"
            "     iec21:/dev/tty... (as for the other ami dlms commands)\n\n"
            "Options of the image transfer:\n"
            "  --object OBIS       Image transfer object (default 0.0.44.0.0.255)\n"
            "  --version-obis OBIS firmware version object, class 1 (default 1.0.0.2.0.255)\n"
            "  --reason-obis OBIS  object holding the meter's refusal reason, class 1, read\n"
            "                      when a step is refused (default 0.0.44.128.0.255)\n"
            "  --poll MS           interval of image_transfer_status polls (default 200)\n"
            "  --wait S            longest wait for verification or activation (default 60)\n"
            "  --blocks N          send at most N blocks in this run, then stop without\n"
            "                      verifying (exit 0; a later run resumes)\n"
            "  --json              JSON result on stdout\n"
            "  -h, --help          this help\n\n"
            "Connection options (as for the other ami dlms commands; methods usually need an\n"
            "authenticated client, e.g. --client 17 --auth low, or the management client 1\n"
            "with HLS and ciphering; --sn does not apply: image transfer is by logical name):\n");
    dlms_conn_help(out);
    fprintf(out, "\nExit status: 0 activated; 1 a transport, association or security error, or\n"
                 "the meter refused a step (the step, the result and the meter's reason are\n"
                 "named); 2 usage.\n");
}

static bool parse_obis(const char *s, ami_obis *o)
{
    return ami_obis_parse(s, strlen(s), o) == AMI_OK;
}

static int parse(int argc, char **argv, fw_opts *d)
{
    static const struct option opts[] = {
        {"object", required_argument, NULL, 'o'},
        {"version-obis", required_argument, NULL, 'V'},
        {"reason-obis", required_argument, NULL, 'R'},
        {"poll", required_argument, NULL, 'i'},
        {"wait", required_argument, NULL, 'w'},
        {"blocks", required_argument, NULL, 'b'},
        {"json", no_argument, NULL, 'J'},
        {"help", no_argument, NULL, 'h'},
        DLMS_CONN_LONG_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    int c, st;
    dlms_conn_defaults(&d->c, CMD);
    d->image = AMI_OBIS(0, 0, 44, 0, 0, 255);
    d->version = AMI_OBIS(1, 0, 0, 2, 0, 255);
    d->reason = AMI_OBIS(0, 0, 44, 128, 0, 255);
    d->poll_ms = 200;
    d->wait_s = 60;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
        case 'V':
        case 'R':
            if (!parse_obis(optarg, c == 'o' ? &d->image : c == 'V' ? &d->version : &d->reason))
                return cli_usage(CMD, "bad OBIS '%s'", optarg);
            break;
        case 'i':
            if (!cli_parse_long(optarg, 1, 60000, &d->poll_ms))
                return cli_usage(CMD, "--poll: 1..60000 ms");
            break;
        case 'w':
            if (!cli_parse_long(optarg, 1, 86400, &d->wait_s))
                return cli_usage(CMD, "--wait: 1..86400 s");
            break;
        case 'b':
            if (!cli_parse_long(optarg, 1, 0x7FFFFFFF, &d->max_blocks))
                return cli_usage(CMD, "--blocks: a positive number of blocks");
            break;
        case 'J':
            d->json = true;
            break;
        case 'h':
            help(stdout);
            return -1;
        default:
            st = dlms_conn_option(&d->c, c, optarg);
            if (st == DLMS_CONN_NOT_MINE)
                return cli_usage(CMD, "bad option (see --help)");
            if (st)
                return st;
            break;
        }
    }
    if (d->c.sn)
        return cli_usage(CMD, "--sn: image transfer is addressed by logical name");
    if (argc - optind != 2)
        return cli_usage(CMD, "give URL and IMAGE (see --help)");
    d->url = argv[optind];
    d->path = argv[optind + 1];
    return AMI_EXIT_OK;
}

/* ---------------------------------------------------------------- services */

typedef struct fw_run {
    fw_opts *d;
    ami_dlms_link *l;
    bool progress_line; /* a \r progress line is on the terminal */
} fw_run;

static void end_progress(fw_run *r)
{
    if (r->progress_line)
        fputc('\n', stderr);
    r->progress_line = false;
}

static int link_fail(fw_run *r, const char *what)
{
    end_progress(r);
    return cli_fail(CMD, r->d->url, NULL, "%s: %s", what, ami_dlms_link_why(r->l));
}

/* GET of one attribute; *v is the encoded Data (valid until the next service). Returns 0, or
 * prints the failure and returns the exit status. */
static int get_attr(fw_run *r, uint16_t cls, const ami_obis *ln, int8_t attr, const char *what,
                    ami_view *v)
{
    ami_attr_sel sel = {{cls, *ln, attr}, {false, 0, {NULL, 0}}};
    ami_dlms_result res;
    if (ami_dlms_link_get(r->l, &sel, 1, &res) != AMI_OK)
        return link_fail(r, what);
    if (res.outcome != AMI_DLMS_SUCCESS) {
        char text[256];
        ami_dlms_result_describe(&res, text, sizeof text);
        end_progress(r);
        return cli_fail(CMD, r->d->url, NULL, "%s: %s", what, text);
    }
    *v = res.data;
    return AMI_EXIT_OK;
}

static int get_u32(fw_run *r, int8_t attr, const char *what, uint32_t *out)
{
    ami_view v;
    int st = get_attr(r, AMI_COSEM_IMAGE_TRANSFER, &r->d->image, attr, what, &v);
    if (st)
        return st;
    if (v.len != 5 || v.p[0] != AMI_AXDR_DOUBLE_LONG_UNSIGNED)
        return cli_fail(CMD, r->d->url, "COSEM", "%s: not a double-long-unsigned", what);
    *out = ami_dec32be(v.p + 1);
    return AMI_EXIT_OK;
}

static int get_small(fw_run *r, int8_t attr, uint8_t type, const char *what, uint8_t *out)
{
    ami_view v;
    int st = get_attr(r, AMI_COSEM_IMAGE_TRANSFER, &r->d->image, attr, what, &v);
    if (st)
        return st;
    if (v.len != 2 || v.p[0] != type)
        return cli_fail(CMD, r->d->url, "COSEM", "%s: unexpected type", what);
    *out = v.p[1];
    return AMI_EXIT_OK;
}

/* Reads a visible- or octet-string Data object (class 1) as text into buf; "(unknown)" when
 * the meter has no such object or answers something else. */
static void read_text(fw_run *r, const ami_obis *ln, char *buf, size_t cap)
{
    snprintf(buf, cap, "(unknown)");
    ami_attr_sel sel = {{AMI_COSEM_DATA, *ln, 2}, {false, 0, {NULL, 0}}};
    ami_dlms_result res;
    if (ami_dlms_link_get(r->l, &sel, 1, &res) != AMI_OK || res.outcome != AMI_DLMS_SUCCESS)
        return;
    ami_rd rd;
    ami_rd_init(&rd, res.data.p, res.data.len);
    uint8_t t;
    size_t n;
    const uint8_t *p;
    if (ami_rd_u8(&rd, &t) || (t != AMI_AXDR_VISIBLE_STRING && t != AMI_AXDR_OCTET_STRING) ||
        ami_axdr_get_length(&rd, &n) || ami_rd_view(&rd, n, &p) || n >= cap)
        return;
    for (size_t i = 0; i < n; i++)
        buf[i] = p[i] >= 0x20 && p[i] < 0x7F ? (char)p[i] : '.';
    buf[n] = 0;
}

/* A refused step: the result and, when the meter says, why. */
static int refused(fw_run *r, const char *step, const char *result)
{
    char why[160];
    end_progress(r);
    read_text(r, &r->d->reason, why, sizeof why);
    return cli_fail(CMD, r->d->url, "COSEM", "%s refused: %s (meter: %s)", step, result, why);
}

/* Invokes method id with params; *result gets the action-result. Returns 0 or an exit status
 * (transport failure, or a refusal other than success / temporary-failure, already printed). */
static int method(fw_run *r, int8_t id, const char *step, const uint8_t *p, size_t n,
                  uint8_t *result)
{
    ami_cosem_desc m = {AMI_COSEM_IMAGE_TRANSFER, r->d->image, id};
    ami_view v = ami_view_of(p, n);
    ami_dlms_result res;
    if (ami_dlms_link_action(r->l, &m, &v, &res) != AMI_OK)
        return link_fail(r, step);
    if (res.outcome == AMI_DLMS_SUCCESS) {
        *result = AMI_ACTION_SUCCESS;
        return AMI_EXIT_OK;
    }
    if (res.outcome == AMI_DLMS_ACTION_RESULT && res.dar == AMI_DAR_TEMPORARY_FAILURE) {
        *result = res.dar;
        return AMI_EXIT_OK;
    }
    char text[256];
    ami_dlms_result_describe(&res, text, sizeof text);
    if (res.outcome == AMI_DLMS_ACTION_RESULT && res.dar == AMI_DAR_READ_WRITE_DENIED) {
        /* the association's access rights, not the image: the meter's reason is not about it */
        end_progress(r);
        return cli_fail(CMD, r->d->url, "COSEM", "%s refused: %s (this client may not invoke it)",
                        step, text);
    }
    return refused(r, step, text);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

/* Polls image_transfer_status while it is `busy`, at most --wait seconds. */
static int poll_status(fw_run *r, uint8_t busy, uint8_t *status)
{
    long waited = 0;
    for (;;) {
        int st = get_small(r, 6, AMI_AXDR_ENUM, "image_transfer_status", status);
        if (st || *status != busy)
            return st;
        if (waited >= r->d->wait_s * 1000)
            return cli_fail(CMD, r->d->url, "COSEM", "still %s after %ld s",
                            ami_image_status_name(busy), r->d->wait_s);
        sleep_ms(r->d->poll_ms);
        waited += r->d->poll_ms;
    }
}

/* ---------------------------------------------------------------- transfer */

static void progress(fw_run *r, uint32_t done, uint32_t total, uint32_t *shown)
{
    if (isatty(2)) {
        fprintf(stderr, "\rfirmware: block %u/%u", done, total);
        r->progress_line = true;
    } else if (done == total || (uint64_t)done * 10 / total != (uint64_t)*shown * 10 / total) {
        fprintf(stderr, "firmware: block %u/%u (%u%%)\n", done, total,
                (unsigned)((uint64_t)done * 100 / total));
    }
    *shown = done;
}

static int send_block(fw_run *r, const uint8_t *img, size_t len, uint32_t bs, uint32_t i)
{
    static uint8_t p[65536 + 16];
    size_t off = (size_t)i * bs, n = len - off < bs ? len - off : bs;
    ami_wr w;
    ami_wr_init(&w, p, sizeof p);
    ami_wr_u8(&w, AMI_AXDR_STRUCTURE);
    ami_wr_u8(&w, 2);
    ami_wr_u8(&w, AMI_AXDR_DOUBLE_LONG_UNSIGNED);
    ami_wr_u32be(&w, i);
    ami_wr_u8(&w, AMI_AXDR_OCTET_STRING);
    ami_axdr_put_length(&w, n);
    ami_wr_bytes(&w, img + off, n);
    uint8_t res = 0;
    char step[64];
    snprintf(step, sizeof step, "image_block_transfer %u", i);
    int st = method(r, 2, step, p, w.len, &res);
    if (!st && res != AMI_ACTION_SUCCESS)
        return refused(r, step, "temporary-failure");
    return st;
}

/* Blocks the meter does not have, from image_transferred_blocks_status, resent. */
static int fill_gaps(fw_run *r, const uint8_t *img, size_t len, uint32_t bs, uint32_t nb,
                     uint32_t *sent)
{
    static uint8_t bits[AMI_IMAGE_MAX_BLOCKS / 8];
    ami_view v;
    int st = get_attr(r, AMI_COSEM_IMAGE_TRANSFER, &r->d->image, 3,
                      "image_transferred_blocks_status", &v);
    if (st)
        return st;
    ami_rd rd;
    ami_rd_init(&rd, v.p, v.len);
    uint8_t t;
    size_t n;
    if (ami_rd_u8(&rd, &t) || t != AMI_AXDR_BIT_STRING || ami_axdr_get_length(&rd, &n) || n != nb ||
        ami_rd_copy(&rd, bits, (n + 7) / 8))
        return cli_fail(CMD, r->d->url, "COSEM", "image_transferred_blocks_status: not %u bits",
                        nb);
    for (uint32_t i = 0; i < nb; i++) {
        if ((bits[i / 8] >> (7 - i % 8)) & 1u)
            continue;
        if ((st = send_block(r, img, len, bs, i)))
            return st;
        (*sent)++;
    }
    return AMI_EXIT_OK;
}

static int update(fw_run *r, const uint8_t *img, size_t len, const ami_fwimg_header *h)
{
    fw_opts *d = r->d;
    char old_v[80], new_v[80];
    read_text(r, &d->version, old_v, sizeof old_v);

    uint8_t enabled = 0, res = 0, status = 0;
    uint32_t bs = 0, first = 0;
    int st = get_small(r, 5, AMI_AXDR_BOOLEAN, "image_transfer_enabled", &enabled);
    if (st)
        return st;
    if (!enabled)
        return cli_fail(CMD, d->url, "COSEM", "image transfer is disabled on the meter");
    if ((st = get_u32(r, 2, "image_block_size", &bs)))
        return st;
    if (bs == 0 || bs > 65536)
        return cli_fail(CMD, d->url, "COSEM", "image_block_size %u not usable", bs);
    uint64_t nb64 = (len + bs - 1) / bs;
    if (nb64 > AMI_IMAGE_MAX_BLOCKS)
        return cli_fail(CMD, d->url, "COSEM", "%llu blocks of %u bytes: too many",
                        (unsigned long long)nb64, bs);
    uint32_t nb = (uint32_t)nb64;

    /* image_transfer_initiate {identifier "<id> <version>", size}: the same image again resumes
     * on a meter that kept the blocks. */
    char vs[AMI_FWIMG_VERSION_STRLEN], ident[AMI_FWIMG_ID_MAX + AMI_FWIMG_VERSION_STRLEN + 2];
    ami_fwimg_version_format(&h->version, vs, sizeof vs);
    int il = snprintf(ident, sizeof ident, "%.*s %s", (int)h->id_len, (const char *)h->id, vs);
    uint8_t p[128];
    ami_wr w;
    ami_wr_init(&w, p, sizeof p);
    ami_wr_u8(&w, AMI_AXDR_STRUCTURE);
    ami_wr_u8(&w, 2);
    ami_wr_u8(&w, AMI_AXDR_OCTET_STRING);
    ami_axdr_put_length(&w, (size_t)il);
    ami_wr_bytes(&w, ident, (size_t)il);
    ami_wr_u8(&w, AMI_AXDR_DOUBLE_LONG_UNSIGNED);
    ami_wr_u32be(&w, (uint32_t)len);
    if ((st = method(r, 1, "image_transfer_initiate", p, w.len, &res)))
        return st;
    if (res != AMI_ACTION_SUCCESS)
        return refused(r, "image_transfer_initiate", "temporary-failure");
    if ((st = get_u32(r, 4, "image_first_not_transferred_block_number", &first)))
        return st;
    if (first > nb)
        return cli_fail(CMD, d->url, "COSEM", "first not transferred block %u beyond %u", first,
                        nb);
    if (first > 0)
        fprintf(stderr, "firmware: resuming at block %u of %u\n", first, nb);

    uint32_t sent = 0, shown = first;
    for (uint32_t i = first; i < nb; i++) {
        if (d->max_blocks && sent == (uint32_t)d->max_blocks) {
            end_progress(r);
            fprintf(stderr, "firmware: stopped after %u blocks at block %u of %u (--blocks)\n",
                    sent, i, nb);
            if (d->json) {
                ami_jw j;
                ami_jw_init_file(&j, stdout);
                ami_jw_obj_begin(&j);
                ami_jw_key(&j, "image");
                ami_jw_str(&j, ident);
                ami_jw_key(&j, "paused_at_block");
                ami_jw_uint(&j, i);
                ami_jw_key(&j, "blocks");
                ami_jw_uint(&j, nb);
                ami_jw_obj_end(&j);
                fputc('\n', stdout);
            } else {
                printf("firmware transfer paused at block %u of %u\n", i, nb);
            }
            return AMI_EXIT_OK;
        }
        if ((st = send_block(r, img, len, bs, i)))
            return st;
        sent++;
        progress(r, i + 1, nb, &shown);
    }
    end_progress(r);
    /* Blocks lost before (out of order on a resumed transfer): the bit-string says which. */
    for (int round = 0; round < 3; round++) {
        if ((st = get_u32(r, 4, "image_first_not_transferred_block_number", &first)))
            return st;
        if (first >= nb)
            break;
        if ((st = fill_gaps(r, img, len, bs, nb, &sent)))
            return st;
    }
    if (first < nb)
        return cli_fail(CMD, d->url, "COSEM", "block %u still missing", first);

    static const uint8_t zero[] = {AMI_AXDR_INTEGER, 0};
    if ((st = method(r, 3, "image_verify", zero, sizeof zero, &res)))
        return st;
    if (res != AMI_ACTION_SUCCESS) {
        if ((st = poll_status(r, AMI_IMAGE_VERIFY_INITIATED, &status)))
            return st;
        if (status != AMI_IMAGE_VERIFY_OK)
            return refused(r, "image_verify", ami_image_status_name(status));
    }
    if ((st = method(r, 4, "image_activate", zero, sizeof zero, &res)))
        return st;
    if ((st = poll_status(r, AMI_IMAGE_ACTIVATE_INITIATED, &status)))
        return st;
    if (status != AMI_IMAGE_ACTIVATE_OK)
        return refused(r, "image_activate", ami_image_status_name(status));
    read_text(r, &d->version, new_v, sizeof new_v);

    if (d->json) {
        ami_jw j;
        ami_jw_init_file(&j, stdout);
        ami_jw_obj_begin(&j);
        ami_jw_key(&j, "image");
        ami_jw_str(&j, ident);
        ami_jw_key(&j, "old_version");
        ami_jw_str(&j, old_v);
        ami_jw_key(&j, "new_version");
        ami_jw_str(&j, new_v);
        ami_jw_key(&j, "blocks_sent");
        ami_jw_uint(&j, sent);
        ami_jw_key(&j, "block_size");
        ami_jw_uint(&j, bs);
        ami_jw_key(&j, "bytes");
        ami_jw_uint(&j, len);
        ami_jw_obj_end(&j);
        fputc('\n', stdout);
    } else {
        printf("firmware %s -> %s (%s, %zu bytes, %u blocks of %u sent)\n", old_v, new_v, ident,
               len, sent, bs);
    }
    return AMI_EXIT_OK;
}

int ami_dlms_fw(struct ami_cli *cli, int argc, char **argv)
{
    fw_opts d = {.json = cli->json};
    int st = parse(argc, argv, &d);
    if (st)
        return st < 0 ? AMI_EXIT_OK : st;
    unsigned char *img = NULL;
    size_t len = 0;
    int rc = cli_read_file(d.path, (size_t)AMI_IMAGE_MAX_BLOCKS * 65536, &img, &len);
    if (rc != AMI_OK)
        return cli_fail(CMD, d.path, NULL, "%s",
                        rc == AMI_E_TOO_LARGE ? "larger than any image" : strerror(errno));
    ami_fwimg_header h;
    rc = ami_fwimg_header_decode(img, len, &h);
    if (rc == AMI_OK && ami_fwimg_total_len(&h) != len)
        rc = len < ami_fwimg_total_len(&h) ? AMI_E_TRUNCATED : AMI_E_MALFORMED;
    if (rc != AMI_OK) {
        free(img);
        return cli_fail(CMD, d.path, "image", "not a signed firmware image: %s", ami_strerror(rc));
    }
    fw_run r = {.d = &d};
    /* after the image checks: the security may need the meter (its invocation counter) */
    st = dlms_conn_prepare(&d.c, d.url);
    if (st == AMI_EXIT_OK)
        st = dlms_conn_open(&d.c, &r.l);
    if (st == AMI_EXIT_OK) {
        st = update(&r, img, len, &h);
        dlms_conn_done(r.l);
    }
    free(img);
    return st;
}
