/*
 * The meter side of P1 (what `ami sim --p1` does for every meter every second), as ratios to
 * baselines measured in the same run:
 *
 *   write:    ami_p1_write of a three-phase DSMR 5.0.2 telegram (22 objects, 539 bytes)
 *             against a byte-at-a-time table-driven CRC-16/ARC pass over the same bytes (the
 *             reference of bench_p1: the least any P1 reader or writer does per byte);
 *   metro:    ami_metro_p1_values + ami_p1_write (the values taken from a meter's metrology);
 *   parse:    the reader's work on the same telegram (framer + CRC + strict parse), for scale;
 *   encrypt:  ami_p1_smarty_encrypt of that telegram against ami_p1_smarty_decrypt of the frame.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ami/ami.h"
#include "benchutil.h"

static struct {
    ami_p1_values v;
    ami_metro m;
    char tg[1024];
    size_t len;
    uint16_t table[256];
    ami_sec_ctx sec;
    uint8_t st[8];
    uint8_t frame[1200], out[1200];
    size_t flen;
    uint32_t fc;
    uint8_t fbuf[2048];
    ami_p1_object objs[64];
    ami_p1_group grps[128];
} g;

static uint64_t op_crc(void *ctx)
{
    (void)ctx;
    uint16_t crc = 0;
    const uint8_t *s = (const uint8_t *)g.tg;
    for (size_t k = 0; k < g.len; k++)
        crc = (uint16_t)((crc >> 8) ^ g.table[(crc ^ s[k]) & 0xFF]);
    return crc;
}

static uint64_t op_write(void *ctx)
{
    (void)ctx;
    return (uint64_t)ami_p1_write(&g.v, g.tg, sizeof g.tg);
}

static uint64_t op_metro_write(void *ctx)
{
    (void)ctx;
    ami_p1_values v = {.header = g.v.header, .version = 50, .equipment_id = g.v.equipment_id};
    (void)ami_metro_p1_values(&g.m, 0, &v);
    return (uint64_t)ami_p1_write(&v, g.tg, sizeof g.tg);
}

static uint64_t op_parse(void *ctx)
{
    (void)ctx;
    ami_p1_framer f;
    (void)ami_p1_framer_init(&f, g.fbuf, sizeof g.fbuf, 0);
    size_t used = 0;
    ami_p1_frame fr;
    if (ami_p1_framer_push(&f, (const uint8_t *)g.tg, g.len, &used, &fr) != AMI_OK)
        abort();
    ami_p1_telegram t;
    ami_p1_telegram_init(&t, g.objs, 64, g.grps, 128);
    ami_p1_options po = {0};
    if (ami_p1_parse(fr.data, fr.len, &po, &t) != AMI_OK)
        abort();
    return t.nobjects;
}

static uint64_t op_encrypt(void *ctx)
{
    (void)ctx;
    size_t n = 0;
    if (ami_p1_smarty_encrypt(&g.sec, g.st, ++g.fc, (const uint8_t *)g.tg, g.len, g.out,
                              sizeof g.out, &n) != AMI_OK)
        abort();
    return n;
}

static uint64_t op_decrypt(void *ctx)
{
    (void)ctx;
    size_t n = 0;
    if (ami_p1_smarty_decrypt(&g.sec, NULL, g.frame, g.flen, g.out, sizeof g.out, &n, NULL, NULL) !=
        AMI_OK)
        abort();
    return n;
}

int main(void)
{
    for (unsigned i = 0; i < 256; i++) {
        uint16_t c = (uint16_t)i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (uint16_t)((c >> 1) ^ 0xA001) : (uint16_t)(c >> 1);
        g.table[i] = c;
    }
    g.v = (ami_p1_values){.header = "AMI5\\2OPENAMI-SIM",
                          .version = 50,
                          .time = INT64_C(1796308205),
                          .equipment_id = "AMI0000000001",
                          .import_wh = {12345678, 2345678},
                          .export_wh = {100000, 2000},
                          .tariff = 2,
                          .power_import_w = 1193,
                          .phases = 3,
                          .voltage_dv = {2301, 2299, 2310},
                          .current_a = {1, 2, 3},
                          .phase_import_w = {400, 393, 400}};
    int n = ami_p1_write(&g.v, g.tg, sizeof g.tg);
    if (n <= 0)
        return 1;
    g.len = (size_t)n;
    ami_metro_load load;
    ami_metro_load_from_seed(&load, 42);
    load.phases = 3;
    load.share[0] = 334, load.share[1] = 333, load.share[2] = 333;
    if (ami_metro_init(&g.m, &load, 15, 15, INT64_C(1796308205)) != AMI_OK ||
        ami_metro_advance(&g.m, INT64_C(1796308205) + 86400, 0) != AMI_OK)
        return 1;
    static const uint8_t key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    memcpy(g.st, "AMI\0\0\0\0\1", 8);
    if (ami_sec_ctx_init(&g.sec) || ami_sec_ctx_set_ek(&g.sec, key, 16) ||
        ami_sec_ctx_set_ak(&g.sec, ami_p1_smarty_default_ak, 16) ||
        ami_p1_smarty_encrypt(&g.sec, g.st, 1, (const uint8_t *)g.tg, g.len, g.frame,
                              sizeof g.frame, &g.flen) != AMI_OK)
        return 1;
    printf("telegram: %zu bytes, Smarty frame: %zu bytes\n", g.len, g.flen);
    unsigned ms = bench_ms();
    double crc = bench_run(op_crc, NULL, ms);
    double wr = bench_run(op_write, NULL, ms);
    double mw = bench_run(op_metro_write, NULL, ms);
    double pa = bench_run(op_parse, NULL, ms);
    g.len = (size_t)ami_p1_write(&g.v, g.tg, sizeof g.tg); /* op_metro_write reused the buffer */
    double dec = bench_run(op_decrypt, NULL, ms);
    double enc = bench_run(op_encrypt, NULL, ms);
    bench_report("p1 write", wr, "crc16/arc pass", crc, g.len);
    bench_report("metrology + p1 write", mw, "crc16/arc pass", crc, g.len);
    bench_report("p1 frame + strict parse", pa, "crc16/arc pass", crc, g.len);
    bench_report("smarty encrypt", enc, "smarty decrypt", dec, g.len);
    ami_sec_ctx_wipe(&g.sec);
    return 0;
}
