/*
 * Internals shared by the A-XDR codec files (not installed).
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_AXDR_INTERNAL_H
#define AMI_AXDR_INTERNAL_H

#include "ami/axdr.h"

/*
 * Size in bytes of the contents of a fixed-size type (0 for null-data and dont-care), -1 for
 * the variable-size and container types, -2 for a tag that is not a Data CHOICE alternative.
 */
int ami__axdr_fixed_size(uint8_t type);

/* float32 bits <-> double, keeping NaN payloads (signalling ones too) bit for bit. */
double ami__axdr_f32_to_double(uint32_t bits);
uint32_t ami__axdr_double_to_f32(double x);

#endif
