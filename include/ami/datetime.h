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
 * the date fields. Each field must be in its range or its special values; a specified date must
 * exist (no 31 April) and a specified weekday must match a fully specified date.
 * Returns AMI_OK, AMI_E_RANGE (a field out of range; *dt untouched) or AMI_E_INVAL. Thread-safe.
 */
AMI_EXTERN int ami_datetime_decode(const uint8_t b[12], ami_datetime *dt);
AMI_EXTERN int ami_date_decode(const uint8_t b[5], ami_datetime *dt);
AMI_EXTERN int ami_time_decode(const uint8_t b[4], ami_datetime *dt);

/* Encode into 12 / 5 / 4 bytes (fields written as they are). */
AMI_EXTERN void ami_datetime_encode(const ami_datetime *dt, uint8_t b[12]);
AMI_EXTERN void ami_date_encode(const ami_datetime *dt, uint8_t b[5]);
AMI_EXTERN void ami_time_encode(const ami_datetime *dt, uint8_t b[4]);

/*
 * Converts a fully specified date-time to seconds since 1970-01-01T00:00:00Z (hundredths are
 * not included: read dt->hundredths). flags: AMI_DT_DEVIATION_INVERTED, AMI_DT_ASSUME_UTC.
 * Returns AMI_OK, AMI_E_UNSPECIFIED (a needed field is not specified or is a wildcard such as
 * "last day"), AMI_E_RANGE (the date does not exist). Thread-safe.
 */
AMI_EXTERN int ami_datetime_to_unix(const ami_datetime *dt, unsigned flags, int64_t *unix_s);

/*
 * Fills dt with the local time for `unix_s` at `deviation` minutes (Blue Book sign unless
 * AMI_DT_DEVIATION_INVERTED), hundredths 0, the weekday computed, status as given.
 * Returns AMI_OK or AMI_E_RANGE (year outside 0..65534 or deviation outside -720..720).
 */
AMI_EXTERN int ami_datetime_from_unix(int64_t unix_s, int deviation, uint8_t status, unsigned flags,
                                      ami_datetime *dt);

/* Longest output of ami_datetime_format plus NUL. */
#define AMI_DATETIME_STRLEN 64

/*
 * ISO 8601 with offset, e.g. "2024-03-31T02:30:00+01:00" (".25" hundredths appended when
 * specified and non-zero). Needs a fully specified date-time; with AMI_DT_ASSUME_UTC an
 * unspecified deviation gives "Z". Returns the length written, or AMI_E_UNSPECIFIED,
 * AMI_E_RANGE or AMI_E_NOSPACE.
 */
AMI_EXTERN int ami_datetime_format_iso(const ami_datetime *dt, unsigned flags, char *buf,
                                       size_t cap);

/*
 * A readable rendering that shows every field, wildcards included, e.g.
 * "2024-*-FE 10:00:00 dev=-60 status=80 (DST)" (used by `ami decode` and --trace). Never fails
 * for a decoded value; returns the length or AMI_E_NOSPACE.
 */
AMI_EXTERN int ami_datetime_format(const ami_datetime *dt, char *buf, size_t cap);

/*
 * Parses ISO 8601 "YYYY-MM-DDThh:mm[:ss[.frac]][Z|+hh:mm|-hh:mm]" (a space may replace 'T';
 * a date alone "YYYY-MM-DD" gives 00:00:00). Without an offset the deviation is left not
 * specified. Returns AMI_OK, AMI_E_SYNTAX or AMI_E_RANGE.
 */
AMI_EXTERN int ami_datetime_parse_iso(const char *s, size_t n, unsigned flags, ami_datetime *dt);

#ifdef __cplusplus
}
#endif
#endif
