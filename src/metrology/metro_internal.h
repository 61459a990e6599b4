/*
 * Internal helpers of the metrology module (not installed): hashing for the load model,
 * floor division for negative times, civil-calendar conversions, 128-bit squares.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_METRO_INTERNAL_H
#define AMI_METRO_INTERNAL_H

#include <stdint.h>

#include "ami/metrology.h"

/* splitmix64's output function: a bijective 64-bit mix with full avalanche. */
static inline uint64_t ami__mix64(uint64_t z)
{
    z += UINT64_C(0x9E3779B97F4A7C15);
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/*
 * A meter's random draw of kind `stream` for a time index: key is ami__mix64(seed), computed
 * once per evaluation. A pure function, so the model needs no generator state and any time can
 * be evaluated directly.
 */
static inline uint64_t ami__draw(uint64_t key, uint32_t stream, int64_t index)
{
    return ami__mix64(key ^ ((uint64_t)index * UINT64_C(0xD1342543DE82EF95) + stream));
}

/* floor(a / b) for b > 0 (C division truncates toward zero). */
static inline int64_t ami__fdiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b < 0) ? q - 1 : q;
}

/* Days since 1970-01-01 of a proleptic Gregorian date, and back. */
int64_t ami__days_from_civil(int64_t y, unsigned m, unsigned d);
void ami__civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

/* Rounded magnitude sqrt(a^2 + b^2) for |a|, |b| < 2^42: floor, ceil or nearest. */
enum { AMI__ROUND_FLOOR, AMI__ROUND_CEIL, AMI__ROUND_NEAREST };
int64_t ami__hypot(int64_t a, int64_t b, int mode);
/* The three roundings at once, indexed by AMI__ROUND_*. */
void ami__hypot_all(int64_t a, int64_t b, int64_t out[3]);

/* Per-phase P and Q of the load model at a minute (the part the registers integrate). */
typedef struct ami__metro_pq {
    int64_t p_mw[AMI_METRO_MAX_PHASES];
    int64_t q_mvar[AMI_METRO_MAX_PHASES];
    uint64_t key; /* ami__mix64(seed) */
} ami__metro_pq;

void ami__metro_pq_at(const ami_metro_load *p, int64_t minute, ami__metro_pq *out);

#endif
