/*
 * COSEM date, time and date-time (DLMS UA Blue Book 4.1.6.1 "Date and time formats"):
 * octet-string codec, conversion to and from Unix time without the C library's time zone, ISO
 * 8601 text and a readable rendering that shows wildcards.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ami/bytes.h"
#include "ami/datetime.h"
#include "ami/error.h"

#define DEV_MAX 720 /* Blue Book: deviation -720..720 minutes */

/* ---------------------------------------------------------------- civil calendar */

static bool is_leap(unsigned y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(unsigned y, unsigned m)
{
    static const uint8_t dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/*
 * Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. The year is taken to start
 * on 1 March so that the leap day is the last day of its year, and counted from year -400 so
 * that every quantity is non-negative for the years 0..65535 (plain integer division then
 * floors). A 400-year era has 146097 days; 0000-03-01 is 719468 days before the epoch.
 */
static int64_t days_from_civil(unsigned year, unsigned m, unsigned d)
{
    int64_t y = (int64_t)year + 400 - (m <= 2);
    int64_t era = y / 400;
    int64_t yoe = y - era * 400;                         /* year of era, 0..399 */
    int64_t mp = m > 2 ? m - 3 : m + 9;                  /* month counted from March, 0..11 */
    int64_t doy = (153 * mp + 2) / 5 + (int64_t)d - 1;   /* day of the March year, 0..365 */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; /* day of era, 0..146096 */
    return (era - 1) * 146097 + doe - 719468;
}

/* Inverse of days_from_civil for days in the years 0..65535. */
static void civil_from_days(int64_t z, unsigned *year, unsigned *m, unsigned *d)
{
    z += 719468 + 146097;
    int64_t era = z / 146097;
    int64_t doe = z - era * 146097;
    /* Years of era: subtract the leap days that precede doe (one per 1460, none per 36524,
     * one per 146096 days) and divide by 365. */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *year = (unsigned)(yoe + (era - 1) * 400 + (*m <= 2));
}

/* Day of week, Monday = 1 .. Sunday = 7 (1970-01-01 was a Thursday). */
static unsigned weekday_from_days(int64_t days)
{
    int64_t r = (days + 3) % 7;
    return (unsigned)(r < 0 ? r + 7 : r) + 1;
}

/* ---------------------------------------------------------------- validation */

static bool in_range_or_unspec(uint8_t v, unsigned lo, unsigned hi)
{
    return v == AMI_DT_UNSPEC || (v >= lo && v <= hi);
}

static bool date_fields_ok(const ami_datetime *dt)
{
    bool month_ok = in_range_or_unspec(dt->month, 1, 12) || dt->month == AMI_DT_DST_END ||
                    dt->month == AMI_DT_DST_BEGIN;
    bool day_ok = in_range_or_unspec(dt->day, 1, 31) || dt->day == AMI_DT_DAY_2ND_LAST ||
                  dt->day == AMI_DT_DAY_LAST;
    if (!month_ok || !day_ok || !in_range_or_unspec(dt->weekday, 1, 7))
        return false;
    if (dt->month <= 12 && dt->day <= 31) {
        /* A specified date must exist; without a year, 29 February may. */
        unsigned y = dt->year == AMI_DT_YEAR_UNSPEC ? 2000 : dt->year;
        if (dt->day > days_in_month(y, dt->month))
            return false;
        if (dt->year != AMI_DT_YEAR_UNSPEC && dt->weekday != AMI_DT_UNSPEC &&
            dt->weekday != weekday_from_days(days_from_civil(dt->year, dt->month, dt->day)))
            return false;
    }
    return true;
}

static bool time_fields_ok(const ami_datetime *dt)
{
    return in_range_or_unspec(dt->hour, 0, 23) && in_range_or_unspec(dt->minute, 0, 59) &&
           in_range_or_unspec(dt->second, 0, 59) && in_range_or_unspec(dt->hundredths, 0, 99);
}

static bool deviation_ok(int deviation)
{
    return deviation == AMI_DT_DEVIATION_UNSPEC || (deviation >= -DEV_MAX && deviation <= DEV_MAX);
}

/* Every field in its range or a special value, the date existing, the weekday matching. */
static bool fields_ok(const ami_datetime *dt)
{
    return date_fields_ok(dt) && time_fields_ok(dt) && deviation_ok(dt->deviation);
}

/* Year, month, day, hour, minute and second specified (no wildcard). */
static bool fully_specified(const ami_datetime *dt)
{
    return dt->year != AMI_DT_YEAR_UNSPEC && dt->month <= 12 && dt->day <= 31 &&
           dt->hour != AMI_DT_UNSPEC && dt->minute != AMI_DT_UNSPEC && dt->second != AMI_DT_UNSPEC;
}

/*
 * Minutes to add to local time to get UTC. Blue Book: deviation = UTC - local (minutes "of local
 * time to UTC"); inverted companion standards: deviation = local - UTC.
 */
static int utc_minus_local(const ami_datetime *dt, unsigned flags, int *minutes)
{
    if (dt->deviation == AMI_DT_DEVIATION_UNSPEC) {
        if (!(flags & AMI_DT_ASSUME_UTC))
            return AMI_E_UNSPECIFIED;
        *minutes = 0;
        return AMI_OK;
    }
    *minutes = (flags & AMI_DT_DEVIATION_INVERTED) ? -dt->deviation : dt->deviation;
    return AMI_OK;
}

/* ---------------------------------------------------------------- octet-string codec */

void ami_datetime_unspecified(ami_datetime *dt)
{
    dt->year = AMI_DT_YEAR_UNSPEC;
    dt->month = dt->day = dt->weekday = AMI_DT_UNSPEC;
    dt->hour = dt->minute = dt->second = dt->hundredths = AMI_DT_UNSPEC;
    dt->deviation = AMI_DT_DEVIATION_UNSPEC;
    dt->status = AMI_DT_STATUS_UNSPEC;
}

static void read_date(ami_rd *r, ami_datetime *dt)
{
    (void)ami_rd_u16be(r, &dt->year);
    (void)ami_rd_u8(r, &dt->month);
    (void)ami_rd_u8(r, &dt->day);
    (void)ami_rd_u8(r, &dt->weekday);
}

static void read_time(ami_rd *r, ami_datetime *dt)
{
    (void)ami_rd_u8(r, &dt->hour);
    (void)ami_rd_u8(r, &dt->minute);
    (void)ami_rd_u8(r, &dt->second);
    (void)ami_rd_u8(r, &dt->hundredths);
}

/* The reads cannot fail: each decoder's reader holds exactly the bytes it consumes. */
static int decode(const uint8_t *b, size_t n, ami_datetime *dt)
{
    if (!b || !dt)
        return AMI_E_INVAL;
    ami_datetime t;
    ami_datetime_unspecified(&t);
    ami_rd r;
    ami_rd_init(&r, b, n);
    if (n != 4)
        read_date(&r, &t);
    if (n != 5)
        read_time(&r, &t);
    if (n == 12) {
        uint16_t dev;
        (void)ami_rd_u16be(&r, &dev);
        (void)ami_rd_u8(&r, &t.status);
        t.deviation = (int16_t)(dev >= 0x8000u ? (int32_t)dev - 0x10000 : (int32_t)dev);
    }
    if (!fields_ok(&t))
        return AMI_E_RANGE;
    *dt = t;
    return AMI_OK;
}

int ami_datetime_decode(const uint8_t b[12], ami_datetime *dt)
{
    return decode(b, 12, dt);
}

int ami_date_decode(const uint8_t b[5], ami_datetime *dt)
{
    return decode(b, 5, dt);
}

int ami_time_decode(const uint8_t b[4], ami_datetime *dt)
{
    return decode(b, 4, dt);
}

static void write_date(ami_wr *w, const ami_datetime *dt)
{
    ami_wr_u16be(w, dt->year);
    ami_wr_u8(w, dt->month);
    ami_wr_u8(w, dt->day);
    ami_wr_u8(w, dt->weekday);
}

static void write_time(ami_wr *w, const ami_datetime *dt)
{
    ami_wr_u8(w, dt->hour);
    ami_wr_u8(w, dt->minute);
    ami_wr_u8(w, dt->second);
    ami_wr_u8(w, dt->hundredths);
}

void ami_datetime_encode(const ami_datetime *dt, uint8_t b[12])
{
    ami_wr w;
    ami_wr_init(&w, b, 12);
    write_date(&w, dt);
    write_time(&w, dt);
    ami_wr_u16be(&w, (uint16_t)dt->deviation); /* two's complement on the wire */
    ami_wr_u8(&w, dt->status);
}

void ami_date_encode(const ami_datetime *dt, uint8_t b[5])
{
    ami_wr w;
    ami_wr_init(&w, b, 5);
    write_date(&w, dt);
}

void ami_time_encode(const ami_datetime *dt, uint8_t b[4])
{
    ami_wr w;
    ami_wr_init(&w, b, 4);
    write_time(&w, dt);
}

/* ---------------------------------------------------------------- Unix time */

#define SECS_PER_DAY 86400

int ami_datetime_to_unix(const ami_datetime *dt, unsigned flags, int64_t *unix_s)
{
    if (!dt || !unix_s)
        return AMI_E_INVAL;
    if (!fields_ok(dt))
        return AMI_E_RANGE;
    if (!fully_specified(dt))
        return AMI_E_UNSPECIFIED;
    int offset;
    int rc = utc_minus_local(dt, flags, &offset);
    if (rc < 0)
        return rc;
    int64_t local = days_from_civil(dt->year, dt->month, dt->day) * SECS_PER_DAY + dt->hour * 3600 +
                    dt->minute * 60 + dt->second;
    *unix_s = local + (int64_t)offset * 60;
    return AMI_OK;
}

int ami_datetime_from_unix(int64_t unix_s, int deviation, uint8_t status, unsigned flags,
                           ami_datetime *dt)
{
    if (!dt)
        return AMI_E_INVAL;
    int offset; /* UTC - local, minutes */
    if (deviation == AMI_DT_DEVIATION_UNSPEC && (flags & AMI_DT_ASSUME_UTC))
        offset = 0;
    else if (deviation >= -DEV_MAX && deviation <= DEV_MAX)
        offset = (flags & AMI_DT_DEVIATION_INVERTED) ? -deviation : deviation;
    else
        return AMI_E_RANGE;
    /* Local time must fall in the years 0..65534; checked before any arithmetic can overflow. */
    const int64_t lo = days_from_civil(0, 1, 1) * SECS_PER_DAY;
    const int64_t hi = days_from_civil(65535, 1, 1) * SECS_PER_DAY; /* exclusive */
    if (unix_s < lo - DEV_MAX * 60 || unix_s >= hi + DEV_MAX * 60)
        return AMI_E_RANGE;
    int64_t local = unix_s - (int64_t)offset * 60;
    if (local < lo || local >= hi)
        return AMI_E_RANGE;
    int64_t days = (local - lo) / SECS_PER_DAY + lo / SECS_PER_DAY; /* floor: local - lo >= 0 */
    int64_t sec = local - days * SECS_PER_DAY;
    unsigned y, m, d;
    civil_from_days(days, &y, &m, &d);
    dt->year = (uint16_t)y;
    dt->month = (uint8_t)m;
    dt->day = (uint8_t)d;
    dt->weekday = (uint8_t)weekday_from_days(days);
    dt->hour = (uint8_t)(sec / 3600);
    dt->minute = (uint8_t)(sec / 60 % 60);
    dt->second = (uint8_t)(sec % 60);
    dt->hundredths = 0;
    dt->deviation = (int16_t)deviation;
    dt->status = status;
    return AMI_OK;
}

/* ---------------------------------------------------------------- text */

/* Bounded text builder: the first append that does not fit makes the result AMI_E_NOSPACE. */
typedef struct sbuf {
    char *p;
    size_t cap, len;
    bool full;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    if (b->full)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= b->cap - b->len) {
        b->full = true;
        return;
    }
    b->len += (size_t)n;
}

static int sb_finish(sbuf *b)
{
    if (b->full) {
        b->p[0] = '\0';
        return AMI_E_NOSPACE;
    }
    return (int)b->len;
}

int ami_datetime_format_iso(const ami_datetime *dt, unsigned flags, char *buf, size_t cap)
{
    if (!dt || !buf)
        return AMI_E_INVAL;
    if (!fields_ok(dt))
        return AMI_E_RANGE;
    if (!fully_specified(dt))
        return AMI_E_UNSPECIFIED;
    int offset;
    int rc = utc_minus_local(dt, flags, &offset);
    if (rc < 0)
        return rc;
    if (dt->year > 9999) /* ISO 8601 needs an expanded representation agreed by both sides */
        return AMI_E_RANGE;
    if (cap == 0)
        return AMI_E_NOSPACE;
    sbuf b = {buf, cap, 0, false};
    sb_printf(&b, "%04u-%02u-%02uT%02u:%02u:%02u", dt->year, dt->month, dt->day, dt->hour,
              dt->minute, dt->second);
    if (dt->hundredths != AMI_DT_UNSPEC && dt->hundredths != 0)
        sb_printf(&b, ".%02u", dt->hundredths);
    if (dt->deviation == AMI_DT_DEVIATION_UNSPEC) {
        sb_printf(&b, "Z");
    } else {
        int east = -offset; /* local - UTC */
        int a = east < 0 ? -east : east;
        sb_printf(&b, "%c%02d:%02d", east < 0 ? '-' : '+', a / 60, a % 60);
    }
    return sb_finish(&b);
}

int ami_datetime_format(const ami_datetime *dt, char *buf, size_t cap)
{
    static const char *const wd[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
    if (!dt || !buf)
        return AMI_E_INVAL;
    if (cap == 0)
        return AMI_E_NOSPACE;
    sbuf b = {buf, cap, 0, false};
    if (dt->year == AMI_DT_YEAR_UNSPEC)
        sb_printf(&b, "*");
    else
        sb_printf(&b, "%04u", dt->year);
    if (dt->month == AMI_DT_UNSPEC)
        sb_printf(&b, "-*");
    else if (dt->month == AMI_DT_DST_END)
        sb_printf(&b, "-DST-end");
    else if (dt->month == AMI_DT_DST_BEGIN)
        sb_printf(&b, "-DST-begin");
    else
        sb_printf(&b, "-%02u", dt->month);
    if (dt->day == AMI_DT_UNSPEC)
        sb_printf(&b, "-*");
    else if (dt->day == AMI_DT_DAY_LAST)
        sb_printf(&b, "-last");
    else if (dt->day == AMI_DT_DAY_2ND_LAST)
        sb_printf(&b, "-2nd-last");
    else
        sb_printf(&b, "-%02u", dt->day);
    if (dt->weekday >= 1 && dt->weekday <= 7)
        sb_printf(&b, " %s", wd[dt->weekday - 1]);
    else if (dt->weekday == AMI_DT_UNSPEC)
        sb_printf(&b, " *");
    else
        sb_printf(&b, " %u", dt->weekday);
    const uint8_t tv[4] = {dt->hour, dt->minute, dt->second, dt->hundredths};
    static const char sep[4] = {' ', ':', ':', '.'};
    for (int i = 0; i < 4; i++) {
        if (tv[i] == AMI_DT_UNSPEC)
            sb_printf(&b, "%c*", sep[i]);
        else
            sb_printf(&b, "%c%02u", sep[i], tv[i]);
    }
    if (dt->deviation == AMI_DT_DEVIATION_UNSPEC)
        sb_printf(&b, " dev=*");
    else
        sb_printf(&b, " dev=%d", dt->deviation);
    if (dt->status == AMI_DT_STATUS_UNSPEC) {
        sb_printf(&b, " status=*");
    } else {
        static const struct {
            uint8_t mask;
            const char *name;
        } bits[] = {
            {AMI_CLOCK_INVALID, "invalid"},
            {AMI_CLOCK_DOUBTFUL, "doubtful"},
            {AMI_CLOCK_DIFFERENT_BASE, "different-base"},
            {AMI_CLOCK_INVALID_STATUS, "invalid-status"},
            {0x70, "reserved"}, /* bits 4..6 are reserved (Blue Book 4.1.6.1) */
            {AMI_CLOCK_DST, "DST"},
        };
        sb_printf(&b, " status=%02X", dt->status);
        const char *lead = " (";
        for (size_t i = 0; i < AMI_COUNTOF(bits); i++) {
            if (dt->status & bits[i].mask) {
                sb_printf(&b, "%s%s", lead, bits[i].name);
                lead = ",";
            }
        }
        if (dt->status != 0)
            sb_printf(&b, ")");
    }
    return sb_finish(&b);
}

/* ---------------------------------------------------------------- ISO 8601 parsing */

typedef struct scan {
    const char *s;
    size_t n, i;
} scan;

/* Exactly `digits` decimal digits; false (nothing consumed) otherwise. */
static bool scan_num(scan *c, int digits, unsigned *v)
{
    if (c->n - c->i < (size_t)digits)
        return false;
    unsigned x = 0;
    for (int k = 0; k < digits; k++) {
        char ch = c->s[c->i + (size_t)k];
        if (ch < '0' || ch > '9')
            return false;
        x = x * 10 + (unsigned)(ch - '0');
    }
    c->i += (size_t)digits;
    *v = x;
    return true;
}

static bool scan_char(scan *c, char ch)
{
    if (c->i < c->n && c->s[c->i] == ch) {
        c->i++;
        return true;
    }
    return false;
}

int ami_datetime_parse_iso(const char *s, size_t n, unsigned flags, ami_datetime *dt)
{
    if (!s || !dt)
        return AMI_E_INVAL;
    scan c = {s, n, 0};
    unsigned y, mo, d, h = 0, mi = 0, se = 0, hs = 0;
    if (!scan_num(&c, 4, &y) || !scan_char(&c, '-') || !scan_num(&c, 2, &mo) ||
        !scan_char(&c, '-') || !scan_num(&c, 2, &d))
        return AMI_E_SYNTAX;
    bool have_offset = false;
    int east = 0; /* local - UTC, minutes */
    if (c.i < n) {
        if (!scan_char(&c, 'T') && !scan_char(&c, ' '))
            return AMI_E_SYNTAX;
        if (!scan_num(&c, 2, &h) || !scan_char(&c, ':') || !scan_num(&c, 2, &mi))
            return AMI_E_SYNTAX;
        if (scan_char(&c, ':')) {
            if (!scan_num(&c, 2, &se))
                return AMI_E_SYNTAX;
            if (scan_char(&c, '.')) {
                /* One or more digits; hundredths kept, the rest truncated. */
                size_t start = c.i;
                while (c.i < n && s[c.i] >= '0' && s[c.i] <= '9') {
                    size_t k = c.i - start;
                    if (k < 2)
                        hs = hs * 10 + (unsigned)(s[c.i] - '0');
                    c.i++;
                }
                if (c.i == start)
                    return AMI_E_SYNTAX;
                if (c.i - start == 1)
                    hs *= 10;
            }
        }
        if (scan_char(&c, 'Z')) {
            have_offset = true;
        } else if (c.i < n && (s[c.i] == '+' || s[c.i] == '-')) {
            int sign = s[c.i++] == '-' ? -1 : 1;
            unsigned oh, om;
            if (!scan_num(&c, 2, &oh))
                return AMI_E_SYNTAX;
            (void)scan_char(&c, ':'); /* "+hh:mm" or "+hhmm" */
            if (!scan_num(&c, 2, &om))
                return AMI_E_SYNTAX;
            if (om > 59 || oh * 60 + om > DEV_MAX)
                return AMI_E_RANGE;
            east = sign * (int)(oh * 60 + om);
            have_offset = true;
        }
    }
    if (c.i != n)
        return AMI_E_SYNTAX;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || se > 59)
        return AMI_E_RANGE;
    ami_datetime t;
    t.year = (uint16_t)y;
    t.month = (uint8_t)mo;
    t.day = (uint8_t)d;
    t.weekday = (uint8_t)weekday_from_days(days_from_civil(y, mo, d));
    t.hour = (uint8_t)h;
    t.minute = (uint8_t)mi;
    t.second = (uint8_t)se;
    t.hundredths = (uint8_t)hs;
    if (have_offset)
        t.deviation = (int16_t)((flags & AMI_DT_DEVIATION_INVERTED) ? east : -east);
    else
        t.deviation = (flags & AMI_DT_ASSUME_UTC) ? 0 : AMI_DT_DEVIATION_UNSPEC;
    t.status = AMI_DT_STATUS_UNSPEC;
    *dt = t;
    return AMI_OK;
}
