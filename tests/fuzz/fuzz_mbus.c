/*
 * Fuzz target for the M-Bus frame decoder and the DLMS segment reassembler: the input is a
 * byte stream, decoded frame by frame with one-byte resynchronisation; every complete APDU
 * goes through the Austrian decrypt-and-parse path with a fixed key.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdlib.h>

#include "ami/ami.h"

static const uint8_t evn_ek[16] = {0x36, 0xC6, 0x66, 0x39, 0xE4, 0x8A, 0x8C, 0xA4,
                                   0xD6, 0xBC, 0x8B, 0x28, 0x2A, 0x79, 0x3B, 0xBB};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ami_sec_ctx ctx;
    static int ready;
    if (!ready) {
        if (ami_sec_ctx_init(&ctx) || ami_sec_ctx_set_ek(&ctx, evn_ek, 16))
            abort();
        ctx.accept |= AMI_SEC_ACCEPT_ENC;
        ready = 1;
    }
    uint8_t buf[1024], work[1024];
    ami_mbus_dlms r;
    if (ami_mbus_dlms_init(&r, buf, sizeof buf))
        abort();
    size_t pos = 0;
    while (pos < size) {
        ami_mbus_frame f;
        size_t used = 0;
        int rc = ami_mbus_frame_decode(data + pos, size - pos, &f, &used);
        if (rc == AMI_E_AGAIN)
            break;
        if (rc != AMI_OK) {
            pos++;
            continue;
        }
        if (used == 0 || used > size - pos)
            abort();
        pos += used;
        if (f.data_len && (f.data < data || f.data + f.data_len > data + size))
            abort();
        const uint8_t *apdu;
        size_t n;
        rc = ami_mbus_dlms_push(&r, &f, &apdu, &n);
        if (rc == AMI_OK) {
            if (n > sizeof buf)
                abort();
            static uint8_t arena_buf[AMI_P1_NOTIFY_ARENA];
            ami_arena arena;
            ami_arena_init(&arena, arena_buf, sizeof arena_buf);
            ami_p1_dlms c = {&ctx, NULL, work, sizeof work, &arena};
            ami_reading rd[32];
            ami_p1_notification info;
            (void)ami_p1_dlms_readings(&c, apdu, n, rd, 32, &info, NULL);
        }
    }
    return 0;
}
