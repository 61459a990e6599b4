/*
 * Differential fuzz target for the demand engine: the input chooses a configuration and a
 * sequence of feeds, outages and queries; a shadow model that keeps every closed sub-period's
 * energy recomputes last_average_value, current_average_value and the maxima, which must agree.
 * Invalid calls must fail without changing the engine.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ami/error.h"
#include "ami/metrology.h"

#define MAX_CLOSED 4096

typedef struct shadow {
    int64_t closed[MAX_CLOSED]; /* energy of each closed sub-period, J */
    int nclosed;
    int64_t partial;
    ami_demand_max max[1 + AMI_METRO_TARIFFS];
} shadow;

static unsigned take(const uint8_t **p, size_t *n)
{
    if (*n == 0)
        return 0;
    (*n)--;
    return *(*p)++;
}

static int64_t window_energy(const shadow *s, int n, int upto)
{
    int64_t e = 0;
    for (int i = upto - n; i < upto; i++)
        if (i >= 0)
            e += s->closed[i];
    return e;
}

static void close_one(shadow *s, const ami_demand *d, unsigned tariff, int64_t end, int last)
{
    s->closed[s->nclosed++] = s->partial;
    s->partial = 0;
    int64_t v = window_energy(s, d->n, s->nclosed) * 1000 / ((int64_t)d->n * d->period_s);
    if (v > s->max[0].value_mw)
        s->max[0] = (ami_demand_max){v, end};
    if (v > s->max[1 + tariff].value_mw)
        s->max[1 + tariff] = (ami_demand_max){v, end};
    int64_t cap;
    if (last && (ami_demand_last_mw(d, &cap) != v || cap != end))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned windows[] = {5, 15, 30, 60};
    static const unsigned subs[] = {1, 2, 5, 6, 12, 15, 30, 60};
    static shadow s;
    memset(&s, 0, sizeof s);
    const uint8_t *p = data;
    size_t n = size;
    unsigned win = windows[take(&p, &n) % 4], sub = subs[take(&p, &n) % 8];
    int32_t offset = ((int32_t)take(&p, &n) - 128) * 300;
    int64_t t = INT64_C(1750000000) + (int64_t)take(&p, &n) * 97;
    ami_demand d;
    int rc = ami_demand_init(&d, win, sub, offset, t);
    int valid = (sub == win) || (sub < win && win % sub == 0 && sub != 60);
    if (offset > 14 * 3600 || offset < -14 * 3600)
        valid = 0;
    if ((rc == 0) != valid)
        abort();
    if (rc != 0)
        return 0;
    while (n > 0 && s.nclosed < MAX_CLOSED - 200) {
        unsigned op = take(&p, &n), a = take(&p, &n), b = take(&p, &n);
        unsigned tariff = op >> 6;
        int64_t bound = ami_demand_boundary(&d);
        switch (op & 7) {
        case 0:
        case 1:
        case 2: { /* feed up to somewhere before or at the boundary */
            int64_t to = t + (int64_t)(a * (bound - t) / 255);
            int64_t e = (int64_t)b * b * 1000;
            int64_t limit =
                d.n > AMI_DEMAND_MAX_PERIODS / 2 ? (int64_t)UINT32_MAX : INT64_C(1) << 40;
            if (s.partial + e > limit) {
                if (ami_demand_feed(&d, to, e, tariff) != AMI_E_OVERFLOW)
                    abort();
                break;
            }
            if (ami_demand_feed(&d, to, e, tariff) != 0)
                abort();
            s.partial += e;
            t = to;
            if (t == bound)
                close_one(&s, &d, tariff, bound, 1);
            break;
        }
        case 3: { /* an outage over some sub-periods */
            int64_t to = t + (int64_t)a * d.period_s / 8 + b;
            int closes = 0;
            for (int64_t e = bound; e <= to; e += d.period_s)
                closes++;
            if (closes > d.n + 1 || s.nclosed + closes >= MAX_CLOSED)
                break; /* long outages are checked by the unit tests */
            if (ami_demand_skip_to(&d, to, tariff) != 0)
                abort();
            for (int64_t e = bound; e <= to; e += d.period_s)
                close_one(&s, &d, tariff, e, e + d.period_s > to);
            t = to;
            break;
        }
        case 4: { /* invalid calls change nothing */
            ami_demand before = d;
            if (ami_demand_feed(&d, bound + 1 + a, 0, 0) != AMI_E_RANGE ||
                ami_demand_feed(&d, t - 1 - b, 0, 0) != AMI_E_RANGE ||
                ami_demand_feed(&d, t, -1 - (int64_t)a, 0) != AMI_E_INVAL ||
                ami_demand_feed(&d, t, 0, 4 + a) != AMI_E_INVAL)
                abort();
            if (memcmp(&before, &d, sizeof d) != 0)
                abort();
            break;
        }
        case 5: /* clear the maxima (billing) */
            ami_demand_clear_max(&d);
            memset(s.max, 0, sizeof s.max);
            break;
        default: { /* running value */
            int64_t e = window_energy(&s, d.n - 1, s.nclosed) + s.partial;
            if (ami_demand_current_mw(&d) != e * 1000 / ((int64_t)d.n * d.period_s))
                abort();
            break;
        }
        }
        for (int i = 0; i <= AMI_METRO_TARIFFS; i++) {
            ami_demand_max m = ami_demand_maximum(&d, i - 1);
            if (m.value_mw != s.max[i].value_mw || m.time != s.max[i].time)
                abort();
        }
    }
    return 0;
}
