/*
 * libFuzzer target: HDLC streaming deframer. The input is a byte stream fed in chunks whose
 * sizes come from the first byte; every frame returned must decode again on its own.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>

#include "ami/ami.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t chunk = (size_t)(data[0] & 0x7F) + 1;
    unsigned flags = data[0] & 0x80 ? AMI_HDLC_LENIENT_NO_CLOSING_FLAG : 0;
    data++;
    size--;
    static ami_hdlc_deframer d;
    ami_hdlc_deframer_init(&d, flags);
    size_t pos = 0;
    for (size_t guard = 0; guard < 4 * size + 64; guard++) {
        size_t n = size - pos < chunk ? size - pos : chunk, used;
        ami_hdlc_frame f;
        int rc = ami_hdlc_deframer_next(&d, data + pos, n, &used, &f);
        pos += used;
        if (rc == AMI_OK) {
            static uint8_t out[AMI_HDLC_MAX_FRAME_BYTES];
            ami_wr w;
            ami_wr_init(&w, out, sizeof out);
            if (ami_hdlc_frame_encode(&w, &f) != AMI_OK)
                abort();
            ami_hdlc_frame g;
            if (ami_hdlc_frame_decode(out, w.len, 0, &g) != (int)w.len)
                abort();
        } else if (rc == AMI_E_AGAIN) {
            if (pos == size)
                return 0;
        } else if (rc != AMI_E_CHECKSUM && rc != AMI_E_MALFORMED) {
            abort();
        }
    }
    abort(); /* the deframer must always make progress */
}
