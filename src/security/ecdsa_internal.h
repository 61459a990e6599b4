/*
 * Shared EC helpers of src/security (private): ECDSA with signatures as raw r || s, the form
 * DLMS (HLS mechanism 7, general-signing, agreed-key) and our firmware images carry, and EC
 * public keys from uncompressed points. OpenSSL's EVP speaks DER signatures; these convert.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_SECURITY_ECDSA_INTERNAL_H
#define AMI_SECURITY_ECDSA_INTERNAL_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

/* Signs msg with key, hashing with SHA-256 when half is 32 (P-256), SHA-384 when 48 (P-384);
 * sig receives r || s, 2 * half bytes. Returns AMI_OK or AMI_E_CRYPTO. */
int ami__ecdsa_sign_raw(EVP_PKEY *key, size_t half, const uint8_t *msg, size_t n, uint8_t *sig);

/* Verifies r || s (2 * half bytes) over msg with the public key. Returns AMI_OK, AMI_E_AUTH
 * (the signature does not verify, or r or s is out of range), AMI_E_NOMEM or AMI_E_CRYPTO. */
int ami__ecdsa_verify_raw(EVP_PKEY *pub, size_t half, const uint8_t *msg, size_t n,
                          const uint8_t *sig);

/* The DER form of r || s (half bytes each) into der (capacity cap): its length, or -1. */
int ami__ecdsa_raw_to_der(const uint8_t *raw, size_t half, uint8_t *der, size_t cap);

/* An EC public key on group ("P-256", "P-384") from an uncompressed point 0x04 || x || y,
 * checked to lie on the curve; NULL on any failure. The caller frees it. */
EVP_PKEY *ami__ec_public_key(const char *group, const uint8_t *point, size_t len);

#endif
