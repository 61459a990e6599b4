/*
 * Demand register (interface class 5, version 0; DLMS UA Blue Book 4.3.4) for the reference
 * COSEM store (ami/cosem.h).
 *
 * Attributes: 1 logical_name, 2 current_average_value, 3 last_average_value, 4 scaler_unit,
 * 5 status (unsigned), 6 capture_time, 7 start_time_current (octet-string date-times),
 * 8 period (double-long-unsigned, s), 9 number_of_periods (long-unsigned). Methods: 1 reset,
 * 2 next_period (data ::= integer 0), run by the object's method callback: the demand engine
 * is the meter model's.
 *
 * The values come from a read callback, normally an ami_demand engine (ami/metrology.h) through
 * ami_demand_cosem_values(); scaler and unit from ami_cosem_obj.scaler/unit (the engine's
 * register values are in 10 W: scaler 1, unit W (27)).
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_COSEM_DEMAND_H
#define AMI_COSEM_DEMAND_H

#include "ami/cosem.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The attributes of a Demand register at one moment (values in register units). */
typedef struct ami_cosem_demand_values {
    int32_t current_average;    /* attribute 2 (double-long) */
    int32_t last_average;       /* attribute 3 (double-long) */
    uint8_t status;             /* attribute 5 */
    int64_t capture_time;       /* attribute 6: end of the last completed window (Unix s) */
    int64_t start_time_current; /* attribute 7: start of the running window (Unix s) */
    uint32_t period;            /* attribute 8: sub-period, s */
    uint16_t number_of_periods; /* attribute 9 */
} ami_cosem_demand_values;

/* The state of a Demand register object (ami_cosem_obj.state). */
typedef struct ami_cosem_demand_register {
    /* Fills *v (with the object's `user`). Required. */
    void (*read)(void *user, const ami_cosem_obj *o, ami_cosem_demand_values *v);
} ami_cosem_demand_register;

typedef struct ami_demand ami_demand;

/*
 * The Demand register attributes of a demand engine (ami/metrology.h), in its register units
 * (ami_demand_register: 10 W): current and last average, capture time (end of the last
 * completed window, 0 before the first), start of the running window, period and number of
 * periods; status 0. Pure; d and v must not be NULL.
 */
AMI_EXTERN void ami_demand_cosem_values(const ami_demand *d, ami_cosem_demand_values *v);

#ifdef __cplusplus
}
#endif
#endif
