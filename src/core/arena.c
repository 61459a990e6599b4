/*
 * Bump allocator over caller memory (ami/arena.h).
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdalign.h>
#include <string.h>

#include "ami/arena.h"

void ami_arena_init(ami_arena *a, void *buf, size_t cap)
{
    a->buf = (uint8_t *)buf;
    a->cap = buf ? cap : 0;
    a->used = 0;
}

void *ami_arena_alloc(ami_arena *a, size_t size)
{
    const size_t align = alignof(max_align_t);
    uintptr_t base = (uintptr_t)a->buf;
    size_t pad = (align - (size_t)((base + a->used) % align)) % align;
    if (pad > a->cap - a->used || size > a->cap - a->used - pad)
        return NULL;
    uint8_t *p = a->buf + a->used + pad;
    a->used += pad + size;
    memset(p, 0, size);
    return p;
}

void ami_arena_reset(ami_arena *a)
{
    a->used = 0;
}
