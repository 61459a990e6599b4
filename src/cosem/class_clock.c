/*
 * Clock (class 8, version 0; Blue Book 4.5.1): logical_name, time, time_zone, status,
 * daylight_savings_begin/end/deviation/enabled, clock_base. Time comes from the store's clock
 * source; time and time_zone are settable, and the daylight-saving attributes when the object
 * has an ami_cosem_clock state. Methods 1..6 (adjust_to_quarter ... shift_time) are run here:
 * see ami/cosem_clock.h.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "ami/cosem_clock.h"
#include "ami/datetime.h"
#include "cosem/cosem_util.h"

/* logical_name, time (rw), time_zone (rw), status, daylight_savings_begin/end,
 * daylight_savings_deviation, daylight_savings_enabled, clock_base. */
static const uint8_t clock_access[9] = {
    AMI_ACCESS_READ, AMI_ACCESS_READ_WRITE, AMI_ACCESS_READ_WRITE, AMI_ACCESS_READ, AMI_ACCESS_READ,
    AMI_ACCESS_READ, AMI_ACCESS_READ,       AMI_ACCESS_READ,       AMI_ACCESS_READ};

static int clock_check(const ami_cosem_store *s, const ami_cosem_obj *o)
{
    (void)o;
    return s->clock.now ? AMI_OK : AMI_E_CONFIG;
}

/* ---------------------------------------------------------------- daylight saving */

static unsigned days_in(unsigned y, unsigned m)
{
    static const uint8_t d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : d[m - 1];
}

/* Day of week of a Gregorian date, 1 = Monday .. 7 = Sunday. */
static unsigned weekday_of(unsigned y, unsigned m, unsigned d)
{
    static const uint8_t t[12] = {0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4};
    if (m < 3)
        y--;
    unsigned w = (y + y / 4 - y / 100 + y / 400 + t[m - 1] + d) % 7; /* 0 = Sunday */
    return w == 0 ? 7 : w;
}

/* The day of month a rule's date gives in year y (ami/cosem_clock.h), 0 for none. */
static unsigned rule_day(const ami_datetime *r, unsigned y)
{
    if (r->month < 1 || r->month > 12)
        return 0;
    unsigned dim = days_in(y, r->month), d;
    bool from_end = r->day == AMI_DT_DAY_LAST || r->day == AMI_DT_DAY_2ND_LAST;
    if (from_end)
        d = r->day == AMI_DT_DAY_LAST ? dim : dim - 1;
    else if (r->day >= 1 && r->day <= dim)
        d = r->day;
    else
        return 0;
    if (r->weekday < 1 || r->weekday > 7)
        return d;
    if (from_end) { /* the last (second last) such weekday of the month */
        unsigned last = dim - (weekday_of(y, r->month, dim) + 7 - r->weekday) % 7;
        return r->day == AMI_DT_DAY_LAST ? last : last - 7;
    }
    d += (r->weekday + 7 - weekday_of(y, r->month, d)) % 7; /* the first on or after d */
    return d <= dim ? d : 0;
}

/* The instant of a daylight_savings_begin/end rule in year y, its time read at deviation dev
 * unless it gives its own. */
static bool rule_at(const uint8_t b[12], unsigned y, int dev, int64_t *out)
{
    ami_datetime r;
    if (ami_datetime_decode(b, &r) != AMI_OK || (r.year != AMI_DT_YEAR_UNSPEC && r.year != y))
        return false;
    unsigned d = rule_day(&r, y);
    if (!d)
        return false;
    ami_datetime x = {.year = (uint16_t)y,
                      .month = r.month,
                      .day = (uint8_t)d,
                      .weekday = AMI_DT_UNSPEC,
                      .hour = r.hour == AMI_DT_UNSPEC ? 0 : r.hour,
                      .minute = r.minute == AMI_DT_UNSPEC ? 0 : r.minute,
                      .second = r.second == AMI_DT_UNSPEC ? 0 : r.second,
                      .hundredths = 0,
                      .deviation =
                          (int16_t)(r.deviation == AMI_DT_DEVIATION_UNSPEC ? dev : r.deviation),
                      .status = AMI_DT_STATUS_UNSPEC};
    return ami_datetime_to_unix(&x, 0, out) == AMI_OK;
}

bool ami_cosem_clock_dst_at(const ami_cosem_clock *c, int64_t t, int16_t tz)
{
    if (!c || !c->dst_enabled || !c->dst_deviation)
        return false;
    ami_datetime lt;
    if (ami_datetime_from_unix(t, tz, 0, 0, &lt) != AMI_OK)
        return false;
    int64_t b, e;
    /* begin in standard local time, end in daylight saving time */
    if (!rule_at(c->dst_begin, lt.year, tz, &b) ||
        !rule_at(c->dst_end, lt.year, tz - c->dst_deviation, &e))
        return false;
    return b < e ? t >= b && t < e : t >= b || t < e;
}

int16_t ami_cosem_clock_deviation(const ami_cosem_obj *o, int64_t t, uint8_t *status)
{
    if (!o)
        return 0;
    uint8_t st = o->clock_status & (uint8_t)~AMI_CLOCK_DST;
    int16_t dev = o->time_zone;
    const ami_cosem_clock *c = o->class_id == AMI_COSEM_CLOCK ? o->state : NULL;
    if (ami_cosem_clock_dst_at(c, t, o->time_zone)) {
        dev = (int16_t)(dev - c->dst_deviation);
        st |= AMI_CLOCK_DST;
    }
    if (status)
        *status = st;
    return dev;
}

/* ---------------------------------------------------------------- class */

static uint8_t clock_get(ami_cosem_store *s, ami_cosem_obj *o, uint8_t attr,
                         const ami_access_selection *sel, const ami_dlms_ctx *ctx, ami_wr *out)
{
    (void)ctx;
    const ami_cosem_clock *c = o->state;
    if (sel->present)
        return AMI_DAR_SCOPE_OF_ACCESS_VIOLATED;
    switch (attr) {
    case 2: {
        uint8_t b[12];
        ami_datetime dt;
        int64_t now = s->clock.now(s->clock.user);
        uint8_t st;
        int16_t dev = ami_cosem_clock_deviation(o, now, &st);
        if (ami_datetime_from_unix(now, dev, st, 0, &dt) != AMI_OK)
            return AMI_DAR_HARDWARE_FAULT;
        ami_datetime_encode(&dt, b);
        ami__cosem_put_octets(out, b, sizeof b);
        return AMI_DAR_SUCCESS;
    }
    case 3:
        ami__cosem_put_u16(out, AMI_AXDR_LONG, (uint16_t)o->time_zone);
        return AMI_DAR_SUCCESS;
    case 4: {
        uint8_t st;
        (void)ami_cosem_clock_deviation(o, s->clock.now(s->clock.user), &st);
        ami__cosem_put_u8(out, AMI_AXDR_UNSIGNED, st);
        return AMI_DAR_SUCCESS;
    }
    case 5:
    case 6: /* daylight_savings_begin / end: without state not used, every field unspecified */
        if (!c) {
            ami__cosem_put_datetime_unspec(out);
            return AMI_DAR_SUCCESS;
        }
        ami__cosem_put_octets(out, attr == 5 ? c->dst_begin : c->dst_end, 12);
        return AMI_DAR_SUCCESS;
    case 7: /* daylight_savings_deviation */
        ami__cosem_put_u8(out, AMI_AXDR_INTEGER, c ? (uint8_t)c->dst_deviation : 0);
        return AMI_DAR_SUCCESS;
    case 8: /* daylight_savings_enabled */
        ami__cosem_put_u8(out, AMI_AXDR_BOOLEAN, c && c->dst_enabled ? 1 : 0);
        return AMI_DAR_SUCCESS;
    case 9: /* clock_base: (1) internal crystal */
        ami__cosem_put_u8(out, AMI_AXDR_ENUM, 1);
        return AMI_DAR_SUCCESS;
    default:
        return AMI_DAR_OBJECT_UNDEFINED;
    }
}

/* daylight_savings_begin/end (date-time with wildcards), _deviation (integer -120..120),
 * _enabled (boolean). */
static uint8_t dst_set(ami_cosem_clock *c, uint8_t attr, ami_view data)
{
    if (!c)
        return AMI_DAR_READ_WRITE_DENIED;
    ami_rd r;
    ami_rd_init(&r, data.p, data.len);
    if (attr == 5 || attr == 6) {
        ami_view v;
        ami_datetime dt;
        if (ami__cosem_rd_octets(&r, &v) != AMI_OK || v.len != 12 || ami_rd_left(&r))
            return AMI_DAR_TYPE_UNMATCHED;
        if (ami_datetime_decode(v.p, &dt) != AMI_OK)
            return AMI_DAR_OTHER_REASON;
        memcpy(attr == 5 ? c->dst_begin : c->dst_end, v.p, 12);
        return AMI_DAR_SUCCESS;
    }
    uint8_t b;
    if (ami__cosem_rd_u8(&r, attr == 7 ? AMI_AXDR_INTEGER : AMI_AXDR_BOOLEAN, &b) != AMI_OK ||
        ami_rd_left(&r))
        return AMI_DAR_TYPE_UNMATCHED;
    if (attr == 7) {
        int8_t d = (int8_t)b;
        if (d < -120 || d > 120)
            return AMI_DAR_OTHER_REASON;
        c->dst_deviation = d;
    } else {
        c->dst_enabled = b != 0;
    }
    return AMI_DAR_SUCCESS;
}

static uint8_t clock_set(ami_cosem_store *s, ami_cosem_obj *o, uint8_t attr, ami_view data,
                         const ami_dlms_ctx *ctx)
{
    (void)ctx;
    ami_rd r;
    ami_rd_init(&r, data.p, data.len);
    uint8_t type = 0;
    (void)ami_rd_u8(&r, &type);
    if (attr == 3) {
        uint16_t tz;
        if (type != AMI_AXDR_LONG || ami_rd_u16be(&r, &tz) != AMI_OK)
            return AMI_DAR_TYPE_UNMATCHED;
        int16_t v = (int16_t)tz;
        if (v < -720 || v > 720)
            return AMI_DAR_OTHER_REASON;
        o->time_zone = v;
        return AMI_DAR_SUCCESS;
    }
    if (attr >= 5 && attr <= 8)
        return dst_set(o->state, attr, data);
    if (attr != 2)
        return AMI_DAR_READ_WRITE_DENIED;
    /* time: octet-string (SIZE(12)) date-time (Blue Book 4.5.1); the deviation in the value
     * gives its offset, unspecified means the clock's own time zone. */
    size_t n = 0;
    const uint8_t *b;
    if (type != AMI_AXDR_OCTET_STRING || ami_axdr_get_length(&r, &n) != AMI_OK || n != 12 ||
        ami_rd_view(&r, 12, &b) != AMI_OK)
        return AMI_DAR_TYPE_UNMATCHED;
    ami_datetime dt;
    if (ami_datetime_decode(b, &dt) != AMI_OK)
        return AMI_DAR_OTHER_REASON;
    if (dt.deviation == AMI_DT_DEVIATION_UNSPEC)
        dt.deviation = o->time_zone;
    int64_t t;
    if (ami_datetime_to_unix(&dt, 0, &t) != AMI_OK)
        return AMI_DAR_OTHER_REASON;
    if (!s->clock.set)
        return AMI_DAR_READ_WRITE_DENIED;
    return s->clock.set(s->clock.user, t);
}

void ami_cosem_clock_init(ami_cosem_clock *c, uint32_t measuring_period_s)
{
    ami_datetime dt;
    ami_datetime_unspecified(&dt);
    memset(c, 0, sizeof *c);
    c->measuring_period_s = measuring_period_s;
    ami_datetime_encode(&dt, c->dst_begin);
    ami_datetime_encode(&dt, c->dst_end);
    c->dst_deviation = 60;
}

/* t rounded to the nearest multiple of `step` seconds of local time (half-way up). */
static int64_t round_local(int64_t t, int16_t tz, int64_t step)
{
    int64_t local = t - (int64_t)tz * 60;
    int64_t r = ((local % step) + step) % step;
    int64_t down = local - r;
    return (r * 2 >= step ? down + step : down) + (int64_t)tz * 60;
}

/* A fully specified date-time octet-string at r, as unix seconds (unspecified deviation: the
 * clock's time zone). */
static int rd_time(ami_rd *r, int16_t tz, int64_t *t)
{
    ami_view v;
    ami_datetime dt;
    if (ami__cosem_rd_octets(r, &v) != AMI_OK || v.len != 12)
        return AMI_E_TYPE;
    if (ami_datetime_decode(v.p, &dt) != AMI_OK)
        return AMI_E_RANGE;
    if (dt.deviation == AMI_DT_DEVIATION_UNSPEC)
        dt.deviation = tz;
    return ami_datetime_to_unix(&dt, 0, t);
}

static uint8_t clock_action(ami_cosem_store *s, ami_cosem_obj *o, uint8_t id, ami_view params,
                            const ami_dlms_ctx *ctx, ami_wr *out)
{
    (void)ctx;
    (void)out;
    ami_cosem_clock *c = o->state;
    ami_rd r;
    ami_rd_init(&r, params.p, params.len);
    if (id != 5 && id != 6 && params.len && !ami__cosem_is_integer0(params))
        return AMI_DAR_TYPE_UNMATCHED;
    if (!s->clock.set)
        return AMI_DAR_READ_WRITE_DENIED;
    int64_t now = s->clock.now(s->clock.user), t;
    switch (id) {
    case 1: /* adjust_to_quarter */
        t = round_local(now, o->time_zone, 900);
        break;
    case 2: /* adjust_to_measuring_period */
        t = round_local(now, o->time_zone,
                        c && c->measuring_period_s ? (int64_t)c->measuring_period_s : 900);
        break;
    case 3: /* adjust_to_minute */
        t = round_local(now, o->time_zone, 60);
        break;
    case 4: /* adjust_to_preset_time */
        if (!c || !c->has_preset || now < c->valid_from || now > c->valid_to)
            return AMI_ACTION_OTHER_REASON;
        t = c->preset;
        c->has_preset = false;
        break;
    case 5: { /* preset_adjusting_time */
        size_t n;
        int64_t p, from, to;
        if (ami__cosem_rd_struct(&r, &n, 3) != AMI_OK || n != 3)
            return AMI_DAR_TYPE_UNMATCHED;
        int rc = rd_time(&r, o->time_zone, &p);
        if (rc == AMI_OK)
            rc = rd_time(&r, o->time_zone, &from);
        if (rc == AMI_OK)
            rc = rd_time(&r, o->time_zone, &to);
        if (rc == AMI_E_TYPE || (rc == AMI_OK && ami_rd_left(&r)))
            return AMI_DAR_TYPE_UNMATCHED;
        if (rc != AMI_OK || from > to)
            return AMI_ACTION_OTHER_REASON;
        if (!c)
            return AMI_DAR_READ_WRITE_DENIED;
        c->has_preset = true;
        c->preset = p;
        c->valid_from = from;
        c->valid_to = to;
        return AMI_ACTION_SUCCESS;
    }
    case 6: { /* shift_time: long, -900..900 s */
        uint16_t v;
        if (ami__cosem_rd_u16(&r, AMI_AXDR_LONG, &v) != AMI_OK || ami_rd_left(&r))
            return AMI_DAR_TYPE_UNMATCHED;
        int16_t sh = (int16_t)v;
        if (sh < -900 || sh > 900)
            return AMI_ACTION_OTHER_REASON;
        t = now + sh;
        break;
    }
    default:
        return AMI_DAR_OBJECT_UNDEFINED;
    }
    return s->clock.set(s->clock.user, t);
}

const ami__cosem_class ami__cosem_class_clock = {
    .id = AMI_COSEM_CLOCK,
    .version = 0,
    .attrs = 9,
    .methods = 6,
    .access = clock_access,
    .check = clock_check,
    .get = clock_get,
    .set = clock_set,
    .action = clock_action,
};
