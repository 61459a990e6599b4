/*
 * Test helpers shared by the HDLC unit tests: loading frame records from the test data files.
 * Header-only (static functions) because every tests/unit/test_*.c is its own executable.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_HDLC_TESTLIB_H
#define AMI_HDLC_TESTLIB_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "ami/bytes.h"

typedef struct hdlc_record {
    bool tx;        /* "TX" line of a session capture (client to server) */
    bool rx;        /* "RX" line */
    uint8_t *bytes; /* malloc'd */
    size_t len;
} hdlc_record;

/*
 * Loads the frames of a test data file: lines "<HEX> # label" (hdlc_frames.txt) or
 * "TX|RX <HEX> [; PLAIN ...]" (session captures). Other lines are skipped.
 */
static inline hdlc_record *hdlc_load(const char *path, size_t *count)
{
    size_t len;
    char *text = (char *)tu_read_file(path, &len);
    size_t cap = 16, n = 0;
    hdlc_record *r = calloc(cap, sizeof *r);
    assert_non_null(r);
    char *p = text;
    while (p < text + len) {
        char *eol = memchr(p, '\n', (size_t)(text + len - p));
        char *end = eol ? eol : text + len;
        bool tx = end - p > 3 && memcmp(p, "TX ", 3) == 0;
        bool rx = end - p > 3 && memcmp(p, "RX ", 3) == 0;
        const char *h = (tx || rx) ? p + 3 : p;
        if ((tx || rx || (end - p > 2 && memcmp(p, "7E", 2) == 0))) {
            const char *stop = h;
            while (stop < end && *stop != '#' && *stop != ';')
                stop++;
            if (n == cap) {
                cap *= 2;
                r = realloc(r, cap * sizeof *r);
                assert_non_null(r);
            }
            uint8_t *b = malloc((size_t)(stop - h) / 2 + 1);
            assert_non_null(b);
            int m = ami_hex_decode(h, (size_t)(stop - h), b, (size_t)(stop - h) / 2 + 1);
            assert_true(m > 0);
            r[n++] = (hdlc_record){.tx = tx, .rx = rx, .bytes = b, .len = (size_t)m};
        }
        p = end + 1;
    }
    free(text);
    *count = n;
    return r;
}

static inline void hdlc_free(hdlc_record *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(r[i].bytes);
    free(r);
}

#endif
