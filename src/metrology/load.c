/*
 * The deterministic load model of one simulated meter.
 *
 * Every value is a pure function of the meter's parameters (derived from its identity seed) and
 * the minute index floor(t / 60): random draws are hashes of (seed, stream, time index), never a
 * generator's state. So any time can be evaluated directly, fast-forwarding history is just
 * evaluating it, and a meter's registers never depend on how often it was read. Every result is
 * computed in integers (square roots are corrected against exact integer squares, va.c), so
 * results are identical on every platform.
 *
 * The model (docs/metrology.md has the figures):
 *   load(t) = base * noise_b + peak * shape(local time, weekday) * season * noise + bursts
 *   pv(t)   = pv_peak * bell(sun, season) * clouds(day, quarter hour)
 *   P_k     = load_k - pv_k, Q_k = load_k * tan(phi_k)  (PV at unity power factor)
 *   U_k     = 230 V + offset_k + feeder sag - P_k * R / 230 V + noise  (R 0.2 or 0.02 ohm)
 * SPDX-License-Identifier: Apache-2.0
 */
#include "metro_internal.h"

#include "ami/error.h"

/* Random streams: one per kind of draw, so the draws are independent. */
enum {
    S_MINUTE = 1,
    S_SPLIT = 2,
    S_BURST = 3,
    S_CLOUD = 4,
    S_WEATHER = 5,
    S_VOLT = 6,
    S_FREQ = 7,
    S_PARAM = 8
};

/*
 * Daily shapes, 1/1000 of the peak at each local hour 0..24 (24 = next midnight), interpolated
 * linearly per minute.
 */
static const uint16_t shape_res_work[25] = {120, 90,   80,  80,  90,  150, 350, 600, 550,
                                            400, 330,  330, 380, 360, 330, 350, 450, 700,
                                            900, 1000, 900, 700, 450, 250, 120};
static const uint16_t shape_res_free[25] = {150, 110,  90,  80,  80,  100, 180, 350, 550,
                                            600, 580,  560, 600, 550, 500, 480, 550, 750,
                                            900, 1000, 900, 750, 500, 300, 150};
static const uint16_t shape_com_work[25] = {100,  100,  100, 100, 100, 120,  250, 600, 900,
                                            1000, 1000, 980, 900, 950, 1000, 980, 900, 700,
                                            400,  250,  180, 150, 120, 100,  100};
static const uint16_t shape_com_free[25] = {100, 100, 100, 100, 100, 100, 110, 130, 180,
                                            200, 200, 200, 200, 200, 200, 180, 150, 130,
                                            110, 100, 100, 100, 100, 100, 100};

static uint32_t interp(const uint16_t *tab, uint32_t minute_of_day)
{
    uint32_t h = minute_of_day / 60, m = minute_of_day % 60;
    int32_t a = tab[h], b = tab[h + 1];
    return (uint32_t)(a + (b - a) * (int32_t)m / 60);
}

/* The top 32 bits of a draw mapped to [lo, hi] by multiply-shift (no division). */
static uint32_t uniform(uint64_t h, uint32_t lo, uint32_t hi)
{
    return lo + (uint32_t)(((h >> 32) * (uint64_t)(hi - lo + 1)) >> 32);
}

/* 16 bits of a draw (field 0..3) mapped to [0, n). */
static int64_t field16(uint64_t h, unsigned field, uint32_t n)
{
    return (int64_t)((((h >> (field * 16)) & 0xFFFF) * n) >> 16);
}

/* Time of day, weekday and season of a local minute. */
typedef struct when {
    uint32_t minute_of_day; /* 0..1439 */
    int64_t day;            /* days since 1970-01-01, local */
    unsigned weekday;       /* 0 = Monday */
    uint32_t summer;        /* 0 at the winter solstice .. 1000 at the summer solstice */
} when;

static void when_of(int64_t local_minute, when *w)
{
    w->day = ami__fdiv(local_minute, 1440);
    w->minute_of_day = (uint32_t)(local_minute - w->day * 1440);
    w->weekday = (unsigned)((w->day % 7 + 7 + 3) % 7); /* 1970-01-01 was a Thursday */
    /*
     * Distance to the summer solstice in the mean Gregorian year (146097 / 400 = 365.2425 days),
     * counted in 1/400 day from 21 June 2000 (day 11129): no calendar conversion per minute.
     */
    int64_t ph = ((w->day - 11129) % 146097 + 146097) % 146097 * 400 % 146097;
    int64_t dist = ph < 146097 - ph ? ph : 146097 - ph; /* 0 .. 73048 (half a year) */
    w->summer = (uint32_t)(1000 - dist * 1000 / 73048);
}

static uint32_t shape_of(const ami_metro_load *p, const when *w)
{
    int free_day = w->weekday >= 5;
    const uint16_t *tab;
    if (p->kind == AMI_LOAD_COMMERCIAL)
        tab = free_day ? shape_com_free : shape_com_work;
    else
        tab = free_day ? shape_res_free : shape_res_work;
    return interp(tab, w->minute_of_day);
}

void ami__metro_pq_at(const ami_metro_load *p, int64_t minute, ami__metro_pq *out)
{
    when w;
    int64_t local = minute + p->utc_offset_s / 60;
    when_of(local, &w);
    uint32_t shape = shape_of(p, &w);
    uint64_t key = ami__mix64(p->seed);
    out->key = key;
    /* Per minute: 16-bit fields of two draws (the second for three-phase meters only). */
    uint64_t hm = ami__draw(key, S_MINUTE, minute);
    uint64_t hs = p->phases == 3 ? ami__draw(key, S_SPLIT, minute) : 0;

    /* Consumption, mW. Residential meters use more in winter (light, heating). */
    uint64_t season =
        p->kind == AMI_LOAD_COMMERCIAL ? 1000 : 1150 - 300 * (uint64_t)w.summer / 1000;
    uint64_t noise = 850 + (uint64_t)field16(hm, 0, 301);
    uint64_t noise_b = 950 + (uint64_t)field16(hm, 1, 101);
    int64_t load = (int64_t)((uint64_t)p->base_w * noise_b +
                             (uint64_t)p->peak_w * shape * season * noise / 1000000u);

    /* Appliance bursts: 5-minute blocks, more likely when the household is active, on one phase. */
    uint64_t hb = ami__draw(key, S_BURST, ami__fdiv(minute, 5));
    int64_t burst = 0;
    unsigned burst_phase = 0;
    if ((hb & 0xFF) < 4 + shape * 16 / 1000) {
        uint32_t max_w = p->kind == AMI_LOAD_COMMERCIAL ? 8000 : 2800;
        burst = (int64_t)uniform(hb, 800, max_w) * 1000;
        burst_phase = (unsigned)field16(hb, 1, p->phases);
    }

    /* Photovoltaic production, mW: a parabola over the day, longer and higher in summer. */
    int64_t pv = 0;
    if (p->pv_peak_w) {
        int64_t half = 240 + 240 * (int64_t)w.summer / 1000; /* half day length, minutes */
        int64_t x = (int64_t)w.minute_of_day - 720;
        if (x > -half && x < half) {
            int64_t bell = 1000 - x * x * 1000 / (half * half);
            int64_t amp = 350 + 650 * (int64_t)w.summer / 1000;
            /* Weather is shared by every meter on a day; clouds pass per meter per quarter. */
            int64_t clear = uniform(ami__draw(ami__mix64(0), S_WEATHER, w.day), 200, 1000);
            int64_t cloud =
                clear * uniform(ami__draw(key, S_CLOUD, ami__fdiv(minute, 15)), 700, 1000) / 1000;
            pv = (int64_t)p->pv_peak_w * bell * amp / 1000 * cloud / 1000;
        }
    }

    /* Split over the phases: shares with a per-minute wobble, the exact remainder on the last. */
    int64_t load_k[AMI_METRO_MAX_PHASES] = {0}, pv_k[AMI_METRO_MAX_PHASES] = {0};
    if (p->phases == 1) {
        load_k[0] = load;
        pv_k[0] = pv;
    } else {
        int64_t wk[3], wsum = 0;
        for (unsigned k = 0; k < 3; k++) {
            wk[k] = (int64_t)p->share[k] * (900 + field16(hs, k, 201)) / 1000;
            wsum += wk[k];
        }
        if (wsum <= 0) {
            wk[0] = wk[1] = wk[2] = 1;
            wsum = 3;
        }
        int64_t scale = (load << 16) / wsum; /* one division for the three shares */
        load_k[0] = (wk[0] * scale) >> 16;
        load_k[1] = (wk[1] * scale) >> 16;
        load_k[2] = load - load_k[0] - load_k[1];
        pv_k[0] = pv / 3;
        pv_k[1] = pv / 3;
        pv_k[2] = pv - 2 * (pv / 3);
    }
    load_k[burst_phase] += burst;

    for (unsigned k = 0; k < AMI_METRO_MAX_PHASES; k++) {
        if (k >= p->phases) {
            out->p_mw[k] = out->q_mvar[k] = 0;
            continue;
        }
        /* tan(phi) wobbles by +/- 0.030: fields 2, 3 of the minute draw, field 3 of the split. */
        int64_t tan = p->tan_phi[k] + (k < 2 ? field16(hm, 2 + k, 61) : field16(hs, 3, 61)) - 30;
        out->p_mw[k] = load_k[k] - pv_k[k];
        out->q_mvar[k] = load_k[k] * tan / 1000;
    }
}

static int16_t pf_of(int64_t p, int64_t s)
{
    if (s <= 0)
        return 1000;
    int64_t pf = p * 1000 / s;
    if (pf > 1000)
        pf = 1000;
    if (pf < -1000)
        pf = -1000;
    return (int16_t)pf;
}

void ami_metro_sample_at(const ami_metro_load *p, int64_t t, ami_metro_sample *out)
{
    int64_t minute = ami__fdiv(t, 60);
    ami__metro_pq pq;
    ami__metro_pq_at(p, minute, &pq);

    *out = (ami_metro_sample){0};
    out->minute = minute;
    out->phases = p->phases;
    out->va_method = p->va_method;
    /* Grid frequency: common to every meter (seed 0), within +/- 50 mHz. */
    out->f_mhz = 50000 - 50 + uniform(ami__draw(ami__mix64(0), S_FREQ, minute), 0, 100);

    uint64_t hv = ami__draw(pq.key, S_VOLT, minute);
    /* The feeder sags by up to 3 V at the evening peak of a typical residential area. */
    when w;
    when_of(minute + p->utc_offset_s / 60, &w);
    int64_t feeder = 1000 - 3000 * (int64_t)interp(shape_res_work, w.minute_of_day) / 1000;

    int64_t s_ceil = 0;
    for (unsigned k = 0; k < p->phases; k++) {
        ami_metro_phase *ph = &out->ph[k];
        ph->p_mw = pq.p_mw[k];
        ph->q_mvar = pq.q_mvar[k];
        int64_t mag[3];
        ami__hypot_all(ph->p_mw, ph->q_mvar, mag);
        ph->s_mva = mag[AMI__ROUND_NEAREST];
        s_ceil += mag[AMI__ROUND_CEIL];
        /*
         * Drop across the service line: P / 230 V * R, with R = 0.2 ohm for a household
         * (P / 1150, mV for mW) and 0.02 ohm for a commercial connection. Export raises U.
         */
        int64_t drop = ph->p_mw / (p->kind == AMI_LOAD_COMMERCIAL ? 11500 : 1150);
        int64_t u = 230000 + p->u_offset_mv[k] + feeder - drop + field16(hv, k, 801) - 400;
        /* EN 50160 supply limits, 230 V +/- 10 %. */
        if (u < 207000)
            u = 207000;
        if (u > 253000)
            u = 253000;
        ph->u_mv = (int32_t)u;
        ph->i_ma = (int32_t)((ph->s_mva * 1000 + u / 2) / u);
        ph->pf_milli = pf_of(ph->p_mw, ph->s_mva);
        out->p_mw += ph->p_mw;
        out->q_mvar += ph->q_mvar;
    }
    /* The same values as ami_va_arithmetic / ami_va_vectorial, sharing the per-phase roots. */
    if (p->phases == 1) {
        out->s_arith_mva = out->s_vect_mva = out->ph[0].s_mva;
    } else {
        out->s_arith_mva = s_ceil;
        out->s_vect_mva = ami__hypot(out->p_mw, out->q_mvar, AMI__ROUND_FLOOR);
    }
    out->s_mva = p->va_method == AMI_VA_ARITHMETIC ? out->s_arith_mva : out->s_vect_mva;
    out->pf_milli = pf_of(out->p_mw, out->s_mva);
}

void ami_metro_load_from_seed(ami_metro_load *p, uint64_t seed)
{
    *p = (ami_metro_load){0};
    p->seed = seed;
    uint64_t h[6];
    for (unsigned i = 0; i < 6; i++)
        h[i] = ami__draw(ami__mix64(seed), S_PARAM, (int64_t)i);
    p->phases = (h[0] % 100) < 35 ? 3 : 1;
    p->kind = (h[0] >> 8) % 100 < 15 ? AMI_LOAD_COMMERCIAL : AMI_LOAD_RESIDENTIAL;
    p->va_method = AMI_VA_VECTORIAL;
    int has_pv = (h[0] >> 16) % 100 < 25;
    uint32_t scale = p->phases == 3 ? 3 : 2; /* three-phase connections carry more, in halves */
    if (p->kind == AMI_LOAD_COMMERCIAL) {
        p->base_w = uniform(h[1], 2000, 10000) * scale / 2;
        p->peak_w = uniform(h[2], 10000, 60000) * scale / 2;
        p->pv_peak_w = has_pv ? uniform(h[3], 10000, 40000) * scale / 2 : 0;
    } else {
        p->base_w = uniform(h[1], 80, 200) * scale / 2;
        p->peak_w = uniform(h[2], 400, 1200) * scale / 2;
        p->pv_peak_w = has_pv ? uniform(h[3], 2000, 6000) * scale / 2 : 0;
    }
    if (p->phases == 1) {
        p->share[0] = 1000;
    } else {
        uint32_t a = uniform(h[4], 250, 420), b = uniform(h[4] >> 20, 250, 420);
        p->share[0] = (uint16_t)a;
        p->share[1] = (uint16_t)b;
        p->share[2] = (uint16_t)(1000 - a - b);
    }
    for (unsigned k = 0; k < p->phases; k++) {
        uint64_t hk = h[5] >> (k * 20);
        /* Mostly inductive (power factor 0.90 .. 0.995); one phase in ten slightly capacitive. */
        int tan = (int)uniform(hk, 100, 480);
        if ((hk >> 50) % 10 == 0)
            tan = -(int)uniform(hk >> 4, 30, 150);
        p->tan_phi[k] = (int16_t)tan;
        p->u_offset_mv[k] = (int16_t)((int)uniform(hk >> 8, 0, 6000) - 3000);
    }
}

int ami_metro_load_check(const ami_metro_load *p)
{
    if (!p || (p->phases != 1 && p->phases != 3))
        return AMI_E_INVAL;
    if (p->kind > AMI_LOAD_COMMERCIAL || p->va_method > AMI_VA_VECTORIAL || p->reserved)
        return AMI_E_INVAL;
    if (p->utc_offset_s > 14 * 3600 || p->utc_offset_s < -14 * 3600 || p->utc_offset_s % 60)
        return AMI_E_INVAL;
    const uint32_t max_w = 10000000;
    if (p->base_w > max_w || p->peak_w > max_w || p->pv_peak_w > max_w)
        return AMI_E_INVAL;
    uint32_t sum = 0;
    for (unsigned k = 0; k < AMI_METRO_MAX_PHASES; k++) {
        if (k >= p->phases && (p->share[k] || p->tan_phi[k] || p->u_offset_mv[k]))
            return AMI_E_INVAL;
        if (p->tan_phi[k] > 3000 || p->tan_phi[k] < -3000)
            return AMI_E_INVAL;
        if (p->u_offset_mv[k] > 20000 || p->u_offset_mv[k] < -20000)
            return AMI_E_INVAL;
        sum += p->share[k];
    }
    return sum == 1000 ? 0 : AMI_E_INVAL;
}
