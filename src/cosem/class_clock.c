/*
 * Clock (class 8, version 0; Blue Book 4.5.1): logical_name, time, time_zone, status,
 * daylight_savings_begin/end/deviation/enabled, clock_base. Time comes from the store's clock
 * source; time and time_zone are settable. Methods (adjust_to_quarter, ...) are run by the
 * object's method callback.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "ami/datetime.h"
#include "cosem/cosem_internal.h"

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

static uint8_t clock_get(ami_cosem_store *s, ami_cosem_obj *o, uint8_t attr,
                         const ami_access_selection *sel, const ami_dlms_ctx *ctx, ami_wr *out)
{
    (void)ctx;
    if (sel->present)
        return AMI_DAR_SCOPE_OF_ACCESS_VIOLATED;
    switch (attr) {
    case 2: {
        uint8_t b[12];
        ami_datetime dt;
        int64_t now = s->clock.now(s->clock.user);
        if (ami_datetime_from_unix(now, o->time_zone, o->clock_status, 0, &dt) != AMI_OK)
            return AMI_DAR_HARDWARE_FAULT;
        ami_datetime_encode(&dt, b);
        ami__cosem_put_octets(out, b, sizeof b);
        return AMI_DAR_SUCCESS;
    }
    case 3:
        ami__cosem_put_u16(out, AMI_AXDR_LONG, (uint16_t)o->time_zone);
        return AMI_DAR_SUCCESS;
    case 4:
        ami__cosem_put_u8(out, AMI_AXDR_UNSIGNED, o->clock_status);
        return AMI_DAR_SUCCESS;
    case 5:
    case 6: /* daylight_savings_begin / end: not used, every field not specified */
        ami__cosem_put_datetime_unspec(out);
        return AMI_DAR_SUCCESS;
    case 7: /* daylight_savings_deviation */
        ami__cosem_put_u8(out, AMI_AXDR_INTEGER, 0);
        return AMI_DAR_SUCCESS;
    case 8: /* daylight_savings_enabled */
        ami__cosem_put_u8(out, AMI_AXDR_BOOLEAN, 0);
        return AMI_DAR_SUCCESS;
    case 9: /* clock_base: (1) internal crystal */
        ami__cosem_put_u8(out, AMI_AXDR_ENUM, 1);
        return AMI_DAR_SUCCESS;
    default:
        return AMI_DAR_OBJECT_UNDEFINED;
    }
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

const ami__cosem_class ami__cosem_class_clock = {
    .id = AMI_COSEM_CLOCK,
    .version = 0,
    .attrs = 9,
    .methods = 6,
    .access = clock_access,
    .check = clock_check,
    .get = clock_get,
    .set = clock_set,
};
