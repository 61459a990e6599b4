/*
 * DSMR P1 telegram writer (see ami/p1.h): the meter side of P1 for simulators and tests.
 * Formats from the DSMR 5.0.2 P1 companion standard, table of 6.12:
 *   energy      F9(3) kWh   "123456.789*kWh"
 *   power       F5(3) kW    "01.193*kW"
 *   voltage     F4(1) V     "230.1*V"
 *   current     F3(0) A     "001*A"
 *   tariff      S4          "0002"
 *   timestamp   TST         "YYMMDDhhmmssX", X = 'S' summer / 'W' winter
 *   identifier  Sn (n=96)   hex-encoded text
 * CRC-16/ARC (polynomial 0xA001 reflected, initial 0) over '/'..'!' inclusive, 4 hex digits.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ami/bytes.h"
#include "ami/crc.h"
#include "ami/datetime.h"
#include "ami/error.h"
#include "ami/p1.h"

/* A bounded text writer; the first overflow sticks. */
typedef struct tw {
    char *p;
    size_t cap, len;
    int err;
} tw;

static void put(tw *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(tw *w, const char *fmt, ...)
{
    if (w->err)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(w->p + w->len, w->cap - w->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= w->cap - w->len) {
        w->err = AMI_E_NOSPACE;
        return;
    }
    w->len += (size_t)n;
}

/* Last Sunday of `month` (1-based) of `year`, 01:00 UTC. */
static int64_t last_sunday_0100(int year, unsigned month)
{
    ami_datetime dt;
    memset(&dt, 0, sizeof dt);
    dt.year = (uint16_t)year;
    dt.month = (uint8_t)month;
    dt.day = 31; /* March and October both have 31 days */
    dt.hour = 1;
    dt.weekday = AMI_DT_UNSPEC;
    dt.hundredths = AMI_DT_UNSPEC;
    dt.deviation = AMI_DT_DEVIATION_UNSPEC;
    int64_t t = 0;
    if (ami_datetime_to_unix(&dt, AMI_DT_ASSUME_UTC, &t) != AMI_OK)
        return 0;
    ami_datetime w;
    if (ami_datetime_from_unix(t, AMI_DT_DEVIATION_UNSPEC, 0, AMI_DT_ASSUME_UTC, &w) != AMI_OK)
        return 0;
    /* weekday 1 = Monday .. 7 = Sunday (Blue Book) */
    return t - (int64_t)(w.weekday % 7) * 86400;
}

bool ami_p1_eu_dst(int64_t t)
{
    ami_datetime dt;
    if (ami_datetime_from_unix(t, AMI_DT_DEVIATION_UNSPEC, 0, AMI_DT_ASSUME_UTC, &dt) != AMI_OK)
        return false;
    if (dt.month < 3 || dt.month > 10)
        return false;
    return t >= last_sunday_0100(dt.year, 3) && t < last_sunday_0100(dt.year, 10);
}

/* Printable ASCII of min..max characters, none of them in `forbidden`. */
static bool printable(const char *s, size_t min, size_t max, const char *forbidden)
{
    size_t n = strnlen(s, max + 1);
    if (n < min || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7E || strchr(forbidden, s[i]))
            return false;
    return true;
}

/* "x.yyy" with `ip` integer digits, 3 decimals, from a value in thousandths. */
static void put_milli(tw *w, const char *obis, int64_t v, int ip, int64_t max, const char *unit)
{
    if (v < 0 || v > max) {
        if (!w->err)
            w->err = AMI_E_RANGE;
        return;
    }
    put(w, "%s(%0*" PRId64 ".%03" PRId64 "*%s)\r\n", obis, ip, v / 1000, v % 1000, unit);
}

int ami_p1_write(const ami_p1_values *v, char *out, size_t cap)
{
    /* '/' starts a telegram and '!' ends one wherever they stand outside brackets (6.2) */
    if (!v || !out || !v->header || !printable(v->header, 5, 64, "/!()"))
        return AMI_E_INVAL;
    if ((v->phases != 1 && v->phases != 3) || (v->tariff != 1 && v->tariff != 2))
        return AMI_E_INVAL;
    if (v->equipment_id && !printable(v->equipment_id, 1, AMI_P1_MAX_EQUIPMENT_ID, ""))
        return AMI_E_INVAL;
    if (v->std_offset < -720 || v->std_offset > 720)
        return AMI_E_RANGE;
    int off = (v->std_offset ? v->std_offset : 60) + (v->dst ? 60 : 0);
    ami_datetime dt;
    if (v->time < 946684800 - 86400 || v->time > INT64_C(4102444800) + 86400 ||
        ami_datetime_from_unix(v->time + off * 60, AMI_DT_DEVIATION_UNSPEC, 0, AMI_DT_ASSUME_UTC,
                               &dt) != AMI_OK ||
        dt.year < 2000 || dt.year > 2099)
        return AMI_E_RANGE;
    /* 1 January of 2000 and of 2070 are the placeholders receivers read as "no time" */
    if (dt.month == 1 && dt.day == 1 && (dt.year == 2000 || dt.year == 2070))
        return AMI_E_RANGE;

    tw w = {out, cap, 0, 0};
    put(&w, "/%s\r\n\r\n", v->header);
    if (v->version)
        put(&w, "1-3:0.2.8(%u)\r\n", v->version);
    put(&w, "0-0:1.0.0(%02u%02u%02u%02u%02u%02u%c)\r\n", dt.year % 100u, dt.month, dt.day, dt.hour,
        dt.minute, dt.second, v->dst ? 'S' : 'W');
    if (v->equipment_id) {
        char hex[2 * AMI_P1_MAX_EQUIPMENT_ID + 1];
        (void)ami_hex_encode(v->equipment_id, strlen(v->equipment_id), hex, sizeof hex);
        put(&w, "0-0:96.1.1(%s)\r\n", hex);
    }
    const int64_t emax = INT64_C(999999999); /* 999999.999 kWh in Wh */
    put_milli(&w, "1-0:1.8.1", v->import_wh[0], 6, emax, "kWh");
    put_milli(&w, "1-0:1.8.2", v->import_wh[1], 6, emax, "kWh");
    put_milli(&w, "1-0:2.8.1", v->export_wh[0], 6, emax, "kWh");
    put_milli(&w, "1-0:2.8.2", v->export_wh[1], 6, emax, "kWh");
    put(&w, "0-0:96.14.0(%04u)\r\n", v->tariff);
    const int64_t pmax = 99999; /* 99.999 kW in W */
    put_milli(&w, "1-0:1.7.0", v->power_import_w, 2, pmax, "kW");
    put_milli(&w, "1-0:2.7.0", v->power_export_w, 2, pmax, "kW");
    static const char *const u_obis[3] = {"1-0:32.7.0", "1-0:52.7.0", "1-0:72.7.0"};
    static const char *const i_obis[3] = {"1-0:31.7.0", "1-0:51.7.0", "1-0:71.7.0"};
    static const char *const pi_obis[3] = {"1-0:21.7.0", "1-0:41.7.0", "1-0:61.7.0"};
    static const char *const pe_obis[3] = {"1-0:22.7.0", "1-0:42.7.0", "1-0:62.7.0"};
    for (unsigned k = 0; k < v->phases; k++) {
        int32_t u = v->voltage_dv[k];
        if (u < 0 || u > 9999) {
            w.err = w.err ? w.err : AMI_E_RANGE;
            break;
        }
        put(&w, "%s(%03d.%d*V)\r\n", u_obis[k], u / 10, u % 10);
    }
    for (unsigned k = 0; k < v->phases; k++) {
        int32_t i = v->current_a[k];
        if (i < 0 || i > 999) {
            w.err = w.err ? w.err : AMI_E_RANGE;
            break;
        }
        put(&w, "%s(%03d*A)\r\n", i_obis[k], i);
    }
    for (unsigned k = 0; k < v->phases; k++)
        put_milli(&w, pi_obis[k], v->phase_import_w[k], 2, pmax, "kW");
    for (unsigned k = 0; k < v->phases; k++)
        put_milli(&w, pe_obis[k], v->phase_export_w[k], 2, pmax, "kW");
    put(&w, "!");
    if (w.err)
        return w.err;
    uint16_t crc = ami_crc16_arc(out, w.len);
    put(&w, "%04X\r\n", (unsigned)crc);
    if (w.err)
        return w.err;
    if (w.len > INT32_MAX)
        return AMI_E_NOSPACE;
    return (int)w.len;
}
