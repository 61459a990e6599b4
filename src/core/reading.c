/*
 * Readings: DLMS unit texts and exact decimal formatting (ami/reading.h).
 * SPDX-License-Identifier: Apache-2.0
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ami/error.h"
#include "ami/reading.h"

/*
 * DLMS unit enumeration, Blue Book (DLMS UA 1000-1) 4.3.2 "Register", scaler_unit. Volumes
 * are spelt "m3" as DSMR telegrams spell them, so P1 and DLMS readings compare equal.
 */
static const char *const unit_text[] = {
    [1] = "a",         [2] = "mo",       [3] = "wk",       [4] = "d",        [5] = "h",
    [6] = "min",       [7] = "s",        [8] = "°",        [9] = "°C",       [10] = "currency",
    [11] = "m",        [12] = "m/s",     [13] = "m3",      [14] = "m3",      [15] = "m3/h",
    [16] = "m3/h",     [17] = "m3/d",    [18] = "m3/d",    [19] = "l",       [20] = "kg",
    [21] = "N",        [22] = "Nm",      [23] = "Pa",      [24] = "bar",     [25] = "J",
    [26] = "J/h",      [27] = "W",       [28] = "VA",      [29] = "var",     [30] = "Wh",
    [31] = "VAh",      [32] = "varh",    [33] = "A",       [34] = "C",       [35] = "V",
    [36] = "V/m",      [37] = "F",       [38] = "Ω",       [39] = "Ωm2/m",   [40] = "Wb",
    [41] = "T",        [42] = "A/m",     [43] = "H",       [44] = "Hz",      [45] = "1/(Wh)",
    [46] = "1/(varh)", [47] = "1/(VAh)", [48] = "V2h",     [49] = "A2h",     [50] = "kg/s",
    [51] = "S",        [52] = "K",       [53] = "1/(V2h)", [54] = "1/(A2h)", [55] = "1/m3",
    [56] = "%",        [57] = "Ah",      [60] = "Wh/m3",   [61] = "J/m3",    [62] = "mol%",
    [63] = "g/m3",     [64] = "Pa s",    [65] = "J/kg",    [70] = "dBm",     [71] = "dBµV",
    [72] = "dB",
};

const char *ami_dlms_unit_text(uint8_t unit)
{
    if (unit == 255) /* count: no unit */
        return "";
    if (unit == 254) /* other unit */
        return "";
    if (unit < AMI_COUNTOF(unit_text))
        return unit_text[unit];
    return NULL;
}

int ami_reading_format_value(const ami_reading *r, char *buf, size_t cap)
{
    if (!r || !buf || cap == 0)
        return AMI_E_INVAL;
    if (r->kind == AMI_VALUE_NONE) {
        buf[0] = '\0';
        return 0;
    }
    if (r->kind == AMI_VALUE_STRING) {
        if (r->str_len >= cap || r->str_len > INT32_MAX)
            return AMI_E_NOSPACE;
        for (size_t i = 0; i < r->str_len; i++) {
            uint8_t c = r->str[i];
            buf[i] = (char)(c >= 0x20 && c < 0x7F ? c : '.');
        }
        buf[r->str_len] = '\0';
        return (int)r->str_len;
    }
    /* Digits of |mantissa| (uint64 holds |INT64_MIN|). */
    bool neg = r->mantissa < 0;
    uint64_t m = neg ? (uint64_t)0 - (uint64_t)r->mantissa : (uint64_t)r->mantissa;
    char digits[24];
    int nd = snprintf(digits, sizeof(digits), "%" PRIu64, m);
    if (nd <= 0)
        return AMI_E_INTERNAL;
    int scale = r->scale;
    /* Worst case: sign, "0.", 128 zeros, 20 digits, NUL. */
    char tmp[160];
    size_t n = 0;
    if (neg && m != 0)
        tmp[n++] = '-';
    if (scale >= 0) {
        for (int i = 0; i < nd; i++)
            tmp[n++] = digits[i];
        if (m != 0)
            for (int i = 0; i < scale; i++)
                tmp[n++] = '0';
    } else {
        int frac = -scale;
        if (nd <= frac) {
            tmp[n++] = '0';
            tmp[n++] = '.';
            for (int i = 0; i < frac - nd; i++)
                tmp[n++] = '0';
            for (int i = 0; i < nd; i++)
                tmp[n++] = digits[i];
        } else {
            for (int i = 0; i < nd - frac; i++)
                tmp[n++] = digits[i];
            tmp[n++] = '.';
            for (int i = nd - frac; i < nd; i++)
                tmp[n++] = digits[i];
        }
    }
    if (n >= cap)
        return AMI_E_NOSPACE;
    memcpy(buf, tmp, n);
    buf[n] = '\0';
    return (int)n;
}
