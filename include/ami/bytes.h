/*
 * Byte order helpers and the bounded byte cursor used by every binary decoder and encoder.
 *
 * Reading: an ami_rd is a view of a caller-owned buffer. Every read checks the bytes left and
 * returns AMI_E_TRUNCATED without moving when they do not suffice, so a decoder can never read
 * past its input. Views returned by ami_rd_view() point into the caller's buffer (zero copy).
 *
 * Writing: an ami_wr writes into a caller-owned buffer of fixed capacity. The first write that
 * does not fit sets a sticky error (AMI_E_NOSPACE) and every later write is a no-op, so an
 * encoder can write a whole message and check ami_wr_error() once at the end. A writer with a
 * NULL buffer and capacity SIZE_MAX measures: it counts the bytes without storing them.
 *
 * All functions are inline, allocate nothing and are safe to use from several threads on
 * distinct cursors. Byte order is always explicit: never cast a byte pointer to a wider type.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_BYTES_H
#define AMI_BYTES_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "ami/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- byte order */

static inline uint16_t ami_dec16be(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}
static inline uint32_t ami_dec32be(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t ami_dec64be(const uint8_t *p)
{
    return (uint64_t)ami_dec32be(p) << 32 | ami_dec32be(p + 4);
}
static inline uint16_t ami_dec16le(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[1] << 8 | p[0]);
}
static inline uint32_t ami_dec32le(const uint8_t *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}
static inline void ami_enc16be(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void ami_enc32be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline void ami_enc64be(uint8_t *p, uint64_t v)
{
    ami_enc32be(p, (uint32_t)(v >> 32));
    ami_enc32be(p + 4, (uint32_t)v);
}
static inline void ami_enc16le(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

/* ---------------------------------------------------------------- reader */

typedef struct ami_rd {
    const uint8_t *p; /* start of the buffer (caller-owned) */
    size_t len;       /* total bytes in the buffer */
    size_t pos;       /* next byte to read; invariant: pos <= len */
} ami_rd;

static inline void ami_rd_init(ami_rd *r, const void *buf, size_t len)
{
    r->p = (const uint8_t *)buf;
    r->len = buf ? len : 0;
    r->pos = 0;
}
static inline size_t ami_rd_left(const ami_rd *r)
{
    return r->len - r->pos;
}
/* Pointer to the next unread byte (valid for ami_rd_left() bytes). */
static inline const uint8_t *ami_rd_ptr(const ami_rd *r)
{
    return r->p + r->pos;
}
static inline int ami_rd_need(const ami_rd *r, size_t n)
{
    return ami_rd_left(r) >= n ? AMI_OK : AMI_E_TRUNCATED;
}
static inline int ami_rd_skip(ami_rd *r, size_t n)
{
    if (ami_rd_left(r) < n)
        return AMI_E_TRUNCATED;
    r->pos += n;
    return AMI_OK;
}
static inline int ami_rd_peek_u8(const ami_rd *r, uint8_t *v)
{
    if (r->pos >= r->len)
        return AMI_E_TRUNCATED;
    *v = r->p[r->pos];
    return AMI_OK;
}
static inline int ami_rd_u8(ami_rd *r, uint8_t *v)
{
    if (r->pos >= r->len)
        return AMI_E_TRUNCATED;
    *v = r->p[r->pos++];
    return AMI_OK;
}
static inline int ami_rd_u16be(ami_rd *r, uint16_t *v)
{
    if (ami_rd_left(r) < 2)
        return AMI_E_TRUNCATED;
    *v = ami_dec16be(r->p + r->pos);
    r->pos += 2;
    return AMI_OK;
}
static inline int ami_rd_u32be(ami_rd *r, uint32_t *v)
{
    if (ami_rd_left(r) < 4)
        return AMI_E_TRUNCATED;
    *v = ami_dec32be(r->p + r->pos);
    r->pos += 4;
    return AMI_OK;
}
static inline int ami_rd_u64be(ami_rd *r, uint64_t *v)
{
    if (ami_rd_left(r) < 8)
        return AMI_E_TRUNCATED;
    *v = ami_dec64be(r->p + r->pos);
    r->pos += 8;
    return AMI_OK;
}
/* Zero-copy: *v points at the next n bytes inside the caller's buffer. */
static inline int ami_rd_view(ami_rd *r, size_t n, const uint8_t **v)
{
    if (ami_rd_left(r) < n)
        return AMI_E_TRUNCATED;
    *v = r->p + r->pos;
    r->pos += n;
    return AMI_OK;
}
static inline int ami_rd_copy(ami_rd *r, void *dst, size_t n)
{
    if (ami_rd_left(r) < n)
        return AMI_E_TRUNCATED;
    if (n)
        memcpy(dst, r->p + r->pos, n);
    r->pos += n;
    return AMI_OK;
}
/*
 * Splits off the next n bytes as a sub-reader and advances past them: for length-prefixed
 * fields whose contents must not read beyond their declared length.
 */
static inline int ami_rd_sub(ami_rd *r, size_t n, ami_rd *sub)
{
    if (ami_rd_left(r) < n)
        return AMI_E_TRUNCATED;
    ami_rd_init(sub, r->p + r->pos, n);
    r->pos += n;
    return AMI_OK;
}

/* ---------------------------------------------------------------- writer */

typedef struct ami_wr {
    uint8_t *p; /* caller-owned buffer, or NULL to measure only */
    size_t cap; /* capacity of p */
    size_t len; /* bytes written (or that would have been written); invariant: len <= cap */
    int err;    /* sticky: 0, or AMI_E_NOSPACE once a write did not fit */
} ami_wr;

static inline void ami_wr_init(ami_wr *w, void *buf, size_t cap)
{
    w->p = (uint8_t *)buf;
    w->cap = buf ? cap : SIZE_MAX;
    w->len = 0;
    w->err = 0;
}
static inline int ami_wr_error(const ami_wr *w)
{
    return w->err;
}
static inline size_t ami_wr_left(const ami_wr *w)
{
    return w->cap - w->len;
}
/*
 * Reserves n bytes and returns a pointer to them, or NULL (and sets the sticky error) when they
 * do not fit or when the writer only measures.
 */
static inline uint8_t *ami_wr_reserve(ami_wr *w, size_t n)
{
    if (w->err || w->cap - w->len < n) {
        w->err = AMI_E_NOSPACE;
        return NULL;
    }
    uint8_t *at = w->p ? w->p + w->len : NULL;
    w->len += n;
    return at;
}
static inline void ami_wr_bytes(ami_wr *w, const void *src, size_t n)
{
    uint8_t *at = ami_wr_reserve(w, n);
    if (at && n)
        memcpy(at, src, n);
}
static inline void ami_wr_u8(ami_wr *w, uint8_t v)
{
    uint8_t *at = ami_wr_reserve(w, 1);
    if (at)
        *at = v;
}
static inline void ami_wr_u16be(ami_wr *w, uint16_t v)
{
    uint8_t *at = ami_wr_reserve(w, 2);
    if (at)
        ami_enc16be(at, v);
}
static inline void ami_wr_u32be(ami_wr *w, uint32_t v)
{
    uint8_t *at = ami_wr_reserve(w, 4);
    if (at)
        ami_enc32be(at, v);
}
static inline void ami_wr_u64be(ami_wr *w, uint64_t v)
{
    uint8_t *at = ami_wr_reserve(w, 8);
    if (at)
        ami_enc64be(at, v);
}
/* Pointer to byte `off` already written (for back-patching a length), or NULL when measuring. */
static inline uint8_t *ami_wr_at(ami_wr *w, size_t off)
{
    return (w->p && off < w->len) ? w->p + off : NULL;
}

/* ---------------------------------------------------------------- misc */

/*
 * Compares n bytes in time that depends only on n, not on the contents: for tags, passwords
 * and authentication values. Returns true when equal.
 */
AMI_EXTERN bool ami_ct_equal(const void *a, const void *b, size_t n);

/* Overwrites n bytes with zeros in a way the compiler cannot elide: for keys and secrets. */
AMI_EXTERN void ami_wipe(void *p, size_t n);

/*
 * Hex helpers. ami_hex_encode writes 2*n upper-case digits and a NUL into out (capacity
 * outcap >= 2*n+1) and returns AMI_OK or AMI_E_NOSPACE. ami_hex_decode parses hex digits,
 * ignoring ASCII white space, into out and returns the number of bytes written, or
 * AMI_E_SYNTAX (odd digit count or a non-hex character) or AMI_E_NOSPACE.
 */
AMI_EXTERN int ami_hex_encode(const void *in, size_t n, char *out, size_t outcap);
AMI_EXTERN int ami_hex_decode(const char *in, size_t inlen, uint8_t *out, size_t outcap);

#ifdef __cplusplus
}
#endif
#endif
