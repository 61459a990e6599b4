/*
 * Apparent power, arithmetic and vectorial, and the exact integer square roots behind them.
 *
 * Squares of milli-units do not fit in 64 bits (10 MW = 1e10 mW, squared 1e20), so a^2 + b^2 is
 * formed as a 128-bit value in two 64-bit halves; the root is estimated in double precision and
 * then corrected against the exact square, so the result never depends on the FPU.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <stdbool.h>

#include "metro_internal.h"

typedef struct u128 {
    uint64_t hi, lo;
} u128;

static u128 mul64(uint64_t a, uint64_t b)
{
    uint64_t a0 = a & 0xFFFFFFFFu, a1 = a >> 32, b0 = b & 0xFFFFFFFFu, b1 = b >> 32;
    uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    uint64_t mid = (p00 >> 32) + (p01 & 0xFFFFFFFFu) + (p10 & 0xFFFFFFFFu);
    u128 r;
    r.lo = (mid << 32) | (p00 & 0xFFFFFFFFu);
    r.hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
    return r;
}

static u128 add128(u128 a, u128 b)
{
    u128 r;
    r.lo = a.lo + b.lo;
    r.hi = a.hi + b.hi + (r.lo < a.lo);
    return r;
}

static int cmp128(u128 a, u128 b)
{
    if (a.hi != b.hi)
        return a.hi < b.hi ? -1 : 1;
    if (a.lo != b.lo)
        return a.lo < b.lo ? -1 : 1;
    return 0;
}

static uint64_t uabs(int64_t v)
{
    return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
}

/* floor(sqrt(x)) for x < 2^126 (r < 2^63). */
static uint64_t isqrt128(u128 x)
{
    double est = sqrt((double)x.hi * 18446744073709551616.0 + (double)x.lo);
    uint64_t r = est >= 9.2e18 ? UINT64_C(0x7FFFFFFFFFFFFFFF) : (uint64_t)est;
    /* The estimate is within a few units; walk to the exact floor. */
    while (r > 0 && cmp128(mul64(r, r), x) > 0)
        r--;
    while (cmp128(mul64(r + 1, r + 1), x) <= 0)
        r++;
    return r;
}

uint64_t ami_isqrt64(uint64_t x)
{
    u128 v = {0, x};
    return isqrt128(v);
}

void ami__hypot_all(int64_t a, int64_t b, int64_t out[3])
{
    uint64_t ua = uabs(a), ub = uabs(b);
    u128 x = add128(mul64(ua, ua), mul64(ub, ub));
    uint64_t r = isqrt128(x);
    u128 r2 = mul64(r, r);
    out[AMI__ROUND_FLOOR] = (int64_t)r;
    out[AMI__ROUND_CEIL] = (int64_t)r + (cmp128(r2, x) < 0);
    /* (r + 1/2)^2 = r^2 + r + 1/4: x rounds up when x >= r^2 + r + 1. */
    out[AMI__ROUND_NEAREST] = (int64_t)r + (cmp128(x, add128(r2, (u128){0, r})) > 0);
}

int64_t ami__hypot(int64_t a, int64_t b, int mode)
{
    int64_t v[3];
    ami__hypot_all(a, b, v);
    return v[mode];
}

/*
 * The documented domain: n phases of |value| < 2^40. Outside it the square root's estimate
 * would start beyond 2^63 and walk billions of steps, and the sums would overflow int64.
 */
static bool phases_ok(const int64_t *p_mw, const int64_t *q_mvar, unsigned n)
{
    const int64_t lim = INT64_C(1) << 40;
    if (!p_mw || !q_mvar || n == 0 || n > AMI_METRO_MAX_PHASES)
        return false;
    for (unsigned k = 0; k < n; k++)
        if (p_mw[k] <= -lim || p_mw[k] >= lim || q_mvar[k] <= -lim || q_mvar[k] >= lim)
            return false;
    return true;
}

int64_t ami_va_arithmetic(const int64_t *p_mw, const int64_t *q_mvar, unsigned n)
{
    if (!phases_ok(p_mw, q_mvar, n))
        return 0;
    if (n == 1)
        return ami__hypot(p_mw[0], q_mvar[0], AMI__ROUND_NEAREST);
    int64_t s = 0;
    for (unsigned k = 0; k < n; k++)
        s += ami__hypot(p_mw[k], q_mvar[k], AMI__ROUND_CEIL);
    return s;
}

int64_t ami_va_vectorial(const int64_t *p_mw, const int64_t *q_mvar, unsigned n)
{
    if (!phases_ok(p_mw, q_mvar, n))
        return 0;
    int64_t p = 0, q = 0;
    for (unsigned k = 0; k < n; k++) {
        p += p_mw[k];
        q += q_mvar[k];
    }
    return ami__hypot(p, q, n == 1 ? AMI__ROUND_NEAREST : AMI__ROUND_FLOOR);
}

int64_t ami_va(ami_va_method method, const int64_t *p_mw, const int64_t *q_mvar, unsigned n)
{
    switch (method) {
    case AMI_VA_ARITHMETIC:
        return ami_va_arithmetic(p_mw, q_mvar, n);
    case AMI_VA_VECTORIAL:
        return ami_va_vectorial(p_mw, q_mvar, n);
    }
    return 0;
}

const char *ami_va_method_name(ami_va_method method)
{
    switch (method) {
    case AMI_VA_ARITHMETIC:
        return "arithmetic";
    case AMI_VA_VECTORIAL:
        return "vectorial";
    }
    return "unknown";
}
