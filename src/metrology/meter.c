/*
 * One meter's metrology: exact energy registers, A+ demand, billing periods.
 *
 * Registers are integers in mJ (mW*s). The model's power is constant within each simulated
 * minute and time is in whole seconds, so every step adds P * dt exactly: the sum over any
 * number of calls equals the closed-form sum over the minutes, with no drift and no dependence
 * on the polling pattern. Quadrants follow IEC 62053-23 / OBIS: Q1 import inductive, Q2 export
 * inductive, Q3 export capacitive, Q4 import capacitive, decided on the totals of the phases;
 * P = 0 counts on the import side.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "metro_internal.h"

#include "ami/error.h"

int64_t ami_metro_wh(int64_t mj)
{
    return ami__fdiv(mj, 3600000);
}

int ami_metro_init(ami_metro *m, const ami_metro_load *load, unsigned window_min, unsigned sub_min,
                   int64_t start)
{
    if (!m)
        return AMI_E_INVAL;
    memset(m, 0, sizeof *m);
    if (ami_metro_load_check(load) != 0)
        return AMI_E_INVAL;
    if (start > AMI_METRO_TIME_MAX || start < -AMI_METRO_TIME_MAX)
        return AMI_E_RANGE;
    int rc = ami_demand_init(&m->demand, window_min, sub_min, load->utc_offset_s, start);
    if (rc != 0)
        return rc;
    m->load = *load;
    m->t = start;
    m->billing_start = start;
    m->cache_minute = INT64_MIN;
    return 0;
}

/* r += e, wrapping modulo 2^64 instead of overflowing (e >= 0 and < 2^41 per step). */
static void acc(int64_t *r, int64_t e)
{
    *r = (int64_t)((uint64_t)*r + (uint64_t)e);
}

/* Adds one step (dt <= 60 s) of constant P and Q; returns the A+ energy added (mJ). */
static int64_t add_energy(ami_metro *m, int64_t p, int64_t q, int64_t dt, unsigned tariff)
{
    int64_t *tr = m->reg.tariff[tariff];
    int64_t ep = (p >= 0 ? p : -p) * dt, eq = (q >= 0 ? q : -q) * dt;
    if (p >= 0) {
        acc(&m->reg.a_plus, ep);
        acc(&tr[AMI_REG_A_PLUS], ep);
    } else {
        acc(&m->reg.a_minus, ep);
        acc(&tr[AMI_REG_A_MINUS], ep);
    }
    acc(&m->reg.q[q >= 0 ? (p >= 0 ? 0 : 1) : (p >= 0 ? 3 : 2)], eq);
    acc(&tr[q >= 0 ? AMI_REG_R_PLUS : AMI_REG_R_MINUS], eq);
    return p >= 0 ? ep : 0;
}

int ami_metro_advance(ami_metro *m, int64_t t, unsigned tariff)
{
    if (!m || tariff >= AMI_METRO_TARIFFS)
        return AMI_E_INVAL;
    if (t < m->t || t > AMI_METRO_TIME_MAX)
        return AMI_E_RANGE;
    int64_t cur = m->t;
    while (cur < t) {
        int64_t minute = ami__fdiv(cur, 60);
        int64_t end = (minute + 1) * 60;
        if (end > t)
            end = t;
        if (minute != m->cache_minute) {
            ami__metro_pq pq;
            ami__metro_pq_at(&m->load, minute, &pq);
            m->cache_minute = minute;
            m->cache_p_mw = pq.p_mw[0] + pq.p_mw[1] + pq.p_mw[2];
            m->cache_q_mvar = pq.q_mvar[0] + pq.q_mvar[1] + pq.q_mvar[2];
        }
        int64_t e = add_energy(m, m->cache_p_mw, m->cache_q_mvar, end - cur, tariff);
        cur = end;
        /*
         * Demand sees A+ at 1 J resolution: whole joules are fed and the rest carried, so the
         * energy fed up to any time is floor(A+ since init / 1000) and window sums are exact
         * register differences. Boundaries are whole minutes (offsets are whole minutes), so a
         * minute step never crosses one.
         */
        m->demand_rem_mj += e;
        int64_t j = m->demand_rem_mj / 1000;
        int rc = ami_demand_feed(&m->demand, cur, j, tariff);
        if (rc != 0) {
            m->t = cur;
            return rc;
        }
        m->demand_rem_mj -= j * 1000;
    }
    m->t = t;
    return 0;
}

void ami_metro_instant(const ami_metro *m, int64_t t, ami_metro_sample *out)
{
    ami_metro_sample_at(&m->load, t, out);
}

int ami_metro_bill(ami_metro *m, ami_metro_billing *out)
{
    if (!m)
        return AMI_E_INVAL;
    m->billing_count++;
    if (out) {
        out->start = m->billing_start;
        out->end = m->t;
        out->count = m->billing_count;
        out->reg = m->reg;
        memcpy(out->max, m->demand.max, sizeof out->max);
    }
    ami_demand_clear_max(&m->demand);
    m->billing_start = m->t;
    return 0;
}

int ami_metro_run(ami_metro *m, int64_t t, const ami_metro_hooks *hooks)
{
    static const ami_metro_hooks none = {0};
    const ami_metro_hooks *h = hooks ? hooks : &none;
    if (!m)
        return AMI_E_INVAL;
    int64_t cp = h->capture_period_s;
    if (cp && 86400 % cp != 0)
        return AMI_E_INVAL;
    if (t < m->t || t > AMI_METRO_TIME_MAX)
        return AMI_E_RANGE;
    int32_t off = m->load.utc_offset_s;
    while (m->t < t) {
        int64_t month = ami_metro_next_month_start(m->t, off);
        int64_t capture = cp ? ami__fdiv(m->t + off, cp) * cp + cp - off : INT64_MAX;
        int64_t until = INT64_MAX;
        unsigned tr = 0;
        if (h->tariff) {
            tr = h->tariff(h->tariff_ctx, m->t, &until);
            if (tr >= AMI_METRO_TARIFFS || until <= m->t)
                return AMI_E_INVAL;
        }
        int64_t end = t;
        if (until < end)
            end = until;
        if (month < end)
            end = month;
        if (capture < end)
            end = capture;
        int rc = ami_metro_advance(m, end, tr);
        if (rc != 0)
            return rc;
        if (m->t == capture && h->capture)
            h->capture(h->capture_ctx, m);
        if (m->t == month && !h->no_billing) {
            ami_metro_billing b;
            ami_metro_bill(m, &b);
            if (h->billed)
                h->billed(h->billed_ctx, &b);
        }
    }
    return 0;
}

/*
 * Proleptic Gregorian calendar in 400-year eras of 146097 days, years starting on 1 March so
 * the leap day is the last day of the year.
 */
int64_t ami__days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = ami__fdiv(y, 400);
    int64_t yoe = y - era * 400;                                   /* 0..399 */
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* 0..365 */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* 0..146096 */
    return era * 146097 + doe - 719468;
}

void ami__civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t z = days + 719468;
    int64_t era = ami__fdiv(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

int64_t ami_metro_next_month_start(int64_t t, int32_t utc_offset_s)
{
    int64_t day = ami__fdiv(t + utc_offset_s, 86400);
    int64_t y;
    unsigned m, d;
    ami__civil_from_days(day, &y, &m, &d);
    if (++m > 12) {
        m = 1;
        y++;
    }
    return ami__days_from_civil(y, m, 1) * 86400 - utc_offset_s;
}

/* ------------------------------------------------------------------ simulated clock */

#define NS 1000000000u

int ami_simclock_init(ami_simclock *c, int64_t sim0, uint64_t real0_ns, uint32_t speed)
{
    if (!c || speed == 0 || speed > 1000000)
        return AMI_E_INVAL;
    c->sim0 = sim0;
    c->real0_ns = real0_ns;
    c->speed = speed;
    return 0;
}

int64_t ami_simclock_now(const ami_simclock *c, uint64_t real_ns)
{
    if (real_ns <= c->real0_ns)
        return c->sim0;
    uint64_t dt = real_ns - c->real0_ns;
    /* floor(dt * speed / 1e9) without overflow: whole seconds and the rest apart. */
    uint64_t s = (dt / NS) * c->speed + (dt % NS) * c->speed / NS;
    /* s < 2^55 (dt < 2^64 ns, speed <= 10^6), but sim0 is any int64: saturate, never overflow. */
    if (c->sim0 >= 0 && s > (uint64_t)(INT64_MAX - c->sim0))
        return INT64_MAX; /* (a negative sim0 has more than 2^63 of headroom: s always fits) */
    return c->sim0 + (int64_t)s;
}

uint64_t ami_simclock_deadline(const ami_simclock *c, int64_t sim)
{
    if (sim <= c->sim0)
        return c->real0_ns;
    uint64_t ds = (uint64_t)sim - (uint64_t)c->sim0; /* sim > sim0: exact, even past INT64_MAX */
    /* Smallest x with floor(x * speed / 1e9) >= ds: x = ceil(ds * 1e9 / speed). */
    uint64_t q = ds / c->speed, r = ds % c->speed;
    if (q >= (UINT64_MAX - c->real0_ns) / NS)
        return UINT64_MAX; /* beyond the reference clock's range */
    return c->real0_ns + q * NS + (r * NS + c->speed - 1) / c->speed;
}
