/*
 * Profile generic (class 7, version 1; Blue Book 4.3.6): see ami/cosem_profile.h.
 *
 * The buffer answer is written row by row into the engine's writer: the array header is
 * reserved at its largest size (tag + 0x83 + 3 length bytes) and moved down once the number of
 * entries is known, so no entry is produced twice and nothing is staged elsewhere.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "ami/cosem_profile.h"
#include "ami/datetime.h"
#include "cosem/cosem_internal.h"
#include "cosem/cosem_util.h"

/* logical_name, buffer, capture_objects, capture_period, sort_method, sort_object,
 * entries_in_use, profile_entries: all read-only through the association. */
static const uint8_t pg_access[8] = {AMI_ACCESS_READ, AMI_ACCESS_READ, AMI_ACCESS_READ,
                                     AMI_ACCESS_READ, AMI_ACCESS_READ, AMI_ACCESS_READ,
                                     AMI_ACCESS_READ, AMI_ACCESS_READ};
/* buffer: selectors 1 (range_descriptor) and 2 (entry_descriptor). */
static const uint8_t pg_selectors[8] = {0, (1u << 1) | (1u << 2), 0, 0, 0, 0, 0, 0};

static ami_cosem_profile *state_of(const ami_cosem_obj *o)
{
    return (o && o->class_id == AMI_COSEM_PROFILE_GENERIC) ? o->state : NULL;
}

static int pg_check(const ami_cosem_store *s, const ami_cosem_obj *o)
{
    (void)s;
    const ami_cosem_profile *p = o->state;
    if (!p || !p->columns || p->ncolumns < 1 || p->ncolumns > AMI_COSEM_PROFILE_MAX_COLUMNS)
        return AMI_E_CONFIG;
    if (p->profile_entries < 1 || p->profile_entries > AMI_COSEM_PROFILE_MAX_ENTRIES)
        return AMI_E_CONFIG;
    if (p->sort_method != 0 && p->sort_method != AMI_COSEM_SORT_FIFO)
        return AMI_E_CONFIG; /* only FIFO is served */
    if (!p->ring == !p->source)
        return AMI_E_CONFIG; /* exactly one kind of buffer */
    if (p->source && (!p->source->entries || !p->source->rows))
        return AMI_E_CONFIG;
    if (p->ring && (p->row_size < 4 || p->row_size > 0xFFFFu + 2 ||
                    p->ring_cap / p->row_size < p->profile_entries))
        return AMI_E_CONFIG;
    if (p->ring && (p->head >= p->profile_entries || p->used > p->profile_entries))
        return AMI_E_CONFIG;
    return AMI_OK;
}

static uint32_t in_use(const ami_cosem_obj *o, const ami_cosem_profile *p)
{
    if (p->ring)
        return p->used;
    uint32_t n = p->source->entries(p->source->user, o);
    return n > p->profile_entries ? p->profile_entries : n;
}

uint32_t ami_cosem_profile_entries(const ami_cosem_obj *o)
{
    const ami_cosem_profile *p = state_of(o);
    return p ? in_use(o, p) : 0;
}

/* ---------------------------------------------------------------- stored ring */

static uint8_t *slot(const ami_cosem_profile *p, uint32_t i)
{
    uint32_t k = (uint32_t)(((uint64_t)p->head + i) % p->profile_entries);
    return p->ring + (size_t)k * p->row_size;
}

/* The slot the next entry goes to (the oldest one is dropped when full). */
static uint8_t *append_slot(ami_cosem_profile *p)
{
    if (p->used < p->profile_entries)
        return slot(p, p->used++);
    uint8_t *at = slot(p, 0);
    p->head = (p->head + 1) % p->profile_entries;
    return at;
}

/* True when row[0..len) is one structure of n elements and nothing else. */
static bool is_row(const uint8_t *row, size_t len, uint16_t n)
{
    ami_rd r;
    ami_rd_init(&r, row, len);
    uint8_t t;
    size_t cnt;
    if (ami_rd_u8(&r, &t) || t != AMI_AXDR_STRUCTURE || ami_axdr_get_length(&r, &cnt) || cnt != n)
        return false;
    for (size_t i = 0; i < cnt; i++)
        if (ami_axdr_skip(&r, NULL) != AMI_OK)
            return false;
    return ami_rd_left(&r) == 0;
}

int ami_cosem_profile_push(ami_cosem_obj *o, const uint8_t *row, size_t len)
{
    ami_cosem_profile *p = state_of(o);
    if (!p || !p->ring || !row || !is_row(row, len, p->ncolumns))
        return AMI_E_INVAL;
    if (len > p->row_size - 2)
        return AMI_E_NOSPACE;
    uint8_t *at = append_slot(p);
    ami_enc16be(at, (uint16_t)len);
    memcpy(at + 2, row, len);
    return AMI_OK;
}

void ami_cosem_profile_reset(ami_cosem_obj *o)
{
    ami_cosem_profile *p = state_of(o);
    if (p && p->ring) {
        p->head = p->used = 0;
        memset(p->ring, 0, (size_t)p->profile_entries * p->row_size);
    }
}

int ami_cosem_event_record(ami_cosem_obj *log, int64_t unix_s, int16_t tz, uint8_t status,
                           uint8_t code)
{
    uint8_t row[18];
    ami_wr w;
    ami_wr_init(&w, row, sizeof row);
    ami__cosem_put_struct(&w, 2);
    ami__cosem_put_datetime(&w, unix_s, tz, status);
    ami__cosem_put_u8(&w, AMI_AXDR_UNSIGNED, code);
    return ami_cosem_profile_push(log, row, w.len);
}

int ami_cosem_profile_capture(ami_cosem_store *s, ami_cosem_obj *o)
{
    ami_cosem_profile *p = state_of(o);
    /* o is the store's (or, for a shared table, a bound copy of it) */
    const ami_cosem_obj *own = s ? ami_cosem_store_find(s, &o->ln) : NULL;
    if (!p || !p->ring || !own || (own != o && !s->instance))
        return AMI_E_INVAL;
    /* The entry is built in a scratch buffer and committed only once complete, so a failed
     * capture leaves the buffer (and its oldest entry) as it was. */
    uint8_t tmp[AMI_COSEM_PROFILE_MAX_ROW];
    ami_wr w;
    ami_wr_init(&w, tmp, p->row_size - 2 < sizeof tmp ? p->row_size - 2 : sizeof tmp);
    static const ami_dlms_ctx ctx0 = {.state = AMI_DLMS_ASSOC_ASSOCIATED,
                                      .mechanism = AMI_ACSE_MECH_LOW};
    const ami_access_selection nosel = {false, 0, {NULL, 0}};
    ami__cosem_put_struct(&w, p->ncolumns);
    for (uint16_t i = 0; i < p->ncolumns; i++) {
        const ami_cosem_capture_def *c = &p->columns[i];
        ami_cosem_desc d = {c->class_id, c->ln, c->attr};
        size_t start = w.len;
        uint8_t dar = ami_cosem_store_ops.get(s, &d, &nosel, &ctx0, &w);
        if (ami_wr_error(&w))
            return AMI_E_NOSPACE;
        if (dar != AMI_DAR_SUCCESS)
            return AMI_E_REMOTE;
        if (c->data_index) {
            ami_view e;
            if (!ami__cosem_element(ami_view_of(tmp + start, w.len - start), c->data_index, &e))
                return AMI_E_REMOTE;
            memmove(tmp + start, e.p, e.len);
            w.len = start + e.len;
        }
    }
    uint8_t *at = append_slot(p);
    memcpy(at + 2, tmp, w.len);
    ami_enc16be(at, (uint16_t)w.len);
    return AMI_OK;
}

/* ---------------------------------------------------------------- buffer reads */

/* A value of the restricting column turned into a number that orders like it: integers by
 * value, date-times by instant. */
static bool key_of(ami_view v, int64_t *key)
{
    ami_rd r;
    ami_rd_init(&r, v.p, v.len);
    uint8_t t;
    if (ami_rd_u8(&r, &t))
        return false;
    uint8_t b8;
    uint16_t b16;
    uint32_t b32;
    uint64_t b64;
    switch (t) {
    case AMI_AXDR_INTEGER:
        return !ami_rd_u8(&r, &b8) && (*key = (int8_t)b8, true);
    case AMI_AXDR_UNSIGNED:
    case AMI_AXDR_ENUM:
        return !ami_rd_u8(&r, &b8) && (*key = b8, true);
    case AMI_AXDR_LONG:
        return !ami_rd_u16be(&r, &b16) && (*key = (int16_t)b16, true);
    case AMI_AXDR_LONG_UNSIGNED:
        return !ami_rd_u16be(&r, &b16) && (*key = b16, true);
    case AMI_AXDR_DOUBLE_LONG:
        return !ami_rd_u32be(&r, &b32) && (*key = (int32_t)b32, true);
    case AMI_AXDR_DOUBLE_LONG_UNSIGNED:
        return !ami_rd_u32be(&r, &b32) && (*key = b32, true);
    case AMI_AXDR_LONG64:
        return !ami_rd_u64be(&r, &b64) && (*key = (int64_t)b64, true);
    case AMI_AXDR_LONG64_UNSIGNED:
        return !ami_rd_u64be(&r, &b64) && b64 <= INT64_MAX && (*key = (int64_t)b64, true);
    case AMI_AXDR_OCTET_STRING:
    case AMI_AXDR_DATE_TIME: {
        size_t n = 12;
        const uint8_t *b;
        if (t == AMI_AXDR_OCTET_STRING && (ami_axdr_get_length(&r, &n) || n != 12))
            return false;
        ami_datetime dt;
        return !ami_rd_view(&r, 12, &b) && !ami_datetime_decode(b, &dt) &&
               !ami_datetime_to_unix(&dt, AMI_DT_ASSUME_UTC, key);
    }
    default:
        return false;
    }
}

typedef struct reader {
    ami_wr *out;
    uint16_t ncolumns;
    uint32_t n;    /* entries written */
    uint16_t nsel; /* columns written per entry (0: the whole entry) */
    uint8_t sel[AMI_COSEM_PROFILE_MAX_COLUMNS];
    int restrict_col; /* -1: no range filter */
    int64_t from, to;
    uint8_t dar; /* AMI_DAR_SUCCESS unless an entry could not be served */
} reader;

static bool on_row(void *ctx, const uint8_t *row, size_t len)
{
    reader *rd = ctx;
    ami_rd r;
    ami_rd_init(&r, row, len);
    uint8_t t;
    size_t cnt;
    ami_view col[AMI_COSEM_PROFILE_MAX_COLUMNS];
    if (ami_rd_u8(&r, &t) || t != AMI_AXDR_STRUCTURE || ami_axdr_get_length(&r, &cnt) ||
        cnt != rd->ncolumns)
        goto broken;
    for (size_t i = 0; i < cnt; i++) {
        size_t at = r.pos;
        if (ami_axdr_skip(&r, NULL) != AMI_OK)
            goto broken;
        col[i] = ami_view_of(row + at, r.pos - at);
    }
    if (rd->restrict_col >= 0) {
        int64_t k;
        if (!key_of(col[rd->restrict_col], &k) || k < rd->from || k > rd->to)
            return true; /* outside the range (or not comparable): not selected */
    }
    if (rd->n == UINT32_MAX)
        goto broken;
    if (!rd->nsel) {
        ami_wr_bytes(rd->out, row, len);
    } else {
        ami__cosem_put_struct(rd->out, rd->nsel);
        for (uint16_t i = 0; i < rd->nsel; i++)
            ami_wr_bytes(rd->out, col[rd->sel[i]].p, col[rd->sel[i]].len);
    }
    if (ami_wr_error(rd->out)) {
        rd->dar = AMI_DAR_OTHER_REASON; /* larger than the block buffer */
        return false;
    }
    rd->n++;
    return true;
broken:
    rd->dar = AMI_DAR_HARDWARE_FAULT; /* a producer wrote an entry that is not one */
    return false;
}

static uint8_t for_rows(const ami_cosem_obj *o, const ami_cosem_profile *p, uint32_t first,
                        uint32_t count, reader *rd)
{
    if (!count)
        return AMI_DAR_SUCCESS;
    if (p->source)
        return p->source->rows(p->source->user, o, first, count, on_row, rd);
    for (uint32_t i = first - 1; i < first - 1 + count; i++) {
        const uint8_t *at = slot(p, i);
        if (!on_row(rd, at + 2, ami_dec16be(at)))
            break;
    }
    return AMI_DAR_SUCCESS;
}

/* The column a capture_object_definition names, or -1. */
static int column_of(const ami_cosem_profile *p, uint16_t class_id, const ami_obis *ln, int8_t attr,
                     uint16_t data_index)
{
    for (uint16_t i = 0; i < p->ncolumns; i++) {
        const ami_cosem_capture_def *c = &p->columns[i];
        if (c->class_id == class_id && ami_obis_equal(&c->ln, ln) && c->attr == attr &&
            c->data_index == data_index)
            return i;
    }
    return -1;
}

/* selected_values: array of capture_object_definition; empty: every column. */
static bool parse_selected(const ami_cosem_profile *p, ami_view v, reader *rd)
{
    ami_rd r;
    ami_rd_init(&r, v.p, v.len);
    uint8_t t;
    size_t n;
    if (ami_rd_u8(&r, &t) || t != AMI_AXDR_ARRAY || ami_axdr_get_length(&r, &n) ||
        n > AMI_COSEM_PROFILE_MAX_COLUMNS)
        return false;
    for (size_t i = 0; i < n; i++) {
        uint8_t b[4];
        uint16_t cls, di;
        ami_obis ln;
        uint8_t attr;
        /* structure {long-unsigned, octet-string(6), integer, long-unsigned} */
        if (ami_rd_copy(&r, b, 2) || b[0] != AMI_AXDR_STRUCTURE || b[1] != 4 || ami_rd_u8(&r, &t) ||
            t != AMI_AXDR_LONG_UNSIGNED || ami_rd_u16be(&r, &cls) || ami_rd_copy(&r, b, 2) ||
            b[0] != AMI_AXDR_OCTET_STRING || b[1] != 6 || ami_rd_copy(&r, ln.v, 6) ||
            ami_rd_u8(&r, &t) || t != AMI_AXDR_INTEGER || ami_rd_u8(&r, &attr) ||
            ami_rd_u8(&r, &t) || t != AMI_AXDR_LONG_UNSIGNED || ami_rd_u16be(&r, &di))
            return false;
        int c = column_of(p, cls, &ln, (int8_t)attr, di);
        if (c < 0)
            return false;
        rd->sel[i] = (uint8_t)c;
    }
    rd->nsel = (uint16_t)n;
    return ami_rd_left(&r) == 0;
}

/* Reads the buffer with the selection sel into out (array of entries). */
static uint8_t read_buffer(const ami_cosem_obj *o, const ami_cosem_profile *p,
                           const ami_access_selection *sel, ami_wr *out)
{
    reader rd;
    memset(&rd, 0, sizeof rd);
    rd.out = out;
    rd.ncolumns = p->ncolumns;
    rd.restrict_col = -1;
    uint32_t used = in_use(o, p), first = 1, count = used;
    if (sel->present && sel->selector == 1) {
        ami_range_descriptor d;
        if (ami_range_descriptor_decode(sel->params, &d) != AMI_OK)
            return AMI_DAR_SCOPE_OF_ACCESS_VIOLATED;
        rd.restrict_col = column_of(p, d.restricting.class_id, &d.restricting.instance,
                                    d.restricting.id, d.data_index);
        if (rd.restrict_col < 0 || !key_of(d.from_value, &rd.from) || !key_of(d.to_value, &rd.to) ||
            rd.from > rd.to || !parse_selected(p, d.selected_values, &rd))
            return AMI_DAR_SCOPE_OF_ACCESS_VIOLATED;
        const ami_cosem_capture_def *rc = &p->columns[rd.restrict_col];
        if (p->source && p->source->locate && rd.restrict_col == 0 &&
            rc->class_id == AMI_COSEM_CLOCK && rc->attr == 2 && !rc->data_index) {
            uint32_t f = 1, c = used;
            p->source->locate(p->source->user, o, rd.from, rd.to, &f, &c);
            /* keep within the entries that exist */
            if (f >= 1 && f <= used) {
                first = f;
                count = c < used - f + 1 ? c : used - f + 1;
            } else {
                count = 0;
            }
        }
    } else if (sel->present && sel->selector == 2) {
        ami_entry_descriptor d;
        if (ami_entry_descriptor_decode(sel->params, &d) != AMI_OK)
            return AMI_DAR_SCOPE_OF_ACCESS_VIOLATED;
        uint32_t to = d.to_entry ? d.to_entry : UINT32_MAX;
        uint16_t tc = d.to_selected_value ? d.to_selected_value : p->ncolumns;
        if (d.from_entry < 1 || d.from_entry > to || d.from_selected_value < 1 ||
            d.from_selected_value > tc || tc > p->ncolumns)
            return AMI_DAR_SCOPE_OF_ACCESS_VIOLATED;
        first = d.from_entry;
        count = first > used ? 0 : (to < used ? to : used) - first + 1;
        if (d.from_selected_value != 1 || tc != p->ncolumns) {
            rd.nsel = (uint16_t)(tc - d.from_selected_value + 1);
            for (uint16_t i = 0; i < rd.nsel; i++)
                rd.sel[i] = (uint8_t)(d.from_selected_value - 1 + i);
        }
    } else if (sel->present) {
        return AMI_DAR_SCOPE_OF_ACCESS_VIOLATED;
    }
    /* array header at its largest: tag, 0x83, 3 length bytes (entries <= 1,000,000) */
    size_t head = out->len;
    ami_wr_u8(out, AMI_AXDR_ARRAY);
    ami_wr_u8(out, 0x83);
    ami_wr_u8(out, 0);
    ami_wr_u16be(out, 0);
    if (ami_wr_error(out))
        return AMI_DAR_OTHER_REASON;
    uint8_t dar = for_rows(o, p, first, count, &rd);
    if (dar == AMI_DAR_SUCCESS)
        dar = rd.dar;
    if (dar != AMI_DAR_SUCCESS)
        return dar;
    if (ami_wr_error(out))
        return AMI_DAR_OTHER_REASON;
    /* the real header, then the entries moved down behind it */
    uint8_t h[6];
    ami_wr hw;
    ami_wr_init(&hw, h, sizeof h);
    ami__cosem_put_array(&hw, rd.n);
    size_t body = head + 5, blen = out->len - body;
    if (out->p) {
        memcpy(out->p + head, h, hw.len);
        memmove(out->p + head + hw.len, out->p + body, blen);
    }
    out->len = head + hw.len + blen;
    return AMI_DAR_SUCCESS;
}

/* ---------------------------------------------------------------- attributes */

static void put_capture_def(ami_wr *out, const ami_cosem_capture_def *c)
{
    ami__cosem_put_struct(out, 4);
    ami__cosem_put_u16(out, AMI_AXDR_LONG_UNSIGNED, c->class_id);
    ami__cosem_put_octets(out, c->ln.v, 6);
    ami__cosem_put_u8(out, AMI_AXDR_INTEGER, (uint8_t)c->attr);
    ami__cosem_put_u16(out, AMI_AXDR_LONG_UNSIGNED, c->data_index);
}

static uint8_t pg_get(ami_cosem_store *s, ami_cosem_obj *o, uint8_t attr,
                      const ami_access_selection *sel, const ami_dlms_ctx *ctx, ami_wr *out)
{
    (void)s;
    (void)ctx;
    const ami_cosem_profile *p = o->state;
    if (attr == 2)
        return read_buffer(o, p, sel, out);
    if (sel->present)
        return AMI_DAR_SCOPE_OF_ACCESS_VIOLATED;
    switch (attr) {
    case 3:
        ami__cosem_put_array(out, p->ncolumns);
        for (uint16_t i = 0; i < p->ncolumns; i++)
            put_capture_def(out, &p->columns[i]);
        return AMI_DAR_SUCCESS;
    case 4:
        ami__cosem_put_u32(out, AMI_AXDR_DOUBLE_LONG_UNSIGNED, p->capture_period);
        return AMI_DAR_SUCCESS;
    case 5:
        ami__cosem_put_u8(out, AMI_AXDR_ENUM, AMI_COSEM_SORT_FIFO);
        return AMI_DAR_SUCCESS;
    case 6:
        put_capture_def(out, &p->sort_object);
        return AMI_DAR_SUCCESS;
    case 7:
        ami__cosem_put_u32(out, AMI_AXDR_DOUBLE_LONG_UNSIGNED, in_use(o, p));
        return AMI_DAR_SUCCESS;
    case 8:
        ami__cosem_put_u32(out, AMI_AXDR_DOUBLE_LONG_UNSIGNED, p->profile_entries);
        return AMI_DAR_SUCCESS;
    default:
        return AMI_DAR_OBJECT_UNDEFINED;
    }
}

/* reset (1) and capture (2), data ::= integer (0) (Blue Book 4.3.6). */
static uint8_t pg_action(ami_cosem_store *s, ami_cosem_obj *o, uint8_t id, ami_view params,
                         const ami_dlms_ctx *ctx, ami_wr *out)
{
    (void)ctx;
    (void)out;
    ami_cosem_profile *p = o->state;
    if (params.len && (params.len != 2 || params.p[0] != AMI_AXDR_INTEGER))
        return AMI_DAR_TYPE_UNMATCHED;
    if (!p->ring)
        return ami__cosem_obj_method(o, id, params, out);
    if (id == 1) {
        ami_cosem_profile_reset(o);
        return AMI_ACTION_SUCCESS;
    }
    if (id == 2)
        return ami_cosem_profile_capture(s, o) == AMI_OK ? AMI_ACTION_SUCCESS
                                                         : AMI_DAR_HARDWARE_FAULT;
    return AMI_ACTION_OTHER_REASON;
}

const ami__cosem_class ami__cosem_class_profile_generic = {
    .id = AMI_COSEM_PROFILE_GENERIC,
    .version = 1,
    .attrs = 8,
    .methods = 2,
    .access = pg_access,
    .selectors = pg_selectors,
    .check = pg_check,
    .get = pg_get,
    .action = pg_action,
};
