/*
 * A-XDR field helpers shared by the xDLMS APDU codec files (internal to src/dlms).
 * Green Book 9.5: OPTIONAL components are preceded by 0x00 (absent) / 0x01 (present); CHOICE
 * alternatives by their tag byte; SEQUENCE OF by an A-XDR length; OCTET STRING by a length.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_DLMS_APDU_INTERNAL_H
#define AMI_DLMS_APDU_INTERNAL_H

#include "ami/apdu.h"

/* Decoding context: the input reader, the arena for lists, the A-XDR limits. */
typedef struct ami__dec {
    ami_rd r;
    ami_arena *arena;
    const ami_axdr_limits *lim;
} ami__dec;

int ami__get_u8(ami__dec *d, uint8_t *v);
int ami__get_u16(ami__dec *d, uint16_t *v);
int ami__get_u32(ami__dec *d, uint32_t *v);
/* A-XDR BOOLEAN: 0x00 FALSE, any other value TRUE (encoded back as 0x01). */
int ami__get_bool(ami__dec *d, bool *v);
/* An OPTIONAL / DEFAULT presence flag: 0x00 or 0x01, anything else AMI_E_MALFORMED. */
int ami__get_flag(ami__dec *d, bool *v);
/* The last-block BOOLEAN of a data block (DataBlock-G, DataBlock-SA, the SN data-block-access
 * and data-block-result): 0x00 or 0x01, as every Green Book example of block transfer encodes
 * it; anything else AMI_E_MALFORMED, so that a block's end is never guessed from a stray byte
 * and decoding then encoding gives the same bytes. */
int ami__get_last_block(ami__dec *d, bool *v);
/* An OCTET STRING: A-XDR length, then the bytes (a view). */
int ami__get_octets(ami__dec *d, ami_view *v);
/* One Data, validated with ami_axdr_skip() and returned as a view of its encoding. */
int ami__get_data(ami__dec *d, ami_view *v);
/* A SEQUENCE OF count of elements that need at least `min_size` bytes each: checked against
 * AMI_APDU_MAX_LIST and the bytes left, then an array of count * elem_size bytes from the
 * arena (NULL for 0). */
int ami__get_list(ami__dec *d, size_t min_size, size_t elem_size, void **arr, uint32_t *count);
/* min_size of a Cosem-Attribute-Descriptor-With-Selection (GET and SET with-list): class-id 2,
 * instance-id 6, attribute-id 1 and the access-selection OPTIONAL flag 1. */
#define AMI__ATTR_SEL_MIN 10u
int ami__get_desc(ami__dec *d, ami_cosem_desc *c);
int ami__get_attr_sel(ami__dec *d, ami_attr_sel *a);
int ami__get_datablock(ami__dec *d, ami_datablock *b);
int ami__get_data_result(ami__dec *d, ami_data_result *res);

void ami__put_octets(ami_wr *w, ami_view v);
void ami__put_desc(ami_wr *w, const ami_cosem_desc *c);
void ami__put_attr_sel(ami_wr *w, const ami_attr_sel *a);
void ami__put_datablock(ami_wr *w, const ami_datablock *b);
void ami__put_data_result(ami_wr *w, const ami_data_result *res);

/* Per-family codecs, dispatched on the tag by ami_apdu_decode/ami_apdu_encode. */
int ami__dec_get(ami__dec *d, uint8_t tag, ami_apdu *out);
int ami__dec_set(ami__dec *d, uint8_t tag, ami_apdu *out);
int ami__dec_action(ami__dec *d, uint8_t tag, ami_apdu *out);
int ami__dec_sn(ami__dec *d, uint8_t tag, ami_apdu *out);
int ami__enc_get(ami_wr *w, const ami_apdu *a);
int ami__enc_set(ami_wr *w, const ami_apdu *a);
int ami__enc_action(ami_wr *w, const ami_apdu *a);
int ami__enc_sn(ami_wr *w, const ami_apdu *a);

#endif
