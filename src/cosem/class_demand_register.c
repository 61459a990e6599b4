/*
 * Demand register (class 5, version 0; Blue Book 4.3.4): see ami/cosem_demand.h.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "ami/cosem_demand.h"
#include "cosem/cosem_internal.h"

static const uint8_t dr_access[9] = {AMI_ACCESS_READ, AMI_ACCESS_READ, AMI_ACCESS_READ,
                                     AMI_ACCESS_READ, AMI_ACCESS_READ, AMI_ACCESS_READ,
                                     AMI_ACCESS_READ, AMI_ACCESS_READ, AMI_ACCESS_READ};

static int dr_check(const ami_cosem_store *s, const ami_cosem_obj *o)
{
    (void)s;
    const ami_cosem_demand_register *d = o->state;
    return d && d->read ? AMI_OK : AMI_E_CONFIG;
}

static uint8_t dr_get(ami_cosem_store *s, ami_cosem_obj *o, uint8_t attr,
                      const ami_access_selection *sel, const ami_dlms_ctx *ctx, ami_wr *out)
{
    (void)s;
    (void)ctx;
    if (sel->present)
        return AMI_DAR_SCOPE_OF_ACCESS_VIOLATED;
    const ami_cosem_demand_register *d = o->state;
    ami_cosem_demand_values v = {0};
    if (attr != 4)
        d->read(o->user, o, &v);
    switch (attr) {
    case 2:
        ami__cosem_put_u32(out, AMI_AXDR_DOUBLE_LONG, (uint32_t)v.current_average);
        return AMI_DAR_SUCCESS;
    case 3:
        ami__cosem_put_u32(out, AMI_AXDR_DOUBLE_LONG, (uint32_t)v.last_average);
        return AMI_DAR_SUCCESS;
    case 4:
        ami__cosem_put_struct(out, 2);
        ami__cosem_put_u8(out, AMI_AXDR_INTEGER, (uint8_t)o->scaler);
        ami__cosem_put_u8(out, AMI_AXDR_ENUM, o->unit);
        return AMI_DAR_SUCCESS;
    case 5:
        ami__cosem_put_u8(out, AMI_AXDR_UNSIGNED, v.status);
        return AMI_DAR_SUCCESS;
    case 6:
        ami__cosem_put_datetime(out, v.capture_time, o->time_zone, 0);
        return AMI_DAR_SUCCESS;
    case 7:
        ami__cosem_put_datetime(out, v.start_time_current, o->time_zone, 0);
        return AMI_DAR_SUCCESS;
    case 8:
        ami__cosem_put_u32(out, AMI_AXDR_DOUBLE_LONG_UNSIGNED, v.period);
        return AMI_DAR_SUCCESS;
    case 9:
        ami__cosem_put_u16(out, AMI_AXDR_LONG_UNSIGNED, v.number_of_periods);
        return AMI_DAR_SUCCESS;
    default:
        return AMI_DAR_OBJECT_UNDEFINED;
    }
}

/* reset (1), next_period (2): data ::= integer (0); the meter model runs them. */
static uint8_t dr_action(ami_cosem_store *s, ami_cosem_obj *o, uint8_t id, ami_view params,
                         const ami_dlms_ctx *ctx, ami_wr *out)
{
    (void)s;
    (void)ctx;
    if (params.len && (params.len != 2 || params.p[0] != AMI_AXDR_INTEGER))
        return AMI_DAR_TYPE_UNMATCHED;
    return ami__cosem_obj_method(o, id, params, out);
}

const ami__cosem_class ami__cosem_class_demand_register = {
    .id = AMI_COSEM_DEMAND_REGISTER,
    .version = 0,
    .attrs = 9,
    .methods = 2,
    .access = dr_access,
    .check = dr_check,
    .get = dr_get,
    .action = dr_action,
};
