/*
 * Encrypted P1 meters: Smarty general-glo-ciphering frames and DLMS data-notifications pushed
 * over M-Bus (ami/p1crypt.h). Ciphering is src/security's; this file adds the P1 policies and
 * the strict data-notification walk.
 *
 * The data-notification body is read with a small strict A-XDR reader limited to the types
 * such pushes use (Green Book 9.5 Data; IEC 61334-6 A-XDR). It walks the body iteratively
 * with an explicit, bounded stack: no recursion, nothing sized by a declared count.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <inttypes.h>
#include <limits.h>

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
    if (consumed)
        *consumed = used;
    fill_info(info, &a);
    return AMI_OK;
}

/* ---------------------------------------------------------------- data-notification */

/* Reads an A-XDR length (strict: minimal, at most 4 bytes; bounded by the bytes left). */
static int rd_len(ami_rd *r, size_t *out)
{
    uint8_t b;
    int rc = ami_rd_u8(r, &b);
    if (rc)
        return rc;
    if (b < 0x80) {
        *out = b;
    } else {
        unsigned n = b & 0x7Fu;
        const uint8_t *p;
        if (n == 0 || n > 4)
            return AMI_E_MALFORMED;
        if ((rc = ami_rd_view(r, n, &p)) != 0)
            return rc;
        uint32_t v = 0;
        for (unsigned i = 0; i < n; i++)
            v = v << 8 | p[i];
        if (p[0] == 0 || v < 0x80)
            return AMI_E_MALFORMED;
        *out = v;
    }
    return AMI_OK;
}

/* COSEM date-time (Blue Book 4.1.6.1): year(2) month day dow hour min sec hundredths dev(2) st */
static void decode_time(const uint8_t *p, ami_reading_time *t)
{
    t->year = ami_dec16be(p);
    t->month = p[2];
    t->day = p[3];
    t->hour = p[5];
    t->minute = p[6];
    t->second = p[7];
    t->hundredths = p[8];
    t->deviation = (int16_t)ami_dec16be(p + 9);
    t->clock_status = p[11];
}

/* One decoded simple value. */
typedef struct leaf {
    uint8_t tag;
    enum ami_value_kind kind;
    int64_t num;
    const uint8_t *str;
    size_t str_len;
} leaf;

static int read_leaf(ami_rd *r, uint8_t tag, leaf *v)
{
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    size_t n;
    int rc = AMI_OK;
    memset(v, 0, sizeof(*v));
    v->tag = tag;
    v->kind = AMI_VALUE_NUMBER;
    switch (tag) {
    case T_NULL:
        v->kind = AMI_VALUE_NONE;
        break;
    case T_BOOLEAN:
        if ((rc = ami_rd_u8(r, &u8)) == 0)
            v->num = u8 != 0;
        break;
    case T_INTEGER:
        if ((rc = ami_rd_u8(r, &u8)) == 0)
            v->num = (int8_t)u8;
        break;
    case T_UNSIGNED:
    case T_ENUM:
        if ((rc = ami_rd_u8(r, &u8)) == 0)
            v->num = u8;
        break;
    case T_LONG:
        if ((rc = ami_rd_u16be(r, &u16)) == 0)
            v->num = (int16_t)u16;
        break;
    case T_LONG_UNSIGNED:
        if ((rc = ami_rd_u16be(r, &u16)) == 0)
            v->num = u16;
        break;
    case T_DOUBLE_LONG:
        if ((rc = ami_rd_u32be(r, &u32)) == 0)
            v->num = (int32_t)u32;
        break;
    case T_DOUBLE_LONG_UNSIGNED:
        if ((rc = ami_rd_u32be(r, &u32)) == 0)
            v->num = u32;
        break;
    case T_LONG64:
        if ((rc = ami_rd_u64be(r, &u64)) == 0)
            v->num = (int64_t)u64;
        break;
    case T_LONG64_UNSIGNED:
        if ((rc = ami_rd_u64be(r, &u64)) == 0) {
            if (u64 > INT64_MAX)
                return AMI_E_RANGE;
            v->num = (int64_t)u64;
        }
        break;
    case T_OCTET_STRING:
    case T_VISIBLE_STRING:
    case T_UTF8_STRING:
        v->kind = AMI_VALUE_STRING;
        if ((rc = rd_len(r, &n)) == 0)
            rc = ami_rd_view(r, n, &v->str);
        v->str_len = n;
        break;
    case T_DATE_TIME:
    case T_DATE:
    case T_TIME:
        /* Fixed-size COSEM date and time types (Blue Book 4.1.6.1): kept as their bytes. */
        v->kind = AMI_VALUE_STRING;
        v->str_len = tag == T_DATE_TIME ? 12 : tag == T_DATE ? 5 : 4;
        rc = ami_rd_view(r, v->str_len, &v->str);
        break;
    default:
        /* bit-string, BCD, compact-array, floating point, reserved tags */
        return AMI_E_UNSUPPORTED;
    }
    return rc;
}

enum walk_state { IDLE, HAVE_OBIS, HAVE_VALUE };

typedef struct walker {
    ami_reading *out;
    size_t max;
    size_t count;
    size_t skipped;
    enum walk_state state;
    ami_reading *cur; /* out[count] while a reading is being built */
    bool has_body_time;
    ami_reading_time body_time;
} walker;

static int finish(walker *w)
{
    if (w->state != HAVE_VALUE)
        return AMI_OK;
    w->count++; /* the reading was built in place */
    w->cur = NULL;
    w->state = IDLE;
    return AMI_OK;
}

static bool is_obis(const leaf *v)
{
    return v->tag == T_OCTET_STRING && v->str_len == 6;
}

static bool is_time(const leaf *v)
{
    return (v->tag == T_OCTET_STRING || v->tag == T_DATE_TIME) && v->str_len == COSEM_DATE_TIME_LEN;
}

static int on_leaf(walker *w, const leaf *v)
{
    int rc;
    if (w->state == HAVE_OBIS) {
        w->cur->kind = v->kind;
        w->cur->mantissa = v->kind == AMI_VALUE_NUMBER ? v->num : 0;
        w->cur->str = v->str;
        w->cur->str_len = v->str_len;
        w->state = HAVE_VALUE;
        return AMI_OK;
    }
    if ((rc = finish(w)) != 0) /* HAVE_VALUE with no scaler/unit: scale 0, no unit */
        return rc;
    if (is_obis(v)) {
        if (w->count >= w->max)
            return AMI_E_NOSPACE;
        w->cur = &w->out[w->count];
        memset(w->cur, 0, sizeof(*w->cur));
        memcpy(w->cur->obis, v->str, 6);
        w->state = HAVE_OBIS;
    } else if (is_time(v) && w->count == 0 && !w->has_body_time) {
        decode_time(v->str, &w->body_time);
        w->has_body_time = true;
    } else {
        w->skipped++;
    }
    return AMI_OK;
}

/*
 * After a value, a structure {integer scaler, enum unit} (Blue Book 4.3.2 scal_unit_type).
 * Called with the structure's count already read and the next tag being T_INTEGER.
 */
static int read_scaler_unit(ami_rd *r, walker *w)
{
    uint8_t tag, scaler, unit;
    int rc;
    if ((rc = ami_rd_u8(r, &tag)) || (rc = ami_rd_u8(r, &scaler)))
        return rc;
    if ((rc = ami_rd_u8(r, &tag)) != 0)
        return rc;
    if (tag != T_ENUM)
        return AMI_E_MALFORMED;
    if ((rc = ami_rd_u8(r, &unit)) != 0)
        return rc;
    w->cur->scale = (int8_t)scaler;
    w->cur->dlms_unit = unit;
    const char *text = ami_dlms_unit_text(unit);
    size_t n = text ? strlen(text) : 0;
    if (n >= sizeof(w->cur->unit))
        n = sizeof(w->cur->unit) - 1; /* cannot happen with the static table */
    memcpy(w->cur->unit, text ? text : "", n);
    w->cur->unit[n] = '\0';
    return finish(w);
}

static int walk_body(ami_rd *r, walker *w)
{
    /* stack[i] = elements still to read at nesting level i; level 0 is the body itself. */
    size_t stack[AMI_P1_NOTIFY_MAX_DEPTH + 1];
    size_t depth = 1;
    stack[0] = 1;
    int rc;
    while (depth > 0) {
        if (stack[depth - 1] == 0) {
            depth--;
            continue;
        }
        stack[depth - 1]--;
        uint8_t tag;
        if ((rc = ami_rd_u8(r, &tag)) != 0)
            return rc;
        if (tag == T_ARRAY || tag == T_STRUCTURE) {
            size_t n;
            if ((rc = rd_len(r, &n)) != 0)
                return rc;
            if (n > ami_rd_left(r)) /* every element takes at least one byte */
                return AMI_E_TRUNCATED;
            if (w->state == HAVE_OBIS)
                return AMI_E_TYPE;
            uint8_t next;
            if (w->state == HAVE_VALUE && tag == T_STRUCTURE && n == 2 &&
                ami_rd_peek_u8(r, &next) == AMI_OK && next == T_INTEGER) {
                if ((rc = read_scaler_unit(r, w)) != 0)
                    return rc;
                continue;
            }
            if ((rc = finish(w)) != 0)
                return rc;
            if (depth > AMI_P1_NOTIFY_MAX_DEPTH)
                return AMI_E_TOO_DEEP;
            stack[depth++] = n;
            continue;
        }
        leaf v;
        if ((rc = read_leaf(r, tag, &v)) != 0)
            return rc;
        if ((rc = on_leaf(w, &v)) != 0)
            return rc;
    }
    if (w->state == HAVE_OBIS)
        return AMI_E_MALFORMED; /* an OBIS code with no value */
    return finish(w);
}

int ami_p1_notification_parse(const uint8_t *apdu, size_t len, ami_reading *readings, size_t max,
                              ami_p1_notification *info)
{
    if (!info || (!apdu && len) || (!readings && max))
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
    if ((rc = ami_rd_u32be(&r, &info->invoke_id)) || (rc = rd_len(&r, &n)))
        return rc;
    if (n != 0 && n != COSEM_DATE_TIME_LEN)
        return AMI_E_MALFORMED;
    if ((rc = ami_rd_view(&r, n, &dt)) != 0)
        return rc;
    if (n) {
        decode_time(dt, &info->time);
        info->has_time = true;
    }
    walker w;
    memset(&w, 0, sizeof(w));
    w.out = readings;
    w.max = max;
    rc = walk_body(&r, &w);
    if (rc == AMI_OK && ami_rd_left(&r) != 0)
        rc = AMI_E_MALFORMED; /* trailing bytes after the body */
    if (rc)
        return rc;
    const ami_reading_time *t = info->has_time    ? &info->time
                                : w.has_body_time ? &w.body_time
                                                  : NULL;
    for (size_t i = 0; t && i < w.count; i++) {
        readings[i].has_time = true;
        readings[i].time = *t;
    }
    info->count = w.count;
    info->skipped = w.skipped;
    return AMI_OK;
}

int ami_p1_dlms_readings(ami_sec_ctx *ctx, ami_replay *replay, const uint8_t *apdu, size_t len,
                         uint8_t *work, size_t cap, ami_reading *readings, size_t max,
                         ami_p1_notification *info, ami_p1_frame_info *frame)
{
    if (!ctx || !info || (!apdu && len))
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
    if (replay && (rc = ami_replay_check(replay, a.system_title, a.ic)) != 0)
        return rc;
    if ((rc = ami_sec_apdu_decrypt(ctx, &a, NULL, work, cap, &plain_len)) != 0)
        return rc;
    rc = ami_p1_notification_parse(work, plain_len, readings, max, info);
    if (rc) {
        ami_wipe(work, plain_len);
        return rc;
    }
    record_counter(replay, a.system_title, a.ic);
    fill_info(frame, &a);
    return AMI_OK;
}
