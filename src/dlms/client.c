/*
 * DLMS/COSEM client session at the APDU level (Green Book 9.4), sans-I/O: AARQ/AARE,
 * GET/SET/ACTION with service-specific block transfer, HLS passes 3/4 hook, RLRQ/RLRE.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <string.h>

#include "ami/dlms_client.h"
#include "ami/error.h"
#include "client_internal.h"
#include "core/internal.h"
#include "client_sec.h"

/* Outstanding operations. */
enum {
    OP_NONE = 0,
    OP_AARQ,
    OP_HLS,
    OP_GET,
    OP_GET_LIST,
    OP_SET,
    OP_ACTION,
    OP_RLRQ,
};

/* reply_to_HLS_authentication: Association LN (class 15), 0.0.40.0.0.255, method 1
 * (Blue Book 4.4.4). */
#define HLS_CLASS  15u
#define HLS_METHOD 1

const char *ami_dlms_layer_name(ami_dlms_layer layer)
{
    switch (layer) {
    case AMI_DLMS_LAYER_ACSE:
        return "ACSE";
    case AMI_DLMS_LAYER_XDLMS:
        return "xDLMS";
    case AMI_DLMS_LAYER_HLS:
        return "HLS";
    case AMI_DLMS_LAYER_SECURITY:
        return "security";
    default:
        return "none";
    }
}

int ami_dlms_client_init(ami_dlms_client *c, const ami_dlms_client_config *cfg)
{
    if (!c || !cfg)
        return AMI_E_INVAL;
    memset(c, 0, sizeof *c);
    c->cfg = *cfg;
    ami_dlms_client_config *k = &c->cfg;
    if (k->context == 0)
        k->context = AMI_ACSE_CONTEXT_LN;
    if (k->conformance == 0)
        k->conformance = AMI_DLMS_CLIENT_DEFAULT_CONFORMANCE;
    if (k->max_pdu == 0)
        k->max_pdu = 0xFFFF;
    if (k->dlms_version == 0)
        k->dlms_version = 6;
    if (!k->data_buf || k->data_cap == 0)
        return AMI_E_CONFIG;
    if (k->context != AMI_ACSE_CONTEXT_LN && k->context != AMI_ACSE_CONTEXT_SN)
        return AMI_E_CONFIG;
    if (k->mechanism > AMI_ACSE_MECH_ECDSA || k->invoke_id > 15)
        return AMI_E_CONFIG;
    int rc = ami__csec_check(k);
    if (rc)
        return rc;
    if (k->mechanism == AMI_ACSE_MECH_LOW && k->auth_value.len == 0)
        return AMI_E_CONFIG;
    if (k->auth_value.len > sizeof c->auth || k->calling_ap_title.len > sizeof c->title)
        return AMI_E_CONFIG;
    if ((k->auth_value.len && !k->auth_value.p) ||
        (k->calling_ap_title.len && !k->calling_ap_title.p))
        return AMI_E_CONFIG;
    if (k->items && k->max_items == 0)
        return AMI_E_CONFIG;
    if ((k->gbt_buf && k->gbt_cap < 16) || k->gbt_window > 63)
        return AMI_E_CONFIG;
    if (k->auth_value.len)
        memcpy(c->auth, k->auth_value.p, k->auth_value.len);
    k->auth_value = ami_view_of(k->auth_value.len ? c->auth : NULL, k->auth_value.len);
    if (k->calling_ap_title.len)
        memcpy(c->title, k->calling_ap_title.p, k->calling_ap_title.len);
    k->calling_ap_title =
        ami_view_of(k->calling_ap_title.len ? c->title : NULL, k->calling_ap_title.len);
    c->next_id = k->invoke_id;
    c->state = AMI_DLMS_CLIENT_IDLE;
    return AMI_OK;
}

ami_dlms_client_state ami_dlms_client_state_get(const ami_dlms_client *c)
{
    return c->state;
}

uint32_t ami_dlms_client_conformance(const ami_dlms_client *c)
{
    return c->server_conformance;
}

uint16_t ami_dlms_client_server_max_pdu(const ami_dlms_client *c)
{
    return c->server_max_pdu;
}

void ami_dlms_client_reset(ami_dlms_client *c)
{
    c->state = AMI_DLMS_CLIENT_IDLE;
    c->op = OP_NONE;
    c->have = 0;
    c->src = ami_view_of(NULL, 0);
    memset(&c->gbt, 0, sizeof c->gbt);
}

/* ---------------------------------------------------------------- helpers */

/* Encodes into out (an xDLMS request ciphered per the security policy); on failure the
 * writer is rolled back so the caller can retry. */
static int emit(ami_dlms_client *c, ami_wr *out, const ami_apdu *a)
{
    if (!out)
        return AMI_E_INVAL;
    size_t mark = out->len;
    int err = out->err;
    int rc = ami_apdu_encode(out, a);
    if (rc == AMI_OK)
        rc = ami_wr_error(out);
    if (rc == AMI_OK && a->tag != AMI_ACSE_AARQ && a->tag != AMI_ACSE_RLRQ)
        rc = ami__csec_protect(c, out, mark);
    if (rc) {
        out->len = mark;
        out->err = err;
    }
    return rc;
}

static uint8_t take_iip(ami_dlms_client *c)
{
    uint8_t iip = (uint8_t)(c->next_id | AMI_IIP_CONFIRMED);
    if (!c->cfg.normal_priority)
        iip |= AMI_IIP_HIGH_PRIORITY;
    if (!c->cfg.fixed_invoke_id)
        c->next_id = (uint8_t)((c->next_id + 1) & 0x0F);
    return iip;
}

static int need_ready(const ami_dlms_client *c)
{
    if (c->state != AMI_DLMS_CLIENT_READY)
        return AMI_E_STATE;
    if (c->cfg.context != AMI_ACSE_CONTEXT_LN)
        return AMI_E_UNSUPPORTED;
    return AMI_OK;
}

static void begin(ami_dlms_client *c, uint8_t op, uint8_t iip)
{
    c->op = op;
    c->iip = iip;
    c->block = 0;
    c->have = 0;
    c->state = AMI_DLMS_CLIENT_BUSY;
}

/* Appends bytes to the result buffer. */
static int keep(ami_dlms_client *c, ami_view v)
{
    if (v.len > c->cfg.data_cap - c->have)
        return AMI_E_TOO_LARGE;
    if (v.len)
        memcpy(c->cfg.data_buf + c->have, v.p, v.len);
    c->have += v.len;
    return AMI_OK;
}

/* Raw bytes per block for a request whose encoding with an empty block takes `base` bytes:
 * the octet-string length prefix grows by at most 2 bytes (up to 65535). */
static size_t chunk_for(const ami_dlms_client *c, size_t base)
{
    size_t max = c->server_max_pdu ? c->server_max_pdu : 0xFFFF;
    return max > base + 2 ? max - base - 2 : 0;
}

/* ---------------------------------------------------------------- association */

int ami_dlms_client_associate(ami_dlms_client *c, ami_wr *out)
{
    if (!c || !out)
        return AMI_E_INVAL;
    if (c->state != AMI_DLMS_CLIENT_IDLE)
        return AMI_E_STATE;
    /* InitiateRequest (Green Book 9.5): no dedicated key, response-allowed and QoS absent. */
    ami_apdu ini;
    memset(&ini, 0, sizeof ini);
    ini.tag = AMI_APDU_INITIATE_REQUEST;
    ini.u.initiate_request.dlms_version = c->cfg.dlms_version;
    ini.u.initiate_request.conformance = c->cfg.conformance;
    ini.u.initiate_request.max_pdu_size = c->cfg.max_pdu;
    uint8_t ui[160];
    size_t ui_len = 0;

    ami_apdu a;
    memset(&a, 0, sizeof a);
    a.tag = AMI_ACSE_AARQ;
    ami_aarq *q = &a.u.aarq;
    q->c.context = c->cfg.context;
    q->c.ap_title = c->cfg.calling_ap_title;
    if (c->cfg.mechanism != AMI_ACSE_MECH_NONE) {
        /* Green Book 9.4.2.2.3: sender-acse-requirements with the authentication bit,
         * mechanism-name and calling-authentication-value (charstring). */
        q->c.has_acse_requirements = true;
        q->c.authentication = true;
        q->c.has_mechanism = true;
        q->c.mechanism = c->cfg.mechanism;
        q->c.has_auth_value = true;
        q->c.auth_kind = AMI_ACSE_AUTH_CHARSTRING;
        q->c.auth_value = c->cfg.auth_value;
    }
    /* security: challenge, calling-AP-title, ciphered context and InitiateRequest */
    int rc = ami__csec_aarq(c, q, &ini, ui, sizeof ui, &ui_len);
    if (rc)
        return rc;
    q->c.has_user_information = true;
    q->c.user_information = ami_view_of(ui, ui_len);
    rc = emit(c, out, &a);
    if (rc)
        return rc;
    c->op = OP_AARQ;
    c->state = AMI_DLMS_CLIENT_ASSOCIATING;
    return AMI_OK;
}

/* Sends pass 3 of HLS: ACTION reply_to_HLS_authentication with f(StoC). */
static int hls_pass3(ami_dlms_client *c, ami_view stoc, ami_wr *out)
{
    /* f(StoC) goes into the data buffer as an octet-string Data: 09 len value. */
    size_t cap = c->cfg.data_cap;
    if (cap < 4)
        return AMI_E_TOO_LARGE;
    size_t flen = 0;
    int rc = c->cfg.hls_pass3
                 ? c->cfg.hls_pass3(c->cfg.hls_user, stoc, c->cfg.data_buf + 3, cap - 3, &flen)
                 : ami__csec_pass3(c, stoc, c->cfg.data_buf + 3, cap - 3, &flen);
    if (rc)
        return rc;
    if (flen > cap - 3 || flen > 0xFFFF)
        return AMI_E_TOO_LARGE;
    uint8_t hdr[3];
    ami_wr hw;
    ami_wr_init(&hw, hdr, sizeof hdr);
    ami_wr_u8(&hw, AMI_AXDR_OCTET_STRING);
    ami_axdr_put_length(&hw, flen);
    if (hw.len < 3)
        memmove(c->cfg.data_buf + hw.len, c->cfg.data_buf + 3, flen);
    memcpy(c->cfg.data_buf, hdr, hw.len);
    ami_view param = ami_view_of(c->cfg.data_buf, hw.len + flen);
    ami_apdu a;
    memset(&a, 0, sizeof a);
    a.tag = AMI_APDU_ACTION_REQUEST;
    a.u.action_request.type = AMI_ACTION_NORMAL;
    a.u.action_request.iip = take_iip(c);
    a.u.action_request.method =
        (ami_cosem_desc){HLS_CLASS, AMI_OBIS(0, 0, 40, 0, 0, 255), HLS_METHOD};
    a.u.action_request.has_params = true;
    a.u.action_request.params = param;
    rc = emit(c, out, &a);
    if (rc)
        return rc;
    c->op = OP_HLS;
    c->iip = a.u.action_request.iip;
    return AMI_E_AGAIN;
}

static int on_aare(ami_dlms_client *c, const ami_apdu *a, ami_wr *out, ami_dlms_result *res)
{
    if (a->tag != AMI_ACSE_AARE)
        return AMI_E_PROTOCOL;
    const ami_aare *e = &a->u.aare;
    res->layer = AMI_DLMS_LAYER_ACSE;
    res->acse_result = e->result;
    res->acse_diag_source = e->diag_source;
    res->acse_diagnostic = e->diagnostic;
    /* user-information: InitiateResponse, or a confirmed-service-error (initiateError). */
    ami_apdu inner;
    bool have_inner = false;
    ami_view ui;
    int rc = ami__csec_aare(c, e, &ui); /* deciphered when ciphered, title checked */
    if (rc) {
        res->layer = AMI_DLMS_LAYER_SECURITY;
        return rc;
    }
    if (e->c.has_user_information) {
        rc = ami_apdu_decode(ui.p, ui.len, NULL, NULL, &inner);
        if (rc)
            return rc;
        have_inner = true;
    }
    if (e->result != AMI_ACSE_ACCEPTED) {
        res->outcome = AMI_DLMS_REJECTED;
        if (have_inner && inner.tag == AMI_APDU_CONFIRMED_SERVICE_ERROR)
            res->service_error = inner.u.confirmed_service_error;
        c->state = AMI_DLMS_CLIENT_IDLE;
        c->op = OP_NONE;
        return AMI_OK;
    }
    if (!have_inner || inner.tag != AMI_APDU_INITIATE_RESPONSE)
        return AMI_E_PROTOCOL;
    c->server_conformance = inner.u.initiate_response.conformance;
    c->server_max_pdu = inner.u.initiate_response.max_pdu_size;
    if (c->cfg.mechanism >= AMI_ACSE_MECH_HIGH) {
        /* Pass 2 gave StoC; the association is accepted once pass 3/4 succeed. */
        if (!e->c.has_auth_value)
            return AMI_E_PROTOCOL;
        c->state = AMI_DLMS_CLIENT_ASSOCIATING;
        return hls_pass3(c, e->c.auth_value, out);
    }
    res->outcome = AMI_DLMS_SUCCESS;
    c->state = AMI_DLMS_CLIENT_READY;
    c->op = OP_NONE;
    ami__csec_associated(c);
    return AMI_OK;
}

/* ---------------------------------------------------------------- GET */

int ami_dlms_client_get(ami_dlms_client *c, const ami_attr_sel *attrs, uint32_t n, ami_wr *out)
{
    if (!c || !attrs || !out || n == 0)
        return AMI_E_INVAL;
    int rc = need_ready(c);
    if (rc)
        return rc;
    if (n > 1 && (!c->cfg.items || n > c->cfg.max_items || n > AMI_APDU_MAX_LIST))
        return AMI_E_INVAL;
    ami_apdu a;
    memset(&a, 0, sizeof a);
    a.tag = AMI_APDU_GET_REQUEST;
    uint8_t save = c->next_id;
    a.u.get_request.iip = take_iip(c);
    if (n == 1) {
        a.u.get_request.type = AMI_GET_NORMAL;
        a.u.get_request.attr = attrs[0];
    } else {
        a.u.get_request.type = AMI_GET_WITH_LIST;
        a.u.get_request.list = (ami_attr_sel *)(uintptr_t)attrs;
        a.u.get_request.count = n;
    }
    rc = ami__dlms_client_gbt_send(c, &a, out);
    if (rc == AMI__GBT_PASS)
        rc = emit(c, out, &a);
    if (rc) {
        c->next_id = save;
        return rc;
    }
    begin(c, n == 1 ? OP_GET : OP_GET_LIST, a.u.get_request.iip);
    return AMI_OK;
}

/*
 * Splits the Get-Data-Result list of a with-list response (reassembled from blocks, Green Book
 * 9.4.6.4: the raw data of the blocks is the encoding of the result list) into items.
 */
static int split_list(ami_dlms_client *c, ami_view raw, ami_dlms_result *res)
{
    ami_rd r;
    ami_rd_init(&r, raw.p, raw.len);
    size_t n;
    int rc = ami_axdr_get_length(&r, &n);
    if (rc)
        return rc;
    if (!c->cfg.items || n > c->cfg.max_items)
        return AMI_E_TOO_LARGE;
    for (size_t i = 0; i < n; i++) {
        uint8_t choice;
        ami_dlms_item *it = &c->cfg.items[i];
        memset(it, 0, sizeof *it);
        rc = ami_rd_u8(&r, &choice);
        if (rc)
            return rc;
        if (choice == 0) {
            const uint8_t *start = ami_rd_ptr(&r);
            rc = ami_axdr_skip(&r, NULL);
            if (rc)
                return rc;
            it->ok = true;
            it->data = ami_view_of(start, (size_t)(ami_rd_ptr(&r) - start));
        } else if (choice == 1) {
            rc = ami_rd_u8(&r, &it->dar);
            if (rc)
                return rc;
        } else {
            return AMI_E_MALFORMED;
        }
    }
    if (ami_rd_left(&r))
        return AMI_E_MALFORMED;
    res->items = c->cfg.items;
    res->count = (uint32_t)n;
    return AMI_OK;
}

/* Copies a with-list response's results into items, their Data into the data buffer. */
static int keep_list(ami_dlms_client *c, const ami_get_response *g, ami_dlms_result *res)
{
    if (!c->cfg.items || g->count > c->cfg.max_items)
        return AMI_E_TOO_LARGE;
    for (uint32_t i = 0; i < g->count; i++) {
        ami_dlms_item *it = &c->cfg.items[i];
        memset(it, 0, sizeof *it);
        it->ok = g->list[i].is_data;
        it->dar = g->list[i].dar;
        if (it->ok) {
            size_t at = c->have;
            int rc = keep(c, g->list[i].data);
            if (rc)
                return rc;
            it->data = ami_view_of(c->cfg.data_buf + at, g->list[i].data.len);
        }
    }
    res->items = c->cfg.items;
    res->count = g->count;
    return AMI_OK;
}

static int on_get(ami_dlms_client *c, const ami_apdu *a, ami_wr *out, ami_dlms_result *res)
{
    if (a->tag != AMI_APDU_GET_RESPONSE)
        return AMI_E_PROTOCOL;
    const ami_get_response *g = &a->u.get_response;
    res->layer = AMI_DLMS_LAYER_XDLMS;
    if (g->type == AMI_GET_NORMAL && c->op == OP_GET && c->block == 0) {
        if (!g->result.is_data) {
            res->outcome = AMI_DLMS_DATA_ACCESS_RESULT;
            res->dar = g->result.dar;
            return AMI_OK;
        }
        int rc = keep(c, g->result.data);
        if (rc)
            return rc;
        res->has_data = true;
        res->data = ami_view_of(c->cfg.data_buf, c->have);
        return AMI_OK;
    }
    if (g->type == AMI_GET_WITH_LIST && c->op == OP_GET_LIST && c->block == 0)
        return keep_list(c, g, res);
    if (g->type != AMI_GET_WITH_DATABLOCK)
        return AMI_E_PROTOCOL;
    /* Green Book 9.4.6.4.2: blocks are numbered from 1, each answered with GET-next. */
    if (g->block.block_number != c->block + 1)
        return AMI_E_PROTOCOL;
    c->block = g->block.block_number;
    res->blocks = c->block;
    if (!g->block_ok) {
        res->outcome = AMI_DLMS_DATA_ACCESS_RESULT;
        res->dar = g->block_dar;
        return AMI_OK;
    }
    int rc = keep(c, g->block.raw);
    if (rc)
        return rc;
    if (!g->block.last) {
        if (g->block.raw.len == 0)
            return AMI_E_PROTOCOL; /* would loop forever */
        ami_apdu n;
        memset(&n, 0, sizeof n);
        n.tag = AMI_APDU_GET_REQUEST;
        n.u.get_request.type = AMI_GET_NEXT;
        n.u.get_request.iip = c->iip;
        n.u.get_request.block_number = c->block;
        rc = emit(c, out, &n);
        return rc ? rc : AMI_E_AGAIN;
    }
    ami_view raw = ami_view_of(c->cfg.data_buf, c->have);
    if (c->op == OP_GET_LIST)
        return split_list(c, raw, res);
    /* The reassembled raw data is one Data. */
    ami_rd r;
    ami_rd_init(&r, raw.p, raw.len);
    rc = ami_axdr_skip(&r, NULL);
    if (rc)
        return rc;
    if (ami_rd_left(&r) && !(c->cfg.apdu_lenient & AMI_APDU_LENIENT_TRAILING))
        return AMI_E_MALFORMED;
    res->has_data = true;
    res->data = ami_view_of(raw.p, (size_t)(ami_rd_ptr(&r) - raw.p));
    return AMI_OK;
}

/* ---------------------------------------------------------------- SET / ACTION */

/* Builds the next SET/ACTION block from src (the first one carries the descriptor). */
static int next_block(ami_dlms_client *c, ami_apdu *a, ami_wr *out)
{
    size_t left = c->src.len - c->src_off;
    size_t n = left < c->chunk ? left : c->chunk;
    ami_datablock b = {n == left, c->block + 1, ami_view_of(c->src.p + c->src_off, n)};
    if (a->tag == AMI_APDU_SET_REQUEST)
        a->u.set_request.block = b;
    else
        a->u.action_request.block = b;
    int rc = emit(c, out, a);
    if (rc)
        return rc;
    c->src_off += n;
    c->block++;
    return AMI_OK;
}

/* Sends a request normally when it fits the server's max PDU, else its first block. */
static int send_maybe_blocks(ami_dlms_client *c, ami_apdu *a, ami_apdu *first, ami_view src,
                             ami_wr *out)
{
    int rc = ami__dlms_client_gbt_send(c, a, out);
    if (rc != AMI__GBT_PASS)
        return rc;
    ami_wr m;
    ami_wr_init(&m, NULL, 0);
    rc = ami_apdu_encode(&m, a);
    if (rc)
        return rc;
    size_t max = c->server_max_pdu ? c->server_max_pdu : 0xFFFF;
    size_t extra = ami__csec_overhead(c); /* ciphering grows the APDU */
    if (m.len + extra <= max)
        return emit(c, out, a);
    ami_wr_init(&m, NULL, 0);
    rc = ami_apdu_encode(&m, first);
    if (rc)
        return rc;
    c->chunk = chunk_for(c, m.len + extra);
    if (c->chunk == 0)
        return AMI_E_TOO_LARGE;
    c->src = src;
    c->src_off = 0;
    c->block = 0;
    return next_block(c, first, out);
}

int ami_dlms_client_set(ami_dlms_client *c, const ami_attr_sel *attr, ami_view value, ami_wr *out)
{
    if (!c || !attr || !out || value.len == 0 || !value.p)
        return AMI_E_INVAL;
    int rc = need_ready(c);
    if (rc)
        return rc;
    uint8_t save = c->next_id;
    ami_apdu a, f;
    memset(&a, 0, sizeof a);
    a.tag = AMI_APDU_SET_REQUEST;
    a.u.set_request.type = AMI_SET_NORMAL;
    a.u.set_request.iip = take_iip(c);
    a.u.set_request.attr = *attr;
    a.u.set_request.value = value;
    f = a;
    f.u.set_request.type = AMI_SET_WITH_FIRST_DATABLOCK;
    f.u.set_request.value = ami_view_of(NULL, 0);
    begin(c, OP_SET, a.u.set_request.iip);
    c->src = ami_view_of(NULL, 0);
    rc = send_maybe_blocks(c, &a, &f, value, out);
    if (rc) {
        c->next_id = save;
        c->state = AMI_DLMS_CLIENT_READY;
        c->op = OP_NONE;
    }
    return rc;
}

int ami_dlms_client_action(ami_dlms_client *c, const ami_cosem_desc *method, const ami_view *params,
                           ami_wr *out)
{
    if (!c || !method || !out || (params && (params->len == 0 || !params->p)))
        return AMI_E_INVAL;
    int rc = need_ready(c);
    if (rc)
        return rc;
    uint8_t save = c->next_id;
    ami_apdu a, f;
    memset(&a, 0, sizeof a);
    a.tag = AMI_APDU_ACTION_REQUEST;
    a.u.action_request.type = AMI_ACTION_NORMAL;
    a.u.action_request.iip = take_iip(c);
    a.u.action_request.method = *method;
    a.u.action_request.has_params = params != NULL;
    if (params)
        a.u.action_request.params = *params;
    f = a;
    f.u.action_request.type = AMI_ACTION_WITH_FIRST_PBLOCK;
    f.u.action_request.has_params = false;
    f.u.action_request.params = ami_view_of(NULL, 0);
    begin(c, OP_ACTION, a.u.action_request.iip);
    c->src = ami_view_of(NULL, 0);
    if (params) {
        rc = send_maybe_blocks(c, &a, &f, *params, out);
    } else {
        rc = ami__dlms_client_gbt_send(c, &a, out);
        if (rc == AMI__GBT_PASS)
            rc = emit(c, out, &a);
    }
    if (rc) {
        c->next_id = save;
        c->state = AMI_DLMS_CLIENT_READY;
        c->op = OP_NONE;
    }
    return rc;
}

/* Continues a SET/ACTION block transfer after the server acknowledged block `ack`. */
static int continue_blocks(ami_dlms_client *c, uint8_t tag, uint32_t ack, ami_wr *out)
{
    if (!c->src.p || ack != c->block || c->src_off >= c->src.len)
        return AMI_E_PROTOCOL;
    ami_apdu a;
    memset(&a, 0, sizeof a);
    a.tag = tag;
    if (tag == AMI_APDU_SET_REQUEST) {
        a.u.set_request.type = AMI_SET_WITH_DATABLOCK;
        a.u.set_request.iip = c->iip;
    } else {
        a.u.action_request.type = AMI_ACTION_WITH_PBLOCK;
        a.u.action_request.iip = c->iip;
    }
    int rc = next_block(c, &a, out);
    return rc ? rc : AMI_E_AGAIN;
}

static bool all_sent(const ami_dlms_client *c)
{
    return !c->src.p || c->src_off == c->src.len;
}

static int on_set(ami_dlms_client *c, const ami_apdu *a, ami_wr *out, ami_dlms_result *res)
{
    if (a->tag != AMI_APDU_SET_RESPONSE)
        return AMI_E_PROTOCOL;
    const ami_set_response *s = &a->u.set_response;
    res->layer = AMI_DLMS_LAYER_XDLMS;
    res->blocks = c->src.p ? c->block : 0;
    switch (s->type) {
    case AMI_SET_RESPONSE_NORMAL:
        if (c->src.p)
            return AMI_E_PROTOCOL;
        break;
    case AMI_SET_RESPONSE_DATABLOCK:
        return continue_blocks(c, AMI_APDU_SET_REQUEST, s->block_number, out);
    case AMI_SET_RESPONSE_LAST_DATABLOCK:
        if (!c->src.p || !all_sent(c) || s->block_number != c->block)
            return AMI_E_PROTOCOL;
        break;
    default:
        return AMI_E_PROTOCOL;
    }
    if (s->result != AMI_DAR_SUCCESS) {
        res->outcome = AMI_DLMS_DATA_ACCESS_RESULT;
        res->dar = s->result;
    }
    return AMI_OK;
}

static int on_action(ami_dlms_client *c, const ami_apdu *a, ami_wr *out, ami_dlms_result *res)
{
    if (a->tag != AMI_APDU_ACTION_RESPONSE)
        return AMI_E_PROTOCOL;
    const ami_action_response *r = &a->u.action_response;
    res->layer = AMI_DLMS_LAYER_XDLMS;
    switch (r->type) {
    case AMI_ACTION_RESPONSE_NEXT_PBLOCK:
        return continue_blocks(c, AMI_APDU_ACTION_REQUEST, r->block_number, out);
    case AMI_ACTION_RESPONSE_NORMAL: {
        if (!all_sent(c) || (c->block && !c->src.p))
            return AMI_E_PROTOCOL;
        const ami_action_outcome *o = &r->outcome;
        res->blocks = c->block;
        if (o->result != AMI_ACTION_SUCCESS) {
            res->outcome = AMI_DLMS_ACTION_RESULT;
            res->dar = o->result;
            return AMI_OK;
        }
        if (o->has_return) {
            if (!o->ret.is_data) {
                res->outcome = AMI_DLMS_DATA_ACCESS_RESULT;
                res->dar = o->ret.dar;
                return AMI_OK;
            }
            c->have = 0;
            int rc = keep(c, o->ret.data);
            if (rc)
                return rc;
            res->has_data = true;
            res->data = ami_view_of(c->cfg.data_buf, c->have);
        }
        return AMI_OK;
    }
    case AMI_ACTION_RESPONSE_WITH_PBLOCK: {
        /* Return parameters in blocks (Green Book 9.4.6.4.4): each answered with
         * ACTION-request-next-pblock; the reassembled raw data is the response's
         * Action-Response-With-Optional-Data... in practice one Data. */
        if (!all_sent(c))
            return AMI_E_PROTOCOL;
        if (c->src.p) {
            /* switch from sending to receiving blocks */
            c->src = ami_view_of(NULL, 0);
            c->block = 0;
            c->have = 0;
        }
        if (r->block.block_number != c->block + 1)
            return AMI_E_PROTOCOL;
        c->block = r->block.block_number;
        res->blocks = c->block;
        int rc = keep(c, r->block.raw);
        if (rc)
            return rc;
        if (!r->block.last) {
            if (r->block.raw.len == 0)
                return AMI_E_PROTOCOL;
            ami_apdu n;
            memset(&n, 0, sizeof n);
            n.tag = AMI_APDU_ACTION_REQUEST;
            n.u.action_request.type = AMI_ACTION_NEXT_PBLOCK;
            n.u.action_request.iip = c->iip;
            n.u.action_request.block_number = c->block;
            rc = emit(c, out, &n);
            return rc ? rc : AMI_E_AGAIN;
        }
        ami_rd rd;
        ami_rd_init(&rd, c->cfg.data_buf, c->have);
        rc = ami_axdr_skip(&rd, NULL);
        if (rc)
            return rc;
        if (ami_rd_left(&rd))
            return AMI_E_MALFORMED;
        res->has_data = true;
        res->data = ami_view_of(c->cfg.data_buf, c->have);
        return AMI_OK;
    }
    default:
        return AMI_E_PROTOCOL;
    }
}

static int on_hls(ami_dlms_client *c, const ami_apdu *a, ami_dlms_result *res)
{
    if (a->tag != AMI_APDU_ACTION_RESPONSE || a->u.action_response.type != AMI_ACTION_NORMAL)
        return AMI_E_PROTOCOL;
    const ami_action_outcome *o = &a->u.action_response.outcome;
    res->layer = AMI_DLMS_LAYER_HLS;
    if (o->result != AMI_ACTION_SUCCESS) {
        res->outcome = AMI_DLMS_ACTION_RESULT;
        res->dar = o->result;
        return AMI_OK;
    }
    if (c->cfg.hls_pass4 || (c->cfg.sec && !c->cfg.hls_pass3)) {
        /* The return parameter is an octet-string holding f(CtoS). */
        ami_view f = ami_view_of(NULL, 0);
        if (o->has_return && o->ret.is_data && o->ret.data.len >= 2 &&
            o->ret.data.p[0] == AMI_AXDR_OCTET_STRING) {
            ami_rd r;
            size_t n;
            ami_rd_init(&r, o->ret.data.p + 1, o->ret.data.len - 1);
            if (ami_axdr_get_length(&r, &n) == AMI_OK && n == ami_rd_left(&r))
                f = ami_view_of(ami_rd_ptr(&r), n);
        }
        int rc = c->cfg.hls_pass4 ? c->cfg.hls_pass4(c->cfg.hls_user, f) : ami__csec_pass4(c, f);
        if (rc == AMI_E_AUTH) {
            res->outcome = AMI_DLMS_AUTHENTICATION_FAILED;
            return AMI_OK;
        }
        if (rc)
            return rc;
    }
    ami__csec_associated(c);
    return AMI_OK;
}

/* ---------------------------------------------------------------- release */

int ami_dlms_client_release(ami_dlms_client *c, ami_wr *out)
{
    if (!c || !out)
        return AMI_E_INVAL;
    if (c->state != AMI_DLMS_CLIENT_READY)
        return AMI_E_STATE;
    ami_apdu a;
    memset(&a, 0, sizeof a);
    a.tag = AMI_ACSE_RLRQ;
    a.u.release.has_reason = true;
    a.u.release.reason = AMI_ACSE_RELEASE_NORMAL;
    uint8_t ui[160];
    int rc = ami__csec_rlrq(c, &a.u.release, ui, sizeof ui);
    if (rc)
        return rc;
    rc = emit(c, out, &a);
    if (rc)
        return rc;
    c->op = OP_RLRQ;
    c->state = AMI_DLMS_CLIENT_RELEASING;
    return AMI_OK;
}

/* ---------------------------------------------------------------- input */

/* Response tag carrying the invoke id of an xDLMS confirmed service. */
static bool iip_of(const ami_apdu *a, uint8_t *iip)
{
    switch (a->tag) {
    case AMI_APDU_GET_RESPONSE:
        *iip = a->u.get_response.iip;
        return true;
    case AMI_APDU_SET_RESPONSE:
        *iip = a->u.set_response.iip;
        return true;
    case AMI_APDU_ACTION_RESPONSE:
        *iip = a->u.action_response.iip;
        return true;
    default:
        return false;
    }
}

static int dispatch(ami_dlms_client *c, const ami_apdu *a, ami_wr *out, ami_dlms_result *res)
{
    /* Unsolicited or service-independent answers first (Green Book 9.5). */
    if (a->tag == AMI_APDU_EXCEPTION_RESPONSE) {
        res->layer = AMI_DLMS_LAYER_XDLMS;
        res->outcome = AMI_DLMS_EXCEPTION;
        res->exception = a->u.exception;
        return AMI_OK;
    }
    if (a->tag == AMI_APDU_CONFIRMED_SERVICE_ERROR) {
        res->layer = c->op == OP_AARQ ? AMI_DLMS_LAYER_ACSE : AMI_DLMS_LAYER_XDLMS;
        res->outcome = AMI_DLMS_SERVICE_ERROR;
        res->service_error = a->u.confirmed_service_error;
        return AMI_OK;
    }
    uint8_t iip;
    if (iip_of(a, &iip) && AMI_IIP_INVOKE_ID(iip) != AMI_IIP_INVOKE_ID(c->iip) &&
        c->op != OP_AARQ && c->op != OP_RLRQ) {
        c->ignored++;
        return 1; /* another request's answer (a late one): ignored */
    }
    switch (c->op) {
    case OP_AARQ:
        return on_aare(c, a, out, res);
    case OP_HLS:
        return on_hls(c, a, res);
    case OP_GET:
    case OP_GET_LIST:
        return on_get(c, a, out, res);
    case OP_SET:
        return on_set(c, a, out, res);
    case OP_ACTION:
        return on_action(c, a, out, res);
    case AMI__OP_READ:
    case AMI__OP_WRITE:
        return ami__dlms_client_sn_response(c, a, out, res);
    case OP_RLRQ:
        if (a->tag != AMI_ACSE_RLRE)
            return AMI_E_PROTOCOL;
        res->layer = AMI_DLMS_LAYER_ACSE;
        return ami__csec_rlre(c, &a->u.release);
    default:
        return AMI_E_STATE;
    }
}

int ami_dlms_client_input(ami_dlms_client *c, const uint8_t *apdu, size_t len, ami_wr *out,
                          ami_dlms_result *res)
{
    if (!c || !res || (!apdu && len))
        return AMI_E_INVAL;
    if (c->op == OP_NONE)
        return AMI_E_STATE;
    uint8_t op = c->op;
    memset(res, 0, sizeof *res);
    ami_apdu a;
    ami_apdu_opts opts = {NULL, c->cfg.apdu_lenient};
    if (c->cfg.arena)
        ami_arena_reset(c->cfg.arena);
    int rc = AMI_OK;
    if (len && apdu[0] == AMI_APDU_GENERAL_BLOCK_TRANSFER &&
        ((op >= OP_GET && op <= OP_ACTION) || op == AMI__OP_READ || op == AMI__OP_WRITE)) {
        /* General block transfer: acknowledged or continued here, dispatched once whole. */
        rc = ami__dlms_client_gbt_input(c, &apdu, &len, out);
        if (rc == AMI_E_AGAIN)
            return rc;
    }
    /* security: a ciphered response is deciphered and checked first (a refusal releases
     * nothing of it); a plain one under a ciphering policy is a downgrade */
    if (rc == AMI_OK) {
        rc = ami__csec_unprotect(c, &apdu, &len);
        if (rc)
            res->layer = AMI_DLMS_LAYER_SECURITY;
    }
    if (rc == AMI_OK)
        rc = ami_apdu_decode(apdu, len, c->cfg.arena, &opts, &a);
    if (rc == AMI_E_NOMEM)
        rc = AMI_E_TOO_LARGE;
    if (rc == AMI_OK)
        rc = dispatch(c, &a, out, res);
    if (rc == AMI_OK && !res->blocks)
        res->blocks = c->gbt.blocks;
    if (rc == 1)
        return AMI_E_AGAIN;
    if (rc == AMI_E_AGAIN)
        return rc;
    /* Completed (AMI_OK) or abandoned (error). */
    c->op = OP_NONE;
    c->src = ami_view_of(NULL, 0);
    if (op == OP_RLRQ) {
        c->state = AMI_DLMS_CLIENT_IDLE;
    } else if (op == OP_AARQ || op == OP_HLS) {
        bool ok = rc == AMI_OK && res->outcome == AMI_DLMS_SUCCESS;
        c->state = ok ? AMI_DLMS_CLIENT_READY : AMI_DLMS_CLIENT_IDLE;
    } else {
        c->state = AMI_DLMS_CLIENT_READY;
    }
    return rc;
}

/* ---------------------------------------------------------------- description */

int ami_dlms_result_describe(const ami_dlms_result *r, char *buf, size_t cap)
{
    if (!r || !buf)
        return AMI_E_INVAL;
    if (cap < 96)
        return AMI_E_NOSPACE;
    const char *layer = ami_dlms_layer_name(r->layer);
    int n;
    switch (r->outcome) {
    case AMI_DLMS_SUCCESS:
        n = snprintf(buf, cap, "success");
        break;
    case AMI_DLMS_REJECTED:
        n = snprintf(buf, cap, "%s: association %s (%s: %s)", layer,
                     ami_acse_result_name(r->acse_result),
                     r->acse_diag_source == AMI_ACSE_DIAG_PROVIDER ? "acse-service-provider"
                                                                   : "acse-service-user",
                     ami_acse_diag_name(r->acse_diag_source, r->acse_diagnostic));
        break;
    case AMI_DLMS_DATA_ACCESS_RESULT:
        n = snprintf(buf, cap, "%s: data-access-result %s", layer, ami_dlms_dar_name(r->dar));
        break;
    case AMI_DLMS_ACTION_RESULT:
        n = snprintf(buf, cap, "%s: action-result %s", layer, ami_dlms_action_result_name(r->dar));
        break;
    case AMI_DLMS_EXCEPTION:
        n = snprintf(buf, cap, "%s: exception-response %s, %s", layer,
                     ami_dlms_state_error_name(r->exception.state_error),
                     ami_dlms_service_error_name(r->exception.service_error));
        break;
    case AMI_DLMS_SERVICE_ERROR:
        n = snprintf(
            buf, cap, "%s: confirmed-service-error %s: %s %s", layer,
            ami_dlms_confirmed_service_name(r->service_error.service),
            ami_dlms_service_error_type_name(r->service_error.type),
            ami_dlms_service_error_value_name(r->service_error.type, r->service_error.value));
        break;
    case AMI_DLMS_AUTHENTICATION_FAILED:
        n = snprintf(buf, cap, "%s: the server's f(CtoS) did not verify", layer);
        break;
    default:
        n = snprintf(buf, cap, "%s: unknown outcome", layer);
        break;
    }
    if (n < 0)
        return AMI_E_INTERNAL;
    return (size_t)n >= cap ? (int)(cap - 1) : n;
}

/* ---------------------------------------------------------------- for client_sn.c */

int ami__dlms_client_emit(ami_dlms_client *c, ami_wr *out, const ami_apdu *a)
{
    return emit(c, out, a);
}

void ami__dlms_client_begin(ami_dlms_client *c, uint8_t op, uint8_t iip)
{
    begin(c, op, iip);
}

int ami__dlms_client_keep(ami_dlms_client *c, ami_view v)
{
    return keep(c, v);
}
