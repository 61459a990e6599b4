/*
 * Single action schedule (class 22, version 0; Blue Book 4.5.7): executed_script (2), type (3),
 * execution_time (4), all settable; no methods. Executions are fired by ami_cosem_store_run
 * (src/cosem/cosem_run.c) through ami__cosem_schedule_run.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "ami/cosem_script.h"
#include "ami/datetime.h"
#include "cosem/cosem_util.h"

static const uint8_t schedule_access[4] = {AMI_ACCESS_READ, AMI_ACCESS_READ_WRITE,
                                           AMI_ACCESS_READ_WRITE, AMI_ACCESS_READ_WRITE};

static int schedule_check(const ami_cosem_store *s, const ami_cosem_obj *o)
{
    (void)s;
    const ami_cosem_schedule *sc = o->state;
    if (!sc || (sc->cap && !sc->times) || sc->count > sc->cap || sc->type < 1 || sc->type > 5)
        return AMI_E_CONFIG;
    return AMI_OK;
}

static uint8_t schedule_get(ami_cosem_store *s, ami_cosem_obj *o, uint8_t attr,
                            const ami_access_selection *sel, const ami_dlms_ctx *ctx, ami_wr *out)
{
    (void)s;
    (void)ctx;
    const ami_cosem_schedule *sc = o->state;
    if (sel->present)
        return AMI_DAR_SCOPE_OF_ACCESS_VIOLATED;
    switch (attr) {
    case 2: /* script ::= structure {script_logical_name octet-string, script_selector
               long-unsigned} */
        ami__cosem_put_struct(out, 2);
        ami__cosem_put_octets(out, sc->script_ln.v, 6);
        ami__cosem_put_u16(out, AMI_AXDR_LONG_UNSIGNED, sc->script_selector);
        return AMI_DAR_SUCCESS;
    case 3:
        ami__cosem_put_u8(out, AMI_AXDR_ENUM, sc->type);
        return AMI_DAR_SUCCESS;
    case 4: /* array of execution_time_date ::= structure {time octet-string, date
               octet-string} */
        ami__cosem_put_array(out, sc->count);
        for (size_t i = 0; i < sc->count; i++) {
            ami__cosem_put_struct(out, 2);
            ami__cosem_put_octets(out, sc->times[i].time, 4);
            ami__cosem_put_octets(out, sc->times[i].date, 5);
        }
        return AMI_DAR_SUCCESS;
    default:
        return AMI_DAR_OBJECT_UNDEFINED;
    }
}

static bool date_has_wildcard(const ami_datetime *d)
{
    return d->year == 0xFFFF || d->month >= 0xFD || d->day >= 0xFD;
}

/* execution_time must fit the type (Blue Book 4.5.7 attribute 3). */
static bool times_fit_type(uint8_t type, const ami_cosem_exec_time *t, size_t n)
{
    if (type == AMI_SCHEDULE_ONE && n > 1)
        return false;
    for (size_t i = 0; i < n; i++) {
        ami_datetime d;
        if (ami_date_decode(t[i].date, &d) != AMI_OK)
            return false;
        if ((type == AMI_SCHEDULE_SAME_TIME || type == AMI_SCHEDULE_ANY) && date_has_wildcard(&d))
            return false;
        if ((type == AMI_SCHEDULE_SAME_TIME || type == AMI_SCHEDULE_SAME_TIME_WILD) &&
            memcmp(t[i].time, t[0].time, 4) != 0)
            return false;
    }
    return true;
}

static uint8_t schedule_set(ami_cosem_store *s, ami_cosem_obj *o, uint8_t attr, ami_view data,
                            const ami_dlms_ctx *ctx)
{
    (void)s;
    (void)ctx;
    ami_cosem_schedule *sc = o->state;
    ami_rd r;
    ami_rd_init(&r, data.p, data.len);
    size_t n;
    switch (attr) {
    case 2: {
        ami_view ln;
        uint16_t sel;
        if (ami__cosem_rd_struct(&r, &n, 2) != AMI_OK || n != 2 ||
            ami__cosem_rd_octets(&r, &ln) != AMI_OK || ln.len != 6 ||
            ami__cosem_rd_u16(&r, AMI_AXDR_LONG_UNSIGNED, &sel) != AMI_OK || ami_rd_left(&r))
            return AMI_DAR_TYPE_UNMATCHED;
        memcpy(sc->script_ln.v, ln.p, 6);
        sc->script_selector = sel;
        return AMI_DAR_SUCCESS;
    }
    case 3: {
        uint8_t t;
        if (ami__cosem_rd_u8(&r, AMI_AXDR_ENUM, &t) != AMI_OK || ami_rd_left(&r))
            return AMI_DAR_TYPE_UNMATCHED;
        if (t < 1 || t > 5 || !times_fit_type(t, sc->times, sc->count))
            return AMI_DAR_OTHER_REASON;
        sc->type = t;
        return AMI_DAR_SUCCESS;
    }
    case 4: {
        /* Everything is checked (pass 0) before anything is replaced (pass 1); the count is
         * bounded by the caller's array. */
        if (ami__cosem_rd_array(&r, &n, sc->cap) != AMI_OK)
            return AMI_DAR_OTHER_REASON;
        if (sc->type == AMI_SCHEDULE_ONE && n > 1)
            return AMI_DAR_OTHER_REASON;
        size_t start = r.pos;
        ami_view first = {0};
        for (int pass = 0; pass < 2; pass++) {
            r.pos = start;
            for (size_t i = 0; i < n; i++) {
                size_t m;
                ami_view tm, dt;
                if (ami__cosem_rd_struct(&r, &m, 2) != AMI_OK || m != 2 ||
                    ami__cosem_rd_octets(&r, &tm) != AMI_OK || tm.len != 4 ||
                    ami__cosem_rd_octets(&r, &dt) != AMI_OK || dt.len != 5)
                    return AMI_DAR_TYPE_UNMATCHED;
                ami_datetime d, dd;
                if (ami_time_decode(tm.p, &d) != AMI_OK || ami_date_decode(dt.p, &dd) != AMI_OK)
                    return AMI_DAR_OTHER_REASON;
                if (i == 0)
                    first = tm;
                /* the type's rules (Blue Book 4.5.7 attribute 3) */
                if ((sc->type == AMI_SCHEDULE_SAME_TIME || sc->type == AMI_SCHEDULE_ANY) &&
                    date_has_wildcard(&dd))
                    return AMI_DAR_OTHER_REASON;
                if ((sc->type == AMI_SCHEDULE_SAME_TIME ||
                     sc->type == AMI_SCHEDULE_SAME_TIME_WILD) &&
                    memcmp(tm.p, first.p, 4) != 0)
                    return AMI_DAR_OTHER_REASON;
                if (pass == 1) {
                    memcpy(sc->times[i].time, tm.p, 4);
                    memcpy(sc->times[i].date, dt.p, 5);
                }
            }
            if (ami_rd_left(&r))
                return AMI_DAR_TYPE_UNMATCHED;
        }
        sc->count = n;
        return AMI_DAR_SUCCESS;
    }
    default:
        return AMI_DAR_READ_WRITE_DENIED;
    }
}

/* Does the field `want` (COSEM wildcard 0xFF / 0xFFFF = any) match `have`? */
static bool match8(uint8_t want, uint8_t have)
{
    return want == 0xFF || want == have;
}

static int days_in_month(unsigned y, unsigned m)
{
    static const uint8_t d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : d[m - 1];
}

/* Does execution time e match the local minute `lt` (seconds 0)? The execution second is given
 * in *sec (unspecified: 0). Month 0xFD/0xFE (DST end / begin) never match. */
static bool exec_matches(const ami_cosem_exec_time *e, const ami_datetime *lt, unsigned *sec)
{
    const uint8_t *t = e->time, *d = e->date;
    uint16_t year = (uint16_t)(d[0] << 8 | d[1]);
    uint8_t month = d[2], day = d[3], wd = d[4];
    if (year != 0xFFFF && year != lt->year)
        return false;
    if (!match8(month, lt->month))
        return false;
    int dim = days_in_month(lt->year, lt->month);
    if (day == 0xFE) {
        if (lt->day != dim)
            return false;
    } else if (day == 0xFD) {
        if (lt->day != dim - 1)
            return false;
    } else if (!match8(day, lt->day)) {
        return false;
    }
    if (!match8(wd, lt->weekday) || !match8(t[0], lt->hour) || !match8(t[1], lt->minute))
        return false;
    *sec = t[2] == 0xFF ? 0 : t[2];
    return true;
}

size_t ami__cosem_schedule_run(ami_cosem_store *s, ami_cosem_obj *o, int64_t now)
{
    ami_cosem_schedule *sc = o->state;
    if (sc->last == 0 || now < sc->last) {
        sc->last = now; /* first run, or the clock went back: nothing is due */
        return 0;
    }
    int64_t from = sc->last;
    if (now - from > 86400)
        from = now - 86400;
    sc->last = now;
    size_t fired = 0;
    ami_cosem_obj tmp;
    ami_cosem_obj *table = ami_cosem_store_bind(s, &sc->script_ln, &tmp);
    /* Every minute that may hold an execution instant in (from, now]. */
    int64_t m0 = from - (((from % 60) + 60) % 60);
    for (int64_t m = m0; m <= now; m += 60) {
        ami_datetime lt;
        /* local time, daylight saving applied: a 02:30 falls in no minute on the spring
         * change and in two on the autumn one, as on a meter */
        if (ami__cosem_local(m, ami__cosem_store_dev(s, m), &lt) != AMI_OK)
            continue;
        for (size_t i = 0; i < sc->count; i++) {
            unsigned sec;
            if (!exec_matches(&sc->times[i], &lt, &sec))
                continue;
            int64_t at = m + sec;
            if (at <= from || at > now)
                continue;
            sc->last_result = ami_cosem_script_execute(s, table, sc->script_selector);
            sc->fired++;
            fired++;
        }
    }
    return fired;
}

const ami__cosem_class ami__cosem_class_single_action_schedule = {
    .id = AMI_COSEM_SINGLE_ACTION_SCHEDULE,
    .version = 0,
    .attrs = 4,
    .methods = 0,
    .access = schedule_access,
    .check = schedule_check,
    .get = schedule_get,
    .set = schedule_set,
};
