/*
 * Benchmark: a client GET read in 8 datablocks of 1000 bytes (the session's whole work: the
 * request, every response decoded, GET-next built, raw data reassembled, the value validated)
 * against a memcpy of the same response bytes, in the same run.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <string.h>

#include "ami/ami.h"
#include "benchutil.h"

#define BLOCKS 8
#define RAW    1000

static uint8_t resp[BLOCKS][RAW + 16];
static size_t resp_len[BLOCKS];
static uint8_t value[BLOCKS * RAW];
static uint8_t data_buf[BLOCKS * RAW + 64], copy[BLOCKS * (RAW + 16)];
static ami_dlms_client cl;
static ami_dlms_client_config cfg;

static uint64_t op_memcpy(void *ctx)
{
    (void)ctx;
    size_t at = 0;
    for (int i = 0; i < BLOCKS; i++) {
        memcpy(copy + at, resp[i], resp_len[i]);
        at += resp_len[i];
    }
    return copy[at / 2];
}

static uint64_t op_get(void *ctx)
{
    (void)ctx;
    static const ami_attr_sel sel = {{7, {{1, 0, 99, 1, 0, 255}}, 2}, {false, 0, {NULL, 0}}};
    uint8_t out[64];
    ami_wr w;
    ami_wr_init(&w, out, sizeof out);
    if (ami_dlms_client_get(&cl, &sel, 1, &w))
        return 0;
    ami_dlms_result res;
    uint64_t sum = w.len;
    for (int i = 0; i < BLOCKS; i++) {
        ami_wr_init(&w, out, sizeof out);
        int rc = ami_dlms_client_input(&cl, resp[i], resp_len[i], &w, &res);
        sum += (uint64_t)(rc + (int)w.len);
    }
    return sum + res.data.len;
}

int main(void)
{
    /* one octet-string of BLOCKS * RAW - 4 bytes, cut into blocks */
    value[0] = AMI_AXDR_OCTET_STRING;
    value[1] = 0x82;
    value[2] = (uint8_t)((sizeof value - 4) >> 8);
    value[3] = (uint8_t)((sizeof value - 4) & 0xFF);
    for (size_t i = 4; i < sizeof value; i++)
        value[i] = (uint8_t)i;
    for (int i = 0; i < BLOCKS; i++) {
        ami_apdu a;
        memset(&a, 0, sizeof a);
        a.tag = AMI_APDU_GET_RESPONSE;
        a.u.get_response.type = AMI_GET_WITH_DATABLOCK;
        a.u.get_response.iip = 0xC1;
        a.u.get_response.block_ok = true;
        a.u.get_response.block =
            (ami_datablock){i == BLOCKS - 1, (uint32_t)i + 1, ami_view_of(value + i * RAW, RAW)};
        ami_wr w;
        ami_wr_init(&w, resp[i], sizeof resp[i]);
        if (ami_apdu_encode(&w, &a) || w.err) {
            fprintf(stderr, "bench_dlms_client: cannot build the responses\n");
            return 1;
        }
        resp_len[i] = w.len;
    }
    cfg.data_buf = data_buf;
    cfg.data_cap = sizeof data_buf;
    cfg.invoke_id = 1;
    cfg.fixed_invoke_id = true;
    if (ami_dlms_client_init(&cl, &cfg))
        return 1;
    /* associated by hand: a recorded AARE */
    static const uint8_t aare[] = {0x61, 0x29, 0xA1, 0x09, 0x06, 0x07, 0x60, 0x85, 0x74, 0x05, 0x08,
                                   0x01, 0x01, 0xA2, 0x03, 0x02, 0x01, 0x00, 0xA3, 0x05, 0xA1, 0x03,
                                   0x02, 0x01, 0x00, 0xBE, 0x10, 0x04, 0x0E, 0x08, 0x00, 0x06, 0x5F,
                                   0x1F, 0x04, 0x00, 0x00, 0x00, 0x18, 0x02, 0x00, 0x00, 0x07};
    uint8_t out[256];
    ami_wr w;
    ami_wr_init(&w, out, sizeof out);
    ami_dlms_result res;
    if (ami_dlms_client_associate(&cl, &w) ||
        ami_dlms_client_input(&cl, aare, sizeof aare, &w, &res) || op_get(NULL) == 0 ||
        ami_dlms_client_state_get(&cl) != AMI_DLMS_CLIENT_READY) {
        fprintf(stderr, "bench_dlms_client: the session does not complete\n");
        return 1;
    }
    size_t total = 0;
    for (int i = 0; i < BLOCKS; i++)
        total += resp_len[i];
    unsigned ms = bench_ms();
    double base = 1e300, get = 1e300;
    for (int round = 0; round < 3; round++) {
        double t = bench_run(op_memcpy, NULL, ms / 3 + 1);
        base = t < base ? t : base;
        t = bench_run(op_get, NULL, ms / 3 + 1);
        get = t < get ? t : get;
    }
    bench_report("GET in 8 datablocks of 1000 bytes", get, "memcpy of the responses", base, total);
    return 0;
}
