/*
 * Text and JSON renderings of decoded A-XDR values (ami/axdr.h). Both walk the tree with an
 * explicit stack, so a deep tree cannot make them recurse: a tree deeper than
 * AMI_AXDR_MAX_DEPTH is refused with AMI_E_TOO_DEEP.
 * Octet-strings get an interpretation where one fits: a 12-byte string that is a valid COSEM
 * date-time (Blue Book 4.1.6.1; profile buffers and clock values carry date-times that way), a
 * 6-byte string that looks like an OBIS code (logical names, Blue Book 4.1.8.1), or printable
 * ASCII text. The bytes are always shown too: the interpretation is a reading aid.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ami/datetime.h"
#include "ami/obis.h"
#include "axdr/axdr_internal.h"

static bool is_container(uint8_t t)
{
    return t == AMI_AXDR_ARRAY || t == AMI_AXDR_STRUCTURE || t == AMI_AXDR_COMPACT_ARRAY;
}

/* ---------------------------------------------------------------- interpretations */

/*
 * An OBIS-looking logical name: group A is a medium (0..15, Blue Book 7.3.2) and the string is
 * 6 bytes. MAC addresses and other 6-byte strings may pass too, hence "looking".
 */
static bool looks_obis(const uint8_t *b, size_t n)
{
    return n == 6 && b[0] <= 15;
}

static bool printable(const uint8_t *b, size_t n)
{
    if (!n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (b[i] < 0x20 || b[i] > 0x7E)
            return false;
    return true;
}

/* Strict UTF-8 (no overlongs, surrogates or code points above U+10FFFF). */
static bool valid_utf8(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t k;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            k = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            k = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            k = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (n - i <= k)
            return false;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + j] & 0x3F);
        }
        if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += k + 1;
    }
    return true;
}

/* Decodes date-time / date / time bytes (by length 12 / 5 / 4). */
static int dt_decode(const uint8_t *b, size_t n, ami_datetime *dt)
{
    switch (n) {
    case 12:
        return ami_datetime_decode(b, dt);
    case 5:
        return ami_date_decode(b, dt);
    case 4:
        return ami_time_decode(b, dt);
    default:
        return AMI_E_INVAL;
    }
}

/* ---------------------------------------------------------------- text output */

struct tout {
    ami_jw_sink sink;
    void *user;
    int err;
    size_t n;
    char buf[512];
};

static void t_flush(struct tout *o)
{
    if (o->n && !o->err)
        o->err = o->sink(o->user, o->buf, o->n);
    o->n = 0;
}

static void t_put(struct tout *o, const char *s, size_t n)
{
    while (n && !o->err) {
        size_t room = sizeof o->buf - o->n;
        size_t k = n < room ? n : room;
        memcpy(o->buf + o->n, s, k);
        o->n += k;
        s += k;
        n -= k;
        if (o->n == sizeof o->buf)
            t_flush(o);
    }
}

static void t_str(struct tout *o, const char *s)
{
    t_put(o, s, strlen(s));
}

static void t_fmt(struct tout *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void t_fmt(struct tout *o, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        t_put(o, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void t_hex(struct tout *o, const uint8_t *b, size_t n)
{
    static const char digits[] = "0123456789ABCDEF";
    char two[2];
    for (size_t i = 0; i < n; i++) {
        two[0] = digits[b[i] >> 4];
        two[1] = digits[b[i] & 15];
        t_put(o, two, 2);
    }
}

/* A quoted string with C-style escapes for quotes, backslashes and non-printable bytes. */
static void t_quoted(struct tout *o, const uint8_t *b, size_t n, bool utf8)
{
    t_put(o, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        uint8_t c = b[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            t_put(o, e, 2);
        } else if (c >= 0x20 && c != 0x7F && (c < 0x80 || utf8)) {
            t_put(o, (const char *)&b[i], 1);
        } else {
            t_fmt(o, "\\x%02X", c);
        }
    }
    t_put(o, "\"", 1);
}

static void t_datetime(struct tout *o, const uint8_t *b, size_t n)
{
    ami_datetime dt;
    char s[AMI_DATETIME_STRLEN];
    if (dt_decode(b, n, &dt) == AMI_OK && ami_datetime_format(&dt, s, sizeof s) > 0) {
        t_str(o, s);
    } else {
        t_str(o, "invalid");
    }
}

/*
 * Frames of the iterative walks. A structure description frame writes "}" (text) or closes its
 * list (JSON) when done; an array description frame only holds its single element description.
 */
struct dframe {
    const ami_axdr_value *next;
    uint32_t left, total;
    bool structure;
};

/* Advances a description walk to its next node; NULL when the walk is over. */
static int desc_next(struct dframe *st, unsigned *depth, const ami_axdr_value **d,
                     void (*close)(void *ctx, bool structure), void (*sep)(void *ctx), void *ctx)
{
    for (;;) {
        if (!*depth) {
            *d = NULL;
            return AMI_OK;
        }
        struct dframe *f = &st[*depth - 1];
        if (f->left == 0) {
            close(ctx, f->structure);
            (*depth)--;
            continue;
        }
        *d = f->next;
        if (!*d)
            return AMI_E_INVAL;
        if (f->structure && f->left != f->total)
            sep(ctx);
        f->next = (*d)->next;
        f->left--;
        return AMI_OK;
    }
}

static int desc_push(struct dframe *st, unsigned *depth, const ami_axdr_value *d)
{
    if (*depth >= AMI_AXDR_MAX_DEPTH)
        return AMI_E_TOO_DEEP;
    struct dframe *f = &st[(*depth)++];
    f->structure = d->type == AMI_AXDR_STRUCTURE;
    f->next = d->child;
    f->total = f->left = f->structure ? d->count : 1;
    return AMI_OK;
}

static void t_desc_close(void *ctx, bool structure)
{
    if (structure)
        t_str(ctx, "}");
}

static void t_desc_sep(void *ctx)
{
    t_str(ctx, ", ");
}

/* The type description of a compact-array: "structure{unsigned, array[2] of long}". */
static int t_desc(struct tout *o, const ami_axdr_value *d)
{
    struct dframe st[AMI_AXDR_MAX_DEPTH];
    unsigned depth = 0;
    int rc;
    while (d) {
        if (d->type == AMI_AXDR_ARRAY)
            t_fmt(o, "array[%u] of ", (unsigned)d->count);
        else if (d->type == AMI_AXDR_STRUCTURE)
            t_str(o, "structure{");
        else
            t_str(o, ami_axdr_type_name(d->type));
        if (d->type == AMI_AXDR_ARRAY || d->type == AMI_AXDR_STRUCTURE)
            if ((rc = desc_push(st, &depth, d)) != AMI_OK)
                return rc;
        if ((rc = desc_next(st, &depth, &d, t_desc_close, t_desc_sep, o)) != AMI_OK)
            return rc;
    }
    return AMI_OK;
}

/* One value's line, without indentation and newline. */
static int t_line(struct tout *o, const ami_axdr_value *v)
{
    const char *name = ami_axdr_type_name(v->type);
    uint64_t bits;
    switch (v->type) {
    case AMI_AXDR_NULL_DATA:
    case AMI_AXDR_DONT_CARE:
        t_str(o, name);
        return AMI_OK;
    case AMI_AXDR_BOOLEAN:
        t_str(o, v->v.u ? "boolean true" : "boolean false");
        if (v->v.u > 1)
            t_fmt(o, " (0x%02X)", (unsigned)(v->v.u & 0xFF));
        return AMI_OK;
    case AMI_AXDR_INTEGER:
    case AMI_AXDR_LONG:
    case AMI_AXDR_DOUBLE_LONG:
    case AMI_AXDR_LONG64:
        t_fmt(o, "%s %lld", name, (long long)v->v.i);
        return AMI_OK;
    case AMI_AXDR_UNSIGNED:
    case AMI_AXDR_LONG_UNSIGNED:
    case AMI_AXDR_DOUBLE_LONG_UNSIGNED:
    case AMI_AXDR_LONG64_UNSIGNED:
    case AMI_AXDR_ENUM:
        t_fmt(o, "%s %llu", name, (unsigned long long)v->v.u);
        return AMI_OK;
    case AMI_AXDR_BCD:
        t_fmt(o, "bcd 0x%02X", (unsigned)(v->v.u & 0xFF));
        return AMI_OK;
    case AMI_AXDR_FLOAT32:
        t_fmt(o, "float32 %.9g", v->v.f);
        if (isnan(v->v.f))
            t_fmt(o, " (%08X)", (unsigned)ami__axdr_double_to_f32(v->v.f));
        return AMI_OK;
    case AMI_AXDR_FLOAT64:
        t_fmt(o, "float64 %.17g", v->v.f);
        memcpy(&bits, &v->v.f, sizeof bits);
        if (isnan(v->v.f))
            t_fmt(o, " (%016llX)", (unsigned long long)bits);
        return AMI_OK;
    case AMI_AXDR_OCTET_STRING:
        if (v->count && !v->v.bytes)
            return AMI_E_INVAL;
        t_fmt(o, "octet-string[%u]", (unsigned)v->count);
        if (!v->count)
            return AMI_OK;
        t_str(o, " ");
        t_hex(o, v->v.bytes, v->count);
        ami_datetime dt;
        if (v->count == 12 && ami_datetime_decode(v->v.bytes, &dt) == AMI_OK) {
            t_str(o, " (date-time ");
            t_datetime(o, v->v.bytes, 12);
            t_str(o, ")");
        } else if (looks_obis(v->v.bytes, v->count)) {
            ami_obis ob;
            char s[AMI_OBIS_STRLEN];
            memcpy(ob.v, v->v.bytes, 6);
            if (ami_obis_format(&ob, AMI_OBIS_STYLE_DOTS, s, sizeof s) > 0)
                t_fmt(o, " (%s)", s);
        } else if (printable(v->v.bytes, v->count)) {
            t_str(o, " ");
            t_quoted(o, v->v.bytes, v->count, false);
        }
        return AMI_OK;
    case AMI_AXDR_VISIBLE_STRING:
    case AMI_AXDR_UTF8_STRING:
        if (v->count && !v->v.bytes)
            return AMI_E_INVAL;
        t_fmt(o, "%s[%u] ", name, (unsigned)v->count);
        t_quoted(o, v->v.bytes, v->count,
                 v->type == AMI_AXDR_UTF8_STRING && valid_utf8(v->v.bytes, v->count));
        return AMI_OK;
    case AMI_AXDR_BIT_STRING:
        if (v->count && !v->v.bytes)
            return AMI_E_INVAL;
        t_fmt(o, "bit-string[%u]", (unsigned)v->count);
        if (v->count)
            t_str(o, " ");
        for (uint32_t i = 0; i < v->count; i++)
            t_put(o, (v->v.bytes[i / 8] >> (7 - i % 8)) & 1 ? "1" : "0", 1);
        return AMI_OK;
    case AMI_AXDR_DATE_TIME:
    case AMI_AXDR_DATE:
    case AMI_AXDR_TIME:
        if (!v->v.bytes || v->count != (uint32_t)ami__axdr_fixed_size(v->type))
            return AMI_E_INVAL;
        t_fmt(o, "%s ", name);
        t_hex(o, v->v.bytes, v->count);
        t_str(o, " (");
        t_datetime(o, v->v.bytes, v->count);
        t_str(o, ")");
        return AMI_OK;
    case AMI_AXDR_ARRAY:
    case AMI_AXDR_STRUCTURE:
        t_fmt(o, "%s[%u]", name, (unsigned)v->count);
        return AMI_OK;
    case AMI_AXDR_COMPACT_ARRAY:
        t_fmt(o, "compact-array[%u] of ", (unsigned)v->count);
        return t_desc(o, v->type_desc);
    default:
        return AMI_E_INVAL;
    }
}

/* Shared container walk: advances *v to the next value in document order. */
struct vframe {
    const ami_axdr_value *next;
    uint32_t left;
};

static int enter(struct vframe *st, unsigned *depth, const ami_axdr_value *v)
{
    if (!is_container(v->type) || !v->count)
        return is_container(v->type) && v->child ? AMI_E_INVAL : AMI_OK;
    if (*depth >= AMI_AXDR_MAX_DEPTH)
        return AMI_E_TOO_DEEP;
    st[*depth].next = v->child;
    st[*depth].left = v->count;
    (*depth)++;
    return AMI_OK;
}

int ami_axdr_format_text(const ami_axdr_value *v, ami_jw_sink sink, void *user)
{
    static const char spaces[] = "                                                                ";
    if (!v || !sink)
        return AMI_E_INVAL;
    struct tout o = {.sink = sink, .user = user};
    struct vframe st[AMI_AXDR_MAX_DEPTH];
    unsigned depth = 0;
    int rc;
    for (;;) {
        for (unsigned i = 0; i < depth; i += 32)
            t_put(&o, spaces, 2 * (depth - i < 32 ? depth - i : 32));
        if ((rc = t_line(&o, v)) != AMI_OK)
            break;
        t_put(&o, "\n", 1);
        if ((rc = enter(st, &depth, v)) != AMI_OK)
            break;
        while (depth && st[depth - 1].left == 0) {
            if (st[depth - 1].next) {
                rc = AMI_E_INVAL; /* more elements than the count says */
                goto out;
            }
            depth--;
        }
        if (!depth)
            break;
        v = st[depth - 1].next;
        if (!v) {
            rc = AMI_E_INVAL; /* fewer elements than the count says */
            break;
        }
        st[depth - 1].next = v->next;
        st[depth - 1].left--;
    }
out:
    t_flush(&o);
    return rc ? rc : o.err;
}

/* ---------------------------------------------------------------- JSON */

static void j_fail(ami_jw *w, int err)
{
    if (!w->err)
        w->err = err;
}

static void j_desc_close(void *ctx, bool structure)
{
    ami_jw *w = ctx;
    if (structure)
        ami_jw_arr_end(w);
    ami_jw_obj_end(w);
}

static void j_desc_sep(void *ctx)
{
    (void)ctx; /* the JSON writer places its own commas */
}

/* {"type":"structure","fields":[...]}, {"type":"array","count":N,"element":{...}}, {"type":T} */
static int j_desc(ami_jw *w, const ami_axdr_value *d)
{
    struct dframe st[AMI_AXDR_MAX_DEPTH];
    unsigned depth = 0;
    int rc;
    while (d) {
        ami_jw_obj_begin(w);
        ami_jw_key(w, "type");
        ami_jw_str(w, ami_axdr_type_name(d->type));
        if (d->type == AMI_AXDR_ARRAY) {
            ami_jw_key(w, "count");
            ami_jw_uint(w, d->count);
            ami_jw_key(w, "element");
        } else if (d->type == AMI_AXDR_STRUCTURE) {
            ami_jw_key(w, "fields");
            ami_jw_arr_begin(w);
        } else {
            ami_jw_obj_end(w);
        }
        if (d->type == AMI_AXDR_ARRAY || d->type == AMI_AXDR_STRUCTURE)
            if ((rc = desc_push(st, &depth, d)) != AMI_OK)
                return rc;
        if ((rc = desc_next(st, &depth, &d, j_desc_close, j_desc_sep, w)) != AMI_OK)
            return rc;
    }
    return AMI_OK;
}

static void j_datetime(ami_jw *w, const ami_axdr_value *v)
{
    ami_datetime dt;
    char s[AMI_DATETIME_STRLEN];
    int rc = dt_decode(v->v.bytes, v->count, &dt);
    ami_jw_key(w, "value");
    if (rc != AMI_OK) {
        ami_jw_null(w);
        ami_jw_key(w, "error");
        ami_jw_str(w, ami_strerror(rc));
        return;
    }
    int n = -1;
    if (v->type == AMI_AXDR_DATE_TIME) {
        n = ami_datetime_format_iso(&dt, 0, s, sizeof s);
    } else if (v->type == AMI_AXDR_DATE) {
        if (dt.year != AMI_DT_YEAR_UNSPEC && dt.month >= 1 && dt.month <= 12 && dt.day >= 1 &&
            dt.day <= 31)
            n = snprintf(s, sizeof s, "%04u-%02u-%02u", dt.year, dt.month, dt.day);
    } else if (dt.hour < 24 && dt.minute < 60 && dt.second < 60) {
        if (dt.hundredths != AMI_DT_UNSPEC && dt.hundredths)
            n = snprintf(s, sizeof s, "%02u:%02u:%02u.%02u", dt.hour, dt.minute, dt.second,
                         dt.hundredths);
        else
            n = snprintf(s, sizeof s, "%02u:%02u:%02u", dt.hour, dt.minute, dt.second);
    }
    if (n > 0)
        ami_jw_str(w, s);
    else
        ami_jw_null(w);
    if (ami_datetime_format(&dt, s, sizeof s) > 0) {
        ami_jw_key(w, "text");
        ami_jw_str(w, s);
    }
}

/* Members after "type" of one value; containers open their "value" list and stay open. */
static int j_members(ami_jw *w, const ami_axdr_value *v)
{
    uint64_t bits;
    switch (v->type) {
    case AMI_AXDR_NULL_DATA:
    case AMI_AXDR_DONT_CARE:
        ami_jw_key(w, "value");
        ami_jw_null(w);
        return AMI_OK;
    case AMI_AXDR_BOOLEAN:
        ami_jw_key(w, "value");
        ami_jw_bool(w, v->v.u != 0);
        if (v->v.u > 1) {
            ami_jw_key(w, "raw");
            ami_jw_uint(w, v->v.u);
        }
        return AMI_OK;
    case AMI_AXDR_INTEGER:
    case AMI_AXDR_LONG:
    case AMI_AXDR_DOUBLE_LONG:
    case AMI_AXDR_LONG64:
        ami_jw_key(w, "value");
        ami_jw_int(w, v->v.i);
        return AMI_OK;
    case AMI_AXDR_UNSIGNED:
    case AMI_AXDR_LONG_UNSIGNED:
    case AMI_AXDR_DOUBLE_LONG_UNSIGNED:
    case AMI_AXDR_LONG64_UNSIGNED:
    case AMI_AXDR_ENUM:
    case AMI_AXDR_BCD:
        ami_jw_key(w, "value");
        ami_jw_uint(w, v->v.u);
        return AMI_OK;
    case AMI_AXDR_FLOAT32:
    case AMI_AXDR_FLOAT64: {
        uint8_t b[8];
        ami_jw_key(w, "value");
        ami_jw_double(w, v->v.f);
        ami_jw_key(w, "hex");
        if (v->type == AMI_AXDR_FLOAT32) {
            ami_enc32be(b, ami__axdr_double_to_f32(v->v.f));
            ami_jw_hex(w, b, 4);
        } else {
            memcpy(&bits, &v->v.f, sizeof bits);
            ami_enc64be(b, bits);
            ami_jw_hex(w, b, 8);
        }
        return AMI_OK;
    }
    case AMI_AXDR_OCTET_STRING: {
        if (v->count && !v->v.bytes)
            return AMI_E_INVAL;
        ami_jw_key(w, "value");
        ami_jw_hex(w, v->v.bytes, v->count);
        ami_datetime dt;
        char s[AMI_DATETIME_STRLEN];
        if (v->count == 12 && ami_datetime_decode(v->v.bytes, &dt) == AMI_OK) {
            int n = ami_datetime_format_iso(&dt, 0, s, sizeof s);
            if (n <= 0)
                n = ami_datetime_format(&dt, s, sizeof s);
            if (n > 0) {
                ami_jw_key(w, "date_time");
                ami_jw_str(w, s);
            }
        } else if (looks_obis(v->v.bytes, v->count)) {
            ami_obis ob;
            memcpy(ob.v, v->v.bytes, 6);
            if (ami_obis_format(&ob, AMI_OBIS_STYLE_DOTS, s, sizeof s) > 0) {
                ami_jw_key(w, "obis");
                ami_jw_str(w, s);
            }
        } else if (printable(v->v.bytes, v->count)) {
            ami_jw_key(w, "text");
            ami_jw_strn(w, (const char *)v->v.bytes, v->count);
        }
        return AMI_OK;
    }
    case AMI_AXDR_VISIBLE_STRING:
    case AMI_AXDR_UTF8_STRING: {
        if (v->count && !v->v.bytes)
            return AMI_E_INVAL;
        ami_jw_key(w, "value");
        ami_jw_strn(w, (const char *)v->v.bytes, v->count);
        bool exact = v->type == AMI_AXDR_UTF8_STRING ? valid_utf8(v->v.bytes, v->count) : true;
        for (uint32_t i = 0; exact && v->type == AMI_AXDR_VISIBLE_STRING && i < v->count; i++)
            exact = v->v.bytes[i] < 0x80;
        if (!exact) { /* the string had to be escaped: give the bytes as well */
            ami_jw_key(w, "hex");
            ami_jw_hex(w, v->v.bytes, v->count);
        }
        return AMI_OK;
    }
    case AMI_AXDR_BIT_STRING:
        if (v->count && !v->v.bytes)
            return AMI_E_INVAL;
        ami_jw_key(w, "bits");
        ami_jw_uint(w, v->count);
        ami_jw_key(w, "value");
        ami_jw_hex(w, v->v.bytes, v->count / 8 + (v->count % 8 != 0));
        return AMI_OK;
    case AMI_AXDR_DATE_TIME:
    case AMI_AXDR_DATE:
    case AMI_AXDR_TIME:
        if (!v->v.bytes || v->count != (uint32_t)ami__axdr_fixed_size(v->type))
            return AMI_E_INVAL;
        j_datetime(w, v);
        ami_jw_key(w, "hex");
        ami_jw_hex(w, v->v.bytes, v->count);
        return AMI_OK;
    case AMI_AXDR_COMPACT_ARRAY: {
        ami_jw_key(w, "description");
        int rc = j_desc(w, v->type_desc);
        if (rc)
            return rc;
        ami_jw_key(w, "value");
        ami_jw_arr_begin(w);
        return AMI_OK;
    }
    case AMI_AXDR_ARRAY:
    case AMI_AXDR_STRUCTURE:
        ami_jw_key(w, "value");
        ami_jw_arr_begin(w);
        return AMI_OK;
    default:
        return AMI_E_INVAL;
    }
}

void ami_axdr_to_json(const ami_axdr_value *v, ami_jw *w)
{
    struct vframe st[AMI_AXDR_MAX_DEPTH];
    unsigned depth = 0;
    int rc;
    if (!w)
        return;
    if (!v) {
        j_fail(w, AMI_E_INVAL);
        return;
    }
    for (;;) {
        ami_jw_obj_begin(w);
        ami_jw_key(w, "type");
        ami_jw_str(w, ami_axdr_type_name(v->type));
        if ((rc = j_members(w, v)) != AMI_OK || (rc = enter(st, &depth, v)) != AMI_OK) {
            j_fail(w, rc);
            return;
        }
        if (is_container(v->type) && !v->count) {
            ami_jw_arr_end(w);
        }
        if (!is_container(v->type) || !v->count)
            ami_jw_obj_end(w);
        while (depth && st[depth - 1].left == 0) {
            if (st[depth - 1].next) {
                j_fail(w, AMI_E_INVAL);
                return;
            }
            depth--;
            ami_jw_arr_end(w);
            ami_jw_obj_end(w);
        }
        if (!depth || ami_jw_error(w))
            return;
        v = st[depth - 1].next;
        if (!v) {
            j_fail(w, AMI_E_INVAL);
            return;
        }
        st[depth - 1].next = v->next;
        st[depth - 1].left--;
    }
}
