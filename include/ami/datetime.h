/*
 * COSEM date, time and date-time (DLMS UA Blue Book 4.1.6.1 "Date and time formats").
 *
 * date-time is a 12-byte octet-string:
 *   year (2, big-endian; 0xFFFF = not specified), month (1..12; 0xFD = DST end, 0xFE = DST
 *   begin, 0xFF = n.s.), day of month (1..31; 0xFD = second last day, 0xFE = last day of the
 *   month, 0xFF = n.s.), day of week (1..7, Monday = 1; 0xFF = n.s.), hour (0..23), minute
 *   (0..59), second (0..59), hundredths (0..99) (each 0xFF = n.s.), deviation (2, signed
 *   big-endian minutes, -720..720; 0x8000 = n.s.), clock status (bit field; 0xFF = n.s.).
 * date is the first 5 bytes (year .. day of week), time is 4 bytes (hour .. hundredths).
 *
 * Deviation sign: the Blue Book defines it as minutes "of local time to UTC", so
 * UTC = local + deviation; Paris in winter (UTC+1) is -60. Some companion standards (India,
 * Saudi Arabia, Italy) use the opposite sign: pass AMI_DT_DEVIATION_INVERTED for those meters.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_DATETIME_H
#define AMI_DATETIME_H

#include <stdbool.h>

#include "ami/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AMI_DT_YEAR_UNSPEC      0xFFFFu
#define AMI_DT_UNSPEC           0xFFu    /* month, day, weekday, hour, minute, second, hundredths */
#define AMI_DT_DST_END          0xFDu    /* month */
#define AMI_DT_DST_BEGIN        0xFEu    /* month */
#define AMI_DT_DAY_2ND_LAST     0xFDu    /* day of month */
#define AMI_DT_DAY_LAST         0xFEu    /* day of month */
#define AMI_DT_DEVIATION_UNSPEC (-32768) /* 0x8000 on the wire */
#define AMI_DT_STATUS_UNSPEC    0xFFu

/* Clock status bits (Blue Book 4.1.6.1). */
#define AMI_CLOCK_INVALID        0x01u
#define AMI_CLOCK_DOUBTFUL       0x02u
#define AMI_CLOCK_DIFFERENT_BASE 0x04u
#define AMI_CLOCK_INVALID_STATUS 0x08u
#define AMI_CLOCK_DST            0x80u

/* A date-time with every field as on the wire (unspecified values kept as such). */
typedef struct ami_datetime {
    uint16_t year;
    uint8_t month, day, weekday;
    uint8_t hour, minute, second, hundredths;
    int16_t deviation; /* minutes, or AMI_DT_DEVIATION_UNSPEC */
    uint8_t status;
} ami_datetime;

/* Flags for conversions. */
enum {
    /* Deviation means local - UTC (companion standards that invert the Blue Book sign). */
    AMI_DT_DEVIATION_INVERTED = 1u << 0,
    /* When the deviation is not specified, take the time as UTC instead of failing. */
    AMI_DT_ASSUME_UTC = 1u << 1,
};

/* A date-time with every field "not specified" (deviation and status included). */
AMI_EXTERN void ami_datetime_unspecified(ami_datetime *dt);

/*
 * Decode 12 / 5 / 4 bytes. ami_date_decode leaves the time fields not specified, ami_time_decode
 * the date fields (deviation and status are not specified for both). Each field must be in its
 * range or its special values; a specified date must exist (no 31 April; 29 February only in a
 * leap year, or with the year not specified) and a specified weekday must match a date whose
 * year, month and day are specified. The clock status is kept as it is, reserved bits 4..6
 * included. Reads exactly 12 / 5 / 4 bytes from b.
 * Returns AMI_OK, AMI_E_RANGE (a field out of range; *dt untouched) or AMI_E_INVAL (NULL
 * argument). Thread-safe.
 */
AMI_EXTERN int ami_datetime_decode(const uint8_t b[12], ami_datetime *dt);
AMI_EXTERN int ami_date_decode(const uint8_t b[5], ami_datetime *dt);
AMI_EXTERN int ami_time_decode(const uint8_t b[4], ami_datetime *dt);

/* Encode into 12 / 5 / 4 bytes (fields written as they are, deviation as two's complement). */
AMI_EXTERN void ami_datetime_encode(const ami_datetime *dt, uint8_t b[12]);
AMI_EXTERN void ami_date_encode(const ami_datetime *dt, uint8_t b[5]);
AMI_EXTERN void ami_time_encode(const ami_datetime *dt, uint8_t b[4]);

/*
 * Converts a fully specified date-time to seconds since 1970-01-01T00:00:00Z (hundredths are
 * not included: read dt->hundredths). Year, month, day, hour, minute and second must be
 * specified; weekday and hundredths may be not specified. The calendar is the proleptic
 * Gregorian one, computed without the C library (no TZ dependence).
 * flags: AMI_DT_DEVIATION_INVERTED, AMI_DT_ASSUME_UTC.
 * Returns AMI_OK, AMI_E_UNSPECIFIED (a needed field, or the deviation without
 * AMI_DT_ASSUME_UTC, is not specified or is a wildcard such as "last day" or "DST begin"),
 * AMI_E_RANGE (a field out of range, the date does not exist or the weekday does not match it)
 * or AMI_E_INVAL (NULL argument). Thread-safe.
 */
AMI_EXTERN int ami_datetime_to_unix(const ami_datetime *dt, unsigned flags, int64_t *unix_s);

/*
 * Fills dt with the local time for `unix_s` at `deviation` minutes (Blue Book sign unless
 * AMI_DT_DEVIATION_INVERTED), hundredths 0, the weekday computed, deviation and status stored
 * as given. With AMI_DT_ASSUME_UTC, deviation may be AMI_DT_DEVIATION_UNSPEC: the local time is
 * then UTC and the deviation is left not specified (the inverse of ami_datetime_to_unix).
 * Returns AMI_OK, AMI_E_RANGE (local year outside 0..65534 or deviation outside -720..720) or
 * AMI_E_INVAL (NULL dt). Thread-safe.
 */
AMI_EXTERN int ami_datetime_from_unix(int64_t unix_s, int deviation, uint8_t status, unsigned flags,
                                      ami_datetime *dt);

/* Longest output of ami_datetime_format (for any field values) and ami_datetime_format_iso,
 * plus the NUL. */
#define AMI_DATETIME_STRLEN 128

/*
 * ISO 8601 with offset, e.g. "2024-03-31T02:30:00+01:00" (".25" hundredths appended when
 * specified and non-zero). The offset is local - UTC, so a Blue Book deviation of -60 gives
 * "+01:00" (with AMI_DT_DEVIATION_INVERTED, deviation 60 does). Needs a fully specified
 * date-time (as ami_datetime_to_unix); with AMI_DT_ASSUME_UTC an unspecified deviation gives
 * "Z". A deviation of 0 gives "+00:00".
 * Returns the length written (buf NUL-terminated), or AMI_E_UNSPECIFIED, AMI_E_RANGE (a field
 * out of range, or a year above 9999, which ISO 8601 writes only in an expanded form agreed
 * between the parties), AMI_E_NOSPACE (AMI_DATETIME_STRLEN always suffices) or AMI_E_INVAL.
 * Thread-safe.
 */
AMI_EXTERN int ami_datetime_format_iso(const ami_datetime *dt, unsigned flags, char *buf,
                                       size_t cap);

/*
 * A readable rendering that shows every field, wildcards included:
 *   "YYYY-MM-DD Www hh:mm:ss.cc dev=D status=SS (flags)"
 * where each field not specified is '*', the month may be "DST-end" / "DST-begin", the day
 * "last" / "2nd-last", the weekday Mon..Sun, and the status flags are named
 * (invalid, doubtful, different-base, invalid-status, reserved, DST), e.g.
 *   "2024-*-last * 10:00:00.* dev=-60 status=80 (DST)"
 *   "2002-12-04 Wed 10:06:11.* dev=120 status=00"
 * Used by `ami datetime`, `ami decode` and --trace. Fields out of range are shown as numbers.
 * Returns the length (buf NUL-terminated), AMI_E_NOSPACE (buf set to ""; a buffer of
 * AMI_DATETIME_STRLEN always suffices) or AMI_E_INVAL. Thread-safe.
 */
AMI_EXTERN int ami_datetime_format(const ami_datetime *dt, char *buf, size_t cap);

/*
 * Parses ISO 8601 "YYYY-MM-DDThh:mm[:ss[.frac]][Z|+hh:mm|-hh:mm|+hhmm|-hhmm]" (a space may
 * replace 'T'; a date alone "YYYY-MM-DD" gives 00:00:00 with no offset). The fraction has one
 * or more digits and is truncated to hundredths; without one, hundredths are 0. The offset
 * (local - UTC) becomes the deviation with the Blue Book sign ("+01:00" gives -60; with
 * AMI_DT_DEVIATION_INVERTED, 60); "Z" gives 0. Without an offset the deviation is left not
 * specified, or 0 with AMI_DT_ASSUME_UTC. The weekday is computed from the date; the clock
 * status is left not specified (the caller sets it). No white space around the text.
 * Returns AMI_OK, AMI_E_SYNTAX (not this form), AMI_E_RANGE (month, day, hour, minute or second
 * out of range, a date that does not exist, a second of 60, an offset beyond 12:00 or with
 * minutes above 59) or AMI_E_INVAL (NULL argument); *dt is untouched on error. Thread-safe.
 */
AMI_EXTERN int ami_datetime_parse_iso(const char *s, size_t n, unsigned flags, ami_datetime *dt);

#ifdef __cplusplus
}
#endif
#endif
