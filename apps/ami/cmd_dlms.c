/*
 * ami dlms: a DLMS/COSEM client over the endpoint URLs of io/dlms_transport.h: object list,
 * GET (with-list), SET, ACTION, profile reads by range or entry, clock read and sync, key
 * rotation, and the meter's certificates (cert).
 * SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "ami/ami.h"
#include "cli.h"
#include "dlms_conn.h"
#include "dlms_fw.h"
#include "io/dlms_transport.h"

#define MAX_REFS 32

typedef struct dopts {
    struct dlms_conn c; /* URL, addresses, authentication, security, trace */
    bool json, csv;
    const char *from, *to;
    long last;
    bool sync;
    /* keys rotate */
    struct cli_key new_ek, new_ak, new_bek;
    bool random_keys, show_keys;
    const char *setup;
    /* cert */
    const char *entity, *ctype, *ctitle, *serial, *issuer, *out;
    bool sn_write; /* action --sn: through WriteRequest instead of ReadRequest */
} dopts;

static void help_common(FILE *out)
{
    fprintf(out,
            "\nURL: tcp://HOST:PORT (wrapper over TCP), udp://HOST:PORT, hdlc+tcp://HOST:PORT,\n"
            "     hdlc:/dev/ttyUSB0?baud=9600, iec21:/dev/ttyUSB0 (mode E sign-on, then HDLC)\n\n"
            "Options:\n");
    dlms_conn_help(out);
    fprintf(out, "  --json              JSON output\n"
                 "  -h, --help          this help\n");
    fprintf(out, "\nExit status: 0 done; 1 a transport, association, security or service error "
                 "(named);\n2 usage.\n");
}

static const char *const usage_line[] = {
    "objects URL [OPTIONS]\n\nLists the objects of the association (class, version, OBIS, "
    "access rights).\n",
    "get URL [CLASS/]OBIS:ATTR ... [OPTIONS]\n\nReads attributes (several: one GET-with-list). "
    "Without CLASS the class is\nlooked up in the object list.\n",
    "set URL [CLASS/]OBIS:ATTR VALUE [OPTIONS]\n\nWrites an attribute. VALUE is A-XDR in hex "
    "(\"hex:1105\" or \"1105\") or typed:\nu8: u16: u32: u64: i8: i16: i32: i64: enum: bool: "
    "str: oct:HEX\n",
    "action URL [CLASS/]OBIS:METHOD [PARAM] [--sn-write] [OPTIONS]\n\nInvokes a method; PARAM "
    "as the set VALUE. With --sn: a ReadRequest of the\nmethod's short name (PARAM in "
    "parameterized-access), or a WriteRequest with\n--sn-write (no return data); a raw SN:NAME "
    "is accepted too.\n\n"
    "  --sn-write           with --sn: invoke through a WriteRequest\n",
    "profile URL [CLASS/]OBIS (--from ISO --to ISO | --last N) [--csv] [OPTIONS]\n\nReads a "
    "profile buffer (attribute 2) by range (clock as the restricting object)\nor the last N "
    "entries (entry descriptor). Long reads show their progress on stderr\n(a terminal).\n\n"
    "  --from ISO --to ISO  entries captured in [from, to] (ISO 8601 with an offset)\n"
    "  --last N             the last N entries\n"
    "  --csv                one line per entry, values comma-separated, date-times ISO 8601\n",
    "clock URL [--sync] [OPTIONS]\n\nReads the clock (0.0.1.0.0.255) and its drift against this "
    "host; --sync sets it\nto this host's time (UTC).\n",
    "keys rotate URL (--new-ek HEX | --new-ak HEX | --new-bek HEX | --random) --kek HEX\n"
    "        [--show-keys] [--setup OBIS] [OPTIONS]\n\n"
    "Changes the meter's global keys: Security Setup (class 64, default 0.0.43.0.0.255)\n"
    "method 2 global_key_transfer with the keys wrapped under the KEK (RFC 3394).\n"
    "--random draws a new EK and AK from the OS. Prints which keys changed; the new keys\n"
    "only with --show-keys. Give the current keys with the usual options.\n",
    "cert list|export|import|remove|csr|genkey URL [ARGS] [OPTIONS]\n\n"
    "The meter's key pairs and certificates: Security Setup version 1 (class 64,\n"
    "default 0.0.43.0.0.255, --setup OBIS) attribute 6 and methods 4..8. Needs an\n"
    "association whose requests are authenticated (e.g. --client 1 --auth hls-gmac\n"
    "--security auth-enc with the keys).\n\n"
    "  cert list URL                 the certificates (entity, type, serial, subject,\n"
    "                                issuer; the issuer's DER in hex for --issuer)\n"
    "  cert export URL ID [--out F]  one certificate: DER into F, else hex on stdout\n"
    "  cert import URL FILE          an X.509 certificate (DER or PEM)\n"
    "  cert remove URL ID            remove one certificate\n"
    "  cert csr URL [--type T] [--out F]  PKCS#10 request for the meter's key pair\n"
    "                                (DER into F, else PEM on stdout)\n"
    "  cert genkey URL [--type T]    a new key pair (voids the meter's certificate of it)\n\n"
    "ID: --entity server|client|ca|other --type signing|agreement|tls|other\n"
    "    [--subject-title HEX] (8 bytes, the subject CN), or --serial HEX --issuer HEX\n"
    "  --type T            key pair / certificate type (default signing)\n"
    "  --out FILE          where export and csr write the DER\n",
};

static void help(FILE *out, int which)
{
    fprintf(out, "Usage: ami dlms %s", usage_line[which]);
    help_common(out);
}

/* ---------------------------------------------------------------- options */

/* Parses the options of every sub-command; positional arguments are left in argv[optind..]. */
static int parse(int argc, char **argv, dopts *d, int which)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'J'},
        {"csv", no_argument, NULL, 'C'},
        {"from", required_argument, NULL, 'f'},
        {"to", required_argument, NULL, 'u'},
        {"last", required_argument, NULL, 'n'},
        {"sync", no_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},
        {"new-ek", required_argument, NULL, 2000},
        {"new-ak", required_argument, NULL, 2001},
        {"new-bek", required_argument, NULL, 2002},
        {"random", no_argument, NULL, 2003},
        {"show-keys", no_argument, NULL, 2004},
        {"setup", required_argument, NULL, 2005},
        {"entity", required_argument, NULL, 2006},
        {"type", required_argument, NULL, 2007},
        {"subject-title", required_argument, NULL, 2008},
        {"serial", required_argument, NULL, 2009},
        {"issuer", required_argument, NULL, 2010},
        {"out", required_argument, NULL, 2011},
        {"sn-write", no_argument, NULL, 2012},
        DLMS_CONN_LONG_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    int c, st;
    dlms_conn_defaults(&d->c, d->c.cmd);
    optind = 0; /* GNU getopt: full re-initialisation, so options may follow the arguments */
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'J':
            d->json = true;
            break;
        case 'C':
            d->csv = true;
            break;
        case 'f':
            d->from = optarg;
            break;
        case 'u':
            d->to = optarg;
            break;
        case 'n':
            if (!cli_parse_long(optarg, 1, 0x7FFFFFFF, &d->last))
                return cli_usage(d->c.cmd, "--last: a positive number of entries");
            break;
        case 'S':
            d->sync = true;
            break;
        case 'h':
            help(stdout, which);
            return -1;
        case 2000:
        case 2001:
        case 2002: {
            static const char *const nm[] = {"new-ek", "new-ak", "new-bek"};
            struct cli_key *k = c == 2000 ? &d->new_ek : c == 2001 ? &d->new_ak : &d->new_bek;
            if (which != 6)
                return cli_usage(d->c.cmd, "--%s is an option of keys rotate", nm[c - 2000]);
            if ((st = cli_key_set_hex(d->c.cmd, nm[c - 2000], optarg, k)) != 0)
                return st;
            break;
        }
        case 2006:
        case 2007:
        case 2008:
        case 2009:
        case 2010:
        case 2011: {
            if (which != 7)
                return cli_usage(d->c.cmd, "--entity, --type, --subject-title, --serial, "
                                           "--issuer and --out are options of cert");
            const char **dst[] = {&d->entity, &d->ctype,  &d->ctitle,
                                  &d->serial, &d->issuer, &d->out};
            *dst[c - 2006] = optarg;
            break;
        }
        case 2005:
            if (which != 6 && which != 7)
                return cli_usage(d->c.cmd, "--setup is an option of keys rotate and cert");
            d->setup = optarg;
            break;
        case 2003:
        case 2004:
            if (which != 6)
                return cli_usage(d->c.cmd, "--random and --show-keys are options of keys rotate");
            if (c == 2003)
                d->random_keys = true;
            else
                d->show_keys = true;
            break;
        case 2012:
            if (which != 3)
                return cli_usage(d->c.cmd, "--sn-write is an option of action");
            d->sn_write = true;
            break;
        default:
            st = dlms_conn_option(&d->c, c, optarg);
            if (st == DLMS_CONN_NOT_MINE)
                return cli_usage(d->c.cmd, "bad option (see --help)");
            if (st)
                return st;
            break;
        }
    }
    if (optind >= argc)
        return cli_usage(d->c.cmd, "missing URL (see --help)");
    const char *url = argv[optind++];
    return dlms_conn_prepare(&d->c, url);
}

/* ---------------------------------------------------------------- values */

static int sink_stdout(void *user, const char *s, size_t n)
{
    (void)user;
    return fwrite(s, 1, n, stdout) == n ? AMI_OK : AMI_E_IO;
}

static uint8_t tree_buf[8u << 20];

static const ami_axdr_value *decode_value(ami_view v, ami_arena *a)
{
    ami_arena_init(a, tree_buf, sizeof tree_buf);
    ami_rd r;
    ami_rd_init(&r, v.p, v.len);
    ami_axdr_value *out = NULL;
    return ami_axdr_decode(&r, a, NULL, &out) == AMI_OK ? out : NULL;
}

/* Parses "[CLASS/]OBIS:ID". class_id 0 when not given. */
static bool parse_ref(const char *s, ami_cosem_desc *d)
{
    memset(d, 0, sizeof *d);
    const char *slash = strchr(s, '/');
    if (slash) {
        char *end;
        unsigned long c = strtoul(s, &end, 10);
        if (end != slash || c == 0 || c > 0xFFFF)
            return false;
        d->class_id = (uint16_t)c;
        s = slash + 1;
    }
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s)
        return false;
    long id;
    if (!cli_parse_long(colon + 1, -128, 127, &id))
        return false;
    d->id = (int8_t)id;
    return ami_obis_parse(s, (size_t)(colon - s), &d->instance) == AMI_OK;
}

/* Encodes VALUE text (see the set help) into out. Returns the length or -1. */
static long parse_value(const char *s, uint8_t *out, size_t cap)
{
    const char *colon = strchr(s, ':');
    if (!colon || !strncmp(s, "hex:", 4)) {
        const char *h = colon ? colon + 1 : s;
        int n = ami_hex_decode(h, strlen(h), out, cap);
        return n > 0 ? n : -1;
    }
    size_t tl = (size_t)(colon - s);
    const char *v = colon + 1;
    ami_wr w;
    ami_wr_init(&w, out, cap);
    static const struct {
        const char *name;
        uint8_t type;
        int bytes;
        bool sign;
    } ints[] = {
        {"u8", AMI_AXDR_UNSIGNED, 1, false},
        {"u16", AMI_AXDR_LONG_UNSIGNED, 2, false},
        {"u32", AMI_AXDR_DOUBLE_LONG_UNSIGNED, 4, false},
        {"u64", AMI_AXDR_LONG64_UNSIGNED, 8, false},
        {"i8", AMI_AXDR_INTEGER, 1, true},
        {"i16", AMI_AXDR_LONG, 2, true},
        {"i32", AMI_AXDR_DOUBLE_LONG, 4, true},
        {"i64", AMI_AXDR_LONG64, 8, true},
        {"enum", AMI_AXDR_ENUM, 1, false},
        {"bool", AMI_AXDR_BOOLEAN, 1, false},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        if (strlen(ints[i].name) != tl || strncmp(s, ints[i].name, tl) != 0)
            continue;
        char *end;
        uint64_t u;
        if (ints[i].type == AMI_AXDR_BOOLEAN) {
            if (strcmp(v, "true") && strcmp(v, "false") && strcmp(v, "1") && strcmp(v, "0"))
                return -1;
            u = !strcmp(v, "true") || !strcmp(v, "1");
        } else if (ints[i].sign) {
            long long x = strtoll(v, &end, 10);
            if (*v == 0 || *end)
                return -1;
            int bits = ints[i].bytes * 8;
            if (bits < 64 && (x < -(1LL << (bits - 1)) || x >= (1LL << (bits - 1))))
                return -1;
            u = (uint64_t)x;
        } else {
            if (*v == '-')
                return -1;
            unsigned long long x = strtoull(v, &end, 10);
            if (*v == 0 || *end)
                return -1;
            if (ints[i].bytes < 8 && x >> (ints[i].bytes * 8))
                return -1;
            u = x;
        }
        ami_wr_u8(&w, ints[i].type);
        for (int b = ints[i].bytes - 1; b >= 0; b--)
            ami_wr_u8(&w, (uint8_t)(u >> (8 * b)));
        return ami_wr_error(&w) ? -1 : (long)w.len;
    }
    if ((tl == 3 && !strncmp(s, "str", 3)) || (tl == 3 && !strncmp(s, "oct", 3))) {
        bool str = s[0] == 's';
        uint8_t tmp[4096];
        size_t n = strlen(v);
        if (!str) {
            int k = ami_hex_decode(v, n, tmp, sizeof tmp);
            if (k < 0)
                return -1;
            n = (size_t)k;
        } else if (n > sizeof tmp) {
            return -1;
        } else {
            memcpy(tmp, v, n);
        }
        ami_wr_u8(&w, str ? AMI_AXDR_VISIBLE_STRING : AMI_AXDR_OCTET_STRING);
        ami_axdr_put_length(&w, n);
        ami_wr_bytes(&w, tmp, n);
        return ami_wr_error(&w) ? -1 : (long)w.len;
    }
    return -1;
}

static void print_value(const dopts *d, const char *label, ami_view v)
{
    ami_arena a;
    const ami_axdr_value *t = decode_value(v, &a);
    if (d->json) {
        ami_jw w;
        ami_jw_init_file(&w, stdout);
        ami_jw_obj_begin(&w);
        ami_jw_key(&w, "ref");
        ami_jw_str(&w, label);
        ami_jw_key(&w, "value");
        if (t)
            ami_axdr_to_json(t, &w);
        else
            ami_jw_hex(&w, v.p, v.len);
        ami_jw_obj_end(&w);
        fputc('\n', stdout);
        return;
    }
    printf("%s\n", label);
    if (t)
        ami_axdr_format_text(t, sink_stdout, NULL);
    else
        printf("  (undecodable) %zu bytes\n", v.len);
}

static int remote_fail(const dopts *d, const char *what, const ami_dlms_result *res)
{
    char text[256];
    ami_dlms_result_describe(res, text, sizeof text);
    return cli_fail(d->c.cmd, what, NULL, "%s", text);
}

/* ---------------------------------------------------------------- object list */

static const ami_attr_sel object_list = {{15, {{0, 0, 40, 0, 0, 255}}, 2}, {false, 0, {0, 0}}};

/* Reads the object list; *tree is the decoded array. */
static int read_objects(dopts *d, ami_dlms_link *l, ami_arena *a, const ami_axdr_value **tree)
{
    ami_dlms_result res;
    int rc = ami_dlms_link_get(l, &object_list, 1, &res);
    if (rc)
        return cli_fail(d->c.cmd, d->c.url, NULL, "%s", ami_dlms_link_why(l));
    if (res.outcome != AMI_DLMS_SUCCESS)
        return remote_fail(d, "object list 0.0.40.0.0.255:2", &res);
    *tree = decode_value(res.data, a);
    if (!*tree || (*tree)->type != AMI_AXDR_ARRAY)
        return cli_fail(d->c.cmd, d->c.url, "COSEM", "the object list is not an array");
    return AMI_EXIT_OK;
}

/* Fields of one object_list_element. */
static bool object_fields(const ami_axdr_value *e, uint64_t *cls, uint64_t *ver, ami_obis *ln)
{
    return e->type == AMI_AXDR_STRUCTURE && e->count >= 3 &&
           ami_axdr_get_u64(ami_axdr_child(e, 0), cls) == AMI_OK &&
           ami_axdr_get_u64(ami_axdr_child(e, 1), ver) == AMI_OK &&
           ami_axdr_get_obis(ami_axdr_child(e, 2), ln) == AMI_OK;
}

static void access_text(const ami_axdr_value *list, bool methods, char *buf, size_t cap)
{
    static const char *const attr_mode[] = {"-", "r", "w", "rw", "ar", "aw", "arw"};
    size_t at = 0;
    buf[0] = 0;
    for (uint32_t i = 0; list && i < list->count && at + 16 < cap; i++) {
        const ami_axdr_value *it = ami_axdr_child(list, i);
        int64_t id;
        uint64_t mode;
        if (!it || it->count < 2 || ami_axdr_get_i64(ami_axdr_child(it, 0), &id) ||
            ami_axdr_get_u64(ami_axdr_child(it, 1), &mode))
            continue;
        const char *m = methods ? (mode ? "x" : "-") : (mode < 7 ? attr_mode[mode] : "?");
        at += (size_t)snprintf(buf + at, cap - at, "%s%lld:%s", at ? " " : "", (long long)id, m);
    }
}

/* ---------------------------------------------------------------- short names */

/* Reads the Association SN object_list (base name 0xFA00, attribute 2 at 0xFA08). */
static int read_sn_objects(dopts *d, ami_dlms_link *l, ami_arena *a, const ami_axdr_value **tree)
{
    ami_sn_access it = {.kind = AMI_SN_VARIABLE_NAME, .name = AMI_DLMS_SN_ASSOCIATION_BASE + 8};
    ami_dlms_result res;
    int rc = ami_dlms_link_read(l, &it, 1, &res);
    if (rc)
        return cli_fail(d->c.cmd, d->c.url, NULL, "%s", ami_dlms_link_why(l));
    if (res.outcome != AMI_DLMS_SUCCESS)
        return remote_fail(d, "object list SN:0xFA08", &res);
    *tree = decode_value(res.data, a);
    if (!*tree || (*tree)->type != AMI_AXDR_ARRAY)
        return cli_fail(d->c.cmd, d->c.url, "COSEM", "the SN object list is not an array");
    return AMI_EXIT_OK;
}

/* Fields of one Association SN object_list element: base_name, class, version, LN. */
static bool sn_fields(const ami_axdr_value *e, uint16_t *base, uint64_t *cls, uint64_t *ver,
                      ami_obis *ln)
{
    int64_t b;
    if (e->type != AMI_AXDR_STRUCTURE || e->count < 4 ||
        ami_axdr_get_i64(ami_axdr_child(e, 0), &b) != AMI_OK ||
        ami_axdr_get_u64(ami_axdr_child(e, 1), cls) != AMI_OK ||
        ami_axdr_get_u64(ami_axdr_child(e, 2), ver) != AMI_OK ||
        ami_axdr_get_obis(ami_axdr_child(e, 3), ln) != AMI_OK)
        return false;
    *base = (uint16_t)b; /* base_name is a long: the 16 bits as sent */
    return true;
}

/* "SN:0xFA08" or "SN:64008": a raw short name. */
static bool parse_sn_name(const char *s, uint16_t *name)
{
    if (strncmp(s, "SN:", 3) != 0)
        return false;
    char *end;
    unsigned long v = strtoul(s + 3, &end, 0);
    if (end == s + 3 || *end || v > 0xFFFF)
        return false;
    *name = (uint16_t)v;
    return true;
}

/* Short name of method `id` of an object at `base` (Blue Book 4.1.3: the class's first method
 * offset, known for the classes this build has); false for another class. */
static bool sn_method_name(uint16_t base, uint64_t cls, int id, uint16_t *name)
{
    uint8_t ver, attrs, methods;
    if (cls > 0xFFFF || !ami_cosem_class_info((uint16_t)cls, &ver, &attrs, &methods) ||
        id > methods)
        return false;
    uint32_t off = ami_dlms_sn_method_offset((uint16_t)cls, attrs) + 8u * (unsigned)(id - 1);
    *name = (uint16_t)(base + off);
    return true;
}

/* Maps each argument (SN:NAME or [CLASS/]OBIS:ATTR, or OBIS:METHOD when `method`) to a short
 * name; the object list is read once when an OBIS reference needs it. */
static int sn_names(dopts *d, ami_dlms_link *l, char **args, int n, uint16_t *names, bool method)
{
    ami_arena a;
    const ami_axdr_value *t = NULL;
    for (int i = 0; i < n; i++) {
        if (parse_sn_name(args[i], &names[i]))
            continue;
        ami_cosem_desc ref;
        if (!parse_ref(args[i], &ref) || ref.id < 1)
            return cli_fail(d->c.cmd, args[i], NULL, "bad reference (want SN:NAME or OBIS:ATTR)");
        int st;
        if (!t && (st = read_sn_objects(d, l, &a, &t)))
            return st;
        bool found = false;
        for (uint32_t k = 0; !found && k < t->count; k++) {
            uint16_t base;
            uint64_t cls, ver;
            ami_obis ln;
            if (sn_fields(ami_axdr_child(t, k), &base, &cls, &ver, &ln) &&
                ami_obis_equal(&ln, &ref.instance) && (!ref.class_id || ref.class_id == cls)) {
                /* Blue Book 4.1.3: attribute i at base + 8 * (i - 1). */
                names[i] = (uint16_t)(base + 8u * (unsigned)(ref.id - 1));
                if (method && !sn_method_name(base, cls, ref.id, &names[i]))
                    return cli_fail(d->c.cmd, args[i], "COSEM",
                                    "no such method of class %llu known (give SN:NAME)",
                                    (unsigned long long)cls);
                found = true;
            }
        }
        if (!found)
            return cli_fail(d->c.cmd, args[i], "COSEM", "not in the SN object list");
    }
    return AMI_EXIT_OK;
}

static int sn_objects(dopts *d, ami_dlms_link *l)
{
    ami_arena a;
    const ami_axdr_value *t;
    int st = read_sn_objects(d, l, &a, &t);
    if (st)
        return st;
    ami_jw w;
    ami_jw_init_file(&w, stdout);
    if (d->json)
        ami_jw_arr_begin(&w);
    for (uint32_t i = 0; i < t->count; i++) {
        uint16_t base;
        uint64_t cls, ver;
        ami_obis ln;
        if (!sn_fields(ami_axdr_child(t, i), &base, &cls, &ver, &ln))
            continue;
        char obis[AMI_OBIS_STRLEN];
        ami_obis_format(&ln, AMI_OBIS_STYLE_DOTS, obis, sizeof obis);
        if (d->json) {
            ami_jw_obj_begin(&w);
            ami_jw_key(&w, "base_name");
            ami_jw_uint(&w, base);
            ami_jw_key(&w, "class");
            ami_jw_uint(&w, cls);
            ami_jw_key(&w, "version");
            ami_jw_uint(&w, ver);
            ami_jw_key(&w, "obis");
            ami_jw_str(&w, obis);
            ami_jw_obj_end(&w);
        } else {
            printf("SN:0x%04X %5llu v%llu %s\n", base, (unsigned long long)cls,
                   (unsigned long long)ver, obis);
        }
    }
    if (d->json) {
        ami_jw_arr_end(&w);
        fputc('\n', stdout);
    }
    return AMI_EXIT_OK;
}

static int sn_get(dopts *d, ami_dlms_link *l, char **args, int n)
{
    uint16_t names[MAX_REFS];
    ami_sn_access items[MAX_REFS];
    int st = sn_names(d, l, args, n, names, false);
    if (st)
        return st;
    for (int i = 0; i < n; i++)
        items[i] = (ami_sn_access){.kind = AMI_SN_VARIABLE_NAME, .name = names[i]};
    ami_dlms_result res;
    if (ami_dlms_link_read(l, items, (uint32_t)n, &res))
        return cli_fail(d->c.cmd, d->c.url, NULL, "%s", ami_dlms_link_why(l));
    if (res.outcome != AMI_DLMS_SUCCESS)
        return remote_fail(d, args[0], &res);
    if (n == 1) {
        print_value(d, args[0], res.data);
        return AMI_EXIT_OK;
    }
    st = AMI_EXIT_OK;
    for (uint32_t i = 0; i < res.count && i < (uint32_t)n; i++) {
        if (res.items[i].ok) {
            print_value(d, args[i], res.items[i].data);
        } else {
            fprintf(stderr, "ami dlms get: %s: xDLMS: data-access-error %s\n", args[i],
                    ami_dlms_dar_name(res.items[i].dar));
            st = AMI_EXIT_ERROR;
        }
    }
    return st;
}

static int sn_set(dopts *d, ami_dlms_link *l, char **arg, ami_view v)
{
    uint16_t name = 0;
    int st = sn_names(d, l, arg, 1, &name, false);
    if (st)
        return st;
    ami_sn_access it = {.kind = AMI_SN_VARIABLE_NAME, .name = name};
    ami_dlms_result res;
    if (ami_dlms_link_write(l, &it, v, &res))
        return cli_fail(d->c.cmd, d->c.url, NULL, "%s", ami_dlms_link_why(l));
    if (res.outcome != AMI_DLMS_SUCCESS)
        return remote_fail(d, arg[0], &res);
    if (d->json)
        printf("{\"ref\":\"%s\",\"result\":\"success\"}\n", arg[0]);
    else
        printf("%s: success\n", arg[0]);
    return AMI_EXIT_OK;
}

/*
 * Invokes a method in the short-name context the way the Green Book maps methods to SN services
 * (9.1.4.2): a ReadRequest of the method's name (parameterized-access carrying the parameters,
 * the return data in the ReadResponse), or with --sn-write a WriteRequest of the parameters.
 */
static int sn_action(dopts *d, ami_dlms_link *l, char **arg, const ami_view *params)
{
    uint16_t name = 0;
    int st = sn_names(d, l, arg, 1, &name, true);
    if (st)
        return st;
    ami_dlms_result res;
    int rc;
    ami_sn_access it = {.kind = AMI_SN_VARIABLE_NAME, .name = name};
    if (d->sn_write) {
        static const uint8_t null_data[] = {AMI_AXDR_NULL_DATA};
        rc = ami_dlms_link_write(l, &it, params ? *params : ami_view_of(null_data, 1), &res);
    } else {
        if (params)
            it = (ami_sn_access){.kind = AMI_SN_PARAMETERIZED_ACCESS,
                                 .name = name,
                                 .selector = 0,
                                 .params = *params};
        rc = ami_dlms_link_read(l, &it, 1, &res);
    }
    if (rc)
        return cli_fail(d->c.cmd, d->c.url, NULL, "%s", ami_dlms_link_why(l));
    if (res.outcome != AMI_DLMS_SUCCESS)
        return remote_fail(d, arg[0], &res);
    if (res.has_data && !(res.data.len == 1 && res.data.p[0] == AMI_AXDR_NULL_DATA))
        print_value(d, arg[0], res.data);
    else if (d->json)
        printf("{\"ref\":\"%s\",\"result\":\"success\"}\n", arg[0]);
    else
        printf("%s: success\n", arg[0]);
    return AMI_EXIT_OK;
}

static int cmd_objects(struct ami_cli *cli, int argc, char **argv)
{
    dopts d = {.c.cmd = "dlms objects", .json = cli->json};
    int st = parse(argc, argv, &d, 0);
    if (st)
        return st < 0 ? AMI_EXIT_OK : st;
    if (optind != argc)
        return cli_usage(d.c.cmd, "unexpected argument '%s'", argv[optind]);
    ami_dlms_link *l;
    if ((st = dlms_conn_open(&d.c, &l)))
        return st;
    if (d.c.sn) {
        st = sn_objects(&d, l);
        dlms_conn_done(l);
        return st;
    }
    ami_arena a;
    const ami_axdr_value *t;
    st = read_objects(&d, l, &a, &t);
    if (st) {
        dlms_conn_done(l);
        return st;
    }
    ami_jw w;
    ami_jw_init_file(&w, stdout);
    if (d.json)
        ami_jw_arr_begin(&w);
    for (uint32_t i = 0; i < t->count; i++) {
        const ami_axdr_value *e = ami_axdr_child(t, i);
        uint64_t cls, ver;
        ami_obis ln;
        if (!object_fields(e, &cls, &ver, &ln))
            continue;
        char obis[AMI_OBIS_STRLEN], at[512] = "", mt[256] = "";
        ami_obis_format(&ln, AMI_OBIS_STYLE_DOTS, obis, sizeof obis);
        const ami_axdr_value *ar = e->count >= 4 ? ami_axdr_child(e, 3) : NULL;
        if (ar && ar->count >= 2) {
            access_text(ami_axdr_child(ar, 0), false, at, sizeof at);
            access_text(ami_axdr_child(ar, 1), true, mt, sizeof mt);
        }
        if (d.json) {
            ami_jw_obj_begin(&w);
            ami_jw_key(&w, "class");
            ami_jw_uint(&w, cls);
            ami_jw_key(&w, "version");
            ami_jw_uint(&w, ver);
            ami_jw_key(&w, "obis");
            ami_jw_str(&w, obis);
            ami_jw_key(&w, "attributes");
            ami_jw_str(&w, at);
            ami_jw_key(&w, "methods");
            ami_jw_str(&w, mt);
            ami_jw_obj_end(&w);
        } else {
            printf("%5llu v%llu %-18s attrs %s%s%s\n", (unsigned long long)cls,
                   (unsigned long long)ver, obis, at, mt[0] ? "  methods " : "", mt);
        }
    }
    if (d.json) {
        ami_jw_arr_end(&w);
        fputc('\n', stdout);
    }
    dlms_conn_done(l); /* the values are views into the link's buffers */
    return AMI_EXIT_OK;
}

/* Fills in missing class ids from the object list. */
static int resolve_classes(dopts *d, ami_dlms_link *l, ami_cosem_desc *refs, int n)
{
    bool need = false;
    for (int i = 0; i < n; i++)
        need |= refs[i].class_id == 0;
    if (!need)
        return AMI_EXIT_OK;
    ami_arena a;
    const ami_axdr_value *t;
    int st = read_objects(d, l, &a, &t);
    if (st)
        return st;
    for (int i = 0; i < n; i++) {
        for (uint32_t k = 0; refs[i].class_id == 0 && k < t->count; k++) {
            uint64_t cls, ver;
            ami_obis ln;
            if (object_fields(ami_axdr_child(t, k), &cls, &ver, &ln) &&
                ami_obis_equal(&ln, &refs[i].instance))
                refs[i].class_id = (uint16_t)cls;
        }
        if (refs[i].class_id == 0) {
            char obis[AMI_OBIS_STRLEN];
            ami_obis_format(&refs[i].instance, AMI_OBIS_STYLE_DOTS, obis, sizeof obis);
            return cli_fail(d->c.cmd, obis, "COSEM", "not in the object list (give CLASS/OBIS)");
        }
    }
    return AMI_EXIT_OK;
}

/* ---------------------------------------------------------------- get / set / action */

static int cmd_get(struct ami_cli *cli, int argc, char **argv)
{
    dopts d = {.c.cmd = "dlms get", .json = cli->json};
    int st = parse(argc, argv, &d, 1);
    if (st)
        return st < 0 ? AMI_EXIT_OK : st;
    int n = argc - optind;
    if (n < 1 || n > MAX_REFS)
        return cli_usage(d.c.cmd, "give 1 to %d OBIS:ATTR references", MAX_REFS);
    if (d.c.sn) {
        ami_dlms_link *l;
        if ((st = dlms_conn_open(&d.c, &l)))
            return st;
        st = sn_get(&d, l, argv + optind, n);
        dlms_conn_done(l);
        return st;
    }
    ami_cosem_desc refs[MAX_REFS];
    ami_attr_sel sel[MAX_REFS];
    for (int i = 0; i < n; i++)
        if (!parse_ref(argv[optind + i], &refs[i]))
            return cli_usage(d.c.cmd, "bad reference '%s' (want [CLASS/]OBIS:ATTR)",
                             argv[optind + i]);
    ami_dlms_link *l;
    if ((st = dlms_conn_open(&d.c, &l)))
        return st;
    if ((st = resolve_classes(&d, l, refs, n))) {
        dlms_conn_done(l);
        return st;
    }
    for (int i = 0; i < n; i++)
        sel[i] = (ami_attr_sel){refs[i], {false, 0, {NULL, 0}}};
    ami_dlms_result res;
    int rc = ami_dlms_link_get(l, sel, (uint32_t)n, &res);
    if (rc) {
        st = cli_fail(d.c.cmd, d.c.url, NULL, "%s", ami_dlms_link_why(l));
        dlms_conn_done(l);
        return st;
    }
    st = AMI_EXIT_OK;
    if (res.outcome != AMI_DLMS_SUCCESS) {
        st = remote_fail(&d, argv[optind], &res);
    } else if (n == 1) {
        print_value(&d, argv[optind], res.data);
    } else {
        for (uint32_t i = 0; i < res.count && i < (uint32_t)n; i++) {
            if (res.items[i].ok) {
                print_value(&d, argv[optind + (int)i], res.items[i].data);
            } else {
                fprintf(stderr, "ami dlms get: %s: xDLMS: data-access-result %s\n",
                        argv[optind + (int)i], ami_dlms_dar_name(res.items[i].dar));
                st = AMI_EXIT_ERROR;
            }
        }
    }
    dlms_conn_done(l);
    return st;
}

static int set_or_action(struct ami_cli *cli, int argc, char **argv, bool action)
{
    dopts d = {.c.cmd = action ? "dlms action" : "dlms set", .json = cli->json};
    int st = parse(argc, argv, &d, action ? 3 : 2);
    if (st)
        return st < 0 ? AMI_EXIT_OK : st;
    int n = argc - optind;
    if (action ? (n < 1 || n > 2) : n != 2)
        return cli_usage(d.c.cmd, action ? "give OBIS:METHOD [PARAM]" : "give OBIS:ATTR VALUE");
    ami_cosem_desc ref;
    if (d.sn_write && !d.c.sn)
        return cli_usage(d.c.cmd, "--sn-write goes with --sn");
    if (!d.c.sn && !parse_ref(argv[optind], &ref))
        return cli_usage(d.c.cmd, "bad reference '%s'", argv[optind]);
    static uint8_t val[65536];
    long vlen = 0;
    if (n == 2 && (vlen = parse_value(argv[optind + 1], val, sizeof val)) <= 0)
        return cli_usage(d.c.cmd, "bad value '%s' (see --help)", argv[optind + 1]);
    if (vlen > 0) {
        ami_rd r;
        ami_rd_init(&r, val, (size_t)vlen);
        if (ami_axdr_skip(&r, NULL) != AMI_OK || ami_rd_left(&r))
            return cli_usage(d.c.cmd, "value '%s' is not one A-XDR Data", argv[optind + 1]);
    }
    ami_dlms_link *l;
    if ((st = dlms_conn_open(&d.c, &l)))
        return st;
    ami_view v = ami_view_of(val, (size_t)vlen);
    if (d.c.sn) {
        st = action ? sn_action(&d, l, argv + optind, vlen ? &v : NULL)
                    : sn_set(&d, l, argv + optind, v);
        dlms_conn_done(l);
        return st;
    }
    if ((st = resolve_classes(&d, l, &ref, 1))) {
        dlms_conn_done(l);
        return st;
    }
    ami_dlms_result res;
    int rc;
    if (action) {
        rc = ami_dlms_link_action(l, &ref, vlen ? &v : NULL, &res);
    } else {
        ami_attr_sel s = {ref, {false, 0, {NULL, 0}}};
        rc = ami_dlms_link_set(l, &s, v, &res);
    }
    if (rc)
        st = cli_fail(d.c.cmd, d.c.url, NULL, "%s", ami_dlms_link_why(l));
    else if (res.outcome != AMI_DLMS_SUCCESS)
        st = remote_fail(&d, argv[optind], &res);
    else if (res.has_data)
        print_value(&d, argv[optind], res.data);
    else if (d.json)
        printf("{\"ref\":\"%s\",\"result\":\"success\"}\n", argv[optind]);
    else
        printf("%s: success\n", argv[optind]);
    dlms_conn_done(l);
    return st;
}

static int cmd_set(struct ami_cli *cli, int argc, char **argv)
{
    return set_or_action(cli, argc, argv, false);
}

static int cmd_action(struct ami_cli *cli, int argc, char **argv)
{
    return set_or_action(cli, argc, argv, true);
}

/* ---------------------------------------------------------------- profile */

static void csv_cell(const ami_axdr_value *v)
{
    uint64_t u;
    int64_t i;
    double f;
    ami_datetime dt;
    char s[AMI_DATETIME_STRLEN];
    if (ami_axdr_get_datetime(v, &dt) == AMI_OK &&
        ami_datetime_format_iso(&dt, 0, s, sizeof s) > 0) {
        fputs(s, stdout);
    } else if (ami_axdr_is_unsigned(v->type) && ami_axdr_get_u64(v, &u) == AMI_OK) {
        printf("%llu", (unsigned long long)u);
    } else if (ami_axdr_is_signed(v->type) && ami_axdr_get_i64(v, &i) == AMI_OK) {
        printf("%lld", (long long)i);
    } else if (ami_axdr_get_double(v, &f) == AMI_OK) {
        printf("%.17g", f);
    } else if (v->type == AMI_AXDR_OCTET_STRING || v->type == AMI_AXDR_VISIBLE_STRING) {
        for (uint32_t k = 0; k < v->count; k++)
            printf(v->type == AMI_AXDR_OCTET_STRING ? "%02X" : "%c", v->v.bytes[k]);
    } else if (v->type != AMI_AXDR_NULL_DATA) {
        printf("?");
    }
}

static int profile_out(const dopts *d, const char *ref, const ami_dlms_result *res)
{
    if (res->outcome != AMI_DLMS_SUCCESS)
        return remote_fail(d, ref, res);
    if (!d->csv) {
        print_value(d, ref, res->data);
        return AMI_EXIT_OK;
    }
    ami_arena a;
    const ami_axdr_value *t = decode_value(res->data, &a);
    if (!t || t->type != AMI_AXDR_ARRAY)
        return cli_fail(d->c.cmd, ref, "COSEM", "the buffer is not an array");
    for (uint32_t i = 0; i < t->count; i++) {
        const ami_axdr_value *row = ami_axdr_child(t, i);
        for (uint32_t k = 0; row && k < row->count; k++) {
            if (k)
                fputc(',', stdout);
            csv_cell(ami_axdr_child(row, k));
        }
        fputc('\n', stdout);
    }
    return AMI_EXIT_OK;
}

static int cmd_profile(struct ami_cli *cli, int argc, char **argv)
{
    dopts d = {.c.cmd = "dlms profile", .json = cli->json};
    int st = parse(argc, argv, &d, 4);
    if (st)
        return st < 0 ? AMI_EXIT_OK : st;
    if (d.c.sn)
        return cli_usage(d.c.cmd, "--sn: objects, get, set and action only");
    if (argc - optind != 1)
        return cli_usage(d.c.cmd, "give one profile [CLASS/]OBIS");
    if ((d.last > 0) == (d.from || d.to) || (d.from && !d.to) || (!d.from && d.to))
        return cli_usage(d.c.cmd, "give --from ISO --to ISO, or --last N");
    ami_cosem_desc ref;
    char refs[300];
    snprintf(refs, sizeof refs, "%s:2", argv[optind]);
    if (!parse_ref(refs, &ref))
        return cli_usage(d.c.cmd, "bad profile '%s'", argv[optind]);
    if (ref.class_id == 0)
        ref.class_id = 7;
    uint8_t params[128];
    ami_wr pw;
    ami_wr_init(&pw, params, sizeof params);
    ami_attr_sel sel = {ref, {true, 0, {NULL, 0}}};
    ami_datetime from, to;
    if (d.from) {
        if (ami_datetime_parse_iso(d.from, strlen(d.from), 0, &from) ||
            ami_datetime_parse_iso(d.to, strlen(d.to), 0, &to))
            return cli_usage(d.c.cmd, "--from/--to: ISO 8601 date-times with an offset");
    }
    ami_dlms_link *l;
    if ((st = dlms_conn_open(&d.c, &l)))
        return st;
    ami_dlms_result res;
    if (d.from) {
        /* range_descriptor: restricting object the clock's time (Blue Book 4.3.6) */
        uint8_t fb[14] = {AMI_AXDR_OCTET_STRING, 12}, tb[14] = {AMI_AXDR_OCTET_STRING, 12};
        ami_datetime_encode(&from, fb + 2);
        ami_datetime_encode(&to, tb + 2);
        static const uint8_t none[] = {AMI_AXDR_ARRAY, 0};
        ami_range_descriptor rd = {{8, {{0, 0, 1, 0, 0, 255}}, 2},
                                   0,
                                   ami_view_of(fb, 14),
                                   ami_view_of(tb, 14),
                                   ami_view_of(none, 2)};
        ami_range_descriptor_encode(&pw, &rd);
        sel.access.selector = 1;
    } else {
        /* entry_descriptor over the last N entries: entries_in_use (attribute 7) first */
        ami_attr_sel eu = {{ref.class_id, ref.instance, 7}, {false, 0, {NULL, 0}}};
        uint64_t used = 0;
        int rc = ami_dlms_link_get(l, &eu, 1, &res);
        ami_arena a;
        const ami_axdr_value *t =
            rc == AMI_OK && res.outcome == AMI_DLMS_SUCCESS ? decode_value(res.data, &a) : NULL;
        if (!t || ami_axdr_get_u64(t, &used) != AMI_OK) {
            st = rc ? cli_fail(d.c.cmd, d.c.url, NULL, "%s", ami_dlms_link_why(l))
                    : cli_fail(d.c.cmd, argv[optind], "COSEM", "cannot read entries_in_use");
            dlms_conn_done(l);
            return st;
        }
        if (used == 0) {
            dlms_conn_done(l);
            return d.json ? (puts("[]"), AMI_EXIT_OK) : AMI_EXIT_OK;
        }
        uint64_t first = used > (uint64_t)d.last ? used - (uint64_t)d.last + 1 : 1;
        ami_entry_descriptor ed = {(uint32_t)first, (uint32_t)used, 1, 0};
        ami_entry_descriptor_encode(&pw, &ed);
        sel.access.selector = 2;
    }
    sel.access.params = ami_view_of(params, pw.len);
    int rc = ami_dlms_link_get(l, &sel, 1, &res);
    if (rc) {
        st = cli_fail(d.c.cmd, d.c.url, NULL, "%s", ami_dlms_link_why(l));
        dlms_conn_done(l);
        return st;
    }
    st = profile_out(&d, argv[optind], &res);
    dlms_conn_done(l); /* the values are views into the link's buffers */
    return st;
}
/* ---------------------------------------------------------------- clock */

static int cmd_clock(struct ami_cli *cli, int argc, char **argv)
{
    dopts d = {.c.cmd = "dlms clock", .json = cli->json};
    int st = parse(argc, argv, &d, 5);
    if (st)
        return st < 0 ? AMI_EXIT_OK : st;
    if (d.c.sn)
        return cli_usage(d.c.cmd, "--sn: objects, get, set and action only");
    if (optind != argc)
        return cli_usage(d.c.cmd, "unexpected argument '%s'", argv[optind]);
    ami_dlms_link *l;
    if ((st = dlms_conn_open(&d.c, &l)))
        return st;
    ami_attr_sel time_attr = {{8, {{0, 0, 1, 0, 0, 255}}, 2}, {false, 0, {NULL, 0}}};
    ami_dlms_result res;
    int rc = ami_dlms_link_get(l, &time_attr, 1, &res);
    if (rc || res.outcome != AMI_DLMS_SUCCESS) {
        st = rc ? cli_fail(d.c.cmd, d.c.url, NULL, "%s", ami_dlms_link_why(l))
                : remote_fail(&d, "0.0.1.0.0.255:2", &res);
        dlms_conn_done(l);
        return st;
    }
    int64_t host = (int64_t)time(NULL);
    ami_datetime dt;
    char iso[AMI_DATETIME_STRLEN] = "";
    int64_t meter = 0;
    bool known = false;
    if (res.data.len >= 14 && res.data.p[0] == AMI_AXDR_OCTET_STRING && res.data.p[1] == 12 &&
        ami_datetime_decode(res.data.p + 2, &dt) == AMI_OK) {
        known = ami_datetime_to_unix(&dt, 0, &meter) == AMI_OK;
        if (ami_datetime_format_iso(&dt, 0, iso, sizeof iso) < 0)
            ami_datetime_format(&dt, iso, sizeof iso);
    }
    if (d.sync) {
        ami_datetime now;
        uint8_t v[14] = {AMI_AXDR_OCTET_STRING, 12};
        ami_datetime_from_unix((int64_t)time(NULL), 0, 0, 0, &now);
        ami_datetime_encode(&now, v + 2);
        rc = ami_dlms_link_set(l, &time_attr, ami_view_of(v, 14), &res);
        if (rc || res.outcome != AMI_DLMS_SUCCESS) {
            st = rc ? cli_fail(d.c.cmd, d.c.url, NULL, "%s", ami_dlms_link_why(l))
                    : remote_fail(&d, "0.0.1.0.0.255:2 (sync)", &res);
            dlms_conn_done(l);
            return st;
        }
    }
    dlms_conn_done(l);
    if (d.json) {
        printf("{\"clock\":\"%s\"", iso);
        if (known)
            printf(",\"drift_s\":%lld", (long long)(meter - host));
        printf(",\"synced\":%s}\n", d.sync ? "true" : "false");
    } else {
        printf("clock %s", iso[0] ? iso : "(unspecified)");
        if (known)
            printf("  drift %+llds", (long long)(meter - host));
        printf("%s\n", d.sync ? "  (set to this host's time)" : "");
    }
    return AMI_EXIT_OK;
}

/* ---------------------------------------------------------------- keys rotate */

/* Security Setup (Blue Book 4.4.7, class 64) method 2 global_key_transfer:
 * array of structure { key_id enum (0 global unicast encryption key, 1 global broadcast
 * encryption key, 2 authentication key, 3 master key), key_wrapped octet-string }, each key
 * wrapped under the master key (KEK) with RFC 3394 AES key wrap. */
static int cmd_rotate(struct ami_cli *cli, int argc, char **argv)
{
    dopts d = {.c.cmd = "dlms keys rotate", .json = cli->json};
    int st = parse(argc, argv, &d, 6);
    if (st)
        return st < 0 ? AMI_EXIT_OK : st;
    if (optind != argc)
        return cli_usage(d.c.cmd, "unexpected argument '%s'", argv[optind]);
    struct dlms_sec *s = d.c.sec;
    size_t kl = s->suite == 2 ? 32 : 16;
    if (!s->keys.kek.len)
        return cli_usage(d.c.cmd, "--kek (or kek in --key-file) is needed to wrap the keys");
    if (d.random_keys && (d.new_ek.len || d.new_ak.len))
        return cli_usage(d.c.cmd, "--random or --new-ek/--new-ak, not both");
    if (d.random_keys) {
        if (ami_hls_challenge(d.new_ek.v, kl) || ami_hls_challenge(d.new_ak.v, kl))
            return cli_fail(d.c.cmd, d.c.url, "security", "no random keys from the OS");
        d.new_ek.len = d.new_ak.len = kl;
    }
    struct {
        const char *name, *what;
        uint8_t id;
        struct cli_key *k;
    } keys[] = {
        {"ek", "global unicast encryption key", 0, &d.new_ek},
        {"bek", "global broadcast encryption key", 1, &d.new_bek},
        {"ak", "authentication key", 2, &d.new_ak},
    };
    uint8_t params[256];
    ami_wr w;
    ami_wr_init(&w, params, sizeof params);
    int count = 0;
    for (size_t i = 0; i < AMI_COUNTOF(keys); i++)
        count += keys[i].k->len != 0;
    if (!count)
        return cli_usage(d.c.cmd, "give --new-ek, --new-ak, --new-bek or --random");
    ami_wr_u8(&w, AMI_AXDR_ARRAY);
    ami_axdr_put_length(&w, (size_t)count);
    for (size_t i = 0; i < AMI_COUNTOF(keys); i++) {
        if (!keys[i].k->len)
            continue;
        if (keys[i].k->len != kl) {
            ami_wipe(params, sizeof params);
            return cli_usage(d.c.cmd, "--new-%s: suite %d needs %zu-byte keys", keys[i].name,
                             s->suite, kl);
        }
        uint8_t wrapped[48];
        int n = ami_keywrap_wrap(s->keys.kek.v, s->keys.kek.len, keys[i].k->v, kl, wrapped,
                                 sizeof wrapped);
        if (n < 0) {
            ami_wipe(params, sizeof params);
            return cli_fail(d.c.cmd, d.c.url, "security", "key wrap: %s", ami_strerror(n));
        }
        ami_wr_u8(&w, AMI_AXDR_STRUCTURE);
        ami_wr_u8(&w, 2);
        ami_wr_u8(&w, AMI_AXDR_ENUM);
        ami_wr_u8(&w, keys[i].id);
        ami_wr_u8(&w, AMI_AXDR_OCTET_STRING);
        ami_axdr_put_length(&w, (size_t)n);
        ami_wr_bytes(&w, wrapped, (size_t)n);
        ami_wipe(wrapped, sizeof wrapped);
    }
    ami_cosem_desc m = {64, AMI_OBIS(0, 0, 43, 0, 0, 255), 2};
    if (d.setup && ami_obis_parse(d.setup, strlen(d.setup), &m.instance) != AMI_OK) {
        ami_wipe(params, sizeof params);
        return cli_usage(d.c.cmd, "--setup: an OBIS code");
    }
    ami_dlms_link *l;
    if ((st = dlms_conn_open(&d.c, &l))) {
        ami_wipe(params, sizeof params);
        return st;
    }
    ami_dlms_result res;
    ami_view pv = ami_view_of(params, w.len);
    int rc = ami_dlms_link_action(l, &m, &pv, &res);
    ami_wipe(params, sizeof params);
    if (rc) {
        st = cli_fail(d.c.cmd, d.c.url, NULL, "%s", ami_dlms_link_why(l));
    } else if (res.outcome != AMI_DLMS_SUCCESS) {
        st = remote_fail(&d, "global_key_transfer", &res);
    } else {
        /* the meter uses the new keys from the next association on; its counters may restart */
        s->server_ic_known = false;
        if (d.json)
            fputs("{\"changed\":[", stdout);
        int k = 0;
        for (size_t i = 0; i < AMI_COUNTOF(keys); i++) {
            if (!keys[i].k->len)
                continue;
            char hex[65] = "";
            if (d.show_keys)
                ami_hex_encode(keys[i].k->v, kl, hex, sizeof hex);
            if (d.json)
                printf("%s{\"key\":\"%s\"%s%s%s}", k ? "," : "", keys[i].name,
                       d.show_keys ? ",\"value\":\"" : "", hex, d.show_keys ? "\"" : "");
            else if (d.show_keys)
                printf("changed: %s (%s) = %s\n", keys[i].name, keys[i].what, hex);
            else
                printf("changed: %s (%s)\n", keys[i].name, keys[i].what);
            ami_wipe(hex, sizeof hex);
            k++;
        }
        if (d.json)
            puts("]}");
    }
    ami_wipe(&d.new_ek, sizeof d.new_ek);
    ami_wipe(&d.new_ak, sizeof d.new_ak);
    ami_wipe(&d.new_bek, sizeof d.new_bek);
    dlms_conn_done(l);
    return st;
}

static const struct ami_subcommand key_subs[] = {
    {"rotate", "change the meter's global keys (Security Setup global_key_transfer)", cmd_rotate},
    {NULL, NULL, NULL},
};

static int cmd_keys(struct ami_cli *cli, int argc, char **argv)
{
    return cli_dispatch(cli, argc, argv, "ami dlms keys rotate URL [OPTIONS]", key_subs);
}

/* ---------------------------------------------------------------- cert */

enum { CERT_LIST, CERT_EXPORT, CERT_IMPORT, CERT_REMOVE, CERT_CSR, CERT_GENKEY };

static const char *const entity_names[] = {"server", "client", "ca", "other"};
static const char *const type_names[] = {"signing", "agreement", "tls", "other"};

static int name_index(const char *s, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(s, names[i]))
            return i;
    return -1;
}

/* The certificate_identification of the options into w; 0 or a usage exit status. */
static int cert_id(dopts *d, ami_wr *w, uint8_t *buf, size_t cap)
{
    ami_dlms_cert_id id = {0};
    if (d->serial || d->issuer) {
        if (!d->serial || !d->issuer || d->entity || d->ctitle)
            return cli_usage(d->c.cmd, "--serial HEX with --issuer HEX, or --entity and --type");
        int a = ami_hex_decode(d->serial, strlen(d->serial), buf, cap / 2);
        int b = a < 0 ? -1 : ami_hex_decode(d->issuer, strlen(d->issuer), buf + a, cap / 2);
        if (a <= 0 || b <= 0)
            return cli_usage(d->c.cmd, "--serial and --issuer: hex (as cert list prints them)");
        id.kind = AMI_DLMS_CERT_BY_SERIAL;
        id.serial = ami_view_of(buf, (size_t)a);
        id.issuer = ami_view_of(buf + a, (size_t)b);
    } else {
        int e = d->entity ? name_index(d->entity, entity_names, 4) : -1;
        int t = name_index(d->ctype ? d->ctype : "signing", type_names, 4);
        if (e < 0 || t < 0)
            return cli_usage(d->c.cmd, "give --entity server|client|ca|other (and --type "
                                       "signing|agreement|tls|other), or --serial and --issuer");
        id.kind = AMI_DLMS_CERT_BY_ENTITY;
        id.entity = (uint8_t)e;
        id.type = (uint8_t)t;
        if (d->ctitle) {
            if (ami_hex_decode(d->ctitle, strlen(d->ctitle), buf, 8) != 8)
                return cli_usage(d->c.cmd, "--subject-title: 8 bytes in hex");
            id.system_title = ami_view_of(buf, 8);
        }
    }
    ami_dlms_cert_id_encode(w, &id);
    return ami_wr_error(w) ? cli_usage(d->c.cmd, "identification too long") : 0;
}

static void print_hex(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        printf("%02X", p[i]);
}

/* A Name's DER as one line of text ("CN=..., O=..."), or "?" */
static void print_name(ami_view der)
{
    const unsigned char *q = der.p;
    X509_NAME *nm = d2i_X509_NAME(NULL, &q, (long)der.len);
    char text[512] = "?";
    if (nm) {
        BIO *b = BIO_new(BIO_s_mem());
        if (b && X509_NAME_print_ex(b, nm, 0, XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
            int n = BIO_read(b, text, (int)sizeof text - 1);
            text[n > 0 ? n : 0] = 0;
        }
        BIO_free(b);
        X509_NAME_free(nm);
    }
    fputs(text, stdout);
}

static void json_name(ami_view der)
{
    const unsigned char *q = der.p;
    X509_NAME *nm = d2i_X509_NAME(NULL, &q, (long)der.len);
    char text[512] = "";
    if (nm)
        X509_NAME_oneline(nm, text, sizeof text);
    X509_NAME_free(nm);
    fputc('"', stdout);
    for (const char *c = text; *c; c++)
        if (*c == '"' || *c == '\\')
            printf("\\%c", *c);
        else if ((unsigned char)*c >= 0x20)
            fputc(*c, stdout);
    fputc('"', stdout);
}

static int cert_list_print(dopts *d, ami_view v)
{
    ami_dlms_cert_list it;
    ami_dlms_cert_info info;
    int rc = ami_dlms_cert_list_begin(&it, v.p, v.len);
    if (d->json)
        fputc('[', stdout);
    int k = 0;
    while (rc == AMI_OK && (rc = ami_dlms_cert_list_next(&it, &info)) == 1) {
        rc = AMI_OK;
        if (d->json) {
            printf("%s{\"entity\":\"%s\",\"type\":\"%s\",\"serial\":\"", k ? "," : "",
                   entity_names[info.entity], type_names[info.type]);
            print_hex(info.serial.p, info.serial.len);
            fputs("\",\"subject\":", stdout);
            json_name(info.subject);
            fputs(",\"issuer\":", stdout);
            json_name(info.issuer);
            fputs(",\"issuer_der\":\"", stdout);
            print_hex(info.issuer.p, info.issuer.len);
            fputs("\"}", stdout);
        } else {
            printf("%-6s %-9s serial ", entity_names[info.entity], type_names[info.type]);
            print_hex(info.serial.p, info.serial.len);
            fputs("  subject ", stdout);
            print_name(info.subject);
            fputs("  issuer ", stdout);
            print_name(info.issuer);
            fputs("\n  issuer DER ", stdout);
            print_hex(info.issuer.p, info.issuer.len);
            fputc('\n', stdout);
        }
        k++;
    }
    if (d->json)
        puts("]");
    else if (!k && rc == 0)
        puts("no certificates");
    if (rc < 0)
        return cli_fail(d->c.cmd, d->c.url, "COSEM", "certificates attribute: %s",
                        ami_strerror(rc));
    return AMI_EXIT_OK;
}

/* Writes DER to --out, or (no --out) hex (export) / PEM (csr) on stdout. */
static int cert_output(dopts *d, const uint8_t *der, size_t n, bool csr)
{
    if (d->out) {
        FILE *f = fopen(d->out, "wb");
        bool ok = f && fwrite(der, 1, n, f) == n;
        if (f && fclose(f) != 0)
            ok = false;
        if (!ok)
            return cli_fail(d->c.cmd, d->out, NULL, "%s", strerror(errno));
        if (!d->json)
            printf("%zu bytes written to %s\n", n, d->out);
        else
            printf("{\"bytes\":%zu,\"file\":\"%s\"}\n", n, d->out);
        return AMI_EXIT_OK;
    }
    if (csr) {
        const unsigned char *q = der;
        X509_REQ *r = d2i_X509_REQ(NULL, &q, (long)n);
        int ok = r ? PEM_write_X509_REQ(stdout, r) : 0;
        X509_REQ_free(r);
        if (!ok)
            return cli_fail(d->c.cmd, d->c.url, "COSEM", "the meter's request is not PKCS#10");
        return AMI_EXIT_OK;
    }
    print_hex(der, n);
    fputc('\n', stdout);
    return AMI_EXIT_OK;
}

/* An octet-string return value's content, or false. */
static bool octets_of(ami_view v, ami_view *out)
{
    ami_rd r;
    ami_rd_init(&r, v.p, v.len);
    uint8_t t;
    size_t n;
    const uint8_t *p;
    if (ami_rd_u8(&r, &t) || t != AMI_AXDR_OCTET_STRING || ami_axdr_get_length(&r, &n) ||
        ami_rd_view(&r, n, &p) || ami_rd_left(&r))
        return false;
    *out = ami_view_of(p, n);
    return true;
}

static int cert_run(struct ami_cli *cli, int argc, char **argv, int op)
{
    static const char *const names[] = {"dlms cert list",   "dlms cert export", "dlms cert import",
                                        "dlms cert remove", "dlms cert csr",    "dlms cert genkey"};
    dopts d = {.c.cmd = names[op], .json = cli->json};
    int st = parse(argc, argv, &d, 7);
    if (st)
        return st < 0 ? AMI_EXIT_OK : st;
    const char *file = NULL;
    if (op == CERT_IMPORT) {
        if (optind >= argc)
            return cli_usage(d.c.cmd, "give the certificate FILE");
        file = argv[optind++];
    }
    if (optind != argc)
        return cli_usage(d.c.cmd, "unexpected argument '%s'", argv[optind]);
    static uint8_t params[AMI_DLMS_CERT_MAX + 64], scratch[2 * AMI_DLMS_CERT_MAX + 16];
    ami_wr w;
    ami_wr_init(&w, params, sizeof params);
    uint8_t method = 0;
    if (op == CERT_EXPORT || op == CERT_REMOVE) {
        if ((st = cert_id(&d, &w, scratch, sizeof scratch)))
            return st;
        method = op == CERT_EXPORT ? 7 : 8;
    } else if (op == CERT_CSR || op == CERT_GENKEY) {
        int t = name_index(d.ctype ? d.ctype : "signing", type_names, 3);
        if (t < 0)
            return cli_usage(d.c.cmd, "--type: signing, agreement or tls");
        ami_wr_u8(&w, AMI_AXDR_ENUM);
        ami_wr_u8(&w, (uint8_t)t);
        method = op == CERT_CSR ? 5 : 4;
    } else if (op == CERT_IMPORT) {
        unsigned char *buf = NULL;
        size_t len = 0;
        if (cli_read_file(file, 65536, &buf, &len) != AMI_OK)
            return cli_fail(d.c.cmd, file, NULL, "%s", strerror(errno));
        /* PEM or DER: normalised to DER by OpenSSL */
        const unsigned char *q = buf;
        X509 *x = d2i_X509(NULL, &q, (long)len);
        if (!x) {
            BIO *b = BIO_new_mem_buf(buf, (int)len);
            x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
            BIO_free(b);
        } else if ((size_t)(q - buf) != len) {
            X509_free(x);
            x = NULL;
        }
        free(buf);
        int n = x ? i2d_X509(x, NULL) : -1;
        if (n <= 0 || (size_t)n > AMI_DLMS_CERT_MAX) {
            X509_free(x);
            return cli_fail(d.c.cmd, file, "X.509",
                            n > 0 ? "larger than %u bytes" : "not a certificate (DER or PEM)",
                            AMI_DLMS_CERT_MAX);
        }
        ami_wr_u8(&w, AMI_AXDR_OCTET_STRING);
        ami_axdr_put_length(&w, (size_t)n);
        unsigned char *at = ami_wr_reserve(&w, (size_t)n);
        if (at)
            i2d_X509(x, &at);
        X509_free(x);
        method = 6;
    }
    ami_cosem_desc m = {64, AMI_OBIS(0, 0, 43, 0, 0, 255), (int8_t)method};
    if (d.setup && ami_obis_parse(d.setup, strlen(d.setup), &m.instance) != AMI_OK)
        return cli_usage(d.c.cmd, "--setup: an OBIS code");
    ami_dlms_link *l;
    if ((st = dlms_conn_open(&d.c, &l)))
        return st;
    ami_dlms_result res;
    int rc;
    if (op == CERT_LIST) {
        ami_attr_sel sel = {{64, m.instance, 6}, {false, 0, {0, 0}}};
        rc = ami_dlms_link_get(l, &sel, 1, &res);
    } else {
        ami_view pv = ami_view_of(params, w.len);
        rc = ami_dlms_link_action(l, &m, &pv, &res);
    }
    static const char *const what[] = {
        "certificates",       "export_certificate",           "import_certificate",
        "remove_certificate", "generate_certificate_request", "generate_key_pair"};
    if (rc)
        st = cli_fail(d.c.cmd, d.c.url, NULL, "%s", ami_dlms_link_why(l));
    else if (res.outcome != AMI_DLMS_SUCCESS)
        st = remote_fail(&d, what[op], &res);
    else if (op == CERT_LIST)
        st = cert_list_print(&d, res.data);
    else if (op == CERT_EXPORT || op == CERT_CSR) {
        ami_view der;
        if (!res.has_data || !octets_of(res.data, &der))
            st = cli_fail(d.c.cmd, d.c.url, "COSEM", "%s: no octet-string returned", what[op]);
        else
            st = cert_output(&d, der.p, der.len, op == CERT_CSR);
    } else if (d.json) {
        printf("{\"done\":\"%s\"}\n", what[op]);
    } else {
        printf("%s: done\n", what[op]);
    }
    dlms_conn_done(l);
    return st;
}

static int cmd_cert_list(struct ami_cli *c, int n, char **v)
{
    return cert_run(c, n, v, CERT_LIST);
}
static int cmd_cert_export(struct ami_cli *c, int n, char **v)
{
    return cert_run(c, n, v, CERT_EXPORT);
}
static int cmd_cert_import(struct ami_cli *c, int n, char **v)
{
    return cert_run(c, n, v, CERT_IMPORT);
}
static int cmd_cert_remove(struct ami_cli *c, int n, char **v)
{
    return cert_run(c, n, v, CERT_REMOVE);
}
static int cmd_cert_csr(struct ami_cli *c, int n, char **v)
{
    return cert_run(c, n, v, CERT_CSR);
}
static int cmd_cert_genkey(struct ami_cli *c, int n, char **v)
{
    return cert_run(c, n, v, CERT_GENKEY);
}

static const struct ami_subcommand cert_subs[] = {
    {"list", "the meter's certificates (Security Setup attribute 6)", cmd_cert_list},
    {"export", "one certificate by entity/type or serial/issuer", cmd_cert_export},
    {"import", "import an X.509 certificate (DER or PEM)", cmd_cert_import},
    {"remove", "remove one certificate", cmd_cert_remove},
    {"csr", "a PKCS#10 request for one of the meter's key pairs", cmd_cert_csr},
    {"genkey", "generate one of the meter's key pairs", cmd_cert_genkey},
    {NULL, NULL, NULL},
};

static int cmd_cert(struct ami_cli *cli, int argc, char **argv)
{
    return cli_dispatch(cli, argc, argv, "ami dlms cert list|export|import|remove|csr|genkey URL",
                        cert_subs);
}

static const struct ami_subcommand subs[] = {
    {"objects", "list the objects of the association", cmd_objects},
    {"get", "read attributes", cmd_get},
    {"set", "write an attribute", cmd_set},
    {"action", "invoke a method", cmd_action},
    {"profile", "read a profile buffer by range or last entries", cmd_profile},
    {"clock", "read (and --sync) the clock", cmd_clock},
    {"keys", "rotate the meter's keys (keys rotate URL ...)", cmd_keys},
    {"cert", "the meter's key pairs and certificates (cert list|export|import|...)", cmd_cert},
    {"fw", "firmware update with a signed image (image transfer)", ami_dlms_fw},
    {NULL, NULL, NULL},
};

static int run(struct ami_cli *cli, int argc, char **argv)
{
    int st = cli_dispatch(cli, argc, argv, "ami dlms COMMAND URL [OPTIONS]", subs);
    dlms_conn_finish(); /* the counters to the state file; every key wiped */
    return st;
}

const struct ami_command ami_cmd_dlms = {"dlms",
                                         "DLMS/COSEM client: objects, get, set, "
                                         "action, profile, clock",
                                         run};
