/*
 * Register (class 3, version 0; Blue Book 4.3.2): logical_name, value, scaler_unit; method 1
 * reset (run by the object's method callback: the meter model owns the value).
 * SPDX-License-Identifier: Apache-2.0
 */
#include "cosem/cosem_internal.h"

static const uint8_t register_access[3] = {AMI_ACCESS_READ, AMI_ACCESS_READ, AMI_ACCESS_READ};

/* scaler_unit ::= structure {scaler integer, unit enum} */
static void put_scaler_unit(ami_wr *out, int8_t scaler, uint8_t unit)
{
    ami__cosem_put_struct(out, 2);
    ami__cosem_put_u8(out, AMI_AXDR_INTEGER, (uint8_t)scaler);
    ami__cosem_put_u8(out, AMI_AXDR_ENUM, unit);
}

static uint8_t register_get(ami_cosem_store *s, ami_cosem_obj *o, uint8_t attr,
                            const ami_access_selection *sel, const ami_dlms_ctx *ctx, ami_wr *out)
{
    (void)s;
    (void)ctx;
    if (sel->present)
        return AMI_DAR_SCOPE_OF_ACCESS_VIOLATED;
    if (attr == 2)
        return ami__cosem_get_value(o, out);
    put_scaler_unit(out, o->scaler, o->unit);
    return AMI_DAR_SUCCESS;
}

static uint8_t register_set(ami_cosem_store *s, ami_cosem_obj *o, uint8_t attr, ami_view data,
                            const ami_dlms_ctx *ctx)
{
    (void)s;
    (void)ctx;
    return attr == 2 ? ami__cosem_set_value(o, data) : AMI_DAR_READ_WRITE_DENIED;
}

const ami__cosem_class ami__cosem_class_register = {
    .id = AMI_COSEM_REGISTER,
    .version = 0,
    .attrs = 3,
    .methods = 1,
    .access = register_access,
    .get = register_get,
    .set = register_set,
};
