/*
 * A-XDR codec throughput on a realistic load-profile day: the buffer of a profile generic
 * (Blue Book 4.3.6) with 96 rows of structure {date-time as octet-string(12), status unsigned,
 * energy double-long-unsigned, power double-long}, as a meter returns it for a 15-minute
 * profile. Each figure is a ratio against memcpy of the same bytes measured in the same run.
 * Also: the same rows as a compact-array (Green Book 9.5), which meters use to save bytes.
 *
 *     build/release/bench_axdr            (BENCH_MS=ms per figure, default 300)
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ami/ami.h"
#include "benchutil.h"

#define ROWS 96

struct ctx {
    uint8_t *buf;
    size_t len;
    uint8_t *dst;
    ami_arena arena;
    ami_axdr_value *tree;
};

static uint8_t arena_mem[1 << 20];

/* Builds the profile as a tree (tagged array, or compact-array when compact). */
static ami_axdr_value *build_profile(ami_arena *a, uint8_t *dates, bool compact)
{
    ami_axdr_value *top = ami_axdr_new(a, compact ? AMI_AXDR_COMPACT_ARRAY : AMI_AXDR_ARRAY);
    if (compact) {
        ami_axdr_value *d = ami_axdr_new(a, AMI_AXDR_STRUCTURE);
        ami_axdr_append(d, ami_axdr_new(a, AMI_AXDR_OCTET_STRING));
        ami_axdr_append(d, ami_axdr_new(a, AMI_AXDR_UNSIGNED));
        ami_axdr_append(d, ami_axdr_new(a, AMI_AXDR_DOUBLE_LONG_UNSIGNED));
        ami_axdr_append(d, ami_axdr_new(a, AMI_AXDR_DOUBLE_LONG));
        top->type_desc = d;
    }
    uint32_t energy = 12345678;
    for (int i = 0; i < ROWS; i++) {
        /* 2024-03-31 hh:mm:00, deviation -60, status 0x80 (DST) */
        uint8_t *dt = dates + 12 * i;
        static const uint8_t base[12] = {0x07, 0xE8, 3, 31, 7, 0, 0, 0, 0, 0xFF, 0xC4, 0x80};
        memcpy(dt, base, 12);
        dt[4] = (uint8_t)(i / 4);
        dt[5] = (uint8_t)(15 * (i % 4));
        int32_t power = 1500 + (i * 37) % 900 - (i % 7 == 0 ? 3000 : 0);
        energy += (uint32_t)(power > 0 ? power : 0) / 4;
        ami_axdr_value *row = ami_axdr_new(a, AMI_AXDR_STRUCTURE);
        ami_axdr_append(row, ami_axdr_new_bytes(a, AMI_AXDR_OCTET_STRING, dt, 12));
        ami_axdr_append(row, ami_axdr_new_uint(a, AMI_AXDR_UNSIGNED, i % 13 == 0 ? 0x08 : 0));
        ami_axdr_append(row, ami_axdr_new_uint(a, AMI_AXDR_DOUBLE_LONG_UNSIGNED, energy));
        ami_axdr_append(row, ami_axdr_new_int(a, AMI_AXDR_DOUBLE_LONG, power));
        ami_axdr_append(top, row);
    }
    return top;
}

static uint64_t op_memcpy(void *p)
{
    struct ctx *c = p;
    memcpy(c->dst, c->buf, c->len);
    __asm__ volatile("" ::"r"(c->dst) : "memory");
    return c->dst[c->len - 1];
}

static uint64_t op_decode(void *p)
{
    struct ctx *c = p;
    ami_arena_reset(&c->arena);
    ami_rd r;
    ami_rd_init(&r, c->buf, c->len);
    ami_axdr_value *v;
    if (ami_axdr_decode(&r, &c->arena, NULL, &v) != AMI_OK)
        abort();
    return v->count;
}

static uint64_t op_skip(void *p)
{
    struct ctx *c = p;
    ami_rd r;
    ami_rd_init(&r, c->buf, c->len);
    if (ami_axdr_skip(&r, NULL) != AMI_OK)
        abort();
    return r.pos;
}

static uint64_t op_encode(void *p)
{
    struct ctx *c = p;
    ami_wr w;
    ami_wr_init(&w, c->dst, c->len);
    if (ami_axdr_encode(&w, c->tree) != AMI_OK)
        abort();
    return w.len;
}

static void run(const char *what, bool compact, unsigned ms)
{
    static uint8_t dates[12 * ROWS];
    static uint8_t buf[8192], dst[8192];
    struct ctx c = {.buf = buf, .dst = dst};
    ami_arena tree_arena;
    static uint8_t tree_mem[1 << 18];
    ami_arena_init(&tree_arena, tree_mem, sizeof tree_mem);
    c.tree = build_profile(&tree_arena, dates, compact);
    ami_wr w;
    ami_wr_init(&w, buf, sizeof buf);
    if (ami_axdr_encode(&w, c.tree) != AMI_OK)
        abort();
    c.len = w.len;
    ami_arena_init(&c.arena, arena_mem, sizeof arena_mem);

    printf("%s: %d rows x 4 columns, %zu bytes\n", what, ROWS, c.len);
    double base = bench_run(op_memcpy, &c, ms);
    double dec = bench_run(op_decode, &c, ms);
    double skp = bench_run(op_skip, &c, ms);
    double enc = bench_run(op_encode, &c, ms);
    bench_report("  memcpy", base, "memcpy", base, c.len);
    bench_report("  decode", dec, "memcpy", base, c.len);
    bench_report("  skip", skp, "memcpy", base, c.len);
    bench_report("  encode", enc, "memcpy", base, c.len);
    op_decode(&c);
    printf("  arena per decode: %zu bytes (%zu per row)\n", c.arena.used, c.arena.used / ROWS);
}

int main(void)
{
    unsigned ms = bench_ms();
    run("load profile, array of structure", false, ms);
    run("load profile, compact-array", true, ms);
    return 0;
}
