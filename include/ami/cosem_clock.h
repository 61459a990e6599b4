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
 *
 * Daylight saving is applied when the state enables it (attribute 8) with a non-zero deviation
 * (attribute 7, minutes added to local time): between daylight_savings_begin (a local standard
 * time) and daylight_savings_end (a local daylight saving time) of each year, time (attribute
 * 2) carries local time with deviation time_zone - daylight_savings_deviation and status bit
 * 0x80, which status (attribute 4) shows too; so do the store's local times (schedules, push
 * windows, calendar activation) and every profile capturing the clock. The begin and end
 * dates (Blue Book wildcards): year 0xFFFF every year (else that year only); month 1..12; day of
 * month 1..31, 0xFE the last day, 0xFD the second last; with a day of week (1 = Monday), 0xFE /
 * 0xFD give the last / second last such weekday of the month and a day d the first such
 * weekday on or after d ("FFFF 03 FE 07" is the last Sunday of March, "FFFF 03 08 07" the
 * second Sunday); hour, minute, second 0xFF mean 0; a deviation given in the rule is used as
 * it is. A window whose end precedes its begin in the year (southern hemisphere) covers the
 * turn of the year.
 * Not thread-safe.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_COSEM_CLOCK_H
#define AMI_COSEM_CLOCK_H

#include "ami/cosem.h"
#include "ami/datetime.h"

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

/* Is daylight saving in force at unix time t for a clock of time_zone tz (Blue Book sign)? False
 * for a NULL c, DST disabled, a zero deviation or a rule that gives no date in that year. */
AMI_EXTERN bool ami_cosem_clock_dst_at(const ami_cosem_clock *c, int64_t t, int16_t tz);

/*
 * The deviation (minutes, Blue Book sign) and clock status of the local time of Clock object
 * o at unix time t: its time_zone and clock_status, or during daylight saving time_zone -
 * daylight_savings_deviation and status | AMI_CLOCK_DST. status may be NULL.
 */
AMI_EXTERN int16_t ami_cosem_clock_deviation(const ami_cosem_obj *o, int64_t t, uint8_t *status);

/* Fills c: no preset, DST disabled with begin/end every field not specified, deviation 60
 * ("last Sunday of March 02:00" and October are typical values a head-end writes), period as
 * given (0: 900 s). */
AMI_EXTERN void ami_cosem_clock_init(ami_cosem_clock *c, uint32_t measuring_period_s);

#ifdef __cplusplus
}
#endif
#endif
