/*
 * Short-name services of the client session (Green Book 9.3.14 Read, 9.3.15 Write, 9.3.16
 * UnconfirmedWrite; APDUs in ami/apdu.h). SN requests carry no invoke id: the one outstanding
 * request is what a response answers.
 *
 * Read with block transfer (Green Book 9.3.14): a one-item Read may be answered with
 * data-block-result blocks numbered from 1; each is acknowledged with a ReadRequest carrying one
 * block-number-access (the number of the block received) until last-block, and the raw data of
 * the blocks, reassembled in the data buffer (its size bounds the transfer), is the Data. A block
 * out of sequence, an empty block that is not the last, or raw data that is not one Data abandon
 * the request (AMI_E_PROTOCOL / AMI_E_MALFORMED); a data-access-error in place of a block ends it
 * with that outcome.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "client_internal.h"

static int need_sn(const ami_dlms_client *c)
{
    if (c->state != AMI_DLMS_CLIENT_READY)
        return AMI_E_STATE;
    if (c->cfg.context != AMI_ACSE_CONTEXT_SN)
        return AMI_E_UNSUPPORTED;
    return AMI_OK;
}

static bool plain_item(const ami_sn_access *it)
{
    return it->kind == AMI_SN_VARIABLE_NAME || it->kind == AMI_SN_PARAMETERIZED_ACCESS;
}

/* Sends an SN request (in GBT blocks when negotiated and needed). */
static int send(ami_dlms_client *c, const ami_apdu *a, ami_wr *out)
{
    int rc = ami__dlms_client_gbt_send(c, a, out);
    if (rc == AMI__GBT_PASS)
        rc = ami__dlms_client_emit(c, out, a);
    return rc;
}

int ami_dlms_client_read(ami_dlms_client *c, const ami_sn_access *items, uint32_t n, ami_wr *out)
{
    if (!c || !items || !out || n == 0)
        return AMI_E_INVAL;
    int rc = need_sn(c);
    if (rc)
        return rc;
    if (n > 1 && (!c->cfg.items || n > c->cfg.max_items || n > AMI_APDU_MAX_LIST))
        return AMI_E_INVAL;
    for (uint32_t i = 0; i < n; i++)
        if (!plain_item(&items[i]))
            return AMI_E_INVAL;
    ami_apdu a;
    memset(&a, 0, sizeof a);
    a.tag = AMI_APDU_READ_REQUEST;
    a.u.sn_request.list = (ami_sn_access *)(uintptr_t)items;
    a.u.sn_request.count = n;
    rc = send(c, &a, out);
    if (rc)
        return rc;
    ami__dlms_client_begin(c, AMI__OP_READ, 0);
    c->sn_items = n;
    return AMI_OK;
}

static int write_common(ami_dlms_client *c, uint8_t tag, const ami_sn_access *item, ami_view value,
                        ami_wr *out)
{
    if (!c || !item || !out || value.len == 0 || !value.p)
        return AMI_E_INVAL;
    int rc = need_sn(c);
    if (rc)
        return rc;
    if (item->kind != AMI_SN_VARIABLE_NAME)
        return AMI_E_INVAL;
    ami_apdu a;
    memset(&a, 0, sizeof a);
    a.tag = tag;
    a.u.sn_request.list = (ami_sn_access *)(uintptr_t)item;
    a.u.sn_request.count = 1;
    a.u.sn_request.data = &value;
    a.u.sn_request.data_count = 1;
    if (tag == AMI_APDU_UNCONFIRMED_WRITE_REQUEST)
        return ami__dlms_client_emit(c, out, &a); /* never answered: the session stays ready */
    rc = send(c, &a, out);
    if (rc)
        return rc;
    ami__dlms_client_begin(c, AMI__OP_WRITE, 0);
    c->sn_items = 1;
    return AMI_OK;
}

int ami_dlms_client_write(ami_dlms_client *c, const ami_sn_access *item, ami_view value,
                          ami_wr *out)
{
    return write_common(c, AMI_APDU_WRITE_REQUEST, item, value, out);
}

int ami_dlms_client_unconfirmed_write(ami_dlms_client *c, const ami_sn_access *item, ami_view value,
                                      ami_wr *out)
{
    return write_common(c, AMI_APDU_UNCONFIRMED_WRITE_REQUEST, item, value, out);
}

/* One data-block-result of a long Read: kept, then the next block asked or the Data checked. */
static int on_read_block(ami_dlms_client *c, const ami_sn_read_result *x, ami_wr *out,
                         ami_dlms_result *res)
{
    if (c->sn_items != 1 || x->block_number != c->block + 1)
        return AMI_E_PROTOCOL; /* lost, repeated or out-of-order block */
    if (!x->last && x->raw.len == 0)
        return AMI_E_PROTOCOL; /* would loop without progress */
    int rc = ami__dlms_client_keep(c, x->raw);
    if (rc)
        return rc;
    c->block = x->block_number;
    res->blocks = c->block;
    if (!x->last) {
        ami_sn_access ack = {.kind = AMI_SN_BLOCK_NUMBER_ACCESS, .block_number = x->block_number};
        ami_apdu n;
        memset(&n, 0, sizeof n);
        n.tag = AMI_APDU_READ_REQUEST;
        n.u.sn_request.list = &ack;
        n.u.sn_request.count = 1;
        rc = ami__dlms_client_emit(c, out, &n);
        return rc ? rc : AMI_E_AGAIN;
    }
    /* The reassembled raw data is one Data. */
    ami_rd r;
    ami_rd_init(&r, c->cfg.data_buf, c->have);
    rc = ami_axdr_skip(&r, NULL);
    if (rc)
        return rc;
    if (ami_rd_left(&r) && !(c->cfg.apdu_lenient & AMI_APDU_LENIENT_TRAILING))
        return AMI_E_MALFORMED;
    res->has_data = true;
    res->data = ami_view_of(c->cfg.data_buf, (size_t)(ami_rd_ptr(&r) - c->cfg.data_buf));
    return AMI_OK;
}

static int on_read(ami_dlms_client *c, const ami_sn_read_response *r, ami_wr *out,
                   ami_dlms_result *res)
{
    if (r->count == 1 && r->list[0].kind == AMI_SN_READ_DATA_BLOCK)
        return on_read_block(c, &r->list[0], out, res);
    if (c->block && !(r->count == 1 && r->list[0].kind == AMI_SN_READ_ERROR))
        return AMI_E_PROTOCOL; /* a transfer in progress ends with a block or an error */
    if (r->count != c->sn_items)
        return AMI_E_PROTOCOL;
    for (uint32_t i = 0; i < r->count; i++)
        if (r->list[i].kind != AMI_SN_READ_DATA && r->list[i].kind != AMI_SN_READ_ERROR)
            return AMI_E_PROTOCOL; /* block-number: requests are never sent in blocks */
    if (r->count == 1) {
        res->blocks = c->block;
        if (r->list[0].kind == AMI_SN_READ_ERROR) {
            res->outcome = AMI_DLMS_DATA_ACCESS_RESULT;
            res->dar = r->list[0].dar;
            return AMI_OK;
        }
        int rc = ami__dlms_client_keep(c, r->list[0].data);
        if (rc)
            return rc;
        res->has_data = true;
        res->data = ami_view_of(c->cfg.data_buf, c->have);
        return AMI_OK;
    }
    if (!c->cfg.items || r->count > c->cfg.max_items)
        return AMI_E_TOO_LARGE;
    for (uint32_t i = 0; i < r->count; i++) {
        ami_dlms_item *it = &c->cfg.items[i];
        memset(it, 0, sizeof *it);
        it->ok = r->list[i].kind == AMI_SN_READ_DATA;
        it->dar = r->list[i].dar;
        if (it->ok) {
            size_t at = c->have;
            int rc = ami__dlms_client_keep(c, r->list[i].data);
            if (rc)
                return rc;
            it->data = ami_view_of(c->cfg.data_buf + at, r->list[i].data.len);
        }
    }
    res->items = c->cfg.items;
    res->count = r->count;
    return AMI_OK;
}

int ami__dlms_client_sn_response(ami_dlms_client *c, const ami_apdu *a, ami_wr *out,
                                 ami_dlms_result *res)
{
    res->layer = AMI_DLMS_LAYER_XDLMS;
    if (c->op == AMI__OP_READ) {
        if (a->tag != AMI_APDU_READ_RESPONSE)
            return AMI_E_PROTOCOL;
        return on_read(c, &a->u.read_response, out, res);
    }
    if (a->tag != AMI_APDU_WRITE_RESPONSE || a->u.write_response.count != 1)
        return AMI_E_PROTOCOL;
    const ami_sn_write_result *w = &a->u.write_response.list[0];
    if (w->kind == AMI_SN_WRITE_ERROR) {
        res->outcome = AMI_DLMS_DATA_ACCESS_RESULT;
        res->dar = w->dar;
    } else if (w->kind != AMI_SN_WRITE_SUCCESS) {
        return AMI_E_PROTOCOL;
    }
    return AMI_OK;
}
