/*
 * PEM keys of the firmware tools (`ami fw`, `ami sim --fw-key`): EC keys on P-256 or P-384
 * read with OpenSSL. Private keys stay inside OpenSSL (EVP_PKEY) and are never printed.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_APP_FW_KEYS_H
#define AMI_APP_FW_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

/*
 * Reads a PEM public key (SubjectPublicKeyInfo), or the public half of a PEM private key, and
 * writes its uncompressed point (65 or 97 bytes) into out (capacity cap), its algorithm (enum
 * ami_fwimg_alg) into *alg. Returns 0, or -1 with the cause in why (capacity whycap).
 */
int fw_load_public(const char *path, uint8_t *out, size_t cap, size_t *len, uint8_t *alg, char *why,
                   size_t whycap);

/*
 * Reads a PEM EC private key (PKCS#8 or SEC1) on P-256 or P-384. Returns the key (the caller
 * frees it with EVP_PKEY_free) and its algorithm in *alg, or NULL with the cause in why.
 */
EVP_PKEY *fw_load_private(const char *path, uint8_t *alg, char *why, size_t whycap);

#endif
