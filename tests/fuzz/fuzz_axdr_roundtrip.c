/*
 * Fuzz target: A-XDR round trip. Whatever decodes re-encodes to exactly the bytes it was
 * decoded from (decode accepts only canonical forms: shortest lengths; booleans and float NaN
 * payloads are kept bit for bit), the measuring writer agrees on the size, skip consumes the
 * same length, and the re-encoding decodes again.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "ami/ami.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t arena_buf[4u << 20];
static uint8_t out[1u << 20];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ami_arena a;
    ami_arena_init(&a, arena_buf, sizeof arena_buf);
    ami_rd r;
    ami_rd_init(&r, data, size);
    ami_axdr_value *v = NULL;
    /* Fewer nodes than the default: ten-byte inputs (zero-size compact-array elements) can make
     * the walk visit max_nodes nodes, which would dominate the fuzzing time. */
    ami_axdr_limits lim;
    ami_axdr_limits_default(&lim);
    lim.max_nodes = 20000;
    if (ami_axdr_decode(&r, &a, &lim, &v) != AMI_OK)
        return 0;
    size_t used = r.pos;

    ami_rd s;
    ami_rd_init(&s, data, size);
    if (ami_axdr_skip(&s, &lim) != AMI_OK || s.pos != used)
        abort();

    ami_wr w;
    ami_wr_init(&w, NULL, 0);
    if (ami_axdr_encode(&w, v) != AMI_OK || w.len != used)
        abort();
    if (used > sizeof out)
        return 0;
    ami_wr_init(&w, out, sizeof out);
    if (ami_axdr_encode(&w, v) != AMI_OK || w.len != used || memcmp(out, data, used) != 0)
        abort();

    ami_arena_reset(&a);
    ami_rd_init(&r, out, used);
    if (ami_axdr_decode(&r, &a, &lim, &v) != AMI_OK || r.pos != used)
        abort();
    return 0;
}
