/*
 * Metrology: apparent power, the load model, exact energy registers, billing, calendar and the
 * simulated clock. The demand engine has its own file (test_demand.c).
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "ami/ami.h"
#include "metrology/metro_internal.h"

/* 2025-06-15 12:00:00 UTC, and the 35 days of history before it. */
#define T_NOW   INT64_C(1749988800)
#define T_START (T_NOW - AMI_METRO_HISTORY_DEFAULT_S)

static int64_t rand_range(uint64_t *s, int64_t lo, int64_t hi)
{
    return lo + (int64_t)(tu_rand(s) % (uint64_t)(hi - lo + 1));
}

/* The first identity from 1 up whose derived parameters have this shape. */
static uint64_t find_seed(unsigned phases, unsigned kind, int pv)
{
    for (uint64_t seed = 1;; seed++) {
        ami_metro_load p;
        ami_metro_load_from_seed(&p, seed);
        if (p.phases == phases && p.kind == kind && (p.pv_peak_w != 0) == pv)
            return seed;
    }
}

/* ------------------------------------------------------------------ square roots, VA */

static void test_isqrt(void **state)
{
    (void)state;
    for (uint64_t x = 0; x < 100000; x++) {
        uint64_t r = ami_isqrt64(x);
        assert_true(r * r <= x && (r + 1) * (r + 1) > x);
    }
    assert_int_equal(ami_isqrt64(UINT64_MAX), UINT64_C(4294967295));
    assert_int_equal(ami_isqrt64(UINT64_C(4294967296) * 4294967296u - 1 - 0), UINT64_C(4294967295));
    uint64_t s = 7;
    for (int i = 0; i < 100000; i++) {
        uint64_t x = tu_rand(&s) >> (tu_rand(&s) % 64);
        uint64_t r = ami_isqrt64(x);
        assert_true(r <= UINT64_C(4294967295));
        assert_true(r * r <= x);
        assert_true(r == UINT64_C(4294967295) || (r + 1) * (r + 1) > x);
    }
    /* 128-bit magnitudes: 3-4-5 triangles far beyond 64-bit squares. */
    int64_t big = INT64_C(1) << 40;
    assert_int_equal(ami__hypot(3 * big, 4 * big, AMI__ROUND_FLOOR), 5 * big);
    assert_int_equal(ami__hypot(-3 * big, 4 * big, AMI__ROUND_CEIL), 5 * big);
    assert_int_equal(ami__hypot(1, 1, AMI__ROUND_FLOOR), 1);
    assert_int_equal(ami__hypot(1, 1, AMI__ROUND_CEIL), 2);
    assert_int_equal(ami__hypot(1, 1, AMI__ROUND_NEAREST), 1); /* 1.414 */
    assert_int_equal(ami__hypot(2, 1, AMI__ROUND_NEAREST), 2); /* 2.236 */
    assert_int_equal(ami__hypot(3, 3, AMI__ROUND_NEAREST), 4); /* 4.243 */
    assert_int_equal(ami__hypot(5, 5, AMI__ROUND_NEAREST), 7); /* 7.071 */
    assert_int_equal(ami__hypot(1, 2, AMI__ROUND_NEAREST), 2);
    assert_int_equal(ami__hypot(2, 3, AMI__ROUND_NEAREST), 4); /* 3.606 */
}

static void test_va_known(void **state)
{
    (void)state;
    /* Phase 1 purely active, phase 2 purely reactive: 1 kW + 1 kvar. */
    int64_t p[3] = {1000000, 0, 0}, q[3] = {0, 1000000, 0};
    assert_int_equal(ami_va_arithmetic(p, q, 3), 2000000);
    assert_int_equal(ami_va_vectorial(p, q, 3), 1414213); /* 1e6 * sqrt(2) = 1414213.56 */
    assert_int_equal(ami_va(AMI_VA_ARITHMETIC, p, q, 3), 2000000);
    assert_int_equal(ami_va(AMI_VA_VECTORIAL, p, q, 3), 1414213);
    /* Opposite flows cancel vectorially: import on L1, the same export on L2. */
    int64_t p2[3] = {2300000, -2300000, 0}, q2[3] = {0, 0, 0};
    assert_int_equal(ami_va_arithmetic(p2, q2, 3), 4600000);
    assert_int_equal(ami_va_vectorial(p2, q2, 3), 0);
    /* One phase: one magnitude, rounded to nearest by both. */
    int64_t p1 = 1000, q1 = 1000;
    assert_int_equal(ami_va_arithmetic(&p1, &q1, 1), 1414);
    assert_int_equal(ami_va_vectorial(&p1, &q1, 1), 1414);
    assert_int_equal(ami_va_arithmetic(p, q, 0), 0);
    assert_int_equal(ami_va_vectorial(p, q, 4), 0);
    /* Outside the documented |value| < 2^40: refused, not a root walked from 2^63 (a hang) or
     * a sum that overflows int64. */
    int64_t big = INT64_C(1) << 40, pmax[3] = {INT64_MIN, INT64_MAX, INT64_MAX}, z[3] = {0};
    assert_int_equal(ami_va_arithmetic(&big, z, 1), 0);
    assert_int_equal(ami_va_vectorial(z, &big, 1), 0);
    assert_int_equal(ami_va_arithmetic(pmax, pmax, 3), 0);
    assert_int_equal(ami_va_vectorial(pmax, pmax, 3), 0);
    int64_t edge = big - 1;
    assert_int_equal(ami_va_arithmetic(&edge, z, 1), edge);
    assert_int_equal(ami_va_vectorial(&edge, z, 1), edge);
    assert_string_equal(ami_va_method_name(AMI_VA_ARITHMETIC), "arithmetic");
    assert_string_equal(ami_va_method_name(AMI_VA_VECTORIAL), "vectorial");
    assert_string_equal(ami_va_method_name((ami_va_method)7), "unknown");
}

/* Arithmetic VA >= vectorial VA over many seeded random states, equal for equal angles. */
static void test_va_property(void **state)
{
    (void)state;
    uint64_t s = 2024;
    for (int i = 0; i < 200000; i++) {
        unsigned n = 1 + (unsigned)(tu_rand(&s) % 3);
        int64_t p[3], q[3];
        int64_t mag = INT64_C(1) << (tu_rand(&s) % 40);
        for (unsigned k = 0; k < n; k++) {
            p[k] = rand_range(&s, -mag, mag);
            q[k] = rand_range(&s, -mag, mag);
        }
        int64_t a = ami_va_arithmetic(p, q, n), v = ami_va_vectorial(p, q, n);
        assert_true(a >= v);
        assert_true(v >= 0);
        if (n == 1)
            assert_int_equal(a, v);
    }
    /* Same power-factor angle on every phase, exact integer magnitudes (3-4-5): equal. */
    for (int i = 0; i < 100000; i++) {
        int64_t c = rand_range(&s, 1, 2000000), p[3], q[3], sum = 0;
        int sign_p = tu_rand(&s) & 1 ? -1 : 1, sign_q = tu_rand(&s) & 1 ? -1 : 1;
        int64_t tp = tu_rand(&s) & 1 ? 3 : 4, tq = 7 - tp; /* angle 36.87 or 53.13 degrees */
        for (unsigned k = 0; k < 3; k++) {
            int64_t a = rand_range(&s, 0, 1000);
            p[k] = sign_p * a * tp * c;
            q[k] = sign_q * a * tq * c;
            sum += a * 5 * c;
        }
        assert_int_equal(ami_va_arithmetic(p, q, 3), sum);
        assert_int_equal(ami_va_vectorial(p, q, 3), sum);
    }
    /* Same angle, arbitrary magnitudes: equal up to the 1 mVA per phase resolution. */
    for (int i = 0; i < 100000; i++) {
        int64_t x = rand_range(&s, 1, 1000), y = rand_range(&s, -1000, 1000), p[3], q[3];
        for (unsigned k = 0; k < 3; k++) {
            int64_t a = rand_range(&s, 0, 100000);
            p[k] = a * x;
            q[k] = a * y;
        }
        int64_t d = ami_va_arithmetic(p, q, 3) - ami_va_vectorial(p, q, 3);
        assert_true(d >= 0 && d <= 3);
    }
    /* The model's own samples, both ways. */
    for (uint64_t seed = 1; seed <= 300; seed++) {
        ami_metro_load lp;
        ami_metro_load_from_seed(&lp, seed);
        for (int64_t t = T_START; t < T_START + 86400; t += 997) {
            ami_metro_sample x;
            ami_metro_sample_at(&lp, t, &x);
            assert_true(x.s_arith_mva >= x.s_vect_mva);
            assert_int_equal(x.s_mva, x.s_vect_mva);
        }
    }
}

/* ------------------------------------------------------------------ load model */

static void test_load_from_seed(void **state)
{
    (void)state;
    unsigned three = 0, pv = 0, com = 0, n = 10000;
    for (uint64_t seed = 0; seed < n; seed++) {
        ami_metro_load p, p2;
        ami_metro_load_from_seed(&p, seed);
        ami_metro_load_from_seed(&p2, seed);
        assert_memory_equal(&p, &p2, sizeof p);
        assert_int_equal(ami_metro_load_check(&p), 0);
        three += p.phases == 3;
        pv += p.pv_peak_w != 0;
        com += p.kind == AMI_LOAD_COMMERCIAL;
    }
    assert_in_range(three, n * 30 / 100, n * 40 / 100);
    assert_in_range(pv, n * 21 / 100, n * 29 / 100);
    assert_in_range(com, n * 12 / 100, n * 18 / 100);

    ami_metro_load p;
    ami_metro_load_from_seed(&p, 1);
    assert_int_equal(ami_metro_load_check(NULL), AMI_E_INVAL);
    ami_metro_load bad = p;
    bad.phases = 2;
    assert_int_equal(ami_metro_load_check(&bad), AMI_E_INVAL);
    bad = p;
    bad.share[0] = 999;
    assert_int_equal(ami_metro_load_check(&bad), AMI_E_INVAL);
    bad = p;
    bad.utc_offset_s = 30;
    assert_int_equal(ami_metro_load_check(&bad), AMI_E_INVAL);
    bad = p;
    bad.reserved = 1;
    assert_int_equal(ami_metro_load_check(&bad), AMI_E_INVAL);
    bad = p;
    bad.tan_phi[0] = 3001;
    assert_int_equal(ami_metro_load_check(&bad), AMI_E_INVAL);
    bad = p;
    bad.va_method = 2;
    assert_int_equal(ami_metro_load_check(&bad), AMI_E_INVAL);
    bad = p;
    bad.peak_w = 10000001;
    assert_int_equal(ami_metro_load_check(&bad), AMI_E_INVAL);
}

static void test_sample_consistency(void **state)
{
    (void)state;
    uint64_t s = 99;
    for (int i = 0; i < 20000; i++) {
        ami_metro_load p;
        ami_metro_load_from_seed(&p, tu_rand(&s));
        if (i % 3 == 0)
            p.va_method = AMI_VA_ARITHMETIC;
        int64_t t = rand_range(&s, 0, INT64_C(4102444800)); /* 1970 .. 2100 */
        ami_metro_sample x, y;
        ami_metro_sample_at(&p, t, &x);
        /* Constant over the minute, and a pure function of (parameters, minute). */
        ami_metro_sample_at(&p, ami__fdiv(t, 60) * 60 + 59, &y);
        assert_memory_equal(&x, &y, sizeof x);
        assert_int_equal(x.minute, ami__fdiv(t, 60));
        assert_in_range(x.f_mhz, 49950, 50050);
        int64_t sp = 0, sq = 0;
        for (unsigned k = 0; k < 3; k++) {
            const ami_metro_phase *ph = &x.ph[k];
            if (k >= p.phases) {
                assert_int_equal(ph->u_mv, 0);
                assert_int_equal(ph->p_mw, 0);
                continue;
            }
            assert_in_range(ph->u_mv, 207000, 253000); /* 230 V +/- 10 % (EN 50160) */
            assert_true(ph->s_mva >= llabs(ph->p_mw) && ph->s_mva >= llabs(ph->q_mvar));
            /* I = S / U to the nearest mA. */
            assert_true(llabs((int64_t)ph->i_ma * ph->u_mv - ph->s_mva * 1000) <= ph->u_mv / 2);
            assert_in_range(ph->pf_milli + 1000, 0, 2000);
            if (ph->p_mw > 0)
                assert_true(ph->pf_milli >= 0);
            sp += ph->p_mw;
            sq += ph->q_mvar;
        }
        assert_int_equal(x.p_mw, sp);
        assert_int_equal(x.q_mvar, sq);
        int64_t pp[3] = {x.ph[0].p_mw, x.ph[1].p_mw, x.ph[2].p_mw};
        int64_t qq[3] = {x.ph[0].q_mvar, x.ph[1].q_mvar, x.ph[2].q_mvar};
        assert_int_equal(x.s_arith_mva, ami_va_arithmetic(pp, qq, p.phases));
        assert_int_equal(x.s_vect_mva, ami_va_vectorial(pp, qq, p.phases));
        assert_int_equal(x.s_mva, p.va_method == AMI_VA_ARITHMETIC ? x.s_arith_mva : x.s_vect_mva);
        if (p.pv_peak_w == 0)
            assert_true(x.p_mw > 0);
    }
    /* The grid frequency is the same for every meter at a given minute. */
    ami_metro_load a, b;
    ami_metro_load_from_seed(&a, 1);
    ami_metro_load_from_seed(&b, 2);
    ami_metro_sample xa, xb;
    ami_metro_sample_at(&a, T_NOW, &xa);
    ami_metro_sample_at(&b, T_NOW, &xb);
    assert_int_equal(xa.f_mhz, xb.f_mhz);
    assert_true(xa.p_mw != xb.p_mw);
}

/* Daily and weekly shape: residential evenings above nights, commercial weekdays above weekends. */
static void test_load_shape(void **state)
{
    (void)state;
    int64_t evening = 0, night = 0, workday = 0, weekend = 0;
    for (uint64_t seed = 1; seed <= 200; seed++) {
        ami_metro_load p;
        ami_metro_load_from_seed(&p, seed);
        p.pv_peak_w = 0;
        ami_metro_sample x;
        /* 2025-06-11 is a Wednesday, 2025-06-14 a Saturday. */
        int64_t wed = INT64_C(1749600000);
        for (int d = 0; d < 7; d++) {
            int64_t day = wed + d * 86400;
            if (p.kind == AMI_LOAD_RESIDENTIAL) {
                ami_metro_sample_at(&p, day + 19 * 3600, &x);
                evening += x.p_mw;
                ami_metro_sample_at(&p, day + 3 * 3600, &x);
                night += x.p_mw;
            } else {
                ami_metro_sample_at(&p, day + 11 * 3600, &x);
                if (d == 3 || d == 4)
                    weekend += x.p_mw;
                else
                    workday += x.p_mw * 2 / 5;
            }
        }
    }
    assert_true(evening > 3 * night);
    assert_true(workday > 2 * weekend);
}

/* ------------------------------------------------------------------ registers */

/* Two tariffs: T2 (index 1) from 07:00 to 21:00 UTC on working days, T1 otherwise. */
static unsigned calendar(void *ctx, int64_t t, int64_t *until)
{
    (void)ctx;
    int64_t day = ami__fdiv(t, 86400), sod = t - day * 86400;
    unsigned wd = (unsigned)((day % 7 + 7 + 3) % 7);
    if (wd >= 5) {
        *until = (day + 1) * 86400;
        return 0;
    }
    if (sod < 7 * 3600) {
        *until = day * 86400 + 7 * 3600;
        return 0;
    }
    if (sod < 21 * 3600) {
        *until = day * 86400 + 21 * 3600;
        return 1;
    }
    *until = (day + 1) * 86400;
    return 0;
}

/* The registers computed independently from the public sample function, minute by minute. */
static void closed_form(const ami_metro_load *p, int64_t from, int64_t to, ami_metro_registers *r)
{
    memset(r, 0, sizeof *r);
    for (int64_t t = from; t < to;) {
        int64_t end = (ami__fdiv(t, 60) + 1) * 60;
        if (end > to)
            end = to;
        int64_t until;
        unsigned tr = calendar(NULL, t, &until);
        ami_metro_sample x;
        ami_metro_sample_at(p, t, &x);
        int64_t dt = end - t, e_p = x.p_mw * dt, e_q = x.q_mvar * dt;
        int quadrant = x.p_mw >= 0 ? (x.q_mvar >= 0 ? 1 : 4) : (x.q_mvar >= 0 ? 2 : 3);
        r->q[quadrant - 1] += llabs(e_q);
        if (x.p_mw >= 0) {
            r->a_plus += e_p;
            r->tariff[tr][AMI_REG_A_PLUS] += e_p;
        } else {
            r->a_minus -= e_p;
            r->tariff[tr][AMI_REG_A_MINUS] -= e_p;
        }
        r->tariff[tr][x.q_mvar >= 0 ? AMI_REG_R_PLUS : AMI_REG_R_MINUS] += llabs(e_q);
        t = end;
    }
}

/*
 * 35 days of history in irregular steps (1 s to 2 h, tariff switches inside calls): every
 * register equals the closed-form sum of the per-minute energies, exactly.
 */
static void test_energy_exact_35_days(void **state)
{
    (void)state;
    uint64_t seeds[] = {
        find_seed(1, AMI_LOAD_RESIDENTIAL, 0), find_seed(1, AMI_LOAD_RESIDENTIAL, 1),
        find_seed(3, AMI_LOAD_RESIDENTIAL, 1), find_seed(3, AMI_LOAD_COMMERCIAL, 1),
        find_seed(1, AMI_LOAD_COMMERCIAL, 0),  0xDEADBEEF};
    int saw_export = 0, saw_q2 = 0;
    uint64_t s = 5;
    for (size_t i = 0; i < AMI_COUNTOF(seeds); i++) {
        ami_metro_load p;
        ami_metro_load_from_seed(&p, seeds[i]);
        ami_metro m;
        int64_t start = T_START + 17; /* not on a minute */
        assert_int_equal(ami_metro_init(&m, &p, 15, 5, start), 0);
        int64_t t = start;
        while (t < T_NOW) {
            t += rand_range(&s, 1, 7200);
            if (t > T_NOW)
                t = T_NOW;
            assert_int_equal(ami_metro_run(&m, t, &(ami_metro_hooks){.tariff = calendar}), 0);
        }
        ami_metro_registers want;
        closed_form(&p, start, T_NOW, &want);
        assert_memory_equal(&m.reg, &want, sizeof want);
        /* Totals are the sums of the tariff registers. */
        int64_t ap = 0, am = 0, rp = 0, rm = 0;
        for (unsigned k = 0; k < AMI_METRO_TARIFFS; k++) {
            ap += m.reg.tariff[k][AMI_REG_A_PLUS];
            am += m.reg.tariff[k][AMI_REG_A_MINUS];
            rp += m.reg.tariff[k][AMI_REG_R_PLUS];
            rm += m.reg.tariff[k][AMI_REG_R_MINUS];
        }
        assert_int_equal(ap, m.reg.a_plus);
        assert_int_equal(am, m.reg.a_minus);
        assert_int_equal(rp, m.reg.q[0] + m.reg.q[1]);
        assert_int_equal(rm, m.reg.q[2] + m.reg.q[3]);
        assert_true(m.reg.tariff[1][AMI_REG_A_PLUS] > 0 && m.reg.tariff[0][AMI_REG_A_PLUS] > 0);
        assert_int_equal(m.reg.tariff[2][AMI_REG_A_PLUS] + m.reg.tariff[3][AMI_REG_A_PLUS], 0);
        saw_export |= m.reg.a_minus > 0;
        saw_q2 |= m.reg.q[1] > 0;
    }
    assert_true(saw_export); /* three of the meters have PV */
    assert_true(saw_q2);
}

/* The same seed and time sequence give bit-identical state; the polling pattern does not matter. */
static void test_determinism(void **state)
{
    (void)state;
    ami_metro_load p;
    ami_metro_load_from_seed(&p, find_seed(3, AMI_LOAD_COMMERCIAL, 1));
    ami_metro a, b, c;
    assert_int_equal(ami_metro_init(&a, &p, 15, 1, T_NOW), 0);
    assert_int_equal(ami_metro_init(&b, &p, 15, 1, T_NOW), 0);
    for (int64_t t = T_NOW + 1; t <= T_NOW + 86400; t++)
        assert_int_equal(ami_metro_advance(&a, t, 0), 0);
    assert_int_equal(ami_metro_advance(&b, T_NOW + 86400, 0), 0);
    /* Same registers and demand; only the cache of the last minute may differ in nothing. */
    assert_memory_equal(&a.reg, &b.reg, sizeof a.reg);
    assert_memory_equal(&a.demand, &b.demand, sizeof a.demand);
    assert_memory_equal(&a, &b, sizeof a);
    /* Another identity, other values. */
    ami_metro_load p2;
    ami_metro_load_from_seed(&p2, p.seed + 1);
    assert_int_equal(ami_metro_init(&c, &p2, 15, 1, T_NOW), 0);
    assert_int_equal(ami_metro_advance(&c, T_NOW + 86400, 0), 0);
    assert_true(c.reg.a_plus != a.reg.a_plus);
}

static void test_monotonic_and_errors(void **state)
{
    (void)state;
    ami_metro_load p;
    ami_metro_load_from_seed(&p, find_seed(3, AMI_LOAD_RESIDENTIAL, 1));
    ami_metro m;
    assert_int_equal(ami_metro_init(&m, &p, 30, 6, T_START), 0);
    uint64_t s = 11;
    ami_metro_registers prev = m.reg;
    for (int i = 0; i < 3000; i++) {
        assert_int_equal(ami_metro_advance(&m, m.t + rand_range(&s, 0, 900), i % 4), 0);
        const int64_t *a = (const int64_t *)&prev, *b = (const int64_t *)&m.reg;
        for (size_t k = 0; k < sizeof prev / sizeof(int64_t); k++)
            assert_true(b[k] >= a[k]);
        prev = m.reg;
    }
    assert_int_equal(ami_metro_advance(&m, m.t - 1, 0), AMI_E_RANGE);
    assert_int_equal(ami_metro_advance(&m, m.t + 1, 4), AMI_E_INVAL);
    assert_int_equal(ami_metro_advance(NULL, 0, 0), AMI_E_INVAL);
    assert_memory_equal(&m.reg, &prev, sizeof prev);
    assert_int_equal(ami_metro_init(&m, &p, 15, 4, T_START), AMI_E_INVAL);
    assert_int_equal(ami_metro_init(&m, NULL, 15, 5, T_START), AMI_E_INVAL);
    assert_int_equal(ami_metro_init(NULL, &p, 15, 5, T_START), AMI_E_INVAL);
    assert_int_equal(ami_metro_advance(&m, AMI_METRO_TIME_MAX + 1, 0), AMI_E_RANGE);
    assert_int_equal(ami_metro_init(&m, &p, 15, 5, -AMI_METRO_TIME_MAX - 1), AMI_E_RANGE);
    /* Registers roll over modulo 2^64 like a meter's, without undefined behaviour. */
    assert_int_equal(ami_metro_init(&m, &p, 15, 5, T_START), 0);
    m.reg.a_plus = m.reg.tariff[0][AMI_REG_A_PLUS] = INT64_MAX;
    assert_int_equal(ami_metro_advance(&m, T_START + 86400, 0), 0);
    assert_true(m.reg.a_plus < 0);
    assert_true(ami_demand_maximum(&m.demand, -1).value_mw > 0);
    /* Wh are truncated like a display. */
    assert_int_equal(ami_metro_wh(3599999), 0);
    assert_int_equal(ami_metro_wh(3600000), 1);
    assert_int_equal(ami_metro_wh(INT64_C(36000000000)), 10000);
    /* Well under 1 KiB of state per meter (issue 6 goal). */
    assert_true(sizeof(ami_metro) <= 768);
}

/*
 * The meter's A+ demand against an independent computation from the model's samples: the A+
 * register read at 1 J at every minute, windows as register differences over the window.
 */
static void test_meter_demand_independent(void **state)
{
    (void)state;
    enum { MIN = 2 * 1440 };
    static int64_t reg_j[MIN + 1]; /* floor(A+ / 1000) at each minute from the start */
    static const unsigned cfg[][2] = {{15, 1}, {15, 15}, {30, 6}, {60, 5}};
    for (uint64_t seed = 1; seed <= 4; seed++) {
        ami_metro_load p;
        ami_metro_load_from_seed(&p, seed);
        int64_t start = T_NOW - 2 * 86400;
        int64_t a = 0;
        reg_j[0] = 0;
        for (int i = 0; i < MIN; i++) {
            ami_metro_sample x;
            ami_metro_sample_at(&p, start + 60 * i, &x);
            if (x.p_mw > 0)
                a += x.p_mw * 60;
            reg_j[i + 1] = a / 1000;
        }
        for (size_t c = 0; c < AMI_COUNTOF(cfg); c++) {
            ami_metro m;
            assert_int_equal(ami_metro_init(&m, &p, cfg[c][0], cfg[c][1], start), 0);
            uint64_t s = seed;
            while (m.t < start + MIN * 60) {
                int64_t to = m.t + rand_range(&s, 1, 1000);
                assert_int_equal(
                    ami_metro_advance(&m, to < start + MIN * 60 ? to : start + MIN * 60, 0), 0);
            }
            int64_t w = cfg[c][0], sub = cfg[c][1], best = 0, best_t = 0;
            for (int64_t e = sub; e <= MIN; e += sub) {
                int64_t from = e - w < 0 ? 0 : e - w;
                int64_t v = (reg_j[e] - reg_j[from]) * 1000 / (w * 60);
                if (v > best) {
                    best = v;
                    best_t = start + e * 60;
                }
            }
            ami_demand_max mx = ami_demand_maximum(&m.demand, -1);
            assert_int_equal(mx.value_mw, best);
            assert_int_equal(mx.time, best_t);
            int64_t cap;
            int64_t last = ami_demand_last_mw(&m.demand, &cap);
            assert_int_equal(cap, start + MIN * 60);
            assert_int_equal(last, (reg_j[MIN] - reg_j[MIN - w]) * 1000 / (w * 60));
        }
    }
}

/* ------------------------------------------------------------------ billing */

typedef struct bills {
    ami_metro_billing b[8];
    int n;
} bills;

static void on_bill(void *ctx, const ami_metro_billing *b)
{
    bills *bs = ctx;
    assert_true(bs->n < 8);
    bs->b[bs->n++] = *b;
}

static void test_billing(void **state)
{
    (void)state;
    ami_metro_load p;
    ami_metro_load_from_seed(&p, 17);
    p.utc_offset_s = 3600;
    /* From 2025-05-10 to 2025-08-20 in 2-hour steps: closings on Jun 1, Jul 1, Aug 1 (CET). */
    int64_t start = INT64_C(1746835200), end = INT64_C(1755648000);
    ami_metro m;
    assert_int_equal(ami_metro_init(&m, &p, 15, 15, start), 0);
    bills bs = {0};
    /* The independent maximum: the largest last_average_value per period, stepped per block. */
    int64_t month_starts[3] = {INT64_C(1748732400), INT64_C(1751324400), INT64_C(1754002800)};
    int64_t want_max[4] = {0}, want_time[4] = {0};
    for (int64_t t = start; t < end;) {
        int64_t next = ami_demand_boundary(&m.demand);
        ami_metro_hooks h = {.tariff = calendar, .billed = on_bill, .billed_ctx = &bs};
        assert_int_equal(ami_metro_run(&m, next, &h), 0);
        t = next;
        int64_t cap, v = ami_demand_last_mw(&m.demand, &cap);
        /* A window belongs to the period its end falls in; one ending at a closing, to the
         * period that closes. */
        int idx = 0;
        for (int i = 0; i < 3; i++)
            if (cap > month_starts[i])
                idx = i + 1;
        if (v > want_max[idx]) {
            want_max[idx] = v;
            want_time[idx] = cap;
        }
    }
    assert_int_equal(bs.n, 3);
    int64_t prev_end = start;
    for (int i = 0; i < 3; i++) {
        const ami_metro_billing *b = &bs.b[i];
        assert_int_equal(b->end, month_starts[i]);
        assert_int_equal(b->start, prev_end);
        assert_int_equal(b->count, (uint32_t)i + 1);
        assert_true(b->max[0].value_mw > 0);
        assert_true(b->max[0].time > b->start && b->max[0].time <= b->end);
        /* The overall maximum is the largest of the per-tariff maxima. */
        int64_t mt = 0;
        for (int k = 0; k < AMI_METRO_TARIFFS; k++)
            if (b->max[1 + k].value_mw > mt)
                mt = b->max[1 + k].value_mw;
        assert_int_equal(mt, b->max[0].value_mw);
        if (i > 0)
            assert_true(b->reg.a_plus > bs.b[i - 1].reg.a_plus);
        prev_end = b->end;
    }
    /* The maxima match the recomputation from every block's last_average_value. */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(bs.b[i].max[0].value_mw, want_max[i]);
        assert_int_equal(bs.b[i].max[0].time, want_time[i]);
    }
    /* A manual closing: the maxima are cleared, the registers are not. */
    ami_metro_billing b;
    ami_metro_registers before = m.reg;
    assert_true(ami_demand_maximum(&m.demand, -1).value_mw > 0);
    assert_int_equal(ami_metro_bill(&m, &b), 0);
    assert_int_equal(b.count, 4);
    assert_int_equal(b.start, month_starts[2]);
    assert_int_equal(b.end, end);
    assert_int_equal(b.max[0].value_mw, want_max[3]);
    assert_int_equal(b.max[0].time, want_time[3]);
    assert_memory_equal(&b.reg, &before, sizeof before);
    assert_memory_equal(&m.reg, &before, sizeof before);
    assert_int_equal(ami_demand_maximum(&m.demand, -1).value_mw, 0);
    assert_int_equal(ami_demand_maximum(&m.demand, 0).time, 0);
    assert_int_equal(ami_metro_bill(NULL, &b), AMI_E_INVAL);
}

typedef struct captures {
    int64_t t[3400];
    int64_t a_plus[3400];
    uint32_t billing_count[3400];
    int64_t max_mw[3400];
    int n;
} captures;

static void on_capture(void *ctx, const ami_metro *m)
{
    captures *c = ctx;
    assert_true(c->n < 3400);
    c->t[c->n] = m->t;
    c->a_plus[c->n] = m->reg.a_plus;
    c->billing_count[c->n] = m->billing_count;
    c->max_mw[c->n] = ami_demand_maximum(&m->demand, -1).value_mw;
    c->n++;
}

/*
 * A new meter primed with the default 35 days of history: a 15-minute load profile, billing and
 * demand are filled, and every profile interval holds exactly the model's energy.
 */
static void test_history_priming(void **state)
{
    (void)state;
    ami_metro_load p;
    ami_metro_load_from_seed(&p, 42);
    ami_metro m;
    assert_int_equal(ami_metro_init(&m, &p, 15, 1, T_START), 0);
    bills bs = {0};
    static captures cs;
    cs.n = 0;
    ami_metro_hooks h = {.tariff = calendar,
                         .billed = on_bill,
                         .billed_ctx = &bs,
                         .capture_period_s = 900,
                         .capture = on_capture,
                         .capture_ctx = &cs};
    assert_int_equal(ami_metro_run(&m, T_NOW, &h), 0);
    assert_int_equal(bs.n, 1); /* 2025-06-01 00:00 UTC lies in the 35 days */
    assert_int_equal(bs.b[0].end, INT64_C(1748736000));
    assert_true(bs.b[0].max[0].value_mw > 0);
    assert_true(ami_demand_maximum(&m.demand, -1).value_mw > 0);
    int64_t cap;
    assert_true(ami_demand_last_mw(&m.demand, &cap) > 0);
    assert_int_equal(cap, T_NOW);
    assert_int_equal(m.t, T_NOW);

    /* 35 days of quarter hours, each interval equal to the closed form over it. */
    assert_int_equal(cs.n, 35 * 96);
    int64_t prev = 0;
    for (int i = 0; i < cs.n; i++) {
        assert_int_equal(cs.t[i], T_START + 900 * (int64_t)(i + 1));
        ami_metro_registers r;
        closed_form(&p, cs.t[i] - 900, cs.t[i], &r);
        assert_int_equal(cs.a_plus[i] - prev, r.a_plus);
        prev = cs.a_plus[i];
        /* The capture at the closing comes first and still sees the period's maximum. */
        if (cs.t[i] == bs.b[0].end) {
            assert_int_equal(cs.billing_count[i], 0);
            assert_int_equal(cs.max_mw[i], bs.b[0].max[0].value_mw);
            assert_int_equal(cs.billing_count[i + 1], 1);
        }
    }
    assert_int_equal(cs.a_plus[cs.n - 1], m.reg.a_plus);

    /* Hourly captures in +05:30 fall on local hours; capture periods must divide a day. */
    p.utc_offset_s = 19800;
    assert_int_equal(ami_metro_init(&m, &p, 60, 60, T_START), 0);
    cs.n = 0;
    ami_metro_hooks hh = {.capture_period_s = 3600, .capture = on_capture, .capture_ctx = &cs};
    assert_int_equal(ami_metro_run(&m, T_START + 86400, &hh), 0);
    assert_int_equal(cs.n, 24);
    for (int i = 0; i < cs.n; i++)
        assert_int_equal((cs.t[i] + 19800) % 3600, 0);
    hh.capture_period_s = 7;
    assert_int_equal(ami_metro_run(&m, T_START + 2 * 86400, &hh), AMI_E_INVAL);
    hh.capture_period_s = 172800;
    assert_int_equal(ami_metro_run(&m, T_START + 2 * 86400, &hh), AMI_E_INVAL);
    assert_int_equal(ami_metro_run(&m, T_START + 2 * 86400, NULL), 0);
    assert_int_equal(ami_metro_run(NULL, 0, NULL), AMI_E_INVAL);
}

/* ------------------------------------------------------------------ calendar, clock */

static void test_month_start(void **state)
{
    (void)state;
    /* 2024-02-15 12:00 UTC -> 2024-03-01 00:00 UTC (leap year). */
    assert_int_equal(ami_metro_next_month_start(INT64_C(1707998400), 0), INT64_C(1709251200));
    /* The same in CET: 2024-03-01 00:00 +01:00. */
    assert_int_equal(ami_metro_next_month_start(INT64_C(1707998400), 3600), INT64_C(1709247600));
    /* December rolls over the year: 2023-12-31 23:59:59 -> 2024-01-01. */
    assert_int_equal(ami_metro_next_month_start(INT64_C(1704067199), 0), INT64_C(1704067200));
    /* Exactly on a month start: the next one. */
    assert_int_equal(ami_metro_next_month_start(INT64_C(1704067200), 0), INT64_C(1706745600));
    /* Before 1970. 1969-12-15 -> 1970-01-01. */
    assert_int_equal(ami_metro_next_month_start(-17 * 86400, 0), 0);
    /* Local time ahead of UTC: 2023-12-31 23:30 UTC is already January in +05:30. */
    assert_int_equal(ami_metro_next_month_start(INT64_C(1704065400), 19800),
                     INT64_C(1706745600) - 19800);
    for (int64_t d = -800000; d < 800000; d += 17) {
        int64_t y;
        unsigned m, dd;
        ami__civil_from_days(d, &y, &m, &dd);
        assert_in_range(m, 1, 12);
        assert_in_range(dd, 1, 31);
        assert_int_equal(ami__days_from_civil(y, m, dd), d);
    }
}

static void test_simclock(void **state)
{
    (void)state;
    ami_simclock c;
    assert_int_equal(ami_simclock_init(&c, T_NOW, 5000000000u, 60), 0);
    assert_int_equal(ami_simclock_now(&c, 5000000000u), T_NOW);
    assert_int_equal(ami_simclock_now(&c, 4000000000u), T_NOW);
    assert_int_equal(ami_simclock_now(&c, 6500000000u), T_NOW + 90);
    assert_int_equal(ami_simclock_now(&c, 5016666666u), T_NOW);
    assert_int_equal(ami_simclock_now(&c, 5016666667u), T_NOW + 1);
    assert_int_equal(ami_simclock_deadline(&c, T_NOW + 1), 5016666667u);
    assert_int_equal(ami_simclock_deadline(&c, T_NOW - 5), 5000000000u);
    /* Extreme ends of int64: saturation and exact differences, no signed overflow (UBSan). */
    ami_simclock e;
    assert_int_equal(ami_simclock_init(&e, INT64_MAX - 10, 0, 1000000), 0);
    assert_true(ami_simclock_now(&e, UINT64_MAX) == INT64_MAX);
    assert_true(ami_simclock_now(&e, 1000) == INT64_MAX - 9);
    assert_int_equal(ami_simclock_init(&e, INT64_MIN, 0, 1000000), 0);
    assert_true(ami_simclock_now(&e, UINT64_MAX) == INT64_MIN + 18446744073709551);
    assert_true(ami_simclock_deadline(&e, INT64_MAX) == UINT64_MAX);
    assert_int_equal(ami_simclock_init(&e, -1, 0, 1000000), 0);
    assert_true(ami_simclock_deadline(&e, INT64_MAX) == UINT64_MAX);
    uint64_t s = 3;
    for (int i = 0; i < 100000; i++) {
        uint32_t speed = (uint32_t)rand_range(&s, 1, 1000000);
        assert_int_equal(ami_simclock_init(&c,
                                           rand_range(&s, -(INT64_C(1) << 40), INT64_C(1) << 40),
                                           tu_rand(&s) >> 4, speed),
                         0);
        int64_t sim = c.sim0 + rand_range(&s, 1, INT64_C(1) << 32);
        uint64_t dl = ami_simclock_deadline(&c, sim);
        if (dl == UINT64_MAX)
            continue;
        assert_true(ami_simclock_now(&c, dl) >= sim);
        assert_true(ami_simclock_now(&c, dl - 1) < sim);
    }
    assert_int_equal(ami_simclock_init(&c, 0, 0, 0), AMI_E_INVAL);
    assert_int_equal(ami_simclock_init(&c, 0, 0, 1000001), AMI_E_INVAL);
    assert_int_equal(ami_simclock_init(NULL, 0, 0, 1), AMI_E_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_isqrt),
        cmocka_unit_test(test_va_known),
        cmocka_unit_test(test_va_property),
        cmocka_unit_test(test_load_from_seed),
        cmocka_unit_test(test_sample_consistency),
        cmocka_unit_test(test_load_shape),
        cmocka_unit_test(test_energy_exact_35_days),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_monotonic_and_errors),
        cmocka_unit_test(test_meter_demand_independent),
        cmocka_unit_test(test_billing),
        cmocka_unit_test(test_history_priming),
        cmocka_unit_test(test_month_start),
        cmocka_unit_test(test_simclock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
