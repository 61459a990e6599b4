/*
 * IEC 62056-21 decode speed: a 200-data-set readout (STX ... ETX BCC) framed, BCC-checked,
 * iterated data set by data set with each value turned into JSON number text, against memcpy
 * of the same bytes; and the real ZMD120 capture (bare readout) against memcpy.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ami/iec21.h"
#include "benchutil.h"

struct ctx {
    const uint8_t *p;
    size_t n;
    uint8_t *copy;
    unsigned lenient;
};

static uint64_t op_memcpy(void *v)
{
    struct ctx *c = v;
    memcpy(c->copy, c->p, c->n);
    return c->copy[c->n / 2];
}

static uint64_t op_decode(void *v)
{
    struct ctx *c = v;
    uint64_t acc = 0;
    size_t off = 0;
    while (off < c->n) {
        ami_iec21_msg m;
        int rc = ami_iec21_msg_parse(c->p + off, c->n - off, AMI_IEC21_FROM_ANY, c->lenient, &m);
        if (rc <= 0)
            break;
        if (m.data) {
            ami_iec21_dsiter it;
            ami_iec21_dataset ds;
            ami_iec21_ds_begin(&it, m.data, m.data_len, c->lenient);
            while (ami_iec21_ds_next(&it, &ds) == 1) {
                char num[AMI_IEC21_MAX_VALUE + 2];
                acc += ami_iec21_value_number(ds.value, ds.value_len, num, sizeof num);
                acc += ds.address_len;
            }
        }
        off += (size_t)rc;
    }
    return acc;
}

int main(void)
{
    /* a synthetic readout of 200 registers, the size of a full billing readout */
    static char data[16384];
    size_t n = 0;
    for (int i = 0; i < 200; i++)
        n += (size_t)snprintf(data + n, sizeof data - n, "1.8.%d(%06d.%d*kWh)\r\n", i, i * 37,
                              i % 10);
    n += (size_t)snprintf(data + n, sizeof data - n, "!\r\n");
    static uint8_t msg[16400];
    int len = ami_iec21_data_encode(data, n, msg, sizeof msg);
    if (len < 0) {
        fprintf(stderr, "bench_iec21: encode failed\n");
        return 1;
    }
    static uint8_t copy[16400];
    struct ctx c = {msg, (size_t)len, copy, 0};
    unsigned ms = bench_ms();
    double base = bench_run(op_memcpy, &c, ms);
    double dec = bench_run(op_decode, &c, ms);
    bench_report("iec21 readout decode (200 data sets, BCC, numbers)", dec, "memcpy", base,
                 (size_t)len);

    size_t flen;
    uint8_t *f = bench_read_file(AMI_TESTDATA "/iec62056-21/mode_c_landis_gyr_zmd120_readout_"
                                              "vzlogger.txt",
                                 &flen);
    struct ctx z = {f, flen, copy, AMI_IEC21_LENIENT_ALL};
    base = bench_run(op_memcpy, &z, ms);
    dec = bench_run(op_decode, &z, ms);
    bench_report("iec21 decode of the ZMD120 capture (echo, ident, bare readout)", dec, "memcpy",
                 base, flen);
    free(f);
    return 0;
}
