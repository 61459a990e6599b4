/*
 * Data (class 1, version 0; Blue Book 4.3.1): logical_name, value. The value comes from the
 * object's read callback or its stored buffer; SET replaces a stored value of the same type.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "cosem/cosem_internal.h"

static const uint8_t data_access[2] = {AMI_ACCESS_READ, AMI_ACCESS_READ};

static uint8_t data_get(ami_cosem_store *s, ami_cosem_obj *o, uint8_t attr,
                        const ami_access_selection *sel, const ami_dlms_ctx *ctx, ami_wr *out)
{
    (void)s;
    (void)attr;
    (void)ctx;
    if (sel->present)
        return AMI_DAR_SCOPE_OF_ACCESS_VIOLATED;
    return ami__cosem_get_value(o, out);
}

static uint8_t data_set(ami_cosem_store *s, ami_cosem_obj *o, uint8_t attr, ami_view data,
                        const ami_dlms_ctx *ctx)
{
    (void)s;
    (void)attr;
    (void)ctx;
    return ami__cosem_set_value(o, data);
}

const ami__cosem_class ami__cosem_class_data = {
    .id = AMI_COSEM_DATA,
    .version = 0,
    .attrs = 2,
    .methods = 0,
    .access = data_access,
    .get = data_get,
    .set = data_set,
};
