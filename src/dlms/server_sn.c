/*
 * Short-name services in the server engine (Green Book 9.3.14-9.3.16 Read, Write,
 * UnconfirmedWrite; 9.1.4.2 and Blue Book 4.1.3 short-name referencing): names are resolved
 * to attributes and methods of the LN object store through base names computed from the
 * store's object list (ami_dlms_sn_resolve), and the Association SN object (class 12) is served
 * by the engine.
 *
 * Methods are reached as the Green Book maps them for SN: Read of a method's name invokes it
 * (parameterized-access carries the parameters) and returns its return data (null-data when it
 * has none); Write of a method's name invokes it with the written Data as parameters.
 * Read responses too long for the client's PDU (Green Book 9.3.14, Read with block transfer, when
 * block-transfer-with-get-or-read was agreed and GBT was not): a Read of one item whose Data does
 * not fit goes out as ReadResponse data-block-result { last-block, block-number, raw-data }
 * blocks numbered from 1, the raw data of all blocks being the encoded Data (as GET with
 * datablock, 9.4.6.4.2); the client asks each next block with a ReadRequest carrying one
 * block-number-access holding the number of the block it received. Any other number aborts the
 * transfer (data-access-error data-block-number-invalid); a block-number-access with no transfer
 * in progress is answered no-long-get-in-progress; any other request drops the transfer. A
 * multi-item Read that does not fit is refused (ConfirmedServiceError pdu-size). Requests sent
 * in blocks (read-data-block-access, write-data-block-access) are not served: each such item is
 * answered data-block-unavailable. With GBT negotiated, a long response goes out in GBT blocks
 * instead.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "ami/dlms_server.h"
#include "server_internal.h"

/* Confirmed-ServiceError (Green Book 9.5): read [5] / write [6], ServiceError service [3]:
 * pdu-size (1), service-unsupported (2). */
enum { CSE_READ = 5, CSE_WRITE = 6, SE_SERVICE = 3, SE_PDU_SIZE = 1, SE_UNSUPPORTED = 2 };

/* The Association SN object the engine serves: class 12 version 0 (logical_name, object_list). */
static const ami_dlms_object assoc_sn = {
    AMI_DLMS_CLASS_ASSOCIATION_SN, 0, {{0, 0, 40, 0, 0, 255}}, 2, 0};

uint16_t ami_dlms_sn_method_offset(uint16_t class_id, uint8_t attr_count)
{
    switch (class_id) {
    case 3: /* Register: reset at x + 0x28 */
        return 0x28;
    case 4: /* Extended register */
        return 0x38;
    case 5: /* Demand register */
        return 0x48;
    case 7: /* Profile generic */
        return 0x58;
    case 8: /* Clock: adjust_to_quarter at x + 0x60 */
        return 0x60;
    case 12: /* Association SN */
        return 0x20;
    default:
        return (uint16_t)(8u * attr_count);
    }
}

/* Bytes of name space an object takes (a multiple of 8, at least 8). */
static uint32_t span(const ami_dlms_object *o)
{
    uint32_t s = 8u * o->attr_count;
    if (o->method_count) {
        uint32_t m = ami_dlms_sn_method_offset(o->class_id, o->attr_count) + 8u * o->method_count;
        if (m > s)
            s = m;
    }
    return s ? s : 8;
}

static bool within(const ami_dlms_object *o, uint16_t base, uint16_t name, ami_dlms_sn_target *out)
{
    if (name < base || (uint32_t)(name - base) >= span(o))
        return false;
    uint32_t off = (uint32_t)(name - base);
    if (off % 8)
        return false;
    out->base = base;
    out->object = *o;
    if (off < 8u * o->attr_count) {
        out->method = false;
        out->id = (uint8_t)(off / 8 + 1);
        return true;
    }
    uint32_t moff = ami_dlms_sn_method_offset(o->class_id, o->attr_count);
    if (off < moff || (off - moff) / 8 >= o->method_count)
        return false;
    out->method = true;
    out->id = (uint8_t)((off - moff) / 8 + 1);
    return true;
}

bool ami_dlms_sn_resolve(const ami_dlms_server *s, const ami_dlms_ctx *ctx, uint16_t name,
                         ami_dlms_sn_target *out)
{
    if (!s || !out)
        return false;
    if (name >= AMI_DLMS_SN_ASSOCIATION_BASE)
        return within(&assoc_sn, AMI_DLMS_SN_ASSOCIATION_BASE, name, out);
    const ami_dlms_store_ops *ops = s->cfg.ops;
    if (!ops->next_object)
        return false;
    size_t cursor = 0;
    uint32_t base = AMI_DLMS_SN_FIRST_BASE;
    ami_dlms_object o;
    /* Bounded by the store's list and by the name space below the Association SN object. */
    while (base < AMI_DLMS_SN_ASSOCIATION_BASE &&
           ops->next_object(s->cfg.store, &cursor, ctx, &o)) {
        if (o.class_id == 15) /* Association LN has no place in an SN context */
            continue;
        uint32_t n = span(&o);
        if (base + n > AMI_DLMS_SN_ASSOCIATION_BASE)
            return false;
        if (name < base + n)
            return within(&o, (uint16_t)base, name, out);
        base += n;
    }
    return false;
}

/* Association SN object_list (Blue Book 4.4.4, attribute 2): array of structure { base_name
 * long, class_id long-unsigned, version unsigned, logical_name octet-string }. */
static uint8_t object_list(ami_dlms_assoc *a, ami_wr *out)
{
    const ami_dlms_store_ops *ops = a->srv->cfg.ops;
    size_t count = 1, cursor = 0;
    uint32_t base = AMI_DLMS_SN_FIRST_BASE;
    ami_dlms_object o;
    while (ops->next_object && base < AMI_DLMS_SN_ASSOCIATION_BASE &&
           ops->next_object(a->srv->cfg.store, &cursor, &a->ctx, &o)) {
        if (o.class_id == 15)
            continue;
        base += span(&o);
        if (base <= AMI_DLMS_SN_ASSOCIATION_BASE)
            count++;
    }
    ami_wr_u8(out, AMI_AXDR_ARRAY);
    ami_axdr_put_length(out, count);
    cursor = 0;
    base = AMI_DLMS_SN_FIRST_BASE;
    for (size_t i = 0; i < count; i++) {
        uint16_t bn = AMI_DLMS_SN_ASSOCIATION_BASE;
        const ami_dlms_object *p = &assoc_sn;
        if (i + 1 < count) {
            do {
                (void)ops->next_object(a->srv->cfg.store, &cursor, &a->ctx, &o);
            } while (o.class_id == 15);
            bn = (uint16_t)base;
            base += span(&o);
            p = &o;
        }
        ami_wr_u8(out, AMI_AXDR_STRUCTURE);
        ami_wr_u8(out, 4);
        ami_wr_u8(out, AMI_AXDR_LONG);
        ami_wr_u16be(out, bn);
        ami_wr_u8(out, AMI_AXDR_LONG_UNSIGNED);
        ami_wr_u16be(out, p->class_id);
        ami_wr_u8(out, AMI_AXDR_UNSIGNED);
        ami_wr_u8(out, p->version);
        ami_wr_u8(out, AMI_AXDR_OCTET_STRING);
        ami_wr_u8(out, 6);
        ami_wr_bytes(out, p->ln.v, 6);
    }
    return ami_wr_error(out) ? AMI_DAR_OTHER_REASON : AMI_DAR_SUCCESS;
}

/* Reads the Association SN object's attribute. */
static uint8_t read_assoc_sn(ami_dlms_assoc *a, uint8_t id, uint8_t *buf, size_t cap, size_t *n)
{
    ami_wr w;
    ami_wr_init(&w, buf, cap);
    if (id == 1) {
        ami_wr_u8(&w, AMI_AXDR_OCTET_STRING);
        ami_wr_u8(&w, 6);
        ami_wr_bytes(&w, assoc_sn.ln.v, 6);
    } else if (object_list(a, &w) != AMI_DAR_SUCCESS) {
        return AMI_DAR_OTHER_REASON;
    }
    if (ami_wr_error(&w))
        return AMI_DAR_OTHER_REASON;
    *n = w.len;
    return AMI_DAR_SUCCESS;
}

/* One Read item into buf[0..cap): the Data (*n bytes) or a DAR. */
static uint8_t read_item(ami_dlms_assoc *a, const ami_sn_access *it, uint8_t *buf, size_t cap,
                         size_t *n)
{
    *n = 0;
    bool param = it->kind == AMI_SN_PARAMETERIZED_ACCESS;
    if (it->kind != AMI_SN_VARIABLE_NAME && !param)
        return AMI_DAR_DATA_BLOCK_UNAVAILABLE;
    if (param && !(a->ctx.conformance & AMI_CONF_PARAMETERIZED_ACCESS))
        return AMI_DAR_SCOPE_OF_ACCESS_VIOLATED;
    ami_dlms_sn_target t;
    if (!ami_dlms_sn_resolve(a->srv, &a->ctx, it->name, &t))
        return AMI_DAR_OBJECT_UNDEFINED;
    if (t.base == AMI_DLMS_SN_ASSOCIATION_BASE)
        return t.method ? AMI_DAR_READ_WRITE_DENIED : read_assoc_sn(a, t.id, buf, cap, n);
    ami_cosem_desc d = {t.object.class_id, t.object.ln, (int8_t)t.id};
    if (t.method) {
        uint8_t r = ami__dlms_invoke(a, &d, param ? it->params : ami_view_of(NULL, 0), buf, cap, n);
        if (r == AMI_DAR_SUCCESS && *n == 0 && cap) {
            buf[0] = AMI_AXDR_NULL_DATA; /* no return data */
            *n = 1;
        }
        return r;
    }
    ami_attr_sel sel = {d, {param, it->selector, it->params}};
    /* Parameterized access is SN's selective access: the engine's check looks at the
     * selective-access bit, so grant it for this call when parameterized access was agreed. */
    uint32_t saved = a->ctx.conformance;
    if (param)
        a->ctx.conformance |= AMI_CONF_SELECTIVE_ACCESS;
    uint8_t r = ami__dlms_read_attr(a, &sel, buf, cap, n);
    a->ctx.conformance = saved;
    return r;
}

static uint8_t write_item(ami_dlms_assoc *a, const ami_sn_access *it, ami_view data)
{
    if (it->kind != AMI_SN_VARIABLE_NAME)
        return AMI_DAR_DATA_BLOCK_UNAVAILABLE;
    ami_dlms_sn_target t;
    if (!ami_dlms_sn_resolve(a->srv, &a->ctx, it->name, &t))
        return AMI_DAR_OBJECT_UNDEFINED;
    if (t.base == AMI_DLMS_SN_ASSOCIATION_BASE)
        return AMI_DAR_READ_WRITE_DENIED;
    ami_cosem_desc d = {t.object.class_id, t.object.ln, (int8_t)t.id};
    if (!t.method)
        return ami__dlms_write_attr(a, &d, data);
    size_t n;
    return ami__dlms_invoke(a, &d, data, a->mem.block, a->mem.block_cap, &n);
}

static int service_error(ami_dlms_assoc *a, ami_wr *w, uint8_t service, uint8_t value)
{
    a->stats.rejected++;
    ami_wr_u8(w, AMI_APDU_CONFIRMED_SERVICE_ERROR);
    ami_wr_u8(w, service);
    ami_wr_u8(w, SE_SERVICE);
    ami_wr_u8(w, value);
    return ami__dlms_finish(a, w);
}

/* Bytes of the A-XDR length prefix of n (n < 2^16 here: a block fits a PDU). */
static size_t length_size(size_t n)
{
    return n < 0x80 ? 1 : n <= 0xFF ? 2 : 3;
}

/* ReadResponse with one data-access-error (Green Book 9.5 Read-Response). */
static int read_error(ami_dlms_assoc *a, ami_wr *w, uint8_t dar)
{
    a->stats.rejected++;
    ami_wr_u8(w, AMI_APDU_READ_RESPONSE);
    ami_wr_u8(w, 1);
    ami_wr_u8(w, AMI_SN_READ_ERROR);
    ami_wr_u8(w, dar);
    return ami__dlms_finish(a, w);
}

/* Sends the next data-block-result of a long Read (Green Book 9.3.14). */
static int send_read_block(ami_dlms_assoc *a, ami_wr *w)
{
    /* tag, count, choice, last-block, block-number (2), raw-data length (at most 3). */
    if (w->cap < 6 + 3 + 1) {
        ami__dlms_drop_blocks(a);
        return AMI_E_NOSPACE;
    }
    if (a->blk_number >= 0xFFFFu) {
        /* Unsigned16 block numbers exhausted (a PDU far too small for the value). */
        ami__dlms_drop_blocks(a);
        return read_error(a, w, AMI_DAR_LONG_GET_ABORTED);
    }
    size_t left = a->blk_len - a->blk_off;
    size_t avail = w->cap - 6;
    size_t chunk = left < avail ? left : avail;
    while (chunk && chunk + length_size(chunk) > avail)
        chunk--;
    bool last = chunk == left;
    a->blk_number++;
    ami_wr_u8(w, AMI_APDU_READ_RESPONSE);
    ami_wr_u8(w, 1);
    ami_wr_u8(w, AMI_SN_READ_DATA_BLOCK);
    ami_wr_u8(w, last ? 1 : 0);
    ami_wr_u16be(w, (uint16_t)a->blk_number);
    ami_axdr_put_length(w, chunk);
    ami_wr_bytes(w, a->mem.block + a->blk_off, chunk);
    a->blk_off += chunk;
    a->stats.blocks_out++;
    if (last)
        ami__dlms_drop_blocks(a);
    return ami__dlms_finish(a, w);
}

/* ReadRequest with one block-number-access: the client received block `number` and asks for the
 * next one. */
static int next_read_block(ami_dlms_assoc *a, uint16_t number, ami_wr *w)
{
    if (a->blk_kind != BLK_READ_OUT)
        return read_error(a, w, AMI_DAR_NO_LONG_GET_IN_PROGRESS);
    if (number != a->blk_number) {
        /* Another block than the last one sent (lost, repeated, out of order): abort. */
        ami__dlms_drop_blocks(a);
        return read_error(a, w, AMI_DAR_DATA_BLOCK_NUMBER_INVALID);
    }
    return send_read_block(a, w);
}

static int handle_read(ami_dlms_assoc *a, const ami_sn_request *q, ami_wr *w)
{
    if (q->count == 1 && q->list[0].kind == AMI_SN_BLOCK_NUMBER_ACCESS)
        return next_read_block(a, q->list[0].block_number, w);
    ami__dlms_drop_blocks(a);
    /* The results are built in the block buffer, each Data in place (as GET-with-list). */
    ami_wr b;
    ami_wr_init(&b, a->mem.block, a->mem.block_cap);
    ami_axdr_put_length(&b, q->count);
    for (uint32_t i = 0; i < q->count && !ami_wr_error(&b); i++) {
        size_t n = 0, at = b.len;
        uint8_t dar = AMI_DAR_OTHER_REASON;
        if (b.cap - b.len > 2)
            dar = read_item(a, &q->list[i], a->mem.block + at + 1, b.cap - at - 1, &n);
        if (dar == AMI_DAR_SUCCESS) {
            ami_wr_u8(&b, AMI_SN_READ_DATA);
            ami_wr_reserve(&b, n);
        } else {
            ami_wr_u8(&b, AMI_SN_READ_ERROR);
            ami_wr_u8(&b, dar);
        }
    }
    if (ami_wr_error(&b))
        return service_error(a, w, CSE_READ, SE_PDU_SIZE);
    if (1 + b.len <= w->cap) {
        ami_wr_u8(w, AMI_APDU_READ_RESPONSE);
        ami_wr_bytes(w, a->mem.block, b.len);
        return ami__dlms_finish(a, w);
    }
    /* Too long for the client's PDU: one Data goes out in data-block-result blocks when block
     * transfer with Read was agreed (its count is 1, one byte, then the choice). */
    if (q->count != 1 || a->mem.block[1] != AMI_SN_READ_DATA ||
        !(a->ctx.conformance & AMI_CONF_BLOCK_TRANSFER_WITH_GET_OR_READ))
        return service_error(a, w, CSE_READ, SE_PDU_SIZE);
    memmove(a->mem.block, a->mem.block + 2, b.len - 2);
    a->blk_kind = BLK_READ_OUT;
    a->blk_len = b.len - 2;
    a->blk_off = 0;
    a->blk_number = 0;
    return send_read_block(a, w);
}

int ami__dlms_sn_handle(ami_dlms_assoc *a, const uint8_t *req, size_t len, ami_wr *w)
{
    uint8_t tag = req[0];
    bool unconfirmed = tag == AMI_APDU_UNCONFIRMED_WRITE_REQUEST;
    uint8_t service = tag == AMI_APDU_READ_REQUEST ? CSE_READ : CSE_WRITE;
    uint32_t need = tag == AMI_APDU_READ_REQUEST    ? AMI_CONF_READ
                    : tag == AMI_APDU_WRITE_REQUEST ? AMI_CONF_WRITE
                                                    : AMI_CONF_UNCONFIRMED_WRITE;
    if (!(a->ctx.conformance & need)) {
        if (unconfirmed) {
            a->stats.rejected++;
            return 0;
        }
        return service_error(a, w, service, SE_UNSUPPORTED);
    }
    ami_arena arena;
    ami_arena_init(&arena, a->mem.scratch, a->mem.scratch ? a->mem.scratch_cap : 0);
    ami_apdu_opts opts = {.limits = &a->srv->lim, .lenient = 0};
    ami_apdu apdu;
    int rc = ami_apdu_decode(req, len, &arena, &opts, &apdu);
    const ami_sn_request *q = &apdu.u.sn_request;
    if (rc == AMI_OK && tag != AMI_APDU_READ_REQUEST && q->count != q->data_count)
        rc = AMI_E_MALFORMED;
    if (rc != AMI_OK) {
        a->stats.malformed++;
        if (unconfirmed)
            return 0;
        uint8_t se = (rc == AMI_E_NOMEM || rc == AMI_E_TOO_LARGE)
                         ? AMI_SERVICE_ERROR_PDU_TOO_LONG
                         : AMI_SERVICE_ERROR_OPERATION_NOT_POSSIBLE;
        return ami__dlms_exception(a, w, AMI_STATE_ERROR_SERVICE_NOT_ALLOWED, se);
    }
    if (q->count > 1 && !(a->ctx.conformance & AMI_CONF_MULTIPLE_REFERENCES)) {
        if (unconfirmed)
            return 0;
        return service_error(a, w, service, SE_UNSUPPORTED);
    }
    if (tag == AMI_APDU_READ_REQUEST)
        return handle_read(a, q, w);
    ami__dlms_drop_blocks(a);
    if (unconfirmed) {
        for (uint32_t i = 0; i < q->count; i++)
            (void)write_item(a, &q->list[i], q->data[i]);
        return 0;
    }
    ami_wr_u8(w, AMI_APDU_WRITE_RESPONSE);
    ami_axdr_put_length(w, q->count);
    for (uint32_t i = 0; i < q->count; i++) {
        uint8_t dar = write_item(a, &q->list[i], q->data[i]);
        if (dar == AMI_DAR_SUCCESS) {
            ami_wr_u8(w, AMI_SN_WRITE_SUCCESS);
        } else {
            ami_wr_u8(w, AMI_SN_WRITE_ERROR);
            ami_wr_u8(w, dar);
        }
    }
    if (ami_wr_error(w)) {
        w->err = 0;
        w->len = 0;
        return service_error(a, w, CSE_WRITE, SE_PDU_SIZE);
    }
    return ami__dlms_finish(a, w);
}
