/*
 * A meter reading: OBIS code, exact value, unit, optional capture time. The common result of
 * every reader (DSMR P1 telegrams, DLMS data-notifications pushed by P1/M-Bus meters, later
 * COSEM register reads), so that outputs (text, JSON, MQTT, storage) handle one shape.
 *
 * Values are exact decimals: value = mantissa * 10^scale (a DLMS scaler, or the digits after
 * the decimal point of a DSMR value), never a binary float.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_READING_H
#define AMI_READING_H

#include <stdbool.h>
#include <stdint.h>

#include "ami/common.h"
#include "ami/datetime.h"
#include "ami/obis.h"

#ifdef __cplusplus
extern "C" {
#endif

enum ami_value_kind {
    AMI_VALUE_NONE = 0,   /* no value (DLMS null-data, an empty DSMR field) */
    AMI_VALUE_NUMBER = 1, /* mantissa * 10^scale */
    AMI_VALUE_STRING = 2, /* str / str_len: bytes as sent (an octet or visible string) */
};

typedef struct ami_reading {
    ami_obis obis; /* F = 255 when not given */
    enum ami_value_kind kind;
    int64_t mantissa;
    int8_t scale;
    const uint8_t *str; /* view into the decoded input; valid while that input is */
    size_t str_len;
    char unit[16];     /* "Wh", "kWh", "V", ...; "" when dimensionless or unknown */
    uint8_t dlms_unit; /* DLMS unit enum (Blue Book 4.3.2) when known, 0 otherwise */
    bool has_time;
    ami_datetime time; /* capture time as the meter sent it, when has_time */
} ami_reading;

/*
 * Text of a DLMS unit enumeration value (Blue Book 4.3.2, "unit" of the scaler_unit):
 * 27 -> "W", 30 -> "Wh", 33 -> "A", 35 -> "V", ...; "" for 255 (count, no unit).
 * Returns NULL for a value not in the table. Thread-safe; the string is static.
 */
AMI_EXTERN const char *ami_dlms_unit_text(uint8_t unit);

/*
 * Formats the value of a number reading as an exact decimal ("233.7", "-0.015", "12937",
 * "1200" for mantissa 12 scale 2) into buf (NUL-terminated). Strings are copied with
 * non-printable bytes as '.'; NONE gives "".
 * Returns the length written (excluding the NUL), AMI_E_INVAL or AMI_E_NOSPACE.
 * Thread-safe.
 */
AMI_EXTERN int ami_reading_format_value(const ami_reading *r, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
