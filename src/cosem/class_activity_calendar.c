/*
 * Activity calendar (class 20, version 0; Blue Book 4.5.5): see ami/cosem_calendar.h.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "ami/cosem_calendar.h"
#include "ami/datetime.h"
#include "cosem/cosem_util.h"

#define CAL_MAX_ELEMS 255
#define CAL_MAX_NAME  255

/* 2..5 active (read), 6..9 passive (rw), 10 activate_passive_calendar_time (rw). */
static const uint8_t calendar_access[10] = {
    AMI_ACCESS_READ,       AMI_ACCESS_READ,       AMI_ACCESS_READ,       AMI_ACCESS_READ,
    AMI_ACCESS_READ,       AMI_ACCESS_READ_WRITE, AMI_ACCESS_READ_WRITE, AMI_ACCESS_READ_WRITE,
    AMI_ACCESS_READ_WRITE, AMI_ACCESS_READ_WRITE};

/* ---------------------------------------------------------------- parsing */

static int rd_name(ami_rd *r, ami_view *v)
{
    int rc = ami__cosem_rd_octets(r, v);
    return rc == AMI_OK && v->len > CAL_MAX_NAME ? AMI_E_TOO_LARGE : rc;
}

/* One season element: name, start (12-byte date-time), week name. */
static int rd_season(ami_rd *r, ami_view *name, ami_datetime *start, ami_view *week)
{
    size_t n;
    ami_view st;
    int rc = ami__cosem_rd_struct(r, &n, 3);
    if (rc == AMI_OK && n != 3)
        rc = AMI_E_TYPE;
    if (rc == AMI_OK)
        rc = rd_name(r, name);
    if (rc == AMI_OK)
        rc = ami__cosem_rd_octets(r, &st);
    if (rc == AMI_OK && st.len != 12)
        rc = AMI_E_TYPE;
    if (rc == AMI_OK && ami_datetime_decode(st.p, start) != AMI_OK)
        rc = AMI_E_RANGE;
    if (rc == AMI_OK)
        rc = rd_name(r, week);
    return rc;
}

/* One week element: name and the day_ids of Monday..Sunday. */
static int rd_week(ami_rd *r, ami_view *name, uint8_t ids[7])
{
    size_t n;
    int rc = ami__cosem_rd_struct(r, &n, 8);
    if (rc == AMI_OK && n != 8)
        rc = AMI_E_TYPE;
    if (rc == AMI_OK)
        rc = rd_name(r, name);
    for (int i = 0; i < 7 && rc == AMI_OK; i++)
        rc = ami__cosem_rd_u8(r, AMI_AXDR_UNSIGNED, &ids[i]);
    return rc;
}

/* One day_schedule entry: start_time (4-byte time), script logical name, selector. */
static int rd_action(ami_rd *r, ami_datetime *start, ami_cosem_calendar_action *a)
{
    size_t n;
    ami_view st, ln;
    int rc = ami__cosem_rd_struct(r, &n, 3);
    if (rc == AMI_OK && n != 3)
        rc = AMI_E_TYPE;
    if (rc == AMI_OK)
        rc = ami__cosem_rd_octets(r, &st);
    if (rc == AMI_OK && st.len != 4)
        rc = AMI_E_TYPE;
    if (rc == AMI_OK && ami_time_decode(st.p, start) != AMI_OK)
        rc = AMI_E_RANGE;
    if (rc == AMI_OK)
        rc = ami__cosem_rd_octets(r, &ln);
    if (rc == AMI_OK && ln.len != 6)
        rc = AMI_E_TYPE;
    if (rc == AMI_OK)
        rc = ami__cosem_rd_u16(r, AMI_AXDR_LONG_UNSIGNED, &a->script_selector);
    if (rc == AMI_OK)
        memcpy(a->script_ln.v, ln.p, 6);
    return rc;
}

/* A day profile header: day_id and the count of its schedule entries. */
static int rd_day(ami_rd *r, uint8_t *id, size_t *entries)
{
    size_t n;
    int rc = ami__cosem_rd_struct(r, &n, 2);
    if (rc == AMI_OK && n != 2)
        rc = AMI_E_TYPE;
    if (rc == AMI_OK)
        rc = ami__cosem_rd_u8(r, AMI_AXDR_UNSIGNED, id);
    if (rc == AMI_OK)
        rc = ami__cosem_rd_array(r, entries, CAL_MAX_ELEMS);
    return rc;
}

/* Seconds since local midnight of a time whose unspecified fields count as 0. */
static int32_t tod(const ami_datetime *t)
{
    unsigned h = t->hour == 0xFF ? 0 : t->hour, m = t->minute == 0xFF ? 0 : t->minute,
             s = t->second == 0xFF ? 0 : t->second;
    return (int32_t)(h * 3600 + m * 60 + s);
}

int ami_cosem_calendar_check_part(unsigned part, const uint8_t *p, size_t len)
{
    ami_rd r;
    ami_rd_init(&r, p, len);
    size_t n;
    int rc = AMI_OK;
    if (part == AMI_CALENDAR_NAME) {
        ami_view v;
        rc = rd_name(&r, &v);
    } else if (part <= AMI_CALENDAR_DAYS) {
        rc = ami__cosem_rd_array(&r, &n, CAL_MAX_ELEMS);
        for (size_t i = 0; i < n && rc == AMI_OK; i++) {
            ami_view a, b;
            ami_datetime dt;
            uint8_t ids[7], id;
            size_t m;
            ami_cosem_calendar_action act;
            if (part == AMI_CALENDAR_SEASONS) {
                rc = rd_season(&r, &a, &dt, &b);
            } else if (part == AMI_CALENDAR_WEEKS) {
                rc = rd_week(&r, &a, ids);
            } else {
                rc = rd_day(&r, &id, &m);
                for (size_t j = 0; j < m && rc == AMI_OK; j++)
                    rc = rd_action(&r, &dt, &act);
            }
        }
    } else {
        return AMI_E_INVAL;
    }
    if (rc == AMI_OK && ami_rd_left(&r))
        rc = AMI_E_TYPE;
    if (rc == AMI_E_TRUNCATED || rc == AMI_E_MALFORMED)
        rc = AMI_E_TYPE;
    return rc;
}

/* A key ordering season starts within a year: (month, day, hour, minute, second); an
 * unspecified year counts as the year of `lt`. A start in another year orders by year. */
static int64_t season_key(const ami_datetime *st, const ami_datetime *lt)
{
    int64_t y = st->year == 0xFFFF ? lt->year : st->year;
    int64_t mo = st->month > 12 ? 1 : st->month, d = st->day > 31 ? 1 : st->day;
    return ((y * 13 + mo) * 32 + d) * 86400 + tod(st);
}

int ami_cosem_calendar_at(const ami_cosem_calendar *c, int64_t t, int16_t tz,
                          ami_cosem_calendar_action *out, int64_t *until)
{
    if (!c || !out)
        return AMI_E_INVAL;
    ami_datetime lt;
    if (ami__cosem_local(t, tz, &lt) != AMI_OK)
        return AMI_E_INVAL;
    int64_t now_key = season_key(&lt, &lt);
    const ami_cosem_buf *b = c->active;
    if (!b[AMI_CALENDAR_SEASONS].len || !b[AMI_CALENDAR_WEEKS].len || !b[AMI_CALENDAR_DAYS].len)
        return AMI_E_NOTFOUND; /* no active calendar yet */

    /* season: the latest start not after now, else the latest of all */
    ami_rd r;
    size_t n;
    ami_view week = {0}, week_any = {0};
    int64_t best = INT64_MIN, best_any = INT64_MIN;
    ami_rd_init(&r, b[AMI_CALENDAR_SEASONS].p, b[AMI_CALENDAR_SEASONS].len);
    if (ami__cosem_rd_array(&r, &n, CAL_MAX_ELEMS) != AMI_OK)
        return AMI_E_MALFORMED;
    for (size_t i = 0; i < n; i++) {
        ami_view name, wk;
        ami_datetime st;
        if (rd_season(&r, &name, &st, &wk) != AMI_OK)
            return AMI_E_MALFORMED;
        int64_t k = season_key(&st, &lt);
        if (k <= now_key && k > best) {
            best = k;
            week = wk;
        }
        if (k > best_any) {
            best_any = k;
            week_any = wk;
        }
    }
    if (best == INT64_MIN)
        week = week_any;
    if (best_any == INT64_MIN)
        return AMI_E_NOTFOUND;

    /* week profile by name -> the day_id of today's weekday (1 = Monday) */
    uint8_t day_id = 0;
    bool found = false;
    ami_rd_init(&r, b[AMI_CALENDAR_WEEKS].p, b[AMI_CALENDAR_WEEKS].len);
    if (ami__cosem_rd_array(&r, &n, CAL_MAX_ELEMS) != AMI_OK)
        return AMI_E_MALFORMED;
    for (size_t i = 0; i < n && !found; i++) {
        ami_view name;
        uint8_t ids[7];
        if (rd_week(&r, &name, ids) != AMI_OK)
            return AMI_E_MALFORMED;
        if (name.len == week.len && (!name.len || memcmp(name.p, week.p, name.len) == 0)) {
            found = true;
            day_id = ids[(lt.weekday >= 1 && lt.weekday <= 7 ? lt.weekday : 1) - 1];
        }
    }
    if (!found)
        return AMI_E_NOTFOUND;
    /* a special day replaces the week profile's day */
    int special = ami_cosem_special_day_at(c->special_days, &lt);
    if (special >= 0)
        day_id = (uint8_t)special;

    /* day profile by day_id -> the entry in force now, and the next start today */
    int32_t now_s = tod(&lt), cur = -1, last = -1, next = 86400;
    found = false;
    ami_rd_init(&r, b[AMI_CALENDAR_DAYS].p, b[AMI_CALENDAR_DAYS].len);
    if (ami__cosem_rd_array(&r, &n, CAL_MAX_ELEMS) != AMI_OK)
        return AMI_E_MALFORMED;
    for (size_t i = 0; i < n; i++) {
        uint8_t id;
        size_t m;
        if (rd_day(&r, &id, &m) != AMI_OK)
            return AMI_E_MALFORMED;
        for (size_t j = 0; j < m; j++) {
            ami_datetime st;
            ami_cosem_calendar_action a;
            if (rd_action(&r, &st, &a) != AMI_OK)
                return AMI_E_MALFORMED;
            if (id != day_id)
                continue;
            int32_t s = tod(&st);
            if (s <= now_s && s > cur) {
                cur = s;
                *out = a;
                found = true;
            }
            if (s > now_s && s < next)
                next = s;
            if (!found && s > last) {
                last = s;
                *out = a; /* the day's last entry, in force since yesterday */
            }
        }
    }
    if (!found && last < 0)
        return AMI_E_NOTFOUND;
    if (until)
        *until = t - now_s + next;
    return AMI_OK;
}

int ami_cosem_calendar_activate(ami_cosem_calendar *c)
{
    if (!c)
        return AMI_E_INVAL;
    if (c->on_write) {
        int rc = c->on_write(c->user, c);
        if (rc != AMI_OK)
            return rc;
    }
    for (int i = 0; i < 4; i++) {
        if (c->passive[i].len > c->active[i].cap)
            return AMI_E_INVAL; /* not reached: the store's check compares the capacities */
        if (c->passive[i].len)
            memcpy(c->active[i].p, c->passive[i].p, c->passive[i].len);
        c->active[i].len = c->passive[i].len;
    }
    c->activations++;
    if (c->on_activate)
        c->on_activate(c->user);
    return AMI_OK;
}

/* ---------------------------------------------------------------- class */

static int calendar_check(const ami_cosem_store *s, const ami_cosem_obj *o)
{
    (void)s;
    const ami_cosem_calendar *c = o->state;
    if (!c)
        return AMI_E_CONFIG;
    for (unsigned i = 0; i < 4; i++) {
        const ami_cosem_buf *a = &c->active[i], *p = &c->passive[i];
        if (!a->p || !p->p || a->cap < p->cap || a->len > a->cap || p->len > p->cap)
            return AMI_E_CONFIG;
        if ((a->len && ami_cosem_calendar_check_part(i, a->p, a->len) != AMI_OK) ||
            (p->len && ami_cosem_calendar_check_part(i, p->p, p->len) != AMI_OK))
            return AMI_E_CONFIG;
    }
    return AMI_OK;
}

static void put_buf(ami_wr *out, const ami_cosem_buf *b, unsigned part)
{
    if (b->len)
        ami_wr_bytes(out, b->p, b->len);
    else if (part == AMI_CALENDAR_NAME)
        ami__cosem_put_octets(out, NULL, 0);
    else
        ami__cosem_put_array(out, 0);
}

static uint8_t calendar_get(ami_cosem_store *s, ami_cosem_obj *o, uint8_t attr,
                            const ami_access_selection *sel, const ami_dlms_ctx *ctx, ami_wr *out)
{
    (void)s;
    (void)ctx;
    const ami_cosem_calendar *c = o->state;
    if (sel->present)
        return AMI_DAR_SCOPE_OF_ACCESS_VIOLATED;
    if (attr >= 2 && attr <= 5)
        put_buf(out, &c->active[attr - 2], attr - 2u);
    else if (attr >= 6 && attr <= 9)
        put_buf(out, &c->passive[attr - 6], attr - 6u);
    else if (attr == 10)
        ami__cosem_put_octets(out, c->activate_time, 12);
    else
        return AMI_DAR_OBJECT_UNDEFINED;
    return AMI_DAR_SUCCESS;
}

static uint8_t calendar_set(ami_cosem_store *s, ami_cosem_obj *o, uint8_t attr, ami_view data,
                            const ami_dlms_ctx *ctx)
{
    (void)s;
    (void)ctx;
    ami_cosem_calendar *c = o->state;
    if (attr == 10) {
        ami_rd r;
        ami_view v;
        ami_datetime dt;
        ami_rd_init(&r, data.p, data.len);
        if (ami__cosem_rd_octets(&r, &v) != AMI_OK || v.len != 12 || ami_rd_left(&r))
            return AMI_DAR_TYPE_UNMATCHED;
        if (ami_datetime_decode(v.p, &dt) != AMI_OK)
            return AMI_DAR_OTHER_REASON;
        memcpy(c->activate_time, v.p, 12);
        return AMI_DAR_SUCCESS;
    }
    if (attr < 6 || attr > 9)
        return AMI_DAR_READ_WRITE_DENIED;
    unsigned part = attr - 6u;
    int rc = ami_cosem_calendar_check_part(part, data.p, data.len);
    if (rc == AMI_E_TYPE)
        return AMI_DAR_TYPE_UNMATCHED;
    if (rc != AMI_OK || data.len > c->passive[part].cap)
        return AMI_DAR_OTHER_REASON;
    if (c->on_write && c->on_write(c->user, c) != AMI_OK)
        return AMI_DAR_TEMPORARY_FAILURE;
    ami_cosem_buf *b = &c->passive[part];
    memcpy(b->p, data.p, data.len);
    b->len = data.len;
    return AMI_DAR_SUCCESS;
}

static uint8_t calendar_action(ami_cosem_store *s, ami_cosem_obj *o, uint8_t id, ami_view params,
                               const ami_dlms_ctx *ctx, ami_wr *out)
{
    (void)s;
    (void)ctx;
    (void)out;
    if (id != 1)
        return AMI_DAR_OBJECT_UNDEFINED;
    if (params.len && !ami__cosem_is_integer0(params))
        return AMI_DAR_TYPE_UNMATCHED;
    return ami_cosem_calendar_activate(o->state) == AMI_OK ? AMI_ACTION_SUCCESS
                                                           : AMI_ACTION_OTHER_REASON;
}

size_t ami__cosem_calendar_run(ami_cosem_store *s, ami_cosem_obj *o, int64_t now)
{
    ami_cosem_calendar *c = o->state;
    int64_t last = c->last;
    c->last = now;
    if (last == 0 || now <= last)
        return 0;
    ami_datetime dt;
    int64_t at;
    if (ami_datetime_decode(c->activate_time, &dt) != AMI_OK)
        return 0;
    if (dt.deviation == AMI_DT_DEVIATION_UNSPEC)
        dt.deviation = ami__cosem_store_dev(s, now);
    if (ami_datetime_to_unix(&dt, 0, &at) != AMI_OK || at <= last || at > now)
        return 0;
    return ami_cosem_calendar_activate(c) == AMI_OK ? 1 : 0;
}

const ami__cosem_class ami__cosem_class_activity_calendar = {
    .id = AMI_COSEM_ACTIVITY_CALENDAR,
    .version = 0,
    .attrs = 10,
    .methods = 1,
    .access = calendar_access,
    .check = calendar_check,
    .get = calendar_get,
    .set = calendar_set,
    .action = calendar_action,
};
