/*
 * ami iec21: IEC 62056-21 through an optical probe or a serial line, both roles.
 *   read    data readout (modes A, B, C, D)
 *   get     programming mode: R1/R2 of one address (after P1 or P2)
 *   set     programming mode: W1/W2 of one address
 *   decode  a captured exchange (file) message by message
 *   meter   a simulated meter answering on a port or on a new pseudo-terminal
 * SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "ami/ami.h"
#include "cli.h"
#include "io/iec21_port.h"
#include "io/serial.h"

#define READOUT_MAX (64 * 1024)

/* ---------------------------------------------------------------- JSON and text rendering */

static void deviations_json(ami_jw *w, unsigned dev)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {{AMI_IEC21_LENIENT_GARBAGE, "garbage"},
                 {AMI_IEC21_LENIENT_ECHO, "echo"},
                 {AMI_IEC21_LENIENT_BARE, "bare"},
                 {AMI_IEC21_LENIENT_LF, "lf"},
                 {AMI_IEC21_LENIENT_LONG_IDENT, "long-ident"}};
    ami_jw_key(w, "deviations");
    ami_jw_arr_begin(w);
    for (size_t i = 0; i < AMI_COUNTOF(names); i++)
        if (dev & names[i].bit)
            ami_jw_str(w, names[i].name);
    ami_jw_arr_end(w);
}

static const char *bcc_name(enum ami_iec21_bcc_status b)
{
    return b == AMI_IEC21_BCC_OK ? "ok" : b == AMI_IEC21_BCC_ABSENT ? "absent" : "none";
}

/* Writes the data sets of a block; returns 0 or the iterator's error. */
static int datasets_json(ami_jw *w, const uint8_t *d, size_t n, unsigned lenient, unsigned *dev)
{
    ami_iec21_dsiter it;
    ami_iec21_dataset ds;
    ami_iec21_ds_begin(&it, d, n, lenient);
    ami_jw_key(w, "datasets");
    ami_jw_arr_begin(w);
    int rc;
    while ((rc = ami_iec21_ds_next(&it, &ds)) == 1) {
        char num[AMI_IEC21_MAX_VALUE + 2];
        ami_jw_obj_begin(w);
        ami_jw_key(w, "address");
        ami_jw_strn(w, ds.address, ds.address_len);
        ami_jw_key(w, "value");
        size_t nl = ami_iec21_value_number(ds.value, ds.value_len, num, sizeof num);
        if (nl)
            ami_jw_number_text(w, num, nl);
        else
            ami_jw_strn(w, ds.value, ds.value_len);
        ami_jw_key(w, "raw");
        ami_jw_strn(w, ds.raw, ds.raw_len);
        ami_jw_key(w, "unit");
        if (ds.unit)
            ami_jw_strn(w, ds.unit, ds.unit_len);
        else
            ami_jw_null(w);
        if (ds.group) {
            ami_jw_key(w, "group");
            ami_jw_uint(w, ds.group);
        }
        ami_jw_obj_end(w);
    }
    ami_jw_arr_end(w);
    if (dev)
        *dev |= it.deviations;
    return rc < 0 ? rc : 0;
}

static int datasets_text(FILE *out, const uint8_t *d, size_t n, unsigned lenient)
{
    ami_iec21_dsiter it;
    ami_iec21_dataset ds;
    ami_iec21_ds_begin(&it, d, n, lenient);
    int rc;
    while ((rc = ami_iec21_ds_next(&it, &ds)) == 1) {
        fprintf(out, "  %.*s%s = %.*s%s%.*s\n", (int)ds.address_len, ds.address,
                ds.group ? " (+)" : "", (int)ds.value_len, ds.value, ds.unit ? " " : "",
                ds.unit ? (int)ds.unit_len : 0, ds.unit ? ds.unit : "");
    }
    return rc < 0 ? rc : 0;
}

/* A copy of an identification that outlives the engine's buffers. */
struct ident_copy {
    bool have;
    ami_iec21_ident id;
    char text[AMI_IEC21_MAX_IDENT_LONG + 1];
};

static void ident_keep(struct ident_copy *c, const ami_iec21_ident *id)
{
    c->have = true;
    c->id = *id;
    snprintf(c->text, sizeof c->text, "%.*s", (int)id->text_len, id->text);
    c->id.text = c->text;
}

static const char *mode_name(enum ami_iec21_mode m)
{
    static char s[2];
    s[0] = m ? (char)m : '?';
    s[1] = 0;
    return s;
}

static void ident_json(ami_jw *w, const ami_iec21_ident *id)
{
    enum ami_iec21_mode m = ami_iec21_mode_of(id->baud_char, id->mode_e);
    ami_jw_obj_begin(w);
    ami_jw_key(w, "manufacturer");
    ami_jw_str(w, id->manufacturer);
    ami_jw_key(w, "reaction_ms");
    ami_jw_uint(w, id->fast ? 20 : 200);
    ami_jw_key(w, "baud_char");
    ami_jw_strn(w, &id->baud_char, 1);
    ami_jw_key(w, "mode");
    ami_jw_str(w, mode_name(m));
    ami_jw_key(w, "max_baud");
    uint32_t b = m == AMI_IEC21_MODE_A ? 0 : ami_iec21_baud_of(m, id->baud_char);
    if (b)
        ami_jw_uint(w, b);
    else
        ami_jw_null(w);
    ami_jw_key(w, "enhanced");
    ami_jw_str(w, id->enhanced);
    ami_jw_key(w, "mode_e");
    ami_jw_bool(w, id->mode_e);
    ami_jw_key(w, "ident");
    ami_jw_strn(w, id->text, id->text_len);
    ami_jw_obj_end(w);
}

static void ident_text(FILE *out, const ami_iec21_ident *id)
{
    enum ami_iec21_mode m = ami_iec21_mode_of(id->baud_char, id->mode_e);
    fprintf(out, "identification: %s %.*s (mode %s, baud char '%c', reaction %d ms%s%s)\n",
            id->manufacturer, (int)id->text_len, id->text, mode_name(m), id->baud_char,
            id->fast ? 20 : 200, id->enhanced[0] ? ", enhanced \\" : "", id->enhanced);
}

/* ---------------------------------------------------------------- common options */

struct opts {
    const char *cmd;
    bool json;
    bool strict;
    bool drop_echo;
    enum ami_iec21_mode mode;
    const char *address;
    long max_baud;
    const char *password, *secret;
    char type;
};

enum { O_MODE = 256, O_ADDRESS, O_MAXBAUD, O_JSON, O_STRICT, O_ECHO, O_PASSWORD, O_SECRET, O_TYPE };

static const struct option common_opts[] = {
    {"mode", required_argument, NULL, O_MODE},
    {"address", required_argument, NULL, O_ADDRESS},
    {"max-baud", required_argument, NULL, O_MAXBAUD},
    {"json", no_argument, NULL, O_JSON},
    {"strict", no_argument, NULL, O_STRICT},
    {"drop-echo", no_argument, NULL, O_ECHO},
    {"password", required_argument, NULL, O_PASSWORD},
    {"secret", required_argument, NULL, O_SECRET},
    {"type", required_argument, NULL, O_TYPE},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Returns -1 to go on, else an exit status. */
static int parse_common(struct opts *o, int argc, char **argv, void (*help)(FILE *))
{
    int c;
    optind = 0; /* glibc: full re-initialisation, so options may follow PORT (permutation) */
    while ((c = getopt_long(argc, argv, "h", common_opts, NULL)) != -1) {
        switch (c) {
        case O_MODE:
            if (strlen(optarg) != 1 || !strchr("ABCDE", optarg[0]))
                return cli_usage(o->cmd, "--mode: A, B, C, D or E");
            o->mode = (enum ami_iec21_mode)optarg[0];
            break;
        case O_ADDRESS:
            o->address = optarg;
            break;
        case O_MAXBAUD:
            if (!cli_parse_long(optarg, 300, 19200, &o->max_baud) ||
                !ami_iec21_baud_char(AMI_IEC21_MODE_C, (uint32_t)o->max_baud))
                return cli_usage(o->cmd, "--max-baud: one of 300 600 1200 2400 4800 9600 19200");
            break;
        case O_JSON:
            o->json = true;
            break;
        case O_STRICT:
            o->strict = true;
            break;
        case O_ECHO:
            o->drop_echo = true;
            break;
        case O_PASSWORD:
            o->password = optarg;
            break;
        case O_SECRET:
            o->secret = optarg;
            break;
        case O_TYPE:
            if (strcmp(optarg, "1") && strcmp(optarg, "2"))
                return cli_usage(o->cmd, "--type: 1 (ASCII) or 2 (formatted)");
            o->type = optarg[0];
            break;
        case 'h':
            help(stdout);
            return AMI_EXIT_OK;
        default:
            return cli_usage(o->cmd, "bad option");
        }
    }
    return -1;
}

static int open_port(const struct opts *o, const char *path, ami_serial **port)
{
    ami_serial_opts so = {.baud = 300, .format = AMI_SERIAL_7E1, .drop_echo = o->drop_echo};
    int rc = ami_serial_open(port, path, &so);
    if (rc < 0)
        return cli_fail(o->cmd, path, "serial", "%s (%s)", ami_strerror(rc), strerror(errno));
    return 0;
}

static int session_fail(const struct opts *o, const char *port, const ami_iec21 *s, int rc)
{
    const char *why = ami_iec21_why(s);
    if (rc == AMI_E_IO || rc == AMI_E_CLOSED)
        return cli_fail(o->cmd, port, "serial", "%s", ami_strerror(rc));
    if (why[0])
        return cli_fail(o->cmd, port, NULL, "%s", why);
    return cli_fail(o->cmd, port, "iec21", "%s", ami_strerror(rc));
}

/* ---------------------------------------------------------------- read */

static void read_help(FILE *out)
{
    fprintf(
        out,
        "Usage: ami iec21 read PORT [--mode A|B|C|D|E] [--address N] [--max-baud N] [--json]\n\n"
        "Signs on at 300 Bd 7E1 and reads the meter's data readout. In mode D nothing is\n"
        "sent: the port listens at 2400 Bd for the meter's push. Mode E has no readout: the\n"
        "meter is asked to hand the port over to HDLC (ACK 2 Z 2); the identification and\n"
        "the HDLC rate are reported and the port is closed (read the meter's objects with\n"
        "`ami dlms ... iec21:PORT`, which continues the same sign-on with DLMS).\n\n"
        "  --mode M        expected protocol mode (default: what the identification says)\n"
        "  --address N     device address for the request \"/?N!\" (multi-drop)\n"
        "  --max-baud N    highest rate to switch to in mode C (300 .. 19200)\n"
        "  --drop-echo     drop the echo of a half-duplex probe\n"
        "  --strict        refuse the tolerated deviations (see docs/iec21.md)\n"
        "  --json          one JSON object per readout\n"
        "  -h, --help      this help\n\n"
        "Exit: 0 readout complete, 1 protocol/data error (named on stderr), 2 usage.\n");
}

static int client_cfg(const struct opts *o, ami_iec21_client_cfg *c)
{
    memset(c, 0, sizeof *c);
    c->mode = o->mode;
    c->address = o->address;
    c->max_baud = (uint32_t)o->max_baud;
    c->password = o->password;
    c->secret = o->secret;
    c->lenient = o->strict ? 0 : AMI_IEC21_LENIENT_ALL;
    return 0;
}

static void readout_json(FILE *out, const char *port, const struct ident_copy *id,
                         const ami_iec21_msg *m, unsigned lenient, unsigned dev, uint32_t baud,
                         enum ami_iec21_mode mode)
{
    ami_jw w;
    ami_jw_init_file(&w, out);
    ami_jw_obj_begin(&w);
    ami_jw_key(&w, "port");
    ami_jw_str(&w, port);
    ami_jw_key(&w, "mode");
    ami_jw_str(&w, mode_name(mode));
    ami_jw_key(&w, "baud");
    ami_jw_uint(&w, baud);
    ami_jw_key(&w, "identification");
    if (id->have)
        ident_json(&w, &id->id);
    else
        ami_jw_null(&w);
    ami_jw_key(&w, "bcc");
    ami_jw_str(&w, bcc_name(m->bcc_status));
    unsigned d = dev | m->deviations;
    (void)datasets_json(&w, m->data, m->data_len, lenient, &d);
    deviations_json(&w, d);
    ami_jw_obj_end(&w);
    fputc('\n', out);
}

/* Mode E: what the meter said before it handed the port over to HDLC. */
static void handover_report(FILE *out, bool json, const char *port, const struct ident_copy *id,
                            uint32_t baud)
{
    if (json) {
        ami_jw w;
        ami_jw_init_file(&w, out);
        ami_jw_obj_begin(&w);
        ami_jw_key(&w, "port");
        ami_jw_str(&w, port);
        ami_jw_key(&w, "mode");
        ami_jw_str(&w, "E");
        ami_jw_key(&w, "identification");
        if (id->have)
            ident_json(&w, &id->id);
        else
            ami_jw_null(&w);
        ami_jw_key(&w, "handover");
        ami_jw_obj_begin(&w);
        ami_jw_key(&w, "protocol");
        ami_jw_str(&w, "hdlc");
        ami_jw_key(&w, "baud");
        ami_jw_uint(&w, baud);
        ami_jw_key(&w, "format");
        ami_jw_str(&w, "8N1");
        ami_jw_obj_end(&w);
        ami_jw_obj_end(&w);
        fputc('\n', out);
        return;
    }
    if (id->have)
        ident_text(out, &id->id);
    fprintf(out,
            "mode E: the meter handed the port over to HDLC at %u Bd 8N1; no readout in this mode\n"
            "(read its objects with: ami dlms objects iec21:%s)\n",
            baud, port);
}

static int cmd_read(struct ami_cli *cli, int argc, char **argv)
{
    struct opts o = {.cmd = "iec21 read", .json = cli->json};
    int ex = parse_common(&o, argc, argv, read_help);
    if (ex >= 0)
        return ex;
    if (argc - optind != 1)
        return cli_usage(o.cmd, "give one PORT");
    if (o.password || o.secret)
        return cli_usage(o.cmd, "--password/--secret are for get and set");
    const char *path = argv[optind];
    ami_iec21_client_cfg cfg;
    client_cfg(&o, &cfg);
    ami_serial *port;
    if ((ex = open_port(&o, path, &port)) != 0)
        return ex;
    static uint8_t rx[READOUT_MAX], tx[512];
    ami_iec21 s;
    ami_iec21_client_init(&s, &cfg, rx, sizeof rx, tx, sizeof tx);
    ami_iec21_start(&s, ami_now_ms());
    struct ident_copy id = {0};
    ami_iec21_action a;
    int rc, status = AMI_EXIT_OK;
    bool got = false;
    while ((rc = ami_iec21_port_run(port, &s, &a)) == 0 && a.kind == AMI_IEC21_ACT_EVENT) {
        if (a.event == AMI_IEC21_EV_IDENT)
            ident_keep(&id, &a.msg->ident);
        if (a.event == AMI_IEC21_EV_HANDOVER) {
            got = true;
            handover_report(stdout, o.json, path, &id, a.baud);
            break; /* the port now carries HDLC: nothing more for this command */
        }
        if (a.event != AMI_IEC21_EV_READOUT)
            continue;
        got = true;
        enum ami_iec21_mode mode =
            o.mode ? o.mode
                   : (id.have ? ami_iec21_mode_of(id.id.baud_char, false) : AMI_IEC21_MODE_AUTO);
        if (o.json) {
            readout_json(stdout, path, &id, a.msg, cfg.lenient, ami_iec21_deviations(&s),
                         ami_serial_baud(port), mode);
        } else {
            if (id.have)
                ident_text(stdout, &id.id);
            printf("readout (mode %s, %u Bd, BCC %s):\n", mode_name(mode), ami_serial_baud(port),
                   bcc_name(a.msg->bcc_status));
        }
        int e = o.json ? 0 : datasets_text(stdout, a.msg->data, a.msg->data_len, cfg.lenient);
        if (o.json) {
            ami_iec21_dsiter it;
            ami_iec21_dataset ds;
            ami_iec21_ds_begin(&it, a.msg->data, a.msg->data_len, cfg.lenient);
            while ((e = ami_iec21_ds_next(&it, &ds)) == 1)
                ;
        }
        if (e < 0)
            status = cli_fail(o.cmd, path, "iec21", "data set: %s", ami_strerror(e));
    }
    if (rc < 0)
        status = session_fail(&o, path, &s, rc);
    else if (!got && status == AMI_EXIT_OK)
        status = cli_fail(o.cmd, path, "iec21", "no readout");
    fflush(stdout);
    ami_serial_close(port);
    return status;
}

/* ---------------------------------------------------------------- get / set */

static void get_help(FILE *out)
{
    fprintf(out,
            "Usage: ami iec21 get PORT ADDRESS [--password P | --secret S] [options]\n"
            "       ami iec21 set PORT ADDRESS VALUE [--password P | --secret S] [options]\n\n"
            "Opens programming mode (mode C option select Y=1), answers the meter's P0 with P1\n"
            "(password) or P2 (the example algorithm of docs/iec21.md over the secret and the\n"
            "operand), then reads (R1/R2) or writes (W1/W2) one address and signs off (B0).\n\n"
            "  --password P    P1 password\n"
            "  --secret S      P2 secret\n"
            "  --type 1|2      command type: 1 ASCII (default), 2 formatted\n"
            "  --address N, --max-baud N, --drop-echo, --strict, --json   as for read\n"
            "  -h, --help      this help\n\n"
            "Exit: 0 done, 1 refused or protocol error (the meter's (ERROR...) text on stderr),\n"
            "2 usage.\n");
}

static int cmd_prog(struct ami_cli *cli, int argc, char **argv, bool set)
{
    struct opts o = {.cmd = set ? "iec21 set" : "iec21 get", .json = cli->json, .type = '1'};
    int ex = parse_common(&o, argc, argv, get_help);
    if (ex >= 0)
        return ex;
    if (argc - optind != (set ? 3 : 2))
        return cli_usage(o.cmd, set ? "give PORT ADDRESS VALUE" : "give PORT ADDRESS");
    if (o.password && o.secret)
        return cli_usage(o.cmd, "give --password or --secret, not both");
    if (o.mode && o.mode != AMI_IEC21_MODE_C)
        return cli_usage(o.cmd, "programming mode needs mode C");
    const char *path = argv[optind], *addr = argv[optind + 1];
    const char *value = set ? argv[optind + 2] : NULL;
    ami_iec21_client_cfg cfg;
    client_cfg(&o, &cfg);
    cfg.mode = AMI_IEC21_MODE_C;
    cfg.programming = true;
    ami_serial *port;
    if ((ex = open_port(&o, path, &port)) != 0)
        return ex;
    static uint8_t rx[8192], tx[512];
    ami_iec21 s;
    ami_iec21_client_init(&s, &cfg, rx, sizeof rx, tx, sizeof tx);
    ami_iec21_start(&s, ami_now_ms());
    ami_iec21_action a;
    int rc, status = AMI_EXIT_OK;
    bool answered = false;
    while ((rc = ami_iec21_port_run(port, &s, &a)) == 0 && a.kind == AMI_IEC21_ACT_EVENT) {
        if (a.event == AMI_IEC21_EV_PROG_READY) {
            int e = ami_iec21_command(&s, set ? 'W' : 'R', o.type, addr, value, ami_now_ms());
            if (e < 0) {
                status = cli_usage(o.cmd, "ADDRESS or VALUE: %s", ami_strerror(e));
                ami_iec21_close(&s, ami_now_ms());
            }
            continue;
        }
        if (a.event != AMI_IEC21_EV_ANSWER)
            continue;
        answered = true;
        if (a.answer == AMI_IEC21_ANS_ERROR || a.answer == AMI_IEC21_ANS_BREAK) {
            status = cli_fail(o.cmd, path, "iec21", "%s %s refused by the meter: %.*s",
                              set ? "write" : "read", addr, (int)a.msg->data_len,
                              a.msg->data ? (const char *)a.msg->data : "B0");
        } else if (o.json) {
            ami_jw w;
            ami_jw_init_file(&w, stdout);
            ami_jw_obj_begin(&w);
            ami_jw_key(&w, "port");
            ami_jw_str(&w, path);
            ami_jw_key(&w, "command");
            char cmd[3] = {set ? 'W' : 'R', o.type, 0};
            ami_jw_str(&w, cmd);
            ami_jw_key(&w, "address");
            ami_jw_str(&w, addr);
            ami_jw_key(&w, "result");
            ami_jw_str(&w, a.answer == AMI_IEC21_ANS_ACK ? "ack" : "data");
            if (a.answer == AMI_IEC21_ANS_DATA) {
                ami_jw_key(&w, "bcc");
                ami_jw_str(&w, bcc_name(a.msg->bcc_status));
                (void)datasets_json(&w, a.msg->data, a.msg->data_len, cfg.lenient, NULL);
            }
            ami_jw_obj_end(&w);
            fputc('\n', stdout);
        } else if (a.answer == AMI_IEC21_ANS_ACK) {
            printf("%s: written\n", addr);
        } else {
            (void)datasets_text(stdout, a.msg->data, a.msg->data_len, cfg.lenient);
        }
        ami_iec21_close(&s, ami_now_ms());
    }
    if (rc < 0 && status == AMI_EXIT_OK)
        status = session_fail(&o, path, &s, rc);
    else if (!answered && status == AMI_EXIT_OK)
        status = cli_fail(o.cmd, path, "iec21", "no answer");
    fflush(stdout);
    ami_serial_close(port);
    return status;
}

static int cmd_get(struct ami_cli *cli, int argc, char **argv)
{
    return cmd_prog(cli, argc, argv, false);
}

static int cmd_set(struct ami_cli *cli, int argc, char **argv)
{
    return cmd_prog(cli, argc, argv, true);
}

/* ---------------------------------------------------------------- decode */

static void decode_help(FILE *out)
{
    fprintf(out, "Usage: ami iec21 decode FILE [--strict] [--json]\n\n"
                 "Decodes a captured IEC 62056-21 exchange (both directions, as a probe or a\n"
                 "logger saw it) message by message: request, identification, option select,\n"
                 "ACK/NAK, commands, data messages with their data sets and BCC.\n\n"
                 "  --strict    refuse the tolerated deviations (see docs/iec21.md)\n"
                 "  --json      one JSON object: {\"file\", \"messages\": [...]}\n"
                 "  -h, --help  this help\n\n"
                 "Exit: 0 every message decoded, 1 a bad BCC or malformed message (named on\n"
                 "stderr with its offset), 2 usage.\n");
}

static const char *option_mode_name(char y)
{
    switch (y) {
    case '0':
        return "readout";
    case '1':
        return "programming";
    case '2':
        return "binary";
    default:
        return y >= '6' && y <= '9' ? "manufacturer" : "reserved";
    }
}

static void msg_json(ami_jw *w, const ami_iec21_msg *m, size_t at, unsigned lenient, int *dserr)
{
    ami_jw_obj_begin(w);
    ami_jw_key(w, "offset");
    ami_jw_uint(w, at + m->start);
    ami_jw_key(w, "type");
    unsigned dev = m->deviations;
    switch (m->kind) {
    case AMI_IEC21_MSG_REQUEST:
        ami_jw_str(w, "request");
        ami_jw_key(w, "address");
        ami_jw_strn(w, m->address, m->address_len);
        break;
    case AMI_IEC21_MSG_IDENT:
        ami_jw_str(w, "identification");
        ami_jw_key(w, "identification");
        ident_json(w, &m->ident);
        break;
    case AMI_IEC21_MSG_OPTION: {
        ami_jw_str(w, "option");
        ami_jw_key(w, "protocol");
        ami_jw_strn(w, &m->option.protocol, 1);
        ami_jw_key(w, "baud_char");
        ami_jw_strn(w, &m->option.baud, 1);
        ami_jw_key(w, "baud");
        uint32_t b = ami_iec21_baud_of(AMI_IEC21_MODE_C, m->option.baud);
        if (b)
            ami_jw_uint(w, b);
        else
            ami_jw_null(w);
        ami_jw_key(w, "mode");
        ami_jw_str(w, option_mode_name(m->option.mode));
        break;
    }
    case AMI_IEC21_MSG_ACK:
        ami_jw_str(w, "ack");
        break;
    case AMI_IEC21_MSG_NAK:
        ami_jw_str(w, "nak");
        break;
    case AMI_IEC21_MSG_COMMAND: {
        ami_jw_str(w, "command");
        char c[3] = {m->cmd, m->cmd_type, 0};
        ami_jw_key(w, "command");
        ami_jw_str(w, c);
        break;
    }
    case AMI_IEC21_MSG_DATA:
    case AMI_IEC21_MSG_BARE:
        ami_jw_str(w, "data");
        break;
    default:
        ami_jw_str(w, "none");
        break;
    }
    if (m->kind == AMI_IEC21_MSG_COMMAND || m->kind == AMI_IEC21_MSG_DATA ||
        m->kind == AMI_IEC21_MSG_BARE) {
        ami_jw_key(w, "bcc");
        ami_jw_str(w, bcc_name(m->bcc_status));
        if (m->bcc_status == AMI_IEC21_BCC_OK) {
            char hex[5];
            snprintf(hex, sizeof hex, "0x%02X", m->bcc_received);
            ami_jw_key(w, "bcc_value");
            ami_jw_str(w, hex);
        }
        if (m->partial) {
            ami_jw_key(w, "partial");
            ami_jw_bool(w, true);
        }
        if (m->data) {
            int e = datasets_json(w, m->data, m->data_len, lenient, &dev);
            if (e < 0 && dserr && !*dserr)
                *dserr = e;
        }
    }
    deviations_json(w, dev);
    ami_jw_obj_end(w);
}

static void msg_text(const ami_iec21_msg *m, size_t at, unsigned lenient, int *dserr)
{
    printf("@%zu ", at + m->start);
    switch (m->kind) {
    case AMI_IEC21_MSG_REQUEST:
        printf("request /?%.*s!\n", (int)m->address_len, m->address);
        return;
    case AMI_IEC21_MSG_IDENT:
        ident_text(stdout, &m->ident);
        return;
    case AMI_IEC21_MSG_OPTION:
        printf("option select: protocol %c, baud '%c', %s\n", m->option.protocol, m->option.baud,
               option_mode_name(m->option.mode));
        return;
    case AMI_IEC21_MSG_ACK:
        printf("ACK\n");
        return;
    case AMI_IEC21_MSG_NAK:
        printf("NAK\n");
        return;
    case AMI_IEC21_MSG_COMMAND:
        printf("command %c%c (BCC %s)\n", m->cmd, m->cmd_type, bcc_name(m->bcc_status));
        break;
    default:
        printf("data (BCC %s)\n", bcc_name(m->bcc_status));
        break;
    }
    if (m->data) {
        int e = datasets_text(stdout, m->data, m->data_len, lenient);
        if (e < 0 && dserr && !*dserr)
            *dserr = e;
    }
}

static int cmd_decode(struct ami_cli *cli, int argc, char **argv)
{
    struct opts o = {.cmd = "iec21 decode", .json = cli->json};
    int ex = parse_common(&o, argc, argv, decode_help);
    if (ex >= 0)
        return ex;
    if (argc - optind != 1)
        return cli_usage(o.cmd, "give one FILE");
    const char *path = argv[optind];
    uint8_t *buf;
    size_t len;
    int rc = cli_read_file(path, (size_t)16 << 20, &buf, &len);
    if (rc < 0)
        return cli_fail(o.cmd, path, NULL, "%s", ami_strerror(rc));
    unsigned lenient = o.strict ? 0 : AMI_IEC21_LENIENT_ALL;
    ami_jw w;
    if (o.json) {
        ami_jw_init_file(&w, stdout);
        ami_jw_obj_begin(&w);
        ami_jw_key(&w, "file");
        ami_jw_str(&w, path);
        ami_jw_key(&w, "messages");
        ami_jw_arr_begin(&w);
    }
    size_t off = 0;
    int status = AMI_EXIT_OK, dserr = 0;
    char err[160] = "";
    while (off < len) {
        ami_iec21_msg m;
        rc = ami_iec21_msg_parse(buf + off, len - off, AMI_IEC21_FROM_ANY, lenient, &m);
        if (rc == AMI_E_CHECKSUM) {
            snprintf(err, sizeof err, "bcc: received 0x%02X, computed 0x%02X (message at byte %zu)",
                     m.bcc_received, m.bcc_computed, off + m.start);
            break;
        }
        if (rc == AMI_E_AGAIN) {
            /* a lone ACK at the very end is an acknowledgement; else the capture was cut */
            if (!(len - off == 1 && buf[off] == AMI_IEC21_ACK)) {
                snprintf(err, sizeof err, "message at byte %zu is truncated", off + m.start);
                break;
            }
            rc = ami_iec21_msg_parse(buf + off, 1, AMI_IEC21_FROM_METER, lenient, &m);
        }
        if (rc < 0) {
            snprintf(err, sizeof err, "%s at byte %zu", ami_strerror(rc), off + m.start);
            break;
        }
        if (m.kind != AMI_IEC21_MSG_NONE) {
            if (o.json)
                msg_json(&w, &m, off, lenient, &dserr);
            else
                msg_text(&m, off, lenient, &dserr);
        }
        off += (size_t)rc;
        if (dserr) {
            snprintf(err, sizeof err, "data set: %s (message ending at byte %zu)",
                     ami_strerror(dserr), off);
            break;
        }
    }
    if (o.json) {
        ami_jw_arr_end(&w);
        if (err[0]) {
            ami_jw_key(&w, "error");
            ami_jw_str(&w, err);
        }
        ami_jw_obj_end(&w);
        fputc('\n', stdout);
    }
    fflush(stdout);
    free(buf);
    if (err[0])
        status = cli_fail(o.cmd, path, "iec21", "%s", err);
    return status;
}

/* ---------------------------------------------------------------- meter */

#define METER_REGS  64
#define METER_VALUE 64

struct meter_conf {
    ami_iec21_meter_cfg cfg;
    ami_iec21_register regs[METER_REGS];
    char values[METER_REGS][METER_VALUE];
    char strings[METER_REGS + 16][METER_VALUE]; /* addresses, units, texts */
    size_t nstr;
    bool button;
    char operand[16];
    bool echo;
};

static char *keep(struct meter_conf *m, const char *s)
{
    if (m->nstr == AMI_COUNTOF(m->strings) || strlen(s) >= METER_VALUE)
        return NULL;
    char *d = m->strings[m->nstr++];
    memcpy(d, s, strlen(s) + 1);
    return d;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = 0;
    return s;
}

static int parse_register(struct meter_conf *m, char *v, const char **why)
{
    if (m->cfg.nregs == METER_REGS) {
        *why = "too many registers";
        return -1;
    }
    ami_iec21_register *r = &m->regs[m->cfg.nregs];
    char *tok[5] = {0};
    int n = 0;
    for (char *p = v; *p && n < 5;) {
        while (*p == ' ' || *p == '\t')
            *p++ = 0;
        if (!*p)
            break;
        tok[n++] = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
    }
    if (n < 2) {
        *why = "register = ADDRESS VALUE [UNIT|-] [read=N] [write=N]";
        return -1;
    }
    r->address = keep(m, tok[0]);
    r->value = m->values[m->cfg.nregs];
    r->value_cap = METER_VALUE;
    if (!r->address || strlen(tok[1]) >= METER_VALUE) {
        *why = "register address or value too long";
        return -1;
    }
    memcpy(r->value, tok[1], strlen(tok[1]) + 1);
    r->read_level = 1;
    for (int i = 2; i < n; i++) {
        long l;
        if (!strncmp(tok[i], "read=", 5) && cli_parse_long(tok[i] + 5, 1, 4, &l))
            r->read_level = (uint8_t)l;
        else if (!strncmp(tok[i], "write=", 6) && cli_parse_long(tok[i] + 6, 0, 4, &l))
            r->write_level = (uint8_t)l;
        else if (i == 2 && strcmp(tok[i], "-") != 0 && !strchr(tok[i], '='))
            r->unit = keep(m, tok[i]);
        else if (i != 2 || strcmp(tok[i], "-") != 0) {
            *why = "bad register option (read=1..4, write=0..4)";
            return -1;
        }
    }
    m->cfg.nregs++;
    return 0;
}

static int load_meter_conf(const char *path, struct meter_conf *m, char *why, size_t cap)
{
    memset(m, 0, sizeof *m);
    ami_iec21_meter_cfg *c = &m->cfg;
    c->mode = AMI_IEC21_MODE_C;
    c->manufacturer = "OAM";
    c->ident = "SIM";
    c->regs = m->regs;
    c->button = &m->button;
    c->operand = m->operand;
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(why, cap, "%s", strerror(errno));
        return -1;
    }
    char line[256];
    int ln = 0;
    while (fgets(line, sizeof line, f)) {
        ln++;
        char *s = trim(line);
        if (!*s || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(why, cap, "line %d: KEY = VALUE expected", ln);
            fclose(f);
            return -1;
        }
        *eq = 0;
        char *k = trim(s), *v = trim(eq + 1);
        const char *bad = NULL;
        long l;
        if (!strcmp(k, "mode")) {
            if (strlen(v) != 1 || !strchr("ABCDE", v[0]))
                bad = "mode: A, B, C, D or E";
            else
                c->mode = (enum ami_iec21_mode)v[0];
        } else if (!strcmp(k, "manufacturer")) {
            c->manufacturer = keep(m, v);
        } else if (!strcmp(k, "ident")) {
            c->ident = keep(m, v);
        } else if (!strcmp(k, "address")) {
            c->address = keep(m, v);
        } else if (!strcmp(k, "password")) {
            c->password = keep(m, v);
        } else if (!strcmp(k, "secret")) {
            c->secret = keep(m, v);
        } else if (!strcmp(k, "button")) {
            m->button = !strcmp(v, "on") || !strcmp(v, "1");
        } else if (!strcmp(k, "max-baud")) {
            if (!cli_parse_long(v, 300, 19200, &l))
                bad = "max-baud: 300 .. 19200";
            else
                c->max_baud = (uint32_t)l;
        } else if (!strcmp(k, "max-bad-passwords")) {
            if (!cli_parse_long(v, 1, 100, &l))
                bad = "max-bad-passwords: 1 .. 100";
            else
                c->max_bad_passwords = (unsigned)l;
        } else if (!strcmp(k, "lock-seconds")) {
            if (!cli_parse_long(v, 1, 86400, &l))
                bad = "lock-seconds: 1 .. 86400";
            else
                c->lock_ms = (uint32_t)l * 1000u;
        } else if (!strcmp(k, "reaction-ms")) {
            if (!cli_parse_long(v, 1, 1500, &l))
                bad = "reaction-ms: 1 .. 1500";
            else
                c->timing.reaction_ms = c->timing.reaction_fast_ms = (uint32_t)l;
        } else if (!strcmp(k, "push-seconds")) {
            if (!cli_parse_long(v, 1, 3600, &l))
                bad = "push-seconds: 1 .. 3600";
            else
                c->timing.push_every_ms = (uint32_t)l * 1000u;
        } else if (!strcmp(k, "echo")) {
            m->echo = !strcmp(v, "on") || !strcmp(v, "1");
        } else if (!strcmp(k, "register")) {
            if (parse_register(m, v, &bad) == 0)
                bad = NULL;
        } else {
            bad = "unknown key";
        }
        if (!c->manufacturer || !c->ident)
            bad = "value too long";
        if (bad) {
            snprintf(why, cap, "line %d: %s", ln, bad);
            fclose(f);
            return -1;
        }
    }
    fclose(f);
    return 0;
}

static void new_operand(struct meter_conf *m)
{
    uint32_t r = 0;
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
        r = (uint32_t)ami_now_ms();
    snprintf(m->operand, sizeof m->operand, "%08u", r % 100000000u);
}

static void meter_help(FILE *out)
{
    fprintf(out, "Usage: ami iec21 meter (PORT | --pty) --config FILE [--ready-file F] [--echo]\n\n"
                 "Answers as a meter (IEC 62056-21 tariff device) on PORT, or on a new\n"
                 "pseudo-terminal whose slave path is written to --ready-file (and stdout). Runs\n"
                 "until killed; one line per event on stdout (session, write, bad-password,\n"
                 "tamper, handover).\n\n"
                 "  --config FILE   meter configuration (keys in docs/iec21.md)\n"
                 "  --pty           create a pseudo-terminal pair and serve its master side\n"
                 "  --ready-file F  write the port path to F once the meter listens\n"
                 "  --echo          echo every byte received, as a half-duplex probe does\n"
                 "  -h, --help      this help\n");
}

static volatile sig_atomic_t meter_stop;

static void on_signal(int sig)
{
    (void)sig;
    meter_stop = 1;
}

static int cmd_meter(struct ami_cli *cli, int argc, char **argv)
{
    (void)cli;
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"pty", no_argument, NULL, 'p'},
        {"ready-file", required_argument, NULL, 'r'},
        {"echo", no_argument, NULL, 'e'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *conf = NULL, *ready = NULL;
    bool pty = false, echo = false;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            conf = optarg;
            break;
        case 'p':
            pty = true;
            break;
        case 'r':
            ready = optarg;
            break;
        case 'e':
            echo = true;
            break;
        case 'h':
            meter_help(stdout);
            return AMI_EXIT_OK;
        default:
            return cli_usage("iec21 meter", "bad option");
        }
    }
    if (!conf || (pty == (optind < argc)) || argc - optind > 1)
        return cli_usage("iec21 meter", "give --config FILE and either PORT or --pty");
    static struct meter_conf mc;
    char why[160];
    if (load_meter_conf(conf, &mc, why, sizeof why) < 0)
        return cli_fail("iec21 meter", conf, "config", "%s", why);
    echo |= mc.echo;
    new_operand(&mc);

    char path[64];
    ami_serial *port = NULL;
    int slave_keep = -1;
    ami_serial_opts so = {.baud = 300, .format = AMI_SERIAL_7E1};
    int rc;
    if (pty) {
        int master;
        if ((rc = ami_pty_open(&master, path, sizeof path)) < 0)
            return cli_fail("iec21 meter", "pty", "serial", "%s", ami_strerror(rc));
        /* hold the slave open: the master then never sees EIO between two clients */
        slave_keep = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
        rc = ami_serial_from_fd(&port, master, true, &so);
        if (rc == 0 && slave_keep >= 0) {
            /* the keeper descriptor also needs the raw settings the client will get */
            ami_serial *k;
            if (ami_serial_from_fd(&k, slave_keep, false, &so) == 0)
                ami_serial_close(k);
        }
    } else {
        snprintf(path, sizeof path, "%s", argv[optind]);
        rc = ami_serial_open(&port, path, &so);
    }
    if (rc < 0)
        return cli_fail("iec21 meter", path, "serial", "%s", ami_strerror(rc));
    static uint8_t rx[4096], tx[8192];
    ami_iec21 s;
    rc = ami_iec21_meter_init(&s, &mc.cfg, rx, sizeof rx, tx, sizeof tx);
    if (rc < 0) {
        ami_serial_close(port);
        return cli_fail("iec21 meter", conf, "config", "%s", ami_strerror(rc));
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGPIPE, SIG_IGN);
    printf("listening %s mode %c\n", path, (char)mc.cfg.mode);
    fflush(stdout);
    if (ready) {
        char tmp[512];
        snprintf(tmp, sizeof tmp, "%s.tmp", ready);
        FILE *f = fopen(tmp, "w");
        if (!f || fprintf(f, "%s\n", path) < 0 || fclose(f) != 0 || rename(tmp, ready) != 0)
            return cli_fail("iec21 meter", ready, NULL, "cannot write the ready file");
    }
    int status = AMI_EXIT_OK;
    uint8_t buf[512];
    while (!meter_stop) {
        ami_iec21_action a;
        uint64_t now = ami_now_ms();
        rc = ami_iec21_poll(&s, now, &a);
        if (rc < 0) {
            status = cli_fail("iec21 meter", path, "iec21", "%s", ami_iec21_why(&s));
            break;
        }
        if (a.kind == AMI_IEC21_ACT_SEND) {
            rc = ami_serial_write(port, a.data, a.len);
            if (rc == 0)
                rc = ami_serial_drain(port);
        } else if (a.kind == AMI_IEC21_ACT_BAUD) {
            rc = ami_serial_set(port, a.baud,
                                a.format == AMI_IEC21_8N1 ? AMI_SERIAL_8N1 : AMI_SERIAL_7E1);
        } else if (a.kind == AMI_IEC21_ACT_WAIT) {
            int timeout = 1000; /* wake up now and then to see meter_stop */
            if (a.until != UINT64_MAX) {
                now = ami_now_ms();
                uint64_t left = a.until > now ? a.until - now : 0;
                timeout = left < 1000 ? (int)left : 1000;
            }
            int n = ami_serial_read(port, buf, sizeof buf, timeout);
            if (n > 0) {
                if (echo)
                    (void)ami_serial_write(port, buf, (size_t)n);
                (void)ami_iec21_input(&s, buf, (size_t)n, ami_now_ms());
            }
            rc = n == AMI_E_CLOSED ? 0 : (n < 0 ? n : 0);
        } else if (a.kind == AMI_IEC21_ACT_EVENT) {
            switch (a.event) {
            case AMI_IEC21_EV_SIGNED_OFF:
                printf("event signed-off\n");
                new_operand(&mc);
                break;
            case AMI_IEC21_EV_WRITTEN:
                printf("event written %s=%s\n", mc.regs[a.reg].address, mc.regs[a.reg].value);
                break;
            case AMI_IEC21_EV_EXECUTED:
                printf("event executed %s\n", mc.regs[a.reg].address);
                break;
            case AMI_IEC21_EV_BAD_PASSWORD:
                printf("event bad-password count=%u\n", a.count);
                break;
            case AMI_IEC21_EV_TAMPER:
                printf("event tamper locked after %u wrong passwords\n", a.count);
                break;
            case AMI_IEC21_EV_HANDOVER:
                printf("event handover baud=%u\n", a.baud);
                break;
            default:
                break;
            }
            fflush(stdout);
        } else if (a.kind == AMI_IEC21_ACT_DONE) {
            /* after a mode E hand-over: no HDLC server here yet, start over at 300 Bd */
            ami_iec21_meter_init(&s, &mc.cfg, rx, sizeof rx, tx, sizeof tx);
            rc = ami_serial_set(port, 300, AMI_SERIAL_7E1);
        }
        if (rc < 0) {
            status = cli_fail("iec21 meter", path, "serial", "%s", ami_strerror(rc));
            break;
        }
    }
    ami_serial_close(port);
    if (slave_keep >= 0)
        close(slave_keep);
    return status;
}

/* ---------------------------------------------------------------- dispatch */

static int run(struct ami_cli *cli, int argc, char **argv)
{
    static const struct ami_subcommand table[] = {
        {"read", "data readout through the optical port (modes A, B, C, D)", cmd_read},
        {"get", "read one address in programming mode (R1/R2 after P1/P2)", cmd_get},
        {"set", "write one address in programming mode (W1/W2 after P1/P2)", cmd_set},
        {"decode", "decode a captured exchange from a file", cmd_decode},
        {"meter", "answer as a simulated meter on a port or a new pty", cmd_meter},
        {NULL, NULL, NULL},
    };
    return cli_dispatch(cli, argc, argv, "ami iec21 COMMAND [OPTIONS]", table);
}

const struct ami_command ami_cmd_iec21 = {"iec21",
                                          "IEC 62056-21 optical port: read, program, "
                                          "decode, simulate a meter",
                                          run};
