/*
 * APDU decode and encode rates against memcpy of the same bytes (the floor for anything that
 * touches them). Workloads, all from real sessions or the Green Book:
 *   - get-request normal (13 bytes): the most frequent client APDU;
 *   - get-response normal with a 12-byte octet-string (18 bytes);
 *   - get-response with-datablock carrying a 1182-byte profile-generic block (zero copy: the
 *     block is a view, so the cost should not grow with its size);
 *   - AARQ with LLS (56 bytes, BER);
 *   - get-request with-list of 10 attributes (arena lists).
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ami/ami.h"
#include "benchutil.h"

typedef struct work {
    const char *name;
    uint8_t bytes[2048];
    size_t len;
    ami_apdu apdu;
    uint8_t out[2048];
    uint8_t copy[2048];
    ami_arena arena;
    uint8_t arena_buf[8192];
} work;

static uint64_t op_memcpy(void *p)
{
    work *w = p;
    memcpy(w->copy, w->bytes, w->len);
    return w->copy[w->len - 1];
}

static uint64_t op_decode(void *p)
{
    work *w = p;
    ami_arena_reset(&w->arena);
    int rc = ami_apdu_decode(w->bytes, w->len, &w->arena, NULL, &w->apdu);
    return (uint64_t)rc + w->apdu.tag;
}

static uint64_t op_encode(void *p)
{
    work *w = p;
    ami_wr wr;
    ami_wr_init(&wr, w->out, sizeof w->out);
    int rc = ami_apdu_encode(&wr, &w->apdu);
    return (uint64_t)rc + wr.len;
}

static int hex_into(work *w, const char *hex)
{
    int n = ami_hex_decode(hex, strlen(hex), w->bytes, sizeof w->bytes);
    if (n <= 0)
        return -1;
    w->len = (size_t)n;
    return 0;
}

int main(void)
{
    static const char *const names[] = {
        "get-request normal", "get-response normal",      "get-response datablock 1k",
        "AARQ LLS",           "get-request with-list 10",
    };
    static char hex[5][5000];
    snprintf(hex[0], sizeof hex[0], "C001C100080000010000FF0200");
    snprintf(hex[1], sizeof hex[1], "C401C100090C07EA0B1607030D3900000000");
    /* with-datablock: header, then a raw-data octet-string of 1182 bytes (0x82 049E). */
    size_t at = (size_t)snprintf(hex[2], sizeof hex[2], "C402C100000000010082049E");
    for (size_t i = 0; i < 1182; i++)
        at += (size_t)snprintf(hex[2] + at, sizeof hex[2] - at, "%02X", (unsigned)(i * 7 & 0xFF));
    snprintf(hex[3], sizeof hex[3],
             "6036A1090607608574050801018A0207808B0760857405080201AC0A80083132333435363738"
             "BE10040E01000000065F1F0400007E1F04B0");
    at = (size_t)snprintf(hex[4], sizeof hex[4], "C003C10A");
    for (int i = 0; i < 10; i++)
        at += (size_t)snprintf(hex[4] + at, sizeof hex[4] - at, "0003010001%02X00FF0200", i);

    unsigned ms = bench_ms();
    printf("# APDU codec, ratio to memcpy of the same bytes (lower is faster)\n");
    for (size_t k = 0; k < 5; k++) {
        work *w = calloc(1, sizeof *w);
        if (!w || hex_into(w, hex[k]) != 0)
            return 1;
        ami_arena_init(&w->arena, w->arena_buf, sizeof w->arena_buf);
        if (ami_apdu_decode(w->bytes, w->len, &w->arena, NULL, &w->apdu) != AMI_OK) {
            fprintf(stderr, "bench_apdu: %s does not decode\n", names[k]);
            return 1;
        }
        /* Interleaved rounds, best of each: the machine is shared and its speed drifts. */
        double base = 1e300, dec = 1e300, enc = 1e300;
        for (int round = 0; round < 3; round++) {
            double t = bench_run(op_memcpy, w, ms / 3 + 1);
            base = t < base ? t : base;
            t = bench_run(op_decode, w, ms / 3 + 1);
            dec = t < dec ? t : dec;
            t = bench_run(op_encode, w, ms / 3 + 1);
            enc = t < enc ? t : enc;
        }
        char label[96];
        snprintf(label, sizeof label, "decode %s (%zu B)", names[k], w->len);
        bench_report(label, dec, "memcpy", base, w->len);
        snprintf(label, sizeof label, "encode %s (%zu B)", names[k], w->len);
        bench_report(label, enc, "memcpy", base, w->len);
        free(w);
    }
    return 0;
}
