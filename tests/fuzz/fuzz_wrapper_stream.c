/*
 * libFuzzer target: wrapper (IEC 62056-47) TCP stream reassembly and UDP datagram decoding.
 * Chunk size from the first byte; every message returned must be well formed and re-encode.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "ami/ami.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t chunk = (size_t)data[0] + 1;
    data++;
    size--;
    ami_wrapper_msg m;
    if (ami_wrapper_datagram_decode(data, size, &m) == AMI_OK &&
        (m.apdu_len + 8 != size || m.apdu != data + 8))
        abort();
    static uint8_t buf[1024];
    ami_wrapper_stream s;
    if (ami_wrapper_stream_init(&s, buf, sizeof buf))
        abort();
    size_t pos = 0;
    for (size_t guard = 0; guard < 4 * size + 64; guard++) {
        size_t n = size - pos < chunk ? size - pos : chunk, used;
        int rc = ami_wrapper_stream_next(&s, data + pos, n, &used, &m);
        pos += used;
        if (rc == AMI_OK) {
            if (m.hdr.version != AMI_WRAPPER_VERSION || m.apdu_len != m.hdr.length ||
                m.apdu_len > sizeof buf - 8)
                abort();
            static uint8_t out[sizeof buf];
            ami_wr w;
            ami_wr_init(&w, out, sizeof out);
            if (ami_wrapper_encode(&w, m.hdr.src_wport, m.hdr.dst_wport, m.apdu, m.apdu_len))
                abort();
        } else if (rc == AMI_E_AGAIN) {
            if (pos == size)
                return 0;
        } else {
            return 0; /* broken stream: sticky error, caller closes */
        }
    }
    abort();
}
