/*
 * A small streaming JSON writer, used for every --json output and for the JSON rendering of
 * decoded values. It writes through a sink callback, keeps only a fixed nesting stack (no
 * allocation) and produces compact, valid JSON with correct string escaping.
 *
 * Errors are sticky: after a failed sink write or a nesting/usage error every call is a no-op and
 * ami_jw_error() returns the first error. Not thread-safe per writer.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_JSON_H
#define AMI_JSON_H

#include <stdbool.h>
#include <stdio.h>

#include "ami/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Deep enough for the JSON rendering of A-XDR values nested AMI_AXDR_MAX_DEPTH (64) deep: two
 * levels per container plus a document envelope. */
#define AMI_JW_MAX_DEPTH 136

/* Writes n bytes; returns 0 on success or a negative AMI_E_* code. */
typedef int (*ami_jw_sink)(void *user, const char *s, size_t n);

typedef struct ami_jw {
    ami_jw_sink sink;
    void *user;
    int err;
    int depth;
    bool need_comma[AMI_JW_MAX_DEPTH + 1];
    bool after_key;
} ami_jw;

/* Initialises a writer over a sink. */
AMI_EXTERN void ami_jw_init(ami_jw *w, ami_jw_sink sink, void *user);
/* Initialises a writer that writes to a stdio stream (user = FILE *). */
AMI_EXTERN void ami_jw_init_file(ami_jw *w, FILE *f);
AMI_EXTERN int ami_jw_error(const ami_jw *w);

AMI_EXTERN void ami_jw_obj_begin(ami_jw *w);
AMI_EXTERN void ami_jw_obj_end(ami_jw *w);
AMI_EXTERN void ami_jw_arr_begin(ami_jw *w);
AMI_EXTERN void ami_jw_arr_end(ami_jw *w);
/* An object member's key; the next value call gives its value. */
AMI_EXTERN void ami_jw_key(ami_jw *w, const char *key);
AMI_EXTERN void ami_jw_str(ami_jw *w, const char *s);
/* A string of n bytes; bytes that are not valid UTF-8 are written as \u00XX escapes. */
AMI_EXTERN void ami_jw_strn(ami_jw *w, const char *s, size_t n);
AMI_EXTERN void ami_jw_int(ami_jw *w, int64_t v);
AMI_EXTERN void ami_jw_uint(ami_jw *w, uint64_t v);
/* Finite doubles with 17 significant digits at most; NaN and infinities become null. */
AMI_EXTERN void ami_jw_double(ami_jw *w, double v);
AMI_EXTERN void ami_jw_bool(ami_jw *w, bool v);
AMI_EXTERN void ami_jw_null(ami_jw *w);
/* A number already formatted as JSON number text (e.g. an exact decimal "123.456"). */
AMI_EXTERN void ami_jw_number_text(ami_jw *w, const char *s, size_t n);
/* n bytes written as a string of upper-case hex digits. */
AMI_EXTERN void ami_jw_hex(ami_jw *w, const void *data, size_t n);

#ifdef __cplusplus
}
#endif
#endif
