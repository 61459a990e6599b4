/*
 * A-XDR encoding of COSEM Data (ami/axdr.h), the value builders and the typed getters.
 * Encoding walks the tree with an explicit stack (at most AMI_AXDR_MAX_DEPTH frames) and writes
 * through ami_wr, so a caller's tree can never make it recurse or write out of bounds.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "axdr/axdr_internal.h"

void ami_axdr_put_length(ami_wr *w, size_t n)
{
    if (n < 0x80) {
        ami_wr_u8(w, (uint8_t)n);
    } else if (n <= 0xFF) {
        ami_wr_u8(w, 0x81);
        ami_wr_u8(w, (uint8_t)n);
    } else if (n <= 0xFFFF) {
        ami_wr_u8(w, 0x82);
        ami_wr_u16be(w, (uint16_t)n);
    } else if (n <= 0xFFFFFF) {
        ami_wr_u8(w, 0x83);
        ami_wr_u8(w, (uint8_t)(n >> 16));
        ami_wr_u16be(w, (uint16_t)n);
    } else if ((uint64_t)n <= 0xFFFFFFFFu) {
        ami_wr_u8(w, 0x84);
        ami_wr_u32be(w, (uint32_t)n);
    } else if (!w->err) {
        w->err = AMI_E_RANGE; /* A-XDR lengths have 4 bytes at most */
    }
}

/* ---------------------------------------------------------------- contents of one value */

static bool fits_signed(int64_t v, unsigned bytes)
{
    int64_t lim = (int64_t)1 << (8 * bytes - 1);
    return v >= -lim && v < lim;
}

/* Writes the contents (everything after the tag) of a value that is not a container. */
static int put_contents(ami_wr *w, const ami_axdr_value *v)
{
    uint64_t bits;
    switch (v->type) {
    case AMI_AXDR_NULL_DATA:
    case AMI_AXDR_DONT_CARE:
        return AMI_OK;
    case AMI_AXDR_BOOLEAN:
    case AMI_AXDR_BCD:
    case AMI_AXDR_UNSIGNED:
    case AMI_AXDR_ENUM:
        if (v->v.u > 0xFF)
            return AMI_E_RANGE;
        ami_wr_u8(w, (uint8_t)v->v.u);
        return AMI_OK;
    case AMI_AXDR_INTEGER:
        if (!fits_signed(v->v.i, 1))
            return AMI_E_RANGE;
        ami_wr_u8(w, (uint8_t)v->v.i);
        return AMI_OK;
    case AMI_AXDR_LONG:
        if (!fits_signed(v->v.i, 2))
            return AMI_E_RANGE;
        ami_wr_u16be(w, (uint16_t)v->v.i);
        return AMI_OK;
    case AMI_AXDR_LONG_UNSIGNED:
        if (v->v.u > 0xFFFF)
            return AMI_E_RANGE;
        ami_wr_u16be(w, (uint16_t)v->v.u);
        return AMI_OK;
    case AMI_AXDR_DOUBLE_LONG:
        if (!fits_signed(v->v.i, 4))
            return AMI_E_RANGE;
        ami_wr_u32be(w, (uint32_t)v->v.i);
        return AMI_OK;
    case AMI_AXDR_DOUBLE_LONG_UNSIGNED:
        if (v->v.u > 0xFFFFFFFFu)
            return AMI_E_RANGE;
        ami_wr_u32be(w, (uint32_t)v->v.u);
        return AMI_OK;
    case AMI_AXDR_LONG64:
    case AMI_AXDR_LONG64_UNSIGNED:
        ami_wr_u64be(w, v->v.u);
        return AMI_OK;
    case AMI_AXDR_FLOAT32:
        ami_wr_u32be(w, ami__axdr_double_to_f32(v->v.f));
        return AMI_OK;
    case AMI_AXDR_FLOAT64:
        memcpy(&bits, &v->v.f, sizeof bits);
        ami_wr_u64be(w, bits);
        return AMI_OK;
    case AMI_AXDR_DATE_TIME:
    case AMI_AXDR_DATE:
    case AMI_AXDR_TIME:
        if (v->count != (uint32_t)ami__axdr_fixed_size(v->type) || !v->v.bytes)
            return AMI_E_INVAL;
        ami_wr_bytes(w, v->v.bytes, v->count);
        return AMI_OK;
    case AMI_AXDR_OCTET_STRING:
    case AMI_AXDR_VISIBLE_STRING:
    case AMI_AXDR_UTF8_STRING:
        if (v->count && !v->v.bytes)
            return AMI_E_INVAL;
        ami_axdr_put_length(w, v->count);
        ami_wr_bytes(w, v->v.bytes, v->count);
        return AMI_OK;
    case AMI_AXDR_BIT_STRING: {
        size_t n = v->count / 8 + (v->count % 8 != 0);
        if (n && !v->v.bytes)
            return AMI_E_INVAL;
        ami_axdr_put_length(w, v->count);
        ami_wr_bytes(w, v->v.bytes, n);
        return AMI_OK;
    }
    default:
        return AMI_E_INVAL; /* containers are handled by the callers; unknown type */
    }
}

/* ---------------------------------------------------------------- compact-array */

struct cframe {
    const ami_axdr_value *val;  /* next element value */
    const ami_axdr_value *desc; /* its description */
    uint32_t left;
    bool array; /* every element has the same description */
};

/* Writes a TypeDescription tree (Green Book 9.5): tags, array counts as Unsigned16. */
static int put_desc(ami_wr *w, const ami_axdr_value *d)
{
    struct {
        const ami_axdr_value *next;
        uint32_t left;
    } st[AMI_AXDR_MAX_DEPTH];
    unsigned depth = 0;
    for (;;) {
        if (!d)
            return AMI_E_INVAL;
        int fs = ami__axdr_fixed_size(d->type);
        if (fs == -2 || d->type == AMI_AXDR_COMPACT_ARRAY)
            return AMI_E_INVAL;
        ami_wr_u8(w, d->type);
        uint32_t n = 0;
        if (d->type == AMI_AXDR_ARRAY) {
            if (d->count > 0xFFFF)
                return AMI_E_RANGE;
            ami_wr_u16be(w, (uint16_t)d->count);
            n = 1;
        } else if (d->type == AMI_AXDR_STRUCTURE) {
            ami_axdr_put_length(w, d->count);
            n = d->count;
        }
        if (n) {
            if (depth >= AMI_AXDR_MAX_DEPTH)
                return AMI_E_TOO_DEEP;
            st[depth].next = d->child;
            st[depth].left = n;
            depth++;
        } else if (d->type == AMI_AXDR_STRUCTURE && d->child) {
            return AMI_E_INVAL;
        }
        for (;;) {
            if (!depth)
                return AMI_OK;
            if (st[depth - 1].left == 0) {
                if (st[depth - 1].next)
                    return AMI_E_INVAL; /* more children than the count says */
                depth--;
                continue;
            }
            d = st[depth - 1].next;
            if (!d)
                return AMI_E_INVAL;
            st[depth - 1].next = d->next;
            st[depth - 1].left--;
            break;
        }
    }
}

/* Writes one element of compact contents: v as described by d, without tags. */
static int put_described(ami_wr *w, const ami_axdr_value *v, const ami_axdr_value *d)
{
    struct cframe st[AMI_AXDR_MAX_DEPTH];
    unsigned depth = 0;
    for (;;) {
        if (!v || !d || v->type != d->type)
            return AMI_E_INVAL;
        if (v->type == AMI_AXDR_ARRAY || v->type == AMI_AXDR_STRUCTURE) {
            if (v->count != d->count)
                return AMI_E_INVAL;
            if (v->count) {
                if (depth >= AMI_AXDR_MAX_DEPTH)
                    return AMI_E_TOO_DEEP;
                st[depth].val = v->child;
                st[depth].desc = d->child;
                st[depth].left = v->count;
                st[depth].array = v->type == AMI_AXDR_ARRAY;
                depth++;
            } else if (v->child) {
                return AMI_E_INVAL;
            }
        } else {
            int rc = put_contents(w, v);
            if (rc)
                return rc;
        }
        for (;;) {
            if (!depth)
                return AMI_OK;
            struct cframe *f = &st[depth - 1];
            if (f->left == 0) {
                if (f->val)
                    return AMI_E_INVAL;
                depth--;
                continue;
            }
            v = f->val;
            d = f->desc;
            if (!v || !d)
                return AMI_E_INVAL;
            f->val = v->next;
            if (!f->array)
                f->desc = d->next;
            f->left--;
            break;
        }
    }
}

static int put_elements(ami_wr *w, const ami_axdr_value *ca)
{
    const ami_axdr_value *e = ca->child;
    for (uint32_t i = 0; i < ca->count; i++) {
        if (!e)
            return AMI_E_INVAL;
        size_t before = w->len;
        int rc = put_described(w, e, ca->type_desc);
        if (rc)
            return rc;
        /* The contents carry no count: an element of no bytes (null-data, an empty array)
         * would vanish, and the decoder refuses such contents. Refuse to write them. */
        if (w->len == before && !w->err)
            return AMI_E_INVAL;
        e = e->next;
    }
    return e ? AMI_E_INVAL : AMI_OK;
}

static int put_compact(ami_wr *w, const ami_axdr_value *ca)
{
    int rc = put_desc(w, ca->type_desc);
    if (rc)
        return rc;
    /* The contents are an octet-string: measure them first for their length. */
    ami_wr m;
    ami_wr_init(&m, NULL, 0);
    if ((rc = put_elements(&m, ca)) != AMI_OK)
        return rc;
    if (m.err)
        return m.err;
    ami_axdr_put_length(w, m.len);
    return put_elements(w, ca);
}

/* ---------------------------------------------------------------- encode */

int ami_axdr_encode(ami_wr *w, const ami_axdr_value *v)
{
    struct {
        const ami_axdr_value *next;
        uint32_t left;
    } st[AMI_AXDR_MAX_DEPTH];
    unsigned depth = 0;
    if (!w || !v)
        return AMI_E_INVAL;
    for (;;) {
        int rc = AMI_OK;
        ami_wr_u8(w, v->type);
        if (v->type == AMI_AXDR_ARRAY || v->type == AMI_AXDR_STRUCTURE) {
            if (depth >= AMI_AXDR_MAX_DEPTH)
                return AMI_E_TOO_DEEP; /* as the decoder counts: empty containers too */
            ami_axdr_put_length(w, v->count);
            if (v->count) {
                st[depth].next = v->child;
                st[depth].left = v->count;
                depth++;
            } else if (v->child) {
                return AMI_E_INVAL;
            }
        } else if (v->type == AMI_AXDR_COMPACT_ARRAY) {
            rc = put_compact(w, v);
        } else {
            rc = put_contents(w, v);
        }
        if (rc)
            return rc;
        if (w->err)
            return w->err;
        for (;;) {
            if (!depth)
                return AMI_OK;
            if (st[depth - 1].left == 0) {
                if (st[depth - 1].next)
                    return AMI_E_INVAL; /* more elements than the count says */
                depth--;
                continue;
            }
            v = st[depth - 1].next;
            if (!v)
                return AMI_E_INVAL; /* fewer elements than the count says */
            st[depth - 1].next = v->next;
            st[depth - 1].left--;
            break;
        }
    }
}

/* ---------------------------------------------------------------- builders */

ami_axdr_value *ami_axdr_new(ami_arena *a, uint8_t type)
{
    if (!a)
        return NULL;
    ami_axdr_value *v = ami_arena_alloc(a, sizeof *v);
    if (v)
        v->type = type;
    return v;
}

int ami_axdr_append(ami_axdr_value *c, ami_axdr_value *child)
{
    if (!c || !child || child == c)
        return AMI_E_INVAL;
    if (c->type != AMI_AXDR_ARRAY && c->type != AMI_AXDR_STRUCTURE &&
        c->type != AMI_AXDR_COMPACT_ARRAY)
        return AMI_E_INVAL;
    if (c->count == UINT32_MAX)
        return AMI_E_RANGE;
    child->next = NULL;
    if (c->last)
        c->last->next = child;
    else
        c->child = child;
    c->last = child;
    c->count++;
    return AMI_OK;
}

ami_axdr_value *ami_axdr_new_int(ami_arena *a, uint8_t type, int64_t value)
{
    ami_axdr_value *v = ami_axdr_new(a, type);
    if (v)
        v->v.i = value;
    return v;
}

ami_axdr_value *ami_axdr_new_uint(ami_arena *a, uint8_t type, uint64_t value)
{
    ami_axdr_value *v = ami_axdr_new(a, type);
    if (v)
        v->v.u = value;
    return v;
}

ami_axdr_value *ami_axdr_new_bytes(ami_arena *a, uint8_t type, const void *bytes, uint32_t count)
{
    ami_axdr_value *v = ami_axdr_new(a, type);
    if (v) {
        v->v.bytes = (const uint8_t *)bytes;
        v->count = count;
    }
    return v;
}

/* ---------------------------------------------------------------- getters */

bool ami_axdr_is_signed(uint8_t type)
{
    return type == AMI_AXDR_INTEGER || type == AMI_AXDR_LONG || type == AMI_AXDR_DOUBLE_LONG ||
           type == AMI_AXDR_LONG64;
}

bool ami_axdr_is_unsigned(uint8_t type)
{
    return type == AMI_AXDR_UNSIGNED || type == AMI_AXDR_LONG_UNSIGNED ||
           type == AMI_AXDR_DOUBLE_LONG_UNSIGNED || type == AMI_AXDR_LONG64_UNSIGNED ||
           type == AMI_AXDR_ENUM || type == AMI_AXDR_BOOLEAN || type == AMI_AXDR_BCD;
}

int ami_axdr_get_i64(const ami_axdr_value *v, int64_t *out)
{
    if (!v || !out)
        return AMI_E_INVAL;
    if (ami_axdr_is_signed(v->type)) {
        *out = v->v.i;
        return AMI_OK;
    }
    if (ami_axdr_is_unsigned(v->type)) {
        if (v->v.u > INT64_MAX)
            return AMI_E_RANGE;
        *out = (int64_t)v->v.u;
        return AMI_OK;
    }
    return AMI_E_TYPE;
}

int ami_axdr_get_u64(const ami_axdr_value *v, uint64_t *out)
{
    if (!v || !out)
        return AMI_E_INVAL;
    if (ami_axdr_is_unsigned(v->type)) {
        *out = v->v.u;
        return AMI_OK;
    }
    if (ami_axdr_is_signed(v->type)) {
        if (v->v.i < 0)
            return AMI_E_RANGE;
        *out = (uint64_t)v->v.i;
        return AMI_OK;
    }
    return AMI_E_TYPE;
}

int ami_axdr_get_double(const ami_axdr_value *v, double *out)
{
    if (!v || !out)
        return AMI_E_INVAL;
    if (v->type == AMI_AXDR_FLOAT32 || v->type == AMI_AXDR_FLOAT64)
        *out = v->v.f;
    else if (ami_axdr_is_signed(v->type))
        *out = (double)v->v.i;
    else if (ami_axdr_is_unsigned(v->type))
        *out = (double)v->v.u;
    else
        return AMI_E_TYPE;
    return AMI_OK;
}

int ami_axdr_get_bytes(const ami_axdr_value *v, uint8_t type, const uint8_t **bytes, size_t *n)
{
    if (!v || !bytes || !n)
        return AMI_E_INVAL;
    if (v->type != type || (type != AMI_AXDR_OCTET_STRING && type != AMI_AXDR_VISIBLE_STRING &&
                            type != AMI_AXDR_UTF8_STRING && type != AMI_AXDR_DATE_TIME &&
                            type != AMI_AXDR_DATE && type != AMI_AXDR_TIME))
        return AMI_E_TYPE;
    *bytes = v->v.bytes;
    *n = v->count;
    return AMI_OK;
}

const ami_axdr_value *ami_axdr_child(const ami_axdr_value *v, uint32_t index)
{
    if (!v || (v->type != AMI_AXDR_ARRAY && v->type != AMI_AXDR_STRUCTURE &&
               v->type != AMI_AXDR_COMPACT_ARRAY))
        return NULL;
    if (index >= v->count)
        return NULL;
    const ami_axdr_value *c = v->child;
    while (c && index--)
        c = c->next;
    return c;
}

int ami_axdr_get_bool(const ami_axdr_value *v, bool *out)
{
    if (!v || !out)
        return AMI_E_INVAL;
    if (v->type != AMI_AXDR_BOOLEAN)
        return AMI_E_TYPE;
    *out = v->v.u != 0;
    return AMI_OK;
}

int ami_axdr_get_obis(const ami_axdr_value *v, ami_obis *out)
{
    if (!v || !out)
        return AMI_E_INVAL;
    if (v->type != AMI_AXDR_OCTET_STRING || v->count != 6 || !v->v.bytes)
        return AMI_E_TYPE;
    memcpy(out->v, v->v.bytes, 6);
    return AMI_OK;
}

int ami_axdr_get_datetime(const ami_axdr_value *v, ami_datetime *out)
{
    if (!v || !out)
        return AMI_E_INVAL;
    if ((v->type != AMI_AXDR_DATE_TIME && v->type != AMI_AXDR_OCTET_STRING) || v->count != 12 ||
        !v->v.bytes)
        return AMI_E_TYPE;
    return ami_datetime_decode(v->v.bytes, out);
}
