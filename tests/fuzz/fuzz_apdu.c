/*
 * libFuzzer target: the APDU decoder over every APDU kind (ACSE, xDLMS, SN, ciphered headers),
 * strict and lenient. For every accepted input: re-encoding must succeed, the result must decode
 * again and re-encode to itself (encode is a fixed point after one canonicalisation: BOOLEANs,
 * lengths), the selective-access parameters must not crash their decoders, and both renderings
 * (JSON, text) must run to completion.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ami/ami.h"

static uint8_t arena_buf[1 << 16], arena2_buf[1 << 16], scratch_buf[1 << 16];
static uint8_t enc1[1 << 17], enc2[1 << 17];

static int null_sink(void *user, const char *s, size_t n)
{
    (void)user, (void)s, (void)n;
    return 0;
}

static void check_descriptors(const ami_apdu *a)
{
    const ami_access_selection *s = NULL;
    if (a->tag == AMI_APDU_GET_REQUEST && a->u.get_request.type == AMI_GET_NORMAL)
        s = &a->u.get_request.attr.access;
    if (!s || !s->present)
        return;
    ami_range_descriptor r;
    ami_entry_descriptor e;
    if (ami_range_descriptor_decode(s->params, &r) == AMI_OK) {
        ami_wr w;
        ami_wr_init(&w, enc2, sizeof enc2);
        if (ami_range_descriptor_encode(&w, &r) != AMI_OK)
            abort();
    }
    if (ami_entry_descriptor_decode(s->params, &e) == AMI_OK) {
        ami_wr w;
        ami_wr_init(&w, enc2, sizeof enc2);
        if (ami_entry_descriptor_encode(&w, &e) != AMI_OK || w.len != s->params.len ||
            memcmp(enc2, s->params.p, w.len) != 0)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (unsigned lenient = 0; lenient <= AMI_APDU_LENIENT_TRAILING; lenient++) {
        ami_arena ar, ar2, scratch;
        ami_arena_init(&ar, arena_buf, sizeof arena_buf);
        ami_apdu_opts opts = {NULL, lenient};
        ami_apdu a;
        if (ami_apdu_decode(data, size, &ar, &opts, &a) != AMI_OK)
            continue;
        ami_wr w;
        ami_wr_init(&w, enc1, sizeof enc1);
        if (ami_apdu_encode(&w, &a) != AMI_OK)
            abort();
        size_t n1 = w.len;
        ami_apdu b;
        ami_arena_init(&ar2, arena2_buf, sizeof arena2_buf);
        if (ami_apdu_decode(enc1, n1, &ar2, &opts, &b) != AMI_OK)
            abort();
        ami_wr_init(&w, enc2, sizeof enc2);
        if (ami_apdu_encode(&w, &b) != AMI_OK || w.len != n1 || memcmp(enc1, enc2, n1) != 0)
            abort();
        check_descriptors(&a);
        ami_arena_init(&scratch, scratch_buf, sizeof scratch_buf);
        ami_jw jw;
        ami_jw_init(&jw, null_sink, NULL);
        ami_apdu_to_json(&a, &scratch, &jw);
        ami_arena_reset(&scratch);
        (void)ami_apdu_format_text(&a, &scratch, 0, null_sink, NULL);
    }
    return 0;
}
