/*
 * DLMS/COSEM authentication: the mechanisms of the association (Green Book 9.2.2.2 / 9.2.7.4),
 * the processing of the HLS challenges (pass 3 and 4), challenge generation, and AES key wrap
 * (RFC 3394) for Security Setup key transfer.
 *
 * HLS in four passes: the client sends its challenge CtoS in the AARQ, the server sends StoC in
 * the AARE; then the client sends f(StoC) (Association LN reply_to_HLS_authentication) and the
 * server answers with f(CtoS). Both sides check what they receive. Here the party that computes
 * f(X) is the "responder"; the same description checks a response received from a peer.
 *
 *   mech 2  manufacturer specific: a callback; default AES-128-ECB(secret, X zero-padded)
 *   mech 3  MD5(X || secret)
 *   mech 4  SHA-1(X || secret)
 *   mech 5  GMAC: SC || IC || GMAC(EK, IV = ST-responder || IC, AAD = SC || AK || X), 12-byte tag
 *   mech 6  SHA-256(secret || ST-responder || ST-other || X || other challenge)
 *   mech 7  ECDSA(ST-responder || ST-other || X || other challenge): P-256/SHA-256 or
 *           P-384/SHA-384, signature as r || s
 *
 * Every check compares in constant time. No function logs or keeps a secret.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef AMI_HLS_H
#define AMI_HLS_H

#include <stdbool.h>

#include "ami/acse.h"
#include "ami/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct evp_pkey_st EVP_PKEY; /* OpenSSL's key type (same typedef as <openssl/types.h>) */

/* Mechanisms are the ACSE ids of ami/acse.h (enum ami_acse_mechanism, AMI_ACSE_MECH_*): the last
 * arc of the mechanism-name OID 2.16.756.5.8.2.x. */

/* "none", "low", "hls-aes", "hls-md5", "hls-sha1", "hls-gmac", "hls-sha256", "hls-ecdsa" (the
 * spelling of the `ami dlms --auth` option); "unknown" otherwise. Never NULL. */
AMI_EXTERN const char *ami_auth_mech_name(int mech);
/* The reverse of ami_auth_mech_name; AMI_E_NOTFOUND for an unknown name. */
AMI_EXTERN int ami_auth_mech_parse(const char *name);

/* Challenge lengths allowed by the Green Book for HLS: 8 to 64 bytes. */
#define AMI_HLS_CHALLENGE_MIN 8
#define AMI_HLS_CHALLENGE_MAX 64
/* Largest response: an ECDSA P-384 signature r || s. */
#define AMI_HLS_RESPONSE_MAX 96

/*
 * Fills `len` bytes (8..64) with a challenge from the operating system's random source (through
 * OpenSSL's RAND_bytes, seeded from getrandom). Returns AMI_OK, AMI_E_RANGE or AMI_E_CRYPTO.
 */
AMI_EXTERN int ami_hls_challenge(uint8_t *out, size_t len);

/*
 * Mechanism 2 hook: computes f(challenge) into out (capacity cap) and returns its length or a
 * negative AMI_E_* code.
 */
typedef int (*ami_hls_custom_fn)(void *user, const uint8_t *challenge, size_t len, uint8_t *out,
                                 size_t cap);

/* What the responder (the party computing f(X)) uses. Unused fields may be left zero. */
typedef struct ami_hls_params {
    int mech;              /* enum ami_acse_mechanism, 2..7 */
    const uint8_t *secret; /* mech 2 (AES-128 key, 16 bytes), 3, 4, 6: HLS secret */
    size_t secret_len;
    const uint8_t *ek; /* mech 5: global unicast encryption key, 16 or 32 bytes */
    size_t ek_len;
    const uint8_t *ak; /* mech 5: authentication key (any length; usually 16/32) */
    size_t ak_len;
    uint8_t sc;                  /* mech 5: security control byte, 0x10 | suite */
    uint32_t ic;                 /* mech 5: the responder's invocation counter */
    const uint8_t *st_responder; /* mech 5, 6, 7: 8-byte system title of the responder */
    const uint8_t *st_other;     /* mech 6, 7: 8-byte system title of the other party */
    EVP_PKEY *sign_key;          /* mech 7, compute: the responder's private key */
    EVP_PKEY *verify_key;        /* mech 7, check: the responder's public key */
    ami_hls_custom_fn custom;    /* mech 2: overrides the default AES-ECB variant */
    void *custom_user;
} ami_hls_params;

/*
 * Computes f(challenge). `other` is the other party's challenge (mech 6 and 7 include it).
 * Writes into out (capacity cap; AMI_HLS_RESPONSE_MAX always suffices) and returns the length,
 * or AMI_E_INVAL (missing key, system title or wrong key length for the mechanism),
 * AMI_E_RANGE (challenge not 8..64 bytes; not checked for mech 2 with a custom hook),
 * AMI_E_NOSPACE, AMI_E_UNSUPPORTED (mechanism 0, 1 or unknown), AMI_E_CRYPTO, or for mech 2
 * with a hook: the hook's own error, or AMI_E_INTERNAL when it returns a length above cap.
 * Thread-safe (a hook must be too).
 */
AMI_EXTERN int ami_hls_compute(const ami_hls_params *p, const uint8_t *challenge, size_t len,
                               const uint8_t *other, size_t other_len, uint8_t *out, size_t cap);

/*
 * Checks a response received from the peer: p describes the PEER as responder (its system title
 * first, and for mech 7 its public key in verify_key). For mech 5 the invocation counter is
 * taken from the response itself (SC || IC || tag) and returned in *ic_out when not NULL, so the
 * caller can apply its replay rule; the SC byte must equal p->sc.
 * Returns AMI_OK, AMI_E_AUTH (the response does not match: wrong secret or key, or tampered),
 * AMI_E_MALFORMED (wrong length or form), or the errors of ami_hls_compute.
 */
AMI_EXTERN int ami_hls_check(const ami_hls_params *p, const uint8_t *challenge, size_t len,
                             const uint8_t *other, size_t other_len, const uint8_t *response,
                             size_t response_len, uint32_t *ic_out);

/*
 * AES key wrap (RFC 3394, default IV A6A6A6A6A6A6A6A6) of a key of 16..32 bytes (a multiple of
 * 8) under a KEK of 16 or 32 bytes: out receives key_len + 8 bytes. Returns the wrapped length,
 * or AMI_E_INVAL, AMI_E_NOSPACE, AMI_E_CRYPTO.
 */
AMI_EXTERN int ami_keywrap_wrap(const uint8_t *kek, size_t kek_len, const uint8_t *key,
                                size_t key_len, uint8_t *out, size_t cap);

/*
 * Unwraps; out receives wrapped_len - 8 bytes. Returns the key length, or AMI_E_AUTH (integrity
 * check failed: wrong KEK or tampered data; nothing is left in out), AMI_E_INVAL, AMI_E_NOSPACE.
 */
AMI_EXTERN int ami_keywrap_unwrap(const uint8_t *kek, size_t kek_len, const uint8_t *wrapped,
                                  size_t wrapped_len, uint8_t *out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
