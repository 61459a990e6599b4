/*
 * CRC-16 variants used by the meter protocols.
 *
 *  - CRC-16/X.25 (IBM-SDLC): HDLC HCS and FCS, IEC 62056-46 clause 5.3 / ISO/IEC 13239.
 *    Reflected poly 0x8408, init 0xFFFF, final XOR 0xFFFF; check("123456789") = 0x906E.
 *    On the wire the FCS is sent low byte first.
 *  - CRC-16/ARC: the DSMR P1 telegram CRC (DSMR 5.0.2 P1 companion standard, 6.12): over every
 *    byte from '/' to '!' inclusive, printed as 4 upper-case hex digits, MSB first.
 *    Reflected poly 0xA001, init 0x0000, no final XOR; check("123456789") = 0xBB3D.
 *
 * Both are table driven, 8 bytes per step (slicing-by-8). Pure functions, thread-safe.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_CRC_H
#define AMI_CRC_H

#include "ami/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AMI_CRC16_X25_INIT 0xFFFFu
#define AMI_CRC16_ARC_INIT 0x0000u

/* CRC-16/X.25 of n bytes (init and final XOR applied). */
AMI_EXTERN uint16_t ami_crc16_x25(const void *data, size_t n);

/*
 * Incremental CRC-16/X.25: start with crc = AMI_CRC16_X25_INIT, feed chunks, and finish with
 * `crc ^ 0xFFFF`.
 */
AMI_EXTERN uint16_t ami_crc16_x25_update(uint16_t crc, const void *data, size_t n);

/* CRC-16/ARC of n bytes. */
AMI_EXTERN uint16_t ami_crc16_arc(const void *data, size_t n);

/* Incremental CRC-16/ARC: start with AMI_CRC16_ARC_INIT and feed chunks; no finishing step. */
AMI_EXTERN uint16_t ami_crc16_arc_update(uint16_t crc, const void *data, size_t n);

#ifdef __cplusplus
}
#endif
#endif
