/*
 * BER primitives for the ACSE APDUs (internal to src/dlms).
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_DLMS_BER_H
#define AMI_DLMS_BER_H

#include "ami/bytes.h"

/* A definite BER length: short form, or 0x81..0x84 and 1..4 bytes. AMI_E_MALFORMED for 0x80
 * (indefinite) and wider forms; AMI_E_TRUNCATED when the input ends. */
int ami__ber_get_length(ami_rd *r, size_t *n);
/* Shortest definite form. */
void ami__ber_put_length(ami_wr *w, size_t n);
/* Bytes ami__ber_put_length writes for n. */
size_t ami__ber_length_size(size_t n);
/* One single-byte tag, a length and a sub-reader over the contents. */
int ami__ber_get_tlv(ami_rd *r, uint8_t *tag, ami_rd *content);

#endif
