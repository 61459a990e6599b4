/*
 * Fuzz target: COSEM date-time decoding and ISO 8601 parsing. The first byte picks the decoder
 * (12-, 5- or 4-byte octet-string, or ISO text); the rest is its input. Properties: a decode
 * either fails with AMI_E_RANGE or re-encodes to the same bytes; both renderings stay within
 * AMI_DATETIME_STRLEN; a fully specified value converts to Unix time and back to the same
 * fields; parsed ISO text formats back and parses to the same value.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "ami/ami.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_rendering(const ami_datetime *dt, unsigned flags)
{
    char text[AMI_DATETIME_STRLEN];
    int n = ami_datetime_format(dt, text, sizeof text);
    if (n <= 0 || (size_t)n >= sizeof text || strlen(text) != (size_t)n)
        abort();
    n = ami_datetime_format_iso(dt, flags, text, sizeof text);
    if (n >= 0) {
        if ((size_t)n >= sizeof text || strlen(text) != (size_t)n)
            abort();
        ami_datetime p;
        if (ami_datetime_parse_iso(text, (size_t)n, flags, &p) != AMI_OK)
            abort();
        int64_t a, b;
        if (ami_datetime_to_unix(dt, flags, &a) != AMI_OK ||
            ami_datetime_to_unix(&p, flags, &b) != AMI_OK || a != b)
            abort();
    } else if (n != AMI_E_UNSPECIFIED && n != AMI_E_RANGE) {
        abort();
    }
    int64_t u;
    int rc = ami_datetime_to_unix(dt, flags, &u);
    if (rc == AMI_OK) {
        ami_datetime back;
        if (ami_datetime_from_unix(u, dt->deviation, dt->status, flags, &back) != AMI_OK)
            abort();
        if (back.year != dt->year || back.month != dt->month || back.day != dt->day ||
            back.hour != dt->hour || back.minute != dt->minute || back.second != dt->second ||
            back.deviation != dt->deviation || back.status != dt->status ||
            (dt->weekday != 0xFF && back.weekday != dt->weekday))
            abort();
    } else if (rc != AMI_E_UNSPECIFIED) {
        abort(); /* a decoded value is never out of range */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned mode = data[0] & 3;
    unsigned flags = (data[0] >> 2) & (AMI_DT_DEVIATION_INVERTED | AMI_DT_ASSUME_UTC);
    const uint8_t *in = data + 1;
    size_t n = size - 1;
    ami_datetime dt;
    if (mode == 3) {
        int rc = ami_datetime_parse_iso((const char *)in, n, flags, &dt);
        if (rc == AMI_OK) {
            uint8_t b[12];
            ami_datetime_encode(&dt, b);
            ami_datetime d2;
            if (ami_datetime_decode(b, &d2) != AMI_OK)
                abort();
            check_rendering(&dt, flags);
        } else if (rc != AMI_E_SYNTAX && rc != AMI_E_RANGE) {
            abort();
        }
        return 0;
    }
    static const size_t len[3] = {12, 5, 4};
    if (n != len[mode])
        return 0;
    int rc = mode == 0   ? ami_datetime_decode(in, &dt)
             : mode == 1 ? ami_date_decode(in, &dt)
                         : ami_time_decode(in, &dt);
    if (rc != AMI_OK) {
        if (rc != AMI_E_RANGE)
            abort();
        return 0;
    }
    uint8_t b[12];
    if (mode == 0)
        ami_datetime_encode(&dt, b);
    else if (mode == 1)
        ami_date_encode(&dt, b);
    else
        ami_time_encode(&dt, b);
    if (memcmp(b, in, n) != 0)
        abort();
    check_rendering(&dt, flags);
    return 0;
}
