/*
 * Special days table (class 11, version 0; Blue Book 4.5.4): attribute 2 entries, methods
 * 1 insert and 2 delete. See ami/cosem_special_days.h.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "ami/cosem_special_days.h"
#include "cosem/cosem_util.h"

static bool leap(unsigned y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned month_days(unsigned y, unsigned m)
{
    static const uint8_t d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : d[m - 1];
}

bool ami_cosem_date_matches(const uint8_t date[5], const ami_datetime *lt)
{
    if (!date || !lt || lt->month < 1 || lt->month > 12)
        return false;
    uint16_t year = (uint16_t)(date[0] << 8 | date[1]);
    uint8_t month = date[2], day = date[3], wd = date[4];
    if (year != AMI_DT_YEAR_UNSPEC && year != lt->year)
        return false;
    if (month != AMI_DT_UNSPEC && month != lt->month)
        return false; /* 0xFD / 0xFE (daylight saving end / begin) never equal a month */
    if (wd != AMI_DT_UNSPEC && wd != lt->weekday)
        return false;
    unsigned dim = month_days(lt->year, lt->month);
    if (day == AMI_DT_DAY_LAST || day == AMI_DT_DAY_2ND_LAST) {
        unsigned back = day == AMI_DT_DAY_LAST ? 0 : 1;
        if (wd == AMI_DT_UNSPEC)
            return lt->day == dim - back;
        /* the last (second last) such weekday: within the month's last (second last) 7 days */
        return lt->day + 7 * back <= dim && lt->day + 7 * back + 7 > dim;
    }
    return day == AMI_DT_UNSPEC || day == lt->day;
}

int ami_cosem_special_day_at(const ami_cosem_special_days *t, const ami_datetime *local)
{
    if (!t || !local)
        return -1;
    for (size_t i = 0; i < t->count && t->entries; i++)
        if (ami_cosem_date_matches(t->entries[i].date, local))
            return t->entries[i].day_id;
    return -1;
}

static int sd_check(const ami_cosem_store *s, const ami_cosem_obj *o)
{
    (void)s;
    const ami_cosem_special_days *t = o->state;
    if (!t || (t->cap && !t->entries) || t->count > t->cap)
        return AMI_E_CONFIG;
    return AMI_OK;
}

static uint8_t sd_get(ami_cosem_store *s, ami_cosem_obj *o, uint8_t attr,
                      const ami_access_selection *sel, const ami_dlms_ctx *ctx, ami_wr *out)
{
    (void)s;
    (void)ctx;
    const ami_cosem_special_days *t = o->state;
    if (sel->present)
        return AMI_DAR_SCOPE_OF_ACCESS_VIOLATED;
    if (attr != 2)
        return AMI_DAR_OBJECT_UNDEFINED;
    ami__cosem_put_array(out, t->count);
    for (size_t i = 0; i < t->count; i++) {
        ami__cosem_put_struct(out, 3);
        ami__cosem_put_u16(out, AMI_AXDR_LONG_UNSIGNED, t->entries[i].index);
        ami__cosem_put_octets(out, t->entries[i].date, 5);
        ami__cosem_put_u8(out, AMI_AXDR_UNSIGNED, t->entries[i].day_id);
    }
    return AMI_DAR_SUCCESS;
}

static uint8_t sd_insert(ami_cosem_special_days *t, ami_view params)
{
    ami_rd r;
    ami_rd_init(&r, params.p, params.len);
    size_t n;
    uint16_t index;
    ami_view date;
    uint8_t day_id;
    if (ami__cosem_rd_struct(&r, &n, 3) != AMI_OK || n != 3 ||
        ami__cosem_rd_u16(&r, AMI_AXDR_LONG_UNSIGNED, &index) != AMI_OK ||
        ami__cosem_rd_octets(&r, &date) != AMI_OK ||
        ami__cosem_rd_u8(&r, AMI_AXDR_UNSIGNED, &day_id) != AMI_OK || ami_rd_left(&r))
        return AMI_DAR_TYPE_UNMATCHED;
    ami_datetime d;
    if (date.len != 5 || ami_date_decode(date.p, &d) != AMI_OK)
        return AMI_ACTION_OTHER_REASON;
    ami_cosem_special_day *e = NULL;
    for (size_t i = 0; i < t->count && !e; i++)
        if (t->entries[i].index == index)
            e = &t->entries[i];
    if (!e) {
        if (t->count >= t->cap)
            return AMI_ACTION_OTHER_REASON; /* the table is full */
        e = &t->entries[t->count++];
    }
    e->index = index;
    memcpy(e->date, date.p, 5);
    e->day_id = day_id;
    return AMI_ACTION_SUCCESS;
}

static uint8_t sd_delete(ami_cosem_special_days *t, ami_view params)
{
    ami_rd r;
    ami_rd_init(&r, params.p, params.len);
    uint16_t index;
    if (ami__cosem_rd_u16(&r, AMI_AXDR_LONG_UNSIGNED, &index) != AMI_OK || ami_rd_left(&r))
        return AMI_DAR_TYPE_UNMATCHED;
    for (size_t i = 0; i < t->count; i++) {
        if (t->entries[i].index != index)
            continue;
        memmove(&t->entries[i], &t->entries[i + 1], (t->count - i - 1) * sizeof t->entries[0]);
        t->count--;
        break;
    }
    return AMI_ACTION_SUCCESS;
}

static uint8_t sd_action(ami_cosem_store *s, ami_cosem_obj *o, uint8_t id, ami_view params,
                         const ami_dlms_ctx *ctx, ami_wr *out)
{
    (void)s;
    (void)ctx;
    (void)out;
    ami_cosem_special_days *t = o->state;
    if (id == 1)
        return sd_insert(t, params);
    if (id == 2)
        return sd_delete(t, params);
    return AMI_DAR_OBJECT_UNDEFINED;
}

const ami__cosem_class ami__cosem_class_special_days_table = {
    .id = AMI_COSEM_SPECIAL_DAYS_TABLE,
    .version = 0,
    .attrs = 2,
    .methods = 2,
    .check = sd_check,
    .get = sd_get,
    .action = sd_action,
};
