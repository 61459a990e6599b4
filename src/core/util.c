/*
 * Small helpers declared in ami/bytes.h and ami/common.h.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "ami/bytes.h"
#include "ami/common.h"
#include "core/internal.h"

const char *ami_version(void)
{
    return AMI_VERSION_STRING;
}

bool ami_ct_equal(const void *a, const void *b, size_t n)
{
    const volatile uint8_t *x = (const volatile uint8_t *)a;
    const volatile uint8_t *y = (const volatile uint8_t *)b;
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= (uint8_t)(x[i] ^ y[i]);
    return acc == 0;
}

void ami_wipe(void *p, size_t n)
{
    volatile uint8_t *v = (volatile uint8_t *)p;
    while (n--)
        *v++ = 0;
}

int ami_hex_encode(const void *in, size_t n, char *out, size_t outcap)
{
    static const char digits[] = "0123456789ABCDEF";
    const uint8_t *b = (const uint8_t *)in;
    if (!out || n > (SIZE_MAX - 1) / 2 || outcap < 2 * n + 1)
        return AMI_E_NOSPACE;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
    return AMI_OK;
}

int ami__hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int ami_hex_decode(const char *in, size_t inlen, uint8_t *out, size_t outcap)
{
    size_t n = 0;
    int hi = -1;
    for (size_t i = 0; i < inlen; i++) {
        char c = in[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
            continue;
        int v = ami__hexval((unsigned char)c);
        if (v < 0)
            return AMI_E_SYNTAX;
        if (hi < 0) {
            hi = v;
            continue;
        }
        if (n >= outcap)
            return AMI_E_NOSPACE;
        out[n++] = (uint8_t)(hi << 4 | v);
        hi = -1;
    }
    if (hi >= 0)
        return AMI_E_SYNTAX;
    if (n > INT32_MAX)
        return AMI_E_TOO_LARGE;
    return (int)n;
}
