/*
 * Wired M-Bus link layer (EN 13757-2, 5.4 "telegram formats": FT1.2 of IEC 60870-5-1/-2) and
 * the DLMS/COSEM transport over it (IEC 62056-7-3 / EN 13757-1: CI fields 0x00-0x1F).
 *
 * Long frame:  68 L L 68 | C A CI data... | CS 16
 *   L  = number of bytes from C to the end of data (3..255), sent twice
 *   CS = sum of C..data modulo 256
 * Control frame: a long frame with L = 3 (no data). Short frame: 10 C A CS 16. Ack: E5.
 *
 * DLMS transport (as pushed on the customer interface of Austrian meters, e.g. the Kaifa
 * MA309 of Netz NOe/EVN): every long frame carries CI, STSAP, DTSAP, then one segment of the
 * APDU. CI bits 0-3 are the segment sequence number (modulo 16, starting at 0), bit 4 (0x10)
 * marks the last segment (FIN). An APDU of one segment has CI = 0x10.
 *
 * Everything here is sans-I/O and allocation-free: the decoder reads a caller buffer, the
 * reassembler writes into a caller-supplied bounded buffer. Thread safety: distinct objects
 * may be used concurrently.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_MBUS_H
#define AMI_MBUS_H

#include <stdbool.h>
#include <stdint.h>

#include "ami/common.h"

#ifdef __cplusplus
extern "C" {
#endif

enum ami_mbus_kind {
    AMI_MBUS_ACK = 1,   /* single character E5 */
    AMI_MBUS_SHORT = 2, /* 10 C A CS 16 */
    AMI_MBUS_LONG = 3,  /* 68 L L 68 C A CI data CS 16 (control frame when data_len == 0) */
};

/* A decoded frame; `data` points into the caller's buffer. */
typedef struct ami_mbus_frame {
    enum ami_mbus_kind kind;
    uint8_t c;  /* control field */
    uint8_t a;  /* address field */
    uint8_t ci; /* control information field (long frames only) */
    const uint8_t *data;
    size_t data_len; /* 0..252 */
} ami_mbus_frame;

/*
 * Decodes the frame at the start of buf. *consumed (may be NULL) receives its length.
 * Returns AMI_OK, AMI_E_AGAIN (buf holds the start of a frame; read more bytes),
 * AMI_E_MALFORMED (not a frame start, L fields differ, L < 3, second 68 or the stop byte
 * missing) or AMI_E_CHECKSUM. To resynchronise a byte stream after MALFORMED or CHECKSUM,
 * drop one byte and decode again (the decoder never reads beyond len).
 */
AMI_EXTERN int ami_mbus_frame_decode(const uint8_t *buf, size_t len, ami_mbus_frame *frame,
                                     size_t *consumed);

/* True when ci is in the range EN 13757-1 reserves for DLMS (0x00-0x1F). */
static inline bool ami_mbus_ci_is_dlms(uint8_t ci)
{
    return ci <= 0x1F;
}

/*
 * DLMS segment reassembler. Caller-owned, over a caller-owned buffer of `cap` bytes (the
 * upper bound of an APDU; 1024 suits every push seen in the field).
 */
typedef struct ami_mbus_dlms {
    uint8_t *buf;
    size_t cap;
    size_t len;       /* bytes of the APDU gathered so far */
    uint8_t next_seq; /* sequence number expected next */
    bool active;      /* inside a multi-segment APDU */
    uint8_t stsap, dtsap;
} ami_mbus_dlms;

/* Initialises r over buf[cap]. Returns AMI_OK or AMI_E_INVAL. */
AMI_EXTERN int ami_mbus_dlms_init(ami_mbus_dlms *r, uint8_t *buf, size_t cap);

/* Drops a partly gathered APDU. */
AMI_EXTERN void ami_mbus_dlms_reset(ami_mbus_dlms *r);

/*
 * Adds one long frame. When it completes an APDU, *apdu / *apdu_len point at it inside r's
 * buffer (valid until the next call) and AMI_OK is returned.
 * Returns AMI_OK, AMI_E_AGAIN (segment stored; more to come), AMI_E_PROTOCOL (CI not DLMS,
 * not a long frame, a sequence gap, a segment that does not continue the APDU, or STSAP/DTSAP
 * changing mid-APDU; the partial APDU is dropped, and a segment with sequence 0 starts a new
 * one), AMI_E_MALFORMED (no STSAP/DTSAP) or AMI_E_TOO_LARGE (the APDU exceeds cap, or would
 * need more than 16 segments; dropped).
 */
AMI_EXTERN int ami_mbus_dlms_push(ami_mbus_dlms *r, const ami_mbus_frame *frame,
                                  const uint8_t **apdu, size_t *apdu_len);

#ifdef __cplusplus
}
#endif
#endif
