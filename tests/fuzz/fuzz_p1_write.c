/*
 * Round-trip fuzz target for the P1 writer (the meter side): values taken from the input are
 * written with ami_p1_write; every telegram it accepts must frame with a good CRC, parse in
 * strict mode and give back the numbers it was given, and its Smarty encryption must decrypt to
 * the same bytes. Whatever the writer refuses must be refused with a documented code.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ami/ami.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct src {
    const uint8_t *p;
    size_t n;
} src;

static uint64_t take(src *s, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; i++) {
        v = v << 8 | (s->n ? *s->p : 0);
        if (s->n) {
            s->p++;
            s->n--;
        }
    }
    return v;
}

/* A value mostly inside its format, sometimes just outside or negative. */
static int64_t val(src *s, int64_t max)
{
    uint8_t sel = (uint8_t)take(s, 1);
    int64_t v = (int64_t)(take(s, 5) % (uint64_t)(max + 1));
    if (sel == 0xFF)
        return max + 1;
    if (sel == 0xFE)
        return -v - 1;
    return v;
}

static int64_t group_value(const ami_p1_telegram *t, const char *obis)
{
    ami_obis o;
    if (ami_obis_parse(obis, strlen(obis), &o) != AMI_OK)
        abort();
    for (size_t i = 0; i < t->nobjects; i++)
        if (ami_obis_equal(&t->objects[i].obis, &o))
            return t->groups[t->objects[i].first].u.mantissa;
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ami_sec_ctx sec;
    static int ready;
    static const uint8_t ek[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    if (!ready) {
        if (ami_sec_ctx_init(&sec) || ami_sec_ctx_set_ek(&sec, ek, 16) ||
            ami_sec_ctx_set_ak(&sec, ami_p1_smarty_default_ak, 16))
            abort();
        ready = 1;
    }
    src s = {data, size};
    char header[65], ident[AMI_P1_MAX_EQUIPMENT_ID + 2];
    size_t hl = (size_t)take(&s, 1) % sizeof header;
    for (size_t i = 0; i < hl; i++)
        header[i] = (char)(0x20 + take(&s, 1) % 0x60); /* printable, sometimes DEL */
    header[hl] = '\0';
    size_t il = (size_t)take(&s, 1) % sizeof ident;
    for (size_t i = 0; i < il; i++)
        ident[i] = (char)(0x20 + take(&s, 1) % 0x5F);
    ident[il] = '\0';
    uint8_t flags = (uint8_t)take(&s, 1);
    ami_p1_values v = {.header = header, .equipment_id = (flags & 1) ? ident : NULL};
    v.version = (flags & 2) ? 50 : 0;
    v.dst = (flags & 4) != 0;
    v.phases = (flags & 8) ? 3 : 1;
    if (flags & 0x10)
        v.phases = 2; /* refused */
    v.tariff = (uint8_t)(1 + take(&s, 1) % 3);
    v.std_offset = (int16_t)((int64_t)(take(&s, 2) % 1500) - 750);
    v.time = (int64_t)(take(&s, 5) % INT64_C(4200000000));
    for (int k = 0; k < 2; k++) {
        v.import_wh[k] = val(&s, 999999999);
        v.export_wh[k] = val(&s, 999999999);
    }
    v.power_import_w = val(&s, 99999);
    v.power_export_w = val(&s, 99999);
    for (int k = 0; k < 3; k++) {
        v.voltage_dv[k] = (int32_t)val(&s, 9999);
        v.current_a[k] = (int32_t)val(&s, 999);
        v.phase_import_w[k] = val(&s, 99999);
        v.phase_export_w[k] = val(&s, 99999);
    }
    static char out[1024];
    size_t cap = (flags & 0x20) ? (size_t)take(&s, 2) % sizeof out : sizeof out;
    int n = ami_p1_write(&v, out, cap);
    if (n < 0) {
        if (n != AMI_E_INVAL && n != AMI_E_RANGE && n != AMI_E_NOSPACE)
            abort();
        if (n == AMI_E_NOSPACE && cap == sizeof out)
            abort(); /* 1024 bytes always suffice */
        return 0;
    }
    if ((size_t)n >= cap)
        abort();
    static uint8_t fbuf[2048];
    ami_p1_framer f;
    if (ami_p1_framer_init(&f, fbuf, sizeof fbuf, 0) != AMI_OK)
        abort();
    size_t used = 0;
    ami_p1_frame fr;
    if (ami_p1_framer_push(&f, (const uint8_t *)out, (size_t)n, &used, &fr) != AMI_OK ||
        fr.crc_status != AMI_P1_CRC_OK || used > (size_t)n)
        abort();
    static ami_p1_object objs[64];
    static ami_p1_group grps[128];
    ami_p1_telegram t;
    ami_p1_telegram_init(&t, objs, 64, grps, 128);
    ami_p1_options po = {.std_offset = v.std_offset};
    if (ami_p1_parse(fr.data, fr.len, &po, &t) != AMI_OK || t.raw_lines || !t.time)
        abort();
    if (t.groups[t.time->first].u.unix_time != v.time)
        abort();
    if (group_value(&t, "1-0:1.8.1") != v.import_wh[0] ||
        group_value(&t, "1-0:2.8.2") != v.export_wh[1] ||
        group_value(&t, "1-0:1.7.0") != v.power_import_w ||
        group_value(&t, "1-0:32.7.0") != v.voltage_dv[0] ||
        group_value(&t, "1-0:31.7.0") != v.current_a[0])
        abort();
    static uint8_t frame[1200], plain[1200];
    static const uint8_t st[8] = {'A', 'M', 'I', 0, 0, 0, 0, 1};
    size_t flen = 0, plen = 0;
    if (ami_p1_smarty_encrypt(&sec, st, (uint32_t)size, (const uint8_t *)out, (size_t)n, frame,
                              sizeof frame, &flen) != AMI_OK)
        abort();
    if (ami_p1_smarty_decrypt(&sec, NULL, frame, flen, plain, sizeof plain, &plen, NULL, NULL) !=
            AMI_OK ||
        plen != (size_t)n || memcmp(plain, out, plen) != 0)
        abort();
    return 0;
}
