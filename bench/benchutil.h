/*
 * Helpers shared by the bench/bench_*.c programs: a monotonic clock, a timing loop that runs an
 * operation for at least a given time and reports nanoseconds per operation, and one line of
 * output per figure, always as a ratio against a baseline measured in the same run (the machines
 * are shared and noisy, so absolute figures would not reproduce).
 *
 * Typical use:
 *     double base = bench_run(memcpy_op, &ctx, bench_ms());
 *     double dec = bench_run(decode_op, &ctx, bench_ms());
 *     bench_report("a-xdr decode", dec, "memcpy", base, bytes_per_op);
 *
 * The run time per figure defaults to 300 ms and can be set with the BENCH_MS environment
 * variable (e.g. BENCH_MS=50 for a quick smoke run).
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_BENCHUTIL_H
#define AMI_BENCHUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Monotonic time in nanoseconds (CLOCK_MONOTONIC). */
uint64_t bench_now_ns(void);

/* Run time per figure in milliseconds: BENCH_MS from the environment, else 300. */
unsigned bench_ms(void);

/* One operation; returns a value that is folded into bench_sink so the work is not elided. */
typedef uint64_t (*bench_op)(void *ctx);

/* Every operation's result is folded into this, so the compiler cannot drop the work. */
extern volatile uint64_t bench_sink;

/*
 * Calls op(ctx) repeatedly for at least min_ms milliseconds, in batches sized so that one batch
 * takes about a tenth of that time but at most 1 ms, and returns the best (lowest) nanoseconds
 * per operation seen over the batches: the least disturbed estimate on a shared machine. If op
 * is slower than a batch, it still runs at least 3 times.
 */
double bench_run(bench_op op, void *ctx, unsigned min_ms);

/*
 * Prints one figure:
 *   "<name>: <ns> ns/op, <MB/s> MB/s, <ratio>x the time of <base_name> (<base> ns/op)"
 * bytes: bytes processed per operation (0 omits the MB/s part). The ratio is ns / base_ns:
 * lower is faster; 1.0 means as fast as the baseline.
 */
void bench_report(const char *name, double ns, const char *base_name, double base_ns, size_t bytes);

/* Reads a whole file into a malloc'd buffer (the caller frees); exits with a message on error. */
uint8_t *bench_read_file(const char *path, size_t *len);

#endif
