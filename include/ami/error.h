/*
 * openami error space.
 *
 * Every libami function that can fail returns int: 0 on success, a negative AMI_E_* code on
 * failure (a few return a positive count or length on success; their comments say so). The
 * codes are local outcomes only. What a remote peer answered (a DLMS data-access-result, an
 * exception-response, an HDLC DM or FRMR, an IEC 62056-21 "(ERROR)") travels in the result
 * struct of the protocol concerned, never folded into this int.
 *
 * The table below is the single source of the codes, their names and their messages.
 *
 * Memory and limits, one meaning each:
 *   AMI_E_NOMEM     the memory the caller gave ran out: an arena (ami_arena_alloc() NULL), a
 *                   scratch buffer, or the caller's allocator. The input may be valid: a larger
 *                   arena would take it. libami never reports the system's memory, it never
 *                   allocates behind the caller's back.
 *   AMI_E_TOO_LARGE the input exceeds a limit: a configured maximum (ami_axdr_limits, a
 *                   maximum frame or telegram length, AMI_APDU_MAX_LIST) or a protocol bound.
 *                   More memory would not help; the input is refused.
 *   AMI_E_NOSPACE   an output buffer of the caller is too small for what is to be written.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_ERROR_H
#define AMI_ERROR_H

#include "ami/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* X(NAME, value, message).  Values are stable: append new codes, never renumber. */
#define AMI_ERRNO_MAP(X)                             \
    X(INVAL, -1, "invalid argument")                 \
    X(NOMEM, -2, "out of memory")                    \
    X(TRUNCATED, -3, "input truncated")              \
    X(MALFORMED, -4, "malformed input")              \
    X(TOO_LARGE, -5, "exceeds a configured limit")   \
    X(TOO_DEEP, -6, "nesting too deep")              \
    X(RANGE, -7, "value out of range")               \
    X(UNSUPPORTED, -8, "not supported")              \
    X(CHECKSUM, -9, "checksum mismatch")             \
    X(AGAIN, -10, "more input needed")               \
    X(NOSPACE, -11, "output buffer too small")       \
    X(AUTH, -12, "authentication failed")            \
    X(REPLAY, -13, "replayed or stale message")      \
    X(TIMEOUT, -14, "timed out")                     \
    X(IO, -15, "input/output error")                 \
    X(PROTOCOL, -16, "protocol violation")           \
    X(REFUSED, -17, "refused by the peer")           \
    X(STATE, -18, "operation invalid in this state") \
    X(NOTFOUND, -19, "not found")                    \
    X(ACCESS, -20, "access denied")                  \
    X(CLOSED, -21, "connection closed")              \
    X(KEY, -22, "missing or invalid key")            \
    X(CRYPTO, -23, "cryptographic library failure")  \
    X(UNSPECIFIED, -24, "value not specified")       \
    X(SYNTAX, -25, "syntax error")                   \
    X(TYPE, -26, "unexpected data type")             \
    X(OVERFLOW, -27, "arithmetic overflow")          \
    X(BUSY, -28, "resource busy")                    \
    X(LOCKED, -29, "locked out")                     \
    X(REMOTE, -30, "the peer reported an error")     \
    X(CONFIG, -31, "invalid configuration")          \
    X(INTERNAL, -32, "internal error")

enum ami_error {
    AMI_OK = 0,
#define AMI__ERR_ENUM(name, value, msg) AMI_E_##name = (value),
    AMI_ERRNO_MAP(AMI__ERR_ENUM)
#undef AMI__ERR_ENUM
};

/*
 * Returns a static English message for an AMI_E_* code ("success" for 0, "unknown error" for a
 * value not in the table). Never NULL. Thread-safe.
 */
AMI_EXTERN const char *ami_strerror(int err);

/*
 * Returns the symbolic name of a code without the prefix ("TRUNCATED"; "OK" for 0;
 * "UNKNOWN" otherwise). Never NULL. Thread-safe.
 */
AMI_EXTERN const char *ami_errname(int err);

#ifdef __cplusplus
}
#endif
#endif
