/*
 * Push setup (class 40, version 0; Blue Book 4.4.8.2): see ami/cosem_push.h.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "ami/apdu.h"
#include "ami/cosem_push.h"
#include "ami/datetime.h"
#include "cosem/cosem_util.h"

static const uint8_t push_access[7] = {
    AMI_ACCESS_READ,       AMI_ACCESS_READ_WRITE, AMI_ACCESS_READ_WRITE, AMI_ACCESS_READ_WRITE,
    AMI_ACCESS_READ_WRITE, AMI_ACCESS_READ_WRITE, AMI_ACCESS_READ_WRITE};

static int push_check(const ami_cosem_store *s, const ami_cosem_obj *o)
{
    (void)s;
    const ami_cosem_push *p = o->state;
    if (!p || (p->objects_cap && !p->objects) || p->objects_count > p->objects_cap ||
        (p->windows_cap && !p->windows) || p->windows_count > p->windows_cap ||
        p->destination_len > AMI_PUSH_DEST_MAX || !p->apdu || !p->apdu_cap)
        return AMI_E_CONFIG;
    return AMI_OK;
}

static uint8_t push_get(ami_cosem_store *s, ami_cosem_obj *o, uint8_t attr,
                        const ami_access_selection *sel, const ami_dlms_ctx *ctx, ami_wr *out)
{
    (void)s;
    (void)ctx;
    const ami_cosem_push *p = o->state;
    if (sel->present)
        return AMI_DAR_SCOPE_OF_ACCESS_VIOLATED;
    switch (attr) {
    case 2:
        ami__cosem_put_array(out, p->objects_count);
        for (size_t i = 0; i < p->objects_count; i++) {
            const ami_cosem_push_obj *e = &p->objects[i];
            ami__cosem_put_struct(out, 4);
            ami__cosem_put_u16(out, AMI_AXDR_LONG_UNSIGNED, e->class_id);
            ami__cosem_put_octets(out, e->ln.v, 6);
            ami__cosem_put_u8(out, AMI_AXDR_INTEGER, (uint8_t)e->attr);
            ami__cosem_put_u16(out, AMI_AXDR_LONG_UNSIGNED, e->data_index);
        }
        return AMI_DAR_SUCCESS;
    case 3:
        ami__cosem_put_struct(out, 3);
        ami__cosem_put_u8(out, AMI_AXDR_ENUM, p->transport);
        ami__cosem_put_octets(out, p->destination, p->destination_len);
        ami__cosem_put_u8(out, AMI_AXDR_ENUM, p->message);
        return AMI_DAR_SUCCESS;
    case 4:
        ami__cosem_put_array(out, p->windows_count);
        for (size_t i = 0; i < p->windows_count; i++) {
            ami__cosem_put_struct(out, 2);
            ami__cosem_put_octets(out, p->windows[i].start, 12);
            ami__cosem_put_octets(out, p->windows[i].end, 12);
        }
        return AMI_DAR_SUCCESS;
    case 5:
        ami__cosem_put_u16(out, AMI_AXDR_LONG_UNSIGNED, p->randomisation_start_interval);
        return AMI_DAR_SUCCESS;
    case 6:
        ami__cosem_put_u8(out, AMI_AXDR_UNSIGNED, p->number_of_retries);
        return AMI_DAR_SUCCESS;
    case 7:
        ami__cosem_put_u16(out, AMI_AXDR_LONG_UNSIGNED, p->repetition_delay);
        return AMI_DAR_SUCCESS;
    default:
        return AMI_DAR_OBJECT_UNDEFINED;
    }
}

/* One push_object_list element {class_id, logical_name, attribute_index, data_index}. */
static uint8_t object_elem(ami_rd *r, void *state, size_t i, bool store)
{
    ami_cosem_push *p = state;
    size_t m;
    uint16_t cid, di;
    uint8_t ai;
    ami_view ln;
    if (ami__cosem_rd_struct(r, &m, 4) != AMI_OK || m != 4 ||
        ami__cosem_rd_u16(r, AMI_AXDR_LONG_UNSIGNED, &cid) != AMI_OK ||
        ami__cosem_rd_octets(r, &ln) != AMI_OK || ln.len != 6 ||
        ami__cosem_rd_u8(r, AMI_AXDR_INTEGER, &ai) != AMI_OK ||
        ami__cosem_rd_u16(r, AMI_AXDR_LONG_UNSIGNED, &di) != AMI_OK)
        return AMI_DAR_TYPE_UNMATCHED;
    if (store) {
        p->objects[i] = (ami_cosem_push_obj){.class_id = cid, .attr = (int8_t)ai, .data_index = di};
        memcpy(p->objects[i].ln.v, ln.p, 6);
    }
    return AMI_DAR_SUCCESS;
}

/* One communication_window element {start, end}: two valid date-times. */
static uint8_t window_elem(ami_rd *r, void *state, size_t i, bool store)
{
    ami_cosem_push *p = state;
    size_t m;
    ami_view a, b;
    ami_datetime d;
    if (ami__cosem_rd_struct(r, &m, 2) != AMI_OK || m != 2 ||
        ami__cosem_rd_octets(r, &a) != AMI_OK || a.len != 12 ||
        ami__cosem_rd_octets(r, &b) != AMI_OK || b.len != 12)
        return AMI_DAR_TYPE_UNMATCHED;
    if (ami_datetime_decode(a.p, &d) != AMI_OK || ami_datetime_decode(b.p, &d) != AMI_OK)
        return AMI_DAR_OTHER_REASON;
    if (store) {
        memcpy(p->windows[i].start, a.p, 12);
        memcpy(p->windows[i].end, b.p, 12);
    }
    return AMI_DAR_SUCCESS;
}

static uint8_t push_set(ami_cosem_store *s, ami_cosem_obj *o, uint8_t attr, ami_view data,
                        const ami_dlms_ctx *ctx)
{
    (void)s;
    (void)ctx;
    ami_cosem_push *p = o->state;
    ami_rd r;
    ami_rd_init(&r, data.p, data.len);
    switch (attr) {
    case 2:
        return ami__cosem_set_array(&r, p->objects_cap, &p->objects_count, object_elem, p);
    case 3: {
        size_t n;
        uint8_t tr, msg;
        ami_view dst;
        if (ami__cosem_rd_struct(&r, &n, 3) != AMI_OK || n != 3 ||
            ami__cosem_rd_u8(&r, AMI_AXDR_ENUM, &tr) != AMI_OK ||
            ami__cosem_rd_octets(&r, &dst) != AMI_OK ||
            ami__cosem_rd_u8(&r, AMI_AXDR_ENUM, &msg) != AMI_OK || ami_rd_left(&r))
            return AMI_DAR_TYPE_UNMATCHED;
        if (dst.len > AMI_PUSH_DEST_MAX)
            return AMI_DAR_OTHER_REASON;
        p->transport = tr;
        memcpy(p->destination, dst.p, dst.len);
        p->destination_len = dst.len;
        p->message = msg;
        return AMI_DAR_SUCCESS;
    }
    case 4:
        return ami__cosem_set_array(&r, p->windows_cap, &p->windows_count, window_elem, p);
    case 5:
    case 7: {
        uint16_t v;
        if (ami__cosem_rd_u16(&r, AMI_AXDR_LONG_UNSIGNED, &v) != AMI_OK || ami_rd_left(&r))
            return AMI_DAR_TYPE_UNMATCHED;
        if (attr == 5)
            p->randomisation_start_interval = v;
        else
            p->repetition_delay = v;
        return AMI_DAR_SUCCESS;
    }
    case 6:
        if (ami__cosem_rd_u8(&r, AMI_AXDR_UNSIGNED, &p->number_of_retries) != AMI_OK ||
            ami_rd_left(&r))
            return AMI_DAR_TYPE_UNMATCHED;
        return AMI_DAR_SUCCESS;
    default:
        return AMI_DAR_READ_WRITE_DENIED;
    }
}

/* Is t inside window w? Both ends fully specified (else the window is skipped). */
static bool in_window(const ami_cosem_window *w, int64_t t, int16_t tz)
{
    ami_datetime a, b;
    int64_t ta, tb;
    if (ami_datetime_decode(w->start, &a) != AMI_OK || ami_datetime_decode(w->end, &b) != AMI_OK)
        return false;
    if (a.deviation == AMI_DT_DEVIATION_UNSPEC)
        a.deviation = tz;
    if (b.deviation == AMI_DT_DEVIATION_UNSPEC)
        b.deviation = tz;
    if (ami_datetime_to_unix(&a, 0, &ta) != AMI_OK || ami_datetime_to_unix(&b, 0, &tb) != AMI_OK)
        return false;
    return t >= ta && t <= tb;
}

uint8_t ami_cosem_push_run(ami_cosem_store *s, ami_cosem_obj *o, int64_t now, size_t *len)
{
    if (!s || !o || o->class_id != AMI_COSEM_PUSH_SETUP || !o->state)
        return AMI_ACTION_OTHER_REASON;
    ami_cosem_push *p = o->state;
    int16_t tz = ami__cosem_store_dev(s, now);
    if (p->windows_count) {
        bool open = false;
        for (size_t i = 0; i < p->windows_count && !open; i++)
            open = in_window(&p->windows[i], now, tz);
        if (!open)
            return AMI_DAR_TEMPORARY_FAILURE;
    }
    /* Data-Notification (Green Book 9.3.7, A-XDR): tag 0x0F, long-invoke-id-and-priority (4
     * bytes), date-time OCTET STRING (length 12 + the clock's date-time), then the body. The
     * header has a fixed length, so the body is built in place right after it. */
    enum { HEAD = 1 + 4 + 1 + 12 };
    if (p->apdu_cap <= HEAD)
        return AMI_ACTION_OTHER_REASON;
    ami_wr w;
    ami_wr_init(&w, p->apdu + HEAD, p->apdu_cap - HEAD);
    ami__cosem_put_struct(&w, p->objects_count);
    ami_access_selection nosel;
    memset(&nosel, 0, sizeof nosel);
    for (size_t i = 0; i < p->objects_count; i++) {
        const ami_cosem_push_obj *e = &p->objects[i];
        /* data_index selects one element of a structure / array value (0: all of it); it
         * needs one attribute. */
        if (e->attr < 0 || (e->data_index && e->attr == 0))
            return AMI_ACTION_OTHER_REASON;
        uint8_t first = (uint8_t)e->attr, last = first, n = 1;
        if (e->attr == 0) {
            if (!ami_cosem_class_info(e->class_id, NULL, &n, NULL))
                return AMI_ACTION_OTHER_REASON;
            first = 1;
            last = n;
            ami__cosem_put_struct(&w, n);
        }
        if (e->attr > 0 && !ami__cosem_id_valid(e->class_id, e->attr, false))
            return AMI_ACTION_OTHER_REASON;
        for (uint8_t a = first; a <= last && a; a++) {
            ami_cosem_desc d = {e->class_id, e->ln, (int8_t)a};
            size_t at = w.len;
            if (ami_cosem_store_ops.get(s, &d, &nosel, &ami__cosem_self_ctx, &w) != AMI_DAR_SUCCESS)
                return AMI_ACTION_OTHER_REASON;
            if (e->data_index && !ami_wr_error(&w)) {
                ami_view el;
                if (!ami__cosem_element(ami_view_of(w.p + at, w.len - at), e->data_index, &el))
                    return AMI_ACTION_OTHER_REASON;
                memmove(w.p + at, el.p, el.len);
                w.len = at + el.len;
            }
        }
    }
    if (ami_wr_error(&w))
        return AMI_ACTION_OTHER_REASON;
    size_t total = HEAD + w.len;

    ami_datetime now_dt;
    if (ami_datetime_from_unix(now, tz, 0, 0, &now_dt) != AMI_OK)
        ami_datetime_unspecified(&now_dt);
    p->invoke_id = (p->invoke_id + 1) & 0x00FFFFFFu; /* bits 0..23: the invoke-id */
    if (!p->invoke_id)
        p->invoke_id = 1;
    ami_wr_init(&w, p->apdu, HEAD);
    ami_wr_u8(&w, AMI_APDU_DATA_NOTIFICATION);
    ami_wr_u32be(&w, p->invoke_id);
    ami_wr_u8(&w, 12);
    uint8_t *dt = ami_wr_reserve(&w, 12);
    if (!dt)
        return AMI_ACTION_OTHER_REASON;
    ami_datetime_encode(&now_dt, dt);
    if (len)
        *len = total;
    if (!p->send)
        return AMI_ACTION_SUCCESS;
    p->pushed++;
    return p->send(p->user, p, p->apdu, total);
}

uint32_t ami_cosem_push_start_delay(const ami_cosem_push *p, uint32_t random)
{
    return p ? random % ((uint32_t)p->randomisation_start_interval + 1u) : 0;
}

bool ami_cosem_push_retry(const ami_cosem_push *p, unsigned failed, uint32_t *delay_s)
{
    if (!p || !failed || failed > p->number_of_retries)
        return false;
    /* version 2: min x (exponent / 100)^(n - 1) for the n-th retry, at most max (0: no
     * maximum); exponent 0 (versions 0 and 1) or 100: the same delay every time. Rounded down
     * at each step; bounded by the cap before it can overflow. */
    uint64_t cap = p->repetition_delay_max ? p->repetition_delay_max : UINT32_MAX;
    uint64_t d = p->repetition_delay;
    uint16_t e = p->repetition_delay_exponent;
    for (unsigned n = 1; n < failed && e && e != 100 && d && d < cap; n++)
        d = d * e / 100;
    if (d > cap)
        d = cap;
    if (delay_s)
        *delay_s = (uint32_t)d;
    return true;
}

static uint8_t push_action(ami_cosem_store *s, ami_cosem_obj *o, uint8_t id, ami_view params,
                           const ami_dlms_ctx *ctx, ami_wr *out)
{
    (void)ctx;
    (void)out;
    if (id != 1)
        return AMI_DAR_OBJECT_UNDEFINED;
    if (params.len && !ami__cosem_is_integer0(params))
        return AMI_DAR_TYPE_UNMATCHED;
    return ami_cosem_push_run(s, o, s->clock.now ? s->clock.now(s->clock.user) : 0, NULL);
}

const ami__cosem_class ami__cosem_class_push_setup = {
    .id = AMI_COSEM_PUSH_SETUP,
    .version = 0,
    .attrs = 7,
    .methods = 1,
    .access = push_access,
    .check = push_check,
    .get = push_get,
    .set = push_set,
    .action = push_action,
};
