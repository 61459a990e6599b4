/*
 * OBIS codes (IEC 62056-61; DLMS UA Blue Book 7.3): parsing the textual forms seen in the field
 * and formatting them canonically.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <string.h>

#include "ami/error.h"
#include "ami/obis.h"
#include "core/internal.h"

/* "0100010800FF": exactly 12 hex digits, two per group. */
static bool parse_hex(const char *s, size_t n, ami_obis *o)
{
    if (n != 12)
        return false;
    for (size_t i = 0; i < 6; i++) {
        int hi = ami__hexval(s[2 * i]), lo = ami__hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        o->v[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

int ami_obis_parse(const char *s, size_t n, ami_obis *out)
{
    if (!s || !out)
        return AMI_E_INVAL;
    ami_obis o;
    if (parse_hex(s, n, &o)) {
        *out = o;
        return AMI_OK;
    }
    /*
     * Decimal forms: up to six groups of 1..3 digits, each followed by a separator (none after
     * the last). The separators found decide the form:
     *   "-:.."  A-B:C.D.E (F = 255)      "-:..." "-:..*" "-:..&"  A-B:C.D.E{.*&}F
     *   "....." A.B.C.D.E.F
     */
    unsigned val[6];
    char sep[6];
    size_t groups = 0, i = 0;
    for (;;) {
        if (groups == 6)
            return AMI_E_SYNTAX;
        unsigned v = 0;
        size_t digits = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            if (++digits > 3)
                return AMI_E_SYNTAX;
            v = v * 10 + (unsigned)(s[i] - '0');
            i++;
        }
        if (digits == 0)
            return AMI_E_SYNTAX;
        val[groups++] = v;
        if (i == n)
            break;
        sep[groups - 1] = s[i++];
    }
    size_t nsep = groups - 1;
    bool ok;
    if (groups == 6 && memcmp(sep, ".....", 5) == 0)
        ok = true;
    else if ((groups == 5 || groups == 6) && memcmp(sep, "-:..", 4) == 0)
        ok = nsep == 4 || sep[4] == '.' || sep[4] == '*' || sep[4] == '&';
    else
        ok = false;
    if (!ok)
        return AMI_E_SYNTAX;
    if (groups == 5)
        val[groups++] = 255;
    for (size_t k = 0; k < 6; k++) {
        if (val[k] > 255)
            return AMI_E_RANGE;
        o.v[k] = (uint8_t)val[k];
    }
    *out = o;
    return AMI_OK;
}

int ami_obis_format(const ami_obis *o, enum ami_obis_style style, char *buf, size_t cap)
{
    if (!o || !buf)
        return AMI_E_INVAL;
    const uint8_t *v = o->v;
    char tmp[AMI_OBIS_STRLEN];
    int len;
    switch (style) {
    case AMI_OBIS_STYLE_DOTS:
    case AMI_OBIS_STYLE_STAR:
        len = snprintf(tmp, sizeof tmp, "%u-%u:%u.%u.%u%c%u", v[0], v[1], v[2], v[3], v[4],
                       style == AMI_OBIS_STYLE_STAR ? '*' : '.', v[5]);
        break;
    case AMI_OBIS_STYLE_SHORT:
        if (v[5] == 255)
            len = snprintf(tmp, sizeof tmp, "%u-%u:%u.%u.%u", v[0], v[1], v[2], v[3], v[4]);
        else
            len =
                snprintf(tmp, sizeof tmp, "%u-%u:%u.%u.%u.%u", v[0], v[1], v[2], v[3], v[4], v[5]);
        break;
    case AMI_OBIS_STYLE_HEX:
        len = snprintf(tmp, sizeof tmp, "%02X%02X%02X%02X%02X%02X", v[0], v[1], v[2], v[3], v[4],
                       v[5]);
        break;
    default:
        return AMI_E_INVAL;
    }
    if (len < 0 || (size_t)len >= sizeof tmp)
        return AMI_E_INTERNAL;
    if ((size_t)len >= cap)
        return AMI_E_NOSPACE;
    memcpy(buf, tmp, (size_t)len + 1);
    return len;
}

bool ami_obis_equal(const ami_obis *a, const ami_obis *b)
{
    return memcmp(a->v, b->v, sizeof a->v) == 0;
}
