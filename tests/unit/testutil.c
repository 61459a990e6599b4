/*
 * Helpers for the unit tests (see testutil.h).
 * SPDX-License-Identifier: Apache-2.0
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ami/bytes.h"

static char pathbuf[4096];

const char *tu_testdata(const char *rel)
{
    const char *base = getenv("AMI_TESTDATA");
    snprintf(pathbuf, sizeof pathbuf, "%s/%s", base && *base ? base : AMI_TESTDATA, rel);
    return pathbuf;
}

const char *tu_testsdir(const char *rel)
{
    snprintf(pathbuf, sizeof pathbuf, "%s/%s", AMI_TESTS_DIR, rel);
    return pathbuf;
}

uint8_t *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap + 1);
    assert_non_null(buf);
    for (;;) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap)
            break;
        cap *= 2;
        buf = realloc(buf, cap + 1);
        assert_non_null(buf);
    }
    fclose(f);
    buf[n] = 0;
    *len = n;
    return buf;
}

uint8_t *tu_hex(const char *hex, size_t *len)
{
    size_t cap = strlen(hex) / 2 + 1;
    uint8_t *buf = malloc(cap);
    assert_non_null(buf);
    int n = ami_hex_decode(hex, strlen(hex), buf, cap);
    if (n < 0)
        fail_msg("bad hex: %.60s", hex);
    *len = (size_t)n;
    return buf;
}

static size_t page_size(void)
{
    return (size_t)sysconf(_SC_PAGESIZE);
}

uint8_t *tu_guard_copy(const void *data, size_t n)
{
    size_t ps = page_size();
    size_t pages = (n + ps - 1) / ps + 1;
    uint8_t *base =
        mmap(NULL, pages * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(base != MAP_FAILED);
    assert_int_equal(mprotect(base + (pages - 1) * ps, ps, PROT_NONE), 0);
    uint8_t *p = base + (pages - 1) * ps - n;
    if (n)
        memcpy(p, data, n);
    return p;
}

void tu_guard_free(uint8_t *p, size_t n)
{
    size_t ps = page_size();
    size_t pages = (n + ps - 1) / ps + 1;
    uint8_t *base = p + n - (pages - 1) * ps;
    munmap(base, pages * ps);
}

uint64_t tu_rand(uint64_t *s)
{
    uint64_t x = *s ? *s : 0x9E3779B97F4A7C15u;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}
