/*
 * Demand: fixed block and sliding windows, with maximum-demand registers.
 *
 * Semantics of the DLMS/COSEM interface class 5 "Demand register" (DLMS UA 1000-1 Blue Book,
 * 4.3.4): `period` is the sub-period and `number_of_periods` the window length in sub-periods;
 * number_of_periods = 1 is a fixed block window. last_average_value is the energy of the last
 * completed window divided by its length, updated at each sub-period end; current_average_value
 * is the running demand: the energy of the window that is being completed (n - 1 closed
 * sub-periods and the running one) divided by the whole window length.
 *
 * Energy is kept in whole joules (W*s). A window of 5 minutes or more then resolves demand to
 * 1/300 W, far below the 10 W register resolution, and sums are exact integers, so the result
 * equals the difference of two energy register readings divided by the window length.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "metro_internal.h"

#include "ami/error.h"

/* Sub-period energies at most this (J): 2^40 J keeps window sums * 1000 inside int64. */
#define WIDE_LIMIT (INT64_C(1) << 40)

int32_t ami_demand_register(int64_t demand_mw)
{
    int64_t v = demand_mw / 10000; /* mW -> 10 W units; C division truncates toward zero */
    if (v > AMI_DEMAND_REGISTER_MAX)
        v = AMI_DEMAND_REGISTER_MAX;
    if (v < -AMI_DEMAND_REGISTER_MAX)
        v = -AMI_DEMAND_REGISTER_MAX;
    return (int32_t)v;
}

static int valid_config(unsigned window_min, unsigned sub_min)
{
    if (window_min != 5 && window_min != 15 && window_min != 30 && window_min != 60)
        return 0;
    if (sub_min == window_min)
        return 1;
    static const unsigned subs[] = {1, 2, 5, 6, 12, 15, 30};
    for (size_t i = 0; i < AMI_COUNTOF(subs); i++)
        if (subs[i] == sub_min)
            return sub_min < window_min && window_min % sub_min == 0;
    return 0;
}

int ami_demand_init(ami_demand *d, unsigned window_min, unsigned sub_min, int32_t utc_offset_s,
                    int64_t now)
{
    if (!d)
        return AMI_E_INVAL;
    memset(d, 0, sizeof *d);
    if (!valid_config(window_min, sub_min) || utc_offset_s % 60 != 0 || utc_offset_s > 14 * 3600 ||
        utc_offset_s < -14 * 3600)
        return AMI_E_INVAL;
    d->period_s = sub_min * 60;
    d->n = (uint8_t)(window_min / sub_min);
    d->wide = d->n <= AMI_DEMAND_MAX_PERIODS / 2;
    d->align_s = utc_offset_s;
    /* Boundaries sit where local time is a multiple of the sub-period, so hours start on one. */
    d->period_start = ami__fdiv(now + utc_offset_s, d->period_s) * d->period_s - utc_offset_s;
    d->fed_until = now;
    return 0;
}

int64_t ami_demand_boundary(const ami_demand *d)
{
    return d->period_start + (int64_t)d->period_s;
}

static uint64_t ring_get(const ami_demand *d, unsigned i)
{
    return d->wide ? d->ring.e64[i] : d->ring.e32[i];
}

static void ring_set(ami_demand *d, unsigned i, uint64_t v)
{
    if (d->wide)
        d->ring.e64[i] = v;
    else
        d->ring.e32[i] = (uint32_t)v;
}

static void close_period(ami_demand *d, unsigned tariff)
{
    uint64_t old = ring_get(d, d->head);
    d->window_j += d->partial_j - (int64_t)old;
    ring_set(d, d->head, (uint64_t)d->partial_j);
    d->head = (uint8_t)((d->head + 1u) % d->n);
    d->partial_j = 0;
    int64_t end = ami_demand_boundary(d);
    d->last_mw = d->window_j * 1000 / ((int64_t)d->n * d->period_s);
    d->capture_time = end;
    /* Strictly greater: an equal later window keeps the earlier time of the maximum. */
    if (d->last_mw > d->max[0].value_mw)
        d->max[0] = (ami_demand_max){d->last_mw, end};
    if (d->last_mw > d->max[1 + tariff].value_mw)
        d->max[1 + tariff] = (ami_demand_max){d->last_mw, end};
    d->period_start = end;
}

int ami_demand_feed(ami_demand *d, int64_t t, int64_t energy_j, unsigned tariff)
{
    if (!d || d->n == 0 || energy_j < 0 || tariff >= AMI_METRO_TARIFFS)
        return AMI_E_INVAL;
    int64_t boundary = ami_demand_boundary(d);
    if (t < d->fed_until || t > boundary)
        return AMI_E_RANGE;
    int64_t limit = d->wide ? WIDE_LIMIT : (int64_t)UINT32_MAX;
    if (energy_j > limit - d->partial_j)
        return AMI_E_OVERFLOW;
    d->partial_j += energy_j;
    d->fed_until = t;
    if (t == boundary)
        close_period(d, tariff);
    return 0;
}

int ami_demand_skip_to(ami_demand *d, int64_t t, unsigned tariff)
{
    if (!d || d->n == 0 || tariff >= AMI_METRO_TARIFFS)
        return AMI_E_INVAL;
    if (t < d->fed_until || t > AMI_METRO_TIME_MAX)
        return AMI_E_RANGE;
    /* After n + 1 closings every sub-period in the window is empty: later windows are all zero
     * and cannot raise a maximum, so jump over them instead of closing each. */
    for (unsigned i = 0; i <= d->n && ami_demand_boundary(d) <= t; i++) {
        d->fed_until = ami_demand_boundary(d);
        close_period(d, tariff);
    }
    if (ami_demand_boundary(d) <= t) {
        int64_t k = (t - d->period_start) / d->period_s;
        d->period_start += k * d->period_s;
        d->capture_time = d->period_start;
        d->last_mw = 0;
    }
    d->fed_until = t;
    return 0;
}

int64_t ami_demand_current_mw(const ami_demand *d)
{
    /* The oldest closed sub-period (at head) leaves the window when the running one closes. */
    int64_t e = d->window_j - (int64_t)ring_get(d, d->head) + d->partial_j;
    return e * 1000 / ((int64_t)d->n * d->period_s);
}

int64_t ami_demand_last_mw(const ami_demand *d, int64_t *capture_time)
{
    if (capture_time)
        *capture_time = d->capture_time;
    return d->last_mw;
}

ami_demand_max ami_demand_maximum(const ami_demand *d, int tariff)
{
    if (tariff < 0)
        return d->max[0];
    if (tariff >= AMI_METRO_TARIFFS)
        return (ami_demand_max){0, 0};
    return d->max[1 + tariff];
}

void ami_demand_clear_max(ami_demand *d)
{
    memset(d->max, 0, sizeof d->max);
}
