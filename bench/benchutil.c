/*
 * Shared benchmark helpers (see benchutil.h).
 * SPDX-License-Identifier: Apache-2.0
 */
#include "benchutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

volatile uint64_t bench_sink;

uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

unsigned bench_ms(void)
{
    const char *s = getenv("BENCH_MS");
    if (s && *s) {
        char *end;
        long v = strtol(s, &end, 10);
        if (*end == 0 && v > 0 && v <= 600000)
            return (unsigned)v;
    }
    return 300;
}

static uint64_t time_batch(bench_op op, void *ctx, uint64_t iters)
{
    uint64_t acc = 0;
    uint64_t t0 = bench_now_ns();
    for (uint64_t i = 0; i < iters; i++)
        acc += op(ctx);
    uint64_t t1 = bench_now_ns();
    bench_sink += acc;
    return t1 - t0;
}

double bench_run(bench_op op, void *ctx, unsigned min_ms)
{
    uint64_t budget = (uint64_t)min_ms * 1000000u;
    /* Short batches (1 ms at most): on a loaded machine some of them run undisturbed, and the
     * best one is what is reported. */
    uint64_t target = budget / 10 ? budget / 10 : 1;
    if (target > 1000000u)
        target = 1000000u;
    /* Calibrate: double the batch until one batch takes at least a tenth of the budget. */
    uint64_t iters = 1, spent = 0, dt;
    for (;;) {
        dt = time_batch(op, ctx, iters);
        spent += dt;
        if (dt >= target || iters >= (UINT64_C(1) << 40))
            break;
        iters *= 2;
    }
    double best = (double)dt / (double)iters;
    unsigned batches = 1;
    while (spent < budget || batches < 3) {
        dt = time_batch(op, ctx, iters);
        spent += dt;
        batches++;
        double ns = (double)dt / (double)iters;
        if (ns < best)
            best = ns;
    }
    return best;
}

void bench_report(const char *name, double ns, const char *base_name, double base_ns, size_t bytes)
{
    printf("%s: %.1f ns/op", name, ns);
    if (bytes && ns > 0)
        printf(", %.0f MB/s", (double)bytes / ns * 1000.0);
    if (base_ns > 0)
        printf(", %.2fx the time of %s (%.1f ns/op)", ns / base_ns, base_name, base_ns);
    printf("\n");
    fflush(stdout);
}

uint8_t *bench_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "bench: cannot open %s\n", path);
        exit(1);
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    if (!buf)
        exit(1);
    for (;;) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
        if (n == cap) {
            uint8_t *nb = realloc(buf, cap * 2);
            if (!nb)
                exit(1);
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    *len = n;
    return buf;
}
