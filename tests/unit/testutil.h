/*
 * Helpers for the unit tests: test data files, hex, guard-page buffers.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_TESTUTIL_H
#define AMI_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* Path of a file under ../shared/testdata (static buffer; valid until the next call). */
const char *tu_testdata(const char *rel);
/* Path of a file under tests/ (static buffer; valid until the next call). */
const char *tu_testsdir(const char *rel);

/*
 * Reads a whole file into a malloc'd buffer (NUL-terminated, *len excludes the NUL). Fails the
 * test if the file cannot be read. The caller frees.
 */
uint8_t *tu_read_file(const char *path, size_t *len);

/* Parses hex (white space ignored) into a malloc'd buffer; fails the test on bad hex. */
uint8_t *tu_hex(const char *hex, size_t *len);

/*
 * Copies n bytes so that they end exactly at a PROT_NONE page: any read past the end faults.
 * Release with tu_guard_free().
 */
uint8_t *tu_guard_copy(const void *data, size_t n);
void tu_guard_free(uint8_t *p, size_t n);

/* Deterministic xorshift PRNG for seeded random round trips. */
uint64_t tu_rand(uint64_t *state);

#endif
