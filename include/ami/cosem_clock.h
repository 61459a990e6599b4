/*
 * Clock (class 8, version 0; Blue Book 4.5.1) methods and daylight-saving attributes for the
 * reference COSEM store (ami/cosem.h). A Clock object works without state (fixed, disabled
 * daylight saving; 15-minute measuring period; no preset time); give ami_cosem_obj.state an
 * ami_cosem_clock to make the daylight-saving attributes settable and to use
 * preset_adjusting_time / adjust_to_preset_time.
 *
 * Methods (each changes the time through the store's clock source `set`; without one they answer
 * read-write-denied):
 *   1 adjust_to_quarter (integer(0)): to the nearest quarter hour (*:00, *:15, *:30, *:45) of
 *     local time, half-way rounding up;
 *   2 adjust_to_measuring_period (integer(0)): to the nearest start of a measuring period;
 *   3 adjust_to_minute (integer(0)): seconds < 30 are dropped, >= 30 round up to the next
 *     minute;
 *   4 adjust_to_preset_time (integer(0)): sets the preset time when the time lies within the
 *     validity interval (inclusive); otherwise nothing changes and the answer is other-reason;
 *     the preset is used once;
 *   5 preset_adjusting_time (structure {preset_time, validity_interval_start,
 *     validity_interval_end}, three date-time octet-strings, fully specified);
 *   6 shift_time (long, -900..900 s): adds the seconds to the time.
 * Not thread-safe.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_COSEM_CLOCK_H
#define AMI_COSEM_CLOCK_H

#include "ami/cosem.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ami_cosem_clock {
    /* Measuring period for adjust_to_measuring_period, seconds (0: 900). */
    uint32_t measuring_period_s;
    /* Preset of method 5 (unix seconds), valid when has_preset. */
    bool has_preset;
    int64_t preset, valid_from, valid_to;
    /* daylight_savings_begin / _end (attributes 5, 6; 12-byte date-times, wildcards allowed),
     * _deviation (7, minutes, -120..120), _enabled (8); all settable. */
    uint8_t dst_begin[12], dst_end[12];
    int8_t dst_deviation;
    bool dst_enabled;
} ami_cosem_clock;

/* Fills c: no preset, DST disabled with begin/end every field not specified, deviation 60
 * ("last Sunday of March 02:00" and October are typical values a head-end writes), period as
 * given (0: 900 s). */
AMI_EXTERN void ami_cosem_clock_init(ami_cosem_clock *c, uint32_t measuring_period_s);

#ifdef __cplusplus
}
#endif
#endif
