/*
 * Encrypted P1 meters: Smarty general-glo-ciphering frames and DLMS data-notifications pushed
 * over M-Bus (ami/p1crypt.h). Ciphering is src/security's; this file adds the P1 policies and
 * the strict data-notification walk.
 *
 * The data-notification body is decoded with the A-XDR codec (ami/axdr.h) into a temporary
 * tree in the caller's arena, then walked iteratively with an explicit, bounded stack.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <inttypes.h>
#include <limits.h>

#include "ami/axdr.h"
#include "ami/bytes.h"
#include "ami/p1crypt.h"
#include "core/internal.h"

const uint8_t ami_p1_smarty_default_ak[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                              0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF};

#define DLMS_DATA_NOTIFICATION 0x0Fu
#define COSEM_DATE_TIME_LEN    12

/* A-XDR Data tags (Green Book 9.5, Data ::= CHOICE). */
enum {
    T_NULL = 0,
    T_ARRAY = 1,
    T_STRUCTURE = 2,
    T_BOOLEAN = 3,
    T_DOUBLE_LONG = 5,
    T_DOUBLE_LONG_UNSIGNED = 6,
    T_OCTET_STRING = 9,
    T_VISIBLE_STRING = 10,
    T_UTF8_STRING = 12,
    T_INTEGER = 15,
    T_LONG = 16,
    T_UNSIGNED = 17,
    T_LONG_UNSIGNED = 18,
    T_LONG64 = 20,
    T_LONG64_UNSIGNED = 21,
    T_ENUM = 22,
    T_DATE_TIME = 25,
    T_DATE = 26,
    T_TIME = 27,
};

/* Records an accepted counter; a failing persistence hook is logged, not fatal. */
static void record_counter(ami_replay *replay, const uint8_t st[8], uint32_t ic)
{
    if (!replay)
        return;
    int rc = ami_replay_accept(replay, st, ic);
    if (rc)
        ami__log(AMI_LOG_WARN, "p1: frame counter %" PRIu32 " accepted but not recorded: %s", ic,
                 ami_strerror(rc));
}

static void fill_info(ami_p1_frame_info *info, const ami_sec_apdu *a)
{
    if (!info)
        return;
    memcpy(info->system_title, a->system_title, AMI_SEC_SYSTEM_TITLE_LEN);
    info->frame_counter = a->ic;
    info->security_control = a->sc;
}

int ami_p1_smarty_decrypt(ami_sec_ctx *ctx, ami_replay *replay, const uint8_t *frame, size_t len,
                          uint8_t *out, size_t cap, size_t *out_len, size_t *consumed,
                          ami_p1_frame_info *info)
{
    if (!ctx || !out_len || (!frame && len))
        return AMI_E_INVAL;
    *out_len = 0;
    if (consumed)
        *consumed = 0;
    if (len && frame[0] != AMI_SEC_TAG_GENERAL_GLO)
        return AMI_E_PROTOCOL;
    ami_sec_apdu a;
    size_t used = 0;
    int rc = ami_sec_apdu_parse(frame, len, &a, &used);
    if (used > AMI_P1_SMARTY_MAX)
        return AMI_E_TOO_LARGE;
    if (consumed && (rc == AMI_OK || rc == AMI_E_TRUNCATED))
        *consumed = used; /* the frame's extent is known from here on */
    if (rc)
        return rc;
    const unsigned ae = AMI_SEC_SC_AUTH | AMI_SEC_SC_ENC;
    if ((a.sc & ae) != ae)
        return AMI_E_ACCESS; /* Smarty frames are always authenticated and encrypted */
    if (replay && (rc = ami_replay_check(replay, a.system_title, a.ic)) != 0)
        return rc;
    if ((rc = ami_sec_apdu_decrypt(ctx, &a, NULL, out, cap, out_len)) != 0)
        return rc;
    record_counter(replay, a.system_title, a.ic);
    fill_info(info, &a);
    return AMI_OK;
}

int ami_p1_smarty_encrypt(ami_sec_ctx *ctx, const uint8_t system_title[8], uint32_t frame_counter,
                          const uint8_t *telegram, size_t n, uint8_t *out, size_t cap,
                          size_t *out_len)
{
    if (!ctx || !system_title || !out || !out_len || (!telegram && n))
        return AMI_E_INVAL;
    *out_len = 0;
    /* tag, title (2 + 8), length (at most 5), SC + FC (5), tag (12) */
    if (n > AMI_P1_SMARTY_MAX - 32)
        return AMI_E_TOO_LARGE;
    ami_wr w;
    ami_wr_init(&w, out, cap);
    int rc = ami_sec_apdu_build(ctx, &w, AMI_SEC_TAG_GENERAL_GLO, system_title,
                                AMI_SEC_SC_AUTH | AMI_SEC_SC_ENC, frame_counter, telegram, n);
    if (rc != AMI_OK) {
        ami_wipe(out, cap < n ? cap : n); /* no partial ciphertext left behind */
        return rc;
    }
    *out_len = w.len;
    return AMI_OK;
}

/* ---------------------------------------------------------------- data-notification */

enum walk_state { IDLE, HAVE_OBIS, HAVE_VALUE };

typedef struct walker {
    ami_reading *out;
    size_t max;
    size_t count;
    size_t skipped;
    enum walk_state state;
    ami_reading *cur; /* out[count] while a reading is being built */
    bool has_body_time;
    ami_datetime body_time;
} walker;

static void finish(walker *w)
{
    if (w->state != HAVE_VALUE)
        return;
    w->count++; /* the reading was built in place */
    w->cur = NULL;
    w->state = IDLE;
}

/* Sets the value of the reading being built from a simple A-XDR value. */
static int set_value(ami_reading *r, const ami_axdr_value *v)
{
    switch (v->type) {
    case AMI_AXDR_NULL_DATA:
        r->kind = AMI_VALUE_NONE;
        return AMI_OK;
    case AMI_AXDR_BOOLEAN:
    case AMI_AXDR_UNSIGNED:
    case AMI_AXDR_LONG_UNSIGNED:
    case AMI_AXDR_DOUBLE_LONG_UNSIGNED:
    case AMI_AXDR_LONG64_UNSIGNED:
    case AMI_AXDR_ENUM:
        if (v->v.u > INT64_MAX)
            return AMI_E_RANGE;
        r->kind = AMI_VALUE_NUMBER;
        r->mantissa = (int64_t)v->v.u;
        return AMI_OK;
    case AMI_AXDR_INTEGER:
    case AMI_AXDR_LONG:
    case AMI_AXDR_DOUBLE_LONG:
    case AMI_AXDR_LONG64:
        r->kind = AMI_VALUE_NUMBER;
        r->mantissa = v->v.i;
        return AMI_OK;
    case AMI_AXDR_OCTET_STRING:
    case AMI_AXDR_VISIBLE_STRING:
    case AMI_AXDR_UTF8_STRING:
        r->kind = AMI_VALUE_STRING;
        r->str = v->v.bytes;
        r->str_len = v->count;
        return AMI_OK;
    case AMI_AXDR_DATE_TIME:
    case AMI_AXDR_DATE:
    case AMI_AXDR_TIME:
        /* Fixed-size COSEM date and time types (Blue Book 4.1.6.1): kept as their bytes. */
        r->kind = AMI_VALUE_STRING;
        r->str = v->v.bytes;
        r->str_len = v->type == AMI_AXDR_DATE_TIME ? 12 : v->type == AMI_AXDR_DATE ? 5 : 4;
        return AMI_OK;
    case AMI_AXDR_ARRAY:
    case AMI_AXDR_STRUCTURE:
    case AMI_AXDR_COMPACT_ARRAY:
        return AMI_E_TYPE;
    default:
        /* bit-string, BCD, floating point, don't-care: no exact decimal reading */
        return AMI_E_UNSUPPORTED;
    }
}

static int on_leaf(walker *w, const ami_axdr_value *v)
{
    if (w->state == HAVE_OBIS) {
        int rc = set_value(w->cur, v);
        if (rc)
            return rc;
        w->state = HAVE_VALUE;
        return AMI_OK;
    }
    finish(w); /* HAVE_VALUE with no scaler/unit: scale 0, no unit */
    if (v->type == AMI_AXDR_OCTET_STRING && v->count == 6) {
        if (w->count >= w->max)
            return AMI_E_NOSPACE;
        w->cur = &w->out[w->count];
        memset(w->cur, 0, sizeof(*w->cur));
        memcpy(w->cur->obis.v, v->v.bytes, 6);
        w->state = HAVE_OBIS;
    } else if ((v->type == AMI_AXDR_OCTET_STRING || v->type == AMI_AXDR_DATE_TIME) &&
               v->count == COSEM_DATE_TIME_LEN && w->count == 0 && !w->has_body_time) {
        int rc = ami_datetime_decode(v->v.bytes, &w->body_time);
        if (rc)
            return rc;
        w->has_body_time = true;
    } else {
        w->skipped++;
    }
    return AMI_OK;
}

/* After a value, a structure {integer scaler, enum unit} (Blue Book 4.3.2 scal_unit_type). */
static void set_scaler_unit(walker *w, const ami_axdr_value *scaler, const ami_axdr_value *unit)
{
    w->cur->scale = (int8_t)scaler->v.i;
    w->cur->dlms_unit = (uint8_t)unit->v.u;
    const char *text = ami_dlms_unit_text(w->cur->dlms_unit);
    size_t n = text ? strlen(text) : 0;
    if (n >= sizeof(w->cur->unit))
        n = sizeof(w->cur->unit) - 1; /* cannot happen with the static table */
    if (n)
        memcpy(w->cur->unit, text, n);
    w->cur->unit[n] = '\0';
    finish(w);
}

/* Pre-order walk of the body tree; siblings still to visit are kept on a bounded stack. */
static int walk_body(const ami_axdr_value *body, walker *w)
{
    const ami_axdr_value *stack[AMI_P1_NOTIFY_MAX_DEPTH + 2];
    size_t depth = 0;
    const ami_axdr_value *v = body;
    int rc;
    for (;;) {
        while (!v) {
            if (depth == 0)
                goto done;
            v = stack[--depth];
        }
        bool container = v->type == AMI_AXDR_ARRAY || v->type == AMI_AXDR_STRUCTURE;
        if (!container) {
            if ((rc = on_leaf(w, v)) != 0)
                return rc;
            v = v->next;
            continue;
        }
        if (w->state == HAVE_OBIS)
            return AMI_E_TYPE;
        const ami_axdr_value *c0 = v->child;
        if (w->state == HAVE_VALUE && v->type == AMI_AXDR_STRUCTURE && v->count == 2 &&
            c0->type == AMI_AXDR_INTEGER) {
            if (c0->next->type != AMI_AXDR_ENUM)
                return AMI_E_MALFORMED; /* {integer, not enum}: not a scaler_unit */
            set_scaler_unit(w, c0, c0->next);
            v = v->next;
            continue;
        }
        finish(w);
        if (!c0) { /* empty container */
            v = v->next;
            continue;
        }
        if (depth >= AMI_COUNTOF(stack))
            return AMI_E_TOO_DEEP; /* cannot happen: the decoder's depth limit is lower */
        stack[depth++] = v->next;
        v = c0;
    }
done:
    if (w->state == HAVE_OBIS)
        return AMI_E_MALFORMED; /* an OBIS code with no value */
    finish(w);
    return AMI_OK;
}

int ami_p1_notification_parse(const uint8_t *apdu, size_t len, ami_arena *arena,
                              ami_reading *readings, size_t max, ami_p1_notification *info)
{
    if (!info || !arena || (!apdu && len) || (!readings && max))
        return AMI_E_INVAL;
    memset(info, 0, sizeof(*info));
    ami_rd r;
    ami_rd_init(&r, apdu, len);
    uint8_t tag;
    int rc = ami_rd_u8(&r, &tag);
    if (rc)
        return rc;
    if (tag != DLMS_DATA_NOTIFICATION)
        return AMI_E_PROTOCOL;
    size_t n;
    const uint8_t *dt = NULL;
    if ((rc = ami_rd_u32be(&r, &info->invoke_id)) || (rc = ami_axdr_get_length(&r, &n)))
        return rc;
    if (n != 0 && n != COSEM_DATE_TIME_LEN)
        return AMI_E_MALFORMED;
    if ((rc = ami_rd_view(&r, n, &dt)) != 0)
        return rc;
    if (n) {
        if ((rc = ami_datetime_decode(dt, &info->time)) != 0)
            return rc;
        info->has_time = true;
    }
    ami_axdr_limits lim;
    ami_axdr_limits_default(&lim);
    lim.max_depth = AMI_P1_NOTIFY_MAX_DEPTH;
    size_t mark = arena->used;
    ami_axdr_value *body = NULL;
    rc = ami_axdr_decode(&r, arena, &lim, &body); /* a full arena: AMI_E_NOMEM (error.h) */
    if (rc == AMI_OK && ami_rd_left(&r) != 0)
        rc = AMI_E_MALFORMED; /* trailing bytes after the body */
    walker w;
    memset(&w, 0, sizeof(w));
    w.out = readings;
    w.max = max;
    if (rc == AMI_OK)
        rc = walk_body(body, &w);
    arena->used = mark; /* the tree is not needed any more: readings point into apdu */
    if (rc)
        return rc;
    const ami_datetime *t = info->has_time ? &info->time : w.has_body_time ? &w.body_time : NULL;
    for (size_t i = 0; t && i < w.count; i++) {
        readings[i].has_time = true;
        readings[i].time = *t;
    }
    info->count = w.count;
    info->skipped = w.skipped;
    return AMI_OK;
}

int ami_p1_dlms_readings(const ami_p1_dlms *c, const uint8_t *apdu, size_t len,
                         ami_reading *readings, size_t max, ami_p1_notification *info,
                         ami_p1_frame_info *frame)
{
    if (!c || !c->sec || !info || (!apdu && len))
        return AMI_E_INVAL;
    memset(info, 0, sizeof(*info));
    if (len && apdu[0] != AMI_SEC_TAG_GENERAL_GLO)
        return AMI_E_PROTOCOL;
    ami_sec_apdu a;
    size_t used = 0, plain_len = 0;
    int rc = ami_sec_apdu_parse(apdu, len, &a, &used);
    if (rc)
        return rc;
    if (used != len)
        return AMI_E_MALFORMED; /* the segments carried more than the APDU */
    if (c->replay && (rc = ami_replay_check(c->replay, a.system_title, a.ic)) != 0)
        return rc;
    if ((rc = ami_sec_apdu_decrypt(c->sec, &a, NULL, c->work, c->work_cap, &plain_len)) != 0)
        return rc;
    rc = ami_p1_notification_parse(c->work, plain_len, c->arena, readings, max, info);
    if (rc) {
        ami_wipe(c->work, plain_len);
        return rc;
    }
    record_counter(c->replay, a.system_title, a.ic);
    fill_info(frame, &a);
    return AMI_OK;
}

/* ---------------------------------------------------------------- plain DSMR entries */

int ami_p1_entry_reading(const ami_p1_object *obj, const ami_p1_entry *e, ami_reading *r)
{
    if (!obj || !e || !r)
        return AMI_E_INVAL;
    memset(r, 0, sizeof(*r));
    r->obis = obj->obis;
    const ami_p1_group *g = e->value;
    if (!g || g->type == AMI_P1_EMPTY) {
        r->kind = AMI_VALUE_NONE;
    } else if (g->type == AMI_P1_NUMBER) {
        r->kind = AMI_VALUE_NUMBER;
        r->mantissa = g->u.mantissa;
        r->scale = (int8_t)-g->decimals;
    } else {
        r->kind = AMI_VALUE_STRING;
        r->str = (const uint8_t *)g->text;
        r->str_len = g->text_len;
    }
    if (e->unit && e->unit_len) {
        if (e->unit_len >= sizeof(r->unit))
            return AMI_E_TOO_LARGE;
        memcpy(r->unit, e->unit, e->unit_len);
        r->unit[e->unit_len] = '\0';
    }
    const ami_p1_group *t = e->time;
    if (t && t->type == AMI_P1_TIME && !(t->flags & AMI_P1_GF_PLACEHOLDER)) {
        bool no_offset = (t->flags & AMI_P1_GF_NO_OFFSET) != 0;
        bool dst = t->text_len > 0 && t->text[t->text_len - 1] == 'S';
        uint8_t status = no_offset ? AMI_DT_STATUS_UNSPEC : dst ? AMI_CLOCK_DST : 0;
        int dev = no_offset ? 0 : -t->utc_offset; /* Blue Book: UTC = local + deviation */
        if (ami_datetime_from_unix(t->u.unix_time, dev, status, 0, &r->time) == AMI_OK) {
            if (no_offset)
                r->time.deviation = AMI_DT_DEVIATION_UNSPEC;
            r->has_time = true;
        }
    }
    return AMI_OK;
}
