/*
 * `ami p1` output: the JSON Lines schema of docs/p1.md (a stable API), the readable table and
 * the scalar values published to MQTT.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "ami/error.h"
#include "ami/obis.h"
#include "p1_app.h"

void p1_buf_free(struct p1_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

int p1_buf_sink(void *user, const char *s, size_t n)
{
    struct p1_buf *b = user;
    if (b->n + n + 1 > b->cap) {
        size_t cap = (b->cap + n + 1) * 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return AMI_E_NOMEM;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
    return AMI_OK;
}

void p1_obis_str(const ami_obis *o, char buf[AMI_OBIS_STRLEN])
{
    if (ami_obis_format(o, AMI_OBIS_STYLE_SHORT, buf, AMI_OBIS_STRLEN) < 0)
        buf[0] = '\0';
}

static bool decode_hex_for(const ami_p1_object *o)
{
    return o->q && o->q->kind == AMI_P1_KIND_TEXT;
}

/* The members of one entry: value, unit, time, period (absent ones omitted). */
static void json_entry(ami_jw *w, const ami_p1_object *o, const ami_p1_entry *e)
{
    char b[2048];
    const ami_p1_group *v = e->value;
    if (v) {
        switch (v->type) {
        case AMI_P1_NUMBER: {
            int n = ami_p1_number_format(v, b, sizeof b);
            ami_jw_key(w, "value");
            if (n > 0)
                ami_jw_number_text(w, b, (size_t)n);
            else
                ami_jw_null(w);
            break;
        }
        case AMI_P1_TEXT: {
            int n = ami_p1_text(v, decode_hex_for(o), b, sizeof b);
            ami_jw_key(w, "value");
            ami_jw_strn(w, n >= 0 ? b : v->text, n >= 0 ? (size_t)n : v->text_len);
            char raw[2048];
            int r = ami_p1_text(v, false, raw, sizeof raw);
            if (n >= 0 && r >= 0 && (n != r || memcmp(b, raw, (size_t)n))) {
                ami_jw_key(w, "hex");
                ami_jw_strn(w, raw, (size_t)r);
            }
            break;
        }
        case AMI_P1_OBIS: {
            char ob[AMI_OBIS_STRLEN];
            p1_obis_str(&v->u.obis, ob);
            ami_jw_key(w, "value");
            ami_jw_str(w, ob);
            break;
        }
        case AMI_P1_TIME:
            if (ami_p1_time_format(v, b, sizeof b) > 0) {
                ami_jw_key(w, "time");
                ami_jw_str(w, b);
            }
            break;
        default:
            ami_jw_key(w, "value");
            ami_jw_null(w);
            break;
        }
    }
    if (e->unit && e->unit_len) {
        ami_jw_key(w, "unit");
        ami_jw_strn(w, e->unit, e->unit_len);
    }
    if (e->time && ami_p1_time_format(e->time, b, sizeof b) > 0) {
        ami_jw_key(w, "time");
        ami_jw_str(w, b);
    }
    if (e->period && ami_p1_time_format(e->period, b, sizeof b) > 0) {
        ami_jw_key(w, "period");
        ami_jw_str(w, b);
    }
}

void p1_json_telegram(ami_jw *w, const ami_p1_telegram *t, const ami_p1_frame *fr,
                      const char *input, const char *meter)
{
    char b[64];
    ami_jw_obj_begin(w);
    if (input) {
        ami_jw_key(w, "input");
        ami_jw_str(w, input);
    }
    if (meter) {
        ami_jw_key(w, "meter");
        ami_jw_str(w, meter);
    }
    ami_jw_key(w, "header");
    ami_jw_strn(w, t->header, t->header_len);
    ami_jw_key(w, "crc");
    ami_jw_str(w, fr->crc_status == AMI_P1_CRC_OK ? "ok" : "absent");
    ami_jw_key(w, "time");
    if (t->time && ami_p1_time_format(&t->groups[t->time->first], b, sizeof b) > 0)
        ami_jw_str(w, b);
    else
        ami_jw_null(w);
    ami_jw_key(w, "objects");
    ami_jw_arr_begin(w);
    for (uint32_t i = 0; i < t->nobjects; i++) {
        const ami_p1_object *o = &t->objects[i];
        ami_jw_obj_begin(w);
        if (o->flags & AMI_P1_OF_RAW) {
            ami_jw_key(w, "line");
            ami_jw_strn(w, o->line, o->line_len);
            ami_jw_obj_end(w);
            continue;
        }
        char ob[AMI_OBIS_STRLEN], name[40];
        p1_obis_str(&o->obis, ob);
        ami_jw_key(w, "obis");
        ami_jw_str(w, ob);
        if (ami_p1_object_name(o, name, sizeof name) > 0) {
            ami_jw_key(w, "name");
            ami_jw_str(w, name);
        }
        ami_p1_entry e;
        if (o->nentries == 1 && o->shape != AMI_P1_SHAPE_LOG) {
            if (ami_p1_entry_get(t, o, 0, &e) == AMI_OK)
                json_entry(w, o, &e);
        } else {
            ami_jw_key(w, "values");
            ami_jw_arr_begin(w);
            for (size_t k = 0; k < o->nentries; k++) {
                if (ami_p1_entry_get(t, o, k, &e) != AMI_OK)
                    break;
                ami_jw_obj_begin(w);
                json_entry(w, o, &e);
                ami_jw_obj_end(w);
            }
            ami_jw_arr_end(w);
        }
        ami_jw_obj_end(w);
    }
    ami_jw_arr_end(w);
    ami_jw_obj_end(w);
}

/* One entry as "value unit @ time" text. */
static void text_entry(char *out, size_t cap, const ami_p1_object *o, const ami_p1_entry *e)
{
    char v[256] = "", tm[40] = "", pe[40] = "";
    if (e->value) {
        switch (e->value->type) {
        case AMI_P1_NUMBER:
            (void)ami_p1_number_format(e->value, v, sizeof v);
            break;
        case AMI_P1_TEXT:
            if (ami_p1_text(e->value, decode_hex_for(o), v, sizeof v) < 0)
                snprintf(v, sizeof v, "(long text)");
            break;
        case AMI_P1_OBIS:
            p1_obis_str(&e->value->u.obis, v);
            break;
        case AMI_P1_TIME:
            if (ami_p1_time_format(e->value, v, sizeof v) < 0)
                snprintf(v, sizeof v, "(no time)");
            break;
        default:
            snprintf(v, sizeof v, "-");
            break;
        }
    }
    if (e->time && ami_p1_time_format(e->time, tm, sizeof tm) < 0)
        snprintf(tm, sizeof tm, "(no time)");
    if (e->period)
        (void)ami_p1_time_format(e->period, pe, sizeof pe);
    snprintf(out, cap, "%s%s%.*s%s%s%s%s", v, e->unit_len ? " " : "", (int)e->unit_len,
             e->unit ? e->unit : "", tm[0] ? "  at " : "", tm, pe[0] ? "  period " : "", pe);
}

void p1_table_telegram(FILE *out, const ami_p1_telegram *t, const ami_p1_frame *fr,
                       const char *input)
{
    char tm[40] = "(no time)";
    if (t->time)
        (void)ami_p1_time_format(&t->groups[t->time->first], tm, sizeof tm);
    fprintf(out, "%s  /%.*s  crc %s  %s\n", input, (int)t->header_len, t->header,
            fr->crc_status == AMI_P1_CRC_OK ? "ok" : "absent", tm);
    for (uint32_t i = 0; i < t->nobjects; i++) {
        const ami_p1_object *o = &t->objects[i];
        if (o->flags & AMI_P1_OF_RAW) {
            fprintf(out, "  %-13s %-30s %.*s\n", "(line)", "", (int)o->line_len, o->line);
            continue;
        }
        char ob[AMI_OBIS_STRLEN], name[40], line[600];
        p1_obis_str(&o->obis, ob);
        if (ami_p1_object_name(o, name, sizeof name) <= 0)
            snprintf(name, sizeof name, "-");
        ami_p1_entry e;
        if (o->nentries == 0) {
            fprintf(out, "  %-13s %-30s\n", ob, name);
            continue;
        }
        for (size_t k = 0; k < o->nentries; k++) {
            if (ami_p1_entry_get(t, o, k, &e) != AMI_OK)
                break;
            text_entry(line, sizeof line, o, &e);
            fprintf(out, "  %-13s %-30s %s\n", k ? "" : ob, k ? "" : name, line);
        }
    }
    fputc('\n', out);
}

bool p1_scalar_text(const ami_p1_telegram *t, const ami_p1_object *o, char *buf, size_t cap,
                    const char **unit, size_t *unit_len)
{
    *unit = NULL;
    *unit_len = 0;
    if ((o->flags & AMI_P1_OF_RAW) || o->nentries != 1 || o->shape == AMI_P1_SHAPE_LOG)
        return false;
    ami_p1_entry e;
    if (ami_p1_entry_get(t, o, 0, &e) != AMI_OK || !e.value)
        return false;
    *unit = e.unit;
    *unit_len = e.unit_len;
    switch (e.value->type) {
    case AMI_P1_NUMBER:
        return ami_p1_number_format(e.value, buf, cap) > 0;
    case AMI_P1_TEXT:
        return ami_p1_text(e.value, decode_hex_for(o), buf, cap) >= 0;
    case AMI_P1_TIME:
        return ami_p1_time_format(e.value, buf, cap) > 0;
    case AMI_P1_EMPTY:
        if (cap)
            buf[0] = '\0';
        return cap > 0;
    default:
        return false;
    }
}

static void sanitize(const char *s, size_t n, char *buf, size_t cap)
{
    size_t w = 0;
    for (size_t i = 0; i < n && w + 1 < cap; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_';
        if (ok)
            buf[w++] = c;
        else if (w > 0 && buf[w - 1] != '_')
            buf[w++] = '_';
    }
    while (w > 0 && buf[w - 1] == '_')
        w--;
    buf[w] = '\0';
}

void p1_meter_id(const ami_p1_telegram *t, char *buf, size_t cap)
{
    buf[0] = '\0';
    for (uint32_t i = 0; i < t->nobjects; i++) {
        const ami_p1_object *o = &t->objects[i];
        if (o->flags & AMI_P1_OF_RAW)
            continue;
        const ami_obis *b = &o->obis;
        bool id = b->v[0] == 0 && b->v[1] == 0 && b->v[2] == 96 && b->v[3] == 1 &&
                  (b->v[4] == 1 || b->v[4] == 0);
        char txt[128];
        const char *u;
        size_t ul;
        if (id && p1_scalar_text(t, o, txt, sizeof txt, &u, &ul) && txt[0]) {
            sanitize(txt, strlen(txt), buf, cap);
            if (buf[0])
                return;
        }
    }
    sanitize(t->header, t->header_len, buf, cap);
    if (!buf[0])
        snprintf(buf, cap, "meter");
}

/* ---------------------------------------------------------------- readings of a DLMS push */

void p1_reading_name(const ami_reading *rd, char *buf, size_t cap)
{
    const ami_p1_quantity *q = ami_p1_quantity_find(&rd->obis);
    if (q && !q->per_channel) {
        snprintf(buf, cap, "%s", q->name);
        return;
    }
    char ob[AMI_OBIS_STRLEN], tmp[8 + AMI_OBIS_STRLEN];
    p1_obis_str(&rd->obis, ob);
    snprintf(tmp, sizeof tmp, "obis_%s", ob);
    sanitize(tmp, strlen(tmp), buf, cap);
}

void p1_readings_meter_id(const ami_reading *rd, size_t n, const char *fallback, char *buf,
                          size_t cap)
{
    buf[0] = '\0';
    for (size_t i = 0; i < n && !buf[0]; i++) {
        const ami_obis *b = &rd[i].obis;
        bool id = b->v[0] == 0 && b->v[1] == 0 && b->v[2] == 96 && b->v[3] == 1 &&
                  (b->v[4] == 1 || b->v[4] == 0);
        if (id && rd[i].kind == AMI_VALUE_STRING && rd[i].str_len)
            sanitize((const char *)rd[i].str, rd[i].str_len, buf, cap);
    }
    if (!buf[0]) {
        /* The input's base name without its extension ("/dev/ttyUSB0" gives "ttyUSB0"). */
        const char *base = strrchr(fallback, '/');
        base = base ? base + 1 : fallback;
        const char *dot = strrchr(base, '.');
        sanitize(base, dot && dot != base ? (size_t)(dot - base) : strlen(base), buf, cap);
    }
    if (!buf[0])
        snprintf(buf, cap, "meter");
}

void p1_json_readings(ami_jw *w, const ami_reading *rd, size_t n, const char *input,
                      const char *meter)
{
    char b[256], ob[AMI_OBIS_STRLEN];
    ami_jw_obj_begin(w);
    if (input) {
        ami_jw_key(w, "input");
        ami_jw_str(w, input);
    }
    if (meter) {
        ami_jw_key(w, "meter");
        ami_jw_str(w, meter);
    }
    ami_jw_key(w, "header");
    ami_jw_null(w);
    ami_jw_key(w, "crc");
    ami_jw_str(w, "absent");
    ami_jw_key(w, "time");
    ami_jw_null(w);
    ami_jw_key(w, "objects");
    ami_jw_arr_begin(w);
    for (size_t i = 0; i < n; i++) {
        ami_jw_obj_begin(w);
        p1_obis_str(&rd[i].obis, ob);
        ami_jw_key(w, "obis");
        ami_jw_str(w, ob);
        const ami_p1_quantity *q = ami_p1_quantity_find(&rd[i].obis);
        if (q && !q->per_channel) {
            ami_jw_key(w, "name");
            ami_jw_str(w, q->name);
        }
        int k = ami_reading_format_value(&rd[i], b, sizeof b);
        ami_jw_key(w, "value");
        if (k < 0 || rd[i].kind == AMI_VALUE_NONE)
            ami_jw_null(w);
        else if (rd[i].kind == AMI_VALUE_NUMBER)
            ami_jw_number_text(w, b, (size_t)k);
        else
            ami_jw_strn(w, b, (size_t)k);
        if (rd[i].unit[0]) {
            ami_jw_key(w, "unit");
            ami_jw_str(w, rd[i].unit);
        }
        ami_jw_obj_end(w);
    }
    ami_jw_arr_end(w);
    ami_jw_obj_end(w);
}
