/*
 * The connection and association shared by the `ami dlms` sub-commands: see dlms_conn.h.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "dlms_conn.h"

#include <getopt.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static struct dlms_sec g_sec;

void dlms_conn_help(FILE *out)
{
    fprintf(out,
            "  --client SAP        client SAP / HDLC client address (default 16, public)\n"
            "  --server SAP        server SAP / logical device (default 1)\n"
            "  --logical N --physical N   HDLC server address (upper, lower)\n"
            "  --auth none|low|hls-aes|hls-md5|hls-sha1|hls-gmac|hls-sha256|hls-ecdsa\n"
            "                      authentication (low = LLS password; HLS: see below)\n"
            "  --password P        the LLS password (never printed; --trace redacts it)\n"
            "  --timeout MS        per exchange (default 5000)\n"
            "  --max-pdu N         client max receive PDU size proposed (default 65535)\n"
            "  --sn                short-name referencing (objects, get, set, action):\n"
            "                      references are [CLASS/]OBIS:ATTR (or :METHOD) mapped through\n"
            "                      the Association SN object list, or raw names SN:0xFA00\n"
            "  --gbt[=WINDOW]      propose general block transfer and send every request in\n"
            "                      GBT, announcing WINDOW blocks (1..63, default 4)\n"
            "  --trace             every frame and APDU decoded on stderr\n");
    dlms_sec_help(out);
}

/* ---------------------------------------------------------------- trace */

static void mask(uint8_t *p, size_t n, const char *pw)
{
    size_t k = strlen(pw);
    if (k == 0 || n < k)
        return;
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(p + i, pw, k) == 0)
            memset(p + i, '*', k);
}

static int sink_stderr(void *user, const char *s, size_t n)
{
    (void)user;
    return fwrite(s, 1, n, stderr) == n ? AMI_OK : AMI_E_IO;
}

static void on_trace(void *user, bool tx, enum ami_dlms_trace_kind kind, const uint8_t *p, size_t n)
{
    const struct dlms_conn *c = user;
    static uint8_t copy[70000];
    if (n > sizeof copy)
        return;
    memcpy(copy, p, n);
    const char *dir = tx ? ">>" : "<<";
    if (kind == AMI_DLMS_TRACE_FRAME) {
        ami_hdlc_frame f;
        if (ami_hdlc_frame_decode(p, n, 0, &f) < 0)
            return;
        /* the description is made from a decoded frame whose information is masked */
        static uint8_t info[AMI_HDLC_MAX_FRAME_BYTES];
        if (f.info_len) {
            memcpy(info, f.info, f.info_len);
            mask(info, f.info_len, c->password);
            dlms_sec_mask(c->sec, info, f.info_len);
            f.info = info;
        }
        char line[512];
        if (ami_hdlc_frame_describe(&f, line, sizeof line) > 0)
            fprintf(stderr, "%s HDLC %s\n", dir, line);
    } else if (kind == AMI_DLMS_TRACE_WRAPPER) {
        ami_wrapper_msg m;
        mask(copy, n, c->password);
        dlms_sec_mask(c->sec, copy, n);
        if (ami_wrapper_datagram_decode(copy, n, &m) == AMI_OK) {
            char line[512];
            if (ami_wrapper_describe(&m, line, sizeof line) > 0)
                fprintf(stderr, "%s %s\n", dir, line);
        }
    } else if (kind == AMI_DLMS_TRACE_APDU) {
        mask(copy, n, c->password);
        dlms_sec_mask(c->sec, copy, n);
        static uint8_t ab[1 << 16], sb[1 << 20];
        ami_arena a, s;
        ami_arena_init(&a, ab, sizeof ab);
        ami_arena_init(&s, sb, sizeof sb);
        ami_apdu apdu;
        ami_apdu_opts o = {NULL, AMI_APDU_LENIENT_TRAILING};
        fprintf(stderr, "%s APDU %s (%zu bytes)\n", dir, ami_apdu_tag_name(copy[0]), n);
        if (ami_apdu_decode(copy, n, &a, &o, &apdu) == AMI_OK)
            ami_apdu_format_text(&apdu, &s, 3, sink_stderr, NULL);
    } else {
        fprintf(stderr, "%s IEC21 ", dir);
        for (size_t i = 0; i < n; i++)
            fputc(copy[i] >= 0x20 && copy[i] < 0x7F ? copy[i] : '.', stderr);
        fputc('\n', stderr);
    }
}

static bool progress_shown;

static void on_progress(void *user, uint32_t blocks, size_t bytes)
{
    (void)user;
    progress_shown = true;
    fprintf(stderr, "\rreading: %u blocks, %zu bytes", blocks, bytes);
}

/* ---------------------------------------------------------------- options */

void dlms_conn_defaults(struct dlms_conn *c, const char *cmd)
{
    c->cmd = cmd;
    c->auth = "none";
    c->sec = &g_sec;
    dlms_sec_defaults(c->sec, cmd);
    c->lo.session.context = AMI_ACSE_CONTEXT_LN;
}

int dlms_conn_option(struct dlms_conn *c, int code, const char *arg)
{
    long v;
    switch (code) {
    case 'c':
        if (!cli_parse_long(arg, 1, 127, &v))
            return cli_usage(c->cmd, "--client: 1..127");
        c->lo.client_sap = (uint8_t)v;
        return 0;
    case 's':
    case 'L':
        if (!cli_parse_long(arg, 0, 0x3FFF, &v))
            return cli_usage(c->cmd, "--%s: 0..16383", code == 's' ? "server" : "logical");
        c->lo.server_logical = (uint16_t)v;
        return 0;
    case 'P':
        if (!cli_parse_long(arg, 0, 0x3FFF, &v))
            return cli_usage(c->cmd, "--physical: 0..16383");
        c->lo.server_physical = (uint16_t)v;
        return 0;
    case 'a':
        c->auth = arg;
        return 0;
    case 'p':
        if (strlen(arg) >= sizeof c->password || strlen(arg) > AMI_DLMS_CLIENT_MAX_AUTH)
            return cli_usage(c->cmd, "--password: at most %u characters", AMI_DLMS_CLIENT_MAX_AUTH);
        snprintf(c->password, sizeof c->password, "%s", arg);
        return 0;
    case 't':
        if (!cli_parse_long(arg, 1, 3600000, &v))
            return cli_usage(c->cmd, "--timeout: 1..3600000 ms");
        c->lo.timeout_ms = (int)v;
        return 0;
    case 'm':
        if (!cli_parse_long(arg, 12, 65535, &v))
            return cli_usage(c->cmd, "--max-pdu: 12..65535");
        c->lo.session.max_pdu = (uint16_t)v;
        return 0;
    case 'T':
        c->trace = true;
        return 0;
    case 'N':
        c->sn = true;
        c->lo.session.context = AMI_ACSE_CONTEXT_SN;
        return 0;
    case 'G':
        v = 4;
        if (arg && !cli_parse_long(arg, 1, 63, &v))
            return cli_usage(c->cmd, "--gbt: a window of 1..63 blocks");
        c->lo.session.gbt_window = (uint8_t)v;
        c->lo.session.gbt_always = true;
        return 0;
    default:
        if (code >= DSO_SECURITY && code < 2000) /* the DSO_* range */
            return dlms_sec_option(c->sec, code, arg);
        return DLMS_CONN_NOT_MINE;
    }
}

int dlms_conn_prepare(struct dlms_conn *c, const char *url)
{
    int st;
    int mech = ami_auth_mech_parse(c->auth);
    if (mech < 0)
        return cli_usage(c->cmd, "--auth: none, low, hls-aes, hls-md5, hls-sha1, hls-gmac, "
                                 "hls-sha256 or hls-ecdsa");
    c->sec->mech = mech;
    if (mech == AMI_ACSE_MECH_LOW) {
        if (!c->password[0])
            return cli_usage(c->cmd, "--auth low needs --password");
        c->lo.session.mechanism = AMI_ACSE_MECH_LOW;
        c->lo.session.auth_value = ami_view_of(c->password, strlen(c->password));
    }
    c->url = url;
    c->lo.session.apdu_lenient = AMI_APDU_LENIENT_TRAILING;
    uint32_t conf = c->sn ? (AMI_CONF_READ | AMI_CONF_WRITE | AMI_CONF_UNCONFIRMED_WRITE |
                             AMI_CONF_PARAMETERIZED_ACCESS | AMI_CONF_MULTIPLE_REFERENCES |
                             AMI_CONF_BLOCK_TRANSFER_WITH_GET_OR_READ)
                          : AMI_DLMS_CLIENT_DEFAULT_CONFORMANCE;
    if (c->lo.session.gbt_always)
        conf |= AMI_CONF_GENERAL_BLOCK_TRANSFER;
    c->lo.session.conformance = conf;
    if ((st = dlms_sec_prepare(c->sec, c->url, &c->lo, c->password)) != 0)
        return st;
    if (c->trace) {
        c->lo.trace = on_trace;
        c->lo.trace_user = c;
    }
    return AMI_EXIT_OK;
}

/* ---------------------------------------------------------------- association */

int dlms_conn_open(struct dlms_conn *c, ami_dlms_link **l)
{
    char why[256];
    int rc = ami_dlms_link_open(l, c->url, &c->lo, why, sizeof why);
    if (rc) {
        *l = NULL;
        return cli_fail(c->cmd, c->url, NULL, "%s", why);
    }
    if (isatty(2) && !c->trace)
        ami_dlms_link_progress(*l, on_progress, NULL);
    ami_dlms_result res;
    rc = ami_dlms_link_associate(*l, &res);
    if (rc || res.outcome != AMI_DLMS_SUCCESS) {
        int st = cli_fail(c->cmd, c->url, NULL, "%s", ami_dlms_link_why(*l));
        if (rc == AMI_OK && res.outcome == AMI_DLMS_REJECTED && c->sec->active &&
            c->sec->level != AMI_DLMS_SEC_NONE)
            fprintf(stderr,
                    "ami %s: hint: a meter also refuses an invocation counter it has seen "
                    "(or keys it does not hold): --read-ic reads its counter\n",
                    c->cmd);
        ami_dlms_link_close(*l);
        *l = NULL;
        return st;
    }
    return AMI_EXIT_OK;
}

void dlms_conn_done(ami_dlms_link *l)
{
    if (progress_shown)
        fputc('\n', stderr);
    progress_shown = false;
    (void)ami_dlms_link_release(l);
    ami_dlms_link_close(l);
}

void dlms_conn_finish(void)
{
    dlms_sec_finish(&g_sec);
}
