/*
 * Fuzz target for the encrypted-P1 decryptor: Smarty frame parse + decrypt, the Austrian
 * general-glo-ciphering path (encryption-only accepted, so garbage reaches the strict
 * data-notification parse), and the data-notification parse on the raw input. Fixed keys.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ami/ami.h"

static const uint8_t smarty_ek[16] = {0xD4, 0x91, 0x47, 0x0F, 0x47, 0x12, 0x63, 0x32,
                                      0xB0, 0x7D, 0x19, 0x23, 0xB3, 0x50, 0x41, 0x88};
static const uint8_t evn_ek[16] = {0x36, 0xC6, 0x66, 0x39, 0xE4, 0x8A, 0x8C, 0xA4,
                                   0xD6, 0xBC, 0x8B, 0x28, 0x2A, 0x79, 0x3B, 0xBB};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ami_sec_ctx smarty, evn;
    static int ready;
    if (!ready) {
        if (ami_sec_ctx_init(&smarty) || ami_sec_ctx_set_ek(&smarty, smarty_ek, 16) ||
            ami_sec_ctx_set_ak(&smarty, ami_p1_smarty_default_ak, 16) || ami_sec_ctx_init(&evn) ||
            ami_sec_ctx_set_ek(&evn, evn_ek, 16) ||
            ami_sec_ctx_set_ak(&evn, ami_p1_smarty_default_ak, 16))
            abort();
        evn.accept |= AMI_SEC_ACCEPT_ENC;
        ready = 1;
    }
    uint8_t *out = malloc(size ? size : 1);
    if (!out)
        return 0;
    size_t out_len = 0, used = 0;
    ami_p1_frame_info info;
    int rc = ami_p1_smarty_decrypt(&smarty, NULL, data, size, out, size, &out_len, &used, &info);
    if (rc == AMI_OK && (used > size || out_len > size))
        abort();

    static uint8_t arena_buf[AMI_P1_NOTIFY_ARENA];
    ami_arena arena;
    ami_arena_init(&arena, arena_buf, sizeof arena_buf);
    ami_p1_dlms c = {&evn, NULL, out, size, &arena};
    ami_reading rd[64];
    ami_p1_notification n;
    rc = ami_p1_dlms_readings(&c, data, size, rd, 64, &n, &info);
    if ((rc == AMI_OK && n.count > 64) || arena.used != 0)
        abort();

    rc = ami_p1_notification_parse(data, size, &arena, rd, 64, &n);
    if (rc == AMI_OK) {
        char buf[200];
        for (size_t i = 0; i < n.count; i++) {
            if (rd[i].kind == AMI_VALUE_STRING &&
                (rd[i].str < data || rd[i].str + rd[i].str_len > data + size))
                abort();
            (void)ami_reading_format_value(&rd[i], buf, sizeof buf);
        }
    }
    free(out);
    return 0;
}
