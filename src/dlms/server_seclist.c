/*
 * The objects the security layer serves itself (server_sec.c: Security Setup 0-0:43.0.0.255 and
 * the invocation counters 0-0:43.1.x.255) in the Association LN object_list (Blue Book 4.4.3,
 * attribute 2) the store rendered, so that a client browsing the objects sees them with the
 * access rights the engine applies.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "ami/axdr.h"
#include "ami/dlms_server.h"
#include "server_internal.h"

#define SECURITY_SETUP_CLASS   64u
#define SECURITY_SETUP_VERSION 1u
#define SECURITY_SETUP_ATTRS   6u /* Blue Book 4.4.7, version 1 */
#define SECURITY_SETUP_METHODS 8u
#define DATA_CLASS             1u

static void put_header(ami_wr *w, uint16_t class_id, uint8_t version, const uint8_t ln[6])
{
    ami_wr_u8(w, AMI_AXDR_STRUCTURE);
    ami_wr_u8(w, 4);
    ami_wr_u8(w, AMI_AXDR_LONG_UNSIGNED);
    ami_wr_u16be(w, class_id);
    ami_wr_u8(w, AMI_AXDR_UNSIGNED);
    ami_wr_u8(w, version);
    ami_wr_u8(w, AMI_AXDR_OCTET_STRING);
    ami_wr_u8(w, 6);
    ami_wr_bytes(w, ln, 6);
    ami_wr_u8(w, AMI_AXDR_STRUCTURE);
    ami_wr_u8(w, 2);
}

/* attribute_access_descriptor: every attribute with one mode and no selectors. */
static void put_attrs(ami_wr *w, uint8_t count, uint8_t mode)
{
    ami_wr_u8(w, AMI_AXDR_ARRAY);
    ami_wr_u8(w, count);
    for (uint8_t i = 1; i <= count; i++) {
        ami_wr_u8(w, AMI_AXDR_STRUCTURE);
        ami_wr_u8(w, 3);
        ami_wr_u8(w, AMI_AXDR_INTEGER);
        ami_wr_u8(w, i);
        ami_wr_u8(w, AMI_AXDR_ENUM);
        ami_wr_u8(w, mode);
        ami_wr_u8(w, AMI_AXDR_NULL_DATA);
    }
}

static bool store_has(const ami_dlms_assoc *a, uint16_t class_id, const uint8_t ln[6])
{
    ami_cosem_desc ref;
    memset(&ref, 0, sizeof ref);
    ref.class_id = class_id;
    memcpy(ref.instance.v, ln, 6);
    ami_dlms_object obj;
    return ami__dlms_find_object(a, &ref, &obj);
}

/* Writes the elements (w may be NULL: counts only). Returns how many. */
static size_t put_elements(const ami_dlms_assoc *a, ami_wr *w)
{
    const ami_dlms_server *s = a->srv;
    size_t n = 0;
    /* Security Setup of this association's security context: attributes read-only; methods 1
     * (security_activate) and 2 (key_transfer) only for authenticated requests, as
     * ami__sec_action() enforces; key_transfer not at all without a key store to update. The
     * certificate methods (3..8) are not served. */
    static const uint8_t ss_ln[6] = {0, 0, 43, 0, 0, 255};
    if (a->policy && a->policy->sec && !store_has(a, SECURITY_SETUP_CLASS, ss_ln)) {
        n++;
        if (w) {
            put_header(w, SECURITY_SETUP_CLASS, SECURITY_SETUP_VERSION, ss_ln);
            put_attrs(w, SECURITY_SETUP_ATTRS, AMI_ACCESS_READ);
            ami_wr_u8(w, AMI_AXDR_ARRAY);
            ami_wr_u8(w, SECURITY_SETUP_METHODS);
            for (uint8_t i = 1; i <= SECURITY_SETUP_METHODS; i++) {
                uint8_t mode = AMI_METHOD_NONE;
                if (i == 1 || (i == 2 && s->cfg.sec->keys.update))
                    mode = AMI_METHOD_AUTH_ACCESS;
                ami_wr_u8(w, AMI_AXDR_STRUCTURE);
                ami_wr_u8(w, 2);
                ami_wr_u8(w, AMI_AXDR_INTEGER);
                ami_wr_u8(w, i);
                ami_wr_u8(w, AMI_AXDR_ENUM);
                ami_wr_u8(w, mode);
            }
        }
    }
    /* Invocation counters 0-0:43.1.x.255 (Data, version 0): one per secured client SAP x,
     * readable by every association (ami__sec_get). */
    for (size_t i = 0; i < s->cfg.policy_count; i++) {
        const ami_dlms_policy *p = &s->cfg.policies[i];
        if (!p->sec || p->client_sap == 0 || p->client_sap > 255)
            continue;
        const uint8_t ln[6] = {0, 0, 43, 1, (uint8_t)p->client_sap, 255};
        if (store_has(a, DATA_CLASS, ln))
            continue;
        n++;
        if (w) {
            put_header(w, DATA_CLASS, 0, ln);
            put_attrs(w, 2, AMI_ACCESS_READ);
            ami_wr_u8(w, AMI_AXDR_ARRAY);
            ami_wr_u8(w, 0);
        }
    }
    return n;
}

uint8_t ami__sec_object_list(const ami_dlms_assoc *a, uint8_t *buf, size_t cap, size_t *len)
{
    if (!a->srv->cfg.sec)
        return AMI_DAR_SUCCESS;
    size_t extra = put_elements(a, NULL);
    if (!extra)
        return AMI_DAR_SUCCESS;
    /* The store's value: array, count, elements. The count grows by `extra`, which may lengthen
     * its A-XDR length field: the elements move by the difference. */
    ami_rd r;
    ami_rd_init(&r, buf, *len);
    uint8_t t;
    size_t count;
    if (ami_rd_u8(&r, &t) || t != AMI_AXDR_ARRAY || ami_axdr_get_length(&r, &count))
        return AMI_DAR_OTHER_REASON;
    size_t old_head = *len - ami_rd_left(&r);
    uint8_t head[8];
    ami_wr hw;
    ami_wr_init(&hw, head, sizeof head);
    ami_wr_u8(&hw, AMI_AXDR_ARRAY);
    ami_axdr_put_length(&hw, count + extra);
    if (ami_wr_error(&hw))
        return AMI_DAR_OTHER_REASON;
    size_t body = *len - old_head;
    if (hw.len + body > cap)
        return AMI_DAR_OTHER_REASON; /* larger than the block buffer: the ceiling */
    memmove(buf + hw.len, buf + old_head, body);
    memcpy(buf, head, hw.len);
    ami_wr w;
    ami_wr_init(&w, buf + hw.len + body, cap - hw.len - body);
    put_elements(a, &w);
    if (ami_wr_error(&w))
        return AMI_DAR_OTHER_REASON;
    *len = hw.len + body + w.len;
    return AMI_DAR_SUCCESS;
}
