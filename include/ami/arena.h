/*
 * A bump allocator over a caller-provided buffer: decoders that build trees (A-XDR values,
 * APDU lists) take their nodes from an arena, so they never call malloc behind the caller's
 * back and a peer can never make them allocate more than the caller gave.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_ARENA_H
#define AMI_ARENA_H

#include "ami/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ami_arena {
    uint8_t *buf; /* caller-owned memory */
    size_t cap;   /* its size */
    size_t used;  /* bytes handed out (including alignment padding); used <= cap */
} ami_arena;

/* Uses `cap` bytes at `buf` (caller-owned, must outlive every allocation). */
AMI_EXTERN void ami_arena_init(ami_arena *a, void *buf, size_t cap);

/*
 * Returns `size` bytes aligned for any type, zero-filled, or NULL when the arena is full
 * (nothing is allocated then). Not thread-safe per arena.
 */
AMI_EXTERN void *ami_arena_alloc(ami_arena *a, size_t size);

/* Frees everything at once (the memory is reused by the next allocations). */
AMI_EXTERN void ami_arena_reset(ami_arena *a);

#ifdef __cplusplus
}
#endif
#endif
