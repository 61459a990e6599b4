/*
 * The Demand register (class 5) attributes of a demand engine: the glue between
 * ami/metrology.h and ami/cosem_demand.h (metrology sits above cosem in the module order).
 * SPDX-License-Identifier: Apache-2.0
 */
#include "ami/cosem_demand.h"
#include "ami/metrology.h"

void ami_demand_cosem_values(const ami_demand *d, ami_cosem_demand_values *v)
{
    int64_t capture = 0;
    int64_t last = ami_demand_last_mw(d, &capture);
    v->current_average = ami_demand_register(ami_demand_current_mw(d));
    v->last_average = ami_demand_register(last);
    v->status = 0;
    v->capture_time = capture;
    /* start_time_current: the start of the running sub-period, where the measurement that
     * current_average_value extrapolates began (Blue Book 4.3.4). */
    v->start_time_current = d->period_start;
    v->period = d->period_s;
    v->number_of_periods = d->n;
}
