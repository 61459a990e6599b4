/*
 * Extended register (class 4, version 0; Blue Book 4.3.3): see ami/cosem_ext_register.h.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "ami/cosem_ext_register.h"
#include "cosem/cosem_internal.h"

static const uint8_t xr_access[5] = {AMI_ACCESS_READ, AMI_ACCESS_READ, AMI_ACCESS_READ,
                                     AMI_ACCESS_READ, AMI_ACCESS_READ};

static int xr_check(const ami_cosem_store *s, const ami_cosem_obj *o)
{
    (void)s;
    return o->state ? AMI_OK : AMI_E_CONFIG;
}

static void snapshot(const ami_cosem_obj *o, uint8_t *status, int64_t *t)
{
    const ami_cosem_ext_register *x = o->state;
    *status = x->status;
    *t = x->capture_time;
    if (x->snapshot)
        x->snapshot(o->user, o, status, t);
}

static uint8_t xr_get(ami_cosem_store *s, ami_cosem_obj *o, uint8_t attr,
                      const ami_access_selection *sel, const ami_dlms_ctx *ctx, ami_wr *out)
{
    (void)s;
    (void)ctx;
    if (sel->present)
        return AMI_DAR_SCOPE_OF_ACCESS_VIOLATED;
    uint8_t status;
    int64_t t;
    switch (attr) {
    case 2:
        return ami__cosem_get_value(o, out);
    case 3:
        ami__cosem_put_struct(out, 2);
        ami__cosem_put_u8(out, AMI_AXDR_INTEGER, (uint8_t)o->scaler);
        ami__cosem_put_u8(out, AMI_AXDR_ENUM, o->unit);
        return AMI_DAR_SUCCESS;
    case 4:
        snapshot(o, &status, &t);
        ami__cosem_put_u8(out, AMI_AXDR_UNSIGNED, status);
        return AMI_DAR_SUCCESS;
    case 5:
        snapshot(o, &status, &t);
        if (t == AMI_COSEM_TIME_UNSPEC)
            ami__cosem_put_datetime_unspec(out);
        else
            ami__cosem_put_datetime(out, t, o->time_zone, 0);
        return AMI_DAR_SUCCESS;
    default:
        return AMI_DAR_OBJECT_UNDEFINED;
    }
}

/* True for the integer types a reset can zero in place. */
static bool zeroable(uint8_t type, size_t *width)
{
    switch (type) {
    case AMI_AXDR_INTEGER:
    case AMI_AXDR_UNSIGNED:
        *width = 1;
        return true;
    case AMI_AXDR_LONG:
    case AMI_AXDR_LONG_UNSIGNED:
        *width = 2;
        return true;
    case AMI_AXDR_DOUBLE_LONG:
    case AMI_AXDR_DOUBLE_LONG_UNSIGNED:
        *width = 4;
        return true;
    case AMI_AXDR_LONG64:
    case AMI_AXDR_LONG64_UNSIGNED:
        *width = 8;
        return true;
    default:
        return false;
    }
}

/* reset (Blue Book 4.3.3): value to its default (0), status and capture_time updated. */
static uint8_t xr_action(ami_cosem_store *s, ami_cosem_obj *o, uint8_t id, ami_view params,
                         const ami_dlms_ctx *ctx, ami_wr *out)
{
    (void)ctx;
    if (id != 1)
        return AMI_ACTION_OTHER_REASON;
    if (params.len && (params.len != 2 || params.p[0] != AMI_AXDR_INTEGER))
        return AMI_DAR_TYPE_UNMATCHED;
    if (o->method)
        return ami__cosem_obj_method(o, id, params, out);
    size_t w;
    if (o->read || !o->value || !o->value_len || !zeroable(o->value[0], &w) ||
        o->value_len != 1 + w || !s->clock.now)
        return AMI_ACTION_OTHER_REASON;
    memset(o->value + 1, 0, w);
    ami_cosem_ext_register *x = o->state;
    x->status = 0;
    x->capture_time = s->clock.now(s->clock.user);
    return AMI_ACTION_SUCCESS;
}

static uint8_t xr_set(ami_cosem_store *s, ami_cosem_obj *o, uint8_t attr, ami_view data,
                      const ami_dlms_ctx *ctx)
{
    (void)s;
    (void)ctx;
    return attr == 2 ? ami__cosem_set_value(o, data) : AMI_DAR_READ_WRITE_DENIED;
}

const ami__cosem_class ami__cosem_class_extended_register = {
    .id = AMI_COSEM_EXTENDED_REGISTER,
    .version = 0,
    .attrs = 5,
    .methods = 1,
    .access = xr_access,
    .check = xr_check,
    .get = xr_get,
    .set = xr_set,
    .action = xr_action,
};
