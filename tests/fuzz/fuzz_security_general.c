/*
 * libFuzzer target: the general-ciphering (0xDD) and general-signing (0xDF) decoders. For every
 * accepted general-ciphering APDU the re-encoding must reproduce the input bytes exactly (the
 * decoder accepts only minimal lengths), unprotect with a fixed key must not crash and must
 * release nothing on failure, and a wrapped key is unwrapped under a fixed KEK; an accepted
 * general-signing APDU is verified against a fixed P-256 public key.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/evp.h>

#include "ami/ami.h"

static const uint8_t key[32] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                                0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F};
static uint8_t out[1 << 16], enc[1 << 17];

static void ciphering(const uint8_t *data, size_t size)
{
    ami_gc_apdu a;
    size_t used = 0;
    if (ami_gc_parse(data, size, &a, &used) != AMI_OK)
        return;
    if (used == 0 || used > size)
        abort();
    ami_wr w;
    ami_wr_init(&w, enc, sizeof enc);
    if (ami_gc_write(&w, &a) != AMI_OK || w.len != used || memcmp(enc, data, used) != 0)
        abort();
    size_t n = 1;
    int rc = ami_gc_unprotect(&a, key, (a.content[0] & 0x0F) == 2 ? 32 : 16, key, 16, out,
                              sizeof out, &n, NULL);
    if (rc != AMI_OK && n != 0)
        abort();
    if (a.key_info.kind == AMI_GC_KI_WRAPPED) {
        uint8_t k[40];
        (void)ami_gc_unwrap_key(&a.key_info, key, 16, k, sizeof k);
    }
}

static void signing(const uint8_t *data, size_t size)
{
    static EVP_PKEY *pub;
    ami_gs_apdu a;
    size_t used = 0;
    if (ami_gs_parse(data, size, &a, &used) != AMI_OK)
        return;
    if (used == 0 || used > size || a.signed_len >= used)
        abort();
    if (a.signature_len != 64)
        return;
    if (!pub)
        pub = EVP_EC_gen("P-256");
    if (pub && ami_gs_verify(data, &a, 1, pub) == AMI_OK)
        abort(); /* nobody holds this run's private key */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 16))
        return 0;
    ciphering(data, size);
    signing(data, size);
    return 0;
}
