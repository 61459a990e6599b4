/*
 * OBIS codes (IEC 62056-61 / DLMS UA Blue Book 7.3): six value groups A-F, each 0..255, that
 * name every quantity a meter exposes, e.g. 1-0:1.8.0.255 = active energy import, total.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_OBIS_H
#define AMI_OBIS_H

#include <stdbool.h>

#include "ami/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* An OBIS code; v[0] is group A ... v[5] is group F. Plain value type, copy freely. */
typedef struct ami_obis {
    uint8_t v[6];
} ami_obis;

/* Compound literal for an OBIS code: AMI_OBIS(1, 0, 1, 8, 0, 255). */
#define AMI_OBIS(a, b, c, d, e, f) \
    ((ami_obis){                   \
        {(uint8_t)(a), (uint8_t)(b), (uint8_t)(c), (uint8_t)(d), (uint8_t)(e), (uint8_t)(f)}})

/* Longest formatted OBIS code plus the NUL ("255-255:255.255.255.255"). */
#define AMI_OBIS_STRLEN 24

/*
 * Parses an OBIS code written in one of the forms seen in the field:
 *   "1-0:1.8.0.255"   reduced-ID with F after a dot (Blue Book / DLMS UA object lists)
 *   "1-0:1.8.0*255"   F after '*' (IEC 62056-61, DSMR P1 "*255" spelling)
 *   "1-0:1.8.0&01"    F after '&' (IEC 62056-61 billing-period form)
 *   "1-0:1.8.0"       F omitted: F = 255
 *   "1.0.1.8.0.255"   six groups separated by dots
 *   "0100010800FF"    12 hexadecimal digits (either case)
 * Groups are decimal 0..255 without sign, at most 3 digits, leading zeros allowed. No white
 * space is accepted anywhere (strict): callers trim.
 *
 * s: text, need not be NUL-terminated; n: its length. out: receives the code (untouched on error).
 * Returns AMI_OK, AMI_E_SYNTAX (not one of the forms), AMI_E_RANGE (a group above 255) or
 * AMI_E_INVAL (NULL argument). Thread-safe.
 */
AMI_EXTERN int ami_obis_parse(const char *s, size_t n, ami_obis *out);

enum ami_obis_style {
    AMI_OBIS_STYLE_DOTS = 0,  /* "1-0:1.8.0.255" (canonical) */
    AMI_OBIS_STYLE_STAR = 1,  /* "1-0:1.8.0*255" */
    AMI_OBIS_STYLE_SHORT = 2, /* "1-0:1.8.0" when F = 255, else "1-0:1.8.0.F" */
    AMI_OBIS_STYLE_HEX = 3,   /* "0100010800FF" */
};

/*
 * Formats `o` into buf (capacity cap, NUL-terminated). Returns the length written (without the
 * NUL), or AMI_E_NOSPACE (buf too small; AMI_OBIS_STRLEN always suffices) or AMI_E_INVAL.
 * Thread-safe.
 */
AMI_EXTERN int ami_obis_format(const ami_obis *o, enum ami_obis_style style, char *buf, size_t cap);

/* True when all six groups are equal. */
AMI_EXTERN bool ami_obis_equal(const ami_obis *a, const ami_obis *b);

#ifdef __cplusplus
}
#endif
#endif
