/*
 * Reference COSEM object store (ami/cosem.h): Data, Register, Clock and Association LN over a
 * caller-owned table. Blue Book references: 4.3.1 Data, 4.3.2 Register, 4.5.1 Clock,
 * 4.4.3 Association LN.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "ami/cosem.h"
#include "ami/datetime.h"

/* ---------------------------------------------------------------- classes */

typedef struct class_info {
    uint16_t id;
    uint8_t version, attrs, methods;
    const uint8_t *access; /* default attribute access (authenticated association) */
} class_info;

static const uint8_t data_access[2] = {AMI_ACCESS_READ, AMI_ACCESS_READ};
static const uint8_t register_access[3] = {AMI_ACCESS_READ, AMI_ACCESS_READ, AMI_ACCESS_READ};
/* Clock: logical_name, time (rw), time_zone (rw), status, daylight_savings_begin/end,
 * daylight_savings_deviation, daylight_savings_enabled, clock_base. */
static const uint8_t clock_access[9] = {
    AMI_ACCESS_READ, AMI_ACCESS_READ_WRITE, AMI_ACCESS_READ_WRITE, AMI_ACCESS_READ, AMI_ACCESS_READ,
    AMI_ACCESS_READ, AMI_ACCESS_READ,       AMI_ACCESS_READ,       AMI_ACCESS_READ};
/* Association LN version 1: 1..6 and 8 readable, 7 secret and 9 security_setup_reference
 * not served. */
static const uint8_t assoc_access[9] = {AMI_ACCESS_READ, AMI_ACCESS_READ, AMI_ACCESS_READ,
                                        AMI_ACCESS_READ, AMI_ACCESS_READ, AMI_ACCESS_READ,
                                        AMI_ACCESS_NONE, AMI_ACCESS_READ, AMI_ACCESS_NONE};

static const class_info classes[] = {
    {AMI_COSEM_DATA, 0, 2, 0, data_access},
    {AMI_COSEM_REGISTER, 0, 3, 1, register_access},
    {AMI_COSEM_CLOCK, 0, 9, 6, clock_access},
    {AMI_COSEM_ASSOCIATION_LN, 1, 9, 4, assoc_access},
};

static const class_info *class_of(uint16_t id)
{
    for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++)
        if (classes[i].id == id)
            return &classes[i];
    return NULL;
}

bool ami_cosem_class_info(uint16_t class_id, uint8_t *version, uint8_t *attrs, uint8_t *methods)
{
    const class_info *c = class_of(class_id);
    if (!c)
        return false;
    if (version)
        *version = c->version;
    if (attrs)
        *attrs = c->attrs;
    if (methods)
        *methods = c->methods;
    return true;
}

/* ---------------------------------------------------------------- store */

ami_cosem_obj *ami_cosem_store_find(ami_cosem_store *s, const ami_obis *ln)
{
    if (!s || !ln)
        return NULL;
    for (size_t i = 0; i < s->count; i++)
        if (ami_obis_equal(&s->objects[i].ln, ln))
            return &s->objects[i];
    return NULL;
}

int ami_cosem_store_init(ami_cosem_store *s, ami_cosem_obj *objects, size_t count,
                         const ami_cosem_clock_src *clock)
{
    if (!s || (count && !objects))
        return AMI_E_INVAL;
    memset(s, 0, sizeof *s);
    if (clock)
        s->clock = *clock;
    for (size_t i = 0; i < count; i++) {
        const ami_cosem_obj *o = &objects[i];
        if (!class_of(o->class_id) || (o->value && o->value_len > o->value_cap))
            return AMI_E_CONFIG;
        if (o->class_id == AMI_COSEM_CLOCK && !s->clock.now)
            return AMI_E_CONFIG;
        for (size_t j = 0; j < i; j++)
            if (ami_obis_equal(&objects[j].ln, &o->ln))
                return AMI_E_CONFIG;
    }
    s->objects = objects;
    s->count = count;
    return AMI_OK;
}

/* The object a descriptor names: logical name and class must both match (Green Book: a class
 * mismatch is object-undefined too). */
static ami_cosem_obj *lookup(ami_cosem_store *s, const ami_cosem_desc *ref)
{
    ami_cosem_obj *o = ami_cosem_store_find(s, &ref->instance);
    return (o && o->class_id == ref->class_id) ? o : NULL;
}

/* Public (unauthenticated) associations lose write access (Blue Book 4.4.3 modes). */
static uint8_t public_mode(uint8_t mode)
{
    switch (mode) {
    case AMI_ACCESS_READ_WRITE:
        return AMI_ACCESS_READ;
    case AMI_ACCESS_AUTH_READ_WRITE:
        return AMI_ACCESS_AUTH_READ;
    case AMI_ACCESS_WRITE:
    case AMI_ACCESS_AUTH_WRITE:
        return AMI_ACCESS_NONE;
    default:
        return mode;
    }
}

static bool is_public(const ami_dlms_ctx *ctx)
{
    return ctx->mechanism == AMI_ACSE_MECH_NONE;
}

static uint8_t attr_mode(const ami_cosem_obj *o, const class_info *c, uint8_t attr,
                         const ami_dlms_ctx *ctx)
{
    const uint8_t *acc = o->attr_access ? o->attr_access : c->access;
    uint8_t m = acc[attr - 1];
    return is_public(ctx) ? public_mode(m) : m;
}

static uint8_t method_mode(const ami_cosem_obj *o, uint8_t method, const ami_dlms_ctx *ctx)
{
    if (!o->method_access || is_public(ctx))
        return AMI_METHOD_NONE;
    return o->method_access[method - 1];
}

static int store_access(void *self, const ami_cosem_desc *ref, bool method, const ami_dlms_ctx *ctx)
{
    ami_cosem_obj *o = lookup(self, ref);
    if (!o)
        return -1;
    const class_info *c = class_of(o->class_id);
    if (!c || ref->id < 1 || (uint8_t)ref->id > (method ? c->methods : c->attrs))
        return -1;
    return method ? method_mode(o, (uint8_t)ref->id, ctx) : attr_mode(o, c, (uint8_t)ref->id, ctx);
}

/* ---------------------------------------------------------------- encoders */

static void put_octets(ami_wr *w, const uint8_t *p, size_t n)
{
    ami_wr_u8(w, AMI_AXDR_OCTET_STRING);
    ami_axdr_put_length(w, n);
    ami_wr_bytes(w, p, n);
}

static void put_u8(ami_wr *w, uint8_t type, uint8_t v)
{
    ami_wr_u8(w, type);
    ami_wr_u8(w, v);
}

static void put_u16(ami_wr *w, uint8_t type, uint16_t v)
{
    ami_wr_u8(w, type);
    ami_wr_u16be(w, v);
}

/* The BER encoding of {2 16 756 5 8 <arc> <x>} without tag and length, as Association LN
 * attributes 4 and 6 carry it (octet-string). */
static void put_dlms_oid(ami_wr *w, uint8_t arc, uint8_t x)
{
    const uint8_t oid[7] = {0x60, 0x85, 0x74, 0x05, 0x08, arc, x};
    put_octets(w, oid, sizeof oid);
}

/* ---------------------------------------------------------------- Data, Register */

static uint8_t get_value(const ami_cosem_obj *o, ami_wr *out)
{
    if (o->read)
        return o->read(o->user, o, out);
    if (!o->value || !o->value_len)
        return AMI_DAR_OBJECT_UNAVAILABLE;
    ami_wr_bytes(out, o->value, o->value_len);
    return AMI_DAR_SUCCESS;
}

static uint8_t set_value(ami_cosem_obj *o, ami_view data)
{
    if (o->read || !o->value)
        return AMI_DAR_READ_WRITE_DENIED; /* a computed value cannot be written */
    if (data.len > o->value_cap)
        return AMI_DAR_OTHER_REASON;
    /* A stored value keeps its type (Blue Book 4.3.1: the type is fixed by the instance). */
    if (o->value_len && data.p[0] != o->value[0])
        return AMI_DAR_TYPE_UNMATCHED;
    memcpy(o->value, data.p, data.len);
    o->value_len = data.len;
    return AMI_DAR_SUCCESS;
}

/* ---------------------------------------------------------------- Clock */

static uint8_t get_clock(ami_cosem_store *s, const ami_cosem_obj *o, uint8_t attr, ami_wr *out)
{
    uint8_t b[12];
    ami_datetime dt;
    switch (attr) {
    case 2: {
        int64_t now = s->clock.now(s->clock.user);
        if (ami_datetime_from_unix(now, o->time_zone, o->clock_status, 0, &dt) != AMI_OK)
            return AMI_DAR_HARDWARE_FAULT;
        ami_datetime_encode(&dt, b);
        put_octets(out, b, sizeof b);
        return AMI_DAR_SUCCESS;
    }
    case 3:
        put_u16(out, AMI_AXDR_LONG, (uint16_t)o->time_zone);
        return AMI_DAR_SUCCESS;
    case 4:
        put_u8(out, AMI_AXDR_UNSIGNED, o->clock_status);
        return AMI_DAR_SUCCESS;
    case 5:
    case 6: /* daylight_savings_begin / end: not used, every field not specified */
        ami_datetime_unspecified(&dt);
        ami_datetime_encode(&dt, b);
        put_octets(out, b, sizeof b);
        return AMI_DAR_SUCCESS;
    case 7: /* daylight_savings_deviation */
        put_u8(out, AMI_AXDR_INTEGER, 0);
        return AMI_DAR_SUCCESS;
    case 8: /* daylight_savings_enabled */
        put_u8(out, AMI_AXDR_BOOLEAN, 0);
        return AMI_DAR_SUCCESS;
    case 9: /* clock_base: (1) internal crystal */
        put_u8(out, AMI_AXDR_ENUM, 1);
        return AMI_DAR_SUCCESS;
    default:
        return AMI_DAR_OBJECT_UNDEFINED;
    }
}

static uint8_t set_clock(ami_cosem_store *s, ami_cosem_obj *o, uint8_t attr, ami_view data)
{
    ami_rd r;
    ami_rd_init(&r, data.p, data.len);
    uint8_t type = 0;
    (void)ami_rd_u8(&r, &type);
    if (attr == 3) {
        uint16_t tz;
        if (type != AMI_AXDR_LONG || ami_rd_u16be(&r, &tz) != AMI_OK)
            return AMI_DAR_TYPE_UNMATCHED;
        int16_t v = (int16_t)tz;
        if (v < -720 || v > 720)
            return AMI_DAR_OTHER_REASON;
        o->time_zone = v;
        return AMI_DAR_SUCCESS;
    }
    if (attr != 2)
        return AMI_DAR_READ_WRITE_DENIED;
    /* time: octet-string (SIZE(12)) date-time (Blue Book 4.5.1); the deviation in the value
     * gives its offset, unspecified means the clock's own time zone. */
    size_t n = 0;
    const uint8_t *b;
    if (type != AMI_AXDR_OCTET_STRING || ami_axdr_get_length(&r, &n) != AMI_OK || n != 12 ||
        ami_rd_view(&r, 12, &b) != AMI_OK)
        return AMI_DAR_TYPE_UNMATCHED;
    ami_datetime dt;
    if (ami_datetime_decode(b, &dt) != AMI_OK)
        return AMI_DAR_OTHER_REASON;
    if (dt.deviation == AMI_DT_DEVIATION_UNSPEC)
        dt.deviation = o->time_zone;
    int64_t t;
    if (ami_datetime_to_unix(&dt, 0, &t) != AMI_OK)
        return AMI_DAR_OTHER_REASON;
    if (!s->clock.set)
        return AMI_DAR_READ_WRITE_DENIED;
    return s->clock.set(s->clock.user, t);
}

/* ---------------------------------------------------------------- Association LN */

/* One object_list_element (Blue Book 4.4.3): {class_id, version, logical_name,
 * access_rights {attribute_access[], method_access[]}}. */
static void put_object(ami_wr *w, const ami_cosem_obj *o, const ami_dlms_ctx *ctx)
{
    const class_info *c = class_of(o->class_id);
    if (!c)
        return; /* not reached: ami_cosem_store_init checked every class */
    ami_wr_u8(w, AMI_AXDR_STRUCTURE);
    ami_wr_u8(w, 4);
    put_u16(w, AMI_AXDR_LONG_UNSIGNED, o->class_id);
    put_u8(w, AMI_AXDR_UNSIGNED, c->version);
    put_octets(w, o->ln.v, 6);
    ami_wr_u8(w, AMI_AXDR_STRUCTURE);
    ami_wr_u8(w, 2);
    ami_wr_u8(w, AMI_AXDR_ARRAY);
    ami_axdr_put_length(w, c->attrs);
    for (uint8_t i = 1; i <= c->attrs; i++) {
        ami_wr_u8(w, AMI_AXDR_STRUCTURE);
        ami_wr_u8(w, 3);
        put_u8(w, AMI_AXDR_INTEGER, i);
        put_u8(w, AMI_AXDR_ENUM, attr_mode(o, c, i, ctx));
        ami_wr_u8(w, AMI_AXDR_NULL_DATA); /* access_selectors: none supported */
    }
    ami_wr_u8(w, AMI_AXDR_ARRAY);
    ami_axdr_put_length(w, c->methods);
    for (uint8_t i = 1; i <= c->methods; i++) {
        ami_wr_u8(w, AMI_AXDR_STRUCTURE);
        ami_wr_u8(w, 2);
        put_u8(w, AMI_AXDR_INTEGER, i);
        put_u8(w, AMI_AXDR_ENUM, method_mode(o, i, ctx));
    }
}

static bool store_next(void *self, size_t *cursor, const ami_dlms_ctx *ctx, ami_dlms_object *obj)
{
    (void)ctx;
    ami_cosem_store *s = self;
    if (*cursor >= s->count)
        return false;
    const ami_cosem_obj *o = &s->objects[(*cursor)++];
    const class_info *c = class_of(o->class_id);
    if (!c)
        return false; /* not reached: ami_cosem_store_init checked every class */
    obj->class_id = o->class_id;
    obj->version = c->version;
    obj->ln = o->ln;
    obj->attr_count = c->attrs;
    obj->method_count = c->methods;
    return true;
}

static uint8_t get_association(ami_cosem_store *s, uint8_t attr, const ami_dlms_ctx *ctx,
                               ami_wr *out)
{
    switch (attr) {
    case 2: {
        ami_wr_u8(out, AMI_AXDR_ARRAY);
        ami_axdr_put_length(out, s->count);
        for (size_t i = 0; i < s->count && !ami_wr_error(out); i++)
            put_object(out, &s->objects[i], ctx);
        return AMI_DAR_SUCCESS;
    }
    case 3: /* associated_partners_id {client_SAP integer, server_SAP long-unsigned} */
        ami_wr_u8(out, AMI_AXDR_STRUCTURE);
        ami_wr_u8(out, 2);
        put_u8(out, AMI_AXDR_INTEGER, (uint8_t)ctx->client_sap);
        put_u16(out, AMI_AXDR_LONG_UNSIGNED, ctx->server_sap);
        return AMI_DAR_SUCCESS;
    case 4:
        put_dlms_oid(out, 1, ctx->context);
        return AMI_DAR_SUCCESS;
    case 5: { /* xDLMS_context_info */
        ami_wr_u8(out, AMI_AXDR_STRUCTURE);
        ami_wr_u8(out, 6);
        ami_wr_u8(out, AMI_AXDR_BIT_STRING);
        ami_wr_u8(out, 24);
        ami_wr_u8(out, (uint8_t)(ctx->conformance >> 16));
        ami_wr_u16be(out, (uint16_t)ctx->conformance);
        put_u16(out, AMI_AXDR_LONG_UNSIGNED, ctx->server_max_pdu);
        put_u16(out, AMI_AXDR_LONG_UNSIGNED, ctx->client_max_pdu);
        put_u8(out, AMI_AXDR_UNSIGNED, 6);
        put_u8(out, AMI_AXDR_INTEGER, 0);
        put_octets(out, NULL, 0);
        return AMI_DAR_SUCCESS;
    }
    case 6:
        put_dlms_oid(out, 2, ctx->mechanism);
        return AMI_DAR_SUCCESS;
    case 8:
        put_u8(out, AMI_AXDR_ENUM, ctx->state);
        return AMI_DAR_SUCCESS;
    default:
        return AMI_DAR_READ_WRITE_DENIED;
    }
}

/* ---------------------------------------------------------------- ops */

static uint8_t store_get(void *self, const ami_cosem_desc *ref, const ami_access_selection *sel,
                         const ami_dlms_ctx *ctx, ami_wr *out)
{
    ami_cosem_store *s = self;
    ami_cosem_obj *o = lookup(s, ref);
    if (!o)
        return AMI_DAR_OBJECT_UNDEFINED;
    if (sel->present)
        return AMI_DAR_SCOPE_OF_ACCESS_VIOLATED; /* no attribute here takes selective access */
    uint8_t attr = (uint8_t)ref->id;
    if (attr == 1) {
        put_octets(out, o->ln.v, 6);
        return AMI_DAR_SUCCESS;
    }
    switch (o->class_id) {
    case AMI_COSEM_DATA:
        return get_value(o, out);
    case AMI_COSEM_REGISTER:
        if (attr == 2)
            return get_value(o, out);
        ami_wr_u8(out, AMI_AXDR_STRUCTURE); /* scaler_unit */
        ami_wr_u8(out, 2);
        put_u8(out, AMI_AXDR_INTEGER, (uint8_t)o->scaler);
        put_u8(out, AMI_AXDR_ENUM, o->unit);
        return AMI_DAR_SUCCESS;
    case AMI_COSEM_CLOCK:
        return get_clock(s, o, attr, out);
    default:
        return get_association(s, attr, ctx, out);
    }
}

static uint8_t store_set(void *self, const ami_cosem_desc *ref, ami_view data,
                         const ami_dlms_ctx *ctx)
{
    (void)ctx;
    ami_cosem_store *s = self;
    ami_cosem_obj *o = lookup(s, ref);
    if (!o)
        return AMI_DAR_OBJECT_UNDEFINED;
    uint8_t attr = (uint8_t)ref->id;
    switch (o->class_id) {
    case AMI_COSEM_DATA:
    case AMI_COSEM_REGISTER:
        return attr == 2 ? set_value(o, data) : AMI_DAR_READ_WRITE_DENIED;
    case AMI_COSEM_CLOCK:
        return set_clock(s, o, attr, data);
    default:
        return AMI_DAR_READ_WRITE_DENIED;
    }
}

static uint8_t store_action(void *self, const ami_cosem_desc *ref, ami_view params,
                            const ami_dlms_ctx *ctx, ami_wr *out)
{
    (void)ctx;
    ami_cosem_obj *o = lookup(self, ref);
    if (!o)
        return AMI_DAR_OBJECT_UNDEFINED;
    /* The methods of these classes act on the meter model, which owns them: without a
     * callback a granted method answers other-reason rather than a silent success. */
    if (!o->method)
        return AMI_ACTION_OTHER_REASON;
    return o->method(o->user, o, (uint8_t)ref->id, params, out);
}

const ami_dlms_store_ops ami_cosem_store_ops = {
    .access = store_access,
    .get = store_get,
    .set = store_set,
    .action = store_action,
    .next_object = store_next,
};
