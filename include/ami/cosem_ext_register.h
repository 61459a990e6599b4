/*
 * Extended register (interface class 4, version 0; DLMS UA Blue Book 4.3.3) for the reference
 * COSEM store (ami/cosem.h): a Register whose value carries a status and the time it was
 * captured, as maximum-demand registers do (the maximum and when it happened).
 *
 * Attributes: 1 logical_name, 2 value, 3 scaler_unit {scaler integer, unit enum}, 4 status
 * (unsigned), 5 capture_time (octet-string date-time). Method 1 reset (data ::= integer 0).
 *
 * The value comes from the object's read callback or its stored value (as for Register); the
 * scaler and unit from ami_cosem_obj.scaler/unit; status and capture_time from the state below
 * (capture_time encoded at the deviation ami_cosem_obj.time_zone, minutes).
 * reset runs the object's method callback when it has one (the meter model owns the value);
 * otherwise a stored integer value is set to 0 of the same type, status to 0 and capture_time
 * to the store's clock.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_COSEM_EXT_REGISTER_H
#define AMI_COSEM_EXT_REGISTER_H

#include "ami/cosem.h"

#ifdef __cplusplus
extern "C" {
#endif

/* capture_time value meaning "not specified" (every date-time field 0xFF). */
#define AMI_COSEM_TIME_UNSPEC INT64_MIN

/* The state of an Extended register object (ami_cosem_obj.state). */
typedef struct ami_cosem_ext_register {
    /*
     * Status and capture time of the current value (with the object's `user`), for values the
     * meter model computes; NULL: the fields below.
     */
    void (*snapshot)(void *user, const ami_cosem_obj *o, uint8_t *status, int64_t *capture_time);
    uint8_t status;
    int64_t capture_time; /* Unix s, or AMI_COSEM_TIME_UNSPEC */
} ami_cosem_ext_register;

#ifdef __cplusplus
}
#endif
#endif
