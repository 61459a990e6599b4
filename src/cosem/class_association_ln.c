/*
 * Association LN (class 15, version 1; Blue Book 4.4.3): object_list with access rights,
 * associated_partners_id, application_context_name, xDLMS_context_info,
 * authentication_mechanism_name, association_status, from the association context the engine
 * gives. Attribute 7 (secret) and 9 (security_setup_reference) are not served; the methods
 * (reply_to_HLS_authentication, change_HLS_secret, ...) are the engine's or the object's
 * method callback.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "cosem/cosem_internal.h"

static const uint8_t assoc_access[9] = {AMI_ACCESS_READ, AMI_ACCESS_READ, AMI_ACCESS_READ,
                                        AMI_ACCESS_READ, AMI_ACCESS_READ, AMI_ACCESS_READ,
                                        AMI_ACCESS_NONE, AMI_ACCESS_READ, AMI_ACCESS_NONE};

/* The BER encoding of {2 16 756 5 8 <arc> <x>} without tag and length, as attributes 4 and 6
 * carry it (octet-string). */
static void put_dlms_oid(ami_wr *w, uint8_t arc, uint8_t x)
{
    const uint8_t oid[7] = {0x60, 0x85, 0x74, 0x05, 0x08, arc, x};
    ami__cosem_put_octets(w, oid, sizeof oid);
}

static uint8_t assoc_get(ami_cosem_store *s, ami_cosem_obj *o, uint8_t attr,
                         const ami_access_selection *sel, const ami_dlms_ctx *ctx, ami_wr *out)
{
    (void)o;
    if (sel->present)
        return AMI_DAR_SCOPE_OF_ACCESS_VIOLATED;
    switch (attr) {
    case 2:
        ami__cosem_put_object_list(s, ctx, out);
        return AMI_DAR_SUCCESS;
    case 3: /* associated_partners_id {client_SAP integer, server_SAP long-unsigned} */
        ami__cosem_put_struct(out, 2);
        ami__cosem_put_u8(out, AMI_AXDR_INTEGER, (uint8_t)ctx->client_sap);
        ami__cosem_put_u16(out, AMI_AXDR_LONG_UNSIGNED, ctx->server_sap);
        return AMI_DAR_SUCCESS;
    case 4:
        put_dlms_oid(out, 1, ctx->context);
        return AMI_DAR_SUCCESS;
    case 5: /* xDLMS_context_info */
        ami__cosem_put_struct(out, 6);
        ami_wr_u8(out, AMI_AXDR_BIT_STRING);
        ami_wr_u8(out, 24);
        ami_wr_u8(out, (uint8_t)(ctx->conformance >> 16));
        ami_wr_u16be(out, (uint16_t)ctx->conformance);
        ami__cosem_put_u16(out, AMI_AXDR_LONG_UNSIGNED, ctx->server_max_pdu);
        ami__cosem_put_u16(out, AMI_AXDR_LONG_UNSIGNED, ctx->client_max_pdu);
        ami__cosem_put_u8(out, AMI_AXDR_UNSIGNED, 6);
        ami__cosem_put_u8(out, AMI_AXDR_INTEGER, 0);
        ami__cosem_put_octets(out, NULL, 0);
        return AMI_DAR_SUCCESS;
    case 6:
        put_dlms_oid(out, 2, ctx->mechanism);
        return AMI_DAR_SUCCESS;
    case 8:
        ami__cosem_put_u8(out, AMI_AXDR_ENUM, ctx->state);
        return AMI_DAR_SUCCESS;
    default:
        return AMI_DAR_READ_WRITE_DENIED;
    }
}

const ami__cosem_class ami__cosem_class_association_ln = {
    .id = AMI_COSEM_ASSOCIATION_LN,
    .version = 1,
    .attrs = 9,
    .methods = 4,
    .access = assoc_access,
    .get = assoc_get,
};
