/*
 * General block transfer in the client session (Green Book 9.3.10, 9.4.6.13).
 *
 * A request goes out in GBT when the server agreed GBT and the request is longer than the
 * server's max receive PDU (or always, with gbt_always): blocks numbered from 1, one per round
 * trip (streaming bit clear, so the server acknowledges each; sending fewer blocks than the
 * server's window is always allowed). The server's acknowledgement names the last block it
 * has; the next one (or a lost one again) follows.
 *
 * A response in GBT is reassembled in gbt_buf: blocks in sequence are kept, blocks after a gap
 * and duplicates are dropped. At the end of each window (streaming bit clear) or at a last
 * block that leaves a gap, the session acknowledges the last block it has in sequence with
 * its own next block number and its receive window; the server resends from there. Every GBT
 * APDU the session sends takes the next block number, acknowledgements included, and carries
 * last-block set once the request is complete.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "client_internal.h"

/* tag, block-control, block-number, block-number-ack, block-data length (at most 3 bytes). */
#define GBT_HEAD 9u

static uint8_t window(const ami_dlms_client *c)
{
    uint8_t w = c->cfg.gbt_window;
    return w == 0 ? 1 : w > 63 ? 63 : w;
}

static int put(ami_dlms_client *c, ami_wr *out, bool last, uint16_t bn, ami_view data)
{
    ami_apdu a;
    memset(&a, 0, sizeof a);
    a.tag = AMI_APDU_GENERAL_BLOCK_TRANSFER;
    a.u.gbt.last = last;
    a.u.gbt.streaming = false;
    a.u.gbt.window = window(c);
    a.u.gbt.block_number = bn;
    a.u.gbt.block_number_ack = c->gbt.peer_bn;
    a.u.gbt.data = data;
    size_t mark = out->len;
    int err = out->err;
    int rc = ami_apdu_encode(out, &a);
    if (rc == AMI_OK)
        rc = ami_wr_error(out);
    if (rc) {
        out->len = mark;
        out->err = err;
    }
    return rc;
}

/* Sends block k (1-based) of the request held in gbt_buf. */
static int send_block(ami_dlms_client *c, uint16_t k, ami_wr *out)
{
    size_t off = (size_t)(k - 1) * c->gbt.tx_chunk;
    size_t n = c->gbt.tx_len - off < c->gbt.tx_chunk ? c->gbt.tx_len - off : c->gbt.tx_chunk;
    int rc = put(c, out, k == c->gbt.tx_blocks, k, ami_view_of(c->cfg.gbt_buf + off, n));
    if (rc == AMI_OK && k > c->gbt.own_bn)
        c->gbt.own_bn = k;
    return rc;
}

static int send_ack(ami_dlms_client *c, ami_wr *out)
{
    int rc = put(c, out, true, (uint16_t)(c->gbt.own_bn + 1), ami_view_of(NULL, 0));
    if (rc == AMI_OK)
        c->gbt.own_bn++;
    return rc;
}

int ami__dlms_client_gbt_send(ami_dlms_client *c, const ami_apdu *req, ami_wr *out)
{
    memset(&c->gbt, 0, sizeof c->gbt);
    /* With a security context the request is ciphered when emitted: it goes whole (responses
     * in GBT are still reassembled, then deciphered). */
    if (!(c->server_conformance & AMI_CONF_GENERAL_BLOCK_TRANSFER) || !c->cfg.gbt_buf || c->cfg.sec)
        return AMI__GBT_PASS;
    size_t max = c->server_max_pdu ? c->server_max_pdu : 0xFFFF;
    ami_wr w;
    ami_wr_init(&w, c->cfg.gbt_buf, c->cfg.gbt_cap);
    int rc = ami_apdu_encode(&w, req);
    if (rc == AMI_OK)
        rc = ami_wr_error(&w);
    if (rc == AMI_E_NOSPACE) {
        ami_wr m;
        ami_wr_init(&m, NULL, 0);
        if (ami_apdu_encode(&m, req) == AMI_OK && m.len <= max)
            return AMI__GBT_PASS; /* fits the PDU: no need for the buffer */
        return AMI_E_TOO_LARGE;
    }
    if (rc)
        return rc;
    if (!c->cfg.gbt_always && w.len <= max)
        return AMI__GBT_PASS;
    if (max <= GBT_HEAD)
        return AMI_E_TOO_LARGE;
    size_t chunk = max - GBT_HEAD;
    size_t blocks = (w.len + chunk - 1) / chunk;
    if (blocks > 0xFFFF)
        return AMI_E_TOO_LARGE;
    c->gbt.tx_len = w.len;
    c->gbt.tx_chunk = chunk;
    c->gbt.tx_blocks = (uint16_t)blocks;
    rc = send_block(c, 1, out);
    if (rc)
        memset(&c->gbt, 0, sizeof c->gbt);
    return rc;
}

int ami__dlms_client_gbt_input(ami_dlms_client *c, const uint8_t **apdu, size_t *len, ami_wr *out)
{
    ami_apdu a;
    int rc = ami_apdu_decode(*apdu, *len, NULL, NULL, &a);
    if (rc)
        return rc;
    if (!(c->server_conformance & AMI_CONF_GENERAL_BLOCK_TRANSFER) || !c->cfg.gbt_buf)
        return AMI_E_PROTOCOL; /* GBT was not agreed */
    if (!out)
        return AMI_E_INVAL;
    const ami_gbt *b = &a.u.gbt;
    if (b->data.len == 0) {
        /* The server acknowledges our request blocks up to block-number-acknowledged. */
        if (b->block_number <= c->gbt.peer_bn)
            return AMI_E_AGAIN; /* duplicate */
        c->gbt.peer_bn = b->block_number;
        if (!c->gbt.tx_blocks)
            return AMI_E_AGAIN; /* nothing of ours outstanding */
        if (b->block_number_ack > c->gbt.tx_acked)
            c->gbt.tx_acked = b->block_number_ack;
        uint32_t next = (uint32_t)b->block_number_ack + 1;
        if (next > c->gbt.tx_blocks)
            return AMI_E_AGAIN; /* all of it arrived: the response follows */
        rc = send_block(c, (uint16_t)next, out);
        return rc ? rc : AMI_E_AGAIN;
    }
    if (c->gbt.tx_blocks) {
        /* The response has begun: the request arrived whole; gbt_buf now reassembles. */
        c->gbt.tx_blocks = 0;
        c->gbt.tx_len = 0;
        c->gbt.rx_len = 0;
    }
    if (b->block_number == (uint16_t)(c->gbt.peer_bn + 1)) {
        if (b->data.len > c->cfg.gbt_cap - c->gbt.rx_len)
            return AMI_E_TOO_LARGE;
        memcpy(c->cfg.gbt_buf + c->gbt.rx_len, b->data.p, b->data.len);
        c->gbt.rx_len += b->data.len;
        c->gbt.peer_bn = b->block_number;
        c->gbt.blocks++;
        if (b->last) {
            *apdu = c->cfg.gbt_buf;
            *len = c->gbt.rx_len;
            c->gbt.rx_len = 0;
            return AMI_OK;
        }
    }
    /* A gap is dropped, a duplicate ignored; the window's end (or a last block after a gap) is
     * acknowledged with what arrived in sequence. */
    if (!b->streaming || b->last) {
        rc = send_ack(c, out);
        return rc ? rc : AMI_E_AGAIN;
    }
    return AMI_E_AGAIN;
}

int ami_dlms_client_gbt_retry(ami_dlms_client *c, ami_wr *out)
{
    if (!c || !out)
        return AMI_E_INVAL;
    if (c->state != AMI_DLMS_CLIENT_BUSY || !c->cfg.gbt_buf ||
        !(c->gbt.tx_blocks || c->gbt.blocks || c->gbt.own_bn))
        return AMI_E_STATE;
    if (c->gbt.tx_blocks && c->gbt.tx_acked < c->gbt.tx_blocks)
        return send_block(c, (uint16_t)(c->gbt.tx_acked + 1), out);
    return send_ack(c, out);
}
