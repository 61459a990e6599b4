/*
 * ami datetime: decode a COSEM date-time (12-byte octet-string, or a 5-byte date / 4-byte time)
 * to readable text, ISO 8601 and Unix time, or encode ISO 8601 text to the 12 bytes.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <getopt.h>
#include <string.h>

#include "ami/bytes.h"
#include "ami/datetime.h"
#include "ami/json.h"
#include "cli.h"

static void help(FILE *out)
{
    fprintf(out,
            "Usage: ami datetime [--deviation-inverted] [--assume-utc] [--json] (HEX | ISO)\n\n"
            "Decodes a COSEM date-time (DLMS UA Blue Book 4.1.6.1) given in hex: 12 bytes\n"
            "(date-time), 5 (date) or 4 (time), optionally preceded by the A-XDR octet-string\n"
            "header 090C / 0905 / 0904. Prints the readable form with every field (wildcards\n"
            "shown), ISO 8601 with offset and Unix time when the value is fully specified.\n"
            "Given ISO 8601 text (YYYY-MM-DD[Thh:mm[:ss[.ff]][Z|+hh:mm|-hh:mm|+hhmm]]),\n"
            "prints the 12 bytes that encode it (weekday computed, clock status not\n"
            "specified).\n\n"
            "Deviation sign: the Blue Book's deviation is UTC - local in minutes, so UTC+1\n"
            "is -60.\n\n"
            "  --deviation-inverted  deviation is local - UTC (India, Saudi Arabia, Italy\n"
            "                        companion standards)\n"
            "  --assume-utc          a value without deviation (or ISO text without offset)\n"
            "                        is taken as UTC\n"
            "  --json                one JSON object\n"
            "  -h, --help            this help\n\n"
            "Exit status: 0 decoded/encoded, 1 invalid value, 2 usage error.\n");
}

/* 12/5/4 bytes, optionally after an octet-string header 09 LL with LL the byte count. */
static int parse_hex(const char *in, uint8_t *b, size_t *n)
{
    uint8_t raw[16];
    int len = ami_hex_decode(in, strlen(in), raw, sizeof raw);
    if (len < 0)
        return len;
    size_t off = 0;
    if (len >= 2 && raw[0] == 0x09 && raw[1] == len - 2 &&
        (raw[1] == 12 || raw[1] == 5 || raw[1] == 4))
        off = 2;
    size_t m = (size_t)len - off;
    if (m != 12 && m != 5 && m != 4)
        return AMI_E_MALFORMED;
    memcpy(b, raw + off, m);
    *n = m;
    return AMI_OK;
}

static bool looks_hex(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!strchr("0123456789abcdefABCDEF ", *s))
            return false;
    return true;
}

static void json_field(ami_jw *w, const char *key, unsigned v, unsigned unspec)
{
    ami_jw_key(w, key);
    if (v == unspec)
        ami_jw_null(w);
    else
        ami_jw_uint(w, v);
}

static void print_json(const char *in, const uint8_t *b, size_t n, const ami_datetime *dt,
                       const char *readable, const char *iso, int iso_rc, int64_t u, int u_rc)
{
    ami_jw w;
    char hex[2 * 12 + 1];
    ami_hex_encode(b, n, hex, sizeof hex);
    ami_jw_init_file(&w, stdout);
    ami_jw_obj_begin(&w);
    ami_jw_key(&w, "input");
    ami_jw_str(&w, in);
    ami_jw_key(&w, "hex");
    ami_jw_str(&w, hex);
    ami_jw_key(&w, "readable");
    ami_jw_str(&w, readable);
    ami_jw_key(&w, "iso");
    if (iso_rc >= 0)
        ami_jw_str(&w, iso);
    else
        ami_jw_null(&w);
    ami_jw_key(&w, "unix");
    if (u_rc == AMI_OK)
        ami_jw_int(&w, u);
    else
        ami_jw_null(&w);
    ami_jw_key(&w, "fields");
    ami_jw_obj_begin(&w);
    json_field(&w, "year", dt->year, AMI_DT_YEAR_UNSPEC);
    ami_jw_key(&w, "month");
    if (dt->month == AMI_DT_DST_BEGIN)
        ami_jw_str(&w, "DST-begin");
    else if (dt->month == AMI_DT_DST_END)
        ami_jw_str(&w, "DST-end");
    else if (dt->month == AMI_DT_UNSPEC)
        ami_jw_null(&w);
    else
        ami_jw_uint(&w, dt->month);
    ami_jw_key(&w, "day");
    if (dt->day == AMI_DT_DAY_LAST)
        ami_jw_str(&w, "last");
    else if (dt->day == AMI_DT_DAY_2ND_LAST)
        ami_jw_str(&w, "2nd-last");
    else if (dt->day == AMI_DT_UNSPEC)
        ami_jw_null(&w);
    else
        ami_jw_uint(&w, dt->day);
    json_field(&w, "weekday", dt->weekday, AMI_DT_UNSPEC);
    json_field(&w, "hour", dt->hour, AMI_DT_UNSPEC);
    json_field(&w, "minute", dt->minute, AMI_DT_UNSPEC);
    json_field(&w, "second", dt->second, AMI_DT_UNSPEC);
    json_field(&w, "hundredths", dt->hundredths, AMI_DT_UNSPEC);
    ami_jw_key(&w, "deviation");
    if (dt->deviation == AMI_DT_DEVIATION_UNSPEC)
        ami_jw_null(&w);
    else
        ami_jw_int(&w, dt->deviation);
    json_field(&w, "status", dt->status, AMI_DT_STATUS_UNSPEC);
    ami_jw_obj_end(&w);
    ami_jw_obj_end(&w);
    fputc('\n', stdout);
}

static int run(struct ami_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"deviation-inverted", no_argument, NULL, 'i'},
        {"assume-utc", no_argument, NULL, 'u'},
        {"json", no_argument, NULL, 'J'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool json = cli->json;
    unsigned flags = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'i':
            flags |= AMI_DT_DEVIATION_INVERTED;
            break;
        case 'u':
            flags |= AMI_DT_ASSUME_UTC;
            break;
        case 'J':
            json = true;
            break;
        case 'h':
            help(stdout);
            return AMI_EXIT_OK;
        default:
            return cli_usage("datetime", "bad option");
        }
    }
    if (argc - optind != 1)
        return cli_usage("datetime", "give one date-time, in hex or ISO 8601");
    const char *in = argv[optind];

    ami_datetime dt;
    uint8_t b[12];
    size_t n = 12;
    if (looks_hex(in)) {
        int rc = parse_hex(in, b, &n);
        if (rc < 0)
            return cli_fail("datetime", in, "date-time", "%s",
                            rc == AMI_E_SYNTAX ? "odd number of hex digits"
                                               : "expected 12 bytes (date-time), 5 (date) or "
                                                 "4 (time), optionally after 090C/0905/0904");
        rc = n == 12  ? ami_datetime_decode(b, &dt)
             : n == 5 ? ami_date_decode(b, &dt)
                      : ami_time_decode(b, &dt);
        if (rc < 0)
            return cli_fail("datetime", in, "date-time", "a field is out of range: %s",
                            ami_strerror(rc));
    } else {
        int rc = ami_datetime_parse_iso(in, strlen(in), flags, &dt);
        if (rc < 0)
            return cli_fail("datetime", in, "iso8601", "%s",
                            rc == AMI_E_RANGE ? "a field is out of range"
                                              : "not YYYY-MM-DD[Thh:mm[:ss[.ff]][Z|+hh:mm]]");
        ami_datetime_encode(&dt, b);
    }

    char readable[AMI_DATETIME_STRLEN], iso[AMI_DATETIME_STRLEN];
    (void)ami_datetime_format(&dt, readable, sizeof readable);
    int iso_rc = ami_datetime_format_iso(&dt, flags, iso, sizeof iso);
    int64_t u = 0;
    int u_rc = ami_datetime_to_unix(&dt, flags, &u);
    if (json) {
        print_json(in, b, n, &dt, readable, iso, iso_rc, u, u_rc);
        return AMI_EXIT_OK;
    }
    char hex[2 * 12 + 1];
    ami_hex_encode(b, n, hex, sizeof hex);
    printf("readable  %s\n", readable);
    if (iso_rc >= 0)
        printf("iso       %s\n", iso);
    else
        printf("iso       - (%s)\n", ami_strerror(iso_rc));
    if (u_rc == AMI_OK)
        printf("unix      %lld\n", (long long)u);
    else
        printf("unix      - (%s)\n", ami_strerror(u_rc));
    printf("hex       %s\n", hex);
    return AMI_EXIT_OK;
}

const struct ami_command ami_cmd_datetime = {
    "datetime", "decode a COSEM date-time, or encode ISO 8601 text to one", run};
