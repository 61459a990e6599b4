/*
 * Server engine extensions: attribute 0 (all attributes of an object).
 *
 * Green Book 9.3.6 / Blue Book 4.1.4: attribute_id 0 designates the whole object. A server
 * that agreed attribute0-supported-with-get (conformance bit 10) answers it with a structure
 * of every attribute in order, an attribute the association may not read (or that fails)
 * given as null-data; without that conformance bit attribute 0 does not exist for the
 * association and is answered object-undefined, as any attribute the object lacks. Selective
 * access does not apply to attribute 0 (scope-of-access-violated).
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "ami/dlms_server.h"
#include "server_internal.h"

bool ami__dlms_find_object(const ami_dlms_assoc *a, const ami_cosem_desc *ref, ami_dlms_object *obj)
{
    const ami_dlms_store_ops *ops = a->srv->cfg.ops;
    if (!ops->next_object)
        return false;
    size_t cursor = 0;
    while (ops->next_object(a->srv->cfg.store, &cursor, &a->ctx, obj))
        if (obj->class_id == ref->class_id && memcmp(obj->ln.v, ref->instance.v, 6) == 0)
            return true;
    return false;
}

uint8_t ami__dlms_read_attr0(ami_dlms_assoc *a, const ami_attr_sel *sel, uint8_t *buf, size_t cap,
                             size_t *n)
{
    *n = 0;
    if (!(a->ctx.conformance & AMI_CONF_ATTRIBUTE0_WITH_GET))
        return AMI_DAR_OBJECT_UNDEFINED;
    ami_dlms_object obj;
    if (!ami__dlms_find_object(a, &sel->attr, &obj))
        return AMI_DAR_OBJECT_UNDEFINED;
    if (sel->access.present)
        return AMI_DAR_SCOPE_OF_ACCESS_VIOLATED;
    ami_wr w;
    ami_wr_init(&w, buf, cap);
    ami_wr_u8(&w, AMI_AXDR_STRUCTURE);
    ami_axdr_put_length(&w, obj.attr_count);
    for (uint8_t i = 1; i <= obj.attr_count && !ami_wr_error(&w); i++) {
        ami_attr_sel one = {{sel->attr.class_id, sel->attr.instance, (int8_t)i}, {0}};
        size_t len = 0;
        uint8_t dar = AMI_DAR_OTHER_REASON;
        if (w.len < cap)
            dar = ami__dlms_read_attr(a, &one, buf + w.len, cap - w.len, &len);
        if (dar == AMI_DAR_SUCCESS)
            ami_wr_reserve(&w, len);
        else
            ami_wr_u8(&w, AMI_AXDR_NULL_DATA);
    }
    if (ami_wr_error(&w))
        return AMI_DAR_OTHER_REASON;
    *n = w.len;
    return AMI_DAR_SUCCESS;
}
