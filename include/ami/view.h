/*
 * A read-only view of bytes owned by someone else: decoders return views into their input
 * (zero copy) and encoders take views of bytes the caller prepared (pre-encoded A-XDR Data,
 * system titles, ciphertexts). A view never owns its bytes; it is valid as long as they are.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_VIEW_H
#define AMI_VIEW_H

#include "ami/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ami_view {
    const uint8_t *p; /* first byte, or NULL when len is 0 */
    size_t len;       /* number of bytes */
} ami_view;

/* A view of n bytes at p. */
static inline ami_view ami_view_of(const void *p, size_t n)
{
    ami_view v = {(const uint8_t *)p, n};
    return v;
}

#ifdef __cplusplus
}
#endif
#endif
