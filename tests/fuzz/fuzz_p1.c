/*
 * libFuzzer target: DSMR P1 framer + parser. The first input byte picks the leniency flags and
 * the chunking; the rest is pushed through a small framer (so that oversize and resync paths
 * run), and every telegram handed back is parsed and every entry rendered.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <string.h>

#include "ami/ami.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void use(const ami_p1_telegram *t)
{
    char b[256];
    for (uint32_t i = 0; i < t->nobjects; i++) {
        const ami_p1_object *o = &t->objects[i];
        (void)ami_p1_object_name(o, b, sizeof b);
        for (size_t k = 0; k < o->nentries; k++) {
            ami_p1_entry e;
            if (ami_p1_entry_get(t, o, k, &e) != AMI_OK)
                __builtin_trap();
            if (e.value) {
                (void)ami_p1_number_format(e.value, b, sizeof b);
                (void)ami_p1_text(e.value, true, b, sizeof b);
                (void)ami_p1_number_double(e.value);
            }
            if (e.time)
                (void)ami_p1_time_format(e.time, b, sizeof b);
            if (e.period)
                (void)ami_p1_time_format(e.period, b, sizeof b);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned lenient = data[0] & 0x80 ? AMI_P1_LENIENT_ALL : (data[0] & 0x7Fu);
    size_t chunk = (size_t)(data[0] & 0x0F) * 7 + 1;
    data++;
    size--;
    static uint8_t buf[2048];
    static ami_p1_object objs[64];
    static ami_p1_group grps[256];
    ami_p1_framer f;
    ami_p1_framer_init(&f, buf, sizeof buf, lenient);
    ami_p1_options po = {lenient, 0};
    size_t off = 0;
    for (;;) {
        ami_p1_frame fr;
        size_t used = 0;
        int rc;
        bool last = off >= size;
        if (!last) {
            size_t n = size - off < chunk ? size - off : chunk;
            rc = ami_p1_framer_push(&f, data + off, n, &used, &fr);
            if (used > n)
                __builtin_trap();
            off += used;
        } else {
            rc = ami_p1_framer_finish(&f, &fr);
        }
        if (rc == AMI_OK) {
            ami_p1_telegram t;
            ami_p1_telegram_init(&t, objs, 64, grps, 256);
            if (ami_p1_parse(fr.data, fr.len, &po, &t) == AMI_OK)
                use(&t);
        }
        if (last)
            break;
    }
    /* The parser alone, on the raw input. */
    ami_p1_telegram t;
    ami_p1_telegram_init(&t, objs, 64, grps, 256);
    if (ami_p1_parse(data, size, &po, &t) == AMI_OK)
        use(&t);
    return 0;
}
