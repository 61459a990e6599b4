/*
 * SAP assignment (class 17, version 0; Blue Book 4.4.5): attribute 2 SAP_assignment_list,
 * method 1 connect_logical_device. See ami/cosem_push.h.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "ami/cosem_push.h"
#include "cosem/cosem_util.h"

static int sap_check(const ami_cosem_store *s, const ami_cosem_obj *o)
{
    (void)s;
    const ami_cosem_sap *t = o->state;
    if (!t || (t->cap && !t->entries) || t->count > t->cap)
        return AMI_E_CONFIG;
    for (size_t i = 0; i < t->count; i++)
        if (t->entries[i].name_len > AMI_LDN_MAX)
            return AMI_E_CONFIG;
    return AMI_OK;
}

static uint8_t sap_get(ami_cosem_store *s, ami_cosem_obj *o, uint8_t attr,
                       const ami_access_selection *sel, const ami_dlms_ctx *ctx, ami_wr *out)
{
    (void)s;
    (void)ctx;
    const ami_cosem_sap *t = o->state;
    if (sel->present)
        return AMI_DAR_SCOPE_OF_ACCESS_VIOLATED;
    if (attr != 2)
        return AMI_DAR_OBJECT_UNDEFINED;
    /* asslist_type ::= array {SAP long-unsigned, logical_device_name octet-string} */
    ami__cosem_put_array(out, t->count);
    for (size_t i = 0; i < t->count; i++) {
        ami__cosem_put_struct(out, 2);
        ami__cosem_put_u16(out, AMI_AXDR_LONG_UNSIGNED, t->entries[i].sap);
        ami__cosem_put_octets(out, t->entries[i].name, t->entries[i].name_len);
    }
    return AMI_DAR_SUCCESS;
}

static uint8_t sap_action(ami_cosem_store *s, ami_cosem_obj *o, uint8_t id, ami_view params,
                          const ami_dlms_ctx *ctx, ami_wr *out)
{
    (void)s;
    (void)ctx;
    (void)out;
    ami_cosem_sap *t = o->state;
    if (id != 1)
        return AMI_DAR_OBJECT_UNDEFINED;
    ami_rd r;
    ami_rd_init(&r, params.p, params.len);
    size_t n;
    uint16_t sap;
    ami_view name;
    if (ami__cosem_rd_struct(&r, &n, 2) != AMI_OK || n != 2 ||
        ami__cosem_rd_u16(&r, AMI_AXDR_LONG_UNSIGNED, &sap) != AMI_OK ||
        ami__cosem_rd_octets(&r, &name) != AMI_OK || ami_rd_left(&r))
        return AMI_DAR_TYPE_UNMATCHED;
    if (!name.len || name.len > AMI_LDN_MAX)
        return AMI_ACTION_OTHER_REASON;
    size_t at = t->count;
    for (size_t i = 0; i < t->count; i++) {
        const ami_cosem_sap_entry *e = &t->entries[i];
        bool same = e->name_len == name.len && memcmp(e->name, name.p, name.len) == 0;
        if (same)
            at = i;
        else if (sap != 0 && e->sap == sap)
            return AMI_ACTION_OTHER_REASON; /* one device per SAP */
    }
    if (sap == 0) { /* SAP 0: the device is no longer reachable: drop it from the list */
        if (at < t->count) {
            memmove(&t->entries[at], &t->entries[at + 1],
                    (t->count - at - 1) * sizeof t->entries[0]);
            t->count--;
        }
        return AMI_ACTION_SUCCESS;
    }
    if (at == t->count) {
        if (t->count == t->cap)
            return AMI_ACTION_OTHER_REASON;
        t->count++;
        memcpy(t->entries[at].name, name.p, name.len);
        t->entries[at].name_len = (uint8_t)name.len;
    }
    t->entries[at].sap = sap;
    return AMI_ACTION_SUCCESS;
}

const ami__cosem_class ami__cosem_class_sap_assignment = {
    .id = AMI_COSEM_SAP_ASSIGNMENT,
    .version = 0,
    .attrs = 2,
    .methods = 1,
    .check = sap_check,
    .get = sap_get,
    .action = sap_action,
};
