/*
 * A small streaming JSON writer, used for every --json output and for the JSON rendering of
 * decoded values. It writes through a sink callback, keeps only a fixed nesting stack (no
 * allocation) and produces compact, valid JSON with correct string escaping.
 *
 * Errors are sticky: after a failed sink write or a nesting/usage error every call is a no-op and
 * ami_jw_error() returns the first error. Usage errors (AMI_E_STATE) are: a key outside an
 * object or twice in a row, a value inside an object without its key, a close that does not
 * match the open container or that follows a key. Several values at the top level are allowed
 * and separated by commas. The writer keeps no pointer to what it is given: strings are copied
 * to the sink during the call. Not thread-safe per writer; distinct writers are independent.
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
    bool is_obj[AMI_JW_MAX_DEPTH + 1]; /* the container at that depth is an object */
    bool after_key;
} ami_jw;

/* Initialises a writer over a sink (called with `user` for every piece of output). */
AMI_EXTERN void ami_jw_init(ami_jw *w, ami_jw_sink sink, void *user);
/* Initialises a writer that writes to a stdio stream the caller opened and keeps owning; a short
 * write becomes the sticky error AMI_E_IO. For apps: the library itself never writes to a file. */
AMI_EXTERN void ami_jw_init_file(ami_jw *w, FILE *f);
/* 0, or the first error: the sink's, AMI_E_STATE (usage), AMI_E_TOO_DEEP (more than
 * AMI_JW_MAX_DEPTH open containers) or AMI_E_SYNTAX (ami_jw_number_text). */
AMI_EXTERN int ami_jw_error(const ami_jw *w);

/* Open and close an object or an array (errors: AMI_E_TOO_DEEP, AMI_E_STATE). */
AMI_EXTERN void ami_jw_obj_begin(ami_jw *w);
AMI_EXTERN void ami_jw_obj_end(ami_jw *w);
AMI_EXTERN void ami_jw_arr_begin(ami_jw *w);
AMI_EXTERN void ami_jw_arr_end(ami_jw *w);
/* An object member's key (NUL-terminated, escaped like ami_jw_strn); the next value call gives
 * its value. AMI_E_STATE outside an object, after another key, or for a NULL key. */
AMI_EXTERN void ami_jw_key(ami_jw *w, const char *key);
/* A NUL-terminated string; NULL writes null. */
AMI_EXTERN void ami_jw_str(ami_jw *w, const char *s);
/* A string of n bytes; bytes that are not valid UTF-8 are written as \u00XX escapes. */
AMI_EXTERN void ami_jw_strn(ami_jw *w, const char *s, size_t n);
AMI_EXTERN void ami_jw_int(ami_jw *w, int64_t v);
AMI_EXTERN void ami_jw_uint(ami_jw *w, uint64_t v);
/* Finite doubles with 17 significant digits at most; NaN and infinities become null. */
AMI_EXTERN void ami_jw_double(ami_jw *w, double v);
AMI_EXTERN void ami_jw_bool(ami_jw *w, bool v);
AMI_EXTERN void ami_jw_null(ami_jw *w);
/* A number already formatted as JSON number text (e.g. an exact decimal "123.456"), checked
 * against the JSON number grammar (RFC 8259 section 6): anything else is the sticky error
 * AMI_E_SYNTAX and nothing is written. */
AMI_EXTERN void ami_jw_number_text(ami_jw *w, const char *s, size_t n);
/* n bytes written as a string of upper-case hex digits. */
AMI_EXTERN void ami_jw_hex(ami_jw *w, const void *data, size_t n);

#ifdef __cplusplus
}
#endif
#endif
