/*
 * openami signed firmware image format (our own; docs/firmware.md), as carried by the Image
 * transfer class (ami/cosem_image.h) and built by `ami fw sign`.
 *
 * All integers big-endian. Layout:
 *
 *     offset size
 *      0     4   magic "AMFW"
 *      4     1   format version (1)
 *      5     1   signature algorithm: 1 ECDSA P-256 / SHA-256, 2 ECDSA P-384 / SHA-384
 *      6     1   firmware identifier length (1..32)
 *      7     1   flags (0; any other value is refused)
 *      8     2   version major
 *     10     2   version minor
 *     12     2   version patch
 *     14     2   reserved (0)
 *     16     4   payload length n
 *     20    32   firmware identifier, zero padded (the padding must be zero)
 *     52     n   payload
 *     52+n   s   signature r || s, each the curve's size (s = 64 for P-256, 96 for P-384), over
 *                bytes 0 .. 52+n-1 (header and payload)
 *
 * The total length is exact: 52 + n + s, nothing before or after. Versions compare as the
 * triple (major, minor, patch).
 *
 * Public keys are given as the uncompressed EC point 0x04 || X || Y (65 bytes for P-256, 97 for
 * P-384); the key's curve must be the image's. Nothing here reads files or PEM: the apps do.
 * Verification runs OpenSSL 3 (EVP); OpenSSL allocates its own contexts during a call and frees
 * them before returning. Every function is thread-safe (no state).
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_FWIMAGE_H
#define AMI_FWIMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ami/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AMI_FWIMG_FORMAT     1u
#define AMI_FWIMG_HEADER_LEN 52u
#define AMI_FWIMG_ID_MAX     32u
/* Longest signature (P-384 r || s) and public key (uncompressed P-384 point). */
#define AMI_FWIMG_SIG_MAX 96u
#define AMI_FWIMG_KEY_MAX 97u
/* Longest text of a version: "65535.65535.65535". */
#define AMI_FWIMG_VERSION_STRLEN 18u

enum ami_fwimg_alg {
    AMI_FWIMG_ECDSA_P256_SHA256 = 1,
    AMI_FWIMG_ECDSA_P384_SHA384 = 2,
};

typedef struct ami_fwimg_version {
    uint16_t major, minor, patch;
} ami_fwimg_version;

typedef struct ami_fwimg_header {
    uint8_t format; /* AMI_FWIMG_FORMAT */
    uint8_t alg;    /* enum ami_fwimg_alg */
    ami_fwimg_version version;
    uint32_t payload_len;
    uint8_t id_len; /* 1..AMI_FWIMG_ID_MAX */
    uint8_t id[AMI_FWIMG_ID_MAX];
} ami_fwimg_header;

/* Signature length of an algorithm (64, 96), 0 for an unknown one. */
AMI_EXTERN size_t ami_fwimg_sig_len(uint8_t alg);

/* "ecdsa-p256-sha256", "ecdsa-p384-sha384", "unknown". Never NULL. */
AMI_EXTERN const char *ami_fwimg_alg_name(uint8_t alg);

/*
 * Decodes the header from the first AMI_FWIMG_HEADER_LEN bytes of p (len may be longer: only
 * the header is looked at). Returns AMI_OK; AMI_E_INVAL (NULL); AMI_E_TRUNCATED (len < 52);
 * AMI_E_MALFORMED (magic, flags, reserved or identifier padding not zero, identifier length 0
 * or above 32); AMI_E_UNSUPPORTED (format version or signature algorithm unknown).
 */
AMI_EXTERN int ami_fwimg_header_decode(const uint8_t *p, size_t len, ami_fwimg_header *h);

/*
 * Encodes h into out (AMI_FWIMG_HEADER_LEN bytes). Returns AMI_OK; AMI_E_INVAL (NULL, an
 * identifier length 0 or above 32, an unknown algorithm).
 */
AMI_EXTERN int ami_fwimg_header_encode(const ami_fwimg_header *h, uint8_t *out);

/* Total image length the header declares (header + payload + signature); 0 for a bad alg. */
AMI_EXTERN uint64_t ami_fwimg_total_len(const ami_fwimg_header *h);

/* <0, 0, >0 as a is older, equal, newer than b. */
AMI_EXTERN int ami_fwimg_version_cmp(const ami_fwimg_version *a, const ami_fwimg_version *b);

/*
 * Parses "MAJOR[.MINOR[.PATCH]]" (decimal, each 0..65535; missing parts are 0) of n bytes.
 * Returns AMI_OK or AMI_E_SYNTAX.
 */
AMI_EXTERN int ami_fwimg_version_parse(const char *s, size_t n, ami_fwimg_version *v);

/* Writes "MAJOR.MINOR.PATCH"; returns the length, or AMI_E_NOSPACE (cap < 18) / AMI_E_INVAL. */
AMI_EXTERN int ami_fwimg_version_format(const ami_fwimg_version *v, char *buf, size_t cap);

/*
 * Checks that key is a usable public key: an uncompressed point on P-256 (65 bytes) or P-384
 * (97 bytes). Stores the algorithm the key verifies in *alg (may be NULL). Returns AMI_OK,
 * AMI_E_INVAL (NULL key), AMI_E_KEY (wrong length or form, not on the curve).
 */
AMI_EXTERN int ami_fwimg_key_check(const uint8_t *key, size_t key_len, uint8_t *alg);

/*
 * Parses and verifies a whole image img[0..len): the header, the exact length and the signature
 * under key (see ami_fwimg_key_check). Fills *h (may be NULL) once the header decoded. Does not
 * look at the version or the identifier: the caller decides what is acceptable.
 * Returns AMI_OK; the header errors of ami_fwimg_header_decode; AMI_E_TRUNCATED (len shorter
 * than declared); AMI_E_MALFORMED (longer than declared); AMI_E_KEY (no key, a bad key, or a
 * key of another curve than the image's algorithm); AMI_E_AUTH (the signature does not
 * verify); AMI_E_CRYPTO (OpenSSL failure).
 */
AMI_EXTERN int ami_fwimg_verify(const uint8_t *img, size_t len, const uint8_t *key, size_t key_len,
                                ami_fwimg_header *h);

/*
 * Converts a DER ECDSA-Sig-Value (what OpenSSL's EVP_DigestSign produces) into the image's
 * r || s form for alg, written to out (capacity cap >= ami_fwimg_sig_len(alg)). Returns the
 * length written; AMI_E_INVAL (NULL, unknown alg); AMI_E_NOSPACE; AMI_E_MALFORMED (not a DER
 * signature, or r / s too long for the curve).
 */
AMI_EXTERN int ami_fwimg_sig_from_der(uint8_t alg, const uint8_t *der, size_t der_len, uint8_t *out,
                                      size_t cap);

#ifdef __cplusplus
}
#endif
#endif
