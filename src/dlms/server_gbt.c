/*
 * General block transfer in the server engine (Green Book 9.3.10 GBT service, 9.4.6.13 GBT
 * procedures): requests reassembled from blocks, responses sent in windows of blocks with
 * streaming, lost-block recovery driven by the client's block-number-acknowledged.
 *
 * Block numbering: every GBT APDU a party sends takes its next block number, acknowledgements
 * included; a data block with block number 1 starts a new transfer (the client numbers each
 * request from 1). The block-number-acknowledged of every APDU the server sends is the last
 * client block received in sequence. Blocks after a gap are discarded (the reassembly stays a
 * single bounded buffer); at the end of the client's window (streaming bit clear) or at its
 * last block the server acknowledges what it has, and the client resends from there. An empty
 * APDU from the client acknowledges the server's blocks up to its block-number-acknowledged:
 * the server sends the next window from the block after it, which is how lost blocks are
 * recovered. Empty APDUs with a block number already seen are duplicates and ignored.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "ami/dlms_server.h"
#include "server_internal.h"

/* tag, block-control, block-number, block-number-ack, block-data length (at most 3 bytes). */
#define GBT_HEAD 9u

static uint8_t own_window(const ami_dlms_assoc *a)
{
    uint8_t w = a->policy ? a->policy->gbt_window : 1;
    return w == 0 ? 1 : w > 63 ? 63 : w;
}

static bool negotiated(const ami_dlms_assoc *a)
{
    return a->ctx.state == AMI_DLMS_ASSOC_ASSOCIATED &&
           (a->ctx.conformance & AMI_CONF_GENERAL_BLOCK_TRANSFER) && a->gbt.rx && a->gbt.tx;
}

/* One GBT APDU into out. */
static int put_gbt(ami_dlms_assoc *a, uint8_t *out, size_t cap, bool last, bool streaming,
                   uint16_t bn, const uint8_t *data, size_t n)
{
    ami_wr w;
    ami_wr_init(&w, out, cap);
    ami_wr_u8(&w, AMI_APDU_GENERAL_BLOCK_TRANSFER);
    ami_wr_u8(&w, (uint8_t)((last ? 0x80 : 0) | (streaming ? 0x40 : 0) | own_window(a)));
    ami_wr_u16be(&w, bn);
    ami_wr_u16be(&w, a->gbt.peer_bn);
    ami_axdr_put_length(&w, n);
    if (n)
        ami_wr_bytes(&w, data, n);
    return ami__dlms_finish(a, &w);
}

/* Acknowledges the client's blocks up to peer_bn (no data of our own: last-block set). */
static int ack(ami_dlms_assoc *a, uint8_t *out, size_t cap)
{
    a->gbt.own_bn++;
    return put_gbt(a, out, cap, true, false, a->gbt.own_bn, NULL, 0);
}

static int send_block(ami_dlms_assoc *a, uint8_t *out, size_t cap, uint16_t bn)
{
    ami_dlms_gbt_state *g = &a->gbt;
    size_t off = (size_t)(bn - g->tx_first) * g->tx_chunk;
    size_t n = g->tx_len - off < g->tx_chunk ? g->tx_len - off : g->tx_chunk;
    bool last = bn == g->tx_last;
    bool streaming = !last && bn != g->tx_end;
    if (bn > g->own_bn)
        g->own_bn = bn;
    a->stats.blocks_out++;
    return put_gbt(a, out, cap, last, streaming, bn, a->gbt.tx + off, n);
}

/* Sends block `from` now and queues the rest of its window for ami_dlms_assoc_next(). */
static int send_window(ami_dlms_assoc *a, uint8_t *out, size_t cap, uint16_t from)
{
    ami_dlms_gbt_state *g = &a->gbt;
    uint8_t win = g->peer_window < own_window(a) ? g->peer_window : own_window(a);
    if (g->stream && g->stream < win)
        win = g->stream;
    if (win == 0)
        win = 1;
    uint32_t end = (uint32_t)from + win - 1;
    if (end > g->tx_last)
        end = g->tx_last;
    g->tx_end = (uint16_t)end;
    g->tx_next = from < end ? (uint16_t)(from + 1) : 0;
    return send_block(a, out, cap, from);
}

/* Starts sending the response held in gbt_tx[0..len). */
static int start_tx(ami_dlms_assoc *a, uint8_t *out, size_t cap, size_t len)
{
    ami_dlms_gbt_state *g = &a->gbt;
    size_t max = a->ctx.client_max_pdu < cap ? a->ctx.client_max_pdu : cap;
    if (max <= GBT_HEAD)
        return AMI_E_NOSPACE;
    size_t chunk = max - GBT_HEAD;
    size_t blocks = len ? (len + chunk - 1) / chunk : 1;
    if (blocks > 0xFFFFu - g->own_bn) {
        ami_wr w;
        ami_wr_init(&w, out, cap);
        return ami__dlms_exception(a, &w, AMI_STATE_ERROR_SERVICE_NOT_ALLOWED,
                                   AMI_SERVICE_ERROR_PDU_TOO_LONG);
    }
    a->stats.responses--; /* the engine counted the whole response; its blocks count instead */
    g->tx_chunk = chunk;
    g->tx_len = len;
    g->tx_first = (uint16_t)(g->own_bn + 1);
    g->tx_last = (uint16_t)(g->own_bn + blocks);
    return send_window(a, out, cap, g->tx_first);
}

int ami_dlms_assoc_set_gbt(ami_dlms_assoc *a, uint8_t *rx, size_t rx_cap, uint8_t *tx,
                           size_t tx_cap, uint8_t stream)
{
    if (!a || !rx || !tx)
        return AMI_E_INVAL;
    if (rx_cap < 16 || tx_cap < a->mem.block_cap + 16)
        return AMI_E_CONFIG;
    a->gbt.rx = rx;
    a->gbt.rx_cap = rx_cap;
    a->gbt.tx = tx;
    a->gbt.tx_cap = tx_cap;
    a->gbt.stream = stream;
    if (a->policy && a->policy->pre_established)
        ami_dlms_assoc_reset(a); /* re-established with GBT available */
    return AMI_OK;
}

int ami_dlms_assoc_next(ami_dlms_assoc *a, uint8_t *out, size_t cap)
{
    if (!a || !out)
        return AMI_E_INVAL;
    ami_dlms_gbt_state *g = &a->gbt;
    if (!g->tx_next || !g->tx_len)
        return 0;
    uint16_t bn = g->tx_next;
    g->tx_next = bn < g->tx_end ? (uint16_t)(bn + 1) : 0;
    return send_block(a, out, cap, bn);
}

static void new_transfer(ami_dlms_gbt_state *g)
{
    g->rx_active = false;
    g->rx_len = 0;
    g->tx_len = 0;
    g->tx_next = 0;
    g->own_bn = 0;
    g->peer_bn = 0;
}

void ami__dlms_gbt_reset(ami_dlms_assoc *a)
{
    new_transfer(&a->gbt);
    a->gbt.peer_window = 0;
}

static bool confirmed_request(uint8_t tag)
{
    return tag == AMI_APDU_GET_REQUEST || tag == AMI_APDU_SET_REQUEST ||
           tag == AMI_APDU_ACTION_REQUEST || tag == AMI_APDU_READ_REQUEST ||
           tag == AMI_APDU_WRITE_REQUEST;
}

/* A plain request while GBT is negotiated: served without the PDU clamp, its response sent
 * whole when it fits the client's PDU, else in GBT blocks (window 1: the client has not
 * announced one). */
static int plain_request(ami_dlms_assoc *a, const uint8_t *req, size_t len, uint8_t *out,
                         size_t cap)
{
    new_transfer(&a->gbt);
    if (len > a->ctx.server_max_pdu)
        return AMI__GBT_PASS; /* the engine answers pdu-too-long */
    int n = ami__dlms_assoc_serve(a, req, len, a->gbt.tx, a->gbt.tx_cap, false);
    if (n <= 0)
        return n;
    if ((size_t)n <= a->ctx.client_max_pdu && (size_t)n <= cap) {
        memcpy(out, a->gbt.tx, (size_t)n);
        return n;
    }
    a->gbt.peer_window = 1;
    return start_tx(a, out, cap, (size_t)n);
}

/* The request is complete in gbt_rx: serve it and send the response in blocks. */
static int complete(ami_dlms_assoc *a, uint8_t *out, size_t cap)
{
    ami_dlms_gbt_state *g = &a->gbt;
    g->rx_active = false;
    const uint8_t *req = a->gbt.rx;
    ami_wr w;
    ami_wr_init(&w, out, cap);
    if (!g->rx_len || !(confirmed_request(req[0]) || ami_apdu_is_ciphered(req[0]))) {
        /* GBT carries xDLMS requests, ciphered or not (no ACSE, no nested GBT, nothing
         * unconfirmed). */
        a->stats.malformed++;
        return ami__dlms_exception(a, &w, AMI_STATE_ERROR_SERVICE_NOT_ALLOWED,
                                   AMI_SERVICE_ERROR_OPERATION_NOT_POSSIBLE);
    }
    a->stats.requests--; /* counted as blocks already */
    int n = ami__dlms_assoc_serve(a, req, g->rx_len, a->gbt.tx, a->gbt.tx_cap, false);
    if (n <= 0)
        return n;
    return start_tx(a, out, cap, (size_t)n);
}

int ami__dlms_gbt_handle(ami_dlms_assoc *a, const uint8_t *req, size_t len, uint8_t *out,
                         size_t cap)
{
    if (!len || !negotiated(a))
        return AMI__GBT_PASS;
    if (req[0] != AMI_APDU_GENERAL_BLOCK_TRANSFER)
        return confirmed_request(req[0]) ? plain_request(a, req, len, out, cap) : AMI__GBT_PASS;
    ami_dlms_gbt_state *g = &a->gbt;
    a->stats.requests++;
    ami_wr w;
    ami_wr_init(&w, out, a->ctx.client_max_pdu < cap ? a->ctx.client_max_pdu : cap);
    ami_apdu apdu;
    if (ami_apdu_decode(req, len, NULL, NULL, &apdu) != AMI_OK) {
        a->stats.malformed++;
        return ami__dlms_exception(a, &w, AMI_STATE_ERROR_SERVICE_NOT_ALLOWED,
                                   AMI_SERVICE_ERROR_OPERATION_NOT_POSSIBLE);
    }
    const ami_gbt *b = &apdu.u.gbt;
    g->peer_window = b->window ? b->window : 1;
    if (b->data.len == 0) {
        /* An acknowledgement: the next window starts after block-number-acknowledged. */
        if (b->block_number <= g->peer_bn)
            return 0; /* duplicate */
        g->peer_bn = b->block_number;
        if (!g->tx_len || b->block_number_ack >= g->tx_last)
            return 0;
        uint16_t from = (uint16_t)(b->block_number_ack + 1);
        if (from < g->tx_first)
            from = g->tx_first;
        return send_window(a, out, cap, from);
    }
    a->stats.blocks_in++;
    if (b->block_number == 1) {
        new_transfer(g);
        g->rx_active = true;
    } else if (!g->rx_active) {
        /* A block of no transfer: the client lost track; refuse it. */
        return ami__dlms_exception(a, &w, AMI_STATE_ERROR_SERVICE_NOT_ALLOWED,
                                   AMI_SERVICE_ERROR_OPERATION_NOT_POSSIBLE);
    }
    if (b->block_number == (uint16_t)(g->peer_bn + 1)) {
        if (b->data.len > a->gbt.rx_cap - g->rx_len) {
            /* The request exceeds the reassembly buffer (the configured ceiling). */
            new_transfer(g);
            return ami__dlms_exception(a, &w, AMI_STATE_ERROR_SERVICE_NOT_ALLOWED,
                                       AMI_SERVICE_ERROR_PDU_TOO_LONG);
        }
        memcpy(a->gbt.rx + g->rx_len, b->data.p, b->data.len);
        g->rx_len += b->data.len;
        g->peer_bn = b->block_number;
        if (b->last)
            return complete(a, out, cap);
    }
    /* Otherwise a gap (discarded: the client resends after our acknowledgement) or a
     * duplicate (ignored). At the end of the client's window, or at its last block while a
     * block is missing, acknowledge what arrived in sequence. */
    if (!b->streaming || b->last)
        return ack(a, out, w.cap);
    return 0;
}
